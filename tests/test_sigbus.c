/*
 * test_sigbus.c - I/O errors, injected below the I/O layer with
 * upager__inject_io() (testhooks.h).
 *
 * A failed page-in raises SIGBUS at the touching thread, with si_addr in the
 * touched page, and kills a process without a handler (forked children).
 * Short reads are completed, not turned into errors or zeros.  A failed
 * write-back is reported by upager_sync(), upager_unmap(), upager_advise
 * (DONTNEED) and upager_destroy(); the page stays dirty and intact, and a
 * later sync writes it.  A failed read makes upager_pin() fail with nothing
 * pinned.
 *
 * The forked tests run first, while the parent has never created a pager
 * (a child of a process with live pagers would inherit none of their
 * threads); the children make their own pager and report through their exit
 * status and a pipe.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#define KiB 1024ull
#define SEED 0xb05ull

/* ------------------------------------------------------------ children */

enum {
	C_OK = 0,
	C_SETUP = 10,   /* create/map failed */
	C_PATTERN = 11, /* wrong data */
	C_SURVIVED = 12, /* the bad touch returned */
	C_INJECT = 13,  /* the injection did not fire */
	C_SKIP = 77,
	C_GOT_SIGBUS = 42,
};

struct msg {
	int tag; /* 'R' ready to touch, 'B' in the SIGBUS handler */
	int sig, code;
	uintptr_t addr, lo, hi;
};

struct child_arg {
	size_t ps;
	int fd, pipe_wr;
	int handler;    /* SIGBUS: 1 handler, 0 default, 2 default but blocked,
	                   3 ignored */
	int persistent; /* injection */
	int write;      /* touch by writing (RW mapping) */
	size_t page;    /* page to touch */
	size_t in_page; /* offset in it */
};

static int g_pipe_wr = -1;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	struct msg m;

	(void)uc;
	memset(&m, 0, sizeof(m));
	m.tag = 'B';
	m.sig = sig;
	m.code = si->si_code;
	m.addr = (uintptr_t)si->si_addr;
	if (write(g_pipe_wr, &m, sizeof(m)) < 0)
		_exit(C_SETUP);
	_exit(C_GOT_SIGBUS);
}

static upager_t *child_pager(size_t ps, size_t frames)
{
	struct upager_config c = t_config(ps, frames * ps);
	upager_t *p = NULL;
	int r = upager_create(&p, &c, sizeof(c));

	if ((r == -ENOSYS || r == -EPERM) && !t_io_uring_works())
		_exit(C_SKIP);
	if (r)
		_exit(C_SETUP);
	return p;
}

static int child_touch_error(void *arg)
{
	struct child_arg *a = arg;
	upager_t *p = child_pager(a->ps, 16);
	int prot = PROT_READ | (a->write ? PROT_WRITE : 0);
	volatile unsigned char *m = upager_map(p, a->fd, 0, 32 * a->ps, prot, UPAGER_SHARED);
	struct msg msg;

	if (!m)
		return C_SETUP;
	/* no read-ahead: the next read completion is the touched page's */
	if (upager_advise(p, (void *)m, 32 * a->ps, UPAGER_ADV_RANDOM))
		return C_SETUP;
	/* the pager works: page 0 reads right */
	for (size_t i = 0; i < a->ps; i += 61)
		if (m[i] != t_pattern(SEED, i))
			return C_PATTERN;
	g_pipe_wr = a->pipe_wr;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (a->handler == 1) {
		sa.sa_sigaction = bus_handler;
		sa.sa_flags = SA_SIGINFO;
	} else {
		/* not the inherited t_init() handler */
		sa.sa_handler = a->handler == 3 ? SIG_IGN : SIG_DFL;
	}
	if (sigaction(SIGBUS, &sa, NULL))
		return C_SETUP;
	if (a->handler == 2) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGBUS);
		if (sigprocmask(SIG_BLOCK, &set, NULL))
			return C_SETUP;
	}
	memset(&msg, 0, sizeof(msg));
	msg.tag = 'R';
	msg.lo = (uintptr_t)(m + a->page * a->ps);
	msg.hi = msg.lo + a->ps;
	if (write(a->pipe_wr, &msg, sizeof(msg)) != sizeof(msg))
		return C_SETUP;
	upager__inject_io(UPAGER_IO_READ, 1, -EIO, a->persistent);
	if (a->write)
		m[a->page * a->ps + a->in_page] = 0x42;
	else
		(void)m[a->page * a->ps + a->in_page];
	return C_SURVIVED;
}

/* Run a child; collect its status and messages. */
static int run_child(int (*fn)(void *), struct child_arg *a, struct msg *ready, struct msg *bus)
{
	int pfd[2];
	struct msg m;

	memset(ready, 0, sizeof(*ready));
	memset(bus, 0, sizeof(*bus));
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	a->pipe_wr = pfd[1];
	pid_t pid = t_fork(fn, a);
	T_REQUIRE(pid > 0, "fork: %s", strerror(errno));
	close(pfd[1]);
	int status = t_wait_child(pid, T_HANG_S);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	while (read(pfd[0], &m, sizeof(m)) == sizeof(m)) {
		if (m.tag == 'R')
			*ready = m;
		else if (m.tag == 'B')
			*bus = m;
	}
	close(pfd[0]);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == C_SKIP)
		t_skip("io_uring is not available");
	return status;
}

static void sigbus_with_handler(size_t ps, int persistent, int write_touch, size_t page,
                                size_t in_page)
{
	int fd = t_make_file(32 * ps, SEED, NULL, 0);
	struct child_arg a = { .ps = ps,
		               .fd = fd,
		               .handler = 1,
		               .persistent = persistent,
		               .write = write_touch,
		               .page = page,
		               .in_page = in_page };
	struct msg ready, bus;
	int status = run_child(child_touch_error, &a, &ready, &bus);

	T_CHECK(ready.tag == 'R', "child did not reach the touch (%s)", t_status_str(status));
	T_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == C_GOT_SIGBUS,
	        "child with SIGBUS handler (page %zu, %s, %s injection): %s, expected exit %d "
	        "from the handler",
	        ps, write_touch ? "write" : "read", persistent ? "persistent" : "one-shot",
	        t_status_str(status), C_GOT_SIGBUS);
	if (bus.tag == 'B') {
		T_EQ(bus.sig, SIGBUS);
		T_CHECK(bus.addr >= ready.lo && bus.addr < ready.hi,
		        "si_addr %#lx outside the touched page [%#lx, %#lx)", (unsigned long)bus.addr,
		        (unsigned long)ready.lo, (unsigned long)ready.hi);
	} else {
		T_CHECK(0, "no SIGBUS message from the child");
	}
	close(fd);
}

static void test_sigbus_read_handler(void)
{
	sigbus_with_handler(4096, 1, 0, 5, 123);
	sigbus_with_handler(4096, 0, 0, 9, 0);
	t_summary("read error on page-in of a read touch: SIGBUS with si_addr in the touched "
	          "page (persistent and one-shot injection)");
}

static void test_sigbus_write_handler(void)
{
	sigbus_with_handler(16384, 0, 1, 7, 16383);
	sigbus_with_handler(16384, 1, 1, 3, 5000);
	t_summary("read error on page-in of a write touch, 16 KiB pages: SIGBUS with si_addr in "
	          "the touched page");
}

static void test_sigbus_default(void)
{
	const size_t ps = 4096;
	int fd = t_make_file(32 * ps, SEED, NULL, 0);
	struct child_arg a = { .ps = ps, .fd = fd, .handler = 0, .persistent = 0, .page = 11 };
	struct msg ready, bus;
	int status = run_child(child_touch_error, &a, &ready, &bus);

	T_CHECK(ready.tag == 'R', "child did not reach the touch (%s)", t_status_str(status));
	T_CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
	        "child without handler: %s, expected death by SIGBUS", t_status_str(status));
	a.write = 1;
	a.persistent = 1;
	status = run_child(child_touch_error, &a, &ready, &bus);
	T_CHECK(ready.tag == 'R', "child did not reach the touch (%s)", t_status_str(status));
	T_CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
	        "child without handler, write touch: %s, expected death by SIGBUS",
	        t_status_str(status));
	/* Like the kernel's SIGBUS for a failed read of an mmap'd file, a
	 * blocked or ignored SIGBUS still ends the process (else the access
	 * would fault for ever). */
	for (int mode = 2; mode <= 3; mode++) {
		a.handler = mode;
		a.write = 0;
		a.persistent = 1;
		status = run_child(child_touch_error, &a, &ready, &bus);
		T_CHECK(ready.tag == 'R', "child did not reach the touch (%s)", t_status_str(status));
		T_CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		        "child with SIGBUS %s: %s, expected death by SIGBUS",
		        mode == 2 ? "blocked" : "ignored", t_status_str(status));
	}
	close(fd);
	t_summary("read error on page-in without a handler (default, blocked, ignored): the "
	          "process dies by SIGBUS");
}

/* A short read completion: the page must still hold the file's bytes. */
static int child_short_read(void *arg)
{
	struct child_arg *a = arg;
	upager_t *p = child_pager(a->ps, 16);
	const unsigned char *m = upager_map(p, a->fd, 0, 32 * a->ps, PROT_READ, UPAGER_SHARED);

	if (!m || upager_advise(p, (void *)m, 32 * a->ps, UPAGER_ADV_RANDOM))
		return C_SETUP;
	upager__inject_io(UPAGER_IO_READ, 1, UPAGER_INJECT_SHORT, 0);
	if (t_verify_buf(m + 4 * a->ps, a->ps, SEED, 4 * a->ps, "page after short read") >= 0)
		return C_PATTERN;
	if (upager__inject_count() != 1)
		return C_INJECT;
	/* and a sequential run with read-ahead */
	if (upager_advise(p, (void *)m, 32 * a->ps, UPAGER_ADV_SEQUENTIAL))
		return C_SETUP;
	upager__inject_io(UPAGER_IO_READ, 2, UPAGER_INJECT_SHORT, 0);
	if (t_verify_buf(m + 8 * a->ps, 24 * a->ps, SEED, 8 * a->ps, "read-ahead, short") >= 0)
		return C_PATTERN;
	if (upager__inject_count() != 1)
		return C_INJECT;
	if (upager_unmap(p, (void *)m) || upager_destroy(p))
		return C_SETUP;
	return C_OK;
}

static void test_short_read(void)
{
	const size_t ps = 4096;
	int fd = t_make_file(32 * ps, SEED, NULL, 0);
	struct child_arg a = { .ps = ps, .fd = fd };
	struct msg ready, bus;
	int status = run_child(child_short_read, &a, &ready, &bus);

	T_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == C_OK,
	        "short read child: %s (11: wrong data, 13: injection did not fire)",
	        t_status_str(status));
	close(fd);
	t_summary("a short read completion is completed: the page holds the file's bytes");
}

static int io_error_counted(void *arg)
{
	struct upager_stats st;

	return upager_stats(arg, &st, sizeof(st)) == 0 && st.io_errors >= 1;
}

/* WILLNEED whose reads fail: no signal at advise time, and the pages read
 * right once the error is gone. */
static int child_willneed_error(void *arg)
{
	struct child_arg *a = arg;
	upager_t *p = child_pager(a->ps, 16);
	const unsigned char *m = upager_map(p, a->fd, 0, 32 * a->ps, PROT_READ, UPAGER_SHARED);
	struct upager_stats st;

	if (!m)
		return C_SETUP;
	upager__inject_io(UPAGER_IO_READ, 1, -EIO, 1);
	if (upager_advise(p, (void *)(m + 20 * a->ps), 4 * a->ps, UPAGER_ADV_WILLNEED))
		return C_SETUP;
	/* wait for the pager's thread to count the failed read (it stops the
	 * request there) */
	if (t_wait_until(io_error_counted, p, "the failed WILLNEED read") < 0)
		return C_INJECT;
	upager__inject_clear();
	if (upager__inject_count() < 1 || upager_stats(p, &st, sizeof(st)) || st.io_errors < 1)
		return C_INJECT;
	if (t_verify_buf(m + 20 * a->ps, 4 * a->ps, SEED, 20 * a->ps, "after failed WILLNEED") >= 0)
		return C_PATTERN;
	if (upager_unmap(p, (void *)m) || upager_destroy(p))
		return C_SETUP;
	return C_OK;
}

static void test_willneed_error(void)
{
	const size_t ps = 4096;
	int fd = t_make_file(32 * ps, SEED, NULL, 0);
	struct child_arg a = { .ps = ps, .fd = fd };
	struct msg ready, bus;
	int status = run_child(child_willneed_error, &a, &ready, &bus);

	T_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == C_OK,
	        "WILLNEED read error child: %s (11: wrong data later, 13: no error counted)",
	        t_status_str(status));
	close(fd);
	t_summary("failed WILLNEED reads raise nothing, count io_errors, and the pages read "
	          "right on the next touch");
}

/* ------------------------------------------------- in-process: write errors */


struct wsetup {
	upager_t *p;
	int fd;
	unsigned char *m;
	size_t ps, npages;
};

static struct wsetup wsetup(size_t ps, size_t frames, size_t npages)
{
	struct wsetup w;
	struct upager_config c = t_config(ps, frames * ps);

	w.ps = ps;
	w.npages = npages;
	w.p = t_create(&c);
	w.fd = t_make_file(npages * ps, SEED, NULL, 0);
	w.m = upager_map(w.p, w.fd, 0, npages * ps, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(w.m != NULL, "upager_map: %s", strerror(errno));
	return w;
}

static void test_write_error_sync(void)
{
	struct wsetup w = wsetup(4096, 64, 32);
	const size_t ps = w.ps;
	struct upager_stats st;

	t_fill(w.m + 3 * ps, ps, 0x51, 3 * ps);
	upager__inject_io(UPAGER_IO_WRITE, 1, -EIO, 0);
	T_RET(upager_sync(w.p, w.m, 0), -EIO);
	T_EQ(upager__inject_count(), 1); /* counted since the injection was armed */
	t_stats(w.p, &st);
	T_GE(st.nr_dirty, 1);
	T_GE(st.io_errors, 1);
	T_VERIFIED(t_verify_buf(w.m + 3 * ps, ps, 0x51, 3 * ps, "dirty page after failed sync"));
	upager__inject_clear();
	T_RET(upager_sync(w.p, w.m, 0), 0);
	t_stats(w.p, &st);
	T_EQ(st.nr_dirty, 0);
	T_VERIFIED(t_verify_fd(w.fd, 3 * ps, ps, 0x51));
	T_VERIFIED(t_verify_fd(w.fd, 0, 3 * ps, SEED));
	T_VERIFIED(t_verify_fd(w.fd, 4 * ps, (w.npages - 4) * ps, SEED));

	/* other errnos pass through */
	t_fill(w.m + 5 * ps, 100, 0x52, 5 * ps);
	upager__inject_io(UPAGER_IO_WRITE, 1, -ENOSPC, 0);
	T_RET(upager_sync(w.p, w.m + 5 * ps, 100), -ENOSPC);
	T_RET(upager_sync(w.p, w.m + 5 * ps, 100), 0);
	T_VERIFIED(t_verify_fd(w.fd, 5 * ps, 100, 0x52));
	T_VERIFIED(t_verify_fd(w.fd, 5 * ps + 100, ps - 100, SEED));
	upager__inject_clear();

	/* persistent: every sync retries and reports, unmap fails and keeps
	 * the region intact */
	t_fill(w.m + 7 * ps, ps, 0x53, 7 * ps);
	upager__inject_io(UPAGER_IO_WRITE, 1, -EIO, 1);
	T_RET(upager_sync(w.p, w.m, 0), -EIO);
	T_RET(upager_sync(w.p, w.m, 0), -EIO);
	T_RET(upager_sync(w.p, w.m + 7 * ps, 1), -EIO);
	T_GE(upager__inject_count(), 3); /* each sync retried the write */
	T_RET(upager_unmap(w.p, w.m), -EIO);
	t_stats(w.p, &st);
	T_GE(st.nr_dirty, 1);
	T_VERIFIED(t_verify_buf(w.m + 7 * ps, ps, 0x53, 7 * ps, "region after failed unmap"));
	T_VERIFIED(t_verify_buf(w.m + 3 * ps, ps, 0x51, 3 * ps, "region after failed unmap"));
	T_VERIFIED(t_verify_buf(w.m + 8 * ps, (w.npages - 8) * ps, SEED, 8 * ps,
	                        "region after failed unmap"));
	upager__inject_clear();
	T_RET(upager_unmap(w.p, w.m), 0);
	T_VERIFIED(t_verify_fd(w.fd, 7 * ps, ps, 0x53));
	T_VERIFIED(t_verify_fd(w.fd, 3 * ps, ps, 0x51));
	T_RET(upager_destroy(w.p), 0);
	close(w.fd);
	t_summary("write error: sync -EIO (then -ENOSPC passes through), page stays dirty and "
	          "intact, next sync 0 and the file holds the data; persistent error: every "
	          "sync and unmap fail, region intact, unmap after clearing writes it");
}

static void test_short_write(void)
{
	struct wsetup w = wsetup(16384, 16, 8);
	const size_t ps = w.ps;
	struct upager_stats st;

	t_fill(w.m + 2 * ps, ps, 0x61, 2 * ps);
	upager__inject_io(UPAGER_IO_WRITE, 1, UPAGER_INJECT_SHORT, 0);
	int r = upager_sync(w.p, w.m, 0);
	T_EQ(upager__inject_count(), 1);
	upager__inject_clear();
	if (r != 0) {
		/* reporting the short write is acceptable; the page must then
		 * still be dirty and the next sync must write it */
		t_stats(w.p, &st);
		T_GE(st.nr_dirty, 1);
		T_RET(upager_sync(w.p, w.m, 0), 0);
	}
	t_stats(w.p, &st);
	T_EQ(st.nr_dirty, 0);
	T_VERIFIED(t_verify_fd(w.fd, 2 * ps, ps, 0x61));
	T_RET(upager_unmap(w.p, w.m), 0);
	T_RET(upager_destroy(w.p), 0);
	T_VERIFIED(t_verify_fd(w.fd, 2 * ps, ps, 0x61));
	T_VERIFIED(t_verify_fd(w.fd, 3 * ps, 5 * ps, SEED));
	close(w.fd);
	t_summary("a short write completion (sync %s) leaves no page half written",
	          r ? "reported it, the retry wrote it" : "completed it");
}

static void test_write_error_eviction(void)
{
	struct wsetup w = wsetup(4096, 16, 128);
	const size_t ps = w.ps;
	struct upager_stats st;

	/* two dirty pages, then write-back fails while other pages are read:
	 * eviction must not drop them */
	t_fill(w.m + 1 * ps, ps, 0x71, 1 * ps);
	t_fill(w.m + 2 * ps, ps, 0x72, 2 * ps);
	upager__inject_io(UPAGER_IO_WRITE, 1, -EIO, 1);
	T_VERIFIED(t_verify_buf(w.m + 3 * ps, (w.npages - 3) * ps, SEED, 3 * ps,
	                        "reads under a write error"));
	t_stats(w.p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	/* DONTNEED: fails, the pages stay resident and dirty */
	T_RET(upager_advise(w.p, w.m + ps, 2 * ps, UPAGER_ADV_DONTNEED), -EIO);
	t_stats(w.p, &st);
	T_GE(st.nr_dirty, 2);
	T_GE(st.nr_resident, 2);
	T_VERIFIED(t_verify_buf(w.m + ps, ps, 0x71, ps, "dirty page under a write error"));
	T_VERIFIED(t_verify_buf(w.m + 2 * ps, ps, 0x72, 2 * ps, "dirty page under a write error"));
	upager__inject_clear();
	T_RET(upager_advise(w.p, w.m + ps, 2 * ps, UPAGER_ADV_DONTNEED), 0);
	T_VERIFIED(t_verify_fd(w.fd, ps, ps, 0x71));
	T_VERIFIED(t_verify_fd(w.fd, 2 * ps, ps, 0x72));
	T_VERIFIED(t_verify_buf(w.m + ps, ps, 0x71, ps, "re-read after DONTNEED"));

	/* destroy reports a failed write-back */
	t_fill(w.m + 50 * ps, 10, 0x73, 50 * ps);
	upager__inject_io(UPAGER_IO_WRITE, 1, -EIO, 1);
	T_RET(upager_destroy(w.p), -EIO);
	upager__inject_clear();
	close(w.fd);
	t_summary("write errors during eviction keep dirty pages; DONTNEED -EIO keeps them "
	          "resident and dirty; destroy reports -EIO");
}

static void test_read_error_pin(void)
{
	struct wsetup w = wsetup(4096, 64, 32);
	const size_t ps = w.ps;
	struct upager_stats st;

	upager__inject_io(UPAGER_IO_READ, 1, -EIO, 1);
	T_RET(upager_pin(w.p, w.m + 10 * ps, 3 * ps), -EIO);
	t_stats(w.p, &st);
	T_EQ(st.nr_pinned, 0);
	upager__inject_clear();
	/* the second read completion of a 3-page pin (if the pages are read
	 * by more than one I/O): still all or nothing */
	upager__inject_io(UPAGER_IO_READ, 2, -EIO, 0);
	int r = upager_pin(w.p, w.m + 20 * ps, 3 * ps);
	long fired = upager__inject_count();
	upager__inject_clear();
	t_stats(w.p, &st);
	if (fired) {
		T_CHECK(r == -EIO, "pin with its second read failing: %d (%s)", r, upager_strerror(r));
		T_EQ(st.nr_pinned, 0);
	} else {
		T_RET(r, 0); /* one I/O for the three pages: no error happened */
		T_EQ(st.nr_pinned, 3);
		if (r == 0)
			T_RET(upager_unpin(w.p, w.m + 20 * ps, 3 * ps), 0);
	}
	T_RET(upager_pin(w.p, w.m + 10 * ps, 3 * ps), 0);
	t_stats(w.p, &st);
	T_EQ(st.nr_pinned, 3);
	T_VERIFIED(t_verify_buf(w.m + 10 * ps, 3 * ps, SEED, 10 * ps, "pinned after error"));
	T_RET(upager_unpin(w.p, w.m + 10 * ps, 3 * ps), 0);
	T_VERIFIED(t_verify_buf(w.m + 20 * ps, 3 * ps, SEED, 20 * ps, "touched after error"));
	T_RET(upager_unmap(w.p, w.m), 0);
	T_RET(upager_destroy(w.p), 0);
	close(w.fd);
	t_summary("read error during upager_pin: -EIO, nothing pinned; pin works afterwards");
}

int main(void)
{
	/* forked tests first: see the comment at the top */
	static const struct t_test forked[] = {
		{ "SIGBUS with handler, read touch", test_sigbus_read_handler },
		{ "SIGBUS with handler, write touch", test_sigbus_write_handler },
		{ "SIGBUS without handler", test_sigbus_default },
		{ "short read", test_short_read },
		{ "WILLNEED read error", test_willneed_error },
		{ NULL, NULL },
	};
	static const struct t_test inproc[] = {
		{ "write error on sync and unmap", test_write_error_sync },
		{ "short write", test_short_write },
		{ "write error on eviction, DONTNEED, destroy", test_write_error_eviction },
		{ "read error on pin", test_read_error_pin },
		{ NULL, NULL },
	};

	t_init("test_sigbus", 240);
	t_add_suite("forked", forked);
	t_add_suite("in-process", inproc);
	return t_run_suite();
}
