/*
 * pager.c - pagers: upager_create and upager_destroy, page sizes, error
 * strings, the version.
 *
 * API context only (never in a signal handler).  upager_destroy holds the
 * pager's lock with the catchable signals blocked (gate.c's
 * upager__api_enter) while it takes the regions down.
 *
 * Owns: a pager's lifetime: its settings, frame table, memfd, rings and
 * thread, set up in that order and torn down in reverse.
 * Calls: mmap.c (region teardown), worker.c, signal.c, io.c, stats.c,
 * options.c, gate.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- pagers ------------------------------------------------------------- */

int upager_create(upager_t **out, const struct upager_config *config, size_t size)
{
	struct upager_config c;
	struct upager *p;
	int rc;

	if (!out)
		return -EINVAL;
	rc = upager__struct_in(&c, sizeof(c), config, size, UPAGER_CONFIG_SIZE_VER0);
	if (rc == 0)
		rc = upager__config_resolve(&c, &c);
	if (rc < 0)
		return rc;
	rc = upager__signal_init();
	if (rc < 0)
		return rc;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->owner_pid = atomic_load(&upager__pid);
	p->page_size = c.page_size;
	p->page_shift = (unsigned)__builtin_ctzll(c.page_size);
	/* The budget in units of the system page, the least page size a
	 * region may have; whole pages of the pager's size (frame.c). */
	p->unit_shift = (unsigned)__builtin_ctzl((unsigned long)sysconf(_SC_PAGESIZE));
	p->memory_limit = c.memory_limit / c.page_size * c.page_size;
	p->nunits = p->memory_limit >> p->unit_shift;
	p->nframes = p->nunits;
	/* In pages of the pager's size (units per page: @k): an eighth of
	 * them, and at least two, stay unpinned. */
	uint64_t npages = p->memory_limit / c.page_size, k = c.page_size >> p->unit_shift;
	p->pin_reserve = (npages / 8 > 2 ? npages / 8 : 2) * k;
	/* A page of any region's size fits (write-back copies whole pages);
	 * only the bytes used are ever touched. */
	p->bounce_len = UPAGER_MAX_PAGE_SIZE > UPAGER_BOUNCE_BYTES ? UPAGER_MAX_PAGE_SIZE
	                                                            : UPAGER_BOUNCE_BYTES;
	/* Background write-back keeps dirty memory between 1/16 and 1/8 of
	 * the limit when it can (the kernel's dirty_background_ratio is 10%). */
	p->dirty_low = npages / 16 * k;
	p->dirty_high = (npages / 8 ? npages / 8 : 1) * k;
	p->io_depth = c.io_depth;
	p->readahead = c.readahead == UPAGER_READAHEAD_OFF ? 0 : c.readahead;
	p->flags = c.flags;
	p->memfd = -1;
	p->scratch_fd = p->scratch_direct_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->wlock, NULL);
	pthread_cond_init(&p->widle, NULL);

	/* Frame table: zero pages until touched, so a large limit is cheap. */
	p->frames = mmap(NULL, p->nframes * sizeof(*p->frames), PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->frames == MAP_FAILED) {
		p->frames = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	madvise(p->frames, p->nframes * sizeof(*p->frames), MADV_DONTFORK);
	atomic_store(&p->free_units, (int64_t)p->nunits);
	/* CLOCK-Pro (vmscan.c): the cold pages' target starts at its least,
	 * 1/32 of the memory (and a page): the simulator's hit ratio on
	 * upager-bench's zipf at D = 8 L is 0.5766 with that floor against
	 * 0.5774 with the paper's floor of one page, and a cold allocation of
	 * one page would leave read-ahead runs no room. */
	p->clockpro = upager__clockpro_wanted();
	p->hot_map = calloc((p->nframes + 63) / 64, sizeof(*p->hot_map));
	if (!p->hot_map) {
		rc = -ENOMEM;
		goto fail;
	}
	p->cold_min = (int64_t)(p->nunits / 32 > k ? p->nunits / 32 : k);
	p->cold_max = (int64_t)p->nunits - p->cold_min > p->cold_min
	                      ? (int64_t)p->nunits - p->cold_min
	                      : p->cold_min;
	atomic_store(&p->cold_target, p->cold_min);

	p->memfd = memfd_create("upager", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (p->memfd < 0) {
		rc = -errno;
		goto fail;
	}
	/* It grows with the regions (region_setup); nobody may shrink it
	 * under the views. */
	fcntl(p->memfd, F_ADD_SEALS, F_SEAL_SHRINK);

	rc = upager__io_init(p);
	if (rc < 0)
		goto fail;
	rc = upager__worker_start(p);
	if (rc < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	upager__io_exit(p);
	if (p->memfd >= 0)
		close(p->memfd);
	if (p->frames)
		munmap(p->frames, p->nframes * sizeof(*p->frames));
	free(p->hot_map);
	free(p);
	return rc;
}

int upager_destroy(upager_t *p)
{
	sigset_t old;
	int err = 0;
	const char *show;

	if (!p)
		return 0;
	if (!pager_ok(p))
		return -EINVAL;
	show = secure_getenv("UPAGER_STATS");
	if (show && strcmp(show, "1") == 0)
		upager_print_stats(p, 2);
	upager__worker_stop(p);
	upager__api_enter(p, &old);
	while (p->regions) {
		int rc = upager__region_teardown(p, p->regions, true);
		if (rc && !err)
			err = rc;
	}
	p->destroyed = true;
	upager__api_exit(p, &old);
	upager__io_exit(p);
	close(p->memfd);
	if (p->scratch_fd >= 0)
		close(p->scratch_fd);
	if (p->scratch_direct_fd >= 0)
		close(p->scratch_direct_fd);
	upager__extents_free(p);
	munmap(p->frames, p->nframes * sizeof(*p->frames));
	free(p->hot_map);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->wlock);
	pthread_cond_destroy(&p->widle);
	free(p);
	return err;
}

size_t upager_page_size(upager_t *p)
{
	return pager_ok(p) ? p->page_size : 0;
}

size_t upager_region_page_size(upager_t *p, const void *addr)
{
	struct upager_region *r;
	size_t ps = 0;

	if (!pager_ok(p) || !addr)
		return 0;
	pthread_mutex_lock(&p->lock); /* the region list; no page lock taken */
	r = upager__region_find(p, addr);
	if (r)
		ps = r->page_size;
	pthread_mutex_unlock(&p->lock);
	return ps;
}

const char *upager_strerror(int err)
{
	const char *s;

	if (err == 0)
		return "Success";
	if (err == INT_MIN)
		return "Unknown error";
	if (err < 0)
		err = -err;
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}

const char *upager_version(void)
{
	return UPAGER_VERSION_STRING;
}
