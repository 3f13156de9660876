/*
 * testhooks.c - test hooks that inspect or drive a pager from outside
 * (test builds only, UPAGER_TEST_HOOKS; see testhooks.h).
 *
 * Owns: nothing; it reads pages' states and scratch slots and clears
 * references.
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

#endif /* UPAGER_TEST_HOOKS */
