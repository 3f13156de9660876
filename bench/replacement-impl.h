/*
 * replacement-impl.h - the state of bench/'s replacement policies, shared
 * by replacement.c (FIFO, LRU, Clock, CAR, creation and checks) and
 * clockpro.c (CLOCK-Pro); opt.c (OPT) needs none of it.  Not installed.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_BENCH_REPLACEMENT_IMPL_H
#define UPAGER_BENCH_REPLACEMENT_IMPL_H

#include "replacement.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* clockpro.c */
int clockpro_init(struct repl *r);
void clockpro_free(struct repl *r);
bool clockpro_access(struct repl *r, uint32_t p);
const char *clockpro_check(const struct repl *r);

#endif
