/*
 * region.c - the process-wide region table: region ids, the region of an
 * id, an address or a range, the VMA budget, and freeing a region's
 * mappings.
 *
 * SIGNAL CONTEXT: upager__region_get() runs inside the SIGSEGV handler
 * (an atomic load).  The rest runs in API context.
 *
 * Owns: the table (id -> region), the ids, vm.max_map_count's budgets, the
 * pid that owns the pagers (pager_ok()).
 * Calls: nothing of upager's (system calls and the C library only).
 * Registering a region with libsigsegv's dispatcher is signal.c's.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Region table: slot i holds the region with id i while it is registered. */
static struct upager_region *_Atomic region_table[UPAGER_MAX_REGIONS];
/* Slots taken (registered or being torn down); under ids_lock. */
static uint8_t id_used[UPAGER_MAX_REGIONS];
static unsigned id_count, id_hint;
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;

_Atomic pid_t upager__pid;

static uint64_t vma_budget = 16382; /* mprotect.c's units, process-wide */
static unsigned region_cap = 8191;









/*
 * upager__region_limits() - set the budgets from vm.max_map_count.  Each
 * region costs at most 3 VMAs at rest (app view, descriptors, chunk
 * table), and what splits its app view (accessible pages of legacy
 * chunks, runs of read-write pages of armed ones: mprotect.c) at most 2
 * each, whatever the region's page size (a VMA is a run of pages, of any
 * bytes).  Budgets of max/4 of those and
 * max/8 regions (at most UPAGER_MAX_REGIONS) keep upager under
 * 2 * max/4 + 3 * max/8 = 7/8 of the limit, leaving the rest to the
 * application.
 */
void upager__region_limits(long max_map_count)
{
	vma_budget = (uint64_t)max_map_count / 4;
	region_cap = (unsigned)(max_map_count / 8);
	if (region_cap > UPAGER_MAX_REGIONS)
		region_cap = UPAGER_MAX_REGIONS;
}

/* upager__region_publish() - make @r (NULL: none) the region of slot @id
 * for upager__region_get(). */
void upager__region_publish(uint32_t id, struct upager_region *r)
{
	atomic_store_explicit(&region_table[id], r, memory_order_release);
}

/* In a forked child (signal.c's atfork handler): the id lock may have been
 * held by a thread that is gone. */
void upager__regions_atfork_child(void)
{
	pthread_mutex_init(&ids_lock, NULL);
}

uint64_t upager__vma_budget(void)
{
	return vma_budget;
}

struct upager_region *upager__region_get(uint32_t id)
{
	if (id >= UPAGER_MAX_REGIONS)
		return NULL;
	return atomic_load_explicit(&region_table[id], memory_order_acquire);
}

/* The region of @p that contains @addr (API context, pager lock held). */
struct upager_region *upager__region_find(struct upager *p, const void *addr)
{
	for (struct upager_region *r = p->regions; r; r = r->next)
		if ((const char *)addr >= r->base && (const char *)addr < r->base + r->map_len)
			return r;
	return NULL;
}

/**
 * upager__region_range() - the pages of one region that a range of bytes
 * covers (API context, pager lock held).
 * @p:          the pager.
 * @addr:       start of the range: any byte of a region of @p (rounded down
 *              to its page).
 * @length:     bytes; 0 means the whole region when @zero_whole, else is
 *              invalid.
 * @zero_whole: see @length.
 * @first:      out: the first page of the range.
 * @last:       out: its last page, inclusive.
 *
 * Return: the region, or NULL if @addr is in no region of @p, @length is 0
 * without @zero_whole, or the range passes the end of the region.
 */
struct upager_region *upager__region_range(struct upager *p, const void *addr, size_t length,
                                           bool zero_whole, uint64_t *first, uint64_t *last)
{
	struct upager_region *r = upager__region_find(p, addr);
	uintptr_t off;

	if (!r)
		return NULL;
	if (length == 0) {
		if (!zero_whole)
			return NULL;
		*first = 0;
		*last = r->npages - 1;
		return r;
	}
	off = (uintptr_t)addr - (uintptr_t)r->base;
	if (length > r->map_len - off)
		return NULL;
	*first = off >> r->page_shift;
	*last = (off + length - 1) >> r->page_shift;
	return r;
}

int upager__region_id_alloc(uint32_t *id)
{
	int rc = -ENOMEM;

	pthread_mutex_lock(&ids_lock);
	if (id_count < region_cap) {
		for (unsigned k = 0; k < UPAGER_MAX_REGIONS; k++) {
			unsigned i = (id_hint + k) % UPAGER_MAX_REGIONS;
			if (!id_used[i]) {
				id_used[i] = 1;
				id_count++;
				id_hint = i + 1;
				*id = i;
				rc = 0;
				break;
			}
		}
	}
	pthread_mutex_unlock(&ids_lock);
	return rc;
}

void upager__region_id_release(uint32_t id)
{
	pthread_mutex_lock(&ids_lock);
	id_used[id] = 0;
	id_count--;
	pthread_mutex_unlock(&ids_lock);
}





/**
 * upager__region_free() - release @r's mappings, descriptors and id.  @r
 * must be unregistered and own no frames.
 */
void upager__region_free(struct upager_region *r)
{
	if (r->base)
		munmap(r->base, r->map_len);
	if (r->pages)
		munmap(r->pages, r->pages_bytes);
	if (r->chunks)
		munmap((void *)r->chunks, r->chunks_bytes);
	if (r->fd >= 0)
		close(r->fd);
	if (r->direct_fd >= 0)
		close(r->direct_fd);
	if (r->id != UINT32_MAX)
		upager__region_id_release(r->id);
	free(r);
}
