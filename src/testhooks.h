/*
 * testhooks.h - hooks for upager's own tests.  Not installed, not exported
 * from libupager.so: the tests link the objects statically
 * (libupager_core.la) to reach them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_TESTHOOKS_H
#define UPAGER_TESTHOOKS_H

#include <stdint.h>

/* Operations an injection applies to (a mask). */
#define UPAGER_IO_READ 0x1u
#define UPAGER_IO_WRITE 0x2u

/* Special results for upager__inject_io(). */
#define UPAGER_INJECT_SHORT 1 /* the completion reports half the bytes */

/*
 * upager__inject_io() - rewrite the result of the @nth (1-based) read or
 * write completion from now on, counted over the operations in @ops, to
 * @result (a negative errno, or UPAGER_INJECT_SHORT).  With @persistent,
 * every later matching completion gets @result too.  Applies below the I/O
 * layer of every pager of the process.  Not thread-safe against itself.
 */
void upager__inject_io(unsigned ops, long nth, int result, int persistent);

/* upager__inject_clear() - stop injecting. */
void upager__inject_clear(void);

/* upager__inject_count() - how many completions were rewritten so far. */
long upager__inject_count(void);

/* upager__vma_budget() - most pages made accessible at once, process-wide. */
uint64_t upager__vma_budget(void);

#endif
