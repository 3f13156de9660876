/*
 * test_replacement.c - the page replacement simulator of bench/
 * (replacement.c: FIFO, LRU, Clock, CLOCK-Pro, CAR, OPT) against results
 * known without it.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *  - The textbook reference string 1,2,3,4,1,2,5,1,2,3,4,5 (Belady,
 *    Nelson and Shedler, "An anomaly in space-time characteristics of
 *    certain programs running in a paging machine", CACM 12(6), 1969;
 *    Silberschatz et al., Operating System Concepts, chapter "Virtual
 *    Memory"): FIFO 9 faults with 3 frames and 10 with 4 (Belady's
 *    anomaly), LRU 10 and 8, OPT 7 and 6.  Naive simulators written here
 *    (O(n k) per policy, another shape of code) must give the same counts
 *    first; then the module must.  Clock, CAR and CLOCK-Pro counts on the
 *    same string were traced by hand (below, at the expected values).
 *  - Random traces: FIFO, LRU, Clock and OPT hit exactly where their naive
 *    models hit (reference by reference); OPT never misses more than any
 *    policy.
 *  - Invariants of every policy on random traces, at every reference: a
 *    hit exactly when the page was resident, the page resident after it,
 *    never more resident pages than frames, and the policy's own
 *    structure (repl_check: CLOCK-Pro's hot/cold/non-resident counts and
 *    bounds, CAR's |T1| + |T2| <= c, |T1| + |B1| <= c, directory <= 2c).
 *  - Scan resistance, the property CLOCK-Pro and CAR were designed for: a
 *    hot set that fits in memory, read between long one-time scans, stays
 *    resident under them (no miss on it after the first round) while LRU
 *    loses all of it every round.
 *  - Bad arguments get -EINVAL.
 */
#include "helpers.h"
#include "replacement.h"

#include <stdio.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t TEXTBOOK[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };

/* -------------------------------------------------------------------------
 * Naive models: hit[i] = 1 for a hit at reference i; return the misses.
 */

/* FIFO: resident pages in arrival order; the oldest leaves. */
static size_t naive_fifo(const uint32_t *t, size_t n, size_t k, uint8_t *hit)
{
	uint32_t *q = malloc(k * sizeof(*q));
	size_t len = 0, misses = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < len && q[j] != t[i]; j++)
			;
		hit[i] = j < len;
		if (hit[i])
			continue;
		misses++;
		if (len == k) {
			memmove(q, q + 1, (k - 1) * sizeof(*q));
			len--;
		}
		q[len++] = t[i];
	}
	free(q);
	return misses;
}

/* LRU: each frame's time of last use; the smallest leaves. */
static size_t naive_lru(const uint32_t *t, size_t n, size_t k, uint8_t *hit)
{
	uint32_t *page = malloc(k * sizeof(*page));
	size_t *used = malloc(k * sizeof(*used)), len = 0, misses = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j, v = 0;

		for (j = 0; j < len && page[j] != t[i]; j++)
			;
		hit[i] = j < len;
		if (!hit[i]) {
			misses++;
			if (len < k) {
				j = len++;
			} else {
				for (size_t f = 1; f < k; f++)
					if (used[f] < used[v])
						v = f;
				j = v;
			}
			page[j] = t[i];
		}
		used[j] = i;
	}
	free(page);
	free(used);
	return misses;
}

/* OPT: on a miss with memory full, look ahead for each resident page's
 * next use; the one used last (or never) leaves. */
static size_t naive_opt(const uint32_t *t, size_t n, size_t k, uint8_t *hit)
{
	uint32_t *page = malloc(k * sizeof(*page));
	size_t len = 0, misses = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j, v = 0, far = 0;

		for (j = 0; j < len && page[j] != t[i]; j++)
			;
		hit[i] = j < len;
		if (hit[i])
			continue;
		misses++;
		if (len < k) {
			page[len++] = t[i];
			continue;
		}
		for (size_t f = 0; f < k; f++) {
			size_t u;

			for (u = i + 1; u < n && t[u] != page[f]; u++)
				;
			if (u > far) {
				far = u;
				v = f;
			}
		}
		page[v] = t[i];
	}
	free(page);
	return misses;
}

/* Clock as second-chance FIFO: a queue with reference bits; a page at the
 * front with its bit set goes to the back with the bit cleared, one with
 * the bit clear leaves; a new page joins the back with its bit set (its
 * faulting access references it, as in upager). */
static size_t naive_clock(const uint32_t *t, size_t n, size_t k, uint8_t *hit)
{
	uint32_t *q = malloc(k * sizeof(*q));
	uint8_t *r = malloc(k);
	size_t len = 0, misses = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < len && q[j] != t[i]; j++)
			;
		hit[i] = j < len;
		if (hit[i]) {
			r[j] = 1;
			continue;
		}
		misses++;
		while (len == k) {
			uint32_t p = q[0];
			uint8_t b = r[0];

			memmove(q, q + 1, (k - 1) * sizeof(*q));
			memmove(r, r + 1, k - 1);
			len--;
			if (b) {
				q[len] = p;
				r[len++] = 0;
			}
		}
		q[len] = t[i];
		r[len++] = 1;
	}
	free(q);
	free(r);
	return misses;
}

typedef size_t (*naive_fn)(const uint32_t *, size_t, size_t, uint8_t *);

/* -------------------------------------------------------------------------
 * Helpers
 */

/* Misses of @policy on @t; -1 if the run failed.  @hits_out: NULL or
 * n bytes, 1 for a hit. */
static long long run_policy(enum repl_policy policy, const uint32_t *t, size_t n,
                            uint32_t npages, uint64_t frames, uint8_t *hits_out)
{
	uint64_t *bits = calloc((n + 63) / 64 + 1, sizeof(uint64_t)), hits = 0;
	int rc = repl_run(policy, t, NULL, n, npages, frames, &hits, bits);

	T_CHECK(rc == 0, "%s, %llu frames: repl_run returned %d", repl_names[policy],
	        (unsigned long long)frames, rc);
	if (rc == 0 && hits_out)
		for (size_t i = 0; i < n; i++)
			hits_out[i] = (bits[i / 64] >> (i % 64)) & 1;
	free(bits);
	return rc == 0 ? (long long)(n - hits) : -1;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ull;
	return t_mix64(rng_state);
}

/* A random trace over @npages pages of one of several shapes. */
static void random_trace(uint32_t *t, size_t n, uint32_t npages, int shape)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t u = rnd();

		switch (shape) {
		case 0: /* uniform */
			t[i] = (uint32_t)(u % npages);
			break;
		case 1: { /* skewed: the square of a uniform */
			double x = (double)(u >> 11) * 0x1p-53;

			t[i] = (uint32_t)(x * x * npages);
			break;
		}
		case 2: /* loops of random length with random jumps */
			t[i] = i && (u & 7) ? (t[i - 1] + 1) % npages : (uint32_t)(u % npages);
			break;
		default: /* a small hot set, and the rest */
			t[i] = (uint32_t)((u & 3) ? (u >> 8) % (npages / 8 + 1) : (u >> 8) % npages);
			break;
		}
	}
}

/* -------------------------------------------------------------------------
 * Tests
 */

static void test_textbook(void)
{
	static const struct {
		enum repl_policy policy;
		naive_fn naive; /* NULL: traced by hand */
		size_t faults3, faults4;
	} cases[] = {
		{ REPL_FIFO, naive_fifo, 9, 10 }, /* Belady's anomaly */
		{ REPL_LRU, naive_lru, 10, 8 },
		{ REPL_OPT, naive_opt, 7, 6 },
		/*
		 * Clock, bit set on entry: every resident page has its bit set
		 * whenever the hand must evict here, so the hand clears them all
		 * and takes the oldest: the same faults as FIFO (traced: 3
		 * frames 1 2 3 4 1 2 5 . . 3 4 ., 4 frames 1 2 3 4 . . 5 1 2 3
		 * 4 5).
		 */
		{ REPL_CLOCK, naive_clock, 9, 10 },
		/*
		 * CAR, c = 3 (traced with figure 2 of the paper): 1 2 3 fill
		 * T1; 4, 1, 2, 5 each evict T1's head (bit 0) to B1, which is
		 * trimmed to c - |T1|; 1 and 2 hit; 3 moves 1 and 2 (bits set)
		 * to T2 and evicts 5 to B1; 4 evicts 3; 5 is a B1 hit (p = 1),
		 * still a miss: 10 faults.  c = 4: 1-4 fill; 1, 2 hit; 5 moves
		 * 1, 2 to T2, evicts 3; 1, 2 hit in T2; 3 is in B1 (miss, p =
		 * 1), evicts 4; 4 is in B1 (p = 2), evicts 5; 5 is in B1: 8.
		 */
		{ REPL_CAR, NULL, 10, 8 },
		/*
		 * CLOCK-Pro, m = 3, m_c = 1: 1, 2 enter hot, 3 cold in test;
		 * 4 evicts 3 (stays, non-resident in test), 5 evicts 4 (the
		 * same) after 1, 2 hit; 1, 2 hit; 3 evicts 5 and, found in its
		 * test, turns hot (m_c 2): HAND_hot spares 1 and 2 (referenced),
		 * ends the tests of 4 and 5 (they leave, m_c back to 1) and
		 * turns 3 cold; 4 evicts 3, 5 evicts 4: 8 faults.  m = 4:
		 * 1, 2, 3 hot, 4 cold; 5 evicts 4; 1, 2, 3 hit; 4 evicts 5 and
		 * turns hot, HAND_hot spares 1, 2, 3, ends 5's test, turns 4
		 * cold; 5 evicts 4: 7 faults.
		 */
		{ REPL_CLOCKPRO, NULL, 8, 7 },
	};
	size_t n = ARRAY_SIZE(TEXTBOOK);
	uint8_t hit[ARRAY_SIZE(TEXTBOOK)];

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const char *name = repl_names[cases[c].policy];

		if (cases[c].naive) {
			size_t f3 = cases[c].naive(TEXTBOOK, n, 3, hit);
			size_t f4 = cases[c].naive(TEXTBOOK, n, 4, hit);

			T_CHECK(f3 == cases[c].faults3 && f4 == cases[c].faults4,
			        "naive %s: %zu and %zu faults, the textbook says %zu and %zu", name,
			        f3, f4, cases[c].faults3, cases[c].faults4);
		}
		T_EQ(run_policy(cases[c].policy, TEXTBOOK, n, 6, 3, NULL), cases[c].faults3);
		T_EQ(run_policy(cases[c].policy, TEXTBOOK, n, 6, 4, NULL), cases[c].faults4);
	}
	/* every policy with frames for all pages: only the 5 first touches */
	for (int p = 0; p < REPL_NPOLICIES; p++) {
		T_EQ(run_policy(p, TEXTBOOK, n, 6, 5, NULL), 5);
		T_EQ(run_policy(p, TEXTBOOK, n, 6, 1000, NULL), 5);
	}
	t_summary("textbook string: FIFO 9/10, LRU 10/8, OPT 7/6, Clock 9/10, CAR 10/8, "
	          "CLOCK-Pro 8/7 faults with 3/4 frames");
}

/* FIFO, LRU, Clock and OPT hit exactly where their naive models hit. */
static void test_against_naive(void)
{
	static const struct {
		enum repl_policy policy;
		naive_fn naive;
	} models[] = {
		{ REPL_FIFO, naive_fifo },
		{ REPL_LRU, naive_lru },
		{ REPL_CLOCK, naive_clock },
		{ REPL_OPT, naive_opt },
	};
	static const uint32_t npages[] = { 3, 17, 120 };
	static const uint64_t frames[] = { 1, 2, 3, 5, 16, 40, 119, 500 };
	const size_t n = 3000;
	uint32_t *t = malloc(n * sizeof(*t));
	uint8_t *want = malloc(n), *got = malloc(n);
	unsigned traces = 0, runs = 0;

	for (int shape = 0; shape < 4; shape++) {
		for (size_t np = 0; np < ARRAY_SIZE(npages); np++) {
			random_trace(t, n, npages[np], shape);
			traces++;
			for (size_t f = 0; f < ARRAY_SIZE(frames); f++) {
				for (size_t m = 0; m < ARRAY_SIZE(models); m++) {
					size_t k = frames[f] < npages[np] ? frames[f] : npages[np];
					size_t misses = models[m].naive(t, n, k, want);
					long long got_misses = run_policy(models[m].policy, t, n,
					                                  npages[np], frames[f], got);
					size_t i;

					for (i = 0; i < n && want[i] == got[i]; i++)
						;
					T_CHECK(got_misses == (long long)misses && i == n,
					        "%s, shape %d, %u pages, %llu frames: %lld misses, "
					        "naive %zu; first difference at reference %zu",
					        repl_names[models[m].policy], shape, npages[np],
					        (unsigned long long)frames[f], got_misses, misses, i);
					runs++;
				}
			}
		}
	}
	free(t);
	free(want);
	free(got);
	t_summary("FIFO, LRU, Clock, OPT equal to naive models hit for hit: %u runs on %u "
	          "random traces of %zu references",
	          runs, traces, n);
}

/* OPT misses no more than any policy. */
static void test_opt_is_least(void)
{
	const size_t n = 20000;
	uint32_t *t = malloc(n * sizeof(*t));
	unsigned runs = 0;

	for (int shape = 0; shape < 4; shape++) {
		for (uint32_t npages = 10; npages <= 2560; npages *= 4) {
			uint32_t *next;

			random_trace(t, n, npages, shape);
			T_REQUIRE(repl_next_use(t, n, npages, &next) == 0, "repl_next_use");
			for (uint64_t frames = 1; frames <= npages; frames = frames * 3 + 1) {
				uint64_t opt_hits, hits;

				T_REQUIRE(repl_opt(t, next, n, npages, frames, &opt_hits, NULL) == 0,
				          "repl_opt");
				for (int p = 0; p < REPL_NPOLICIES; p++) {
					T_REQUIRE(repl_run(p, t, NULL, n, npages, frames, &hits, NULL) ==
					                  0,
					          "repl_run");
					T_CHECK(hits <= opt_hits,
					        "%s beats OPT: %llu hits > %llu (shape %d, %u pages, "
					        "%llu frames)",
					        repl_names[p], (unsigned long long)hits,
					        (unsigned long long)opt_hits, shape, npages,
					        (unsigned long long)frames);
					runs++;
				}
			}
			free(next);
		}
	}
	free(t);
	t_summary("OPT never missed more than another policy: %u runs", runs);
}

/* Invariants of every online policy, reference by reference. */
static void test_invariants(void)
{
	static const uint32_t npages[] = { 7, 64, 3000 };
	const size_t n = 60000;
	uint32_t *t = malloc(n * sizeof(*t));
	unsigned long long checked = 0;

	for (int shape = 0; shape < 4; shape++) {
		for (size_t np = 0; np < ARRAY_SIZE(npages); np++) {
			random_trace(t, n, npages[np], shape);
			for (uint64_t frames = 1; frames <= npages[np] + 1;
			     frames = frames * 5 / 2 + 1) {
				uint64_t k = frames < npages[np] ? frames : npages[np];

				for (int p = 0; p < REPL_NPOLICIES; p++) {
					struct repl *r;
					const char *bad = NULL;
					size_t i, every = npages[np] > 100 ? 331 : 1;

					if (p == REPL_OPT)
						continue;
					T_REQUIRE(repl_create(&r, p, npages[np], frames) == 0,
					          "repl_create");
					for (i = 0; i < n && !bad; i++) {
						bool was = repl_resident(r, t[i]);
						bool hit = repl_access(r, t[i]);

						if (hit != was)
							bad = "a hit on a page that was not resident, or a miss "
							      "on one that was";
						else if (!repl_resident(r, t[i]))
							bad = "the page is not resident after its reference";
						else if (repl_nresident(r) > k)
							bad = "more resident pages than frames";
						else if (i % every == 0 || i == n - 1)
							bad = repl_check(r);
						checked++;
					}
					T_CHECK(!bad, "%s, shape %d, %u pages, %llu frames, reference %zu: "
					              "%s",
					        repl_names[p], shape, npages[np],
					        (unsigned long long)frames, i - 1, bad);
					repl_destroy(r);
				}
			}
		}
	}
	free(t);
	t_summary("invariants held at %llu references of the online policies", checked);
}

/* A hot set of 8 pages in 10 frames: two passes, then rounds of a scan of
 * 30 pages never seen before followed by a pass over the hot set. */
static void test_scan_resistance(void)
{
	enum { HOT = 8, FRAMES = 10, SCAN = 30, ROUNDS = 20 };
	static const enum repl_policy resistant[] = { REPL_CLOCKPRO, REPL_CAR };
	size_t n = 0, cap = 2 * HOT + ROUNDS * (SCAN + HOT);
	uint32_t *t = malloc(cap * sizeof(*t)), npages = HOT + ROUNDS * SCAN;
	uint8_t *hit = malloc(cap);
	size_t hot_misses[REPL_NPOLICIES] = { 0 };

	for (int pass = 0; pass < 2; pass++)
		for (uint32_t h = 0; h < HOT; h++)
			t[n++] = h;
	for (uint32_t round = 0; round < ROUNDS; round++) {
		for (uint32_t s = 0; s < SCAN; s++)
			t[n++] = HOT + round * SCAN + s;
		for (uint32_t h = 0; h < HOT; h++)
			t[n++] = h;
	}
	for (int p = 0; p < REPL_NPOLICIES; p++) {
		T_REQUIRE(run_policy(p, t, n, npages, FRAMES, hit) >= 0, "run");
		for (size_t i = HOT; i < n; i++) /* after the first pass */
			hot_misses[p] += t[i] < HOT && !hit[i];
	}
	for (size_t i = 0; i < ARRAY_SIZE(resistant); i++)
		T_CHECK(hot_misses[resistant[i]] == 0, "%s: %zu misses on the hot set",
		        repl_names[resistant[i]], hot_misses[resistant[i]]);
	/* LRU: a scan longer than memory leaves none of the hot set */
	T_EQ(hot_misses[REPL_LRU], ROUNDS * HOT);
	T_EQ(hot_misses[REPL_OPT], 0);
	t_summary("scans: hot-set misses over %d rounds: CLOCK-Pro %zu, CAR %zu, LRU %zu, "
	          "Clock %zu, FIFO %zu",
	          ROUNDS, hot_misses[REPL_CLOCKPRO], hot_misses[REPL_CAR],
	          hot_misses[REPL_LRU], hot_misses[REPL_CLOCK], hot_misses[REPL_FIFO]);
	free(t);
	free(hit);
}

static void test_bad_input(void)
{
	struct repl *r = NULL;
	uint32_t *next = NULL, bad[] = { 0, 1, 9 };
	uint64_t hits;

	T_EQ(repl_create(&r, REPL_OPT, 10, 4), -EINVAL);
	T_EQ(repl_create(&r, REPL_LRU, 0, 4), -EINVAL);
	T_EQ(repl_create(&r, REPL_LRU, 10, 0), -EINVAL);
	T_EQ(repl_create(&r, REPL_LRU, REPL_MAX_PAGES + 1, 4), -EINVAL);
	T_EQ(repl_create(&r, (enum repl_policy)REPL_NPOLICIES, 10, 4), -EINVAL);
	T_CHECK(r == NULL, "no state made on failure");
	T_EQ(repl_next_use(bad, 3, 9, &next), -EINVAL); /* page 9 of 9 */
	T_CHECK(next == NULL, "no array made on failure");
	for (int p = 0; p < REPL_NPOLICIES; p++) {
		T_EQ(repl_run(p, bad, NULL, 3, 9, 2, &hits, NULL), -EINVAL);
		T_EQ(repl_run(p, bad, NULL, 3, 10, 0, &hits, NULL), -EINVAL);
	}
	T_EQ(repl_policy_by_name("clock-pro"), REPL_CLOCKPRO);
	T_EQ(repl_policy_by_name("car"), REPL_CAR);
	T_EQ(repl_policy_by_name("arc"), -EINVAL);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "textbook string", test_textbook },
		{ "FIFO, LRU, Clock, OPT against naive models", test_against_naive },
		{ "OPT is a lower bound", test_opt_is_least },
		{ "invariants at every reference", test_invariants },
		{ "scan resistance of CLOCK-Pro and CAR", test_scan_resistance },
		{ "bad input", test_bad_input },
		{ NULL, NULL },
	};

	t_init("test_replacement", T_HANG_S);
	rng_state = t_seed();
	t_add_suite("replacement", tests);
	return t_run_suite();
}
