/*
 * test_pin.c - upager_pin() hands managed memory to system calls.
 *
 * Without a pin, a system call that reads or writes a non-resident page
 * returns EFAULT (the kernel does not raise SIGSEGV for its own accesses):
 * this is the expected, documented limitation.  A pinned range works with
 * write(2) and read(2), survives memory pressure, and what read(2) put into
 * it reaches the file even though no fault saw those writes.  Pins nest;
 * pinning beyond max(2, frames / 8) unpinned frames fails with -ENOMEM and
 * pins nothing.
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
#include <unistd.h>

#include "helpers.h"

#define PS 4096ull
#define FRAMES 64
#define NPAGES 128
#define S0 0x910ull /* the mapped file */
#define SC 0x920ull /* the source file of read(2) */

struct fixture {
	upager_t *p;
	int fd, src;
	unsigned char *m;
};

static struct fixture setup(int prot)
{
	struct fixture f;
	struct upager_config c = t_config(PS, FRAMES * PS);

	f.p = t_create(&c);
	f.fd = t_make_file(NPAGES * PS, S0, NULL, 0);
	f.src = t_make_file(NPAGES * PS, SC, NULL, 0);
	f.m = upager_map(f.p, f.fd, 0, NPAGES * PS, prot, UPAGER_SHARED);
	T_REQUIRE(f.m != NULL, "upager_map: %s", strerror(errno));
	return f;
}

static void teardown(struct fixture *f)
{
	T_RET(upager_unmap(f->p, f->m), 0);
	T_RET(upager_destroy(f->p), 0);
	close(f->fd);
	close(f->src);
}

/* Read every page of [m, m + len) through the pointer (memory pressure)
 * and check the pattern outside [skip_lo, skip_hi). */
static void sweep(const unsigned char *m, size_t len, uint64_t seed, size_t skip_lo,
                  size_t skip_hi)
{
	if (skip_lo > 0)
		T_VERIFIED(t_verify_buf(m, skip_lo, seed, 0, "sweep"));
	if (skip_hi < len)
		T_VERIFIED(t_verify_buf(m + skip_hi, len - skip_hi, seed, skip_hi, "sweep"));
}

static void test_efault_without_pin(void)
{
	struct fixture f = setup(PROT_READ | PROT_WRITE);
	int pfd[2];

	/* fresh mapping: every page is inaccessible until touched */
	errno = 0;
	ssize_t r = pread(f.src, f.m + 40 * PS, PS, 40 * PS);
	int e = errno;
	T_CHECK(r == -1 && e == EFAULT,
	        "read(2) into a non-resident page: %zd errno %d (%s), expected EFAULT "
	        "(the documented limitation)",
	        r, e, strerror(e));
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	errno = 0;
	r = write(pfd[1], f.m + 41 * PS, PS);
	e = errno;
	T_CHECK(r == -1 && e == EFAULT,
	        "write(2) from a non-resident page: %zd errno %d (%s), expected EFAULT", r, e,
	        strerror(e));
	close(pfd[0]);
	close(pfd[1]);
	/* nothing happened to the data */
	T_VERIFIED(t_verify_buf(f.m + 40 * PS, 2 * PS, S0, 40 * PS, "after EFAULT"));
	teardown(&f);
	t_summary("without a pin, read(2) into / write(2) from a non-resident page fail with "
	          "EFAULT (expected limitation) and change nothing");
}

static void test_pin_syscalls(void)
{
	struct fixture f = setup(PROT_READ | PROT_WRITE);
	struct upager_stats st;
	const size_t lo = 5 * PS + 100, len = 2 * PS; /* pages 5, 6, 7 */
	int pfd[2];
	unsigned char buf[PS];
	char opath[4200];
	int out = t_make_zero_file(NPAGES * PS, opath, sizeof(opath));

	T_RET(upager_pin(f.p, f.m + lo, len), 0);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 3);
	T_GE(st.nr_dirty, 3); /* writable region: pinned pages are marked dirty */

	/* write(2) from the pinned pages, to a file and to a pipe */
	T_EQ(pwrite(out, f.m + 5 * PS, 3 * PS, 5 * PS), (ssize_t)(3 * PS));
	T_VERIFIED(t_verify_fd(out, 5 * PS, 3 * PS, S0));
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	T_EQ(write(pfd[1], f.m + lo, PS), (ssize_t)PS);
	T_EQ(read(pfd[0], buf, PS), (ssize_t)PS);
	T_VERIFIED(t_verify_buf(buf, PS, S0, lo, "pipe from pinned pages"));

	/* memory pressure: pinned pages are neither evicted nor protected */
	sweep(f.m, NPAGES * PS, S0, 5 * PS, 8 * PS);
	t_stats(f.p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_EQ(st.nr_pinned, 3);

	/* read(2) into the pinned range, from a file and from a pipe */
	errno = 0;
	ssize_t r = pread(f.src, f.m + lo, len, (off_t)lo);
	T_CHECK(r == (ssize_t)len, "pread into pinned range: %zd (%s)", r, strerror(errno));
	T_VERIFIED(t_verify_buf(f.m + lo, len, SC, lo, "pinned range after read(2)"));
	T_VERIFIED(t_verify_buf(f.m + 5 * PS, 100, S0, 5 * PS, "before the read range"));
	T_VERIFIED(t_verify_buf(f.m + lo + len, 8 * PS - lo - len, S0, lo + len,
	                        "after the read range"));
	t_fill(buf, 64, SC, 7 * PS + 1000);
	T_EQ(write(pfd[1], buf, 64), 64);
	T_EQ(read(pfd[0], f.m + 7 * PS + 1000, 64), 64);
	close(pfd[0]);
	close(pfd[1]);
	sweep(f.m, NPAGES * PS, S0, 5 * PS, 8 * PS);
	T_VERIFIED(t_verify_buf(f.m + lo, len, SC, lo, "pinned range after pressure"));
	T_VERIFIED(t_verify_buf(f.m + 7 * PS + 1000, 64, SC, 7 * PS + 1000, "pipe into pin"));

	T_RET(upager_unpin(f.p, f.m + lo, len), 0);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 0);
	/* evict the formerly pinned pages: what read(2) wrote must be written
	 * back although no fault saw it */
	sweep(f.m, NPAGES * PS, S0, 5 * PS, 8 * PS);
	T_RET(upager_sync(f.p, f.m, 0), 0);
	T_VERIFIED(t_verify_fd(f.fd, 5 * PS, 100, S0));
	T_VERIFIED(t_verify_fd(f.fd, lo, len, SC));
	T_VERIFIED(t_verify_fd(f.fd, 7 * PS + 100, 900, S0));
	T_VERIFIED(t_verify_fd(f.fd, 7 * PS + 1000, 64, SC));
	T_VERIFIED(t_verify_fd(f.fd, 7 * PS + 1064, PS - 1064, S0));
	T_VERIFIED(t_verify_fd(f.fd, 0, 5 * PS, S0));
	T_VERIFIED(t_verify_fd(f.fd, 8 * PS, (NPAGES - 8) * PS, S0));
	/* and through the pointer after re-reading */
	T_VERIFIED(t_verify_buf(f.m + lo, len, SC, lo, "re-read after unpin"));
	teardown(&f);
	close(out);
	t_summary("pinned range: write(2) to a file and a pipe, read(2) from a file and a pipe "
	          "move the right bytes, survive memory pressure, reach the file after unpin, "
	          "eviction and sync");
}

static void test_pin_nesting(void)
{
	struct fixture f = setup(PROT_READ | PROT_WRITE);
	struct upager_stats st;
	unsigned char buf[PS];
	int pfd[2];

	T_REQUIRE(pipe(pfd) == 0, "pipe");
	T_RET(upager_pin(f.p, f.m + 10 * PS, 2 * PS), 0);
	T_RET(upager_pin(f.p, f.m + 11 * PS, 2 * PS), 0); /* page 11 twice */
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 3);
	T_RET(upager_unpin(f.p, f.m + 10 * PS, 2 * PS), 0);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 2); /* 11 (once more) and 12 */
	sweep(f.m, NPAGES * PS, S0, 11 * PS, 13 * PS);
	T_EQ(write(pfd[1], f.m + 11 * PS, PS), (ssize_t)PS); /* still accessible */
	T_EQ(read(pfd[0], buf, PS), (ssize_t)PS);
	T_VERIFIED(t_verify_buf(buf, PS, S0, 11 * PS, "nested pin"));
	T_RET(upager_unpin(f.p, f.m + 10 * PS, PS), -EINVAL); /* 10 is no longer pinned */
	T_RET(upager_unpin(f.p, f.m + 11 * PS, 2 * PS), 0);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 0);
	T_RET(upager_unpin(f.p, f.m + 11 * PS, PS), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	teardown(&f);
	t_summary("pins nest: a page pinned twice stays pinned and accessible after one unpin");
}

static void test_pin_limit(void)
{
	struct fixture f = setup(PROT_READ | PROT_WRITE);
	struct upager_stats st;
	const size_t maxpin = FRAMES - FRAMES / 8; /* 56: leaves max(2, 64/8) = 8 */

	T_RET(upager_pin(f.p, f.m, (maxpin + 1) * PS), -ENOMEM);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 0);
	T_RET(upager_pin(f.p, f.m, NPAGES * PS), -ENOMEM);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 0);
	T_RET(upager_pin(f.p, f.m, maxpin * PS), 0);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, maxpin);
	T_RET(upager_pin(f.p, f.m + 100 * PS, PS), -ENOMEM); /* one more page */
	T_RET(upager_pin(f.p, f.m + (maxpin - 1) * PS, 2 * PS), -ENOMEM);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, maxpin);
	T_RET(upager_pin(f.p, f.m + 3 * PS, PS), 0); /* already pinned: no new frame */
	T_RET(upager_unpin(f.p, f.m + 3 * PS, PS), 0);
	/* the other pages still work with the 8 frames left */
	sweep(f.m, NPAGES * PS, S0, 0, maxpin * PS);
	t_stats(f.p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_EQ(st.nr_pinned, maxpin);
	T_RET(upager_unpin(f.p, f.m, maxpin * PS), 0);
	t_stats(f.p, &st);
	T_EQ(st.nr_pinned, 0);
	T_RET(upager_pin(f.p, f.m + 60 * PS, maxpin * PS), 0); /* possible again */
	T_RET(upager_unpin(f.p, f.m + 60 * PS, maxpin * PS), 0);
	teardown(&f);

	/* 4 frames: at least 2 stay unpinned */
	struct upager_config c = t_config(PS, 4 * PS);
	upager_t *p = t_create(&c);
	int fd = t_make_file(16 * PS, S0, NULL, 0);
	unsigned char *m = upager_map(p, fd, 0, 16 * PS, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_RET(upager_pin(p, m, 3 * PS), -ENOMEM);
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 0);
	T_RET(upager_pin(p, m + 4 * PS, 2 * PS), 0);
	T_RET(upager_pin(p, m, PS), -ENOMEM);
	T_VERIFIED(t_verify_buf(m + 6 * PS, 10 * PS, S0, 6 * PS, "2 unpinned frames"));
	T_VERIFIED(t_verify_buf(m, 4 * PS, S0, 0, "2 unpinned frames"));
	T_RET(upager_unpin(p, m + 4 * PS, 2 * PS), 0);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("pin limit: 56 of 64 frames pinnable, 57 -> -ENOMEM pinning nothing; 4 "
	          "frames: 2 pinnable; the other pages keep working");
}

static void test_pin_readonly(void)
{
	struct fixture f = setup(PROT_READ);
	unsigned char buf[PS];
	int pfd[2];

	T_REQUIRE(pipe(pfd) == 0, "pipe");
	T_RET(upager_pin(f.p, f.m + 20 * PS, PS), 0);
	sweep(f.m, NPAGES * PS, S0, 20 * PS, 21 * PS);
	T_EQ(write(pfd[1], f.m + 20 * PS, PS), (ssize_t)PS);
	T_EQ(read(pfd[0], buf, PS), (ssize_t)PS);
	T_VERIFIED(t_verify_buf(buf, PS, S0, 20 * PS, "from pinned read-only page"));
	errno = 0;
	ssize_t r = pread(f.src, f.m + 20 * PS, 16, 0);
	int e = errno;
	T_CHECK(r == -1 && e == EFAULT, "read(2) into a pinned PROT_READ page: %zd errno %d", r, e);
	T_VERIFIED(t_verify_buf(f.m + 20 * PS, PS, S0, 20 * PS, "pinned read-only page"));
	T_RET(upager_unpin(f.p, f.m + 20 * PS, PS), 0);
	close(pfd[0]);
	close(pfd[1]);
	teardown(&f);
	t_summary("pinned PROT_READ page: write(2) from it works, read(2) into it is EFAULT");
}

static void test_pin_alloc(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	int src = t_make_file(64 * PS, SC, NULL, 0);
	unsigned char *m = upager_alloc(p, 64 * PS);

	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	T_RET(upager_pin(p, m + 3 * PS, 2 * PS), 0);
	T_VERIFIED(t_verify_zero(m + 3 * PS, 2 * PS, 3 * PS, "pinned alloc"));
	T_EQ(pread(src, m + 3 * PS, 2 * PS, 3 * PS), (ssize_t)(2 * PS));
	T_RET(upager_unpin(p, m + 3 * PS, 2 * PS), 0);
	/* evict them: the data goes to the scratch file and comes back */
	T_VERIFIED(t_verify_zero(m + 5 * PS, 59 * PS, 5 * PS, "other alloc pages"));
	T_VERIFIED(t_verify_zero(m, 3 * PS, 0, "other alloc pages"));
	struct upager_stats st;
	t_stats(p, &st);
	T_GE(st.pgsteal, 2);
	T_VERIFIED(t_verify_buf(m + 3 * PS, 2 * PS, SC, 3 * PS, "alloc data written by read(2)"));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(src);
	t_summary("read(2) into pinned upager_alloc() memory survives unpin and eviction");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "EFAULT without pin", test_efault_without_pin },
		{ "system calls on a pinned range", test_pin_syscalls },
		{ "nested pins", test_pin_nesting },
		{ "pin limit", test_pin_limit },
		{ "pin of a read-only mapping", test_pin_readonly },
		{ "pin of alloc memory", test_pin_alloc },
		{ NULL, NULL },
	};

	t_init("test_pin", 120);
	t_add_suite("pin", tests);
	return t_run_suite();
}
