/*
 * mprotect.c - the mechanism of page states in the app view: protection
 * changes, guard markers, and the punch that frees a frame's memory.
 *
 * SIGNAL CONTEXT: runs inside the SIGSEGV handler (and in API calls and on
 * the pager's thread).  System calls, atomics, futex waits and the caller's
 * stack only; upager__region_guards_init() runs in API context.
 *
 * Owns: the protection of the app view (which encodes referenced and dirty:
 * docs/design.md), the process-wide VMA budget's measure, and evicting a
 * page's bytes (punching it out of the memfd).  No policy: which page to
 * protect or evict is vmscan.c's.
 * Calls: options.c (whether guard markers are used), region.c (the VMA
 * budget), frame.c (an evicted hot page leaves the hot map), page.c
 * (flags, futex), stats.c, inject.c.
 *
 * Two mechanisms (docs/design.md, "Guard markers"):
 *
 *  - mprotect(2) alone.  Every run of pages with equal protection is one
 *    kernel VMA, so each accessible page may cost two VMAs, and every grant
 *    or revocation splits or merges VMAs (the largest CPU cost of a miss).
 *  - Guard markers (madvise(2) MADV_GUARD_INSTALL / MADV_GUARD_REMOVE,
 *    Linux 6.13): a page-table marker that makes one page fault without
 *    touching its VMA.  The app view is split into chunks of 2 MiB (one
 *    page-table page; a region's pages when they are larger).  A chunk is
 *    armed at the first grant in it: guards on all its pages, then one
 *    mprotect to PROT_READ.  In an armed chunk a page is inaccessible
 *    because of its guard, and its VMA is read-only (clean) or read-write
 *    (PG_VMA_W: dirty and referenced); granting read access to a clean page
 *    is one MADV_GUARD_REMOVE, revoking it one MADV_GUARD_INSTALL, and only
 *    write tracking still calls mprotect.  Chunks never granted stay
 *    PROT_NONE without page tables, so a 1 TiB region costs nothing until
 *    touched.  Where the kernel has no guard markers, a chunk cannot be
 *    armed (the VMA budget is short, arming fails) or UPAGER_GUARDS=0, a
 *    chunk is "legacy" and uses mprotect alone.
 *
 * The VMA budget counts, process-wide: accessible pages of legacy chunks,
 * armed chunks (one each: an armed run next to an unarmed one costs a
 * VMA boundary), and pages of armed chunks whose VMA is read-write.
 * A revocation of such a page puts its VMA back to read-only, so clearing
 * references (vmscan.c) always relieves the budget.
 *
 * The invariant of page states (design.md): the access recorded in the
 * flags is never lower than the real one.  A grant changes the VMA, then
 * removes the guard, then sets the flags; a revocation installs the guard
 * before it clears them.  In an armed chunk every page the flags call
 * inaccessible has its guard: a page with neither guard nor page-table
 * entry in a readable VMA would be filled from the memfd by the kernel
 * (zeros for a hole) without a fault.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

/* Bytes of the app view per chunk: one page-table page's reach on x86-64
 * and arm64 with 4 KiB pages. */
#define GUARD_CHUNK_BYTES ((size_t)2 << 20)

enum chunk_state {
	CHUNK_NONE = 0,   /* never granted: PROT_NONE, no guards */
	CHUNK_ARMING = 1, /* a thread is arming it; others wait (futex) */
	CHUNK_ARMED = 2,  /* guards, VMA read-only or read-write per page */
	CHUNK_LEGACY = 3, /* mprotect alone */
};

/* The VMA budget's measure, all pagers of the process (header comment). */
static _Atomic int64_t vma_cost;

/**
 * upager__region_guards_init() - give @r (views mapped, npages set) its
 * chunk table when guard markers are supported; without it (or if the
 * table cannot be mapped) every chunk of @r is legacy.  API context.
 */
void upager__region_guards_init(struct upager_region *r)
{
	unsigned shift = 0;
	size_t nchunks;
	void *t;

	r->chunks = NULL;
	if (!upager__guards_supported())
		return;
	while (((size_t)r->page_size << (shift + 1)) <= GUARD_CHUNK_BYTES)
		shift++;
	nchunks = (r->npages + ((size_t)1 << shift) - 1) >> shift;
	r->chunks_bytes = ALIGN_UP(nchunks * sizeof(*r->chunks), 4096);
	t = mmap(NULL, r->chunks_bytes, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t == MAP_FAILED)
		return;
	madvise(t, r->chunks_bytes, MADV_DONTFORK);
	r->chunk_shift = shift;
	r->chunks = t;
}

static int prot_of(uint32_t access)
{
	if (access & PG_WRITE)
		return PROT_READ | PROT_WRITE;
	if (access & PG_READ)
		return PROT_READ;
	return PROT_NONE;
}

static void cost_add(struct upager_region *r, int64_t n)
{
	if (n) {
		atomic_fetch_add_explicit(&vma_cost, n, memory_order_relaxed);
		atomic_fetch_add_explicit(&r->vma_cost, n, memory_order_relaxed);
	}
}

/* The state of chunk @c of @r, without arming it. */
static uint32_t chunk_peek(struct upager_region *r, uint64_t c)
{
	return r->chunks ? atomic_load_explicit(&r->chunks[c], memory_order_acquire)
	                 : CHUNK_LEGACY;
}

/*
 * Arm chunk @c of @r if nothing was ever granted in it; wait while another
 * thread arms it.  Arming takes one unit of the VMA budget, and only while
 * at most half of the budget is used, so that write tracking and legacy
 * chunks keep the rest.  Return: CHUNK_ARMED or CHUNK_LEGACY.
 */
static uint32_t chunk_arm(struct upager_region *r, uint64_t c)
{
	_Atomic uint32_t *s = &r->chunks[c];
	uint32_t v, result = CHUNK_LEGACY;

	for (;;) {
		v = atomic_load_explicit(s, memory_order_acquire);
		if (v == CHUNK_ARMED || v == CHUNK_LEGACY)
			return v;
		if (v == CHUNK_ARMING) {
			upager__futex_wait(s, CHUNK_ARMING);
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(s, &v, CHUNK_ARMING, memory_order_acquire,
		                                          memory_order_relaxed))
			break;
	}
	uint64_t first = c << r->chunk_shift;
	uint64_t n = r->npages - first < ((uint64_t)1 << r->chunk_shift)
	                     ? r->npages - first
	                     : (uint64_t)1 << r->chunk_shift;
	char *addr = page_addr(r, first);
	size_t len = n << r->page_shift;

	if (atomic_load_explicit(&vma_cost, memory_order_relaxed) + 1 <=
	            (int64_t)upager__vma_budget() / 2 &&
	    upager__inject(UPAGER_OP_MPROTECT, 0) == 0 &&
	    madvise(addr, len, MADV_GUARD_INSTALL) == 0) {
		if (mprotect(addr, len, PROT_READ) == 0) {
			result = CHUNK_ARMED;
			cost_add(r, 1);
		} else {
			madvise(addr, len, MADV_GUARD_REMOVE);
		}
	}
	atomic_store_explicit(s, result, memory_order_release);
	upager__futex_wake_all(s);
	return result;
}

/* Pages [@idx, @idx + @n) of one chunk: what the change to @access costs
 * the VMA budget. */
static int64_t chunk_gain(struct upager_region *r, uint32_t state, uint64_t idx, uint64_t n,
                          uint32_t access)
{
	int64_t gained = 0;

	if (state == CHUNK_NONE && access && r->chunks)
		gained++; /* arming */
	for (uint64_t k = 0; k < n; k++) {
		uint32_t f = page_flags(&r->pages[idx + k]);
		if (state == CHUNK_LEGACY || (state == CHUNK_NONE && !r->chunks))
			gained += (access != 0) - ((f & PG_ACCESS) != 0);
		else
			gained += ((access & PG_WRITE) != 0) - ((f & PG_VMA_W) != 0);
	}
	return gained;
}

/* Pages of [@idx, @idx + @n) in the chunk of @idx. */
static uint64_t chunk_run(const struct upager_region *r, uint64_t idx, uint64_t n)
{
	uint64_t end = ((idx >> r->chunk_shift) + 1) << r->chunk_shift;

	return r->chunks && end - idx < n ? end - idx : n;
}

/**
 * upager__access_gain() - how much setting pages [@idx, @idx + @n) of @r to
 * @access would add to the VMA budget's measure (negative: free).
 */
int64_t upager__access_gain(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	int64_t gained = 0;

	while (n) {
		uint64_t k = chunk_run(r, idx, n);
		uint32_t st = r->chunks ? chunk_peek(r, idx >> r->chunk_shift) : CHUNK_LEGACY;
		gained += chunk_gain(r, st, idx, k, access);
		idx += k;
		n -= k;
	}
	return gained;
}

/* upager__access_over_budget() - would @gained more pass the process's
 * VMA budget (region.c)? */
bool upager__access_over_budget(int64_t gained)
{
	return gained > 0 && atomic_load_explicit(&vma_cost, memory_order_relaxed) + gained >
	                             (int64_t)upager__vma_budget();
}

/* Record @access in the flags of [@idx, @idx + @n). */
static void flags_set_access(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	for (uint64_t k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		uint32_t f = page_flags(pg);
		if ((f & PG_ACCESS) != access) {
			page_clear(pg, PG_ACCESS & ~access);
			page_set(pg, access);
		}
	}
}

/* A legacy run: one mprotect(2), then the flags. */
static int set_access_mprotect(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	int64_t gained = chunk_gain(r, CHUNK_LEGACY, idx, n, access);

	if (upager__inject(UPAGER_OP_MPROTECT, 0) != 0)
		return -ENOMEM;
	if (mprotect(page_addr(r, idx), n << r->page_shift, prot_of(access)) != 0)
		return -errno;
	flags_set_access(r, idx, n, access);
	cost_add(r, gained);
	return 0;
}

/* Set PG_VMA_W on [@idx, @idx + @n) to @w; return the change in pages. */
static int64_t flags_set_vma_w(struct upager_region *r, uint64_t idx, uint64_t n, bool w)
{
	int64_t d = 0;

	for (uint64_t k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		bool was = page_flags(pg) & PG_VMA_W;
		if (was == w)
			continue;
		if (w)
			page_set(pg, PG_VMA_W);
		else
			page_clear(pg, PG_VMA_W);
		d += w ? 1 : -1;
	}
	return d;
}

/* A run of an armed chunk: guard markers, and mprotect only where the
 * VMA's read-write state must change (header comment). */
static int set_access_guarded(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	bool any_w = false, any_ro = false, any_acc = false, any_none = false;
	char *addr = page_addr(r, idx);
	size_t len = n << r->page_shift;

	for (uint64_t k = 0; k < n; k++) {
		uint32_t f = page_flags(&r->pages[idx + k]);
		if (f & PG_VMA_W)
			any_w = true;
		else
			any_ro = true;
		if (f & PG_ACCESS)
			any_acc = true;
		else
			any_none = true;
	}
	if (upager__inject(UPAGER_OP_MPROTECT, 0) != 0)
		return -ENOMEM;
	if (!access) {
		if (any_acc && madvise(addr, len, MADV_GUARD_INSTALL) != 0)
			return -errno;
		flags_set_access(r, idx, n, 0);
		/* Back to read-only, which frees its share of the budget; if
		 * the kernel refuses, the page stays guarded and counted. */
		if (any_w && mprotect(addr, len, PROT_READ) == 0)
			cost_add(r, flags_set_vma_w(r, idx, n, false));
		return 0;
	}
	bool w = access & PG_WRITE;
	if (w ? any_ro : any_w) {
		if (mprotect(addr, len, w ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
			return -errno;
		cost_add(r, flags_set_vma_w(r, idx, n, w));
	}
	if (any_none && madvise(addr, len, MADV_GUARD_REMOVE) != 0)
		return -errno;
	flags_set_access(r, idx, n, access);
	return 0;
}

/**
 * upager__set_access() - set the app-view protection of locked pages.
 * @r:      the region.
 * @idx:    first page; pages [@idx, @idx + @n) are locked by the caller.
 * @n:      pages, >= 1.
 * @access: 0, PG_READ or PG_READ | PG_WRITE.
 *
 * The mechanism only, chunk by chunk: guard markers where the chunk is
 * armed (arming it at its first grant), mprotect(2) elsewhere; then the
 * flags.  Granting access within the VMA budget (clearing references to
 * make room) is the Clock's policy: upager__grant_access() in vmscan.c.
 *
 * Return: 0, or the negative errno of the kernel (-ENOMEM: its VMA limit).
 * A run over several chunks may have changed its first chunks when a later
 * one fails; the flags say which.
 */
int upager__set_access(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	while (n) {
		uint64_t k = chunk_run(r, idx, n);
		uint32_t st = CHUNK_LEGACY;
		int rc;

		if (r->chunks) {
			uint64_t c = idx >> r->chunk_shift;
			st = chunk_peek(r, c);
			if (st == CHUNK_NONE && !access) {
				/* Never granted: nothing to revoke. */
				idx += k;
				n -= k;
				continue;
			}
			if (st == CHUNK_NONE || st == CHUNK_ARMING)
				st = chunk_arm(r, c); /* or wait for its arming */
		}
		rc = st == CHUNK_ARMED ? set_access_guarded(r, idx, k, access)
		                       : set_access_mprotect(r, idx, k, access);
		if (rc != 0)
			return rc;
		idx += k;
		n -= k;
	}
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* The kernel refused MADV_POPULATE_WRITE (before Linux 5.14): not again. */
static _Atomic bool populate_refused;

/**
 * upager__populate_write() - map locked pages [@idx, @idx + @n) of @r,
 * made read-write a moment ago, in the app view's page table at once.
 *
 * Without it the first store to each page takes a page fault in the kernel
 * (a page whose entry a revocation removed, or one that a read mapped
 * write-protected), and on a virtual machine with shadow page tables a
 * fault is an exit to the hypervisor.  One madvise(MADV_POPULATE_WRITE)
 * serves the whole run.  Measured on this project's machine (a memfd,
 * 4 KiB pages, tests excluded): a store to a page with no entry 10.4 us,
 * populated in runs of 256 pages then stored to 5.1 us; for one page 7.4
 * against 10.8 us.  A read grant is not populated: there the same
 * measurement found no gain (5.1 against 5.3 us per page in runs, a loss
 * for one page), since the kernel's fault-around maps 16 pages a fault.
 *
 * A hint: an error leaves the pages to fault as before.  System call
 * only; async-signal-safe.
 */
void upager__populate_write(struct upager_region *r, uint64_t idx, uint64_t n)
{
	if (!n || atomic_load_explicit(&populate_refused, memory_order_relaxed))
		return;
	if (madvise((char *)r->base + (idx << r->page_shift), n << r->page_shift,
	            MADV_POPULATE_WRITE) != 0 &&
	    errno == EINVAL)
		atomic_store_explicit(&populate_refused, true, memory_order_relaxed);
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

	while (fallocate(p->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) != 0 &&
	       errno == EINTR)
		;
	for (unsigned k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];

		if (page_flags(pg) & PG_HOT)
			upager__frame_cool(p, pg->frame, r->units);
		/* PG_TEST stays: an evicted page's test period goes on in its
		 * shadow (vmscan.c). */
		page_clear(pg, PG_RESIDENT | PG_HOT | PG_READAHEAD | PG_RA_MARK);
	}
	upager__stat_resident(p, -(int64_t)n, r->units);
	STAT_ADD(p, pgsteal, n);
}

void upager__evict_locked(struct upager_region *r, uint64_t idx)
{
	upager__evict_run_locked(r, idx, 1);
}

/* upager__access_forget() - @r's share of the VMA budget went away with
 * its mappings. */
void upager__access_forget(struct upager_region *r)
{
	int64_t n = atomic_exchange_explicit(&r->vma_cost, 0, memory_order_relaxed);

	atomic_fetch_sub_explicit(&vma_cost, n, memory_order_relaxed);
}
