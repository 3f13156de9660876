/*
 * readme-example-ref.c - test data for readme-example, made without upager:
 * writes N doubles to INPUT, and the same doubles times 2 to EXPECTED,
 * computed in ordinary memory, so that test-readme-example.sh can compare
 * readme-example's result with EXPECTED byte for byte.
 *
 * Usage: readme-example-ref N INPUT EXPECTED
 *
 * The values are a fixed sequence (splitmix64), scaled across many
 * exponents, with zeros, infinities, the largest and smallest doubles at
 * the start (no NaN: its bit pattern after a multiply is the CPU's choice).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	static const double special[] = {
		0.0, -0.0, 1.0, -1.5, INFINITY, -INFINITY, DBL_MAX, -DBL_MAX,
		DBL_MIN, DBL_TRUE_MIN, 0.1, 1e300,
	};
	const size_t nspecial = sizeof(special) / sizeof(special[0]);
	uint64_t state = 1;
	FILE *in, *out;
	char *end;
	unsigned long long n;

	if (argc != 4) {
		fprintf(stderr, "usage: %s N INPUT EXPECTED\n", argv[0]);
		return 2;
	}
	n = strtoull(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0') {
		fprintf(stderr, "%s: bad count '%s'\n", argv[0], argv[1]);
		return 2;
	}
	in = fopen(argv[2], "wb");
	out = fopen(argv[3], "wb");
	if (in == NULL || out == NULL) {
		perror("fopen");
		return 1;
	}
	for (unsigned long long i = 0; i < n; i++) {
		uint64_t r = splitmix64(&state);
		/* A signed 53-bit value times 2^-64 .. 2^63. */
		double x = i < nspecial ? special[i]
		                        : ldexp((double)((int64_t)r >> 11), (int)(r & 127) - 64);
		double y = x * 2;

		if (fwrite(&x, sizeof(x), 1, in) != 1 || fwrite(&y, sizeof(y), 1, out) != 1) {
			perror("fwrite");
			return 1;
		}
	}
	if (fclose(in) != 0 || fclose(out) != 0) {
		perror("fclose");
		return 1;
	}
	return 0;
}
