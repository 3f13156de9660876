/*
 * testhooks.h - hooks for upager's own tests.  Not installed, and not in
 * libupager.so: they exist only in test builds (UPAGER_TEST_HOOKS, the
 * objects of libupager_test.la), which the tests link statically.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_TESTHOOKS_H
#define UPAGER_TESTHOOKS_H

#include <stdint.h>

/* Operations an injection applies to (a mask). */
#define UPAGER_IO_READ 0x1u     /* read completions (result: bytes or -errno) */
#define UPAGER_IO_WRITE 0x2u    /* write completions */
#define UPAGER_OP_MPROTECT 0x4u /* protection changes (result: 0 or -ENOMEM) */
#define UPAGER_OP_MMAP 0x8u     /* a region's mappings at map time (0 or -ENOMEM) */
#define UPAGER_OP_MPROTECT_RO 0x10u /* a grant's change of a read-write VMA
                                       to read-only (0 or -ENOMEM) */

/* Special results for upager__inject_io(). */
#define UPAGER_INJECT_SHORT 1 /* the completion reports half the bytes */
#define UPAGER_INJECT_LOST 2  /* the completion never arrives (it is redone) */

/*
 * upager__inject_io() - rewrite the result of the @nth (1-based) read or
 * write completion from now on, counted over the operations in @ops, to
 * @result (a negative errno, or UPAGER_INJECT_SHORT).  With @persistent,
 * every later matching completion gets @result too.  Applies below the I/O
 * layer of every pager of the process.  Not thread-safe against itself.
 */
void upager__inject_io(unsigned ops, long nth, int result, int persistent);

/* upager__inject_clear() - stop injecting. */
void upager__inject_clear(void);

/* upager__inject_count() - how many results were rewritten since armed. */
long upager__inject_count(void);

/* upager__inject_seen() - how many matching operations ran since armed. */
long upager__inject_seen(void);

/*
 * upager__pause_background_writeback() - with @pause non-zero, the pagers'
 * threads write nothing back in the background until called with 0, so that
 * the I/O an operation does (and the numbering of upager__inject_io()) does
 * not depend on when that thread ran.  A write-back already under way
 * finishes.  WILLNEED requests are still served.
 */
void upager__pause_background_writeback(int pause);

/*
 * upager__io_force_ring() - with @on non-zero, every request goes through
 * io_uring, also the lone reads and buffered writes that io.c otherwise
 * does with pread(2) and pwrite(2), so that tests reach the ring's
 * completion handling (errors, short transfers, lost completions) too.
 */
void upager__io_force_ring(int on);

/* upager__io_ring_injected() - how many injections since the process
 * started fired in the ring's completion handling (an io_uring completion,
 * or the pread/pwrite that finishes a short or retried one). */
long upager__io_ring_injected(void);

/*
 * upager__page_state() - the state of the page at @addr of a region of
 * @pager: upager_residency() of that one page (UPAGER_PAGE_* bits of
 * upager.h), or -1 if @addr is in no region of @pager.
 */
struct upager;
long upager__page_state(struct upager *pager, const void *addr);

/*
 * upager__region_direct_io() - 1 if the region of @pager holding @addr
 * reads and writes its file with O_DIRECT (a descriptor opened with it;
 * whole pages go through it), 0 if buffered, -1 if @addr is in no region.
 */
int upager__region_direct_io(struct upager *pager, const void *addr);

/*
 * upager__scratch_fd() - the descriptor of @pager's scratch file (where
 * dirty pages of upager_alloc() memory and PRIVATE mappings go), or -1
 * before its first use.
 */
int upager__scratch_fd(struct upager *pager);

/*
 * upager__scratch_direct() - 1 if whole pages go to @pager's scratch file
 * and come back with O_DIRECT (a second descriptor), 0 if buffered (the
 * file system refused O_DIRECT), -1 before its first use.
 */
int upager__scratch_direct(struct upager *pager);

/* The scratch slot of the page at @addr (scratch.c): its number, -1 if
 * the page has none yet, -2 if @addr is in no region with scratch slots. */
long upager__page_slot(struct upager *pager, const void *addr);

/*
 * upager__clear_references() - the Clock hand's first visit to every
 * resident page of @pager: references cleared (access revoked), nothing
 * evicted.  Returns the pages it cleared.
 */
long upager__clear_references(struct upager *pager);

/*
 * upager__inject_rereference() - with @on non-zero, every reference the
 * Clock hand clears in an ordinary visit is taken back at once (the page is
 * made readable again), as if another thread touched it before the hand
 * came round: the interleaving that starved a fault before the bounded
 * second chance.
 */
void upager__inject_rereference(int on);

/*
 * upager__memcg_root() - read the files that find the memory cgroup's limit
 * (/proc/self/cgroup, /proc/self/mountinfo, and the cgroup directories it
 * names) under the directory @root instead of "/": @root + "/proc/self/..."
 * and @root + each mount point.  NULL or "" reads the real ones.  The
 * string is kept, not copied.  Affects the default memory limit of every
 * later upager_create() and upager_config_resolve().  Not thread-safe.
 */
void upager__memcg_root(const char *root);

/*
 * upager__clockpro_check() - NULL if CLOCK-Pro's state of @pager is
 * consistent (each frame's bit in the hot map says whether its resident
 * page is hot, no free frame is hot, the hot units add up, no page out of
 * memory is hot, no hot page is in test, the cold target within its
 * bounds, no hot page under plain Clock), else what is wrong.  @hot_pages
 * (may be NULL): out, the hot pages.  Call it while no fault is under way.
 */
const char *upager__clockpro_check(struct upager *pager, long *hot_pages);

/* upager__vma_lazy_reset() - forget a refusal of the kernel (real or
 * injected), which stops mprotect.c's lazy VMAs below half of the budget
 * for the rest of the process. */
void upager__vma_lazy_reset(void);

/* upager__vma_budget() - most units of the VMA budget (mprotect.c), process-wide. */
uint64_t upager__vma_budget(void);

/* upager__in_fault() - non-zero while this thread is inside upager's fault
 * handler (the signal-safety audit: nothing there may call malloc, free or
 * take a pthread mutex).  Exists in every build. */
int upager__in_fault(void);

#endif
