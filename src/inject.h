/*
 * inject.h - the injection points of inject.c as the layers above call
 * them: in test builds (UPAGER_TEST_HOOKS) the functions of inject.c, in
 * the installed library inline no-ops that the compiler removes.  The
 * hooks tests call to arm them are in testhooks.h.  Included by
 * internal.h, which defines UPAGER_HIDDEN first.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_INJECT_H
#define UPAGER_INJECT_H

#include <stdbool.h>

#include "testhooks.h"

#ifdef UPAGER_TEST_HOOKS
UPAGER_HIDDEN long upager__inject(unsigned op, long res);
UPAGER_HIDDEN bool upager__writeback_paused(void);
UPAGER_HIDDEN bool upager__rereference_injected(void);
UPAGER_HIDDEN bool upager__io_ring_forced(void);
UPAGER_HIDDEN long upager__inject_ring(unsigned op, long res);
#else
static inline long upager__inject(unsigned op, long res)
{
	(void)op;
	return res;
}
static inline bool upager__writeback_paused(void)
{
	return false;
}
static inline bool upager__rereference_injected(void)
{
	return false;
}
static inline bool upager__io_ring_forced(void)
{
	return false;
}
static inline long upager__inject_ring(unsigned op, long res)
{
	(void)op;
	return res;
}
#endif

#endif /* UPAGER_INJECT_H */
