/*
 * range.c - operations on a range of a region: upager_sync, upager_advise,
 * upager_pin and upager_unpin (after Linux mm/msync.c, mm/madvise.c and
 * the pinning of mm/gup.c).
 *
 * API context only (never in a signal handler).  Every entry point holds
 * the pager's lock with the catchable signals blocked (gate.c's
 * upager__api_enter); work on pages also enters the region gate, as a
 * fault does.
 *
 * Owns: the range calls' checks, and pins (the pin count in a page's
 * flags, the unpinned reserve a pin must leave).
 * Calls: worker.c (WILLNEED), filemap.c (page-in of a pinned page),
 * vmscan.c (deactivation, granting access), writeback.c (flushes, dirty
 * accounting), region.c, gate.c, page.c, stats.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <unistd.h>

int upager_sync(upager_t *p, void *addr, size_t length)
{
	struct upager_region *r;
	uint64_t first, last;
	sigset_t old;
	int rc = 0;

	if (!pager_ok(p) || !addr)
		return -EINVAL;
	upager__api_enter(p, &old);
	r = upager__region_range(p, addr, length, true, &first, &last);
	if (!r) {
		rc = -EINVAL;
	} else if (r->kind == REGION_SHARED) {
		rc = upager__flush_range(r, first, last, false);
		if (fdatasync(r->fd) != 0) {
			int e = -errno;
			atomic_store(&r->sync_error, e);
		}
		if (!rc)
			rc = atomic_load(&r->sync_error);
	}
	upager__api_exit(p, &old);
	return rc;
}

int upager_advise(upager_t *p, void *addr, size_t length, int advice)
{
	struct upager_region *r;
	uint64_t first, last;
	sigset_t old;
	int rc = 0;

	if (!pager_ok(p) || !addr || length == 0 || advice < UPAGER_ADV_NORMAL ||
	    advice > UPAGER_ADV_COLD)
		return -EINVAL;
	upager__api_enter(p, &old);
	r = upager__region_range(p, addr, length, false, &first, &last);
	if (!r) {
		rc = -EINVAL;
	} else {
		switch (advice) {
		case UPAGER_ADV_NORMAL:
		case UPAGER_ADV_RANDOM:
		case UPAGER_ADV_SEQUENTIAL:
			atomic_store(&r->advice, advice);
			atomic_store(&r->ra_window, 0);
			break;
		case UPAGER_ADV_WILLNEED:
			rc = upager__worker_queue(p, r, first, last - first + 1);
			break;
		case UPAGER_ADV_COLD: {
			long n;

			upager__gate_read_enter();
			n = upager__deactivate_range(r, first, last);
			upager__gate_read_exit();
			rc = n < 0 ? (int)n : 0;
			break;
		}
		case UPAGER_ADV_DONTNEED:
			upager__gate_read_enter();
			rc = upager__flush_range(r, first, last, true);
			upager__gate_read_exit();
			break;
		}
	}
	upager__api_exit(p, &old);
	return rc;
}

/* Undo the pins of pages [first, idx) of @r (pager lock held). */
static void unpin_pages(struct upager_region *r, uint64_t first, uint64_t end)
{
	struct upager *p = r->pager;

	for (uint64_t i = first; i < end; i++) {
		struct upager_page *pg = &r->pages[i];
		upager__page_lock(pg);
		uint32_t f = page_flags(pg);
		if (page_pins(f)) {
			atomic_fetch_sub(&pg->flags, PG_PIN_ONE);
			if (page_pins(f) == 1)
				upager__stat_pinned(p, -1, r->units);
		}
		upager__page_unlock(pg);
	}
}

/*
 * Units a pin must leave unpinned (pager lock held): an eighth of the
 * budget, and at least two pages of the largest page size among the
 * pager's regions, so that a demanded page of any region finds memory.
 */
static uint64_t pin_reserve(const struct upager *p)
{
	uint64_t reserve = p->pin_reserve;

	for (const struct upager_region *r = p->regions; r; r = r->next)
		if (2 * (uint64_t)r->units > reserve)
			reserve = 2 * (uint64_t)r->units;
	return reserve;
}

int upager_pin(upager_t *p, void *addr, size_t length)
{
	struct upager_region *r;
	uint64_t first, last, fresh = 0, idx;
	sigset_t old;
	int rc = 0;

	if (!pager_ok(p) || !addr || length == 0)
		return -EINVAL;
	upager__api_enter(p, &old);
	r = upager__region_range(p, addr, length, false, &first, &last);
	if (!r) {
		rc = -EINVAL;
		goto out;
	}
	for (idx = first; idx <= last; idx++)
		if (!page_pins(page_flags(&r->pages[idx])))
			fresh++;
	if ((uint64_t)atomic_load(&p->stats.pinned_units) + fresh * r->units +
	            pin_reserve(p) > p->nunits) {
		rc = -ENOMEM;
		goto out;
	}
	upager__gate_read_enter();
	for (idx = first; idx <= last; idx++) {
		struct upager_page *pg = &r->pages[idx];
		uint32_t f, access = r->writable ? PG_READ | PG_WRITE : PG_READ;

		upager__page_lock(pg);
		if (!(page_flags(pg) & PG_RESIDENT)) {
			int n = upager__page_in_locked(r, idx, 0, 0, true, NULL);
			if (n < 0) {
				rc = n;
				upager__page_unlock(pg);
				break;
			}
		}
		f = page_flags(pg);
		if ((f & PG_ACCESS) != access) {
			rc = upager__grant_access(r, idx, 1, access);
			if (rc < 0) {
				upager__page_unlock(pg);
				break;
			}
		}
		if (r->writable)
			upager__mark_dirty(r, pg, f, true);
		page_clear(pg, PG_READAHEAD | PG_RA_MARK);
		if (!page_pins(f))
			upager__stat_pinned(p, 1, r->units);
		atomic_fetch_add(&pg->flags, PG_PIN_ONE);
		upager__page_unlock(pg);
	}
	if (rc < 0)
		unpin_pages(r, first, idx);
	upager__gate_read_exit();
out:
	upager__api_exit(p, &old);
	return rc;
}

int upager_unpin(upager_t *p, void *addr, size_t length)
{
	struct upager_region *r;
	uint64_t first, last;
	sigset_t old;
	int rc = 0;

	if (!pager_ok(p) || !addr || length == 0)
		return -EINVAL;
	upager__api_enter(p, &old);
	r = upager__region_range(p, addr, length, false, &first, &last);
	if (!r) {
		rc = -EINVAL;
	} else {
		for (uint64_t idx = first; idx <= last; idx++)
			if (!page_pins(page_flags(&r->pages[idx])))
				rc = -EINVAL;
		if (!rc)
			unpin_pages(r, first, last + 1);
	}
	upager__api_exit(p, &old);
	return rc;
}
