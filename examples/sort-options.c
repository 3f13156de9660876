/*
 * sort-options.c - upager-sort's command line: the options, --help and
 * --version, and the checks that end a bad command line with a message and
 * exit status 2 (lib/cli.c).  Sizes are parsed by lib/units.c.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "upager-sort.h"
#include "cli.h"
#include "units.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SIZE GiB          /* --size */
#define DEFAULT_SEED 1            /* --seed: fixed, so runs are comparable */

/* "upager-sort: <problem>", the --help hint, exit 2. */
#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

static const struct option long_options[] = {
	{ "memory-limit", required_argument, NULL, 'm' },
	{ "page-size", required_argument, NULL, 'p' },
	{ "size", required_argument, NULL, 's' },
	{ "keep", no_argument, NULL, 'k' },
	{ "seed", required_argument, NULL, 'S' },
	{ "tmpdir", required_argument, NULL, 'T' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS] [FILE]\n"
		"Sort FILE, an array of little-endian uint64 keys, in place with qsort(3)\n"
		"through one upager mapping under a memory limit, then verify it.\n"
		"Without FILE, sort a generated file of random keys and remove it.\n"
		"\n"
		"  -m, --memory-limit SIZE  bytes of the file resident at once\n"
		"                           (default: 1/8 of the file, at least 4 pages)\n"
		"  -p, --page-size SIZE     upager page size, a power of two from the\n"
		"                           system page size to 2M (default 64K, or\n"
		"                           upager's for limits below 4M)\n"
		"  -s, --size SIZE          size of the generated file (default 1G)\n"
		"  -k, --keep               keep the generated file\n"
		"      --seed N             seed of the generated keys (default %d)\n"
		"      --tmpdir DIR         where to generate the file (default\n"
		"                           $UPAGER_TMPDIR, $TMPDIR, /var/tmp)\n"
		"  -q, --quiet              no progress or statistics on stderr\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n"
		"SIZE is a number of bytes with an optional K, M, G or T suffix (powers\n"
		"of 1024).  Exit status: 0 sorted and verified, 1 verification failed\n"
		"or an error, 2 bad usage.\n",
		DEFAULT_SEED);
}

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

void parse_options(int argc, char **argv, struct options *o)
{
	long sys_page = sysconf(_SC_PAGESIZE);
	int c;

	memset(o, 0, sizeof(*o));
	o->size = DEFAULT_SIZE;
	o->seed = DEFAULT_SEED;

	while ((c = getopt_long(argc, argv, "m:p:s:kqhV", long_options, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (units_parse_size(optarg, &o->memory_limit) != 0 || o->memory_limit == 0)
				usage_error("invalid --memory-limit '%s': expected a size "
				            "above 0 such as 64M or 1G", optarg);
			break;
		case 'p':
			if (units_parse_size(optarg, &o->page_size) != 0)
				usage_error("invalid --page-size '%s': expected a size "
				            "such as 4K or 64K", optarg);
			if (!is_pow2(o->page_size) || o->page_size < (uint64_t)sys_page ||
			    o->page_size > UPAGER_MAX_PAGE_SIZE)
				usage_error("invalid --page-size '%s': must be a power of two "
				            "from %ld to %" PRIu64 " bytes",
				            optarg, sys_page, (uint64_t)UPAGER_MAX_PAGE_SIZE);
			break;
		case 's':
			if (units_parse_size(optarg, &o->size) != 0)
				usage_error("invalid --size '%s': expected a size such as "
				            "256M or 4G", optarg);
			if (o->size == 0 || o->size % 8 != 0)
				usage_error("invalid --size '%s': must be a positive multiple "
				            "of 8 bytes (one key)", optarg);
			if (o->size > UPAGER_MAX_REGION_BYTES || o->size > SIZE_MAX)
				usage_error("invalid --size '%s': upager maps at most %s",
				            optarg, UNITS_STR(UPAGER_MAX_REGION_BYTES));
			break;
		case 'k':
			o->keep = true;
			break;
		case 'S':
			if (units_parse_u64(optarg, &o->seed) != 0)
				usage_error("invalid --seed '%s': expected an unsigned "
				            "64-bit integer", optarg);
			break;
		case 'T':
			if (*optarg == '\0')
				usage_error("invalid --tmpdir '': empty directory name");
			o->tmpdir = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf(PROG " (upager) %s\nlibupager %s\n", UPAGER_VERSION_STRING,
			       upager_version());
			exit(EXIT_SUCCESS);
		default: /* getopt_long has printed the problem */
			cli_try_help(PROG);
		}
	}
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		usage_error("too many arguments: '%s' (at most one FILE)", argv[optind]);
}

const char *options_tmpdir(const struct options *o)
{
	const char *d = o->tmpdir;

	if (d == NULL || *d == '\0')
		d = getenv("UPAGER_TMPDIR");
	if (d == NULL || *d == '\0')
		d = getenv("TMPDIR");
	if (d == NULL || *d == '\0')
		d = "/var/tmp";
	return d;
}
