/*
 * engine-ram.c - the system "ram" of upager-bench: the in-RAM upper bound.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the ram engine.
 * Calls: util.c (pread_full, sum_words), timed.c (fail), libc.
 *
 *   ram            a private anonymous copy of the file, read with pread
 *                  untimed, then the same loops.  Only where
 *                  D < MemAvailable / 2 (job.c skips it otherwise); no
 *                  cgroup; the page cache is not dropped for it (the copy
 *                  is untimed).  update changes the copy, not the file: its
 *                  check reads the copy's sum, taken here after the run.
 */
#include "bench.h"

#include <errno.h>
#include <sys/mman.h>

static int ram_setup(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	size_t len = j->ds->data;
	char *buf;
	int rc;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail(r, -errno, "mmap %zu bytes", len);
	rc = pread_full(j->ds->file.fd, buf, len, 0); /* untimed copy */
	if (rc < 0) {
		munmap(buf, len);
		return fail(r, rc, "reading the copy");
	}
	ctx->base = buf;
	return 0;
}

static void ram_teardown(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	size_t len = j->ds->data;

	if (j->acc == ACC_UPDATE) {
		r->after_sum = sum_words((const uint64_t *)ctx->base, len / 8);
		r->have_after_sum = true;
	}
	munmap(ctx->base, len);
}

const struct engine engine_ram = {
	.name = "ram",
	.cg = CG_NEVER,
	.in_ram = true,
	.setup = ram_setup,
	.teardown = ram_teardown,
};
