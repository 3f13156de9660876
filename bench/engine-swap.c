/*
 * engine-swap.c - the system "swap" of upager-bench: anonymous memory in a
 * memory cgroup, paged out by the kernel to swap (the scratch workload
 * only).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the swap engine and the swap file the harness adds for it: made,
 * mkswap'd and switched on before a run, switched off and removed after
 * it (and by runner.c's SIGINT/SIGTERM/SIGHUP cleanup).
 * Calls: runner.c (on_fatal_cleanup), timed.c (fail), util.c (tmp_dir,
 * proc_value, pwrite_full, write_file), output.c (say), lib/cgroup.h
 * (cgroup_value), lib/units, libc.
 *
 *   swap           mmap(MAP_PRIVATE | MAP_ANONYMOUS) of the S bytes of the
 *                  scratch workload, in a memory cgroup limited to L, so
 *                  that the kernel swaps out what is over L.  Pages
 *                  written and read are the system's pswpout and pswpin
 *                  (/proc/vmstat) over each phase: system-wide counts.
 *
 * The swap space: where swap is already on (/proc/swaps lists any), it is
 * used as it is.  Else a swap file of 2 S in the harness's temporary
 * directory ($TMPDIR, else /var/tmp: the disk of upager's scratch file),
 * fallocate'd (written with zeros where the file system refuses that),
 * given mkswap(8) and swapon(2), then swapoff(2) and unlinked after the
 * run, or at SIGINT/SIGTERM/SIGHUP.  The run is skipped, with the reason,
 * when not root, when there is no memory cgroup (nothing would make the
 * kernel swap), when mkswap or swapon fails (some file systems refuse
 * swap files: the errno is in the note), or when the cgroup forbids swap
 * (cgroup v2 memory.swap.max 0 that cannot be raised to max; cgroup v1
 * memory.swappiness 0).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

/* The swap file switched on by the harness; "" when none. */
static char swap_path[PATH_MAX];
static bool swap_on;

/* Async-signal-safe: swapoff(2) and unlink(2) only. */
static void swap_cleanup(void)
{
	if (!swap_path[0])
		return;
	if (swap_on)
		swapoff(swap_path);
	unlink(swap_path);
	swap_on = false;
	swap_path[0] = '\0';
}

/* The number of active swap areas (/proc/swaps lines past its header),
 * the first one's name in @first; -1 if unreadable. */
static int swaps_active(char *first, size_t len)
{
	char line[512];
	int n = -1;
	FILE *f = fopen("/proc/swaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (n++ == 0)
			snprintf(first, len, "%.*s", (int)strcspn(line, " \t"), line);
	}
	fclose(f);
	return n;
}

/* mkswap(8) @path, its output discarded: 0, or -1 with @why set. */
static int run_mkswap(const char *path, char *why, size_t len)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("mkswap", "mkswap", path, (char *)NULL);
		execl("/sbin/mkswap", "mkswap", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(why, len, "mkswap %s failed (%s %d)", path,
	         WIFEXITED(status) ? "status" : "signal",
	         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -1;
}

/* Fill the file with zeros (where fallocate'd space will not do). */
static int zero_file(int fd, uint64_t size)
{
	char *buf = calloc(1, SEQ_CHUNK);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < size && rc == 0; off += SEQ_CHUNK)
		rc = pwrite_full(fd, buf, SEQ_CHUNK, off);
	free(buf);
	if (rc == 0 && fdatasync(fd) != 0)
		rc = -errno;
	return rc;
}

/* A swap file of @size bytes, switched on: 0, or -1 with @why set and
 * nothing left behind. */
static int swap_file_on(uint64_t size, char *why, size_t len)
{
	int fd, err;

	if (snprintf(swap_path, sizeof(swap_path), "%s/" PROG "-swap-XXXXXX", tmp_dir()) >=
	    (int)sizeof(swap_path)) {
		swap_path[0] = '\0';
		snprintf(why, len, "temporary directory name too long");
		return -1;
	}
	fd = mkostemp(swap_path, O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "swap file %s: %s", swap_path, strerror(errno));
		swap_path[0] = '\0';
		return -1;
	}
	on_fatal_cleanup(swap_cleanup);
	if (fchmod(fd, 0600) != 0 || posix_fallocate(fd, 0, (off_t)size) != 0) {
		int rc = zero_file(fd, size);

		if (rc < 0) {
			snprintf(why, len, "writing the swap file %s: %s", swap_path, strerror(-rc));
			goto fail;
		}
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (run_mkswap(swap_path, why, len) < 0)
			goto fail;
		if (swapon(swap_path, 0) == 0) {
			swap_on = true;
			close(fd);
			return 0;
		}
		err = errno;
		snprintf(why, len, "swapon %s: %s", swap_path, strerror(err));
		/* a file system that takes no fallocate'd swap file: write it */
		if (attempt > 0 || err != EINVAL || zero_file(fd, size) < 0)
			break;
	}
fail:
	close(fd);
	swap_cleanup();
	return -1;
}

/* Parent, before a run: swap on, and the cgroup letting it be used. */
static int swap_prepare(const struct job *j, const struct cgroup *cg, char *why, size_t len)
{
	char name[PATH_MAX], file[PATH_MAX + 32], val[32] = "";
	int n;

	if (geteuid() != 0) {
		snprintf(why, len, "not root (swapon needs it)");
		return -1;
	}
	if (!cg) {
		snprintf(why, len, "no memory cgroup: nothing would make the kernel swap");
		return -1;
	}
	if (cg->version == 2) {
		FILE *f;

		snprintf(file, sizeof(file), "%s/memory.swap.max", cg->path);
		f = fopen(file, "re");
		if (f) { /* absent: swap is not accounted, so not limited */
			if (!fgets(val, sizeof(val), f))
				val[0] = '\0';
			fclose(f);
			if (strncmp(val, "max", 3) != 0 && write_file(file, "max") < 0) {
				snprintf(why, len, "cgroup v2 memory.swap.max is %.*s and cannot be "
				         "raised", (int)strcspn(val, "\n"), val);
				return -1;
			}
		}
	} else if (cg->version == 1) {
		snprintf(file, sizeof(file), "%s/memory.swappiness", cg->path);
		if (access(file, F_OK) == 0 &&
		    cgroup_value(cg, "memory.swappiness", NULL) == 0) {
			snprintf(why, len, "cgroup v1 memory.swappiness is 0");
			return -1;
		}
	}
	n = swaps_active(name, sizeof(name));
	if (n > 0) {
		snprintf(why, len, "swap already on (%s%s): used as it is", name,
		         n > 1 ? " and more" : "");
		return 0;
	}
	if (swap_file_on(2 * j->ds->data, why, len) < 0)
		return -1;
	snprintf(why, len, "swap file of %s in %s", UNITS_SHORT(2 * j->ds->data), tmp_dir());
	return 0;
}

static void swap_release(void)
{
	if (!swap_path[0])
		return;
	if (swap_on && swapoff(swap_path) != 0) {
		say("warning: swapoff %s: %s: left on", swap_path, strerror(errno));
		swap_on = false;
		swap_path[0] = '\0';
		return;
	}
	swap_cleanup();
}

static int swap_setup(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	char *base = mmap(NULL, j->ds->data, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return fail(r, -errno, "mmap %s anonymous", UNITS_SHORT(j->ds->data));
	ctx->base = base;
	ctx->priv = NULL;
	return 0;
}

/* Pages the system swapped out and in so far. */
static void swap_counters(void *priv, struct upager_delta *d)
{
	(void)priv;
	memset(d, 0, sizeof(*d));
	d->pgout = proc_value("/proc/vmstat", "pswpout ");
	d->pgin = proc_value("/proc/vmstat", "pswpin ");
}

static void swap_teardown(struct engine_ctx *ctx, const struct job *j, struct result *r)
{
	(void)r;
	munmap(ctx->base, j->ds->data);
}

const struct engine engine_swap = {
	.name = "swap",
	.cg = CG_LIMIT,
	.scratch = true,
	.scratch_only = true,
	.prepare = swap_prepare,
	.release = swap_release,
	.setup = swap_setup,
	.counters = swap_counters,
	.teardown = swap_teardown,
};
