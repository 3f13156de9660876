/*
 * test_private.c - UPAGER_PRIVATE (copy-on-write) mappings: writes larger
 * than the memory limit are visible through the pointer after their pages
 * went to the scratch file and came back, and never reach the file
 * (checksum, pattern, size and mtime unchanged after sync, unmap and
 * destroy, even with a read-write descriptor).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

struct file_state {
	uint64_t sum;
	int64_t size;
	struct timespec mtime;
};

static struct file_state file_state(int fd)
{
	struct file_state s;
	struct stat st;

	memset(&s, 0, sizeof(s));
	s.sum = t_file_checksum(fd);
	if (fstat(fd, &st) == 0) {
		s.size = st.st_size;
		s.mtime = st.st_mtim;
	}
	return s;
}

static void check_untouched(int fd, const struct file_state *before, uint64_t seed,
                            const char *when)
{
	struct file_state now = file_state(fd);

	T_CHECK(now.sum == before->sum, "%s: file checksum %016llx, before %016llx", when,
	        (unsigned long long)now.sum, (unsigned long long)before->sum);
	T_CHECK(now.size == before->size, "%s: file size %lld, before %lld", when,
	        (long long)now.size, (long long)before->size);
	T_CHECK(now.mtime.tv_sec == before->mtime.tv_sec &&
	                now.mtime.tv_nsec == before->mtime.tv_nsec,
	        "%s: file mtime changed", when);
	T_VERIFIED(t_verify_fd(fd, 0, (uint64_t)before->size, seed));
}

/* Selected words of the partial pass: a quarter of them in the soak tier;
 * in the quick tier one in 128, four per 4 KiB page on average, since
 * nearly every random store faults. */
static uint64_t g_select_mask = 3;

static int selected(uint64_t w)
{
	return (t_mix64(w ^ 0x77) & g_select_mask) == 0;
}

/* Check words [0, n) of @m: pattern s2 where selected(), s1 elsewhere. */
static int64_t verify_mixed(const unsigned char *m, size_t nwords, uint64_t s1, uint64_t s2)
{
	for (size_t w = 0; w < nwords; w++) {
		uint64_t v;
		memcpy(&v, m + w * 8, 8);
		uint64_t want = t_pattern_u64(selected(w) ? s2 : s1, w * 8);
		if (v != want) {
			fprintf(stderr, "  word %zu (offset %zu): got %016llx expected %016llx (%s)\n",
			        w, w * 8, (unsigned long long)v, (unsigned long long)want,
			        selected(w) ? "s2" : "s1");
			return (int64_t)(w * 8);
		}
	}
	return -1;
}

static void test_private_large(void)
{
	const size_t ps = 4096, limit = 256 * KiB, len = 4 * MiB;
	const uint64_t s0 = 0x100, s1 = 0x101, s2 = 0x102;
	struct upager_config c = t_config(ps, limit);
	upager_t *p = t_create(&c);
	int fd = t_make_file(len, s0, NULL, 0);
	struct file_state before;
	struct upager_stats st;

	fsync(fd);
	before = file_state(fd);
	unsigned char *m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_PRIVATE);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));

	/* reads see the file */
	T_VERIFIED(t_verify_buf(m, len, s0, 0, "private read pass"));
	/* write everything: 16x the limit, dirty pages go to the scratch file */
	for (size_t i = 0; i < len; i += 8)
		*(volatile uint64_t *)(m + i) = t_pattern_u64(s1, i);
	t_stats(p, &st);
	T_GE(st.pgsteal, len / ps - st.nr_frames);
	T_LE(st.nr_resident_peak, st.nr_frames);
	/* read back: pages come from the scratch file */
	T_VERIFIED(t_verify_buf(m, len, s1, 0, "private writes read back"));
	check_untouched(fd, &before, s0, "after private writes");

	/* overwrite the selected words, in random order */
	uint64_t *perm = t_permutation(len / 8, 0xfeed);
	size_t nsel = 0;
	T_REQUIRE(perm != NULL, "malloc");
	for (size_t k = 0; k < len / 8; k++)
		if (selected(perm[k])) {
			*(volatile uint64_t *)(m + perm[k] * 8) = t_pattern_u64(s2, perm[k] * 8);
			nsel++;
		}
	free(perm);
	T_GE(nsel, len / ps); /* at least one per page on average */
	T_VERIFIED(verify_mixed(m, len / 8, s1, s2));

	/* DONTNEED of private pages keeps the private data */
	T_RET(upager_advise(p, m + 64 * ps, 32 * ps, UPAGER_ADV_DONTNEED), 0);
	T_VERIFIED(verify_mixed(m, len / 8, s1, s2));

	T_RET(upager_sync(p, m, 0), 0);
	T_RET(upager_sync(p, m + ps, ps), 0);
	check_untouched(fd, &before, s0, "after sync");
	t_stats(p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_RET(upager_unmap(p, m), 0);
	check_untouched(fd, &before, s0, "after unmap");
	T_RET(upager_destroy(p), 0);
	check_untouched(fd, &before, s0, "after destroy");
	close(fd);
	t_summary("PRIVATE 4 MiB over a 256 KiB limit: private writes (sequential, %zu random "
	          "words, after DONTNEED) read back; file checksum/size/mtime unchanged after "
	          "sync, unmap, destroy",
	          nsel);
}

/* PRIVATE over an O_RDONLY descriptor, past EOF, 16 KiB pages. */
static void test_private_past_eof(void)
{
	const size_t ps = 16384, limit = 4 * 16384;
	const uint64_t s0 = 0x200, s1 = 0x201;
	const uint64_t fsize = 10000;
	const size_t len = 20 * ps + 1;
	char path[4200];
	struct upager_config c = t_config(ps, limit);
	upager_t *p = t_create(&c);
	int fd = t_make_file(fsize, s0, path, sizeof(path));
	int rfd = open(path, O_RDONLY | O_CLOEXEC);
	struct file_state before;

	T_REQUIRE(rfd >= 0, "open");
	fsync(fd);
	before = file_state(fd);
	unsigned char *m = upager_map(p, rfd, 0, len, PROT_READ | PROT_WRITE, UPAGER_PRIVATE);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_VERIFIED(t_verify_buf(m, fsize, s0, 0, "file part"));
	T_VERIFIED(t_verify_zero(m + fsize, 21 * ps - fsize, fsize, "past EOF"));
	for (size_t i = 0; i < len; i++)
		m[i] = t_pattern(s1, i);
	T_VERIFIED(t_verify_buf(m, len, s1, 0, "private writes past EOF"));
	T_RET(upager_sync(p, m, 0), 0);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	check_untouched(fd, &before, s0, "after destroy");
	close(rfd);
	close(fd);
	t_summary("PRIVATE over O_RDONLY fd, past EOF, 16 KiB pages: zeros past EOF, writes "
	          "visible, file size and bytes unchanged");
}

/* Two private mappings and a shared read-only one of the same file. */
static void test_private_isolation(void)
{
	const size_t ps = 4096, limit = 128 * KiB, len = 2 * MiB;
	const uint64_t s0 = 0x300, sa = 0x301, sb = 0x302;
	struct upager_config c = t_config(ps, limit);
	upager_t *p = t_create(&c);
	int fd = t_make_file(len, s0, NULL, 0);
	struct file_state before;

	fsync(fd);
	before = file_state(fd);
	unsigned char *a = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_PRIVATE);
	unsigned char *b = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_PRIVATE);
	unsigned char *s = upager_map(p, fd, 0, len, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(a && b && s, "upager_map: %s", strerror(errno));
	T_CHECK(a != b && a != s && b != s, "distinct addresses");
	/* interleave the writes page by page */
	for (size_t pg = 0; pg < len / ps; pg++) {
		t_fill(a + pg * ps, ps, sa, pg * ps);
		t_fill(b + pg * ps, ps, sb, pg * ps);
		T_CHECK(s[pg * ps + 9] == t_pattern(s0, pg * ps + 9), "shared view, page %zu", pg);
	}
	T_VERIFIED(t_verify_buf(a, len, sa, 0, "private mapping A"));
	T_VERIFIED(t_verify_buf(b, len, sb, 0, "private mapping B"));
	T_VERIFIED(t_verify_buf(s, len, s0, 0, "shared read-only mapping"));
	T_RET(upager_unmap(p, a), 0);
	T_VERIFIED(t_verify_buf(b, len, sb, 0, "B after unmap of A"));
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_unmap(p, s), 0);
	T_RET(upager_destroy(p), 0);
	check_untouched(fd, &before, s0, "after destroy");
	close(fd);
	t_summary("two PRIVATE mappings of one file are independent of each other and of a "
	          "SHARED read-only mapping; file unchanged");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "private 16x the limit", test_private_large },
		{ "private past EOF, O_RDONLY", test_private_past_eof },
		{ "private isolation", test_private_isolation },
		{ NULL, NULL },
	};

	t_init("test_private", 240);
	g_select_mask = t_scale(127, 3);
	t_add_suite("private", tests);
	return t_run_suite();
}
