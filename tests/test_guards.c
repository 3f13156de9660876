/*
 * test_guards.c - the app view's two mechanisms (src/mprotect.c): guard
 * markers in armed chunks, mprotect alone in legacy chunks.
 *
 *  - Clean grants in armed chunks cost no VMA budget: more isolated pages
 *    than the budget stay readable at once, with no references cleared and
 *    a handful of VMAs; the same touches with UPAGER_GUARDS=0 clear
 *    references to stay in budget.  Data verified byte for byte.
 *  - Write tracking still works: a store after a read faults once, the
 *    Clock's revocation leaves the VMA read-write behind the guard, a
 *    store after write-back faults again, and the file holds every stored
 *    byte.
 *  - Lazy VMAs: pages revoked and evicted dirty keep their read-write VMA,
 *    the budget counts runs of them exactly (against a recount from the
 *    flags, also after threads raced on neighbouring pages), a store to
 *    every page merges the region into a few VMAs, under a small budget
 *    the VMAs stay bounded, and the tidy after a refusal of the kernel
 *    leaves no idle page read-write.
 *  - A load that the kernel would not let make a VMA read-only gets its
 *    page read-write and dirty instead of SIGBUS.
 *  - Arming stops at half the budget: later chunks are legacy, and pages of
 *    both kinds page in and out correctly.
 *  - Threads racing to arm the same fresh chunks, with evictions, against a
 *    model of every word they stored.
 *
 * Skipped (77) where the kernel has no guard markers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "helpers.h"
#include "internal.h"
#include "testhooks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define CHUNK_PAGES 512u /* 2 MiB of 4 KiB pages */

/* Run the test with a VMA budget of @budget pages (max_map_count / 4),
 * restored afterwards.  The first upager_create sets the budget from the
 * sysctl: one is made first. */
static void budget_set(uint64_t budget)
{
	struct upager_config cfg = t_config(PAGE, 64 * PAGE);

	T_RET(upager_destroy(t_create(&cfg)), 0);
	upager__region_limits((long)budget * 4);
}

static void budget_restore(void)
{
	upager__region_limits(t_max_map_count());
}

/* Mappings (VMAs) that overlap [@addr, @addr + @len): the app view's
 * splits, whatever else the process (or a sanitizer) maps meanwhile. */
static long maps_in(const void *addr, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	unsigned long a, b;
	char line[512];
	long n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo)
			n++;
	fclose(f);
	return n;
}

static uint32_t flags_at(upager_t *p, const void *base, uint64_t idx)
{
	struct upager_region *r = upager__region_find(p, base);

	return r ? page_flags(&r->pages[idx]) : 0xffffffffu;
}

/* An independent count of what the VMA budget should hold for @r, from
 * the flags and the chunk states (mprotect.c: 2 armed, 3 legacy): one per
 * armed chunk, one per run of PG_VMA_W pages, one per accessible page of
 * a legacy chunk.  Quiescent regions only. */
static int64_t recount_cost(struct upager_region *r)
{
	int64_t n = 0;
	bool prev_w = false;

	for (uint64_t c = 0; c << r->chunk_shift < r->npages; c++)
		n += atomic_load(&r->chunks[c]) == 2;
	for (uint64_t i = 0; i < r->npages; i++) {
		uint32_t f = page_flags(&r->pages[i]);
		bool w = f & PG_VMA_W;
		if (w && !prev_w)
			n++;
		prev_w = w;
		if (atomic_load(&r->chunks[i >> r->chunk_shift]) == 3 && (f & PG_ACCESS))
			n++;
	}
	return n;
}

/* Pages of [@b, @b + @npages pages) whose VMA in /proc/self/maps differs
 * from what their flags say, the kernel's word against upager's: in an
 * armed chunk the write permission is PG_VMA_W; in a legacy chunk the
 * permissions are the page's access; a chunk never armed is PROT_NONE. */
static uint64_t vma_w_mismatches(struct upager_region *r, const uint8_t *b, uint64_t npages)
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t lo = (uintptr_t)b, hi = lo + npages * PAGE;
	uint64_t bad = 0, seen = 0;
	unsigned long a, e;
	char perms[8], line[512];

	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &a, &e, perms) != 3 || e <= lo || a >= hi)
			continue;
		for (uintptr_t x = a < lo ? lo : a; x < e && x < hi; x += PAGE) {
			uint64_t i = (x - lo) / PAGE;
			uint32_t fl = page_flags(&r->pages[i]);
			uint32_t st = atomic_load(&r->chunks[i >> r->chunk_shift]);

			if (st == 2)
				bad += !(fl & PG_VMA_W) != (perms[1] != 'w');
			else if (st == 3)
				bad += !(fl & PG_WRITE) != (perms[1] != 'w') ||
				       !(fl & PG_ACCESS) != (perms[0] != 'r');
			else
				bad += perms[0] != '-' || perms[1] != '-';
			seen++;
		}
	}
	fclose(f);
	return seen == npages ? bad : UINT64_MAX;
}

/*
 * Read every other page of a file, more pages than the VMA budget:
 * returns the references cleared (pgdeactivate) and sets *@vmas to the
 * most mappings the app view was split into.
 */
static uint64_t isolated_reads(int fd, uint64_t touches, uint64_t seed, long *vmas)
{
	struct upager_config cfg = t_config(PAGE, (size_t)(touches + 64) * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats st;
	long peak = 0;
	uint8_t *b;

	b = upager_map(p, fd, 0, 2 * touches * PAGE, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(b != NULL, "map");
	T_RET(upager_advise(p, b, 2 * touches * PAGE, UPAGER_ADV_RANDOM), 0);
	for (uint64_t i = 0; i < touches; i++) {
		uint64_t off = 2 * i * PAGE + (i % PAGE);
		T_CHECK(((volatile uint8_t *)b)[off] == t_pattern(seed, off), "byte %llu",
		        (unsigned long long)off);
		if ((i & 255) == 255) {
			long n = maps_in(b, 2 * touches * PAGE);
			if (n > peak)
				peak = n;
		}
	}
	t_stats(p, &st);
	T_EQ(st.pgmajfault, touches);
	for (uint64_t i = 0; i < touches; i++)
		T_VERIFIED(t_verify_buf(b + 2 * i * PAGE, PAGE, seed, 2 * i * PAGE, "page"));
	*vmas = peak;
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
	return st.pgdeactivate;
}

static void test_isolated_reads(void)
{
	const uint64_t budget = 1000, touches = budget + budget / 4;
	uint64_t seed = t_seed();
	long vmas_guard, vmas_legacy;
	uint64_t deact_guard, deact_legacy;
	int fd = t_make_file(2 * touches * PAGE, seed, NULL, 0);

	T_REQUIRE(fd >= 0, "file");
	budget_set(budget);
	deact_guard = isolated_reads(fd, touches, seed, &vmas_guard);
	t_env_set("UPAGER_GUARDS", "0");
	deact_legacy = isolated_reads(fd, touches, seed, &vmas_legacy);
	t_env_restore();
	budget_restore();
	close(fd);

	/* Guards: one armed chunk run, no budget spent on clean pages. */
	T_EQ(deact_guard, 0);
	T_LE(vmas_guard, 8);
	/* mprotect alone: the budget binds, references are cleared. */
	T_GE(deact_legacy, touches - budget);
	T_GE(vmas_legacy, 100);
	T_LE(vmas_legacy, 2 * budget + 8);
	t_summary("%llu isolated reads, VMA budget %llu: guards %ld VMAs in the app view, %llu "
	          "references cleared; mprotect alone %ld VMAs, %llu cleared",
	          (unsigned long long)touches, (unsigned long long)budget, vmas_guard,
	          (unsigned long long)deact_guard, vmas_legacy, (unsigned long long)deact_legacy);
}

/* A file of @len bytes of seed @seed, its bytes in @expect, mapped
 * read-write and shared by @p without read-ahead; its descriptor in *@fd. */
static volatile uint8_t *map_random_file(upager_t *p, uint64_t seed, uint8_t *expect, size_t len,
                                         int *fd)
{
	volatile uint8_t *b;

	*fd = t_make_file(len, seed, NULL, 0);
	T_REQUIRE(*fd >= 0, "file");
	T_REQUIRE(pread(*fd, expect, len, 0) == (ssize_t)len, "reference");
	b = upager_map(p, *fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(b != NULL, "map");
	T_RET(upager_advise(p, (void *)b, len, UPAGER_ADV_RANDOM), 0);
	return b;
}

/*
 * One page through every state with guards: read, store, revoked by the
 * Clock, read again (dirty: read-write at once), written back (read-only
 * again), stored again.  Each store after a read or a write-back must fault
 * (pgwritefault), or dirty data would be missed.
 */
static void test_write_tracking(void)
{
	uint64_t seed = t_seed();
	struct upager_config cfg = t_config(PAGE, 64 * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats st;
	uint8_t expect[16 * PAGE];
	volatile uint8_t *b;
	uint32_t f;
	int fd;

	b = map_random_file(p, seed, expect, sizeof(expect), &fd);

	T_EQ(b[5 * PAGE + 1], expect[5 * PAGE + 1]);
	f = flags_at(p, (void *)b, 5);
	T_CHECK((f & PG_READ) && !(f & PG_WRITE) && !(f & PG_VMA_W), "read: flags %#x", f);

	b[5 * PAGE + 2] = expect[5 * PAGE + 2] = 0xa5;
	t_stats(p, &st);
	T_EQ(st.pgwritefault, 1);
	f = flags_at(p, (void *)b, 5);
	T_CHECK((f & PG_WRITE) && (f & PG_DIRTY) && (f & PG_VMA_W), "stored: flags %#x", f);

	T_GE(upager__clear_references(p), 1);
	f = flags_at(p, (void *)b, 5);
	/* The guard blocks it; the VMA is left read-write (lazy). */
	T_CHECK(!(f & PG_ACCESS) && (f & PG_DIRTY) && (f & PG_VMA_W),
	        "revoked: guarded, VMA still read-write, still dirty: flags %#x", f);

	T_EQ(b[5 * PAGE + 2], 0xa5); /* minor fault: dirty, so read-write */
	f = flags_at(p, (void *)b, 5);
	T_CHECK((f & PG_WRITE) && (f & PG_VMA_W), "re-read dirty: flags %#x", f);
	b[5 * PAGE + 3] = expect[5 * PAGE + 3] = 0x5a; /* no fault */
	t_stats(p, &st);
	T_EQ(st.pgwritefault, 1);

	T_RET(upager_sync(p, (void *)b, sizeof(expect)), 0);
	f = flags_at(p, (void *)b, 5);
	T_CHECK(!(f & PG_DIRTY) && !(f & PG_WRITE) && !(f & PG_VMA_W),
	        "written back: clean, read-only: flags %#x", f);
	b[5 * PAGE + 4] = expect[5 * PAGE + 4] = 0x3c;
	t_stats(p, &st);
	T_EQ(st.pgwritefault, 2);

	/* A neighbour in the same chunk stays guarded throughout. */
	f = flags_at(p, (void *)b, 6);
	T_CHECK(!(f & PG_ACCESS), "untouched neighbour: flags %#x", f);
	T_EQ(b[6 * PAGE], expect[6 * PAGE]);

	T_RET(upager_unmap(p, (void *)b), 0);
	T_RET(upager_destroy(p), 0);
	T_EQ(t_verify_fd_buf(fd, 0, expect, sizeof(expect)), -1);
	close(fd);
}

/*
 * A load of a page whose VMA was left read-write, when the kernel refuses
 * to make it read-only (injected: UPAGER_OP_MPROTECT_RO, every time): the
 * page comes read-write and dirty, as a predicted page-in, instead of the
 * load failing with SIGBUS.  Once on a minor fault (the page revoked and
 * written back), once on a page-in (the page evicted), and the file gets
 * every stored byte.
 */
static void test_refused_downgrade(void)
{
	uint64_t seed = t_seed();
	struct upager_config cfg = t_config(PAGE, 64 * PAGE);
	upager_t *p = t_create(&cfg);
	struct upager_stats st0, st;
	uint8_t expect[16 * PAGE];
	volatile uint8_t *b;
	uint32_t f;
	int fd;

	b = map_random_file(p, seed, expect, sizeof(expect), &fd);

	/* A store, the Clock's revocation (the VMA stays read-write), and
	 * write-back: clean, inaccessible, VMA read-write. */
	b[5 * PAGE + 1] = expect[5 * PAGE + 1] = 0xa5;
	T_GE(upager__clear_references(p), 1);
	T_RET(upager_sync(p, (void *)b, sizeof(expect)), 0);
	f = flags_at(p, (void *)b, 5);
	T_CHECK((f & PG_RESIDENT) && !(f & PG_ACCESS) && !(f & PG_DIRTY) && (f & PG_VMA_W),
	        "revoked and clean: flags %#x", f);

	/* 1: a minor fault. */
	t_stats(p, &st0);
	upager__inject_io(UPAGER_OP_MPROTECT_RO, 1, -ENOMEM, 1);
	T_EQ(b[5 * PAGE + 1], 0xa5);
	T_GE(upager__inject_count(), 1);
	upager__inject_clear();
	upager__vma_lazy_reset(); /* the refusal stopped the lazy scheme */
	t_stats(p, &st);
	f = flags_at(p, (void *)b, 5);
	T_CHECK((f & PG_WRITE) && (f & PG_DIRTY) && (f & PG_VMA_W), "after the load: flags %#x", f);
	T_EQ(st.pgdirty_predicted, st0.pgdirty_predicted + 1);
	T_EQ(st.sigbus, st0.sigbus);
	b[5 * PAGE + 2] = expect[5 * PAGE + 2] = 0x5a; /* through the mapping */

	/* 2: a page-in.  The store of the first residency predicts the next
	 * (read-write at once, fault.c); that residency sees no store, so the
	 * page-in after it asks for read access. */
	T_RET(upager_advise(p, (void *)b, sizeof(expect), UPAGER_ADV_DONTNEED), 0);
	T_EQ(b[5 * PAGE + 2], 0x5a);
	f = flags_at(p, (void *)b, 5);
	T_CHECK((f & PG_WRITE) && !(f & PG_WRITTEN), "predicted page-in: flags %#x", f);
	/* Revoked first, so that the write-back of the eviction finds it
	 * inaccessible and leaves its VMA read-write. */
	T_GE(upager__clear_references(p), 1);
	T_RET(upager_advise(p, (void *)b, sizeof(expect), UPAGER_ADV_DONTNEED), 0);
	f = flags_at(p, (void *)b, 5);
	T_CHECK(!(f & PG_RESIDENT) && (f & PG_VMA_W) && !(f & PG_WRITTEN), "evicted: flags %#x",
	        f);
	t_stats(p, &st0);
	upager__inject_io(UPAGER_OP_MPROTECT_RO, 1, -ENOMEM, 1);
	T_EQ(b[5 * PAGE + 2], 0x5a);
	T_GE(upager__inject_count(), 1);
	upager__inject_clear();
	upager__vma_lazy_reset();
	t_stats(p, &st);
	f = flags_at(p, (void *)b, 5);
	T_CHECK((f & PG_WRITE) && (f & PG_DIRTY), "after the page-in: flags %#x", f);
	T_EQ(st.pgmajfault, st0.pgmajfault + 1);
	T_EQ(st.pgdirty_predicted, st0.pgdirty_predicted + 1);
	T_EQ(st.sigbus, st0.sigbus);
	b[5 * PAGE + 3] = expect[5 * PAGE + 3] = 0x3c;

	T_RET(upager_unmap(p, (void *)b), 0);
	T_RET(upager_destroy(p), 0);
	T_EQ(t_verify_fd_buf(fd, 0, expect, sizeof(expect)), -1);
	close(fd);
	t_summary("a load the kernel would not make read-only, twice (minor fault, page-in): "
	          "read-write and dirty instead of SIGBUS, every byte in the file");
}

/*
 * A VMA budget of 40: at most 20 chunks are armed; the other chunks of a
 * 64-chunk region are legacy.  Every chunk gets stores in two pages under a
 * memory limit of 64 pages (so pages are evicted, written to the scratch
 * file and read back), then everything is read back twice.
 */
static void test_arming_budget(void)
{
	const uint64_t nchunks = 64, budget = 40;
	struct upager_config cfg = t_config(PAGE, 64 * PAGE);
	upager_t *p;
	uint8_t *b;
	struct upager_region *r;
	uint64_t armed = 0, legacy = 0;

	budget_set(budget);
	p = t_create(&cfg);
	b = upager_alloc(p, nchunks * CHUNK_PAGES * PAGE);
	T_REQUIRE(b != NULL, "alloc");
	for (uint64_t c = 0; c < nchunks; c++)
		for (uint64_t k = 0; k < 2; k++) {
			uint64_t off = (c * CHUNK_PAGES + 7 + k * 300) * PAGE + 8 * k;
			*(volatile uint64_t *)(b + off) = t_pattern_word(c, k);
		}
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t c = 0; c < nchunks; c++)
			for (uint64_t k = 0; k < 2; k++) {
				uint64_t off = (c * CHUNK_PAGES + 7 + k * 300) * PAGE + 8 * k;
				T_CHECK(*(volatile uint64_t *)(b + off) == t_pattern_word(c, k),
				        "chunk %llu word %llu", (unsigned long long)c,
				        (unsigned long long)k);
				T_EQ(*(volatile uint64_t *)(b + off + 64), 0);
			}
	r = upager__region_find(p, b);
	T_REQUIRE(r && r->chunks, "chunk table");
	for (uint64_t c = 0; c < nchunks; c++) {
		uint32_t s = atomic_load(&r->chunks[c]);
		armed += s == 2;
		legacy += s == 3;
	}
	T_GE(armed, 1);
	T_LE(armed, budget / 2);
	T_EQ(armed + legacy, nchunks);
	T_EQ(vma_w_mismatches(r, b, nchunks * CHUNK_PAGES), 0);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
	budget_restore();
	t_summary("VMA budget %llu: %llu chunks armed, %llu legacy, all words verified",
	          (unsigned long long)budget, (unsigned long long)armed,
	          (unsigned long long)legacy);
}

/* Threads storing into the same fresh chunks at once (arming races) under
 * eviction; each owns word @t of every page and checks it against its
 * model. */
#define NTHREADS 4
#define RACE_PAGES (16u * CHUNK_PAGES)
struct racer {
	uint8_t *b;
	unsigned t;
	uint64_t seed;
	uint64_t *model; /* RACE_PAGES words */
	long bad;
};

static void *racer_run(void *arg)
{
	struct racer *a = arg;
	struct t_rng rng = { a->seed * 7919 + a->t };

	for (unsigned step = 0; step < 20000; step++) {
		/* Mostly fresh chunks early: pages drawn from a window that
		 * grows with the steps, every thread from the same window. */
		uint64_t window = CHUNK_PAGES + (uint64_t)step * RACE_PAGES / 20000;
		uint64_t pg = t_rand_below(&rng, window < RACE_PAGES ? window : RACE_PAGES);
		volatile uint64_t *w = (volatile uint64_t *)(a->b + pg * PAGE) + a->t;
		if (*w != a->model[pg])
			a->bad++;
		if (t_rand_below(&rng, 2)) {
			uint64_t v = t_rand(&rng) | 1;
			*w = v;
			a->model[pg] = v;
		}
	}
	for (uint64_t pg = 0; pg < RACE_PAGES; pg++)
		if (((volatile uint64_t *)(a->b + pg * PAGE))[a->t] != a->model[pg])
			a->bad++;
	return NULL;
}

static void test_threads_arming(void)
{
	struct upager_config cfg = t_config(PAGE, 256 * PAGE);
	upager_t *p = t_create(&cfg);
	struct racer rs[NTHREADS];
	pthread_t th[NTHREADS];
	struct upager_stats st;
	uint8_t *b = upager_alloc(p, (size_t)RACE_PAGES * PAGE);
	long bad = 0;

	T_REQUIRE(b != NULL, "alloc");
	T_RET(upager_advise(p, b, (size_t)RACE_PAGES * PAGE, UPAGER_ADV_RANDOM), 0);
	for (unsigned t = 0; t < NTHREADS; t++) {
		rs[t] = (struct racer){ .b = b, .t = t, .seed = t_seed(),
		                        .model = calloc(RACE_PAGES, sizeof(uint64_t)) };
		T_REQUIRE(rs[t].model != NULL, "model");
		T_REQUIRE(pthread_create(&th[t], NULL, racer_run, &rs[t]) == 0, "thread");
	}
	for (unsigned t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		bad += rs[t].bad;
		free(rs[t].model);
	}
	t_stats(p, &st);
	T_EQ(bad, 0);
	T_EQ(st.sigbus, 0);
	T_GE(st.pgsteal, 1000);
	/* Neighbouring pages changed at once: the run count stayed exact,
	 * and every VMA is what the flags say. */
	struct upager_region *r = upager__region_find(p, b);
	T_REQUIRE(r && r->chunks, "chunk table");
	T_EQ(atomic_load(&r->vma_cost), recount_cost(r));
	T_EQ(vma_w_mismatches(r, b, RACE_PAGES), 0);
	/* Every word past the threads' is still zero. */
	for (uint64_t pg = 0; pg < RACE_PAGES; pg += 97)
		T_VERIFIED(t_verify_zero(b + pg * PAGE + 8 * NTHREADS, PAGE - 8 * NTHREADS,
		                         pg * PAGE + 8 * NTHREADS, "past the words"));
	t_summary("%u threads, %u pages in 16 fresh chunks, %llu evictions: 0 mismatches",
	          NTHREADS, RACE_PAGES, (unsigned long long)st.pgsteal);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
}

/* Store pass @pass to pages @first, @first + @step, ... of @b (@npages):
 * word (page * 8 + pass) % 512 of each page gets its pattern. */
static void store_pass(uint8_t *b, uint64_t npages, uint64_t first, uint64_t step, uint64_t pass,
                       uint64_t *model)
{
	for (uint64_t pg = first; pg < npages; pg += step) {
		uint64_t w = (pg * 8 + pass) % (PAGE / 8);
		((volatile uint64_t *)(b + pg * PAGE))[w] = t_pattern_word(pass, pg);
		model[pg * (PAGE / 8) + w] = t_pattern_word(pass, pg);
	}
}

static void check_model(const uint8_t *b, uint64_t npages, const uint64_t *model)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < npages * (PAGE / 8); i++)
		bad += ((const volatile uint64_t *)b)[i] != model[i];
	T_EQ(bad, 0);
}

/* Pages of @r whose VMA is read-write while they are not resident. */
static uint64_t idle_w(struct upager_region *r)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < r->npages; i++) {
		uint32_t f = page_flags(&r->pages[i]);
		n += (f & PG_VMA_W) && !(f & PG_RESIDENT);
	}
	return n;
}

/* A new pager of @cfg with @npages of scratch memory, advised random (no
 * read-ahead), whose region has a chunk table: the region's start, the
 * pager in *@pp and the region in *@rp. */
static uint8_t *lazy_region(const struct upager_config *cfg, uint64_t npages, upager_t **pp,
                            struct upager_region **rp)
{
	upager_t *p = t_create(cfg);
	uint8_t *b = upager_alloc(p, npages * PAGE);

	T_REQUIRE(b != NULL, "alloc");
	T_RET(upager_advise(p, b, npages * PAGE, UPAGER_ADV_RANDOM), 0);
	*rp = upager__region_find(p, b);
	T_REQUIRE(*rp && (*rp)->chunks, "chunk table");
	*pp = p;
	return b;
}

/*
 * Lazy VMAs.  8 chunks of scratch memory under 256 frames, background
 * write-back paused (so that nothing depends on the pager thread's
 * timing), the default budget of 16,382 whatever the host's sysctl, and
 * after each part every page's PG_VMA_W against its VMA in
 * /proc/self/maps:
 *  1. a store to every other page: the evicted ones keep their read-write
 *     VMA, each an isolated run, counted exactly;
 *  2. a store to the pages between: the runs merge, and the whole region
 *     is a few VMAs while most of it is not even resident;
 *  3. the same isolated stores under a budget of 200: the budget's measure
 *     and the app view's VMAs stay bounded.
 * Every word is checked against a model.
 */
static void test_lazy_vmas(void)
{
	const uint64_t npages = 8 * CHUNK_PAGES, small = 200;
	struct upager_config cfg = t_config(PAGE, 256 * PAGE);
	uint64_t *model = calloc(npages * (PAGE / 8), sizeof(uint64_t));
	int64_t cost_isolated, cost_merged, peak_cost = 0;
	long vmas_isolated, vmas_merged, peak_vmas = 0;
	uint64_t idle_isolated;
	struct upager_region *r;
	upager_t *p;
	uint8_t *b;

	T_REQUIRE(model != NULL, "model");
	upager__pause_background_writeback(1);
	budget_set(16382);
	b = lazy_region(&cfg, npages, &p, &r);

	store_pass(b, npages, 0, 2, 1, model);
	idle_isolated = idle_w(r);
	cost_isolated = atomic_load(&r->vma_cost);
	vmas_isolated = maps_in(b, npages * PAGE);
	T_EQ(cost_isolated, recount_cost(r));
	T_EQ(vma_w_mismatches(r, b, npages), 0);
	T_GE(idle_isolated, npages / 2 - 256);
	/* Each isolated run splits the app view twice. */
	T_GE(vmas_isolated, npages / 2);
	T_LE(vmas_isolated, 2 * cost_isolated + 1);

	store_pass(b, npages, 1, 2, 2, model);
	cost_merged = atomic_load(&r->vma_cost);
	vmas_merged = maps_in(b, npages * PAGE);
	T_EQ(cost_merged, recount_cost(r));
	T_EQ(vma_w_mismatches(r, b, npages), 0);
	T_LE(cost_merged, 8 + 1);   /* the armed chunks, one run */
	T_LE(vmas_merged, 3);
	check_model(b, npages, model);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);

	/* 3: the same under a small budget. */
	memset(model, 0, npages * (PAGE / 8) * sizeof(uint64_t));
	budget_set(small);
	b = lazy_region(&cfg, npages, &p, &r);
	for (uint64_t pg = 0; pg < npages; pg += 2) {
		store_pass(b, pg + 1, pg, 2, 3, model);
		if (pg % 64 == 0) {
			int64_t c = atomic_load(&r->vma_cost);
			long v = maps_in(b, npages * PAGE);
			peak_cost = c > peak_cost ? c : peak_cost;
			peak_vmas = v > peak_vmas ? v : peak_vmas;
		}
	}
	T_EQ(atomic_load(&r->vma_cost), recount_cost(r));
	T_EQ(vma_w_mismatches(r, b, npages), 0);
	T_LE(peak_cost, (int64_t)small + 16);
	T_LE(peak_vmas, 2 * (long)small + 8);
	check_model(b, npages, model);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
	budget_set(16382);

	/* 4: what a refusal of the kernel does (and it stops the lazy
	 * scheme until the reset below): every idle read-write page goes back
	 * to read-only, the accessible ones stay read-write. */
	memset(model, 0, npages * (PAGE / 8) * sizeof(uint64_t));
	b = lazy_region(&cfg, npages, &p, &r);
	store_pass(b, npages, 0, 2, 4, model);
	uint64_t idle_before = idle_w(r), accessible_w = 0;
	unsigned tidied = upager__access_tidy(p);
	for (uint64_t i = 0; i < npages; i++) {
		uint32_t f = page_flags(&r->pages[i]);
		T_CHECK(!(f & PG_VMA_W) == !(f & PG_WRITE), "page %llu after the tidy: flags %#x",
		        (unsigned long long)i, f);
		accessible_w += (f & PG_WRITE) != 0;
	}
	T_GE(idle_before, npages / 2 - 256);
	T_GE(tidied, idle_before);
	T_EQ(idle_w(r), 0);
	T_EQ(atomic_load(&r->vma_cost), recount_cost(r));
	T_EQ(vma_w_mismatches(r, b, npages), 0);
	T_LE(maps_in(b, npages * PAGE), 2 * (long)accessible_w + 1);
	check_model(b, npages, model);
	T_RET(upager_unmap(p, b), 0);
	T_RET(upager_destroy(p), 0);
	budget_restore();
	upager__vma_lazy_reset();
	upager__pause_background_writeback(0);
	free(model);
	t_summary("lazy VMAs: %llu isolated stores over 4,096 pages under 256 frames: %llu "
	          "evicted pages kept read-write VMAs, %lld runs counted (= recount), %ld "
	          "VMAs; stores between them: %lld units, %ld VMAs; under a budget of %llu: "
	          "at most %lld units and %ld VMAs; a refusal's tidy: %llu idle pages, %u "
	          "runs made read-only; every word verified",
	          (unsigned long long)npages / 2, (unsigned long long)idle_isolated,
	          (long long)cost_isolated, vmas_isolated, (long long)cost_merged, vmas_merged,
	          (unsigned long long)small, (long long)peak_cost, peak_vmas,
	          (unsigned long long)idle_before, tidied);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "clean grants cost no VMA budget", test_isolated_reads },
		{ "write tracking with guards", test_write_tracking },
		{ "arming stops at half the budget", test_arming_budget },
		{ "threads arming the same chunks", test_threads_arming },
		{ "a refused downgrade on a load", test_refused_downgrade },
		{ "lazy VMAs of write tracking", test_lazy_vmas },
		{ NULL, NULL },
	};

	t_init("test_guards", 240);
	if (!upager__guards_supported())
		t_skip("this kernel has no guard markers (MADV_GUARD_INSTALL)");
	t_add_suite("guards", tests);
	return t_run_suite();
}
