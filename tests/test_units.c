/*
 * test_units.c - unit tests of libsupport (lib/): units.c, parsing sizes
 * ("64K", "1GiB"), parsing integers, formatting byte counts, with valid and
 * invalid inputs and overflow; cli.c, the bad-usage message and status.
 * Plain CUnit: it needs neither upager nor the helpers of the other tests.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"
#include "units.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct parse_case {
	const char *s;
	int rc;
	uint64_t v;
};

/* Check one parse; on failure print the input, so the log says which. */
static void check_parse(int (*parse)(const char *, uint64_t *), const char *name,
                        const struct parse_case *c)
{
	uint64_t v = 12345;
	int rc = parse(c->s, &v);

	if (rc != c->rc || (c->rc == 0 && v != c->v))
		fprintf(stderr, "FAIL: %s(\"%s\"): rc %d value %llu, expected rc %d value %llu\n",
		        name, c->s, rc, (unsigned long long)v, c->rc, (unsigned long long)c->v);
	CU_ASSERT_EQUAL(rc, c->rc);
	if (c->rc == 0) {
		CU_ASSERT_EQUAL(v, c->v);
	} else {
		CU_ASSERT_EQUAL(v, 12345); /* untouched on failure */
	}
}

static void test_parse_size_valid(void)
{
	static const struct parse_case cases[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "4096", 0, 4096 },
		{ "100B", 0, 100 },
		{ "100b", 0, 100 },
		{ "64K", 0, 64 * KiB },
		{ "64k", 0, 64 * KiB },
		{ "64KB", 0, 64 * KiB },
		{ "64KiB", 0, 64 * KiB },
		{ "64kib", 0, 64 * KiB },
		{ "1M", 0, MiB },
		{ "512m", 0, 512 * MiB },
		{ "1MiB", 0, MiB },
		{ "2G", 0, 2 * GiB },
		{ "1GiB", 0, GiB },
		{ "1T", 0, TiB },
		{ "1TB", 0, TiB },
		{ "010", 0, 10 }, /* decimal, not octal */
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "16777215T", 0, 16777215 * TiB },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_parse(units_parse_size, "units_parse_size", &cases[i]);
}

static void test_parse_size_invalid(void)
{
	static const struct parse_case cases[] = {
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "B", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "5 M", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "12Q", -EINVAL, 0 },
		{ "1Mi", -EINVAL, 0 },  /* "iB" or nothing */
		{ "1iB", -EINVAL, 0 },  /* "iB" only after a suffix */
		{ "1KK", -EINVAL, 0 },
		{ "1KBB", -EINVAL, 0 },
		{ "1P", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_parse(units_parse_size, "units_parse_size", &cases[i]);
	CU_ASSERT_EQUAL(units_parse_size(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static void test_parse_size_overflow(void)
{
	static const struct parse_case cases[] = {
		{ "18446744073709551616", -ERANGE, 0 },  /* 2^64 */
		{ "99999999999999999999", -ERANGE, 0 },
		{ "99999999999999999999G", -ERANGE, 0 },
		{ "16777216T", -ERANGE, 0 },             /* 2^24 T = 2^64 bytes */
		{ "17179869184G", -ERANGE, 0 },          /* 2^34 G = 2^64 bytes */
		{ "18014398509481984K", -ERANGE, 0 },    /* 2^54 K = 2^64 bytes */
		{ "18014398509481983K", 0, UINT64_MAX - KiB + 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_parse(units_parse_size, "units_parse_size", &cases[i]);
}

static void test_parse_u64(void)
{
	static const struct parse_case cases[] = {
		{ "0", 0, 0 },
		{ "42", 0, 42 },
		{ "0x10", 0, 16 },
		{ "0XfF", 0, 255 },
		{ "010", 0, 8 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "0xffffffffffffffff", 0, UINT64_MAX },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1K", -EINVAL, 0 },
		{ "12x", -EINVAL, 0 },
		{ "08", -EINVAL, 0 }, /* not octal */
		{ "18446744073709551616", -ERANGE, 0 },
		{ "0x10000000000000000", -ERANGE, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_parse(units_parse_u64, "units_parse_u64", &cases[i]);
	CU_ASSERT_EQUAL(units_parse_u64(NULL, &(uint64_t){ 0 }), -EINVAL);
}

struct format_case {
	uint64_t v;
	const char *text;
};

static void check_format(const char *(*format)(char *, size_t, uint64_t), const char *name,
                         const struct format_case *c)
{
	char buf[UNITS_BUFSIZE];
	const char *got = format(buf, sizeof(buf), c->v);

	if (got != buf || strcmp(buf, c->text) != 0)
		fprintf(stderr, "FAIL: %s(%llu): \"%s\", expected \"%s\"\n", name,
		        (unsigned long long)c->v, buf, c->text);
	CU_ASSERT_PTR_EQUAL(got, buf);
	CU_ASSERT_STRING_EQUAL(buf, c->text);
}

static void test_format(void)
{
	static const struct format_case cases[] = {
		{ 0, "0 bytes" },
		{ 100, "100 bytes" },
		{ 1023, "1023 bytes" },
		{ 1024, "1 KiB" },
		{ 5000, "5000 bytes" },        /* below 10 KiB and not whole */
		{ 12345, "12.1 KiB" },
		{ 64 * KiB, "64 KiB" },
		{ 976 * KiB, "976 KiB" },
		{ 5000000, "4882.8 KiB" },      /* below 10 MiB and not whole */
		{ MiB, "1 MiB" },
		{ 1536 * MiB, "1536 MiB" },     /* exact in MiB, not in GiB */
		{ GiB, "1 GiB" },
		{ 10 * GiB + 1, "10.0 GiB" },
		{ TiB, "1 TiB" },
		{ 3 * TiB / 2, "1536 GiB" },
		{ UINT64_MAX, "16777216.0 TiB" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_format(units_format, "units_format", &cases[i]);
	CU_ASSERT_STRING_EQUAL(UNITS_STR(2 * GiB), "2 GiB");
}

static void test_format_short(void)
{
	static const struct format_case cases[] = {
		{ 0, "0B" },
		{ 100, "100B" },
		{ 1023, "1023B" },
		{ 1024, "1K" },
		{ 1536, "1.5K" },
		{ 4 * KiB, "4K" },
		{ 256 * MiB, "256M" },
		{ 3 * GiB / 2, "1.5G" },
		{ 2 * GiB, "2G" },
		{ 2 * TiB, "2T" },
		{ 2048 * TiB, "2048T" },        /* T is the largest unit */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_format(units_format_short, "units_format_short", &cases[i]);
	CU_ASSERT_STRING_EQUAL(UNITS_SHORT(64 * KiB), "64K");
}

/* Short buffers truncate like snprintf and stay terminated. */
static void test_format_truncates(void)
{
	char buf[4];

	units_format(buf, sizeof(buf), GiB);
	CU_ASSERT_STRING_EQUAL(buf, "1 G");
	units_format_short(buf, sizeof(buf), 12345 * KiB);
	CU_ASSERT_STRING_EQUAL(buf, "12.");
}

/* What the formatters write for whole units parses back to the same value
 * (units_format()'s text without its space). */
static void test_round_trip(void)
{
	static const uint64_t values[] = { 1, 1024, 64 * KiB, 3 * MiB, 7 * GiB, 5 * TiB };

	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		char text[UNITS_BUFSIZE], *p, *q;
		uint64_t v = 0;

		units_format_short(text, sizeof(text), values[i]);
		CU_ASSERT_EQUAL(units_parse_size(text, &v), 0);
		CU_ASSERT_EQUAL(v, values[i]);
		units_format(text, sizeof(text), values[i]);
		/* "64 KiB" -> "64KiB"; "1 bytes" is not a size: skip it */
		for (p = q = text; *p != '\0'; p++)
			if (*p != ' ')
				*q++ = *p;
		*q = '\0';
		if (strstr(text, "bytes") != NULL)
			continue;
		v = 0;
		CU_ASSERT_EQUAL(units_parse_size(text, &v), 0);
		CU_ASSERT_EQUAL(v, values[i]);
	}
}

/* cli_usage_error() in a child whose stderr is a pipe: the message, then
 * exit status 2. */
static void test_usage_error(void)
{
	static const char want[] = "prog: bad value '7'\n"
	                           "Try 'prog --help' for more information.\n";
	char got[256];
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		cli_usage_error("prog", "bad value '%d'", 7);
	}
	close(fds[1]);
	while (len < sizeof(got) - 1 && (n = read(fds[0], got + len, sizeof(got) - 1 - len)) > 0)
		len += (size_t)n;
	got[len] = '\0';
	close(fds[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == CLI_EXIT_USAGE);
	CU_ASSERT_STRING_EQUAL(got, want);
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "parse sizes: valid", test_parse_size_valid },
		{ "parse sizes: invalid", test_parse_size_invalid },
		{ "parse sizes: overflow", test_parse_size_overflow },
		{ "parse integers", test_parse_u64 },
		{ "format: IEC units", test_format },
		{ "format: short", test_format_short },
		{ "format: truncation", test_format_truncates },
		{ "format then parse", test_round_trip },
		{ "bad usage: message, status 2", test_usage_error },
	};
	CU_pSuite suite;
	unsigned failed, run;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	suite = CU_add_suite("units", NULL, NULL);
	if (suite == NULL)
		return 99;
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			return 99;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		return 99;
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	printf("%u passed, %u failed\n", run - failed, failed);
	return failed == 0 ? 0 : 1;
}
