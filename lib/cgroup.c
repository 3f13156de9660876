/*
 * cgroup.c - memory cgroups of one's own (see cgroup.h).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cgroup_find_mounts(struct cgroup_mounts *m)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *e;

	memset(m, 0, sizeof(*m));
	if (!f)
		return;
	while ((e = getmntent(f)) != NULL) {
		if (!m->v1[0] && strcmp(e->mnt_type, "cgroup") == 0 && hasmntopt(e, "memory"))
			snprintf(m->v1, sizeof(m->v1), "%s", e->mnt_dir);
		else if (!m->v2[0] && strcmp(e->mnt_type, "cgroup2") == 0)
			snprintf(m->v2, sizeof(m->v2), "%s", e->mnt_dir);
	}
	endmntent(f);
	if (m->v2[0]) {
		char ctl[sizeof(m->v2) + 32], line[512] = "";

		snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", m->v2);
		f = fopen(ctl, "re");
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		m->v2_memory = strstr(line, "memory") != NULL;
	}
}

/* Write @text to @cg's file @file: 0 or -errno. */
static int cg_write(const struct cgroup *cg, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	size_t len = strlen(text);
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, text, len) != (ssize_t)len)
		rc = errno ? -errno : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int cgroup_make(struct cgroup *cg, const struct cgroup_mounts *m, const char *name,
                uint64_t limit)
{
	const char *root, *file;
	char val[32];
	int rc;

	memset(cg, 0, sizeof(*cg));
	cg->limit = limit;
	if (m->v1[0]) {
		root = m->v1;
		cg->version = 1;
		file = "memory.limit_in_bytes";
	} else if (m->v2[0] && m->v2_memory) {
		root = m->v2;
		cg->version = 2;
		file = "memory.max";
	} else {
		snprintf(cg->why, sizeof(cg->why), "%s",
		         m->v2[0] ? "cgroup2 root does not delegate the memory controller"
		                  : "no memory cgroup controller mounted");
		return -1;
	}
	if ((size_t)snprintf(cg->path, sizeof(cg->path), "%s/%s", root, name) >=
	    sizeof(cg->path)) {
		snprintf(cg->why, sizeof(cg->why), "path too long");
		goto none;
	}
	if (mkdir(cg->path, 0755) != 0 && errno != EEXIST) {
		snprintf(cg->why, sizeof(cg->why), "mkdir %s: %s", cg->path, strerror(errno));
		goto none;
	}
	snprintf(val, sizeof(val), "%" PRIu64, limit);
	rc = cg_write(cg, file, val);
	if (rc < 0) {
		snprintf(cg->why, sizeof(cg->why), "%s: %s", file, strerror(-rc));
		rmdir(cg->path);
		goto none;
	}
	return 0;
none:
	cg->version = 0;
	cg->path[0] = '\0';
	return -1;
}

int cgroup_join(const struct cgroup *cg)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return cg_write(cg, "cgroup.procs", pid);
}

uint64_t cgroup_value(const struct cgroup *cg, const char *file, const char *key)
{
	char path[PATH_MAX + 64], line[256];
	size_t kl = key ? strlen(key) : 0;
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = strtoull(line, NULL, 10);
			break;
		}
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

int cgroup_remove(struct cgroup *cg)
{
	int rc = 0;

	if (!cg->version)
		return 0;
	/* The kernel may take a moment to let go of a group whose last task
	 * has exited (EBUSY): up to 200 tries, 10 ms apart. */
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (rmdir(cg->path) == 0 || errno == ENOENT) {
			rc = 0;
			break;
		}
		rc = -errno;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	cg->version = 0;
	return rc;
}
