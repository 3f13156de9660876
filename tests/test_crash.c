/*
 * test_crash.c - crash consistency: SIGKILL at a random moment.
 *
 * A forked child maps a file (UPAGER_SHARED, a few frames for 32 pages, so
 * eviction writes back all the time), writes pages, and calls upager_sync()
 * (whole region or a range) and DONTNEED; after every such call that
 * returned 0 it reports, through a pipe, the version of each page of the
 * range that was completely in memory before the call began.  The parent
 * kills the child with SIGKILL at a random moment (in every other group of
 * six kills counted from the child's first reported sync, so that kills
 * after a sync do not depend on the machine's speed), then reads the file
 * with plain pread(2) and checks every 8-byte word:
 *
 *  - each word holds either the file's initial bytes or a word the child
 *    wrote to that page: words encode (version, a hash of page, word and
 *    version), so a word of another page, of no version, or a torn word is
 *    caught ("foreign bytes", a violation);
 *  - no word is older than the page's last reported sync ("lost write", a
 *    violation).
 *
 * Two kinds of child alternate.  The "quiet" child has one thread that
 * writes whole page versions and syncs between them, so every write-back
 * copies a whole version; a page of the file that mixes versions after the
 * kill was then torn by the kill itself.  The "busy" child has two writer
 * threads (each owning half the pages) and a third thread that syncs,
 * DONTNEEDs and reports while they write; its pages mix versions whenever a
 * sync caught a page between two of the writer's stores (as msync would),
 * so only the per-word rules apply to it.
 *
 * What upager guarantees (docs/design.md, "Write-back") and what this test
 * shows:
 *  - After upager_sync() returned 0, the file holds the data of every page
 *    that was in memory when the sync began, or newer data: a process crash
 *    (SIGKILL here) loses nothing synced.  The same holds for DONTNEED and
 *    unmap that returned 0, without the fdatasync: their data is in the page
 *    cache, which survives the death of the process but not a power loss.
 *  - Pages not synced hold, in the file, whatever their last completed
 *    write-back left (by eviction or a sync), or the initial bytes: never
 *    another page's bytes or garbage.
 *  - Write-back is whole-page: upager writes a page (and a run of
 *    neighbours) as one request, from a copy no one can store to meanwhile.
 *    But one request is not atomic.  With a page larger than 4 KiB, the
 *    kernel copies a buffered write into the page cache one folio (4 KiB
 *    here) at a time and stops between folios when a fatal signal is
 *    pending, so a SIGKILL that lands during a write-back can leave a page
 *    in the file whose first part is the new version and whose rest is the
 *    version before (both at least as new as the last sync).  The quiet
 *    child counts such pages ("pages torn by the kill"); they are not
 *    violations.  On power loss the same holds at the device's atomic write
 *    unit (often 4 KiB, sometimes 512 bytes), and for any data not yet
 *    fdatasync'ed; after SIGKILL, by contrast, every write-back that
 *    completed is in the page cache.
 *
 * Figures: kills, syncs reported, pages checked, pages newer than their
 * last sync, pages mixing versions (quiet child: torn by the kill; busy
 * child: caught mid-update by a sync), violations (must be 0).  Quick
 * tier 120 kills, soak tier 1200.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define NPAGES 32
#define FRAMES 6

static uint64_t g_salt;

/* The word @w of page @page at version @seq (>= 1). */
static inline uint64_t word_val(uint32_t page, uint64_t w, uint32_t seq)
{
	uint32_t h = (uint32_t)t_mix64(((uint64_t)page << 44) ^ (w << 12) ^ ((uint64_t)seq << 1) ^
	                               g_salt);
	return ((uint64_t)seq << 32) | h;
}

/* Messages child -> parent.  At most PIPE_BUF bytes: written atomically,
 * so a kill never leaves half of one. */
struct msg {
	char type;   /* 'R' ready, 'S' sync returned 0, 'D' DONTNEED returned 0,
	                'E' a call failed */
	uint8_t pad;
	uint16_t first, n;
	int16_t err;
	uint32_t seq[NPAGES];
};

/* ------------------------------------------------------------- child */

struct child_cfg {
	size_t ps;
	int busy; /* two writers and a syncing thread */
	int fd, pipe_wr;
	uint64_t seed;
};

static struct {
	const struct child_cfg *cfg;
	upager_t *p;
	unsigned char *m;
	_Atomic uint32_t next_seq;
	_Atomic uint32_t done[NPAGES]; /* version completely in memory */
} c;

static void send_msg(const struct msg *mm)
{
	if (write(c.cfg->pipe_wr, mm, sizeof(*mm)) != sizeof(*mm))
		_exit(30);
}

static void write_page(uint32_t page)
{
	uint32_t seq = atomic_fetch_add(&c.next_seq, 1);
	uint64_t *w = (uint64_t *)(c.m + (size_t)page * c.cfg->ps);
	size_t nw = c.cfg->ps / 8;

	for (size_t k = 0; k < nw; k++)
		w[k] = word_val(page, k, seq);
	atomic_store_explicit(&c.done[page], seq, memory_order_release);
}

/* sync, range sync or DONTNEED; report it if it returned 0 */
static void sync_some(struct t_rng *r)
{
	struct msg mm;
	uint64_t x = t_rand(r) % 10;
	uint16_t first = 0, n = NPAGES;
	int rc;

	memset(&mm, 0, sizeof(mm));
	if (x >= 6) {
		first = (uint16_t)t_rand_below(r, NPAGES);
		n = (uint16_t)(1 + t_rand_below(r, NPAGES - first));
	}
	for (unsigned i = first; i < first + n; i++)
		mm.seq[i] = atomic_load_explicit(&c.done[i], memory_order_acquire);
	if (x == 9) {
		rc = upager_advise(c.p, c.m + (size_t)first * c.cfg->ps, (size_t)n * c.cfg->ps,
		                   UPAGER_ADV_DONTNEED);
		mm.type = 'D';
	} else {
		rc = upager_sync(c.p, c.m + (size_t)first * c.cfg->ps,
		                 x >= 6 ? (size_t)n * c.cfg->ps : 0);
		mm.type = 'S';
	}
	mm.first = first;
	mm.n = n;
	if (rc) {
		mm.type = 'E';
		mm.err = (int16_t)rc;
	}
	send_msg(&mm);
}

static void *writer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct t_rng r = { c.cfg->seed * 7919 + id };

	for (;;) {
		uint32_t page = (uint32_t)(t_rand_below(&r, NPAGES / 2) * 2 + id);
		write_page(page);
	}
	return NULL;
}

static int child_main(void *arg)
{
	struct upager_config cfg;
	struct t_rng r;
	struct msg mm;

	c.cfg = arg;
	r.s = c.cfg->seed;
	cfg = t_config(c.cfg->ps, FRAMES * c.cfg->ps);
	cfg.readahead = 4;
	atomic_store(&c.next_seq, 1);
	if (upager_create(&c.p, &cfg, sizeof(cfg)) != 0)
		return 10;
	c.m = upager_map(c.p, c.cfg->fd, 0, NPAGES * c.cfg->ps, PROT_READ | PROT_WRITE,
	                 UPAGER_SHARED);
	if (!c.m)
		return 11;
	memset(&mm, 0, sizeof(mm));
	mm.type = 'R';
	send_msg(&mm);
	if (c.cfg->busy) {
		pthread_t t[2];
		for (uintptr_t i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, writer, (void *)i))
				return 12;
		for (;;) {
			struct timespec ts = { 0, (long)t_rand_below(&r, 2000000) };
			nanosleep(&ts, NULL);
			sync_some(&r);
		}
	}
	for (;;) {
		write_page((uint32_t)t_rand_below(&r, NPAGES));
		if (t_rand_below(&r, 4) == 0)
			sync_some(&r);
	}
	return 0;
}

/* ------------------------------------------------------------ parent */

struct figures {
	long kills, syncs, dontneeds, pages, newer, mixed_quiet, mixed_busy, violations;
	long kills_by_ps[3];
	long waited, synced_first; /* kills after a sync: wanted, and done so */
};

static int reset_file(int fd, size_t ps, uint64_t seed)
{
	static unsigned char buf[64 * 1024];

	if (ftruncate(fd, 0))
		return -1;
	for (size_t pg = 0; pg < NPAGES; pg++) {
		t_fill(buf, ps, seed, pg * ps);
		if (pwrite(fd, buf, ps, (off_t)(pg * ps)) != (ssize_t)ps)
			return -1;
	}
	return 0;
}

/* One kill; return the violations found.  With @after_sync, the kill's
 * random moment is counted from the child's first reported sync, not from
 * its start, so that kills after a sync happen whatever the machine's
 * speed. */
static long one_kill(int fd, size_t ps, int busy, int after_sync, struct t_rng *r,
                     struct figures *fig, long kill_no)
{
	struct child_cfg cfg = { .ps = ps, .busy = busy, .fd = fd };
	uint64_t fseed = t_rand(r);
	uint32_t synced[NPAGES];
	static unsigned char buf[64 * 1024];
	int pfd[2], status;
	long viol = 0;
	struct msg mm;

	memset(synced, 0, sizeof(synced));
	cfg.seed = t_rand(r);
	T_REQUIRE(reset_file(fd, ps, fseed) == 0, "reset file: %s", strerror(errno));
	T_REQUIRE(pipe(pfd) == 0, "pipe");
	cfg.pipe_wr = pfd[1];
	pid_t pid = t_fork(child_main, &cfg);
	T_REQUIRE(pid > 0, "fork");
	close(pfd[1]);
	/* wait for 'R' (the hang guard at most), with @after_sync for the
	 * first 'S' too, then kill at a random moment */
	struct pollfd pr = { pfd[0], POLLIN, 0 };
	ssize_t n = poll(&pr, 1, T_HANG_S * 1000) > 0 ? read(pfd[0], &mm, sizeof(mm)) : -1;
	if (n != sizeof(mm) || mm.type != 'R') {
		if (n < 0)
			fprintf(stderr, "  HANG: kill %ld: the child did not start in %d s\n", kill_no,
			        T_HANG_S);
		kill(pid, SIGKILL);
		status = t_wait_child(pid, T_HANG_S);
		close(pfd[0]);
		if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 10 &&
		    !t_io_uring_works())
			t_skip("io_uring is not available");
		T_CHECK(0, "kill %ld: child did not start (%s)", kill_no, t_status_str(status));
		return 1;
	}
	struct msg *log = malloc(sizeof(*log) * 4096);
	size_t nlog = 0;
	T_REQUIRE(log != NULL, "malloc");
	if (after_sync) {
		fig->waited++;
		for (;;) {
			struct pollfd pf = { pfd[0], POLLIN, 0 };
			int pr_ = poll(&pf, 1, T_HANG_S * 1000);
			if (pr_ <= 0 || read(pfd[0], &mm, sizeof(mm)) != sizeof(mm)) {
				/* the child died (its status says how) or hung */
				if (pr_ == 0)
					fprintf(stderr, "  HANG: kill %ld: no sync reported in %d s\n",
					        kill_no, T_HANG_S);
				break;
			}
			log[nlog++] = mm;
			if (mm.type == 'S') {
				fig->synced_first++;
				break;
			}
			if (mm.type == 'E' || nlog == 4096)
				break;
		}
	}
	long delay_us = (long)t_rand_below(r, t_soak() ? 40000 : 25000);
	/* read reports while waiting, so the pipe never fills */
	double end = t_now() + (double)delay_us * 1e-6;
	for (;;) {
		double left = end - t_now();
		if (left <= 0)
			break;
		struct pollfd pf = { pfd[0], POLLIN, 0 };
		if (poll(&pf, 1, (int)(left * 1000) + 1) > 0) {
			if (read(pfd[0], &mm, sizeof(mm)) != sizeof(mm))
				break;
			if (nlog < 4096)
				log[nlog++] = mm;
		}
	}
	kill(pid, SIGKILL);
	status = t_wait_child(pid, T_HANG_S);
	while (read(pfd[0], &mm, sizeof(mm)) == sizeof(mm))
		if (nlog < 4096)
			log[nlog++] = mm;
	close(pfd[0]);
	if (status == -1 || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		T_CHECK(0, "kill %ld: child ended %s before the kill", kill_no, t_status_str(status));
		viol++;
	}
	for (size_t k = 0; k < nlog; k++) {
		const struct msg *x = &log[k];
		if (x->type == 'E') {
			T_CHECK(0, "kill %ld: a sync/DONTNEED in the child failed: %d (%s)", kill_no,
			        x->err, upager_strerror(x->err));
			viol++;
			continue;
		}
		if (x->type == 'S')
			fig->syncs++;
		else if (x->type == 'D')
			fig->dontneeds++;
		else
			continue;
		for (unsigned i = x->first; i < (unsigned)x->first + x->n && i < NPAGES; i++)
			if (x->seq[i] > synced[i])
				synced[i] = x->seq[i];
	}
	free(log);

	/* the file, word by word */
	for (uint32_t pg = 0; pg < NPAGES; pg++) {
		ssize_t got = pread(fd, buf, ps, (off_t)(pg * ps));
		uint32_t lo = UINT32_MAX, hi = 0;
		long bad = 0;
		if (got != (ssize_t)ps) {
			T_CHECK(0, "kill %ld: page %u: pread %zd of %zu", kill_no, pg, got, ps);
			viol++;
			continue;
		}
		for (size_t w = 0; w < ps / 8; w++) {
			uint64_t v;
			uint32_t seq;
			memcpy(&v, buf + w * 8, 8);
			if (v == t_pattern_u64(fseed, pg * ps + w * 8)) {
				seq = 0;
			} else {
				seq = (uint32_t)(v >> 32);
				if (seq == 0 || v != word_val(pg, w, seq)) {
					if (bad++ == 0)
						T_CHECK(0, "kill %ld (%zu KiB pages, %s child): page %u "
						        "word %zu holds 0x%016llx: neither the initial bytes "
						        "nor a version the child wrote (foreign bytes)",
						        kill_no, ps / 1024, busy ? "busy" : "quiet", pg, w,
						        (unsigned long long)v);
					continue;
				}
			}
			if (seq < synced[pg]) {
				if (bad++ == 0)
					T_CHECK(0, "kill %ld (%zu KiB pages, %s child): page %u word %zu "
					        "holds version %u, older than its last sync (%u): a lost "
					        "write",
					        kill_no, ps / 1024, busy ? "busy" : "quiet", pg, w, seq,
					        synced[pg]);
			}
			if (seq < lo)
				lo = seq;
			if (seq > hi)
				hi = seq;
		}
		viol += bad ? 1 : 0;
		fig->pages++;
		if (lo > synced[pg] && lo != UINT32_MAX)
			fig->newer++;
		if (lo != hi && !bad) {
			if (busy)
				fig->mixed_busy++;
			else
				fig->mixed_quiet++;
		}
	}
	return viol;
}

static void test_kills(void)
{
	const size_t sizes[3] = { 4096, 16384, 65536 };
	const long kills = (long)t_scale(120, 1200);
	struct figures fig;
	struct t_rng r = { t_seed() ^ 0xc4a5 };
	int fd = t_make_zero_file(0, NULL, 0);
	double t0 = t_now();

	memset(&fig, 0, sizeof(fig));
	g_salt = t_seed();
	for (long k = 0; k < kills; k++) {
		int si = (int)(k % 3);
		int busy = (int)((k / 3) % 2);
		int after_sync = (int)((k / 6) % 2);
		long v = one_kill(fd, sizes[si], busy, after_sync, &r, &fig, k);
		fig.kills++;
		fig.kills_by_ps[si]++;
		fig.violations += v;
		if (fig.violations > 20) {
			T_CHECK(0, "more than 20 violations: stopping after %ld kills", fig.kills);
			break;
		}
	}
	close(fd);
	printf("  figures: %ld kills (4/16/64 KiB pages: %ld/%ld/%ld; %ld after a sync) in %.1f "
	       "s, %ld syncs and %ld DONTNEEDs reported, %ld pages checked, %ld newer than "
	       "their last sync, %ld torn by the kill (quiet child), %ld caught mid-update by a "
	       "sync (busy child), %ld violations\n",
	       fig.kills, fig.kills_by_ps[0], fig.kills_by_ps[1], fig.kills_by_ps[2],
	       fig.synced_first, t_now() - t0, fig.syncs, fig.dontneeds, fig.pages, fig.newer,
	       fig.mixed_quiet, fig.mixed_busy, fig.violations);
	T_EQ(fig.violations, 0);
	/* every other group of six kills waited for a sync: no timing */
	T_GE(fig.waited, 1);
	T_EQ(fig.synced_first, fig.waited);
	T_GE(fig.syncs, fig.synced_first);
	t_summary("crash consistency: %ld SIGKILLs, %ld syncs + %ld DONTNEEDs reported, %ld "
	          "pages checked word by word, %ld pages torn by the kill (quiet child), %ld "
	          "mixed by syncs during writes (busy child), %ld violations",
	          fig.kills, fig.syncs, fig.dontneeds, fig.pages, fig.mixed_quiet, fig.mixed_busy,
	          fig.violations);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "SIGKILL at random moments", test_kills },
		{ NULL, NULL },
	};

	t_init("test_crash", 300);
	(void)t_seed();
	signal(SIGPIPE, SIG_IGN);
	t_add_suite("crash", tests);
	return t_run_suite();
}
