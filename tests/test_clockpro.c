/*
 * test_clockpro.c - CLOCK-Pro, the pager's default replacement policy
 * (vmscan.c), observed through a real pager and compared with plain Clock
 * (UPAGER_CLOCK=clock) on the same touches:
 *  - a page evicted in its test period and touched again soon comes back
 *    hot (plain Clock has no hot pages);
 *  - a hot set survives a scan four times as long as memory, which plain
 *    Clock loses;
 *  - UPAGER_ADV_DONTNEED takes hot pages out of the hot map, and
 *    UPAGER_ADV_COLD turns hot pages cold;
 *  - skewed read-modify-writes from two threads keep every byte (checked
 *    against a copy in ordinary memory), promote and demote pages, and
 *    leave CLOCK-Pro's counts consistent (upager__clockpro_check()).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "helpers.h"
#include "internal.h"
#include "testhooks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGE 4096u

static uint32_t flags_of(upager_t *p, void *base, uint64_t idx)
{
	struct upager_region *r = upager__region_find(p, base);

	return r ? page_flags(&r->pages[idx]) : 0xffffffffu;
}

static uint8_t touch_read(volatile uint8_t *b, uint64_t idx)
{
	return b[idx * PAGE + 17];
}

/* A pager of @frames 4 KiB frames, plain Clock if @plain. */
static upager_t *create(size_t frames, bool plain)
{
	struct upager_config cfg = t_config(PAGE, frames * PAGE);
	upager_t *p;

	t_env_set("UPAGER_CLOCK", plain ? "clock" : NULL);
	p = t_create(&cfg);
	t_env_restore();
	return p;
}

static void check_state(upager_t *p, long *hot)
{
	const char *err = upager__clockpro_check(p, hot);

	T_CHECK(err == NULL, "CLOCK-Pro state: %s", err ? err : "");
}

/*
 * 64 frames; pages 0..63 fill them, page 64 makes the hand clear all 64
 * references (each page starts its test period) and evict the first run,
 * 65..79 take its free frames.  Page 0, evicted in its test period 16
 * evictions ago (fewer than the 64 frames), comes back hot.
 */
static void refault_in_test(bool plain)
{
	upager_t *p = create(64, plain);
	struct upager_stats st;
	uint8_t *b = upager_alloc(p, 1024 * PAGE);
	long hot = -1;

	T_REQUIRE(b != NULL, "alloc");
	T_RET(upager_advise(p, b, 1024 * PAGE, UPAGER_ADV_RANDOM), 0);
	for (uint64_t i = 0; i < 80; i++)
		T_EQ(touch_read(b, i), 0);
	T_REQUIRE(!(flags_of(p, b, 0) & PG_RESIDENT), "page 0 evicted (flags %#x)",
	          flags_of(p, b, 0));
	T_CHECK(plain || (flags_of(p, b, 0) & PG_TEST), "page 0 evicted in its test (flags %#x)",
	        flags_of(p, b, 0));
	T_EQ(touch_read(b, 0), 0);
	t_stats(p, &st);
	T_CHECK(st.workingset_activate >= 1, "refault counted recent: %llu",
	        (unsigned long long)st.workingset_activate);
	if (plain) {
		T_CHECK(!(flags_of(p, b, 0) & PG_HOT), "plain Clock: page 0 not hot (flags %#x)",
		        flags_of(p, b, 0));
		T_EQ(st.pgpromote, 0);
	} else {
		T_CHECK((flags_of(p, b, 0) & (PG_HOT | PG_RESIDENT)) == (PG_HOT | PG_RESIDENT),
		        "page 0 resident and hot (flags %#x)", flags_of(p, b, 0));
		T_CHECK(st.pgpromote >= 1, "pgpromote %llu", (unsigned long long)st.pgpromote);
	}
	check_state(p, &hot);
	T_CHECK(plain ? hot == 0 : hot >= 1, "hot pages: %ld", hot);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
}

static void test_refault_clockpro(void)
{
	refault_in_test(false);
}

static void test_refault_plain(void)
{
	refault_in_test(true);
}

#define HOT 16u
#define ROUNDS 8u
#define ROUND_SCAN 40u
#define LONG_SCAN 256u

/*
 * 64 frames.  A hot set of 16 pages is touched in each of 8 rounds, with
 * 40 new pages touched once between rounds; then 256 new pages are
 * touched once (a scan of four times the memory).  Returns how many of the
 * hot set are resident after the scan.
 */
static unsigned hot_set_after_scan(upager_t *p, uint8_t *b)
{
	uint64_t next = HOT;
	unsigned kept = 0;

	for (unsigned round = 0; round < ROUNDS; round++) {
		for (uint64_t i = 0; i < HOT; i++)
			T_EQ(touch_read(b, i), 0);
		for (unsigned k = 0; k < ROUND_SCAN; k++)
			T_EQ(touch_read(b, next++), 0);
	}
	for (unsigned k = 0; k < LONG_SCAN; k++)
		T_EQ(touch_read(b, next++), 0);
	for (uint64_t i = 0; i < HOT; i++)
		kept += !!(flags_of(p, b, i) & PG_RESIDENT);
	return kept;
}

static void scan_resistance(bool plain)
{
	upager_t *p = create(64, plain);
	uint8_t *b = upager_alloc(p, 1024 * PAGE);
	struct upager_stats st;
	unsigned kept;
	long hot = -1;

	T_REQUIRE(b != NULL, "alloc");
	T_RET(upager_advise(p, b, 1024 * PAGE, UPAGER_ADV_RANDOM), 0);
	kept = hot_set_after_scan(p, b);
	t_stats(p, &st);
	check_state(p, &hot);
	if (plain) {
		T_CHECK(kept == 0, "plain Clock keeps %u of the %u hot pages", kept, HOT);
		T_EQ(hot, 0);
	} else {
		T_CHECK(kept == HOT, "CLOCK-Pro keeps %u of the %u hot pages", kept, HOT);
		for (uint64_t i = 0; i < HOT; i++)
			T_CHECK(flags_of(p, b, i) & PG_HOT, "page %llu hot (flags %#x)",
			        (unsigned long long)i, flags_of(p, b, i));
		T_CHECK(hot >= (long)HOT, "hot pages: %ld", hot);

		/* UPAGER_ADV_DONTNEED evicts hot pages: they leave the hot map. */
		long before = hot;

		T_RET(upager_advise(p, b, HOT / 2 * PAGE, UPAGER_ADV_DONTNEED), 0);
		for (uint64_t i = 0; i < HOT / 2; i++)
			T_CHECK(!(flags_of(p, b, i) & (PG_RESIDENT | PG_HOT)),
			        "page %llu evicted, not hot (flags %#x)", (unsigned long long)i,
			        flags_of(p, b, i));
		check_state(p, &hot);
		T_CHECK(hot == before - (long)HOT / 2, "hot pages after DONTNEED: %ld, expected %ld",
		        hot, before - (long)HOT / 2);

		/* UPAGER_ADV_COLD: the rest of the hot set turns cold, references
		 * cleared. */
		T_RET(upager_advise(p, b, HOT * PAGE, UPAGER_ADV_COLD), 0);
		for (uint64_t i = HOT / 2; i < HOT; i++) {
			uint32_t f = flags_of(p, b, i);

			T_CHECK((f & PG_RESIDENT) && !(f & (PG_HOT | PG_ACCESS)),
			        "page %llu cold and unreferenced after ADV_COLD (flags %#x)",
			        (unsigned long long)i, f);
		}
		check_state(p, &hot);
		T_CHECK(hot == 0, "hot pages after ADV_COLD: %ld", hot);
	}
	t_summary("%s: %u of %u hot pages kept through a scan of %u pages in 64 frames; "
	          "%llu promoted, %llu references cleared",
	          plain ? "Clock" : "CLOCK-Pro", kept, HOT, LONG_SCAN,
	          (unsigned long long)st.pgpromote, (unsigned long long)st.pgdeactivate);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
}

static void test_scan_clockpro(void)
{
	scan_resistance(false);
}

static void test_scan_plain(void)
{
	scan_resistance(true);
}

/*
 * Two threads each do skewed read-modify-writes of 8-byte words on their
 * own pages (thread t: the pages i with i % 2 == t) of a 4,096-page
 * upager_alloc() region under 256 frames: 9 in 10 operations go to the
 * first 512 pages (more than the memory, so hot pages are demoted as
 * others are promoted).  Every word is checked against a copy in ordinary
 * memory after the run, and the pages written back and read in again.
 */
#define RMW_PAGES 4096u
#define RMW_FRAMES 256u
#define RMW_HOT 512u
#define RMW_OPS 40000u

struct rmw_arg {
	uint64_t *view;
	uint64_t *ref;
	unsigned t;
};

static void *rmw_thread(void *v)
{
	struct rmw_arg *a = v;
	uint64_t x = 0x1234567ull + a->t;
	const uint64_t words = PAGE / 8;

	for (unsigned op = 0; op < RMW_OPS; op++) {
		uint64_t r = t_mix64(x++), page;

		page = (r % 10 ? (r >> 8) % (RMW_HOT / 2) : (r >> 8) % (RMW_PAGES / 2)) * 2 + a->t;
		uint64_t w = page * words + (r >> 40) % words;

		a->view[w] += r | 1;
		a->ref[w] += r | 1;
	}
	return NULL;
}

static void test_threads_data(void)
{
	upager_t *p = create(RMW_FRAMES, false);
	struct upager_stats st;
	uint64_t *view = upager_alloc(p, (size_t)RMW_PAGES * PAGE);
	uint64_t *ref = calloc(RMW_PAGES, PAGE);
	const uint64_t nwords = (uint64_t)RMW_PAGES * PAGE / 8;
	struct rmw_arg args[2];
	pthread_t th[2];
	uint64_t bad = 0, first_bad = 0;
	long hot = -1;

	T_REQUIRE(view != NULL && ref != NULL, "alloc");
	T_RET(upager_advise(p, view, (size_t)RMW_PAGES * PAGE, UPAGER_ADV_RANDOM), 0);
	for (unsigned t = 0; t < 2; t++) {
		args[t] = (struct rmw_arg){ view, ref, t };
		T_REQUIRE(pthread_create(&th[t], NULL, rmw_thread, &args[t]) == 0, "thread");
	}
	for (unsigned t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	check_state(p, &hot);
	t_stats(p, &st);
	T_CHECK(st.pgpromote > 0 && st.pgdemote > 0, "promoted %llu, demoted %llu",
	        (unsigned long long)st.pgpromote, (unsigned long long)st.pgdemote);
	T_CHECK(st.pgpgout > 0 && st.pgpgin > 0, "written back %llu, read %llu",
	        (unsigned long long)st.pgpgout, (unsigned long long)st.pgpgin);
	T_CHECK(hot > 0 && hot < (long)RMW_FRAMES, "hot pages %ld of %u frames", hot, RMW_FRAMES);
	for (uint64_t w = 0; w < nwords; w++)
		if (view[w] != ref[w] && bad++ == 0)
			first_bad = w;
	T_CHECK(bad == 0, "%llu words differ, the first at byte %llu",
	        (unsigned long long)bad, (unsigned long long)(first_bad * 8));
	check_state(p, NULL);
	t_summary("2 threads, %u read-modify-writes each on %u pages in %u frames: "
	          "%llu major faults, %llu promoted, %llu demoted, %ld hot at the end",
	          RMW_OPS, RMW_PAGES, RMW_FRAMES, (unsigned long long)st.pgmajfault,
	          (unsigned long long)st.pgpromote, (unsigned long long)st.pgdemote, hot);
	T_RET(upager_unmap(p, view), 0);
	T_RET(upager_destroy(p), 0);
	free(ref);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "a page refaulted in its test period comes back hot", test_refault_clockpro },
		{ "plain Clock: no hot pages", test_refault_plain },
		{ "hot pages survive a long scan; DONTNEED, ADV_COLD", test_scan_clockpro },
		{ "plain Clock loses them to the scan", test_scan_plain },
		{ "two threads of read-modify-writes keep every byte", test_threads_data },
		{ NULL, NULL },
	};

	t_init("test_clockpro", 240);
	t_add_suite("clockpro", tests);
	return t_run_suite();
}
