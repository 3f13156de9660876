/*
 * test_shared.c - UPAGER_SHARED writable mappings much larger than the
 * memory limit: every byte written through the pointer (a sequential pass
 * of byte stores, then a random-order pass of 8-byte stores with a fresh
 * seed) reaches the file, checked with pread(2) against the pattern;
 * mappings that reach past end of file read zeros there and extend the file
 * to exactly offset + length.
 *
 * The random pass stores to RANDOM_WORDS random words of every page (all of
 * them in the soak tier, UPAGER_SOAK=1), in one random order over the whole
 * mapping: nearly every store faults (the data is many times the limit),
 * and a fault costs a few protection changes, so the quick tier keeps the
 * pass short.  Every page is still dirtied by it, and every byte of the
 * mapping is checked, through the pointer and in the file, against a
 * reference image built from the pattern in ordinary memory.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

static size_t round_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

/* Words stored to per page by the random pass (quick tier). */
#define RANDOM_WORDS 16

/* The file bytes before the mapping: pattern @s0 up to the original EOF
 * @fsize, zeros (a hole) between it and @off. */
static void check_prefix(int fd, uint64_t fsize, uint64_t off, uint64_t s0)
{
	uint64_t pat = fsize < off ? fsize : off;

	T_VERIFIED(t_verify_fd(fd, 0, pat, s0));
	if (off > pat)
		T_VERIFIED(t_verify_fd_zero(fd, pat, off - pat));
}

/*
 * The words of the random pass: @per_page distinct random words of each
 * page of @page_words words (all of a page's words if it has no more; the
 * last page may be cut), over [0, @nwords), in one random order.  Returns
 * a malloc'd array of word indices and their count in @n.
 */
static uint64_t *random_words(size_t nwords, size_t page_words, size_t per_page, uint64_t seed,
                              size_t *n)
{
	struct t_rng r = { seed };
	uint64_t *w = malloc((nwords ? nwords : 1) * sizeof(*w));
	uint8_t *taken = calloc(page_words, 1);
	size_t k = 0;

	if (!w || !taken) {
		free(w);
		free(taken);
		return NULL;
	}
	for (size_t first = 0; first < nwords; first += page_words) {
		size_t cnt = nwords - first < page_words ? nwords - first : page_words;
		if (cnt <= per_page) {
			for (size_t i = 0; i < cnt; i++)
				w[k++] = first + i;
			continue;
		}
		memset(taken, 0, cnt);
		for (size_t got = 0; got < per_page;) {
			size_t i = (size_t)t_rand_below(&r, cnt);
			if (!taken[i]) {
				taken[i] = 1;
				w[k++] = first + i;
				got++;
			}
		}
	}
	free(taken);
	for (size_t i = k; i > 1; i--) { /* Fisher-Yates */
		size_t j = (size_t)t_rand_below(&r, i);
		uint64_t t = w[i - 1];
		w[i - 1] = w[j];
		w[j] = t;
	}
	*n = k;
	return w;
}

/*
 * Map [off, off + len) of a file of @fsize bytes (pattern s0) and run
 *  1. a read pass: pattern s0 up to EOF, zeros after it (also in the
 *     rounded-up tail of the last page);
 *  2. a sequential pass writing every byte of [0, len) with pattern s1,
 *     then upager_sync() and a pread(2) check of the file;
 *  3. a random-order pass of aligned 8-byte stores (pattern s2) over
 *     random whole words of [0, len), at least one in every page (every
 *     word in the soak tier), a check through the pointer, sync, unmap;
 *  4. the file: [0, off) untouched, the mapped bytes as written, the size
 *     max(fsize, off + len).
 */
/* struct upager_config.flags of the scenarios (UPAGER_DIRECT_IO or 0). */
static unsigned g_flags;

static void shared_scenario(size_t ps, size_t limit, uint64_t fsize, uint64_t off, size_t len,
                            uint64_t seed)
{
	const uint64_t s0 = seed, s1 = seed + 1, s2 = seed + 2;
	struct upager_config c = t_config(ps, limit);

	c.flags = g_flags;
	upager_t *p = t_create(&c);
	int fd = t_make_file(fsize, s0, NULL, 0);
	const size_t rlen = round_up(len, ps);
	const uint64_t in_file = fsize > off ? (fsize - off < len ? fsize - off : len) : 0;
	const uint64_t want_size = off + len > fsize ? off + len : fsize;
	struct upager_stats st;
	double t0 = t_now();

	unsigned char *m = upager_map(p, fd, (off_t)off, len, PROT_READ | PROT_WRITE,
	                              UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map(off %llu, len %zu): %s", (unsigned long long)off, len,
	          strerror(errno));
	T_EQ((uintptr_t)m % ps, 0);

	/* 1. read pass */
	T_VERIFIED(t_verify_buf(m, in_file, s0, off, "read pass, file part"));
	T_VERIFIED(t_verify_zero(m + in_file, rlen - in_file, off + in_file,
	                         "read pass, past EOF / past length"));
	T_RET(upager_sync(p, m, 0), 0);
	T_EQ(t_file_size(fd), fsize); /* reading never changes the file */
	T_VERIFIED(t_verify_fd(fd, 0, fsize, s0));

	/* 2. sequential pass: every byte */
	for (size_t i = 0; i < len; i++)
		m[i] = t_pattern(s1, off + i);
	/* bytes after @length in the last page are accessible but never
	 * written to the file */
	memset(m + len, 0xaa, rlen - len);
	T_VERIFIED(t_verify_buf(m, len, s1, off, "after sequential pass"));
	T_RET(upager_sync(p, m, len), 0);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, 0);
	T_EQ(t_file_size(fd), want_size);
	T_VERIFIED(t_verify_fd(fd, off, len, s1));
	check_prefix(fd, fsize, off, s0);

	/* 3. random-order pass of 8-byte stores: the reference image @ref is
	 * pattern s1 with the stored words replaced by pattern s2 */
	const size_t nwords = len / 8;
	size_t nstores = 0;
	uint64_t *words = random_words(nwords, ps / 8, t_scale(RANDOM_WORDS, ps / 8),
	                               seed * 7 + 3, &nstores);
	unsigned char *ref = malloc(len);
	T_REQUIRE(words != NULL && ref != NULL, "malloc");
	t_fill(ref, len, s1, off);
	for (size_t k = 0; k < nstores; k++) {
		uint64_t b = words[k] * 8, v = t_pattern_u64(s2, off + b);
		*(volatile uint64_t *)(m + b) = v;
		memcpy(ref + b, &v, 8);
	}
	free(words);
	T_VERIFIED(t_verify_mem(m, ref, len, off, "after random pass"));
	t_stats(p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_LE(st.nr_resident, st.nr_frames);
	T_EQ(st.nr_frames, limit / ps);
	T_RET(upager_sync(p, m, 0), 0);
	T_RET(upager_unmap(p, m), 0);
	t_stats(p, &st);
	/* every page was dirtied in two passes and written at least once each
	 * time (by eviction or by sync) */
	T_GE(st.pgpgout, 2 * (rlen / ps));
	T_GE(st.pgsteal, rlen / ps - st.nr_frames);
	T_EQ(st.nr_resident, 0);
	T_EQ(st.nr_dirty, 0);
	T_RET(upager_destroy(p), 0);

	/* 4. the file, with plain pread(2) */
	T_EQ(t_file_size(fd), want_size);
	check_prefix(fd, fsize, off, s0);
	T_VERIFIED(t_verify_fd_buf(fd, off, ref, len));
	if (fsize > off + len)
		T_VERIFIED(t_verify_fd(fd, off + len, fsize - off - len, s0));
	free(ref);
	close(fd);
	t_summary("SHARED page %zu, limit %zu (%zu frames), file %llu, map [%llu, +%zu): "
	          "reads, sequential byte pass, random pass of %zu 8-byte stores reached the "
	          "file; size %llu (%.1f s)",
	          ps, limit, limit / ps, (unsigned long long)fsize, (unsigned long long)off, len,
	          nstores, (unsigned long long)want_size, t_now() - t0);
}

/* Sizes: data 16x the limit where it matters; the random pass faults on
 * almost every store, so the sizes are kept small to stay fast. */
static void test_shared_4k(void)
{
	shared_scenario(4096, 128 * KiB, 2 * MiB, 0, 2 * MiB, 0x1000);
}

static void test_shared_16k(void)
{
	shared_scenario(16384, 64 * KiB, 1 * MiB, 0, 1 * MiB, 0x2000);
}

/* Length not a multiple of the page size, reaching past EOF; the offset
 * is not 0 and the file size not page aligned. */
static void test_shared_past_eof(void)
{
	shared_scenario(4096, 64 * KiB, 256 * KiB + 1000, 64 * KiB, 1 * MiB + 123, 0x3000);
}

/* Past EOF, 16 KiB pages, a mapping that starts beyond EOF altogether. */
static void test_shared_beyond_eof(void)
{
	shared_scenario(16384, 64 * KiB, 100000, 256 * KiB, 256 * KiB + 4095, 0x4000);
}

/* A mapping inside a larger file: bytes after it stay untouched. */
static void test_shared_inside(void)
{
	shared_scenario(4096, 32 * KiB, 1 * MiB, 256 * KiB, 512 * KiB - 3, 0x5000);
}

/* The same with UPAGER_DIRECT_IO: whole pages go through O_DIRECT, a page
 * cut by EOF or by the mapping's length through the buffered descriptor
 * (an O_DIRECT transfer cannot end at an unaligned offset). */
static void test_shared_direct(void)
{
	g_flags = UPAGER_DIRECT_IO;
	/* Small: a random store pass under O_DIRECT costs a disk read each. */
	shared_scenario(4096, 32 * KiB, 64 * KiB + 1000, 16 * KiB, 128 * KiB + 123, 0x7000);
	shared_scenario(16384, 64 * KiB, 100000, 64 * KiB, 96 * KiB + 4095, 0x8000);
	g_flags = 0;
}

/* Sparse writes past EOF: the hole reads as zero, the file ends exactly at
 * offset + length, and only written bytes differ from zero. */
static void test_shared_sparse_extend(void)
{
	const size_t ps = 4096;
	const uint64_t fsize = 10000, off = 8192;
	const size_t len = 200000 + 5;
	const uint64_t seed = 0x6000;
	struct upager_config c = t_config(ps, 16 * ps);
	upager_t *p = t_create(&c);
	int fd = t_make_file(fsize, seed, NULL, 0);
	unsigned char *m = upager_map(p, fd, (off_t)off, len, PROT_READ | PROT_WRITE,
	                              UPAGER_SHARED);

	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	/* before any write: the file part and zeros */
	T_VERIFIED(t_verify_buf(m, fsize - off, seed, off, "file part"));
	T_VERIFIED(t_verify_zero(m + (fsize - off), round_up(len, ps) - (fsize - off), fsize,
	                         "past EOF"));
	m[len - 1] = 0x77;
	m[100000] = 0x55;
	T_RET(upager_unmap(p, m), 0); /* write-back on unmap */
	T_EQ(t_file_size(fd), off + len);
	T_VERIFIED(t_verify_fd(fd, 0, fsize, seed));
	T_VERIFIED(t_verify_fd_zero(fd, fsize, off + 100000 - fsize));
	unsigned char b[2] = { 0, 0 };
	T_EQ(pread(fd, b, 1, (off_t)(off + 100000)), 1);
	T_EQ(b[0], 0x55);
	T_VERIFIED(t_verify_fd_zero(fd, off + 100001, len - 100002));
	T_EQ(pread(fd, b, 2, (off_t)(off + len - 1)), 1); /* exactly one byte left */
	T_EQ(b[0], 0x77);

	/* a clean mapping past EOF never extends the file */
	m = upager_map(p, fd, 0, 4 * (off + len), PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_VERIFIED(t_verify_zero(m + off + len, 3 * (off + len), off + len, "past new EOF"));
	T_RET(upager_unmap(p, m), 0);
	T_EQ(t_file_size(fd), off + len);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("sparse writes past EOF: hole zero, file size exactly offset+length, clean "
	          "mapping past EOF does not extend the file");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "4 KiB pages, 16x the limit", test_shared_4k },
		{ "16 KiB pages, 16x the limit (4 frames)", test_shared_16k },
		{ "unaligned length past EOF", test_shared_past_eof },
		{ "mapping beyond EOF", test_shared_beyond_eof },
		{ "mapping inside a larger file", test_shared_inside },
		{ "sparse extension", test_shared_sparse_extend },
		{ "UPAGER_DIRECT_IO, aligned and cut pages", test_shared_direct },
		{ NULL, NULL },
	};

	t_init("test_shared", 240);
	t_add_suite("shared", tests);
	return t_run_suite();
}
