/*
 * test_contention.c - the contention matrix: many threads, few frames.
 *
 * A demanded page must get a frame while any frame can be freed: a fault
 * may fail only when every frame is pinned or holds a page whose write-back
 * keeps failing.  This program drives the states in which an allocation
 * used to give up while other threads made progress (references cleared by
 * the hand and taken back at once, frames pinned by a control thread, pages
 * locked by other threads' I/O) and checks that no fault fails and no byte
 * is lost.
 *
 * Each cell of the matrix is one child process: a writable UPAGER_SHARED
 * file region of 4 pages per frame, under a limit of F frames, and T worker
 * threads.  Word w of the file belongs to worker w % T; a worker picks a
 * random page (a quarter of the picks go to the first 2 pages, so threads
 * collide on them), reads its words of that page and checks them against
 * its own model (the initial pattern, or the last value it stored), and on
 * every other operation stores a new value to one of them.  With
 * "control", one more thread loops until the workers are done: it pins all
 * frames but the reserve (the pages the workers touch most), syncs the
 * region, unpins, and drops a random range with UPAGER_ADV_DONTNEED.
 *
 * After the workers: every word is checked through the pointer, the region
 * is synced, and the file is read with pread(2): every word must hold its
 * owner's last value (or the pattern where never written).  The child dies
 * of a SIGBUS if a fault fails; the parent fails the cell then.
 *
 * The matrix: threads 2, 8, 32, 64 x frames 4, 6, 8, 16 x pages of 4, 16
 * and 64 KiB x without and with the control thread (96 cells).  The quick
 * tier does 300 operations per cell, the soak tier (UPAGER_SOAK=1) 40 times
 * more.  Then the starvation cells (all frames but the reserve pinned for
 * the whole run, see test_starvation).  Where stress-ng is installed, the
 * hardest row (4 frames, 64 threads, control) runs again under
 * `stress-ng --cpu 2`.
 *
 * UPAGER_CELL=threads,frames,page_size,control (control: 0 none, 1 the
 * control loop, 2 starvation) runs one cell alone.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#define PAGES_PER_FRAME 4u
#define HOT_PAGES 2u

enum { CTL_NONE, CTL_LOOP, CTL_STARVE };

struct cell {
	unsigned threads, frames;
	size_t ps;
	int control; /* CTL_* */
};

/* What a child found, sent to the parent through a pipe. */
struct result {
	uint64_t ops, wrong_mem, wrong_file, ctl_errors, sigbus, sigbus_nomem, majfault, pgsteal;
	int setup_error;
	char first[200];
};

static struct {
	const struct cell *c;
	upager_t *p;
	unsigned char *m;
	int fd;
	size_t npages, nwords, wpp; /* words per page */
	uint64_t seed, ops_per_thread;
	uint32_t *count;            /* per word: the owner's last count */
	atomic_int workers_left;
	atomic_int cold_left;       /* CTL_STARVE: cold threads still running */
	_Atomic uint64_t ops, wrong_mem, ctl_errors;
	atomic_flag first_set;
	char first[200];
} S;

static inline uint64_t enc(uint64_t word, uint32_t cnt)
{
	return ((uint64_t)cnt << 32) | (uint32_t)t_mix64(S.seed ^ (word << 20) ^ cnt);
}

static uint64_t expected(uint64_t word)
{
	uint32_t cnt = S.count[word];

	return cnt ? enc(word, cnt) : t_pattern_u64(S.seed, word * 8);
}

static void wrong(const char *where, uint64_t word, uint64_t got)
{
	if (!atomic_flag_test_and_set(&S.first_set))
		snprintf(S.first, sizeof(S.first),
		         "%s: word %llu (page %llu) holds 0x%016llx, expected 0x%016llx", where,
		         (unsigned long long)word, (unsigned long long)(word / S.wpp),
		         (unsigned long long)got, (unsigned long long)expected(word));
}

/* Words are shared with the pager's eviction on purpose: relaxed atomics. */
static inline uint64_t ld(uint64_t word)
{
	return __atomic_load_n((uint64_t *)(S.m + word * 8), __ATOMIC_RELAXED);
}

static size_t pin_count(void)
{
	size_t reserve = S.c->frames / 8 > 2 ? S.c->frames / 8 : 2;

	return S.c->frames - reserve;
}

/* The page a worker touches next.  CTL_STARVE: pages [0, npin) are pinned
 * for the whole run; all workers but two take turns on the two pages after
 * them (each eviction of one is undone by a reference at once), and the
 * last two read the rest, so each of their faults must take a frame from
 * under the others' references. */
static uint64_t pick_page(unsigned t, struct t_rng *rng)
{
	if (S.c->control == CTL_STARVE) {
		size_t npin = pin_count();
		if (t + 2 < S.c->threads)
			return npin + t_rand_below(rng, 2);
		return npin + 2 + t_rand_below(rng, S.npages - npin - 2);
	}
	return t_rand_below(rng, 4) == 0 ? t_rand_below(rng, HOT_PAGES)
	                                 : t_rand_below(rng, S.npages);
}

static void *worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg, T = S.c->threads;
	struct t_rng rng = { S.seed ^ (0x9e37ull * (t + 1)) };

	/* CTL_STARVE: the hot threads go on while the two cold threads run. */
	bool hot = S.c->control == CTL_STARVE && t + 2 < T;

	for (uint64_t op = 0; hot ? atomic_load(&S.cold_left) > 0 : op < S.ops_per_thread; op++) {
		uint64_t page = pick_page(t, &rng);
		uint64_t w0 = page * S.wpp, first = w0 + (t + T - w0 % T) % T;

		/* Check this worker's words of the page. */
		for (uint64_t w = first; w < w0 + S.wpp; w += T) {
			uint64_t v = ld(w);
			if (v != expected(w)) {
				atomic_fetch_add(&S.wrong_mem, 1);
				wrong("read", w, v);
			}
		}
		if (op % 2 == 0) {
			uint64_t n = (w0 + S.wpp - first + T - 1) / T;
			uint64_t w = first + T * t_rand_below(&rng, n);
			uint32_t cnt = S.count[w] + 1;

			S.count[w] = cnt;
			__atomic_store_n((uint64_t *)(S.m + w * 8), enc(w, cnt), __ATOMIC_RELAXED);
		}
		atomic_fetch_add_explicit(&S.ops, 1, memory_order_relaxed);
	}
	if (S.c->control == CTL_STARVE && !hot)
		atomic_fetch_sub(&S.cold_left, 1);
	atomic_fetch_sub(&S.workers_left, 1);
	return NULL;
}

/* The control thread: pin all frames but the reserve, sync, unpin, drop.
 * CTL_STARVE: the workers start once the pins are in place (S.pinned). */
static void *control(void *arg)
{
	size_t npin = pin_count();
	struct t_rng rng = { S.seed ^ 0xc0ffee };
	int rc;

	(void)arg;
	if (S.c->control == CTL_STARVE)
		return NULL; /* pinned by run_cell_child before the workers */
	while (atomic_load(&S.workers_left) > 0) {
		if ((rc = upager_pin(S.p, S.m, npin * S.c->ps)) != 0) {
			atomic_fetch_add(&S.ctl_errors, 1);
			fprintf(stderr, "upager_pin(%zu pages) = %d (%s)\n", npin, rc,
			        upager_strerror(rc));
		}
		if ((rc = upager_sync(S.p, S.m, S.npages * S.c->ps)) != 0) {
			atomic_fetch_add(&S.ctl_errors, 1);
			fprintf(stderr, "upager_sync = %d (%s)\n", rc, upager_strerror(rc));
		}
		if ((rc = upager_unpin(S.p, S.m, npin * S.c->ps)) != 0) {
			atomic_fetch_add(&S.ctl_errors, 1);
			fprintf(stderr, "upager_unpin = %d (%s)\n", rc, upager_strerror(rc));
		}
		uint64_t a = t_rand_below(&rng, S.npages), n = 1 + t_rand_below(&rng, 4);
		if (a + n > S.npages)
			n = S.npages - a;
		if ((rc = upager_advise(S.p, S.m + a * S.c->ps, n * S.c->ps, UPAGER_ADV_DONTNEED)) != 0) {
			atomic_fetch_add(&S.ctl_errors, 1);
			fprintf(stderr, "DONTNEED = %d (%s)\n", rc, upager_strerror(rc));
		}
	}
	return NULL;
}

static void run_cell_child(const struct cell *c, int fd, uint64_t seed, uint64_t ops,
                           struct result *res)
{
	struct upager_config cfg = t_config(c->ps, c->frames * c->ps);
	pthread_t th[65];
	struct upager_stats st;
	int rc;

	memset(&S, 0, sizeof(S));
	S.c = c;
	S.fd = fd;
	S.seed = seed;
	S.npages = (size_t)c->frames * PAGES_PER_FRAME;
	S.wpp = c->ps / 8;
	S.nwords = S.npages * S.wpp;
	S.ops_per_thread = ops;
	S.count = calloc(S.nwords, sizeof(*S.count));
	rc = upager_create(&S.p, &cfg, sizeof(cfg));
	if (rc || !S.count) {
		res->setup_error = 1;
		snprintf(res->first, sizeof(res->first), "upager_create = %d (%s)", rc,
		         upager_strerror(rc));
		return;
	}
	S.m = upager_map(S.p, fd, 0, S.npages * c->ps, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	if (!S.m) {
		res->setup_error = 1;
		snprintf(res->first, sizeof(res->first), "upager_map: %s", strerror(errno));
		return;
	}
	atomic_store(&S.workers_left, (int)c->threads);
	atomic_store(&S.cold_left, 2);
	if (c->control == CTL_STARVE && (rc = upager_pin(S.p, S.m, pin_count() * c->ps)) != 0) {
		res->setup_error = 1;
		snprintf(res->first, sizeof(res->first), "upager_pin = %d (%s)", rc,
		         upager_strerror(rc));
		return;
	}
	for (unsigned t = 0; t < c->threads; t++)
		pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t);
	if (c->control)
		pthread_create(&th[c->threads], NULL, control, NULL);
	for (unsigned t = 0; t < c->threads + (c->control ? 1 : 0); t++)
		pthread_join(th[t], NULL);
	if (c->control == CTL_STARVE && (rc = upager_unpin(S.p, S.m, pin_count() * c->ps)) != 0) {
		res->ctl_errors++;
		fprintf(stderr, "upager_unpin = %d (%s)\n", rc, upager_strerror(rc));
	}

	/* Every word through the pointer, then in the file after a sync. */
	for (uint64_t w = 0; w < S.nwords; w++) {
		uint64_t v = ld(w);
		if (v != expected(w)) {
			res->wrong_mem++;
			wrong("final read", w, v);
		}
	}
	if ((rc = upager_sync(S.p, S.m, 0)) != 0) {
		res->ctl_errors++;
		fprintf(stderr, "final upager_sync = %d (%s)\n", rc, upager_strerror(rc));
	}
	upager_stats(S.p, &st, sizeof(st));
	for (uint64_t w = 0; w < S.nwords; w++) {
		uint64_t v;
		if (pread(fd, &v, 8, (off_t)(w * 8)) != 8 || v != expected(w)) {
			res->wrong_file++;
			wrong("file", w, v);
		}
	}
	if ((rc = upager_destroy(S.p)) != 0) {
		res->ctl_errors++;
		fprintf(stderr, "upager_destroy = %d (%s)\n", rc, upager_strerror(rc));
	}
	res->ops = atomic_load(&S.ops);
	res->wrong_mem += atomic_load(&S.wrong_mem);
	res->ctl_errors += atomic_load(&S.ctl_errors);
	res->sigbus = st.sigbus;
	res->sigbus_nomem = st.sigbus_nomem;
	res->majfault = st.pgmajfault;
	res->pgsteal = st.pgsteal;
	memcpy(res->first, S.first, sizeof(res->first));
}

struct child_arg {
	const struct cell *c;
	int fd, pipe_w;
	uint64_t seed, ops;
};

static int g_pipe_w = -1;

/*
 * A failed fault: report where and the pager's counters to the parent, then
 * die of SIGBUS (not through the parent's cleanup handler).  The process is
 * dying, so the calls that are not async-signal-safe cannot hurt anything
 * that matters.
 */
static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	struct result res;
	struct upager_stats st;

	(void)uc;
	memset(&res, 0, sizeof(res));
	if (S.p && upager_stats(S.p, &st, sizeof(st)) == 0) {
		res.sigbus = st.sigbus;
		res.sigbus_nomem = st.sigbus_nomem;
		res.majfault = st.pgmajfault;
		snprintf(res.first, sizeof(res.first),
		         "SIGBUS at page %lld of the region; io_errors %llu",
		         S.m ? (long long)(((char *)si->si_addr - (char *)S.m) / (long long)S.c->ps)
		             : -1LL,
		         (unsigned long long)st.io_errors);
	}
	res.ops = atomic_load(&S.ops);
	if (write(g_pipe_w, &res, sizeof(res)) < 0)
		_exit(4);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int child_main(void *arg)
{
	struct child_arg *a = arg;
	struct result res;
	struct sigaction sa;

	memset(&res, 0, sizeof(res));
	memset(&sa, 0, sizeof(sa));
	g_pipe_w = a->pipe_w;
	sa.sa_sigaction = bus_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	run_cell_child(a->c, a->fd, a->seed, a->ops, &res);
	if (write(a->pipe_w, &res, sizeof(res)) != (ssize_t)sizeof(res))
		return 3;
	return res.setup_error ? 2 : 0;
}

static struct {
	unsigned cells, failed;
	uint64_t ops, majfault, pgsteal;
} M;

/* One file serves every cell: rewritten with the cell's pattern and cut to
 * the cell's size before each. */
static int cell_file(size_t size, uint64_t seed)
{
	static int fd = -1;
	static unsigned char buf[1 << 16];

	if (fd < 0)
		fd = t_make_file(0, 0, NULL, 0);
	T_REQUIRE(ftruncate(fd, 0) == 0 && ftruncate(fd, (off_t)size) == 0, "ftruncate: %s",
	          strerror(errno));
	for (size_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);
		t_fill(buf, n, seed, off);
		T_REQUIRE(pwrite(fd, buf, n, (off_t)off) == (ssize_t)n, "pwrite: %s",
		          strerror(errno));
	}
	return fd;
}

/* UPAGER_CELL="threads,frames,page_size,control" runs that cell alone. */
static int only_cell(struct cell *c)
{
	const char *e = getenv("UPAGER_CELL");

	return e && sscanf(e, "%u,%u,%zu,%d", &c->threads, &c->frames, &c->ps, &c->control) == 4;
}

static void run_cell(const struct cell *c, uint64_t ops, const char *load)
{
	size_t size = (size_t)c->frames * PAGES_PER_FRAME * c->ps;
	uint64_t seed = t_seed() ^ ((uint64_t)c->threads << 40 | (uint64_t)c->frames << 32 |
	                            c->ps | (uint64_t)c->control << 60);
	int fd = cell_file(size, seed), pfd[2], status;
	struct child_arg a = { c, fd, -1, seed, ops };
	struct result res;
	pid_t pid;
	ssize_t got;

	T_REQUIRE(pipe(pfd) == 0, "pipe: %s", strerror(errno));
	a.pipe_w = pfd[1];
	pid = t_fork(child_main, &a);
	T_REQUIRE(pid > 0, "fork: %s", strerror(errno));
	close(pfd[1]);
	memset(&res, 0, sizeof(res));
	got = read(pfd[0], &res, sizeof(res));
	close(pfd[0]);
	/* A hang guard only: a cell takes well under a second here. */
	status = t_wait_child(pid, 600);
	M.cells++;
	int ok = status == 0 && got == (ssize_t)sizeof(res) && !res.wrong_mem &&
	         !res.wrong_file && !res.ctl_errors && !res.sigbus;
	if (!ok)
		M.failed++;
	T_CHECK(ok,
	        "%u threads, %u frames, %zu KiB pages%s%s: child %s, %llu ops, SIGBUS %llu "
	        "(no frame %llu), %llu wrong in memory, %llu wrong in the file, %llu call "
	        "errors%s%s",
	        c->threads, c->frames, c->ps >> 10, c->control == CTL_LOOP ? ", control" : c->control == CTL_STARVE ? ", starve" : "", load,
	        status < 0 ? "hung" : t_status_str(status), (unsigned long long)res.ops,
	        (unsigned long long)res.sigbus, (unsigned long long)res.sigbus_nomem,
	        (unsigned long long)res.wrong_mem, (unsigned long long)res.wrong_file,
	        (unsigned long long)res.ctl_errors, res.first[0] ? "; first: " : "", res.first);
	M.ops += res.ops;
	M.majfault += res.majfault;
	M.pgsteal += res.pgsteal;
}

static const unsigned THREADS[] = { 2, 8, 32, 64 };
static const unsigned FRAMES[] = { 4, 6, 8, 16 };
static const size_t PAGES[] = { 4096, 16384, 65536 };

static uint64_t ops_for(unsigned threads)
{
	/* About 300 operations per cell in the quick tier, 12,000 in soak. */
	uint64_t total = t_scale(300, 12000);
	return total / threads > 10 ? total / threads : 10;
}

static void matrix(int control)
{
	double t0 = t_now();
	unsigned failed0 = M.failed, cells0 = M.cells;
	struct cell one;

	if (only_cell(&one)) {
		if (one.control == (control ? CTL_LOOP : CTL_NONE))
			run_cell(&one, ops_for(one.threads), "");
		return;
	}
	for (unsigned i = 0; i < sizeof(PAGES) / sizeof(PAGES[0]); i++)
		for (unsigned j = 0; j < sizeof(FRAMES) / sizeof(FRAMES[0]); j++)
			for (unsigned k = 0; k < sizeof(THREADS) / sizeof(THREADS[0]); k++) {
				struct cell c = { THREADS[k], FRAMES[j], PAGES[i],
				                  control ? CTL_LOOP : CTL_NONE };
				run_cell(&c, ops_for(c.threads), "");
			}
	t_summary("%u cells (threads 2-64 x frames 4-16 x pages 4-64 KiB)%s: "
	          "%u failed, 0 SIGBUS allowed; every word in memory and in the file (%.1f s)",
	          M.cells - cells0, control ? " with a pinning/syncing control thread" : "",
	          M.failed - failed0, t_now() - t0);
}

static void test_matrix(void)
{
	matrix(0);
}

static void test_matrix_control(void)
{
	matrix(1);
}

/*
 * Starvation: every frame but the reserve pinned for the whole run, most
 * threads re-referencing the reserve's pages all the time, two threads
 * needing frames from under them.  Before the bounded second chance, the
 * hand cleared a reference, another thread took it back before the hand
 * came round, pinned frames were passed over, and after a fixed number of
 * slots the fault gave up with SIGBUS.
 */
static void test_starvation(void)
{
	static const unsigned threads[] = { 8, 32 }, frames[] = { 4, 6, 8 };
	/* The quick tier: 8 and 32 threads under 4 and 6 frames. */
	unsigned nframes = t_soak() ? 3 : 2;
	double t0 = t_now();
	unsigned failed0 = M.failed, cells0 = M.cells;
	struct cell one;

	if (only_cell(&one)) {
		if (one.control == CTL_STARVE)
			run_cell(&one, t_scale(150, 6000), "");
		return;
	}
	for (unsigned i = 0; i < sizeof(PAGES) / sizeof(PAGES[0]); i++)
		for (unsigned j = 0; j < nframes; j++)
			for (unsigned k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
				struct cell c = { threads[k], frames[j], PAGES[i], CTL_STARVE };
				run_cell(&c, t_scale(150, 6000), "");
			}
	t_summary("%u starvation cells (all frames but the reserve pinned, hot reserve "
	          "pages, two threads needing frames): %u failed (%.1f s)",
	          M.cells - cells0, M.failed - failed0, t_now() - t0);
}

/*
 * The starving interleaving made deterministic: every frame but the reserve
 * pinned, the reserve's two pages referenced, and every reference the hand
 * clears taken back at once (test hook), as when other threads touch them
 * between two visits of the hand.  A fault on a third page must still get
 * a frame.  Before the bounded second chance this fault gave up after
 * 3 * frames + 32 slots and raised SIGBUS, every time.
 */
static int rereference_child(void *arg)
{
	size_t ps = 4096, frames = 4, npin = 2;
	struct upager_config cfg = t_config(ps, frames * ps);
	int fd = *(int *)arg;
	upager_t *p;
	unsigned char *m;
	volatile unsigned char sink;

	signal(SIGBUS, SIG_DFL);
	if (upager_create(&p, &cfg, sizeof(cfg)) != 0)
		return 10;
	m = upager_map(p, fd, 0, 8 * ps, PROT_READ, UPAGER_SHARED);
	if (!m || upager_pin(p, m, npin * ps) != 0)
		return 11;
	sink = m[2 * ps];
	sink = m[3 * ps];
	upager__inject_rereference(1);
	for (size_t i = 4; i < 8; i++) {
		sink = m[i * ps]; /* dies of SIGBUS if the fault finds no frame */
		if (t_verify_buf(m + i * ps, ps, 0x5eed, i * ps, "page") >= 0)
			return 12;
	}
	upager__inject_rereference(0);
	(void)sink;
	return upager_destroy(p) == 0 ? 0 : 13;
}

static void test_rereference(void)
{
	int fd = t_make_file(8 * 4096, 0x5eed, NULL, 0), status;
	pid_t pid = t_fork(rereference_child, &fd);

	T_REQUIRE(pid > 0, "fork: %s", strerror(errno));
	status = t_wait_child(pid, 600);
	T_CHECK(status == 0,
	        "a fault with all frames but the reserve pinned and every cleared "
	        "reference taken back: child %s (expected exited 0)",
	        status < 0 ? "hung" : t_status_str(status));
	if (status == 0)
		t_summary("every cleared reference taken back at once, all frames but the "
		          "reserve pinned: 4 faults got frames and read the right bytes");
	close(fd);
}

static void test_under_load(void)
{
	pid_t load;
	int status;
	unsigned failed0 = M.failed;
	struct cell one;

	if (only_cell(&one))
		return;
	if (system("command -v stress-ng >/dev/null 2>&1") != 0) {
		t_summary("stress-ng is not installed: the run under load was not made");
		return;
	}
	load = fork();
	T_REQUIRE(load >= 0, "fork: %s", strerror(errno));
	if (load == 0) {
		signal(SIGTERM, SIG_DFL);
		execlp("stress-ng", "stress-ng", "--cpu", "2", "--quiet", (char *)NULL);
		_exit(127);
	}
	for (unsigned i = 0; i < sizeof(PAGES) / sizeof(PAGES[0]); i++) {
		struct cell c = { 64, 4, PAGES[i], CTL_LOOP };
		run_cell(&c, ops_for(c.threads), ", under stress-ng --cpu 2");
	}
	kill(load, SIGTERM);
	waitpid(load, &status, 0);
	t_summary("under stress-ng --cpu 2: 64 threads, 4 frames, control thread, "
	          "pages 4-64 KiB: %u failed", M.failed - failed0);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "matrix: threads x frames x page sizes", test_matrix },
		{ "matrix with a control thread pinning all frames but the reserve",
		  test_matrix_control },
		{ "starvation: every cleared reference taken back", test_rereference },
		{ "starvation: pinned frames and hot reserve pages", test_starvation },
		{ "the hardest row under CPU load", test_under_load },
		{ NULL, NULL },
	};

	t_init("test_contention", 3600);
	if (!t_io_uring_works())
		t_skip("io_uring is not available");
	t_add_suite("contention", tests);
	int rc = t_run_suite();
	printf("figures: %u cells, %u failed, %llu operations, %llu major faults, %llu "
	       "evictions\n",
	       M.cells, M.failed, (unsigned long long)M.ops, (unsigned long long)M.majfault,
	       (unsigned long long)M.pgsteal);
	return rc;
}
