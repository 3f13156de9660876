/*
 * signal.c - the signal entry: libsigsegv's dispatcher and the SIGSEGV
 * handler, the access type of a fault, and registering regions with the
 * dispatcher.
 *
 * SIGNAL CONTEXT: segv_trampoline(), segv_handler() and area_handler() run
 * inside the SIGSEGV handler: they read the dispatcher under the region
 * gate and allocate nothing.  Registration (which calls malloc inside
 * sigsegv_register) runs in API context as a gate writer.
 *
 * Owns: the dispatcher, the trampoline in front of libsigsegv's handler
 * that reads the access type (x86-64 REG_ERR, aarch64 ESR) and the
 * interrupted context, the fork handler, and the signal-safety audit's
 * "inside the handler" flag.
 * Calls: fault.c (through libsigsegv's callback: the one call upward is
 * area_handler, a function pointer the dispatcher holds), region.c,
 * gate.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <signal.h>
#include <sigsegv.h>
#include <stdio.h>
#include <ucontext.h>
#include <unistd.h>

static sigsegv_dispatcher dispatcher;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;

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
	int handled = upager__fault(r, addr, fault_access, fault_context);
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
	upager__regions_atfork_child();
	for (unsigned i = 0; i < UPAGER_MAX_REGIONS; i++) {
		struct upager_region *r = upager__region_get(i);

		if (!r)
			continue;
		sigsegv_unregister(&dispatcher, r->ticket);
		upager__region_publish(i, NULL);
	}
}

static void init_once_fn(void)
{
	long maps = read_max_map_count();

	atomic_store(&upager__pid, getpid());
	pthread_atfork(NULL, NULL, atfork_child);
	upager__region_limits(maps);
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

int upager__signal_init(void)
{
	pthread_once(&init_once, init_once_fn);
	return init_error;
}

static int region_register(struct upager_region *r)
{
	void *ticket;

	upager__gate_write_enter();
	ticket = sigsegv_register(&dispatcher, r->base, r->map_len, area_handler, r);
	if (ticket) {
		r->ticket = ticket;
		upager__region_publish(r->id, r);
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
	rc = upager__region_id_alloc(&r->id);
	if (rc < 0)
		return rc;
	rc = region_register(r);
	if (rc < 0)
		upager__region_id_release(r->id);
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
	upager__region_publish(r->id, NULL);
	upager__gate_write_exit();
	return 0;
}

/* upager__region_reregister() - undo upager__region_unregister(). */
int upager__region_reregister(struct upager_region *r)
{
	return region_register(r);
}
