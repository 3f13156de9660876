/*
 * test_vmscan.c - the Clock hand and eviction, observed through a real
 * pager: second chance for referenced pages, write-back of dirty pages,
 * pinned pages never evicted, and the bound on accessible pages (VMAs).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "helpers.h"
#include "internal.h"
#include "testhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u

static uint32_t flags_of(upager_t *p, void *base, uint64_t idx)
{
	struct upager_region *r = upager__region_find(p, base);

	return r ? page_flags(&r->pages[idx]) : 0xffffffffu;
}

static bool resident(upager_t *p, void *base, uint64_t idx)
{
	return flags_of(p, base, idx) & PG_RESIDENT;
}

static uint8_t touch_read(volatile uint8_t *b, uint64_t idx)
{
	return b[idx * PAGE + 17];
}

/*
 * Eight frames, pages 0, 2, 4, ... 14 touched in order (every other page,
 * so that no two neighbours in the region sit in neighbouring frames and
 * the hand handles one page at a time): the ninth touch finds every frame
 * referenced, clears all eight references in one turn and evicts the page
 * under the hand at the start of the second turn (page 0).  Re-touching
 * page 2 then gives it a second chance: the next eviction passes it and
 * takes page 4.
 */
static void test_second_chance(void)
{
	struct upager_config cfg = t_config(PAGE, 8 * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats st;
	uint8_t *b = upager_alloc(p, 64 * PAGE);

	T_REQUIRE(b != NULL, "alloc");
	T_RET(upager_advise(p, b, 64 * PAGE, UPAGER_ADV_RANDOM), 0);
	for (uint64_t i = 0; i < 16; i += 2)
		T_EQ(touch_read(b, i), 0);
	for (uint64_t i = 0; i < 16; i += 2) {
		uint32_t f = flags_of(p, b, i);
		T_CHECK((f & PG_RESIDENT) && (f & PG_READ) && !(f & PG_WRITE),
		        "page %llu resident and referenced (flags %#x)", (unsigned long long)i, f);
	}
	t_stats(p, &st);
	T_EQ(st.nr_resident, 8);
	T_EQ(st.pgsteal, 0);

	T_EQ(touch_read(b, 16), 0);
	t_stats(p, &st);
	T_EQ(st.pgdeactivate, 8);
	T_EQ(st.pgsteal, 1);
	T_CHECK(!resident(p, b, 0), "page 0 evicted");
	for (uint64_t i = 2; i < 16; i += 2) {
		uint32_t f = flags_of(p, b, i);
		T_CHECK((f & PG_RESIDENT) && !(f & PG_ACCESS),
		        "page %llu resident, reference cleared (flags %#x)", (unsigned long long)i,
		        f);
	}
	T_CHECK(flags_of(p, b, 16) & PG_READ, "page 16 resident and referenced");

	/* Reference page 2 again: a minor fault. */
	uint64_t minor = st.pgminfault;
	T_EQ(touch_read(b, 2), 0);
	t_stats(p, &st);
	T_EQ(st.pgminfault, minor + 1);
	T_CHECK(flags_of(p, b, 2) & PG_READ, "page 2 referenced again");

	T_EQ(touch_read(b, 18), 0);
	T_CHECK(resident(p, b, 2), "page 2 kept (second chance)");
	T_CHECK(!resident(p, b, 4), "page 4 evicted");
	t_stats(p, &st);
	T_EQ(st.pgsteal, 2);
	T_LE(st.nr_resident_peak, 8);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
}

/*
 * Runs: pages 0..7 touched in order sit in frames 0..7.  The ninth touch
 * clears the eight references with one protection change, and then evicts
 * the whole run of unreferenced neighbours with one punch: the hand frees a
 * batch, and the frames it did not need are free for the next faults.
 */
static void test_batch_run(void)
{
	struct upager_config cfg = t_config(PAGE, 8 * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats st;
	uint8_t *b = upager_alloc(p, 64 * PAGE);

	T_REQUIRE(b != NULL, "alloc");
	T_RET(upager_advise(p, b, 64 * PAGE, UPAGER_ADV_RANDOM), 0);
	for (uint64_t i = 0; i < 8; i++)
		T_EQ(touch_read(b, i), 0);
	T_EQ(touch_read(b, 8), 0);
	t_stats(p, &st);
	T_EQ(st.pgdeactivate, 8);
	T_EQ(st.pgsteal, 8);
	T_EQ(st.nr_resident, 1);
	for (uint64_t i = 0; i < 8; i++)
		T_CHECK(!resident(p, b, i), "page %llu evicted with its run", (unsigned long long)i);
	/* The next seven faults take free frames: nothing more is evicted. */
	for (uint64_t i = 9; i < 16; i++)
		T_EQ(touch_read(b, i), 0);
	t_stats(p, &st);
	T_EQ(st.pgsteal, 8);
	T_EQ(st.nr_resident, 8);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
}

/* Dirty pages are written back when evicted and read back intact. */
static void test_dirty_writeback(void)
{
	struct upager_config cfg = t_config(PAGE, 8 * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats st;
	const uint64_t npages = 48, seed = 77;
	uint64_t *w = upager_alloc(p, npages * PAGE);

	T_REQUIRE(w != NULL, "alloc");
	for (uint64_t off = 0; off < npages * PAGE; off += 8)
		w[off / 8] = t_pattern_u64(seed, off);
	t_stats(p, &st);
	/* Written back by eviction, or ahead of it by the pager's thread. */
	T_GE(st.writeback_evict + st.writeback_background, npages - 8);
	T_GE(st.pgpgout, npages - 8);
	T_LE(st.nr_dirty, 8);
	T_CHECK(flags_of(p, w, 0) & PG_BACKED, "page 0 went to the scratch file");
	T_VERIFIED(t_verify_buf(w, npages * PAGE, seed, 0, "alloc region after eviction"));
	t_stats(p, &st);
	T_LE(st.nr_resident_peak, 8);
	T_RET(upager_unmap(p, w), 0);
	T_RET(upager_destroy(p), 0);
}

/* Pinned pages are passed over by the hand however hard it sweeps. */
static void test_pinned_skipped(void)
{
	struct upager_config cfg = t_config(PAGE, 16 * PAGE);
	upager_t *p = t_create(&cfg);
	uint64_t *w = upager_alloc(p, 64 * PAGE);
	const uint64_t seed = 5;

	T_REQUIRE(w != NULL, "alloc");
	T_RET(upager_pin(p, (char *)w + 3 * PAGE, 2 * PAGE), 0);
	for (int round = 0; round < 3; round++)
		for (uint64_t off = 0; off < 64 * PAGE; off += 8)
			w[off / 8] = t_pattern_u64(seed + (uint64_t)round, off);
	for (uint64_t i = 3; i < 5; i++) {
		uint32_t f = flags_of(p, w, i);
		T_CHECK((f & PG_RESIDENT) && (f & PG_WRITE) && page_pins(f) == 1,
		        "pinned page %llu resident and writable (flags %#x)",
		        (unsigned long long)i, f);
	}
	T_VERIFIED(t_verify_buf(w, 64 * PAGE, seed + 2, 0, "region after three passes"));
	T_RET(upager_unpin(p, (char *)w + 3 * PAGE, 2 * PAGE), 0);
	T_EQ(page_pins(flags_of(p, w, 3)), 0);
	T_RET(upager_unmap(p, w), 0);
	T_RET(upager_destroy(p), 0);
}

static int willneed_done(void *arg)
{
	struct upager_stats st;

	return upager_stats(arg, &st, sizeof(st)) == 0 && st.pgpgin >= 32;
}

/* WILLNEED pages a range in on the pager's thread and returns at once;
 * the touches that follow are minor faults with the file's bytes. */
static void test_willneed(void)
{
	const uint64_t seed = 21, npages = 48;
	struct upager_config cfg = t_config(PAGE, 64 * PAGE);
	int fd = t_make_file(npages * PAGE, seed, NULL, 0);
	upager_t *p = t_create(&cfg);
	struct upager_stats st;
	uint8_t *m = upager_map(p, fd, 0, npages * PAGE, PROT_READ, UPAGER_SHARED);

	T_REQUIRE(m != NULL, "map");
	T_RET(upager_advise(p, m, npages * PAGE, UPAGER_ADV_RANDOM), 0);
	T_RET(upager_advise(p, m + 8 * PAGE, 32 * PAGE, UPAGER_ADV_WILLNEED), 0);
	/* the pager's thread reads them: wait for its 32 page-ins */
	T_CHECK(t_wait_until(willneed_done, p, "the 32 WILLNEED page-ins") == 0,
	        "WILLNEED pages never all read");
	t_stats(p, &st);
	T_EQ(st.pgpgin, 32);
	T_EQ(st.pgfault, 0);
	for (uint64_t i = 8; i < 40; i++)
		T_CHECK(resident(p, m, i) && !(flags_of(p, m, i) & PG_ACCESS),
		        "page %llu resident, not yet referenced", (unsigned long long)i);
	T_CHECK(!resident(p, m, 7) && !resident(p, m, 40), "pages outside the range untouched");
	T_VERIFIED(t_verify_buf(m + 8 * PAGE, 32 * PAGE, seed, 8 * PAGE, "WILLNEED range"));
	t_stats(p, &st);
	T_EQ(st.pgmajfault, 0);
	T_EQ(st.pgminfault, 32);
	T_EQ(st.readahead_used, 32);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
}

/*
 * Every other page of a region touched: each accessible page would be a
 * VMA of its own, two per page with its gap.  More pages than the budget
 * allows accessible at once must not push the process's VMAs past the
 * bound of docs/design.md (2 * budget + 3 per region), and never near
 * vm.max_map_count.
 */
static void test_vma_bound(void)
{
	uint64_t budget = upager__vma_budget();
	uint64_t touches = budget + budget / 4;
	uint64_t npages = 2 * touches;
	struct upager_config cfg = t_config(PAGE, (size_t)(touches + 64) * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats st;
	long before = t_count_maps(), after, peak = 0;
	volatile uint8_t *b = upager_alloc(p, npages * PAGE);

	T_REQUIRE(b != NULL, "alloc of %llu pages", (unsigned long long)npages);
	T_RET(upager_advise(p, (void *)b, npages * PAGE, UPAGER_ADV_RANDOM), 0);
	for (uint64_t i = 0; i < touches; i++) {
		b[2 * i * PAGE] = (uint8_t)i; /* a write: RW, dirty */
		if ((i & 4095) == 4095) {
			long n = t_count_maps();
			if (n > peak)
				peak = n;
		}
	}
	after = t_count_maps();
	if (after > peak)
		peak = after;
	t_stats(p, &st);
	T_CHECK(st.pgdeactivate >= touches - budget,
	        "references cleared to stay in budget: %llu (touches %llu, budget %llu)",
	        (unsigned long long)st.pgdeactivate, (unsigned long long)touches,
	        (unsigned long long)budget);
	T_CHECK((uint64_t)(peak - before) <= 2 * budget + 8,
	        "VMAs grew by %ld, bound %llu", peak - before,
	        (unsigned long long)(2 * budget + 8));
	for (uint64_t i = 0; i < touches; i++)
		T_CHECK(b[2 * i * PAGE] == (uint8_t)i && b[(2 * i + 1) * PAGE] == 0,
		        "page pair %llu", (unsigned long long)i);
	t_summary("VMA bound: %llu isolated pages touched, budget %llu, VMAs +%ld (peak)",
	          (unsigned long long)touches, (unsigned long long)budget, peak - before);
	T_RET(upager_unmap(p, (void *)b), 0);
	T_RET(upager_destroy(p), 0);
	T_CHECK(t_count_maps() <= before + 2, "mappings released: %ld -> %ld", before,
	        t_count_maps());
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "second chance for referenced pages", test_second_chance },
		{ "runs: one protection change, one punch", test_batch_run },
		{ "dirty pages written back on eviction", test_dirty_writeback },
		{ "pinned pages never evicted", test_pinned_skipped },
		{ "WILLNEED pages in asynchronously", test_willneed },
		{ "accessible pages and VMAs stay bounded", test_vma_bound },
		{ NULL, NULL },
	};

	t_init("test_vmscan", 240);
	t_add_suite("vmscan", tests);
	return t_run_suite();
}
