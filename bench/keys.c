/*
 * keys.c - the key sequences of upager-bench and the exact-LRU reference.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the key memfd with its per-chunk prefix sums, and the LRU hit
 * record of a key sequence.
 * Calls: keygen.c (the generators), replacement.c (LRU), util.c (rng,
 * pwrite_full, pread_full), output.c (say), lib/units.
 *
 * Keys.  A key is the index of an 8-byte word of the file.  The key
 * sequence of each distribution is generated once per data size into a
 * memfd (keygen.c's generators over the D / 8 words, fixed seeds, so runs
 * compare) and read by every system and by the LRU simulation; the
 * children read it in chunks of KEY_CHUNK keys with pread, so the key
 * array costs no RSS in the children (timed.c says how the threads of a
 * run share the chunks).
 *   - rand: uniform over the D / 8 words.
 *   - zipf (also update and threads' zipf): popularity by a scrambled
 *     Zipfian over the WORDS (not pages), theta = 0.99 (keygen.c); a
 *     page's popularity is the sum of its words'.
 *   - update: the same sequence; each key's UPDATE_BIT chooses read or
 *     read-modify-write (half each).
 *
 * Hit ratio (key workloads, upager rows; job.c computes it): next to
 * upager's, the hit ratio of exact LRU with the same number of frames
 * (L / page size) on the same keys (the same prefix of the sequence, as
 * long as the run's accesses), from replacement.c's LRU on the keys'
 * pages, starting empty as upager does.  upager-mrc (mrc.c) runs the other
 * policies on the same streams.
 */
#include "bench.h"
#include "replacement.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *const dist_names[NDISTS] = { "rand", "zipf" };

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
	struct keygen kg;
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
	keygen_init(&kg, dist, ks->nwords);
	ks->zetan = kg.z.zetan;
	say("generating %" PRIu64 " %s keys over %" PRIu64 " words", ks->n, dist_names[dist],
	    ks->nwords);
	for (uint64_t c = 0; c < ks->nchunks; c++) {
		int rc;

		for (unsigned k = 0; k < KEY_CHUNK; k++) {
			uint64_t key = keygen_next(&kg);

			buf[k] = key;
			vs += word_value(key & KEY_WORD);
			rmw += !!(key & UPDATE_BIT);
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

/* Exact LRU (replacement.c) over the keys' page numbers with @frames
 * frames on the whole sequence, recording the hit of every key and the
 * hits at every chunk boundary. */
int lru_simulate(struct keyset *ks, uint64_t ps, uint64_t frames)
{
	uint64_t npages = (ks->nwords * 8 + ps - 1) / ps, hits = 0, t0 = now_ns();
	unsigned shift = 0;
	struct repl *lru = NULL;
	uint64_t buf[KEY_CHUNK];
	int rc;

	if (ks->lru && ks->lru_ps == ps && ks->lru_frames == frames)
		return 0;
	while ((8ull << shift) < ps)
		shift++; /* page = word >> shift */
	if (npages > REPL_MAX_PAGES)
		return -EINVAL;
	free(ks->lru);
	free(ks->lru_bits);
	ks->lru = calloc(ks->nchunks + 1, sizeof(uint64_t));
	ks->lru_bits = calloc(ks->n / 64 + 1, sizeof(uint64_t));
	rc = ks->lru && ks->lru_bits ? repl_create(&lru, REPL_LRU, (uint32_t)npages, frames)
	                             : -ENOMEM;
	if (rc < 0)
		goto out;
	for (uint64_t c = 0; c < ks->nchunks; c++) {
		rc = pread_full(ks->fd, buf, sizeof(buf), c * sizeof(buf));
		if (rc < 0)
			goto out;
		for (unsigned k = 0; k < KEY_CHUNK; k++) {
			uint64_t i = c * KEY_CHUNK + k;

			if (repl_access(lru, (uint32_t)((buf[k] & KEY_WORD) >> shift))) {
				hits++;
				ks->lru_bits[i / 64] |= 1ull << (i % 64);
			}
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
	repl_destroy(lru);
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
