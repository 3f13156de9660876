/*
 * test_segv.c - upager's SIGSEGV handler passes on the faults that are not
 * its own: in forked children, a touch just past a region, a write to a
 * PROT_READ mapping (resident or not), a NULL dereference, a touch of an
 * unmapped region and of a destroyed pager's region each kill the child by
 * SIGSEGV.  A control child making only valid accesses exits 0.
 *
 * Each child makes its own pager (the parent never makes one) and writes a
 * message to a pipe just before the bad access, so the parent knows the
 * death came from that access.
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

#define SEED 0x5e9ull
#define PS 4096
#define NPAGES 8

enum { C_OK = 0, C_SETUP = 10, C_PATTERN = 11, C_SURVIVED = 12, C_SKIP = 77 };

struct msg {
	int tag;     /* 'R': about to make the bad access */
	int variant; /* how the target address was chosen */
	uintptr_t addr;
};

struct child_arg {
	int fd, pipe_wr;
	int kind;
};

enum {
	K_CONTROL,
	K_PAST_READ,
	K_PAST_WRITE,
	K_RO_WRITE_RESIDENT,
	K_RO_WRITE_NONRESIDENT,
	K_RO_PRIVATE_WRITE,
	K_NULL_READ,
	K_NULL_WRITE,
	K_AFTER_UNMAP,
	K_AFTER_DESTROY,
	K_NKINDS
};

static const char *const kind_name[K_NKINDS] = {
	"control (valid accesses only)",
	"read just past a region",
	"write just past a region",
	"write to a resident page of a PROT_READ mapping",
	"write to a non-resident page of a PROT_READ mapping",
	"write to a PROT_READ PRIVATE mapping",
	"NULL read",
	"NULL write",
	"touch after upager_unmap",
	"touch after upager_destroy",
};

/* Hidden from the optimiser, so the NULL dereference is a real access. */
static unsigned char *volatile g_null;

/* Permissions of the mapping holding @a in /proc/self/maps: 0 unmapped,
 * 1 mapped inaccessible (---), 2 mapped accessible. */
static int mapping_at(uintptr_t a)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int r = 0;

	if (!f)
		return 2;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (a >= lo && a < hi) {
			r = perms[0] == '-' && perms[1] == '-' && perms[2] == '-' ? 1 : 2;
			break;
		}
	}
	fclose(f);
	return r;
}

static int say(int fd, int variant, const volatile void *addr)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.tag = 'R';
	m.variant = variant;
	m.addr = (uintptr_t)addr;
	return write(fd, &m, sizeof(m)) == sizeof(m) ? 0 : -1;
}

static int child(void *arg)
{
	struct child_arg *a = arg;
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = NULL;
	int r = upager_create(&p, &c, sizeof(c));
	int ro = a->kind == K_RO_WRITE_RESIDENT || a->kind == K_RO_WRITE_NONRESIDENT ||
	         a->kind == K_RO_PRIVATE_WRITE;
	int flags = a->kind == K_RO_PRIVATE_WRITE ? UPAGER_PRIVATE : UPAGER_SHARED;

	if ((r == -ENOSYS || r == -EPERM) && !t_io_uring_works())
		return C_SKIP;
	if (r)
		return C_SETUP;
	volatile unsigned char *m = upager_map(p, a->fd, 0, NPAGES * PS,
	                                       ro ? PROT_READ : PROT_READ | PROT_WRITE, flags);
	if (!m)
		return C_SETUP;
	/* no read-ahead, so untouched pages stay non-resident */
	if (upager_advise(p, (void *)m, NPAGES * PS, UPAGER_ADV_RANDOM))
		return C_SETUP;
	/* valid accesses work */
	for (size_t i = 0; i < 4 * PS; i += 97)
		if (m[i] != t_pattern(SEED, i))
			return C_PATTERN;
	if (!ro)
		m[PS + 1] = 0x11;

	switch (a->kind) {
	case K_CONTROL:
		for (size_t i = 0; i < NPAGES * PS; i += 101)
			if (i != PS + 1 && m[i] != t_pattern(SEED, i))
				return C_PATTERN;
		if (m[PS + 1] != 0x11)
			return C_PATTERN;
		if (upager_unmap(p, (void *)m) || upager_destroy(p))
			return C_SETUP;
		return C_OK;
	case K_PAST_READ:
	case K_PAST_WRITE: {
		/* the first byte past the region, if nothing accessible is
		 * mapped there (the kernel may have put another mapping right
		 * after it); else the byte before it; else a PROT_NONE page of
		 * our own (variant 2) */
		volatile unsigned char *t = m + NPAGES * PS;
		int variant = 0;
		if (mapping_at((uintptr_t)t) == 2) {
			t = m - 1;
			variant = 1;
			if (mapping_at((uintptr_t)t) == 2) {
				t = mmap(NULL, PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (t == MAP_FAILED)
					return C_SETUP;
				variant = 2;
			}
		}
		if (say(a->pipe_wr, variant, t))
			return C_SETUP;
		if (a->kind == K_PAST_WRITE)
			*t = 1;
		else
			(void)*t;
		return C_SURVIVED;
	}
	case K_RO_WRITE_RESIDENT:
	case K_RO_PRIVATE_WRITE:
		if (say(a->pipe_wr, 0, m + 2 * PS))
			return C_SETUP;
		m[2 * PS] = 1; /* page 2 was read above: resident */
		return C_SURVIVED;
	case K_RO_WRITE_NONRESIDENT:
		if (say(a->pipe_wr, 0, m + 6 * PS))
			return C_SETUP;
		m[6 * PS + 10] = 1;
		return C_SURVIVED;
	case K_NULL_READ:
		if (say(a->pipe_wr, 0, g_null))
			return C_SETUP;
		(void)*(volatile unsigned char *)g_null;
		return C_SURVIVED;
	case K_NULL_WRITE:
		if (say(a->pipe_wr, 0, g_null))
			return C_SETUP;
		*(volatile unsigned char *)g_null = 1;
		return C_SURVIVED;
	case K_AFTER_UNMAP:
		if (upager_unmap(p, (void *)m))
			return C_SETUP;
		if (say(a->pipe_wr, 0, m))
			return C_SETUP;
		(void)m[0]; /* was resident before the unmap */
		return C_SURVIVED;
	case K_AFTER_DESTROY:
		if (upager_destroy(p))
			return C_SETUP;
		if (say(a->pipe_wr, 0, m + PS))
			return C_SETUP;
		(void)m[PS + 1];
		return C_SURVIVED;
	}
	return C_SETUP;
}

static int run(int kind, int fd, struct msg *msg)
{
	struct child_arg a = { .fd = fd, .kind = kind };
	int pfd[2];

	memset(msg, 0, sizeof(*msg));
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	a.pipe_wr = pfd[1];
	pid_t pid = t_fork(child, &a);
	T_REQUIRE(pid > 0, "fork: %s", strerror(errno));
	close(pfd[1]);
	int status = t_wait_child(pid, T_HANG_S);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	if (read(pfd[0], msg, sizeof(*msg)) != sizeof(*msg))
		msg->tag = 0;
	close(pfd[0]);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == C_SKIP)
		t_skip("io_uring is not available");
	return status;
}

static void test_control(void)
{
	int fd = t_make_file(NPAGES * PS, SEED, NULL, 0);
	struct msg msg;
	int status = run(K_CONTROL, fd, &msg);

	T_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == C_OK,
	        "%s: %s, expected exit 0", kind_name[K_CONTROL], t_status_str(status));
	/* the write reached the file */
	unsigned char b = 0;
	T_EQ(pread(fd, &b, 1, PS + 1), 1);
	T_EQ(b, 0x11);
	close(fd);
	t_summary("control child with valid accesses exits 0 and its write reaches the file");
}

static void expect_segv(int kind)
{
	int fd = t_make_file(NPAGES * PS, SEED, NULL, 0);
	struct msg msg;
	int status = run(kind, fd, &msg);

	T_CHECK(msg.tag == 'R', "%s: the child did not reach the bad access (%s; 10: setup, "
	        "11: wrong data)", kind_name[kind], t_status_str(status));
	T_CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	        "%s: child %s, expected death by SIGSEGV", kind_name[kind], t_status_str(status));
	if (kind == K_PAST_READ || kind == K_PAST_WRITE) {
		static const char *const v[] = { "first byte past the region",
			                         "byte before the region (something is mapped "
			                         "right after it)",
			                         "own PROT_NONE page (mappings on both sides)" };
		if (msg.tag == 'R' && msg.variant >= 0 && msg.variant <= 2)
			printf("    (%s: used the %s)\n", kind_name[kind], v[msg.variant]);
	}
	close(fd);
	t_summary("%s -> SIGSEGV", kind_name[kind]);
}

static void test_past_read(void)
{
	expect_segv(K_PAST_READ);
}
static void test_past_write(void)
{
	expect_segv(K_PAST_WRITE);
}
static void test_ro_write_resident(void)
{
	expect_segv(K_RO_WRITE_RESIDENT);
}
static void test_ro_write_nonresident(void)
{
	expect_segv(K_RO_WRITE_NONRESIDENT);
}
static void test_ro_private_write(void)
{
	expect_segv(K_RO_PRIVATE_WRITE);
}
static void test_null_read(void)
{
	expect_segv(K_NULL_READ);
}
static void test_null_write(void)
{
	expect_segv(K_NULL_WRITE);
}
static void test_after_unmap(void)
{
	expect_segv(K_AFTER_UNMAP);
}
static void test_after_destroy(void)
{
	expect_segv(K_AFTER_DESTROY);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "control", test_control },
		{ "read past a region", test_past_read },
		{ "write past a region", test_past_write },
		{ "write to PROT_READ, resident", test_ro_write_resident },
		{ "write to PROT_READ, non-resident", test_ro_write_nonresident },
		{ "write to PROT_READ PRIVATE", test_ro_private_write },
		{ "NULL read", test_null_read },
		{ "NULL write", test_null_write },
		{ "touch after unmap", test_after_unmap },
		{ "touch after destroy", test_after_destroy },
		{ NULL, NULL },
	};

	t_init("test_segv", 240);
	t_add_suite("segv", tests);
	return t_run_suite();
}
