/*
 * test_page.c - unit tests of the page-state logic: the Clock policy on one
 * page's flags, page locks under contention, size parsing and config
 * resolution.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "helpers.h"
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * The Clock's action per page state (page.c): locked, pinned and
 * non-resident pages are skipped; referenced pages (any access bit) get a
 * second chance; unreferenced dirty pages are written back; unreferenced
 * clean pages are evicted.  A page neither hot nor in test gets the same
 * action from plain Clock and from CLOCK-Pro.  CLOCK-Pro: a cold page
 * referenced in its test period is promoted (unreferenced, it is evicted
 * like any cold page); hot pages are passed over in CLOCK_PRO mode, and in
 * CLOCK_PRO_HOT mode lose their reference or, unreferenced, are demoted;
 * plain Clock ignores both bits.
 */
static void test_clock_action_table(void)
{
	static const struct {
		uint32_t flags;
		enum clock_action want;
	} cases[] = {
		{ 0, CLOCK_SKIP },
		{ PG_DIRTY, CLOCK_SKIP }, /* not resident */
		{ PG_RESIDENT, CLOCK_EVICT },
		{ PG_RESIDENT | PG_BACKED, CLOCK_EVICT },
		{ PG_RESIDENT | PG_READAHEAD, CLOCK_EVICT },
		{ PG_RESIDENT | PG_RA_MARK | PG_READAHEAD, CLOCK_EVICT },
		{ PG_RESIDENT | PG_DIRTY, CLOCK_WRITEBACK },
		{ PG_RESIDENT | PG_DIRTY | PG_WB_ERROR, CLOCK_WRITEBACK },
		{ PG_RESIDENT | PG_READ, CLOCK_DEACTIVATE },
		{ PG_RESIDENT | PG_READ | PG_WRITE | PG_DIRTY, CLOCK_DEACTIVATE },
		{ PG_RESIDENT | PG_READ | PG_READAHEAD, CLOCK_DEACTIVATE },
		{ PG_RESIDENT | PG_LOCKED, CLOCK_SKIP },
		{ PG_RESIDENT | PG_LOCKED | PG_WAITERS | PG_DIRTY, CLOCK_SKIP },
		{ PG_RESIDENT | PG_READ | PG_LOCKED, CLOCK_SKIP },
		{ PG_RESIDENT | PG_PIN_ONE, CLOCK_SKIP },
		{ PG_RESIDENT | PG_DIRTY | PG_READ | PG_WRITE | 3 * PG_PIN_ONE, CLOCK_SKIP },
		{ PG_RESIDENT | 0xffffu * PG_PIN_ONE, CLOCK_SKIP },
	};
	static const struct {
		uint32_t flags;
		enum clock_action plain, pro, pro_hot;
	} pro_cases[] = {
		/* cold, in test */
		{ PG_RESIDENT | PG_TEST | PG_READ, CLOCK_DEACTIVATE, CLOCK_PROMOTE, CLOCK_PROMOTE },
		{ PG_RESIDENT | PG_TEST | PG_READ | PG_WRITE | PG_DIRTY, CLOCK_DEACTIVATE,
		  CLOCK_PROMOTE, CLOCK_PROMOTE },
		{ PG_RESIDENT | PG_TEST, CLOCK_EVICT, CLOCK_EVICT, CLOCK_EVICT },
		{ PG_RESIDENT | PG_TEST | PG_DIRTY, CLOCK_WRITEBACK, CLOCK_WRITEBACK,
		  CLOCK_WRITEBACK },
		{ PG_RESIDENT | PG_TEST | PG_READ | PG_LOCKED, CLOCK_SKIP, CLOCK_SKIP, CLOCK_SKIP },
		{ PG_TEST | PG_SHADOW, CLOCK_SKIP, CLOCK_SKIP, CLOCK_SKIP }, /* not resident */
		/* hot */
		{ PG_RESIDENT | PG_HOT | PG_READ, CLOCK_DEACTIVATE, CLOCK_SKIP, CLOCK_DEACTIVATE },
		{ PG_RESIDENT | PG_HOT, CLOCK_EVICT, CLOCK_SKIP, CLOCK_DEMOTE },
		{ PG_RESIDENT | PG_HOT | PG_DIRTY, CLOCK_WRITEBACK, CLOCK_SKIP, CLOCK_DEMOTE },
		{ PG_RESIDENT | PG_HOT | PG_PIN_ONE, CLOCK_SKIP, CLOCK_SKIP, CLOCK_SKIP },
		{ PG_RESIDENT | PG_HOT | PG_LOCKED, CLOCK_SKIP, CLOCK_SKIP, CLOCK_SKIP },
	};
	static const enum clock_mode modes[] = { CLOCK_PLAIN, CLOCK_PRO, CLOCK_PRO_HOT };

	for (size_t m = 0; m < 3; m++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			T_CHECK(upager__clock_action(cases[i].flags, modes[m]) == cases[i].want,
			        "flags %#x, mode %d: action %d, expected %d", cases[i].flags,
			        modes[m], upager__clock_action(cases[i].flags, modes[m]),
			        cases[i].want);
	for (size_t i = 0; i < sizeof(pro_cases) / sizeof(pro_cases[0]); i++) {
		enum clock_action want[3] = { pro_cases[i].plain, pro_cases[i].pro,
			                      pro_cases[i].pro_hot };

		for (size_t m = 0; m < 3; m++)
			T_CHECK(upager__clock_action(pro_cases[i].flags, modes[m]) == want[m],
			        "flags %#x, mode %d: action %d, expected %d", pro_cases[i].flags,
			        modes[m], upager__clock_action(pro_cases[i].flags, modes[m]),
			        want[m]);
	}
}

/*
 * The public state of a flags word, case by case from upager.h's
 * definitions of the UPAGER_PAGE_* bits: referenced is either access bit,
 * pinned any pin count, and the bits with no public meaning show nothing.
 */
static void test_residency_bits(void)
{
	static const struct {
		uint32_t flags;
		unsigned want;
	} cases[] = {
		{ 0, 0 },
		{ PG_WAITERS | PG_BACKED | PG_RA_MARK, 0 },
		{ PG_RESIDENT, UPAGER_PAGE_RESIDENT },
		{ PG_RESIDENT | PG_READ, UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED },
		{ PG_RESIDENT | PG_READ | PG_WRITE | PG_DIRTY,
		  UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY },
		{ PG_RESIDENT | PG_WRITE, UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED },
		{ PG_RESIDENT | PG_DIRTY | PG_WB_ERROR,
		  UPAGER_PAGE_RESIDENT | UPAGER_PAGE_DIRTY | UPAGER_PAGE_WB_ERROR },
		{ PG_LOCKED | PG_WAITERS, UPAGER_PAGE_LOCKED },
		{ PG_RESIDENT | PG_READAHEAD | PG_RA_MARK,
		  UPAGER_PAGE_RESIDENT | UPAGER_PAGE_READAHEAD },
		{ PG_RESIDENT | PG_READ | PG_PIN_ONE,
		  UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_PINNED },
		{ PG_RESIDENT | PG_READ | 0xffffu * PG_PIN_ONE,
		  UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_PINNED },
		{ 0xffffffffu, 0x7f },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_CHECK(upager__page_residency(cases[i].flags) == cases[i].want,
		        "flags %#x: state %#x, expected %#x", cases[i].flags,
		        upager__page_residency(cases[i].flags), cases[i].want);
	T_EQ(UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY |
	             UPAGER_PAGE_PINNED | UPAGER_PAGE_LOCKED | UPAGER_PAGE_WB_ERROR |
	             UPAGER_PAGE_READAHEAD,
	     0x7f); /* seven distinct bits */
}

static void test_trylock(void)
{
	struct upager_page pg = { .flags = PG_RESIDENT | PG_DIRTY, .frame = 7 };

	T_CHECK(upager__page_trylock(&pg), "first trylock succeeds");
	T_EQ(page_flags(&pg), PG_RESIDENT | PG_DIRTY | PG_LOCKED);
	T_CHECK(!upager__page_trylock(&pg), "second trylock fails");
	upager__page_unlock(&pg);
	T_EQ(page_flags(&pg), PG_RESIDENT | PG_DIRTY);
	T_EQ(pg.frame, 7);
	/* Bits set under the lock survive the unlock. */
	upager__page_lock(&pg);
	page_set(&pg, PG_READ);
	page_clear(&pg, PG_DIRTY);
	upager__page_unlock(&pg);
	T_EQ(page_flags(&pg), PG_RESIDENT | PG_READ);
}

#define LOCK_THREADS 4
#define LOCK_ROUNDS 100000

static struct upager_page shared_pg;
static uint64_t shared_counter; /* protected by shared_pg's lock only */

static void *lock_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < LOCK_ROUNDS; i++) {
		upager__page_lock(&shared_pg);
		uint64_t v = shared_counter;
		if ((i & 255) == 0)
			sched_yield(); /* hold the lock across a reschedule now and then */
		shared_counter = v + 1;
		upager__page_unlock(&shared_pg);
	}
	return NULL;
}

/* Mutual exclusion under contention, with sleeping waiters (futex). */
static void test_lock_contention(void)
{
	pthread_t t[LOCK_THREADS];

	atomic_store(&shared_pg.flags, PG_RESIDENT);
	shared_counter = 0;
	for (int i = 0; i < LOCK_THREADS; i++)
		T_REQUIRE(pthread_create(&t[i], NULL, lock_worker, NULL) == 0, "pthread_create");
	for (int i = 0; i < LOCK_THREADS; i++)
		pthread_join(t[i], NULL);
	T_EQ(shared_counter, (uint64_t)LOCK_THREADS * LOCK_ROUNDS);
	T_EQ(page_flags(&shared_pg), PG_RESIDENT); /* no lock or waiter bit left */
}

static int has_waiter(void *arg)
{
	return (page_flags(arg) & PG_WAITERS) != 0;
}

/* The holder: once the waiter has announced itself (PG_WAITERS: it is
 * about to sleep on the futex, or sleeps), publish a change and unlock. */
static void *late_unlocker(void *arg)
{
	struct upager_page *pg = arg;
	intptr_t saw = t_wait_until(has_waiter, pg, "the page lock's waiter") == 0;

	page_set(pg, PG_RESIDENT);
	upager__page_unlock(pg);
	return (void *)saw;
}

/* A waiter sleeps until the holder unlocks, then sees the holder's work. */
static void test_wait_wakes(void)
{
	struct upager_page pg = { .flags = 0 };
	pthread_t t;
	void *saw = NULL;

	T_REQUIRE(upager__page_trylock(&pg), "lock");
	T_REQUIRE(pthread_create(&t, NULL, late_unlocker, &pg) == 0, "pthread_create");
	upager__page_lock(&pg); /* sleeps until late_unlocker runs */
	T_CHECK(page_flags(&pg) & PG_RESIDENT, "holder's change visible");
	T_CHECK(page_flags(&pg) == (PG_RESIDENT | PG_LOCKED),
	        "after the wake: locked, no waiter bit left (flags %#x)", page_flags(&pg));
	upager__page_unlock(&pg);
	pthread_join(t, &saw);
	T_CHECK(saw != NULL, "the waiter never set PG_WAITERS: it did not sleep");
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64K", 0, 65536 },
		{ "64k", 0, 65536 },
		{ "64KiB", 0, 65536 },
		{ "1M", 0, 1048576 },
		{ "2G", 0, 2147483648ull },
		{ "1T", 0, 1099511627776ull },
		{ " 8M ", 0, 8388608 },
		{ "100B", 0, 100 },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "12Q", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "5 M", -EINVAL, 0 },
		{ "18446744073709551615", 0, 18446744073709551615ull },
		{ "18446744073709551616", -EINVAL, 0 },
		{ "99999999999999999999G", -EINVAL, 0 },
		{ "17179869184G", -EINVAL, 0 }, /* 2^34 G = 2^64 bytes */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int rc = upager__parse_size(cases[i].s, &v);
		T_CHECK(rc == cases[i].rc, "\"%s\": rc %d, expected %d", cases[i].s, rc,
		        cases[i].rc);
		if (rc == 0 && cases[i].rc == 0)
			T_CHECK(v == cases[i].v, "\"%s\": %llu, expected %llu", cases[i].s,
			        (unsigned long long)v, (unsigned long long)cases[i].v);
	}
	T_EQ(upager__parse_size(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static void test_config_resolve(void)
{
	struct upager_config in = { 0 }, out;
	long sys_page = sysconf(_SC_PAGESIZE);
	long phys = sysconf(_SC_PHYS_PAGES);

	/* Built-in defaults.  The memory cgroup's files are read under an
	 * empty directory, so no cgroup limits the default (test_memcg tests
	 * the cgroup's part): a quarter of physical memory, in whole pages. */
	upager__memcg_root(t_tmpdir());
	T_RET(upager__config_resolve(NULL, &out), 0);
	upager__memcg_root(NULL);
	T_EQ(out.page_size, t_default_page_size());
	T_EQ(out.memory_limit, (size_t)phys * (size_t)sys_page / 4 / t_default_page_size() *
	                               t_default_page_size());
	T_EQ(out.io_depth, 64);
	/* 1 MiB of pages, at least 16 pages. */
	T_EQ(out.readahead, (1u << 20) / t_default_page_size() > 16
	                            ? (1u << 20) / t_default_page_size() : 16);
	T_EQ(out.flags, 0);

	/* Environment fills zero fields only. */
	t_env_set("UPAGER_PAGE_SIZE", "16K");
	t_env_set("UPAGER_MEMORY_LIMIT", "3M");
	t_env_set("UPAGER_IO_DEPTH", "8");
	t_env_set("UPAGER_READAHEAD", "off");
	T_RET(upager__config_resolve(&in, &out), 0);
	T_EQ(out.page_size, 16384);
	T_EQ(out.memory_limit, 3 << 20);
	T_EQ(out.io_depth, 8);
	T_EQ(out.readahead, UPAGER_READAHEAD_OFF);
	in.page_size = 8192;
	in.readahead = 4;
	T_RET(upager__config_resolve(&in, &out), 0);
	T_EQ(out.page_size, 8192);
	T_EQ(out.readahead, 4);
	t_env_restore();

	/* Range checks. */
	in = (struct upager_config){ .page_size = 3 * 4096 };
	T_RET(upager__config_resolve(&in, &out), -EINVAL);
	in = (struct upager_config){ .page_size = (size_t)sys_page / 2 };
	T_RET(upager__config_resolve(&in, &out), -EINVAL);
	in = (struct upager_config){ .page_size = 4u << 20 };
	T_RET(upager__config_resolve(&in, &out), -EINVAL);
	in = (struct upager_config){ .page_size = 2u << 20, .memory_limit = 8u << 20 };
	T_RET(upager__config_resolve(&in, &out), 0);
	in = (struct upager_config){ .page_size = 4096, .memory_limit = 3 * 4096 };
	T_RET(upager__config_resolve(&in, &out), -EINVAL);
	in = (struct upager_config){ .io_depth = 4097 };
	T_RET(upager__config_resolve(&in, &out), -EINVAL);
	in = (struct upager_config){ .readahead = 1025 };
	T_RET(upager__config_resolve(&in, &out), -EINVAL);
	in = (struct upager_config){ .flags = 0x100 };
	T_RET(upager__config_resolve(&in, &out), -EINVAL);

	/* Unparsable or out-of-range environment. */
	static const char *bad[][2] = {
		{ "UPAGER_PAGE_SIZE", "12Q" },     { "UPAGER_PAGE_SIZE", "" },
		{ "UPAGER_PAGE_SIZE", "0" },       { "UPAGER_MEMORY_LIMIT", "-1" },
		{ "UPAGER_MEMORY_LIMIT", "lots" }, { "UPAGER_IO_DEPTH", "0" },
		{ "UPAGER_IO_DEPTH", "1M" },       { "UPAGER_READAHEAD", "2000" },
		{ "UPAGER_READAHEAD", "on" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_env_set(bad[i][0], bad[i][1]);
		int rc = upager__config_resolve(NULL, &out);
		T_CHECK(rc == -EINVAL, "%s=\"%s\": rc %d, expected -EINVAL", bad[i][0], bad[i][1],
		        rc);
		t_env_restore();
	}
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "Clock action per page state", test_clock_action_table },
		{ "public state per page state", test_residency_bits },
		{ "page trylock/unlock keep other bits", test_trylock },
		{ "page lock mutual exclusion, 4 threads", test_lock_contention },
		{ "page lock waiter sleeps and wakes", test_wait_wakes },
		{ "size parsing with suffixes", test_parse_size },
		{ "config: defaults, environment, ranges", test_config_resolve },
		{ NULL, NULL },
	};

	t_init("test_page", 120);
	t_add_suite("page", tests);
	t_summary("Clock policy table, page lock exclusion (%d x %d), size parsing, config",
	          LOCK_THREADS, LOCK_ROUNDS);
	return t_run_suite();
}
