/*
 * engine-pread.c - the system "pread" of upager-bench: a read loop, the
 * reference for sequential throughput.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the pread engine.
 * Calls: nothing: it has no setup, so it gives the timed phase no base
 * address, and timed.c's seq loop preads the file (RUN_SEQ_PREAD).
 *
 *   pread          seq only: a pread(2) loop of 1 MiB (SEQ_CHUNK) reads
 *                  into a buffer, summing the buffer; in a memory cgroup
 *                  limited to L, as mmap.
 */
#include "bench.h"

const struct engine engine_pread = {
	.name = "pread",
	.cg = CG_LIMIT,
	.seq_only = true,
};
