/*
 * job.c - one run of upager-bench: a workload on one system in one regime.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the regimes (the page cache before a run, the cgroup a system
 * gets), run_one() (page cache, cgroup, child, checks, and the run's row
 * of the table) and running every wanted system of a job.
 * Calls: runner.c (cgroup, child), engine.c (engine_child, the table),
 * check.c, dataset.c, keys.c (lru_hits), output.c, util.c, lib/units.
 *
 * Regimes (the "regime" column):
 *
 *   hot   the file is in the page cache before each run (read once, where
 *         mincore(2) says any of it is missing): what is measured is CPU
 *         overhead.  upager runs without a cgroup (its limit is its own).
 *         The kernel's mmap runs in the cgroup limited to L, but a page is
 *         charged to the cgroup that brought it into the page cache (here
 *         the harness's own), and cgroups v1 and v2 never recharge a page
 *         on mapping: so in the hot regime the cgroup limits only the
 *         child's anonymous memory and page tables, NOT the resident pages
 *         of the mapping.  The mmap child may map all D bytes (its peak RSS
 *         shows it); its hot rows are the kernel's fault-path cost with the
 *         cache unconstrained.  This is the only way to have the file
 *         cached and the kernel's cgroup in place at once.
 *   cold  the page cache is dropped (fdatasync of the file, then
 *         `echo 3 > /proc/sys/vm/drop_caches') before each run, so reads go
 *         to the device and, for mmap and pread, the file's pages are
 *         charged to the run's cgroup (limit L): the kernel's cache is
 *         bounded by L.  upager runs in a cgroup limited to L + 5% + 16 MiB,
 *         so that its page-cache use (buffered backing I/O fills the page
 *         cache besides upager's own L of frames) is bounded as the
 *         kernel's is; 5% + 16 MiB is the slack for upager's descriptors,
 *         rings, thread stacks and the harness's buffers.
 *
 * Hit ratio (key workloads, upager rows): 1 - pgmajfault / accesses over
 * the timed phase, where an access is one 8-byte read or read-modify-write
 * (upager_stats before and after), next to exact LRU's (keys.c).  With
 * more than one thread the run's keys are that prefix give or take the
 * unfinished tail of each thread's last chunk, and in another order, so
 * the LRU figure is then the single-stream reference.  Pages read ahead
 * by upager are not major faults, so read-ahead raises upager's ratio a
 * little; the CSV has the read-ahead counts.
 *
 * Peak RSS is checked against L + 5% + 16 MiB for every upager run; a run
 * over it is flagged in the notes ("RSS>bound") but not failed.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h> /* isnan: a macro, no libm */
#include <string.h>
#include <unistd.h>

const char *const regime_names[NREGIMES] = { "hot", "cold" };

/* What an upager run may use: L + 5% + 16 MiB (its cold cgroup's limit,
 * and the RSS every upager run is checked against). */
uint64_t rss_bound(uint64_t limit)
{
	return limit + limit / 20 + CG_SLACK_FIXED;
}

static uint64_t cgroup_limit(const struct job *j)
{
	switch (j->sys->cg) {
	case CG_LIMIT:
		return j->ds->limit;
	case CG_COLD_SLACK:
		return j->regime == REGIME_COLD ? rss_bound(j->ds->limit) : 0;
	case CG_NEVER:
		break;
	}
	return 0;
}

static unsigned child_timeout(const struct job *j)
{
	if (j->acc == ACC_SCRATCH) /* two passes, the budget, the swap-ins */
		return 300 + (unsigned)(j->ds->data / (2 * MiB)) + (unsigned)(4 * j->seconds);
	if (j->acc == ACC_SEQ)
		return 300 + (unsigned)(j->ds->data / (8 * MiB));
	return 300 + (unsigned)(4 * j->seconds);
}

/* The scratch workload's run @r as three rows, fill, rmw and scan: the
 * row @idx made for it and two copies; each phase's figures and check. */
/*
 * Write amplification of a run: pages written (pgpgout) per page that
 * needed writing in it, which is the pages it dirtied (pgdirtied, once per
 * residency) plus the dirty pages it found resident at its start, less
 * those still dirty at its end.  A phase that follows another (the scratch
 * rmw after the fill) writes back what the one before left dirty; counted
 * against its own pgdirtied alone, that looked like amplification.
 */
static void note_write_amplification(struct trow *row, bool detail)
{
	const struct upager_delta *d = &row->up;
	int64_t needed = (int64_t)d->dirtied + (int64_t)d->dirty_start - (int64_t)d->dirty_end;

	if (needed <= 0)
		return;
	note(row, "write amplification %.3f (pgpgout / pages to write: %" PRIu64 " dirtied + %" PRIu64
	     " dirty at start - %" PRIu64 " at end)", (double)d->pgout / (double)needed, d->dirtied,
	     d->dirty_start, d->dirty_end);
	if (detail)
		note(row, "%" PRIu64 " paged in dirty", d->predicted);
}

static void scratch_rows(struct bench *b, const struct job *j, const struct result *r,
                         size_t idx)
{
	static const char *const names[NPHASES] = { "scratch:fill", "scratch:rmw",
		                                    "scratch:scan" };
	const char *written = j->sys->upager ? "pages written (pgpgout)"
	                                     : "pages swapped out (pswpout, system-wide)";
	uint64_t distinct = 0;
	struct trow *rows;
	bool ok;

	for (int ph = 1; ph < NPHASES; ph++) {
		struct trow *n = new_row(b);

		*n = b->rows[idx];
	}
	rows = &b->rows[idx];
	for (int ph = 0; ph < NPHASES; ph++) {
		struct trow *row = &rows[ph];

		snprintf(row->workload, sizeof(row->workload), "%s", names[ph]);
		row->ops = r->phase[ph].ops;
		row->bytes = r->phase[ph].bytes;
		row->secs = (double)r->phase[ph].ns / 1e9;
		row->sync_secs = 0;
		row->unit = ph == PH_RMW ? "op/s" : "MB/s";
		row->tput = row->secs > 0 ? ph == PH_RMW ? (double)row->ops / row->secs
		                                         : (double)row->bytes / row->secs / 1e6
		                          : 0;
		row->sum = r->phase[ph].sum;
		row->majflt = r->phase[ph].majflt;
		row->minflt = r->phase[ph].minflt;
		row->read_bytes = 0;
		row->up = r->phase[ph].up;
		row->have_upager = r->have_upager;
		row->hit = j->sys->upager && ph == PH_RMW && row->ops
		                   ? 1 - (double)row->up.maj / (double)row->ops
		                   : NAN;
		note(row, "%s %" PRIu64 ", read %" PRIu64, written, row->up.pgout, row->up.pgin);
	}
	ok = check_scratch(j, r, rows, &distinct);
	if (r->phase[PH_RMW].ops) {
		struct trow *row = &rows[PH_RMW];

		note(row, "%.3f pages written per op", (double)row->up.pgout / (double)row->ops);
		if (row->have_upager)
			note_write_amplification(row, true);
		if (distinct)
			note(row, "%.2f per distinct page dirtied (%" PRIu64 " of %s)",
			     (double)row->up.pgout / (double)distinct, distinct,
			     UNITS_SHORT(row->page_size));
	}
	if (!ok)
		b->failures++;
	for (int ph = 0; ph < NPHASES; ph++)
		say("%s/%s: %.1f %s, %s %" PRIu64 ", %.1f s, check %s", rows[ph].workload,
		    rows[ph].system, rows[ph].tput, rows[ph].unit, written, rows[ph].up.pgout,
		    rows[ph].secs, rows[ph].check);
}

/* Run @j: set the page cache up for the regime, make the cgroup, run the
 * system in a child, check, and add a row.  Returns the row's index. */
size_t run_one(struct bench *b, struct job *j)
{
	const struct engine *s = j->sys;
	struct dataset *ds = j->ds;
	size_t idx = b->nrows;
	struct trow *row = new_row(b);
	uint64_t want_cg = cgroup_limit(j), oom = 0;
	struct result r;
	struct cgroup cg;
	char why[256];
	int rc, fn_rc;

	snprintf(row->workload, sizeof(row->workload), "%s", j->workload);
	snprintf(row->regime, sizeof(row->regime), "%s",
	         j->acc == ACC_SCRATCH ? "-" : regime_names[j->regime]);
	snprintf(row->system, sizeof(row->system), "%s", s->name);
	row->data = ds->data;
	row->limit = ds->limit;
	row->page_size = s->upager || s->own_pages ? ds->page_size
	                                           : (uint64_t)sysconf(_SC_PAGESIZE);
	row->threads = j->threads;
	row->unit = j->acc == ACC_SEQ ? "MB/s" : "op/s";
	if (s->upager)
		row->bound_kb = rss_bound(ds->limit) / 1024;

	if (s->in_ram && ds->data >= mem_available() / 2) {
		note(row, "skipped: D >= MemAvailable / 2 (%s)", UNITS_SHORT(mem_available()));
		say("%s/%s/%s: skipped (D does not fit in memory)", j->workload,
		    regime_names[j->regime], s->name);
		return idx;
	}

	/* The page cache (the scratch workload has no file). */
	if (j->acc == ACC_SCRATCH) {
		row->cached = NAN;
	} else if (j->regime == REGIME_HOT) {
		warm_file(&ds->file);
	} else if (!s->in_ram) {
		rc = drop_caches(&ds->file);
		if (rc < 0)
			note(row, "page cache NOT dropped (%s)", strerror(-rc));
	}
	if (j->acc != ACC_SCRATCH)
		row->cached = cached_fraction(&ds->file);
	if (!isnan(row->cached))
		note(row, "cached %.0f%%", 100 * row->cached);

	/* The cgroup. */
	memset(&cg, 0, sizeof(cg));
	if (want_cg) {
		if (cg_create(&cg, want_cg) == 0) {
			row->cgroup = cg.version == 1 ? "v1" : "v2";
			row->cg_limit = want_cg;
			note(row, "cg %s", UNITS_SHORT(want_cg));
		} else {
			row->cgroup = "none";
			note(row, "NO CGROUP (%s): unconstrained", cg.why);
		}
	}

	/* What the system needs in the parent (UMap's library, swap). */
	why[0] = '\0';
	if (s->prepare && s->prepare(j, cg.version ? &cg : NULL, why, sizeof(why)) < 0) {
		row->cgroup = "-";
		row->cg_limit = 0;
		row->notes[0] = '\0';
		note(row, "skipped: %s", why);
		cg_remove(&cg);
		say("%s/%s/%s: skipped (%s)", j->workload, regime_names[j->regime], s->name, why);
		return idx;
	}
	if (why[0])
		note(row, "%s", why);

	say("%s/%s/%s: D %s, L %s, %u thread%s...", j->workload, regime_names[j->regime],
	    s->name, UNITS_SHORT(ds->data), UNITS_SHORT(ds->limit), j->threads, j->threads == 1 ? "" : "s");
	rc = run_in_child(engine_child, j, &r, sizeof(r), cg.version ? &cg : NULL,
	                  child_timeout(j), &fn_rc, why, sizeof(why));
	if (s->release)
		s->release();
	if (cg.version) {
		row->cg_peak = cg_peak(&cg);
		oom = cg_oom_kills(&cg);
		cg_remove(&cg);
		if (oom)
			note(row, "OOM kills in the cgroup: %" PRIu64, oom);
	}
	if (why[0])
		note(row, "%s", why);
	if (rc < 0 || r.rc < 0) {
		if (rc == 0)
			note(row, "error: %s", r.err);
		row->check = "FAILED";
		b->failures++;
		if (j->acc == ACC_UPDATE && !s->in_ram)
			file_resync(&ds->file, j->keys);
		say("%s/%s/%s: FAILED: %s", j->workload, regime_names[j->regime], s->name,
		    rc < 0 ? why : r.err);
		return idx;
	}

	row->measured = true;
	row->ops = r.ops;
	row->bytes = r.bytes;
	row->secs = (double)r.ns / 1e9;
	row->sync_secs = (double)r.sync_ns / 1e9;
	row->tput = j->acc == ACC_SEQ ? (double)r.bytes / row->secs / 1e6
	                              : (double)r.ops / row->secs;
	row->hwm_kb = r.hwm_kb;
	row->rss_sampled_kb = r.rss_sampled_kb;
	row->rss_start_kb = r.rss_start_kb;
	row->majflt = r.majflt;
	row->minflt = r.minflt;
	row->read_bytes = r.read_bytes;
	row->sum = r.sum;
	row->have_upager = r.have_upager;
	row->up = r.up;
	if (s->upager && j->acc != ACC_SEQ && r.ops) {
		row->hit = 1 - (double)r.up.maj / (double)r.ops;
		if (j->keys->lru && j->keys->lru_ps == ds->page_size)
			row->lru = (double)lru_hits(j->keys, r.ops) / (double)r.ops;
	}
	if (r.info[0])
		note(row, "%s", r.info);
	if (j->acc == ACC_UPDATE)
		note(row, "sync %.2f s", row->sync_secs);
	if (j->acc == ACC_UPDATE && row->have_upager)
		note_write_amplification(row, false);
	if (j->regime == REGIME_HOT && s->cg == CG_LIMIT && row->cg_limit)
		note(row, "cg cannot limit the cached file pages");
	if (s->in_ram)
		note(row, "copy read untimed");
	if (row->bound_kb && peak_rss_kb(row) > row->bound_kb)
		note(row, "RSS>bound: %.1fM > L+5%%+16M = %.1fM", (double)peak_rss_kb(row) / 1024,
		     (double)row->bound_kb / 1024);
	if (row->rss_sampled_kb > row->hwm_kb + 1024)
		note(row, "VmHWM %.1fM missed the peak", (double)row->hwm_kb / 1024);
	if (r.up.io_errors || r.up.sigbus)
		note(row, "upager: %" PRIu64 " I/O errors, %" PRIu64 " SIGBUS", r.up.io_errors,
		     r.up.sigbus);
	if (j->acc == ACC_SCRATCH) {
		scratch_rows(b, j, &r, idx);
		return idx;
	}
	if (check_result(j, &r, row)) {
		row->check = "ok";
	} else {
		row->check = "FAILED";
		b->failures++;
	}
	if (isnan(row->hit))
		say("%s/%s/%s: %.1f %s, peak RSS %.1fM, %.1f s, check %s", j->workload,
		    regime_names[j->regime], s->name, row->tput, row->unit,
		    (double)peak_rss_kb(row) / 1024, row->secs, row->check);
	else
		say("%s/%s/%s: %.0f %s, hit %.4f (LRU %.4f), peak RSS %.1fM, %.1f s, check %s",
		    j->workload, regime_names[j->regime], s->name, row->tput, row->unit, row->hit,
		    row->lru, (double)peak_rss_kb(row) / 1024, row->secs, row->check);
	return idx;
}

/* Whether system @s runs @acc: asked for (--systems) and able to. */
bool system_wanted(const struct bench *b, int s, enum access acc)
{
	if (b->opt.systems && !(b->opt.systems & (1u << s)))
		return false;
	if (acc == ACC_SCRATCH)
		return engines[s]->scratch;
	if (engines[s]->scratch_only)
		return false;
	return !engines[s]->seq_only || acc == ACC_SEQ;
}

/* A job of workload @name on @ds (keys @ks, NULL for seq), with the run's
 * threads, time budget and advice; job.sys and job.regime are set later. */
void job_init(struct job *j, const struct bench *b, struct dataset *ds, const char *name,
              enum access acc, struct keyset *ks)
{
	memset(j, 0, sizeof(*j));
	j->workload = name;
	j->acc = acc;
	j->ds = ds;
	j->keys = ks;
	j->threads = b->threads;
	j->seconds = acc == ACC_SEQ ? 0 : b->seconds; /* scratch: its rmw phase */
	j->advise = b->opt.advise;
	j->umap = b->opt.umap;
}

/* Every wanted system in every wanted regime, hot first. */
void run_systems(struct bench *b, struct job *j)
{
	for (int reg = 0; reg < NREGIMES; reg++) {
		if (!(b->opt.regimes & (1u << reg)))
			continue;
		j->regime = reg;
		for (int s = 0; s < NSYSTEMS; s++) {
			if (!system_wanted(b, s, j->acc))
				continue;
			j->sys = engines[s];
			run_one(b, j);
		}
	}
}
