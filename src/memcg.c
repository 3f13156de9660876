/*
 * memcg.c - the memory limit of the process's memory cgroup, for the
 * default memory limit (options.c).  Read with stdio when a configuration
 * is resolved (upager_create, upager_config_resolve), never in signal
 * context.
 *
 * Owns: finding the process's memory cgroup, v2 and v1, and the least
 * limit of that group and its ancestors.
 * Calls: nothing of upager's (the bottom layer); libc stdio.
 *
 * Sources (the kernel's): Documentation/admin-guide/cgroup-v2.rst
 * ("memory.max"; /proc/PID/cgroup's "0::PATH" line),
 * Documentation/admin-guide/cgroup-v1/memory.rst ("memory.limit_in_bytes"),
 * Documentation/admin-guide/cgroup-v1/cgroups.rst (/proc/PID/cgroup's
 * "ID:SUBSYSTEMS:PATH" lines), Documentation/filesystems/proc.rst
 * (/proc/PID/mountinfo, fields and octal escapes), and
 * include/linux/page_counter.h (PAGE_COUNTER_MAX: v1 shows "no limit" as
 * that many pages in bytes, LONG_MAX rounded down to a page, near 2^63).
 *
 * A limit applies to a group and to everything below it, so the group's
 * effective limit is the least limit on the path from it up to the root of
 * the hierarchy as mounted (a cgroup namespace or a container's mount
 * shows no group above that).  Both hierarchies are read and the lesser
 * result taken: only one of them has the memory controller, and the other
 * has no limit files (v2 without the controller has no memory.max), or no
 * line in /proc/self/cgroup (v1).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v1 shows no limit as PAGE_COUNTER_MAX pages (2^63 - 1 bytes rounded
 * down to a page); any value from 2^62 up is taken as no limit. */
#define MEMCG_NO_LIMIT_FLOOR ((uint64_t)1 << 62)

/* The prefix of every path read (test builds: upager__memcg_root()). */
#ifdef UPAGER_TEST_HOOKS
static const char *memcg_root = "";

void upager__memcg_root(const char *root)
{
	memcg_root = root ? root : "";
}
#else
static const char *const memcg_root = "";
#endif

/* Decode mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* Whether the comma-separated list @list has the item @item. */
static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p;) {
		if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/*
 * The process's group paths in /proc/self/cgroup: @v2 from the line
 * "0::PATH", @v1 from the line whose subsystems include "memory".  An
 * empty string where there is no such line.
 */
static void read_proc_cgroup(char *v1, char *v2, size_t size)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	v1[0] = v2[0] = '\0';
	snprintf(path, sizeof(path), "%s/proc/self/cgroup", memcg_root);
	f = fopen(path, "re");
	if (!f)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		char *subsys, *group;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		subsys = strchr(line, ':');
		group = subsys ? strchr(subsys + 1, ':') : NULL;
		if (!group || group[1] != '/' || strlen(group + 1) >= size)
			continue;
		*subsys++ = '\0';
		*group++ = '\0';
		if (strcmp(line, "0") == 0 && subsys[0] == '\0')
			snprintf(v2, size, "%s", group);
		else if (list_has(subsys, "memory"))
			snprintf(v1, size, "%s", group);
	}
	free(line);
	fclose(f);
}

/*
 * The directory of group @group in the hierarchy of @version (1: the
 * "cgroup" mount whose super options include "memory"; 2: "cgroup2"),
 * from /proc/self/mountinfo, into @dir; the length of its mount point's
 * part goes to @mnt_len (the walk up stops there).  A mount serves if its
 * root (field 4) is the group or one of its ancestors.  Returns false if
 * no mount serves.
 */
static bool find_group_dir(int version, const char *group, char *dir, size_t size,
                           size_t *mnt_len)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/self/mountinfo", memcg_root);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE
		 * SOURCE SUPER-OPTIONS */
		char *field[5], *type, *super, *save = NULL, *tok;
		const char *rest;
		size_t rlen;
		int n = 0;

		for (tok = strtok_r(line, " \n", &save); tok && n < 5;
		     tok = strtok_r(NULL, " \n", &save))
			field[n++] = tok;
		if (n < 5)
			continue;
		while (tok && strcmp(tok, "-") != 0)
			tok = strtok_r(NULL, " \n", &save);
		type = tok ? strtok_r(NULL, " \n", &save) : NULL;
		super = type && strtok_r(NULL, " \n", &save) ? strtok_r(NULL, " \n", &save)
		                                             : NULL;
		if (!super)
			continue;
		if (version == 1 ? strcmp(type, "cgroup") != 0 || !list_has(super, "memory")
		                 : strcmp(type, "cgroup2") != 0)
			continue;
		unescape(field[3]);
		unescape(field[4]);
		/* The group's path below the mount's root. */
		rlen = strcmp(field[3], "/") == 0 ? 0 : strlen(field[3]);
		if (strncmp(group, field[3], rlen) != 0 ||
		    (group[rlen] != '/' && group[rlen] != '\0'))
			continue;
		rest = strcmp(group + rlen, "/") == 0 ? "" : group + rlen;
		*mnt_len = (size_t)snprintf(dir, size, "%s%s", memcg_root, field[4]);
		if (*mnt_len + strlen(rest) < size) {
			strcat(dir, rest);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* The limit in file @dir/@name: bytes, or UINT64_MAX for no limit ("max",
 * a value from 2^62 up) and for a missing or unreadable file. */
static uint64_t read_limit(const char *dir, const char *name)
{
	char path[PATH_MAX + 32], text[64], *end;
	uint64_t v = UINT64_MAX;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return UINT64_MAX;
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	if (fgets(text, sizeof(text), f) && text[0] >= '0' && text[0] <= '9') {
		errno = 0;
		v = strtoull(text, &end, 10);
		if (errno || (*end != '\n' && *end != '\0') || v >= MEMCG_NO_LIMIT_FLOOR)
			v = UINT64_MAX;
	}
	fclose(f);
	return v;
}

/* The least limit in @name of the group @group of hierarchy @version and
 * of its ancestors up to the mount's root; UINT64_MAX if none. */
static uint64_t hierarchy_limit(int version, const char *group, const char *name)
{
	char dir[PATH_MAX];
	size_t mnt_len, len;
	uint64_t least = UINT64_MAX;

	if (!group[0] || !find_group_dir(version, group, dir, sizeof(dir), &mnt_len))
		return UINT64_MAX;
	for (len = strlen(dir);;) {
		uint64_t v = read_limit(dir, name);
		char *slash;

		if (v < least)
			least = v;
		if (len <= mnt_len)
			break;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < mnt_len)
			break;
		*slash = '\0';
		len = (size_t)(slash - dir);
	}
	return least;
}

uint64_t upager__memcg_limit(void)
{
	char v1[PATH_MAX], v2[PATH_MAX];
	uint64_t l1, l2;

	read_proc_cgroup(v1, v2, sizeof(v1));
	l1 = hierarchy_limit(1, v1, "memory.limit_in_bytes");
	l2 = hierarchy_limit(2, v2, "memory.max");
	return l1 < l2 ? l1 : l2;
}
