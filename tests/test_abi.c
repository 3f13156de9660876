/*
 * test_abi.c - a program built against version 0.1's header runs against
 * this library.
 *
 * The program includes tests/abi/upager-0.1.h (upager.h as released in
 * 0.1: struct upager_config with size_t fields and no reserved field,
 * upager_create(), upager_stats() and upager_config_resolve() without
 * sizes) and links the shared library, libupager.so, like any program.
 * A program linked against 0.1 has its calls bound to symbol version
 * UPAGER_0.1; the .symver lines below bind this one's the same way (the
 * calls that did not change bind to UPAGER_0.1 by themselves, as the
 * version script puts them there).  It then checks, against independent
 * references (the file read with pread(2), sizes computed here):
 *  - the library is the new one (upager_version() is not the header's);
 *  - upager_config_resolve() fills the 0.1 struct: settings kept, 0 fields
 *    given their defaults, read-ahead off reported as 0 as 0.1 did;
 *  - a pager made with the 0.1 config maps a file whose bytes read back as
 *    in the file, and a store reaches the file after upager_sync();
 *  - upager_stats() writes exactly the 0.1 struct (a canary after it stays),
 *    with counters that agree with what the program did;
 *  - 0.1's errors stay 0.1's: read-ahead above 1024 is -EINVAL.
 *
 * No helpers.h: it includes today's upager.h, whose declarations differ.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "upager-0.1.h"

/* What the linker records for a program linked against 0.1. */
__asm__(".symver upager_create, upager_create@UPAGER_0.1");
__asm__(".symver upager_stats, upager_stats@UPAGER_0.1");
__asm__(".symver upager_config_resolve, upager_config_resolve@UPAGER_0.1");

#define PS 4096u
#define NPAGES 64u

static unsigned char ref[NPAGES * PS];
static char path[] = "/var/tmp/upager-abi-XXXXXX";
static int fd = -1;

static int suite_init(void)
{
	const char *tmp = getenv("TMPDIR");
	static char buf[4096];

	if (tmp && *tmp) {
		snprintf(buf, sizeof(buf), "%s/upager-abi-XXXXXX", tmp);
		fd = mkstemp(buf);
		if (fd >= 0)
			unlink(buf);
	}
	if (fd < 0) {
		fd = mkstemp(path);
		if (fd < 0)
			return -1;
		unlink(path);
	}
	srand(4242);
	for (size_t i = 0; i < sizeof(ref); i++)
		ref[i] = (unsigned char)(rand() >> 7);
	return pwrite(fd, ref, sizeof(ref), 0) == (ssize_t)sizeof(ref) ? 0 : -1;
}

static int suite_clean(void)
{
	if (fd >= 0)
		close(fd);
	return 0;
}

static void test_new_library(void)
{
	/* The header says 0.1.0; the library answering is 1.x. */
	CU_ASSERT_STRING_EQUAL(UPAGER_VERSION_STRING, "0.1.0");
	CU_ASSERT_STRING_NOT_EQUAL(upager_version(), "0.1.0");
	CU_ASSERT_EQUAL(upager_version()[0], '1');
}

static void test_resolve_0_1(void)
{
	struct upager_config in = { .page_size = PS, .memory_limit = 16 * PS, .io_depth = 8 };
	struct upager_config out;

	memset(&out, 0xa5, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(upager_config_resolve(&in, &out), 0);
	CU_ASSERT_EQUAL(out.page_size, PS);
	CU_ASSERT_EQUAL(out.memory_limit, 16 * PS);
	CU_ASSERT_EQUAL(out.io_depth, 8);
	/* The default: 1 MiB of pages, at least 16 (it was 16 in 0.1). */
	CU_ASSERT_EQUAL(out.readahead, (1u << 20) / PS > 16 ? (1u << 20) / PS : 16);
	CU_ASSERT_EQUAL(out.flags, 0);

	/* Read-ahead turned off by the environment: 0.1 said 0. */
	setenv("UPAGER_READAHEAD", "off", 1);
	memset(&out, 0xa5, sizeof(out));
	CU_ASSERT_EQUAL(upager_config_resolve(&in, &out), 0);
	CU_ASSERT_EQUAL(out.readahead, 0);
	unsetenv("UPAGER_READAHEAD");

	/* 0.1's range check of read-ahead. */
	in.readahead = 1025;
	memset(&out, 0xa5, sizeof(out));
	CU_ASSERT_EQUAL(upager_config_resolve(&in, &out), -EINVAL);
	CU_ASSERT_EQUAL(out.io_depth, 0xa5a5a5a5u); /* untouched */
	in.readahead = 0xffffffffu;
	CU_ASSERT_EQUAL(upager_config_resolve(&in, &out), -EINVAL);
	CU_ASSERT_EQUAL(upager_config_resolve(NULL, NULL), -EINVAL);
}

/* The 0.1 struct upager_stats inside a larger buffer: the library must
 * write exactly sizeof(struct upager_stats) of 0.1. */
struct stats_canary {
	struct upager_stats s;
	unsigned char canary[256];
};

static void test_map_and_stats_0_1(void)
{
	struct upager_config c = { .page_size = PS, .memory_limit = 16 * PS, .io_depth = 8,
	                           .readahead = 4 };
	struct stats_canary sc;
	unsigned char back[PS];
	upager_t *p = NULL;
	unsigned char *m;
	size_t bad = 0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(sizeof(struct upager_stats), 496);
	rc = upager_create(&p, &c);
	if (rc == -ENOSYS || rc == -EPERM) {
		printf("SKIP: io_uring is not available here (%s)\n", upager_strerror(rc));
		exit(77);
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(upager_page_size(p), PS);

	m = upager_map(p, fd, 0, sizeof(ref), PROT_READ | PROT_WRITE, UPAGER_SHARED);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (size_t i = 0; i < sizeof(ref); i++)
		bad += m[i] != ref[i];
	CU_ASSERT_EQUAL(bad, 0);

	/* A store reaches the file. */
	for (size_t i = 0; i < PS; i++) {
		ref[5 * PS + i] ^= 0x5a;
		m[5 * PS + i] = ref[5 * PS + i];
	}
	CU_ASSERT_EQUAL(upager_sync(p, m, 0), 0);
	CU_ASSERT_EQUAL(pread(fd, back, PS, 5 * PS), (ssize_t)PS);
	CU_ASSERT_EQUAL(memcmp(back, ref + 5 * PS, PS), 0);

	memset(&sc, 0xa5, sizeof(sc));
	CU_ASSERT_EQUAL(upager_stats(p, &sc.s), 0);
	for (size_t i = 0; i < sizeof(sc.canary); i++)
		if (sc.canary[i] != 0xa5) {
			CU_FAIL("upager_stats wrote past the 0.1 struct");
			break;
		}
	/* 64 pages read through 16 frames: every page was read at least once,
	 * at most 16 are resident, the one dirtied page was written. */
	CU_ASSERT_EQUAL(sc.s.nr_frames, 16);
	CU_ASSERT(sc.s.pgpgin >= NPAGES);
	CU_ASSERT(sc.s.nr_resident <= 16);
	CU_ASSERT(sc.s.pgpgout >= 1);
	CU_ASSERT(sc.s.pgsteal >= NPAGES - 16);
	CU_ASSERT_EQUAL(sc.s.sigbus_nomem, 0);

	CU_ASSERT_EQUAL(upager_unmap(p, m), 0);
	CU_ASSERT_EQUAL(upager_destroy(p), 0);

	/* 0.1's NULL config and its errors. */
	p = NULL;
	CU_ASSERT_EQUAL(upager_create(NULL, &c), -EINVAL);
	c.readahead = 2000;
	CU_ASSERT_EQUAL(upager_create(&p, &c), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(upager_stats(NULL, &sc.s), -EINVAL);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("abi-0.1", suite_init, suite_clean);
	CU_add_test(s, "the library is 1.x", test_new_library);
	CU_add_test(s, "upager_config_resolve@UPAGER_0.1", test_resolve_0_1);
	CU_add_test(s, "map, sync and stats through the 0.1 calls", test_map_and_stats_0_1);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
