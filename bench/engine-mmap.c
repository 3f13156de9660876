/*
 * engine-mmap.c - the system "mmap" of upager-bench: the kernel's own
 * demand paging of the same file.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the mmap engine.
 * Calls: timed.c (fail), libc.
 *
 *   mmap           mmap(MAP_SHARED) of the file, PROT_READ (PROT_READ |
 *                  PROT_WRITE for update), in a memory cgroup limited to L
 *                  (job.c makes it; runner.c says what it can limit).
 *                  update's sync is msync(MS_SYNC) + fdatasync(), timed.
 * With --advise, the mapping is advised MADV_SEQUENTIAL (seq) or
 * MADV_RANDOM (the others).
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct mmap_state {
	void *base;
	size_t len;
	int fd;
};

static int mmap_setup(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	int prot = j->acc == ACC_UPDATE ? PROT_READ | PROT_WRITE : PROT_READ;
	struct mmap_state *st = calloc(1, sizeof(*st));
	char *base;

	if (!st)
		return fail(r, -ENOMEM, "mmap engine");
	base = mmap(NULL, j->ds->data, prot, MAP_SHARED, j->ds->file.fd, 0);
	if (base == MAP_FAILED) {
		free(st);
		return fail(r, -errno, "mmap");
	}
	if (j->advise &&
	    madvise(base, j->ds->data, j->acc == ACC_SEQ ? MADV_SEQUENTIAL : MADV_RANDOM) != 0)
		fail(r, -errno, "madvise");
	st->base = base;
	st->len = j->ds->data;
	st->fd = j->ds->file.fd;
	ctx->base = base;
	ctx->priv = st;
	return 0;
}

/* update: timed, after the workers. */
static int mmap_finish(void *priv)
{
	struct mmap_state *st = priv;

	if (msync(st->base, st->len, MS_SYNC) != 0 || fdatasync(st->fd) != 0)
		return -errno;
	return 0;
}

static void mmap_teardown(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	struct mmap_state *st = ctx->priv;

	(void)j;
	(void)r;
	munmap(st->base, st->len);
	free(st);
}

const struct engine engine_mmap = {
	.name = "mmap",
	.cg = CG_LIMIT,
	.setup = mmap_setup,
	.finish = mmap_finish,
	.finish_what = "msync/fdatasync",
	.teardown = mmap_teardown,
};
