/*
 * test_context.c - managed memory in unusual contexts.
 *
 *  - system calls: read(2) into and write(2) from a page that is not
 *    resident fail with EFAULT (the kernel does not fault on behalf of a
 *    system call); on a pinned range they work, and what read(2) stored
 *    reaches the file;
 *  - an application signal handler (SIGUSR1, sent every few microseconds
 *    by another thread with pthread_kill) touches managed memory while the
 *    main thread faults pages in and calls sync, DONTNEED, pin, until both
 *    have done a set number of touches: no deadlock (a forked child, with
 *    a hang guard), data right on both sides;
 *  - fork(): in the child a touch of the parent's managed memory dies by
 *    SIGSEGV, every upager call on the parent's pager fails with -EINVAL
 *    (map/alloc: NULL, errno EINVAL), the child can make and use a pager of
 *    its own; the parent's data and I/O are intact afterwards (sync, pread);
 *  - a NULL dereference and a stack overflow (unbounded recursion) in a
 *    process with a pager still crash by SIGSEGV;
 *  - ENOMEM from mprotect, injected (UPAGER_OP_MPROTECT) at every
 *    protection change of a workload in turn, once and persistent: a fault
 *    then gets SIGBUS or is retried, sync or DONTNEED may say -ENOMEM, and
 *    after the injection is cleared nothing is lost (memory, sync, file);
 *  - ENOMEM at map time (UPAGER_OP_MMAP): map and alloc return NULL with
 *    ENOMEM, and nothing leaks (descriptors, mappings; the next map works);
 *  - the real VMA limit: the process is pushed to about 200 mappings short
 *    of vm.max_map_count with small anonymous mappings of alternating
 *    protections, then upager serves thousands of isolated pages: data
 *    right, nothing crashes.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#define PS 4096
static uint64_t g_seed;

/* Messages from a child: what failed. */
static int g_pipe_wr = -1;

static void child_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void child_say(const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (g_pipe_wr >= 0 && write(g_pipe_wr, buf, (size_t)n) < 0)
		_exit(98);
	if (write(2, buf, (size_t)n) < 0)
		_exit(98);
}

/* Fork @fn with a pipe for child_say(); wait for it to end (a hang guard
 * only: T_HANG_S, ten times that in the soak tier); the child's messages go
 * to @out (may be NULL).  Return the status, -1 for a hang. */
static int run_child(int (*fn)(void *), void *arg, char *out, size_t outlen)
{
	int pfd[2], status;

	T_REQUIRE(pipe(pfd) == 0, "pipe");
	g_pipe_wr = pfd[1];
	pid_t pid = t_fork(fn, arg);
	g_pipe_wr = -1;
	close(pfd[1]);
	T_REQUIRE(pid > 0, "fork");
	status = t_wait_child(pid, (int)t_scale(T_HANG_S, 10 * T_HANG_S));
	if (out && outlen) {
		ssize_t n;
		size_t len = 0;
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		while (len + 1 < outlen && (n = read(pfd[0], out + len, outlen - 1 - len)) > 0)
			len += (size_t)n;
		out[len] = 0;
	}
	close(pfd[0]);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 77)
		t_skip("io_uring is not available");
	return status;
}

static upager_t *child_pager(size_t frames)
{
	struct upager_config c = t_config(PS, frames * PS);
	upager_t *p = NULL;
	int r = upager_create(&p, &c, sizeof(c));

	if ((r == -ENOSYS || r == -EPERM) && !t_io_uring_works())
		_exit(77);
	if (r) {
		child_say("upager_create: %s", upager_strerror(r));
		_exit(10);
	}
	return p;
}

static int exited(int status, int code)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static int killed_by(int status, int sig)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* ------------------------------------------------------- system calls */

static void test_syscalls(void)
{
	struct upager_config c = t_config(PS, 32 * PS);
	upager_t *p = t_create(&c);
	int fd = t_make_file(8 * PS, g_seed, NULL, 0);
	int src = t_make_file(PS, g_seed ^ 0xabc, NULL, 0);
	int dst = t_make_zero_file(0, NULL, 0);
	unsigned char *m = upager_map(p, fd, 0, 8 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	struct upager_stats st;

	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	/* not resident: the kernel's access fails, it does not fault for us */
	errno = 0;
	ssize_t r = pread(src, m + 2 * PS, PS, 0);
	T_CHECK(r == -1 && errno == EFAULT, "pread into a non-resident page: %zd errno %s", r,
	        strerror(errno));
	errno = 0;
	r = write(dst, m + 3 * PS, PS);
	T_CHECK(r == -1 && errno == EFAULT, "write from a non-resident page: %zd errno %s", r,
	        strerror(errno));
	T_EQ(t_file_size(dst), 0);
	/* a resident but read-only (clean) page: read(2) into it fails too */
	volatile unsigned char x = m[4 * PS];
	(void)x;
	errno = 0;
	r = pread(src, m + 4 * PS, 16, 0);
	T_CHECK(r == -1 && errno == EFAULT, "pread into a clean (read-only) page: %zd errno %s",
	        r, strerror(errno));
	T_VERIFIED(t_verify_buf(m, 8 * PS, g_seed, 0, "region after EFAULTs"));

	/* pinned: both work */
	T_RET(upager_pin(p, m + 2 * PS, 2 * PS), 0);
	r = pread(src, m + 2 * PS, PS, 0);
	T_EQ(r, PS);
	T_VERIFIED(t_verify_buf(m + 2 * PS, PS, g_seed ^ 0xabc, 0, "page filled by read(2)"));
	r = write(dst, m + 3 * PS, PS);
	T_EQ(r, PS);
	T_VERIFIED(t_verify_fd_buf(dst, 0, m + 3 * PS, PS));
	T_RET(upager_unpin(p, m + 2 * PS, 2 * PS), 0);
	/* what read(2) stored is written back (pinned pages count as dirty) */
	T_RET(upager_sync(p, m, 0), 0);
	{
		unsigned char buf[PS], exp[PS];
		t_fill(exp, PS, g_seed ^ 0xabc, 0);
		T_REQUIRE(pread(fd, buf, PS, 2 * PS) == PS, "pread");
		T_CHECK(!memcmp(buf, exp, PS), "the bytes read(2) stored in a pinned page did not "
		                               "reach the file");
	}
	T_RET(upager_advise(p, m, 8 * PS, UPAGER_ADV_DONTNEED), 0);
	t_stats(p, &st);
	T_EQ(st.nr_resident, 0);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	close(src);
	close(dst);
	t_summary("read(2)/write(2) on a non-resident page and read(2) into a clean page: "
	          "EFAULT; on a pinned range both work and read(2)'s bytes reach the file");
}

/* --------------------------------------------- application signal handler */

static struct {
	unsigned char *a;   /* file region, pattern g_seed */
	uint64_t *b;        /* scratch words, written by the handler */
	size_t apages;
	volatile sig_atomic_t count, bad;
	uint64_t rng;
	atomic_int stop;
	pthread_t main_thread;
	atomic_long sent;
} H;

static void usr1(int sig)
{
	(void)sig;
	int saved = errno;
	H.rng = H.rng * 6364136223846793005ull + 1442695040888963407ull;
	size_t pg = (size_t)(H.rng >> 33) % H.apages;
	size_t off = pg * PS + (size_t)((H.rng >> 20) % (PS / 8)) * 8;
	uint64_t v;

	memcpy(&v, H.a + off, 8); /* may fault: a major fault in a handler */
	if (v != t_pattern_u64(g_seed, off))
		H.bad = H.bad + 1;
	H.count = H.count + 1;
	H.b[(size_t)H.count % 64 * (PS / 8)] = (uint64_t)H.count; /* a store fault */
	errno = saved;
}

static void *sender(void *arg)
{
	(void)arg;
	while (!atomic_load(&H.stop)) {
		pthread_kill(H.main_thread, SIGUSR1);
		atomic_fetch_add(&H.sent, 1);
		usleep(20);
	}
	return NULL;
}

static int child_signals(void *arg)
{
	upager_t *p = child_pager(12);
	int fd = (int)(intptr_t)arg;
	pthread_t t;
	struct t_rng r = { g_seed };
	unsigned long touches = 0, bad = 0, api = 0;
	/* counts, not a time: a loaded machine only takes longer */
	const unsigned long min_touches = t_scale(2048, 32768);
	const long min_runs = (long)t_scale(1000, 20000);

	H.apages = 256;
	H.a = upager_map(p, fd, 0, H.apages * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	H.b = upager_alloc(p, 64 * PS);
	if (!H.a || !H.b)
		return 11;
	H.rng = g_seed;
	H.main_thread = pthread_self();
	signal(SIGUSR1, usr1);
	if (pthread_create(&t, NULL, sender, NULL))
		return 12;
	while (touches < min_touches || H.count < min_runs) {
		size_t pg = (size_t)t_rand_below(&r, H.apages);
		size_t off = pg * PS + (size_t)t_rand_below(&r, PS / 8) * 8;
		uint64_t v;
		memcpy(&v, H.a + off, 8);
		bad += v != t_pattern_u64(g_seed, off);
		touches++;
		if (touches % 512 == 0) {
			int rc = 0;
			switch ((touches / 512) % 4) {
			case 0: rc = upager_sync(p, H.a, 0); break;
			case 1:
				rc = upager_advise(p, H.a + pg / 2 * PS, 2 * PS, UPAGER_ADV_DONTNEED);
				break;
			case 2:
				rc = upager_pin(p, H.a + pg * PS, PS);
				if (!rc)
					rc = upager_unpin(p, H.a + pg * PS, PS);
				break;
			case 3: rc = upager_advise(p, H.b, 64 * PS, UPAGER_ADV_DONTNEED); break;
			}
			api++;
			if (rc) {
				child_say("API call %lu failed: %s", touches / 512 % 4,
				          upager_strerror(rc));
				bad++;
			}
		}
	}
	atomic_store(&H.stop, 1);
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_IGN);
	/* the handler's last store is there */
	if (H.b[(size_t)H.count % 64 * (PS / 8)] != (uint64_t)H.count) {
		child_say("the handler's store of %d is not in scratch memory", (int)H.count);
		bad++;
	}
	child_say("figures: %lu touches by the main thread, %lu API calls, %ld signals sent, "
	          "%d handler runs, %d handler mismatches, %lu main mismatches",
	          touches, api, atomic_load(&H.sent), (int)H.count, (int)H.bad, bad);
	if (H.bad || bad)
		return 13;
	if (upager_unmap(p, H.a) || upager_unmap(p, H.b) || upager_destroy(p))
		return 15;
	return 0;
}

static void test_signal_handler(void)
{
	int fd = t_make_file(256 * PS, g_seed, NULL, 0);
	char out[1024];
	int status = run_child(child_signals, (void *)(intptr_t)fd, out, sizeof(out));

	printf("  %s", out);
	T_CHECK(exited(status, 0),
	        "SIGUSR1 handler touching managed memory: child %s (13: wrong data, a hang: "
	        "deadlock)",
	        t_status_str(status));
	close(fd);
	t_summary("an application SIGUSR1 handler (pthread_kill every ~20 us) reading and "
	          "storing to managed memory while the main thread faults and calls sync/"
	          "DONTNEED/pin: no deadlock, data right (%s)",
	          exited(status, 0) ? "ok" : "FAILED");
}

/* -------------------------------------------------------- crashes stay */

static unsigned char *volatile g_null;

static int child_null(void *arg)
{
	upager_t *p = child_pager(8);
	int fd = (int)(intptr_t)arg;
	volatile unsigned char *m = upager_map(p, fd, 0, 8 * PS, PROT_READ, UPAGER_SHARED);

	/* upager's SIGSEGV handler is installed and has served faults */
	if (!m || m[5] != t_pattern(g_seed, 5) || m[PS + 5] != t_pattern(g_seed, PS + 5))
		return 11;
	return g_null[0] + 12; /* dies here */
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(volatile int depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	pad[511] = (char)depth;
	return recurse(depth + 1) + pad[0] + pad[511];
}

static int child_overflow(void *arg)
{
	upager_t *p = child_pager(8);
	int fd = (int)(intptr_t)arg;
	volatile unsigned char *m = upager_map(p, fd, 0, 8 * PS, PROT_READ, UPAGER_SHARED);
	struct rlimit rl = { 8 << 20, 8 << 20 };

	if (!m || m[5] != t_pattern(g_seed, 5))
		return 11;
	setrlimit(RLIMIT_STACK, &rl);
	return recurse(0);
}

static void test_crashes(void)
{
	int fd = t_make_file(8 * PS, g_seed, NULL, 0);
	int s1 = run_child(child_null, (void *)(intptr_t)fd, NULL, 0);
	int s2 = run_child(child_overflow, (void *)(intptr_t)fd, NULL, 0);

	T_CHECK(killed_by(s1, SIGSEGV), "NULL dereference in a process with a pager: %s, "
	                                "expected death by SIGSEGV",
	        t_status_str(s1));
	T_CHECK(killed_by(s2, SIGSEGV), "stack overflow in a process with a pager: %s, "
	                                "expected death by SIGSEGV",
	        t_status_str(s2));
	close(fd);
	t_summary("NULL dereference and stack overflow in a process with a pager: SIGSEGV");
}

/* ------------------------------------------------------------- fork() */

struct fork_arg {
	upager_t *p;
	unsigned char *m;
	int fd, own_fd;
};

static int child_fork_touch(void *arg)
{
	struct fork_arg *a = arg;
	volatile unsigned char *m = a->m;

	return m[PS + 3] + 11; /* dies by SIGSEGV */
}

static int child_fork_api(void *arg)
{
	struct fork_arg *a = arg;
	struct upager_stats st;
	int fails = 0;
	void *q;

#define EXPECT(cond, ...)                         \
	do {                                      \
		if (!(cond)) {                    \
			child_say(__VA_ARGS__);   \
			fails++;                  \
		}                                 \
	} while (0)
	EXPECT(upager_sync(a->p, a->m, 0) == -EINVAL, "sync on the parent's pager: not -EINVAL");
	EXPECT(upager_sync(a->p, a->m, PS) == -EINVAL, "range sync: not -EINVAL");
	EXPECT(upager_advise(a->p, a->m, PS, UPAGER_ADV_DONTNEED) == -EINVAL,
	       "DONTNEED: not -EINVAL");
	EXPECT(upager_advise(a->p, a->m, PS, UPAGER_ADV_WILLNEED) == -EINVAL,
	       "WILLNEED: not -EINVAL");
	EXPECT(upager_pin(a->p, a->m, PS) == -EINVAL, "pin: not -EINVAL");
	EXPECT(upager_unpin(a->p, a->m, PS) == -EINVAL, "unpin: not -EINVAL");
	EXPECT(upager_unmap(a->p, a->m) == -EINVAL, "unmap: not -EINVAL");
	EXPECT(upager_stats(a->p, &st, sizeof(st)) == -EINVAL, "stats: not -EINVAL");
	EXPECT(upager_page_size(a->p) == 0, "page_size: not 0");
	errno = 0;
	q = upager_map(a->p, a->fd, 0, PS, PROT_READ, UPAGER_SHARED);
	EXPECT(q == NULL && errno == EINVAL, "map on the parent's pager: %p errno %d", q, errno);
	errno = 0;
	q = upager_alloc(a->p, PS);
	EXPECT(q == NULL && errno == EINVAL, "alloc on the parent's pager: %p errno %d", q, errno);
	EXPECT(upager_destroy(a->p) == -EINVAL, "destroy of the parent's pager: not -EINVAL");

	/* a pager of its own: map, eviction, write-back, sync, alloc */
	upager_t *p = child_pager(4);
	unsigned char *m = upager_map(p, a->own_fd, 0, 16 * PS, PROT_READ | PROT_WRITE,
	                              UPAGER_SHARED);
	unsigned char *s = upager_alloc(p, 8 * PS);
	EXPECT(m && s, "the child's own map/alloc failed: %s", strerror(errno));
	if (!m || !s)
		return 20;
	EXPECT(t_verify_buf(m, 16 * PS, g_seed ^ 0xc1, 0, "child's own region") < 0,
	       "child's own region reads wrong");
	t_fill(m, 16 * PS, g_seed ^ 0xc2, 0);
	memset(s, 0x3c, 8 * PS);
	EXPECT(upager_sync(p, m, 0) == 0, "child's sync failed");
	EXPECT(t_verify_fd(a->own_fd, 0, 16 * PS, g_seed ^ 0xc2) < 0, "child's file wrong");
	EXPECT(s[7 * PS + 9] == 0x3c && s[0] == 0x3c, "child's scratch memory wrong");
	EXPECT(upager_unmap(p, m) == 0 && upager_unmap(p, s) == 0 && upager_destroy(p) == 0,
	       "child's unmap/destroy failed");
#undef EXPECT
	return fails ? 21 : 0;
}

static void test_fork(void)
{
	struct upager_config c = t_config(PS, 8 * PS);
	upager_t *p = t_create(&c);
	struct fork_arg a;
	char out[2048];
	uint64_t s1 = g_seed ^ 0xf1, s2 = g_seed ^ 0xf2;

	a.p = p;
	a.fd = t_make_file(32 * PS, g_seed, NULL, 0);
	a.own_fd = t_make_file(16 * PS, g_seed ^ 0xc1, NULL, 0);
	a.m = upager_map(p, a.fd, 0, 32 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(a.m != NULL, "upager_map: %s", strerror(errno));
	/* dirty and resident pages, some evicted */
	t_fill(a.m, 12 * PS, s1, 0);

	int st_touch = run_child(child_fork_touch, &a, NULL, 0);
	int st_api = run_child(child_fork_api, &a, out, sizeof(out));
	if (out[0])
		printf("  child said: %s", out);
	/* the parent goes on: more writes, evictions, the file */
	t_fill(a.m + 12 * PS, 20 * PS, s2, 12 * PS);
	T_VERIFIED(t_verify_buf(a.m, 12 * PS, s1, 0, "parent after fork"));
	T_VERIFIED(t_verify_buf(a.m + 12 * PS, 20 * PS, s2, 12 * PS, "parent after fork"));
	T_RET(upager_sync(p, a.m, 0), 0);
	T_VERIFIED(t_verify_fd(a.fd, 0, 12 * PS, s1));
	T_VERIFIED(t_verify_fd(a.fd, 12 * PS, 20 * PS, s2));
	T_RET(upager_unmap(p, a.m), 0);
	T_RET(upager_destroy(p), 0);
	T_CHECK(killed_by(st_touch, SIGSEGV), "child touching the parent's managed memory: %s, "
	                                      "expected death by SIGSEGV",
	        t_status_str(st_touch));
	/* LIBRARY BUG (reported): the child's own region can be placed where
	 * one of the parent's regions was (those addresses are free in the
	 * child, MADV_DONTFORK), and libsigsegv's dispatcher still holds the
	 * parent's area there: the first touch is declined and kills the
	 * child by SIGSEGV. */
	T_CHECK(exited(st_api, 0), "child calling upager on the parent's pager, then making "
	                           "and using its own: %s (21: a check failed, see its messages; "
	                           "SIGSEGV: a touch of its own region was not served)",
	        t_status_str(st_api));
	close(a.fd);
	close(a.own_fd);
	t_summary("fork: the child's touch of the parent's memory dies by SIGSEGV; every call "
	          "on the parent's pager -EINVAL / NULL+EINVAL; the child's own pager works; "
	          "the parent's data and write-back intact");
}

/* ---------------------------------------------- ENOMEM from mprotect */

static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_armed;

static void bus_handler(int sig)
{
	(void)sig;
	if (!g_armed)
		_exit(40);
	g_armed = 0;
	siglongjmp(g_jmp, 1);
}

static int guarded_copy(void *dst, const void *src, size_t n)
{
	if (sigsetjmp(g_jmp, 1))
		return -1;
	g_armed = 1;
	__asm__ volatile("" ::: "memory");
	memcpy(dst, src, n);
	__asm__ volatile("" ::: "memory");
	g_armed = 0;
	return 0;
}

struct mp_arg {
	int fd;
	long nth;       /* 0: count the mprotects */
	int persistent;
};

struct mp_report {
	int done;
	long seen, fired, sigbus, enomem, violations;
};

#define MP_PAGES 24

static int child_mprotect(void *arg)
{
	struct mp_arg *a = arg;
	upager_t *p = child_pager(6);
	unsigned char *m = upager_map(p, a->fd, 0, MP_PAGES * PS, PROT_READ | PROT_WRITE,
	                              UPAGER_SHARED);
	unsigned ver[MP_PAGES] = { 0 };
	static unsigned char buf[PS], exp[PS];
	struct mp_report rep = { 0 };
	struct t_rng r = { 42 };

	if (!m)
		return 10;
	signal(SIGBUS, bus_handler);
#define VSEED(pg, v) ((v) ? t_mix64(g_seed ^ ((uint64_t)(pg) << 20) ^ (v)) : g_seed)
	upager__inject_io(UPAGER_OP_MPROTECT, a->nth ? a->nth : LONG_MAX, -ENOMEM, a->persistent);
	for (int step = 0; step < 60; step++) {
		unsigned pg = (unsigned)t_rand_below(&r, MP_PAGES);
		int rc;
		switch (t_rand_below(&r, 8)) {
		case 0: case 1: case 2: /* write a new version */
			t_fill(buf, PS, VSEED(pg, ver[pg] + 1), (uint64_t)pg * PS);
			if (guarded_copy(m + (size_t)pg * PS, buf, PS) < 0)
				rep.sigbus++;
			else
				ver[pg]++;
			break;
		case 6:
			rc = upager_sync(p, m, 0);
			if (rc == -ENOMEM)
				rep.enomem++;
			else if (rc) {
				child_say("sync under mprotect ENOMEM: %s", upager_strerror(rc));
				rep.violations++;
			}
			break;
		case 7:
			rc = upager_advise(p, m + (size_t)pg * PS, 2 * PS > (MP_PAGES - pg) * PS ? PS : 2 * PS,
			                   UPAGER_ADV_DONTNEED);
			if (rc == -ENOMEM)
				rep.enomem++;
			else if (rc) {
				child_say("DONTNEED under mprotect ENOMEM: %s", upager_strerror(rc));
				rep.violations++;
			}
			break;
		default: /* read and check */
			if (guarded_copy(buf, m + (size_t)pg * PS, PS) < 0) {
				rep.sigbus++;
				break;
			}
			t_fill(exp, PS, VSEED(pg, ver[pg]), (uint64_t)pg * PS);
			if (memcmp(buf, exp, PS)) {
				child_say("page %u reads wrong under mprotect ENOMEM (version %u)", pg,
				          ver[pg]);
				rep.violations++;
			}
			break;
		}
	}
	rep.seen = upager__inject_seen();
	rep.fired = upager__inject_count();
	upager__inject_clear();
	/* nothing lost */
	for (unsigned pg = 0; pg < MP_PAGES; pg++) {
		if (guarded_copy(buf, m + (size_t)pg * PS, PS) < 0) {
			child_say("page %u: SIGBUS after the injection was cleared", pg);
			rep.violations++;
			continue;
		}
		t_fill(exp, PS, VSEED(pg, ver[pg]), (uint64_t)pg * PS);
		if (memcmp(buf, exp, PS)) {
			child_say("page %u lost version %u", pg, ver[pg]);
			rep.violations++;
		}
	}
	int rc = upager_sync(p, m, 0);
	if (rc) {
		child_say("sync after clearing: %s", upager_strerror(rc));
		rep.violations++;
	}
	for (unsigned pg = 0; pg < MP_PAGES; pg++) {
		if (pread(a->fd, buf, PS, (off_t)pg * PS) != PS)
			rep.violations++;
		t_fill(exp, PS, VSEED(pg, ver[pg]), (uint64_t)pg * PS);
		if (memcmp(buf, exp, PS)) {
			child_say("file page %u does not hold version %u after sync", pg, ver[pg]);
			rep.violations++;
		}
	}
	if (upager_unmap(p, m) || upager_destroy(p))
		rep.violations++;
#undef VSEED
	rep.done = 1;
	if (g_pipe_wr >= 0) {
		char line[200];
		int n = snprintf(line, sizeof(line), "R %d %ld %ld %ld %ld %ld\n", rep.done, rep.seen,
		                 rep.fired, rep.sigbus, rep.enomem, rep.violations);
		if (write(g_pipe_wr, line, (size_t)n) < 0)
			return 98;
	}
	return rep.violations ? 30 : 0;
}

static int parse_report(const char *out, struct mp_report *rep)
{
	const char *s = strstr(out, "R ");

	memset(rep, 0, sizeof(*rep));
	return s && sscanf(s, "R %d %ld %ld %ld %ld %ld", &rep->done, &rep->seen, &rep->fired,
	                   &rep->sigbus, &rep->enomem, &rep->violations) == 6;
}

static void reset_mp_file(int fd)
{
	static unsigned char buf[MP_PAGES * PS];

	t_fill(buf, sizeof(buf), g_seed, 0);
	T_REQUIRE(pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf), "reset");
}

static void test_mprotect_enomem(void)
{
	int fd = t_make_file(MP_PAGES * PS, g_seed, NULL, 0);
	struct mp_arg a = { .fd = fd, .nth = 0 };
	struct mp_report rep;
	char out[4096];
	long points = 0, sigbus = 0, enomem = 0, viol = 0, died = 0, fired = 0;
	int status = run_child(child_mprotect, &a, out, sizeof(out));

	T_REQUIRE(exited(status, 0) && parse_report(out, &rep),
	          "the mprotect workload without injection failed: %s %s", t_status_str(status),
	          out);
	long count = rep.seen;
	printf("  %ld protection changes to sweep\n", count);
	for (int pers = 0; pers < 2; pers++)
		for (long n = 1; n <= count; n++) {
			a.nth = n;
			a.persistent = pers;
			reset_mp_file(fd);
			points++;
			status = run_child(child_mprotect, &a, out, sizeof(out));
			if (!parse_report(out, &rep) || !rep.done) {
				T_CHECK(0, "mprotect ENOMEM %s at change %ld: child %s", pers ? "persistent" : "once",
				        n, t_status_str(status));
				viol++;
				/* A hang costs the whole hang guard: one ends
				 * the sweep.  (Seen once: with mprotect failing
				 * for good, upager__set_access() and
				 * upager__deactivate_some() recursed into each
				 * other without end.) */
				if (status == -1) {
					T_CHECK(0, "a run hung: sweep stopped");
					goto out;
				}
				if (++died == 3) {
					T_CHECK(0, "3 runs died: sweep stopped");
					goto out;
				}
				continue;
			}
			fired += rep.fired > 0;
			sigbus += rep.sigbus;
			enomem += rep.enomem;
			viol += rep.violations;
			T_CHECK(rep.violations == 0 && exited(status, 0),
			        "mprotect ENOMEM %s at change %ld: %ld violations (%s)",
			        pers ? "persistent" : "once", n, rep.violations, t_status_str(status));
		}
out:
	close(fd);
	printf("  figures: %ld injection points (once and persistent), %ld fired, %ld SIGBUS, "
	       "%ld calls returned -ENOMEM, %ld violations\n",
	       points, fired, sigbus, enomem, viol);
	t_summary("mprotect ENOMEM injected at each of %ld protection changes, once and "
	          "persistent: %ld SIGBUS, %ld -ENOMEM returns, %ld violations (no data lost "
	          "after clearing)",
	          count, sigbus, enomem, viol);
}

/* ---------------------------------------------- ENOMEM at map time */

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_mmap_enomem(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	int fd = t_make_file(8 * PS, g_seed, NULL, 0);
	unsigned char *m;
	int fds0, maps0, fds1, maps1;
	const int rounds = (int)t_scale(200, 5000);

	/* warm up (the scratch file, libsigsegv's tree) */
	m = upager_alloc(p, PS);
	T_REQUIRE(m != NULL, "alloc");
	m[0] = 1;
	T_RET(upager_unmap(p, m), 0);
	fds0 = count_dir("/proc/self/fd");
	/* upager's own mappings, all MADV_DONTFORK.  The count of every
	 * mapping also follows the allocator's: under ASan it moved by one
	 * in either direction (178 -> 179, 180 -> 179) in 2 of about 30
	 * runs, though every mmap of the loop fails and upager maps
	 * nothing. */
	maps0 = (int)t_count_maps_dontfork();
	T_CHECK(maps0 > 0, "upager's mappings are seen (%d)", maps0);
	upager__inject_io(UPAGER_OP_MMAP, 1, -ENOMEM, 1);
	for (int i = 0; i < rounds; i++) {
		T_FAILS(upager_map(p, fd, 0, 8 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED), ENOMEM);
		T_FAILS(upager_map(p, fd, 0, 8 * PS, PROT_READ, UPAGER_PRIVATE), ENOMEM);
		T_FAILS(upager_alloc(p, 4 * PS), ENOMEM);
	}
	long fired = upager__inject_count();
	upager__inject_clear();
	fds1 = count_dir("/proc/self/fd");
	maps1 = (int)t_count_maps_dontfork();
	T_EQ(fds1, fds0);
	T_EQ(maps1, maps0);
	/* once: the first map fails, the next works */
	upager__inject_io(UPAGER_OP_MMAP, 1, -ENOMEM, 0);
	T_FAILS(upager_map(p, fd, 0, 8 * PS, PROT_READ, UPAGER_SHARED), ENOMEM);
	m = upager_map(p, fd, 0, 8 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	upager__inject_clear();
	T_REQUIRE(m != NULL, "map after the injection: %s", strerror(errno));
	T_VERIFIED(t_verify_buf(m, 8 * PS, g_seed, 0, "map after failed maps"));
	m[3] = 7;
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("mmap ENOMEM at map time x %d rounds (map SHARED, map PRIVATE, alloc): NULL "
	          "+ ENOMEM, %ld injections, descriptors %d -> %d, upager's mappings %d -> %d; "
	          "the next "
	          "map works",
	          rounds, fired, fds0, fds1, maps0, maps1);
}

/* ------------------------------------------------ vm.max_map_count */

static int child_map_count(void *arg)
{
	int fd = (int)(intptr_t)arg;
	long max = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	const size_t npages = 4096;

	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 65530;
		fclose(f);
	}
	if (max > 262144) {
		/* millions of mappings would take minutes and much kernel
		 * memory: this check is for the usual limits */
		child_say("figures: vm.max_map_count is %ld: not pushed to it", max);
		return 0;
	}
	upager_t *p = child_pager(3000);
	unsigned char *m = upager_map(p, fd, 0, npages * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	if (!m)
		return 11;
	/* fill the map count: one big PROT_NONE area, every other page
	 * made readable, each page its own mapping */
	int now = (int)t_count_maps();
	long want = max - 200 - now;
	if (want < 0)
		want = 0;
	size_t area_pages = (size_t)want + 2;
	char *area = mmap(NULL, area_pages * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	                  -1, 0);
	if (area == MAP_FAILED)
		return 12;
	long made = 0;
	for (size_t i = 1; i + 1 < area_pages && made + 2 <= want; i += 2) {
		if (mprotect(area + i * PS, PS, PROT_READ) != 0)
			break;
		made += 2;
	}
	int filled = (int)t_count_maps();
	/* many isolated pages: each would be a mapping of its own */
	unsigned long bad = 0;
	for (size_t pg = 0; pg < npages; pg += 2) {
		volatile unsigned char *b = m + pg * PS;
		if (b[7] != t_pattern(g_seed, pg * PS + 7))
			bad++;
	}
	for (size_t pg = 0; pg < npages; pg += 2)
		m[pg * PS + 9] = (unsigned char)(pg * 31);
	for (size_t pg = 0; pg < npages; pg += 2)
		if (m[pg * PS + 9] != (unsigned char)(pg * 31) ||
		    m[pg * PS + 7] != t_pattern(g_seed, pg * PS + 7))
			bad++;
	int rc = upager_sync(p, m, 0);
	struct upager_stats st;
	upager_stats(p, &st, sizeof(st));
	int peak = (int)t_count_maps();
	for (size_t pg = 0; pg < npages; pg += 2) {
		unsigned char b[2];
		if (pread(fd, b, 2, (off_t)(pg * PS + 8)) != 2 || b[1] != (unsigned char)(pg * 31) ||
		    b[0] != t_pattern(g_seed, pg * PS + 8))
			bad++;
	}
	child_say("figures: vm.max_map_count %ld, mappings %d before, %d after filling (%ld "
	          "added), %d at the end; %zu isolated pages read and written, %llu faults, "
	          "%llu references cleared, sync %d, %lu bad",
	          max, now, filled, made, peak, npages / 2, (unsigned long long)st.pgfault,
	          (unsigned long long)st.pgdeactivate, rc, bad);
	munmap(area, area_pages * PS);
	if (bad || rc)
		return 13;
	if (upager_unmap(p, m) || upager_destroy(p))
		return 14;
	return 0;
}

static void test_map_count(void)
{
	int fd = t_make_file(4096 * PS, g_seed, NULL, 0);
	char out[1024];
	int status = run_child(child_map_count, (void *)(intptr_t)fd, out, sizeof(out));

	printf("  %s", out);
	T_CHECK(exited(status, 0), "upager near vm.max_map_count: child %s (13: wrong data or "
	                           "sync failed, SIGBUS: a fault could not be served)",
	        t_status_str(status));
	close(fd);
	t_summary("2048 isolated pages read, written and synced with the process 200 mappings "
	          "short of vm.max_map_count: %s",
	          exited(status, 0) ? "data right, no crash" : "FAILED");
}

/* ----------------------------------------------------------- the audit */

static void *volatile g_sink;

static void test_audit_active(void)
{
	long before = t_audit_calls();

	if (!t_audit_active()) {
		printf("  the audit is not in this build (sanitizer)\n");
		return;
	}
	g_sink = malloc(16);
	free(g_sink);
	T_CHECK(t_audit_calls() >= before + 2, "the audit's malloc/free wrappers are not in use");
	T_EQ(upager__in_fault(), 0);
	t_summary("signal-safety audit wrappers active (malloc/free counted)");
}

int main(void)
{
	static const struct t_test forked[] = {
		{ "audit wrappers active", test_audit_active },
		{ "application signal handler", test_signal_handler },
		{ "NULL dereference and stack overflow", test_crashes },
		{ "ENOMEM from mprotect", test_mprotect_enomem },
		{ "near vm.max_map_count", test_map_count },
		{ NULL, NULL },
	};
	static const struct t_test inproc[] = {
		{ "read/write system calls", test_syscalls },
		{ "ENOMEM at map time", test_mmap_enomem },
		{ "fork", test_fork },
		{ NULL, NULL },
	};

	t_init("test_context", 300);
	g_seed = t_seed();
	t_add_suite("forked", forked);
	t_add_suite("in-process", inproc);
	return t_run_suite();
}
