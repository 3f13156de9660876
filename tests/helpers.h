/*
 * helpers.h - shared helpers of upager's CUnit tests (t_* prefix).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Conventions:
 *  - Test data comes from t_pattern(seed, offset): any byte of any file can
 *    be recomputed independently of the code under test.  The byte at file
 *    offset X is byte X % 8 (little-endian order) of t_pattern_word(seed,
 *    X / 8), so an 8-byte aligned store of t_pattern_u64(seed, X) writes
 *    exactly the pattern bytes X .. X + 7.
 *  - Temporary files live in a private directory made with mkdtemp(3) under
 *    $TMPDIR, else /var/tmp; they and the directory are removed at exit.
 *  - T_CHECK() records a CUnit assertion with a formatted message (and
 *    prints it to stderr when it fails); T_REQUIRE() is its fatal variant,
 *    which ends the current test.
 *  - A program that cannot run on this platform calls t_skip(), which exits
 *    with status 77 (SKIP for the automake test driver).
 *  - Children forked to die or to report never return into CUnit: they end
 *    with _exit(), and the parent checks the status with t_wait_child().
 */
#ifndef UPAGER_TEST_HELPERS_H
#define UPAGER_TEST_HELPERS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <CUnit/CUnit.h>

#include "upager.h"

/* ---------------------------------------------------------------- pattern */

/* splitmix64 finaliser: a bijection of 64-bit values. */
static inline uint64_t t_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The 64-bit value of pattern word @word_index (bytes 8*i .. 8*i+7). */
static inline uint64_t t_pattern_word(uint64_t seed, uint64_t word_index)
{
	return t_mix64(t_mix64(seed ^ 0x5555aaaa3c3cc3c3ull) + word_index);
}

/* The pattern byte at file offset @off. */
static inline uint8_t t_pattern(uint64_t seed, uint64_t off)
{
	return (uint8_t)(t_pattern_word(seed, off / 8) >> (8 * (off % 8)));
}

/* The 8 pattern bytes at @off (a multiple of 8) as a native-endian word,
 * ready to be stored at an 8-byte aligned address. */
uint64_t t_pattern_u64(uint64_t seed, uint64_t off);

/* Fill @buf with the pattern bytes of offsets [@off, @off + @len). */
void t_fill(void *buf, size_t len, uint64_t seed, uint64_t off);

/* Compare @buf with the pattern bytes of [@off, @off + @len).  Return -1
 * if they match, else the offset (@off-based) of the first mismatch, which
 * is also printed with the expected and actual byte.  @what names the
 * buffer in that message. */
int64_t t_verify_buf(const void *buf, size_t len, uint64_t seed, uint64_t off,
                     const char *what);

/* Same for zero bytes. */
int64_t t_verify_zero(const void *buf, size_t len, uint64_t off, const char *what);

/* Compare the file bytes [@off, @off + @len) of @fd, read with pread(2),
 * with the pattern (@seed) of the same offsets.  A short file counts as a
 * mismatch at its end.  Return -1 or the first bad offset. */
int64_t t_verify_fd(int fd, uint64_t off, uint64_t len, uint64_t seed);

/* Same, expecting zero bytes. */
int64_t t_verify_fd_zero(int fd, uint64_t off, uint64_t len);

/* Compare file bytes [@off, @off + @len) of @fd with @expect. */
int64_t t_verify_fd_buf(int fd, uint64_t off, const void *expect, size_t len);

/* Compare @buf with the reference @expect (@len bytes each), e.g. a copy
 * built from the pattern in ordinary memory.  Return -1 if they match, else
 * the offset (@off-based) of the first mismatch, which is also printed. */
int64_t t_verify_mem(const void *buf, const void *expect, size_t len, uint64_t off,
                     const char *what);

/* FNV-1a 64 of the whole file, read with pread(2); 0 on read error. */
uint64_t t_file_checksum(int fd);

/* ------------------------------------------------------------------ files */

/* The private temporary directory (made on first use). */
const char *t_tmpdir(void);

/* Create a file of @size bytes in t_tmpdir() holding pattern @seed, open
 * it O_RDWR and return the descriptor; its path goes to @path (of
 * @pathlen bytes) if non-NULL.  The file is removed at exit.  Aborts the
 * program (exit 99, a hard error) if the file cannot be made. */
int t_make_file(uint64_t size, uint64_t seed, char *path, size_t pathlen);

/* Same but filled with zeros (a sparse file). */
int t_make_zero_file(uint64_t size, char *path, size_t pathlen);

/* Make directory t_tmpdir()/@name (removed at exit, and must then be
 * empty) and return its path (static storage).  Exits 99 on failure. */
const char *t_make_subdir(const char *name);

/* File size by fstat(2), or -1. */
int64_t t_file_size(int fd);

/* Remove every file made by t_make_file() and the directory.  Called at
 * exit (only in the process that made them). */
void t_cleanup(void);

/* ------------------------------------------------------------------ misc */

/* Mappings (VMAs) of the process: lines of /proc/self/maps, or -1. */
long t_count_maps(void);
/* Mappings of this process marked MADV_DONTFORK (VmFlags "dc" in
 * /proc/self/smaps): upager's own (app views, descriptors, the frame table,
 * the rings), and none of the allocator's, whose count a sanitizer's
 * allocator changes as it pleases; -1 if unreadable. */
long t_count_maps_dontfork(void);

/* vm.max_map_count, or the kernel's default 65530 if it cannot be read. */
long t_max_map_count(void);

/* A value of /proc/self/status in kB ("VmRSS", "VmHWM"), or -1. */
long t_status_kb(const char *key);

/* Reset VmHWM to the current VmRSS (/proc/self/clear_refs "5"); 0 or -1. */
int t_reset_hwm(void);

/* Small PRNG (splitmix64 sequence). */
struct t_rng {
	uint64_t s;
};
static inline uint64_t t_rand(struct t_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	uint64_t z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
/* Uniform in [0, n). */
static inline uint64_t t_rand_below(struct t_rng *r, uint64_t n)
{
	return n ? t_rand(r) % n : 0;
}

/* A random permutation of 0 .. n-1 (malloc'd; NULL on failure). */
uint64_t *t_permutation(uint64_t n, uint64_t seed);

/* System page size. */
size_t t_sys_page(void);

/* The page size a pager gets by default: the system page size where the
 * kernel has guard markers, else UPAGER_DEFAULT_PAGE_SIZE. */
size_t t_default_page_size(void);

/* Monotonic time in seconds. */
double t_now(void);

/* Save the current value of environment variable @name (up to 8 at once)
 * and set it to @value (NULL: unset it); t_env_restore() puts every saved
 * variable back. */
void t_env_set(const char *name, const char *value);
void t_env_restore(void);

/* Unset UPAGER_PAGE_SIZE, UPAGER_MEMORY_LIMIT, UPAGER_IO_DEPTH and
 * UPAGER_READAHEAD for the whole run, so defaults are those of the code. */
void t_env_clear_upager(void);

/* ------------------------------------------------------------------ pager */

/* A config with every field explicit. */
struct upager_config t_config(size_t page_size, size_t memory_limit);

/* upager_create() with @cfg.  Skips the program (77) when io_uring is not
 * available (the create fails with -ENOSYS/-EPERM and so does a direct
 * io_uring_setup(2) probe).  Other failures are fatal CUnit failures. */
upager_t *t_create(const struct upager_config *cfg);

/* upager_stats() into @st; a failure is a CUnit failure. */
void t_stats(upager_t *p, struct upager_stats *st);

/* 1 if io_uring_setup(2) works here. */
int t_io_uring_works(void);

/* ------------------------------------------------------------- processes */

/*
 * The hang guard, in seconds: how long a test waits for an event (a child's
 * exit, a report through a pipe, a counter another thread bumps) before it
 * declares a hang.  Never a time budget: a test waits for the event itself,
 * and a loaded machine may be many times slower than an idle one, so the
 * guard is far above any healthy wait.  Hangs are reported as "HANG: ...".
 */
#define T_HANG_S 120

/* Fork a child that calls fn(arg) with no core dumps and _exit()s with its
 * result (& 0xff).  The child gets an alarm() of twice the hang guard (20
 * times that in the soak tier), in case its parent dies.  Returns the pid,
 * or -1. */
pid_t t_fork(int (*fn)(void *), void *arg);

/* waitpid(2) with a timeout in seconds (the child is killed with SIGKILL
 * after it, and the hang reported).  Returns the status, or -1 on
 * error/timeout.  Pass T_HANG_S unless the caller has a reason. */
int t_wait_child(pid_t pid, int timeout_s);

/* Wait until @done(@arg) returns non-zero, polling it with naps growing
 * from 50 us to 5 ms, for at most T_HANG_S seconds (20 times that in the
 * soak tier).  Returns 0 once it is done, -1 on a hang (reported with
 * @what).  Safe in a forked child (no CUnit call). */
int t_wait_until(int (*done)(void *), void *arg, const char *what);

/* "exited 3", "killed by SIGSEGV" ... for messages (static buffer). */
const char *t_status_str(int status);

/* ------------------------------------------------------ tiers and seeds */

/* 1 when $UPAGER_SOAK is set to something other than "" or "0": the soak
 * tier (`make soak`), whose programs run the same tests with larger
 * counts.  0 in the quick tier (`make check`). */
int t_soak(void);

/* @quick in the quick tier, @soak in the soak tier. */
uint64_t t_scale(uint64_t quick, uint64_t soak);

/* The program's random seed: $UPAGER_SEED (decimal or 0x hex) if set, else
 * drawn from the clock and the pid.  Printed on first use with the hint to
 * repeat the run with it. */
uint64_t t_seed(void);

/* Run @fn first in t_cleanup() and in the fatal-signal path (so it must be
 * async-signal-safe), e.g. to unmount a test file system.  Up to 4. */
void t_on_cleanup(void (*fn)(void));

/* The signal-safety audit (audit.c): calls of malloc, calloc, realloc,
 * free and pthread_mutex_lock made inside upager's fault handler (0 unless
 * UPAGER_AUDIT=count: by default the first such call aborts), calls
 * checked in all, and whether the wrappers are in this build (not under
 * ASan/TSan, which interpose the same functions). */
long t_audit_violations(void);
long t_audit_calls(void);
int t_audit_active(void);
/* Print the audit's figures (t_run_suite does, before its last line). */
void t_audit_report(void);

/* ---------------------------------------------------------- CUnit glue */

/* Program setup: line-buffered output, an alarm() watchdog of @timeout_s
 * seconds, 20 times that in the soak tier (a hang guard: SIGALRM prints
 * "HANG: ..." and kills a hung program, a FAIL), t_env_clear_upager(), the
 * CUnit registry, and handlers of fatal signals (SIGALRM, SIGBUS, SIGABRT,
 * SIGTERM, ...) that remove the temporary files and then die of the same
 * signal.  Children inherit those handlers; a child that must die of the
 * default action of one of them resets it to SIG_DFL.  @name is the
 * program name for the summary. */
void t_init(const char *name, unsigned timeout_s);

/* Add a suite and its tests: t_add_suite("x", tests) with tests a
 * { name, fn } array ending with { NULL, NULL }. */
struct t_test {
	const char *name;
	void (*fn)(void);
};
void t_add_suite(const char *name, const struct t_test *tests);

/* Print one line of the final summary (what was verified); kept and
 * printed again after the CUnit report. */
void t_summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run every registered test with the basic interface; return 0 only if no
 * assertion failed, no suite or test errored and CUnit had no error.  Ends
 * the output with the audit's figures and the line "N passed, N failed"
 * (tests), alone on the last line. */
int t_run_suite(void);

/* Exit 77 (SKIP) after printing why and "0 passed, 0 failed, 1 skipped". */
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The assertion behind T_CHECK / T_REQUIRE. */
int t_check(int ok, int fatal, const char *file, unsigned line, const char *func,
            const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define T_CHECK(cond, ...) t_check(!!(cond), 0, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define T_REQUIRE(cond, ...) t_check(!!(cond), 1, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Integer comparisons that print both values. */
#define T_EQ(a, b)                                                                            \
	do {                                                                                  \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                        \
		T_CHECK(t_a_ == t_b_, "%s == %s: got %lld, expected %lld", #a, #b, t_a_, t_b_); \
	} while (0)
#define T_LE(a, b)                                                                            \
	do {                                                                                  \
		unsigned long long t_a_ = (unsigned long long)(a), t_b_ = (unsigned long long)(b); \
		T_CHECK(t_a_ <= t_b_, "%s <= %s: got %llu > %llu", #a, #b, t_a_, t_b_);       \
	} while (0)
#define T_GE(a, b)                                                                            \
	do {                                                                                  \
		unsigned long long t_a_ = (unsigned long long)(a), t_b_ = (unsigned long long)(b); \
		T_CHECK(t_a_ >= t_b_, "%s >= %s: got %llu < %llu", #a, #b, t_a_, t_b_);       \
	} while (0)

/* An int-returning upager call must give @err (0 or a negative errno). */
#define T_RET(expr, err)                                                                  \
	do {                                                                              \
		int t_r_ = (expr), t_e_ = (err);                                           \
		T_CHECK(t_r_ == t_e_, "%s: returned %d (%s), expected %d (%s)", #expr, t_r_, \
		        upager_strerror(t_r_), t_e_, upager_strerror(t_e_));               \
	} while (0)

/* A pointer-returning upager call must fail with errno @err. */
#define T_FAILS(expr, err)                                                                \
	do {                                                                              \
		errno = 0;                                                                \
		void *t_p_ = (void *)(expr);                                              \
		int t_en_ = errno;                                                        \
		T_CHECK(t_p_ == NULL && t_en_ == (err),                                   \
		        "%s: returned %p errno %d (%s), expected NULL errno %d (%s)", #expr, \
		        t_p_, t_en_, strerror(t_en_), (err), strerror(err));               \
	} while (0)

/* Require a byte-verify result of -1 (no mismatch). */
#define T_VERIFIED(expr)                                                                  \
	do {                                                                              \
		int64_t t_v_ = (expr);                                                     \
		T_CHECK(t_v_ < 0, "%s: first mismatch at offset %lld", #expr, (long long)t_v_); \
	} while (0)

#endif
