/*
 * scratch.c - the slots of the scratch file: where an evicted dirty page of
 * a PRIVATE or ANON region goes, allocated the way Linux mm/swapfile.c
 * allocates swap slots.
 *
 * SIGNAL CONTEXT: upager__slot_assign(), upager__slot_offset() and
 * upager__slot_follows() run inside the SIGSEGV handler (eviction, page-in)
 * and on the pager's thread.  They use atomics on preallocated maps only:
 * no malloc, no lock.  upager__slots_init() and upager__slots_free() run in
 * API context (region setup and teardown).
 *
 * Each scratch region has its own range of the scratch file, cut into
 * slots of the region's page size: npages + npages / 4 + 1 of them.  A page
 * has no slot until its first write-back, which takes the page's home
 * slot (slot idx for page idx) if it is free: data written once, as a
 * sequential fill writes it, lies in page order and reads back in long
 * runs.  Each later write-back gives the page a new slot and frees the old
 * one, as swap does: slots are handed out next-fit from a cursor (which
 * starts in the spare slots after the home slots), so one write-back batch
 * of pages from all over the region lands in consecutive slots, and io.c
 * writes it as one request instead of one random write per page: on the
 * disks measured, a request costs about the same whatever its size up to
 * 128 KiB (docs/design.md, "Scratch slots").  The spare quarter keeps free
 * runs long once the cursor wraps around.
 *
 * The old slot is freed when the new one is taken, before the write:
 * the page is locked, resident and dirty, so nothing reads the old copy,
 * and if the write fails the page stays dirty (PG_WB_ERROR) in memory,
 * newer than either slot.  So a page holds one slot at most and a region
 * never needs more slots than pages; the spare quarter is for contiguity
 * alone.
 *
 * A page's slot is kept in r->slots[] as slot + 1 (0: none), written and
 * read under the page lock.  The map has one bit per slot (1: taken),
 * changed with atomic fetch-or and fetch-and.
 *
 * Owns: the slot map and the page-to-slot table of each scratch region,
 * the next-fit cursor, the allocation of the scratch file's blocks.
 * Calls: nothing of upager's (atomics, mmap, fallocate).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <sys/mman.h>

/* Words of a slot map of @n slots. */
static uint64_t slot_words(uint64_t n)
{
	return (n + 63) / 64;
}

/* Spare slots per page of a region: npages >> UPAGER_SLOT_SPARE_SHIFT. */
#define UPAGER_SLOT_SPARE_SHIFT 2
/* Bytes of the scratch file allocated (fallocate) at once. */
#define UPAGER_SLOT_CHUNK_BYTES ((uint64_t)8 << 20)

/* Slots per chunk of @r (a power of two, at least one). */
static uint64_t chunk_slots(const struct upager_region *r)
{
	uint64_t n = UPAGER_SLOT_CHUNK_BYTES >> r->page_shift;
	return n ? n : 1;
}

/* Anonymous zeroed memory of @bytes (rounded up to the system page), not
 * inherited by a forked child; NULL if none. */
static void *map_zeroed(size_t bytes)
{
	void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	madvise(m, bytes, MADV_DONTFORK);
	return m;
}

uint64_t upager__slots_needed(uint64_t npages)
{
	return npages + (npages >> UPAGER_SLOT_SPARE_SHIFT) + 1;
}

/**
 * upager__slots_init() - give scratch region @r its slot map and table.
 * @r: the region; npages set; r->scratch_base set by the caller to the
 *     region's range of upager__slots_needed(npages) slots.
 *
 * API context.  Return: 0, or -ENOMEM (no memory for the maps, or more
 * slots than a 32-bit slot number can name).
 */
int upager__slots_init(struct upager_region *r)
{
	uint64_t n = upager__slots_needed(r->npages);

	if (n >= UINT32_MAX)
		return -ENOMEM;
	r->nslots = n;
	r->slots_bytes = ALIGN_UP(r->npages * sizeof(uint32_t), 4096);
	/* The slot bits, then a bit per chunk (1: allocated). */
	r->slot_map_bytes = ALIGN_UP(8 * (slot_words(n) + n / chunk_slots(r) / 64 + 1), 4096);
	r->slots = map_zeroed(r->slots_bytes);
	r->slot_map = map_zeroed(r->slot_map_bytes);
	if (!r->slots || !r->slot_map) {
		upager__slots_free(r);
		return -ENOMEM;
	}
	r->chunk_map = r->slot_map + slot_words(n);
	if (n % 64) /* the last word's bits past the slots: never free */
		atomic_store(&r->slot_map[n / 64], ~0ull << (n % 64));
	atomic_store(&r->slot_next, r->npages);
	return 0;
}

/* Release @r's slot map and table (API context; nothing uses them). */
void upager__slots_free(struct upager_region *r)
{
	if (r->slots)
		munmap(r->slots, r->slots_bytes);
	if (r->slot_map)
		munmap((void *)r->slot_map, r->slot_map_bytes);
	r->slots = NULL;
	r->slot_map = r->chunk_map = NULL;
	r->nslots = 0;
}

/* Take a free slot at or after the cursor (next fit, wrapping once);
 * -1 if every slot is taken. */
static int64_t slot_take(struct upager_region *r)
{
	uint64_t nw = slot_words(r->nslots);
	uint64_t s = atomic_load_explicit(&r->slot_next, memory_order_relaxed) % r->nslots;
	uint64_t w = s / 64;
	unsigned bit = (unsigned)(s % 64);

	/* Every word once, the first one's bits before the cursor last. */
	for (uint64_t seen = 0; seen <= nw;) {
		_Atomic uint64_t *word = &r->slot_map[w];
		uint64_t free = ~atomic_load_explicit(word, memory_order_relaxed) & (~0ull << bit);

		if (!free) {
			w = (w + 1) % nw;
			bit = 0;
			seen++;
			continue;
		}
		bit = (unsigned)__builtin_ctzll(free);
		if (atomic_fetch_or_explicit(word, 1ull << bit, memory_order_acq_rel) & (1ull << bit))
			continue; /* taken under us: look again */
		s = w * 64 + bit;
		atomic_store_explicit(&r->slot_next, s + 1, memory_order_relaxed);
		return (int64_t)s;
	}
	return -1;
}

/* Take slot @s if free. */
static bool slot_try(struct upager_region *r, uint64_t s)
{
	return !(atomic_fetch_or_explicit(&r->slot_map[s / 64], 1ull << (s % 64),
	                                  memory_order_acq_rel) &
	         (1ull << (s % 64)));
}

static void slot_put(struct upager_region *r, uint64_t s)
{
	atomic_fetch_and_explicit(&r->slot_map[s / 64], ~(1ull << (s % 64)), memory_order_release);
}

/*
 * Allocate the disk blocks of slot @s's chunk the first time a slot there
 * is taken.  A direct write into a hole (or past the end of the file)
 * cannot be done without blocking, so io_uring hands it to an io-wq worker
 * thread, and it takes the inode's lock exclusively, stalling the page-ins
 * that read the same file meanwhile; a write into allocated blocks does
 * neither.  Blocks are allocated a chunk at a time, as the slots reach
 * them, so a large region that is little written takes little disk.
 * Only for direct I/O: a scratch file without it is one whose file system
 * refused O_DIRECT (tmpfs before Linux 6.6), where blocks would be memory.
 * fallocate(2) is a system call: async-signal-safe.  If it fails (a full
 * disk), the write allocates for itself, or fails and is retried.
 */
static void chunk_allocate(struct upager_region *r, uint64_t s)
{
	uint64_t c = s / chunk_slots(r), bit = 1ull << (c % 64);
	uint64_t first = c * chunk_slots(r), n = chunk_slots(r);

	if (r->scratch_direct_fd < 0 ||
	    (atomic_load_explicit(&r->chunk_map[c / 64], memory_order_relaxed) & bit))
		return;
	if (atomic_fetch_or_explicit(&r->chunk_map[c / 64], bit, memory_order_relaxed) & bit)
		return;
	if (n > r->nslots - first) /* the last chunk ends with the slots */
		n = r->nslots - first;
	fallocate(r->scratch_fd, 0, r->scratch_base + (off_t)(first << r->page_shift),
	          (off_t)(n << r->page_shift));
}

/**
 * upager__slot_assign() - give locked page @idx of @r a new slot for its
 * write-back, freeing the one it had.
 *
 * Return: the slot's offset in the scratch file (bytes), or -ENOSPC if
 * every slot is taken (it cannot be: a page holds one slot at most, and
 * there are more slots than pages), in which case the page has none.
 */
off_t upager__slot_assign(struct upager_region *r, uint64_t idx)
{
	int64_t s;

	if (r->slots[idx]) {
		slot_put(r, r->slots[idx] - 1);
		r->slots[idx] = 0;
		s = slot_take(r);
	} else {
		s = slot_try(r, idx) ? (int64_t)idx : slot_take(r);
	}
	if (s < 0)
		return -ENOSPC;
	chunk_allocate(r, (uint64_t)s);
	r->slots[idx] = (uint32_t)s + 1;
	return r->scratch_base + (off_t)((uint64_t)s << r->page_shift);
}

/**
 * upager__slot_offset() - the scratch file offset (bytes) of locked page
 * @idx of @r, which has a slot (PG_BACKED).
 */
off_t upager__slot_offset(const struct upager_region *r, uint64_t idx)
{
	return r->scratch_base + (off_t)((uint64_t)(r->slots[idx] - 1) << r->page_shift);
}

/**
 * upager__slot_follows() - whether page @b of @r sits in the slot right
 * after page @a's (both locked, both with slots): one read serves both.
 */
bool upager__slot_follows(const struct upager_region *r, uint64_t a, uint64_t b)
{
	return r->slots[a] && r->slots[b] == r->slots[a] + (b - a);
}
