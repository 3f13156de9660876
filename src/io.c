/*
 * io.c - the I/O layer: page reads and writes through io_uring.
 *
 * SIGNAL CONTEXT: upager__io_read_frames() and upager__io_write_frames()
 * run inside the SIGSEGV handler.  Each takes a ring and its bounce buffer
 * from the pager's pool, sleeping on a futex while every ring is in use (a
 * holder only copies and does I/O, never waits for a page or a frame, so
 * the wait ends; API calls block signals and the pager's thread blocks all
 * of them, so a holder is never interrupted by a handler that touches
 * pages).  A ring that broke is used synchronously with pread(2)/pwrite(2),
 * and so is a working one for a lone read and for buffered writes
 * (ring_run()).
 * liburing's submit and wait paths make system calls only; no allocation.
 * Rings are created and torn down in API context (upager__io_init/exit).
 *
 * The frames are only ever copied with system calls on the memfd, never
 * through a mapping (the app view is the frames' only mapping:
 * docs/design.md, "Guard markers").
 *
 * Every request is carried out in full: short transfers continue where they
 * stopped, EINTR and EAGAIN (and, in test builds, a completion reported
 * lost) are retried up to UPAGER_IO_RETRIES times, and a read that meets
 * end of file zero-fills the rest of its buffer, so a frame never shows
 * stale bytes.
 *
 * In test builds the hook of inject.c rewrites completion results here,
 * below every caller, the way a failing device would.
 *
 * Owns: the rings, their bounce buffers, and carrying out requests in
 * full (short transfers, EINTR/EAGAIN, the O_DIRECT tail).
 * Calls: page.c (futex), inject.c (the injection point below every caller).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Rewrite the result of one transfer if a test injection says so; @ring:
 * part of an io_uring request's completion (counted for the tests). */
static long inject(bool write, long res, bool ring)
{
	unsigned op = write ? UPAGER_IO_WRITE : UPAGER_IO_READ;

	return ring ? upager__inject_ring(op, res) : upager__inject(op, res);
}

/* ---- rings ---------------------------------------------------------------- */

int upager__io_init(struct upager *p)
{
	unsigned i;
	int rc;

	for (i = 0; i < UPAGER_NRINGS; i++) {
		rc = io_uring_queue_init(p->io_depth, &p->rings[i].ring, 0);
		if (rc < 0) {
			/* The first ring must work; later ones are optional. */
			if (i == 0)
				return rc;
			break;
		}
		p->rings[i].bounce = mmap(NULL, p->bounce_len, PROT_READ | PROT_WRITE,
		                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p->rings[i].bounce == MAP_FAILED) {
			p->rings[i].bounce = NULL;
			io_uring_queue_exit(&p->rings[i].ring);
			if (i == 0)
				return -ENOMEM;
			break;
		}
		madvise(p->rings[i].bounce, p->bounce_len, MADV_DONTFORK);
		p->rings[i].ready = true;
		io_uring_ring_dontfork(&p->rings[i].ring);
		atomic_store(&p->rings[i].busy, 0);
	}
	return 0;
}

void upager__io_exit(struct upager *p)
{
	for (unsigned i = 0; i < UPAGER_NRINGS; i++) {
		if (p->rings[i].ready)
			io_uring_queue_exit(&p->rings[i].ring);
		if (p->rings[i].bounce)
			munmap(p->rings[i].bounce, p->bounce_len);
		p->rings[i].bounce = NULL;
		p->rings[i].ready = false;
	}
}

/* A free ring (with its bounce buffer), or NULL. */
static struct upager_ring *ring_get(struct upager *p)
{
	unsigned start = atomic_fetch_add_explicit(&p->ring_hint, 1, memory_order_relaxed);

	for (unsigned k = 0; k < UPAGER_NRINGS; k++) {
		struct upager_ring *r = &p->rings[(start + k) % UPAGER_NRINGS];
		int expect = 0;

		if (!r->bounce)
			continue;
		if (atomic_compare_exchange_strong(&r->busy, &expect, 1))
			return r;
	}
	return NULL;
}

/*
 * Take a ring, sleeping (futex) while every ring is busy.  A holder only
 * does I/O and memory copies, never waits for a page, so the wait ends.
 */
static struct upager_ring *ring_get_wait(struct upager *p)
{
	for (;;) {
		uint32_t seq = atomic_load(&p->ring_seq);
		struct upager_ring *r = ring_get(p);

		if (r)
			return r;
		atomic_fetch_add(&p->ring_waiters, 1);
		upager__futex_wait(&p->ring_seq, seq);
		atomic_fetch_sub(&p->ring_waiters, 1);
	}
}

static void ring_put(struct upager *p, struct upager_ring *r)
{
	atomic_store(&r->busy, 0);
	atomic_fetch_add(&p->ring_seq, 1);
	if (atomic_load(&p->ring_waiters))
		upager__futex_wake_all(&p->ring_seq);
}

/* ---- one request, synchronously ------------------------------------------ */

/*
 * Finish @req from byte @done on with pread/pwrite: the path for lone reads,
 * buffered writes and broken rings, and for the short transfers and retries
 * of ring requests (@ring: finishing an io_uring completion, which the test
 * hooks count as the ring's).
 */
static int io_finish_sync(struct io_req *req, size_t done, bool ring)
{
	unsigned retries = 0;

	while (done < req->len) {
		char *buf = (char *)req->buf + done;
		size_t len = req->len - done;
		/* An O_DIRECT descriptor refuses an unaligned remainder. */
		int fd = done && req->alt_fd >= 0 ? req->alt_fd : req->fd;
		long n = req->write ? pwrite(fd, buf, len, req->off + (off_t)done)
		                    : pread(fd, buf, len, req->off + (off_t)done);
		if (n < 0)
			n = -errno;
		if (!req->internal)
			n = inject(req->write, n, ring);
		if (n == -EINTR || n == -EAGAIN || n == -ETIME) {
			/* Transient (or a completion that never came): again,
			 * but not for ever. */
			if (++retries > UPAGER_IO_RETRIES)
				return n == -ETIME ? -EIO : (int)n;
			continue;
		}
		if (n < 0)
			return (int)n;
		if (n == 0) {
			if (req->write)
				return -EIO; /* a write that makes no progress */
			memset(buf, 0, len); /* end of file */
			req->got = done;
			return 0;
		}
		done += (size_t)n;
	}
	req->got = done;
	return 0;
}

/* What one completion @res means for @req: 0 done, >0 bytes still owed. */
static int io_complete(struct io_req *req, long res)
{
	if (!req->internal)
		res = inject(req->write, res, true);
	if (res == -EINTR || res == -EAGAIN || res == -ETIME)
		return io_finish_sync(req, 0, true); /* whole pages: redoing is safe */
	if (res < 0)
		return (int)res;
	if ((size_t)res < req->len) {
		if (res == 0 && !req->write) {
			memset(req->buf, 0, req->len);
			req->got = 0;
			return 0;
		}
		return io_finish_sync(req, (size_t)res, true);
	}
	req->got = req->len;
	return 0;
}

/*
 * Carry out @n requests on @ring (held by the caller), as one io_uring
 * submission per io_depth requests; each req->res is set to 0 or a
 * negative errno.  Waits for every request: nothing is left in flight.
 */
static void io_run_on(struct upager *p, struct upager_ring *ring, struct io_req *reqs, unsigned n)
{
	unsigned i;

	for (unsigned base = 0; base < n;) {
		unsigned batch = n - base, queued = 0, done = 0;

		if (batch > p->io_depth)
			batch = p->io_depth;
		for (i = 0; i < batch; i++) {
			struct io_req *q = &reqs[base + i];
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->ring);
			if (!sqe)
				break;
			if (q->write)
				io_uring_prep_write(sqe, q->fd, q->buf, (unsigned)q->len,
				                    (uint64_t)q->off);
			else
				io_uring_prep_read(sqe, q->fd, q->buf, (unsigned)q->len,
				                   (uint64_t)q->off);
			io_uring_sqe_set_data64(sqe, base + i);
			queued++;
		}
		/* Submit everything queued; a hard error leaves SQEs behind. */
		unsigned submitted = 0;
		bool broken = false;
		while (submitted < queued) {
			int rc = io_uring_submit(&ring->ring);
			if (rc > 0)
				submitted += (unsigned)rc;
			else if (rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
				broken = true;
				break;
			}
		}
		while (done < submitted) {
			struct io_uring_cqe *cqe;
			int rc = io_uring_wait_cqe(&ring->ring, &cqe);

			if (rc == -EINTR || rc == -EAGAIN)
				continue;
			if (rc < 0) {
				broken = true;
				break;
			}
			struct io_req *q = &reqs[io_uring_cqe_get_data64(cqe)];
			long res = cqe->res;

			io_uring_cqe_seen(&ring->ring, cqe);
			q->res = io_complete(q, res);
			q->fd = -q->fd - 1; /* mark completed */
			done++;
		}
		if (broken) {
			/*
			 * The ring failed.  Tear it down (that also cancels what
			 * it still holds) and do every request it did not
			 * complete by hand: I/O of whole pages is idempotent.
			 */
			io_uring_queue_exit(&ring->ring);
			ring->ready = io_uring_queue_init(p->io_depth, &ring->ring, 0) == 0;
			for (i = 0; i < queued; i++)
				if (reqs[base + i].fd >= 0)
					reqs[base + i].res = io_finish_sync(&reqs[base + i], 0, false);
		}
		for (i = 0; i < queued; i++)
			if (reqs[base + i].fd < 0)
				reqs[base + i].fd = -reqs[base + i].fd - 1;
		for (i = queued; i < batch; i++)
			reqs[base + i].res = io_finish_sync(&reqs[base + i], 0, false);
		base += batch;
	}
}

static int first_error(const struct io_req *reqs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (reqs[i].res)
			return reqs[i].res;
	return 0;
}

/*
 * Whether @n requests are better done with system calls than on a working
 * ring.  Two kinds are (docs/design.md, "Where a miss goes"):
 * - a lone read, one pread(2): a ring round trip for one request adds a
 *   submission and a completion to the same I/O (a major fault on a
 *   page-cache-hot file took 9.4-9.5 us against 10.2-10.4 us through the
 *   ring), and a read in flight alone overlaps with nothing;
 * - buffered writes (no O_DIRECT descriptor), one pwrite(2) each: they are
 *   copies into the page cache, which io_uring cannot do without blocking
 *   and hands to an io-wq worker thread, a wake-up on the other CPU per
 *   write (hot update ran 5-10% faster without).
 */
static bool better_sync(const struct io_req *reqs, unsigned n)
{
	if (upager__io_ring_forced()) /* tests: the ring's own paths */
		return false;
	if (n == 1 && !reqs[0].write)
		return true; /* a lone read */
	for (unsigned i = 0; i < n; i++)
		if (!reqs[i].write || reqs[i].alt_fd >= 0)
			return false;
	return true; /* buffered writes */
}

/* Carry out @n requests with @ring held: io_uring, or synchronously if the
 * ring is broken or better_sync() says so. */
static void ring_run(struct upager *p, struct upager_ring *ring, struct io_req *reqs, unsigned n)
{
	if (ring->ready && !better_sync(reqs, n)) {
		io_run_on(p, ring, reqs, n);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		reqs[i].res = io_finish_sync(&reqs[i], 0, false);
}

/*
 * How many of @reqs[@k..@end) from @k on make one transfer: each follows
 * the one before in the bounce buffer (so whole, aligned pages) and in the
 * memfd (@memfd) or in one file.
 */
static unsigned run_length(const struct io_req *reqs, unsigned k, unsigned end, bool memfd)
{
	unsigned j = k + 1;

	for (; j < end; j++) {
		const struct io_req *a = &reqs[j - 1], *b = &reqs[j];

		if ((char *)a->buf + a->len != (char *)b->buf)
			break;
		if (memfd ? a->moff + (off_t)a->len != b->moff
		          : a->fd != b->fd || a->alt_fd != b->alt_fd ||
		                    a->off + (off_t)a->len != b->off)
			break;
	}
	return j - k;
}

/**
 * upager__io_write_frames() - write the frames of @n requests to their
 * files, through a ring's bounce buffer, as few io_uring submissions as the
 * buffer allows.
 * @p:    the pager.
 * @reqs: write requests; each gives its frames' memfd offset in ->moff and
 *        is at most p->bounce_len bytes; ->buf is set here; ->res is set
 *        to 0 or a negative errno.
 * @n:    how many.
 *
 * The frames are copied out of the memfd with pread(2), never read
 * through a mapping: a mapping of a frame that its eviction's punch finds
 * mapped makes the kernel drop the app view's guard marker for that page
 * (docs/design.md, "Guard markers").  Not through io_uring either: a
 * memfd read cannot be done without blocking, so io_uring hands every one
 * to an io-wq worker thread, and the copy costs two thread wake-ups
 * (docs/design.md, "Scratch slots").  One pread per run of requests whose
 * frames follow each other in the memfd; then the writes go as one
 * submission, one write per run whose file ranges follow each other
 * (buffered writes as one pwrite(2) each: ring_run()).
 * Waits for a free ring.
 * Async-signal-safe.
 *
 * Return: 0 if all succeeded, else the first error.
 */
int upager__io_write_frames(struct upager *p, struct io_req *reqs, unsigned n)
{
	struct upager_ring *ring = ring_get_wait(p);
	size_t align = (size_t)1 << p->unit_shift; /* O_DIRECT buffers */

	for (unsigned i = 0; i < n;) {
		unsigned first = i, k, m;
		size_t used = 0;
		int err = 0;

		for (; i < n && i - first < UPAGER_IO_BATCH && used + reqs[i].len <= p->bounce_len;
		     i++) {
			reqs[i].buf = (char *)ring->bounce + used;
			used += (reqs[i].len + align - 1) & ~(align - 1);
		}
		if (i == first) { /* larger than the buffer: a caller's bug */
			reqs[i++].res = -EINVAL;
			continue;
		}
		/* The frames into the bounce buffer: a pread(2) of the memfd
		 * per run of frames that follow each other. */
		for (k = first; k < i && !err; k += m) {
			struct io_req c = { .fd = p->memfd, .alt_fd = -1, .internal = true,
				            .buf = reqs[k].buf, .off = reqs[k].moff };

			m = run_length(reqs, k, i, true);
			c.len = (size_t)((char *)reqs[k + m - 1].buf + reqs[k + m - 1].len -
			                 (char *)reqs[k].buf);
			err = io_finish_sync(&c, 0, false);
		}
		if (err) { /* the memfd failed: nothing of the batch is written */
			for (k = first; k < i; k++)
				reqs[k].res = err;
			continue;
		}
		/* Then the writes, one submission, a request per run that
		 * follows in one file (scratch slots taken in a row:
		 * scratch.c, or neighbouring pages of a file). */
		{
			struct io_req w[UPAGER_IO_BATCH];
			unsigned of[UPAGER_IO_BATCH], nw = 0; /* write serving each */

			for (k = first; k < i; k += m, nw++) {
				m = run_length(reqs, k, i, false);
				w[nw] = reqs[k];
				w[nw].len = (size_t)((char *)reqs[k + m - 1].buf + reqs[k + m - 1].len -
				                     (char *)reqs[k].buf);
				for (unsigned j = k; j < k + m; j++)
					of[j - first] = nw;
			}
			ring_run(p, ring, w, nw);
			for (k = first; k < i; k++)
				reqs[k].res = w[of[k - first]].res;
		}
	}
	ring_put(p, ring);
	return first_error(reqs, n);
}

/**
 * upager__io_read_frames() - read @n pieces into their frames of the
 * memfd, through the ring's bounce buffer.
 * @p:      the pager.
 * @pieces: what to read, in order: ->fd, ->alt_fd (see struct io_req),
 *          ->off and ->len (bytes) of each, and ->moff, bytes into the
 *          pager's memfd of the piece's frames; every piece but the last a
 *          whole number of pages.  Read, not changed.
 * @n:      how many, at most UPAGER_IO_BATCH.
 * @got:    out, on success: bytes read from the files; fewer than asked
 *          when the last piece met end of file (the bytes after it are
 *          zeros, or the memfd's hole).
 *
 * The pieces fill the bounce buffer in turn and go as one io_uring
 * submission per buffer: a run of pages whose scratch slots lie apart
 * (scratch.c), or that passes over resident pages, is read by several
 * requests in flight at once.  Each buffer's bytes go to the memfd with a
 * write per stretch of pieces whose frames follow one another.  Reading
 * into a reused buffer and then writing it into the memfd costs a second
 * copy, but no mapping of the frames ever exists but the app view's (see
 * upager__io_write_frames), and a mapping would cost a page fault per
 * system page and its unmapping afterwards.  The file reads go through
 * io_uring, a lone one through pread(2) (ring_run()), and the test
 * injection either way; the memfd write is a memory copy.
 * Waits for a free ring.
 *
 * Async-signal-safe.
 *
 * Return: 0, or a negative errno from a read or the memfd write.
 */
int upager__io_read_frames(struct upager *p, const struct io_req *pieces, unsigned n,
                           size_t *got)
{
	struct upager_ring *ring = ring_get_wait(p);
	struct io_req q[UPAGER_IO_BATCH];
	unsigned pi = 0;
	size_t pdone = 0; /* bytes of pieces[pi] already read */
	int rc = 0;

	*got = 0;
	while (pi < n && !rc) {
		size_t used = 0;
		unsigned nq = 0;

		while (pi < n && used < p->bounce_len && nq < UPAGER_IO_BATCH) {
			const struct io_req *c = &pieces[pi];
			size_t len = c->len - pdone;

			if (len > p->bounce_len - used)
				len = p->bounce_len - used;
			q[nq++] = (struct io_req){ .fd = c->fd, .alt_fd = c->alt_fd, .write = false,
				                   .buf = (char *)ring->bounce + used, .len = len,
				                   .off = c->off + (off_t)pdone,
				                   .moff = c->moff + (off_t)pdone };
			used += len;
			pdone += len;
			if (pdone == c->len) {
				pi++;
				pdone = 0;
			}
		}
		ring_run(p, ring, q, nq);
		rc = first_error(q, nq);
		for (unsigned k = 0; k < nq && !rc; k++)
			*got += q[k].got;
		/* Into the frames: a pwrite(2) of the memfd per run of
		 * requests that follow each other there. */
		for (unsigned k = 0, m; k < nq && !rc; k += m) {
			struct io_req c = { .fd = p->memfd, .alt_fd = -1, .internal = true,
				            .write = true, .buf = q[k].buf, .off = q[k].moff };

			m = run_length(q, k, nq, true);
			c.len = (size_t)((char *)q[k + m - 1].buf + q[k + m - 1].len -
			                 (char *)q[k].buf);
			rc = io_finish_sync(&c, 0, false);
		}
	}
	ring_put(p, ring);
	return rc;
}
