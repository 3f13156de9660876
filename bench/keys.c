/*
 * keys.c - the key sequences of upager-bench and the exact-LRU reference.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the key generators (uniform; Zipfian, scrambled), the key memfd
 * with its per-chunk prefix sums, the LRU simulator, and log, exp and pow
 * without libm.
 * Calls: util.c (rng, pwrite_full, pread_full), output.c (say),
 * lib/units.
 *
 * Keys.  A key is the index of an 8-byte word of the file.  The key
 * sequence of each distribution is generated once per data size into a
 * memfd (fixed seeds, so runs compare) and read by every system and by the
 * LRU simulator; the children read it in chunks of KEY_CHUNK keys with
 * pread, so the key array costs no RSS in the children (timed.c says
 * how the threads of a run share the chunks).
 *   - rand: uniform over the D / 8 words.
 *   - zipf (also update and threads' zipf): popularity by a scrambled
 *     Zipfian over the WORDS (not pages): the generator of Gray et al.,
 *     "Quickly generating billion-record synthetic databases" (SIGMOD
 *     1994), as YCSB's ZipfianGenerator, over N = D / 8 items with
 *     theta = 0.99 and zeta(N) precomputed once (summed exactly up to 2^22
 *     terms; for larger N, the first 2^20 terms exactly and the rest by
 *     Euler-Maclaurin to 4 terms, error far below double precision).  The
 *     rank is then scrambled over the words by a bijection (a keyed
 *     mixing permutation of [0, 2^k), cycle-walked into [0, N)), so the
 *     popular words are spread over the file, as YCSB's
 *     ScrambledZipfianGenerator spreads popular keys (YCSB hashes modulo
 *     N, which merges some ranks; the bijection keeps the distribution
 *     exactly Zipfian).  A page's popularity is the sum of its words'.
 *   - update: the same sequence; each key carries a second random bit
 *     choosing read or read-modify-write (half each).
 * The harness needs no libm: the build links none, so log, exp and pow are
 * computed here (m_log, m_exp, m_pow; within a few ulp).
 *
 * Hit ratio (key workloads, upager rows; job.c computes it): next to
 * upager's, the hit ratio of exact LRU with the same number of frames
 * (L / page size) on the same keys (the same prefix of the sequence, as
 * long as the run's accesses), from an O(1) LRU simulator (arrays indexed
 * by the dense page numbers: a doubly linked list and a resident flag),
 * starting empty as upager does.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h> /* INFINITY: a macro, no libm */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *const dist_names[NDISTS] = { "rand", "zipf" };

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

struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta, half_pow;
};

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
struct scramble {
	uint64_t n, mask, k1, k2;
	unsigned shift;
};

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
 * Key sequences
 */

void free_keyset(struct keyset *ks)
{
	if (!ks)
		return;
	if (ks->fd >= 0)
		close(ks->fd);
	free(ks->vsum);
	free(ks->nrmw);
	free(ks->lru);
	free(ks->lru_bits);
	free(ks);
}

/* The key sequence of @dist over @nwords words: @n keys (a multiple of
 * KEY_CHUNK) in a memfd, with the per-chunk prefix sums the checks need. */
struct keyset *make_keyset(uint64_t nwords, enum dist dist, uint64_t n)
{
	struct keyset *ks = calloc(1, sizeof(*ks));
	struct rng g = { SEED ^ mix64(dist + 1) };
	struct scramble sc = { 0 };
	struct zipf z = { 0 };
	uint64_t buf[KEY_CHUNK], vs = 0, rmw = 0, t0 = now_ns();

	if (!ks)
		return NULL;
	ks->fd = -1;
	ks->dist = dist;
	ks->nwords = nwords;
	ks->nchunks = n / KEY_CHUNK;
	ks->n = ks->nchunks * KEY_CHUNK;
	ks->vsum = calloc(ks->nchunks + 1, sizeof(uint64_t));
	ks->nrmw = calloc(ks->nchunks + 1, sizeof(uint64_t));
	ks->fd = memfd_create(PROG "-keys", MFD_CLOEXEC);
	if (!ks->vsum || !ks->nrmw || ks->fd < 0) {
		say("keys: %s", ks->fd < 0 ? strerror(errno) : "out of memory");
		free_keyset(ks);
		return NULL;
	}
	if (dist == DIST_ZIPF) {
		zipf_init(&z, ks->nwords, ZIPF_THETA);
		scramble_init(&sc, ks->nwords, SEED ^ 0x7a697066ull);
		ks->zetan = z.zetan;
	}
	say("generating %" PRIu64 " %s keys over %" PRIu64 " words", ks->n, dist_names[dist],
	    ks->nwords);
	for (uint64_t c = 0; c < ks->nchunks; c++) {
		int rc;

		for (unsigned k = 0; k < KEY_CHUNK; k++) {
			uint64_t w, op = rng_next(&g) & 1;

			if (dist == DIST_UNIFORM)
				w = rng_next(&g) % ks->nwords;
			else
				w = scramble(&sc, zipf_next(&z, unit_double(&g)));
			buf[k] = w | (op ? UPDATE_BIT : 0);
			vs += word_value(w);
			rmw += op;
		}
		rc = pwrite_full(ks->fd, buf, sizeof(buf), c * sizeof(buf));
		if (rc < 0) {
			say("keys: write: %s", strerror(-rc));
			free_keyset(ks);
			return NULL;
		}
		ks->vsum[c + 1] = vs;
		ks->nrmw[c + 1] = rmw;
	}
	say("%s keys generated in %.1f s", dist_names[dist], (double)(now_ns() - t0) / 1e9);
	return ks;
}

/* Exact LRU over page numbers with @frames frames on the whole sequence,
 * recording the hits at every chunk boundary: an O(1) LRU (doubly linked
 * list over arrays indexed by page number, pages being dense). */
int lru_simulate(struct keyset *ks, uint64_t ps, uint64_t frames)
{
	const uint32_t NIL = UINT32_MAX;
	uint64_t npages = (ks->nwords * 8 + ps - 1) / ps, count = 0, hits = 0, t0 = now_ns();
	unsigned shift = 0;
	uint32_t head = NIL, tail = NIL, *prev, *next;
	uint8_t *in;
	uint64_t buf[KEY_CHUNK];
	int rc = 0;

	if (ks->lru && ks->lru_ps == ps && ks->lru_frames == frames)
		return 0;
	while ((8ull << shift) < ps)
		shift++; /* page = word >> shift */
	if (npages >= NIL)
		return -EINVAL;
	free(ks->lru);
	free(ks->lru_bits);
	ks->lru = calloc(ks->nchunks + 1, sizeof(uint64_t));
	ks->lru_bits = calloc(ks->n / 64 + 1, sizeof(uint64_t));
	prev = malloc(npages * sizeof(uint32_t));
	next = malloc(npages * sizeof(uint32_t));
	in = calloc(npages, 1);
	if (!ks->lru || !ks->lru_bits || !prev || !next || !in) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t c = 0; c < ks->nchunks; c++) {
		rc = pread_full(ks->fd, buf, sizeof(buf), c * sizeof(buf));
		if (rc < 0)
			goto out;
		for (unsigned k = 0; k < KEY_CHUNK; k++) {
			uint32_t p = (uint32_t)((buf[k] & KEY_WORD) >> shift);

			if (in[p]) {
				uint64_t i = c * KEY_CHUNK + k;

				hits++;
				ks->lru_bits[i / 64] |= 1ull << (i % 64);
				if (p == head)
					continue;
				/* unlink p (it is not the head, so prev[p] != NIL) */
				next[prev[p]] = next[p];
				if (next[p] != NIL)
					prev[next[p]] = prev[p];
				else
					tail = prev[p];
			} else if (count == frames) {
				uint32_t t = tail; /* evict the least recently used */

				in[t] = 0;
				tail = prev[t];
				if (tail != NIL)
					next[tail] = NIL;
				else
					head = NIL;
			} else {
				count++;
			}
			in[p] = 1;
			prev[p] = NIL;
			next[p] = head;
			if (head != NIL)
				prev[head] = p;
			else
				tail = p;
			head = p;
		}
		ks->lru[c + 1] = hits;
	}
	ks->lru_ps = ps;
	ks->lru_frames = frames;
	say("LRU simulated on %" PRIu64 " %s keys (%" PRIu64 " frames of %s) in %.1f s: hit "
	    "ratio %.4f",
	    ks->n, dist_names[ks->dist], frames, UNITS_SHORT(ps), (double)(now_ns() - t0) / 1e9,
	    (double)hits / (double)ks->n);
out:
	if (rc < 0) {
		free(ks->lru);
		free(ks->lru_bits);
		ks->lru = NULL;
		ks->lru_bits = NULL;
	}
	free(prev);
	free(next);
	free(in);
	return rc;
}

/* LRU hits among the first @m keys. */
uint64_t lru_hits(const struct keyset *ks, uint64_t m)
{
	uint64_t c = m / KEY_CHUNK, h = ks->lru[c];

	for (uint64_t i = c * KEY_CHUNK; i < m; i++)
		h += (ks->lru_bits[i / 64] >> (i % 64)) & 1;
	return h;
}
