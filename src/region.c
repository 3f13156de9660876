/*
 * region.c - the process-wide region table, the SIGSEGV handler and its
 * libsigsegv dispatcher, and the VMA budget.
 *
 * SIGNAL CONTEXT: segv_handler(), area_handler() and upager__region_get()
 * run inside the SIGSEGV handler: they read the table and the dispatcher
 * under the region gate and allocate nothing.  Registration (which calls
 * malloc inside sigsegv_register) runs in API context as a gate writer.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <sigsegv.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static sigsegv_dispatcher dispatcher;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;

/* Region table: slot i holds the region with id i while it is registered. */
static struct upager_region *_Atomic region_table[UPAGER_MAX_REGIONS];
/* Slots taken (registered or being torn down); under ids_lock. */
static uint8_t id_used[UPAGER_MAX_REGIONS];
static unsigned id_count, id_hint;
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t vma_budget = 16382; /* accessible pages, process-wide */
static unsigned region_cap = 8191;

static int area_handler(void *addr, void *arg)
{
	return upager__fault(arg, addr);
}

static int segv_handler(void *addr, int serious)
{
	int handled;

	(void)serious;
	upager__gate_read_enter();
	handled = sigsegv_dispatch(&dispatcher, addr);
	upager__gate_read_exit();
	return handled;
}

/* vm.max_map_count, or the kernel's default if it cannot be read. */
static long read_max_map_count(void)
{
	long v = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1 || v < 1024)
			v = 65530;
		fclose(f);
	}
	return v;
}

static void init_once_fn(void)
{
	long maps = read_max_map_count();

	/*
	 * Each region costs 3 VMAs at rest (app view, alias, descriptors),
	 * and its accessible pages at most 2 each.  Budgets of max/4
	 * accessible pages and max/8 regions keep upager under
	 * 2 * max/4 + 3 * max/8 = 7/8 of the limit, leaving the rest to the
	 * application.
	 */
	vma_budget = (uint64_t)maps / 4;
	region_cap = (unsigned)(maps / 8);
	if (region_cap > UPAGER_MAX_REGIONS)
		region_cap = UPAGER_MAX_REGIONS;
	sigsegv_init(&dispatcher);
	if (sigsegv_install_handler(segv_handler) < 0)
		init_error = -ENOTSUP;
}

int upager__regions_init(void)
{
	pthread_once(&init_once, init_once_fn);
	return init_error;
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

static int id_alloc(uint32_t *id)
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

static void id_release(uint32_t id)
{
	pthread_mutex_lock(&ids_lock);
	id_used[id] = 0;
	id_count--;
	pthread_mutex_unlock(&ids_lock);
}

static int region_register(struct upager_region *r)
{
	void *ticket;

	upager__gate_write_enter();
	ticket = sigsegv_register(&dispatcher, r->base, r->map_len, area_handler, r);
	if (ticket) {
		r->ticket = ticket;
		atomic_store_explicit(&region_table[r->id], r, memory_order_release);
	}
	upager__gate_write_exit();
	return ticket ? 0 : -ENOMEM;
}

/**
 * upager__region_create() - give @r an id and register its app view with
 * the dispatcher, after which faults on it are served.
 *
 * Return: 0 or -ENOMEM (region table full, or the dispatcher's allocation).
 */
int upager__region_create(struct upager *p, struct upager_region *r)
{
	int rc;

	(void)p;
	rc = id_alloc(&r->id);
	if (rc < 0)
		return rc;
	rc = region_register(r);
	if (rc < 0)
		id_release(r->id);
	return rc;
}

/**
 * upager__region_unregister() - stop serving faults on @r.  When it returns
 * no fault handler or Clock sweep uses @r, and none can start to.
 */
int upager__region_unregister(struct upager_region *r)
{
	upager__gate_write_enter();
	sigsegv_unregister(&dispatcher, r->ticket);
	r->ticket = NULL;
	atomic_store_explicit(&region_table[r->id], NULL, memory_order_release);
	upager__gate_write_exit();
	return 0;
}

/* upager__region_reregister() - undo upager__region_unregister(). */
int upager__region_reregister(struct upager_region *r)
{
	return region_register(r);
}

/**
 * upager__region_free() - release @r's mappings, descriptors and id.  @r
 * must be unregistered and own no frames.
 */
void upager__region_free(struct upager_region *r)
{
	if (r->base)
		munmap(r->base, r->map_len);
	if (r->alias)
		munmap(r->alias, r->map_len);
	if (r->pages)
		munmap(r->pages, r->pages_bytes);
	if (r->fd >= 0)
		close(r->fd);
	if (r->direct_fd >= 0)
		close(r->direct_fd);
	if (r->id != UINT32_MAX)
		id_release(r->id);
	free(r);
}
