/*
 * mprotect.c - the mechanism of page states in the app view: protection
 * changes and the punch that frees a frame's memory.
 *
 * SIGNAL CONTEXT: runs inside the SIGSEGV handler (and in API calls and on
 * the pager's thread).  System calls, atomics and the caller's stack only.
 *
 * Owns: the protection of the app view (which encodes referenced and dirty:
 * docs/design.md), the process-wide count of accessible pages (the VMA
 * budget's measure), and evicting a page's bytes (punching it out of the
 * memfd).  No policy: which page to protect or evict is vmscan.c's.
 * Calls: region.c (the VMA budget), page.c, stats.c, inject.c.
 *
 * Every run of pages with equal protection is one kernel VMA; keeping the
 * accessible pages under upager__vma_budget() bounds a region to
 * 2 * accessible + 1 VMAs (docs/design.md, "VMAs").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

/* Pages accessible in app views, all pagers of the process.  A page of any
 * size counts one: what costs VMAs is the number of protection runs, not
 * their bytes. */
static _Atomic int64_t accessible_pages;

static int prot_of(uint32_t access)
{
	if (access & PG_WRITE)
		return PROT_READ | PROT_WRITE;
	if (access & PG_READ)
		return PROT_READ;
	return PROT_NONE;
}

/**
 * upager__access_gain() - how many pages [@idx, @idx + @n) of @r would
 * become accessible (negative: inaccessible) if set to @access.
 */
int64_t upager__access_gain(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	int64_t gained = 0;

	for (uint64_t k = 0; k < n; k++) {
		uint32_t f = page_flags(&r->pages[idx + k]);
		gained += (access != 0) - ((f & PG_ACCESS) != 0);
	}
	return gained;
}

/* upager__access_over_budget() - would @gained more accessible pages pass
 * the process's VMA budget (region.c)? */
bool upager__access_over_budget(int64_t gained)
{
	return gained > 0 && atomic_load_explicit(&accessible_pages, memory_order_relaxed) +
	                             gained > (int64_t)upager__vma_budget();
}

/**
 * upager__set_access() - set the app-view protection of locked pages.
 * @r:      the region.
 * @idx:    first page; pages [@idx, @idx + @n) are locked by the caller.
 * @n:      pages, >= 1.
 * @access: 0, PG_READ or PG_READ | PG_WRITE.
 *
 * The mechanism only: one mprotect(2), then the flags.  Granting access
 * within the VMA budget (clearing references to make room) is the Clock's
 * policy: upager__grant_access() in vmscan.c.
 *
 * Return: 0, or the negative errno of mprotect (-ENOMEM: the kernel's VMA
 * limit), flags unchanged.
 */
int upager__set_access(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	int64_t gained = upager__access_gain(r, idx, n, access);

	if (upager__inject(UPAGER_OP_MPROTECT, 0) != 0)
		return -ENOMEM;
	if (mprotect(page_addr(r, idx), n << r->page_shift, prot_of(access)) != 0)
		return -errno;
	for (uint64_t k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		uint32_t f = page_flags(pg);
		if ((f & PG_ACCESS) != access) {
			page_clear(pg, PG_ACCESS & ~access);
			page_set(pg, access);
		}
	}
	atomic_fetch_add_explicit(&accessible_pages, gained, memory_order_relaxed);
	return 0;
}

/**
 * upager__evict_run_locked() - free the frame memory of @n locked, resident,
 * clean, unreferenced pages [@idx, @idx + @n) of @r, with one punch of the
 * memfd.  The caller frees or reuses their frame slots and units.
 */
void upager__evict_run_locked(struct upager_region *r, uint64_t idx, unsigned n)
{
	struct upager *p = r->pager;
	off_t off = (off_t)(r->memfd_offset + (idx << r->page_shift));
	off_t len = (off_t)n << r->page_shift;

	if (fallocate(p->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) != 0)
		madvise(page_alias(r, idx), (size_t)len, MADV_REMOVE);
	for (unsigned k = 0; k < n; k++)
		page_clear(&r->pages[idx + k], PG_RESIDENT | PG_READAHEAD | PG_RA_MARK);
	upager__stat_resident(p, -(int64_t)n, r->units);
	STAT_ADD(p, pgsteal, n);
}

void upager__evict_locked(struct upager_region *r, uint64_t idx)
{
	upager__evict_run_locked(r, idx, 1);
}

/* upager__access_forget() - @n accessible pages went away with their
 * region's mappings. */
void upager__access_forget(int64_t n)
{
	atomic_fetch_sub_explicit(&accessible_pages, n, memory_order_relaxed);
}
