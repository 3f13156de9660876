/*
 * testhooks.c - test hooks that inspect or drive a pager from outside
 * (test builds only, UPAGER_TEST_HOOKS; see testhooks.h).
 *
 * Owns: nothing; it reads pages' states, scratch slots and CLOCK-Pro's
 * counts, and clears references.
 * Calls: inspect.c (a page's state), vmscan.c (clearing references),
 * region.c, gate.c, and the pager's lock: it sits at the top, above the
 * API.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#ifdef UPAGER_TEST_HOOKS

long upager__page_state(struct upager *p, const void *addr)
{
	unsigned char state;

	return upager_residency(p, (void *)addr, 1, &state) == 0 ? (long)state : -1;
}

int upager__region_direct_io(struct upager *p, const void *addr)
{
	struct upager_region *r;
	int direct = -1;

	pthread_mutex_lock(&p->lock); /* the region list */
	r = upager__region_find(p, addr);
	if (r)
		direct = r->direct_fd >= 0;
	pthread_mutex_unlock(&p->lock);
	return direct;
}

int upager__scratch_fd(struct upager *p)
{
	int fd;

	pthread_mutex_lock(&p->lock);
	fd = p->scratch_fd;
	pthread_mutex_unlock(&p->lock);
	return fd;
}

int upager__scratch_direct(struct upager *p)
{
	int direct;

	pthread_mutex_lock(&p->lock);
	direct = p->scratch_fd < 0 ? -1 : p->scratch_direct_fd >= 0;
	pthread_mutex_unlock(&p->lock);
	return direct;
}

long upager__page_slot(struct upager *p, const void *addr)
{
	struct upager_region *r;
	long slot = -2;
	sigset_t old;

	upager__api_enter(p, &old); /* the region list; signals blocked */
	r = upager__region_find(p, addr);
	if (r && r->slots) {
		uint64_t idx = (uint64_t)((const char *)addr - r->base) >> r->page_shift;
		struct upager_page *pg = &r->pages[idx];

		upager__page_lock(pg);
		slot = (long)r->slots[idx] - 1;
		upager__page_unlock(pg);
	}
	upager__api_exit(p, &old);
	return slot;
}

long upager__clear_references(struct upager *p)
{
	long n = 0;

	pthread_mutex_lock(&p->lock); /* the region list */
	upager__gate_read_enter();
	for (struct upager_region *r = p->regions; r; r = r->next) {
		long k = upager__deactivate_range(r, 0, r->npages - 1);
		if (k > 0)
			n += k;
	}
	upager__gate_read_exit();
	pthread_mutex_unlock(&p->lock);
	return n;
}

const char *upager__clockpro_check(struct upager *p, long *hot_pages)
{
	const char *err = NULL;
	int64_t hot_units = 0, target;
	long hot = 0;
	sigset_t old;

	upager__api_enter(p, &old); /* the region list; signals blocked */
	for (size_t fi = 0; fi < p->nframes && !err; fi++) {
		uint64_t o = atomic_load(&p->frames[fi].owner);
		bool bit = (atomic_load(&p->hot_map[fi / 64]) >> (fi % 64)) & 1;
		struct upager_region *r = o ? upager__region_get(owner_region_id(o)) : NULL;
		uint32_t f;

		if (!r) {
			if (bit)
				err = "a free frame is in the hot map";
			continue;
		}
		f = page_flags(&r->pages[owner_page(o)]);
		if ((f & PG_RESIDENT) && r->pages[owner_page(o)].frame == fi &&
		    bit != !!(f & PG_HOT))
			err = "the hot map differs from the pages' PG_HOT";
		if (bit) {
			hot_units += r->units;
			hot++;
		}
	}
	for (struct upager_region *r = p->regions; r && !err; r = r->next)
		for (uint64_t i = 0; i < r->npages && !err; i++) {
			uint32_t f = page_flags(&r->pages[i]);

			if ((f & PG_HOT) && !(f & PG_RESIDENT) && !(f & PG_LOCKED))
				err = "a page not resident is hot";
			else if ((f & PG_HOT) && (f & PG_TEST))
				err = "a hot page is in its test period";
		}
	target = atomic_load(&p->cold_target);
	if (!err && hot_units != atomic_load(&p->hot_units))
		err = "hot_units differs from the hot map";
	else if (!err && (target < p->cold_min || target > p->cold_max))
		err = "the cold target is out of its bounds";
	else if (!err && !p->clockpro && hot)
		err = "plain Clock has hot pages";
	upager__api_exit(p, &old);
	if (hot_pages)
		*hot_pages = hot;
	return err;
}

#endif /* UPAGER_TEST_HOOKS */
