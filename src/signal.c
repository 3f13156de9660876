/*
 * signal.c - the signal entry: libsigsegv's dispatcher and the SIGSEGV
 * handler, the access type of a fault, registering regions with the
 * dispatcher, and the handler that was installed before upager's.
 *
 * SIGNAL CONTEXT: segv_trampoline(), segv_handler(), area_handler(),
 * chain_previous() and upager_handle_fault() run inside a SIGSEGV handler:
 * they read the dispatcher under the region gate, allocate nothing, take no
 * lock that interrupted code may hold, and use only static memory written
 * before the handler was installed (the saved sigaction) and thread-local
 * words.  Registration (which calls malloc inside sigsegv_register) runs in
 * API context as a gate writer.
 *
 * Chaining: the SIGSEGV action that was installed before upager's (a crash
 * reporter's, a runtime's) is saved once, before libsigsegv installs its
 * handler.  libsigsegv asks its handler twice about a fault it will not
 * serve: once with serious = 0, then, after its stack-overflow handler had
 * its chance, with serious = 1; only if that second call declines too does
 * it reset SIGSEGV to SIG_DFL (libsigsegv, src/handler-unix.c,
 * sigsegv_handler()).  So segv_handler() calls the saved handler at that
 * final decline, outside the region gate, the way the kernel would have
 * (see chain_previous()); for SIG_DFL and SIG_IGN it declines, and
 * libsigsegv's reset lets the retried access kill the process with SIGSEGV
 * as before.  upager_handle_fault() is the way back in for a handler
 * installed after upager's.
 *
 * Owns: the dispatcher, the trampoline in front of libsigsegv's handler
 * that reads the access type (x86-64 REG_ERR, aarch64 ESR) and the
 * interrupted context, the saved previous SIGSEGV action and the call to
 * it, upager_handle_fault(), the fork handler, and the signal-safety
 * audit's "inside the handler" flag.
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
/* Set once the dispatcher is ready and the handler installed. */
static atomic_bool initialized;

/*
 * The fault being handled on this thread, recorded by segv_trampoline()
 * before libsigsegv's handler runs (libsigsegv passes only the address):
 * its access type (FAULT_UNKNOWN where the architecture's context does not
 * say), the interrupted context and the signal's siginfo (NULL when the
 * fault came through upager_handle_fault()).
 */
static __thread int fault_access __attribute__((tls_model("initial-exec")));
static __thread ucontext_t *fault_context __attribute__((tls_model("initial-exec")));
static __thread siginfo_t *fault_info __attribute__((tls_model("initial-exec")));
static struct sigaction libsigsegv_action;
/* Faults being served on this thread (for the signal-safety audit). */
static __thread unsigned fault_depth __attribute__((tls_model("initial-exec")));

/*
 * The SIGSEGV action installed before upager's, read once in
 * init_once_fn() before libsigsegv installs its handler and never written
 * again.  prev_spent: a one-shot (SA_RESETHAND) previous handler has been
 * called, so it now counts as SIG_DFL, as the kernel would have reset it.
 */
static struct sigaction prev_action;
static atomic_bool prev_spent;

int upager__in_fault(void)
{
	return fault_depth > 0;
}

/* The access type of the fault whose interrupted context is @ctx. */
static int access_of(const void *ctx)
{
	if (!ctx)
		return FAULT_UNKNOWN;
#if defined(__x86_64__)
	/* The page-fault error code: bit 1 is set for a write. */
	const ucontext_t *uc = ctx;
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) ? FAULT_WRITE : FAULT_READ;
#elif defined(__aarch64__)
	/* The ESR record among the context's extensions: data abort (EC
	 * 0x24/0x25) with WnR (bit 6) set for a write. */
	const ucontext_t *uc = ctx;
	const struct _aarch64_ctx *h = (const void *)uc->uc_mcontext.__reserved;
	while (h->magic && h->size) {
		if (h->magic == 0x45535201 /* ESR_MAGIC */) {
			uint64_t esr = ((const uint64_t *)(h + 1))[0];
			uint64_t ec = esr >> 26;
			if (ec == 0x24 || ec == 0x25)
				return (esr & (1u << 6)) ? FAULT_WRITE : FAULT_READ;
			break;
		}
		h = (const void *)((const char *)h + h->size);
	}
	return FAULT_UNKNOWN;
#else
	return FAULT_UNKNOWN;
#endif
}

static void segv_trampoline(int sig, siginfo_t *si, void *ctx)
{
	int saved = fault_access;
	ucontext_t *saved_ctx = fault_context;
	siginfo_t *saved_info = fault_info;
	int saved_errno = errno; /* the interrupted code's: a system call on
	                            the fault path may fail and set it */

	fault_context = ctx;
	fault_info = si;
	fault_access = access_of(ctx);
	libsigsegv_action.sa_sigaction(sig, si, ctx);
	fault_access = saved;
	fault_context = saved_ctx;
	fault_info = saved_info;
	errno = saved_errno;
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

/* Serve a fault at @addr if it lies in a region: 1 if served, else 0. */
static int dispatch(void *addr)
{
	int handled;

	upager__gate_read_enter();
	handled = sigsegv_dispatch(&dispatcher, addr);
	upager__gate_read_exit();
	return handled;
}

/*
 * chain_previous() - hand a fault upager declined to the SIGSEGV action
 * that was installed before upager's, as the kernel would have delivered
 * it: an SA_SIGINFO handler gets the signal's siginfo and the interrupted
 * context (whose changes, to registers or to uc_sigmask, take effect when
 * the handler returns), a plain handler the signal number; the handler runs
 * with the interrupted thread's mask plus its sa_mask, plus SIGSEGV unless
 * SA_NODEFER; an SA_RESETHAND handler is called once.  Not emulated: the
 * switch to the alternate stack (SA_ONSTACK); the handler runs on the stack
 * upager's handler runs on.
 *
 * Return: 1 if the previous handler was called and returned (the access is
 * retried, as after any handler); 0 if the previous action is SIG_DFL,
 * SIG_IGN (for a fault the kernel does not honour SIG_IGN either) or
 * libsigsegv's own handler, or if the fault did not come through the
 * trampoline (no siginfo): libsigsegv then resets SIGSEGV to SIG_DFL, and
 * the retried access kills the process with SIGSEGV.  A previous handler
 * that does not return (exits, siglongjmps) is fine: upager holds nothing
 * by then (the region gate was left in dispatch()).
 */
static int chain_previous(void)
{
	const struct sigaction *pa = &prev_action;
	siginfo_t *si = fault_info;
	ucontext_t *uc = fault_context;
	sigset_t mask, old;

	if (!si || !uc || pa->sa_handler == SIG_DFL || pa->sa_handler == SIG_IGN)
		return 0;
	/* libsigsegv's handler is one per process: if the program used
	 * libsigsegv before (its stack-overflow handler, say), the previous
	 * action is that same handler, which has done its part by now;
	 * calling it again would recurse.  (With si set, the trampoline is
	 * installed, so libsigsegv_action was written before.) */
	if ((pa->sa_flags & SA_SIGINFO) && pa->sa_sigaction == libsigsegv_action.sa_sigaction)
		return 0;
	if ((pa->sa_flags & SA_RESETHAND) && atomic_exchange(&prev_spent, true))
		return 0;
	mask = uc->uc_sigmask;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&pa->sa_mask, sig) == 1)
			sigaddset(&mask, sig);
	if (pa->sa_flags & SA_NODEFER)
		sigdelset(&mask, SIGSEGV);
	else
		sigaddset(&mask, SIGSEGV);
	pthread_sigmask(SIG_SETMASK, &mask, &old);
	if (pa->sa_flags & SA_SIGINFO)
		pa->sa_sigaction(SIGSEGV, si, uc);
	else
		pa->sa_handler(SIGSEGV);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 1;
}

static int segv_handler(void *addr, int serious)
{
	if (dispatch(addr))
		return 1;
	/* libsigsegv's final question (after its stack-overflow handler):
	 * declining now resets SIGSEGV to SIG_DFL. */
	return serious ? chain_previous() : 0;
}

/**
 * upager_handle_fault() - serve a fault on managed memory for a SIGSEGV
 * handler installed after upager's (see upager.h).
 *
 * SIGNAL CONTEXT: called from the application's SIGSEGV handler.
 */
int upager_handle_fault(void *addr, void *ucontext)
{
	int saved = fault_access;
	ucontext_t *saved_ctx = fault_context;
	siginfo_t *saved_info = fault_info;
	int saved_errno = errno;
	int handled;

	if (!atomic_load_explicit(&initialized, memory_order_acquire))
		return 0;
	fault_access = access_of(ucontext);
	fault_context = ucontext;
	fault_info = NULL;
	handled = dispatch(addr);
	fault_access = saved;
	fault_context = saved_ctx;
	fault_info = saved_info;
	errno = saved_errno;
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
	/* The action upager's handler replaces, for chain_previous(). */
	if (sigaction(SIGSEGV, NULL, &prev_action) < 0)
		prev_action.sa_handler = SIG_DFL;
	if (sigsegv_install_handler(segv_handler) < 0) {
		init_error = -ENOTSUP;
		return;
	}
	/*
	 * Put a trampoline in front of libsigsegv's handler that records
	 * the access type, the context and the siginfo; libsigsegv still
	 * does the dispatching (and, when a fault is declined for good,
	 * resets SIGSEGV to its default, trampoline included).  Without
	 * SA_SIGINFO there is no context to read, and a declined fault is
	 * not chained.
	 */
	if (sigaction(SIGSEGV, NULL, &libsigsegv_action) == 0 &&
	    (libsigsegv_action.sa_flags & SA_SIGINFO) && libsigsegv_action.sa_sigaction) {
		struct sigaction sa = libsigsegv_action;
		sa.sa_sigaction = segv_trampoline;
		sigaction(SIGSEGV, &sa, NULL);
	}
	atomic_store_explicit(&initialized, true, memory_order_release);
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
