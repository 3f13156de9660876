/*
 * units.c - sizes for upager-bench: parse "64M", print "1.5G".
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: parse_size() and fmt_size() (and the SZ() macro of bench.h).
 * Calls: libc only.
 *
 * parse_size() accepts what upager accepts in its UPAGER_* variables
 * (the same grammar as src/options.c), so an option and a variable mean
 * the same.  The examples parse and print sizes too: this file is meant to
 * give way to the small helper library they will share with the harness.
 */
#include "bench.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>

/* "123", "64K", "1M", "2G", "1T" (powers of 1024): no leading sign,
 * optional spaces around, one optional suffix letter (K, M, G or T, either
 * case), an optional "B"/"iB".  0, or -EINVAL (empty, not a number,
 * unknown suffix, overflow). */
int parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0, mult = 1;
	bool digits = false;

	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		digits = true;
	}
	if (!digits)
		return -EINVAL;
	switch (toupper((unsigned char)*p)) {
	case 'K': mult = 1ull << 10; p++; break;
	case 'M': mult = 1ull << 20; p++; break;
	case 'G': mult = 1ull << 30; p++; break;
	case 'T': mult = 1ull << 40; p++; break;
	default: break;
	}
	if (mult > 1 && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'B' || *p == 'b')
		p++;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* "2G", "256M", "1.5G", "4K", "100B". */
const char *fmt_size(char *buf, size_t len, uint64_t v)
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
