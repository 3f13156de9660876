/*
 * test_security.c - what a pager must never leak.
 *
 *  - Descriptors: every descriptor upager opens (memfd, io_uring rings, the
 *    duplicate of a mapped file, its O_DIRECT twin, the scratch file of
 *    PRIVATE and alloc memory) is close-on-exec.  After pagers, mappings,
 *    allocs, PRIVATE mappings with evicted dirty pages and a WILLNEED, the
 *    program executes itself as a tiny helper (--list-fds) that lists its
 *    open descriptors: only 0, 1, 2 (and any the test program inherited
 *    without close-on-exec from whoever started it) may be there.
 *  - Recycled frames: all frames are filled with a marker, evicted, and then
 *    pages that must read as zero are faulted in: holes of a sparse file,
 *    pages past end of file (SHARED and PRIVATE), the tail of a page that
 *    ends the file, the bytes after @length in the last page, scratch pages
 *    never written, pages cut off by a truncation from another descriptor;
 *    with and without UPAGER_DIRECT_IO.  None may show the marker or any
 *    other page's bytes.
 *  - Size arithmetic: map, alloc, sync, advise, pin and unpin with lengths
 *    and addresses whose sums wrap around must fail with EINVAL, never act
 *    on a wrapped range.
 *  - Environment of a set-user-ID program: upager reads UPAGER_* and TMPDIR
 *    with secure_getenv(3), so the caller of a set-user-ID program chooses
 *    neither its settings nor its scratch directory.  The program copies
 *    itself, makes the copy set-user-ID to another user (root only: else
 *    the case is not run) and runs it as a helper (--secure-env) with
 *    bogus UPAGER_PAGE_SIZE, UPAGER_MEMORY_LIMIT, UPAGER_IO_DEPTH and
 *    UPAGER_READAHEAD, UPAGER_TMPDIR and TMPDIR naming a missing directory
 *    and UPAGER_STATS=1: it must create a pager with the defaults, keep
 *    scratch data in /var/tmp and print no statistics.  The same helper
 *    run without set-user-ID must see every variable (create fails with
 *    EINVAL, alloc with ENOENT, the statistics printed), so the case
 *    cannot pass by ignoring the environment altogether.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define PS 4096ull
static uint64_t g_seed;

/* ------------------------------------------------------- close-on-exec */

/* The helper: list open descriptors as "fd target" lines. */
static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self = d ? dirfd(d) : -1;

	if (!d)
		return 2;
	while ((e = readdir(d))) {
		char p[300], t[512];
		ssize_t n;
		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		n = readlink(p, t, sizeof(t) - 1);
		t[n > 0 ? n : 0] = 0;
		printf("%s %s\n", e->d_name, t);
	}
	closedir(d);
	return 0;
}

/* Descriptors this program inherited open across exec (e.g. make's
 * jobserver pipes): not upager's doing. */
static char g_inherited[1024];

static void note_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd < 3 || fd >= 1024 || fd == dirfd(d))
			continue;
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			g_inherited[fd] = 1;
	}
	closedir(d);
}

static void test_cloexec(void)
{
	struct upager_config c = t_config(PS, 8 * PS), cd = c;
	upager_t *p = t_create(&c), *q;
	int fd = t_make_file(32 * PS, g_seed, NULL, 0);
	unsigned char *shared, *priv, *anon, *direct;
	int pfd[2];
	char out[8192];
	size_t len = 0;

	cd.flags = UPAGER_DIRECT_IO;
	q = t_create(&cd);
	shared = upager_map(p, fd, 0, 32 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	priv = upager_map(p, fd, 0, 32 * PS, PROT_READ | PROT_WRITE, UPAGER_PRIVATE);
	anon = upager_alloc(p, 32 * PS);
	direct = upager_map(q, fd, 0, 32 * PS, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(shared && priv && anon && direct, "map/alloc: %s", strerror(errno));
	/* dirty PRIVATE and alloc pages, evicted to the scratch file */
	memset(priv, 0x5a, 16 * PS);
	memset(anon, 0xa5, 32 * PS);
	memset(shared, 0x3c, 4 * PS);
	T_RET(upager_advise(p, priv, 32 * PS, UPAGER_ADV_DONTNEED), 0);
	T_RET(upager_advise(q, direct, 32 * PS, UPAGER_ADV_WILLNEED), 0);
	T_EQ(direct[5 * PS], t_pattern(g_seed, 5 * PS));
	T_EQ(priv[3 * PS], 0x5a);

	T_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0, "pipe2");
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1); /* dup2 clears close-on-exec on 1 only */
		execl("/proc/self/exe", "test_security", "--list-fds", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (ssize_t n; (n = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0;)
		len += (size_t)n;
	out[len] = 0;
	close(pfd[0]);
	int st = t_wait_child(pid, T_HANG_S);
	T_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "helper: %s",
	        t_status_str(st));
	int leaked = 0, listed = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		int n = atoi(line);
		listed++;
		if (n <= 2 || (n < 1024 && g_inherited[n]))
			continue;
		leaked++;
		T_CHECK(0, "descriptor leaked into an exec'd program: %s", line);
	}
	T_GE(listed, 3);
	T_RET(upager_unmap(p, shared), 0);
	T_RET(upager_destroy(p), 0);
	T_RET(upager_destroy(q), 0);
	close(fd);
	t_summary("close-on-exec: after SHARED, PRIVATE (evicted dirty pages), alloc (evicted), "
	          "O_DIRECT maps and WILLNEED, an exec'd helper sees %d descriptors, %d leaked",
	          listed, leaked);
}

/* ------------------------------------------------------ recycled frames */

/* Fill every frame of @p with the marker through a scratch region, then
 * evict them (DONTNEED), so the next page-ins take recycled frames. */
static void soil_frames(upager_t *p, unsigned char *scratch, size_t frames)
{
	memset(scratch, 0xab, frames * PS);
	T_RET(upager_advise(p, scratch, frames * PS, UPAGER_ADV_DONTNEED), 0);
}

static long zero_check(const unsigned char *m, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (m[i]) {
			T_CHECK(0, "%s: byte %zu is 0x%02x, expected 0%s", what, i, m[i],
			        m[i] == 0xab ? " (the marker of a recycled frame)" : "");
			return 1;
		}
	return 0;
}

static long recycled(unsigned flags)
{
	const size_t frames = 8;
	struct upager_config c = t_config(PS, frames * PS);
	upager_t *p;
	unsigned char *scratch, *m;
	long bad = 0;
	char path[4200];
	int fd;

	c.flags = flags;
	p = t_create(&c);
	scratch = upager_alloc(p, frames * PS);
	T_REQUIRE(scratch != NULL, "alloc");

	/* a sparse file: data in page 0 only */
	fd = t_make_zero_file(64 * PS, path, sizeof(path));
	{
		unsigned char b[PS];
		t_fill(b, PS, g_seed, 0);
		T_REQUIRE(pwrite(fd, b, PS, 0) == (ssize_t)PS, "pwrite");
	}
	soil_frames(p, scratch, frames);
	m = upager_map(p, fd, 0, 64 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "map");
	T_VERIFIED(t_verify_buf(m, PS, g_seed, 0, "page 0 of the sparse file"));
	bad += zero_check(m + PS, 63 * PS, "holes of a sparse file");
	T_RET(upager_unmap(p, m), 0);

	/* past end of file: 2.5 pages of data, 8 mapped; SHARED then PRIVATE */
	T_REQUIRE(ftruncate(fd, 0) == 0, "ftruncate");
	{
		unsigned char b[3 * PS];
		t_fill(b, sizeof(b), g_seed, 0);
		T_REQUIRE(pwrite(fd, b, 2 * PS + PS / 2, 0) == (ssize_t)(2 * PS + PS / 2), "pwrite");
	}
	for (int kind = 0; kind < 2; kind++) {
		soil_frames(p, scratch, frames);
		m = upager_map(p, fd, 0, 8 * PS - 100, PROT_READ | PROT_WRITE,
		               kind ? UPAGER_PRIVATE : UPAGER_SHARED);
		T_REQUIRE(m != NULL, "map");
		T_VERIFIED(t_verify_buf(m, 2 * PS + PS / 2, g_seed, 0, "data before end of file"));
		bad += zero_check(m + 2 * PS + PS / 2, 6 * PS - PS / 2,
		                  kind ? "PRIVATE past end of file (and after @length)"
		                       : "SHARED past end of file (and after @length)");
		T_RET(upager_unmap(p, m), 0);
	}

	/* scratch memory never written */
	soil_frames(p, scratch, frames);
	m = upager_alloc(p, 16 * PS);
	T_REQUIRE(m != NULL, "alloc");
	bad += zero_check(m, 16 * PS, "alloc pages never written");
	/* written, evicted, and a neighbour never written */
	m[3 * PS] = 7;
	T_RET(upager_advise(p, m, 16 * PS, UPAGER_ADV_DONTNEED), 0);
	soil_frames(p, scratch, frames);
	T_EQ(m[3 * PS], 7);
	bad += zero_check(m + 3 * PS + 1, PS - 1, "the rest of a scratch page read back");
	bad += zero_check(m + 4 * PS, PS, "the scratch page after it");
	T_RET(upager_unmap(p, m), 0);

	/* truncated by another descriptor while mapped */
	{
		unsigned char b[8 * PS];
		t_fill(b, sizeof(b), g_seed ^ 9, 0);
		T_REQUIRE(pwrite(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b), "pwrite");
	}
	m = upager_map(p, fd, 0, 8 * PS, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "map");
	T_VERIFIED(t_verify_buf(m, 8 * PS, g_seed ^ 9, 0, "before truncation"));
	T_RET(upager_advise(p, m, 8 * PS, UPAGER_ADV_DONTNEED), 0);
	int tfd = open(path, O_RDWR | O_CLOEXEC);
	T_REQUIRE(tfd >= 0 && ftruncate(tfd, 2 * PS + 10) == 0, "truncate by another fd");
	close(tfd);
	soil_frames(p, scratch, frames);
	T_VERIFIED(t_verify_buf(m, 2 * PS + 10, g_seed ^ 9, 0, "the part left"));
	bad += zero_check(m + 2 * PS + 10, 6 * PS - 10, "pages cut off by a truncation");
	T_RET(upager_unmap(p, m), 0);

	T_RET(upager_unmap(p, scratch), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	return bad;
}

static void test_recycled_frames(void)
{
	long bad = recycled(0);
	long bad_direct = recycled(UPAGER_DIRECT_IO);

	t_summary("recycled frames (filled with a marker, evicted): holes, past end of file "
	          "(SHARED, PRIVATE), after @length, never-written scratch, cut off by "
	          "truncation: all zero (%ld cases wrong, %ld with O_DIRECT)",
	          bad, bad_direct);
}

/* ---------------------------------------------------- size arithmetic */

static void test_wrapping_sizes(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	int fd = t_make_file(16 * PS, g_seed, NULL, 0);
	unsigned char *m = upager_map(p, fd, 0, 16 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	struct upager_stats st;
	long n = 0;

	T_REQUIRE(m != NULL, "map");
	/* lengths that make addr + length wrap to just inside the region */
	const size_t lens[] = { SIZE_MAX, SIZE_MAX - PS + 1, (size_t)0 - (uintptr_t)m,
		                (size_t)0 - (uintptr_t)m + PS, (size_t)0 - (uintptr_t)m + 8 * PS,
		                ((size_t)1 << 63) + PS };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t off = 0; off < 16 * PS; off += 5 * PS) {
			T_RET(upager_sync(p, m + off, lens[i]), -EINVAL);
			T_RET(upager_pin(p, m + off, lens[i]), -EINVAL);
			T_RET(upager_unpin(p, m + off, lens[i]), -EINVAL);
			for (int adv = 0; adv <= UPAGER_ADV_DONTNEED; adv++)
				T_RET(upager_advise(p, m + off, lens[i], adv), -EINVAL);
			n += 8;
		}
	}
	/* offsets whose sum with the length wraps off_t */
	const off_t offs[] = { INT64_MAX - (off_t)PS + 1, (off_t)1 << 62, INT64_MAX / 2 + 1 };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		off_t o = offs[i] & ~(off_t)(PS - 1);
		errno = 0;
		void *x = upager_map(p, fd, o, (size_t)((uint64_t)INT64_MAX - (uint64_t)o + PS),
		                     PROT_READ, UPAGER_SHARED);
		T_CHECK(x == NULL && errno == EINVAL, "map offset %lld with a length that wraps: %p "
		                                      "errno %d",
		        (long long)o, x, errno);
		n++;
	}
	T_FAILS(upager_alloc(p, SIZE_MAX - PS + 2), EINVAL); /* rounds up to 0 */
	n++;
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 0);
	T_EQ(st.nr_resident, 0); /* no call acted on a wrapped range */
	T_VERIFIED(t_verify_fd(fd, 0, 16 * PS, g_seed));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("size arithmetic: %ld calls with wrapping lengths/offsets, all EINVAL, nothing "
	          "pinned, read or written",
	          n);
}

/* ------------------------------------------- set-user-ID environment */

/* Where the helper's UPAGER_TMPDIR and TMPDIR point: a missing directory. */
#define MISSING_DIR "/nonexistent-upager-test-dir"

/*
 * The helper (--secure-env): a pager whose every setting comes from the
 * environment, then scratch memory of a pager with an explicit config:
 * written, evicted to the scratch file, read back.  Prints one line
 * "at_secure A create C alloc E data D stats N": AT_SECURE, the first
 * upager_create's result, the errno of upager_alloc (0: it worked), 1 if
 * the scratch data read back intact (0 if not, -1 if not tried) and the
 * bytes upager_destroy printed to stderr.
 */
static int secure_env_helper(void)
{
	struct upager_config c = t_config(PS, 16 * PS), env = { 0 };
	upager_t *p = NULL, *q = NULL;
	int create_env, alloc_err = 0, data = -1, pfd[2], saved;
	unsigned char *m;
	char buf[8192];
	ssize_t printed;

	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) != 0 || (saved = dup(2)) < 0)
		return 2;
	create_env = upager_create(&p, &env, sizeof(env));
	if (upager_create(&q, &c, sizeof(c)) != 0)
		return 3;
	m = upager_alloc(q, 4 * PS);
	if (!m) {
		alloc_err = errno;
	} else {
		t_fill(m, 4 * PS, 0x5e7, 0);
		data = upager_advise(q, m, 4 * PS, UPAGER_ADV_DONTNEED) == 0 &&
		       t_verify_buf(m, 4 * PS, 0x5e7, 0, "scratch memory") < 0;
		if (upager_unmap(q, m) != 0)
			data = 0;
	}
	/* UPAGER_STATS=1 makes destroy print to stderr: catch it */
	fflush(stderr);
	dup2(pfd[1], 2);
	if (create_env == 0)
		upager_destroy(p);
	upager_destroy(q);
	fflush(stderr);
	dup2(saved, 2);
	printed = read(pfd[0], buf, sizeof(buf));
	printf("at_secure %lu create %d alloc %d data %d stats %zd\n", getauxval(AT_SECURE),
	       create_env, alloc_err, data, printed > 0 ? printed : 0);
	fflush(stdout);
	/* No exit handlers: in an ASan build, LeakSanitizer's would fail in a
	 * set-user-ID process (it cannot read its own /proc files). */
	_exit(0);
}

struct secure_run {
	int ok; /* the helper ran and printed its line */
	unsigned long at_secure;
	int create, alloc, data;
	long stats;
};

/* Run @path as the helper with the hostile environment. */
static struct secure_run run_secure_helper(const char *path)
{
	static char asan[512];
	char *envp[] = { "UPAGER_PAGE_SIZE=bogus",
		         "UPAGER_MEMORY_LIMIT=1x",
		         "UPAGER_IO_DEPTH=0",
		         "UPAGER_READAHEAD=never",
		         "UPAGER_TMPDIR=" MISSING_DIR,
		         "TMPDIR=" MISSING_DIR,
		         "UPAGER_STATS=1",
		         "PATH=/usr/bin:/bin",
		         asan, /* the sanitizers' options, when set */
		         NULL };
	struct secure_run r = { 0 };
	char out[512];
	size_t len = 0;
	int pfd[2];

	if (getenv("ASAN_OPTIONS"))
		snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s", getenv("ASAN_OPTIONS"));
	else
		envp[8] = NULL;
	T_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0, "pipe2");
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		execve(path, (char *[]){ "test_security", "--secure-env", NULL }, envp);
		_exit(127);
	}
	close(pfd[1]);
	for (ssize_t n; (n = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0;)
		len += (size_t)n;
	out[len] = 0;
	close(pfd[0]);
	int st = t_wait_child(pid, T_HANG_S);
	T_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "helper %s: %s", path,
	        t_status_str(st));
	r.ok = sscanf(out, "at_secure %lu create %d alloc %d data %d stats %ld", &r.at_secure,
	              &r.create, &r.alloc, &r.data, &r.stats) == 5;
	T_CHECK(r.ok, "helper %s printed \"%s\"", path, out);
	return r;
}

static void test_setuid_env(void)
{
	const char *dir;
	char copy[4300], self[4096];
	struct statvfs vfs;
	struct stat vt;
	ssize_t n;

	if (geteuid() != 0) {
		t_summary("set-user-ID environment: not run (making a set-user-ID copy of the "
		          "program needs root)");
		return;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
		t_summary("set-user-ID environment: not run (no_new_privs is set: exec ignores "
		          "set-user-ID)");
		return;
	}
	dir = t_tmpdir();
	if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
		t_summary("set-user-ID environment: not run (%s is mounted nosuid)", dir);
		return;
	}
	/* the set-user-ID helper runs as another user: its scratch file goes
	 * to /var/tmp, which must be writable by all */
	if (stat("/var/tmp", &vt) != 0 || (vt.st_mode & 01777) != 01777) {
		t_summary("set-user-ID environment: not run (/var/tmp is not mode 1777)");
		return;
	}

	/* The control: the helper as it is, not set-user-ID, sees it all. */
	struct secure_run plain = run_secure_helper("/proc/self/exe");
	T_EQ(plain.at_secure, 0);
	T_RET(plain.create, -EINVAL);
	T_EQ(plain.alloc, ENOENT); /* UPAGER_TMPDIR */
	T_GE(plain.stats, 1);      /* UPAGER_STATS */

	/* A copy of this program, set-user-ID to nobody (65534). */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	T_REQUIRE(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = 0;
	snprintf(copy, sizeof(copy), "%s/setuid-helper", dir);
	int in = open(self, O_RDONLY | O_CLOEXEC);
	int out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	T_REQUIRE(in >= 0 && out >= 0, "copy %s to %s: %s", self, copy, strerror(errno));
	char buf[65536];
	int copied = 1;
	for (ssize_t r; (r = read(in, buf, sizeof(buf))) != 0;)
		if (r < 0 || write(out, buf, (size_t)r) != r) {
			copied = 0;
			break;
		}
	close(in);
	/* chown clears the set-user-ID bit: the mode comes after it */
	int made = copied && fchown(out, 65534, 65534) == 0 && fchmod(out, 04755) == 0;
	close(out);
	struct secure_run suid = { 0 };
	if (made)
		suid = run_secure_helper(copy);
	unlink(copy);
	T_REQUIRE(made, "make %s set-user-ID: %s", copy, strerror(errno));
	if (suid.ok && suid.at_secure == 0) {
		t_summary("set-user-ID environment: not run (exec ignored the set-user-ID bit); "
		          "control: create %d, alloc errno %d, %ld bytes of statistics",
		          plain.create, plain.alloc, plain.stats);
		return;
	}
	T_EQ(suid.at_secure, 1);
	T_RET(suid.create, 0); /* defaults, not the bogus values */
	T_EQ(suid.alloc, 0);   /* scratch file in /var/tmp, not MISSING_DIR */
	T_EQ(suid.data, 1);    /* written, evicted, read back */
	T_EQ(suid.stats, 0);   /* UPAGER_STATS=1 ignored */
	t_summary("set-user-ID environment: bogus UPAGER_PAGE_SIZE/MEMORY_LIMIT/IO_DEPTH/"
	          "READAHEAD, UPAGER_TMPDIR and TMPDIR " MISSING_DIR ", UPAGER_STATS=1: the "
	          "set-user-ID helper ignored them all (create %d, alloc %d, scratch data "
	          "intact, %ld bytes of statistics); without set-user-ID create %d, alloc "
	          "errno %d, %ld bytes of statistics",
	          suid.create, suid.alloc, suid.stats, plain.create, plain.alloc, plain.stats);
}

int main(int argc, char **argv)
{
	static const struct t_test tests[] = {
		{ "close-on-exec", test_cloexec },
		{ "recycled frames", test_recycled_frames },
		{ "wrapping sizes", test_wrapping_sizes },
		{ "set-user-ID environment", test_setuid_env },
		{ NULL, NULL },
	};

	if (argc > 1 && !strcmp(argv[1], "--list-fds"))
		return list_fds();
	if (argc > 1 && !strcmp(argv[1], "--secure-env"))
		return secure_env_helper();
	note_inherited();
	t_init("test_security", 120);
	g_seed = t_seed();
	t_add_suite("security", tests);
	return t_run_suite();
}
