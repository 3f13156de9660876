/*
 * test_api.c - the documented error codes of every function of upager.h,
 * the UPAGER_* environment variables and the small getters.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define GiB (1024ull * 1024 * 1024)
#define TiB (1024ull * GiB)

static const uint64_t SEED = 0xa91;

/* A sentinel the failing upager_create() must leave in *pager. */
static char g_sentinel;
#define SENTINEL ((upager_t *)&g_sentinel)

/* upager_create() must fail with -EINVAL and leave *pager alone. */
static void create_einval(const struct upager_config *cfg, const char *what)
{
	upager_t *p = SENTINEL;
	int r = upager_create(&p, cfg, sizeof(*cfg));

	T_CHECK(r == -EINVAL, "upager_create(%s): %d (%s), expected -EINVAL", what, r,
	        upager_strerror(r));
	T_CHECK(p == SENTINEL, "upager_create(%s) failed but changed *pager", what);
	if (r == 0 && p != SENTINEL)
		upager_destroy(p);
}

/* upager_create() must succeed; return the pager. */
static upager_t *create_ok(const struct upager_config *cfg, const char *what)
{
	upager_t *p = NULL;
	int r = upager_create(&p, cfg, sizeof(*cfg));

	if ((r == -ENOSYS || r == -EPERM) && !t_io_uring_works())
		t_skip("io_uring is not available");
	T_CHECK(r == 0 && p != NULL, "upager_create(%s): %d (%s), expected 0", what, r,
	        upager_strerror(r));
	return r == 0 ? p : NULL;
}

static uint64_t nr_frames(upager_t *p)
{
	struct upager_stats st;

	t_stats(p, &st);
	return st.nr_frames;
}

/* ----------------------------------------------------------- upager_create */

static void test_create_args(void)
{
	size_t sys = t_sys_page();
	struct upager_config c;
	upager_t *p;
	char what[96];

	T_RET(upager_create(NULL, NULL, 0), -EINVAL);
	c = t_config(4096, 256 * KiB);
	T_RET(upager_create(NULL, &c, sizeof(c)), -EINVAL);

	/* page_size: power of two, >= system page, <= 2 MiB */
	const size_t bad_ps[] = { 3000, 3 * sys, sys + sys / 2, sys / 2, sys / 4, 1, 512,
	                          4 * MiB, 2 * MiB + sys, 1ull << 40, SIZE_MAX };
	for (size_t i = 0; i < sizeof(bad_ps) / sizeof(bad_ps[0]); i++) {
		c = t_config(bad_ps[i], 64 * MiB);
		snprintf(what, sizeof(what), "page_size %zu", bad_ps[i]);
		create_einval(&c, what);
	}
	/* memory_limit below 4 pages */
	const size_t bad_lim[] = { 1, 4096, 3 * 4096, 4 * 4096 - 1 };
	for (size_t i = 0; i < sizeof(bad_lim) / sizeof(bad_lim[0]); i++) {
		c = t_config(4096, bad_lim[i]);
		snprintf(what, sizeof(what), "memory_limit %zu with 4 KiB pages", bad_lim[i]);
		create_einval(&c, what);
	}
	c = t_config(16384, 4 * 16384 - 4096);
	create_einval(&c, "memory_limit 3.75 pages of 16 KiB");
	/* io_depth 1..4096, readahead 0..1024 */
	c = t_config(4096, 256 * KiB);
	c.io_depth = 4097;
	create_einval(&c, "io_depth 4097");
	c.io_depth = UINT_MAX;
	create_einval(&c, "io_depth UINT_MAX");
	c = t_config(4096, 256 * KiB);
	c.readahead = 1025;
	create_einval(&c, "readahead 1025");
	c.readahead = UPAGER_READAHEAD_OFF - 1;
	create_einval(&c, "readahead UPAGER_READAHEAD_OFF - 1");
	c = t_config(4096, 256 * KiB);
	c.reserved0 = 1;
	create_einval(&c, "reserved0 1");
	/* flags */
	const unsigned bad_flags[] = { 0x2, 0x4, 0x80000000u, UPAGER_DIRECT_IO | 0x100, ~0u };
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		c = t_config(4096, 256 * KiB);
		c.flags = bad_flags[i];
		snprintf(what, sizeof(what), "flags 0x%x", bad_flags[i]);
		create_einval(&c, what);
	}

	/* the boundaries are accepted */
	c = t_config(sys, 4 * sys);
	if ((p = create_ok(&c, "page_size = system page, limit 4 pages"))) {
		T_EQ(upager_page_size(p), sys);
		T_EQ(nr_frames(p), 4);
		T_RET(upager_destroy(p), 0);
	}
	c = t_config(4096, 4 * 4096 + 4095);
	if ((p = create_ok(&c, "limit 4 pages + 4095 bytes"))) {
		T_EQ(nr_frames(p), 4); /* rounded down to whole pages */
		T_RET(upager_destroy(p), 0);
	}
	c = t_config(16384, 100 * 16384 + 16383);
	if ((p = create_ok(&c, "16 KiB pages, limit 100.99 pages"))) {
		T_EQ(upager_page_size(p), 16384);
		T_EQ(nr_frames(p), 100);
		T_RET(upager_destroy(p), 0);
	}
	c = t_config(2 * MiB, 8 * MiB);
	if ((p = create_ok(&c, "page_size 2 MiB"))) {
		T_EQ(upager_page_size(p), 2 * MiB);
		T_EQ(nr_frames(p), 4);
		T_RET(upager_destroy(p), 0);
	}
	c = t_config(4096, 256 * KiB);
	c.io_depth = 1;
	c.readahead = 1024;
	if ((p = create_ok(&c, "io_depth 1, readahead 1024")))
		T_RET(upager_destroy(p), 0);
	c.io_depth = 4096;
	c.readahead = 1;
	if ((p = create_ok(&c, "io_depth 4096")))
		T_RET(upager_destroy(p), 0);
	c = t_config(4096, 256 * KiB);
	c.flags = UPAGER_DIRECT_IO;
	if ((p = create_ok(&c, "UPAGER_DIRECT_IO")))
		T_RET(upager_destroy(p), 0);

	/* all defaults (environment cleared by t_init): the default page
	 * size (t_default_page_size), a quarter of physical memory */
	if ((p = create_ok(NULL, "NULL config"))) {
		uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * sys;
		uint64_t fr = nr_frames(p);
		T_EQ(upager_page_size(p), t_default_page_size());
		T_CHECK(fr >= 4 && fr <= phys / 4 / t_default_page_size(),
		        "default nr_frames %llu, expected 4 .. %llu (a quarter of %llu bytes)",
		        (unsigned long long)fr, (unsigned long long)(phys / 4 / t_default_page_size()),
		        (unsigned long long)phys);
		T_RET(upager_destroy(p), 0);
	}
	t_summary("upager_create: -EINVAL for NULL pager, bad page_size/limit/io_depth/"
	          "readahead/flags (pager untouched); boundaries accepted; defaults");
}

/* -------------------------------------------------------- environment */

static void test_env_garbage(void)
{
	static const char *const vars[] = { "UPAGER_PAGE_SIZE", "UPAGER_MEMORY_LIMIT",
		                            "UPAGER_IO_DEPTH", "UPAGER_READAHEAD" };
	static const char *const garbage[] = { "12Q", "", "-1", "99999999999999999999G",
		                               "abc", "4K4", "0x", "1.5M" };
	char what[128];

	for (size_t v = 0; v < 4; v++)
		for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
			struct upager_config c = t_config(4096, 256 * KiB);
			switch (v) {
			case 0: c.page_size = 0; break;
			case 1: c.memory_limit = 0; break;
			case 2: c.io_depth = 0; break;
			case 3: c.readahead = 0; break;
			}
			t_env_set(vars[v], garbage[g]);
			snprintf(what, sizeof(what), "%s=\"%s\"", vars[v], garbage[g]);
			create_einval(&c, what);
			t_env_restore();
		}

	/* parsable but out of range */
	static const struct {
		const char *var, *val;
	} range[] = {
		{ "UPAGER_PAGE_SIZE", "3000" },    { "UPAGER_PAGE_SIZE", "1G" },
		{ "UPAGER_PAGE_SIZE", "2K" },      { "UPAGER_MEMORY_LIMIT", "12K" },
		{ "UPAGER_IO_DEPTH", "4097" },     { "UPAGER_IO_DEPTH", "100000" },
		{ "UPAGER_READAHEAD", "1025" },
	};
	for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
		struct upager_config c = t_config(4096, 256 * KiB);
		if (!strcmp(range[i].var, "UPAGER_PAGE_SIZE"))
			c.page_size = 0;
		else if (!strcmp(range[i].var, "UPAGER_MEMORY_LIMIT"))
			c.memory_limit = 0;
		else if (!strcmp(range[i].var, "UPAGER_IO_DEPTH"))
			c.io_depth = 0;
		else
			c.readahead = 0;
		t_env_set(range[i].var, range[i].val);
		snprintf(what, sizeof(what), "%s=\"%s\"", range[i].var, range[i].val);
		create_einval(&c, what);
		t_env_restore();
	}
	t_summary("UPAGER_* garbage (\"12Q\", \"\", \"-1\", \"99999999999999999999G\", ...) and "
	          "out-of-range values -> -EINVAL");
}

static void test_env_valid(void)
{
	struct upager_config c;
	upager_t *p;

	/* page size with and without suffix */
	static const struct {
		const char *val;
		size_t ps;
	} ps[] = { { "16K", 16 * KiB }, { "16384", 16384 }, { "4K", 4 * KiB }, { "2M", 2 * MiB },
		   { "64K", 64 * KiB } };
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		c = t_config(0, 16 * MiB);
		t_env_set("UPAGER_PAGE_SIZE", ps[i].val);
		if ((p = create_ok(&c, ps[i].val))) {
			T_CHECK(upager_page_size(p) == ps[i].ps,
			        "UPAGER_PAGE_SIZE=%s: page size %zu, expected %zu", ps[i].val,
			        upager_page_size(p), ps[i].ps);
			T_EQ(nr_frames(p), 16 * MiB / ps[i].ps);
			T_RET(upager_destroy(p), 0);
		}
		t_env_restore();
	}

	/* memory limit with K, M, G suffixes */
	static const struct {
		const char *val;
		size_t ps;
		uint64_t frames;
	} lim[] = { { "256K", 4096, 64 },
		    { "1M", 16384, 64 },
		    { "3M", 4096, 768 },
		    { "1G", 2 * MiB, 512 },
		    { "1048576", 4096, 256 },
		    { "100000", 4096, 24 } /* rounded down */ };
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		c = t_config(lim[i].ps, 0);
		t_env_set("UPAGER_MEMORY_LIMIT", lim[i].val);
		if ((p = create_ok(&c, lim[i].val))) {
			uint64_t fr = nr_frames(p);
			T_CHECK(fr == lim[i].frames,
			        "UPAGER_MEMORY_LIMIT=%s, page %zu: nr_frames %llu, expected %llu",
			        lim[i].val, lim[i].ps, (unsigned long long)fr,
			        (unsigned long long)lim[i].frames);
			T_RET(upager_destroy(p), 0);
		}
		t_env_restore();
	}

	/* both at once */
	c = t_config(0, 0);
	t_env_set("UPAGER_PAGE_SIZE", "8K");
	t_env_set("UPAGER_MEMORY_LIMIT", "512K");
	if ((p = create_ok(&c, "UPAGER_PAGE_SIZE=8K UPAGER_MEMORY_LIMIT=512K"))) {
		T_EQ(upager_page_size(p), 8192);
		T_EQ(nr_frames(p), 64);
		T_RET(upager_destroy(p), 0);
	}
	t_env_restore();

	/* io_depth and readahead: accepted */
	c = t_config(4096, 256 * KiB);
	c.io_depth = 0;
	c.readahead = 0;
	t_env_set("UPAGER_IO_DEPTH", "8");
	t_env_set("UPAGER_READAHEAD", "32");
	if ((p = create_ok(&c, "UPAGER_IO_DEPTH=8 UPAGER_READAHEAD=32")))
		T_RET(upager_destroy(p), 0);
	t_env_restore();
	t_env_set("UPAGER_IO_DEPTH", "4096");
	t_env_set("UPAGER_READAHEAD", "1024");
	if ((p = create_ok(&c, "UPAGER_IO_DEPTH=4096 UPAGER_READAHEAD=1024")))
		T_RET(upager_destroy(p), 0);
	t_env_restore();

	/* a non-zero config field wins over its variable */
	c = t_config(4096, 256 * KiB);
	t_env_set("UPAGER_PAGE_SIZE", "16K");
	t_env_set("UPAGER_MEMORY_LIMIT", "1M");
	if ((p = create_ok(&c, "config set, env set"))) {
		T_EQ(upager_page_size(p), 4096);
		T_EQ(nr_frames(p), 64);
		T_RET(upager_destroy(p), 0);
	}
	t_env_restore();
	t_summary("UPAGER_PAGE_SIZE / UPAGER_MEMORY_LIMIT with K/M/G suffixes honoured "
	          "(page size, nr_frames); config fields win over the environment");
}

/* Touch @n pages one after the other (reads) and return stats.readahead. */
static uint64_t sequential_readahead(upager_t *p, int fd, size_t ps, unsigned n)
{
	struct upager_stats st;
	volatile unsigned char *m = upager_map(p, fd, 0, (size_t)n * ps, PROT_READ, UPAGER_SHARED);
	unsigned bad = 0;

	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	for (unsigned i = 0; i < n; i++)
		bad += m[(size_t)i * ps + 5] != t_pattern(SEED, (uint64_t)i * ps + 5);
	T_EQ(bad, 0);
	t_stats(p, &st);
	T_RET(upager_unmap(p, (void *)m), 0);
	return st.readahead;
}

static void test_env_readahead_off(void)
{
	const size_t ps = 4096;
	const unsigned n = 64;
	int fd = t_make_file(n * ps, SEED, NULL, 0);
	struct upager_config c = t_config(ps, 1 * MiB);
	upager_t *p;

	/* control: read-ahead 8 does read ahead on sequential faults */
	if ((p = create_ok(&c, "readahead 8"))) {
		uint64_t ra = sequential_readahead(p, fd, ps, n);
		T_CHECK(ra > 0, "readahead 8: stats.readahead is 0 after %u sequential faults", n);
		T_RET(upager_destroy(p), 0);
	}
	c.readahead = 0;
	t_env_set("UPAGER_READAHEAD", "off");
	if ((p = create_ok(&c, "UPAGER_READAHEAD=off"))) {
		uint64_t ra = sequential_readahead(p, fd, ps, n);
		T_CHECK(ra == 0, "UPAGER_READAHEAD=off: stats.readahead %llu, expected 0",
		        (unsigned long long)ra);
		T_RET(upager_destroy(p), 0);
	}
	t_env_restore();
	close(fd);
	t_summary("UPAGER_READAHEAD=off disables read-ahead (readahead 8 does read ahead)");
}

/* A config at the library's size inside a larger buffer, as a program built
 * against a later header (with more fields) passes it. */
struct config_later {
	struct upager_config c;
	unsigned char more[24];
};

static void test_create_sizes(void)
{
	struct config_later l;
	struct upager_config out;
	upager_t *p = SENTINEL;

	/* Below version 1.0's size: -EINVAL, whatever the bytes say. */
	l.c = t_config(4096, 256 * KiB);
	memset(l.more, 0, sizeof(l.more));
	T_EQ(sizeof(struct upager_config), UPAGER_CONFIG_SIZE_VER0);
	T_RET(upager_create(&p, &l.c, 0), -EINVAL);
	T_RET(upager_create(&p, &l.c, UPAGER_CONFIG_SIZE_VER0 - 1), -EINVAL);
	T_RET(upager_config_resolve(&l.c, 8, &out, sizeof(out)), -EINVAL);
	T_CHECK(p == SENTINEL, "a failed upager_create changed *pager");

	/* Longer, unknown bytes 0: accepted; one of them not 0: -E2BIG. */
	p = NULL;
	T_RET(upager_create(&p, &l.c, sizeof(l)), 0);
	T_REQUIRE(p != NULL, "upager_create with a longer zero-extended config");
	T_EQ(upager_page_size(p), 4096);
	T_EQ(nr_frames(p), 64);
	T_RET(upager_destroy(p), 0);
	for (size_t i = 0; i < sizeof(l.more); i += 7) {
		p = SENTINEL;
		l.more[i] = 1;
		T_RET(upager_create(&p, &l.c, sizeof(l)), -E2BIG);
		T_RET(upager_config_resolve(&l.c, sizeof(l), &out, sizeof(out)), -E2BIG);
		T_CHECK(p == SENTINEL, "-E2BIG changed *pager");
		/* The same bytes past the size the caller gives are not read. */
		p = NULL;
		T_RET(upager_create(&p, &l.c, sizeof(l.c)), 0);
		T_RET(upager_destroy(p), 0);
		l.more[i] = 0;
	}

	/* upager_config_resolve's output: a larger struct gets zeros past the
	 * library's; a smaller one is refused and untouched. */
	memset(&l, 0xa5, sizeof(l));
	T_RET(upager_config_resolve(NULL, 0, &l.c, sizeof(l)), 0);
	for (size_t i = 0; i < sizeof(l.more); i++)
		T_CHECK(l.more[i] == 0, "resolve: byte %zu past the struct is 0x%x", i, l.more[i]);
	T_EQ(l.c.reserved0, 0);
	memset(&l, 0xa5, sizeof(l));
	T_RET(upager_config_resolve(NULL, 0, &l.c, UPAGER_CONFIG_SIZE_VER0 - 4), -EINVAL);
	T_EQ(l.c.page_size, 0xa5a5a5a5a5a5a5a5ull);
	t_summary("versioned config: size below 1.0 -EINVAL, longer zero-extended accepted, "
	          "unknown non-zero byte -E2BIG, resolve zero-fills a longer output");
}

/* Statistics at the library's size inside a larger buffer. */
struct stats_later {
	struct upager_stats s;
	unsigned char more[40];
};

static void test_stats_sizes(void)
{
	struct upager_config c = t_config(4096, 32 * 4096);
	upager_t *p = t_create(&c);
	struct stats_later l;
	unsigned char canary[sizeof(struct upager_stats) + 64];

	T_EQ(offsetof(struct upager_stats, sigbus_nomem) + 8, UPAGER_STATS_SIZE_VER0);
	T_CHECK(sizeof(struct upager_stats) >= UPAGER_STATS_SIZE_VER0, "stats below 1.0's size");
	T_RET(upager_stats(p, &l.s, UPAGER_STATS_SIZE_VER0 - 8), -EINVAL);
	T_RET(upager_stats(p, &l.s, 0), -EINVAL);

	/* A larger caller struct: what the library does not have reads 0. */
	memset(&l, 0xa5, sizeof(l));
	T_RET(upager_stats(p, &l.s, sizeof(l)), 0);
	T_EQ(l.s.nr_frames, 32);
	for (size_t i = 0; i < sizeof(l.more); i++)
		T_CHECK(l.more[i] == 0, "stats: byte %zu past the struct is 0x%x", i, l.more[i]);

	/* The 1.0 size: exactly that many bytes written. */
	memset(canary, 0xa5, sizeof(canary));
	T_RET(upager_stats(p, (struct upager_stats *)(void *)canary, UPAGER_STATS_SIZE_VER0), 0);
	T_EQ(((struct upager_stats *)(void *)canary)->nr_frames, 32);
	for (size_t i = UPAGER_STATS_SIZE_VER0; i < sizeof(canary); i++)
		if (canary[i] != 0xa5) {
			T_CHECK(0, "upager_stats wrote byte %zu past the size given", i);
			break;
		}
	T_RET(upager_destroy(p), 0);
	t_summary("versioned stats: below 1.0 -EINVAL, larger zero-filled, exactly the size "
	          "given written");
}

/* readahead = UPAGER_READAHEAD_OFF: none, whatever the environment says. */
static void test_readahead_off(void)
{
	const size_t ps = 4096;
	const unsigned n = 64;
	int fd = t_make_file(n * ps, SEED, NULL, 0);
	struct upager_config c = t_config(ps, 1 * MiB), out;
	upager_t *p;

	c.readahead = UPAGER_READAHEAD_OFF;
	t_env_set("UPAGER_READAHEAD", "32");
	T_RET(upager_config_resolve(&c, sizeof(c), &out, sizeof(out)), 0);
	T_EQ(out.readahead, UPAGER_READAHEAD_OFF);
	if ((p = create_ok(&c, "readahead UPAGER_READAHEAD_OFF"))) {
		uint64_t ra = sequential_readahead(p, fd, ps, n);
		T_CHECK(ra == 0, "UPAGER_READAHEAD_OFF: stats.readahead %llu, expected 0",
		        (unsigned long long)ra);
		T_RET(upager_destroy(p), 0);
	}
	/* 0 still takes the environment's 32. */
	c.readahead = 0;
	T_RET(upager_config_resolve(&c, sizeof(c), &out, sizeof(out)), 0);
	T_EQ(out.readahead, 32);
	t_env_set("UPAGER_READAHEAD", "off");
	T_RET(upager_config_resolve(&c, sizeof(c), &out, sizeof(out)), 0);
	T_EQ(out.readahead, UPAGER_READAHEAD_OFF);
	t_env_restore();
	close(fd);
	t_summary("readahead UPAGER_READAHEAD_OFF: no read-ahead over $UPAGER_READAHEAD=32; "
	          "resolve reports OFF (also for UPAGER_READAHEAD=off); 0 still means default");
}

/* ------------------------------------------------------------- upager_map */

static void test_map_args(void)
{
	const size_t ps = 16384;
	const size_t flen = 16 * ps;
	struct upager_config c = t_config(ps, 64 * ps);
	char path[4200];
	upager_t *p = t_create(&c);
	int fd = t_make_file(flen, SEED, path, sizeof(path));
	int rfd = open(path, O_RDONLY | O_CLOEXEC);
	int wfd = open(path, O_WRONLY | O_CLOEXEC);
	int pfd[2];
	const int RW = PROT_READ | PROT_WRITE;
	void *m;

	T_REQUIRE(rfd >= 0 && wfd >= 0, "open %s", path);
	T_FAILS(upager_map(NULL, fd, 0, flen, PROT_READ, UPAGER_SHARED), EINVAL);
	/* length */
	T_FAILS(upager_map(p, fd, 0, 0, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, 0, TiB + 1, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, 0, TiB + ps, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, 0, SIZE_MAX, PROT_READ, UPAGER_SHARED), EINVAL);
	/* offset */
	T_FAILS(upager_map(p, fd, 1, ps, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, 4096, ps, PROT_READ, UPAGER_SHARED), EINVAL); /* sys page */
	T_FAILS(upager_map(p, fd, (off_t)ps / 2, ps, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, -(off_t)ps, ps, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, -1, ps, PROT_READ, UPAGER_SHARED), EINVAL);
	/* offset + length overflows off_t */
	off_t top = (off_t)((INT64_MAX / (int64_t)ps) * (int64_t)ps);
	T_FAILS(upager_map(p, fd, top, 2 * ps, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, fd, top - (off_t)ps, TiB, PROT_READ, UPAGER_SHARED), EINVAL);
	/* prot */
	const int bad_prot[] = { PROT_WRITE, PROT_EXEC, PROT_READ | PROT_EXEC, PROT_NONE,
		                 RW | PROT_EXEC, PROT_WRITE | PROT_EXEC, 0x100, -1 };
	for (size_t i = 0; i < sizeof(bad_prot) / sizeof(bad_prot[0]); i++) {
		errno = 0;
		m = upager_map(p, fd, 0, ps, bad_prot[i], UPAGER_SHARED);
		T_CHECK(m == NULL && errno == EINVAL, "upager_map prot 0x%x: %p errno %d",
		        bad_prot[i], m, errno);
	}
	/* flags */
	const int bad_flags[] = { 0, UPAGER_SHARED | UPAGER_PRIVATE, 0x4, UPAGER_SHARED | 0x8,
		                  UPAGER_PRIVATE | 0x100, -1 };
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		errno = 0;
		m = upager_map(p, fd, 0, ps, PROT_READ, bad_flags[i]);
		T_CHECK(m == NULL && errno == EINVAL, "upager_map flags 0x%x: %p errno %d",
		        bad_flags[i], m, errno);
	}
	/* descriptors */
	T_FAILS(upager_map(p, -1, 0, ps, PROT_READ, UPAGER_SHARED), EBADF);
	int cfd = open(path, O_RDONLY | O_CLOEXEC);
	close(cfd);
	T_FAILS(upager_map(p, cfd, 0, ps, PROT_READ, UPAGER_SHARED), EBADF);
	T_FAILS(upager_map(p, 1000000, 0, ps, PROT_READ, UPAGER_SHARED), EBADF);
	int dfd = open(t_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	T_FAILS(upager_map(p, dfd, 0, ps, PROT_READ, UPAGER_SHARED), EINVAL);
	T_FAILS(upager_map(p, dfd, 0, ps, PROT_READ, UPAGER_PRIVATE), EINVAL);
	close(dfd);
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	T_FAILS(upager_map(p, pfd[0], 0, ps, PROT_READ, UPAGER_SHARED), EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nfd >= 0) {
		T_FAILS(upager_map(p, nfd, 0, ps, PROT_READ, UPAGER_SHARED), EINVAL);
		close(nfd);
	}
	T_FAILS(upager_map(p, wfd, 0, ps, PROT_READ, UPAGER_SHARED), EBADF);
	T_FAILS(upager_map(p, wfd, 0, ps, RW, UPAGER_SHARED), EBADF);
	T_FAILS(upager_map(p, wfd, 0, ps, RW, UPAGER_PRIVATE), EBADF);
	T_FAILS(upager_map(p, rfd, 0, ps, RW, UPAGER_SHARED), EACCES);

	/* accepted: read-only fd with PRIVATE|PROT_WRITE and with PROT_READ */
	unsigned char *m1 = upager_map(p, rfd, 0, flen, RW, UPAGER_PRIVATE);
	T_CHECK(m1 != NULL, "upager_map(O_RDONLY fd, RW, PRIVATE): %s", strerror(errno));
	unsigned char *m2 = upager_map(p, rfd, (off_t)ps, flen - ps, PROT_READ, UPAGER_SHARED);
	T_CHECK(m2 != NULL, "upager_map(O_RDONLY fd, R, SHARED): %s", strerror(errno));
	unsigned char *m3 = upager_map(p, rfd, 0, flen, PROT_READ, UPAGER_PRIVATE);
	T_CHECK(m3 != NULL, "upager_map(O_RDONLY fd, R, PRIVATE): %s", strerror(errno));
	if (m1) {
		T_EQ((uintptr_t)m1 % ps, 0);
		T_VERIFIED(t_verify_buf(m1, flen, SEED, 0, "PRIVATE map of O_RDONLY fd"));
		m1[7] ^= 0xff; /* a private write */
		T_EQ(m1[7], t_pattern(SEED, 7) ^ 0xff);
		T_RET(upager_unmap(p, m1), 0);
	}
	if (m2) {
		T_EQ((uintptr_t)m2 % ps, 0);
		T_VERIFIED(t_verify_buf(m2, flen - ps, SEED, ps, "SHARED map at offset"));
		T_RET(upager_unmap(p, m2), 0);
	}
	if (m3) {
		T_VERIFIED(t_verify_buf(m3, flen, SEED, 0, "PRIVATE read-only map"));
		T_RET(upager_unmap(p, m3), 0);
	}
	T_VERIFIED(t_verify_fd(fd, 0, flen, SEED)); /* the private write stayed private */

	/* the descriptor is duplicated: closing it after the call is fine */
	int xfd = open(path, O_RDWR | O_CLOEXEC);
	unsigned char *m4 = upager_map(p, xfd, 0, flen, RW, UPAGER_SHARED);
	close(xfd);
	T_CHECK(m4 != NULL, "upager_map: %s", strerror(errno));
	if (m4) {
		T_VERIFIED(t_verify_buf(m4, flen, SEED, 0, "map after close(fd)"));
		m4[ps + 3] = (unsigned char)~t_pattern(SEED, ps + 3);
		T_RET(upager_unmap(p, m4), 0);
		unsigned char b = 0;
		T_EQ(pread(fd, &b, 1, (off_t)ps + 3), 1);
		T_EQ(b, (unsigned char)~t_pattern(SEED, ps + 3));
	}
	/* still no stray regions: nothing resident after all unmaps */
	struct upager_stats st;
	t_stats(p, &st);
	T_EQ(st.nr_resident, 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	close(rfd);
	close(wfd);
	t_summary("upager_map: EINVAL (NULL pager, length 0/>1TiB, offset unaligned/negative/"
	          "overflowing, prot, flags, directory, pipe, /dev/null), EBADF (-1, closed, "
	          "O_WRONLY), EACCES (O_RDONLY + SHARED|WRITE); O_RDONLY fd accepted for "
	          "PRIVATE|WRITE and READ; fd may be closed after map");
}

/* ----------------------------------------------------------- upager_alloc */

static void test_alloc_args(void)
{
	const size_t ps = 4096;
	struct upager_config c = t_config(ps, 64 * ps);
	upager_t *p = t_create(&c);
	unsigned char *m;

	T_FAILS(upager_alloc(NULL, ps), EINVAL);
	T_FAILS(upager_alloc(p, 0), EINVAL);
	T_FAILS(upager_alloc(p, TiB + 1), EINVAL);
	T_FAILS(upager_alloc(p, SIZE_MAX), EINVAL);
	m = upager_alloc(p, 1);
	T_CHECK(m != NULL, "upager_alloc(1): %s", strerror(errno));
	if (m) {
		T_EQ((uintptr_t)m % ps, 0);
		T_VERIFIED(t_verify_zero(m, ps, 0, "alloc(1), whole page"));
		m[ps - 1] = 0x5a;
		T_EQ(m[ps - 1], 0x5a);
		T_RET(upager_unmap(p, m), 0);
	}
	T_RET(upager_destroy(p), 0);

	/* the errno of open(2) on the temporary directory */
	char notdir[4200];
	int nfd = t_make_file(10, SEED, notdir, sizeof(notdir));
	close(nfd);
	static const struct {
		const char *dir;
		int err;
	} bad[] = { { "/nonexistent/upager-test-dir", ENOENT }, { NULL, ENOTDIR } };
	for (size_t i = 0; i < 2; i++) {
		const char *dir = bad[i].dir ? bad[i].dir : notdir;
		t_env_set("UPAGER_TMPDIR", dir);
		p = t_create(&c);
		errno = 0;
		m = upager_alloc(p, ps);
		int e = errno;
		T_CHECK(m == NULL && e == bad[i].err,
		        "upager_alloc with UPAGER_TMPDIR=%s: %p errno %d (%s), expected errno %d",
		        dir, (void *)m, e, strerror(e), bad[i].err);
		if (m)
			upager_unmap(p, m);
		T_RET(upager_destroy(p), 0);
		t_env_restore();
	}
	t_summary("upager_alloc: EINVAL (NULL pager, 0, >1TiB), ENOENT/ENOTDIR from "
	          "UPAGER_TMPDIR; alloc(1) gives a whole zero page");
}

/* ----------------------------------------------------------- upager_unmap */

static void test_unmap_args(void)
{
	const size_t ps = 4096;
	struct upager_config c = t_config(ps, 64 * ps);
	upager_t *p = t_create(&c), *q = t_create(&c);
	int fd = t_make_file(8 * ps, SEED, NULL, 0);
	unsigned char *m = upager_map(p, fd, 0, 8 * ps, PROT_READ, UPAGER_SHARED);
	unsigned char *a = upager_alloc(p, 3 * ps);
	int stackvar = 0;
	void *heap = malloc(64);

	T_REQUIRE(m != NULL && a != NULL, "map/alloc: %s", strerror(errno));
	T_RET(upager_unmap(NULL, m), -EINVAL);
	T_RET(upager_unmap(p, NULL), -EINVAL);
	T_RET(upager_unmap(p, &stackvar), -EINVAL);
	T_RET(upager_unmap(p, heap), -EINVAL);
	T_RET(upager_unmap(p, m + ps), -EINVAL);
	T_RET(upager_unmap(p, m + 1), -EINVAL);
	T_RET(upager_unmap(p, m + 8 * ps), -EINVAL);
	T_RET(upager_unmap(p, a + ps), -EINVAL);
	T_RET(upager_unmap(q, m), -EINVAL); /* a region of another pager */
	T_RET(upager_unmap(q, a), -EINVAL);
	/* the failed calls left the regions intact */
	T_VERIFIED(t_verify_buf(m, 8 * ps, SEED, 0, "region after failed unmaps"));
	T_VERIFIED(t_verify_zero(a, 3 * ps, 0, "alloc after failed unmaps"));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_unmap(p, m), -EINVAL);
	T_RET(upager_unmap(p, a), 0);
	T_RET(upager_unmap(p, a), -EINVAL);
	T_RET(upager_destroy(q), 0);
	T_RET(upager_destroy(p), 0);
	free(heap);
	close(fd);
	(void)stackvar;
	t_summary("upager_unmap: -EINVAL for NULL pager/addr, foreign, interior, another "
	          "pager's region, double unmap; region intact after the failures");
}

/* ------------------------------------------ sync / advise / pin / unpin */

typedef int (*range_fn)(upager_t *, void *, size_t);
static int advise_normal(upager_t *p, void *a, size_t l)
{
	return upager_advise(p, a, l, UPAGER_ADV_NORMAL);
}

static void test_range_args(void)
{
	const size_t ps = 4096;
	const size_t len = 5 * ps + ps / 2, rlen = 6 * ps; /* 5.5 pages -> 6 */
	struct upager_config c = t_config(ps, 64 * ps);
	upager_t *p = t_create(&c);
	int fd = t_make_file(16 * ps, SEED, NULL, 0);
	unsigned char *m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	int stackvar = 0;
	void *heap = malloc(64);
	struct upager_stats st;
	static const struct {
		const char *name;
		range_fn fn;
		int zero_ok; /* length 0 means "the whole region" */
	} fns[] = { { "upager_sync", upager_sync, 1 },
		    { "upager_advise(NORMAL)", advise_normal, 0 },
		    { "upager_pin", upager_pin, 0 } };

	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	for (size_t i = 0; i < 3; i++) {
		const struct {
			void *addr;
			size_t len;
			const char *what;
		} bad[] = {
			{ heap, 16, "heap" },
			{ &stackvar, 4, "stack" },
			{ NULL, ps, "NULL" },
			{ m + rlen, ps, "just past the region" },
			{ m + rlen, 1, "first byte past the region" },
			{ m + rlen - ps, 2 * ps, "crossing the end" },
			{ m, rlen + 1, "one byte too long" },
			{ m + rlen - 1, 2, "last byte + 1" },
			{ m - 1, 2, "starting before the region" },
			{ m - ps, 2 * ps, "page before + first page" },
			{ m, SIZE_MAX, "length SIZE_MAX" },
			{ m + ps, SIZE_MAX - ps / 2, "wrapping length" },
		};
		T_RET(fns[i].fn(NULL, m, ps), -EINVAL);
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			int r = fns[i].fn(p, bad[j].addr, bad[j].len);
			T_CHECK(r == -EINVAL, "%s(%s): %d (%s), expected -EINVAL", fns[i].name,
			        bad[j].what, r, upager_strerror(r));
		}
		int r = fns[i].fn(p, m, 0);
		T_CHECK(r == (fns[i].zero_ok ? 0 : -EINVAL), "%s(length 0): %d", fns[i].name, r);
		r = fns[i].fn(p, m + rlen, 0);
		T_CHECK(r == -EINVAL, "%s(past the region, length 0): %d", fns[i].name, r);
		/* valid ranges */
		r = fns[i].fn(p, m, rlen);
		T_CHECK(r == 0, "%s(whole rounded region): %d (%s)", fns[i].name, r,
		        upager_strerror(r));
		if (fns[i].fn == upager_pin && r == 0)
			T_RET(upager_unpin(p, m, rlen), 0);
		r = fns[i].fn(p, m + rlen - 1, 1);
		T_CHECK(r == 0, "%s(last byte): %d", fns[i].name, r);
		if (fns[i].fn == upager_pin && r == 0)
			T_RET(upager_unpin(p, m + rlen - 1, 1), 0);
		r = fns[i].fn(p, m + 2 * ps + 100, ps);
		T_CHECK(r == 0, "%s(unaligned range): %d", fns[i].name, r);
		if (fns[i].fn == upager_pin && r == 0)
			T_RET(upager_unpin(p, m + 2 * ps + 100, ps), 0);
	}
	T_RET(upager_sync(p, m + 3 * ps + 7, 0), 0);
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 0);

	/* unpin */
	T_RET(upager_unpin(NULL, m, ps), -EINVAL);
	T_RET(upager_unpin(p, m, 0), -EINVAL);
	T_RET(upager_unpin(p, heap, 16), -EINVAL);
	T_RET(upager_unpin(p, m + rlen, ps), -EINVAL);
	T_RET(upager_unpin(p, m, ps), -EINVAL); /* not pinned */
	T_RET(upager_pin(p, m + ps, ps), 0);
	T_RET(upager_unpin(p, m + rlen - ps, 2 * ps), -EINVAL); /* crossing the end */
	T_RET(upager_unpin(p, m, 2 * ps), -EINVAL); /* page 0 not pinned: nothing unpinned */
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 1);
	T_RET(upager_pin(p, m + ps, 1), 0); /* nested */
	T_RET(upager_unpin(p, m + ps, ps), 0);
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 1);
	T_RET(upager_unpin(p, m + ps + 5, 1), 0);
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 0);
	T_RET(upager_unpin(p, m + ps, ps), -EINVAL);

	/* advice values */
	const int bad_adv[] = { -1, 6, 7, 100, INT_MAX, INT_MIN };
	for (size_t i = 0; i < sizeof(bad_adv) / sizeof(bad_adv[0]); i++) {
		int r = upager_advise(p, m, ps, bad_adv[i]);
		T_CHECK(r == -EINVAL, "upager_advise(advice %d): %d, expected -EINVAL", bad_adv[i],
		        r);
	}
	const int good_adv[] = { UPAGER_ADV_NORMAL, UPAGER_ADV_RANDOM, UPAGER_ADV_SEQUENTIAL,
		                 UPAGER_ADV_WILLNEED, UPAGER_ADV_DONTNEED, UPAGER_ADV_COLD };
	for (size_t i = 0; i < sizeof(good_adv) / sizeof(good_adv[0]); i++) {
		int r = upager_advise(p, m, rlen, good_adv[i]);
		T_CHECK(r == 0, "upager_advise(advice %d): %d (%s)", good_adv[i], r,
		        upager_strerror(r));
		r = upager_advise(p, m, 0, good_adv[i]);
		T_CHECK(r == -EINVAL, "upager_advise(advice %d, length 0): %d", good_adv[i], r);
	}

	/* DONTNEED on a range holding a pinned page: -EBUSY, the others freed.
	 * A fresh region, so no WILLNEED page-in of the one above can land
	 * in the middle. */
	T_RET(upager_unmap(p, m), 0);
	m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_RET(upager_advise(p, m, rlen, UPAGER_ADV_RANDOM), 0);
	volatile unsigned char *vm = m;
	unsigned bad = 0;
	for (size_t i = 0; i < 6; i++)
		bad += vm[i * ps + 1] != t_pattern(SEED, i * ps + 1);
	T_EQ(bad, 0);
	T_RET(upager_pin(p, m + 2 * ps, ps), 0);
	T_RET(upager_advise(p, m, rlen, UPAGER_ADV_DONTNEED), -EBUSY);
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 1);
	T_EQ(st.nr_resident, 1); /* "nothing else in the range is skipped" */
	T_RET(upager_unpin(p, m + 2 * ps, ps), 0);
	T_RET(upager_advise(p, m, rlen, UPAGER_ADV_DONTNEED), 0);
	T_VERIFIED(t_verify_buf(m, len, SEED, 0, "region after DONTNEED"));

	T_RET(upager_unmap(p, m), 0);
	/* the range of an unmapped region is outside every region */
	T_RET(upager_sync(p, m, ps), -EINVAL);
	T_RET(upager_sync(p, m, 0), -EINVAL);
	T_RET(upager_advise(p, m, ps, UPAGER_ADV_NORMAL), -EINVAL);
	T_RET(upager_pin(p, m, ps), -EINVAL);
	T_RET(upager_unpin(p, m, ps), -EINVAL);
	T_RET(upager_destroy(p), 0);
	free(heap);
	close(fd);
	(void)stackvar;
	t_summary("sync/advise/pin/unpin: -EINVAL outside a region, crossing its end, NULL "
	          "pager, length 0 (sync: whole region), bad advice, unpin of unpinned pages "
	          "(nothing unpinned); pins nest; DONTNEED on pinned page -EBUSY");
}

/* -------------------------------------------------------- small getters */

static void test_getters(void)
{
	struct upager_config c = t_config(4096, 64 * 4096);
	upager_t *p = t_create(&c);
	struct upager_stats st;
	int pfd[2];
	char buf[8192];

	T_RET(upager_stats(NULL, &st, sizeof(st)), -EINVAL);
	T_RET(upager_stats(p, NULL, sizeof(struct upager_stats)), -EINVAL);
	T_RET(upager_stats(NULL, NULL, sizeof(struct upager_stats)), -EINVAL);
	memset(&st, 0xff, sizeof(st));
	T_RET(upager_stats(p, &st, sizeof(st)), 0);
	T_EQ(st.nr_frames, 64);
	T_EQ(st.pgfault, 0);
	T_EQ(st.nr_resident, 0);
	T_EQ(st.nr_pinned, 0);

	T_RET(upager_print_stats(NULL, 2), -EINVAL);
	T_RET(upager_print_stats(p, -1), -EBADF);
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	T_RET(upager_print_stats(p, pfd[1]), 0);
	close(pfd[1]);
	ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	T_CHECK(n > 0, "upager_print_stats wrote nothing (%zd)", n);

	T_EQ(upager_page_size(NULL), 0);
	T_EQ(upager_page_size(p), 4096);
	T_RET(upager_destroy(p), 0);
	T_RET(upager_destroy(NULL), 0);

	const int errs[] = { 0, -EINVAL, -EIO, -ENOMEM, -EBUSY, -EBADF, -EACCES, -ENOSPC,
		             -9999, 5, INT_MIN, INT_MAX, -4096 };
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *s = upager_strerror(errs[i]);
		T_CHECK(s != NULL && s[0] != 0, "upager_strerror(%d) is %s", errs[i],
		        s ? "empty" : "NULL");
	}
	T_CHECK(strcmp(upager_strerror(-EINVAL), upager_strerror(-EIO)) != 0,
	        "upager_strerror(-EINVAL) == upager_strerror(-EIO)");
	const char *v = upager_version();
	char expect[32];
	snprintf(expect, sizeof(expect), "%d.%d.%d", UPAGER_VERSION_MAJOR, UPAGER_VERSION_MINOR,
	         UPAGER_VERSION_PATCH);
	T_CHECK(v && !strcmp(v, expect), "upager_version() = %s, header %s", v ? v : "NULL",
	        expect);
	T_CHECK(!strcmp(UPAGER_VERSION_STRING, expect), "UPAGER_VERSION_STRING %s vs %s",
	        UPAGER_VERSION_STRING, expect);
	t_summary("upager_stats/print_stats -EINVAL/-EBADF, page_size(NULL) 0, destroy(NULL) 0, "
	          "strerror never NULL, version as the header's");
}

int main(void)
{
	static const struct t_test create[] = {
		{ "create arguments", test_create_args },
		{ "environment garbage", test_env_garbage },
		{ "environment valid", test_env_valid },
		{ "UPAGER_READAHEAD=off", test_env_readahead_off },
		{ "versioned config", test_create_sizes },
		{ "versioned stats", test_stats_sizes },
		{ "readahead UPAGER_READAHEAD_OFF", test_readahead_off },
		{ NULL, NULL },
	};
	static const struct t_test regions[] = {
		{ "map arguments", test_map_args },
		{ "alloc arguments", test_alloc_args },
		{ "unmap arguments", test_unmap_args },
		{ "range arguments", test_range_args },
		{ "getters", test_getters },
		{ NULL, NULL },
	};

	t_init("test_api", 120);
	t_add_suite("create", create);
	t_add_suite("regions", regions);
	return t_run_suite();
}
