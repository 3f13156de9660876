/*
 * sort-keys.c - upager-sort's keys: their order, a file of pseudo-random
 * keys (splitmix64) written with write(2), and the checks on a FILE given
 * to sort.  The key format and the checksum are inline in upager-sort.h.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate(2) */
#endif

#include "upager-sort.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEN_CHUNK MiB             /* generation writes this much per write(2) */

static uint64_t splitmix64(uint64_t *state)
{
	return mix64(*state += UINT64_C(0x9e3779b97f4a7c15));
}

/* Numeric key -> how it is stored (the same swap). */
static inline uint64_t key_stored(uint64_t value)
{
	return key_value(value);
}

int compare_keys(const void *pa, const void *pb)
{
	uint64_t a, b;

	memcpy(&a, pa, sizeof(a));
	memcpy(&b, pb, sizeof(b));
	a = key_value(a);
	b = key_value(b);
	return (a > b) - (a < b);
}

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

int keys_generate(int fd, const char *path, uint64_t size, uint64_t seed,
                  struct progress *pg)
{
	uint64_t state = seed, done = 0;
	uint64_t *buf;

	/* Reserve the space first: a full disk fails now, not after minutes. */
	if (fallocate(fd, 0, 0, (off_t)size) != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
		fprintf(stderr, PROG ": %s: cannot allocate %" PRIu64 " bytes: %s\n", path,
		        size, strerror(errno));
		return -1;
	}
	buf = malloc(GEN_CHUNK);
	if (buf == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	while (done < size) {
		size_t len = size - done < GEN_CHUNK ? (size_t)(size - done) : GEN_CHUNK;

		for (size_t i = 0; i < len / 8; i++)
			buf[i] = key_stored(splitmix64(&state));
		if (!write_all(fd, buf, len)) {
			fprintf(stderr, PROG ": %s: write: %s\n", path, strerror(errno));
			free(buf);
			return -1;
		}
		done += len;
		progress_advance(pg, done);
	}
	free(buf);
	return 0;
}

int keys_open(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, PROG ": cannot open %s for reading and writing: %s\n", path,
		        strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		fprintf(stderr, PROG ": %s: stat: %s\n", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, PROG ": %s: not a regular file\n", path);
		goto fail;
	}
	if (st.st_size == 0) {
		fprintf(stderr, PROG ": %s: file is empty, nothing to sort\n", path);
		goto fail;
	}
	if (st.st_size % 8 != 0) {
		fprintf(stderr, PROG ": %s: size %lld is not a multiple of 8 bytes "
		        "(the file must hold whole uint64 keys)\n", path, (long long)st.st_size);
		goto fail;
	}
	if ((uint64_t)st.st_size > UPAGER_MAX_REGION_BYTES || (uint64_t)st.st_size > SIZE_MAX) {
		fprintf(stderr, PROG ": %s: size %lld is above upager's %s mapping limit\n",
		        path, (long long)st.st_size, UNITS_STR(UPAGER_MAX_REGION_BYTES));
		goto fail;
	}
	*size = (uint64_t)st.st_size;
	return fd;

fail:
	close(fd);
	return -1;
}
