/*
 * replacement.c - page replacement policies on traces: FIFO, LRU, Clock,
 * CLOCK-Pro, CAR and OPT.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the policies' state and steps (replacement.h says how they are
 * called).  Calls: libc only.
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
#include "replacement.h"

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

#define NIL UINT32_MAX

/* Per-page flags. */
#define F_RESIDENT 0x01u
#define F_REF 0x02u  /* reference bit */
#define F_HOT 0x04u  /* CLOCK-Pro */
#define F_TEST 0x08u /* CLOCK-Pro: cold page in its test period */

/* CAR's lists (and LRU's one list, L_T1). */
enum { L_NONE, L_T1, L_T2, L_B1, L_B2, L_N };

/* Doubly linked lists over the page arrays (LRU, CAR). */
struct dlist {
	uint32_t head, tail; /* head: the oldest (LRU end, clock hand) */
	uint64_t len;
};

/* Hierarchical bitmap (CLOCK-Pro): level 0 holds the bits, level k + 1 a
 * bit per nonzero word of level k, up to a level of one word. */
#define HB_LEVELS 6
struct hbits {
	unsigned levels;
	size_t nwords[HB_LEVELS];
	uint64_t *w[HB_LEVELS];
};
#define HB_NONE SIZE_MAX

struct clockpro {
	uint32_t nslots, top;     /* slots [0, top) used, in list order */
	uint32_t *slot_page;      /* NIL: empty slot */
	uint32_t *page_slot;      /* NIL: not in the list */
	struct hbits hot, cold, test; /* hot; resident cold; cold in test */
	uint32_t hand_hot, hand_cold, hand_test; /* slot numbers, may be top */
	uint64_t nhot, ncold, nnonres, ntest;
	uint64_t mc;              /* m_c: the resident cold pages' target */
};

struct car {
	struct dlist l[L_N];
	uint8_t *list;            /* per page: L_* */
	double p;                 /* target size of T1 */
};

struct repl {
	enum repl_policy policy;
	uint32_t npages;
	uint64_t frames;          /* min(frames asked, npages) */
	uint64_t nres;
	uint8_t *flags;           /* per page: F_* */
	/* FIFO, Clock: the frames, in the order the hand visits them */
	uint32_t *frame;
	uint64_t hand;
	/* LRU, CAR: list links per page */
	uint32_t *prev, *next;
	struct dlist lru;         /* head: least recently used */
	struct car car;
	struct clockpro cp;
};

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
 * Hierarchical bitmaps (CLOCK-Pro's hands)
 */

static int hb_init(struct hbits *b, size_t nbits)
{
	memset(b, 0, sizeof(*b));
	do {
		size_t nw = (nbits + 63) / 64;

		if (b->levels == HB_LEVELS)
			return -EINVAL;
		b->nwords[b->levels] = nw;
		b->w[b->levels] = calloc(nw, sizeof(uint64_t));
		if (!b->w[b->levels])
			return -ENOMEM;
		b->levels++;
		nbits = nw;
	} while (nbits > 1);
	return 0;
}

static void hb_free(struct hbits *b)
{
	for (unsigned l = 0; l < HB_LEVELS; l++)
		free(b->w[l]);
	memset(b, 0, sizeof(*b));
}

static void hb_zero(struct hbits *b)
{
	for (unsigned l = 0; l < b->levels; l++)
		memset(b->w[l], 0, b->nwords[l] * sizeof(uint64_t));
}

static void hb_set(struct hbits *b, size_t i)
{
	for (unsigned l = 0; l < b->levels; l++) {
		uint64_t *w = &b->w[l][i / 64], old = *w;

		*w = old | 1ull << (i % 64);
		if (old)
			return; /* the levels above already know */
		i /= 64;
	}
}

static void hb_clear(struct hbits *b, size_t i)
{
	for (unsigned l = 0; l < b->levels; l++) {
		uint64_t *w = &b->w[l][i / 64];

		*w &= ~(1ull << (i % 64));
		if (*w)
			return;
		i /= 64;
	}
}

static bool hb_test(const struct hbits *b, size_t i)
{
	return (b->w[0][i / 64] >> (i % 64)) & 1;
}

/* The smallest set bit >= @i, or HB_NONE. */
static size_t hb_next(const struct hbits *b, size_t i)
{
	unsigned l = 0;

	for (;;) {
		uint64_t w;

		if (i / 64 >= b->nwords[l])
			return HB_NONE;
		w = b->w[l][i / 64] & (~0ull << (i % 64));
		if (w) {
			i = (i & ~(size_t)63) | (size_t)__builtin_ctzll(w);
			break;
		}
		if (++l == b->levels)
			return HB_NONE;
		i = i / 64 + 1; /* the next word of level l - 1 */
	}
	while (l-- > 0)
		i = i * 64 + (size_t)__builtin_ctzll(b->w[l][i]);
	return i;
}

/* The first set bit at or after @i, wrapping around; HB_NONE if none. */
static size_t hb_next_wrap(const struct hbits *b, size_t i)
{
	size_t s = hb_next(b, i);

	return s != HB_NONE ? s : hb_next(b, 0);
}

/* -------------------------------------------------------------------------
 * CLOCK-Pro (Jiang, Chen and Zhang, USENIX ATC 2005)
 */

static uint64_t cp_mc_max(const struct repl *r)
{
	return r->frames > 1 ? r->frames - 1 : 1;
}

static void cp_adjust(struct repl *r, int d)
{
	struct clockpro *cp = &r->cp;

	if (d > 0 && cp->mc < cp_mc_max(r))
		cp->mc++;
	else if (d < 0 && cp->mc > 1)
		cp->mc--;
}

static uint64_t cp_hot_max(const struct repl *r)
{
	return r->frames - r->cp.mc;
}

/* Set the bitmap bits of @p's kind at slot @s. */
static void cp_mark(struct clockpro *cp, uint32_t s, uint8_t f)
{
	if (f & F_HOT)
		hb_set(&cp->hot, s);
	else if (f & F_RESIDENT)
		hb_set(&cp->cold, s);
	if (f & F_TEST)
		hb_set(&cp->test, s);
}

static void cp_unmark(struct clockpro *cp, uint32_t s)
{
	hb_clear(&cp->hot, s);
	hb_clear(&cp->cold, s);
	hb_clear(&cp->test, s);
}

/* Renumber the list's slots 0.. in order; the hands keep their places. */
static void cp_compact(struct repl *r)
{
	struct clockpro *cp = &r->cp;
	uint32_t *hands[3] = { &cp->hand_hot, &cp->hand_cold, &cp->hand_test };
	uint32_t n = 0, old[3];

	for (int h = 0; h < 3; h++)
		old[h] = *hands[h];
	hb_zero(&cp->hot);
	hb_zero(&cp->cold);
	hb_zero(&cp->test);
	for (uint32_t s = 0; s < cp->top; s++) {
		uint32_t p = cp->slot_page[s];

		for (int h = 0; h < 3; h++)
			if (old[h] == s)
				*hands[h] = n;
		if (p == NIL)
			continue;
		cp->slot_page[s] = NIL;
		cp->slot_page[n] = p;
		cp->page_slot[p] = n;
		cp_mark(cp, n, r->flags[p]);
		n++;
	}
	for (int h = 0; h < 3; h++)
		if (old[h] >= cp->top)
			*hands[h] = n;
	cp->top = n;
}

/* Put @p (not in the list) at the list head, with flags @f. */
static void cp_insert_head(struct repl *r, uint32_t p, uint8_t f)
{
	struct clockpro *cp = &r->cp;

	if (cp->top == cp->nslots)
		cp_compact(r);
	r->flags[p] = f;
	cp->slot_page[cp->top] = p;
	cp->page_slot[p] = cp->top;
	cp_mark(cp, cp->top, f);
	cp->top++;
}

/* Take @p out of the list (its flags stay). */
static void cp_unlink(struct repl *r, uint32_t p)
{
	struct clockpro *cp = &r->cp;
	uint32_t s = cp->page_slot[p];

	cp_unmark(cp, s);
	cp->slot_page[s] = NIL;
	cp->page_slot[p] = NIL;
}

/* Move @p to the list head with flags @f. */
static void cp_to_head(struct repl *r, uint32_t p, uint8_t f)
{
	cp_unlink(r, p);
	cp_insert_head(r, p, f);
}

/* End @p's test period; a non-resident page leaves the list. */
static void cp_end_test(struct repl *r, uint32_t p)
{
	struct clockpro *cp = &r->cp;
	uint8_t f = r->flags[p];

	cp_adjust(r, (f & F_REF) ? 1 : -1);
	hb_clear(&cp->test, cp->page_slot[p]);
	cp->ntest--;
	if (f & F_RESIDENT) {
		r->flags[p] = f & (uint8_t)~F_TEST;
	} else {
		cp_unlink(r, p);
		r->flags[p] = 0;
		cp->nnonres--;
	}
}

/* HAND_test: end test periods until non-resident pages are at most m. */
static void cp_run_test(struct repl *r)
{
	struct clockpro *cp = &r->cp;

	while (cp->nnonres > r->frames) {
		size_t s = hb_next_wrap(&cp->test, cp->hand_test);

		cp->hand_test = (uint32_t)s + 1;
		cp_end_test(r, cp->slot_page[s]);
	}
}

/* HAND_hot: turn one hot page cold. */
static void cp_run_hot(struct repl *r)
{
	struct clockpro *cp = &r->cp;

	for (;;) {
		size_t a = hb_next(&cp->hot, cp->hand_hot), b = hb_next(&cp->test, cp->hand_hot), s;
		uint32_t p;

		if (a == HB_NONE && b == HB_NONE) {
			a = hb_next(&cp->hot, 0);
			b = hb_next(&cp->test, 0);
		}
		s = a < b ? a : b;
		p = cp->slot_page[s];
		cp->hand_hot = (uint32_t)s + 1;
		if (!(r->flags[p] & F_HOT)) {
			cp_end_test(r, p); /* HAND_test's work, on its way */
		} else if (r->flags[p] & F_REF) {
			cp_to_head(r, p, F_RESIDENT | F_HOT);
		} else {
			hb_clear(&cp->hot, s);
			hb_set(&cp->cold, s);
			r->flags[p] = F_RESIDENT;
			cp->nhot--;
			cp->ncold++;
			return;
		}
	}
}

static void cp_balance_hot(struct repl *r)
{
	while (r->cp.nhot > cp_hot_max(r))
		cp_run_hot(r);
}

/* HAND_cold: free one frame. */
static void cp_run_cold(struct repl *r)
{
	struct clockpro *cp = &r->cp;

	for (;;) {
		size_t s = hb_next_wrap(&cp->cold, cp->hand_cold);
		uint32_t p = cp->slot_page[s];
		uint8_t f = r->flags[p];

		cp->hand_cold = (uint32_t)s + 1;
		if ((f & F_REF) && (f & F_TEST)) { /* re-used within its test: hot */
			cp->ntest--;
			cp->ncold--;
			cp->nhot++;
			cp_adjust(r, 1);
			cp_to_head(r, p, F_RESIDENT | F_HOT);
			cp_balance_hot(r);
		} else if (f & F_REF) {            /* re-used later: a new test */
			cp->ntest++;
			cp_to_head(r, p, F_RESIDENT | F_TEST);
		} else {                           /* evict */
			cp->ncold--;
			r->nres--;
			if (f & F_TEST) {
				hb_clear(&cp->cold, s);
				r->flags[p] = F_TEST;
				cp->nnonres++;
				cp_run_test(r);
				cp_balance_hot(r); /* a test may have ended referenced */
			} else {
				cp_unlink(r, p);
				r->flags[p] = 0;
			}
			return;
		}
	}
}

static bool clockpro_access(struct repl *r, uint32_t p)
{
	struct clockpro *cp = &r->cp;
	bool warm = r->nres < r->frames;

	if (r->flags[p] & F_RESIDENT) {
		r->flags[p] |= F_REF;
		return true;
	}
	if (!warm)
		cp_run_cold(r);
	/* (the eviction may have ended p's test period) */
	if (cp->page_slot[p] != NIL) { /* non-resident, in its test period */
		cp->nnonres--;
		cp->ntest--;
		cp->nhot++;
		cp_adjust(r, 1);
		cp_to_head(r, p, F_RESIDENT | F_HOT);
		r->nres++;
		cp_balance_hot(r);
		return false;
	}
	if (warm && cp->nhot < cp_hot_max(r)) {
		cp->nhot++;
		cp_insert_head(r, p, F_RESIDENT | F_HOT);
	} else {
		cp->ncold++;
		cp->ntest++;
		cp_insert_head(r, p, F_RESIDENT | F_TEST);
	}
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
	free(r->cp.slot_page);
	free(r->cp.page_slot);
	hb_free(&r->cp.hot);
	hb_free(&r->cp.cold);
	hb_free(&r->cp.test);
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
	case REPL_CLOCKPRO: {
		/* at most m resident + m non-resident pages, + 1 while a fault
		 * is served; twice that in slots, so compaction is rare */
		uint64_t nslots = 4 * (r->frames + 1);

		r->cp.nslots = (uint32_t)nslots;
		r->cp.slot_page = malloc(nslots * sizeof(uint32_t));
		r->cp.page_slot = malloc(npages * sizeof(uint32_t));
		if (!r->cp.slot_page || !r->cp.page_slot)
			goto fail;
		memset(r->cp.slot_page, 0xff, nslots * sizeof(uint32_t));
		memset(r->cp.page_slot, 0xff, npages * sizeof(uint32_t));
		if ((rc = hb_init(&r->cp.hot, nslots)) < 0 ||
		    (rc = hb_init(&r->cp.cold, nslots)) < 0 ||
		    (rc = hb_init(&r->cp.test, nslots)) < 0)
			goto fail;
		r->cp.mc = 1;
		break;
	}
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
	case REPL_CLOCKPRO: {
		const struct clockpro *cp = &r->cp;
		uint64_t hot = 0, cold = 0, nonres = 0, test = 0;

		for (uint32_t p = 0; p < r->npages; p++) {
			uint8_t f = r->flags[p];
			uint32_t s = cp->page_slot[p];

			if (s == NIL) {
				if (f)
					return "CLOCK-Pro: a page outside the list has flags";
				continue;
			}
			if (s >= cp->top || cp->slot_page[s] != p)
				return "CLOCK-Pro: slot links broken";
			if (!(f & F_RESIDENT) && ((f & (F_HOT | F_REF)) || !(f & F_TEST)))
				return "CLOCK-Pro: a non-resident page not in test, hot or referenced";
			if ((f & F_HOT) && (f & F_TEST))
				return "CLOCK-Pro: a hot page in test";
			if (hb_test(&cp->hot, s) != !!(f & F_HOT) ||
			    hb_test(&cp->cold, s) != ((f & F_RESIDENT) && !(f & F_HOT)) ||
			    hb_test(&cp->test, s) != !!(f & F_TEST))
				return "CLOCK-Pro: bitmaps differ from the flags";
			hot += !!(f & F_HOT);
			cold += (f & F_RESIDENT) && !(f & F_HOT);
			nonres += !(f & F_RESIDENT);
			test += !!(f & F_TEST);
		}
		if (hot != cp->nhot || cold != cp->ncold || nonres != cp->nnonres ||
		    test != cp->ntest)
			return "CLOCK-Pro: counts differ from the pages";
		if (hot + cold != r->nres)
			return "CLOCK-Pro: hot + cold differ from the resident pages";
		if (nonres > r->frames)
			return "CLOCK-Pro: more non-resident pages than frames";
		if (hot > cp_hot_max(r))
			return "CLOCK-Pro: more hot pages than m - m_c";
		if (cp->mc < 1 || cp->mc > cp_mc_max(r))
			return "CLOCK-Pro: m_c out of [1, m - 1]";
		break;
	}
	default:
		break;
	}
	return NULL;
}

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
