/*
 * options.c - configuration: struct upager_config, UPAGER_* environment
 * variables and built-in defaults, resolved in that order.
 *
 * Every variable is read with secure_getenv(3): in a set-user-ID or
 * set-group-ID program (or one with file capabilities) it reads as unset,
 * so the caller of such a program cannot choose its settings.
 *
 * Owns: parsing sizes and resolving a configuration from its fields, the
 * environment (secure_getenv) and the defaults of upager.h; resolving a
 * region's settings (struct upager_region_params) against its pager's;
 * whether the kernel has guard markers.
 * Calls: memcg.c (the memory cgroup's limit, for the default memory limit).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/**
 * upager__parse_size() - parse "123", "64K", "1M", "2G", "1T" (powers of 1024).
 * @s:   the text; no leading sign, optional spaces around, one optional
 *       suffix letter (K, M, G or T, either case), an optional "B"/"iB".
 * @out: the value in bytes.
 *
 * Return: 0, or -EINVAL (empty, not a number, unknown suffix, overflow).
 */
int upager__parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0, mult = 1;
	bool digits = false;

	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		digits = true;
	}
	if (!digits)
		return -EINVAL;
	switch (toupper((unsigned char)*p)) {
	case 'K': mult = 1ull << 10; p++; break;
	case 'M': mult = 1ull << 20; p++; break;
	case 'G': mult = 1ull << 30; p++; break;
	case 'T': mult = 1ull << 40; p++; break;
	default: break;
	}
	if (mult > 1 && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'B' || *p == 'b')
		p++;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* One environment variable: 0 if unset (or ignored in a secure-execution
 * program), -EINVAL if unparsable. */
static int env_size(const char *name, uint64_t *out, bool *set)
{
	const char *s = secure_getenv(name);

	*set = false;
	if (!s)
		return 0;
	if (upager__parse_size(s, out) < 0)
		return -EINVAL;
	*set = true;
	return 0;
}

static pthread_once_t guards_once = PTHREAD_ONCE_INIT;
static bool guards_ok;

/* Does madvise(MADV_GUARD_INSTALL) work here, on a shared mapping of a
 * memfd like the app views? */
static void guards_probe(void)
{
	long sz = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("upager-probe", MFD_CLOEXEC);
	char *a;

	if (fd < 0)
		return;
	if (ftruncate(fd, sz) == 0) {
		a = mmap(NULL, (size_t)sz, PROT_NONE, MAP_SHARED, fd, 0);
		if (a != MAP_FAILED) {
			guards_ok = madvise(a, (size_t)sz, MADV_GUARD_INSTALL) == 0 &&
			            madvise(a, (size_t)sz, MADV_GUARD_REMOVE) == 0;
			munmap(a, (size_t)sz);
		}
	}
	close(fd);
}

/**
 * upager__guards_supported() - whether the app views use guard markers
 * (mprotect.c): the kernel has them (probed once per process) and
 * UPAGER_GUARDS is not "0".  API context.
 */
bool upager__guards_supported(void)
{
	const char *s = secure_getenv("UPAGER_GUARDS");

	pthread_once(&guards_once, guards_probe);
	return guards_ok && !(s && s[0] == '0' && s[1] == '\0');
}

/**
 * upager__clockpro_wanted() - whether new pagers evict with CLOCK-Pro
 * (vmscan.c): yes unless UPAGER_CLOCK is "clock" (plain Clock, the second
 * chance of every page).  API context.
 */
bool upager__clockpro_wanted(void)
{
	const char *s = secure_getenv("UPAGER_CLOCK");

	return !(s && strcmp(s, "clock") == 0);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * The default memory limit: a quarter of the memory the process may use,
 * the lesser of physical memory and its memory cgroup's effective limit
 * (memcg.c), rounded down to whole pages of @page_size bytes, and at least
 * UPAGER_MIN_FRAMES pages.  If physical memory is unknown and no cgroup
 * limits the process, a quarter of 1 GiB.
 */
static uint64_t default_memory_limit(uint64_t page_size, long sys_page)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	uint64_t usable = pages > 0 ? (uint64_t)pages * (uint64_t)sys_page : UINT64_MAX;
	uint64_t memcg = upager__memcg_limit(), limit;

	if (memcg < usable)
		usable = memcg;
	if (usable == UINT64_MAX)
		usable = (uint64_t)1 << 30;
	limit = usable / 4 / page_size * page_size;
	if (limit < (uint64_t)UPAGER_MIN_FRAMES * page_size)
		limit = (uint64_t)UPAGER_MIN_FRAMES * page_size;
	return limit;
}

/* The default read-ahead: UPAGER_DEFAULT_READAHEAD_BYTES of pages of
 * @page_size, at least UPAGER_DEFAULT_READAHEAD pages (bench/: a scan of a
 * cold file at 4 KiB pages ran 0.9 GB/s with 256 pages a run against 0.62
 * with 64 and 0.74 with 512). */
static uint32_t default_readahead(uint64_t page_size)
{
	uint64_t n = UPAGER_DEFAULT_READAHEAD_BYTES / page_size;

	return n < UPAGER_DEFAULT_READAHEAD ? UPAGER_DEFAULT_READAHEAD : (uint32_t)n;
}

int upager_config_resolve(const struct upager_config *in, size_t size,
                          struct upager_config *out, size_t out_size)
{
	struct upager_config c;
	int rc;

	if (!out || out_size < UPAGER_CONFIG_SIZE_VER0)
		return -EINVAL;
	rc = upager__struct_in(&c, sizeof(c), in, size, UPAGER_CONFIG_SIZE_VER0);
	if (rc == 0)
		rc = upager__config_resolve(&c, &c);
	if (rc == 0)
		rc = upager__struct_out(out, out_size, &c, sizeof(c), UPAGER_CONFIG_SIZE_VER0);
	return rc;
}

/**
 * upager__config_resolve() - fill every 0 field from the environment or the
 * default, and check every field.
 * @in:  the config at the library's size (see upager__struct_in()), or
 *       NULL for all zeros.
 * @out: the resolved config (may be @in); readahead is
 *       UPAGER_READAHEAD_OFF when read-ahead is off.
 *
 * Return: 0 or -EINVAL.
 */
int upager__config_resolve(const struct upager_config *in, struct upager_config *out)
{
	struct upager_config c = { 0 };
	uint64_t v;
	bool set;
	long sys_page = sysconf(_SC_PAGESIZE);

	if (in)
		c = *in;
	if (c.flags & ~UPAGER_DIRECT_IO)
		return -EINVAL;
	if (c.reserved0)
		return -EINVAL;

	if (c.page_size == 0) {
		if (env_size("UPAGER_PAGE_SIZE", &v, &set) < 0)
			return -EINVAL;
		/* Guard markers lift the VMA budget that forced 16 KiB pages
		 * on random access (docs/design.md, "Page size"). */
		c.page_size = set ? v
		                  : upager__guards_supported() ? (uint64_t)sys_page
		                                               : UPAGER_DEFAULT_PAGE_SIZE;
		if (set && v == 0)
			return -EINVAL;
	}
	if (!is_pow2(c.page_size) || c.page_size < (uint64_t)sys_page ||
	    c.page_size > UPAGER_MAX_PAGE_SIZE)
		return -EINVAL;

	if (c.memory_limit == 0) {
		if (env_size("UPAGER_MEMORY_LIMIT", &v, &set) < 0)
			return -EINVAL;
		if (set && v == 0)
			return -EINVAL;
		c.memory_limit = set ? v : default_memory_limit(c.page_size, sys_page);
	}
	if (c.memory_limit / c.page_size < UPAGER_MIN_FRAMES)
		return -EINVAL;
	/* Frame numbers are 32-bit, and there is a frame per system page of
	 * the limit (frame.c). */
	if (c.memory_limit / (uint64_t)sys_page > UINT32_MAX)
		return -EINVAL;

	if (c.io_depth == 0) {
		if (env_size("UPAGER_IO_DEPTH", &v, &set) < 0)
			return -EINVAL;
		if (set && (v == 0 || v > UPAGER_MAX_IO_DEPTH))
			return -EINVAL;
		c.io_depth = set ? (uint32_t)v : UPAGER_DEFAULT_IO_DEPTH;
	}
	if (c.io_depth > UPAGER_MAX_IO_DEPTH)
		return -EINVAL;

	if (c.readahead == 0) {
		const char *s = secure_getenv("UPAGER_READAHEAD");
		if (s && (strcmp(s, "off") == 0 || strcmp(s, "0") == 0)) {
			c.readahead = UPAGER_READAHEAD_OFF;
		} else {
			if (env_size("UPAGER_READAHEAD", &v, &set) < 0)
				return -EINVAL;
			if (set && v > UPAGER_MAX_READAHEAD)
				return -EINVAL;
			c.readahead = set ? (uint32_t)v : default_readahead(c.page_size);
		}
	} else if (c.readahead > UPAGER_MAX_READAHEAD && c.readahead != UPAGER_READAHEAD_OFF) {
		return -EINVAL;
	}
	*out = c;
	return 0;
}

/**
 * upager__region_params_resolve() - a region's settings: each field of
 * @in that is 0 takes the pager's, and every field is checked.
 * @p:    the pager (its page size, memory limit, readahead and flags).
 * @in:   the caller's struct, @size bytes (upager__struct_in's rules), or
 *        NULL for the pager's settings.
 * @size: sizeof *@in as the caller was built.
 * @out:  the settings.
 *
 * Return: 0, -EINVAL (@size below UPAGER_REGION_PARAMS_SIZE_VER0, a field
 * out of range, an unknown flag, both I/O flags, reserved0 not 0) or
 * -E2BIG (a non-zero byte past the library's struct).
 */
int upager__region_params_resolve(const struct upager *p, const struct upager_region_params *in,
                                  size_t size, struct region_settings *out)
{
	struct upager_region_params rp;
	int rc = upager__struct_in(&rp, sizeof(rp), in, size, UPAGER_REGION_PARAMS_SIZE_VER0);

	if (rc < 0)
		return rc;
	if (rp.reserved0 || (rp.flags & ~(UPAGER_DIRECT_IO | UPAGER_BUFFERED_IO)) ||
	    (rp.flags & UPAGER_DIRECT_IO && rp.flags & UPAGER_BUFFERED_IO))
		return -EINVAL;
	if (rp.page_size == 0)
		rp.page_size = p->page_size;
	if (!is_pow2(rp.page_size) || rp.page_size < ((uint64_t)1 << p->unit_shift) ||
	    rp.page_size > UPAGER_MAX_PAGE_SIZE ||
	    p->memory_limit / rp.page_size < UPAGER_MIN_FRAMES)
		return -EINVAL;
	if (rp.readahead > UPAGER_MAX_READAHEAD && rp.readahead != UPAGER_READAHEAD_OFF)
		return -EINVAL;
	if (rp.advice != UPAGER_ADV_NORMAL && rp.advice != UPAGER_ADV_RANDOM &&
	    rp.advice != UPAGER_ADV_SEQUENTIAL)
		return -EINVAL;
	out->page_size = (size_t)rp.page_size;
	if (rp.readahead == UPAGER_READAHEAD_OFF) {
		out->readahead = 0;
	} else if (rp.readahead) {
		out->readahead = rp.readahead;
	} else {
		/* The pager's read-ahead in bytes, in this region's pages. */
		uint64_t bytes = (uint64_t)p->readahead * p->page_size, n = bytes / rp.page_size;

		out->readahead = !p->readahead ? 0 : n == 0 ? 1
		                 : n > UPAGER_MAX_READAHEAD ? UPAGER_MAX_READAHEAD : (unsigned)n;
	}
	out->advice = rp.advice;
	out->direct_io = rp.flags & UPAGER_DIRECT_IO ? true
	                 : rp.flags & UPAGER_BUFFERED_IO ? false
	                 : (p->flags & UPAGER_DIRECT_IO) != 0;
	return 0;
}
