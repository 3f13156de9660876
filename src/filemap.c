/*
 * filemap.c - page-in: make a page resident, with the pages read ahead of
 * it, from the file, the scratch file or zeros.
 *
 * SIGNAL CONTEXT: runs inside the SIGSEGV handler (major faults), in API
 * calls (pins) and on the pager's thread (WILLNEED).  No malloc, no pthread
 * locks: page locks taken with try-lock for read-ahead pages, frames from
 * the Clock (which waits only for a demanded page), I/O through the rings
 * or pread(2), the caller's stack.
 *
 * Owns: the page-in of a run (frames, the read, the resident bit, the
 * first access), and what it counts: pages read (pgpgin) or zero-filled
 * without reading a byte (pgzerofill), refaults (through clockpro.c's
 * admission, which asks workingset.c).
 * Calls: vmscan.c (frames, granting access), clockpro.c (admission hot or
 * cold), writeback.c (where a page's bytes come from), io.c, scratch.c
 * (which slots follow), mprotect.c, frame.c (the hot map), workingset.c
 * (the clock of evictions), page.c, stats.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

/*
 * The pages of a run: [idx, idx + n) less its holes, resident pages it
 * passes over (scratch runs only: readahead.c's gaps).  Bit k of @holes
 * set: page idx + k is not the run's (not locked, no frame, not read).
 */
#define RUN_HOLE_WORDS ((UPAGER_MAX_READAHEAD + 1 + 63) / 64)

static inline bool in_run(const uint64_t *holes, unsigned k)
{
	return k / 64 >= RUN_HOLE_WORDS || !(holes[k / 64] >> (k % 64) & 1);
}

/* Unlock the run's pages from @first on (below n). */
static void unlock_from(struct upager_region *r, uint64_t idx, unsigned first, unsigned n,
                        const uint64_t *holes)
{
	for (unsigned k = first; k < n; k++)
		if (in_run(holes, k))
			upager__page_unlock(&r->pages[idx + k]);
}

/* Discard a failed or abandoned run: its pages hold frames but are not
 * resident yet.  Page @idx stays locked (the caller's). */
static void drop_run(struct upager_region *r, uint64_t idx, unsigned n, const uint64_t *holes)
{
	struct upager *p = r->pager;

	for (unsigned k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		off_t off = (off_t)(r->memfd_offset + ((idx + k) << r->page_shift));

		if (!in_run(holes, k))
			continue;
		fallocate(p->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		          (off_t)r->page_size);
		upager__frame_free(p, pg->frame, r->units);
		page_clear(pg, PG_HOT); /* admitted hot, never resident */
	}
	unlock_from(r, idx, 1, n, holes);
}

/**
 * upager__grant_demanded() - give locked, resident page @idx of @r the
 * @access its fault asked for.
 *
 * A load of a page whose VMA a revocation or an eviction left read-write
 * (mprotect.c, "lazy VMAs") needs that VMA made read-only, a split that the
 * kernel may refuse at vm.max_map_count even after upager__grant_access()
 * cleared references.  The page then comes read-write and dirty instead,
 * like a predicted page-in (fault.c; counted in pgdirty_predicted): one
 * write-back more rather than a load that fails with SIGBUS.
 *
 * Return: 0, or the negative errno of the grant (the page inaccessible).
 */
int upager__grant_demanded(struct upager_region *r, uint64_t idx, uint32_t access)
{
	struct upager_page *pg = &r->pages[idx];
	int rc = upager__grant_access(r, idx, 1, access);

	if (rc == 0 || (access & PG_WRITE) || !r->writable || !(page_flags(pg) & PG_VMA_W))
		return rc;
	rc = upager__grant_access(r, idx, 1, PG_READ | PG_WRITE);
	if (rc == 0) {
		upager__mark_dirty(r, pg, page_flags(pg), false);
		STAT_INC(r->pager, pgdirty_predicted);
	}
	return rc;
}

/**
 * upager__page_in_locked() - make page @idx resident, with read-ahead.
 * @r:        the region.
 * @idx:      the page; locked by the caller and not resident.
 * @ra_pages: most pages after @idx to read in the same request.
 * @access:   0 (leave inaccessible, as WILLNEED does), or PG_READ /
 *            PG_READ | PG_WRITE for @idx; read-ahead pages get PG_READ
 *            (read-write and dirty in a zero-filled run when @access has
 *            PG_WRITE) except the first, the marker (@idx + 1 after a
 *            demanded page; @idx itself for a run read ahead without
 *            demand).
 * @demand:   @idx itself was demanded (a fault, a pin): wait for its frame
 *            (upager__frame_alloc).  Without it (read-ahead, WILLNEED)
 *            nothing waits, and -ENOMEM only means "not now".
 * @read:     out, on success (may be NULL): true if bytes of @idx were read
 *            from backing storage (the file or the scratch file), false if
 *            it was zero-filled without I/O (upager_alloc memory never
 *            written back, or a page wholly past the end of the file).
 *            This is what makes a fault major (vmstat's pgmajfault: the
 *            fault needed I/O) or minor.
 *
 * Each page that had been evicted by the Clock is a refault
 * (workingset.c): its distance is taken from the pager's clock of
 * evictions as it was before the page's frame was sought.
 *
 * Read-ahead pages are taken only if free of locks and not resident, and
 * stop at the first page that comes from another source.  A run of the
 * scratch file passes over resident pages (UPAGER_RA_GAP in a row at
 * most; they are the run's holes: not locked, not read, their access left
 * as it is), so that a scan over data partly in memory (pages kept from
 * random rewrites) reads a window's pages in one submission, not a run per
 * gap.  In the scratch file, each run of slots that follow one another
 * (and of pages without a hole between) is one read of the run's
 * submission, UPAGER_IO_BATCH reads at most.  @idx stays locked;
 * read-ahead pages are unlocked on return.
 *
 * Return: the pages the run spans from @idx (>= 1; the holes included),
 * or a negative errno (-ENOMEM: no frame could be had; -EIO etc.: the
 * read failed; @idx not resident).
 */
int upager__page_in_locked(struct upager_region *r, uint64_t idx, unsigned ra_pages,
                           uint32_t access, bool demand, bool *read)
{
	struct upager *p = r->pager;
	uint32_t f0 = page_flags(&r->pages[idx]);
	bool backed = f0 & PG_BACKED;
	unsigned n = 1, k, pieces = 1, taken = 0, gap = 0;
	uint64_t holes[RUN_HOLE_WORDS] = { 0 };
	struct io_req req[UPAGER_IO_BATCH];
	uint64_t max_run = (64u << 20) >> r->page_shift; /* bytes per request cap */
	int rc;

	if (ra_pages > max_run)
		ra_pages = (unsigned)max_run;
	/*
	 * Never read ahead into more than a quarter of the unpinned memory:
	 * with few frames, read-ahead would evict the other half of an access
	 * that spans two pages, and the two faults would take turns for ever.
	 */
	{
		int64_t pinned = atomic_load(&p->stats.pinned_units);
		uint64_t unpinned = p->nunits > (uint64_t)pinned ? p->nunits - (uint64_t)pinned : 0;

		if (ra_pages > unpinned / 4 / r->units)
			ra_pages = (unsigned)(unpinned / 4 / r->units);
	}
	for (k = 1; k <= ra_pages && idx + k < r->npages; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		uint32_t f = page_flags(pg);

		/* A scratch run passes over resident pages (UPAGER_RA_GAP in
		 * a row at most): a scan over data partly in memory reads
		 * all the window's pieces in one submission. */
		if ((f & PG_RESIDENT) && backed && k / 64 < RUN_HOLE_WORDS &&
		    gap < UPAGER_RA_GAP) {
			holes[k / 64] |= 1ull << (k % 64);
			gap++;
			continue;
		}
		if ((f & PG_RESIDENT) || ((f & PG_BACKED) != 0) != backed)
			break;
		if (!upager__page_trylock(pg))
			break;
		if (page_flags(pg) & PG_RESIDENT) {
			upager__page_unlock(pg);
			break;
		}
		/* Scratch pages whose slots lie apart, or after a hole, take a
		 * read each. */
		if (backed && (gap || !upager__slot_follows(r, idx + k - 1, idx + k)) &&
		    ++pieces > UPAGER_IO_BATCH) {
			upager__page_unlock(pg);
			break;
		}
		gap = 0;
		n = k + 1; /* trailing holes are not the run's */
	}
	/* Frames: the demanded page must get one; read-ahead ones may not. */
	for (k = 0; k < n; k++) {
		uint32_t age = upager__workingset_age(p), fi;

		if (!in_run(holes, k))
			continue;
		if (upager__frame_alloc(p, frame_owner(r, idx + k), r->units, &fi,
		                        k == 0 && demand) != 0) {
			if (k == 0) {
				unlock_from(r, idx, 1, n, holes);
				return -ENOMEM;
			}
			unlock_from(r, idx, k, n, holes);
			/* The run ends at its last page with a frame. */
			while (!in_run(holes, k - 1))
				k--;
			n = k;
			break;
		}
		upager__clock_admit(p, r, &r->pages[idx + k], age);
		r->pages[idx + k].frame = fi;
	}
	for (k = 0; k < n; k++)
		taken += in_run(holes, k);

	if (r->kind == REGION_ANON && !backed) {
		/* Never written: the memfd hole already reads as zero.  (No
		 * holes: only scratch runs have them.) */
		STAT_ADD(p, pgzerofill, n);
		if (read)
			*read = false;
	} else {
		size_t got = 0;
		uint64_t with_bytes;

		unsigned np = 1;

		upager__page_source(r, idx, false, &req[0]);
		req[0].moff = (off_t)(r->memfd_offset + (idx << r->page_shift));
		if (n > 1 && backed) {
			/* Scratch: a piece per run of slots that follow, each
			 * into its pages' frames. */
			for (k = 1; k < n; k++) {
				if (!in_run(holes, k))
					continue;
				if (in_run(holes, k - 1) &&
				    upager__slot_follows(r, idx + k - 1, idx + k)) {
					req[np - 1].len += r->page_size;
					continue;
				}
				upager__page_source(r, idx + k, false, &req[np]);
				req[np++].moff =
				        (off_t)(r->memfd_offset + ((idx + k) << r->page_shift));
			}
		} else if (n > 1) {
			uint64_t off = idx << r->page_shift;
			size_t run = (size_t)n << r->page_shift;
			size_t left = r->length - off;

			req[0].len = left < run ? left : run;
			req[0].fd = r->fd;
			req[0].alt_fd = -1;
			if (r->direct_fd >= 0 && req[0].len % r->page_size == 0) {
				req[0].fd = r->direct_fd;
				req[0].alt_fd = r->fd;
			}
		}
		rc = upager__io_read_frames(p, req, np, &got);
		if (rc < 0) {
			STAT_INC(p, io_errors);
			drop_run(r, idx, n, holes);
			return rc;
		}
		/* Pages past the end of the file got no byte: zero-filled. */
		with_bytes = (got + r->page_size - 1) >> r->page_shift;
		if (with_bytes > taken)
			with_bytes = taken;
		STAT_ADD(p, pgpgin, with_bytes);
		if (with_bytes < taken)
			STAT_ADD(p, pgzerofill, taken - with_bytes);
		if (read)
			*read = with_bytes > 0;
	}
	for (k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];

		if (!in_run(holes, k))
			continue;
		page_clear(pg, PG_DIRTIED | PG_WRITTEN); /* a new residency */
		page_set(pg, PG_RESIDENT | (k ? PG_READAHEAD : 0));
		if (page_flags(pg) & PG_HOT)
			upager__frame_heat(p, pg->frame, r->units);
	}
	upager__stat_resident(p, taken, r->units);
	if (taken > 1)
		STAT_ADD(p, readahead, taken - 1);
	atomic_store_explicit(&r->ra_next, idx + n, memory_order_relaxed);

	if (access) {
		/*
		 * The run's first read-ahead page is the marker and stays
		 * inaccessible (readahead.c): @idx + 1 after a demanded page,
		 * else @idx itself (an asynchronous run).  The demanded page
		 * gets @access, the pages after the marker PG_READ; or, in a
		 * zero-filled run that a store asked for (a sequential writer
		 * of new upager_alloc memory: readahead.c), read-write and
		 * dirty, so that the writer takes one fault per run, not one
		 * write fault per page.  Such a page is dirty without a store
		 * seen (as a predicted page-in: fault.c), so a page of the run
		 * that is never written is written back once, as zeros.
		 */
		unsigned m = 0; /* the marker, idx + m: a page of the run */
		bool zero = r->kind == REGION_ANON && !backed;
		uint32_t run_access = zero && (access & PG_WRITE) ? PG_READ | PG_WRITE : PG_READ;

		if (demand)
			for (m = 1; m < n && !in_run(holes, m); m++)
				;
		uint64_t mark = idx + m;

		rc = 0;
		if (demand)
			rc = upager__grant_demanded(r, idx, access);
		/* The run's pages after the marker, a grant per stretch between
		 * holes (only scratch runs have holes, and they are never
		 * zero-filled: PG_READ). */
		for (k = m + 1; rc == 0 && k < n;) {
			unsigned end = k;

			while (end < n && in_run(holes, end))
				end++;
			if (end > k)
				upager__grant_access(r, idx + k, end - k, run_access);
			for (k = end; k < n && !in_run(holes, k); k++)
				;
		}
		if (rc == 0 && n > 1 && mark + 1 < idx + n) {
			/* Every page the grant made writable is dirty, even when
			 * it failed part-way (a run over several chunks: the
			 * flags say which pages it reached); a writable clean
			 * page would lose the stores to it. */
			for (k = mark + 1 - idx; (run_access & PG_WRITE) && k < n; k++) {
				struct upager_page *pg = &r->pages[idx + k];
				uint32_t f = page_flags(pg);

				if (f & PG_WRITE) {
					upager__mark_dirty(r, pg, f, false);
					STAT_INC(p, pgdirty_predicted);
				}
			}
		}
		if (rc < 0) {
			/* Resident but inaccessible: a later touch retries. */
			unlock_from(r, idx, 1, n, holes);
			return rc;
		}
		if (m < n && (n > 1 || !demand))
			page_set(&r->pages[mark], PG_RA_MARK);
	}
	unlock_from(r, idx, 1, n, holes);
	return (int)n;
}
