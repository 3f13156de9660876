/*
 * inspect.c - the page table made visible: upager_residency() (mincore(2)
 * with upager's page states) and upager_print_pages() (runs of pages in
 * the same state, and the frame table, as text for debugging).
 *
 * API context only (never in a signal handler).  Both calls only read: one
 * atomic load of a page's flags word per page, no page lock, no I/O, no
 * change of protection or reference, so a fault never waits for them and
 * they never wait for a fault.  They hold the pager's lock (the region list;
 * the API calls take it too, and region teardown happens under it) while
 * they look at a region, so the region cannot go away under them.
 * upager_print_pages() formats into a buffer on its stack and releases the
 * lock around every write(2) of it; afterwards it looks its region up again
 * by address.  Nothing here allocates.
 *
 * Owns: the text form of the page and frame tables.
 * Calls: page.c (a flags word's public state), region.c (regions by
 * address, range and id), stats.c (counters, writing text), and the
 * pager's lock.  Beside mmap.c and range.c: none calls another.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- upager_residency ----------------------------------------------------- */

int upager_residency(upager_t *p, void *addr, size_t length, unsigned char *vec)
{
	struct upager_region *r;
	uint64_t first, last;

	if (!pager_ok(p) || !addr || !vec || length == 0)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	r = upager__region_range(p, addr, length, false, &first, &last);
	if (r)
		for (uint64_t i = first; i <= last; i++)
			vec[i - first] = upager__page_residency(page_flags(&r->pages[i]));
	pthread_mutex_unlock(&p->lock);
	return r ? 0 : -EINVAL;
}

/* ---- upager_print_pages ----------------------------------------------------- */

/* The state bits in their column order, and their letters. */
#define NSTATE 7
static const uint8_t state_bit[NSTATE] = {
	UPAGER_PAGE_RESIDENT, UPAGER_PAGE_REFERENCED, UPAGER_PAGE_DIRTY, UPAGER_PAGE_PINNED,
	UPAGER_PAGE_LOCKED,   UPAGER_PAGE_WB_ERROR,   UPAGER_PAGE_READAHEAD,
};
static const char state_letter[NSTATE + 1] = "RADPLEH";
static const char *const state_name[NSTATE] = {
	"resident", "referenced", "dirty", "pinned", "locked", "write-back error", "read ahead",
};

/* Longest line printed; the buffer is written out before it has less room. */
#define LINE_MAX_BYTES 256

/* The output: a buffer on the caller's stack, written out in chunks. */
struct out {
	struct upager *p;
	int fd;
	int err;     /* first write error: nothing more is formatted */
	size_t n;    /* bytes in buf */
	char buf[8192];
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->err)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n += (size_t)k < sizeof(o->buf) - o->n ? (size_t)k : sizeof(o->buf) - o->n - 1;
}

/* Write the buffer out with the pager's lock released (it is held on entry
 * and on return).  Return false when a write failed (o->err). */
static bool out_flush(struct out *o)
{
	int rc;

	if (o->err || !o->n)
		return !o->err;
	pthread_mutex_unlock(&o->p->lock);
	rc = upager__write_all(o->fd, o->buf, o->n);
	pthread_mutex_lock(&o->p->lock);
	o->n = 0;
	if (rc < 0)
		o->err = rc;
	return !o->err;
}

/* Make room for a line; true when the buffer was written out (the lock was
 * released meanwhile, so regions must be looked up again). */
static bool out_room(struct out *o)
{
	if (sizeof(o->buf) - o->n >= LINE_MAX_BYTES)
		return false;
	out_flush(o);
	return true;
}

static void state_letters(uint8_t s, char *dst)
{
	for (unsigned b = 0; b < NSTATE; b++)
		dst[b] = s & state_bit[b] ? state_letter[b] : '-';
	dst[NSTATE] = 0;
}

static const char *kind_name(const struct upager_region *r)
{
	switch (r->kind) {
	case REGION_SHARED:
		return "shared file";
	case REGION_PRIVATE:
		return "private file";
	default:
		return "anonymous";
	}
}

/*
 * The frame of page @idx, if it was resident and unlocked both before and
 * after the read of its frame number with the same flags; else -1.
 */
static long page_frame(const struct upager_region *r, uint64_t idx, uint32_t flags)
{
	struct upager_page *pg = &r->pages[idx];
	uint32_t frame;

	if ((flags & (PG_RESIDENT | PG_LOCKED)) != PG_RESIDENT)
		return -1;
	frame = __atomic_load_n(&pg->frame, __ATOMIC_ACQUIRE);
	if (page_flags(pg) != flags || frame >= r->pager->nframes)
		return -1;
	return (long)frame;
}

/*
 * Print the runs of region @r and its counts.  Pager lock held; if the
 * region is unmapped while a chunk is written, say so and stop.
 */
static void print_region(struct out *o, struct upager_region *r)
{
	struct upager *p = o->p;
	char *const base = r->base;
	const size_t npages = r->npages;
	uint64_t count[NSTATE] = { 0 }, idx = 0;
	char letters[NSTATE + 1];
	uint32_t f;

	out_room(o);
	/* Re-check after a write: the region may be gone. */
	r = upager__region_find(p, base);
	if (!r || r->base != base || r->npages != npages)
		return;
	out_printf(o, "region %p-%p: %zu pages of %zu bytes, %s, %s\n", (void *)base,
	           (void *)(base + r->map_len), npages, r->page_size, kind_name(r),
	           r->writable ? "read-write" : "read-only");
	out_printf(o, "  %12s %12s %12s  %s\n", "first page", "last page", "pages", "state");
	/* Each page's flags are read once: the read that ends a run starts
	 * the next, so neighbouring runs always differ. */
	f = page_flags(&r->pages[0]);
	while (idx < npages) {
		uint64_t start = idx;
		uint8_t s;
		long frame;

		if (out_room(o)) {
			if (o->err)
				return;
			r = upager__region_find(p, base);
			if (!r || r->base != base || r->npages != npages) {
				out_printf(o, "  (unmapped during the dump at page %llu)\n",
				           (unsigned long long)idx);
				return;
			}
		}
		s = upager__page_residency(f);
		frame = page_frame(r, idx, f);
		while (++idx < npages) {
			f = page_flags(&r->pages[idx]);
			if (upager__page_residency(f) != s)
				break;
		}
		for (unsigned b = 0; b < NSTATE; b++)
			if (s & state_bit[b])
				count[b] += idx - start;
		state_letters(s, letters);
		if (idx - start == 1 && frame >= 0)
			out_printf(o, "  %12llu %12llu %12llu  %s frame %ld\n",
			           (unsigned long long)start, (unsigned long long)idx - 1, 1ull,
			           letters, frame);
		else
			out_printf(o, "  %12llu %12llu %12llu  %s\n", (unsigned long long)start,
			           (unsigned long long)idx - 1, (unsigned long long)(idx - start),
			           letters);
	}
	out_room(o);
	out_printf(o, "  pages:");
	for (unsigned b = 0; b < NSTATE; b++)
		out_printf(o, "%s %llu %s", b ? "," : "", (unsigned long long)count[b],
		           state_name[b]);
	out_printf(o, "\n");
}

/* The region of @p with the lowest base above @after (NULL: the lowest). */
static struct upager_region *region_after(struct upager *p, const char *after)
{
	struct upager_region *best = NULL;

	for (struct upager_region *r = p->regions; r; r = r->next)
		if ((!after || r->base > after) && (!best || r->base < best->base))
			best = r;
	return best;
}

/* The region of frame owner @o, if it is a region of @p (lock held). */
static struct upager_region *owner_region(struct upager *p, uint64_t o)
{
	struct upager_region *r = o ? upager__region_get(owner_region_id(o)) : NULL;

	if (!r || r->pager != p || owner_page(o) >= r->npages)
		return NULL;
	return r;
}

/* The frame table: a summary line, and with @runs its runs. */
static void print_frames(struct out *o, bool runs)
{
	struct upager *p = o->p;
	uint64_t nfree = 0, ref = 0, dirty = 0, pinned = 0;
	uint64_t hand = atomic_load_explicit(&p->hand, memory_order_relaxed) % p->nframes;

	for (size_t fi = 0; fi < p->nframes; fi++) {
		uint64_t ow = atomic_load_explicit(&p->frames[fi].owner, memory_order_acquire);
		struct upager_region *r = owner_region(p, ow);
		uint32_t f;

		if (!ow) {
			nfree++;
			continue;
		}
		if (!r)
			continue;
		f = page_flags(&r->pages[owner_page(ow)]);
		ref += (f & PG_ACCESS) != 0;
		dirty += (f & PG_DIRTY) != 0;
		pinned += page_pins(f) != 0;
	}
	out_room(o);
	out_printf(o,
	           "frames: %zu, one per %zu bytes of the limit, %llu free, %llu in use "
	           "(%llu referenced, %llu dirty, %llu pinned); Clock hand at frame %llu\n",
	           p->nframes, (size_t)1 << p->unit_shift, (unsigned long long)nfree,
	           (unsigned long long)(p->nframes - nfree), (unsigned long long)ref,
	           (unsigned long long)dirty, (unsigned long long)pinned,
	           (unsigned long long)hand);
	out_printf(o, "counters: nr_resident %lld, nr_dirty %lld, nr_pinned %lld; "
	           "%llu of %llu bytes resident\n",
	           (long long)atomic_load(&p->stats.nr_resident),
	           (long long)atomic_load(&p->stats.nr_dirty),
	           (long long)atomic_load(&p->stats.nr_pinned),
	           (unsigned long long)atomic_load(&p->stats.resident_units) << p->unit_shift,
	           (unsigned long long)p->memory_limit);
	if (!runs)
		return;
	for (size_t fi = 0; fi < p->nframes && !o->err;) {
		uint64_t ow = atomic_load_explicit(&p->frames[fi].owner, memory_order_acquire);
		struct upager_region *r = owner_region(p, ow);
		size_t start = fi;

		/* Free frames, or frames holding pages idx, idx+1, ... of r. */
		while (++fi < p->nframes) {
			uint64_t next = atomic_load_explicit(&p->frames[fi].owner,
			                                     memory_order_acquire);
			if (ow ? next != ow + (fi - start) : next != 0)
				break;
		}
		out_room(o);
		if (!ow)
			out_printf(o, "  frames %zu-%zu (%zu): free\n", start, fi - 1, fi - start);
		else if (r)
			out_printf(o, "  frames %zu-%zu (%zu): region %p pages %llu-%llu\n", start,
			           fi - 1, fi - start, (void *)r->base,
			           (unsigned long long)owner_page(ow),
			           (unsigned long long)(owner_page(ow) + fi - start - 1));
		else
			out_printf(o, "  frames %zu-%zu (%zu): owner %#llx\n", start, fi - 1,
			           fi - start, (unsigned long long)ow);
	}
}

int upager_print_pages(upager_t *p, void *addr, int fd, unsigned flags)
{
	struct out o;
	struct upager_region *r;
	int rc = 0;

	if (!pager_ok(p) || (flags & ~UPAGER_PRINT_FRAMES))
		return -EINVAL;
	o.p = p;
	o.fd = fd;
	o.err = 0;
	o.n = 0;
	pthread_mutex_lock(&p->lock);
	if (addr) {
		r = upager__region_find(p, addr);
		if (!r) {
			rc = -EINVAL;
			goto out;
		}
	}
	out_printf(&o, "upager page table: pager's page size %zu bytes; state R resident, "
	               "A referenced, D dirty, P pinned, L locked, E write-back error, "
	               "H read ahead\n",
	           p->page_size);
	if (addr) {
		print_region(&o, r);
	} else {
		const char *after = NULL;

		/* In address order; the list may change while a chunk is
		 * written, so the next region is found by address each time. */
		while (!o.err && (r = region_after(p, after))) {
			after = r->base;
			print_region(&o, r);
		}
	}
	print_frames(&o, flags & UPAGER_PRINT_FRAMES);
	out_flush(&o);
	rc = o.err;
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}
