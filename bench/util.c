/*
 * util.c - small helpers of upager-bench: randomness, CPU pinning, /proc,
 * whole-buffer I/O.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the helpers that know nothing of workloads or systems (the inline
 * ones, now_ns, mix64, rng_next and sum_words, are in bench.h).
 * Calls: libc only.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h> /* NAN: a macro, no libm */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fisher-Yates over @a[0..n-1]. */
void shuffle(size_t *a, size_t n, struct rng *g)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next(g) % i), t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* A random permutation of 0..n-1. */
void permutation(size_t *a, size_t n, struct rng *g)
{
	for (size_t i = 0; i < n; i++)
		a[i] = i;
	shuffle(a, n, g);
}

/* Pin the calling thread (threads it creates inherit the mask) to CPU 0. */
void pin_cpu(struct pin *pin)
{
	cpu_set_t set;

	pin->pinned = false;
	if (sched_getaffinity(0, sizeof(pin->old), &pin->old) != 0) {
		snprintf(pin->what, sizeof(pin->what), "not pinned (sched_getaffinity: %s)",
		         strerror(errno));
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(PIN_CPU, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		snprintf(pin->what, sizeof(pin->what), "not pinned (sched_setaffinity CPU %d: %s)",
		         PIN_CPU, strerror(errno));
		return;
	}
	pin->pinned = true;
	snprintf(pin->what, sizeof(pin->what), "process pinned to CPU %d during timing", PIN_CPU);
}

void unpin_cpu(struct pin *pin)
{
	if (pin->pinned)
		sched_setaffinity(0, sizeof(pin->old), &pin->old);
	pin->pinned = false;
}

long max_map_count(void)
{
	long v = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1 || v < 1024)
			v = 65530;
		fclose(f);
	}
	return v;
}

const char *tmp_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/var/tmp";
}

/* The number after @key in a "Key: value" file such as /proc/self/status
 * (kB there), or 0. */
uint64_t proc_value(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			v = strtoull(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

uint64_t mem_available(void)
{
	return proc_value("/proc/meminfo", "MemAvailable:") * 1024;
}

/* pread or pwrite all of it, or -errno (-EIO on an unexpected end of
 * file, or a write that wrote nothing). */
static int rw_full(int fd, char *buf, size_t len, uint64_t off, bool write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, buf + done, len - done, (off_t)(off + done))
		                  : pread(fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return rw_full(fd, buf, len, off, false);
}

int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	return rw_full(fd, (char *)buf, len, off, true);
}

/* An O_RDWR file in the temporary directory, named PROG@infix-XXXXXX
 * (the name left in @path, for messages) and unlinked at once (so nothing
 * is left behind, whatever happens), or -1 (message printed). */
int tmp_file(const char *infix, char *path, size_t len)
{
	int fd;

	if (snprintf(path, len, "%s/" PROG "%s-XXXXXX", tmp_dir(), infix) >= (int)len) {
		fprintf(stderr, PROG ": temporary directory name too long\n");
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": mkstemp %s: %s\n", path, strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -errno;
	close(fd);
	return rc;
}

/* The 1-minute load average: other work on the machine skews results. */
double load_average(void)
{
	double l = NAN;
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = NAN;
		fclose(f);
	}
	return l;
}
