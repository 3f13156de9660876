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
 *                           or RW (dirty)           a store, or a load of a
 *                                                   page stored to when it
 *                                                   was last resident
 *   not resident --minor--> resident R (clean)      zero-filled, no I/O
 *   resident N   --minor--> R (clean) or RW (dirty) reference bit set again
 *   resident R   --write--> RW, dirty               only in writable regions
 *   R / RW       --Clock--> N                       reference bit cleared
 *   N, clean     --Clock--> not resident            frame freed
 *   N, dirty     --Clock--> written back, then not resident
 *
 * libsigsegv does not say whether a fault was a read or a write; signal.c
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
 * Owns: the fault (after Linux mm/memory.c): which kind it is, what each
 * kind does, and how it is counted.  As the kernel counts (vmstat
 * pgmajfault, VM_FAULT_MAJOR): a fault is major only when it read its page
 * from backing storage (the file, or the scratch file); a fault that made
 * its page resident without I/O (upager_alloc memory never written back, a
 * page wholly past the end of the file: zero-filled) and a fault that only
 * restored access are minor (pgminfault); the first store to a clean
 * resident page is a write fault (pgwritefault).
 * Calls: readahead.c, filemap.c (page-in), vmscan.c (granting access),
 * writeback.c (dirty accounting), page.c, stats.c.  Called by signal.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The last fault this thread saw on a readable page of a read-only region:
 * the same one twice in a row is a write to a read-only mapping. */
static __thread uintptr_t last_ro_addr __attribute__((tls_model("initial-exec")));

static void raise_sigbus(struct upager *p, void *addr, ucontext_t *uc)
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






static int fault_done(struct upager *p, uint64_t t0, int ret)
{
	upager__stat_fault_time(p, upager__now_ns() - t0);
	return ret;
}

/**
 * upager__fault() - handle a fault at @addr in region @r.
 * @type: FAULT_READ, FAULT_WRITE or FAULT_UNKNOWN, from the signal context.
 * @uc:   the interrupted context (its signal mask for a forced SIGBUS), or
 *        NULL.
 *
 * Return: 1 if handled (the access is retried, or SIGBUS is pending), 0 to
 * decline (libsigsegv then lets the SIGSEGV take its default course).
 */
int upager__fault(struct upager_region *r, void *addr, int type, ucontext_t *uc)
{
	struct upager *p = r->pager;
	uint64_t t0 = upager__now_ns();
	uintptr_t off = (uintptr_t)addr - (uintptr_t)r->base;
	uint64_t idx;
	struct upager_page *pg;

	if (off >= r->map_len)
		return 0;
	if (type == FAULT_WRITE && !r->writable)
		return 0; /* a store to a read-only mapping */
	idx = off >> r->page_shift; /* a load of the region, as the base is */
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
				if (upager__grant_access(r, idx, 1, PG_READ | PG_WRITE) != 0) {
					upager__page_unlock(pg);
					raise_sigbus(p, addr, uc);
					return fault_done(p, t0, 1);
				}
				upager__mark_dirty(r, pg, f, true);
				STAT_INC(p, pgwritefault);
				upager__readahead_hit(r, idx, f);
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
			/* Writable at once if a store made it dirty (one that
			 * was only paged in dirty stays read-only until a store
			 * confirms the prediction, so that PG_WRITTEN stays
			 * true). */
			bool stored = (f & (PG_DIRTY | PG_WRITTEN)) == (PG_DIRTY | PG_WRITTEN);
			uint32_t access = PG_READ;
			if (r->writable && (type == FAULT_WRITE || stored))
				access |= PG_WRITE;
			if (upager__grant_demanded(r, idx, access) != 0) {
				upager__page_unlock(pg);
				raise_sigbus(p, addr, uc);
				return fault_done(p, t0, 1);
			}
			/* A store to a page mapped read-only is a write fault;
			 * anything else only restored access. */
			if (type == FAULT_WRITE && !stored) {
				upager__mark_dirty(r, pg, f, true);
				STAT_INC(p, pgwritefault);
			} else {
				STAT_INC(p, pgminfault);
			}
			marker = f & PG_RA_MARK;
			upager__readahead_hit(r, idx, f);
			upager__page_unlock(pg);
			if (marker)
				upager__readahead_next(r, idx, type == FAULT_WRITE);
			return fault_done(p, t0, 1);
		}

		/* Not resident: a page-in (major, or minor when zero-filled). */
		if (!upager__page_trylock(pg))
			continue;
		if (page_flags(pg) & PG_RESIDENT) {
			upager__page_unlock(pg);
			continue;
		}
		/* A store that is known to be one maps the page writable at
		 * once: one fault instead of two.  So does a load of a page
		 * that a store reached in its last residency (PG_WRITTEN
		 * outlives eviction): a load then a store, the read-modify-write
		 * of an update, takes one fault.  The page is dirty from the
		 * start, since a store through the writable mapping would go
		 * unseen; PG_WRITTEN is set only by a store seen later, so a
		 * page stored to once is predicted once, not for ever. */
		bool predict = type != FAULT_WRITE && r->writable && (page_flags(pg) & PG_WRITTEN);
		uint32_t access = type == FAULT_WRITE || predict ? PG_READ | PG_WRITE : PG_READ;
		bool read = false;
		int rc = upager__page_in_locked(r, idx, upager__ra_window(r, idx), access, true,
		                                &read);
		if (rc > 0 && (access & PG_WRITE)) {
			upager__mark_dirty(r, pg, page_flags(pg), !predict);
			if (predict)
				STAT_INC(p, pgdirty_predicted);
		}
		upager__page_unlock(pg);
		if (rc < 0) {
			/* -ENOMEM: every frame is pinned or holds a page whose
			 * write-back keeps failing (upager__frame_alloc). */
			if (rc == -ENOMEM)
				STAT_INC(p, sigbus_nomem);
			raise_sigbus(p, addr, uc);
			return fault_done(p, t0, 1);
		}
		/* As vmstat counts: major only if the page needed I/O; a
		 * zero-filled page-in is a minor fault. */
		if (read)
			STAT_INC(p, pgmajfault);
		else
			STAT_INC(p, pgminfault);
		return fault_done(p, t0, 1);
	}
}
