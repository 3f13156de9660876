/*
 * main.c - upager-bench, upager's benchmark harness: options and main.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Usage: upager-bench [--quick] [--workload LIST] [--sweep] ...  (--help).
 * Results go to stdout as tables and to a CSV file (--csv FILE, else
 * OUT-DIR/upager-bench-YYYYmmdd-HHMMSS.csv); progress goes to stderr.
 * bench/plot.gp draws PNGs from the CSV.
 *
 * Owns: the options (getopt_long, --help), the table of workloads (their
 * names and the order they run in), the data sizes (one, or the sweep's
 * 2, 4, 8 and 16 L), the header lines and the final tally.
 * Calls: the workloads (workloads.c, workload-fault.c), dataset.c,
 * runner.c (cgroup roots, signal cleanup), engine.c (the systems' names),
 * output.c, util.c, lib/units and lib/cli (sizes, bad usage), and
 * upager_config_resolve() of upager.h.
 *
 * The harness measures upager as users link it: it uses only the public
 * API (upager.h).  Its files, by concern, are listed at the top of
 * bench.h.  Every workload runs every wanted system (engine-*.c) in every
 * wanted regime (job.c), each run in a child process of its own, in a
 * memory cgroup where the run wants one (runner.c); the checks (check.c)
 * know every right answer from the generated data, without trusting any
 * system.
 */
#include "bench.h"
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h> /* NAN: a macro, no libm */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

enum {
	OPT_ROUND_PAGES = 256,
	OPT_SWEEP,
	OPT_REGIME,
	OPT_SYSTEMS,
	OPT_ADVISE,
	OPT_OPS,
	OPT_OUT_DIR,
	OPT_UMAP,
};

static const struct option long_options[] = {
	{ "workload", required_argument, NULL, 'w' },
	{ "data", required_argument, NULL, 'd' },
	{ "limit", required_argument, NULL, 'l' },
	{ "threads", required_argument, NULL, 't' },
	{ "page-size", required_argument, NULL, 'p' },
	{ "seconds", required_argument, NULL, 's' },
	{ "ops", required_argument, NULL, OPT_OPS },
	{ "samples", required_argument, NULL, 'n' },
	{ "round-pages", required_argument, NULL, OPT_ROUND_PAGES },
	{ "regime", required_argument, NULL, OPT_REGIME },
	{ "systems", required_argument, NULL, OPT_SYSTEMS },
	{ "advise", no_argument, NULL, OPT_ADVISE },
	{ "sweep", no_argument, NULL, OPT_SWEEP },
	{ "quick", no_argument, NULL, 'q' },
	{ "csv", required_argument, NULL, 'c' },
	{ "out-dir", required_argument, NULL, OPT_OUT_DIR },
	{ "umap", required_argument, NULL, OPT_UMAP },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct workload {
	const char *name;
	const char *help;
	int (*run)(struct bench *b, struct dataset *ds);
	bool needs_data; /* runs once per data size, on its file */
	bool sweep;      /* part of --sweep */
	bool opt_in;     /* only when named in --workload */
};

/* In the order they run: update changes the file, so it is last of those
 * on the data file (scratch has none: it runs before them, after fault). */
static const struct workload workloads[] = {
	{ "fault", "service time of one major, minor and write fault, against the floor",
	  run_fault, false, false, false },
	{ "seq", "sequential scan of D bytes (MB/s)", workload_seq, true, true, false },
	{ "rand", "uniform random 8-byte reads (op/s)", workload_rand, true, false, false },
	{ "zipf", "Zipf 0.99 random 8-byte reads, YCSB C (op/s; hit ratio vs LRU)",
	  workload_zipf, true, true, false },
	{ "threads", "rand and zipf with 1 and 2 threads (op/s, scaling)", workload_threads,
	  true, false, false },
	{ "update", "Zipf, 50% reads 50% read-modify-writes, sync timed, YCSB A (op/s)",
	  workload_update, true, false, false },
	{ "scratch", "upager_alloc vs anonymous memory + kernel swap, S = 4 L under L:\n"
	  "           fill, Zipf read-modify-write, scan (root; only when named)",
	  workload_scratch, false, false, true },
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static const unsigned sweep_ratios[] = { 2, 4, 8, 16 };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS]\n"
		"Measure upager against the kernel's mmap, LLNL's UMap (if given), a pread loop\n"
		"and an in-RAM copy.\n"
		"Tables go to stdout, a CSV file to --csv or --out-dir, progress to stderr;\n"
		"bench/plot.gp draws PNGs from the CSV.\n"
		"\n"
		"  -w, --workload LIST   comma-separated workloads to run (default: all but\n"
		"                        scratch)\n"
		"  -l, --limit SIZE      memory limit L (default %s, quick %s)\n"
		"  -d, --data SIZE       data size D, rounded down to whole MiB (default 8 L;\n"
		"                        scratch: its size S, default 4 L)\n"
		"      --sweep           seq and zipf at D = 2, 4, 8 and 16 L (not with --data)\n"
		"  -t, --threads N       threads of seq, rand, zipf and update (default 1);\n"
		"                        the threads workload runs 1 and max(2, N)\n"
		"  -p, --page-size SIZE  upager page size, a power of two from the system\n"
		"                        page size to 2M (default: upager's: the system\n"
		"                        page where the kernel has guard markers, else 16K;\n"
		"                        fault: 4K)\n"
		"  -s, --seconds S       time budget of a key-workload run (default %.0f,\n"
		"                        quick %.0f)\n"
		"      --ops N           keys generated per distribution: the most\n"
		"                        operations of a run (default %lluM, quick %lluM)\n"
		"      --regime R        hot, cold or both (default both)\n"
		"      --systems LIST    comma-separated systems (default all): upager,\n"
		"                        upager-direct, mmap, umap, pread, ram, swap\n"
		"                        (swap: scratch only, a swap file of 2 S in the data\n"
		"                        files' directory unless swap is on)\n"
		"      --umap PREFIX     UMap installed in PREFIX (PREFIX/lib/libumap.so, loaded\n"
		"                        at run time; default $UPAGER_BENCH_UMAP); without it\n"
		"                        the umap rows are skipped\n"
		"      --advise          advise the access pattern (madvise, upager_advise)\n"
		"  -q, --quick           smaller defaults: L %s, D 8 L, %.0f s, fault %u samples\n"
		"  -n, --samples N       fault: samples per case (default %u)\n"
		"      --round-pages N   fault: most pages touched per timed round (default:\n"
		"                        half of upager's VMA budget, vm.max_map_count / 8)\n"
		"  -c, --csv FILE        write the CSV to FILE\n"
		"      --out-dir DIR     else to DIR/" PROG "-YYYYmmdd-HHMMSS.csv (default .)\n"
		"  -h, --help            show this help and exit\n"
		"\n"
		"SIZE is a number of bytes with an optional K, M or G suffix.  Data files go\n"
		"to $TMPDIR, else /var/tmp, and are unlinked at once.  Cold runs drop the page\n"
		"cache and cgroups limit memory: both need root; without, the output says so.\n"
		"\n"
		"Workloads:\n",
		UNITS_SHORT(FULL_LIMIT), UNITS_SHORT(QUICK_LIMIT), FULL_SECONDS, QUICK_SECONDS,
		(unsigned long long)(FULL_MAX_OPS >> 20), (unsigned long long)(QUICK_MAX_OPS >> 20),
		UNITS_SHORT(QUICK_LIMIT), QUICK_SECONDS, QUICK_SAMPLES, DEFAULT_SAMPLES);
	for (size_t i = 0; i < NWORKLOADS; i++)
		fprintf(out, "  %-8s %s\n", workloads[i].name, workloads[i].help);
	fprintf(out, "\nExit status: 0 done and every check passed, 1 a check failed or an\n"
	             "error, 2 bad usage.\n");
}

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

static bool parse_count(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* Bits of the comma-separated @list's names in @names[0..n-1]. */
static unsigned parse_names(const char *opt, const char *list, const char *const *names,
                            size_t n)
{
	char *copy = strdup(list), *save = NULL, *tok;
	unsigned bits = 0;

	if (!copy)
		usage_error("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		if (strcmp(tok, "all") == 0) {
			bits |= (1u << n) - 1;
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == n)
			usage_error("%s: unknown name '%s'", opt, tok);
		bits |= 1u << i;
	}
	free(copy);
	if (!bits)
		usage_error("%s: empty list", opt);
	return bits;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	const char *wnames[NWORKLOADS], *snames[NSYSTEMS];
	long sys_page = sysconf(_SC_PAGESIZE);
	bool samples_given = false;
	char *end;
	int c;

	for (size_t i = 0; i < NWORKLOADS; i++)
		wnames[i] = workloads[i].name;
	for (size_t i = 0; i < NSYSTEMS; i++)
		snames[i] = engines[i]->name;
	memset(opt, 0, sizeof(*opt));
	opt->regimes = (1u << NREGIMES) - 1;
	opt->out_dir = ".";
	while ((c = getopt_long(argc, argv, "w:d:l:t:p:s:n:qc:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'w':
			opt->workloads = optarg;
			parse_names("--workload", optarg, wnames, NWORKLOADS);
			break;
		case 'd':
			if (units_parse_size(optarg, &opt->data) < 0 || opt->data < MiB)
				usage_error("--data: '%s' is not a size of at least 1M", optarg);
			break;
		case 'l':
			if (units_parse_size(optarg, &opt->limit) < 0 || opt->limit < MiB)
				usage_error("--limit: '%s' is not a size of at least 1M", optarg);
			break;
		case 't':
			if (!parse_count(optarg, &opt->threads) || opt->threads == 0 ||
			    opt->threads > MAX_THREADS)
				usage_error("--threads: '%s' is not a count from 1 to %u", optarg,
				            MAX_THREADS);
			break;
		case 'p':
			if (units_parse_size(optarg, &opt->page_size) < 0 ||
			    (opt->page_size & (opt->page_size - 1)) != 0 ||
			    opt->page_size < (uint64_t)sys_page ||
			    opt->page_size > UPAGER_MAX_PAGE_SIZE)
				usage_error("--page-size: '%s' is not a power of two from %ld to 2M",
				            optarg, sys_page);
			break;
		case 's':
			errno = 0;
			opt->seconds = strtod(optarg, &end);
			if (errno || *end || !(opt->seconds > 0) || opt->seconds > 3600)
				usage_error("--seconds: '%s' is not a number of seconds from 0 to 3600",
				            optarg);
			break;
		case OPT_OPS:
			if (units_parse_size(optarg, &opt->max_ops) < 0 ||
			    opt->max_ops < KEY_CHUNK || opt->max_ops > (1ull << 32))
				usage_error("--ops: '%s' is not a count from %u to 4G", optarg,
				            KEY_CHUNK);
			break;
		case 'n':
			if (!parse_count(optarg, &opt->samples) || opt->samples == 0 ||
			    opt->samples > (1u << 24))
				usage_error("--samples: '%s' is not a count from 1 to %u", optarg,
				            1u << 24);
			samples_given = true;
			break;
		case OPT_ROUND_PAGES:
			if (!parse_count(optarg, &opt->round_pages) || opt->round_pages == 0)
				usage_error("--round-pages: '%s' is not a positive count", optarg);
			break;
		case OPT_REGIME:
			if (strcmp(optarg, "both") == 0)
				opt->regimes = (1u << NREGIMES) - 1;
			else
				opt->regimes = parse_names("--regime", optarg, regime_names, NREGIMES);
			break;
		case OPT_SYSTEMS:
			opt->systems = parse_names("--systems", optarg, snames, NSYSTEMS);
			break;
		case OPT_ADVISE:
			opt->advise = true;
			break;
		case OPT_SWEEP:
			opt->sweep = true;
			break;
		case 'q':
			opt->quick = true;
			break;
		case 'c':
			opt->csv = optarg;
			break;
		case OPT_OUT_DIR:
			opt->out_dir = optarg;
			break;
		case OPT_UMAP:
			opt->umap = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default: /* getopt_long has said what is wrong */
			cli_try_help(PROG);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (opt->sweep && opt->data)
		usage_error("--sweep sets D itself: drop --data");
	if (!samples_given)
		opt->samples = opt->quick ? QUICK_SAMPLES : DEFAULT_SAMPLES;
	if (!opt->umap)
		opt->umap = getenv("UPAGER_BENCH_UMAP");
}

static bool workload_wanted(const struct options *opt, size_t i)
{
	const char *wnames[NWORKLOADS];

	if (opt->sweep && !workloads[i].sweep)
		return false;
	if (!opt->workloads)
		return !workloads[i].opt_in;
	for (size_t k = 0; k < NWORKLOADS; k++)
		wnames[k] = workloads[k].name;
	return (parse_names("--workload", opt->workloads, wnames, NWORKLOADS) >> i) & 1;
}

static void print_header(const struct bench *b)
{
	bool can_drop = access("/proc/sys/vm/drop_caches", W_OK) == 0;
	struct utsname u;

	if (uname(&u) != 0)
		snprintf(u.release, sizeof(u.release), "?");
	printf(PROG ": upager %s; Linux %s; %ld CPUs, load average %.2f; MemTotal %s, "
	       "MemAvailable %s; data files in %s\n",
	       upager_version(), u.release, sysconf(_SC_NPROCESSORS_ONLN), load_average(),
	       UNITS_SHORT(proc_value("/proc/meminfo", "MemTotal:") * 1024), UNITS_SHORT(mem_available()),
	       tmp_dir());
	printf("L %s; D %s; upager page size %s; %u thread%s; key workloads: %.1f s or %" PRIu64
	       " keys per run; advice: %s\n",
	       UNITS_SHORT(b->limit),
	       b->opt.sweep ? "2, 4, 8, 16 L (sweep)" : UNITS_SHORT(b->data), UNITS_SHORT(b->page_size), b->threads,
	       b->threads == 1 ? "" : "s", b->seconds, b->max_ops,
	       b->opt.advise ? "sequential/random" : "none");
	if (cg_mounts.v1[0])
		printf("cgroups: v1 memory controller at %s (group " PROG "-%d at its root, one "
		       "run at a time)\n",
		       cg_mounts.v1, (int)getpid());
	else if (cg_mounts.v2[0])
		printf("cgroups: v2 at %s (group " PROG "-%d with memory.max, if the root "
		       "delegates memory)\n",
		       cg_mounts.v2, (int)getpid());
	else
		printf("cgroups: NONE: mmap, pread and cold upager runs are unconstrained\n");
	printf("regimes: hot = file in the page cache before each run (mmap/pread cgroup L "
	       "cannot limit those already-charged pages); cold = page cache dropped before "
	       "each run%s, mmap/pread in cgroup L, upager in cgroup L+5%%+16M\n",
	       can_drop ? "" : " (NOT POSSIBLE: drop_caches not writable; cold = hot)");
	printf("umap: %s\n", b->opt.umap && *b->opt.umap ? b->opt.umap
	                                                  : "none given (--umap PREFIX): skipped");
	printf("every system runs in its own child; peak RSS = max(its VmHWM, RSS sampled "
	       "every 5 ms while timed); ram = in-RAM "
	       "copy (bound), only where D < MemAvailable/2\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct upager_config in, out;
	struct bench b;
	uint64_t sizes[sizeof(sweep_ratios) / sizeof(sweep_ratios[0])];
	size_t nsizes = 0, measured = 0;
	bool any_data = false;
	uint64_t t0 = now_ns();

	memset(&b, 0, sizeof(b));
	parse_options(argc, argv, &b.opt);
	b.limit = b.opt.limit ? b.opt.limit : b.opt.quick ? QUICK_LIMIT : FULL_LIMIT;
	b.data = b.opt.data ? b.opt.data : DATA_OVER_LIMIT * b.limit;
	b.data -= b.data % MiB;
	b.seconds = b.opt.seconds > 0 ? b.opt.seconds : b.opt.quick ? QUICK_SECONDS : FULL_SECONDS;
	b.max_ops = b.opt.max_ops ? b.opt.max_ops : b.opt.quick ? QUICK_MAX_OPS : FULL_MAX_OPS;
	b.max_ops -= b.max_ops % KEY_CHUNK;
	b.threads = b.opt.threads ? (unsigned)b.opt.threads : 1;
	memset(&in, 0, sizeof(in));
	in.page_size = b.opt.page_size;
	in.memory_limit = b.limit;
	if (upager_config_resolve(&in, sizeof(in), &out, sizeof(out)) < 0)
		usage_error("--page-size/--limit (or UPAGER_* in the environment): upager refuses "
		            "page size %s with limit %s",
		            UNITS_SHORT(b.opt.page_size), UNITS_SHORT(b.limit));
	b.page_size = out.page_size;

	install_fatal_signal_handlers();
	cg_find_roots();

	b.csv = open_csv(&b);
	if (!b.csv)
		return 1;
	print_header(&b);

	for (size_t i = 0; i < NWORKLOADS; i++) {
		if (!workload_wanted(&b.opt, i))
			continue;
		if (!workloads[i].needs_data) {
			if (workloads[i].run(&b, NULL) < 0)
				b.status = 1;
		} else {
			any_data = true;
		}
	}
	if (any_data) {
		if (b.opt.sweep)
			for (size_t k = 0; k < sizeof(sweep_ratios) / sizeof(sweep_ratios[0]); k++)
				sizes[nsizes++] = sweep_ratios[k] * b.limit;
		else
			sizes[nsizes++] = b.data;
	}
	for (size_t k = 0; k < nsizes; k++) {
		struct dataset ds;

		if (dataset_init(&ds, &b, sizes[k]) < 0) {
			b.status = 1;
			break;
		}
		for (size_t i = 0; i < NWORKLOADS; i++) {
			if (!workloads[i].needs_data || !workload_wanted(&b.opt, i))
				continue;
			if (workloads[i].run(&b, &ds) < 0) {
				say("%s: stopped by an error", workloads[i].name);
				b.status = 1;
			}
		}
		dataset_free(&ds);
	}

	for (size_t i = 0; i < b.nrows; i++)
		measured += b.rows[i].measured || b.rows[i].samples;
	if (fclose(b.csv) != 0) {
		say("%s: %s", b.csv_path, strerror(errno));
		b.status = 1;
	}
	printf("\n%zu rows (%zu measured), %u failed run%s or check%s; wall time %.0f s; load "
	       "average now %.2f; CSV: %s\n",
	       b.nrows, measured, b.failures, b.failures == 1 ? "" : "s",
	       b.failures == 1 ? "" : "s", (double)(now_ns() - t0) / 1e9, load_average(),
	       b.csv_path);
	say("done in %.0f s; CSV: %s", (double)(now_ns() - t0) / 1e9, b.csv_path);
	free(b.rows);
	return b.failures || b.status ? 1 : 0;
}
