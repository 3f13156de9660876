/*
 * check.c - the checks of upager-bench: a run's results against what the
 * harness knows without trusting any system.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: check_result() (the "check" column of a run) with the data file's
 * bookkeeping after update runs, and check() (a line of the fault
 * report's checks).
 * Calls: dataset.c (file_sum), keys.c (the keys' prefix sums), output.c
 * (note), util.c.
 *
 * Checks (column "check"): every run returns the sum of the words it read.
 * The file's words are generated (word w holds word_value(w)), so the
 * harness knows the right answer without trusting any system: seq must
 * return the file's sum; rand and zipf must return the sum of the values
 * of the keys they consumed (prefix sums per chunk are kept); update must
 * leave the file (mmap, upager) or the copy (ram) summing to the old sum
 * plus the number of read-modify-writes (the file is read back after the
 * run), and its reads must be within what those increments allow.  A
 * failed check, like a failed or crashed run, fails the exit status
 * (job.c counts it).  The fault workload checks upager's counters around
 * each timed pass (workload-fault.c) with check().
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>

/* Record a check of the fault report: printed to stderr now and below
 * the table later. */
bool check(struct report *rep, bool ok, const char *fmt, ...)
{
	char msg[NOTE_LEN - 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ok)
		rep->failures++;
	fprintf(stderr, PROG ": %s: check %s: %s\n", rep->workload, ok ? "ok" : "FAILED", msg);
	if (rep->nnotes < MAX_NOTES)
		snprintf(rep->notes[rep->nnotes++], NOTE_LEN, "%s %s", ok ? "ok    " : "FAILED",
		         msg);
	return ok;
}

/* After an update run we cannot vouch for: take the file as it is, and
 * allow every key's increment in later checks. */
void file_resync(struct datafile *df, const struct keyset *ks)
{
	uint64_t s;

	if (file_sum(df, &s) == 0)
		df->sum = s;
	df->incr += ks ? ks->nrmw[ks->nchunks] : 0;
}

/* The keys a run claimed but did not do (the rest of the chunks it
 * stopped in): the sum of their values, their read-modify-writes, their
 * number. */
static int undone_keys(const struct keyset *ks, const struct result *r, uint64_t *vsum,
                       uint64_t *rmw, uint64_t *n)
{
	uint64_t keys[KEY_CHUNK];

	for (unsigned i = 0; i < r->npartial; i++) {
		int rc;

		if (r->partial[i].chunk >= ks->nchunks || r->partial[i].done > KEY_CHUNK)
			return -EINVAL;
		rc = pread_full(ks->fd, keys, sizeof(keys), r->partial[i].chunk * sizeof(keys));
		if (rc < 0)
			return rc;
		for (unsigned k = r->partial[i].done; k < KEY_CHUNK; k++) {
			*vsum += word_value(keys[k] & KEY_WORD);
			*rmw += !!(keys[k] & UPDATE_BIT);
			(*n)++;
		}
	}
	return 0;
}

/* Check a run's sums against the file's known contents (see the top of
 * the file); after an update run, update the file's bookkeeping. */
bool check_result(const struct job *j, const struct result *r, struct trow *row)
{
	struct datafile *df = &j->ds->file;
	const struct keyset *ks = j->keys;
	uint64_t expect, ops, rmw, excess, after, undone_v = 0, undone_rmw = 0, undone_n = 0;
	bool ok;

	if (j->acc == ACC_SEQ) {
		ok = r->bytes == df->size && r->sum == df->sum;
		if (!ok)
			note(row, "sum %016" PRIx64 " over %" PRIu64 " bytes, file: %016" PRIx64
			          " over %" PRIu64,
			     r->sum, r->bytes, df->sum, df->size);
		return ok;
	}
	if (undone_keys(ks, r, &undone_v, &undone_rmw, &undone_n) < 0) {
		note(row, "reading the keys back failed");
		return false;
	}
	ops = r->chunks * KEY_CHUNK - undone_n;
	expect = ks->vsum[r->chunks] - undone_v;
	if (r->ops != ops) {
		note(row, "%" PRIu64 " operations but %" PRIu64 " key chunks claimed, %" PRIu64
		          " keys of them not done",
		     r->ops, r->chunks, undone_n);
		return false;
	}
	if (j->acc == ACC_READ) {
		/* Each read returns word_value(w) plus the increments earlier
		 * update runs made to w: exactly word_value if there were none. */
		excess = r->sum - expect;
		ok = df->incr == 0 ? excess == 0 : excess <= ops * df->incr;
		if (!ok)
			note(row, "sum of reads %016" PRIx64 ", expected %016" PRIx64 " (+ at most %" PRIu64
			          " x %" PRIu64 ")",
			     r->sum, expect, ops, df->incr);
		return ok;
	}
	rmw = ks->nrmw[r->chunks] - undone_rmw;
	if (r->rmw != rmw) {
		note(row, "%" PRIu64 " read-modify-writes, the keys have %" PRIu64, r->rmw, rmw);
		file_resync(df, ks);
		return false;
	}
	excess = r->sum - expect;
	ok = excess <= ops * (df->incr + rmw);
	if (!ok)
		note(row, "values read off by %" PRIu64 " (at most %" PRIu64 " x %" PRIu64
		          " allowed)",
		     excess, ops, df->incr + rmw);
	if (r->have_after_sum) { /* ram: the copy, the file is untouched */
		if (r->after_sum != df->sum + rmw) {
			note(row, "copy sums to %016" PRIx64 " after, expected %016" PRIx64,
			     r->after_sum, df->sum + rmw);
			ok = false;
		}
		return ok;
	}
	if (file_sum(df, &after) < 0) {
		note(row, "reading the file back failed");
		df->incr += rmw;
		return false;
	}
	if (after != df->sum + rmw) {
		note(row, "file sums to %016" PRIx64 " after sync, expected %016" PRIx64
		          " (old sum + %" PRIu64 " increments)",
		     after, df->sum + rmw, rmw);
		ok = false;
	}
	df->sum = after;
	df->incr += rmw;
	return ok;
}

