/*
 * fuzz_ops.c - a libFuzzer target: bytes decoded into a sequence of upager
 * operations, each result checked against a plain in-memory model.
 *
 * Built only by `make -C tests fuzz` (clang, -fsanitize=fuzzer,address, the
 * library's sources compiled in); `make -C tests fuzz-replay` runs the
 * corpus in tests/fuzz/corpus once.  Per input: one pager (4, 8 or 16 KiB
 * pages, 4..12 frames) with
 *   A  an UPAGER_SHARED map of a file that the input may truncate through
 *      another descriptor (length not a multiple of the page size, possibly
 *      past end of file),
 *   B  an UPAGER_PRIVATE map of a file that never changes,
 *   C  upager_alloc memory,
 * and then operations: write and read at offsets, sync (whole or range),
 * advise (all five), pin and unpin, unmap and map again, truncate.  The
 * model keeps what each region must read; after every sync, unmap or
 * DONTNEED of A that returned 0 the file must hold A's model.  Any
 * difference, unexpected return value, crash or sanitizer report is a bug.
 * UPAGER_FUZZ_TRACE=1 prints the operations an input decodes to.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "upager.h"

#define MAXPAGES 16
#define MAXPS (16 * 1024)

struct rd {
	const uint8_t *d;
	size_t n, i;
};

static uint8_t u8(struct rd *r)
{
	return r->i < r->n ? r->d[r->i++] : 0;
}

static uint32_t u16(struct rd *r)
{
	return (uint32_t)u8(r) | (uint32_t)u8(r) << 8;
}

static void fail(const char *what, long a, long b)
{
	fprintf(stderr, "fuzz_ops: %s (%ld, %ld)\n", what, a, b);
	abort();
}

#define CHECK(cond, what, a, b)                  \
	do {                                     \
		if (!(cond))                     \
			fail(what, (long)(a), (long)(b)); \
	} while (0)

static int g_fda = -1, g_fda2 = -1, g_fdb = -1;
static int g_trace; /* UPAGER_FUZZ_TRACE=1: print the decoded operations */
static unsigned char g_file_b[MAXPAGES * MAXPS];

/* Files in /dev/shm where there is one (fdatasync costs nothing there),
 * else in $TMPDIR or /tmp; unlinked at once. */
static int tmp_file(char *path, size_t len)
{
	const char *dirs[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };

	for (int i = 0; i < 3; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		snprintf(path, len, "%s/upager-fuzz-XXXXXX", dirs[i]);
		int fd = mkstemp(path);
		if (fd >= 0)
			return fd;
	}
	abort();
}

static void files_init(void)
{
	char p[4200], q[4200];

	if (g_fda >= 0)
		return;
	g_fda = tmp_file(p, sizeof(p));
	g_fda2 = open(p, O_RDWR | O_CLOEXEC); /* the other descriptor */
	unlink(p);
	g_fdb = tmp_file(q, sizeof(q));
	unlink(q);
	if (g_fda2 < 0 || g_fdb < 0)
		abort();
	for (size_t i = 0; i < sizeof(g_file_b); i++)
		g_file_b[i] = (unsigned char)(i * 7 + (i >> 12));
	if (pwrite(g_fdb, g_file_b, sizeof(g_file_b), 0) != (ssize_t)sizeof(g_file_b))
		abort();
}

struct region {
	unsigned char *m;
	size_t len, pages;
	unsigned char model[MAXPAGES * MAXPS];
	int pins[MAXPAGES];
	int willneed; /* WILLNEED issued since the map */
};

static struct {
	upager_t *p;
	size_t ps;
	struct region r[3]; /* A shared, B private, C alloc */
} S;

/* The file must hold A's model for pages [first, last]. */
static void check_file(size_t first, size_t last)
{
	static unsigned char buf[MAXPAGES * MAXPS];
	struct region *A = &S.r[0];
	size_t lo = first * S.ps, hi = (last + 1) * S.ps;

	if (hi > A->len)
		hi = A->len;
	if (lo >= hi)
		return;
	memset(buf, 0, hi - lo);
	ssize_t n = pread(g_fda, buf, hi - lo, (off_t)lo);
	CHECK(n >= 0, "pread", n, errno);
	CHECK(!memcmp(buf, A->model + lo, hi - lo), "file differs from the model after a call "
	                                            "that returned 0",
	      lo, hi);
}

static void map_region(int k)
{
	struct region *R = &S.r[k];

	if (k == 0)
		R->m = upager_map(S.p, g_fda, 0, R->len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	else if (k == 1)
		R->m = upager_map(S.p, g_fdb, 0, R->len, PROT_READ | PROT_WRITE, UPAGER_PRIVATE);
	else
		R->m = upager_alloc(S.p, R->len);
	CHECK(R->m != NULL, "map", k, errno);
	memset(R->pins, 0, sizeof(R->pins));
	R->willneed = 0;
	memset(R->model, 0, sizeof(R->model));
	if (k == 0) {
		ssize_t n = pread(g_fda, R->model, R->len, 0);
		CHECK(n >= 0, "pread", n, errno);
	} else if (k == 1) {
		memcpy(R->model, g_file_b, R->len);
	}
}

static void unpin_all(struct region *R)
{
	for (size_t i = 0; i < R->pages; i++)
		while (R->pins[i] > 0) {
			int rc = upager_unpin(S.p, R->m + i * S.ps, 1);
			CHECK(rc == 0, "unpin", rc, i);
			R->pins[i]--;
		}
}

static void unmap_region(int k)
{
	struct region *R = &S.r[k];
	int rc = upager_unmap(S.p, R->m);

	CHECK(rc == 0, "unmap", rc, k);
	if (k == 0)
		check_file(0, R->pages - 1);
	R->m = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size, 0 };
	struct upager_config c;
	static unsigned char buf[2 * MAXPS];

	files_init();
	g_trace = getenv("UPAGER_FUZZ_TRACE") != NULL;
	memset(&c, 0, sizeof(c));
	S.ps = (size_t)4096 << (u8(&r) % 3);
	c.page_size = S.ps;
	c.memory_limit = (4 + u8(&r) % 9) * S.ps;
	c.io_depth = 1 + u8(&r) % 16;
	c.readahead = 1 + u8(&r) % 8;
	/* file A: initial size anywhere from empty to past the mapping */
	S.r[0].pages = 1 + u8(&r) % MAXPAGES;
	S.r[0].len = S.r[0].pages * S.ps - u16(&r) % S.ps;
	size_t fsize = u16(&r) * 4u % (S.r[0].pages * S.ps + S.ps);
	S.r[1].pages = 1 + u8(&r) % 8;
	S.r[1].len = S.r[1].pages * S.ps;
	S.r[2].pages = 1 + u8(&r) % 8;
	S.r[2].len = S.r[2].pages * S.ps;
	if (ftruncate(g_fda, 0) != 0)
		abort();
	for (size_t i = 0; i < fsize; i++)
		buf[i % sizeof(buf)] = (unsigned char)(i * 13 + 1);
	for (size_t off = 0; off < fsize; off += sizeof(buf)) {
		size_t n = fsize - off < sizeof(buf) ? fsize - off : sizeof(buf);
		if (pwrite(g_fda, buf, n, (off_t)off) != (ssize_t)n)
			abort();
	}
	if (upager_create(&S.p, &c, sizeof(c)) != 0)
		return 0; /* io_uring unavailable: nothing to test */
	for (int k = 0; k < 3; k++)
		map_region(k);

	if (g_trace)
		fprintf(stderr, "page %zu, frames %zu, io_depth %u, readahead %u; A %zu bytes (%zu "
		        "pages, file %zu bytes), B %zu pages, C %zu pages\n",
		        S.ps, c.memory_limit / S.ps, c.io_depth, c.readahead, S.r[0].len, S.r[0].pages,
		        fsize, S.r[1].pages, S.r[2].pages);
	for (unsigned step = 0; step < 64 && r.i < r.n; step++) {
		int k = u8(&r) % 3;
		struct region *R = &S.r[k];
		uint8_t op = u8(&r) % 12;
		size_t off = u16(&r) % R->len;
		size_t len = 1 + u16(&r) % (2 * S.ps);
		int rc;

		if (len > R->len - off)
			len = R->len - off;
		if (g_trace)
			fprintf(stderr, "%2u: %c op %u off %zu len %zu (pages %zu..%zu)\n", step,
			        "ABC"[k], op, off, len, off / S.ps, (off + len - 1) / S.ps);
		size_t first = off / S.ps, last = (off + len - 1) / S.ps;
		switch (op) {
		case 0: case 1: case 2: { /* write */
			uint8_t v = u8(&r);
			memset(R->m + off, v, len);
			memset(R->model + off, v, len);
			break;
		}
		case 3: case 4: /* read */
			CHECK(!memcmp(R->m + off, R->model + off, len), "read differs from the model",
			      k, off);
			break;
		case 5: /* sync, whole or range */
			if (u8(&r) & 1) {
				rc = upager_sync(S.p, R->m, 0);
				CHECK(rc == 0, "sync", rc, k);
				if (k == 0)
					check_file(0, R->pages - 1);
			} else {
				rc = upager_sync(S.p, R->m + off, len);
				CHECK(rc == 0, "range sync", rc, k);
				if (k == 0)
					check_file(first, last);
			}
			break;
		case 6: { /* advise */
			int adv = u8(&r) % 5, busy = 0;
			for (size_t i = first; i <= last; i++)
				busy |= R->pins[i] > 0;
			rc = upager_advise(S.p, R->m + off, len, adv);
			if (adv == UPAGER_ADV_DONTNEED && busy) {
				CHECK(rc == -EBUSY, "DONTNEED with pinned pages", rc, k);
			} else {
				CHECK(rc == 0, "advise", rc, adv);
				if (adv == UPAGER_ADV_DONTNEED && k == 0)
					check_file(first, last);
			}
			if (adv == UPAGER_ADV_WILLNEED)
				R->willneed = 1;
			break;
		}
		case 7: { /* pin */
			size_t fresh = 0, pinned = 0, frames = c.memory_limit / S.ps;
			size_t reserve = frames / 8 > 2 ? frames / 8 : 2;
			for (int j = 0; j < 3; j++)
				for (size_t i = 0; i < S.r[j].pages; i++)
					pinned += S.r[j].m && S.r[j].pins[i] > 0;
			for (size_t i = first; i <= last; i++)
				fresh += R->pins[i] == 0;
			rc = upager_pin(S.p, R->m + off, len);
			if (pinned + fresh + reserve > frames) {
				CHECK(rc == -ENOMEM, "pin beyond the reserve", rc, fresh);
			} else {
				CHECK(rc == 0, "pin", rc, k);
				for (size_t i = first; i <= last; i++)
					R->pins[i]++;
				/* a system call into the pinned page works */
				CHECK(pread(g_fdb, R->m + off, 1, 5) == 1, "pread into a pinned page",
				      k, off);
				R->model[off] = g_file_b[5];
			}
			break;
		}
		case 8: { /* unpin */
			int all = 1;
			for (size_t i = first; i <= last; i++)
				all &= R->pins[i] > 0;
			rc = upager_unpin(S.p, R->m + off, len);
			CHECK(rc == (all ? 0 : -EINVAL), "unpin", rc, all);
			if (all)
				for (size_t i = first; i <= last; i++)
					R->pins[i]--;
			break;
		}
		case 9: /* unmap and map again */
			unpin_all(R);
			unmap_region(k);
			if (k == 1) { /* the private copy is gone */
				map_region(k);
			} else {
				unsigned char *keep = malloc(R->len);
				memcpy(keep, R->model, R->len);
				map_region(k);
				if (k == 0)
					CHECK(!memcmp(keep, R->model, R->len), "file after unmap", 0, 0);
				free(keep);
			}
			break;
		case 10: { /* truncate A by another descriptor */
			struct region *A = &S.r[0];
			off_t nsize = (off_t)(u16(&r) * 4u % (A->len + S.ps));
			unpin_all(A);
			if (A->willneed) {
				/* a queued WILLNEED could read the old bytes after
				 * the truncation: unmap drains it */
				unmap_region(0);
				CHECK(ftruncate(g_fda2, nsize) == 0, "ftruncate", nsize, errno);
				map_region(0);
			} else {
				rc = upager_sync(S.p, A->m, 0);
				CHECK(rc == 0, "sync before truncate", rc, 0);
				rc = upager_advise(S.p, A->m, A->len, UPAGER_ADV_DONTNEED);
				CHECK(rc == 0, "DONTNEED before truncate", rc, 0);
				check_file(0, A->pages - 1);
				CHECK(ftruncate(g_fda2, nsize) == 0, "ftruncate", nsize, errno);
				/* nothing resident: every page is read again */
				if ((size_t)nsize < A->len)
					memset(A->model + nsize, 0, A->len - (size_t)nsize);
			}
			break;
		}
		default: { /* statistics */
			struct upager_stats st;
			rc = upager_stats(S.p, &st, sizeof(st));
			CHECK(rc == 0 && st.nr_resident <= st.nr_frames, "stats", rc, st.nr_resident);
			break;
		}
		}
	}
	/* the end: everything readable and written */
	for (int k = 0; k < 3; k++)
		CHECK(!memcmp(S.r[k].m, S.r[k].model, S.r[k].len), "final read", k, 0);
	int rc = upager_sync(S.p, S.r[0].m, 0);
	CHECK(rc == 0, "final sync", rc, 0);
	check_file(0, S.r[0].pages - 1);
	for (int k = 0; k < 3; k++) {
		unpin_all(&S.r[k]);
		unmap_region(k);
	}
	rc = upager_destroy(S.p);
	CHECK(rc == 0, "destroy", rc, 0);
	return 0;
}
