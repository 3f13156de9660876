/*
 * test_enospc.c - real write errors from the kernel, not injected.
 *
 * ENOSPC: a 256 KiB tmpfs is mounted for the test on a mkdtemp(3)
 * directory, in a private mount namespace where the kernel allows one (so
 * the mount dies with the process whatever happens), and unmounted at the
 * end, by the normal exit path and by the fatal-signal path of helpers.c
 * alike.  Mounting needs root; another user first enters a user namespace
 * of its own, where it may mount a tmpfs.  Where neither works (a kernel
 * or a container that forbids user namespaces) these cases are not run,
 * and the program says so; the EFBIG cases run regardless.  A filler file
 * takes every
 * free block, then the pages of a SHARED mapping of a file there are
 * dirtied: their write-back cannot allocate blocks.  upager_sync() (and
 * unmap, DONTNEED, destroy) must return -ENOSPC, leave the pages dirty and
 * intact in memory, and once the filler is deleted, sync returns 0 and the
 * file holds the data.  With free space for part of a page, a failed
 * write-back leaves a prefix of the page in the file (the page stays dirty
 * and the next sync writes it whole).  Scratch memory (upager_alloc) whose
 * scratch file lives there gets -ENOSPC from DONTNEED and keeps its data.
 *
 * EFBIG: RLIMIT_FSIZE (with SIGXFSZ ignored) below the size that
 * write-back would give a file: sync returns -EFBIG, the bytes under the
 * limit reach the file, the rest stays dirty in memory, and once the limit
 * is raised the next sync writes it.  Any user may lower its own
 * RLIMIT_FSIZE and raise it back up to the hard limit: these cases need
 * no privilege, and run as any user.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define KiB 1024ull

static char g_mnt[4200];
static volatile sig_atomic_t g_mounted;
static int g_private_ns;
static uint64_t g_seed;

/* Async-signal-safe: runs from t_cleanup() and from the signal path. */
static void unmount_fs(void)
{
	if (g_mounted) {
		umount2(g_mnt, MNT_DETACH);
		g_mounted = 0;
	}
	if (g_mnt[0])
		rmdir(g_mnt);
}

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/*
 * Not root: become root of a new user namespace, with this user and group
 * mapped to 0, where a tmpfs may be mounted (Linux 3.8 and later, unless
 * the system forbids unprivileged user namespaces).  Single-threaded
 * processes only.  0, or -errno.
 */
static int enter_user_ns(void)
{
	char map[64];
	unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();

	if (unshare(CLONE_NEWUSER) != 0)
		return -errno;
	/* gid_map may be written only once setgroups(2) is denied */
	snprintf(map, sizeof(map), "0 %u 1", uid);
	if (!write_proc("/proc/self/uid_map", map))
		return -errno;
	snprintf(map, sizeof(map), "0 %u 1", gid);
	if (!write_proc("/proc/self/setgroups", "deny") || !write_proc("/proc/self/gid_map", map))
		return -errno;
	return 0;
}

/* Mount the small tmpfs: 1, or 0 with the reason in @why. */
static int mount_fs(char *why, size_t whylen)
{
	int userns = 0;

	if (geteuid() != 0) {
		int rc = enter_user_ns();
		if (rc < 0) {
			snprintf(why, whylen, "not root, and no user namespace to mount a tmpfs in (%s)",
			         strerror(-rc));
			return 0;
		}
		userns = 1;
	}
	/* A private mount namespace: the mount goes with the process even if
	 * it is killed.  Not essential (the cleanup unmounts anyway). */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		g_private_ns = 1;
	snprintf(g_mnt, sizeof(g_mnt), "%s/tmpfs.XXXXXX", t_tmpdir());
	if (!mkdtemp(g_mnt)) {
		snprintf(why, whylen, "mkdtemp %s: %s", g_mnt, strerror(errno));
		g_mnt[0] = 0;
		return 0;
	}
	t_on_cleanup(unmount_fs);
	if (mount("upager-test", g_mnt, "tmpfs", 0, "size=256k,mode=0700") != 0) {
		snprintf(why, whylen, "mount -t tmpfs -o size=256k %s: %s", g_mnt, strerror(errno));
		return 0;
	}
	g_mounted = 1;
	printf("  tmpfs of 256 KiB on %s%s%s\n", g_mnt,
	       g_private_ns ? " (private mount namespace)" : "",
	       userns ? " (in a user namespace: not run as root)" : "");
	return 1;
}

static int open_in_fs(const char *name, int flags)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/%s", g_mnt, name);
	return open(p, flags | O_CLOEXEC, 0600);
}

static void unlink_in_fs(const char *name)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/%s", g_mnt, name);
	unlink(p);
}

/* Fill the file system, leaving @leave bytes (a multiple of 4 KiB) free:
 * write a filler until ENOSPC, then shorten it. */
static void fill_fs(size_t leave)
{
	static unsigned char buf[4096];
	int fd = open_in_fs("filler", O_RDWR | O_CREAT | O_TRUNC);
	off_t size = 0;

	T_REQUIRE(fd >= 0, "create filler: %s", strerror(errno));
	memset(buf, 0xf1, sizeof(buf));
	for (;;) {
		ssize_t w = pwrite(fd, buf, sizeof(buf), size);
		if (w <= 0)
			break;
		size += w;
	}
	T_CHECK(errno == ENOSPC, "filler stopped with %s, expected ENOSPC", strerror(errno));
	if (leave)
		T_REQUIRE(ftruncate(fd, size > (off_t)leave ? size - (off_t)leave : 0) == 0,
		          "ftruncate filler");
	close(fd);
}

/* ----------------------------------------------------------- ENOSPC */

static void test_enospc_sync(void)
{
	const size_t ps = 4096, npages = 16, len = npages * ps;
	struct upager_config c = t_config(ps, 64 * ps);
	upager_t *p = t_create(&c);
	struct upager_stats st;
	int fd = open_in_fs("data", O_RDWR | O_CREAT | O_TRUNC);
	unsigned char *m;
	uint64_t seed = g_seed ^ 0x11;

	T_REQUIRE(fd >= 0, "create data: %s", strerror(errno));
	/* an empty file: write-back has to allocate every block */
	m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	fill_fs(0);
	t_fill(m, len, seed, 0);

	T_RET(upager_sync(p, m, 0), -ENOSPC);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, npages);
	T_GE(st.io_errors, 1);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "memory after sync -ENOSPC"));
	/* every later sync retries and reports it */
	T_RET(upager_sync(p, m, 0), -ENOSPC);
	T_RET(upager_sync(p, m + 3 * ps, ps), -ENOSPC);
	/* unmap fails and keeps the region intact */
	T_RET(upager_unmap(p, m), -ENOSPC);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "memory after unmap -ENOSPC"));
	t_stats(p, &st);
	T_EQ(st.nr_dirty, npages);

	/* room again */
	unlink_in_fs("filler");
	T_RET(upager_sync(p, m, 0), 0);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, 0);
	T_EQ(t_file_size(fd), (int64_t)len);
	T_VERIFIED(t_verify_fd(fd, 0, len, seed));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	T_VERIFIED(t_verify_fd(fd, 0, len, seed));
	close(fd);
	unlink_in_fs("data");
	t_summary("ENOSPC (real, full tmpfs): sync -ENOSPC x3, unmap -ENOSPC, %zu pages stay "
	          "dirty and intact; after deleting the filler sync 0 and the file holds the "
	          "data",
	          npages);
}

/* Free space for part of a page: a prefix is written, the page stays
 * dirty, the next sync writes it whole. */
static void test_enospc_partial_page(void)
{
	const size_t ps = 64 * KiB, len = 2 * ps;
	struct upager_config c = t_config(ps, 8 * ps);
	upager_t *p = t_create(&c);
	struct upager_stats st;
	int fd = open_in_fs("data", O_RDWR | O_CREAT | O_TRUNC);
	unsigned char *m;
	uint64_t seed = g_seed ^ 0x22;

	T_REQUIRE(fd >= 0, "create data: %s", strerror(errno));
	m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	fill_fs(20 * KiB); /* room for 20 KiB of the 128 KiB */
	t_fill(m, len, seed, 0);
	T_RET(upager_sync(p, m, 0), -ENOSPC);
	t_stats(p, &st);
	T_GE(st.nr_dirty, 1);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "memory after a partly written page"));
	int64_t fsize = t_file_size(fd);
	printf("  after the failed sync the file has %lld bytes (free space was 20 KiB)\n",
	       (long long)fsize);
	T_CHECK(fsize >= 0 && fsize < (int64_t)ps,
	        "file size %lld after a write-back that ran out of space", (long long)fsize);
	if (fsize > 0)
		T_VERIFIED(t_verify_fd(fd, 0, (uint64_t)fsize, seed)); /* a prefix of the new data */
	unlink_in_fs("filler");
	T_RET(upager_sync(p, m, 0), 0);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, 0);
	T_VERIFIED(t_verify_fd(fd, 0, len, seed));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	unlink_in_fs("data");
	t_summary("ENOSPC with room for part of a 64 KiB page: sync -ENOSPC, the file holds a "
	          "prefix (%lld bytes) of the new data, the page stays dirty; then sync writes "
	          "it whole",
	          (long long)fsize);
}

/* DONTNEED and eviction write-back under ENOSPC, and destroy. */
static void test_enospc_dontneed_destroy(void)
{
	const size_t ps = 4096, npages = 6, len = npages * ps;
	struct upager_config c = t_config(ps, 8 * ps);
	upager_t *p = t_create(&c);
	struct upager_stats st;
	int fd = open_in_fs("data", O_RDWR | O_CREAT | O_TRUNC);
	unsigned char *m;
	uint64_t seed = g_seed ^ 0x33;

	T_REQUIRE(fd >= 0, "create data: %s", strerror(errno));
	m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	fill_fs(0);
	t_fill(m, len, seed, 0);
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), -ENOSPC);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, npages);
	T_EQ(st.nr_resident, npages);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "memory after DONTNEED -ENOSPC"));
	unlink_in_fs("filler");
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, 0);
	T_EQ(st.nr_resident, 0);
	T_VERIFIED(t_verify_fd(fd, 0, len, seed));
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "re-read after DONTNEED"));

	/* destroy reports ENOSPC (and then the data is lost: documented).  A
	 * second, empty file: its pages need new blocks. */
	int fd2 = open_in_fs("data2", O_RDWR | O_CREAT | O_TRUNC);
	T_REQUIRE(fd2 >= 0, "create data2: %s", strerror(errno));
	unsigned char *m2 = upager_map(p, fd2, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m2 != NULL, "upager_map: %s", strerror(errno));
	t_fill(m2, len, seed ^ 1, 0);
	fill_fs(0);
	T_RET(upager_destroy(p), -ENOSPC);
	unlink_in_fs("filler");
	close(fd);
	close(fd2);
	unlink_in_fs("data");
	unlink_in_fs("data2");
	t_summary("ENOSPC on DONTNEED: -ENOSPC, pages stay resident, dirty and intact; after "
	          "deleting the filler DONTNEED 0, file right, re-read right; destroy -ENOSPC");
}

/* Scratch memory whose scratch file is on the full file system. */
static void test_enospc_scratch(void)
{
	const size_t ps = 4096, npages = 8, len = npages * ps;
	struct upager_config c = t_config(ps, 16 * ps);
	upager_t *p;
	struct upager_stats st;
	unsigned char *m;
	uint64_t seed = g_seed ^ 0x44;

	t_env_set("UPAGER_TMPDIR", g_mnt);
	p = t_create(&c);
	m = upager_alloc(p, len);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	t_fill(m, len, seed, 0);
	fill_fs(0);
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), -ENOSPC);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, npages);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "scratch memory after DONTNEED -ENOSPC"));
	unlink_in_fs("filler");
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
	t_stats(p, &st);
	T_EQ(st.nr_resident, 0);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "scratch memory read back"));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	t_env_restore();
	t_summary("ENOSPC on the scratch file of upager_alloc memory: DONTNEED -ENOSPC, data "
	          "intact; after deleting the filler DONTNEED 0 and the data reads back");
}

/* ------------------------------------------------------------- EFBIG */

static void test_efbig(void)
{
	const size_t ps = 4096, npages = 16, len = npages * ps;
	const rlim_t limit = 6 * ps;
	struct upager_config c = t_config(ps, 64 * ps), c2 = t_config(ps, 8 * ps);
	/* both pagers before the limit is lowered: see test_create_fsize */
	upager_t *p = t_create(&c), *q = t_create(&c2);
	struct upager_stats st;
	struct rlimit old, lim;
	int fd = t_make_file(4 * ps, g_seed, NULL, 0), fd2 = t_make_file(4 * ps, g_seed, NULL, 0);
	unsigned char *m, *m2;
	uint64_t seed = g_seed ^ 0x55;
	void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);

	T_REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
	m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	t_fill(m, len, seed, 0);
	/* and a pager whose destroy will have to write past the limit; dirty
	 * before the limit is lowered (see test_create_fsize) */
	m2 = upager_map(q, fd2, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m2 != NULL, "upager_map: %s", strerror(errno));
	memset(m2 + 10 * ps, 0x5a, ps);
	lim = old;
	lim.rlim_cur = limit;
	T_REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit: %s", strerror(errno));
	int r = upager_sync(p, m, 0);
	int r2 = upager_unmap(p, m);
	int r3 = upager_destroy(q);
	t_stats(p, &st);
	T_REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0, "setrlimit back: %s", strerror(errno));
	T_RET(r, -EFBIG);
	T_RET(r2, -EFBIG);
	T_RET(r3, -EFBIG);
	T_GE(st.nr_dirty, 1);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "memory after sync -EFBIG"));
	T_CHECK(t_file_size(fd) <= (int64_t)limit, "file size %lld above RLIMIT_FSIZE %llu",
	        (long long)t_file_size(fd), (unsigned long long)limit);
	T_VERIFIED(t_verify_fd(fd, 0, (uint64_t)t_file_size(fd), seed)); /* what was written */
	T_RET(upager_sync(p, m, 0), 0);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, 0);
	T_VERIFIED(t_verify_fd(fd, 0, len, seed));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	signal(SIGXFSZ, old_xfsz);
	close(fd);
	close(fd2);
	t_summary("EFBIG (RLIMIT_FSIZE 24 KiB, SIGXFSZ ignored): sync, unmap and destroy "
	          "-EFBIG, data under the limit written, the rest dirty and intact; after raising "
	          "the limit sync 0 and the file holds all %zu pages",
	          npages);
}

/*
 * upager under a finite RLIMIT_FSIZE (`ulimit -f`, common in batch
 * systems), well above the size of every file the program writes.
 * upager's memfd is a file too, and RLIMIT_FSIZE applies to it: it grows
 * with the regions (packed at page alignment, freed ranges reused), and a
 * map or alloc that would take it past the limit fails with EFBIG rather
 * than raising SIGXFSZ.  Regions well below the limit work.
 * Checked in children: one with SIGXFSZ at its default action, one with it
 * ignored; each makes a pager, maps a file and allocates scratch memory
 * (the second region sits past 1 MiB in the memfd), touches both, unmaps.
 */
enum { FS_OK = 0, FS_CREATE = 20, FS_SETUP = 21, FS_DATA = 22 };

static int g_fsize_fd = -1;

static int child_create_fsize(void *arg)
{
	struct rlimit lim = { 1ull << 20, 1ull << 20 }; /* 1 MiB */
	struct upager_config c = t_config(4096, 64 * 4096);
	upager_t *p = NULL;
	int fd = g_fsize_fd;
	int r;

	signal(SIGXFSZ, arg ? SIG_IGN : SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
		return FS_SETUP;
	r = upager_create(&p, &c, sizeof(c));
	if (r != 0) {
		fprintf(stderr, "  upager_create under RLIMIT_FSIZE 1 MiB: %d (%s)\n", r,
		        upager_strerror(r));
		return FS_CREATE;
	}
	unsigned char *m = upager_map(p, fd, 0, 8 * 4096, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	unsigned char *a = upager_alloc(p, 8 * 4096);
	if (!m || !a)
		return FS_SETUP;
	if (t_verify_buf(m, 8 * 4096, g_seed, 0, "file map under RLIMIT_FSIZE") >= 0)
		return FS_DATA;
	memset(a, 0x77, 8 * 4096);
	if (a[5 * 4096] != 0x77)
		return FS_DATA;
	/* A store (the page is written back at unmap) that leaves the file's
	 * bytes as they were, for the next child. */
	m[100] = t_pattern(g_seed, 100);
	if (upager_unmap(p, m) || upager_unmap(p, a) || upager_destroy(p))
		return FS_SETUP;
	return FS_OK;
}

static void test_create_fsize(void)
{
	int st_dfl, st_ign;
	char s_dfl[64], s_ign[64];

	g_fsize_fd = t_make_file(8 * 4096, g_seed, NULL, 0);
	pid_t pid = t_fork(child_create_fsize, NULL);

	T_REQUIRE(pid > 0, "fork");
	st_dfl = t_wait_child(pid, T_HANG_S);
	pid = t_fork(child_create_fsize, (void *)1);
	T_REQUIRE(pid > 0, "fork");
	st_ign = t_wait_child(pid, T_HANG_S);
	T_CHECK(st_dfl != -1 && WIFEXITED(st_dfl) && WEXITSTATUS(st_dfl) == FS_OK,
	        "upager with RLIMIT_FSIZE 1 MiB and SIGXFSZ at its default: child %s "
	        "(expected exit 0; 20: create failed; SIGBUS: a page-in failed)",
	        t_status_str(st_dfl));
	T_CHECK(st_ign != -1 && WIFEXITED(st_ign) && WEXITSTATUS(st_ign) == FS_OK,
	        "upager with RLIMIT_FSIZE 1 MiB and SIGXFSZ ignored: child %s "
	        "(expected exit 0; 20: create failed; SIGBUS: a page-in failed)",
	        t_status_str(st_ign));
	snprintf(s_dfl, sizeof(s_dfl), "%s", t_status_str(st_dfl));
	snprintf(s_ign, sizeof(s_ign), "%s", t_status_str(st_ign));
	t_summary("upager under RLIMIT_FSIZE 1 MiB (create, map, alloc, touch): child with "
	          "SIGXFSZ default %s; with SIGXFSZ ignored %s",
	          s_dfl, s_ign);
	close(g_fsize_fd);
}

int main(void)
{
	static const struct t_test enospc[] = {
		{ "ENOSPC: sync and unmap", test_enospc_sync },
		{ "ENOSPC: part of a page", test_enospc_partial_page },
		{ "ENOSPC: DONTNEED and destroy", test_enospc_dontneed_destroy },
		{ "ENOSPC: scratch file", test_enospc_scratch },
		{ NULL, NULL },
	};
	static const struct t_test efbig[] = {
		{ "EFBIG: RLIMIT_FSIZE", test_efbig },
		{ "upager_create under RLIMIT_FSIZE", test_create_fsize },
		{ NULL, NULL },
	};

	char why[4400];

	t_init("test_enospc", 120);
	g_seed = t_seed();
	/* before any thread: unshare(CLONE_NEWUSER) and (CLONE_NEWNS) need one */
	if (mount_fs(why, sizeof(why))) {
		t_add_suite("enospc", enospc);
	} else {
		printf("  ENOSPC cases not run: %s\n", why);
		t_summary("ENOSPC cases not run (%s); the EFBIG cases run", why);
	}
	t_add_suite("efbig", efbig);
	return t_run_suite();
}
