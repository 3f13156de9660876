/*
 * writeback.c - where a page's bytes come from and go to, writing dirty
 * pages back, and flushing ranges for sync, DONTNEED and unmap.
 *
 * SIGNAL CONTEXT: upager__page_source() and upager__writeback_locked() run
 * in the SIGSEGV handler (eviction).  They use the caller's stack only.
 * upager__flush_range() runs in API context (it may wait for page locks,
 * with signals blocked by the API entry point).
 *
 * A page is written back only while no one can write it: the Clock writes
 * unreferenced pages (PROT_NONE), and flushes downgrade a writable page to
 * read-only first, so a concurrent store faults and waits for the page
 * lock instead of tearing the copy.  The exception is a pinned page, which
 * must stay writable: it is written but stays dirty.
 *
 * A page whose write fails keeps PG_DIRTY and gains PG_WB_ERROR; every
 * later eviction, sync or unmap tries it again, and the error is returned
 * until a write succeeds, so no sync reports success for unwritten data.
 *
 * Dirty accounting (after Linux mm/page-writeback.c): upager__mark_dirty()
 * counts a newly dirty page (and, once per residency, pgdirtied: pgpgout /
 * pgdirtied is the write amplification) and, past dirty_high, kicks the
 * pager's thread
 * through its event word (upager__kick_thread: an atomic and a futex wake,
 * async-signal-safe); the thread (worker.c, above) sleeps on that word.
 *
 * Owns: page sources, write-back of locked pages, flushes, dirty
 * accounting, the thread's event word.
 * Calls: mprotect.c (downgrades, eviction of flushed pages), frame.c,
 * io.c, scratch.c (a page's slot), page.c, stats.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>


/**
 * upager__page_source() - the file, offset and length holding page @idx.
 * @r:     the region.
 * @idx:   the page.
 * @write: true for write-back, false for page-in.
 * @req:   out: fd, off, len and moff (the frame's memfd offset) filled in.
 *
 * SHARED and PRIVATE pages read from the file, clamped to the region's
 * length (the tail of the last page reads as zero); SHARED pages write back
 * to the file with the same clamp, which is how write-back extends a file
 * up to offset + length at most.  PRIVATE and ANON pages write to, and
 * once written (PG_BACKED) read from, their slot of the scratch file: a
 * write-back takes a new slot (scratch.c), so @write changes the page's
 * slot, and the caller must write it; if no slot can be had, ->res is
 * -ENOSPC.  O_DIRECT is used where the length is a whole number of pages.
 */
void upager__page_source(struct upager_region *r, uint64_t idx, bool write,
                         struct io_req *req)
{
	uint64_t off = idx << r->page_shift;
	bool scratch = r->kind != REGION_SHARED &&
	               (write || (page_flags(&r->pages[idx]) & PG_BACKED));

	req->write = write;
	req->internal = false;
	req->buf = NULL;
	req->moff = (off_t)(r->memfd_offset + off);
	req->res = 0;
	if (scratch) {
		req->fd = r->scratch_direct_fd >= 0 ? r->scratch_direct_fd : r->scratch_fd;
		req->alt_fd = req->fd == r->scratch_fd ? -1 : r->scratch_fd;
		req->off = write ? upager__slot_assign(r, idx) : upager__slot_offset(r, idx);
		req->len = r->page_size;
		if (req->off < 0)
			req->res = (int)req->off;
		return;
	}
	req->off = r->file_offset + (off_t)off;
	req->len = r->length - off < r->page_size ? r->length - off : r->page_size;
	req->fd = (r->direct_fd >= 0 && req->len == r->page_size) ? r->direct_fd : r->fd;
	req->alt_fd = req->fd == r->direct_fd ? r->fd : -1;
}

/*
 * Buffered write-back leaves the pages dirty in the page cache, charged to
 * the process's memory cgroup, until the kernel's flusher writes them (up
 * to 30 s later).  A cgroup v1 memory controller cannot write dirty pages
 * back from reclaim, only wait for pages already under writeback, so a
 * pager that writes faster than the flusher at its cgroup's limit was
 * killed for lack of memory (bench/ scratch runs at 32 and 64 MiB, on a
 * machine whose disk was busy).
 * Every UPAGER_WB_START_BYTES written, the disk writes of each file of the
 * batch start at once (sync_file_range(SYNC_FILE_RANGE_WRITE): no wait for
 * them), as the kernel's own reclaim starts the write of a dirty page it
 * evicts.  O_DIRECT writes leave nothing in the page cache.  One system
 * call per file per 2 MiB; async-signal-safe.
 */
static void start_writeout(struct upager *p, const struct io_req *reqs, unsigned n)
{
	uint64_t bytes = 0;

	for (unsigned i = 0; i < n; i++)
		if (reqs[i].res == 0 && reqs[i].alt_fd < 0)
			bytes += reqs[i].len;
	if (!bytes || atomic_fetch_add(&p->wb_unstarted, bytes) + bytes < UPAGER_WB_START_BYTES)
		return;
	atomic_store(&p->wb_unstarted, 0);
	for (unsigned i = 0; i < n; i++) {
		bool seen = false;

		if (reqs[i].res != 0 || reqs[i].alt_fd >= 0)
			continue;
		for (unsigned k = 0; k < i && !seen; k++)
			seen = reqs[k].fd == reqs[i].fd;
		if (!seen)
			sync_file_range(reqs[i].fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
}

/**
 * upager__writeback_locked() - write @n locked dirty pages back.
 * @p:       the pager.
 * @rs:      region of each page.
 * @idxs:    page numbers; pages are locked, resident and not writable by
 *           the application unless pinned.
 * @n:       pages, at most UPAGER_IO_BATCH.
 * @results: out: 0 or negative errno per page.
 *
 * A request per page; io.c copies and writes the pages that follow each
 * other as one (upager__io_write_frames), in as few submissions as the
 * bounce buffer allows.
 * Written pages lose PG_DIRTY (unless pinned) and PG_WB_ERROR; failed ones
 * keep PG_DIRTY and gain PG_WB_ERROR.
 *
 * Return: 0 or the first error.
 */
int upager__writeback_locked(struct upager *p, struct upager_region **rs, uint64_t *idxs,
                             unsigned n, int *results)
{
	struct io_req reqs[UPAGER_IO_BATCH];
	unsigned owner[UPAGER_IO_BATCH]; /* request serving each page */
	unsigned nreq = 0;
	int first = 0;

	for (unsigned i = 0; i < n; i++) {
		struct io_req q;

		upager__page_source(rs[i], idxs[i], true, &q);
		if (q.res) { /* no slot: the page fails without I/O */
			owner[i] = UINT_MAX;
			results[i] = q.res;
			continue;
		}
		owner[i] = nreq;
		reqs[nreq++] = q;
	}
	upager__io_write_frames(p, reqs, nreq);
	start_writeout(p, reqs, nreq);
	for (unsigned i = 0; i < n; i++) {
		struct upager_region *r = rs[i];
		struct upager_page *pg = &r->pages[idxs[i]];
		int res = owner[i] == UINT_MAX ? results[i] : reqs[owner[i]].res;

		results[i] = res;
		if (res == 0) {
			uint32_t clear = PG_WB_ERROR;
			if (!page_pins(page_flags(pg))) {
				clear |= PG_DIRTY;
				upager__stat_dirty(p, -1, r->units);
			}
			page_clear(pg, clear);
			if (r->kind != REGION_SHARED)
				page_set(pg, PG_BACKED);
			STAT_INC(p, pgpgout);
		} else {
			page_set(pg, PG_WB_ERROR);
			STAT_INC(p, io_errors);
			if (!first)
				first = res;
		}
	}
	return first;
}

/*
 * A batch of locked pages for a flush; written (and possibly evicted) by
 * flush_batch(), which unlocks them.
 */
struct flush_batch {
	struct upager_region *rs[UPAGER_IO_BATCH];
	uint64_t idxs[UPAGER_IO_BATCH];
	int results[UPAGER_IO_BATCH];
	unsigned n;
};

/* Evict locked page @idx of @r now if it is clean, unpinned and can be made
 * inaccessible.  Return true if evicted. */
static bool evict_now(struct upager_region *r, uint64_t idx)
{
	struct upager_page *pg = &r->pages[idx];
	uint32_t f = page_flags(pg);

	if ((f & PG_DIRTY) || page_pins(f))
		return false;
	if ((f & PG_ACCESS) && upager__set_access(r, idx, 1, 0) != 0)
		return false;
	uint32_t fi = pg->frame;
	upager__evict_locked(r, idx);
	upager__frame_free(r->pager, fi, r->units);
	return true;
}

static int flush_batch(struct upager *p, struct flush_batch *b, bool evict)
{
	int first = 0;

	if (!b->n)
		return 0;
	/* Sort by page so that neighbours merge into one request. */
	for (unsigned i = 1; i < b->n; i++)
		for (unsigned j = i; j > 0 && b->idxs[j - 1] > b->idxs[j]; j--) {
			uint64_t t = b->idxs[j];
			b->idxs[j] = b->idxs[j - 1];
			b->idxs[j - 1] = t;
		}
	first = upager__writeback_locked(p, b->rs, b->idxs, b->n, b->results);
	for (unsigned i = 0; i < b->n; i++) {
		if (evict && b->results[i] == 0)
			evict_now(b->rs[i], b->idxs[i]);
		upager__page_unlock(&b->rs[i]->pages[b->idxs[i]]);
	}
	b->n = 0;
	return first;
}

/**
 * upager__flush_range() - write back the dirty pages of [@first, @last]
 * of @r, and with @evict free the frames of every page there.
 * @r:     the region (its pager's API lock held by the caller).
 * @first: first page.
 * @last:  last page, inclusive.
 * @evict: also evict (DONTNEED); dirty PRIVATE/ANON pages go to scratch.
 *
 * SHARED regions write dirty pages to the file; PRIVATE and ANON regions
 * write them (to the scratch file) only when evicting.  Walks the frame
 * table, not the range, so the cost follows resident pages, not the size.
 *
 * Return: 0, the first write error, or -EBUSY if @evict met pinned pages.
 */
int upager__flush_range(struct upager_region *r, uint64_t first, uint64_t last, bool evict)
{
	struct upager *p = r->pager;
	struct flush_batch b;
	bool write = r->kind == REGION_SHARED || evict;
	int err = 0, busy = 0;

	/* Background write-back stays out of the region until this returns:
	 * the pages' fate (written, or dirty with PG_WB_ERROR) is this call's
	 * to report. */
	atomic_fetch_add(&r->flushing, 1);
	b.n = 0;
	for (size_t fi = 0; fi < p->nframes; fi++) {
		uint64_t o = atomic_load(&p->frames[fi].owner), idx;
		struct upager_page *pg;
		uint32_t f;
		int rc;

		if (!o || owner_region_id(o) != r->id)
			continue;
		idx = owner_page(o);
		if (idx < first || idx > last)
			continue;
		pg = &r->pages[idx];
		if (!upager__page_trylock(pg)) {
			rc = flush_batch(p, &b, evict);
			if (rc && !err)
				err = rc;
			upager__page_lock(pg);
		}
		f = page_flags(pg);
		if (!(f & PG_RESIDENT) || pg->frame != fi ||
		    atomic_load(&p->frames[fi].owner) != o) {
			upager__page_unlock(pg);
			continue;
		}
		if (evict && page_pins(f))
			busy = -EBUSY;
		if ((f & PG_DIRTY) && write) {
			if ((f & PG_WRITE) && !page_pins(f) &&
			    upager__set_access(r, idx, 1, PG_READ) != 0 &&
			    upager__set_access(r, idx, 1, 0) != 0) {
				/* Cannot write-protect it (VMA limit): leave it
				 * dirty for a later flush rather than tear it. */
				upager__page_unlock(pg);
				if (!err)
					err = -ENOMEM;
				continue;
			}
			b.rs[b.n] = r;
			b.idxs[b.n] = idx;
			if (++b.n == UPAGER_IO_BATCH) {
				rc = flush_batch(p, &b, evict);
				if (rc && !err)
					err = rc;
			}
			continue;
		}
		if (evict)
			evict_now(r, idx);
		upager__page_unlock(pg);
	}
	{
		int rc = flush_batch(p, &b, evict);
		if (rc && !err)
			err = rc;
	}
	atomic_fetch_sub(&r->flushing, 1);
	return err ? err : busy;
}

/**
 * upager__mark_dirty() - make locked page @pg of @r dirty.
 * @f:     its flags word, read under the page lock.
 * @store: a store reached it (a write fault, a pin that may be written
 *         through), as opposed to a page-in that predicts one
 *         (pgdirty_predicted).
 *
 * Counts the page in pgdirtied once per residency (PG_DIRTIED), records a
 * store in PG_WRITTEN (the prediction of its next page-in, fault.c), and
 * past dirty_high (units) kicks the background write-back (once until it
 * has run).
 */
void upager__mark_dirty(struct upager_region *r, struct upager_page *pg, uint32_t f, bool store)
{
	struct upager *p = r->pager;
	uint32_t set = PG_DIRTY | PG_DIRTIED | (store ? PG_WRITTEN : 0);

	if ((f & set) == set)
		return;
	page_set(pg, set);
	if (!(f & PG_DIRTIED))
		STAT_INC(p, pgdirtied);
	if (!(f & PG_DIRTY)) {
		upager__stat_dirty(p, 1, r->units);
		if (atomic_load_explicit(&p->stats.dirty_units, memory_order_relaxed) >
		            (int64_t)p->dirty_high &&
		    !atomic_exchange(&p->wb_kicked, 1))
			upager__kick_thread(p);
	}
}

/**
 * upager__kick_thread() - wake the pager's thread (worker.c): bump its
 * event word and wake it.  An atomic and a futex wake: async-signal-safe.
 * The thread sleeps on the word; this file, below it, only announces.
 */
void upager__kick_thread(struct upager *p)
{
	atomic_fetch_add(&p->wkick, 1);
	syscall(SYS_futex, (uint32_t *)&p->wkick, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
