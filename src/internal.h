/*
 * internal.h - upager's internal types and functions, grouped by layer,
 * bottom up: the order of this header is the map of the layers.  A file
 * uses only the files of the layers above it in this header (below it in
 * the stack); no two files call each other.  Public names start upager_,
 * internal names shared between files start upager__, file-local names are
 * static.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The layers (the model is Linux mm/), bottom up:
 *
 *    0  memcg.c                     the memory cgroup's limit (read at
 *                                   configuration time, for a default)
 *    1  stats.c options.c inject.c  counters, settings, injection points
 *    2  page.c                      page locks, release events, the Clock's
 *                                   verdict on one page's flags
 *       workingset.c                shadows of evicted pages, refaults
 *                                   (after Linux mm/workingset.c)
 *    3  gate.c                      the region gate; the API lock and
 *                                   signal blocking
 *    4  region.c                    region ids and table, the VMA budget
 *    5  frame.c                     the frame table: free slots and free
 *                                   units of the budget (no policy)
 *    6  mprotect.c                  protection changes, the punch (mechanism)
 *       clockpro.c                  CLOCK-Pro's state: hot and cold pages,
 *                                   test periods, m_c
 *    7  io.c                        io_uring rings and bounce buffers
 *       scratch.c                   slots of the scratch file (after Linux
 *                                   mm/swapfile.c)
 *    8  writeback.c                 page sources, write-back, flushes, dirty
 *                                   accounting, the thread's event word
 *    9  vmscan.c                    the Clock: frame allocation, references,
 *                                   eviction; granting access in budget
 *   10  filemap.c                   page-in of a page and its read-ahead run
 *   11  readahead.c                 the window, the marker, the next run
 *                                   (read by the pager's thread)
 *   12  fault.c                     the fault: major, minor, write
 *   13  signal.c                    libsigsegv's dispatcher and handler; the
 *                                   one upward call is its callback into
 *                                   fault.c, through a function pointer
 *   14  worker.c                    the pager's thread: WILLNEED, background
 *                                   write-back (woken through layer 8's word)
 *   15  mmap.c  range.c  inspect.c  the public API of regions: map,
 *                                   alloc, unmap (mmap.c); sync, advise,
 *                                   pin (range.c); the page table made
 *                                   visible (inspect.c); none calls another
 *   16  pager.c                     the public API of pagers: create,
 *                                   destroy (which tears regions down)
 *   17  testhooks.c                 test builds: inspecting a pager
 *   18  compat.c                    shared library only: version 0.1's
 *                                   forms of three calls (symbol versions)
 *
 * See docs/design.md for the design.  In short:
 *
 *   page     a piece of a region of the region's page size (aligned to
 *            it), numbered from 0.  Regions of one pager may have
 *            different page sizes (struct upager_region_params).
 *   unit     the system page: the memory budget is memory_limit / unit
 *            units, and a page of a region costs r->units of them.
 *   frame    one slot of the pager's frame table (one per unit, so there
 *            is always a free slot for a page whose units were taken).  A
 *            resident page owns one frame and its units; the Clock hand
 *            sweeps the frames.  The page's bytes live at a fixed offset
 *            of the pager's memfd (region base + page offset), so that
 *            neighbouring pages with equal protection merge into one
 *            kernel VMA.
 *   app view the application's mapping of the memfd, the only mapping of
 *            the frames; its protection per page (a guard marker or the
 *            VMA's protection: mprotect.c) encodes the reference and dirty
 *            tracking:
 *              no access   not resident, or resident and unreferenced
 *              PROT_READ   resident, referenced, clean (or read-only map)
 *              PROT_RW     resident, referenced, dirty
 *            All I/O copies frames with pread/pwrite on the memfd through
 *            a ring's bounce buffer (io.c), never through a mapping.
 *
 * Locking: each page has a lock bit in its flags word (PG_LOCKED), taken
 * by whoever changes the page's residency or protection; waiters sleep on
 * a futex.  The fault handler waits only for page locks, the region gate
 * (gate.c) and, for a frame, a release event (page.c); interrupted code
 * can hold none of them (API calls block signals while they hold locks),
 * and a thread that waits for a frame holds only its own page, which owns
 * no frame.
 */
#ifndef UPAGER_INTERNAL_H
#define UPAGER_INTERNAL_H

#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <ucontext.h>

#include <liburing.h>

#include "upager.h"

#define UPAGER_HIDDEN __attribute__((visibility("hidden")))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- limits and defaults ------------------------------------------------ */

/* The public limits and defaults are in upager.h (UPAGER_DEFAULT_PAGE_SIZE,
 * 16 KiB, was measured with bench/upager-bench: docs/design.md, "Page
 * size"; UPAGER_MAX_REGIONS caps the region table, sized at first use). */
/* Rings per pager that fault handlers and API calls share (try-lock). */
#define UPAGER_NRINGS 4u
/* Bytes of each ring's bounce buffer for page-in (at least one page). */
#define UPAGER_BOUNCE_BYTES ((size_t)1 << 20)
/* Most pages one eviction pass writes back in one submission. */
#define UPAGER_WB_BATCH 16u
/* Milliseconds background write-back ignores the faults' kicks after a
 * sweep found nothing to write (worker.c). */
#define UPAGER_WB_IDLE_MS 10
/* Bytes that write-back leaves dirty in the page cache before it starts
 * their disk writes (sync_file_range, writeback.c). */
#define UPAGER_WB_START_BYTES ((uint64_t)2 << 20)
/* Most resident pages between a stream's last run and a fault that still
 * continues the stream (readahead.c). */
#define UPAGER_RA_GAP 64u
/* Read-ahead runs waiting for the pager's thread at once (readahead.c);
 * with every slot taken, the faulting thread reads the run itself. */
#define UPAGER_RA_ASYNC 8u
/* Most requests a read-ahead run or write-back batch hands to io_run. */
#define UPAGER_IO_BATCH 32u


/* ==== the data structures ================================================ */

enum {
	PG_LOCKED = 1u << 0,    /* someone is changing this page */
	PG_WAITERS = 1u << 1,   /* someone sleeps on PG_LOCKED */
	PG_RESIDENT = 1u << 2,  /* owns a frame; bytes valid in the memfd */
	PG_DIRTY = 1u << 3,     /* differs from the backing store */
	PG_READ = 1u << 4,      /* app view readable (referenced) */
	PG_WRITE = 1u << 5,     /* app view writable (referenced, dirty) */
	PG_BACKED = 1u << 6,    /* contents live in the scratch file */
	PG_READAHEAD = 1u << 7, /* read ahead, not yet touched */
	PG_RA_MARK = 1u << 8,   /* last page of a read-ahead run */
	PG_WB_ERROR = 1u << 9,  /* the last write-back failed */
	PG_SHADOW = 1u << 10,   /* not resident; @frame holds its shadow
	                           (workingset.c) */
	PG_VMA_W = 1u << 11,    /* in a guarded chunk: the app view's VMA is
	                           read-write at this page (mprotect.c) */
	PG_DIRTIED = 1u << 12,  /* made dirty during this residency (counted
	                           once in pgdirtied; cleared at page-in) */
	PG_WRITTEN = 1u << 13,  /* a store was seen during this residency;
	                           kept while not resident: the page-in of a
	                           page stored to in its last residency maps it
	                           writable and dirty at once (fault.c) */
	PG_HOT = 1u << 14,      /* CLOCK-Pro: a hot page (vmscan.c); only
	                           while PG_RESIDENT, its frame's bit is set in
	                           the pager's hot map (frame.c) */
	PG_TEST = 1u << 15,     /* CLOCK-Pro: a cold page in its test period;
	                           kept in the shadow of an evicted page */
	PG_PIN_SHIFT = 16,      /* pin count in bits 16..31 */
};
#define PG_PIN_ONE (1u << PG_PIN_SHIFT)
#define PG_PIN_MASK (0xffffu << PG_PIN_SHIFT)
#define PG_ACCESS (PG_READ | PG_WRITE)

/*
 * One page's descriptor.  @flags changes only by atomic read-modify-write;
 * bits other than PG_WAITERS change only while PG_LOCKED is held by the
 * changer (PG_READAHEAD may also be cleared without it, as a hint).
 * @frame is written under the lock and means one of two things:
 *  - while PG_RESIDENT: the frame the page owns;
 *  - while PG_SHADOW (never together with PG_RESIDENT): the page's
 *    shadow, the pager's nonresident_age when the Clock evicted it
 *    (workingset.c), the eviction stamp of a Linux shadow entry.  The
 *    page-in that makes it resident again reads and clears the shadow
 *    before it stores the new frame; the region's descriptors go with the
 *    region at unmap, shadows included.
 * Otherwise it is stale and nobody reads it.
 */
struct upager_page {
	_Atomic uint32_t flags;
	uint32_t frame;
};

/* What the Clock hand does with a page it meets (pure policy). */
enum clock_action {
	CLOCK_SKIP,       /* locked, pinned or not resident: pass on; in
	                     CLOCK_PRO mode, hot pages too */
	CLOCK_DEACTIVATE, /* referenced: clear the reference (revoke access);
	                     a cold page starts its test period */
	CLOCK_WRITEBACK,  /* unreferenced and dirty: write back, then evict */
	CLOCK_EVICT,      /* unreferenced and clean: free the frame */
	CLOCK_PROMOTE,    /* CLOCK-Pro: cold, referenced in its test period:
	                     the page turns hot */
	CLOCK_DEMOTE,     /* CLOCK-Pro, too many hot pages: hot and
	                     unreferenced, the page turns cold */
};

/* How the hand looks at pages (vmscan.c chooses per visit). */
enum clock_mode {
	CLOCK_PLAIN,      /* Clock: every page alike, hot or cold */
	CLOCK_PRO,        /* CLOCK-Pro, hot pages within their target: the
	                     hand works on cold pages only */
	CLOCK_PRO_HOT,    /* CLOCK-Pro, more hot pages than their target: hot
	                     pages are visited too (HAND_hot's work) */
};


static inline uint32_t page_flags(struct upager_page *pg)
{
	return atomic_load_explicit(&pg->flags, memory_order_acquire);
}
static inline void page_set(struct upager_page *pg, uint32_t bits)
{
	atomic_fetch_or_explicit(&pg->flags, bits, memory_order_acq_rel);
}
static inline void page_clear(struct upager_page *pg, uint32_t bits)
{
	atomic_fetch_and_explicit(&pg->flags, ~bits, memory_order_acq_rel);
}
static inline unsigned page_pins(uint32_t flags)
{
	return flags >> PG_PIN_SHIFT;
}

enum region_kind {
	REGION_SHARED,  /* file mapping, written back to the file */
	REGION_PRIVATE, /* file mapping, dirty pages go to the scratch file */
	REGION_ANON,    /* upager_alloc: scratch file only */
};

struct upager_region {
	struct upager *pager;
	uint32_t id;               /* slot in the region table */
	enum region_kind kind;
	bool writable;             /* PROT_WRITE was asked for */
	char *base;                /* app view, map_len bytes */
	size_t page_size;          /* bytes per page of this region */
	unsigned page_shift;       /* log2 of page_size */
	uint32_t units;            /* budget units per page (page_size >>
	                              the pager's unit_shift) */
	unsigned readahead;        /* most pages per read-ahead run; 0: off */
	size_t length;             /* bytes the user asked for */
	size_t npages;             /* pages covering length */
	size_t map_len;            /* npages << page_shift */
	off_t file_offset;         /* bytes into the backing file */
	uint64_t memfd_offset;     /* bytes into the pager's memfd */
	int fd;                    /* backing file (dup), -1 for ANON */
	int direct_fd;             /* same file with O_DIRECT, or -1 */
	int scratch_fd;            /* the pager's scratch file (PRIVATE/ANON
	                              writable regions), or -1; not owned */
	int scratch_direct_fd;     /* the same with O_DIRECT, or -1; not
	                              owned */
	bool has_range;            /* memfd_offset was allocated */
	/* Scratch slots (scratch.c), for regions with a scratch_fd. */
	off_t scratch_base;        /* bytes into the scratch file of slot 0 */
	bool has_scratch_range;    /* scratch_base was allocated */
	uint64_t nslots;           /* slots of page_size bytes */
	uint32_t *slots;           /* slot + 1 of each page, 0: none (page
	                              lock); sparse mmap */
	size_t slots_bytes;
	_Atomic uint64_t *slot_map;/* bit per slot, 1: taken; sparse mmap */
	_Atomic uint64_t *chunk_map;/* after it, bit per chunk of slots, 1:
	                              its blocks allocated */
	size_t slot_map_bytes;     /* of both maps */
	_Atomic uint64_t slot_next;/* next-fit cursor */
	struct upager_page *pages; /* npages descriptors, sparse mmap */
	size_t pages_bytes;        /* bytes of that mapping */
	_Atomic uint32_t *chunks;  /* guard-marker state per chunk of the app
	                              view (mprotect.c), sparse mmap; NULL:
	                              mprotect only */
	size_t chunks_bytes;       /* bytes of that mapping */
	unsigned chunk_shift;      /* log2 of pages per chunk */
	_Atomic int64_t vma_cost;  /* this region's share of the VMA budget
	                              (mprotect.c) */
	_Atomic uint32_t vma_lock; /* lock of the PG_VMA_W bits and the
	                              count of their runs (mprotect.c) */
	_Atomic bool vma_unsure;   /* a protection change failed part-way:
	                              PG_VMA_W may be wrong, every grant sets
	                              the VMA (mprotect.c) */
	void *ticket;              /* libsigsegv dispatcher registration */
	_Atomic int advice;        /* UPAGER_ADV_NORMAL/RANDOM/SEQUENTIAL */
	_Atomic uint64_t ra_next;  /* page a sequential stream touches next */
	_Atomic uint32_t ra_window;/* current read-ahead window, pages */
	_Atomic bool ra_write;     /* the stream's last marker was touched by
	                              a store (readahead.c) */
	_Atomic int sync_error;    /* sticky failed fdatasync, or 0 */
	_Atomic int flushing;      /* upager__flush_range() calls under way:
	                              background write-back keeps out */
	struct upager_region *next;/* pager's region list (pager lock) */
	struct upager_region *prev;
};

/* Frame owner encoding: 0 = free; else (region id + 1) << 40 | page. */
#define FRAME_PAGE_BITS 40
static inline uint64_t frame_owner(const struct upager_region *r, uint64_t idx)
{
	return ((uint64_t)(r->id + 1) << FRAME_PAGE_BITS) | idx;
}
static inline uint32_t owner_region_id(uint64_t owner)
{
	return (uint32_t)(owner >> FRAME_PAGE_BITS) - 1;
}
static inline uint64_t owner_page(uint64_t owner)
{
	return owner & (((uint64_t)1 << FRAME_PAGE_BITS) - 1);
}

/* Access type of a fault, read from the signal context by signal.c. */
enum { FAULT_UNKNOWN = 0, FAULT_READ = 1, FAULT_WRITE = 2 };

struct io_req {
	int fd;
	int alt_fd; /* buffered descriptor of the same file for finishing a
	               short O_DIRECT transfer at an unaligned offset, or -1 */
	bool write;
	bool internal; /* a copy of the memfd, not the file's I/O: no test
	                  injection */
	void *buf;  /* the bytes (io.c points it into a bounce buffer) */
	size_t len;
	off_t off;
	off_t moff; /* bytes into the pager's memfd of the frames */
	int res; /* out: 0 or negative errno */
	size_t got; /* out, on success: bytes transferred; a read that met end
	               of file got fewer than len (the rest zero-filled) */
};

struct upager_ring {
	struct io_uring ring;
	_Atomic int busy; /* lock of the ring and its bounce buffer (io.c) */
	bool ready;       /* the io_uring works; else synchronous I/O */
	void *bounce;     /* bounce_len bytes: page-in and write-back copy
	                     the frames through it (io.c) */
};


/* ---- statistics (stats.c) ------------------------------------------------ */

/* Buckets of the refault distance histogram: distances 0..7 exactly, then
 * four buckets per power of two up to 2^32 (each a quarter of its octave
 * wide). */
#define UPAGER_REFAULT_BUCKETS (8u + 29u * 4u)

/* X-macro of the event counters: name, help. */
#define UPAGER_COUNTERS(X)                                                   \
	X(pgfault, "faults handled")                                         \
	X(pgmajfault, "faults that read their page from backing storage")    \
	X(pgminfault, "faults without I/O: zero-fill page-ins, references")  \
	X(pgwritefault, "stores to resident pages mapped read-only")         \
	X(pgdirtied, "pages made dirty, once per residency")                 \
	X(pgdirty_predicted, "pages paged in dirty: stored to when last resident") \
	X(pgpgin, "pages read")                                              \
	X(pgpgout, "pages written")                                          \
	X(pgzerofill, "pages zero-filled without I/O")                       \
	X(readahead, "pages read ahead")                                     \
	X(readahead_used, "read-ahead pages touched")                        \
	X(pgscan, "pages scanned by the Clock hand")                         \
	X(pgdeactivate, "references cleared by the Clock hand")              \
	X(pgsteal, "pages evicted")                                          \
	X(writeback_evict, "dirty pages written back by eviction")           \
	X(writeback_background, "dirty pages written back in the background") \
	X(io_errors, "failed reads and writes")                              \
	X(sigbus, "faults answered with SIGBUS")                              \
	X(sigbus_nomem, "of those, faults that found no frame")              \
	X(workingset_refault, "pages paged in again after the Clock evicted them") \
	X(workingset_activate, "of those, evicted at most nr_frames evictions before") \
	X(pgpromote, "pages turned hot (CLOCK-Pro)")                         \
	X(pgdemote, "hot pages turned cold (CLOCK-Pro)")

struct upager_counters {
#define X(name, help) _Atomic uint64_t name;
	UPAGER_COUNTERS(X)
#undef X
	_Atomic int64_t nr_resident;       /* pages, of any size */
	_Atomic uint64_t nr_resident_peak;
	_Atomic int64_t nr_dirty;
	_Atomic int64_t nr_pinned;
	_Atomic int64_t resident_units;    /* the same in budget units */
	_Atomic uint64_t resident_units_peak;
	_Atomic int64_t dirty_units;
	_Atomic int64_t pinned_units;
	_Atomic uint64_t fault_ns_hist[UPAGER_HIST_BUCKETS];
	/* Refault distances (workingset.c): refaults and the sum of their
	 * distances per bucket (stats.c, refault_bucket()). */
	_Atomic uint64_t refault_hist[UPAGER_REFAULT_BUCKETS];
	_Atomic uint64_t refault_dist_sum[UPAGER_REFAULT_BUCKETS];
};

#define STAT_INC(p, name) atomic_fetch_add_explicit(&(p)->stats.name, 1, memory_order_relaxed)
#define STAT_ADD(p, name, n) \
	atomic_fetch_add_explicit(&(p)->stats.name, (n), memory_order_relaxed)

struct extent;

/* A file's offsets handed out to regions (mmap.c): first fit over the
 * freed extents, else from @next on. */
struct extent_space {
	struct extent *free;       /* freed ranges, sorted */
	uint64_t next;             /* offsets never used yet start here */
};

struct upager_frame {
	_Atomic uint64_t owner; /* 0 free, else frame_owner() of its page */
};

#define WORKER_QUEUE 64u
struct willneed_req {
	struct upager_region *region;
	uint64_t first, count;
};

struct upager {
	size_t page_size;          /* regions' default page size */
	unsigned page_shift;
	unsigned unit_shift;       /* log2 of the budget's unit: the system
	                              page, the least page size of a region */
	uint64_t memory_limit;     /* bytes */
	uint64_t nunits;           /* the budget: memory_limit >> unit_shift */
	size_t nframes;            /* frame table slots: nunits (a page owns
	                              one slot and at least one unit) */
	uint64_t pin_reserve;      /* units that may never be pinned */
	size_t bounce_len;         /* bytes of each ring's bounce buffer */
	unsigned io_depth;
	unsigned readahead;        /* regions' default, pages per run */
	unsigned flags;
	pid_t owner_pid;           /* the process that made it (see pager_ok) */

	int memfd;                 /* all frames of all regions */
	struct extent_space memfd_space; /* its offsets (pager lock) */
	uint64_t memfd_size;       /* its size: grows with the regions */
	int scratch_fd;            /* scratch file of PRIVATE/ANON regions
	                              (their slots: scratch.c); or -1 */
	struct extent_space scratch_space; /* its offsets (pager lock) */
	int scratch_direct_fd;     /* the same with O_DIRECT where the file
	                              system has it, or -1 */

	struct upager_frame *frames;
	_Atomic uint64_t hand;     /* the Clock hand; taken mod nframes */
	_Atomic int64_t free_units;/* units no page or allocation holds */
	_Atomic uint32_t frame_waiters; /* demanded pages waiting for a frame */
	_Atomic uint64_t free_hint;/* where the search for a free frame starts */
	_Atomic uint32_t nonresident_age; /* evictions by the Clock, mod 2^32:
	                              the clock of shadows (workingset.c) */
	/* CLOCK-Pro (vmscan.c): hot pages and the target of cold ones */
	bool clockpro;             /* false: plain Clock (UPAGER_CLOCK=clock) */
	_Atomic uint64_t *hot_map; /* a bit per frame slot: holds a hot page
	                              (frame.c) */
	_Atomic int64_t hot_units; /* units of the hot pages */
	_Atomic int64_t cold_target; /* m_c: units the cold pages may hold */
	int64_t cold_min, cold_max;  /* its bounds */

	struct upager_ring rings[UPAGER_NRINGS];
	_Atomic unsigned ring_hint;
	_Atomic uint32_t ring_seq; /* bumped when a ring is released (io.c) */
	_Atomic uint32_t ring_waiters;

	pthread_mutex_t lock;      /* region list, memfd_space and
	                              scratch_space; API only */
	struct upager_region *regions;
	bool destroyed;

	/* WILLNEED worker (worker.c) */
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t wlock;
	struct willneed_req wq[WORKER_QUEUE];
	unsigned wq_head, wq_len;
	_Atomic bool wstop;        /* read without wlock by the worker */
	unsigned wbusy;            /* requests being served */
	pthread_cond_t widle;
	_Atomic uint32_t wkick;    /* futex: bumped to wake the worker */
	/* Asynchronous read-ahead runs the faults posted for the pager's
	 * thread (readahead.c): frame_owner() of a run's first page, 0 for
	 * an empty slot. */
	_Atomic uint64_t ra_async[UPAGER_RA_ASYNC];
	_Atomic int wb_kicked;     /* a fault already kicked for write-back */
	_Atomic uint64_t wb_unstarted; /* bytes written to the page cache since
	                                  the last sync_file_range (writeback.c) */
	uint64_t dirty_low;        /* background write-back stops here */
	uint64_t dirty_high;       /* ... starts past this many dirty units */

	struct upager_counters stats;
};

/*
 * The process that made a pager owns it.  After fork(), managed memory and
 * upager's own mappings are absent from the child (MADV_DONTFORK), and calls
 * on the parent's pagers fail with -EINVAL (region.c keeps the pid).
 */
UPAGER_HIDDEN extern _Atomic pid_t upager__pid;
static inline bool pager_ok(const struct upager *p)
{
	return p && p->owner_pid == atomic_load_explicit(&upager__pid, memory_order_relaxed);
}

/* Guard markers (Linux 6.13; madvise(2)), for older headers. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

/* @x rounded up to a multiple of @a, a power of two. */
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

/* Address of page @idx in the app view. */
static inline char *page_addr(const struct upager_region *r, uint64_t idx)
{
	return r->base + (idx << r->page_shift);
}

/* ---- versioned structs of the API (inline: every layer may use them) ---- */

/**
 * upager__struct_in() - copy a caller's versioned struct in (the rules of
 * the kernel's copy_struct_from_user(), as openat2(2) and clone3(2) use).
 * @dst:   the library's struct, @dsize bytes; filled in.
 * @src:   the caller's, @ssize bytes; NULL reads as all zeros.
 * @min:   the least size accepted (the size of version 1.0).
 *
 * Bytes the caller did not pass read as 0 (the defaults); bytes past the
 * library's struct must be 0.
 *
 * Return: 0, -EINVAL (@ssize below @min) or -E2BIG (a non-zero byte past
 * @dsize).
 */
static inline int upager__struct_in(void *dst, size_t dsize, const void *src, size_t ssize,
                                    size_t min)
{
	memset(dst, 0, dsize);
	if (!src)
		return 0;
	if (ssize < min)
		return -EINVAL;
	for (size_t i = dsize; i < ssize; i++)
		if (((const unsigned char *)src)[i])
			return -E2BIG;
	memcpy(dst, src, ssize < dsize ? ssize : dsize);
	return 0;
}

/**
 * upager__struct_out() - copy the library's versioned struct out.
 * @dst: the caller's, @dsize bytes (at least @min); bytes past @ssize are
 *       set to 0.
 *
 * Return: 0 or -EINVAL (@dsize below @min).
 */
static inline int upager__struct_out(void *dst, size_t dsize, const void *src, size_t ssize,
                                     size_t min)
{
	if (dsize < min)
		return -EINVAL;
	memcpy(dst, src, dsize < ssize ? dsize : ssize);
	if (dsize > ssize)
		memset((char *)dst + ssize, 0, dsize - ssize);
	return 0;
}

/* ==== layer 0: memcg.c ==================================================== */

/* The effective memory limit of the process's memory cgroup (v1 or v2): the
 * least limit of its group and the group's ancestors, in bytes;
 * UINT64_MAX when none limits it.  Reads files with stdio: not in signal
 * context. */
UPAGER_HIDDEN uint64_t upager__memcg_limit(void);

/* ==== layer 1: stats.c, options.c, inject.c =============================== */

UPAGER_HIDDEN void upager__stat_resident(struct upager *p, int64_t pages, uint32_t units);
UPAGER_HIDDEN void upager__stat_dirty(struct upager *p, int64_t pages, uint32_t units);
UPAGER_HIDDEN void upager__stat_pinned(struct upager *p, int64_t pages, uint32_t units);
UPAGER_HIDDEN void upager__stat_fault_time(struct upager *p, uint64_t ns);
UPAGER_HIDDEN void upager__stat_refault(struct upager *p, uint32_t distance);
UPAGER_HIDDEN uint64_t upager__now_ns(void);
UPAGER_HIDDEN int upager__write_all(int fd, const char *buf, size_t len);

UPAGER_HIDDEN int upager__parse_size(const char *s, uint64_t *out);
UPAGER_HIDDEN bool upager__guards_supported(void);
UPAGER_HIDDEN bool upager__clockpro_wanted(void);
UPAGER_HIDDEN int upager__config_resolve(const struct upager_config *in,
                                         struct upager_config *out);

/* A region's settings, resolved against its pager's (options.c). */
struct region_settings {
	size_t page_size;   /* bytes */
	unsigned readahead; /* pages per run; 0: off */
	int advice;         /* UPAGER_ADV_NORMAL/RANDOM/SEQUENTIAL */
	bool direct_io;     /* open the file with O_DIRECT too */
};
UPAGER_HIDDEN int upager__region_params_resolve(const struct upager *p,
                                                const struct upager_region_params *in,
                                                size_t size, struct region_settings *out);


#include "inject.h"

/* Tries of a request that failed with EINTR or EAGAIN before it fails. */
#define UPAGER_IO_RETRIES 16u

/* ==== layer 2: page.c, workingset.c ======================================= */

UPAGER_HIDDEN enum clock_action upager__clock_action(uint32_t flags, enum clock_mode mode);
UPAGER_HIDDEN uint8_t upager__page_residency(uint32_t flags);
UPAGER_HIDDEN bool upager__page_trylock(struct upager_page *pg);
UPAGER_HIDDEN void upager__page_lock(struct upager_page *pg);
UPAGER_HIDDEN void upager__page_unlock(struct upager_page *pg);
UPAGER_HIDDEN void upager__page_wait(struct upager_page *pg, uint32_t seen);
UPAGER_HIDDEN void upager__futex_wait(_Atomic uint32_t *word, uint32_t val);
UPAGER_HIDDEN void upager__futex_wake_all(_Atomic uint32_t *word);

/*
 * Release events: a thread waiting for a frame registers with
 * upager__release_wait_begin(), looks at the frames once more, sleeps with
 * upager__release_wait() on the value begin returned, and finally calls
 * upager__release_wait_end().  Page unlocks and frame releases call
 * upager__release_event().
 */
UPAGER_HIDDEN void upager__release_event(void);
UPAGER_HIDDEN uint32_t upager__release_wait_begin(void);
UPAGER_HIDDEN void upager__release_wait(uint32_t seen);
UPAGER_HIDDEN void upager__release_wait_end(void);

/* workingset.c: the Clock leaves a shadow in each page it evicts; a
 * page-in reads the clock before it seeks a frame and consumes the shadow
 * (counting a refault) once it has one.  Both with the page locked. */
UPAGER_HIDDEN void upager__workingset_eviction(struct upager *p, struct upager_page *pg);
UPAGER_HIDDEN uint32_t upager__workingset_age(struct upager *p);
UPAGER_HIDDEN bool upager__workingset_refault(struct upager *p, struct upager_page *pg,
                                              uint32_t age);

/* ==== layer 3: gate.c ===================================================== */
/*
 * Readers (fault handlers, the Clock, API calls that touch pages) may run
 * together; a writer (registering or unregistering a region) waits until no
 * reader is inside.  Readers never block in the kernel on the gate: they
 * spin with sched_yield while a writer is inside, so the gate is safe in
 * signal context.  Nesting on one thread is allowed for readers.
 */
UPAGER_HIDDEN void upager__gate_read_enter(void);
UPAGER_HIDDEN void upager__gate_read_exit(void);
UPAGER_HIDDEN void upager__gate_write_enter(void);
UPAGER_HIDDEN void upager__gate_write_exit(void);
UPAGER_HIDDEN void upager__gate_reset(void);
/* The API lock: the pager's lock, with every catchable signal blocked. */
UPAGER_HIDDEN void upager__block_signals(sigset_t *old);
UPAGER_HIDDEN void upager__restore_signals(const sigset_t *old);
UPAGER_HIDDEN void upager__api_enter(struct upager *p, sigset_t *old);
UPAGER_HIDDEN void upager__api_exit(struct upager *p, const sigset_t *old);

/* ==== layer 4: region.c =================================================== */

UPAGER_HIDDEN void upager__region_limits(long max_map_count);
UPAGER_HIDDEN uint64_t upager__vma_budget(void);
UPAGER_HIDDEN int upager__region_id_alloc(uint32_t *id);
UPAGER_HIDDEN void upager__region_id_release(uint32_t id);
UPAGER_HIDDEN void upager__region_publish(uint32_t id, struct upager_region *r);
UPAGER_HIDDEN void upager__regions_atfork_child(void);
UPAGER_HIDDEN struct upager_region *upager__region_get(uint32_t id);
UPAGER_HIDDEN struct upager_region *upager__region_find(struct upager *p, const void *addr);
UPAGER_HIDDEN struct upager_region *upager__region_range(struct upager *p, const void *addr,
                                                         size_t length, bool zero_whole,
                                                         uint64_t *first, uint64_t *last);
UPAGER_HIDDEN void upager__region_free(struct upager_region *r);

/* ==== layer 5: frame.c ==================================================== */

UPAGER_HIDDEN bool upager__units_take(struct upager *p, uint64_t n);
UPAGER_HIDDEN void upager__units_put(struct upager *p, uint64_t n);
UPAGER_HIDDEN uint32_t upager__frame_claim(struct upager *p, uint64_t owner);
UPAGER_HIDDEN void upager__frame_free(struct upager *p, uint32_t frame, uint32_t units);
/* The hot map of CLOCK-Pro: the frames of hot pages and their units. */
UPAGER_HIDDEN void upager__frame_heat(struct upager *p, uint32_t frame, uint32_t units);
UPAGER_HIDDEN void upager__frame_cool(struct upager *p, uint32_t frame, uint32_t units);
UPAGER_HIDDEN uint32_t upager__frame_next_cold(const struct upager *p, uint32_t frame);

/* ==== layer 6: mprotect.c ================================================= */

UPAGER_HIDDEN void upager__region_guards_init(struct upager_region *r);
UPAGER_HIDDEN int64_t upager__access_gain(struct upager_region *r, uint64_t idx, uint64_t n,
                                          uint32_t access);
UPAGER_HIDDEN bool upager__access_over_budget(int64_t gained);
UPAGER_HIDDEN unsigned upager__access_tidy(struct upager *p);
UPAGER_HIDDEN int upager__set_access(struct upager_region *r, uint64_t idx, uint64_t n,
                                     uint32_t access);
UPAGER_HIDDEN void upager__access_forget(struct upager_region *r);
UPAGER_HIDDEN void upager__populate_write(struct upager_region *r, uint64_t idx, uint64_t n);
UPAGER_HIDDEN void upager__evict_locked(struct upager_region *r, uint64_t idx);
UPAGER_HIDDEN void upager__evict_run_locked(struct upager_region *r, uint64_t idx, unsigned n);

/* clockpro.c (layer 6 too) */
UPAGER_HIDDEN enum clock_mode upager__clock_mode(struct upager *p, bool urgent);
UPAGER_HIDDEN void upager__clock_admit(struct upager *p, struct upager_region *r,
                                       struct upager_page *pg, uint32_t age);
UPAGER_HIDDEN void upager__clock_evicted(struct upager *p, struct upager_region *r,
                                         struct upager_page *pg);
UPAGER_HIDDEN void upager__clock_promote_locked(struct upager_region *r, struct upager_page *pg);
UPAGER_HIDDEN void upager__clock_demote_locked(struct upager_region *r, struct upager_page *pg);

/* ==== layer 7: io.c ======================================================= */

UPAGER_HIDDEN int upager__io_init(struct upager *p);
UPAGER_HIDDEN void upager__io_exit(struct upager *p);
UPAGER_HIDDEN int upager__io_write_frames(struct upager *p, struct io_req *reqs, unsigned n);
UPAGER_HIDDEN int upager__io_read_frames(struct upager *p, const struct io_req *pieces,
                                         unsigned n, size_t *got);

/* scratch.c (layer 7 too) */
UPAGER_HIDDEN uint64_t upager__slots_needed(uint64_t npages);
UPAGER_HIDDEN int upager__slots_init(struct upager_region *r);
UPAGER_HIDDEN void upager__slots_free(struct upager_region *r);
UPAGER_HIDDEN off_t upager__slot_assign(struct upager_region *r, uint64_t idx);
UPAGER_HIDDEN off_t upager__slot_offset(const struct upager_region *r, uint64_t idx);
UPAGER_HIDDEN bool upager__slot_follows(const struct upager_region *r, uint64_t a, uint64_t b);

/* ==== layer 8: writeback.c ================================================ */

UPAGER_HIDDEN void upager__page_source(struct upager_region *r, uint64_t idx, bool write,
                                       struct io_req *req);
UPAGER_HIDDEN int upager__writeback_locked(struct upager *p, struct upager_region **rs,
                                           uint64_t *idxs, unsigned n, int *results);
UPAGER_HIDDEN int upager__flush_range(struct upager_region *r, uint64_t first, uint64_t last,
                                      bool evict);
UPAGER_HIDDEN void upager__mark_dirty(struct upager_region *r, struct upager_page *pg,
                                      uint32_t f, bool store);
UPAGER_HIDDEN void upager__kick_thread(struct upager *p);

/* ==== layer 9: vmscan.c =================================================== */

UPAGER_HIDDEN int upager__frame_alloc(struct upager *p, uint64_t owner, uint32_t units,
                                      uint32_t *frame, bool demand);
UPAGER_HIDDEN int upager__grant_access(struct upager_region *r, uint64_t idx, uint64_t n,
                                       uint32_t access);
UPAGER_HIDDEN bool upager__deactivate_some(struct upager *p, unsigned want);
UPAGER_HIDDEN long upager__deactivate_range(struct upager_region *r, uint64_t first,
                                            uint64_t last);

/* ==== layer 10: filemap.c ================================================= */

UPAGER_HIDDEN int upager__grant_demanded(struct upager_region *r, uint64_t idx, uint32_t access);
UPAGER_HIDDEN int upager__page_in_locked(struct upager_region *r, uint64_t idx,
                                         unsigned ra_pages, uint32_t access, bool demand,
                                         bool *read);

/* ==== layer 11: readahead.c =============================================== */

UPAGER_HIDDEN unsigned upager__ra_window(struct upager_region *r, uint64_t idx);
UPAGER_HIDDEN void upager__readahead_hit(struct upager_region *r, uint64_t idx, uint32_t f);
UPAGER_HIDDEN void upager__readahead_next(struct upager_region *r, uint64_t marker, bool store);
UPAGER_HIDDEN bool upager__readahead_async(struct upager *p);

/* ==== layer 12: fault.c =================================================== */

UPAGER_HIDDEN int upager__fault(struct upager_region *r, void *addr, int type, ucontext_t *uc);

/* ==== layer 13: signal.c ================================================== */

UPAGER_HIDDEN int upager__signal_init(void);
UPAGER_HIDDEN int upager__region_create(struct upager *p, struct upager_region *r);
UPAGER_HIDDEN int upager__region_unregister(struct upager_region *r);
UPAGER_HIDDEN int upager__region_reregister(struct upager_region *r);

/* ==== layer 14: worker.c ================================================== */

UPAGER_HIDDEN int upager__worker_start(struct upager *p);
UPAGER_HIDDEN void upager__worker_stop(struct upager *p);
UPAGER_HIDDEN int upager__worker_queue(struct upager *p, struct upager_region *r,
                                       uint64_t first, uint64_t count);
UPAGER_HIDDEN void upager__worker_drain(struct upager *p, struct upager_region *r);

/* ==== layer 15: mmap.c, range.c, inspect.c =============================== */

UPAGER_HIDDEN int upager__region_teardown(struct upager *p, struct upager_region *r, bool force);
UPAGER_HIDDEN void upager__extents_free(struct upager *p);
/* range.c and inspect.c define only public calls (upager_sync,
 * upager_advise, upager_pin, upager_unpin; upager_residency,
 * upager_print_pages). */

/* ==== layer 16: pager.c ==================================================== */

/* Only public calls (upager_create, upager_destroy, ...). */

#endif /* UPAGER_INTERNAL_H */
