/*
 * test_stress.c - race stress, after the kernel's userfaultfd stress test.
 *
 * Four writer threads, two reader threads and a control thread (7 threads
 * on this machine's 2 cores) work on a writable UPAGER_SHARED file region
 * and an upager_alloc region under a limit of a few frames, so that almost
 * every touch faults, the Clock hand evicts continuously, and dirty pages
 * are written back while other threads store to their neighbours:
 *
 *  - every 8-byte word is owned by one writer (word % 16 == 15: by nobody,
 *    a constant word that keeps the file's initial pattern, or 0 in scratch
 *    memory); owners are interleaved, so all threads race on every page, and
 *    a quarter of the touches go to 4 hot pages;
 *  - a writer stores, to a few of its words of a page, value
 *    (count << 32 | hash(word, count)) with count one more than before, and
 *    keeps the expected count of each of its words in a verification array
 *    (updated before the store); it reads back its own words and checks them
 *    exactly, and checks the page's constant words;
 *  - a reader checks constant words exactly, and any owned word for being
 *    well formed (the initial pattern, or a value whose hash matches its
 *    count), for a count no older than one it saw before in the same word
 *    (a write lost by eviction would go back) and no newer than the owner's
 *    expected count;
 *  - the control thread calls upager_sync, DONTNEED on random ranges and
 *    pin + unpin of random pages, and reads the statistics, all the time.
 *
 * At the end every word is checked through the pointer, the region is
 * synced and unmapped, and the file read with pread(2) must hold every
 * word.  Figures: faults, evictions, write-backs, syncs, DONTNEEDs, pins,
 * checks and corruptions (must be 0).  One run is repeated under
 * `stress-ng --cpu 2 --vm 1` when stress-ng is installed (the program says
 * so when it is not).  Quick tier: a few seconds per run; soak tier: a
 * minute per run.
 *
 * CUnit is not thread-safe: the threads count, the main thread asserts.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define NWRITERS 4
#define NREADERS 2
#define HOT_PAGES 4

struct region {
	unsigned char *m;
	size_t npages, nwords;
	int anon;
	_Atomic uint64_t *expect; /* per word: the owner's count */
};

static struct {
	upager_t *p;
	size_t ps;
	struct region r[2];
	uint64_t seed;
	atomic_int stop;
	/* figures */
	_Atomic uint64_t checks, corruptions, writes, syncs, sync_err, dontneeds, dn_busy, pins,
		pin_enomem, ctl_errors;
	char first[256];
	atomic_flag first_set;
} S;

static inline uint64_t enc(uint64_t word, uint64_t cnt)
{
	return (cnt << 32) | (uint32_t)t_mix64(S.seed ^ (word << 20) ^ cnt);
}

static inline int is_const(uint64_t word)
{
	return word % 16 == 15;
}

static inline unsigned owner(uint64_t word)
{
	return (unsigned)(word % NWRITERS);
}

static uint64_t initial(const struct region *R, uint64_t word)
{
	return R->anon ? 0 : t_pattern_u64(S.seed, word * 8);
}

static void corrupt(const char *who, const struct region *R, uint64_t word, uint64_t got,
                    const char *why)
{
	atomic_fetch_add(&S.corruptions, 1);
	if (!atomic_flag_test_and_set(&S.first_set))
		snprintf(S.first, sizeof(S.first),
		         "%s: %s word %llu (page %llu) holds 0x%016llx: %s", who,
		         R->anon ? "scratch" : "file", (unsigned long long)word,
		         (unsigned long long)(word * 8 / S.ps), (unsigned long long)got, why);
}

/* Managed words are read and written by racing threads on purpose:
 * relaxed atomics (plain 8-byte moves on x86-64, and what ThreadSanitizer
 * expects of intended races). */
static inline uint64_t ld(const struct region *R, uint64_t word)
{
	return __atomic_load_n((uint64_t *)(R->m + word * 8), __ATOMIC_RELAXED);
}

static inline void st(const struct region *R, uint64_t word, uint64_t v)
{
	__atomic_store_n((uint64_t *)(R->m + word * 8), v, __ATOMIC_RELAXED);
}

/* Check one word read as @v; @seen: the reader's last count (or NULL). */
static void check_word(const char *who, const struct region *R, uint64_t word, uint64_t v,
                       uint64_t *seen)
{
	atomic_fetch_add_explicit(&S.checks, 1, memory_order_relaxed);
	if (is_const(word)) {
		if (v != initial(R, word))
			corrupt(who, R, word, v, "a constant word changed");
		return;
	}
	uint64_t cnt = v >> 32;
	if (v == initial(R, word) && !(R->anon && cnt)) {
		cnt = 0;
	} else if (cnt == 0 || v != enc(word, cnt)) {
		corrupt(who, R, word, v, "not a value its owner wrote");
		return;
	}
	uint64_t exp = atomic_load(&R->expect[word]);
	if (cnt > exp)
		corrupt(who, R, word, v, "newer than its owner wrote");
	if (seen) {
		if (cnt < *seen)
			corrupt(who, R, word, v, "older than a value read before (a lost write)");
		else
			*seen = cnt;
	}
}

struct thr {
	pthread_t tid;
	unsigned id;
	uint64_t seed;
	uint64_t *seen[2]; /* readers: last count per word */
};

static uint64_t pick_page(struct t_rng *r, const struct region *R)
{
	if (t_rand_below(r, 4) == 0)
		return t_rand_below(r, HOT_PAGES < R->npages ? HOT_PAGES : R->npages);
	return t_rand_below(r, R->npages);
}

static void *writer(void *arg)
{
	struct thr *t = arg;
	struct t_rng r = { t->seed };
	const uint64_t wpp = S.ps / 8; /* words per page */

	while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
		const struct region *R = &S.r[t_rand_below(&r, 4) == 0];
		uint64_t pg = pick_page(&r, R);
		unsigned n = 1 + (unsigned)t_rand_below(&r, 8);
		for (unsigned k = 0; k < n; k++) {
			/* one of this writer's words in the page */
			uint64_t w = pg * wpp + t_rand_below(&r, wpp / NWRITERS) * NWRITERS + t->id;
			if (is_const(w))
				w = pg * wpp + t->id; /* word%16 == t->id < 15 */
			uint64_t cnt = atomic_load_explicit(&R->expect[w], memory_order_relaxed) + 1;
			atomic_store(&R->expect[w], cnt); /* before the store: readers */
			st(R, w, enc(w, cnt));
			atomic_fetch_add_explicit(&S.writes, 1, memory_order_relaxed);
		}
		/* read back own words somewhere, and the constants of the page */
		R = &S.r[t_rand_below(&r, 2)];
		pg = pick_page(&r, R);
		for (unsigned k = 0; k < 4; k++) {
			uint64_t w = pg * wpp + t_rand_below(&r, wpp / NWRITERS) * NWRITERS + t->id;
			if (is_const(w))
				continue;
			uint64_t v = ld(R, w);
			atomic_fetch_add_explicit(&S.checks, 1, memory_order_relaxed);
			if (v != (atomic_load(&R->expect[w]) ? enc(w, atomic_load(&R->expect[w]))
			                                     : initial(R, w)))
				corrupt("writer", R, w, v, "not the value its owner stored last");
		}
		uint64_t cw = pg * wpp + 15 + 16 * t_rand_below(&r, wpp / 16);
		check_word("writer", R, cw, ld(R, cw), NULL);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct thr *t = arg;
	struct t_rng r = { t->seed };
	const uint64_t wpp = S.ps / 8;

	while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
		int ri = t_rand_below(&r, 3) == 0;
		const struct region *R = &S.r[ri];
		uint64_t pg = pick_page(&r, R);
		for (unsigned k = 0; k < 16; k++) {
			uint64_t w = pg * wpp + t_rand_below(&r, wpp);
			check_word("reader", R, w, ld(R, w), &t->seen[ri][w]);
		}
	}
	return NULL;
}

static void *control(void *arg)
{
	struct thr *t = arg;
	struct t_rng r = { t->seed };
	struct {
		const struct region *R;
		uint64_t a, n;
	} pins[2];
	int npins = 0;

	while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
		const struct region *R = &S.r[t_rand_below(&r, 3) == 0];
		uint64_t a = t_rand_below(&r, R->npages), n = 1 + t_rand_below(&r, 3);
		struct upager_stats st;
		int rc;

		if (a + n > R->npages)
			n = R->npages - a;
		switch (t_rand_below(&r, 4)) {
		case 0:
			rc = upager_sync(S.p, S.r[0].m, 0);
			atomic_fetch_add(&S.syncs, 1);
			if (rc)
				atomic_fetch_add(&S.sync_err, 1);
			break;
		case 1:
			rc = upager_advise(S.p, R->m + a * S.ps, n * S.ps, UPAGER_ADV_DONTNEED);
			atomic_fetch_add(&S.dontneeds, 1);
			if (rc == -EBUSY)
				atomic_fetch_add(&S.dn_busy, 1);
			else if (rc)
				atomic_fetch_add(&S.ctl_errors, 1);
			break;
		case 2:
			/* a pin is held across a few other operations, so that
			 * DONTNEED meets pinned pages */
			if (npins == 2) {
				if (upager_unpin(S.p, pins[0].R->m + pins[0].a * S.ps,
				                 pins[0].n * S.ps) != 0)
					atomic_fetch_add(&S.ctl_errors, 1);
				pins[0] = pins[1];
				npins = 1;
			}
			rc = upager_pin(S.p, R->m + a * S.ps, n * S.ps);
			if (rc == 0) {
				atomic_fetch_add(&S.pins, 1);
				uint64_t w = a * S.ps / 8 + 15;
				uint64_t v;
				v = ld(R, w);
				check_word("control", R, w, v, NULL);
				pins[npins].R = R;
				pins[npins].a = a;
				pins[npins].n = n;
				npins++;
			} else if (rc == -ENOMEM) {
				atomic_fetch_add(&S.pin_enomem, 1);
			} else {
				atomic_fetch_add(&S.ctl_errors, 1);
			}
			break;
		default:
			if (upager_stats(S.p, &st, sizeof(st)) != 0)
				atomic_fetch_add(&S.ctl_errors, 1);
			break;
		}
	}
	while (npins-- > 0)
		if (upager_unpin(S.p, pins[npins].R->m + pins[npins].a * S.ps,
		                 pins[npins].n * S.ps) != 0)
			atomic_fetch_add(&S.ctl_errors, 1);
	return NULL;
}

/* ------------------------------------------------------------ stress-ng */

static pid_t g_load = -1;

static int have_stress_ng(void)
{
	const char *path = getenv("PATH");
	char buf[4200];

	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *e = strchr(path, ':');
		size_t n = e ? (size_t)(e - path) : strlen(path);
		snprintf(buf, sizeof(buf), "%.*s/stress-ng", (int)n, path);
		if (access(buf, X_OK) == 0)
			return 1;
		path += n + (e ? 1 : 0);
	}
	return 0;
}

static void load_start(unsigned seconds)
{
	char t[32];

	snprintf(t, sizeof(t), "%us", seconds + 5);
	fflush(NULL);
	g_load = fork();
	if (g_load == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execlp("stress-ng", "stress-ng", "--cpu", "2", "--vm", "1", "--vm-bytes", "256M",
		       "--timeout", t, "--quiet", (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000); /* let it start */
}

/* The fatal-signal path: async-signal-safe. */
static void load_kill(void)
{
	if (g_load > 0)
		kill(g_load, SIGKILL);
}

static void load_stop(void)
{
	if (g_load > 0) {
		kill(g_load, SIGTERM);
		if (t_wait_child(g_load, 10) == -1)
			kill(g_load, SIGKILL);
		g_load = -1;
	}
}

/* ------------------------------------------------------- a stray SIGBUS */

/* No I/O error is injected here, so a SIGBUS means a fault upager could not
 * serve (no frame, or a protection change refused): say where before the
 * helpers' handler removes the files and the process dies. */
static struct sigaction g_old_bus;

static void put_hex(char *b, size_t *n, uint64_t v)
{
	char t[17];
	int k = 0;

	do
		t[k++] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) && k < 16);
	b[(*n)++] = '0';
	b[(*n)++] = 'x';
	while (k > 0)
		b[(*n)++] = t[--k];
}

static void stray_bus(int sig, siginfo_t *si, void *uc)
{
	char b[256];
	size_t n = 0;
	const char *m = "test_stress: SIGBUS without any injected error, si_addr ";

	while (*m)
		b[n++] = *m++;
	put_hex(b, &n, (uint64_t)(uintptr_t)si->si_addr);
	for (int i = 0; i < 2; i++) {
		const struct region *R = &S.r[i];
		uintptr_t a = (uintptr_t)si->si_addr, lo = (uintptr_t)R->m;
		if (R->m && a >= lo && a < lo + R->npages * S.ps) {
			m = i ? " (scratch region, page " : " (file region, page ";
			while (*m)
				b[n++] = *m++;
			put_hex(b, &n, (a - lo) / S.ps);
			b[n++] = ')';
		}
	}
	b[n++] = '\n';
	if (write(2, b, n) < 0)
		_exit(2);
	if (g_old_bus.sa_flags & SA_SIGINFO)
		g_old_bus.sa_sigaction(sig, si, uc);
	else if (g_old_bus.sa_handler != SIG_DFL && g_old_bus.sa_handler != SIG_IGN)
		g_old_bus.sa_handler(sig);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

static void catch_stray_bus(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = stray_bus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &g_old_bus);
}

/* ------------------------------------------------------------------ run */

static void run(const char *name, size_t ps, size_t frames, size_t file_pages,
                size_t anon_pages, double seconds)
{
	struct upager_config c = t_config(ps, frames * ps);
	int fd;
	struct thr thr[NWRITERS + NREADERS + 1];
	struct upager_stats st;
	double t0;

	memset(&S.checks, 0, sizeof(S) - offsetof(typeof(S), checks));
	S.ps = ps;
	S.seed = t_seed() ^ ps;
	atomic_store(&S.stop, 0);
	atomic_flag_clear(&S.first_set);
	S.first[0] = 0;
	S.p = t_create(&c);
	fd = t_make_file(file_pages * ps, S.seed, NULL, 0);
	S.r[0].m = upager_map(S.p, fd, 0, file_pages * ps, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	S.r[0].npages = file_pages;
	S.r[0].anon = 0;
	S.r[1].m = upager_alloc(S.p, anon_pages * ps);
	S.r[1].npages = anon_pages;
	S.r[1].anon = 1;
	T_REQUIRE(S.r[0].m && S.r[1].m, "map/alloc: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		S.r[i].nwords = S.r[i].npages * ps / 8;
		S.r[i].expect = calloc(S.r[i].nwords, sizeof(uint64_t));
		T_REQUIRE(S.r[i].expect != NULL, "calloc");
	}
	memset(thr, 0, sizeof(thr));
	t0 = t_now();
	for (unsigned i = 0; i < NWRITERS + NREADERS + 1; i++) {
		void *(*fn)(void *) = i < NWRITERS ? writer : i < NWRITERS + NREADERS ? reader : control;
		thr[i].id = i;
		thr[i].seed = S.seed * 1000003 + i;
		if (fn == reader)
			for (int k = 0; k < 2; k++) {
				thr[i].seen[k] = calloc(S.r[k].nwords, sizeof(uint64_t));
				T_REQUIRE(thr[i].seen[k] != NULL, "calloc");
			}
		int e = pthread_create(&thr[i].tid, NULL, fn, &thr[i]);
		T_REQUIRE(e == 0, "pthread_create: %s", strerror(e));
	}
	while (t_now() - t0 < seconds)
		usleep(50 * 1000);
	atomic_store(&S.stop, 1);
	for (unsigned i = 0; i < NWRITERS + NREADERS + 1; i++)
		pthread_join(thr[i].tid, NULL);
	double elapsed = t_now() - t0;

	/* every word, through the pointer */
	for (int i = 0; i < 2; i++) {
		const struct region *R = &S.r[i];
		for (uint64_t w = 0; w < R->nwords; w++) {
			uint64_t v = ld(R, w), e = atomic_load(&R->expect[w]);
			uint64_t want = is_const(w) || !e ? initial(R, w) : enc(w, e);
			if (v != want)
				corrupt("final check", R, w, v, "not the owner's last value");
		}
	}
	t_stats(S.p, &st);
	T_RET(upager_sync(S.p, S.r[0].m, 0), 0);
	T_RET(upager_unmap(S.p, S.r[0].m), 0);
	/* and the file */
	{
		const struct region *R = &S.r[0];
		uint64_t *buf = malloc(ps);
		T_REQUIRE(buf != NULL, "malloc");
		for (uint64_t pg = 0; pg < R->npages; pg++) {
			T_REQUIRE(pread(fd, buf, ps, (off_t)(pg * ps)) == (ssize_t)ps, "pread");
			for (uint64_t k = 0; k < ps / 8; k++) {
				uint64_t w = pg * ps / 8 + k, e = atomic_load(&R->expect[w]);
				uint64_t want = is_const(w) || !e ? initial(R, w) : enc(w, e);
				if (buf[k] != want)
					corrupt("file after sync", R, w, buf[k],
					        "not the owner's last value");
			}
		}
		free(buf);
	}
	T_RET(upager_unmap(S.p, S.r[1].m), 0);
	T_RET(upager_destroy(S.p), 0);
	close(fd);
	for (int i = 0; i < 2; i++)
		free((void *)S.r[i].expect);
	for (unsigned i = NWRITERS; i < NWRITERS + NREADERS; i++)
		for (int k = 0; k < 2; k++)
			free(thr[i].seen[k]);

	uint64_t corr = atomic_load(&S.corruptions);
	printf("  figures %s: %.1f s, %zu KiB pages, %zu frames for %zu+%zu pages, 7 threads: "
	       "%llu faults (%llu major), %llu evictions, %llu write-backs, %llu stores, %llu "
	       "checks, %llu syncs (%llu failed), %llu DONTNEEDs (%llu EBUSY), %llu pins "
	       "(%llu ENOMEM), %llu other control errors, %llu corruptions\n",
	       name, elapsed, ps / 1024, frames, file_pages, anon_pages,
	       (unsigned long long)st.pgfault, (unsigned long long)st.pgmajfault,
	       (unsigned long long)st.pgsteal, (unsigned long long)st.pgpgout,
	       (unsigned long long)S.writes, (unsigned long long)S.checks,
	       (unsigned long long)S.syncs, (unsigned long long)S.sync_err,
	       (unsigned long long)S.dontneeds, (unsigned long long)S.dn_busy,
	       (unsigned long long)S.pins, (unsigned long long)S.pin_enomem,
	       (unsigned long long)S.ctl_errors, (unsigned long long)corr);
	if (corr)
		printf("  first corruption: %s\n", S.first);
	T_CHECK(corr == 0, "%s: %llu corruptions; first: %s", name, (unsigned long long)corr,
	        S.first);
	T_EQ(S.sync_err, 0);
	T_EQ(S.ctl_errors, 0);
	T_CHECK(st.pgsteal > 100 && st.pgpgout > 10,
	        "%s: too little eviction to stress anything (%llu evictions, %llu write-backs)",
	        name, (unsigned long long)st.pgsteal, (unsigned long long)st.pgpgout);
	t_summary("race stress %s: %.0f s, %llu faults, %llu evictions, %llu write-backs, %llu "
	          "checks, %llu corruptions",
	          name, elapsed, (unsigned long long)st.pgfault, (unsigned long long)st.pgsteal,
	          (unsigned long long)st.pgpgout, (unsigned long long)S.checks,
	          (unsigned long long)corr);
}

static void test_4k(void)
{
	run("4 KiB", 4096, 8, 64, 32, (double)t_scale(4, 60));
}

static void test_16k(void)
{
	run("16 KiB", 16384, 6, 32, 16, (double)t_scale(3, 60));
}

static void test_loaded(void)
{
	unsigned secs = (unsigned)t_scale(4, 60);

	if (!have_stress_ng()) {
		printf("  stress-ng is not installed: this run is without extra load "
		       "(apt-get install stress-ng)\n");
		run("4 KiB, no stress-ng (not installed)", 4096, 8, 64, 32, secs);
		return;
	}
	load_start(secs);
	run("4 KiB under stress-ng --cpu 2 --vm 1", 4096, 8, 64, 32, secs);
	load_stop();
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "4 KiB pages, 8 frames", test_4k },
		{ "16 KiB pages, 6 frames", test_16k },
		{ "4 KiB pages under stress-ng load", test_loaded },
		{ NULL, NULL },
	};

	t_init("test_stress", 120);
	(void)t_seed();
	t_on_cleanup(load_kill);
	catch_stray_bus();
	t_add_suite("stress", tests);
	return t_run_suite();
}
