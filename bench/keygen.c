/*
 * keygen.c - the key generators of upager-bench and upager-mrc: uniform
 * and Zipfian (scrambled) keys.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the generators (struct keygen), and log, exp and pow without libm.
 * Calls: nothing but bench.h's inline helpers (mix64, rng_next).
 *
 * A generator draws keys in [0, n), with fixed seeds, so runs compare:
 *   - DIST_UNIFORM: uniform over [0, n).
 *   - DIST_ZIPF: popularity by a scrambled Zipfian: the generator of Gray
 *     et al., "Quickly generating billion-record synthetic databases"
 *     (SIGMOD 1994), as YCSB's ZipfianGenerator, over n items with
 *     theta = ZIPF_THETA and zeta(n) precomputed once (summed exactly up
 *     to 2^22 terms; for larger n, the first 2^20 terms exactly and the
 *     rest by Euler-Maclaurin to 4 terms, error far below double
 *     precision).  The rank is then scrambled over [0, n) by a bijection
 *     (a keyed mixing permutation of [0, 2^k), cycle-walked into [0, n)),
 *     so the popular keys are spread out, as YCSB's
 *     ScrambledZipfianGenerator spreads them (YCSB hashes modulo n, which
 *     merges some ranks; the bijection keeps the distribution exactly
 *     Zipfian).
 * Each key also carries a random bit (UPDATE_BIT) that the update
 * workload reads as read or read-modify-write (half each); other users
 * mask it off (KEY_WORD).  upager-bench draws its keys over the words of
 * its data file (keys.c); upager-mrc over pages, or over words turned
 * into pages.
 * The harness needs no libm: the build links none, so log, exp and pow are
 * computed here (m_log, m_exp, m_pow; within a few ulp).
 */
#include "bench.h"

#include <math.h> /* INFINITY: a macro, no libm */

/* -------------------------------------------------------------------------
 * log, exp and pow without libm (the build links none)
 */

static const double LN2_HI = 6.93147180369123816490e-01; /* 32 low bits 0 */
static const double LN2_LO = 1.90821492927058770002e-10;
static const double LN2 = 0.693147180559945309417;

/* x * 2^e */
static double scale2(double x, int e)
{
	union {
		double d;
		uint64_t u;
	} v;

	while (e > 1000) {
		x *= 0x1p1000;
		e -= 1000;
	}
	while (e < -1000) {
		x *= 0x1p-1000;
		e += 1000;
	}
	v.u = (uint64_t)(e + 1023) << 52;
	return x * v.d;
}

/* Natural logarithm of a positive finite x: x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)), log m = 2 atanh((m - 1) / (m + 1)) by its series. */
static double m_log(double x)
{
	union {
		double d;
		uint64_t u;
	} v = { x };
	double m, s, s2, term, sum = 0;
	int e;

	if (!(x > 0))
		return -INFINITY;
	if (x < 0x1p-1000)
		return m_log(x * 0x1p200) - 200 * LN2;
	e = (int)((v.u >> 52) & 0x7ff) - 1023;
	v.u = (v.u & ((1ull << 52) - 1)) | (1023ull << 52);
	m = v.d;
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	s = (m - 1) / (m + 1); /* |s| <= 0.1716 */
	s2 = s * s;
	term = s;
	for (int k = 1; k <= 41; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2 * sum + e * LN2_LO + e * LN2_HI;
}

/* e^x: x = n ln 2 + r, |r| <= ln 2 / 2, Taylor series of e^r. */
static double m_exp(double x)
{
	double n, r, term = 1, sum = 1;

	if (x > 709.78)
		return INFINITY;
	if (x < -745.2)
		return 0;
	n = (double)(long long)(x / LN2 + (x >= 0 ? 0.5 : -0.5));
	r = (x - n * LN2_HI) - n * LN2_LO;
	for (int k = 1; k <= 24; k++) {
		term *= r / k;
		sum += term;
	}
	return scale2(sum, (int)n);
}

/* x^y for x > 0. */
static double m_pow(double x, double y)
{
	return x == 1 ? 1 : m_exp(y * m_log(x));
}

/* -------------------------------------------------------------------------
 * Key generators: Zipfian (Gray et al. / YCSB) and the scrambling bijection
 */

/* zeta(n, theta) = sum of i^-theta for i = 1..n.  Exact (smallest terms
 * first) up to 2^22 terms; beyond, 2^20 - 1 terms exactly and the rest,
 * i = M..n, by Euler-Maclaurin: the integral, the end-point mean and the
 * B2 and B4 derivative terms (the next term is below 1e-30 at M = 2^20). */
static double zeta(uint64_t n, double theta)
{
	const uint64_t M = 1u << 20;
	double s = 0, a, b, t = theta, ia, ib;

	if (n <= 4 * M) {
		for (uint64_t i = n; i >= 1; i--)
			s += m_pow((double)i, -t);
		return s;
	}
	for (uint64_t i = M - 1; i >= 1; i--)
		s += m_pow((double)i, -t);
	a = (double)M;
	b = (double)n;
	ia = m_pow(a, -t);
	ib = m_pow(b, -t);
	s += (m_pow(b, 1 - t) - m_pow(a, 1 - t)) / (1 - t); /* integral */
	s += (ia + ib) / 2;
	s += (-t * ib / b + t * ia / a) / 12;                 /* B2/2! (f'(b) - f'(a)) */
	s -= (-t * (t + 1) * (t + 2) * ib / (b * b * b) +     /* B4/4! (f'''(b) - f'''(a)) */
	      t * (t + 1) * (t + 2) * ia / (a * a * a)) / 720;
	return s;
}

static void zipf_init(struct zipf *z, uint64_t n, double theta)
{
	double zeta2 = 1 + m_pow(0.5, theta);

	z->n = n;
	z->theta = theta;
	z->alpha = 1 / (1 - theta);
	z->zetan = zeta(n, theta);
	z->eta = (1 - m_pow(2.0 / (double)n, 1 - theta)) / (1 - zeta2 / z->zetan);
	z->half_pow = zeta2; /* 1 + 0.5^theta */
}

/* Rank 0 (most popular) .. n-1, from a uniform u in [0, 1). */
static uint64_t zipf_next(const struct zipf *z, double u)
{
	double uz = u * z->zetan;
	uint64_t v;

	if (uz < 1)
		return 0;
	if (uz < z->half_pow)
		return 1;
	v = (uint64_t)((double)z->n * m_pow(z->eta * u - z->eta + 1, z->alpha));
	return v < z->n ? v : z->n - 1;
}

static double unit_double(struct rng *g)
{
	return (double)(rng_next(g) >> 11) * 0x1p-53;
}

/* A bijection of [0, n): a keyed mixing permutation of [0, 2^k) (adds,
 * multiplications by odd constants and xor-shifts, all modulo 2^k), walked
 * along its cycle until the value falls inside [0, n). */
static void scramble_init(struct scramble *s, uint64_t n, uint64_t seed)
{
	unsigned bits = 0;

	while (bits < 63 && (1ull << bits) < n)
		bits++;
	s->n = n;
	s->mask = bits ? (1ull << bits) - 1 : 0;
	s->shift = bits / 2 + 1;
	s->k1 = mix64(seed);
	s->k2 = mix64(seed + 1);
}

static uint64_t scramble(const struct scramble *s, uint64_t x)
{
	do {
		x = (x + s->k1) & s->mask;
		x = (x * 0x9e3779b97f4a7c15ull) & s->mask;
		x ^= x >> s->shift;
		x = (x * 0xbf58476d1ce4e5b9ull) & s->mask;
		x ^= x >> s->shift;
		x = (x + s->k2) & s->mask;
		x = (x * 0x94d049bb133111ebull) & s->mask;
		x ^= x >> s->shift;
	} while (x >= s->n);
	return x;
}

/* -------------------------------------------------------------------------
 * Generators
 */

void keygen_init(struct keygen *kg, enum dist dist, uint64_t n)
{
	kg->dist = dist;
	kg->n = n;
	kg->g.state = SEED ^ mix64(dist + 1);
	kg->z = (struct zipf){ 0 };
	kg->sc = (struct scramble){ 0 };
	if (dist == DIST_ZIPF) {
		zipf_init(&kg->z, n, ZIPF_THETA);
		scramble_init(&kg->sc, n, SEED ^ 0x7a697066ull);
	}
}

/* The next key: a number in [0, n), with UPDATE_BIT set or clear. */
uint64_t keygen_next(struct keygen *kg)
{
	uint64_t k, op = rng_next(&kg->g) & 1;

	if (kg->dist == DIST_UNIFORM)
		k = rng_next(&kg->g) % kg->n;
	else
		k = scramble(&kg->sc, zipf_next(&kg->z, unit_double(&kg->g)));
	return k | (op ? UPDATE_BIT : 0);
}
