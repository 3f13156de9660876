/*
 * opt.c - OPT on traces: L. A. Belady, "A study of replacement algorithms
 * for a virtual-storage computer", IBM Systems Journal 5(2), 1966 (MIN):
 * evict the page referenced farthest in the future.  The next use of every
 * reference comes from one backward pass; resident pages sit in a max-heap
 * keyed by their next use, so a trace costs O(n log frames).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the next-use pass and the heap.  Calls: libc only.
 */
#include "replacement.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

/* -------------------------------------------------------------------------
 * OPT (Belady's MIN)
 */

int repl_next_use(const uint32_t *trace, size_t n, uint32_t npages, uint32_t **next)
{
	uint32_t *last, *nx;

	if (n > REPL_MAX_REFS || npages == 0 || npages > REPL_MAX_PAGES)
		return -EINVAL;
	last = malloc(npages * sizeof(uint32_t));
	nx = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!last || !nx) {
		free(last);
		free(nx);
		return -ENOMEM;
	}
	memset(last, 0xff, npages * sizeof(uint32_t)); /* REPL_NEVER */
	for (size_t i = n; i-- > 0;) {
		if (trace[i] >= npages) {
			free(last);
			free(nx);
			return -EINVAL;
		}
		nx[i] = last[trace[i]];
		last[trace[i]] = (uint32_t)i;
	}
	free(last);
	*next = nx;
	return 0;
}

/* A max-heap of the resident pages by their next use; pos[] is each page's
 * place in it (NIL: not resident). */
struct heap {
	uint32_t *page, *pos, *key; /* key: per page */
	uint64_t len;
};

static void heap_put(struct heap *h, uint64_t i, uint32_t p)
{
	h->page[i] = p;
	h->pos[p] = (uint32_t)i;
}

static void heap_up(struct heap *h, uint64_t i)
{
	uint32_t p = h->page[i];

	while (i > 0) {
		uint64_t up = (i - 1) / 2;

		if (h->key[h->page[up]] >= h->key[p])
			break;
		heap_put(h, i, h->page[up]);
		i = up;
	}
	heap_put(h, i, p);
}

static void heap_down(struct heap *h, uint64_t i)
{
	uint32_t p = h->page[i];

	for (;;) {
		uint64_t c = 2 * i + 1;

		if (c >= h->len)
			break;
		if (c + 1 < h->len && h->key[h->page[c + 1]] > h->key[h->page[c]])
			c++;
		if (h->key[h->page[c]] <= h->key[p])
			break;
		heap_put(h, i, h->page[c]);
		i = c;
	}
	heap_put(h, i, p);
}

int repl_opt(const uint32_t *trace, const uint32_t *next, size_t n, uint32_t npages,
             uint64_t frames, uint64_t *hits, uint64_t *hit_bits)
{
	struct heap h = { 0 };
	uint64_t nh = 0;

	if (n > REPL_MAX_REFS || npages == 0 || npages > REPL_MAX_PAGES || frames == 0 || !next)
		return -EINVAL;
	if (frames > npages)
		frames = npages;
	h.page = malloc(frames * sizeof(uint32_t));
	h.pos = malloc(npages * sizeof(uint32_t));
	h.key = malloc(npages * sizeof(uint32_t));
	if (!h.page || !h.pos || !h.key) {
		free(h.page);
		free(h.pos);
		free(h.key);
		return -ENOMEM;
	}
	memset(h.pos, 0xff, npages * sizeof(uint32_t));
	if (hit_bits)
		memset(hit_bits, 0, (n + 63) / 64 * sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		uint32_t p = trace[i];

		if (p >= npages) {
			nh = UINT64_MAX;
			break;
		}
		h.key[p] = next[i];
		if (h.pos[p] != NIL) {
			nh++;
			if (hit_bits)
				hit_bits[i / 64] |= 1ull << (i % 64);
			heap_up(&h, h.pos[p]); /* its next use only moves later */
		} else if (h.len < frames) {
			h.len++;
			heap_put(&h, h.len - 1, p);
			heap_up(&h, h.len - 1);
		} else {
			h.pos[h.page[0]] = NIL; /* evict the farthest next use */
			heap_put(&h, 0, p);
			heap_down(&h, 0);
		}
	}
	free(h.page);
	free(h.pos);
	free(h.key);
	if (nh == UINT64_MAX)
		return -EINVAL;
	*hits = nh;
	return 0;
}
