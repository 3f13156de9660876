/*
 * mmap.c - regions: upager_map, upager_alloc and upager_unmap; the pager's
 * memfd (and scratch file) offsets, and a region's setup and teardown
 * (after Linux mm/mmap.c).
 *
 * API context only (never in a signal handler).  Every entry point holds
 * the pager's lock with the catchable signals blocked (gate.c's
 * upager__api_enter).
 *
 * Owns: the memfd's and the scratch file's extents (first fit over freed
 * ranges), the scratch file, a region's views, descriptors and
 * registration, and its teardown (write-back, then its frames freed and
 * its ranges punched).
 * Calls: worker.c (draining a region's queued work), signal.c
 * (registration), writeback.c (flushes), vmscan.c, mprotect.c, frame.c,
 * scratch.c (a region's slots), region.c, gate.c, options.c, inject.c,
 * stats.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1; glibc 2.29 */
#endif

/* Most bytes of the pager's memfd: regions are placed below this. */
#define MEMFD_SIZE ((uint64_t)1 << 60)

/*
 * An unlinked scratch file in $UPAGER_TMPDIR, $TMPDIR or /var/tmp.  The
 * variables are read with secure_getenv(3): a set-user-ID program must not
 * put its scratch data where its caller chooses (it falls back to
 * /var/tmp).
 */
static int open_scratch_file(void)
{
	const char *dir = secure_getenv("UPAGER_TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = secure_getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	/* File systems without O_TMPFILE: create and unlink at once. */
	if (snprintf(path, sizeof(path), "%s/upager-XXXXXX", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/*
 * A second descriptor of the file open as @fd, with O_DIRECT and access
 * mode @acc, opened through /proc/self/fd so that @fd is untouched; or -1
 * where the file system refuses O_DIRECT (buffered I/O then serves).
 */
static int open_direct(int fd, int acc)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, acc | O_DIRECT | O_CLOEXEC);
}

/*
 * The pager's scratch file, opened at first need (pager lock held).  One
 * per pager; each region has a range of it (scratch_space), cut into the
 * region's slots (scratch.c), so regions never overlap in it.
 */
static int pager_scratch(struct upager *p)
{
	if (p->scratch_fd < 0) {
		int fd = open_scratch_file();

		if (fd < 0)
			return fd;
		p->scratch_fd = fd;
		/* Whole pages go to it and come back with O_DIRECT: no copy
		 * into the page cache, nothing of it left dirty there and
		 * charged to the memory cgroup (docs/design.md, "Write-back"). */
		p->scratch_direct_fd = open_direct(fd, O_RDWR);
	}
	return p->scratch_fd;
}

/* ---- memfd and scratch file offsets: first fit over freed extents ------- */

struct extent {
	uint64_t off, len;
	struct extent *next;
};

static void range_free(struct extent_space *sp, uint64_t off, uint64_t len);

/* [*off, *off + len) of @sp, *off a multiple of @align (the region's page
 * size): first fit over the freed extents, else past sp->next (the gap
 * that the alignment skips is freed for later regions). */
static int range_alloc(struct extent_space *sp, uint64_t len, uint64_t align, uint64_t *off)
{
	struct extent **pp, *e;
	uint64_t start;

	for (pp = &sp->free; (e = *pp); pp = &e->next) {
		uint64_t end = e->off + e->len, head, tail;

		start = ALIGN_UP(e->off, align);
		if (start + len > end || start + len < start)
			continue;
		head = start - e->off;
		tail = end - (start + len);
		if (head && tail) {
			struct extent *n = malloc(sizeof(*n));
			if (n) { /* else the tail is lost to reuse, nothing else */
				n->off = start + len;
				n->len = tail;
				n->next = e->next;
				e->next = n;
			}
			e->len = head;
		} else if (head) {
			e->len = head;
		} else {
			e->off += len;
			e->len -= len;
			if (!e->len) {
				*pp = e->next;
				free(e);
			}
		}
		*off = start;
		return 0;
	}
	start = ALIGN_UP(sp->next, align);
	if (start + len > MEMFD_SIZE || start + len < start)
		return -ENOMEM;
	if (start > sp->next)
		range_free(sp, sp->next, start - sp->next);
	*off = start;
	sp->next = start + len;
	return 0;
}

/* Return [off, off+len) to @sp's free list, merging neighbours. */
static void range_free(struct extent_space *sp, uint64_t off, uint64_t len)
{
	struct extent **pp = &sp->free, *e, *n;

	while ((e = *pp) && e->off + e->len < off)
		pp = &e->next;
	if (e && e->off + e->len == off) {
		e->len += len;
		if (e->next && e->off + e->len == e->next->off) {
			n = e->next;
			e->len += n->len;
			e->next = n->next;
			free(n);
		}
		return;
	}
	if (e && off + len == e->off) {
		e->off = off;
		e->len += len;
		return;
	}
	n = malloc(sizeof(*n));
	if (!n)
		return; /* the range is lost to reuse, nothing else */
	n->off = off;
	n->len = len;
	n->next = e;
	*pp = n;
}

/*
 * -EFBIG if a file reaching @end bytes would pass the process's
 * RLIMIT_FSIZE, which applies to the memfd and the scratch file like to
 * any file: check first, since passing it would raise SIGXFSZ.
 */
static int fsize_check(uint64_t end)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    end > (uint64_t)rl.rlim_cur)
		return -EFBIG;
	return 0;
}

/* Make the memfd reach @end bytes. */
static int memfd_grow(struct upager *p, uint64_t end)
{
	if (end <= p->memfd_size)
		return 0;
	if (fsize_check(end))
		return -EFBIG;
	if (ftruncate(p->memfd, (off_t)end) != 0)
		return -errno;
	p->memfd_size = end;
	return 0;
}

/* Give back @r's slots and range of the scratch file (pager lock held). */
static void scratch_release(struct upager *p, struct upager_region *r)
{
	if (r->has_scratch_range)
		range_free(&p->scratch_space, (uint64_t)r->scratch_base,
		           upager__slots_needed(r->npages) << r->page_shift);
	r->has_scratch_range = false;
	upager__slots_free(r);
}

/* A region of @p with settings @rs, not set up yet. */
static struct upager_region *region_new(const struct upager *p, const struct region_settings *rs)
{
	struct upager_region *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->id = UINT32_MAX;
	r->fd = r->direct_fd = r->scratch_fd = r->scratch_direct_fd = -1;
	r->page_size = rs->page_size;
	r->page_shift = (unsigned)__builtin_ctzll(rs->page_size);
	r->units = (uint32_t)(rs->page_size >> p->unit_shift);
	r->readahead = rs->readahead;
	atomic_store(&r->advice, rs->advice);
	return r;
}

/*
 * Reserve the views and descriptors of @r (length, kind, fds set) and
 * register it.  Pager lock held.
 */
static int region_setup(struct upager *p, struct upager_region *r)
{
	size_t align = r->page_size;
	char *res, *aligned;
	int rc;

	r->pager = p;
	r->npages = (r->length + r->page_size - 1) >> r->page_shift;
	r->map_len = r->npages << r->page_shift;
	if (r->kind != REGION_SHARED && r->writable) {
		rc = pager_scratch(p);
		if (rc < 0)
			return rc;
		r->scratch_fd = rc;
		r->scratch_direct_fd = p->scratch_direct_fd;
	}
	rc = range_alloc(&p->memfd_space, r->map_len, r->page_size, &r->memfd_offset);
	if (rc < 0)
		return rc;
	r->has_range = true;
	rc = memfd_grow(p, r->memfd_offset + r->map_len);
	if (rc < 0)
		goto undo;
	if (r->scratch_fd >= 0) {
		/* Its range of the scratch file, in slots (scratch.c); the file
		 * grows as write-back reaches it. */
		uint64_t len = upager__slots_needed(r->npages) << r->page_shift, off;

		rc = range_alloc(&p->scratch_space, len, r->page_size, &off);
		if (rc < 0)
			goto undo;
		r->scratch_base = (off_t)off;
		r->has_scratch_range = true;
		rc = fsize_check(off + len);
		if (rc == 0)
			rc = upager__slots_init(r);
		if (rc < 0)
			goto undo;
	}

	/* App view: aligned to the region's page size, PROT_NONE, on the
	 * memfd (at an offset aligned to it too). */
	res = upager__inject(UPAGER_OP_MMAP, 0) != 0
	              ? MAP_FAILED
	              : mmap(NULL, r->map_len + align, PROT_NONE,
	                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		rc = -ENOMEM;
		goto undo;
	}
	aligned = (char *)ALIGN_UP((uintptr_t)res, align);
	if (aligned > res)
		munmap(res, (size_t)(aligned - res));
	if (aligned + r->map_len < res + r->map_len + align)
		munmap(aligned + r->map_len, (size_t)(res + r->map_len + align - aligned - r->map_len));
	r->base = mmap(aligned, r->map_len, PROT_NONE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE,
	               p->memfd, (off_t)r->memfd_offset);
	if (r->base == MAP_FAILED) {
		munmap(aligned, r->map_len);
		r->base = NULL;
		rc = -ENOMEM;
		goto undo;
	}
	/* Descriptors: zero pages until a page is touched. */
	r->pages_bytes = ALIGN_UP(r->npages * sizeof(struct upager_page), 4096);
	r->pages = mmap(NULL, r->pages_bytes, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->pages == MAP_FAILED) {
		r->pages = NULL;
		rc = -ENOMEM;
		goto undo;
	}
	/* A forked child gets none of it (see pager_ok). */
	madvise(r->base, r->map_len, MADV_DONTFORK);
	madvise(r->pages, r->pages_bytes, MADV_DONTFORK);
	upager__region_guards_init(r);
	rc = upager__region_create(p, r);
	if (rc < 0) {
		r->id = UINT32_MAX;
		goto undo;
	}
	r->next = p->regions;
	if (p->regions)
		p->regions->prev = r;
	p->regions = r;
	return 0;
undo:
	scratch_release(p, r);
	range_free(&p->memfd_space, r->memfd_offset, r->map_len);
	r->has_range = false;
	return rc;
}

/* Set @r up under the pager lock; its address, or NULL with errno (and @r
 * freed). */
static void *region_install(struct upager *p, struct upager_region *r)
{
	sigset_t old;
	int rc;

	upager__api_enter(p, &old);
	rc = region_setup(p, r);
	upager__api_exit(p, &old);
	if (rc < 0) {
		upager__region_free(r);
		errno = -rc;
		return NULL;
	}
	return r->base;
}

void *upager_map_params(upager_t *p, int fd, off_t offset, size_t length, int prot, int flags,
                        const struct upager_region_params *params, size_t size)
{
	struct region_settings rs;
	struct upager_region *r;
	struct stat st;
	int acc, rc;

	if (!pager_ok(p) || length == 0 || length > UPAGER_MAX_REGION_BYTES || offset < 0 ||
	    (flags != UPAGER_SHARED && flags != UPAGER_PRIVATE) ||
	    (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE))) {
		errno = EINVAL;
		return NULL;
	}
	rc = upager__region_params_resolve(p, params, size, &rs);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	if ((uint64_t)offset & (rs.page_size - 1) ||
	    (uint64_t)offset > (uint64_t)INT64_MAX - length) {
		errno = EINVAL;
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) != 0) {
		errno = EBADF;
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return NULL;
	}
	acc = fcntl(fd, F_GETFL);
	if (acc < 0) {
		errno = EBADF;
		return NULL;
	}
	if (flags == UPAGER_SHARED && (prot & PROT_WRITE) && (acc & O_APPEND)) {
		/* pwrite(2) on an O_APPEND descriptor appends on Linux:
		 * write-back would land at the end of the file (mmap(2) refuses
		 * this too). */
		errno = EACCES;
		return NULL;
	}
	if (acc & O_PATH) {
		errno = EBADF; /* not open for reading */
		return NULL;
	}
	acc &= O_ACCMODE;
	if (acc == O_WRONLY) {
		errno = EBADF; /* not open for reading */
		return NULL;
	}
	if (flags == UPAGER_SHARED && (prot & PROT_WRITE) && acc != O_RDWR) {
		errno = EACCES;
		return NULL;
	}
	if (flags == UPAGER_SHARED && (prot & PROT_WRITE)) {
		/* A memfd sealed against writes refuses every pwrite(2) with
		 * EPERM, so each write-back would fail for ever: refuse the
		 * map instead, as mmap(2) does.  F_GET_SEALS fails (EINVAL)
		 * on files that cannot be sealed.  A seal added after the map
		 * makes write-back fail like any other write error. */
		int seals = fcntl(fd, F_GET_SEALS);
		if (seals > 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) {
			errno = EPERM;
			return NULL;
		}
	}

	r = region_new(p, &rs);
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->kind = flags == UPAGER_SHARED ? REGION_SHARED : REGION_PRIVATE;
	r->writable = prot & PROT_WRITE;
	r->length = length;
	r->file_offset = offset;
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (r->fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (rs.direct_io)
		r->direct_fd = open_direct(r->fd, acc == O_RDWR ? O_RDWR : O_RDONLY);
	return region_install(p, r);
fail:
	upager__region_free(r);
	errno = -rc;
	return NULL;
}

void *upager_map(upager_t *p, int fd, off_t offset, size_t length, int prot, int flags)
{
	return upager_map_params(p, fd, offset, length, prot, flags, NULL, 0);
}

void *upager_alloc_params(upager_t *p, size_t length, const struct upager_region_params *params,
                          size_t size)
{
	struct region_settings rs;
	struct upager_region *r;
	int rc;

	if (!pager_ok(p) || length == 0 || length > UPAGER_MAX_REGION_BYTES) {
		errno = EINVAL;
		return NULL;
	}
	rc = upager__region_params_resolve(p, params, size, &rs);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	r = region_new(p, &rs);
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->kind = REGION_ANON;
	r->writable = true;
	r->length = (length + rs.page_size - 1) & ~(rs.page_size - 1);
	return region_install(p, r);
}

void *upager_alloc(upager_t *p, size_t length)
{
	return upager_alloc_params(p, length, NULL, 0);
}

/*
 * Take down @r (pager lock held).  Without @force, a failed write-back
 * leaves @r mapped and returns the error; with it, @r goes regardless.
 */
int upager__region_teardown(struct upager *p, struct upager_region *r, bool force)
{
	int err;

	upager__worker_drain(p, r);
	err = upager__flush_range(r, 0, r->npages - 1, false);
	if (err && !force)
		return err;
	upager__region_unregister(r);
	/* No fault can reach @r now; write what was dirtied meanwhile. */
	if (!err) {
		err = upager__flush_range(r, 0, r->npages - 1, false);
		if (err && !force) {
			upager__region_reregister(r);
			return err;
		}
	}
	/* Free its frames; the memory goes with one punch of the range. */
	for (size_t fi = 0; fi < p->nframes; fi++) {
		uint64_t o = atomic_load(&p->frames[fi].owner);
		if (!o || owner_region_id(o) != r->id)
			continue;
		uint32_t f = page_flags(&r->pages[owner_page(o)]);
		if (f & PG_DIRTY)
			upager__stat_dirty(p, -1, r->units);
		if (page_pins(f))
			upager__stat_pinned(p, -1, r->units);
		if (f & PG_HOT)
			upager__frame_cool(p, (uint32_t)fi, r->units);
		upager__stat_resident(p, -1, r->units);
		upager__frame_free(p, (uint32_t)fi, r->units);
	}
	upager__access_forget(r);
	fallocate(p->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->memfd_offset,
	          (off_t)r->map_len);
	if (r->has_scratch_range)
		fallocate(r->scratch_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		          r->scratch_base, (off_t)(r->nslots << r->page_shift));
	scratch_release(p, r);
	range_free(&p->memfd_space, r->memfd_offset, r->map_len);
	r->has_range = false;
	if (r->prev)
		r->prev->next = r->next;
	else
		p->regions = r->next;
	if (r->next)
		r->next->prev = r->prev;
	upager__region_free(r);
	return err;
}

int upager_unmap(upager_t *p, void *addr)
{
	struct upager_region *r;
	sigset_t old;
	int rc;

	if (!pager_ok(p) || !addr)
		return -EINVAL;
	upager__api_enter(p, &old);
	r = upager__region_find(p, addr);
	if (!r || r->base != addr)
		rc = -EINVAL;
	else
		rc = upager__region_teardown(p, r, false);
	upager__api_exit(p, &old);
	return rc;
}

static void space_free(struct extent_space *sp)
{
	while (sp->free) {
		struct extent *e = sp->free;
		sp->free = e->next;
		free(e);
	}
}

/* Free the lists of freed memfd and scratch ranges (upager_destroy, last). */
void upager__extents_free(struct upager *p)
{
	space_free(&p->memfd_space);
	space_free(&p->scratch_space);
}

