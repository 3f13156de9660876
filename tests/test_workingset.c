/*
 * test_workingset.c - workingset detection and the counting of faults:
 * refaults and their distances (shadows left by the Clock), the working
 * set estimate, the thrashing verdict of upager_print_stats, and major
 * faults counted only when the page was read (vmstat's meaning).
 *
 * Every scenario runs with 4 KiB pages and no read-ahead unless it says
 * otherwise, so that one touch of a non-resident page is one page-in, and
 * checks the bytes it reads against the pattern (or zeros).
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
#define FRAMES 16u

static struct upager_page *desc_of(upager_t *p, void *base, uint64_t idx)
{
	struct upager_region *r = upager__region_find(p, base);

	return r ? &r->pages[idx] : NULL;
}

static uint32_t flags_of(upager_t *p, void *base, uint64_t idx)
{
	struct upager_page *pg = desc_of(p, base, idx);

	return pg ? page_flags(pg) : 0xffffffffu;
}

/* Read page @idx of a mapping of pattern @seed whole and check its bytes. */
static int read_page(const uint8_t *m, uint64_t idx, uint64_t seed)
{
	return t_verify_buf(m + idx * PAGE, PAGE, seed, idx * PAGE, "page") == -1;
}

/* upager_print_stats() read back through a pipe (NUL-terminated, static). */
static const char *stats_text(upager_t *p)
{
	static char text[8192];
	size_t len = 0;
	int fds[2];
	ssize_t n;

	T_REQUIRE(pipe(fds) == 0, "pipe");
	T_RET(upager_print_stats(p, fds[1]), 0);
	close(fds[1]);
	while (len < sizeof(text) - 1 && (n = read(fds[0], text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	text[len] = '\0';
	return text;
}

/* A file of @npages pattern pages mapped read-only under FRAMES frames,
 * read-ahead off. */
static uint8_t *map_pattern(upager_t **pp, int *fdp, uint64_t npages, uint64_t seed)
{
	struct upager_config cfg = t_config(PAGE, FRAMES * PAGE);
	uint8_t *m;

	*pp = t_create(&cfg);
	*fdp = t_make_file(npages * PAGE, seed, NULL, 0);
	m = upager_map(*pp, *fdp, 0, npages * PAGE, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map");
	T_RET(upager_advise(*pp, m, npages * PAGE, UPAGER_ADV_RANDOM), 0);
	return m;
}

static void unmap_close(upager_t *p, uint8_t *m, int fd)
{
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
}

/*
 * A loop four times the memory: 64 pages read in order through 16 frames,
 * 4 rounds.  Round 1 reads every page once (no refault: nothing was
 * evicted yet).  In rounds 2 to 4 every page read is one the Clock
 * evicted, so every major fault there is a refault, and no policy can
 * keep more than 16 of a round's 64 pages for the next, so there are at
 * least 3 * 48 of them.  Between a page's eviction and its return the
 * other 48 pages that do not fit are evicted: the refault distances are
 * 48 (a page evicted alone) up to 63 (the first of a run of 16 that the
 * hand evicted at once, vmscan.c), all beyond the 16 frames, so nothing
 * counts in workingset_activate.  The estimate, 16 + the 90th percentile
 * of the distances, lies between 16 + 48 = 64 pages and 16 + 63 = 79, and
 * is capped by the distinct pages paged in, the loop's 64: it is the
 * loop's size exactly.
 */
static void test_loop_thrashes(void)
{
	const uint64_t seed = 41, npages = 64, rounds = 4;
	struct upager_stats s1, s4;
	upager_t *p;
	int fd;
	uint8_t *m = map_pattern(&p, &fd, npages, seed);
	unsigned bad = 0;
	char want[256];
	const char *text;

	for (uint64_t i = 0; i < npages; i++)
		bad += !read_page(m, i, seed);
	t_stats(p, &s1);
	T_EQ(s1.pgmajfault, npages);
	T_EQ(s1.pgpgin, npages);
	T_EQ(s1.workingset_refault, 0);
	for (uint64_t r = 1; r < rounds; r++)
		for (uint64_t i = 0; i < npages; i++)
			bad += !read_page(m, i, seed);
	T_EQ(bad, 0);
	t_stats(p, &s4);
	T_EQ(s4.pgzerofill, 0);
	T_EQ(s4.pgpgin, s4.pgmajfault);
	T_GE(s4.pgmajfault - s1.pgmajfault, (rounds - 1) * (npages - FRAMES));
	T_EQ(s4.workingset_refault, s4.pgmajfault - s1.pgmajfault);
	T_EQ(s4.workingset_activate, 0);
	T_EQ(s4.pgpgin - s4.workingset_refault, npages); /* distinct pages */
	T_EQ(s4.workingset_bytes, npages * PAGE);

	text = stats_text(p);
	snprintf(want, sizeof(want),
	         "thrashing: %llu%% of the pages paged in were refaults (%llu of %llu); "
	         "the working set seems to want about ",
	         (unsigned long long)(s4.workingset_refault * 100 / s4.pgpgin),
	         (unsigned long long)s4.workingset_refault, (unsigned long long)s4.pgpgin);
	T_CHECK(strstr(text, want) != NULL, "print_stats says \"%s\"; it printed:\n%s", want,
	        text);
	T_CHECK(strstr(text, ", the memory limit is 64 KiB; 0% of the refaulted pages would "
	                     "have stayed in twice the memory\n") != NULL,
	        "print_stats names the limit and the doubling; it printed:\n%s", text);
	unmap_close(p, m, fd);
	t_summary("64-page loop through 16 frames, 4 rounds: %llu refaults of %llu major faults, "
	          "working set %llu pages, \"thrashing\" printed",
	          (unsigned long long)s4.workingset_refault, (unsigned long long)s4.pgmajfault,
	          (unsigned long long)(s4.workingset_bytes / PAGE));
}

/*
 * A loop that fits: 12 pages in 16 frames, 20 rounds.  Each page is read
 * once, nothing is evicted, nothing refaults; the estimate is the 12 pages
 * ever resident, and print_stats says so without the word "thrashing".
 */
static void test_loop_fits(void)
{
	const uint64_t seed = 42, npages = 12, rounds = 20;
	struct upager_stats st;
	upager_t *p;
	int fd;
	uint8_t *m = map_pattern(&p, &fd, npages, seed);
	unsigned bad = 0;
	const char *text;

	for (uint64_t r = 0; r < rounds; r++)
		for (uint64_t i = 0; i < npages; i++)
			bad += !read_page(m, i, seed);
	T_EQ(bad, 0);
	t_stats(p, &st);
	T_EQ(st.pgmajfault, npages);
	T_EQ(st.pgsteal, 0);
	T_EQ(st.workingset_refault, 0);
	T_EQ(st.workingset_activate, 0);
	T_EQ(st.workingset_bytes, npages * PAGE);

	text = stats_text(p);
	T_CHECK(strstr(text, "thrashing") == NULL, "print_stats speaks of thrashing:\n%s", text);
	T_CHECK(strstr(text, "working set: about 48 KiB, the memory limit is 64 KiB; no refaults\n") !=
	                NULL,
	        "print_stats gives the working set; it printed:\n%s", text);
	unmap_close(p, m, fd);
	t_summary("12-page loop in 16 frames, 20 rounds: no refault, working set 12 pages, "
	          "nothing alarming printed");
}

/*
 * The refault distance, exactly.  Pages 0, 2, 4, ... (every other page, so
 * that no two neighbours sit in neighbouring frames and the hand evicts
 * one page at a time, as in test_vmscan's second chance) fill the 16
 * frames; each further touch of a new page evicts one, oldest first, so
 * page 0 leaves first and its shadow is 0.  After @later evictions in
 * all, page 0 comes back at distance @later: a refault, and within the
 * frames (workingset_activate) only if @later <= 16.  One refault at
 * distance d makes the estimate 16 + d pages exactly, which further new
 * pages (no refaults) leave as it is: the estimate follows the refaults,
 * not the pages used.
 */
static void refault_at(uint64_t later, bool recent)
{
	const uint64_t seed = 43, npages = 128;
	struct upager_stats st;
	upager_t *p;
	int fd;
	uint8_t *m = map_pattern(&p, &fd, npages, seed);
	struct upager_page *pg0 = desc_of(p, m, 0);
	unsigned bad = 0;

	T_REQUIRE(pg0 != NULL, "descriptor of page 0");
	for (uint64_t k = 0; k < FRAMES + later; k++)
		bad += !read_page(m, 2 * k, seed);
	t_stats(p, &st);
	T_EQ(st.pgsteal, later);
	T_EQ(st.workingset_refault, 0);
	T_CHECK((flags_of(p, m, 0) & (PG_RESIDENT | PG_SHADOW)) == PG_SHADOW,
	        "page 0 evicted with a shadow (flags %#x)", flags_of(p, m, 0));
	T_EQ(pg0->frame, 0); /* the first eviction: the clock stood at 0 */

	bad += !read_page(m, 0, seed);
	T_EQ(bad, 0);
	t_stats(p, &st);
	T_EQ(st.workingset_refault, 1);
	T_EQ(st.workingset_activate, recent ? 1 : 0);
	T_EQ(st.workingset_bytes, (FRAMES + later) * PAGE);
	T_CHECK((flags_of(p, m, 0) & (PG_RESIDENT | PG_SHADOW)) == PG_RESIDENT,
	        "page 0 resident, its shadow consumed (flags %#x)", flags_of(p, m, 0));

	/* Resident now: touching it again is no refault. */
	bad += !read_page(m, 0, seed);
	for (uint64_t k = FRAMES + later; k < FRAMES + later + 8; k++)
		bad += !read_page(m, 2 * k, seed);
	T_EQ(bad, 0);
	t_stats(p, &st);
	T_EQ(st.workingset_refault, 1);
	T_EQ(st.pgpgin, FRAMES + later + 8 + 1);
	T_EQ(st.workingset_bytes, (FRAMES + later) * PAGE);
	unmap_close(p, m, fd);
}

static void test_refault_recent(void)
{
	refault_at(FRAMES, true);
	t_summary("a page back after 16 evictions (= the frames): refault and activate");
}

static void test_refault_long_ago(void)
{
	refault_at(FRAMES + 1, false);
	t_summary("a page back after 17 evictions (> the frames): refault, not activate");
}

/*
 * A page dropped at the program's request (UPAGER_ADV_DONTNEED) leaves no
 * shadow: its next page-in is no refault.
 */
static void test_dontneed_no_shadow(void)
{
	const uint64_t seed = 44, npages = 8;
	struct upager_stats st;
	upager_t *p;
	int fd;
	uint8_t *m = map_pattern(&p, &fd, npages, seed);
	unsigned bad = 0;

	for (uint64_t i = 0; i < npages; i++)
		bad += !read_page(m, i, seed);
	T_RET(upager_advise(p, m, npages * PAGE, UPAGER_ADV_DONTNEED), 0);
	for (uint64_t i = 0; i < npages; i++)
		T_CHECK(!(flags_of(p, m, i) & (PG_RESIDENT | PG_SHADOW)),
		        "page %llu dropped without a shadow (flags %#x)", (unsigned long long)i,
		        flags_of(p, m, i));
	for (uint64_t i = 0; i < npages; i++)
		bad += !read_page(m, i, seed);
	T_EQ(bad, 0);
	t_stats(p, &st);
	T_EQ(st.pgmajfault, 2 * npages);
	T_EQ(st.workingset_refault, 0);
	unmap_close(p, m, fd);
	t_summary("DONTNEED leaves no shadow: pages read again are no refaults");
}

/*
 * Faults counted as vmstat counts them: major only when the page was read.
 * upager_alloc memory: first touches (reads and stores) zero-fill, minor
 * faults with pgpgin 0; after DONTNEED wrote the stored pages to the
 * scratch file, touching them reads them back: major faults.  A file
 * mapping longer than the file: pages inside it are read (major), pages
 * wholly past its end are zero-filled (minor).
 */
static void test_fault_counting(void)
{
	const uint64_t seed = 45, npages = 8, file_pages = 8, map_pages = 12;
	struct upager_config cfg = t_config(PAGE, FRAMES * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats a, b;
	uint8_t *x = upager_alloc(p, npages * PAGE);
	unsigned bad = 0;

	T_REQUIRE(x != NULL, "upager_alloc");
	T_RET(upager_advise(p, x, npages * PAGE, UPAGER_ADV_RANDOM), 0);
	t_stats(p, &a);
	for (uint64_t i = 0; i < npages / 2; i++) /* first reads */
		bad += t_verify_zero(x + i * PAGE, PAGE, i * PAGE, "alloc page") != -1;
	for (uint64_t i = npages / 2; i < npages; i++) /* first stores */
		t_fill(x + i * PAGE, PAGE, seed, i * PAGE);
	t_stats(p, &b);
	T_EQ(b.pgmajfault - a.pgmajfault, 0);
	T_EQ(b.pgminfault - a.pgminfault, npages);
	T_EQ(b.pgpgin - a.pgpgin, 0);
	T_EQ(b.pgzerofill - a.pgzerofill, npages);

	/* The stored pages go to the scratch file; reading them reads it. */
	T_RET(upager_advise(p, x, npages * PAGE, UPAGER_ADV_DONTNEED), 0);
	t_stats(p, &a);
	for (uint64_t i = npages / 2; i < npages; i++)
		bad += t_verify_buf(x + i * PAGE, PAGE, seed, i * PAGE, "alloc page") != -1;
	t_stats(p, &b);
	T_EQ(b.pgmajfault - a.pgmajfault, npages / 2);
	T_EQ(b.pgminfault - a.pgminfault, 0);
	T_EQ(b.pgpgin - a.pgpgin, npages / 2);
	T_RET(upager_unmap(p, x), 0);

	/* A file of 8 pages mapped as 12. */
	int fd = t_make_file(file_pages * PAGE, seed, NULL, 0);
	uint8_t *m = upager_map(p, fd, 0, map_pages * PAGE, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map");
	T_RET(upager_advise(p, m, map_pages * PAGE, UPAGER_ADV_RANDOM), 0);
	t_stats(p, &a);
	for (uint64_t i = 0; i < file_pages; i++)
		bad += !read_page(m, i, seed);
	t_stats(p, &b);
	T_EQ(b.pgmajfault - a.pgmajfault, file_pages);
	T_EQ(b.pgpgin - a.pgpgin, file_pages);
	T_EQ(b.pgminfault - a.pgminfault, 0);
	a = b;
	for (uint64_t i = file_pages; i < map_pages; i++)
		bad += t_verify_zero(m + i * PAGE, PAGE, i * PAGE, "page past EOF") != -1;
	t_stats(p, &b);
	T_EQ(b.pgmajfault - a.pgmajfault, 0);
	T_EQ(b.pgminfault - a.pgminfault, map_pages - file_pages);
	T_EQ(b.pgpgin - a.pgpgin, 0);
	T_EQ(b.pgzerofill - a.pgzerofill, map_pages - file_pages);
	T_EQ(bad, 0);
	T_RET(upager_unmap(p, m), 0);

	/* A read-ahead run across the end of the file: 2 pages read, the rest
	 * of the run zero-filled, one major fault. */
	m = upager_map(p, fd, 0, map_pages * PAGE, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map");
	T_RET(upager_advise(p, m, map_pages * PAGE, UPAGER_ADV_SEQUENTIAL), 0);
	t_stats(p, &a);
	bad += !read_page(m, file_pages - 2, seed);
	t_stats(p, &b);
	T_EQ(b.pgmajfault - a.pgmajfault, 1);
	T_EQ(b.pgpgin - a.pgpgin, 2);
	T_GE(b.pgzerofill - a.pgzerofill, 1);
	T_EQ(b.pgpgin + b.pgzerofill - a.pgpgin - a.pgzerofill, b.nr_resident);
	bad += !read_page(m, file_pages - 1, seed);
	bad += t_verify_zero(m + file_pages * PAGE, PAGE, file_pages * PAGE, "page past EOF") != -1;
	T_EQ(bad, 0);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("major = read from storage: alloc first touches and pages past EOF minor "
	          "with pgpgin 0, file pages and scratch pages major with pgpgin");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "a loop 4x memory thrashes", test_loop_thrashes },
		{ "a loop that fits does not", test_loop_fits },
		{ "refault within the frames", test_refault_recent },
		{ "refault from long ago", test_refault_long_ago },
		{ "DONTNEED leaves no shadow", test_dontneed_no_shadow },
		{ "major faults are reads", test_fault_counting },
		{ NULL, NULL },
	};

	t_init("test_workingset", T_HANG_S);
	if (!t_io_uring_works())
		t_skip("io_uring is not available");
	t_add_suite("workingset", tests);
	return t_run_suite();
}
