/*
 * runner.c - where a run of upager-bench lives: a forked child, in a
 * memory cgroup when the run wants one.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the run's memory cgroup (made, read and removed through
 * lib/cgroup.c), the fork/pipe/poll protocol of a child,
 * and the SIGINT/SIGTERM/SIGHUP cleanup of the child and its group (and of
 * what an engine asks for: the swap file).
 * Calls: util.c, output.c (say), lib/cgroup.c (the groups themselves),
 * libc.  It knows nothing of what the
 * child runs: a function and a result buffer of a given size.
 *
 * Every run of a system (and the whole fault workload) is a forked child
 * of its own, so that peak RSS is per run and a crash ends only that run;
 * the child sends its result back through a pipe.
 *
 * Cgroups: cgroup v1 (the memory controller's mount, usually
 * /sys/fs/cgroup/memory): mkdir upager-bench-PID at its root, write the
 * limit to memory.limit_in_bytes, the child writes its pid to cgroup.procs
 * first thing, and the parent removes the group after the child is reaped.
 * Else cgroup v2 (a group under the unified root with memory.max, if the
 * root delegates the memory controller).  Where no group can be made (not
 * root, no controller), the run is unconstrained and the table and CSV say
 * so (notes, column cgroup = "none").  The cgroup's peak usage (v1
 * memory.max_usage_in_bytes, v2 memory.peak) is in the CSV.  SIGINT and
 * SIGTERM kill the running child and remove its group.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* -------------------------------------------------------------------------
 * Memory cgroups
 */

struct cgroup_mounts cg_mounts;

void cg_find_roots(void)
{
	cgroup_find_mounts(&cg_mounts);
}

/* The group being used, for the signal handler; "" when none. */
static char cleanup_cg[PATH_MAX];
static volatile pid_t cleanup_pid;
static void (*volatile cleanup_fn)(void);

/* Make the group upager-bench-PID with memory limit @limit.  0, or -1 with
 * @cg->why set (and version 0). */
int cg_create(struct cgroup *cg, uint64_t limit)
{
	char name[64];

	snprintf(name, sizeof(name), PROG "-%d", (int)getpid());
	if (cgroup_make(cg, &cg_mounts, name, limit) < 0)
		return -1;
	snprintf(cleanup_cg, sizeof(cleanup_cg), "%s", cg->path);
	return 0;
}

uint64_t cg_peak(const struct cgroup *cg)
{
	if (cg->version == 1)
		return cgroup_value(cg, "memory.max_usage_in_bytes", NULL);
	if (cg->version == 2)
		return cgroup_value(cg, "memory.peak", NULL);
	return 0;
}

uint64_t cg_oom_kills(const struct cgroup *cg)
{
	if (cg->version == 1)
		return cgroup_value(cg, "memory.oom_control", "oom_kill");
	if (cg->version == 2)
		return cgroup_value(cg, "memory.events", "oom_kill");
	return 0;
}

/* Remove the group (its child has been reaped). */
void cg_remove(struct cgroup *cg)
{
	int rc;

	if (!cg->version)
		return;
	rc = cgroup_remove(cg);
	if (rc < 0)
		say("warning: rmdir %s: %s", cg->path, strerror(-rc));
	cleanup_cg[0] = '\0';
}

/* SIGINT, SIGTERM, SIGHUP: kill the running child, remove its group, die. */
static void on_fatal_signal(int sig)
{
	pid_t pid = cleanup_pid;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (cleanup_cg[0]) {
		for (int i = 0; i < 100 && rmdir(cleanup_cg) != 0 && errno == EBUSY; i++) {
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
		}
	}
	if (cleanup_fn)
		cleanup_fn();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Have @fn (async-signal-safe: an engine's swap file) called by the
 * cleanup at SIGINT, SIGTERM and SIGHUP, after the child and its group. */
void on_fatal_cleanup(void (*fn)(void))
{
	cleanup_fn = fn;
}

/* Kill the running child and remove its group on SIGINT, SIGTERM and
 * SIGHUP. */
void install_fatal_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* -------------------------------------------------------------------------
 * Children: fork, join the cgroup, run, send the result through a pipe
 */

struct child_hdr {
	int cg_rc;  /* cgroup_join(): 0 or -errno; 1: no group asked for */
	int rc;     /* the function's return value */
};

/* Run @fn(@arg, out) in a forked child (in @cg if given) and copy its
 * @outsz-byte result to @out.  Returns 0 when the result arrived, -1
 * otherwise; either way @why says what happened if anything went wrong
 * ("" if not), and *@fn_rc is the function's return value. */
int run_in_child(child_fn fn, const void *arg, void *out, size_t outsz,
                 const struct cgroup *cg, unsigned timeout_s, int *fn_rc, char *why,
                 size_t whylen)
{
	struct child_hdr hdr = { 1, 0 };
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000u;
	size_t got = 0, total = sizeof(hdr) + outsz;
	char *buf = malloc(total);
	bool timed_out = false;
	int pfd[2], status = 0;
	pid_t pid;

	why[0] = '\0';
	*fn_rc = 0;
	if (!buf || pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "%s", buf ? strerror(errno) : "out of memory");
		free(buf);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(buf);
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(pfd[0]);
		if (cg && cg->version)
			hdr.cg_rc = cgroup_join(cg);
		memset(out, 0, outsz);
		hdr.rc = fn(arg, out);
		memcpy(buf, &hdr, sizeof(hdr));
		memcpy(buf + sizeof(hdr), out, outsz);
		for (size_t done = 0; done < total;) {
			ssize_t n = write(pfd[1], buf + done, total - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(3);
			done += (size_t)n;
		}
		_exit(hdr.rc == 0 ? 0 : 1);
	}
	cleanup_pid = pid;
	close(pfd[1]);
	while (got < total) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		uint64_t now = now_ns();
		int ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000u) + 1;
		int pr = poll(&p, 1, ms);
		ssize_t n;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		n = read(pfd[0], buf + got, total - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cleanup_pid = 0;
	if (timed_out)
		snprintf(why, whylen, "timed out after %u s, killed", timeout_s);
	else if (WIFSIGNALED(status))
		snprintf(why, whylen, "child killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else if (got < total)
		snprintf(why, whylen, "child exited with status %d without a result",
		         WEXITSTATUS(status));
	if (got == total) {
		memcpy(&hdr, buf, sizeof(hdr));
		memcpy(out, buf + sizeof(hdr), outsz);
		*fn_rc = hdr.rc;
		if (hdr.cg_rc < 0)
			snprintf(why, whylen, "joining the cgroup failed: %s (ran unconstrained)",
			         strerror(-hdr.cg_rc));
	}
	free(buf);
	return got == total ? 0 : -1;
}
