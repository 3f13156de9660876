/*
 * replacement.c - page replacement policies on traces: FIFO, LRU, Clock
 * and CAR here, CLOCK-Pro in clockpro.c, OPT in opt.c; creating, running
 * and checking any of them.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the state and steps of FIFO, LRU, Clock and CAR, and the dispatch
 * (replacement.h says how the policies are called; replacement-impl.h
 * holds their state).  Calls: clockpro.c, opt.c, libc.
 *
 * All state is in arrays indexed by page number (traces are dense), so a
 * reference costs O(1) (OPT: O(log frames)) with no hashing.
 *
 * FIFO     evicts the page that was made resident first.
 *
 * LRU      evicts the least recently referenced page: a doubly linked list
 *          in recency order over the page arrays.
 *
 * Clock    one hand, one reference bit per page: the second-chance
 *          algorithm (Corbató 1968; Tanenbaum, Modern Operating Systems,
 *          "The Clock Page Replacement Algorithm") as upager's
 *          src/vmscan.c runs it: free frames are taken first; a faulted
 *          page is made accessible, so it enters with its reference bit
 *          set, in the frame of the page it replaced; the hand clears a set
 *          bit and moves on, and evicts the first page whose bit is clear.
 *
 * CLOCK-Pro  S. Jiang, F. Chen, X. Zhang, "CLOCK-Pro: An Effective
 *          Improvement of the CLOCK Replacement", USENIX ATC 2005,
 *          section 4, with its adaptive cold allocation (4.3).  One list
 *          of pages in the order of their (re)entry at the list head:
 *          hot pages, resident cold pages and non-resident cold pages in
 *          their test period; three hands move through it from the tail
 *          to the head and wrap around:
 *            HAND_cold, when a frame is needed, at the next resident cold
 *              page: referenced and in its test period -> hot, at the head
 *              (and the cold allocation m_c grows by one); referenced, not
 *              in test -> a new test period, at the head; unreferenced ->
 *              evicted, staying in the list as non-resident if in its test
 *              period, else leaving it.  It runs until it frees a frame.
 *            HAND_hot, while hot pages exceed m - m_c, at the next hot page
 *              or cold page in test: referenced hot -> bit cleared, to the
 *              head; unreferenced hot -> cold (not in test), in place; cold
 *              in test -> its test period ends.  It runs until it has
 *              turned one hot page cold.
 *            HAND_test, while non-resident cold pages exceed m, at the next
 *              cold page in test: its test period ends.
 *          A test period that ends with the page unreferenced shrinks m_c
 *          by one, a referenced one grows it (4.3); m_c stays in
 *          [1, m - 1] and starts at 1.  A fault on a non-resident page in
 *          its test period makes it hot, at the head (m_c grows); any other
 *          fault inserts a cold page in its test period, or, while frames
 *          are still free and hot pages are fewer than m - m_c, a hot page
 *          (the paper's start-up).  A page enters with its reference bit
 *          clear: the bit records re-references.  The hands' scans would
 *          cost O(m) per fault when few pages are of the kind a hand looks
 *          for (a long scan leaves m_c at 1), so the list is kept as slots
 *          numbered in list order (entry at the head takes the next
 *          number; the numbers are compacted when they run out) with one
 *          hierarchical bitmap per kind of page (a bit per slot, and above
 *          it a bit per nonzero word, up to one word): a hand finds the
 *          next page of its kind in O(log64 slots).  This representation
 *          is ours; the policy is the paper's.
 *
 * CAR      S. Bansal, D. S. Modha, "CAR: Clock with Adaptive
 *          Replacement", FAST 2004, figure 2, line by line: clocks T1
 *          (seen once recently) and T2 (seen at least twice) with
 *          reference bits, LRU history lists B1 and B2 of pages evicted
 *          from them, and the target size p of T1, adapted on hits in the
 *          history (p is a real number: the ratios |B2| / |B1| and
 *          |B1| / |B2| of lines 15 and 18 are not rounded).  A clock
 *          is a queue: its head is under the hand, its tail just behind.
 *
 * OPT      L. A. Belady, "A study of replacement algorithms for a virtual-
 *          storage computer", IBM Systems Journal 5(2), 1966 (MIN): evict
 *          the page referenced farthest in the future.  Offline: the next
 *          use of every reference is computed in one backward pass, and
 *          resident pages sit in a max-heap keyed by their next use, so a
 *          trace costs O(n log frames).
 */
#include "replacement-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const repl_names[REPL_NPOLICIES] = { "fifo", "lru", "clock", "clock-pro", "car",
	                                         "opt" };

int repl_policy_by_name(const char *name)
{
	for (int i = 0; i < REPL_NPOLICIES; i++)
		if (strcmp(name, repl_names[i]) == 0)
			return i;
	return -EINVAL;
}

/* -------------------------------------------------------------------------
 * Lists over the page arrays
 */

static void dl_push_tail(struct repl *r, struct dlist *l, uint32_t p)
{
	r->next[p] = NIL;
	r->prev[p] = l->tail;
	if (l->tail != NIL)
		r->next[l->tail] = p;
	else
		l->head = p;
	l->tail = p;
	l->len++;
}

static void dl_remove(struct repl *r, struct dlist *l, uint32_t p)
{
	if (r->prev[p] != NIL)
		r->next[r->prev[p]] = r->next[p];
	else
		l->head = r->next[p];
	if (r->next[p] != NIL)
		r->prev[r->next[p]] = r->prev[p];
	else
		l->tail = r->prev[p];
	l->len--;
}

static uint32_t dl_pop_head(struct repl *r, struct dlist *l)
{
	uint32_t p = l->head;

	dl_remove(r, l, p);
	return p;
}

/* -------------------------------------------------------------------------
 * FIFO and Clock: an array of frames and a hand
 */

static bool fifo_access(struct repl *r, uint32_t p)
{
	uint32_t v;

	if (r->flags[p] & F_RESIDENT)
		return true;
	if (r->nres < r->frames) {
		r->frame[r->nres++] = p;
	} else {
		v = r->frame[r->hand];
		r->flags[v] = 0;
		r->frame[r->hand] = p;
		r->hand = r->hand + 1 == r->frames ? 0 : r->hand + 1;
	}
	r->flags[p] = F_RESIDENT;
	return false;
}

static bool clock_access(struct repl *r, uint32_t p)
{
	if (r->flags[p] & F_RESIDENT) {
		r->flags[p] |= F_REF;
		return true;
	}
	if (r->nres < r->frames) {
		r->frame[r->nres++] = p; /* a free frame first */
	} else {
		for (;;) {
			uint32_t v = r->frame[r->hand];

			if (!(r->flags[v] & F_REF))
				break;
			r->flags[v] &= (uint8_t)~F_REF; /* second chance */
			r->hand = r->hand + 1 == r->frames ? 0 : r->hand + 1;
		}
		r->flags[r->frame[r->hand]] = 0; /* evict */
		r->frame[r->hand] = p;
		r->hand = r->hand + 1 == r->frames ? 0 : r->hand + 1;
	}
	r->flags[p] = F_RESIDENT | F_REF; /* the faulting access references it */
	return false;
}

/* -------------------------------------------------------------------------
 * LRU
 */

static bool lru_access(struct repl *r, uint32_t p)
{
	if (r->flags[p] & F_RESIDENT) {
		if (r->lru.tail != p) {
			dl_remove(r, &r->lru, p);
			dl_push_tail(r, &r->lru, p);
		}
		return true;
	}
	if (r->nres == r->frames)
		r->flags[dl_pop_head(r, &r->lru)] = 0;
	else
		r->nres++;
	dl_push_tail(r, &r->lru, p);
	r->flags[p] = F_RESIDENT;
	return false;
}

/* -------------------------------------------------------------------------
 * CAR (Bansal and Modha, FAST 2004, figure 2)
 */

static void car_move(struct repl *r, uint32_t p, int to)
{
	struct car *c = &r->car;

	if (c->list[p] != L_NONE)
		dl_remove(r, &c->l[c->list[p]], p);
	c->list[p] = (uint8_t)to;
	if (to != L_NONE)
		dl_push_tail(r, &c->l[to], p);
}

/* replace(): lines 22-39. */
static void car_replace(struct repl *r)
{
	struct car *c = &r->car;

	for (;;) {
		double t1min = c->p > 1 ? c->p : 1;

		if ((double)c->l[L_T1].len >= t1min) {
			uint32_t h = c->l[L_T1].head;

			if (!(r->flags[h] & F_REF)) {
				car_move(r, h, L_B1); /* demote to B1's MRU end */
				r->flags[h] = 0;
				break;
			}
			r->flags[h] &= (uint8_t)~F_REF;
			car_move(r, h, L_T2);
		} else {
			uint32_t h = c->l[L_T2].head;

			if (!(r->flags[h] & F_REF)) {
				car_move(r, h, L_B2);
				r->flags[h] = 0;
				break;
			}
			r->flags[h] &= (uint8_t)~F_REF;
			car_move(r, h, L_T2); /* hand moves on */
		}
	}
	r->nres--;
}

static bool car_access(struct repl *r, uint32_t p)
{
	struct car *c = &r->car;
	double cap = (double)r->frames;
	int where = c->list[p];
	bool in_b = where == L_B1 || where == L_B2;

	if (where == L_T1 || where == L_T2) { /* lines 1-2 */
		r->flags[p] |= F_REF;
		return true;
	}
	if (c->l[L_T1].len + c->l[L_T2].len == r->frames) { /* lines 4-11 */
		car_replace(r);
		if (!in_b && c->l[L_T1].len + c->l[L_B1].len == r->frames)
			car_move(r, c->l[L_B1].head, L_NONE);
		else if (!in_b && c->l[L_T1].len + c->l[L_T2].len + c->l[L_B1].len +
		                          c->l[L_B2].len == 2 * r->frames)
			car_move(r, c->l[L_B2].head, L_NONE);
	}
	if (!in_b) { /* lines 12-13 */
		car_move(r, p, L_T1);
	} else if (where == L_B1) { /* lines 14-16 */
		double d = (double)c->l[L_B2].len / (double)c->l[L_B1].len;

		c->p += d > 1 ? d : 1;
		if (c->p > cap)
			c->p = cap;
		car_move(r, p, L_T2);
	} else { /* lines 17-19 */
		double d = (double)c->l[L_B1].len / (double)c->l[L_B2].len;

		c->p -= d > 1 ? d : 1;
		if (c->p < 0)
			c->p = 0;
		car_move(r, p, L_T2);
	}
	r->flags[p] = F_RESIDENT; /* reference bit 0 */
	r->nres++;
	return false;
}

/* -------------------------------------------------------------------------
 * Creation, dispatch, checks
 */

void repl_destroy(struct repl *r)
{
	if (!r)
		return;
	free(r->flags);
	free(r->frame);
	free(r->prev);
	free(r->next);
	free(r->car.list);
	clockpro_free(r);
	free(r);
}

int repl_create(struct repl **out, enum repl_policy policy, uint32_t npages, uint64_t frames)
{
	struct repl *r;
	int rc = -ENOMEM;

	if ((int)policy < 0 || (int)policy >= REPL_NPOLICIES || policy == REPL_OPT || npages == 0 ||
	    npages > REPL_MAX_PAGES || frames == 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->policy = policy;
	r->npages = npages;
	r->frames = frames < npages ? frames : npages;
	r->flags = calloc(npages, 1);
	if (!r->flags)
		goto fail;
	switch (policy) {
	case REPL_FIFO:
	case REPL_CLOCK:
		r->frame = malloc(r->frames * sizeof(uint32_t));
		if (!r->frame)
			goto fail;
		break;
	case REPL_LRU:
	case REPL_CAR:
		r->prev = malloc(npages * sizeof(uint32_t));
		r->next = malloc(npages * sizeof(uint32_t));
		if (!r->prev || !r->next)
			goto fail;
		r->lru = (struct dlist){ NIL, NIL, 0 };
		for (int l = 0; l < L_N; l++)
			r->car.l[l] = (struct dlist){ NIL, NIL, 0 };
		if (policy == REPL_CAR && !(r->car.list = calloc(npages, 1)))
			goto fail;
		break;
	case REPL_CLOCKPRO:
		if ((rc = clockpro_init(r)) < 0)
			goto fail;
		break;
	default:
		break;
	}
	*out = r;
	return 0;
fail:
	repl_destroy(r);
	return rc;
}

bool repl_access(struct repl *r, uint32_t page)
{
	switch (r->policy) {
	case REPL_FIFO:
		return fifo_access(r, page);
	case REPL_LRU:
		return lru_access(r, page);
	case REPL_CLOCK:
		return clock_access(r, page);
	case REPL_CLOCKPRO:
		return clockpro_access(r, page);
	case REPL_CAR:
		return car_access(r, page);
	default:
		return false;
	}
}

bool repl_resident(const struct repl *r, uint32_t page)
{
	return r->flags[page] & F_RESIDENT;
}

uint64_t repl_nresident(const struct repl *r)
{
	return r->nres;
}

/* The length of list @l walked from its head, checking the back links
 * and that every member is in list @id (CAR) or resident (LRU). */
static uint64_t dl_walk(const struct repl *r, const struct dlist *l, int id, bool *ok)
{
	uint64_t n = 0;
	uint32_t prev = NIL;

	for (uint32_t p = l->head; p != NIL && n <= r->npages; p = r->next[p], n++) {
		if (r->prev[p] != prev || (id != L_NONE && r->car.list[p] != id))
			*ok = false;
		prev = p;
	}
	if (prev != l->tail)
		*ok = false;
	return n;
}

const char *repl_check(const struct repl *r)
{
	uint64_t res = 0;
	bool ok = true;

	for (uint32_t p = 0; p < r->npages; p++)
		res += r->flags[p] & F_RESIDENT;
	if (res != r->nres)
		return "resident pages differ from the count";
	if (r->nres > r->frames)
		return "more resident pages than frames";
	switch (r->policy) {
	case REPL_LRU:
		if (dl_walk(r, &r->lru, L_NONE, &ok) != r->nres || !ok)
			return "LRU list differs from the resident pages";
		break;
	case REPL_CAR: {
		const struct car *c = &r->car;
		uint64_t n[L_N] = { 0 };

		for (int l = L_T1; l < L_N; l++)
			if (dl_walk(r, &c->l[l], l, &ok) != c->l[l].len || !ok)
				return "a CAR list is broken";
		for (uint32_t p = 0; p < r->npages; p++) {
			n[c->list[p]]++;
			if (((r->flags[p] & F_RESIDENT) != 0) !=
			    (c->list[p] == L_T1 || c->list[p] == L_T2))
				return "CAR: resident pages are not those of T1 and T2";
		}
		for (int l = L_T1; l < L_N; l++)
			if (n[l] != c->l[l].len)
				return "CAR: list lengths differ from their members";
		if (c->l[L_T1].len + c->l[L_T2].len > r->frames)
			return "CAR: |T1| + |T2| > c";
		if (c->l[L_T1].len + c->l[L_B1].len > r->frames)
			return "CAR: |T1| + |B1| > c";
		if (c->l[L_T1].len + c->l[L_T2].len + c->l[L_B1].len + c->l[L_B2].len >
		    2 * r->frames)
			return "CAR: directory larger than 2c";
		if (c->p < 0 || c->p > (double)r->frames)
			return "CAR: p out of [0, c]";
		break;
	}
	case REPL_CLOCKPRO:
		return clockpro_check(r);
	default:
		break;
	}
	return NULL;
}

int repl_run(enum repl_policy policy, const uint32_t *trace, const uint32_t *next, size_t n,
             uint32_t npages, uint64_t frames, uint64_t *hits, uint64_t *hit_bits)
{
	struct repl *r;
	uint64_t nh = 0;
	int rc;

	if (policy == REPL_OPT) {
		uint32_t *own = NULL;

		if (!next) {
			rc = repl_next_use(trace, n, npages, &own);
			if (rc < 0)
				return rc;
			next = own;
		}
		rc = repl_opt(trace, next, n, npages, frames, hits, hit_bits);
		free(own);
		return rc;
	}
	rc = repl_create(&r, policy, npages, frames);
	if (rc < 0)
		return rc;
	if (hit_bits)
		memset(hit_bits, 0, (n + 63) / 64 * sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		if (trace[i] >= npages) {
			repl_destroy(r);
			return -EINVAL;
		}
		if (repl_access(r, trace[i])) {
			nh++;
			if (hit_bits)
				hit_bits[i / 64] |= 1ull << (i % 64);
		}
	}
	repl_destroy(r);
	*hits = nh;
	return 0;
}