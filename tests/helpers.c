/*
 * helpers.c - shared helpers of upager's CUnit tests.  See helpers.h.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "helpers.h"
#include "internal.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

/* ---------------------------------------------------------------- pattern */

uint64_t t_pattern_u64(uint64_t seed, uint64_t off)
{
	return htole64(t_pattern_word(seed, off / 8));
}

void t_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	unsigned char *b = buf;
	size_t i = 0;

	while (i < len && (off + i) % 8)
		b[i] = t_pattern(seed, off + i), i++;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = t_pattern_u64(seed, off + i);
		memcpy(b + i, &w, 8);
	}
	for (; i < len; i++)
		b[i] = t_pattern(seed, off + i);
}

enum { CHUNK = 64 * 1024 };

/* Report the first mismatch of @got against @exp and count all of them. */
static int64_t report_mismatch(const unsigned char *got, const unsigned char *exp, size_t len,
                               uint64_t off, const char *what)
{
	size_t first = (size_t)-1, n = 0;

	for (size_t i = 0; i < len; i++)
		if (got[i] != exp[i]) {
			if (first == (size_t)-1)
				first = i;
			n++;
		}
	if (first == (size_t)-1)
		return -1;
	fprintf(stderr,
	        "  %s: mismatch at offset %llu (0x%llx): expected 0x%02x, got 0x%02x; "
	        "%zu bad bytes in [%llu, %llu)\n",
	        what ? what : "data", (unsigned long long)(off + first),
	        (unsigned long long)(off + first), exp[first], got[first], n,
	        (unsigned long long)off, (unsigned long long)(off + len));
	return (int64_t)(off + first);
}

int64_t t_verify_buf(const void *buf, size_t len, uint64_t seed, uint64_t off, const char *what)
{
	const unsigned char *b = buf;
	unsigned char *exp = malloc(CHUNK);

	if (!exp)
		abort();
	for (size_t done = 0; done < len;) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		t_fill(exp, n, seed, off + done);
		if (memcmp(b + done, exp, n)) {
			int64_t r = report_mismatch(b + done, exp, n, off + done, what);
			free(exp);
			return r;
		}
		done += n;
	}
	free(exp);
	return -1;
}

int64_t t_verify_zero(const void *buf, size_t len, uint64_t off, const char *what)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < len; i++)
		if (b[i]) {
			size_t n = 0;
			for (size_t j = i; j < len; j++)
				n += b[j] != 0;
			fprintf(stderr,
			        "  %s: expected zero at offset %llu (0x%llx), got 0x%02x; %zu nonzero "
			        "bytes in [%llu, %llu)\n",
			        what ? what : "data", (unsigned long long)(off + i),
			        (unsigned long long)(off + i), b[i], n, (unsigned long long)off,
			        (unsigned long long)(off + len));
			return (int64_t)(off + i);
		}
	return -1;
}

/* pread exactly @len bytes or report where it stopped. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* mode 0: pattern, 1: zeros, 2: @expect buffer */
static int64_t verify_fd(int fd, uint64_t off, uint64_t len, uint64_t seed, int mode,
                         const unsigned char *expect)
{
	unsigned char *got = malloc(CHUNK), *exp = malloc(CHUNK);
	int64_t bad = -1;

	if (!got || !exp)
		abort();
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t r = pread_full(fd, got, n, off + done);
		if (r < 0) {
			fprintf(stderr, "  file: pread at %llu: %s\n",
			        (unsigned long long)(off + done), strerror(errno));
			bad = (int64_t)(off + done);
			break;
		}
		if (mode == 0)
			t_fill(exp, n, seed, off + done);
		else if (mode == 1)
			memset(exp, 0, n);
		else
			memcpy(exp, expect + done, n);
		if ((size_t)r < n) {
			int64_t m = report_mismatch(got, exp, (size_t)r, off + done, "file");
			if (m < 0) {
				fprintf(stderr, "  file: ends at %llu, expected data up to %llu\n",
				        (unsigned long long)(off + done + (uint64_t)r),
				        (unsigned long long)(off + len));
				m = (int64_t)(off + done + (uint64_t)r);
			}
			bad = m;
			break;
		}
		if (memcmp(got, exp, n)) {
			bad = report_mismatch(got, exp, n, off + done, "file");
			break;
		}
		done += n;
	}
	free(got);
	free(exp);
	return bad;
}

int64_t t_verify_mem(const void *buf, const void *expect, size_t len, uint64_t off,
                     const char *what)
{
	if (!memcmp(buf, expect, len))
		return -1;
	return report_mismatch(buf, expect, len, off, what);
}

int64_t t_verify_fd(int fd, uint64_t off, uint64_t len, uint64_t seed)
{
	return verify_fd(fd, off, len, seed, 0, NULL);
}

int64_t t_verify_fd_zero(int fd, uint64_t off, uint64_t len)
{
	return verify_fd(fd, off, len, 0, 1, NULL);
}

int64_t t_verify_fd_buf(int fd, uint64_t off, const void *expect, size_t len)
{
	return verify_fd(fd, off, len, 0, 2, expect);
}

uint64_t t_file_checksum(int fd)
{
	unsigned char *buf = malloc(CHUNK);
	uint64_t h = 0xcbf29ce484222325ull;
	uint64_t off = 0;

	if (!buf)
		abort();
	for (;;) {
		ssize_t r = pread(fd, buf, CHUNK, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			h = 0;
			break;
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
		off += (uint64_t)r;
	}
	free(buf);
	return h;
}

/* ------------------------------------------------------------------ files */

static char g_tmpdir[4096];
static pid_t g_owner;
enum { MAX_FILES = 64 };
static char *g_files[MAX_FILES];
static int g_nfiles;

const char *t_tmpdir(void)
{
	if (!g_tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		if (!base || !*base)
			base = "/var/tmp";
		snprintf(g_tmpdir, sizeof(g_tmpdir), "%s/upager-test.XXXXXX", base);
		if (!mkdtemp(g_tmpdir)) {
			fprintf(stderr, "mkdtemp %s: %s\n", g_tmpdir, strerror(errno));
			exit(99);
		}
		g_owner = getpid();
	}
	return g_tmpdir;
}

static int make_file(uint64_t size, int zero, uint64_t seed, char *path, size_t pathlen)
{
	char p[4200];
	unsigned char *buf;
	int fd;

	if (g_nfiles == MAX_FILES) {
		fprintf(stderr, "t_make_file: too many files\n");
		exit(99);
	}
	snprintf(p, sizeof(p), "%s/file%02d", t_tmpdir(), g_nfiles);
	fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "create %s: %s\n", p, strerror(errno));
		exit(99);
	}
	g_files[g_nfiles++] = strdup(p);
	if (zero) {
		if (ftruncate(fd, (off_t)size)) {
			fprintf(stderr, "ftruncate %s: %s\n", p, strerror(errno));
			exit(99);
		}
	} else {
		buf = malloc(CHUNK);
		if (!buf)
			abort();
		for (uint64_t done = 0; done < size;) {
			size_t n = size - done < CHUNK ? (size_t)(size - done) : CHUNK;
			t_fill(buf, n, seed, done);
			ssize_t w = pwrite(fd, buf, n, (off_t)done);
			if (w <= 0) {
				fprintf(stderr, "write %s: %s\n", p, strerror(errno));
				exit(99);
			}
			done += (uint64_t)w;
		}
		free(buf);
	}
	if (path)
		snprintf(path, pathlen, "%s", p);
	return fd;
}

int t_make_file(uint64_t size, uint64_t seed, char *path, size_t pathlen)
{
	return make_file(size, 0, seed, path, pathlen);
}

int t_make_zero_file(uint64_t size, char *path, size_t pathlen)
{
	return make_file(size, 1, 0, path, pathlen);
}

static char *g_dirs[8];
static int g_ndirs;

const char *t_make_subdir(const char *name)
{
	char p[4200];

	if (g_ndirs == 8) {
		fprintf(stderr, "t_make_subdir: too many directories\n");
		exit(99);
	}
	snprintf(p, sizeof(p), "%s/%s", t_tmpdir(), name);
	if (mkdir(p, 0700)) {
		fprintf(stderr, "mkdir %s: %s\n", p, strerror(errno));
		exit(99);
	}
	g_dirs[g_ndirs] = strdup(p);
	return g_dirs[g_ndirs++];
}

int64_t t_file_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	return (int64_t)st.st_size;
}

static void (*g_cleanup_fns[4])(void);
static int g_ncleanup_fns;

void t_on_cleanup(void (*fn)(void))
{
	if (g_ncleanup_fns < 4)
		g_cleanup_fns[g_ncleanup_fns++] = fn;
}

static void run_cleanup_fns(void)
{
	for (int i = g_ncleanup_fns - 1; i >= 0; i--)
		g_cleanup_fns[i]();
}

void t_cleanup(void)
{
	if (getpid() == g_owner)
		run_cleanup_fns();
	if (!g_tmpdir[0] || getpid() != g_owner)
		return;
	for (int i = 0; i < g_nfiles; i++) {
		unlink(g_files[i]);
		free(g_files[i]);
	}
	g_nfiles = 0;
	while (g_ndirs > 0) {
		g_ndirs--;
		if (rmdir(g_dirs[g_ndirs]))
			fprintf(stderr, "warning: rmdir %s: %s\n", g_dirs[g_ndirs], strerror(errno));
		free(g_dirs[g_ndirs]);
	}
	if (rmdir(g_tmpdir))
		fprintf(stderr, "warning: rmdir %s: %s\n", g_tmpdir, strerror(errno));
	g_tmpdir[0] = 0;
}

static const char *g_name = "test";
static unsigned g_alarm_s;

/* write(2) a string, in a signal handler. */
static void say_safe(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		return;
}

/* On a fatal signal (a crash, the alarm() watchdog): remove the files with
 * async-signal-safe calls only, then die of the same signal. */
static void cleanup_on_signal(int sig)
{
	if (sig == SIGALRM) {
		char num[16];
		int n = (int)sizeof(num);
		unsigned v = g_alarm_s;

		num[--n] = 0;
		do
			num[--n] = (char)('0' + v % 10);
		while ((v /= 10) && n > 0);
		say_safe("HANG: ");
		say_safe(g_name);
		say_safe(getpid() == g_owner ? " still running after " : " (a forked child) "
		                                                         "still running after ");
		say_safe(num + n);
		say_safe(" s: killed by its alarm() hang guard\n");
	}
	if (getpid() == g_owner)
		run_cleanup_fns();
	if (g_tmpdir[0] && getpid() == g_owner) {
		for (int i = 0; i < g_nfiles; i++)
			unlink(g_files[i]);
		for (int i = g_ndirs - 1; i >= 0; i--)
			rmdir(g_dirs[i]);
		rmdir(g_tmpdir);
	}
	signal(sig, SIG_DFL);
	raise(sig); /* delivered when the handler returns */
}

static void install_crash_cleanup(void)
{
	static const int sigs[] = { SIGALRM, SIGBUS, SIGABRT, SIGTERM, SIGINT, SIGHUP, SIGFPE };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cleanup_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* ------------------------------------------------------------------ misc */

long t_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	long v = 65530;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 65530;
		fclose(f);
	}
	return v;
}

long t_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	long n = 0;
	int ch;

	if (!f)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

long t_count_maps_dontfork(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	long n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " dc"))
			n++;
	fclose(f);
	return n;
}

long t_status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

int t_reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int r = -1;

	if (fd < 0)
		return -1;
	if (write(fd, "5", 1) == 1)
		r = 0;
	close(fd);
	return r;
}

uint64_t *t_permutation(uint64_t n, uint64_t seed)
{
	uint64_t *p = malloc((n ? n : 1) * sizeof(*p));
	struct t_rng r = { seed };

	if (!p)
		return NULL;
	for (uint64_t i = 0; i < n; i++)
		p[i] = i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = t_rand_below(&r, i), t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

size_t t_sys_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

size_t t_default_page_size(void)
{
	return upager__guards_supported() ? t_sys_page() : UPAGER_DEFAULT_PAGE_SIZE;
}

double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { MAX_ENV = 16 };
static struct {
	char *name, *old;
	int had;
} g_env[MAX_ENV];
static int g_nenv;

void t_env_set(const char *name, const char *value)
{
	const char *old = getenv(name);

	if (g_nenv == MAX_ENV) {
		fprintf(stderr, "t_env_set: too many variables\n");
		exit(99);
	}
	g_env[g_nenv].name = strdup(name);
	g_env[g_nenv].had = old != NULL;
	g_env[g_nenv].old = old ? strdup(old) : NULL;
	g_nenv++;
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

void t_env_restore(void)
{
	while (g_nenv > 0) {
		g_nenv--;
		if (g_env[g_nenv].had)
			setenv(g_env[g_nenv].name, g_env[g_nenv].old, 1);
		else
			unsetenv(g_env[g_nenv].name);
		free(g_env[g_nenv].name);
		free(g_env[g_nenv].old);
	}
}

void t_env_clear_upager(void)
{
	unsetenv("UPAGER_PAGE_SIZE");
	unsetenv("UPAGER_MEMORY_LIMIT");
	unsetenv("UPAGER_IO_DEPTH");
	unsetenv("UPAGER_READAHEAD");
}

/* ------------------------------------------------------ tiers and seeds */

int t_soak(void)
{
	const char *s = getenv("UPAGER_SOAK");

	return s && *s && strcmp(s, "0") != 0;
}

uint64_t t_scale(uint64_t quick, uint64_t soak)
{
	return t_soak() ? soak : quick;
}

uint64_t t_seed(void)
{
	static uint64_t seed;
	static int have;

	if (!have) {
		const char *s = getenv("UPAGER_SEED");
		if (s && *s) {
			seed = strtoull(s, NULL, 0);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			seed = t_mix64((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
			       (uint64_t)getpid();
		}
		have = 1;
		printf("seed: 0x%llx (UPAGER_SEED=0x%llx repeats this run); tier: %s\n",
		       (unsigned long long)seed, (unsigned long long)seed,
		       t_soak() ? "soak (UPAGER_SOAK set)" : "quick");
		fflush(stdout);
	}
	return seed;
}

/* ------------------------------------------------------------------ pager */

struct upager_config t_config(size_t page_size, size_t memory_limit)
{
	struct upager_config c;

	memset(&c, 0, sizeof(c));
	c.page_size = page_size;
	c.memory_limit = memory_limit;
	c.io_depth = 32;
	c.readahead = 8;
	c.flags = 0;
	return c;
}

int t_io_uring_works(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		return 0;
	close((int)fd);
	return 1;
}

upager_t *t_create(const struct upager_config *cfg)
{
	upager_t *p = NULL;
	int r = upager_create(&p, cfg, sizeof(*cfg));

	if ((r == -ENOSYS || r == -EPERM) && !t_io_uring_works())
		t_skip("io_uring is not available here (upager_create: %s)", upager_strerror(r));
	T_REQUIRE(r == 0 && p != NULL, "upager_create(page_size %zu, limit %zu): %d (%s)",
	          cfg ? cfg->page_size : 0, cfg ? cfg->memory_limit : 0, r, upager_strerror(r));
	return p;
}

void t_stats(upager_t *p, struct upager_stats *st)
{
	int r;

	memset(st, 0, sizeof(*st));
	r = upager_stats(p, st, sizeof(*st));
	T_CHECK(r == 0, "upager_stats: %d (%s)", r, upager_strerror(r));
}

/* ------------------------------------------------------------- processes */

pid_t t_fork(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 0, 0 };
		setrlimit(RLIMIT_CORE, &rl);
		g_alarm_s = (unsigned)t_scale(2 * T_HANG_S, 40 * T_HANG_S);
		alarm(g_alarm_s);
		_exit(fn(arg) & 0xff);
	}
	return pid;
}

int t_wait_child(pid_t pid, int timeout_s)
{
	double end = t_now() + timeout_s;
	long nap_ns = 50 * 1000; /* grows to 5 ms: short children cost little */
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (t_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "  HANG: child %d still running after %d s (hang guard): "
			        "killed\n", (int)pid, timeout_s);
			return -1;
		}
		struct timespec ts = { 0, nap_ns };
		nanosleep(&ts, NULL);
		if (nap_ns < 5 * 1000 * 1000)
			nap_ns *= 2;
	}
}

int t_wait_until(int (*done)(void *), void *arg, const char *what)
{
	const int guard = (int)t_scale(T_HANG_S, 20 * T_HANG_S);
	double end = t_now() + guard;
	long nap_ns = 50 * 1000;

	while (!done(arg)) {
		if (t_now() > end) {
			fprintf(stderr, "  HANG: waited %d s (hang guard) for %s\n", guard, what);
			return -1;
		}
		struct timespec ts = { 0, nap_ns };
		nanosleep(&ts, NULL);
		if (nap_ns < 5 * 1000 * 1000)
			nap_ns *= 2;
	}
	return 0;
}

const char *t_status_str(int status)
{
	static char buf[64];

	if (status == -1)
		snprintf(buf, sizeof(buf), "wait failed or timed out");
	else if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", status);
	return buf;
}

/* ---------------------------------------------------------- CUnit glue */

enum { MAX_SUMMARY = 64 };
static char *g_summary[MAX_SUMMARY];
static int g_nsummary;

void t_init(const char *name, unsigned timeout_s)
{
	g_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_env_clear_upager();
	g_owner = getpid();
	atexit(t_cleanup);
	install_crash_cleanup();
	if (timeout_s) {
		g_alarm_s = t_soak() ? timeout_s * 20 : timeout_s;
		alarm(g_alarm_s);
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: CU_initialize_registry: %s\n", name, CU_get_error_msg());
		exit(99);
	}
}

void t_add_suite(const char *name, const struct t_test *tests)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);

	if (!s) {
		fprintf(stderr, "CU_add_suite %s: %s\n", name, CU_get_error_msg());
		exit(99);
	}
	for (; tests->name; tests++)
		if (!CU_add_test(s, tests->name, tests->fn)) {
			fprintf(stderr, "CU_add_test %s: %s\n", tests->name, CU_get_error_msg());
			exit(99);
		}
}

void t_summary(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("  verified: %s\n", buf);
	if (g_nsummary < MAX_SUMMARY)
		g_summary[g_nsummary++] = strdup(buf);
}

int t_run_suite(void)
{
	CU_ErrorCode e;
	CU_pRunSummary s;
	unsigned failures, tests_failed, suites_failed, tests_run, asserts;
	int ok;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	e = CU_basic_run_tests();
	s = CU_get_run_summary();
	failures = CU_get_number_of_failures();
	tests_failed = s ? s->nTestsFailed : 1;
	suites_failed = s ? s->nSuitesFailed : 1;
	tests_run = s ? s->nTestsRun : 0;
	asserts = s ? s->nAsserts : 0;
	ok = e == CUE_SUCCESS && CU_get_error() == CUE_SUCCESS && failures == 0 &&
	     tests_failed == 0 && suites_failed == 0 && tests_run > 0;
	printf("\n%s summary: %u tests run, %u assertions, %u failures%s\n", g_name, tests_run,
	       asserts, failures, ok ? "" : " -- FAILED");
	for (int i = 0; i < g_nsummary; i++) {
		printf("  verified: %s\n", g_summary[i]);
		free(g_summary[i]);
	}
	g_nsummary = 0;
	CU_cleanup_registry();
	t_env_restore();
	t_cleanup();
	t_audit_report();
	if (t_audit_violations() > 0)
		ok = 0;
	{
		unsigned failed = tests_failed + suites_failed;
		unsigned passed = tests_run > tests_failed ? tests_run - tests_failed : 0;
		if (!ok && failed == 0)
			failed = 1; /* a CUnit error, or no test ran */
		printf("%u passed, %u failed\n", passed, failed);
	}
	fflush(stdout);
	return ok ? 0 : 1;
}

void t_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP %s: ", g_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	printf("0 passed, 0 failed, 1 skipped\n");
	fflush(stdout);
	exit(77);
}

int t_check(int ok, int fatal, const char *file, unsigned line, const char *func,
            const char *fmt, ...)
{
	if (ok) {
		CU_assertImplementation(CU_TRUE, line, fmt, file, func, fatal ? CU_TRUE : CU_FALSE);
		return 1;
	}
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s:%u: %s: FAILED: %s\n", file, line, func, msg);
	fflush(stderr);
	CU_assertImplementation(CU_FALSE, line, msg, file, func, fatal ? CU_TRUE : CU_FALSE);
	return 0;
}
