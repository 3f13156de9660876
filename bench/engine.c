/*
 * engine.c - the systems under test of upager-bench, and the body of the
 * child that runs one.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the engine table (the order of the --systems names and of the
 * rows) and engine_child(), the function job.c runs in a child: setup,
 * the timed phase, teardown, then the child's peak RSS.
 * Calls: the engines (engine-*.c, through struct engine), timed.c,
 * util.c (proc_value).
 *
 * Systems (one file each, engine-*.c, like fio's engines/): upager,
 * upager-direct, mmap, umap, pread, ram, and swap (the scratch workload
 * only, against upager_alloc memory).  Each fills a struct engine (bench.h):
 * setup (untimed: map or copy the D bytes), finish (timed: the sync of
 * update), teardown (untimed: counters, unmap), and how job.c must place
 * it (its cgroup policy, seq only, in RAM, scratch), and what the parent
 * checks or sets up around its runs (prepare, release: UMap's library, the
 * swap file).  Every run of a system is a child of its own (runner.c).
 */
#include "bench.h"

const struct engine *const engines[NSYSTEMS] = {
	[SYS_UPAGER] = &engine_upager,
	[SYS_UPAGER_DIRECT] = &engine_upager_direct,
	[SYS_MMAP] = &engine_mmap,
	[SYS_UMAP] = &engine_umap,
	[SYS_PREAD] = &engine_pread,
	[SYS_RAM] = &engine_ram,
	[SYS_SWAP] = &engine_swap,
};

/* Set @j's engine up, run the timed phase on it, tear it down. */
static int engine_run(const struct job *j, struct result *r)
{
	const struct engine *e = j->sys;
	finish_fn finish = j->acc == ACC_UPDATE ? e->finish : NULL;
	struct engine_ctx ctx = { NULL, NULL };
	int rc;

	if (e->setup && e->setup(&ctx, j, r) < 0)
		return r->rc;
	if (r->rc == 0 && j->acc == ACC_SCRATCH) {
		timed_scratch(j, ctx.base, e->counters, ctx.priv, r);
	} else if (r->rc == 0) {
		rc = timed_run(j, ctx.base, finish, ctx.priv, r);
		if (rc < 0)
			fail(r, rc, "%s", finish ? e->finish_what : "run");
	}
	if (e->teardown)
		e->teardown(&ctx, j, r);
	return r->rc;
}

/* The child's body: the system, then its peak RSS. */
int engine_child(const void *arg, void *out)
{
	const struct job *j = arg;
	struct result *r = out;

	r->rss_start_kb = proc_value("/proc/self/status", "VmRSS:");
	engine_run(j, r);
	r->hwm_kb = proc_value("/proc/self/status", "VmHWM:");
	return r->rc;
}
