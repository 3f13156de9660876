/*
 * compat.c - the 0.1 interface, for programs built against it.
 *
 * Version 0.1's upager_create(), upager_stats() and upager_config_resolve()
 * took their structs without a size.  The shared library keeps providing
 * them at symbol version UPAGER_0.1 (GNU symbol versioning, .symver), so a
 * program linked against libupager.so.0 of version 0.1 runs unchanged
 * against this one; programs built now get the UPAGER_1.0 calls.  0.1's
 * struct upager_config had size_t fields and no reserved field; its
 * struct upager_stats is the first UPAGER_STATS_SIZE_VER0 bytes of 1.0's.
 *
 * Owns: the conversions between the 0.1 and the 1.0 layouts.
 * Calls: the public API (pager.c, options.c, stats.c) only.  Built into
 * the shared library alone (src/Makefile.am): the tests link the objects
 * statically and test this file through the shared library.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

struct upager_config_0_1 {
	size_t page_size;
	size_t memory_limit;
	unsigned io_depth;
	unsigned readahead;
	unsigned flags;
};

#define COMPAT __attribute__((visibility("default"), used))

/* Exported only under their UPAGER_0.1 names (the .symver lines). */
COMPAT int upager__create_0_1(upager_t **pager, const struct upager_config_0_1 *old);
COMPAT int upager__config_resolve_0_1(const struct upager_config_0_1 *old,
                                      struct upager_config_0_1 *out);
COMPAT int upager__stats_0_1(upager_t *pager, struct upager_stats *stats);

static int config_from_0_1(const struct upager_config_0_1 *old, struct upager_config *c)
{
	memset(c, 0, sizeof(*c));
	/* 0.1 accepted 0..1024 for readahead; 1.0's "off" value was an error. */
	if (old->readahead > UPAGER_MAX_READAHEAD)
		return -EINVAL;
	c->page_size = old->page_size;
	c->memory_limit = old->memory_limit;
	c->io_depth = old->io_depth;
	c->readahead = old->readahead;
	c->flags = old->flags;
	return 0;
}

COMPAT int upager__create_0_1(upager_t **pager, const struct upager_config_0_1 *old)
{
	struct upager_config c;
	int rc;

	if (!old)
		return upager_create(pager, NULL, 0);
	rc = config_from_0_1(old, &c);
	return rc < 0 ? rc : upager_create(pager, &c, sizeof(c));
}
__asm__(".symver upager__create_0_1, upager_create@UPAGER_0.1");

COMPAT int upager__config_resolve_0_1(const struct upager_config_0_1 *old,
                                      struct upager_config_0_1 *out)
{
	struct upager_config c, r;
	int rc;

	if (!out)
		return -EINVAL;
	if (old) {
		rc = config_from_0_1(old, &c);
		if (rc < 0)
			return rc;
	}
	rc = upager_config_resolve(old ? &c : NULL, sizeof(c), &r, sizeof(r));
	if (rc < 0)
		return rc;
	out->page_size = (size_t)r.page_size;
	out->memory_limit = (size_t)r.memory_limit;
	out->io_depth = r.io_depth;
	/* 0.1 reported read-ahead turned off by UPAGER_READAHEAD=off as 0. */
	out->readahead = r.readahead == UPAGER_READAHEAD_OFF ? 0 : r.readahead;
	out->flags = r.flags;
	return 0;
}
__asm__(".symver upager__config_resolve_0_1, upager_config_resolve@UPAGER_0.1");

COMPAT int upager__stats_0_1(upager_t *pager, struct upager_stats *stats)
{
	return upager_stats(pager, stats, UPAGER_STATS_SIZE_VER0);
}
__asm__(".symver upager__stats_0_1, upager_stats@UPAGER_0.1");
