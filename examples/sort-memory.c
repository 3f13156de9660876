/*
 * sort-memory.c - upager-sort's own memory: keeping glibc's qsort in place
 * (the RLIMIT_DATA guard), and figures of /proc/self/status.
 *
 * glibc's qsort (2.36, Debian 12) is a merge sort that first copies the
 * array into a malloc'd buffer of the array's size whenever that size is
 * below a quarter of physical memory; only when the malloc fails does it
 * fall back to its in-place quicksort.  The copy would put the whole file
 * into anonymous memory, outside upager, and make the memory limit a
 * fiction.  So, for the duration of qsort only, the soft RLIMIT_DATA is
 * lowered to the data segment in use now (VmData in /proc/self/status) plus
 * a margin smaller than the file: the file-sized malloc fails with ENOMEM
 * and glibc sorts in place, through the mapping.  The margin leaves room for
 * ordinary small allocations (of upager's threads, say).  upager's own
 * memory (MAP_SHARED frames, PROT_NONE reservations) does not count toward
 * RLIMIT_DATA, which since Linux 4.7 covers private writable mappings and
 * the heap only.  The kernel may log once "VmData ... exceed data ulimit":
 * that is this refusal, and expected.
 *
 * A file smaller than DATA_MARGIN_MIN bytes may still be copied (it is that
 * small); newer glibc versions that sort in place need none of this, and it
 * does them no harm.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "upager-sort.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA_MARGIN_MAX (64 * MiB)
#define DATA_MARGIN_MIN MiB

/*
 * Under AddressSanitizer (configure --enable-sanitizers), malloc is ASan's,
 * and by default ASan aborts the process when an allocation fails instead
 * of returning NULL, so glibc's qsort would never reach its fallback.  Ask
 * for NULL; ASAN_OPTIONS in the environment still takes precedence.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UPAGER_SORT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UPAGER_SORT_ASAN 1
#endif
#endif

#ifdef UPAGER_SORT_ASAN
const char *__asan_default_options(void);

__attribute__((used, visibility("default"))) const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

long long status_kib(const char *name)
{
	size_t len = strlen(name);
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			v = strtoll(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

void data_guard_lower(struct data_guard *g, uint64_t file_bytes, bool quiet)
{
	uint64_t margin = file_bytes / 2;
	struct rlimit lim;
	long long vmdata;
	uint64_t target;

	g->lowered = false;
	if (margin > DATA_MARGIN_MAX)
		margin = DATA_MARGIN_MAX;
	if (margin < DATA_MARGIN_MIN)
		margin = DATA_MARGIN_MIN;
	vmdata = status_kib("VmData");
	if (vmdata < 0) {
		if (!quiet)
			fprintf(stderr, PROG ": warning: no VmData in /proc/self/status; "
			        "qsort may copy the file to the heap\n");
		return;
	}
	if (getrlimit(RLIMIT_DATA, &g->saved) != 0) {
		if (!quiet)
			fprintf(stderr, PROG ": warning: getrlimit(RLIMIT_DATA): %s\n",
			        strerror(errno));
		return;
	}
	target = (uint64_t)vmdata * KiB + margin;
	if (g->saved.rlim_cur != RLIM_INFINITY && g->saved.rlim_cur <= target)
		return; /* already at least as tight */
	lim.rlim_cur = target;
	lim.rlim_max = g->saved.rlim_max;
	if (setrlimit(RLIMIT_DATA, &lim) != 0) {
		if (!quiet)
			fprintf(stderr, PROG ": warning: setrlimit(RLIMIT_DATA): %s; "
			        "qsort may copy the file to the heap\n", strerror(errno));
		return;
	}
	g->lowered = true;
}

void data_guard_restore(struct data_guard *g)
{
	if (g->lowered && setrlimit(RLIMIT_DATA, &g->saved) != 0)
		fprintf(stderr, PROG ": warning: cannot restore RLIMIT_DATA: %s\n",
		        strerror(errno));
	g->lowered = false;
}
