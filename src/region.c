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
#include <signal.h>
#include <ucontext.h>
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

_Atomic pid_t upager__pid;

static uint64_t vma_budget = 16382; /* accessible pages, process-wide */
static unsigned region_cap = 8191;

/*
 * The access type of the fault being handled on this thread, read from the
 * signal context by segv_trampoline() before libsigsegv's handler runs
 * (libsigsegv passes only the address).  FAULT_UNKNOWN where the
 * architecture's context does not say.
 */
static __thread int fault_access __attribute__((tls_model("initial-exec")));
static __thread ucontext_t *fault_context __attribute__((tls_model("initial-exec")));
static struct sigaction libsigsegv_action;
/* Faults being served on this thread (for the signal-safety audit). */
static __thread unsigned fault_depth __attribute__((tls_model("initial-exec")));

int upager__in_fault(void)
{
	return fault_depth > 0;
}

int upager__fault_access(void)
{
	return fault_access;
}

ucontext_t *upager__fault_context(void)
{
	return fault_context;
}

static void segv_trampoline(int sig, siginfo_t *si, void *ctx)
{
	int saved = fault_access;
	ucontext_t *saved_ctx = fault_context;

	fault_context = ctx;

#if defined(__x86_64__)
	/* The page-fault error code: bit 1 is set for a write. */
	const ucontext_t *uc = ctx;
	fault_access = (uc->uc_mcontext.gregs[REG_ERR] & 2) ? FAULT_WRITE : FAULT_READ;
#elif defined(__aarch64__)
	/* The ESR record among the context's extensions: data abort (EC
	 * 0x24/0x25) with WnR (bit 6) set for a write. */
	const ucontext_t *uc = ctx;
	const struct _aarch64_ctx *h = (const void *)uc->uc_mcontext.__reserved;
	fault_access = FAULT_UNKNOWN;
	while (h->magic && h->size) {
		if (h->magic == 0x45535201 /* ESR_MAGIC */) {
			uint64_t esr = ((const uint64_t *)(h + 1))[0];
			uint64_t ec = esr >> 26;
			if (ec == 0x24 || ec == 0x25)
				fault_access = (esr & (1u << 6)) ? FAULT_WRITE : FAULT_READ;
			break;
		}
		h = (const void *)((const char *)h + h->size);
	}
#else
	fault_access = FAULT_UNKNOWN;
#endif
	libsigsegv_action.sa_sigaction(sig, si, ctx);
	fault_access = saved;
	fault_context = saved_ctx;
}

static int area_handler(void *addr, void *arg)
{
	struct upager_region *r = arg;

	/* In a forked child the region's mappings are gone (MADV_DONTFORK):
	 * a touch there is a real fault. */
	if (!pager_ok(r->pager))
		return 0;
	fault_depth++;
	int handled = upager__fault(r, addr);
	fault_depth--;
	return handled;
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

/*
 * In a forked child: the parent's regions are not mapped here
 * (MADV_DONTFORK), and the child's own regions may be placed at the same
 * addresses, so they must leave the dispatcher; the other threads are gone,
 * so nobody holds the gate or the locks.  (glibc's malloc is usable in the
 * child of fork; sigsegv_unregister frees.)
 */
static void atfork_child(void)
{
	atomic_store(&upager__pid, getpid());
	upager__gate_reset();
	pthread_mutex_init(&ids_lock, NULL);
	for (unsigned i = 0; i < UPAGER_MAX_REGIONS; i++) {
		struct upager_region *r = atomic_load(&region_table[i]);

		if (!r)
			continue;
		sigsegv_unregister(&dispatcher, r->ticket);
		atomic_store(&region_table[i], NULL);
	}
}

static void init_once_fn(void)
{
	long maps = read_max_map_count();

	atomic_store(&upager__pid, getpid());
	pthread_atfork(NULL, NULL, atfork_child);
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
	if (sigsegv_install_handler(segv_handler) < 0) {
		init_error = -ENOTSUP;
		return;
	}
	/*
	 * Put a trampoline in front of libsigsegv's handler that records
	 * the access type; libsigsegv still does the dispatching (and, when
	 * a fault is declined, resets SIGSEGV to its default, trampoline
	 * included).  Without SA_SIGINFO there is no context to read.
	 */
	if (sigaction(SIGSEGV, NULL, &libsigsegv_action) == 0 &&
	    (libsigsegv_action.sa_flags & SA_SIGINFO) && libsigsegv_action.sa_sigaction) {
		struct sigaction sa = libsigsegv_action;
		sa.sa_sigaction = segv_trampoline;
		sigaction(SIGSEGV, &sa, NULL);
	}
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
