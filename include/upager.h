/*
 * upager.h - user-space demand paging of files and scratch arrays.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * upager maps a file (or scratch memory) at an address range that the
 * program reads and writes through plain pointers, while keeping the memory
 * those pages occupy under a limit.  The range starts inaccessible
 * (PROT_NONE); a touch raises SIGSEGV, which upager catches (through
 * libsigsegv), reads the page from the backing file with io_uring and makes
 * it accessible.  Referenced and dirty pages are tracked with protections;
 * the Clock algorithm chooses pages to evict when the limit is reached, and
 * dirty pages are written back on eviction, on upager_sync() and on
 * upager_unmap().
 *
 * Conventions for every function below:
 *  - Functions returning int return 0 on success or a negative errno value
 *    on failure, and never set errno.  upager_map() and upager_alloc()
 *    return NULL and set errno, as mmap(2) and malloc(3) users expect.
 *  - Sizes are in bytes unless a name says pages.  "Page" is upager's page
 *    of the region concerned (struct upager_region_params.page_size, else
 *    the pager's struct upager_config.page_size), not necessarily the
 *    system page.
 *  - All functions are thread-safe: any thread may call any function on any
 *    pager at any time, except that a pager must not be used during or after
 *    its upager_destroy().
 *  - No function may be called from a signal handler (they take locks and
 *    may allocate), except upager_version() and upager_handle_fault().
 *    Touching managed memory from a signal handler is allowed: see
 *    upager(3), "Signal handlers".
 *
 * Other SIGSEGV handlers: the first upager_create() installs a process-wide
 * SIGSEGV handler (through libsigsegv) and saves the action it replaces.  A
 * fault upager does not serve (outside every region, or a write to a
 * read-only mapping) goes to that earlier action as the kernel would have
 * delivered it: its handler (SA_SIGINFO or plain) is called, and for
 * SIG_DFL or SIG_IGN the process dies of SIGSEGV as without upager.  So a
 * crash reporter, runtime or sanitizer may install its handler before
 * upager_create().  One installed after replaces upager's; it must pass
 * every fault to upager_handle_fault() first and treat only those that
 * returns 0 for as its own, then chain to the action it replaced (as
 * Breakpad's and Crashpad's first-chance handlers do).  See upager(3),
 * "Signals".
 *
 * When a fault fails: a touch of managed memory raises SIGBUS (si_addr the
 * address touched) only when reading its page fails, or when no frame can
 * be had for it: every frame of the pager it could use is pinned or holds
 * a dirty page whose write-back failed in two turns of the Clock hand in a
 * row (counted in sigbus_nomem; the write error is what upager_sync()
 * returns).  Otherwise a fault waits until a frame is free, however many
 * threads contend for how few frames.
 */
#ifndef UPAGER_H
#define UPAGER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(UPAGER_BUILDING)
#define UPAGER_API __attribute__((visibility("default")))
#else
#define UPAGER_API
#endif

#define UPAGER_VERSION_MAJOR 1
#define UPAGER_VERSION_MINOR 0
#define UPAGER_VERSION_PATCH 0
#define UPAGER_VERSION_STRING "1.0.0"

/* Limits and defaults of struct upager_config and of regions. */
#define UPAGER_DEFAULT_PAGE_SIZE (16u << 10) /**< bytes, where the kernel has
                                                  no guard markers (before
                                                  Linux 6.13, or
                                                  UPAGER_GUARDS=0); with
                                                  them the default is the
                                                  system page size.  Chosen
                                                  by bench/ */
#define UPAGER_MAX_PAGE_SIZE (2u << 20)      /**< bytes; the least is the
                                                  system page size */
#define UPAGER_MIN_FRAMES 4u                 /**< memory_limit / page_size */
#define UPAGER_DEFAULT_IO_DEPTH 64u          /**< entries per ring */
#define UPAGER_MAX_IO_DEPTH 4096u
#define UPAGER_DEFAULT_READAHEAD_BYTES (1u << 20) /**< the default read-ahead:
                                                  this many bytes of pages,
                                                  and at least
                                                  UPAGER_DEFAULT_READAHEAD
                                                  pages (256 pages of
                                                  4 KiB, 64 of 16 KiB, 16
                                                  of 64 KiB and more).
                                                  Chosen by bench/ */
#define UPAGER_DEFAULT_READAHEAD 16u         /**< pages: the least default */
#define UPAGER_MAX_READAHEAD 1024u           /**< pages */
#define UPAGER_MAX_REGION_BYTES ((size_t)1 << 40) /**< one region, bytes */
#define UPAGER_MAX_REGIONS 65536u /**< regions of a process, whatever
                                       vm.max_map_count / 8 allows */

/** Opaque handle: one pager owns a set of regions and one memory limit. */
typedef struct upager upager_t;

/* struct upager_config.flags and struct upager_region_params.flags */
/** Open backing files for I/O with O_DIRECT where the file system allows. */
#define UPAGER_DIRECT_IO 0x1u
/** struct upager_region_params.flags only: buffered I/O for this region,
 *  though the pager has UPAGER_DIRECT_IO. */
#define UPAGER_BUFFERED_IO 0x2u

/*
 * Compatibility (version 1.0 onwards).  The interface grows without
 * breaking programs built against an older header:
 *  - struct upager_config, struct upager_region_params and struct
 *    upager_stats only ever gain fields at their end.  The calls that take
 *    them take their size too (as openat2(2) and clone3(2) do): pass sizeof
 *    the struct your program was built with.  A config (or region params)
 *    shorter than the library's reads as if its missing fields were 0
 *    (their defaults); a longer one is accepted when every byte the
 *    library does not know is 0, else the call fails with -E2BIG
 *    (upager_map_params() and upager_alloc_params(): errno E2BIG).
 *    Statistics are written up to the size given; fields the
 *    library does not have read 0.
 *  - Every other call keeps its arguments and meaning; new calls are added
 *    with new symbol versions (UPAGER_1.0, ...), and a program built against
 *    an older library keeps running against a newer one (the shared
 *    library's major number, libupager.so.0, does not change).
 *  - Programs built against 0.1 (whose upager_create(), upager_stats() and
 *    upager_config_resolve() took no size) keep working: the library still
 *    provides those symbols at version UPAGER_0.1.
 */

/** Bytes of struct upager_config in version 1.0 (the least size accepted). */
#define UPAGER_CONFIG_SIZE_VER0 32u
/** Bytes of struct upager_stats in version 1.0 (the least size accepted). */
#define UPAGER_STATS_SIZE_VER0 496u

/** struct upager_config.readahead: no read-ahead (0 means the default). */
#define UPAGER_READAHEAD_OFF 0xffffffffu

/** Configuration.  Initialise it to all zeros (`= { 0 }`), then set what you
 *  want: a field left 0 takes its environment variable or default, and
 *  unused bytes must stay 0.  upager reads its variables (UPAGER_*, TMPDIR)
 *  with secure_getenv(3): a set-user-ID or set-group-ID program gets the
 *  defaults. */
struct upager_config {
	/** Bytes per page: a power of two, >= the system page size and
	 *  <= 2 MiB.  0: $UPAGER_PAGE_SIZE, else the system page size where
	 *  the kernel has guard markers (Linux 6.13), else 16 KiB. */
	uint64_t page_size;
	/** Bytes of pages resident at once, for all regions of this pager
	 *  whatever their page sizes; rounded down to whole pages, at least 4
	 *  pages.
	 *  0: $UPAGER_MEMORY_LIMIT, else a quarter of the memory the process
	 *  may use: of the lesser of physical memory and the effective limit
	 *  of its memory cgroup (the least limit of its group and the group's
	 *  ancestors: cgroup v2 memory.max, v1 memory.limit_in_bytes), rounded
	 *  down to whole pages, and at least UPAGER_MIN_FRAMES pages.  The
	 *  cgroup's limit is read when the configuration is resolved
	 *  (upager_create, upager_config_resolve), not followed afterwards. */
	uint64_t memory_limit;
	/** io_uring submission queue entries per ring (1..4096).
	 *  0: $UPAGER_IO_DEPTH, else 64. */
	uint32_t io_depth;
	/** Most pages read ahead on a sequential fault (1..1024), or
	 *  UPAGER_READAHEAD_OFF for none.  0: $UPAGER_READAHEAD (a number, or
	 *  "off"), else 1 MiB of pages and at least 16 pages
	 *  (UPAGER_DEFAULT_READAHEAD_BYTES).  A region of another page size
	 *  (struct upager_region_params) reads ahead as many bytes, at least
	 *  one page.  UPAGER_ADV_RANDOM turns it off for one region. */
	uint32_t readahead;
	/** UPAGER_DIRECT_IO or 0. */
	uint32_t flags;
	/** Must be 0 (room for a field of a later version). */
	uint32_t reserved0;
};

/* upager_map() flags */
/** Writes reach the file, like MAP_SHARED. */
#define UPAGER_SHARED 0x1
/** Copy-on-write: the file is never written; evicted dirty pages go to an
 *  unlinked scratch file. */
#define UPAGER_PRIVATE 0x2

/* upager_advise() advice */
#define UPAGER_ADV_NORMAL 0     /**< default read-ahead */
#define UPAGER_ADV_RANDOM 1     /**< no read-ahead */
#define UPAGER_ADV_SEQUENTIAL 2 /**< full read-ahead window from the first fault */
#define UPAGER_ADV_WILLNEED 3   /**< start asynchronous page-in, return at once */
#define UPAGER_ADV_DONTNEED 4   /**< write back dirty pages, then free the frames */
#define UPAGER_ADV_COLD 5       /**< make resident pages cold, references cleared */

/** Buckets of the fault service time histogram: bucket i counts faults
 *  that took [2^i, 2^(i+1)) nanoseconds (bucket 0 also takes 0 ns). */
#define UPAGER_HIST_BUCKETS 40

/**
 * Statistics of one pager, since upager_create().  Counters are named after
 * the kernel's vmstat where one exists.  Pages are upager pages, each of its
 * region's page size (a page of a 2 MiB region counts 1, like one of a
 * 16 KiB region); the *_bytes fields count memory.
 */
struct upager_stats {
	uint64_t pgfault;          /**< faults handled: major + minor + write,
	                                plus faults that lost a race with another
	                                thread and were only retried */
	uint64_t pgmajfault;       /**< faults that read their page from
	                                backing storage (the file, or the
	                                scratch file of a page evicted dirty),
	                                reads and first stores alike: faults
	                                that needed I/O, as vmstat counts */
	uint64_t pgminfault;       /**< faults without I/O: faults that made a
	                                page resident by zero-filling it
	                                (upager_alloc memory never written
	                                back, a page wholly past the end of the
	                                file), and faults on a resident page
	                                that only restored access (reference
	                                faults) */
	uint64_t pgwritefault;     /**< stores to a resident page mapped
	                                read-only: the first store to a clean
	                                page, or to a page paged in dirty
	                                (pgdirty_predicted) whose access the
	                                Clock revoked before any store */
	uint64_t pgpgin;           /**< pages read from backing files (at
	                                least one byte of each was read) */
	uint64_t pgpgout;          /**< pages written to backing files */
	uint64_t pgzerofill;       /**< pages made resident as zeros without
	                                reading a byte (pgpgin + pgzerofill are
	                                all the pages paged in) */
	uint64_t readahead;        /**< pages read ahead of a fault */
	uint64_t readahead_used;   /**< read-ahead pages touched afterwards */
	uint64_t pgscan;           /**< pages examined by the Clock hand */
	uint64_t pgdeactivate;     /**< references cleared by the Clock hand */
	uint64_t pgsteal;          /**< pages evicted (frames freed) */
	uint64_t writeback_evict;  /**< dirty pages written back by eviction */
	uint64_t writeback_background; /**< dirty pages written back by the
	                                    pager's thread ahead of eviction */
	uint64_t nr_resident;      /**< pages resident now (of any size) */
	uint64_t nr_resident_peak; /**< most pages resident at once */
	uint64_t nr_dirty;         /**< dirty pages now */
	uint64_t nr_pinned;        /**< pinned pages now */
	uint64_t nr_frames;        /**< memory_limit / page_size: pages of the
	                                pager's page size that fit in the limit
	                                (the bound of nr_resident when every
	                                region has that size) */
	uint64_t io_errors;        /**< failed reads and writes */
	uint64_t sigbus;           /**< faults answered with SIGBUS */
	uint64_t fault_ns_hist[UPAGER_HIST_BUCKETS]; /**< fault service time */
	uint64_t sigbus_nomem;     /**< of sigbus, the faults that found no frame:
	                                every frame pinned or holding a dirty
	                                page whose write-back kept failing */
	/* End of version 1.0 (UPAGER_STATS_SIZE_VER0 bytes); later versions
	 * add counters here.  A caller that passes UPAGER_STATS_SIZE_VER0
	 * gets none of the fields below. */
	uint64_t workingset_refault; /**< pages paged in again after the Clock
	                                  evicted them (refaults; read ahead,
	                                  WILLNEED and pins included), as
	                                  vmstat's workingset_refault_file */
	uint64_t workingset_activate; /**< of those, pages whose refault
	                                  distance (pages evicted between their
	                                  eviction and their return) was at most
	                                  nr_frames: a memory twice as large
	                                  would have kept them (vmstat's
	                                  workingset_activate_file) */
	uint64_t workingset_bytes; /**< estimate of the working set, bytes: with
	                                refaults, (nr_frames + the 90th
	                                percentile of their refault distances) *
	                                page size, the memory an LRU would have
	                                needed to keep 9 in 10 refaulted pages
	                                (stack distances, Mattson et al. 1970),
	                                at most the distinct pages paged in
	                                (pgpgin + pgzerofill -
	                                workingset_refault); without refaults,
	                                nr_resident_peak * page size.
	                                Over the pager's life; see
	                                upager_stats(3) */
	/* Bytes: regions of one pager may have different page sizes (struct
	 * upager_region_params), so the counters above count pages of each
	 * region's own size, and these count the memory. */
	uint64_t nr_resident_bytes;      /**< bytes of resident pages now;
	                                      never above memory_limit */
	uint64_t nr_resident_bytes_peak; /**< most bytes resident at once */
	uint64_t nr_dirty_bytes;         /**< bytes of dirty pages now */
	uint64_t nr_pinned_bytes;        /**< bytes of pinned pages now */
	uint64_t memory_limit;           /**< the pager's limit, bytes */
	/* Write amplification: pgpgout / pgdirtied is the pages written per
	 * page made dirty (1.0 when every dirty page is written once per
	 * residency; more when background write-back or upager_sync()
	 * writes a page that is then stored to again, or a page paged in
	 * dirty is written back unchanged). */
	uint64_t pgdirtied;        /**< pages made dirty, counted once per
	                                residency (from page-in to eviction): a
	                                page written back and stored to again
	                                while still resident counts once; with
	                                pgdirty_predicted and pins */
	uint64_t pgdirty_predicted; /**< pages paged in writable and dirty at
	                                 once because a store reached them in
	                                 their last residency: a load then a
	                                 store takes one fault, not two; each
	                                 such page is written back at eviction
	                                 even if no store reaches it */
	/* CLOCK-Pro (the default replacement; UPAGER_CLOCK=clock for plain
	 * Clock, where both stay 0). */
	uint64_t pgpromote;        /**< pages turned hot: cold pages referenced
	                                in their test period, resident or
	                                paged in again soon enough */
	uint64_t pgdemote;         /**< hot pages turned cold (by the Clock
	                                hand, or UPAGER_ADV_COLD) */
};

/**
 * upager_create() - make a pager.
 * @pager:  out: the new pager; untouched on failure.
 * @config: settings, or NULL for all defaults (see struct upager_config).
 *          Not kept after the call.
 * @size:   sizeof(struct upager_config) as the caller was built (at least
 *          UPAGER_CONFIG_SIZE_VER0); ignored when @config is NULL.
 *
 * Installs the process-wide SIGSEGV handler (libsigsegv) on first use,
 * saving the SIGSEGV action it replaces for the faults upager declines (see
 * "Other SIGSEGV handlers" above).
 *
 * Thread safety: any thread.  Not from a signal handler.
 *
 * Return: 0, or -EINVAL (NULL @pager, @size below UPAGER_CONFIG_SIZE_VER0,
 * a setting out of range, an unknown flag, a reserved field not 0, or an
 * unparsable UPAGER_* environment variable), -E2BIG (@size larger than the
 * library's struct and a byte past it not 0: a setting this library does
 * not know), -ENOMEM (memory or address space), -EMFILE/-ENFILE
 * (descriptors), -ENOSYS or -EPERM (io_uring unavailable), or another
 * negative errno from io_uring_setup(2), memfd_create(2) or
 * pthread_create(3).
 */
UPAGER_API int upager_create(upager_t **pager, const struct upager_config *config,
                             size_t size);

/**
 * upager_destroy() - write back and unmap every region, then free the pager.
 * @pager: from upager_create(); NULL is allowed and does nothing.
 *
 * Everything is freed even when write-back fails.  If UPAGER_STATS=1 is in
 * the environment, prints the statistics to stderr first.
 *
 * Return: 0, or the first error met: -EIO, -ENOSPC, -EFBIG, -EDQUOT or
 * another negative errno of a failed write-back (that data is lost).
 */
UPAGER_API int upager_destroy(upager_t *pager);

/**
 * upager_map() - map a file.
 * @pager:  the pager whose memory limit the pages count against.
 * @fd:     an open file; duplicated (close-on-exec), so the caller may close
 *          it after the call.  Regular files only.
 * @offset: bytes into the file; a multiple of the page size.
 * @length: bytes to map, > 0; need not be a multiple of the page size and
 *          may reach past end of file: bytes past EOF read as zero, and
 *          write-back of an UPAGER_SHARED mapping extends the file up to
 *          @offset + @length at most.  At most 1 TiB.
 * @prot:   PROT_READ or PROT_READ | PROT_WRITE.
 * @flags:  UPAGER_SHARED or UPAGER_PRIVATE.
 *
 * The mapping covers @length rounded up to whole pages; bytes after @length
 * in the last page are accessible, read as zero and are never written to
 * the file.
 *
 * Return: the address of the mapping (aligned to the page size), or NULL
 * with errno set to EINVAL (NULL @pager, @length 0 or above 1 TiB, @offset
 * negative or unaligned, @offset + @length overflows, bad @prot or @flags,
 * @fd not a regular file), EBADF (@fd not open for reading), EACCES
 * (UPAGER_SHARED with PROT_WRITE on a descriptor not open for writing, or
 * open with O_APPEND), EPERM (UPAGER_SHARED with PROT_WRITE on a memfd
 * sealed with F_SEAL_WRITE or F_SEAL_FUTURE_WRITE, as for mmap(2)),
 * ENOMEM (memory, address space, region table full), EFBIG (the process's
 * RLIMIT_FSIZE is below the bytes upager's memory file needs for the
 * region), EMFILE/ENFILE.
 */
UPAGER_API void *upager_map(upager_t *pager, int fd, off_t offset, size_t length, int prot,
                            int flags);

/**
 * upager_alloc() - zero-filled scratch memory.
 * @pager:  the pager.
 * @length: bytes, > 0, at most 1 TiB; rounded up to whole pages.
 *
 * Backed by an unlinked temporary file (O_TMPFILE) in $UPAGER_TMPDIR, else
 * $TMPDIR, else /var/tmp (always /var/tmp in a set-user-ID program).
 * Readable and writable.  Free with upager_unmap().
 *
 * Return: the address (aligned to the page size), or NULL with errno set to
 * EINVAL (NULL @pager, @length 0 or above 1 TiB), ENOMEM, EFBIG (as for
 * upager_map()), EMFILE/ENFILE, or
 * the errno of open(2) on the temporary directory (ENOENT, EACCES, ...).
 */
UPAGER_API void *upager_alloc(upager_t *pager, size_t length);

/** Bytes of struct upager_region_params in version 1.0 (the least size
 *  accepted). */
#define UPAGER_REGION_PARAMS_SIZE_VER0 24u

/** Settings of one region, for upager_map_params() and
 *  upager_alloc_params().  Initialise it to all zeros (`= { 0 }`), then set
 *  what you want: a field left 0 takes the pager's setting, and unused
 *  bytes must stay 0.  Grows only at its end (see "Compatibility"). */
struct upager_region_params {
	/** Bytes per page of this region: a power of two, >= the system page
	 *  size and <= 2 MiB (UPAGER_MAX_PAGE_SIZE), and at most a quarter of
	 *  the pager's memory_limit (UPAGER_MIN_FRAMES pages must fit).
	 *  Regions of one pager may differ; their pages share the pager's
	 *  memory limit, counted in bytes.  0: the pager's page size. */
	uint64_t page_size;
	/** Most pages (of this region's size) read ahead on a sequential
	 *  fault (1..1024), or UPAGER_READAHEAD_OFF for none in this region.
	 *  0: the pager's readahead in bytes (pages of the pager's size times
	 *  their number), in pages of this region's size, at least 1. */
	uint32_t readahead;
	/** The access pattern from the start, as upager_advise() would set it
	 *  later: UPAGER_ADV_NORMAL (0), UPAGER_ADV_RANDOM or
	 *  UPAGER_ADV_SEQUENTIAL. */
	int32_t advice;
	/** 0, UPAGER_DIRECT_IO (O_DIRECT for this region's file where the
	 *  file system allows, whatever the pager's flags) or
	 *  UPAGER_BUFFERED_IO (buffered I/O though the pager has
	 *  UPAGER_DIRECT_IO).  0: as the pager's flags say.  No effect on
	 *  upager_alloc() memory, whose scratch file is always buffered. */
	uint32_t flags;
	/** Must be 0 (room for a field of a later version). */
	uint32_t reserved0;
};

/**
 * upager_map_params() - map a file with settings of its own.
 * @pager:  as for upager_map().
 * @fd:     as for upager_map().
 * @offset: bytes into the file; a multiple of the region's page size.
 * @length: as for upager_map(); rounded up to whole pages of the region's
 *          page size.
 * @prot:   as for upager_map().
 * @flags:  as for upager_map().
 * @params: the region's settings, or NULL for the pager's (then this is
 *          upager_map()).  Not kept after the call.
 * @size:   sizeof(struct upager_region_params) as the caller was built (at
 *          least UPAGER_REGION_PARAMS_SIZE_VER0); ignored when @params is
 *          NULL.  A shorter struct reads as zeros past its end; a longer
 *          one must be 0 past the library's.
 *
 * upager_map(pager, fd, offset, length, prot, flags) is
 * upager_map_params(pager, fd, offset, length, prot, flags, NULL, 0).
 * Every page of the region has @params->page_size bytes; its memfd offset
 * and its address are aligned to that size.  upager_region_page_size()
 * gives it back; upager_advise(), upager_pin() and upager_sync() round
 * addresses to it.
 *
 * Thread safety: any thread.  Not from a signal handler.
 *
 * Return: the address of the mapping (aligned to the region's page size),
 * or NULL with errno set to: EINVAL (every EINVAL of upager_map(), with
 * @offset checked against the region's page size; or @size below
 * UPAGER_REGION_PARAMS_SIZE_VER0, page_size not a power of two, below the
 * system page size, above 2 MiB or above a quarter of the pager's
 * memory_limit, readahead above 1024 and not UPAGER_READAHEAD_OFF, advice
 * not UPAGER_ADV_NORMAL, UPAGER_ADV_RANDOM or UPAGER_ADV_SEQUENTIAL, an
 * unknown flag, UPAGER_DIRECT_IO with UPAGER_BUFFERED_IO, reserved0 not
 * 0), E2BIG (@size above the library's struct and a byte past it not 0: a
 * setting this library does not know), and every other errno of
 * upager_map() (EBADF, EACCES, EPERM, ENOMEM, EFBIG, EMFILE, ENFILE).
 */
UPAGER_API void *upager_map_params(upager_t *pager, int fd, off_t offset, size_t length,
                                   int prot, int flags,
                                   const struct upager_region_params *params, size_t size);

/**
 * upager_alloc_params() - zero-filled scratch memory with settings of its
 * own.
 * @pager:  the pager.
 * @length: bytes, > 0, at most 1 TiB; rounded up to whole pages of the
 *          region's page size.
 * @params: the region's settings, or NULL for the pager's (then this is
 *          upager_alloc()).  Not kept after the call.
 * @size:   as for upager_map_params().
 *
 * Thread safety: any thread.  Not from a signal handler.
 *
 * Return: the address (aligned to the region's page size), or NULL with
 * errno set to EINVAL (NULL @pager, @length 0 or above 1 TiB, or a bad
 * @params or @size as for upager_map_params()), E2BIG (as for
 * upager_map_params()), or every other errno of upager_alloc() (ENOMEM,
 * EFBIG, EMFILE, ENFILE, the errno of open(2) on the temporary directory).
 */
UPAGER_API void *upager_alloc_params(upager_t *pager, size_t length,
                                     const struct upager_region_params *params, size_t size);

/**
 * upager_unmap() - write back dirty pages and remove a region.
 * @pager: the pager that made the region.
 * @addr:  exactly as returned by upager_map() or upager_alloc().
 *
 * Dirty pages of an UPAGER_SHARED mapping are written to the file (no
 * fdatasync: call upager_sync() first for durability).  If that write-back
 * fails, the region stays mapped and intact, so no data is lost: the caller
 * may retry, upager_sync() or copy the data out.  Touching the range after
 * a successful unmap raises SIGSEGV.
 *
 * Return: 0, -EINVAL (NULL @pager, or @addr not a region of @pager), or the
 * negative errno of the failed write-back (-EIO, -ENOSPC, -EFBIG, ...).
 */
UPAGER_API int upager_unmap(upager_t *pager, void *addr);

/**
 * upager_sync() - write back dirty pages and make them durable.
 * @pager:  the pager.
 * @addr:   start; rounded down to a page boundary.
 * @length: bytes; the range [@addr, @addr + @length) must lie within one
 *          region; 0 means the whole region that contains @addr.
 *
 * Like msync(MS_SYNC): writes every dirty page in the range, then calls
 * fdatasync(2) on the backing file (UPAGER_SHARED mappings).  Pages of
 * UPAGER_PRIVATE mappings and of upager_alloc() memory are never written
 * to a user file, so sync of those returns 0 at once.  A page whose
 * write-back failed stays dirty, and every later sync retries it and
 * reports the error until the page is written.  A failed fdatasync is
 * reported by every later sync of the region, since upager cannot tell
 * which data the kernel dropped.
 *
 * Return: 0, -EINVAL (NULL @pager, range outside one region), or the
 * negative errno of the first failed write or fdatasync (-EIO, -ENOSPC,
 * -EFBIG, -EDQUOT, ...).
 */
UPAGER_API int upager_sync(upager_t *pager, void *addr, size_t length);

/**
 * upager_advise() - tell upager how a range will be used.
 * @pager:  the pager.
 * @addr:   start; rounded down to a page boundary.
 * @length: bytes, > 0; the range must lie within one region.
 * @advice: UPAGER_ADV_NORMAL, UPAGER_ADV_RANDOM, UPAGER_ADV_SEQUENTIAL (these
 *          three set the read-ahead policy of the whole region),
 *          UPAGER_ADV_WILLNEED (queues page-in of the range for a background
 *          thread and returns at once; pages beyond what the memory limit
 *          allows are not read) or UPAGER_ADV_DONTNEED (writes back dirty
 *          pages of the range, then frees their frames; the data stays in
 *          the file and is read again on the next touch; for upager_alloc()
 *          memory and UPAGER_PRIVATE mappings it goes to the scratch file)
 *          or UPAGER_ADV_COLD (like MADV_COLD: turns the range's resident
 *          pages cold and clears their references, as a visit of the
 *          Clock hand does,
 *          without evicting or writing anything; pinned pages keep theirs.
 *          The next touch of such a page is a minor fault, and the hand
 *          evicts it first if it is not touched again).
 *
 * Thread safety: any thread; concurrent faults on the range are served.
 * Not from a signal handler.
 *
 * Return: 0, -EINVAL (NULL @pager, bad @advice, @length 0, range outside one
 * region), -EBUSY (DONTNEED on a range holding pinned pages; nothing else
 * in the range is skipped), -ENOMEM (COLD: the kernel refused a protection
 * change; the pages it did not reach keep their references), or the
 * negative errno of a failed write-back (DONTNEED: those pages stay
 * resident and dirty).
 */
UPAGER_API int upager_advise(upager_t *pager, void *addr, size_t length, int advice);

/**
 * upager_pin() - make a range resident and accessible until unpinned.
 * @pager:  the pager.
 * @addr:   start; rounded down to a page boundary.
 * @length: bytes, > 0; the range must lie within one region.
 *
 * The pages are read in, made accessible (read-write for writable regions,
 * where they are also marked dirty, since writes by the kernel, as by
 * read(2), bypass fault tracking) and are neither evicted nor protected
 * until upager_unpin().  Pins nest: a page pinned twice needs two unpins.
 * Use it to hand managed memory to system calls, which return EFAULT on an
 * inaccessible page, or to latency-critical code.
 *
 * Return: 0, -EINVAL (NULL @pager, @length 0, range outside one region),
 * -ENOMEM (pinning would leave unpinned fewer bytes than the larger of an
 * eighth of the memory limit, at least two pages of the pager's page size,
 * and two pages of the largest page size among the pager's regions; pins
 * are counted in bytes; nothing is pinned), -EIO or another negative errno of a failed
 * read (nothing is pinned).
 */
UPAGER_API int upager_pin(upager_t *pager, void *addr, size_t length);

/**
 * upager_unpin() - undo one upager_pin() of a range.
 * @pager:  the pager.
 * @addr:   start; rounded down to a page boundary.
 * @length: bytes, > 0; the range must lie within one region.
 *
 * Return: 0, -EINVAL (NULL @pager, @length 0, range outside one region, or
 * a page in the range that is not pinned; then nothing is unpinned).
 */
UPAGER_API int upager_unpin(upager_t *pager, void *addr, size_t length);

/**
 * upager_stats() - read the statistics.
 * @pager: the pager.
 * @stats: out: filled in.  Counters are read one at a time while other
 *         threads may run, so they are each exact but not a snapshot.
 * @size:  sizeof(struct upager_stats) as the caller was built (at least
 *         UPAGER_STATS_SIZE_VER0); the library writes @size bytes, and
 *         counters it does not have read 0.
 *
 * Thread safety: any thread.  Not from a signal handler.
 *
 * Return: 0 or -EINVAL (NULL argument, @size below UPAGER_STATS_SIZE_VER0).
 */
UPAGER_API int upager_stats(upager_t *pager, struct upager_stats *stats, size_t size);

/**
 * upager_print_stats() - write the statistics as text.
 * @pager: the pager.
 * @fd:    descriptor to write to (e.g. 2 for stderr).
 *
 * One line per counter, one with the write amplification (pgpgout /
 * pgdirtied) once a page was dirtied, the fault-time quantiles, then one in
 * words about the working set.  It says
 * "thrashing: ..." (the share of refaults, the working set estimate and
 * the memory limit) when more than half of the pages paged in (pgpgin +
 * pgzerofill) were refaults and at least nr_frames pages refaulted;
 * otherwise "working set: about ..., the memory limit is ...".
 *
 * Thread safety: any thread.  Not from a signal handler.
 *
 * Return: 0, -EINVAL (NULL @pager), or the negative errno of write(2).
 */
UPAGER_API int upager_print_stats(upager_t *pager, int fd);

/* The state of one page, as upager_residency() reports it: a set of bits. */
#define UPAGER_PAGE_RESIDENT 0x01u   /**< owns a frame: its bytes are in
                                          memory */
#define UPAGER_PAGE_REFERENCED 0x02u /**< accessible in the app view: a touch
                                          takes no fault (the Clock hand
                                          clears this, a touch sets it) */
#define UPAGER_PAGE_DIRTY 0x04u      /**< differs from its backing store */
#define UPAGER_PAGE_PINNED 0x08u     /**< pinned by upager_pin() */
#define UPAGER_PAGE_LOCKED 0x10u     /**< being changed: a page-in,
                                          write-back, eviction or protection
                                          change is under way */
#define UPAGER_PAGE_WB_ERROR 0x20u   /**< its last write-back failed (it stays
                                          dirty and is tried again) */
#define UPAGER_PAGE_READAHEAD 0x40u  /**< read ahead of a fault (or by
                                          UPAGER_ADV_WILLNEED), no use seen
                                          yet: a run is made readable but
                                          its last page, whose touch counts
                                          the run as used (readahead_used)
                                          and clears the bit */

/**
 * upager_residency() - the state of each page of a range, like mincore(2)
 * with upager's own page states.
 * @pager:  the pager.
 * @addr:   start; rounded down to a page boundary.
 * @length: bytes, > 0; the range [@addr, @addr + @length) must lie within
 *          one region.
 * @vec:    out: one byte per upager page that holds a byte of the range
 *          (the page of @addr first), so it must have room for
 *          ((@addr % page size) + @length + page size - 1) / page size
 *          bytes.  Each byte is a set of UPAGER_PAGE_* bits; the other bits
 *          are 0.  Untouched on failure.
 *
 * Only reads: it faults nothing in, changes no reference, takes no page
 * lock and waits for no I/O; faults on the range go on meanwhile.  Each
 * byte is one page's state at some instant during the call (one atomic
 * read of the page's flags word), not a snapshot of the range: two bytes
 * may come from different instants, and a page may have changed by the
 * time the call returns.  Invariants of one page hold within its byte
 * (UPAGER_PAGE_REFERENCED, _DIRTY, _PINNED and _READAHEAD imply
 * UPAGER_PAGE_RESIDENT) only while it is not UPAGER_PAGE_LOCKED.
 *
 * Thread safety: any thread; it takes the pager's lock (the region list)
 * and so waits while another API call on the same pager holds it.  Not from
 * a signal handler.
 *
 * Return: 0, or -EINVAL (NULL @pager, @addr or @vec, @length 0, @addr in
 * no region of @pager, or the range passes the end of its region).
 */
UPAGER_API int upager_residency(upager_t *pager, void *addr, size_t length,
                                unsigned char *vec);

/* upager_print_pages() flags */
/** Also list the frame table, frame by frame in runs. */
#define UPAGER_PRINT_FRAMES 0x1u

/**
 * upager_print_pages() - write the page table as text, for debugging.
 * @pager: the pager.
 * @addr:  any byte of a region of @pager: print that region; NULL: every
 *         region of @pager, in address order.
 * @fd:    descriptor to write to (e.g. 2 for stderr).
 * @flags: 0 or UPAGER_PRINT_FRAMES.
 *
 * Per region: a header line, then one line per run of consecutive pages in
 * the same state (first page, last page, count, the state as letters, one
 * column per UPAGER_PAGE_* bit: R resident, A referenced, D dirty, P pinned,
 * L locked, E write-back error, H read ahead, '-' where clear; a run of
 * one resident page also names its frame), then the count of pages with
 * each bit.  A region mostly untouched prints in a few lines whatever its
 * size.  Then the frame table: frames in all, free, in use, and of those
 * referenced, dirty and pinned; the Clock hand's frame; and with
 * UPAGER_PRINT_FRAMES one line per run of free frames or of frames that
 * hold consecutive pages of one region.  The format is for people and may
 * change between versions.
 *
 * Reads pages as upager_residency() does (each page's state at some instant
 * during the call; faults go on meanwhile).  Formats into a buffer on the
 * stack and writes it in chunks with write(2), again after EINTR and short
 * writes; the pager's lock is released around each write, so a slow
 * descriptor holds up no other call.  A region unmapped meanwhile is cut
 * short with a line that says so.  Time: proportional to the pages of the
 * regions printed (and to the frames), allocates nothing.
 *
 * Thread safety: any thread, as upager_residency().  Not from a signal
 * handler.  A write to a pipe whose reader is gone raises SIGPIPE, as any
 * write(2) does.
 *
 * Return: 0, -EINVAL (NULL @pager, @addr in no region of @pager, an unknown
 * flag), or the negative errno of write(2) (-EBADF, -EPIPE, -ENOSPC,
 * -EAGAIN for a full non-blocking descriptor, ...); then the output stops
 * where the write failed.
 */
UPAGER_API int upager_print_pages(upager_t *pager, void *addr, int fd, unsigned flags);

/**
 * upager_config_resolve() - the settings upager_create() would use.
 * @config:   settings, or NULL for all defaults, as for upager_create().
 * @size:     sizeof *@config, as for upager_create().
 * @out:      out: every field filled in (0 fields from the UPAGER_*
 *            environment, read with secure_getenv(3), else the defaults;
 *            readahead is UPAGER_READAHEAD_OFF when off); untouched on
 *            failure.
 * @out_size: sizeof *@out (at least UPAGER_CONFIG_SIZE_VER0); bytes past
 *            the library's struct are set to 0.
 *
 * Use it to learn the page size and memory limit a pager would get before
 * making one (to size buffers, or print them).  A default memory_limit
 * comes from physical memory and the memory cgroup's limit as they are now
 * (see struct upager_config); if that limit changes, a later
 * upager_create() gets the new value.
 *
 * Thread safety: any thread.  Not from a signal handler (reads the
 * environment, and for a default memory_limit /proc/self/cgroup,
 * /proc/self/mountinfo and the cgroup's files, with stdio).  A cgroup
 * file it cannot read or parse counts as no limit; it is no error.
 *
 * Return: 0, or -EINVAL (NULL @out, a size below UPAGER_CONFIG_SIZE_VER0,
 * a setting out of range, an unknown flag, a reserved field not 0, or an
 * unparsable UPAGER_* environment variable), -E2BIG (as for
 * upager_create()).
 */
UPAGER_API int upager_config_resolve(const struct upager_config *config, size_t size,
                                     struct upager_config *out, size_t out_size);

/**
 * upager_page_size() - the page size of a pager, in bytes: that of its
 * regions made without a page_size of their own (struct
 * upager_region_params).
 * @pager: the pager.
 *
 * Thread safety: any thread.  Not from a signal handler.
 *
 * Return: the page size, or 0 if @pager is NULL.
 */
UPAGER_API size_t upager_page_size(upager_t *pager);

/**
 * upager_region_page_size() - the page size of the region holding an
 * address, in bytes.
 * @pager: the pager.
 * @addr:  any address inside a region of @pager (no alignment).
 *
 * Thread safety: any thread.  Not from a signal handler (takes the pager's
 * lock).
 *
 * Return: the region's page size, or 0 if @pager is NULL or @addr lies in
 * no region of @pager.  No error codes.
 */
UPAGER_API size_t upager_region_page_size(upager_t *pager, const void *addr);

/**
 * upager_strerror() - a message for a negative errno returned by upager.
 * @err: 0 or a negative errno.
 *
 * Return: a static string; never NULL.  Thread-safe.
 */
UPAGER_API const char *upager_strerror(int err);

/**
 * upager_handle_fault() - serve a fault on managed memory from a SIGSEGV
 * handler installed after upager's.
 * @addr:     the address touched: the handler's siginfo si_addr.  Any
 *            address (no alignment); NULL and addresses outside every
 *            region are declined.
 * @ucontext: the handler's third argument (a ucontext_t *), or NULL.  upager
 *            reads the access type (read or write) from it; with NULL, a
 *            first store to a non-resident page takes two faults.  If the
 *            page cannot be read, upager queues SIGBUS for the thread and
 *            unblocks SIGBUS in this context's signal mask.
 *
 * A handler installed after upager_create() (with sigaction(2) or
 * signal(2)) replaces upager's, so faults on managed memory reach it
 * first.  It calls this function with every SIGSEGV; if it returns 1 the
 * fault was upager's and has been served: the handler returns at once and
 * the access is retried.  If it returns 0, the fault is not upager's (a
 * real crash, or a write to a read-only mapping), and the handler does
 * what it does with a crash, then chains to the action it replaced
 * (upager's handler, which passes the fault on to whatever was installed
 * before upager, and otherwise lets the process die of SIGSEGV).
 *
 * Thread safety: any thread, from inside its SIGSEGV handler only (that is
 * what it is for); it takes no lock that interrupted code may hold and
 * allocates nothing, and may wait for a page lock or a frame held by
 * another thread, like any fault on managed memory.  Async-signal-safe;
 * errno is left as it was (as upager's own handler leaves the interrupted
 * code's).  Before the first upager_create() it returns 0.
 *
 * Return: 1 if @addr lies in a region of a pager of this process and the
 * fault was served (or SIGBUS queued), 0 if not.  No error codes.
 */
UPAGER_API int upager_handle_fault(void *addr, void *ucontext);

/**
 * upager_version() - the library's version, "MAJOR.MINOR.PATCH".
 *
 * Return: a static string.  Async-signal-safe.
 */
UPAGER_API const char *upager_version(void);

#ifdef __cplusplus
}
#endif

#endif /* UPAGER_H */
