/*
 * workload-fault.c - the fault workload of upager-bench: the service time
 * of one fault of each kind, against the floor of any protection-based
 * pager.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the fault workload: its files, pagers, timed accesses, the checks
 * of upager's counters around them, and its report (run in a child, then
 * printed and turned into rows of the CSV).
 * Calls: upager.h (the public API only), check.c (check), output.c (the
 * report, rows, CSV), runner.c (run_in_child), util.c.
 *
 * Workload `fault': the service time of one fault of each kind.  Every
 * sample is one access, timed with clock_gettime(CLOCK_MONOTONIC) just
 * before and just after it; the timer's own cost is not subtracted but
 * reported as a row of its own.  The cases:
 *
 *   timer   two clock_gettime calls back to back;
 *   floor   a bare SIGSEGV -> mprotect(PROT_READ) -> return round trip,
 *           without upager: a PROT_NONE anonymous mapping and a handler of
 *           our own (installed only for this case, the previous handler
 *           restored afterwards).  The pages are populated before they are
 *           protected, so the retried access takes no kernel page fault:
 *           this is the least a protection-based pager can cost;
 *   major   a read of a non-resident page of a file that is hot in the
 *           page cache (read-ahead off: UPAGER_ADV_RANDOM);
 *   minor   a read of a resident page whose reference was cleared
 *           (upager_advise(UPAGER_ADV_COLD), between the passes);
 *   write   an 8-byte store to a clean, resident, referenced (PROT_READ)
 *           page of a writable UPAGER_SHARED mapping.
 *
 * Pages are touched in a random order (a shuffled index array, fixed seed)
 * so that neither upager nor the kernel sees a sequential pattern.
 *
 * Rounds.  upager keeps the number of accessible pages in the process under
 * a budget (vm.max_map_count / 4, see docs/design.md, "The VMA bound"); a
 * grant that would pass it first clears references with the Clock hand,
 * inside the fault.  So that every timed access is exactly one fault of the
 * kind measured and pays for nothing else, the samples are taken in rounds
 * of at most half the budget (--round-pages), and between rounds, untimed,
 * every reference is cleared with upager_advise(UPAGER_ADV_COLD).  The
 * counters (upager_stats) are checked around the timed sections: each case
 * must add exactly N to its own counter, N to pgfault, and nothing to
 * pgdeactivate or pgsteal.  The states the timed accesses need (resident
 * and unreferenced for minor; resident, referenced and clean for write)
 * are checked through the counters too: the references UPAGER_ADV_COLD
 * cleared (pgdeactivate), nr_resident, and the read faults of the
 * untimed pass that prepares the write case.
 * its own counter, N to pgfault, and nothing to pgdeactivate or pgsteal.
 * The write case then checks that every page reached the file exactly
 * once, by the pager's background write-back (which takes the dirty pages
 * of earlier rounds once they are unreferenced, possibly while a later
 * round is timed: the count is reported) or by upager_sync().  The whole
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h> /* NAN: a macro, no libm */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* One 8-byte load at @addr, timed. */
static inline uint64_t timed_load(const void *addr, uint64_t *ns)
{
	uint64_t t0, t1, v;

	t0 = now_ns();
	__asm__ __volatile__("" ::: "memory");
	v = *(const volatile uint64_t *)addr;
	__asm__ __volatile__("" ::: "memory");
	t1 = now_ns();
	*ns = t1 - t0;
	return v;
}

/* One 8-byte store of @v at @addr, timed. */
static inline uint64_t timed_store(void *addr, uint64_t v)
{
	uint64_t t0, t1;

	t0 = now_ns();
	__asm__ __volatile__("" ::: "memory");
	*(volatile uint64_t *)addr = v;
	__asm__ __volatile__("" ::: "memory");
	t1 = now_ns();
	return t1 - t0;
}

/* The word at offset 0 of page @i of a generated file, and the word the
 * write case stores at offset 8. */
static uint64_t page_tag(uint64_t i)
{
	return mix64(SEED ^ (i * 2 + 1));
}
static uint64_t store_tag(uint64_t i)
{
	return mix64(SEED ^ (i * 2 + 2)) | 1; /* never 0, the file's value */
}

/*
 * A file of @npages pages of @ps bytes in the temporary directory, unlinked
 * at once (so nothing is left behind, whatever happens), page i starting
 * with page_tag(i).  It is written, made durable (so no write-back runs
 * during the measurements), then read once with pread(2) so that it is
 * hot in the page cache.  Returns an O_RDWR descriptor, or -1 (message printed).
 */
static int make_file(const struct report *rep, size_t npages, size_t ps)
{
	char path[PATH_MAX];
	size_t chunk_pages = ps >= (1u << 20) ? 1 : (1u << 20) / ps;
	size_t bufsize = chunk_pages * ps;
	char *buf;
	int fd, rc;

	fd = tmp_file("", path, sizeof(path));
	if (fd < 0)
		return -1;
	buf = calloc(1, bufsize);
	if (!buf) {
		fprintf(stderr, PROG ": out of memory\n");
		close(fd);
		return -1;
	}
	progress(rep, "writing a %zu-page file of %zu-byte pages in %s (%zu MiB)", npages, ps,
	         tmp_dir(), (npages * ps) >> 20);
	for (size_t first = 0; first < npages; first += chunk_pages) {
		size_t n = npages - first < chunk_pages ? npages - first : chunk_pages;
		size_t len = n * ps;

		for (size_t k = 0; k < n; k++) {
			uint64_t tag = page_tag(first + k);
			memcpy(buf + k * ps, &tag, sizeof(tag));
		}
		rc = pwrite_full(fd, buf, len, first * ps);
		if (rc < 0) {
			fprintf(stderr, PROG ": write %s: %s\n", path, strerror(-rc));
			goto fail;
		}
	}
	if (fdatasync(fd) != 0) {
		fprintf(stderr, PROG ": fdatasync %s: %s\n", path, strerror(errno));
		goto fail;
	}
	/* One read pass: the file is in the page cache afterwards. */
	for (size_t off = 0; off < npages * ps; off += bufsize) {
		size_t len = npages * ps - off < bufsize ? npages * ps - off : bufsize;

		rc = pread_full(fd, buf, len, off);
		if (rc < 0) {
			fprintf(stderr, PROG ": read %s: %s\n", path, strerror(-rc));
			goto fail;
		}
	}
	free(buf);
	return fd;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* -------------------------------------------------------------------------
 * Workload "fault"
 */

static char *floor_base;
static size_t floor_len, floor_page;

static void floor_handler(int sig, siginfo_t *si, void *uctx)
{
	uintptr_t a = (uintptr_t)si->si_addr, base = (uintptr_t)floor_base;
	static const char msg[] = PROG ": floor: mprotect failed in the handler\n";

	(void)sig;
	(void)uctx;
	if (a < base || a - base >= floor_len) {
		/* Not ours: let the retried access die as it would have. */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGSEGV, &dfl, NULL);
		return;
	}
	if (mprotect((void *)(a & ~(uintptr_t)(floor_page - 1)), floor_page, PROT_READ) != 0) {
		if (write(2, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do */
		}
		_exit(1);
	}
}

/* The floor: SIGSEGV -> mprotect(PROT_READ) -> return, no pager. */
static int fault_floor(struct report *rep, size_t n, size_t round, size_t *perm,
                       uint64_t *ns, struct rng *g)
{
	struct sigaction sa, old;
	size_t bad = 0;

	floor_page = (size_t)sysconf(_SC_PAGESIZE);
	floor_len = n * floor_page;
	floor_base = mmap(NULL, floor_len, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (floor_base == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap %zu bytes: %s\n", floor_len, strerror(errno));
		floor_base = NULL;
		return -1;
	}
	/* Populated and tagged first: the retried access then finds its page
	 * table entry and takes no kernel fault of its own. */
	for (size_t i = 0; i < n; i++)
		*(uint64_t *)(floor_base + i * floor_page) = page_tag(i);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = floor_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old) != 0) {
		fprintf(stderr, PROG ": sigaction: %s\n", strerror(errno));
		munmap(floor_base, floor_len);
		return -1;
	}
	progress(rep, "floor: %zu faults on %zu-byte pages", n, floor_page);
	permutation(perm, n, g);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;

		/* Untimed: every page inaccessible again (merges the VMAs). */
		if (mprotect(floor_base, floor_len, PROT_NONE) != 0) {
			fprintf(stderr, PROG ": mprotect: %s\n", strerror(errno));
			sigaction(SIGSEGV, &old, NULL);
			munmap(floor_base, floor_len);
			floor_base = NULL;
			return -1;
		}
		for (size_t k = first; k < end; k++) {
			uint64_t v = timed_load(floor_base + perm[k] * floor_page, &ns[k]);
			bad += v != page_tag(perm[k]);
		}
	}
	sigaction(SIGSEGV, &old, NULL); /* restore the previous handler */
	munmap(floor_base, floor_len);
	floor_base = NULL;
	check(rep, bad == 0, "floor: every page read back its tag (%zu wrong)", bad);
	add_row(rep, "floor: SIGSEGV+mprotect+return", ns, n);
	return 0;
}

/* Counter differences. */
struct deltas {
	uint64_t fault, maj, min, write, pgin, pgout, ra, deact, steal, bgwb;
};

static void deltas_add(struct deltas *d, const struct upager_stats *a,
                       const struct upager_stats *b)
{
	d->fault += b->pgfault - a->pgfault;
	d->maj += b->pgmajfault - a->pgmajfault;
	d->min += b->pgminfault - a->pgminfault;
	d->write += b->pgwritefault - a->pgwritefault;
	d->pgin += b->pgpgin - a->pgpgin;
	d->pgout += b->pgpgout - a->pgpgout;
	d->ra += b->readahead - a->readahead;
	d->deact += b->pgdeactivate - a->pgdeactivate;
	d->steal += b->pgsteal - a->pgsteal;
	d->bgwb += b->writeback_background - a->writeback_background;
}

static void stats_of(upager_t *p, struct upager_stats *s)
{
	upager_stats(p, s, sizeof(*s));
}

/* The counters of a timed pass of @n faults meant to be all of one kind
 * (@got of them counted as such, @others the count of the other two
 * kinds): exactly n faults, all of that kind, and no other work inside. */
static void check_pass(struct report *rep, const char *name, const char *counter,
                       uint64_t got, uint64_t others, size_t n, const struct deltas *d)
{
	check(rep, got == n, "%s: %s grew by %" PRIu64 " (expected %zu)", name, counter, got, n);
	check(rep, d->fault == n && others == 0,
	      "%s: pgfault grew by %" PRIu64 " (expected %zu), of them major %" PRIu64
	      ", minor %" PRIu64 ", write %" PRIu64,
	      name, d->fault, n, d->maj, d->min, d->write);
	check(rep, d->deact == 0 && d->steal == 0 && d->ra == 0,
	      "%s: no Clock or read-ahead work inside the timed faults (pgdeactivate +%" PRIu64
	      ", pgsteal +%" PRIu64 ", readahead +%" PRIu64 ")",
	      name, d->deact, d->steal, d->ra);
}

static upager_t *make_pager(size_t ps, size_t n)
{
	struct upager_config cfg;
	upager_t *p = NULL;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.page_size = ps;
	cfg.memory_limit = (n + EXTRA_FRAMES) * ps;
	rc = upager_create(&p, &cfg, sizeof(cfg));
	if (rc < 0) {
		fprintf(stderr, PROG ": upager_create: %s\n", upager_strerror(rc));
		return NULL;
	}
	return p;
}

static char *map_file(upager_t *p, int fd, size_t len, int prot)
{
	char *base = upager_map(p, fd, 0, len, prot, UPAGER_SHARED);
	int rc;

	if (!base) {
		fprintf(stderr, PROG ": upager_map: %s\n", strerror(errno));
		return NULL;
	}
	rc = upager_advise(p, base, len, UPAGER_ADV_RANDOM);
	if (rc < 0) {
		fprintf(stderr, PROG ": upager_advise RANDOM: %s\n", upager_strerror(rc));
		upager_unmap(p, base);
		return NULL;
	}
	return base;
}

/* One pager with one mapping of a generated file of @n pages: the setting
 * of the major, minor and write cases. */
struct fault_map {
	int fd;
	upager_t *p;
	char *base;
	size_t len;
};

/* 0, or -1 (message printed, nothing left open). */
static int fault_map_open(struct report *rep, struct fault_map *m, size_t n, size_t ps,
                          int prot)
{
	int rc;

	m->fd = make_file(rep, n, ps);
	if (m->fd < 0)
		return -1;
	m->p = make_pager(ps, n);
	if (!m->p)
		goto out_fd;
	m->len = n * ps;
	m->base = map_file(m->p, m->fd, m->len, prot);
	if (!m->base)
		goto out_pager;
	return 0;
out_pager:
	rc = upager_destroy(m->p);
	if (rc < 0)
		check(rep, false, "upager_destroy: %s", upager_strerror(rc));
out_fd:
	close(m->fd);
	return -1;
}

static void fault_map_close(struct report *rep, struct fault_map *m)
{
	int rc;

	rc = upager_unmap(m->p, m->base);
	if (rc < 0)
		check(rep, false, "upager_unmap: %s", upager_strerror(rc));
	rc = upager_destroy(m->p);
	if (rc < 0)
		check(rep, false, "upager_destroy: %s", upager_strerror(rc));
	close(m->fd);
}

/* Clear the reference of every resident page of @m, evicting nothing, as
 * the Clock hand's visit does (untimed; see "Rounds" at the top): the next
 * touch of each is a minor fault.  Each reference cleared counts in
 * pgdeactivate. */
static void clear_references(struct report *rep, const struct fault_map *m)
{
	int rc = upager_advise(m->p, m->base, m->len, UPAGER_ADV_COLD);

	if (rc < 0)
		check(rep, false, "upager_advise COLD: %s", upager_strerror(rc));
}

/* The timed loads of the major and minor cases: pages perm[0..n-1] of @m
 * in rounds of @round, each round begun (untimed) by clearing every
 * reference; sample k to @ns[k], the counters of the timed rounds added to
 * @d.  Returns the pages that did not read back their tag. */
static size_t timed_reads(struct report *rep, const struct fault_map *m, size_t n, size_t ps,
                          size_t round, const size_t *perm, uint64_t *ns, struct deltas *d)
{
	struct upager_stats a, b;
	size_t bad = 0;

	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;

		clear_references(rep, m); /* untimed; see "Rounds" at the top */
		stats_of(m->p, &a);
		for (size_t k = first; k < end; k++) {
			uint64_t v = timed_load(m->base + perm[k] * ps, &ns[k]);
			bad += v != page_tag(perm[k]);
		}
		stats_of(m->p, &b);
		deltas_add(d, &a, &b);
	}
	return bad;
}

/* Major faults, then minor faults on the same pages, in one pager. */
static int fault_major_minor(struct report *rep, size_t n, size_t ps, size_t round,
                             size_t *perm, uint64_t *ns, struct rng *g)
{
	struct upager_stats s0, s1, a, b, c;
	struct deltas dmaj, dmin;
	struct fault_map m;
	upager_t *p;
	size_t bad, last_round, cleared;
	uint64_t left;

	if (fault_map_open(rep, &m, n, ps, PROT_READ) < 0)
		return -1;
	p = m.p;

	/* Major: every touch reads its page. */
	progress(rep, "major: %zu faults, rounds of %zu pages", n, round);
	memset(&dmaj, 0, sizeof(dmaj));
	permutation(perm, n, g);
	stats_of(p, &s0);
	bad = timed_reads(rep, &m, n, ps, round, perm, ns, &dmaj);
	stats_of(p, &s1);
	check(rep, bad == 0, "major: every page read back its tag (%zu wrong)", bad);
	check(rep, s1.pgmajfault - s0.pgmajfault == n && s1.pgpgin - s0.pgpgin == n,
	      "major: pgmajfault +%" PRIu64 ", pgpgin +%" PRIu64 " over the pass (expected %zu)",
	      s1.pgmajfault - s0.pgmajfault, s1.pgpgin - s0.pgpgin, n);
	check_pass(rep, "major", "pgmajfault", dmaj.maj, dmaj.min + dmaj.write, n, &dmaj);
	add_row(rep, "major: page-cache-hot file", ns, n);

	/* Minor: clear every reference, then touch each page again.  The
	 * references set now are those of the last round's pages (each
	 * round began by clearing the ones before).  A second clearing must
	 * find none left: then every resident page is unreferenced. */
	last_round = n - (n - 1) / round * round;
	stats_of(p, &a);
	clear_references(rep, &m);
	stats_of(p, &b);
	clear_references(rep, &m);
	stats_of(p, &c);
	left = c.pgdeactivate - b.pgdeactivate;
	cleared = (size_t)(c.nr_resident - c.nr_pinned - left);
	check(rep, b.pgdeactivate - a.pgdeactivate == last_round && last_round > 0,
	      "minor: UPAGER_ADV_COLD cleared %" PRIu64 " references (%zu were set, "
	      "the last round's)",
	      b.pgdeactivate - a.pgdeactivate, last_round);
	check(rep, cleared == n && c.nr_resident == n,
	      "minor: before the pass %zu of %zu pages resident and unreferenced "
	      "(nr_resident %" PRIu64 ", references left %" PRIu64 ")",
	      cleared, n, c.nr_resident, left);

	progress(rep, "minor: %zu faults, rounds of %zu pages", n, round);
	memset(&dmin, 0, sizeof(dmin));
	permutation(perm, n, g);
	bad = timed_reads(rep, &m, n, ps, round, perm, ns, &dmin);
	check(rep, bad == 0, "minor: every page read back its tag (%zu wrong)", bad);
	check_pass(rep, "minor", "pgminfault", dmin.min, dmin.maj + dmin.write, n, &dmin);
	check(rep, dmin.maj == 0 && dmin.pgin == 0,
	      "minor: no page was read again (pgmajfault +%" PRIu64 ", pgpgin +%" PRIu64 ")",
	      dmin.maj, dmin.pgin);
	add_row(rep, "minor: reference fault", ns, n);

	fault_map_close(rep, &m);
	return 0;
}

/* Of the @len pages of a round, those the untimed read pass (its counters
 * @d) did not leave resident, referenced and clean: each page must have
 * taken a read fault that made it resident (pgmajfault, which also grants
 * read access), and meanwhile no page may have been evicted (pgsteal),
 * had its reference cleared (pgdeactivate) or been written (pgwritefault). */
static size_t not_ready_pages(const struct deltas *d, size_t len)
{
	uint64_t ready = d->maj < len ? d->maj : len;
	uint64_t lost = d->steal + d->deact + d->write;

	return (size_t)(len - ready + (lost < ready ? lost : ready));
}

/* Write faults on clean resident pages, then sync and check the file. */
static int fault_write(struct report *rep, size_t n, size_t ps, size_t round, size_t *perm,
                       uint64_t *ns, struct rng *g)
{
	struct upager_stats s0, a, b;
	struct deltas dw, dprep;
	struct fault_map m;
	upager_t *p;
	char *base;
	size_t not_ready = 0, wrong = 0;
	uint64_t bg;
	int rc;

	if (fault_map_open(rep, &m, n, ps, PROT_READ | PROT_WRITE) < 0)
		return -1;
	p = m.p;
	base = m.base;

	progress(rep, "write: %zu faults, rounds of %zu pages", n, round);
	memset(&dw, 0, sizeof(dw));
	memset(&dprep, 0, sizeof(dprep));
	stats_of(p, &s0);
	permutation(perm, n, g);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;
		struct deltas dround;
		uint64_t sink = 0;

		/* Untimed: clear the references of the rounds before (their
		 * pages stay resident and dirty), then read-touch this round's
		 * pages: each becomes resident, referenced and clean. */
		clear_references(rep, &m);
		stats_of(p, &a);
		for (size_t k = first; k < end; k++)
			sink += *(const volatile uint64_t *)(base + perm[k] * ps);
		stats_of(p, &b);
		deltas_add(&dprep, &a, &b);
		(void)sink;
		memset(&dround, 0, sizeof(dround));
		deltas_add(&dround, &a, &b);
		not_ready += not_ready_pages(&dround, end - first);
		/* Timed: one store per page, in another random order. */
		shuffle(perm + first, end - first, g);
		stats_of(p, &a);
		for (size_t k = first; k < end; k++)
			ns[k] = timed_store(base + perm[k] * ps + 8, store_tag(perm[k]));
		stats_of(p, &b);
		deltas_add(&dw, &a, &b);
	}
	check(rep, dprep.maj == n,
	      "write: the untimed read pass took %" PRIu64 " major faults (expected %zu)",
	      dprep.maj, n);
	check(rep, not_ready == 0,
	      "write: before its store every page was resident, referenced, clean "
	      "(%zu were not)",
	      not_ready);
	check_pass(rep, "write", "pgwritefault", dw.write, dw.maj + dw.min, n, &dw);
	/* Not a failure: the pager's background write-back (its own thread,
	 * which inherits the CPU pinning) may write the dirty pages of earlier
	 * rounds, which the untimed clear_references() left unreferenced,
	 * while a round's stores are timed. */
	check(rep, true,
	      "write: pages written back in the background while stores were timed: %" PRIu64
	      " (another thread, on the same pinned CPU)",
	      dw.bgwb);
	add_row(rep, "write: store to clean resident", ns, n);

	/* The stores must reach the file, each page written once: by the
	 * background write-back or by the sync. */
	stats_of(p, &a);
	bg = a.writeback_background - s0.writeback_background;
	check(rep, a.nr_dirty + bg == n,
	      "write: before sync %" PRIu64 " pages dirty + %" PRIu64
	      " written back in the background (expected %zu in all)",
	      a.nr_dirty, bg, n);
	rc = upager_sync(p, base, 0);
	stats_of(p, &b);
	check(rep, rc == 0, "write: upager_sync returned %d (%s)", rc, upager_strerror(rc));
	check(rep, b.pgpgout - a.pgpgout == a.nr_dirty && b.pgpgout - s0.pgpgout == n &&
	               b.nr_dirty == 0,
	      "write: sync wrote %" PRIu64 " pages (the %" PRIu64 " dirty), %" PRIu64
	      " written in all (expected %zu), nr_dirty now %" PRIu64,
	      b.pgpgout - a.pgpgout, a.nr_dirty, b.pgpgout - s0.pgpgout, n, b.nr_dirty);
	for (size_t i = 0; i < n; i++) {
		uint64_t w[2];
		ssize_t got = pread(m.fd, w, sizeof(w), (off_t)(i * ps));
		if (got != (ssize_t)sizeof(w) || w[0] != page_tag(i) || w[1] != store_tag(i))
			wrong++;
	}
	check(rep, wrong == 0,
	      "write: read(2) of the file after sync: %zu of %zu pages hold the stored word "
	      "and their original tag (%zu do not)",
	      n - wrong, n, wrong);

	fault_map_close(rep, &m);
	return 0;
}

static int workload_fault(const struct options *opt, struct report *rep)
{
	size_t n = (size_t)opt->samples;
	size_t ps = opt->page_size ? (size_t)opt->page_size : FAULT_DEFAULT_PAGE_SIZE;
	size_t round = (size_t)opt->round_pages;
	uint64_t *ns = calloc(n, sizeof(*ns));
	size_t *perm = calloc(n, sizeof(*perm));
	struct rng g = { SEED };
	struct pin pin;
	int ret = -1;

	if (!ns || !perm) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	/* Half of upager's budget of accessible pages (vm.max_map_count / 4,
	 * docs/design.md "The VMA bound"); rounds never pass the budget. */
	if (round == 0)
		round = (size_t)max_map_count() / 8;
	if (round == 0)
		round = 1;
	pin_cpu(&pin);
	report_header(rep, "upager %s; page size %zu B (floor: system page %ld B); "
	              "%zu samples per case",
	              upager_version(), ps, sysconf(_SC_PAGESIZE), n);
	report_header(rep, "%s; each sample is one access between two "
	              "clock_gettime(CLOCK_MONOTONIC) calls, timer cost not subtracted",
	              pin.what);
	report_header(rep, "pages touched in random order, in rounds of at most %zu pages "
	              "(references cleared untimed between rounds; vm.max_map_count %ld)",
	              round, max_map_count());
	report_header(rep, "files in %s, hot in the page cache; memory_limit = N + %u pages; "
	              "UPAGER_ADV_RANDOM (no read-ahead)",
	              tmp_dir(), EXTRA_FRAMES);
	rep->baseline = 1; /* the floor row */

	/* The timer itself. */
	for (size_t k = 0; k < n; k++) {
		uint64_t t0 = now_ns();
		__asm__ __volatile__("" ::: "memory");
		uint64_t t1 = now_ns();
		ns[k] = t1 - t0;
	}
	add_row(rep, "timer: clock_gettime pair", ns, n);

	/* Before any pager exists, so the handler we replace is the default
	 * one (and restored with sigaction either way). */
	if (fault_floor(rep, n, round, perm, ns, &g) < 0)
		goto out_unpin;
	if (fault_major_minor(rep, n, ps, round, perm, ns, &g) < 0)
		goto out_unpin;
	if (fault_write(rep, n, ps, round, perm, ns, &g) < 0)
		goto out_unpin;
	ret = 0;
out_unpin:
	unpin_cpu(&pin);
out:
	free(ns);
	free(perm);
	return ret;
}



/* The fault workload, in a child; its report comes back through the pipe. */
static int fault_child(const void *arg, void *out)
{
	const struct options *opt = arg;
	struct report *rep = out;

	rep->workload = "fault";
	rep->baseline = -1;
	return workload_fault(opt, rep);
}

int run_fault(struct bench *b, struct dataset *ds)
{
	struct report *rep = calloc(1, sizeof(*rep));
	uint64_t ps = b->opt.page_size ? b->opt.page_size : FAULT_DEFAULT_PAGE_SIZE;
	size_t first = b->nrows;
	char why[256];
	int rc, fn_rc;

	(void)ds;
	if (!rep)
		return -1;
	say("fault: running in a child process");
	rc = run_in_child(fault_child, &b->opt, rep, sizeof(*rep), NULL, 1800, &fn_rc, why,
	                  sizeof(why));
	if (rc < 0) {
		say("fault: %s", why);
		printf("\n== workload fault ==\nFAILED: %s\n", why);
		b->failures++;
		free(rep);
		return -1;
	}
	rep->workload = "fault";
	if (fn_rc != 0)
		say("fault: stopped by an error");
	if (fn_rc != 0 || rep->failures)
		b->status = 1;
	b->failures += rep->failures + (fn_rc != 0);
	print_report(rep, stdout);
	for (unsigned i = 0; i < rep->nrows && i < MAX_ROWS; i++) {
		const struct row *fr = &rep->rows[i];
		struct trow *t = new_row(b);

		snprintf(t->workload, sizeof(t->workload), "fault");
		snprintf(t->regime, sizeof(t->regime), "hot");
		snprintf(t->system, sizeof(t->system), "%s",
		         strncmp(fr->name, "timer", 5) == 0   ? "timer"
		         : strncmp(fr->name, "floor", 5) == 0 ? "floor"
		                                              : "upager");
		snprintf(t->kase, sizeof(t->kase), "%s", fr->name);
		t->page_size = strncmp(fr->name, "floor", 5) == 0 ? (uint64_t)sysconf(_SC_PAGESIZE)
		                                                  : ps;
		t->samples = fr->samples;
		t->p50 = fr->p50;
		t->p90 = fr->p90;
		t->p99 = fr->p99;
		t->max = fr->max;
		t->ratio = rep->baseline >= 0 ? row_ratio(rep, fr) : NAN;
		t->check = rep->failures || fn_rc ? "FAILED" : "ok";
	}
	if (b->csv) {
		for (size_t i = first; i < b->nrows; i++)
			csv_row(b->csv, &b->rows[i]);
		fflush(b->csv);
	}
	free(rep);
	return 0;
}
