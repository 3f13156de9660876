/*
 * test_cold.c - UPAGER_ADV_COLD and upager_config_resolve(), the public
 * calls the benchmark harness and the examples use instead of upager's
 * internals.
 *
 * UPAGER_ADV_COLD: the references of the range's resident pages are
 * cleared (pgdeactivate counts them), nothing is evicted or written (the
 * resident and dirty counts do not move), the next touch of each page is a
 * minor fault that reads the right bytes, pinned pages keep their
 * references, and under pressure the Clock hand evicts the cold pages
 * before the pages touched since.
 *
 * upager_config_resolve(): the defaults from upager.h, the environment, the
 * same page size a pager then reports, and -EINVAL with @out untouched.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#define PS 4096u

static void touch_read(const unsigned char *m, size_t first, size_t n, uint64_t seed)
{
	for (size_t i = first; i < first + n; i++)
		T_VERIFIED(t_verify_buf(m + i * PS, PS, seed, i * PS, "page"));
}

static void test_cold_clears_references(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	int fd = t_make_file(8 * PS, 21, NULL, 0);
	upager_t *p = t_create(&c);
	struct upager_stats a, b;
	unsigned char *m;

	T_REQUIRE(p != NULL, "t_create");
	m = upager_map(p, fd, 0, 8 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_RET(upager_advise(p, m, 8 * PS, UPAGER_ADV_RANDOM), 0);
	touch_read(m, 0, 8, 21);
	*(uint64_t *)(m + 2 * PS) = t_pattern_u64(21, 2 * PS); /* dirty, same bytes */
	T_RET(upager_pin(p, m + 7 * PS, PS), 0);
	t_stats(p, &a);
	T_EQ(a.nr_resident, 8);

	T_RET(upager_advise(p, m, 8 * PS, UPAGER_ADV_COLD), 0);
	t_stats(p, &b);
	T_EQ(b.pgdeactivate - a.pgdeactivate, 7); /* the pinned page keeps its */
	T_EQ(b.nr_resident, 8);
	T_EQ(b.nr_dirty, a.nr_dirty);
	T_EQ(b.pgpgout, a.pgpgout);
	T_EQ(b.pgsteal, a.pgsteal);
	for (size_t i = 0; i < 7; i++)
		T_CHECK(!(upager__page_state(p, m + i * PS) & UPAGER_PAGE_REFERENCED),
		        "page %zu still accessible after COLD", i);
	T_CHECK(upager__page_state(p, m + 7 * PS) & UPAGER_PAGE_REFERENCED,
	        "the pinned page lost its access");

	touch_read(m, 0, 8, 21);
	t_stats(p, &a);
	T_EQ(a.pgmajfault, b.pgmajfault);
	T_EQ(a.pgminfault + a.pgwritefault - b.pgminfault - b.pgwritefault, 7);
	T_RET(upager_unpin(p, m + 7 * PS, PS), 0);
	T_RET(upager_sync(p, m, 0), 0);
	T_VERIFIED(t_verify_fd(fd, 0, 8 * PS, 21));

	/* Bad input. */
	T_RET(upager_advise(p, m, 9 * PS, UPAGER_ADV_COLD), -EINVAL);
	T_RET(upager_advise(p, m, 0, UPAGER_ADV_COLD), -EINVAL);
	T_RET(upager_advise(p, m, PS, UPAGER_ADV_COLD + 1), -EINVAL);
	T_RET(upager_advise(NULL, m, PS, UPAGER_ADV_COLD), -EINVAL);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("COLD cleared 7 references (not the pinned page's), moved no page in or "
	          "out, and the next touches were 7 minor faults reading the file's bytes");
}

static void test_cold_pages_go_first(void)
{
	struct upager_config c = t_config(PS, 8 * PS);
	int fd = t_make_file(16 * PS, 22, NULL, 0);
	upager_t *p = t_create(&c);
	unsigned char *m;

	T_REQUIRE(p != NULL, "t_create");
	m = upager_map(p, fd, 0, 16 * PS, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_RET(upager_advise(p, m, 16 * PS, UPAGER_ADV_RANDOM), 0);
	touch_read(m, 0, 8, 22);                            /* all 8 frames */
	T_RET(upager_advise(p, m + 4 * PS, 4 * PS, UPAGER_ADV_COLD), 0); /* 4..7 cold */
	touch_read(m, 8, 4, 22); /* four more pages: four evictions */
	for (size_t i = 0; i < 4; i++)
		T_CHECK(upager__page_state(p, m + i * PS) & UPAGER_PAGE_RESIDENT,
		        "page %zu (referenced) was evicted before the cold pages", i);
	for (size_t i = 4; i < 8; i++)
		T_CHECK(!(upager__page_state(p, m + i * PS) & UPAGER_PAGE_RESIDENT),
		        "cold page %zu is still resident", i);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("under pressure the Clock hand evicted the 4 cold pages and kept the 4 "
	          "referenced ones");
}

static void test_config_resolve(void)
{
	struct upager_config in, out, before;
	upager_t *p;

	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
	T_EQ(out.page_size, t_default_page_size());
	T_EQ(out.io_depth, UPAGER_DEFAULT_IO_DEPTH);
	T_EQ(out.readahead, UPAGER_DEFAULT_READAHEAD_BYTES / out.page_size > UPAGER_DEFAULT_READAHEAD
	                            ? UPAGER_DEFAULT_READAHEAD_BYTES / out.page_size
	                            : UPAGER_DEFAULT_READAHEAD);
	T_GE(out.memory_limit / out.page_size, UPAGER_MIN_FRAMES);

	t_env_set("UPAGER_PAGE_SIZE", "64KiB");
	t_env_set("UPAGER_MEMORY_LIMIT", "1M");
	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
	T_EQ(out.page_size, 65536);
	T_EQ(out.memory_limit, 1 << 20);
	memset(&in, 0, sizeof(in));
	in.page_size = 8192; /* an explicit field wins over the environment */
	T_RET(upager_config_resolve(&in, sizeof(in), &out, sizeof(out)), 0);
	T_EQ(out.page_size, 8192);
	T_RET(upager_create(&p, &in, sizeof(in)), 0);
	T_EQ(upager_page_size(p), out.page_size);
	T_RET(upager_destroy(p), 0);

	memset(&before, 0x5a, sizeof(before));
	out = before;
	t_env_set("UPAGER_PAGE_SIZE", "12K");
	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), -EINVAL);
	T_CHECK(!memcmp(&out, &before, sizeof(out)), "out was written on failure");
	t_env_restore();
	in.page_size = UPAGER_MAX_PAGE_SIZE * 2;
	T_RET(upager_config_resolve(&in, sizeof(in), &out, sizeof(out)), -EINVAL);
	in.page_size = 0;
	in.flags = 0x80;
	T_RET(upager_config_resolve(&in, sizeof(in), &out, sizeof(out)), -EINVAL);
	T_RET(upager_config_resolve(NULL, 0, NULL, sizeof(struct upager_config)), -EINVAL);
	t_summary("upager_config_resolve: defaults of upager.h, environment, explicit fields, "
	          "the page size a pager then reports, -EINVAL leaving out untouched");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "COLD clears references, moves nothing", test_cold_clears_references },
		{ "COLD pages are evicted first", test_cold_pages_go_first },
		{ "upager_config_resolve", test_config_resolve },
		{ NULL, NULL },
	};

	t_init("test_cold", T_HANG_S);
	if (!t_io_uring_works())
		t_skip("io_uring is not available");
	t_add_suite("cold", tests);
	return t_run_suite();
}
