/*
 * sort-cleanup.c - upager-sort's generated file: its creation, and its
 * removal at exit unless --keep, also when the run is interrupted (SIGINT,
 * SIGTERM, SIGHUP) or killed by SIGBUS (upager's answer to a page it cannot
 * read).  The handlers only unlink(2) and write(2), which are
 * async-signal-safe.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkostemp(3) */
#endif

#include "upager-sort.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_path_remove; /* unlink tmp_path at exit */

void cleanup_remove_file(void)
{
	if (tmp_path_remove) {
		tmp_path_remove = 0;
		unlink(tmp_path);
	}
}

const char *cleanup_file_path(void)
{
	return tmp_path;
}

int cleanup_create_file(const char *dir, bool keep)
{
	int fd, n;

	n = snprintf(tmp_path, sizeof(tmp_path), "%s/upager-sort.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(tmp_path)) {
		fprintf(stderr, PROG ": temporary directory name too long: %s\n", dir);
		return -1;
	}
	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file in %s: %s\n", dir, strerror(errno));
		return -1;
	}
	tmp_path_remove = !keep;
	return fd;
}

static void on_fatal_signal(int sig)
{
	if (tmp_path_remove)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_sigbus(int sig) __attribute__((noreturn));

static void on_sigbus(int sig)
{
	static const char msg[] = PROG ": SIGBUS: upager could not read or "
	                          "write a page of the file (I/O error?)\n";
	ssize_t n;

	(void)sig;
	if (tmp_path_remove)
		unlink(tmp_path);
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	_exit(EXIT_FAILURE);
}

void cleanup_install_signal_handlers(void)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);

	sa.sa_handler = on_fatal_signal;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction old;

		/* Leave a signal ignored if it was ignored (nohup). */
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(fatal[i], &sa, NULL);
	}
}
