/*
 * units.c - parsing and formatting of byte counts (see units.h): the one
 * copy that examples/ and bench/ share.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int units_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift != 0 && (*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
		end += 2;
	else if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int units_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long n;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*v = n;
	return 0;
}

const char *units_format(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
	static const unsigned shifts[] = { 40, 30, 20, 10 };

	for (size_t i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		uint64_t unit = (uint64_t)1 << shifts[i];

		if (v >= unit && v % unit == 0) {
			snprintf(buf, len, "%" PRIu64 " %s", v / unit, units[i]);
			return buf;
		}
		if (v >= unit * 10) {
			snprintf(buf, len, "%.1f %s", (double)v / (double)unit, units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 " bytes", v);
	return buf;
}

const char *units_format_short(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = "BKMGT";
	double x = (double)v;
	unsigned i = 0;

	while (x >= 1024 && i < 4) {
		x /= 1024;
		i++;
	}
	if (x == (double)(uint64_t)x)
		snprintf(buf, len, "%" PRIu64 "%c", (uint64_t)x, suffix[i]);
	else
		snprintf(buf, len, "%.1f%c", x, suffix[i]);
	return buf;
}
