/*
 * clockpro.c - CLOCK-Pro on traces: S. Jiang, F. Chen, X. Zhang,
 * "CLOCK-Pro: An Effective Improvement of the CLOCK Replacement", USENIX
 * ATC 2005 (replacement.c's opening comment describes the policy and this
 * representation of it: slots in list order, one hierarchical bitmap per
 * kind of page).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: CLOCK-Pro's list, bitmaps and hands.  Calls: libc only.
 */
#include "replacement-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

bool clockpro_access(struct repl *r, uint32_t p)
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

/* CLOCK-Pro's list and bitmaps for @r (npages, frames set); 0 or -ENOMEM
 * (repl_destroy frees what was made). */
int clockpro_init(struct repl *r)
{
	/* at most m resident + m non-resident pages, + 1 while a fault is
	 * served; twice that in slots, so compaction is rare */
	uint64_t nslots = 4 * (r->frames + 1);
	int rc;

	r->cp.nslots = (uint32_t)nslots;
	r->cp.slot_page = malloc(nslots * sizeof(uint32_t));
	r->cp.page_slot = malloc(r->npages * sizeof(uint32_t));
	if (!r->cp.slot_page || !r->cp.page_slot)
		return -ENOMEM;
	memset(r->cp.slot_page, 0xff, nslots * sizeof(uint32_t));
	memset(r->cp.page_slot, 0xff, r->npages * sizeof(uint32_t));
	if ((rc = hb_init(&r->cp.hot, nslots)) < 0 || (rc = hb_init(&r->cp.cold, nslots)) < 0 ||
	    (rc = hb_init(&r->cp.test, nslots)) < 0)
		return rc;
	r->cp.mc = 1;
	return 0;
}

void clockpro_free(struct repl *r)
{
	free(r->cp.slot_page);
	free(r->cp.page_slot);
	hb_free(&r->cp.hot);
	hb_free(&r->cp.cold);
	hb_free(&r->cp.test);
}

/* NULL, or what is wrong with CLOCK-Pro's state (repl_check). */
const char *clockpro_check(const struct repl *r)
{
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
	return NULL;
}
