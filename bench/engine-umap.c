/*
 * engine-umap.c - the system "umap" of upager-bench: LLNL's UMap, a
 * user-space pager built on userfaultfd(2), on the same file.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the umap engine: finding libumap (--umap PREFIX, else
 * $UPAGER_BENCH_UMAP) and loading it at run time, its settings, one
 * mapping of the data file.
 * Calls: timed.c (fail), util.c (proc_value), lib/units, libc (dlopen,
 * dlsym).
 *
 *   umap           umap(PROT_READ, or PROT_READ | PROT_WRITE for update;
 *                  UMAP_PRIVATE, the only mode UMap has: its writes still go
 *                  back to the file) of the file, with UMap's page size =
 *                  upager's page size and its buffer = L / page size pages,
 *                  in the cgroup upager gets (L + 5% + 16 MiB, cold only:
 *                  UMap's file I/O is buffered, as upager's).  update's sync
 *                  is umap_flush() + fdatasync(), timed.
 *
 * The harness builds and runs without UMap: libumap.so is opened with
 * dlopen(3) from PREFIX/lib (or lib64), never linked.  The parent opens it
 * once to see that it loads and has the calls (then closes it again);
 * where there is no PREFIX or it does not load, every umap row is skipped
 * with the reason.  UMap reads its settings (UMAP_PAGESIZE in bytes,
 * UMAP_BUFSIZE in pages) from the environment once, when its first umap()
 * makes its region manager; the child sets them before that first call,
 * and checks them afterwards with umapcfg_get_*().  UMap reports errors
 * by C++ exceptions, which end the child (SIGABRT) when they reach this C
 * code: the child checks what it can first (the buffer against UMap's own
 * bound, 90% of MemFree).  UMap's filler and evictor threads are its
 * default, one each per CPU.  UMap logs to stdout, each umap() at level
 * INFO: the child sets UMAP_LOG_LEVEL to WARNING unless it is set.
 */
#include "bench.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define UMAP_PRIVATE_FLAG MAP_PRIVATE /* umap.h: UMAP_PRIVATE */

/* The calls of umap.h used here. */
struct umap_api {
	void *(*umap)(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
	int (*uunmap)(void *addr, size_t length);
	int (*flush)(void);
	uint64_t (*page_size)(void);
	uint64_t (*buffer_pages)(void);
};

/* The library found by the parent's probe (inherited by the children). */
static char umap_lib[PATH_MAX];

/* Open @path and fill @api; the handle, or NULL with @why set. */
static void *umap_open(const char *path, struct umap_api *api, char *why, size_t len)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	const char *err;

	if (!h) {
		err = dlerror();
		snprintf(why, len, "%s", err ? err : "dlopen failed");
		return NULL;
	}
	*(void **)&api->umap = dlsym(h, "umap");
	*(void **)&api->uunmap = dlsym(h, "uunmap");
	*(void **)&api->flush = dlsym(h, "umap_flush");
	*(void **)&api->page_size = dlsym(h, "umapcfg_get_umap_page_size");
	*(void **)&api->buffer_pages = dlsym(h, "umapcfg_get_max_pages_in_buffer");
	if (!api->umap || !api->uunmap || !api->flush || !api->page_size ||
	    !api->buffer_pages) {
		snprintf(why, len, "%s lacks umap(), uunmap(), umap_flush() or umapcfg_get_*()",
		         path);
		dlclose(h);
		return NULL;
	}
	return h;
}

/* Parent, before a run: is there a libumap that loads?  Probed once. */
static int umap_prepare(const struct job *j, const struct cgroup *cg, char *why, size_t len)
{
	static int probed; /* 0: not yet; 1: found; -1: not */
	static char probe_why[NOTE_LEN];
	const char *libdirs[] = { "lib", "lib64" };
	char path[PATH_MAX], err[2][NOTE_LEN / 2];
	struct umap_api api;

	(void)cg;
	if (!probed) {
		probed = -1;
		snprintf(probe_why, sizeof(probe_why),
		         "no UMap (--umap PREFIX or UPAGER_BENCH_UMAP)");
		for (size_t i = 0; j->umap && *j->umap && i < 2 && probed < 0; i++) {
			void *h;

			snprintf(path, sizeof(path), "%s/%s/libumap.so", j->umap, libdirs[i]);
			h = umap_open(path, &api, err[i], sizeof(err[i]));
			if (!h) {
				if (i == 1) /* the first error says more */
					snprintf(probe_why, sizeof(probe_why),
					         "UMap does not load: %s", err[0]);
				continue;
			}
			dlclose(h);
			snprintf(umap_lib, sizeof(umap_lib), "%s", path);
			probed = 1;
		}
	}
	if (probed < 0)
		snprintf(why, len, "%s", probe_why);
	return probed > 0 ? 0 : -1;
}

struct umap_state {
	void *h;
	struct umap_api api;
	void *base;
	size_t len;
	int fd;
};

static int umap_setup(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	int prot = j->acc == ACC_UPDATE ? PROT_READ | PROT_WRITE : PROT_READ;
	uint64_t ps = j->ds->page_size, pages = j->ds->limit / ps;
	uint64_t memfree_pages = proc_value("/proc/meminfo", "MemFree:") * 1024 / ps;
	struct umap_state *st;
	char num[32], why[NOTE_LEN];

	if (j->ds->data % ps != 0)
		return fail(r, -EINVAL, "umap: D is not a whole number of %s pages",
		            UNITS_SHORT(ps));
	if (pages > memfree_pages * 9 / 10) /* UMap would throw */
		return fail(r, -ENOMEM, "umap: a buffer of %" PRIu64 " pages is above 90%% of "
		            "MemFree (%" PRIu64 " pages)", pages, memfree_pages);
	snprintf(num, sizeof(num), "%" PRIu64, ps);
	setenv("UMAP_PAGESIZE", num, 1);
	snprintf(num, sizeof(num), "%" PRIu64, pages);
	setenv("UMAP_BUFSIZE", num, 1);
	setenv("UMAP_LOG_LEVEL", "WARNING", 0); /* its INFO lines go to stdout */
	st = calloc(1, sizeof(*st));
	if (!st)
		return fail(r, -ENOMEM, "umap engine");
	st->h = umap_open(umap_lib, &st->api, why, sizeof(why));
	if (!st->h) {
		free(st);
		return fail(r, -ENOENT, "dlopen %s (%s)", umap_lib, why);
	}
	st->len = j->ds->data;
	st->fd = j->ds->file.fd;
	errno = 0;
	st->base = st->api.umap(NULL, st->len, prot, UMAP_PRIVATE_FLAG, st->fd, 0);
	if (st->base == MAP_FAILED || !st->base) {
		int rc = fail(r, errno ? -errno : -EINVAL, "umap");

		dlclose(st->h);
		free(st);
		return rc;
	}
	snprintf(r->info, sizeof(r->info), "UMap page %s, buffer %" PRIu64 " pages",
	         UNITS_SHORT(st->api.page_size()), st->api.buffer_pages());
	if (st->api.page_size() != ps || st->api.buffer_pages() != pages)
		fail(r, -EINVAL, "UMap did not take UMAP_PAGESIZE %" PRIu64 " / UMAP_BUFSIZE %" PRIu64,
		     ps, pages);
	ctx->base = st->base;
	ctx->priv = st;
	return 0;
}

/* update: timed, after the workers. */
static int umap_finish(void *priv)
{
	struct umap_state *st = priv;
	int rc = st->api.flush();

	if (rc != 0)
		return rc < 0 ? rc : -EIO;
	if (fdatasync(st->fd) != 0)
		return -errno;
	return 0;
}

static void umap_teardown(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	struct umap_state *st = ctx->priv;

	(void)j;
	if (st->api.uunmap(st->base, st->len) != 0)
		fail(r, errno ? -errno : -EIO, "uunmap");
	/* not dlclosed: UMap's threads may outlive uunmap; the child exits */
	free(st);
}

const struct engine engine_umap = {
	.name = "umap",
	.cg = CG_COLD_SLACK,
	.own_pages = true,
	.prepare = umap_prepare,
	.setup = umap_setup,
	.finish = umap_finish,
	.finish_what = "umap_flush/fdatasync",
	.teardown = umap_teardown,
};
