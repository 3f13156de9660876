/*
 * cgroup.h - memory cgroups of one's own, for the programs that measure or
 * test upager under a memory limit: find the memory controller, make a
 * group with a limit, move a process into it, read its counters, remove it.
 * Needs root (or a delegated hierarchy).
 *
 * Cgroup v1: the hierarchy with the memory controller (mounted with the
 * option "memory"), limit in memory.limit_in_bytes.  Else cgroup v2, if its
 * root delegates the memory controller (cgroup.subtree_control lists
 * "memory"), limit in memory.max.  A group is made at the root of the
 * hierarchy.  (Kernel: Documentation/admin-guide/cgroup-v1/memory.rst,
 * Documentation/admin-guide/cgroup-v2.rst.)
 *
 * Part of libsupport, the tree's internal helper library (lib/): linked
 * into examples/, bench/ and tests/, never installed.  It does not use
 * upager (the library reads cgroups itself, in src/memcg.c).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_LIB_CGROUP_H
#define UPAGER_LIB_CGROUP_H

#include <limits.h>
#include <stdint.h>

/* Where the hierarchies are mounted ("" if not, from /proc/self/mounts),
 * and whether the v2 root delegates the memory controller. */
struct cgroup_mounts {
	char v1[1024]; /* the v1 hierarchy with the memory controller */
	char v2[1024]; /* cgroup2 */
	int v2_memory; /* v2's cgroup.subtree_control lists "memory" */
};

/* A group of one's own. */
struct cgroup {
	int version;         /* 1, 2; 0: none */
	char path[PATH_MAX]; /* its directory */
	uint64_t limit;      /* bytes */
	char why[PATH_MAX + 64];     /* version 0: why there is none */
};

/* cgroup_find_mounts() - fill @m from /proc/self/mounts. */
void cgroup_find_mounts(struct cgroup_mounts *m);

/*
 * cgroup_make() - make the group @name (a directory name) at the root of
 * the memory controller's hierarchy of @m (v1 if mounted, else v2 if it
 * delegates memory) and set its limit to @limit bytes.
 * Return: 0; or -1 with @cg->version 0 and @cg->why saying why (no
 * controller, not delegated, mkdir or the limit failed: then nothing is
 * left behind).
 */
int cgroup_make(struct cgroup *cg, const struct cgroup_mounts *m, const char *name,
                uint64_t limit);

/* cgroup_join() - move the calling process into @cg.  0 or -errno. */
int cgroup_join(const struct cgroup *cg);

/*
 * cgroup_value() - a number in @cg's file @file: the file's first number
 * when @key is NULL, else the number after "@key " on its line (as in
 * memory.stat or memory.events).  0 if unreadable or absent.
 */
uint64_t cgroup_value(const struct cgroup *cg, const char *file, const char *key);

/*
 * cgroup_remove() - remove @cg (its processes must have exited and been
 * reaped), trying again for up to 2 s while the kernel reports it busy;
 * then @cg->version is 0.  Return: 0 (also if already gone), or -errno.
 * Async-signal-safe.
 */
int cgroup_remove(struct cgroup *cg);

#endif
