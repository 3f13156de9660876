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
 *    (PG_VMA_W: dirty, or inaccessible and left so); granting read access to a clean page
 *    is one MADV_GUARD_REMOVE, revoking it one MADV_GUARD_INSTALL, and only
 *    write tracking still calls mprotect.  Chunks never granted stay
 *    PROT_NONE without page tables, so a 1 TiB region costs nothing until
 *    touched.  Where the kernel has no guard markers, a chunk cannot be
 *    armed (the VMA budget is short, arming fails) or UPAGER_GUARDS=0, a
 *    chunk is "legacy" and uses mprotect alone.
 *
 * The VMA budget counts, process-wide: accessible pages of legacy chunks,
 * armed chunks (one each: an armed run next to an unarmed one costs a
 * VMA boundary), and runs of pages of armed chunks whose VMA is
 * read-write.  A revocation leaves a page's VMA read-write while the
 * budget is less than half used ("Write tracking's VMAs" below), and puts
 * it back to read-only beyond, so clearing references (vmscan.c) still
 * relieves the budget when it must.
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

/*
 * Write tracking's VMAs, and why a revocation leaves them alone.
 *
 * In an armed chunk a page's VMA must be read-only while the page is
 * accessible and clean, and read-write while it is accessible and dirty;
 * while the page is inaccessible its guard marker blocks every access, so
 * its VMA may be either.  A revocation or an eviction therefore leaves
 * the VMA as it is ("lazy"), and the next grant changes it only if it
 * must: a page revoked dirty that a store brings back (every page-in of a
 * read-modify-write, and the predicted page-ins of fault.c) finds its VMA
 * still read-write and costs no mprotect at all, where it used to cost
 * two (back to read-only at the revocation, read-write at the grant),
 * each a VMA split or merge that takes the mmap lock for writing and
 * flushes the other CPUs' TLBs.  Pages left read-write next to each other
 * are one VMA, so a write-heavy working set converges to few VMAs.
 *
 * The budget then counts runs, not pages: one unit per run of PG_VMA_W
 * pages (at most two VMA boundaries), kept exact under the region's
 * vma_lock, which every change of PG_VMA_W takes.  Under pressure (half
 * of the budget used, the point where arming stops) the scheme stops: a
 * revocation goes back to read-only at once, and a revocation or a read
 * grant that makes pages read-only takes the idle read-write pages on
 * either side with it (inaccessible, try-locked: vma_tidy_around()), so
 * that it merges a run instead of splitting one.  Clearing references
 * (vmscan.c) then frees budget as it did before the lazy scheme.  Idle
 * runs elsewhere (pages no longer accessible or resident) can only be
 * found by a walk of the chunks, which a refusal of the kernel triggers
 * (upager__access_tidy()).
 */

/* The region's lock of PG_VMA_W and its run count: held for a few flag
 * reads and writes, never over a system call or a wait; taken in signal
 * context by threads whose other signals are blocked (design.md, "Signal
 * context"), so no handler can interrupt its holder and take it again.
 * 0 free, 1 held, 2 held with sleepers (a futex lock, as page locks are:
 * a spin with sched_yield would not let a preempted holder of lower
 * priority run under SCHED_FIFO). */
static void vma_lock(struct upager_region *r)
{
	uint32_t c = 0;

	if (atomic_compare_exchange_strong_explicit(&r->vma_lock, &c, 1, memory_order_acquire,
	                                            memory_order_relaxed))
		return;
	if (c != 2)
		c = atomic_exchange_explicit(&r->vma_lock, 2, memory_order_acquire);
	while (c != 0) {
		upager__futex_wait(&r->vma_lock, 2);
		c = atomic_exchange_explicit(&r->vma_lock, 2, memory_order_acquire);
	}
}

static void vma_unlock(struct upager_region *r)
{
	if (atomic_exchange_explicit(&r->vma_lock, 0, memory_order_release) == 2)
		upager__futex_wake_all(&r->vma_lock);
}

static bool vma_w(struct upager_region *r, uint64_t i)
{
	return page_flags(&r->pages[i]) & PG_VMA_W;
}

/* How many runs of PG_VMA_W pages setting [@idx, @idx + @n) to @w adds
 * (negative: removes).  Exact under vma_lock, an estimate without. */
static int64_t w_runs_delta(struct upager_region *r, uint64_t idx, uint64_t n, bool w)
{
	bool left = idx > 0 && vma_w(r, idx - 1);
	bool right = idx + n < r->npages && vma_w(r, idx + n);
	bool prev = left;
	int64_t before = 0, after;

	for (uint64_t k = 0; k < n; k++) {
		bool cur = vma_w(r, idx + k);
		before += cur && !prev;
		prev = cur;
	}
	before += right && !prev;
	after = (w && !left) + (right && !w);
	return after - before;
}

/* Where the lazy scheme stops: half of the budget, or less once the
 * kernel refused a protection change (upager__access_tidy()). */
static _Atomic int64_t lazy_limit = INT64_MAX;

/* Is the budget short?  Then revocations and grants stop leaving idle
 * pages read-write (above). */
static bool vma_pressure(void)
{
	int64_t cost = atomic_load_explicit(&vma_cost, memory_order_relaxed);

	return cost >= (int64_t)upager__vma_budget() / 2 ||
	       cost >= atomic_load_explicit(&lazy_limit, memory_order_relaxed);
}

/* Pages [@idx, @idx + @n) of one chunk: what the change to @access costs
 * the VMA budget. */
static int64_t chunk_gain(struct upager_region *r, uint32_t state, uint64_t idx, uint64_t n,
                          uint32_t access)
{
	int64_t gained = 0;

	if (state == CHUNK_LEGACY || (state == CHUNK_NONE && !r->chunks)) {
		for (uint64_t k = 0; k < n; k++) {
			uint32_t f = page_flags(&r->pages[idx + k]);
			gained += (access != 0) - ((f & PG_ACCESS) != 0);
		}
		return gained;
	}
	if (state == CHUNK_NONE && access)
		gained++; /* arming */
	/* A revocation leaves the VMA as it is (below, "lazy"). */
	if (access)
		gained += w_runs_delta(r, idx, n, access & PG_WRITE);
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

/* Set PG_VMA_W on locked pages [@idx, @idx + @n) to @w (their VMA was
 * just made so) and count the change in runs. */
static void flags_set_vma_w(struct upager_region *r, uint64_t idx, uint64_t n, bool w)
{
	int64_t d;

	vma_lock(r);
	d = w_runs_delta(r, idx, n, w);
	for (uint64_t k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		if (w)
			page_set(pg, PG_VMA_W);
		else
			page_clear(pg, PG_VMA_W);
	}
	vma_unlock(r);
	cost_add(r, d);
}

/* Try-lock page @k of @r if it is idle read-write (inaccessible, VMA
 * read-write); false (and not locked) otherwise. */
static bool idle_w_trylock(struct upager_region *r, uint64_t k)
{
	struct upager_page *pg = &r->pages[k];
	uint32_t f = page_flags(pg);

	if (!(f & PG_VMA_W) || (f & (PG_ACCESS | PG_LOCKED)) || !upager__page_trylock(pg))
		return false;
	f = page_flags(pg);
	if ((f & PG_VMA_W) && !(f & PG_ACCESS))
		return true;
	upager__page_unlock(pg);
	return false;
}

/*
 * mprotect(2) refused locked pages [@idx, @idx + @n) of @r.  The kernel
 * changes a range's VMAs one after another and stops at the first it
 * cannot split, so what the range's VMAs are now is unknown.  Make every
 * page of it inaccessible (a guard marker needs no VMA), so that none can
 * be reached through a protection its flags do not record (a store unseen
 * by write tracking), and stop trusting the region's PG_VMA_W: from now on
 * every grant in the region sets the VMA itself (vma_unsure).
 */
static void vma_failed(struct upager_region *r, uint64_t idx, uint64_t n, bool any_acc)
{
	if (any_acc && madvise(page_addr(r, idx), n << r->page_shift, MADV_GUARD_INSTALL) == 0)
		flags_set_access(r, idx, n, 0);
	atomic_store_explicit(&r->vma_unsure, true, memory_order_relaxed);
}

/* Make locked, inaccessible pages [@lo, @hi) of @r read-only and count the
 * change.  Return: whether the kernel did (it may refuse to split a VMA). */
static bool vma_downgrade(struct upager_region *r, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return false;
	if (mprotect(page_addr(r, lo), (hi - lo) << r->page_shift, PROT_READ) != 0) {
		vma_failed(r, lo, hi - lo, false);
		return false;
	}
	flags_set_vma_w(r, lo, hi - lo, false);
	return true;
}

/*
 * Under pressure, after locked pages [@idx, @idx + @n) were revoked or
 * made read-only by a read grant: make the idle read-write pages on either
 * side read-only too (at most a chunk's worth each way, try-locks only),
 * and the caller's own if they are idle read-write (a revocation), with
 * as few mprotects as the runs allow.  The change then merges the VMAs
 * around it instead of splitting a run of read-write pages.
 */
static void vma_tidy_around(struct upager_region *r, uint64_t idx, uint64_t n)
{
	uint64_t most = (uint64_t)1 << r->chunk_shift, lo = idx, hi = idx + n;
	bool mine_idle = true;

	while (lo > 0 && idx - lo < most && idle_w_trylock(r, lo - 1))
		lo--;
	while (hi < r->npages && hi - (idx + n) < most && idle_w_trylock(r, hi))
		hi++;
	for (uint64_t k = idx; k < idx + n && mine_idle; k++)
		mine_idle = !(page_flags(&r->pages[k]) & PG_ACCESS);
	if (mine_idle) {
		vma_downgrade(r, lo, hi);
	} else {
		vma_downgrade(r, lo, idx);
		vma_downgrade(r, idx + n, hi);
	}
	for (uint64_t k = lo; k < idx; k++)
		upager__page_unlock(&r->pages[k]);
	for (uint64_t k = idx + n; k < hi; k++)
		upager__page_unlock(&r->pages[k]);
}

/* After a refusal of the kernel: make the idle read-write pages of chunk
 * @c of @r read-only (try-locks only), one mprotect per run.  Return: the
 * runs made read-only. */
static unsigned chunk_tidy(struct upager_region *r, uint64_t c)
{
	uint64_t k = c << r->chunk_shift, end = k + ((uint64_t)1 << r->chunk_shift);
	unsigned runs = 0;

	if (end > r->npages)
		end = r->npages;
	while (k < end) {
		uint64_t lo = k;

		while (k < end && idle_w_trylock(r, k))
			k++;
		if (k == lo) {
			k++;
			continue;
		}
		runs += vma_downgrade(r, lo, k);
		for (uint64_t j = lo; j < k; j++)
			upager__page_unlock(&r->pages[j]);
	}
	return runs;
}

/**
 * upager__access_tidy() - the kernel refused a protection change for lack
 * of VMAs (the rest of the process uses more of vm.max_map_count than the
 * budget assumes): stop the lazy scheme below half of what upager uses now,
 * and make the idle read-write pages of every armed chunk of @p's regions
 * read-only, pages that a revocation or an eviction left so and that the
 * Clock no longer reaches.  Walks the chunk tables and the descriptors of
 * armed chunks: for a last resort only, at most once per 10 ms in the
 * process (else it returns 0 at once).  Signal context (the regions stay
 * while the caller holds the region gate or the pager's lock); try-locks
 * only.
 *
 * Return: the runs made read-only (each freed up to two VMAs).
 */
unsigned upager__access_tidy(struct upager *p)
{
	static _Atomic uint64_t last_ns;
	int64_t half = atomic_load_explicit(&vma_cost, memory_order_relaxed) / 2;
	int64_t lim = atomic_load_explicit(&lazy_limit, memory_order_relaxed);
	uint64_t now = upager__now_ns(), last = atomic_load_explicit(&last_ns, memory_order_relaxed);
	unsigned tidied = 0;

	while (half < lim && !atomic_compare_exchange_weak_explicit(
	                             &lazy_limit, &lim, half, memory_order_relaxed,
	                             memory_order_relaxed))
		;
	/* At most one walk per 10 ms, whatever the number of threads whose
	 * grants the kernel refuses. */
	if ((last && now - last < 10000000) ||
	    !atomic_compare_exchange_strong_explicit(&last_ns, &last, now, memory_order_relaxed,
	                                             memory_order_relaxed))
		return 0;
	for (uint32_t id = 0; id < UPAGER_MAX_REGIONS; id++) {
		struct upager_region *r = upager__region_get(id);

		if (!r || r->pager != p || !r->chunks)
			continue;
		for (uint64_t c = 0; c << r->chunk_shift < r->npages; c++)
			if (chunk_peek(r, c) == CHUNK_ARMED)
				tidied += chunk_tidy(r, c);
	}
	return tidied;
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
	bool w = access & PG_WRITE;
	bool change = access && (atomic_load_explicit(&r->vma_unsure, memory_order_relaxed) ||
	                         (w ? any_ro : any_w));

	if (upager__inject(UPAGER_OP_MPROTECT, 0) != 0) {
		if (change)
			vma_failed(r, idx, n, any_acc); /* as a refusal would */
		return -ENOMEM;
	}
	if (!access) {
		if (any_acc && madvise(addr, len, MADV_GUARD_INSTALL) != 0)
			return -errno;
		flags_set_access(r, idx, n, 0);
		/* The VMA stays read-write unless the budget is short (the
		 * lazy scheme, above). */
		if (any_w && vma_pressure())
			vma_tidy_around(r, idx, n);
		return 0;
	}
	if (change) {
		int e = 0;

		if (!w && upager__inject(UPAGER_OP_MPROTECT_RO, 0) != 0)
			e = ENOMEM; /* test builds: a refused split */
		else if (mprotect(addr, len, w ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
			e = errno;
		if (e) {
			vma_failed(r, idx, n, any_acc);
			return -e;
		}
		flags_set_vma_w(r, idx, n, w);
	}
	if (any_none && madvise(addr, len, MADV_GUARD_REMOVE) != 0)
		return -errno;
	flags_set_access(r, idx, n, access);
	/* Made read-only: merge with idle neighbours rather than split. */
	if (!w && any_w && vma_pressure())
		vma_tidy_around(r, idx, n);
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
	/* Under pressure an evicted page's read-write VMA goes too: runs of
	 * pages that are not resident are beyond the Clock's reach. */
	if (r->chunks && vma_pressure()) {
		bool any_w = false;

		for (unsigned k = 0; k < n && !any_w; k++)
			any_w = page_flags(&r->pages[idx + k]) & PG_VMA_W;
		if (any_w)
			vma_tidy_around(r, idx, n);
	}
	upager__stat_resident(p, -(int64_t)n, r->units);
	STAT_ADD(p, pgsteal, n);
}

void upager__evict_locked(struct upager_region *r, uint64_t idx)
{
	upager__evict_run_locked(r, idx, 1);
}

#ifdef UPAGER_TEST_HOOKS
/* upager__vma_lazy_reset() - forget that the kernel refused a protection
 * change (testhooks.h): the lazy scheme stops at half the budget again. */
void upager__vma_lazy_reset(void)
{
	atomic_store_explicit(&lazy_limit, INT64_MAX, memory_order_relaxed);
}
#endif

/* upager__access_forget() - @r's share of the VMA budget went away with
 * its mappings. */
void upager__access_forget(struct upager_region *r)
{
	int64_t n = atomic_exchange_explicit(&r->vma_cost, 0, memory_order_relaxed);

	atomic_fetch_sub_explicit(&vma_cost, n, memory_order_relaxed);
}
