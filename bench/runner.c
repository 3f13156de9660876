/*
 * runner.c - where a run of upager-bench lives: a forked child, in a
 * memory cgroup when the run wants one.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the memory cgroups (finding the controller, making, joining,
 * reading and removing a group), the fork/pipe/poll protocol of a child,
 * and the SIGINT/SIGTERM/SIGHUP cleanup of the child and its group.
 * Calls: util.c, output.c (say), libc.  It knows nothing of what the
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
#include <mntent.h>
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

char cg_v1_root[1024]; /* mount of the v1 memory controller */
char cg_v2_root[1024]; /* mount of cgroup2 */

void cg_find_roots(void)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;

	if (!f)
		return;
	while ((m = getmntent(f)) != NULL) {
		if (!cg_v1_root[0] && strcmp(m->mnt_type, "cgroup") == 0 &&
		    hasmntopt(m, "memory"))
			snprintf(cg_v1_root, sizeof(cg_v1_root), "%s", m->mnt_dir);
		else if (!cg_v2_root[0] && strcmp(m->mnt_type, "cgroup2") == 0)
			snprintf(cg_v2_root, sizeof(cg_v2_root), "%s", m->mnt_dir);
	}
	endmntent(f);
}

static int cg_file_write(const struct cgroup *cg, const char *file, const char *text)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", cg->path, file);
	return write_file(p, text);
}

static uint64_t cg_file_value(const struct cgroup *cg, const char *file, const char *key)
{
	char p[PATH_MAX + 64], line[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", cg->path, file);
	if (!key)
		return proc_value(p, "");
	f = fopen(p, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t kl = strlen(key);
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The group being used, for the signal handler; "" when none. */
static char cleanup_cg[PATH_MAX];
static volatile pid_t cleanup_pid;

/* Make the group PROG-PID under @root, of cgroup @version, and write
 * @val to its @limit_file.  0, or -1 with @cg->why set. */
static int cg_make(struct cgroup *cg, const char *root, int version, const char *limit_file,
                   const char *val)
{
	int rc;

	snprintf(cg->path, sizeof(cg->path), "%s/" PROG "-%d", root, (int)getpid());
	if (mkdir(cg->path, 0755) != 0 && errno != EEXIST) {
		snprintf(cg->why, sizeof(cg->why), "mkdir: %s", strerror(errno));
		return -1;
	}
	cg->version = version;
	rc = cg_file_write(cg, limit_file, val);
	if (rc < 0) {
		snprintf(cg->why, sizeof(cg->why), "%s: %s", limit_file, strerror(-rc));
		rmdir(cg->path);
		return -1;
	}
	return 0;
}

/* Make the group upager-bench-PID with memory limit @limit.  0, or -1 with
 * @cg->why set (and version 0). */
int cg_create(struct cgroup *cg, uint64_t limit)
{
	char val[32];

	memset(cg, 0, sizeof(*cg));
	cg->limit = limit;
	snprintf(val, sizeof(val), "%" PRIu64, limit);
	if (cg_v1_root[0]) {
		if (cg_make(cg, cg_v1_root, 1, "memory.limit_in_bytes", val) < 0)
			goto none;
	} else if (cg_v2_root[0]) {
		char ctl[PATH_MAX + 32], line[512] = "";
		FILE *f;

		snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", cg_v2_root);
		f = fopen(ctl, "re");
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		if (!strstr(line, "memory")) {
			snprintf(cg->why, sizeof(cg->why),
			         "cgroup2 root does not delegate the memory controller");
			goto none;
		}
		if (cg_make(cg, cg_v2_root, 2, "memory.max", val) < 0)
			goto none;
	} else {
		snprintf(cg->why, sizeof(cg->why), "no memory cgroup controller mounted");
		goto none;
	}
	snprintf(cleanup_cg, sizeof(cleanup_cg), "%s", cg->path);
	return 0;
none:
	cg->version = 0;
	cg->path[0] = '\0';
	return -1;
}

/* In the child: move ourselves into the group.  0 or -errno. */
static int cg_join(const struct cgroup *cg)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return cg_file_write(cg, "cgroup.procs", pid);
}

uint64_t cg_peak(const struct cgroup *cg)
{
	if (cg->version == 1)
		return cg_file_value(cg, "memory.max_usage_in_bytes", NULL);
	if (cg->version == 2)
		return cg_file_value(cg, "memory.peak", NULL);
	return 0;
}

uint64_t cg_oom_kills(const struct cgroup *cg)
{
	if (cg->version == 1)
		return cg_file_value(cg, "memory.oom_control", "oom_kill");
	if (cg->version == 2)
		return cg_file_value(cg, "memory.events", "oom_kill");
	return 0;
}

/* Remove the group (its child has been reaped).  Retries for a while: the
 * kernel may take a moment to let go of a group whose last task exited. */
void cg_remove(struct cgroup *cg)
{
	if (!cg->version)
		return;
	for (int i = 0; i < 200; i++) {
		if (rmdir(cg->path) == 0 || errno == ENOENT)
			break;
		if (errno != EBUSY) {
			say("warning: rmdir %s: %s", cg->path, strerror(errno));
			break;
		}
		usleep(10000);
	}
	cleanup_cg[0] = '\0';
	cg->version = 0;
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
	signal(sig, SIG_DFL);
	raise(sig);
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
	int cg_rc;  /* cg_join(): 0 or -errno; 1: no group asked for */
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
			hdr.cg_rc = cg_join(cg);
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
