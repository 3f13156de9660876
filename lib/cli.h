/*
 * cli.h - command-line chores the tree's programs share: the message and
 * exit status 2 of bad usage.
 *
 * Part of libsupport, the tree's internal helper library (lib/): linked
 * into examples/, bench/ and tests/, never installed.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_LIB_CLI_H
#define UPAGER_LIB_CLI_H

/** Exit status of bad usage. */
#define CLI_EXIT_USAGE 2

/**
 * cli_usage_error() - report bad usage and exit with CLI_EXIT_USAGE.
 * @prog: the program's name.
 * @fmt:  printf format of the problem, without a final newline.
 *
 * Prints "PROG: problem" and "Try 'PROG --help' for more information." on
 * standard error.
 */
void cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/**
 * cli_try_help() - after a problem already reported (by getopt_long, say),
 * print "Try 'PROG --help' for more information." on standard error and
 * exit with CLI_EXIT_USAGE.
 * @prog: the program's name.
 */
void cli_try_help(const char *prog) __attribute__((noreturn));

#endif /* UPAGER_LIB_CLI_H */
