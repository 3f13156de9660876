/*
 * mrc.c - upager-mrc: miss-ratio curves of page replacement policies on
 * the harness's key streams (or a trace file), as CSV.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Usage: upager-mrc [--stream LIST] [--length N] [--data SIZE] ... (--help).
 *
 * Owns: the streams at page granularity, the options (getopt_long), the
 * CSV.  Calls: replacement.c (the policies), keygen.c (the generators of
 * upager-bench's keys), lib/units and lib/cli (sizes, bad usage), libc.
 *
 * For each stream, and each memory size (a fraction of the footprint,
 * in frames of one page), every policy runs the whole stream from empty
 * memory; a row of the CSV gives their hit ratios (hits / references,
 * cold misses included).  Streams, over the F = data / page size pages of
 * the footprint, fixed seeds (so runs compare):
 *   zipf       Zipfian popularity over the pages, theta 0.99, scrambled
 *              (keygen.c's generator over F items).
 *   zipf-word  upager-bench's zipf keys themselves: Zipfian over the
 *              data / 8 words, each turned into its page (the stream whose
 *              hit ratio upager-bench compares with exact LRU).
 *   rand       uniform over the pages.
 *   seq        a sequential scan of the pages, over and over.
 *   loop-scan  a hot loop interrupted by scans: 3 sequential passes over
 *              a hot set of F / 10 pages, then a scan of the next F / 5
 *              pages of the other 9 F / 10 (cyclically), and again.
 * A trace file (--trace) gives page numbers, one per line in decimal
 * (any 64-bit values: they are renumbered densely in order of value); its
 * footprint is the number of distinct pages.  bench/mrc.gp draws the CSV
 * (`make -C bench mrc').
 */
#include "bench.h"
#include "cli.h"
#include "replacement.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MRC_PROG "upager-mrc"
#define usage_error(...) cli_usage_error(MRC_PROG, __VA_ARGS__)

#define DEFAULT_DATA (1ull << 30)
#define DEFAULT_LENGTH 4000000ull
#define MAX_POINTS 64

enum stream { S_ZIPF, S_ZIPF_WORD, S_RAND, S_SEQ, S_LOOP_SCAN, NSTREAMS };
static const char *const stream_names[NSTREAMS] = { "zipf", "zipf-word", "rand", "seq",
	                                            "loop-scan" };

static const char *const default_memory =
	"1/64,1/32,1/16,1/8,3/16,1/4,5/16,3/8,1/2,5/8,3/4,7/8,1";

struct opts {
	unsigned streams;   /* bit per stream */
	unsigned policies;  /* bit per policy */
	const char *trace;  /* NULL: generate */
	uint64_t data, page_size, length;
	double memory[MAX_POINTS];
	unsigned npoints;
	const char *output;
	bool quiet;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: " MRC_PROG " [OPTION]...\n"
	        "Miss-ratio curves: the hit ratio of page replacement policies (FIFO, LRU,\n"
	        "Clock, CLOCK-Pro, CAR, OPT) on page reference streams, for a range of\n"
	        "memory sizes, as CSV on standard output (progress on standard error).\n"
	        "\n"
	        "  -s, --stream LIST      streams to generate, comma-separated (default all):\n"
	        "                         zipf (Zipfian pages, theta 0.99, scrambled),\n"
	        "                         zipf-word (upager-bench's zipf keys: Zipfian words,\n"
	        "                         turned into pages), rand (uniform), seq (cyclic\n"
	        "                         scan), loop-scan (3 passes over a hot tenth of the\n"
	        "                         pages, then a scan of a fifth of the others)\n"
	        "  -t, --trace FILE       read page numbers instead (decimal, one per line;\n"
	        "                         '-': standard input); footprint: the distinct pages\n"
	        "  -n, --length N         references per generated stream (default %llu)\n"
	        "  -d, --data SIZE        footprint of generated streams in bytes (default 1G)\n"
	        "  -p, --page-size SIZE   page size in bytes (default 16K: the figures\n"
	        "                         of docs/design.md)\n"
	        "  -m, --memory LIST      memory sizes as fractions of the footprint, each\n"
	        "                         A/B or a decimal in (0, 64]\n"
	        "                         (default %s)\n"
	        "  -P, --policies LIST    policies (default all): fifo,lru,clock,clock-pro,car,\n"
	        "                         opt\n"
	        "  -o, --output FILE      write the CSV to FILE\n"
	        "  -q, --quiet            no progress lines\n"
	        "  -h, --help             this help\n"
	        "\n"
	        "CSV columns: stream, pages (footprint), references, memory_fraction, frames,\n"
	        "then one hit ratio per policy (hits / references, cold misses included).\n"
	        "Each policy starts from empty memory.  Exit status: 0 ok, 1 error, 2 bad\n"
	        "usage.\n",
	        (unsigned long long)DEFAULT_LENGTH, default_memory);
}

/* Bits of the names in a comma-separated @list. */
static unsigned parse_names(const char *opt, const char *list, const char *const *names,
                            unsigned n)
{
	char *copy = strdup(list), *save = NULL;
	unsigned bits = 0;

	if (!copy)
		usage_error("out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned i;

		for (i = 0; i < n && strcmp(tok, names[i]) != 0; i++)
			;
		if (i == n)
			usage_error("%s: unknown name '%s'", opt, tok);
		bits |= 1u << i;
	}
	free(copy);
	if (!bits)
		usage_error("%s: empty list", opt);
	return bits;
}

/* A fraction "A/B" or a decimal, in (0, 64]; -1 if malformed. */
static double parse_fraction(const char *s)
{
	char *end;
	double v;

	errno = 0;
	if (strchr(s, '/')) {
		uint64_t a, b;
		char num[32];
		size_t len = (size_t)(strchr(s, '/') - s);

		if (len == 0 || len >= sizeof(num))
			return -1;
		memcpy(num, s, len);
		num[len] = '\0';
		if (units_parse_u64(num, &a) < 0 || units_parse_u64(s + len + 1, &b) < 0 || b == 0)
			return -1;
		v = (double)a / (double)b;
	} else {
		v = strtod(s, &end);
		if (errno || end == s || *end)
			return -1;
	}
	return v > 0 && v <= 64 ? v : -1;
}

static void parse_memory(struct opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		usage_error("out of memory");
	o->npoints = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		double v = parse_fraction(tok);

		if (v < 0)
			usage_error("--memory: '%s' is not a fraction in (0, 64]", tok);
		if (o->npoints == MAX_POINTS)
			usage_error("--memory: more than %d sizes", MAX_POINTS);
		o->memory[o->npoints++] = v;
	}
	free(copy);
	if (!o->npoints)
		usage_error("--memory: empty list");
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "stream", required_argument, NULL, 's' },
		{ "trace", required_argument, NULL, 't' },
		{ "length", required_argument, NULL, 'n' },
		{ "data", required_argument, NULL, 'd' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, 'm' },
		{ "policies", required_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool streams_given = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->streams = (1u << NSTREAMS) - 1;
	o->policies = (1u << REPL_NPOLICIES) - 1;
	o->data = DEFAULT_DATA;
	o->page_size = UPAGER_DEFAULT_PAGE_SIZE;
	o->length = DEFAULT_LENGTH;
	parse_memory(o, default_memory);
	while ((c = getopt_long(argc, argv, "s:t:n:d:p:m:P:o:qh", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			o->streams = parse_names("--stream", optarg, stream_names, NSTREAMS);
			streams_given = true;
			break;
		case 't':
			o->trace = optarg;
			break;
		case 'n':
			if (units_parse_u64(optarg, &o->length) < 0 || o->length == 0 ||
			    o->length > REPL_MAX_REFS)
				usage_error("--length: '%s' is not a count from 1 to %zu", optarg,
				            (size_t)REPL_MAX_REFS);
			break;
		case 'd':
			if (units_parse_size(optarg, &o->data) < 0 || o->data == 0)
				usage_error("--data: '%s' is not a positive size", optarg);
			break;
		case 'p':
			if (units_parse_size(optarg, &o->page_size) < 0 || o->page_size < 8 ||
			    (o->page_size & (o->page_size - 1)))
				usage_error("--page-size: '%s' is not a power of two of at least 8",
				            optarg);
			break;
		case 'm':
			parse_memory(o, optarg);
			break;
		case 'P':
			o->policies = parse_names("--policies", optarg, repl_names, REPL_NPOLICIES);
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_try_help(MRC_PROG);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->trace && streams_given)
		usage_error("--trace and --stream exclude each other");
	if (!o->trace) {
		uint64_t pages = o->data / o->page_size;

		if (pages == 0 || pages > REPL_MAX_PAGES)
			usage_error("--data / --page-size: %" PRIu64 " pages; from 1 to %u, please",
			            pages, REPL_MAX_PAGES);
	}
}

static void note_progress(const struct opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_progress(const struct opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, MRC_PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* -------------------------------------------------------------------------
 * Streams
 */

/* Generate stream @s: @n references over @npages pages. */
static void generate(enum stream s, uint32_t *t, uint64_t n, uint32_t npages,
                     const struct opts *o)
{
	struct keygen kg;
	unsigned shift = 0;

	switch (s) {
	case S_ZIPF:
	case S_RAND:
		keygen_init(&kg, s == S_ZIPF ? DIST_ZIPF : DIST_UNIFORM, npages);
		for (uint64_t i = 0; i < n; i++)
			t[i] = (uint32_t)(keygen_next(&kg) & KEY_WORD);
		break;
	case S_ZIPF_WORD:
		while ((8ull << shift) < o->page_size)
			shift++; /* page = word >> shift */
		keygen_init(&kg, DIST_ZIPF, (uint64_t)npages * (o->page_size / 8));
		for (uint64_t i = 0; i < n; i++)
			t[i] = (uint32_t)((keygen_next(&kg) & KEY_WORD) >> shift);
		break;
	case S_SEQ:
		for (uint64_t i = 0; i < n; i++)
			t[i] = (uint32_t)(i % npages);
		break;
	case S_LOOP_SCAN: {
		uint32_t hot = npages / 10 ? npages / 10 : 1, cold = npages - hot;
		uint32_t scan = npages / 5 ? npages / 5 : 1, next_cold = 0;
		uint64_t i = 0;

		while (i < n) {
			for (int pass = 0; pass < 3; pass++)
				for (uint32_t h = 0; h < hot && i < n; h++)
					t[i++] = h;
			for (uint32_t k = 0; k < scan && i < n && cold; k++) {
				t[i++] = hot + next_cold;
				next_cold = next_cold + 1 == cold ? 0 : next_cold + 1;
			}
		}
		break;
	}
	default:
		break;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Read a trace file into *@t (dense page numbers); 0 or -1 (message
 * printed). */
static int read_trace(const char *path, uint32_t **t, uint64_t *n, uint32_t *npages)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	uint64_t *raw = NULL, *uniq = NULL, len = 0, cap = 0, nu = 0, line = 0;
	char buf[128];
	int rc = -1;

	if (!f) {
		fprintf(stderr, MRC_PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		uint64_t v;
		size_t l = strcspn(buf, "\r\n");

		line++;
		buf[l] = '\0';
		if (l == 0)
			continue;
		if (units_parse_u64(buf, &v) < 0) {
			fprintf(stderr, MRC_PROG ": %s:%" PRIu64 ": '%s' is not a page number\n",
			        path, line, buf);
			goto out;
		}
		if (len == cap) {
			uint64_t *bigger;

			cap = cap ? 2 * cap : 1 << 16;
			if (cap > REPL_MAX_REFS) {
				fprintf(stderr, MRC_PROG ": %s: more than %zu references\n", path,
				        (size_t)REPL_MAX_REFS);
				goto out;
			}
			bigger = realloc(raw, cap * sizeof(*raw));
			if (!bigger)
				goto nomem;
			raw = bigger;
		}
		raw[len++] = v;
	}
	if (ferror(f)) {
		fprintf(stderr, MRC_PROG ": %s: read error\n", path);
		goto out;
	}
	if (len == 0) {
		fprintf(stderr, MRC_PROG ": %s: no references\n", path);
		goto out;
	}
	uniq = malloc(len * sizeof(*uniq));
	*t = malloc(len * sizeof(**t));
	if (!uniq || !*t)
		goto nomem;
	memcpy(uniq, raw, len * sizeof(*uniq));
	qsort(uniq, len, sizeof(*uniq), cmp_u64);
	for (uint64_t i = 0; i < len; i++)
		if (i == 0 || uniq[i] != uniq[nu - 1])
			uniq[nu++] = uniq[i];
	if (nu > REPL_MAX_PAGES) {
		fprintf(stderr, MRC_PROG ": %s: more than %u distinct pages\n", path,
		        REPL_MAX_PAGES);
		goto out;
	}
	for (uint64_t i = 0; i < len; i++) {
		const uint64_t *p = bsearch(&raw[i], uniq, nu, sizeof(*uniq), cmp_u64);

		(*t)[i] = (uint32_t)(p - uniq);
	}
	*n = len;
	*npages = (uint32_t)nu;
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, MRC_PROG ": %s: out of memory\n", path);
out:
	if (rc < 0) {
		free(*t);
		*t = NULL;
	}
	free(raw);
	free(uniq);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* -------------------------------------------------------------------------
 * Curves
 */

/* Every wanted policy at every memory size on one trace; rows to @out. */
static int curves(const struct opts *o, FILE *out, const char *name, const uint32_t *t,
                  uint64_t n, uint32_t npages)
{
	double ratio[MAX_POINTS][REPL_NPOLICIES];
	uint64_t frames[MAX_POINTS];
	uint32_t *next = NULL;
	int rc;

	for (unsigned k = 0; k < o->npoints; k++) {
		double f = o->memory[k] * npages + 0.5;

		frames[k] = f < 1 ? 1 : (uint64_t)f;
	}
	if (o->policies & (1u << REPL_OPT)) {
		rc = repl_next_use(t, n, npages, &next);
		if (rc < 0)
			return rc;
	}
	for (int p = 0; p < REPL_NPOLICIES; p++) {
		uint64_t t0 = now_ns();

		if (!(o->policies & (1u << p)))
			continue;
		for (unsigned k = 0; k < o->npoints; k++) {
			uint64_t hits;

			rc = repl_run(p, t, next, n, npages, frames[k], &hits, NULL);
			if (rc < 0) {
				free(next);
				return rc;
			}
			ratio[k][p] = (double)hits / (double)n;
		}
		note_progress(o, "%s: %s, %u memory sizes in %.1f s", name, repl_names[p], o->npoints,
		         (double)(now_ns() - t0) / 1e9);
	}
	free(next);
	for (unsigned k = 0; k < o->npoints; k++) {
		fprintf(out, "%s,%u,%" PRIu64 ",%.6f,%" PRIu64, name, npages, n, o->memory[k],
		        frames[k]);
		for (int p = 0; p < REPL_NPOLICIES; p++)
			if (o->policies & (1u << p))
				fprintf(out, ",%.6f", ratio[k][p]);
		fputc('\n', out);
	}
	fflush(out);
	return 0;
}

static void csv_header(const struct opts *o, FILE *out)
{
	fprintf(out, "stream,pages,references,memory_fraction,frames");
	for (int p = 0; p < REPL_NPOLICIES; p++)
		if (o->policies & (1u << p))
			fprintf(out, ",%s", repl_names[p]);
	fputc('\n', out);
}

int main(int argc, char **argv)
{
	struct opts o;
	FILE *out = stdout;
	int status = 0;

	parse_options(&o, argc, argv);
	if (o.output && !(out = fopen(o.output, "we"))) {
		fprintf(stderr, MRC_PROG ": %s: %s\n", o.output, strerror(errno));
		return 1;
	}
	if (o.trace) {
		uint32_t *t = NULL, npages;
		uint64_t n;
		const char *base = strrchr(o.trace, '/');

		if (read_trace(o.trace, &t, &n, &npages) < 0)
			return 1;
		csv_header(&o, out);
		note_progress(&o, "%s: %" PRIu64 " references to %u pages", o.trace, n, npages);
		if (curves(&o, out, base ? base + 1 : o.trace, t, n, npages) < 0) {
			fprintf(stderr, MRC_PROG ": out of memory\n");
			status = 1;
		}
		free(t);
	} else {
		uint32_t npages = (uint32_t)(o.data / o.page_size);
		uint32_t *t = malloc(o.length * sizeof(*t));

		if (!t) {
			fprintf(stderr, MRC_PROG ": out of memory for %" PRIu64 " references\n",
			        o.length);
			return 1;
		}
		csv_header(&o, out);
		for (int s = 0; s < NSTREAMS && status == 0; s++) {
			uint64_t t0 = now_ns();

			if (!(o.streams & (1u << s)))
				continue;
			generate(s, t, o.length, npages, &o);
			note_progress(&o, "%s: %" PRIu64 " references to %u pages of %s generated in %.1f s",
			         stream_names[s], o.length, npages, UNITS_SHORT(o.page_size),
			         (double)(now_ns() - t0) / 1e9);
			if (curves(&o, out, stream_names[s], t, o.length, npages) < 0) {
				fprintf(stderr, MRC_PROG ": out of memory\n");
				status = 1;
			}
		}
		free(t);
	}
	if ((out != stdout && fclose(out) != 0) || (out == stdout && fflush(out) != 0)) {
		fprintf(stderr, MRC_PROG ": writing the CSV: %s\n", strerror(errno));
		status = 1;
	}
	return status;
}
