/*
 * test_residency.c - upager_residency() and upager_print_pages(), checked
 * against a model of the page table that the test keeps itself.
 *
 * The model: a file region and an upager_alloc() region share a pager with
 * 16 frames; a random sequence of reads, writes, pins, unpins, DONTNEED,
 * COLD and syncs runs on them (no read-ahead, background write-back
 * paused, so nothing changes a page but the test's own steps and the
 * evictions they force).  After every step each byte of the residency
 * vector is compared with what the model knows for certain: a page never
 * touched is 0; the page just touched is resident and referenced; a
 * pinned page is resident, referenced and pinned (and dirty in a writable
 * region); a page seen out of memory (or after DONTNEED) stays out until
 * touched; a page seen unreferenced (or after COLD) stays so until
 * touched; a resident page is dirty exactly when it was written since it
 * was last written back, or a page-in predicted a store (pgdirty_predicted:
 * only for a page stored to in an earlier residency); and the counts of
 * resident, dirty and pinned bytes equal nr_resident, nr_dirty and nr_pinned.  Every read verifies
 * the page's bytes against the model's copy, and at the end the file
 * holds the model's bytes.
 *
 * The dump is parsed: its runs cover each region exactly once, in order,
 * each run maximal and equal to the residency bytes it covers; the counts
 * and the frame table agree with the vector and the statistics; with
 * UPAGER_PRINT_FRAMES the frame runs cover the frame table once and name
 * the frame of each single resident page.  A 1 TiB region with a few
 * pages touched dumps in a few lines.  Both calls run while 4 threads
 * fault on a region, whose data is then verified.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#define PS 4096u
#define ALL_BITS                                                                          \
	(UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY |              \
	 UPAGER_PAGE_PINNED | UPAGER_PAGE_LOCKED | UPAGER_PAGE_WB_ERROR |                 \
	 UPAGER_PAGE_READAHEAD)
#define NEEDS_RESIDENT                                                                    \
	(UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY | UPAGER_PAGE_PINNED |                \
	 UPAGER_PAGE_READAHEAD)

/* The letters of the dump, in column order, as upager.h documents them. */
static const char letters[] = "RADPLEH";
static const unsigned letter_bit[7] = {
	UPAGER_PAGE_RESIDENT, UPAGER_PAGE_REFERENCED, UPAGER_PAGE_DIRTY, UPAGER_PAGE_PINNED,
	UPAGER_PAGE_LOCKED,   UPAGER_PAGE_WB_ERROR,   UPAGER_PAGE_READAHEAD,
};

/* ------------------------------------------------------------ the dump */

#define MAX_RUNS 8192
struct drun {
	uint64_t first, last, count;
	unsigned state;
	long frame; /* -1 when not named */
};
struct dregion {
	uintptr_t base, end;
	size_t npages;
	size_t nruns;
	struct drun *runs;
	uint64_t footer[7]; /* counts the footer line gives */
	int has_footer;
	int cut;            /* "unmapped during the dump" */
};
struct dframes {
	int found;
	uint64_t total, free, used, ref, dirty, pinned, hand;
	long long nr_resident, nr_dirty, nr_pinned;
	/* UPAGER_PRINT_FRAMES */
	size_t nruns;
	uint64_t covered;      /* frames the runs cover */
	uint64_t next;         /* the next frame a run must start at */
	int in_order;
	uint64_t used_in_runs; /* frames of runs naming a region */
	uintptr_t *frame_base; /* per frame: region base, 0 free */
	uint64_t *frame_page;
};
struct dump {
	size_t nregions;
	struct dregion reg[8];
	struct dframes fr;
	size_t lines;
	int bad_lines; /* lines of no known form */
};

static unsigned parse_state(const char *s, int *ok)
{
	unsigned st = 0;

	*ok = strlen(s) == 7;
	for (unsigned b = 0; *ok && b < 7; b++) {
		if (s[b] == letters[b])
			st |= letter_bit[b];
		else if (s[b] != '-')
			*ok = 0;
	}
	return st;
}

static void dump_free(struct dump *d)
{
	for (size_t i = 0; i < d->nregions; i++)
		free(d->reg[i].runs);
	free(d->fr.frame_base);
	free(d->fr.frame_page);
	memset(d, 0, sizeof(*d));
}

/* Parse the text of upager_print_pages(); @nframes sizes the frame map. */
static void dump_parse(struct dump *d, char *text, size_t nframes)
{
	char *save = NULL;

	memset(d, 0, sizeof(*d));
	d->fr.in_order = 1;
	d->fr.frame_base = calloc(nframes, sizeof(uintptr_t));
	d->fr.frame_page = calloc(nframes, sizeof(uint64_t));
	T_REQUIRE(d->fr.frame_base && d->fr.frame_page, "calloc");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct dregion *R = d->nregions ? &d->reg[d->nregions - 1] : NULL;
		unsigned long long a, b, c, e, f, g, h, k;
		long long x, y, z;
		void *p0, *p1;
		char st[16];
		size_t np, psz;
		int n = 0;

		d->lines++;
		if (strncmp(line, "upager page table: ", 19) == 0 && d->lines == 1)
			continue;
		if (sscanf(line, "region %p-%p: %zu pages of %zu bytes%n", &p0, &p1, &np, &psz,
		           &n) == 4 && n) {
			T_REQUIRE(d->nregions < 8, "too many regions in the dump");
			R = &d->reg[d->nregions++];
			R->base = (uintptr_t)p0;
			R->end = (uintptr_t)p1;
			R->npages = np;
			R->runs = calloc(MAX_RUNS, sizeof(*R->runs));
			T_REQUIRE(R->runs != NULL, "calloc");
			continue;
		}
		if (R && strstr(line, "first page") && strstr(line, "state"))
			continue;
		if (R && strstr(line, "unmapped during the dump")) {
			R->cut = 1;
			continue;
		}
		n = 0;
		if (R && sscanf(line, " %llu %llu %llu %15s%n", &a, &b, &c, st, &n) == 4) {
			int ok;
			struct drun *u;

			T_REQUIRE(R->nruns < MAX_RUNS, "too many runs");
			u = &R->runs[R->nruns++];
			u->first = a;
			u->last = b;
			u->count = c;
			u->state = parse_state(st, &ok);
			u->frame = -1;
			T_CHECK(ok, "bad state letters in \"%s\"", line);
			if (sscanf(line + n, " frame %lld", &x) == 1)
				u->frame = (long)x;
			continue;
		}
		if (R && strncmp(line, "  pages: ", 9) == 0) {
			unsigned long long v[7];
			if (sscanf(line, "  pages: %llu resident, %llu referenced, %llu dirty, %llu "
			                 "pinned, %llu locked, %llu write-back error, %llu read ahead",
			           &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) == 7) {
				memcpy(R->footer, v, sizeof(v));
				R->has_footer = 1;
				continue;
			}
		}
		if (sscanf(line,
		           "frames: %llu, one per %zu bytes of the limit, %llu free, %llu in use "
		           "(%llu referenced, %llu dirty, %llu pinned); Clock hand at frame %llu",
		           &a, &psz, &b, &c, &e, &f, &g, &h) == 8) {
			d->fr.found = 1;
			d->fr.total = a;
			d->fr.free = b;
			d->fr.used = c;
			d->fr.ref = e;
			d->fr.dirty = f;
			d->fr.pinned = g;
			d->fr.hand = h;
			continue;
		}
		if (sscanf(line, "counters: nr_resident %lld, nr_dirty %lld, nr_pinned %lld", &x, &y,
		           &z) == 3) {
			d->fr.nr_resident = x;
			d->fr.nr_dirty = y;
			d->fr.nr_pinned = z;
			continue;
		}
		n = 0;
		if (sscanf(line, "  frames %llu-%llu (%llu): %n", &a, &b, &c, &n) == 3 && n) {
			const char *rest = line + n;
			d->fr.nruns++;
			if (a != d->fr.next || b < a || b - a + 1 != c || b >= nframes)
				d->fr.in_order = 0;
			d->fr.next = b + 1;
			d->fr.covered += c;
			if (strcmp(rest, "free") == 0)
				continue;
			if (sscanf(rest, "region %p pages %llu-%llu", &p0, &e, &k) == 3 && k - e == b - a) {
				d->fr.used_in_runs += c;
				for (uint64_t fi = a; fi <= b && fi < nframes; fi++) {
					d->fr.frame_base[fi] = (uintptr_t)p0;
					d->fr.frame_page[fi] = e + (fi - a);
				}
				continue;
			}
		}
		d->bad_lines++;
		fprintf(stderr, "  unparsed dump line: \"%s\"\n", line);
	}
}

/* Dump through a memfd and parse it. */
static int dump_take(upager_t *p, void *addr, unsigned flags, struct dump *d, size_t nframes,
                     size_t *bytes)
{
	int fd = memfd_create("dump", MFD_CLOEXEC);
	int rc;
	off_t len;
	char *text;

	T_REQUIRE(fd >= 0, "memfd_create: %s", strerror(errno));
	rc = upager_print_pages(p, addr, fd, flags);
	len = lseek(fd, 0, SEEK_END);
	text = malloc((size_t)len + 1);
	T_REQUIRE(text != NULL, "malloc");
	T_REQUIRE(pread(fd, text, (size_t)len, 0) == len, "pread of the dump");
	text[len] = 0;
	close(fd);
	if (bytes)
		*bytes = (size_t)len;
	dump_parse(d, text, nframes);
	free(text);
	return rc;
}

/* Structure of one region's dump: runs cover [0, npages) once, in order,
 * maximal; the footer counts are the runs' counts.  Quiescent or not. */
static void check_region_structure(const struct dregion *R, const char *step)
{
	uint64_t next = 0, counts[7] = { 0 };
	int ok = 1;

	T_CHECK(!R->cut, "%s: region %#lx cut short", step, (unsigned long)R->base);
	for (size_t i = 0; i < R->nruns; i++) {
		const struct drun *u = &R->runs[i];
		if (u->first != next || u->last < u->first || u->count != u->last - u->first + 1 ||
		    (i && u->state == R->runs[i - 1].state) ||
		    (u->frame >= 0 && (u->count != 1 || !(u->state & UPAGER_PAGE_RESIDENT))))
			ok = 0;
		next = u->last + 1;
		for (unsigned b = 0; b < 7; b++)
			if (u->state & letter_bit[b])
				counts[b] += u->count;
	}
	T_CHECK(ok, "%s: the runs of region %#lx are not contiguous, maximal runs", step,
	        (unsigned long)R->base);
	T_CHECK(next == R->npages, "%s: the runs of region %#lx end at page %llu of %zu", step,
	        (unsigned long)R->base, (unsigned long long)next, R->npages);
	T_CHECK(R->has_footer && !memcmp(counts, R->footer, sizeof(counts)),
	        "%s: region %#lx's counts are not its runs' counts", step, (unsigned long)R->base);
}

/* The runs of region @R equal the residency bytes @vec (quiescent). */
static void check_region_against(const struct dregion *R, const unsigned char *vec,
                                 const char *step)
{
	size_t bad = 0;

	for (size_t i = 0; i < R->nruns; i++)
		for (uint64_t k = R->runs[i].first; k <= R->runs[i].last && k < R->npages; k++)
			bad += vec[k] != R->runs[i].state;
	T_CHECK(bad == 0, "%s: %zu pages of region %#lx dump in another state than "
	        "upager_residency gives", step, bad, (unsigned long)R->base);
}

/* ----------------------------------------------------------- the model */

struct mpage {
	int touched;     /* ever touched or pinned */
	int known_out;   /* not resident for certain until touched */
	int known_unref; /* unreferenced for certain until touched */
	int dirty;       /* written since it was last written back */
	int stored;      /* a store reached it since the model last saw it
	                    out of memory */
	int predict;     /* a store reached it in an earlier residency: a
	                    page-in may make it dirty at once (upager pages in
	                    writable and dirty a page stored to when it was
	                    last resident; pgdirty_predicted) */
	unsigned pins;
	int wb_error;
};

struct mregion {
	const char *name;
	unsigned char *m;
	size_t npages;
	int writable, shared;
	int fd;               /* the file (shared), or -1 */
	unsigned char *data;  /* the bytes the pages must hold */
	struct mpage *pg;
	unsigned char *vec;   /* last residency vector, npages + 1 */
};

struct model {
	upager_t *p;
	size_t nframes;
	struct mregion r[2];
	unsigned nr;
	struct mregion *last_r; /* page touched by the last step */
	size_t last_i;
	int last_write;
	size_t steps, checks, dumps;
};

static void model_region(struct mregion *R, const char *name, unsigned char *m, size_t npages,
                         int writable, int shared, int fd, uint64_t seed)
{
	memset(R, 0, sizeof(*R));
	R->name = name;
	R->m = m;
	R->npages = npages;
	R->writable = writable;
	R->shared = shared;
	R->fd = fd;
	R->data = calloc(npages, PS);
	R->pg = calloc(npages, sizeof(*R->pg));
	R->vec = malloc(npages + 1);
	T_REQUIRE(R->data && R->pg && R->vec, "calloc");
	if (fd >= 0)
		t_fill(R->data, npages * PS, seed, 0);
}

static void model_free(struct model *M)
{
	for (unsigned k = 0; k < M->nr; k++) {
		free(M->r[k].data);
		free(M->r[k].pg);
		free(M->r[k].vec);
	}
}

/* Compare every byte of every region with the model; learn what was seen. */
static void model_check(struct model *M, const char *step)
{
	struct upager_stats st;
	uint64_t resident = 0, dirty = 0, pinned = 0;

	M->checks++;
	for (unsigned k = 0; k < M->nr; k++) {
		struct mregion *R = &M->r[k];

		R->vec[R->npages] = 0xee;
		T_RET(upager_residency(M->p, R->m, R->npages * PS, R->vec), 0);
		T_CHECK(R->vec[R->npages] == 0xee, "%s: upager_residency wrote past the vector",
		        step);
		for (size_t i = 0; i < R->npages; i++) {
			struct mpage *g = &R->pg[i];
			unsigned s = R->vec[i];

			T_CHECK(!(s & ~ALL_BITS), "%s: %s page %zu: undefined bits %#x", step,
			        R->name, i, s);
			T_CHECK(!(s & (UPAGER_PAGE_LOCKED | UPAGER_PAGE_READAHEAD)),
			        "%s: %s page %zu: %#x locked or read ahead at rest", step, R->name,
			        i, s);
			if (s & NEEDS_RESIDENT)
				T_CHECK(s & UPAGER_PAGE_RESIDENT, "%s: %s page %zu: %#x not resident",
				        step, R->name, i, s);
			if (!g->touched)
				T_CHECK(s == 0, "%s: %s page %zu never touched: %#x", step, R->name, i,
				        s);
			if (g->pins) {
				unsigned want = UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED |
				                UPAGER_PAGE_PINNED | (R->writable ? UPAGER_PAGE_DIRTY : 0);
				T_CHECK((s & want) == want, "%s: %s page %zu pinned: %#x, want %#x",
				        step, R->name, i, s, want);
			} else {
				T_CHECK(!(s & UPAGER_PAGE_PINNED), "%s: %s page %zu not pinned: %#x",
				        step, R->name, i, s);
				if (g->known_unref)
					T_CHECK(!(s & UPAGER_PAGE_REFERENCED),
					        "%s: %s page %zu referenced untouched: %#x", step,
					        R->name, i, s);
			}
			if (g->known_out)
				T_CHECK(!(s & UPAGER_PAGE_RESIDENT),
				        "%s: %s page %zu resident untouched: %#x", step, R->name, i, s);
			/* A written page is dirty until written back; a page the
			 * model calls clean is clean, unless a page-in predicted
			 * a store (then it is dirty from now on). */
			if ((s & UPAGER_PAGE_RESIDENT) && (g->dirty || !g->predict))
				T_CHECK(!(s & UPAGER_PAGE_DIRTY) == !g->dirty,
				        "%s: %s page %zu: %#x, model %s", step, R->name, i, s,
				        g->dirty ? "dirty" : "clean");
			if ((s & UPAGER_PAGE_RESIDENT) && (s & UPAGER_PAGE_DIRTY))
				g->dirty = 1;
			T_CHECK(!(s & UPAGER_PAGE_WB_ERROR) == !g->wb_error,
			        "%s: %s page %zu: write-back error %#x, model %d", step, R->name, i,
			        s, g->wb_error);
			/* Learn: out of memory, it was written back and stays out. */
			if (g->touched && !(s & UPAGER_PAGE_RESIDENT)) {
				g->known_out = 1;
				g->dirty = 0;
				g->predict |= g->stored;
				g->stored = 0;
			}
			if (g->touched && !(s & UPAGER_PAGE_REFERENCED))
				g->known_unref = 1;
			resident += !!(s & UPAGER_PAGE_RESIDENT);
			dirty += !!(s & UPAGER_PAGE_DIRTY);
			pinned += !!(s & UPAGER_PAGE_PINNED);
		}
	}
	if (M->last_r) {
		unsigned s = M->last_r->vec[M->last_i];
		unsigned want = UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED |
		                (M->last_write ? UPAGER_PAGE_DIRTY : 0);
		T_CHECK((s & want) == want, "%s: %s page %zu just touched: %#x, want %#x", step,
		        M->last_r->name, M->last_i, s, want);
	}
	t_stats(M->p, &st);
	T_EQ(resident, st.nr_resident);
	T_EQ(dirty, st.nr_dirty);
	T_EQ(pinned, st.nr_pinned);
	T_LE(st.nr_resident, M->nframes);
}

/* Dump everything and check it against the vectors model_check() took. */
static void model_dump_check(struct model *M, const char *step)
{
	struct upager_stats st;
	struct dump d;
	uint64_t referenced = 0;
	size_t single = 0;

	M->dumps++;
	T_RET(dump_take(M->p, NULL, UPAGER_PRINT_FRAMES, &d, M->nframes, NULL), 0);
	t_stats(M->p, &st);
	T_EQ(d.bad_lines, 0);
	T_EQ(d.nregions, M->nr);
	for (size_t k = 1; k < d.nregions; k++)
		T_CHECK(d.reg[k].base > d.reg[k - 1].base, "%s: regions not in address order", step);
	for (size_t k = 0; k < d.nregions; k++) {
		const struct dregion *R = &d.reg[k];
		const struct mregion *MR = NULL;

		for (unsigned j = 0; j < M->nr; j++)
			if ((uintptr_t)M->r[j].m == R->base)
				MR = &M->r[j];
		T_REQUIRE(MR != NULL, "%s: the dump names region %#lx, not the test's", step,
		          (unsigned long)R->base);
		T_EQ(R->npages, MR->npages);
		T_EQ(R->end - R->base, MR->npages * PS);
		check_region_structure(R, step);
		check_region_against(R, MR->vec, step);
		referenced += R->footer[1];
		for (size_t i = 0; i < R->nruns; i++) {
			const struct drun *u = &R->runs[i];
			if (u->count != 1 || !(u->state & UPAGER_PAGE_RESIDENT))
				continue;
			single++;
			T_CHECK(u->frame >= 0 && (size_t)u->frame < M->nframes &&
			                d.fr.frame_base[u->frame] == R->base &&
			                d.fr.frame_page[u->frame] == u->first,
			        "%s: %s page %llu in frame %ld, which the frame runs do not give it",
			        step, MR->name, (unsigned long long)u->first, u->frame);
		}
	}
	T_CHECK(d.fr.found, "%s: no frame table line", step);
	T_EQ(d.fr.total, M->nframes);
	T_EQ(d.fr.used, st.nr_resident);
	T_EQ(d.fr.free, M->nframes - st.nr_resident);
	T_EQ(d.fr.dirty, st.nr_dirty);
	T_EQ(d.fr.pinned, st.nr_pinned);
	T_EQ(d.fr.ref, referenced);
	T_LE(d.fr.hand + 1, M->nframes);
	T_EQ(d.fr.nr_resident, st.nr_resident);
	T_EQ(d.fr.nr_dirty, st.nr_dirty);
	T_EQ(d.fr.nr_pinned, st.nr_pinned);
	T_CHECK(d.fr.in_order && d.fr.covered == M->nframes && d.fr.next == M->nframes,
	        "%s: the frame runs do not cover the %zu frames once", step, M->nframes);
	T_EQ(d.fr.used_in_runs, st.nr_resident);
	(void)single;
	dump_free(&d);
}

static void touched(struct model *M, struct mregion *R, size_t i, int write)
{
	struct mpage *g = &R->pg[i];

	g->touched = 1;
	g->known_out = 0;
	g->known_unref = 0;
	if (write)
		g->dirty = g->stored = 1;
	M->last_r = R;
	M->last_i = i;
	M->last_write = write;
}

static void step_read(struct model *M, struct mregion *R, size_t i)
{
	T_VERIFIED(t_verify_mem(R->m + i * PS, R->data + i * PS, PS, i * PS, R->name));
	touched(M, R, i, 0);
}

static void step_write(struct model *M, struct mregion *R, size_t i, struct t_rng *rng)
{
	size_t off = i * PS + t_rand_below(rng, PS / 8) * 8;
	uint64_t v = t_rand(rng);

	*(volatile uint64_t *)(R->m + off) = v;
	memcpy(R->data + off, &v, 8);
	touched(M, R, i, 1);
}

static void test_model(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	const size_t nf = 32, na = 32;
	int fd = t_make_file(nf * PS, 31, NULL, 0);
	uint64_t nsteps = t_scale(600, 6000);
	struct t_rng rng = { t_seed() ^ 0x7265736964ull };
	struct upager_stats st;
	struct model M;
	unsigned char *mf, *ma;
	char step[96];

	memset(&M, 0, sizeof(M));
	upager__pause_background_writeback(1);
	M.p = t_create(&c);
	M.nframes = 16;
	mf = upager_map(M.p, fd, 0, nf * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(mf != NULL, "upager_map: %s", strerror(errno));
	ma = upager_alloc(M.p, na * PS);
	T_REQUIRE(ma != NULL, "upager_alloc: %s", strerror(errno));
	T_RET(upager_advise(M.p, mf, PS, UPAGER_ADV_RANDOM), 0);
	T_RET(upager_advise(M.p, ma, PS, UPAGER_ADV_RANDOM), 0);
	model_region(&M.r[0], "file", mf, nf, 1, 1, fd, 31);
	model_region(&M.r[1], "alloc", ma, na, 1, 0, -1, 0);
	M.nr = 2;
	model_check(&M, "start");
	model_dump_check(&M, "start");

	for (uint64_t s = 0; s < nsteps; s++) {
		struct mregion *R = &M.r[t_rand_below(&rng, 2)];
		size_t i = t_rand_below(&rng, R->npages);
		unsigned op = (unsigned)t_rand_below(&rng, 100);
		size_t n = 1 + t_rand_below(&rng, 4);

		if (i + n > R->npages)
			n = R->npages - i;
		M.last_r = NULL;
		if (op < 40) {
			snprintf(step, sizeof(step), "step %llu read %s %zu", (unsigned long long)s,
			         R->name, i);
			step_read(&M, R, i);
		} else if (op < 75) {
			snprintf(step, sizeof(step), "step %llu write %s %zu", (unsigned long long)s,
			         R->name, i);
			step_write(&M, R, i, &rng);
		} else if (op < 81) {
			unsigned total = 0;
			for (unsigned k = 0; k < M.nr; k++)
				for (size_t j = 0; j < M.r[k].npages; j++)
					total += M.r[k].pg[j].pins != 0;
			snprintf(step, sizeof(step), "step %llu pin %s %zu", (unsigned long long)s,
			         R->name, i);
			if (total < 4) {
				T_RET(upager_pin(M.p, R->m + i * PS, PS), 0);
				R->pg[i].pins++;
				touched(&M, R, i, R->writable);
			}
		} else if (op < 87) {
			snprintf(step, sizeof(step), "step %llu unpin %s %zu", (unsigned long long)s,
			         R->name, i);
			T_RET(upager_unpin(M.p, R->m + i * PS, PS), R->pg[i].pins ? 0 : -EINVAL);
			if (R->pg[i].pins)
				R->pg[i].pins--;
		} else if (op < 93) {
			int busy = 0;
			snprintf(step, sizeof(step), "step %llu DONTNEED %s %zu+%zu",
			         (unsigned long long)s, R->name, i, n);
			for (size_t j = i; j < i + n; j++)
				busy |= R->pg[j].pins != 0;
			T_RET(upager_advise(M.p, R->m + i * PS, n * PS, UPAGER_ADV_DONTNEED),
			      busy ? -EBUSY : 0);
			for (size_t j = i; j < i + n; j++)
				if (!R->pg[j].pins) {
					R->pg[j].known_out = R->pg[j].known_unref = 1;
					R->pg[j].dirty = 0;
				}
		} else if (op < 98) {
			snprintf(step, sizeof(step), "step %llu COLD %s %zu+%zu", (unsigned long long)s,
			         R->name, i, n);
			T_RET(upager_advise(M.p, R->m + i * PS, n * PS, UPAGER_ADV_COLD), 0);
			for (size_t j = i; j < i + n; j++)
				if (!R->pg[j].pins)
					R->pg[j].known_unref = 1;
		} else {
			R = &M.r[0];
			snprintf(step, sizeof(step), "step %llu sync file", (unsigned long long)s);
			T_RET(upager_sync(M.p, R->m, 0), 0);
			for (size_t j = 0; j < R->npages; j++)
				if (!R->pg[j].pins)
					R->pg[j].dirty = 0;
		}
		M.steps++;
		model_check(&M, step);
		if (s % 16 == 0)
			model_dump_check(&M, step);
	}

	t_stats(M.p, &st);
	T_GE(st.pgsteal, 1); /* evictions were forced */
	for (unsigned k = 0; k < M.nr; k++)
		for (size_t j = 0; j < M.r[k].npages; j++)
			while (M.r[k].pg[j].pins) {
				T_RET(upager_unpin(M.p, M.r[k].m + j * PS, PS), 0);
				M.r[k].pg[j].pins--;
			}
	for (unsigned k = 0; k < M.nr; k++)
		for (size_t j = 0; j < M.r[k].npages; j++)
			step_read(&M, &M.r[k], j);
	T_RET(upager_sync(M.p, mf, 0), 0);
	T_VERIFIED(t_verify_fd_buf(fd, 0, M.r[0].data, nf * PS));
	t_summary("model: %zu steps on a file and an alloc region (16 frames, 64 pages, %llu "
	          "evictions), %zu residency vectors and %zu dumps agreed with the model and "
	          "the counters; the data verified byte for byte",
	          M.steps, (unsigned long long)st.pgsteal, M.checks, M.dumps);
	T_RET(upager_destroy(M.p), 0);
	upager__pause_background_writeback(0);
	model_free(&M);
	close(fd);
}

/* --------------------------------------------- read-ahead and errors */

static void test_readahead_and_wb_error(void)
{
	/* Room for the whole 64-page file: the runs the pager's thread reads
	 * meanwhile must not make the Clock revoke the pages checked below. */
	struct upager_config c = t_config(PS, 128 * PS);
	int fd = t_make_file(64 * PS, 32, NULL, 0);
	struct upager_stats st, st2;
	unsigned char vec[65], *m;
	unsigned ra = 0, ra2;
	upager_t *p;

	upager__pause_background_writeback(1);
	p = t_create(&c);
	m = upager_map(p, fd, 0, 64 * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_RET(upager_advise(p, m, PS, UPAGER_ADV_SEQUENTIAL), 0);
	T_VERIFIED(t_verify_buf(m, PS, 32, 0, "page 0"));
	t_stats(p, &st);
	T_RET(upager_residency(p, m, 64 * PS, vec), 0);
	T_EQ(vec[0], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED);
	for (size_t i = 1; i < 64; i++)
		if (vec[i] & UPAGER_PAGE_READAHEAD) {
			ra++;
			T_CHECK(vec[i] & UPAGER_PAGE_RESIDENT, "read-ahead page %zu: %#x", i, vec[i]);
		}
	T_GE(ra, 2);
	T_EQ(ra, st.readahead - st.readahead_used);
	/* The run is readable but its first page, the marker; touching the
	 * marker posts the next run to the pager's thread, which reads it
	 * meanwhile (asynchronous read-ahead). */
	T_EQ(vec[1], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_READAHEAD);
	for (size_t i = 2; i <= ra; i++)
		T_EQ(vec[i], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_READAHEAD | UPAGER_PAGE_REFERENCED);
	T_EQ(vec[ra + 1], 0);
	T_VERIFIED(t_verify_buf(m + PS, PS, 32, PS, "the marker page"));
	t_stats(p, &st2);
	T_EQ(st2.readahead_used - st.readahead_used, 1);
	/* The next run: its first page is its marker; wait for the thread. */
	for (double t0 = t_now(); t_now() - t0 < 10;) {
		T_RET(upager_residency(p, m, 64 * PS, vec), 0);
		if ((vec[ra + 1] & UPAGER_PAGE_RESIDENT) && !(vec[ra + 1] & UPAGER_PAGE_LOCKED))
			break;
		usleep(1000);
	}
	T_EQ(vec[1], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED);
	T_EQ(vec[ra + 1], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_READAHEAD);
	ra2 = 0;
	for (size_t i = ra + 1; i < 64 && (vec[i] & UPAGER_PAGE_READAHEAD); i++) {
		ra2++;
		if (i > ra + 1)
			T_EQ(vec[i], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_READAHEAD |
			                     UPAGER_PAGE_REFERENCED);
	}
	T_GE(ra2, 1);
	t_stats(p, &st2);
	T_EQ(st2.readahead - st.readahead, ra2);
	/* Its marker counts the first run's pages as used, and posts the
	 * next run. */
	T_VERIFIED(t_verify_buf(m + (ra + 1) * PS, PS, 32, (ra + 1) * PS, "the second marker"));
	t_stats(p, &st);
	T_EQ(st.readahead_used - st2.readahead_used, ra);
	T_RET(upager_residency(p, m, 64 * PS, vec), 0);
	for (size_t i = 1; i <= ra + 1; i++)
		T_EQ(vec[i], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED);
	T_VERIFIED(t_verify_buf(m, 64 * PS, 32, 0, "the file"));

	/* A failed write-back: dirty and E; written at last: neither. */
	memset(m + 2 * PS, 0x5c, 2 * PS);
	upager__inject_io(UPAGER_IO_WRITE, 1, -EIO, 1);
	T_RET(upager_sync(p, m + 2 * PS, 2 * PS), -EIO);
	upager__inject_clear();
	T_RET(upager_residency(p, m + 2 * PS, 2 * PS, vec), 0);
	for (int i = 0; i < 2; i++)
		T_EQ(vec[i], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY |
		                     UPAGER_PAGE_WB_ERROR);
	T_RET(upager_sync(p, m + 2 * PS, 2 * PS), 0);
	T_RET(upager_residency(p, m + 2 * PS, 2 * PS, vec), 0);
	for (int i = 0; i < 2; i++)
		T_EQ(vec[i], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED);
	T_RET(upager_destroy(p), 0);
	upager__pause_background_writeback(0);
	close(fd);
	t_summary("read-ahead: a run of %u pages shown H (= readahead - readahead_used), all "
	          "referenced but the marker (its first page); touching it had the pager's "
	          "thread read the next run (%u pages); a failed write-back shows D and E until "
	          "written", ra, ra2);
}

static void test_errors(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	unsigned char vec[8], before[8], *m, *a;
	int pfd[2], ro;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	m = upager_alloc(p, 4 * PS);
	a = upager_alloc(p, 4 * PS);
	T_REQUIRE(m && a, "upager_alloc: %s", strerror(errno));
	m[PS] = 1;
	memset(before, 0xee, sizeof(before));
	memcpy(vec, before, sizeof(vec));
	T_RET(upager_residency(NULL, m, PS, vec), -EINVAL);
	T_RET(upager_residency(p, NULL, PS, vec), -EINVAL);
	T_RET(upager_residency(p, m, PS, NULL), -EINVAL);
	T_RET(upager_residency(p, m, 0, vec), -EINVAL);
	T_RET(upager_residency(p, vec, 1, vec), -EINVAL);              /* not managed */
	T_RET(upager_residency(p, m, 4 * PS + 1, vec), -EINVAL);       /* past the end */
	T_RET(upager_residency(p, m + 4 * PS - 1, 2, vec), -EINVAL);   /* across the end */
	T_RET(upager_residency(p, m + 4 * PS - 1, SIZE_MAX, vec), -EINVAL);
	T_CHECK(!memcmp(vec, before, sizeof(vec)), "the vector was written on failure");
	/* An unaligned start covers the pages its bytes touch, no more. */
	T_RET(upager_residency(p, m + PS / 2, PS, vec), 0);
	T_EQ(vec[0], 0);
	T_EQ(vec[1], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY);
	T_EQ(vec[2], 0xee);
	memcpy(vec, before, sizeof(vec));
	T_RET(upager_residency(p, m + 4 * PS - 1, 1, vec), 0);
	T_EQ(vec[0], 0);
	T_EQ(vec[1], 0xee);

	T_RET(upager_print_pages(NULL, NULL, 1, 0), -EINVAL);
	T_RET(upager_print_pages(p, vec, 1, 0), -EINVAL);
	T_RET(upager_print_pages(p, NULL, 1, 0x2), -EINVAL);
	T_RET(upager_print_pages(p, m, -1, 0), -EBADF);
	ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	T_REQUIRE(ro >= 0, "open /dev/null");
	T_RET(upager_print_pages(p, NULL, ro, UPAGER_PRINT_FRAMES), -EBADF);
	close(ro);
	T_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0, "pipe2");
	close(pfd[0]);
	sigaction(SIGPIPE, &ign, &old);
	T_RET(upager_print_pages(p, m, pfd[1], 0), -EPIPE);
	sigaction(SIGPIPE, &old, NULL);
	close(pfd[1]);
	/* A full non-blocking pipe. */
	T_REQUIRE(pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
	{
		char junk[4096];
		memset(junk, 'x', sizeof(junk));
		while (write(pfd[1], junk, sizeof(junk)) > 0)
			;
	}
	T_RET(upager_print_pages(p, NULL, pfd[1], 0), -EAGAIN);
	close(pfd[0]);
	close(pfd[1]);

	T_RET(upager_unmap(p, a), 0);
	T_RET(upager_residency(p, a, PS, vec), -EINVAL);
	T_RET(upager_print_pages(p, a, 1, 0), -EINVAL);
	T_RET(upager_destroy(p), 0);
	t_summary("errors: -EINVAL (NULL arguments, length 0, outside or past a region, "
	          "unmapped, bad flags), -EBADF, -EPIPE, -EAGAIN; the vector untouched on "
	          "failure; an unaligned range covers exactly its pages");
}

/* ------------------------------------------------- big, long, shared */

static void test_huge_region(void)
{
	const size_t ps = 64 << 10;
	struct upager_config c = t_config(ps, 64 * ps);
	upager_t *p;
	const size_t len = (size_t)1 << 40, npages = len / ps;
	const size_t touch[] = { 0, 1, 2, 1000, 500000, npages - 1 };
	unsigned char vec[3], *m;
	struct upager_stats st;
	struct dump d;
	size_t bytes, lines;

	c.readahead = UPAGER_READAHEAD_OFF; /* just the pages touched */
	p = t_create(&c);
	upager__pause_background_writeback(1);
	m = upager_alloc(p, len);
	T_REQUIRE(m != NULL, "upager_alloc(1 TiB): %s", strerror(errno));
	for (size_t k = 0; k < sizeof(touch) / sizeof(touch[0]); k++)
		*(volatile uint64_t *)(m + touch[k] * ps + 8) = t_pattern_u64(33, touch[k] * 8);
	T_RET(upager_residency(p, m + 999 * ps, 3 * ps, vec), 0);
	T_EQ(vec[0], 0);
	T_EQ(vec[1], UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY);
	T_EQ(vec[2], 0);
	T_RET(dump_take(p, m + 12345, 0, &d, 64, &bytes), 0);
	t_stats(p, &st);
	T_EQ(d.bad_lines, 0);
	T_REQUIRE(d.nregions == 1, "regions in the dump: %zu", d.nregions);
	T_EQ(d.reg[0].npages, npages);
	check_region_structure(&d.reg[0], "1 TiB");
	T_EQ(d.reg[0].footer[0], 6);
	T_EQ(d.reg[0].footer[2], 6);
	T_EQ(d.fr.used, st.nr_resident);
	T_CHECK(d.lines < 20, "1 TiB with 6 pages touched dumps in %zu lines", d.lines);
	for (size_t i = 0; i < d.reg[0].nruns; i++) {
		const struct drun *u = &d.reg[0].runs[i];
		int was_touched = 0;
		for (size_t k = 0; k < sizeof(touch) / sizeof(touch[0]); k++)
			was_touched |= touch[k] >= u->first && touch[k] <= u->last;
		T_CHECK(!was_touched == !u->state, "run %llu-%llu: state %#x", (unsigned long long)u->first,
		        (unsigned long long)u->last, u->state);
	}
	for (size_t k = 0; k < sizeof(touch) / sizeof(touch[0]); k++)
		T_EQ(*(volatile uint64_t *)(m + touch[k] * ps + 8), t_pattern_u64(33, touch[k] * 8));
	lines = d.lines;
	dump_free(&d);
	T_RET(upager_destroy(p), 0);
	upager__pause_background_writeback(0);
	t_summary("a 1 TiB region (%zu pages) with 6 pages touched dumped in %zu lines "
	          "(%zu bytes)", npages, lines, bytes);
}

/* A dump longer than the pipe holds, read by a thread that first calls
 * upager_residency() once the pipe is full: the dump must not hold the
 * pager's lock while it waits to write. */
struct reader {
	upager_t *p;
	unsigned char *m;
	int fd;
	char *text;
	size_t len, cap;
	int unmap;        /* unmap the region instead */
	int residency_rc; /* or upager_unmap's */
};

static int pipe_full(void *arg)
{
	struct reader *rd = arg;
	int n = 0;

	return ioctl(rd->fd, FIONREAD, &n) == 0 && n >= 4096;
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	unsigned char v;
	ssize_t k;

	if (t_wait_until(pipe_full, rd, "the dump to fill the pipe") == 0)
		rd->residency_rc = rd->unmap ? upager_unmap(rd->p, rd->m)
		                             : upager_residency(rd->p, rd->m, 1, &v);
	else
		rd->residency_rc = -ETIMEDOUT;
	for (;;) {
		if (rd->len == rd->cap) {
			rd->cap = rd->cap ? 2 * rd->cap : 65536;
			rd->text = realloc(rd->text, rd->cap + 1);
			if (!rd->text)
				abort();
		}
		k = read(rd->fd, rd->text + rd->len, rd->cap - rd->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		rd->len += (size_t)k;
	}
	rd->text[rd->len] = 0;
	return NULL;
}

static void test_long_dump(void)
{
	const size_t npages = 1024;
	struct upager_config c = t_config(PS, 512 * PS);
	upager_t *p = t_create(&c);
	struct reader rd = { 0 };
	unsigned char *m, *vec = malloc(npages);
	struct upager_stats st;
	pthread_t th;
	int pfd[2];
	struct dump d;

	T_REQUIRE(vec != NULL, "malloc");
	upager__pause_background_writeback(1);
	m = upager_alloc(p, npages * PS);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	for (size_t i = 0; i < npages; i += 2)
		m[i * PS] = (unsigned char)i;
	T_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0, "pipe2");
	T_REQUIRE(fcntl(pfd[0], F_SETPIPE_SZ, 4096) >= 0, "F_SETPIPE_SZ: %s", strerror(errno));
	rd.p = p;
	rd.m = m;
	rd.fd = pfd[0];
	T_REQUIRE(pthread_create(&th, NULL, reader_main, &rd) == 0, "pthread_create");
	T_RET(upager_print_pages(p, NULL, pfd[1], UPAGER_PRINT_FRAMES), 0);
	close(pfd[1]);
	pthread_join(th, NULL);
	close(pfd[0]);
	T_RET(rd.residency_rc, 0);
	T_RET(upager_residency(p, m, npages * PS, vec), 0);
	t_stats(p, &st);
	dump_parse(&d, rd.text, 512);
	T_EQ(d.bad_lines, 0);
	T_REQUIRE(d.nregions == 1, "regions: %zu", d.nregions);
	check_region_structure(&d.reg[0], "long dump");
	check_region_against(&d.reg[0], vec, "long dump");
	T_EQ(d.reg[0].nruns, npages);
	T_EQ(d.reg[0].footer[0], npages / 2);
	T_EQ(d.fr.used, st.nr_resident);
	T_CHECK(d.fr.in_order && d.fr.covered == 512, "frame runs cover %llu of 512 frames",
	        (unsigned long long)d.fr.covered);
	for (size_t i = 0; i < npages; i++)
		T_EQ(m[i * PS], i % 2 ? 0 : (unsigned char)i);
	t_summary("a dump of %zu bytes (%zu lines) through a 4 KiB pipe, while the reader "
	          "called upager_residency with the pipe full", rd.len, d.lines);
	dump_free(&d);
	free(rd.text);

	/* The same dump, but the reader unmaps the region meanwhile: the dump
	 * says so and goes on to the frame table, which is empty then.  The
	 * reads above changed the states: make every other page resident
	 * again, so that the dump is longer than the pipe. */
	T_RET(upager_advise(p, m, npages * PS, UPAGER_ADV_DONTNEED), 0);
	for (size_t i = 0; i < npages; i += 2)
		T_EQ(m[i * PS], (unsigned char)i);
	memset(&rd, 0, sizeof(rd));
	T_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0, "pipe2");
	T_REQUIRE(fcntl(pfd[0], F_SETPIPE_SZ, 4096) >= 0, "F_SETPIPE_SZ: %s", strerror(errno));
	rd.p = p;
	rd.m = m;
	rd.fd = pfd[0];
	rd.unmap = 1;
	T_REQUIRE(pthread_create(&th, NULL, reader_main, &rd) == 0, "pthread_create");
	T_RET(upager_print_pages(p, NULL, pfd[1], 0), 0);
	close(pfd[1]);
	pthread_join(th, NULL);
	close(pfd[0]);
	T_RET(rd.residency_rc, 0);
	dump_parse(&d, rd.text, 512);
	T_EQ(d.bad_lines, 0);
	T_REQUIRE(d.nregions == 1, "regions: %zu", d.nregions);
	T_CHECK(d.reg[0].cut && !d.reg[0].has_footer, "the dump did not say the region went");
	T_GE(d.reg[0].nruns, 1);
	T_LE(d.reg[0].nruns, npages - 1);
	for (size_t i = 0; i < d.reg[0].nruns; i++)
		T_EQ(d.reg[0].runs[i].first, i); /* contiguous from page 0 */
	T_CHECK(d.fr.found && d.fr.used == 0 && d.fr.free == 512,
	        "frame table after the unmap: %llu in use", (unsigned long long)d.fr.used);
	t_summary("a region unmapped while its dump waited on the pipe: cut short after %zu "
	          "runs, then the empty frame table", d.reg[0].nruns);
	dump_free(&d);
	free(rd.text);
	free(vec);
	T_RET(upager_destroy(p), 0);
	upager__pause_background_writeback(0);
}

/* 4 threads fault on their quarters of a region while the main thread reads
 * the page table over and over. */
#define NTHREADS 4
struct worker {
	unsigned char *m;
	size_t first, npages;
	uint64_t iters;
	unsigned id;
	uint32_t *version;
	long bad;
	atomic_int *done;
};

static uint64_t word_of(unsigned id, size_t page, uint32_t version, size_t j)
{
	return t_mix64(((uint64_t)id << 56) ^ ((uint64_t)page << 24) ^ ((uint64_t)version << 12) ^
	               j);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct t_rng rng = { t_seed() + w->id };

	for (uint64_t it = 0; it < w->iters; it++) {
		size_t i = w->first + t_rand_below(&rng, w->npages);
		uint64_t *pg = (uint64_t *)(w->m + i * PS);

		for (size_t j = 0; j < PS / 8; j++) /* read and verify */
			if (pg[j] != (w->version[i - w->first] ? word_of(w->id, i,
			                                                 w->version[i - w->first], j)
			                                       : 0))
				w->bad++;
		if (t_rand_below(&rng, 2)) {
			uint32_t v = ++w->version[i - w->first];
			for (size_t j = 0; j < PS / 8; j++)
				pg[j] = word_of(w->id, i, v, j);
		}
	}
	atomic_fetch_add(w->done, 1);
	return NULL;
}

static void test_concurrent(void)
{
	const size_t npages = 256;
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	atomic_int done = 0;
	unsigned char *m, *vec = malloc(npages);
	size_t calls = 0, dumps = 0, locked_seen = 0;
	struct upager_stats st;
	long bad = 0;

	T_REQUIRE(vec != NULL, "malloc");
	m = upager_alloc(p, npages * PS);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	for (unsigned t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ m, t * npages / NTHREADS, npages / NTHREADS,
			                t_scale(3000, 30000), t, calloc(npages / NTHREADS, 4), 0,
			                &done };
		T_REQUIRE(w[t].version != NULL, "calloc");
		T_REQUIRE(pthread_create(&th[t], NULL, worker_main, &w[t]) == 0, "pthread_create");
	}
	do {
		struct dump d;
		int rc = upager_residency(p, m, npages * PS, vec);

		T_RET(rc, 0);
		calls++;
		for (size_t i = 0; i < npages; i++) {
			if (vec[i] & ~ALL_BITS)
				bad++;
			if (vec[i] & UPAGER_PAGE_LOCKED)
				locked_seen++;
			else if ((vec[i] & NEEDS_RESIDENT) && !(vec[i] & UPAGER_PAGE_RESIDENT))
				bad++;
		}
		if (calls % 4 == 0) {
			T_RET(dump_take(p, NULL, UPAGER_PRINT_FRAMES, &d, 16, NULL), 0);
			T_EQ(d.bad_lines, 0);
			T_EQ(d.nregions, 1);
			if (d.nregions == 1)
				check_region_structure(&d.reg[0], "under faults");
			T_CHECK(d.fr.in_order && d.fr.covered == 16, "frame runs under faults");
			dump_free(&d);
			dumps++;
		}
	} while (atomic_load(&done) < NTHREADS);
	for (unsigned t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		T_EQ(w[t].bad, 0);
		/* Every page once more, from this thread. */
		for (size_t i = 0; i < w[t].npages; i++)
			for (size_t j = 0; j < PS / 8; j++)
				if (((uint64_t *)(m + (w[t].first + i) * PS))[j] !=
				    (w[t].version[i] ? word_of(t, w[t].first + i, w[t].version[i], j) : 0))
					bad++;
		free(w[t].version);
	}
	T_EQ(bad, 0);
	T_RET(upager_residency(p, m, npages * PS, vec), 0);
	t_stats(p, &st);
	{
		uint64_t resident = 0, dirty = 0;
		for (size_t i = 0; i < npages; i++) {
			resident += !!(vec[i] & UPAGER_PAGE_RESIDENT);
			dirty += !!(vec[i] & UPAGER_PAGE_DIRTY);
		}
		T_EQ(resident, st.nr_resident);
		T_EQ(dirty, st.nr_dirty);
	}
	T_GE(st.pgsteal, 1);
	T_RET(upager_destroy(p), 0);
	free(vec);
	t_summary("under 4 faulting threads (%llu faults, %llu evictions): %zu residency "
	          "vectors (%zu locked bytes seen) and %zu dumps well formed; the data verified",
	          (unsigned long long)st.pgfault, (unsigned long long)st.pgsteal, calls,
	          locked_seen, dumps);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "residency and dump against a model", test_model },
		{ "read-ahead and write-back errors", test_readahead_and_wb_error },
		{ "error codes", test_errors },
		{ "1 TiB region in a few lines", test_huge_region },
		{ "long dump through a full pipe", test_long_dump },
		{ "while 4 threads fault", test_concurrent },
		{ NULL, NULL },
	};

	t_init("test_residency", T_HANG_S);
	if (!t_io_uring_works())
		t_skip("io_uring is not available");
	t_add_suite("residency", tests);
	return t_run_suite();
}
