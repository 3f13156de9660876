/*
 * test_sigchain.c - upager shares SIGSEGV with other handlers: a handler
 * installed before upager_create() (a crash reporter, a runtime) gets every
 * fault upager declines, as the kernel would have delivered it, and one
 * installed after (chaining to the action it replaced) gets the faults that
 * upager_handle_fault() declines.  Meanwhile managed memory works in the
 * same process, and a fault served through upager_handle_fault() leaves
 * the handler's errno as it was.
 *
 * Each scenario runs in a forked child that sets up its handlers, makes its
 * own pager (the parent never makes one, so each child's upager saves the
 * child's own previous action), maps a file larger than the memory limit,
 * reads every page twice (the second pass after eviction) and checks each
 * byte against the pattern the file was written with, and reports that
 * through a pipe.  Then it makes a bad access (a NULL dereference, or a
 * write to a read-only mapping); the handlers report what they saw through
 * the same pipe, and the parent checks the messages and how the child
 * ended (waitpid status).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define SEED 0x51c4a1ull
#define PS 4096
#define NPAGES 32      /* the file */
#define LIMIT_PAGES 8  /* the memory limit: the second pass faults again */

/* Exit statuses of a child. */
enum {
	C_OK = 0,
	C_SETUP = 10,    /* a setup call failed */
	C_PATTERN = 11,  /* managed memory had wrong bytes */
	C_SURVIVED = 12, /* the bad access did not stop the child */
	C_AGAIN = 13,    /* a one-shot handler was called twice */
	C_ERRNO = 14,    /* upager_handle_fault() changed errno */
	C_REPORTED = 42, /* a plain handler's _exit after its report */
	C_SKIP = 77,
};

enum {
	K_DEFAULT,      /* SIG_DFL before upager; NULL read */
	K_IGNORED,      /* SIG_IGN before upager; NULL read */
	K_BEFORE_INFO,  /* SA_SIGINFO reporter before upager; NULL write */
	K_BEFORE_PLAIN, /* sa_handler reporter before upager; NULL read */
	K_BEFORE_RO,    /* SA_SIGINFO reporter before; write to a PROT_READ map */
	K_RESETHAND,    /* SA_SIGINFO | SA_RESETHAND reporter that returns */
	K_RECOVER,      /* a runtime's handler that siglongjmps out, twice */
	K_AFTER,        /* reporter after upager, chaining to upager's */
	K_BOTH,         /* plain reporter before, SA_SIGINFO reporter after */
	K_NKINDS
};

static const char *const kind_name[K_NKINDS] = {
	"SIG_DFL before upager, NULL read",
	"SIG_IGN before upager, NULL read",
	"SA_SIGINFO handler before upager, NULL write",
	"plain handler before upager, NULL read",
	"SA_SIGINFO handler before upager, write to a PROT_READ mapping",
	"SA_RESETHAND handler before upager that returns, NULL read",
	"handler before upager that siglongjmps out, twice",
	"handler after upager that chains to upager's, NULL read",
	"plain handler before and SA_SIGINFO handler after upager, NULL read",
};

/*
 * One message through the pipe:
 *   'V' the managed memory pass: a = 1 if every byte matched, b = the
 *       before-handler's calls so far, c = faults the after-handler passed
 *       to upager_handle_fault() and it served, d = pgfault of the pager;
 *   'R' about to make the bad access at addr;
 *   'B' the handler installed before upager ran: addr = si_addr (SA_SIGINFO
 *       only), a = si_signo, b = the signals blocked in it (bit 0 SIGUSR1,
 *       bit 1 SIGSEGV, bit 2 SIGUSR2), c = 1 if it had a context;
 *   'A' the handler installed after upager declined a fault: addr = si_addr.
 */
struct msg {
	int tag;
	long a, b, c, d;
	uintptr_t addr;
};

/* Hidden from the optimiser, so the NULL dereference is a real access. */
static unsigned char *volatile g_null;

/* The child's state, read by its handlers. */
static int g_pipe = -1;
static volatile sig_atomic_t g_before_calls;
static volatile long g_after_served;
static volatile long g_after_errno; /* served faults that changed errno */
static struct sigaction g_after_old; /* what the after-handler replaced */
static sigjmp_buf g_recover;

static void send_msg(int tag, long a, long b, long c, long d, const volatile void *addr)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.tag = tag;
	m.a = a;
	m.b = b;
	m.c = c;
	m.d = d;
	m.addr = (uintptr_t)addr;
	if (write(g_pipe, &m, sizeof(m)) != sizeof(m))
		_exit(C_SETUP);
}

static long blocked_bits(void)
{
	sigset_t cur;

	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	return (sigismember(&cur, SIGUSR1) == 1 ? 1 : 0) |
	       (sigismember(&cur, SIGSEGV) == 1 ? 2 : 0) |
	       (sigismember(&cur, SIGUSR2) == 1 ? 4 : 0);
}

/* A crash reporter: report, restore the default action and return, so the
 * access faults again and the process dies of SIGSEGV. */
static void before_info(int sig, siginfo_t *si, void *ctx)
{
	g_before_calls++;
	send_msg('B', sig == SIGSEGV ? si->si_signo : -1, blocked_bits(), ctx != NULL, 0,
	         si->si_addr);
	signal(SIGSEGV, SIG_DFL);
}

/* A plain crash reporter: report and exit with a known status. */
static void before_plain(int sig)
{
	g_before_calls++;
	send_msg('B', sig, blocked_bits(), 0, 0, NULL);
	_exit(C_REPORTED);
}

/* A one-shot reporter that returns without changing anything: the kernel
 * resets the action before calling it, so the retried access kills. */
static void before_oneshot(int sig, siginfo_t *si, void *ctx)
{
	if (++g_before_calls > 1)
		_exit(C_AGAIN);
	send_msg('B', si->si_signo, blocked_bits(), ctx != NULL, 0, si->si_addr);
}

/* A runtime that recovers from the fault by leaving the faulting code. */
static void before_recover(int sig, siginfo_t *si, void *ctx)
{
	g_before_calls++;
	send_msg('B', si->si_signo, blocked_bits(), ctx != NULL, 0, si->si_addr);
	siglongjmp(g_recover, 1);
}

/* A crash reporter installed after upager: faults upager serves are not
 * crashes; others are reported, then go to the action it replaced. */
static void after_info(int sig, siginfo_t *si, void *ctx)
{
	/* errno is the interrupted code's: a served fault leaves it be. */
	errno = 4000 + (int)(g_after_served % 64);
	if (upager_handle_fault(si->si_addr, ctx)) {
		if (errno != 4000 + (int)(g_after_served % 64))
			g_after_errno++;
		g_after_served++;
		return;
	}
	send_msg('A', si->si_signo, 0, 0, 0, si->si_addr);
	if (g_after_old.sa_flags & SA_SIGINFO) {
		g_after_old.sa_sigaction(sig, si, ctx);
	} else if (g_after_old.sa_handler != SIG_DFL && g_after_old.sa_handler != SIG_IGN) {
		g_after_old.sa_handler(sig);
	} else {
		signal(SIGSEGV, SIG_DFL);
	}
}

static int install(void (*info)(int, siginfo_t *, void *), void (*plain)(int), int extra,
                   struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	if (info) {
		sa.sa_sigaction = info;
		sa.sa_flags = SA_SIGINFO | extra;
	} else {
		sa.sa_handler = plain;
		sa.sa_flags = extra;
	}
	return sigaction(SIGSEGV, &sa, old);
}

/* Read every page of @m twice (the memory limit forces eviction between
 * the passes), checking each byte against the file's pattern. */
static int managed_pass(const volatile unsigned char *m)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < (size_t)NPAGES * PS; i++)
			if (m[i] != t_pattern(SEED, i))
				return 0;
	return 1;
}

struct child_arg {
	int kind;
	int fd; /* the file, made by the parent (which removes it at exit) */
};

static int child(void *arg)
{
	const struct child_arg *ca = arg;
	int kind = ca->kind;
	struct upager_config c = t_config(PS, LIMIT_PAGES * PS);
	struct upager_stats st;
	upager_t *p = NULL;
	int ro = kind == K_BEFORE_RO;
	int r = 0;

	/* The child starts from the default action, whatever the test
	 * program's environment (a sanitizer, say) installed. */
	signal(SIGSEGV, SIG_DFL);
	switch (kind) {
	case K_IGNORED:
		signal(SIGSEGV, SIG_IGN);
		break;
	case K_BEFORE_INFO:
	case K_BEFORE_RO:
		r = install(before_info, NULL, 0, NULL);
		break;
	case K_BEFORE_PLAIN:
	case K_BOTH:
		r = install(NULL, before_plain, 0, NULL);
		break;
	case K_RESETHAND:
		r = install(before_oneshot, NULL, SA_RESETHAND, NULL);
		break;
	case K_RECOVER:
		r = install(before_recover, NULL, 0, NULL);
		break;
	default:
		break;
	}
	if (r)
		return C_SETUP;

	r = upager_create(&p, &c, sizeof(c));
	if ((r == -ENOSYS || r == -EPERM) && !t_io_uring_works())
		return C_SKIP;
	if (r)
		return C_SETUP;
	if ((kind == K_AFTER || kind == K_BOTH) && install(after_info, NULL, 0, &g_after_old))
		return C_SETUP;
	volatile unsigned char *m = upager_map(p, ca->fd, 0, (size_t)NPAGES * PS,
	                                       ro ? PROT_READ : PROT_READ | PROT_WRITE,
	                                       UPAGER_SHARED);
	if (!m)
		return C_SETUP;
	/* no read-ahead: each page's first touch is a fault of its own */
	if (upager_advise(p, (void *)m, (size_t)NPAGES * PS, UPAGER_ADV_RANDOM))
		return C_SETUP;

	int ok = managed_pass(m);
	if (upager_stats(p, &st, sizeof(st)))
		return C_SETUP;
	send_msg('V', ok, g_before_calls, g_after_served, (long)st.pgfault, NULL);
	if (!ok)
		return C_PATTERN;
	if (g_after_errno)
		return C_ERRNO;

	switch (kind) {
	case K_BEFORE_INFO:
		send_msg('R', 0, 0, 0, 0, g_null);
		*(volatile unsigned char *)g_null = 1;
		return C_SURVIVED;
	case K_BEFORE_RO:
		send_msg('R', 0, 0, 0, 0, m + 3 * PS + 5);
		m[3 * PS + 5] = 1;
		return C_SURVIVED;
	case K_RECOVER:
		/* Twice: the runtime's handler stays installed, and after it
		 * left upager's handler by siglongjmp, faults are served. */
		for (int round = 0; round < 2; round++) {
			if (sigsetjmp(g_recover, 1) == 0) {
				send_msg('R', round, 0, 0, 0, g_null);
				(void)*(volatile unsigned char *)g_null;
				return C_SURVIVED;
			}
			if (!managed_pass(m))
				return C_PATTERN;
		}
		if (upager_stats(p, &st, sizeof(st)))
			return C_SETUP;
		send_msg('V', 1, g_before_calls, g_after_served, (long)st.pgfault, NULL);
		if (upager_unmap(p, (void *)m) || upager_destroy(p))
			return C_SETUP;
		return C_OK;
	default:
		send_msg('R', 0, 0, 0, 0, g_null);
		(void)*(volatile unsigned char *)g_null;
		return C_SURVIVED;
	}
}

/*
 * upager_handle_fault() declines what is not upager's: before any pager
 * exists, and after, NULL, an address on the stack and the bytes just
 * outside a region.  Exit 0, or 20 + the number of the first wrong answer.
 */
static int child_declines(void *arg)
{
	const struct child_arg *ca = arg;
	struct upager_config c = t_config(PS, LIMIT_PAGES * PS);
	upager_t *p = NULL;
	int local = 0;

	if (upager_handle_fault(NULL, NULL) != 0)
		return 20;
	if (upager_handle_fault(&local, NULL) != 0)
		return 21;
	int r = upager_create(&p, &c, sizeof(c));
	if ((r == -ENOSYS || r == -EPERM) && !t_io_uring_works())
		return C_SKIP;
	if (r)
		return C_SETUP;
	unsigned char *m = upager_map(p, ca->fd, 0, (size_t)NPAGES * PS, PROT_READ,
	                              UPAGER_SHARED);
	if (!m)
		return C_SETUP;
	if (upager_handle_fault(NULL, NULL) != 0)
		return 22;
	if (upager_handle_fault(&local, NULL) != 0)
		return 23;
	if (upager_handle_fault(m + (size_t)NPAGES * PS, NULL) != 0)
		return 24;
	if (upager_handle_fault(m - 1, NULL) != 0)
		return 25;
	if (upager_unmap(p, m) || upager_destroy(p))
		return C_SETUP;
	return C_OK;
}

/* The messages of one child and how it ended. */
struct outcome {
	int status;
	int n;
	struct msg m[8];
};

static void run_fn(int (*fn)(void *), int kind, struct outcome *o)
{
	struct child_arg ca = { .kind = kind };
	int pfd[2];

	memset(o, 0, sizeof(*o));
	ca.fd = t_make_file((uint64_t)NPAGES * PS, SEED, NULL, 0);
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	g_pipe = pfd[1];
	pid_t pid = t_fork(fn, &ca);
	T_REQUIRE(pid > 0, "fork: %s", strerror(errno));
	close(pfd[1]);
	o->status = t_wait_child(pid, T_HANG_S);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	while (o->n < 8 && read(pfd[0], &o->m[o->n], sizeof(o->m[0])) == sizeof(o->m[0]))
		o->n++;
	close(pfd[0]);
	/* the file is as it was: nothing wrote to it */
	T_VERIFIED(t_verify_fd(ca.fd, 0, (uint64_t)NPAGES * PS, SEED));
	close(ca.fd);
	if (o->status != -1 && WIFEXITED(o->status) && WEXITSTATUS(o->status) == C_SKIP)
		t_skip("io_uring is not available");
}

static void run(int kind, struct outcome *o)
{
	run_fn(child, kind, o);
}

/* The message with tag @tag number @nth (0 = first), or NULL. */
static const struct msg *find(const struct outcome *o, int tag, int nth)
{
	for (int i = 0; i < o->n; i++)
		if (o->m[i].tag == tag && nth-- == 0)
			return &o->m[i];
	return NULL;
}

static int count(const struct outcome *o, int tag)
{
	int n = 0;

	for (int i = 0; i < o->n; i++)
		n += o->m[i].tag == tag;
	return n;
}

/* Managed memory worked before the bad access, without the earlier
 * handler seeing any of upager's faults; with a later handler, every fault
 * upager counted went through it and upager_handle_fault(). */
static void check_managed(int kind, const struct outcome *o)
{
	const struct msg *v = find(o, 'V', 0);

	T_REQUIRE(v != NULL, "%s: no report of the managed memory pass (%s; 10: setup, "
	          "11: wrong data)", kind_name[kind], t_status_str(o->status));
	T_CHECK(v->a == 1, "%s: managed memory had bytes other than the file's",
	        kind_name[kind]);
	T_EQ(v->b, 0);
	/* each page faults at least once per pass (no read-ahead, and the
	 * limit is a quarter of the file) */
	T_GE(v->d, 2 * NPAGES);
	if (kind == K_AFTER || kind == K_BOTH)
		T_EQ(v->c, v->d);
	else
		T_EQ(v->c, 0);
}

static int died_of_segv(int status)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static int exited(int status, int code)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* A 'B' message of a handler that got the NULL fault with its siginfo, its
 * context and the kernel's mask: its sa_mask (SIGUSR1) and SIGSEGV, not the
 * asynchronous signals libsigsegv blocks (SIGUSR2). */
static void check_before_info(int kind, const struct msg *b, uintptr_t addr)
{
	T_REQUIRE(b != NULL, "%s: the earlier handler did not run", kind_name[kind]);
	T_EQ(b->a, SIGSEGV);
	T_CHECK(b->addr == addr, "%s: si_addr %#lx, expected %#lx", kind_name[kind],
	        (unsigned long)b->addr, (unsigned long)addr);
	T_EQ(b->b, 1 | 2);
	T_EQ(b->c, 1);
}

static void test_default(void)
{
	struct outcome o;

	run(K_DEFAULT, &o);
	check_managed(K_DEFAULT, &o);
	T_CHECK(find(&o, 'R', 0) != NULL, "%s: no report before the NULL read",
	        kind_name[K_DEFAULT]);
	T_CHECK(died_of_segv(o.status), "%s: child %s, expected death by SIGSEGV",
	        kind_name[K_DEFAULT], t_status_str(o.status));
	t_summary("%s: managed memory verified, then death by SIGSEGV", kind_name[K_DEFAULT]);
}

static void test_ignored(void)
{
	struct outcome o;

	run(K_IGNORED, &o);
	check_managed(K_IGNORED, &o);
	T_CHECK(find(&o, 'R', 0) != NULL, "%s: no report before the NULL read",
	        kind_name[K_IGNORED]);
	T_CHECK(died_of_segv(o.status), "%s: child %s, expected death by SIGSEGV",
	        kind_name[K_IGNORED], t_status_str(o.status));
	t_summary("%s: death by SIGSEGV, as without upager", kind_name[K_IGNORED]);
}

static void test_before_info(void)
{
	struct outcome o;

	run(K_BEFORE_INFO, &o);
	check_managed(K_BEFORE_INFO, &o);
	T_EQ(count(&o, 'B'), 1);
	check_before_info(K_BEFORE_INFO, find(&o, 'B', 0), 0);
	T_CHECK(died_of_segv(o.status), "%s: child %s, expected death by SIGSEGV",
	        kind_name[K_BEFORE_INFO], t_status_str(o.status));
	t_summary("%s: the handler gets siginfo (si_addr 0), context and its own mask; "
	          "then death by SIGSEGV", kind_name[K_BEFORE_INFO]);
}

static void test_before_plain(void)
{
	struct outcome o;

	run(K_BEFORE_PLAIN, &o);
	check_managed(K_BEFORE_PLAIN, &o);
	const struct msg *b = find(&o, 'B', 0);
	T_EQ(count(&o, 'B'), 1);
	if (b) {
		T_EQ(b->a, SIGSEGV);
		T_EQ(b->b, 1 | 2);
	}
	T_CHECK(exited(o.status, C_REPORTED), "%s: child %s, expected exit %d",
	        kind_name[K_BEFORE_PLAIN], t_status_str(o.status), C_REPORTED);
	t_summary("%s: the handler runs and its exit status is the child's",
	          kind_name[K_BEFORE_PLAIN]);
}

static void test_before_ro(void)
{
	struct outcome o;

	run(K_BEFORE_RO, &o);
	check_managed(K_BEFORE_RO, &o);
	const struct msg *r = find(&o, 'R', 0);
	T_REQUIRE(r != NULL, "%s: no report before the write", kind_name[K_BEFORE_RO]);
	T_EQ(count(&o, 'B'), 1);
	check_before_info(K_BEFORE_RO, find(&o, 'B', 0), r->addr);
	T_CHECK(died_of_segv(o.status), "%s: child %s, expected death by SIGSEGV",
	        kind_name[K_BEFORE_RO], t_status_str(o.status));
	t_summary("%s: a fault in a region that upager declines reaches the handler "
	          "with its address", kind_name[K_BEFORE_RO]);
}

static void test_resethand(void)
{
	struct outcome o;

	run(K_RESETHAND, &o);
	check_managed(K_RESETHAND, &o);
	T_EQ(count(&o, 'B'), 1);
	check_before_info(K_RESETHAND, find(&o, 'B', 0), 0);
	T_CHECK(died_of_segv(o.status), "%s: child %s, expected death by SIGSEGV (13: the "
	        "one-shot handler ran twice)", kind_name[K_RESETHAND], t_status_str(o.status));
	t_summary("%s: called once, then death by SIGSEGV", kind_name[K_RESETHAND]);
}

static void test_recover(void)
{
	struct outcome o;

	run(K_RECOVER, &o);
	check_managed(K_RECOVER, &o);
	T_EQ(count(&o, 'B'), 2);
	check_before_info(K_RECOVER, find(&o, 'B', 0), 0);
	check_before_info(K_RECOVER, find(&o, 'B', 1), 0);
	const struct msg *v0 = find(&o, 'V', 0), *v1 = find(&o, 'V', 1);
	T_CHECK(v1 != NULL && v1->a == 1, "%s: no managed memory report after recovering",
	        kind_name[K_RECOVER]);
	if (v0 && v1) {
		T_EQ(v1->b, 2);
		/* both passes after each recovery faulted again */
		T_GE(v1->d - v0->d, 4 * NPAGES);
	}
	T_CHECK(exited(o.status, C_OK), "%s: child %s, expected exit 0", kind_name[K_RECOVER],
	        t_status_str(o.status));
	t_summary("%s: managed memory verified after each recovery", kind_name[K_RECOVER]);
}

static void test_after(void)
{
	struct outcome o;

	run(K_AFTER, &o);
	check_managed(K_AFTER, &o);
	const struct msg *a = find(&o, 'A', 0);
	T_EQ(count(&o, 'A'), 1);
	T_CHECK(a && a->a == SIGSEGV && a->addr == 0,
	        "%s: the later handler did not see the NULL fault", kind_name[K_AFTER]);
	T_EQ(count(&o, 'B'), 0);
	T_CHECK(died_of_segv(o.status), "%s: child %s, expected death by SIGSEGV",
	        kind_name[K_AFTER], t_status_str(o.status));
	t_summary("%s: every managed fault served through upager_handle_fault(), the NULL "
	          "read reported, then death by SIGSEGV", kind_name[K_AFTER]);
}

static void test_both(void)
{
	struct outcome o;

	run(K_BOTH, &o);
	check_managed(K_BOTH, &o);
	T_EQ(count(&o, 'A'), 1);
	T_EQ(count(&o, 'B'), 1);
	/* the later handler first, then through upager's to the earlier */
	int ia = -1, ib = -1;
	for (int i = 0; i < o.n; i++) {
		if (o.m[i].tag == 'A')
			ia = i;
		if (o.m[i].tag == 'B')
			ib = i;
	}
	T_CHECK(ia >= 0 && ib > ia, "%s: reports in the wrong order (A at %d, B at %d)",
	        kind_name[K_BOTH], ia, ib);
	T_CHECK(exited(o.status, C_REPORTED), "%s: child %s, expected exit %d",
	        kind_name[K_BOTH], t_status_str(o.status), C_REPORTED);
	t_summary("%s: both report the NULL read, later one first", kind_name[K_BOTH]);
}

static void test_declines(void)
{
	struct outcome o;

	run_fn(child_declines, 0, &o);
	T_CHECK(exited(o.status, C_OK), "upager_handle_fault declining: child %s, expected "
	        "exit 0 (20, 21: a wrong answer before upager_create; 22-25: after: NULL, "
	        "stack, just past, just before a region)", t_status_str(o.status));
	t_summary("upager_handle_fault() returns 0 before any pager, and for NULL, the stack "
	          "and the bytes around a region");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "SIG_DFL", test_default },
		{ "SIG_IGN", test_ignored },
		{ "SA_SIGINFO handler before", test_before_info },
		{ "plain handler before", test_before_plain },
		{ "handler before, read-only write", test_before_ro },
		{ "SA_RESETHAND handler before", test_resethand },
		{ "recovering handler before", test_recover },
		{ "handler after", test_after },
		{ "handlers before and after", test_both },
		{ "upager_handle_fault declines", test_declines },
		{ NULL, NULL },
	};

	t_init("test_sigchain", 240);
	t_add_suite("sigchain", tests);
	return t_run_suite();
}
