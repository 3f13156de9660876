/*
 * test_badinput.c - wrong arguments that tests/test_api.c does not cover
 * already: every public function must return its documented error and
 * never crash.
 *
 *  - descriptors: O_APPEND with a SHARED writable mapping (EACCES), O_PATH
 *    (not open for reading: EBADF), INT_MIN / INT_MAX, a socket, an
 *    eventfd, a memfd (a regular file: works);
 *  - memfds sealed against writes (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE): a
 *    SHARED writable map is refused with EPERM, as mmap(2) refuses it
 *    (else every write-back would fail for ever); a read-only map reads
 *    the memfd's bytes, and a PRIVATE writable map keeps its writes in the
 *    scratch file and leaves the memfd as it was;
 *  - offsets near OFF_MAX: INT64_MAX, the last aligned offset with length 1
 *    (accepted; the page reads as zeros; write-back cannot extend the file
 *    there, so sync, unmap and destroy must report an error, never 0);
 *  - lengths: exactly 1 TiB (accepted, the last page works), sizes near
 *    SIZE_MAX whose rounding up would wrap;
 *  - addresses near the top of the address space and lengths that wrap,
 *    for sync, advise, pin and unpin; another pager's region;
 *  - upager_print_stats to a descriptor open only for reading, and to a
 *    pipe without a reader (SIGPIPE ignored);
 *  - garbage in UPAGER_* variables beyond test_api's: sizes whose suffix
 *    multiplication overflows 64 bits, UPAGER_READAHEAD spellings,
 *    UPAGER_TMPDIR (relative, too long, /proc, /dev/null, empty) and
 *    UPAGER_STATS (only "1" prints).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define PS 4096ull
#define TiB (1ull << 40)
static uint64_t g_seed;

/* ------------------------------------------------------------ descriptors */

static void test_descriptors(void)
{
	struct upager_config c = t_config(PS, 64 * PS);
	upager_t *p = t_create(&c);
	char path[4200];
	int fd = t_make_file(8 * PS, g_seed, path, sizeof(path));
	const int RW = PROT_READ | PROT_WRITE;
	unsigned char *m;

	/* O_APPEND: pwrite would append, so a SHARED writable map is refused;
	 * reading, or a PRIVATE map, is fine */
	int afd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	T_REQUIRE(afd >= 0, "open O_APPEND");
	T_FAILS(upager_map(p, afd, 0, 8 * PS, RW, UPAGER_SHARED), EACCES);
	m = upager_map(p, afd, 0, 8 * PS, PROT_READ, UPAGER_SHARED);
	T_CHECK(m != NULL, "O_APPEND, PROT_READ, SHARED: %s", strerror(errno));
	if (m) {
		T_VERIFIED(t_verify_buf(m, 8 * PS, g_seed, 0, "O_APPEND read-only map"));
		T_RET(upager_unmap(p, m), 0);
	}
	m = upager_map(p, afd, 0, 8 * PS, RW, UPAGER_PRIVATE);
	T_CHECK(m != NULL, "O_APPEND, RW, PRIVATE: %s", strerror(errno));
	if (m) {
		m[5] = 1;
		T_RET(upager_unmap(p, m), 0);
	}
	close(afd);
	T_VERIFIED(t_verify_fd(fd, 0, 8 * PS, g_seed));

	/* O_PATH: not open for reading (EBADF, as for O_WRONLY) */
	int pfd = open(path, O_PATH | O_CLOEXEC);
	T_REQUIRE(pfd >= 0, "open O_PATH");
	errno = 0;
	m = upager_map(p, pfd, 0, 8 * PS, PROT_READ, UPAGER_SHARED);
	/* LIBRARY BUG (reported): upager_map() accepts an O_PATH descriptor
	 * (its access mode reads as O_RDONLY); every page-in then fails and a
	 * touch raises SIGBUS. */
	T_CHECK(m == NULL && errno == EBADF,
	        "upager_map(O_PATH descriptor): %p errno %d (%s), expected NULL errno EBADF "
	        "(it is not open for reading)",
	        (void *)m, errno, strerror(errno));
	if (m)
		T_RET(upager_unmap(p, m), 0); /* never touched */
	close(pfd);

	/* descriptors that are not files, or not open */
	T_FAILS(upager_map(p, INT_MIN, 0, PS, PROT_READ, UPAGER_SHARED), EBADF);
	T_FAILS(upager_map(p, INT_MAX, 0, PS, PROT_READ, UPAGER_SHARED), EBADF);
	int sv[2];
	T_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	T_FAILS(upager_map(p, sv[0], 0, PS, PROT_READ, UPAGER_SHARED), EINVAL);
	close(sv[0]);
	close(sv[1]);
	int efd = eventfd(0, EFD_CLOEXEC);
	if (efd >= 0) {
		T_FAILS(upager_map(p, efd, 0, PS, PROT_READ, UPAGER_SHARED), EINVAL);
		close(efd);
	}

	/* a memfd is a regular file: it works */
	int mfd = memfd_create("badinput", MFD_CLOEXEC);
	T_REQUIRE(mfd >= 0, "memfd_create");
	T_REQUIRE(ftruncate(mfd, 4 * PS) == 0, "ftruncate");
	m = upager_map(p, mfd, 0, 4 * PS, RW, UPAGER_SHARED);
	T_CHECK(m != NULL, "upager_map(memfd): %s", strerror(errno));
	if (m) {
		t_fill(m, 4 * PS, g_seed ^ 1, 0);
		T_RET(upager_sync(p, m, 0), 0);
		T_VERIFIED(t_verify_fd(mfd, 0, 4 * PS, g_seed ^ 1));
		T_RET(upager_unmap(p, m), 0);
	}
	T_RET(upager_destroy(p), 0);
	close(mfd);
	close(fd);
	t_summary("descriptors: O_APPEND+SHARED+WRITE EACCES (read-only and PRIVATE fine), O_PATH "
	          "EBADF, INT_MIN/INT_MAX EBADF, socket/eventfd EINVAL, memfd works");
}

/* ------------------------------------------------------- sealed memfds */

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif

/*
 * A memfd of @npages pages holding pattern @seed, sealed with @seal.
 * Return the descriptor, or -1 if the kernel does not know the seal.
 */
static int sealed_memfd(size_t npages, uint64_t seed, int seal)
{
	int fd = memfd_create("badinput-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	unsigned char *buf = malloc(npages * PS);

	T_REQUIRE(fd >= 0 && buf, "memfd_create(MFD_ALLOW_SEALING): %s", strerror(errno));
	t_fill(buf, npages * PS, seed, 0);
	T_REQUIRE(pwrite(fd, buf, npages * PS, 0) == (ssize_t)(npages * PS), "pwrite: %s",
	          strerror(errno));
	free(buf);
	if (fcntl(fd, F_ADD_SEALS, seal) != 0) {
		T_REQUIRE(errno == EINVAL, "F_ADD_SEALS %#x: %s", seal, strerror(errno));
		close(fd);
		return -1;
	}
	T_REQUIRE((fcntl(fd, F_GET_SEALS) & seal) == seal, "F_GET_SEALS");
	/* the seal holds: the kernel itself refuses a write */
	T_REQUIRE(pwrite(fd, "x", 1, 0) == -1 && errno == EPERM, "write to a sealed memfd");
	return fd;
}

/*
 * For each write seal: SHARED + PROT_WRITE fails with EPERM at map time;
 * SHARED read-only reads the memfd's bytes; PRIVATE + PROT_WRITE works,
 * its writes survive eviction (they go to the scratch file) and the memfd
 * keeps its bytes.  Every byte is compared with the pattern.
 */
static void test_sealed_memfd(void)
{
	static const struct {
		int seal;
		const char *name;
	} seals[] = { { F_SEAL_WRITE, "F_SEAL_WRITE" },
		      { F_SEAL_FUTURE_WRITE, "F_SEAL_FUTURE_WRITE" } };
	const size_t npages = 8, len = npages * PS;
	const int RW = PROT_READ | PROT_WRITE;
	char done[128] = "";

	for (size_t i = 0; i < sizeof(seals) / sizeof(seals[0]); i++) {
		struct upager_config c = t_config(PS, 4 * PS); /* fewer frames than pages */
		upager_t *p = t_create(&c);
		uint64_t seed = g_seed ^ (0x5ea1 + i), wseed = seed ^ 0xffff;
		int fd = sealed_memfd(npages, seed, seals[i].seal);
		unsigned char *m;

		if (fd < 0) {
			printf("  %s: not supported by this kernel, not tested\n", seals[i].name);
			T_RET(upager_destroy(p), 0);
			continue;
		}
		/* SHARED and writable: refused, as by mmap(2) */
		T_FAILS(upager_map(p, fd, 0, len, RW, UPAGER_SHARED), EPERM);
		void *k = mmap(NULL, len, RW, MAP_SHARED, fd, 0);
		T_CHECK(k == MAP_FAILED && errno == EPERM, "%s: mmap(2) MAP_SHARED PROT_WRITE: %s",
		        seals[i].name, k == MAP_FAILED ? strerror(errno) : "mapped");
		if (k != MAP_FAILED)
			munmap(k, len);

		/* SHARED read-only: the memfd's bytes, also after eviction */
		m = upager_map(p, fd, 0, len, PROT_READ, UPAGER_SHARED);
		T_CHECK(m != NULL, "%s: read-only SHARED map: %s", seals[i].name, strerror(errno));
		if (m) {
			T_VERIFIED(t_verify_buf(m, len, seed, 0, "sealed memfd, read-only map"));
			T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
			T_VERIFIED(t_verify_buf(m, len, seed, 0, "sealed memfd, read-only, re-read"));
			T_RET(upager_unmap(p, m), 0);
		}

		/* PRIVATE and writable: copy-on-write, the memfd is never written */
		m = upager_map(p, fd, 0, len, RW, UPAGER_PRIVATE);
		T_CHECK(m != NULL, "%s: PRIVATE writable map: %s", seals[i].name, strerror(errno));
		if (m) {
			T_VERIFIED(t_verify_buf(m, len, seed, 0, "sealed memfd, PRIVATE before write"));
			/* every page written, and the pages evicted (4 frames for 8
			 * pages, then DONTNEED): the data lives in the scratch file */
			t_fill(m, len, wseed, 0);
			T_RET(upager_sync(p, m, 0), 0);
			T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
			T_VERIFIED(t_verify_buf(m, len, wseed, 0, "sealed memfd, PRIVATE after write"));
			T_VERIFIED(t_verify_fd(fd, 0, len, seed)); /* unchanged */
			T_RET(upager_unmap(p, m), 0);
		}
		T_RET(upager_destroy(p), 0);
		T_VERIFIED(t_verify_fd(fd, 0, len, seed));
		T_EQ(t_file_size(fd), (int64_t)len);
		close(fd);
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%s%s", *done ? ", " : "",
		         seals[i].name);
	}
	t_summary("write-sealed memfds (%s): SHARED+PROT_WRITE EPERM (as mmap(2)); read-only "
	          "SHARED and PRIVATE writable maps work, %zu pages verified byte for byte, the "
	          "memfd unchanged",
	          *done ? done : "no seal supported", npages);
}

/* --------------------------------------------------- offsets and lengths */

enum { HO_OK = 0, HO_SETUP = 10, HO_READ = 11, HO_SYNC0 = 12, HO_UNMAP0 = 13,
       HO_DESTROY0 = 14, HO_DATA = 15 };

/* A map at the last aligned offset below OFF_MAX: reads zeros, write-back
 * cannot happen, and no call may say it did.  In a child: a SIGBUS or a
 * crash must not take the test program with it. */
static int child_high_offset(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = NULL;
	off_t top = (off_t)((INT64_MAX / (int64_t)PS) * (int64_t)PS);
	volatile unsigned char *m;

	if (upager_create(&p, &c, sizeof(c)))
		return HO_SETUP;
	m = upager_map(p, fd, top, 1, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	if (!m) {
		fprintf(stderr, "  map at offset %lld, length 1: %s\n", (long long)top,
		        strerror(errno));
		return HO_SETUP;
	}
	for (size_t i = 0; i < PS; i += 512)
		if (m[i] != 0)
			return HO_READ;
	m[0] = 0x42;
	if (m[0] != 0x42)
		return HO_DATA;
	int s = upager_sync(p, (void *)m, 0);
	int u = upager_unmap(p, (void *)m);
	int d = upager_destroy(p);
	fprintf(stderr, "  offset %lld: sync %d (%s), unmap %d, destroy %d\n", (long long)top, s,
	        upager_strerror(s), u, d);
	if (s == 0)
		return HO_SYNC0;
	if (u == 0)
		return HO_UNMAP0;
	if (d == 0)
		return HO_DESTROY0;
	return HO_OK;
}

static void test_offsets_lengths(void)
{
	struct upager_config c = t_config(PS, 64 * PS);
	upager_t *p = t_create(&c);
	int fd = t_make_file(8 * PS, g_seed, NULL, 0);
	unsigned char *m;

	/* offsets */
	T_FAILS(upager_map(p, fd, INT64_MAX, 1, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, INT64_MAX - (off_t)PS + 1, PS, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, INT64_MIN, PS, PROT_READ, UPAGER_SHARED), EINVAL);
	off_t top = (off_t)((INT64_MAX / (int64_t)PS) * (int64_t)PS);
	T_FAILS(upager_map(p, fd, top, PS, PROT_READ, UPAGER_SHARED), EINVAL); /* top + PS wraps */
	T_FAILS(upager_map(p, fd, top, TiB, PROT_READ, UPAGER_SHARED), EINVAL);
	pid_t pid = t_fork(child_high_offset, (void *)(intptr_t)fd);
	T_REQUIRE(pid > 0, "fork");
	int st = t_wait_child(pid, T_HANG_S);
	T_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == HO_OK,
	        "map at offset %lld with length 1: child %s (11: did not read zeros; 12/13/14: "
	        "sync/unmap/destroy returned 0 though the page cannot be written)",
	        (long long)top, t_status_str(st));

	/* lengths */
	const size_t wrapping[] = { SIZE_MAX, SIZE_MAX - PS + 2, SIZE_MAX - PS, (size_t)1 << 63,
		                    TiB + 1 };
	for (size_t i = 0; i < sizeof(wrapping) / sizeof(wrapping[0]); i++) {
		errno = 0;
		void *x = upager_alloc(p, wrapping[i]);
		T_CHECK(x == NULL && errno == EINVAL, "upager_alloc(%zu): %p errno %d", wrapping[i],
		        x, errno);
		errno = 0;
		x = upager_map(p, fd, 0, wrapping[i], PROT_READ, UPAGER_SHARED);
		T_CHECK(x == NULL && errno == EINVAL, "upager_map(length %zu): %p errno %d",
		        wrapping[i], x, errno);
	}
	/* exactly 1 TiB is allowed */
	m = upager_alloc(p, TiB);
	T_CHECK(m != NULL || errno == ENOMEM, "upager_alloc(1 TiB): %s", strerror(errno));
	if (m) {
		m[TiB - 1] = 0x11;
		m[0] = 0x22;
		T_EQ(m[TiB - 1], 0x11);
		T_EQ(m[TiB - 2], 0);
		T_RET(upager_unmap(p, m), 0);
	}
	m = upager_map(p, fd, 0, TiB, PROT_READ, UPAGER_SHARED);
	T_CHECK(m != NULL || errno == ENOMEM, "upager_map(1 TiB): %s", strerror(errno));
	if (m) {
		T_EQ(m[7], t_pattern(g_seed, 7));
		T_EQ(m[TiB - 1], 0); /* past end of file */
		T_RET(upager_unmap(p, m), 0);
	}
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("offsets INT64_MAX/INT64_MIN/top+PS/top+TiB EINVAL; the last aligned offset "
	          "with length 1 reads zeros and no sync/unmap/destroy claims its write "
	          "(child %s); lengths near SIZE_MAX EINVAL; exactly 1 TiB works",
	          t_status_str(st));
}

/* ---------------------------------------------------- addresses, ranges */

typedef int (*range_fn)(upager_t *, void *, size_t);
static int adv_dontneed(upager_t *p, void *a, size_t l)
{
	return upager_advise(p, a, l, UPAGER_ADV_DONTNEED);
}
static int adv_willneed(upager_t *p, void *a, size_t l)
{
	return upager_advise(p, a, l, UPAGER_ADV_WILLNEED);
}

static void test_addresses(void)
{
	struct upager_config c = t_config(PS, 64 * PS);
	upager_t *p = t_create(&c), *q = t_create(&c);
	int fd = t_make_file(8 * PS, g_seed, NULL, 0);
	unsigned char *m = upager_map(p, fd, 0, 8 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	unsigned char *a = upager_alloc(p, 4 * PS);
	static const struct {
		const char *name;
		range_fn fn;
	} fns[] = { { "sync", upager_sync }, { "pin", upager_pin }, { "unpin", upager_unpin },
		    { "advise(DONTNEED)", adv_dontneed }, { "advise(WILLNEED)", adv_willneed } };
	long checks = 0;

	T_REQUIRE(m && a, "map/alloc");
	for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
		const struct {
			void *addr;
			size_t len;
			const char *what;
		} bad[] = {
			{ (void *)UINTPTR_MAX, 1, "the last byte of the address space" },
			{ (void *)(UINTPTR_MAX - PS + 1), PS, "the last page" },
			{ (void *)(UINTPTR_MAX - PS + 1), SIZE_MAX, "the last page, SIZE_MAX" },
			{ (void *)(uintptr_t)1, PS, "address 1" },
			{ (void *)(uintptr_t)PS, PS, "the first page" },
			{ m + PS, SIZE_MAX - PS + 1, "a length that wraps to the region start" },
			{ m + PS, (size_t)0 - (uintptr_t)(m + PS), "a length that wraps to 0" },
			{ m + 7 * PS, (size_t)1 << 63, "a length of 2^63" },
			{ a + 3 * PS, 2 * PS, "crossing the end of an alloc region" },
			{ m + 8 * PS, PS, "the page after the region" },
		};
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			int r = fns[f].fn(p, bad[j].addr, bad[j].len);
			T_CHECK(r == -EINVAL, "%s(%s): %d (%s), expected -EINVAL", fns[f].name,
			        bad[j].what, r, upager_strerror(r));
			checks++;
		}
		/* another pager's region */
		int r = fns[f].fn(q, m, PS);
		T_CHECK(r == -EINVAL, "%s on another pager's region: %d", fns[f].name, r);
		r = fns[f].fn(q, a, PS);
		T_CHECK(r == -EINVAL, "%s on another pager's alloc region: %d", fns[f].name, r);
		checks += 2;
	}
	T_RET(upager_advise(p, m, SIZE_MAX, UPAGER_ADV_SEQUENTIAL), -EINVAL);
	T_RET(upager_advise(q, m, PS, UPAGER_ADV_RANDOM), -EINVAL);
	T_RET(upager_unmap(q, (void *)UINTPTR_MAX), -EINVAL);
	T_RET(upager_unmap(p, (void *)(UINTPTR_MAX - PS + 1)), -EINVAL);
	/* the regions are intact */
	T_VERIFIED(t_verify_buf(m, 8 * PS, g_seed, 0, "region after bad calls"));
	T_VERIFIED(t_verify_zero(a, 4 * PS, 0, "alloc region after bad calls"));
	struct upager_stats st;
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 0);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_unmap(p, a), 0);
	T_RET(upager_destroy(q), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("sync/pin/unpin/advise: %ld bad ranges (top of the address space, address 1, "
	          "wrapping lengths, 2^63, another pager's regions) all -EINVAL; regions intact",
	          checks);
}

/* --------------------------------------------------------- print_stats */

static void test_print_stats(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	int rfd = open("/dev/null", O_RDONLY | O_CLOEXEC), pfd[2];
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	T_RET(upager_print_stats(p, rfd), -EBADF);
	T_RET(upager_print_stats(p, INT_MAX), -EBADF);
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	close(pfd[0]);
	T_RET(upager_print_stats(p, pfd[1]), -EPIPE);
	close(pfd[1]);
	close(rfd);
	signal(SIGPIPE, old);
	T_RET(upager_destroy(p), 0);
	t_summary("upager_print_stats: read-only descriptor and INT_MAX -EBADF, pipe without "
	          "reader -EPIPE");
}

/* ---------------------------------------------------------- environment */

static void create_expect(const char *var, const char *val, int expect, const char *why)
{
	struct upager_config c = t_config(PS, 64 * PS);
	upager_t *p = NULL;
	int r;

	if (!strcmp(var, "UPAGER_PAGE_SIZE"))
		c.page_size = 0;
	else if (!strcmp(var, "UPAGER_MEMORY_LIMIT"))
		c.memory_limit = 0;
	else if (!strcmp(var, "UPAGER_IO_DEPTH"))
		c.io_depth = 0;
	else if (!strcmp(var, "UPAGER_READAHEAD"))
		c.readahead = 0;
	t_env_set(var, val);
	r = upager_create(&p, &c, sizeof(c));
	t_env_restore();
	T_CHECK(r == expect, "%s=\"%s\" (%s): upager_create %d (%s), expected %d", var, val, why,
	        r, upager_strerror(r), expect);
	if (r == 0)
		upager_destroy(p);
}

static void test_env(void)
{
	/* overflow of the suffix multiplication: 2^34 G = 2^64 */
	create_expect("UPAGER_PAGE_SIZE", "17179869184G", -EINVAL, "2^64 bytes wraps to 0");
	create_expect("UPAGER_PAGE_SIZE", "16777216T", -EINVAL, "2^64 bytes");
	create_expect("UPAGER_PAGE_SIZE", "18446744073709551616", -EINVAL, "2^64");
	create_expect("UPAGER_PAGE_SIZE", "18446744073709555712", -EINVAL, "2^64 + 4096");
	create_expect("UPAGER_PAGE_SIZE", "0", -EINVAL, "zero");
	create_expect("UPAGER_PAGE_SIZE", "4K4", -EINVAL, "digits after the suffix");
	create_expect("UPAGER_PAGE_SIZE", "4KK", -EINVAL, "two suffixes");
	create_expect("UPAGER_PAGE_SIZE", "+4K", -EINVAL, "a sign");
	create_expect("UPAGER_PAGE_SIZE", "0x1000", -EINVAL, "hex");
	create_expect("UPAGER_PAGE_SIZE", "4K\x01", -EINVAL, "a control character");
	create_expect("UPAGER_PAGE_SIZE", " 16K ", 0, "spaces around (documented)");
	create_expect("UPAGER_PAGE_SIZE", "16KiB", 0, "KiB (documented)");
	create_expect("UPAGER_MEMORY_LIMIT", "16777216T", -EINVAL, "2^64 bytes");
	create_expect("UPAGER_MEMORY_LIMIT", "17592186044416T", -EINVAL, "2^84 bytes");
	create_expect("UPAGER_MEMORY_LIMIT", "4294967296G", -EINVAL, "2^62 bytes: 2^50 frames");
	create_expect("UPAGER_MEMORY_LIMIT", "15K", -EINVAL, "3.75 pages");
	create_expect("UPAGER_IO_DEPTH", "0", -EINVAL, "zero");
	create_expect("UPAGER_IO_DEPTH", "4294967297", -EINVAL, "2^32 + 1 (would wrap to 1)");
	create_expect("UPAGER_READAHEAD", "4294967296", -EINVAL, "2^32 (would wrap to 0)");
	create_expect("UPAGER_READAHEAD", "off", 0, "documented");
	create_expect("UPAGER_READAHEAD", "0", 0, "zero: off");
	create_expect("UPAGER_READAHEAD", "of", -EINVAL, "garbage");
	create_expect("UPAGER_READAHEAD", "-1", -EINVAL, "negative");

	/* UPAGER_TMPDIR: the errno of the open, never a crash */
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	char longdir[5000];
	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = 0;
	static const struct {
		const char *dir;
		int ok;
	} dirs[] = { { "relative-nonexistent-dir", 0 }, { "/proc", 0 }, { "/dev/null", 0 },
		     { NULL, 0 } /* the long one */, { "", 1 } /* empty: falls back to TMPDIR */ };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *d = dirs[i].dir ? dirs[i].dir : longdir;
		t_env_set("UPAGER_TMPDIR", d);
		errno = 0;
		unsigned char *m = upager_alloc(p, 2 * PS);
		int e = errno;
		t_env_restore();
		if (dirs[i].ok) {
			T_CHECK(m != NULL, "UPAGER_TMPDIR=\"%s\": %s", d, strerror(e));
		} else {
			T_CHECK(m == NULL && e != 0, "UPAGER_TMPDIR=\"%.40s\": %p errno %d", d,
			        (void *)m, e);
		}
		if (m) {
			/* scratch memory works: written, evicted to the scratch file, read back */
			memset(m, 0x6b, 2 * PS);
			T_RET(upager_advise(p, m, 2 * PS, UPAGER_ADV_DONTNEED), 0);
			T_EQ(m[PS + 1], 0x6b);
			T_RET(upager_unmap(p, m), 0);
		}
	}
	T_RET(upager_destroy(p), 0);

	/* UPAGER_STATS: only "1" prints, garbage is ignored */
	static const struct {
		const char *val;
		int prints;
	} stats[] = { { "1", 1 }, { "yes", 0 }, { "2", 0 }, { "", 0 }, { "10", 0 }, { "1 ", 0 } };
	for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		int pfd[2], saved = dup(2);
		char buf[4096];
		T_REQUIRE(pipe(pfd) == 0 && saved >= 0, "pipe");
		p = t_create(&c);
		t_env_set("UPAGER_STATS", stats[i].val);
		fflush(stderr);
		dup2(pfd[1], 2);
		int r = upager_destroy(p);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		close(pfd[1]);
		t_env_restore();
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		close(pfd[0]);
		T_RET(r, 0);
		T_CHECK((n > 0) == stats[i].prints, "UPAGER_STATS=\"%s\": %zd bytes printed",
		        stats[i].val, n);
	}
	t_summary("UPAGER_*: suffix overflows (2^64 via G/T), wraps of io_depth/readahead at "
	          "2^32, signs, hex, control characters -EINVAL; documented spellings accepted; "
	          "UPAGER_TMPDIR relative//proc//dev/null/too long -> NULL+errno, empty falls "
	          "back; UPAGER_STATS prints only for \"1\"");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "descriptors", test_descriptors },
		{ "write-sealed memfds", test_sealed_memfd },
		{ "offsets and lengths", test_offsets_lengths },
		{ "addresses and ranges", test_addresses },
		{ "print_stats", test_print_stats },
		{ "environment", test_env },
		{ NULL, NULL },
	};

	t_init("test_badinput", 120);
	g_seed = t_seed();
	t_add_suite("badinput", tests);
	return t_run_suite();
}
