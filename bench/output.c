/*
 * output.c - what upager-bench prints and writes: progress lines on
 * stderr, the fault report and the run table on stdout, the CSV file.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the formats (the table's columns, the CSV's columns, which
 * bench/plot.gp reads by name) and the row store of struct bench.
 * Calls: lib/units (UNITS_SHORT), libc.
 *
 * Output: per workload, a table on stdout (workload, regime, system, D, L,
 * D/L, threads, throughput, hit ratio and LRU's, peak RSS, check and
 * notes: cgroup, page-cache state at the start, O_DIRECT, flags) and under
 * it upager's throughput over that of mmap, umap and swap; one CSV
 * row per run with every counter (upager's over the timed phase, the
 * child's faults and storage reads from getrusage and /proc/self/io,
 * cgroup limit and peak) and, for the fault workload, the percentiles.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h> /* NAN, isnan: macros only, no libm */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A progress line on stderr. */
void say(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* -------------------------------------------------------------------------
 * The fault workload's report
 */

void report_header(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->nheader >= sizeof(rep->header) / sizeof(rep->header[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(rep->header[rep->nheader++], NOTE_LEN, fmt, ap);
	va_end(ap);
}

void progress(const struct report *rep, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": %s: ", rep->workload);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @s[0..n-1], n >= 1. */
static uint64_t percentile(const uint64_t *s, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return s[rank ? rank - 1 : 0];
}

/* Sort @ns[0..n-1] and add it as a row. */
void add_row(struct report *rep, const char *name, uint64_t *ns, size_t n)
{
	struct row *r;

	if (rep->nrows >= MAX_ROWS || n == 0)
		return;
	r = &rep->rows[rep->nrows++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	qsort(ns, n, sizeof(*ns), cmp_u64);
	r->samples = n;
	r->p50 = percentile(ns, n, 50);
	r->p90 = percentile(ns, n, 90);
	r->p99 = percentile(ns, n, 99);
	r->max = ns[n - 1];
	progress(rep, "%s: p50 %" PRIu64 " ns, p99 %" PRIu64 " ns", name, r->p50, r->p99);
}

double row_ratio(const struct report *rep, const struct row *r)
{
	if (rep->baseline < 0 || rep->rows[rep->baseline].p50 == 0)
		return 0;
	return (double)r->p50 / (double)rep->rows[rep->baseline].p50;
}

void print_report(const struct report *rep, FILE *out)
{
	const char *base = rep->baseline >= 0 ? rep->rows[rep->baseline].name : NULL;

	fprintf(out, "\n== workload %s ==\n", rep->workload);
	for (unsigned i = 0; i < rep->nheader; i++)
		fprintf(out, "%s\n", rep->header[i]);
	fprintf(out, "\n%-32s %8s %9s %9s %9s %11s %9s\n", "case", "samples", "p50 ns",
	        "p90 ns", "p99 ns", "max ns", "p50/floor");
	for (unsigned i = 0; i < rep->nrows; i++) {
		const struct row *r = &rep->rows[i];
		fprintf(out, "%-32s %8zu %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %11" PRIu64,
		        r->name, r->samples, r->p50, r->p90, r->p99, r->max);
		if (base)
			fprintf(out, " %9.2f\n", row_ratio(rep, r));
		else
			fprintf(out, " %9s\n", "-");
	}
	if (base)
		fprintf(out, "(p50/floor: p50 of the case over p50 of \"%s\")\n", base);
	if (rep->nnotes) {
		fprintf(out, "\nchecks:\n");
		for (unsigned i = 0; i < rep->nnotes; i++)
			fprintf(out, "  %s\n", rep->notes[i]);
	}
	fprintf(out, "%s: %u check%s failed\n", rep->workload, rep->failures,
	        rep->failures == 1 ? "" : "s");
}

/* -------------------------------------------------------------------------
 * The run table and the CSV
 */

struct trow *new_row(struct bench *b)
{
	struct trow *r;

	if (b->nrows == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct trow *n = realloc(b->rows, cap * sizeof(*n));
		if (!n) {
			say("out of memory");
			exit(1);
		}
		b->rows = n;
		b->cap = cap;
	}
	r = &b->rows[b->nrows++];
	memset(r, 0, sizeof(*r));
	r->hit = r->lru = r->scaling = r->ratio = r->cached = NAN;
	r->cgroup = "-";
	r->check = "-";
	r->unit = "";
	return r;
}

/* Peak RSS of a run: the larger of VmHWM and the sampler's figure. */
uint64_t peak_rss_kb(const struct trow *r)
{
	return r->hwm_kb > r->rss_sampled_kb ? r->hwm_kb : r->rss_sampled_kb;
}

/* Append to the row's notes, "; "-separated. */
void note(struct trow *r, const char *fmt, ...)
{
	size_t len = strlen(r->notes);
	va_list ap;

	if (len && len + 2 < sizeof(r->notes)) {
		memcpy(r->notes + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->notes + len, sizeof(r->notes) - len, fmt, ap);
	va_end(ap);
}

static void csv_header(FILE *f)
{
	fprintf(f, "workload,regime,system,case,data_bytes,limit_bytes,d_over_l,page_size,threads,"
	           "ops,seconds,sync_seconds,throughput,unit,hit_ratio,lru_hit_ratio,scaling,"
	           "peak_rss_kb,vmhwm_kb,rss_sampled_kb,rss_start_kb,rss_bound_kb,cgroup,"
	           "cgroup_limit_bytes,"
	           "cgroup_peak_bytes,cached_at_start,maj_faults,min_faults,read_bytes,"
	           "up_pgfault,up_pgmajfault,up_pgminfault,up_pgwritefault,up_pgpgin,up_pgpgout,"
	           "up_readahead,up_readahead_used,up_pgscan,up_pgdeactivate,up_pgsteal,"
	           "up_writeback_evict,up_writeback_background,up_resident_peak_pages,up_frames,"
	           "checksum,"
	           "samples,p50_ns,p90_ns,p99_ns,max_ns,p50_over_floor,check,notes\n");
}

/* A CSV field: empty when undefined; text without commas or quotes. */
static void csv_num(FILE *f, double v, const char *fmt)
{
	if (!isnan(v))
		fprintf(f, fmt, v);
	fputc(',', f);
}

static void csv_text(FILE *f, const char *s, bool last)
{
	for (; *s; s++)
		fputc(*s == ',' ? ';' : *s == '"' ? '\'' : *s, f);
	fputc(last ? '\n' : ',', f);
}

void csv_row(FILE *f, const struct trow *r)
{
	bool fault = r->samples > 0;

	csv_text(f, r->workload, false);
	csv_text(f, r->regime, false);
	csv_text(f, r->system, false);
	csv_text(f, r->kase, false);
	if (fault) {
		fprintf(f, ",,,%" PRIu64 ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,", r->page_size);
		fprintf(f, "%zu,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", r->samples,
		        r->p50, r->p90, r->p99, r->max);
		csv_num(f, r->ratio, "%.3f");
	} else {
		fprintf(f, "%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 ",%u,", r->data, r->limit,
		        (double)r->data / (double)r->limit, r->page_size, r->threads);
		if (r->measured) {
			fprintf(f, "%" PRIu64 ",%.6f,%.6f,%.3f,%s,", r->ops, r->secs, r->sync_secs,
			        r->tput, r->unit);
		} else {
			fprintf(f, ",,,,%s,", r->unit);
		}
		csv_num(f, r->hit, "%.5f");
		csv_num(f, r->lru, "%.5f");
		csv_num(f, r->scaling, "%.3f");
		if (r->measured)
			fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", peak_rss_kb(r),
			        r->hwm_kb, r->rss_sampled_kb, r->rss_start_kb);
		else
			fprintf(f, ",,,,");
		if (r->bound_kb)
			fprintf(f, "%" PRIu64, r->bound_kb);
		fprintf(f, ",%s,", r->cgroup);
		if (r->cg_limit)
			fprintf(f, "%" PRIu64, r->cg_limit);
		fputc(',', f);
		if (r->cg_peak)
			fprintf(f, "%" PRIu64, r->cg_peak);
		fputc(',', f);
		csv_num(f, r->cached, "%.4f");
		if (r->measured)
			fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", r->majflt, r->minflt,
			        r->read_bytes);
		else
			fprintf(f, ",,,");
		if (r->have_upager) {
			const struct upager_delta *d = &r->up;
			fprintf(f,
			        "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			        ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			        ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
			        d->fault, d->maj, d->min, d->write, d->pgin, d->pgout, d->ra,
			        d->ra_used, d->scan, d->deact, d->steal, d->wb_evict,
			        d->wb_background, d->resident_peak, d->frames);
		} else {
			fprintf(f, ",,,,,,,,,,,,,,,");
		}
		if (r->measured)
			fprintf(f, "%016" PRIx64, r->sum);
		fprintf(f, ",,,,,,,");
	}
	csv_text(f, r->check, false);
	csv_text(f, r->notes, true);
}

void print_rows_header(FILE *out)
{
	fprintf(out, "\n%-13s %-6s %-14s %6s %6s %5s %3s %18s %6s %6s %9s  %s\n", "workload",
	        "regime", "system", "D", "L", "D/L", "thr", "throughput", "hit", "LRU",
	        "peak RSS", "notes");
}

void print_row(FILE *out, const struct trow *r)
{
	char tput[32], hit[16], lru[16], rss[16];

	if (!r->measured)
		snprintf(tput, sizeof(tput), "-");
	else if (strcmp(r->unit, "MB/s") == 0)
		snprintf(tput, sizeof(tput), "%.1f MB/s", r->tput);
	else
		snprintf(tput, sizeof(tput), "%.0f op/s", r->tput);
	if (isnan(r->hit))
		snprintf(hit, sizeof(hit), "-");
	else
		snprintf(hit, sizeof(hit), "%.4f", r->hit);
	if (isnan(r->lru))
		snprintf(lru, sizeof(lru), "-");
	else
		snprintf(lru, sizeof(lru), "%.4f", r->lru);
	if (r->measured)
		snprintf(rss, sizeof(rss), "%.1fM", (double)peak_rss_kb(r) / 1024);
	else
		snprintf(rss, sizeof(rss), "-");
	fprintf(out, "%-13s %-6s %-14s %6s %6s %5.1f %3u %18s %6s %6s %9s  ", r->workload,
	        r->regime, r->system, UNITS_SHORT(r->data), UNITS_SHORT(r->limit),
	        (double)r->data / (double)r->limit, r->threads, tput, hit, lru, rss);
	if (strcmp(r->check, "-") != 0)
		fprintf(out, "check %s%s", r->check, r->notes[0] ? "; " : "");
	fprintf(out, "%s\n", r->notes);
}

/* The systems upager's throughput is compared with, below each table. */
static const char *const ratio_peers[] = { "mmap", "umap", "swap" };

/* Below a table of @n rows: for each measured upager row, its throughput
 * over that of each peer system measured with the same workload, regime
 * and threads ("upager / mmap 1.52x"); nothing if there is none. */
void print_ratios(FILE *out, const struct trow *rows, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		const struct trow *u = &rows[i];
		bool first = true;

		if (!u->measured || strcmp(u->system, "upager") != 0 || !(u->tput > 0))
			continue;
		for (size_t p = 0; p < sizeof(ratio_peers) / sizeof(ratio_peers[0]); p++) {
			for (size_t k = 0; k < n; k++) {
				const struct trow *o = &rows[k];

				if (!o->measured || !(o->tput > 0) ||
				    strcmp(o->system, ratio_peers[p]) != 0 ||
				    strcmp(o->workload, u->workload) != 0 ||
				    strcmp(o->regime, u->regime) != 0 || o->threads != u->threads)
					continue;
				if (!any)
					fprintf(out, "\nupager's throughput over the others':\n");
				if (first)
					fprintf(out, "  %-13s %-6s %3u:", u->workload, u->regime,
					        u->threads);
				fprintf(out, "%s upager / %s %.3gx", first ? "" : ",", o->system,
				        u->tput / o->tput);
				any = true;
				first = false;
				break;
			}
		}
		if (!first)
			fputc('\n', out);
	}
}

/* The CSV file (--csv, else OUT-DIR/upager-bench-YYYYmmdd-HHMMSS.csv), its
 * header written, or NULL (message printed). */
FILE *open_csv(struct bench *b)
{
	FILE *f;

	if (b->opt.csv) {
		snprintf(b->csv_path, sizeof(b->csv_path), "%s", b->opt.csv);
	} else {
		char stamp[32];
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		snprintf(b->csv_path, sizeof(b->csv_path), "%s/" PROG "-%s.csv", b->opt.out_dir,
		         stamp);
	}
	f = fopen(b->csv_path, "w");
	if (!f) {
		say("%s: %s", b->csv_path, strerror(errno));
		return NULL;
	}
	csv_header(f);
	return f;
}
