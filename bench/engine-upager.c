/*
 * engine-upager.c - the systems "upager" and "upager-direct" of
 * upager-bench.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the upager engines: a pager and one mapping of the data file, and
 * the pager's counters over the timed phase (struct upager_delta).
 * Calls: upager.h (the public API only), timed.c (fail), libc.
 *
 *   upager         upager_map(UPAGER_SHARED), buffered backing I/O,
 *                  memory_limit = L, page size --page-size (default:
 *                  upager's: the system page where the kernel has guard
 *                  markers, else 16 KiB).
 *                  The scratch workload: upager_alloc() of its S bytes
 *                  instead, the same limit and page size.
 *   upager-direct  the same with UPAGER_DIRECT_IO (not scratch).  O_DIRECT reads go to
 *                  the device even when the file is in the page cache, so
 *                  its "hot" rows read the device too.  Where the file
 *                  system refuses O_DIRECT, upager falls back to buffered
 *                  I/O; the row's note says which happened, as seen from
 *                  outside: whether the process holds a descriptor of the
 *                  data file opened with O_DIRECT after upager_map().
 * With --advise, the mapping is advised UPAGER_ADV_SEQUENTIAL (seq) or
 * UPAGER_ADV_RANDOM (the others).  In the cold regime the run's cgroup
 * is L + 5% + 16 MiB (job.c); in the hot regime there is none.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct upager_state {
	upager_t *p;
	void *base;
	struct upager_stats s0;
};

static void upager_delta_of(struct upager_delta *d, const struct upager_stats *a,
                            const struct upager_stats *b)
{
	d->fault = b->pgfault - a->pgfault;
	d->maj = b->pgmajfault - a->pgmajfault;
	d->min = b->pgminfault - a->pgminfault;
	d->write = b->pgwritefault - a->pgwritefault;
	d->pgin = b->pgpgin - a->pgpgin;
	d->pgout = b->pgpgout - a->pgpgout;
	d->ra = b->readahead - a->readahead;
	d->ra_used = b->readahead_used - a->readahead_used;
	d->scan = b->pgscan - a->pgscan;
	d->deact = b->pgdeactivate - a->pgdeactivate;
	d->steal = b->pgsteal - a->pgsteal;
	d->wb_evict = b->writeback_evict - a->writeback_evict;
	d->wb_background = b->writeback_background - a->writeback_background;
	d->dirtied = b->pgdirtied - a->pgdirtied;
	d->predicted = b->pgdirty_predicted - a->pgdirty_predicted;
	d->dirty_start = a->nr_dirty;
	d->dirty_end = b->nr_dirty;
	d->io_errors = b->io_errors - a->io_errors;
	d->sigbus = b->sigbus - a->sigbus;
	d->resident_peak = b->nr_resident_peak;
	d->frames = b->nr_frames;
}

/* The O_DIRECT flag of descriptor @n, from /proc/self/fdinfo: 1, 0, or -1
 * if unreadable. */
static int fd_direct(int n)
{
	char path[64], line[128];
	unsigned long flags;
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", n);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "flags: %lo", &flags) == 1) {
			ret = (flags & O_DIRECT) != 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Whether the process holds a descriptor of @fd's file opened with
 * O_DIRECT: 1, 0, or -1 if /proc could not tell. */
static int file_open_direct(int fd)
{
	struct stat want, st;
	struct dirent *e;
	int ret = 0;
	DIR *d;

	if (fstat(fd, &want) != 0)
		return -1;
	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL && ret != 1) {
		char *end;
		long n = strtol(e->d_name, &end, 10);

		if (*end != '\0' || end == e->d_name || n == dirfd(d))
			continue;
		if (fstat((int)n, &st) != 0 || st.st_dev != want.st_dev ||
		    st.st_ino != want.st_ino)
			continue;
		switch (fd_direct((int)n)) {
		case 1:
			ret = 1;
			break;
		case -1:
			ret = -1;
			break;
		}
	}
	closedir(d);
	return ret;
}

static int upager_setup(struct engine_ctx *ctx, const struct job *j, struct result *r,
                        unsigned flags)
{
	struct upager_state *st = calloc(1, sizeof(*st));
	struct upager_config cfg;
	int prot = j->acc == ACC_UPDATE ? PROT_READ | PROT_WRITE : PROT_READ;
	int rc;

	if (!st)
		return fail(r, -ENOMEM, "upager engine");
	memset(&cfg, 0, sizeof(cfg));
	cfg.page_size = j->ds->page_size;
	cfg.memory_limit = j->ds->limit;
	cfg.flags = flags;
	rc = upager_create(&st->p, &cfg, sizeof(cfg));
	if (rc < 0) {
		free(st);
		return fail(r, rc, "upager_create");
	}
	if (j->acc == ACC_SCRATCH)
		st->base = upager_alloc(st->p, j->ds->data);
	else
		st->base = upager_map(st->p, j->ds->file.fd, 0, j->ds->data, prot, UPAGER_SHARED);
	if (!st->base) {
		rc = fail(r, -errno, j->acc == ACC_SCRATCH ? "upager_alloc" : "upager_map");
		upager_destroy(st->p);
		free(st);
		return rc;
	}
	if (j->advise) {
		rc = upager_advise(st->p, st->base, j->ds->data,
		                   j->acc == ACC_SEQ ? UPAGER_ADV_SEQUENTIAL : UPAGER_ADV_RANDOM);
		if (rc < 0)
			fail(r, rc, "upager_advise");
	}
	if (flags & UPAGER_DIRECT_IO) { /* untimed */
		int direct = file_open_direct(j->ds->file.fd);

		snprintf(r->info, sizeof(r->info), "%s",
		         direct > 0    ? "O_DIRECT"
		         : direct == 0 ? "O_DIRECT refused: buffered I/O"
		                       : "O_DIRECT: unknown (/proc unreadable)");
	}
	ctx->base = st->base;
	ctx->priv = st;
	upager_stats(st->p, &st->s0, sizeof(st->s0));
	return 0;
}

static int upager_buffered_setup(struct engine_ctx *ctx, const struct job *j,
                                 struct result *r)
{
	return upager_setup(ctx, j, r, 0);
}

static int upager_direct_setup(struct engine_ctx *ctx, const struct job *j,
                               struct result *r)
{
	return upager_setup(ctx, j, r, UPAGER_DIRECT_IO);
}

/* update: timed, after the workers. */
static int upager_finish(void *priv)
{
	struct upager_state *st = priv;

	return upager_sync(st->p, st->base, 0);
}

/* scratch: the counters so far, around each phase. */
static void upager_counters(void *priv, struct upager_delta *abs)
{
	struct upager_state *st = priv;
	struct upager_stats zero, now;

	memset(&zero, 0, sizeof(zero));
	upager_stats(st->p, &now, sizeof(now));
	upager_delta_of(abs, &zero, &now);
}

static void upager_teardown(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	struct upager_state *st = ctx->priv;
	struct upager_stats s1;
	int rc;

	(void)j;
	upager_stats(st->p, &s1, sizeof(s1));
	upager_delta_of(&r->up, &st->s0, &s1);
	r->have_upager = true;
	rc = upager_unmap(st->p, st->base);
	if (rc < 0)
		fail(r, rc, "upager_unmap");
	rc = upager_destroy(st->p);
	if (rc < 0)
		fail(r, rc, "upager_destroy");
	free(st);
}

const struct engine engine_upager = {
	.name = "upager",
	.cg = CG_COLD_SLACK,
	.upager = true,
	.scratch = true,
	.setup = upager_buffered_setup,
	.finish = upager_finish,
	.finish_what = "upager_sync",
	.teardown = upager_teardown,
	.counters = upager_counters,
};

const struct engine engine_upager_direct = {
	.name = "upager-direct",
	.cg = CG_COLD_SLACK,
	.upager = true,
	.setup = upager_direct_setup,
	.finish = upager_finish,
	.finish_what = "upager_sync",
	.teardown = upager_teardown,
};
