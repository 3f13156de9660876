/*
 * fault.c - the fault handler: major, minor and write faults.
 *
 * SIGNAL CONTEXT: this whole file runs inside the SIGSEGV handler, on the
 * faulting thread, called by libsigsegv's dispatcher with the region gate
 * held (gate.c).  Rules: no malloc, no pthread locks, no stdio; only page
 * locks (futex), atomics, async-signal-safe system calls, preallocated
 * memory and the stack.  The faulting thread does its own I/O: handing a
 * fault to another thread costs more than the I/O on this machine class.
 *
 * Page states and the fault that moves each (R = PROT_READ, RW = read-write,
 * N = PROT_NONE in the app view):
 *
 *   not resident --major--> resident R (clean)      read from backing store
 *   resident N   --minor--> R (clean) or RW (dirty) reference bit set again
 *   resident R   --write--> RW, dirty               only in writable regions
 *   R / RW       --Clock--> N                       reference bit cleared
 *   N, clean     --Clock--> not resident            frame freed
 *   N, dirty     --Clock--> written back, then not resident
 *
 * libsigsegv does not say whether a fault was a read or a write; region.c
 * reads it from the signal context where the architecture records it
 * (x86-64: the page-fault error code; aarch64: ESR), so a first store to a
 * non-resident page takes one fault (mapped read-write at once).  Where the
 * type is unknown, a fault on a readable page can only be a write (or a race
 * with another thread that just changed the page, which is harmless: the
 * access is retried), and a first store takes two faults.
 *
 * A failed read raises SIGBUS on the faulting thread with si_addr set, as
 * the kernel does for a failed read of an mmap'd file.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The last fault this thread saw on a readable page of a read-only region:
 * the same one twice in a row is a write to a read-only mapping. */
static __thread uintptr_t last_ro_addr __attribute__((tls_model("initial-exec")));

static void raise_sigbus(struct upager *p, void *addr)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	STAT_INC(p, sigbus);
	/*
	 * Like the kernel's forced SIGBUS: a SIGBUS that is ignored, or
	 * blocked in the interrupted code, cannot be left pending while the
	 * access is retried (it would fault forever): reset an ignored
	 * disposition to the default, and unblock it in the mask that
	 * sigreturn restores.
	 */
	struct sigaction sa;
	if (sigaction(SIGBUS, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) {
		sa.sa_handler = SIG_DFL;
		sigaction(SIGBUS, &sa, NULL);
	}
	ucontext_t *uc = upager__fault_context();
	if (uc)
		sigdelset(&uc->uc_sigmask, SIGBUS);
	/*
	 * Keep it pending until this handler has returned: delivered now, it
	 * would run inside upager's handler, and a SIGBUS handler that
	 * siglongjmps out would leave upager's state (the region gate) held.
	 * The mask sigreturn restores unblocks it (above).
	 */
	sigset_t bus;
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &bus, NULL, sizeof(uint64_t));
	/* Delivered when the SIGSEGV handler returns, before the access is
	 * retried; a handler for SIGBUS sees si_addr as for a kernel SIGBUS. */
	syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGBUS, &si);
}

/* Discard a failed or abandoned run: pages [idx, idx+n) hold frames but
 * are not resident yet. */
static void drop_run(struct upager_region *r, uint64_t idx, unsigned n, bool unlock_first)
{
	struct upager *p = r->pager;

	for (unsigned k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		off_t off = (off_t)(r->memfd_offset + ((idx + k) << p->page_shift));

		fallocate(p->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		          (off_t)p->page_size);
		upager__frame_free(p, pg->frame);
		if (k > 0 || unlock_first)
			upager__page_unlock(pg);
	}
}

/**
 * upager__page_in_locked() - make page @idx resident, with read-ahead.
 * @r:        the region.
 * @idx:      the page; locked by the caller and not resident.
 * @ra_pages: most pages after @idx to read in the same request.
 * @access:   0 (leave inaccessible, as WILLNEED does), or PG_READ /
 *            PG_READ | PG_WRITE for @idx; read-ahead pages get PG_READ
 *            except the last, the marker.
 * @demand:   @idx itself was demanded (a fault, a pin): wait for its frame
 *            (upager__frame_alloc).  Without it (read-ahead, WILLNEED)
 *            nothing waits, and -ENOMEM only means "not now".
 *
 * Read-ahead pages are taken only if free of locks and not resident, and
 * stop at the first page that comes from another source.  @idx stays
 * locked; read-ahead pages are unlocked on return.
 *
 * Return: pages made resident (>= 1), or a negative errno (-ENOMEM: no
 * frame could be had; -EIO etc.: the read failed; @idx not resident).
 */
int upager__page_in_locked(struct upager_region *r, uint64_t idx, unsigned ra_pages,
                           uint32_t access, bool demand)
{
	struct upager *p = r->pager;
	uint32_t f0 = page_flags(&r->pages[idx]);
	bool backed = f0 & PG_BACKED;
	unsigned n = 1, k;
	struct io_req req;
	uint64_t max_run = (64u << 20) >> p->page_shift; /* bytes per request cap */
	int rc;

	if (ra_pages > max_run)
		ra_pages = (unsigned)max_run;
	/*
	 * Never read ahead into more than a quarter of the unpinned frames:
	 * with few frames, read-ahead would evict the other half of an access
	 * that spans two pages, and the two faults would take turns for ever.
	 */
	{
		int64_t pinned = atomic_load(&p->stats.nr_pinned);
		uint64_t unpinned = p->nframes > (uint64_t)pinned ? p->nframes - (uint64_t)pinned : 0;

		if (ra_pages > unpinned / 4)
			ra_pages = (unsigned)(unpinned / 4);
	}
	for (k = 1; k <= ra_pages && idx + k < r->npages; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		uint32_t f = page_flags(pg);

		if ((f & PG_RESIDENT) || ((f & PG_BACKED) != 0) != backed)
			break;
		if (!upager__page_trylock(pg))
			break;
		if (page_flags(pg) & PG_RESIDENT) {
			upager__page_unlock(pg);
			break;
		}
		n++;
	}
	/* Frames: the demanded page must get one; read-ahead ones may not. */
	for (k = 0; k < n; k++) {
		uint32_t fi;

		if (upager__frame_alloc(p, frame_owner(r, idx + k), &fi, k == 0 && demand) != 0) {
			if (k == 0) {
				for (unsigned j = 1; j < n; j++)
					upager__page_unlock(&r->pages[idx + j]);
				return -ENOMEM;
			}
			for (unsigned j = k; j < n; j++)
				upager__page_unlock(&r->pages[idx + j]);
			n = k;
			break;
		}
		r->pages[idx + k].frame = fi;
	}

	if (r->kind == REGION_ANON && !backed) {
		/* Never written: the memfd hole already reads as zero. */
		STAT_ADD(p, pgzerofill, n);
	} else {
		upager__page_source(r, idx, false, &req);
		if (n > 1) {
			uint64_t off = idx << p->page_shift;
			size_t run = (size_t)n << p->page_shift;
			if (r->kind != REGION_ANON && !backed) {
				size_t left = r->length - off;
				req.len = left < run ? left : run;
				req.fd = r->fd;
				req.alt_fd = -1;
				if (r->direct_fd >= 0 && req.len % p->page_size == 0) {
					req.fd = r->direct_fd;
					req.alt_fd = r->fd;
				}
			} else {
				req.len = run;
			}
		}
		rc = upager__io_read_frames(p, req.fd, req.alt_fd, req.off, req.len,
		                            (off_t)(r->memfd_offset + (idx << p->page_shift)));
		if (rc == -EAGAIN) {
			/* Every bounce buffer is in use: read into the alias
			 * view, then drop its page-table entries, so that each
			 * frame stays mapped (and counted in RSS) once. */
			rc = upager__io_run(p, &req, 1);
			madvise(page_alias(r, idx), (size_t)n << p->page_shift, MADV_DONTNEED);
		}
		if (rc < 0) {
			STAT_INC(p, io_errors);
			drop_run(r, idx, n, false);
			return rc;
		}
		STAT_ADD(p, pgpgin, n);
	}
	for (k = 0; k < n; k++) {
		struct upager_page *pg = &r->pages[idx + k];
		page_set(pg, PG_RESIDENT | (k ? PG_READAHEAD : 0));
	}
	upager__stat_resident(p, n);
	if (n > 1)
		STAT_ADD(p, readahead, n - 1);
	atomic_store_explicit(&r->ra_next, idx + n, memory_order_relaxed);

	if (access) {
		/* The demanded page, and read-ahead pages up to the marker. */
		uint64_t grant = n > 1 ? n - 1 : 1;
		rc = -1;
		if (grant > 1 && access == PG_READ)
			rc = upager__set_access(r, idx, grant, PG_READ); /* one call */
		else if (grant > 1)
			upager__set_access(r, idx + 1, grant - 1, PG_READ);
		if (rc != 0)
			rc = upager__set_access(r, idx, 1, access);
		if (rc < 0) {
			/* Resident but inaccessible: a later touch retries. */
			for (k = 1; k < n; k++)
				upager__page_unlock(&r->pages[idx + k]);
			return rc;
		}
		if (n > 1)
			page_set(&r->pages[idx + n - 1], PG_RA_MARK);
	}
	for (k = 1; k < n; k++)
		upager__page_unlock(&r->pages[idx + k]);
	return (int)n;
}

/* A read-ahead page was touched: count it, and at the marker count the run
 * before it and read the next run. */
static void readahead_hit(struct upager_region *r, uint64_t idx, uint32_t f)
{
	struct upager *p = r->pager;

	if (f & PG_READAHEAD) {
		page_clear(&r->pages[idx], PG_READAHEAD);
		STAT_INC(p, readahead_used);
	}
	if (!(f & PG_RA_MARK))
		return;
	page_clear(&r->pages[idx], PG_RA_MARK);
	for (uint64_t j = idx; j-- > 0 && idx - j <= p->readahead;) {
		uint32_t old = atomic_fetch_and(&r->pages[j].flags, ~(uint32_t)PG_READAHEAD);
		if (!(old & PG_READAHEAD))
			break;
		STAT_INC(p, readahead_used);
	}
}

/* After a marker hit on @idx (unlocked now): read the next run. */
static void readahead_next(struct upager_region *r, uint64_t next)
{
	struct upager_page *pg;
	unsigned w;

	if (next >= r->npages)
		return;
	pg = &r->pages[next];
	if ((page_flags(pg) & PG_RESIDENT) || !upager__page_trylock(pg))
		return;
	if (!(page_flags(pg) & PG_RESIDENT)) {
		w = upager__ra_window(r, next);
		if (w && upager__page_in_locked(r, next, w, PG_READ, false) > 0) {
			page_set(pg, PG_READAHEAD);
			STAT_INC(r->pager, readahead);
		}
	}
	upager__page_unlock(pg);
}

/* A store made locked page @pg dirty.  Past dirty_high, kick the
 * background write-back (once until it has run). */
static void mark_dirty(struct upager *p, struct upager_page *pg, uint32_t f)
{
	if (!(f & PG_DIRTY)) {
		page_set(pg, PG_DIRTY);
		if (atomic_fetch_add(&p->stats.nr_dirty, 1) + 1 > (int64_t)p->dirty_high &&
		    !atomic_exchange(&p->wb_kicked, 1))
			upager__worker_kick(p);
	}
}

static int fault_done(struct upager *p, uint64_t t0, int ret)
{
	upager__stat_fault_time(p, upager__now_ns() - t0);
	return ret;
}

/**
 * upager__fault() - handle a fault at @addr in region @r.
 *
 * Return: 1 if handled (the access is retried, or SIGBUS is pending), 0 to
 * decline (libsigsegv then lets the SIGSEGV take its default course).
 */
int upager__fault(struct upager_region *r, void *addr)
{
	struct upager *p = r->pager;
	uint64_t t0 = upager__now_ns();
	uintptr_t off = (uintptr_t)addr - (uintptr_t)r->base;
	uint64_t idx;
	struct upager_page *pg;

	int type = upager__fault_access();

	if (off >= r->map_len)
		return 0;
	if (type == FAULT_WRITE && !r->writable)
		return 0; /* a store to a read-only mapping */
	idx = off >> p->page_shift;
	pg = &r->pages[idx];
	STAT_INC(p, pgfault);

	for (;;) {
		uint32_t f = page_flags(pg);

		if (f & PG_LOCKED) {
			upager__page_wait(pg, f);
			continue;
		}
		if (f & PG_WRITE)
			return fault_done(p, t0, 1); /* raced with a grant */

		if ((f & PG_RESIDENT) && (f & PG_READ)) {
			/* Readable, yet it faulted: a write, or a read that raced
			 * with a grant (then retrying is all it needs). */
			if (type == FAULT_READ)
				return fault_done(p, t0, 1);
			if (!r->writable) {
				if (last_ro_addr == (uintptr_t)addr) {
					last_ro_addr = 0;
					return 0; /* write to a read-only mapping */
				}
				last_ro_addr = (uintptr_t)addr;
				return fault_done(p, t0, 1); /* maybe a race: retry once */
			}
			if (!upager__page_trylock(pg))
				continue;
			f = page_flags(pg);
			if ((f & PG_RESIDENT) && (f & PG_READ) && !(f & PG_WRITE)) {
				if (upager__set_access(r, idx, 1, PG_READ | PG_WRITE) != 0) {
					upager__page_unlock(pg);
					raise_sigbus(p, addr);
					return fault_done(p, t0, 1);
				}
				mark_dirty(p, pg, f);
				STAT_INC(p, pgwritefault);
				readahead_hit(r, idx, f);
			}
			upager__page_unlock(pg);
			return fault_done(p, t0, 1);
		}

		if (f & PG_RESIDENT) {
			/* Minor fault: set the reference bit again. */
			bool marker;

			if (!upager__page_trylock(pg))
				continue;
			f = page_flags(pg);
			if (!(f & PG_RESIDENT) || (f & PG_ACCESS)) {
				upager__page_unlock(pg);
				continue;
			}
			uint32_t access = PG_READ;
			if (((f & PG_DIRTY) || type == FAULT_WRITE) && r->writable)
				access |= PG_WRITE;
			if (upager__set_access(r, idx, 1, access) != 0) {
				upager__page_unlock(pg);
				raise_sigbus(p, addr);
				return fault_done(p, t0, 1);
			}
			/* A store to a clean page is its first write; anything
			 * else only restored access. */
			if (type == FAULT_WRITE && !(f & PG_DIRTY)) {
				mark_dirty(p, pg, f);
				STAT_INC(p, pgwritefault);
			} else {
				STAT_INC(p, pgminfault);
			}
			marker = f & PG_RA_MARK;
			readahead_hit(r, idx, f);
			upager__page_unlock(pg);
			if (marker)
				readahead_next(r, idx + 1);
			return fault_done(p, t0, 1);
		}

		/* Major fault. */
		if (!upager__page_trylock(pg))
			continue;
		if (page_flags(pg) & PG_RESIDENT) {
			upager__page_unlock(pg);
			continue;
		}
		/* A store that is known to be one maps the page writable at
		 * once: one fault instead of two. */
		uint32_t access = type == FAULT_WRITE ? PG_READ | PG_WRITE : PG_READ;
		int rc = upager__page_in_locked(r, idx, upager__ra_window(r, idx), access, true);
		if (rc > 0 && type == FAULT_WRITE)
			mark_dirty(p, pg, page_flags(pg));
		upager__page_unlock(pg);
		if (rc < 0) {
			/* -ENOMEM: every frame is pinned or holds a page whose
			 * write-back keeps failing (upager__frame_alloc). */
			if (rc == -ENOMEM)
				STAT_INC(p, sigbus_nomem);
			raise_sigbus(p, addr);
			return fault_done(p, t0, 1);
		}
		STAT_INC(p, pgmajfault);
		return fault_done(p, t0, 1);
	}
}
