/* SPDX-License-Identifier: MIT */
/*
 * Image imports: each job runs on a thread of its own (a download may take
 * hours and must not hold an RPC worker), at most cfg.max_imports copying
 * at once. Phases: PENDING → DOWNLOADING (URLs) → CONVERTING (qcow2: the
 * image is inspected) → WRITING → COMPLETED; FAILED and CANCELLED remove
 * everything the job made. Raw, .gz and .xz stream straight into the new
 * base (from a URL too); qcow2 is read by our own reader, from a URL after
 * staging it in the .tmp area. All-zero blocks are never written, so the
 * template stays thin. The template becomes visible only after the data
 * were fsynced, the sha256 (when asked) matched and the @img snapshot exists.
 *
 * The job row records the template id before the base is created, so a
 * restart finds and removes whatever an interrupted job left.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "http_source.h"
#include "log.h"
#include "qcow2.h"
#include "stream.h"
#include "timefmt.h"
#include "zfsd.h"

#define COPY_CHUNK (1U << 20)
#define ZERO_BLOCK (4U << 10) /* the smallest hole worth keeping */
#define HEAD_BYTES 512
#define PROGRESS_INTERVAL_NS NSEC_PER_SEC
#define CANCEL_WAIT_S 120
/* zvol layout, size unknown until the end (compressed image, no size_bytes):
 * a sparse zvol this large costs nothing and is cut to size afterwards */
#define PROVISIONAL_ZVOL_SIZE (UINT64_C(16) << 40)

struct import_job {
	struct import_job *next;
	struct zsvc *svc;
	char id[UUID_STR_LEN];
	char tid[UUID_STR_LEN];
	char *name, *source, *created_at;
	bool is_url;
	bool has_size;
	uint64_t size;
	bool has_sha;
	char sha[SHA256_HEX_SIZE];
	atomic_bool cancel;
	bool shutdown;            /* stopped by the daemon, not by a user */
	bool started;
	/* progress, under svc->jobs_lock */
	enum zjob_state state;
	uint64_t bytes, total;
	uint64_t stored_ns;
	/* the thread's own */
	char base[ZFS_NAME_MAX + 1];
	bool base_created;
	char staging[4200];
	char err[1024];
};

static int job_fail(struct import_job *job, int r, const char *fmt, ...) PRINTF_FMT(3, 4);
static int job_fail(struct import_job *job, int r, const char *fmt, ...)
{
	va_list ap;

	if (!job->err[0]) {
		va_start(ap, fmt);
		vsnprintf(job->err, sizeof(job->err), fmt, ap);
		va_end(ap);
	}
	return r < 0 ? r : -EIO;
}

static bool cancelled(struct import_job *job)
{
	return atomic_load(&job->cancel);
}

/* ---- messages and progress ------------------------------------------------ */

Mvirt__Zfs__ImportJob *job_msg(struct zsvc *svc, const struct zjob *j)
{
	Mvirt__Zfs__ImportJob *m = xmalloc(sizeof(*m));

	mvirt__zfs__import_job__init(m);
	m->id = xstrdup_or_empty(j->id);
	m->template_name = xstrdup_or_empty(j->template_name);
	m->source = xstrdup_or_empty(j->source);
	m->state = (Mvirt__Zfs__ImportJobState)j->state;
	m->bytes_written = j->bytes_written;
	m->total_bytes = j->total_bytes;
	m->created_at = xstrdup_or_empty(j->created_at);
	if (j->state == ZJOB_FAILED) {
		m->_error_case = MVIRT__ZFS__IMPORT_JOB___ERROR_ERROR;
		m->error = xstrdup_or_empty(j->error ? j->error : "unknown error");
	}
	if (zjob_state_terminal(j->state) && j->completed_at) {
		m->_completed_at_case = MVIRT__ZFS__IMPORT_JOB___COMPLETED_AT_COMPLETED_AT;
		m->completed_at = xstrdup_or_empty(j->completed_at);
	}
	if (j->state == ZJOB_COMPLETED && j->template_id) {
		struct ztemplate t = { 0 };
		/* by the id the job made, not by name: a later template of the
		 * same name is not this job's */
		if (zstore_template_by_id(svc->store, j->template_id, &t) == 0) {
			m->_template_case = MVIRT__ZFS__IMPORT_JOB___TEMPLATE_TEMPLATE;
			m->template_ = template_msg(&t);
		}
		ztemplate_clear(&t);
	}
	return m;
}

/* Publish the job's stored row to its watchers. */
static void publish_stored(struct zsvc *svc, const char *id)
{
	struct zjob j = { 0 };

	if (zstore_job_get(svc->store, id, &j) == 0)
		watch_publish(svc, job_msg(svc, &j));
	zjob_clear(&j);
}

/* Record progress: in memory always; in the database and to watchers on a
 * change of phase or of its total (a phase's total is known only once its
 * source is open, and clients should see it at once) and at most about once
 * a second otherwise. */
static void job_progress(struct import_job *job, enum zjob_state state, uint64_t bytes,
			 uint64_t total)
{
	struct zsvc *svc = job->svc;
	uint64_t now = now_monotonic_ns();
	bool due;

	pthread_mutex_lock(&svc->jobs_lock);
	due = state != job->state || total != job->total ||
	      now - job->stored_ns >= PROGRESS_INTERVAL_NS;
	job->state = state;
	job->bytes = bytes;
	job->total = total;
	if (due)
		job->stored_ns = now;
	pthread_mutex_unlock(&svc->jobs_lock);
	if (!due)
		return;
	if (zstore_job_progress(svc->store, job->id, state, bytes, total) < 0)
		log_warning("import %s: progress not recorded", job->id);
	publish_stored(svc, job->id);
}

static void qcow2_progress(uint64_t done, uint64_t total, void *userdata)
{
	job_progress(userdata, ZJOB_WRITING, done, total);
}

/* ---- the target ----------------------------------------------------------- */

static int create_base(struct import_job *job, uint64_t size, int *wfd)
{
	struct zp *zp = job->svc->zp;
	char err[ZP_ERR_MAX] = "";
	int r;

	r = zp_disk_create(zp, job->base, size, ZP_DEFAULT_BLOCKSIZE, err);
	if (r < 0)
		return job_fail(job, r, "cannot create the template's base: %s", err);
	job->base_created = true;
	r = zp_disk_open_write(zp, job->base, wfd, err);
	if (r < 0)
		return job_fail(job, r, "%s", err);
	return 0;
}

/* Refuse early when the data cannot fit: need is what will be written. */
static int check_space(struct import_job *job, uint64_t need)
{
	struct zp_stats st;
	char err[ZP_ERR_MAX] = "";

	if (zp_stats(job->svc->zp, &st, err) < 0)
		return 0; /* the copy reports ENOSPC itself if it comes to that */
	if (need > st.available)
		return job_fail(job, -ENOSPC,
				"not enough space in the pool: the image holds about %llu bytes "
				"of data, %llu bytes are available",
				(unsigned long long)need, (unsigned long long)st.available);
	return 0;
}

/* Data synced, disk at its final size, @img taken, template recorded. */
static int finalize(struct import_job *job, int wfd, uint64_t size, bool size_was_known)
{
	struct zsvc *svc = job->svc;
	struct ztemplate t = { 0 };
	char img[ZFS_NAME_MAX + 1], now[RFC3339_LEN], err[ZP_ERR_MAX] = "";
	uint64_t bytes;
	int r;

	if (!size_was_known) {
		if (svc->zp->layout == ZP_LAYOUT_FILE) {
			if (ftruncate(wfd, (off_t)size) < 0)
				return job_fail(job, -errno, "cannot size the image: %m");
		} else {
			r = zp_disk_grow(svc->zp, job->base, size, err);
			if (r < 0)
				return job_fail(job, r, "cannot size the image: %s", err);
		}
	}
	if (fsync(wfd) < 0)
		return job_fail(job, -errno, "cannot sync the image: %m");
	if (cancelled(job))
		return -ECANCELED;
	r = zp_snap_name(svc->zp, job->base, "img", img);
	if (r >= 0)
		r = zp_snapshot(svc->zp, img, err);
	if (r < 0)
		return job_fail(job, r, "cannot snapshot the template: %s", err);

	rfc3339_format(now_realtime_ns(), now);
	memcpy(t.id, job->tid, sizeof(t.id));
	t.name = job->name;
	t.base_path = job->base;
	t.snapshot_path = img;
	t.size_bytes = size;
	t.source_volume = "";
	t.backend = (char *)zp_layout_name(svc->zp->layout);
	t.created_at = now;
	pthread_mutex_lock(&svc->jobs_lock);
	bytes = job->bytes;
	pthread_mutex_unlock(&svc->jobs_lock);
	r = zstore_job_complete(svc->store, job->id, bytes, &t);
	if (r == -EEXIST)
		return job_fail(job, r, "Template '%s' already exists", job->name);
	if (r < 0)
		return job_fail(job, r, "cannot record the template: %s", strerror(-r));
	return 0;
}

/* ---- streams (raw, gz, xz) ------------------------------------------------ */

struct src_progress {
	struct http_source *http; /* URL: progress counts downloaded bytes */
	uint64_t total;
};

/* Copy the decoded stream into wfd, skipping all-zero blocks; at most limit
 * bytes (0: no limit). */
static int copy_stream(struct import_job *job, struct stream *st, int wfd, uint64_t limit,
		       const struct src_progress *sp, uint64_t *written)
{
	_cleanup_free_ uint8_t *buf = xmalloc(COPY_CHUNK);
	uint64_t off = 0;

	for (;;) {
		ssize_t n;
		if (cancelled(job))
			return -ECANCELED;
		n = stream_read(st, buf, COPY_CHUNK);
		if (n < 0) {
			if (n == -ECANCELED)
				return (int)n;
			return job_fail(job, (int)n, "cannot read the image: %s", stream_error(st));
		}
		if (n == 0)
			break;
		if (limit && off + (uint64_t)n > limit)
			return job_fail(job, -EFBIG, "the image is larger than size_bytes (%llu)",
					(unsigned long long)limit);
		int r = pwrite_nonzero(wfd, buf, (size_t)n, (off_t)off, ZERO_BLOCK);
		if (r < 0)
			return job_fail(job, r, "cannot write the image: %s", strerror(-r));
		off += (uint64_t)n;
		if (sp->http)
			job_progress(job, ZJOB_DOWNLOADING, http_source_received(sp->http), sp->total);
		else
			job_progress(job, ZJOB_WRITING, off, sp->total);
	}
	*written = off;
	return 0;
}

static int check_sha(struct import_job *job, const char *got)
{
	if (job->has_sha && strcasecmp(got, job->sha) != 0)
		return job_fail(job, -EBADMSG, "sha256 mismatch: expected %s, got %s", job->sha, got);
	return 0;
}

/* Import a raw/gz/xz stream; src_len is the source's size (-1 unknown). */
static int import_stream(struct import_job *job, enum stream_format fmt, struct stream_source src,
			 int64_t src_len, struct http_source *http)
{
	struct zp *zp = job->svc->zp;
	_cleanup_stream_ struct stream *st = stream_new(fmt, src);
	_cleanup_close_ int wfd = -1;
	struct src_progress sp = { .http = http };
	uint64_t target = 0, written = 0, size;
	bool known;
	int r;

	if (!st)
		return job_fail(job, -ENOMEM, "cannot set up the %s decoder", stream_format_name(fmt));
	if (job->has_sha)
		stream_hash_source(st);
	if (job->has_size)
		target = job->size;
	else if (fmt == STREAM_RAW && src_len > 0)
		target = (uint64_t)src_len;
	known = target > 0;
	if (known)
		zp_round_size(zp, target, ZP_DEFAULT_BLOCKSIZE, &target);
	if (fmt == STREAM_RAW && !job->has_size && src_len > 0) {
		r = check_space(job, (uint64_t)src_len);
		if (r < 0)
			return r;
	}
	r = create_base(job, known ? target : zp->layout == ZP_LAYOUT_ZVOL ? PROVISIONAL_ZVOL_SIZE : 0,
			&wfd);
	if (r < 0)
		return r;
	sp.total = http ? (src_len > 0 ? (uint64_t)src_len : 0) : target;
	job_progress(job, http ? ZJOB_DOWNLOADING : ZJOB_WRITING, 0, sp.total);
	r = copy_stream(job, st, wfd, known ? target : 0, &sp, &written);
	if (r < 0)
		return r;
	if (job->has_sha) {
		char got[SHA256_HEX_SIZE];
		stream_source_sha256(st, got);
		r = check_sha(job, got);
		if (r < 0)
			return r;
	}
	if (!known && written == 0)
		return job_fail(job, -EBADMSG, "the image is empty");
	if (known)
		size = target;
	else
		zp_round_size(zp, written, ZP_DEFAULT_BLOCKSIZE, &size);
	/* a streamed URL's data are all written once downloaded */
	if (http)
		job_progress(job, ZJOB_WRITING, written, size);
	r = finalize(job, wfd, size, known);
	if (r >= 0 && close(TAKE_FD(wfd)) < 0)
		r = job_fail(job, -errno, "cannot close the image: %m");
	return r;
}

/* ---- qcow2 ---------------------------------------------------------------- */

static int hash_file(struct import_job *job, int fd, char hex[SHA256_HEX_SIZE])
{
	_cleanup_free_ uint8_t *buf = xmalloc(COPY_CHUNK);
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256 ctx;
	off_t off = 0;

	sha256_init(&ctx);
	for (;;) {
		ssize_t n;
		if (cancelled(job))
			return -ECANCELED;
		n = pread(fd, buf, COPY_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return job_fail(job, -errno, "cannot read the image: %m");
		if (n == 0)
			break;
		sha256_update(&ctx, buf, (size_t)n);
		off += n;
	}
	sha256_final(&ctx, digest);
	sha256_hex(digest, hex);
	return 0;
}

static int import_qcow2(struct import_job *job, int fd, uint64_t file_size, bool hash)
{
	struct zp *zp = job->svc->zp;
	_cleanup_qcow2_ struct qcow2 *q = NULL;
	_cleanup_close_ int wfd = -1;
	char reason[256] = "";
	uint64_t vsize, target;
	int r;

	job_progress(job, ZJOB_CONVERTING, 0, 0);
	r = qcow2_open(fd, file_size, &q, reason, sizeof(reason));
	if (r < 0)
		return job_fail(job, r, "unsupported or invalid qcow2 image: %s", reason);
	vsize = qcow2_virtual_size(q);
	job_progress(job, ZJOB_CONVERTING, 0, vsize);
	if (hash) {
		char got[SHA256_HEX_SIZE];
		r = hash_file(job, fd, got);
		if (r < 0)
			return r;
		r = check_sha(job, got);
		if (r < 0)
			return r;
	}
	target = vsize;
	if (job->has_size) {
		if (job->size < vsize)
			return job_fail(job, -EINVAL,
					"size_bytes %llu is smaller than the image's virtual size %llu",
					(unsigned long long)job->size, (unsigned long long)vsize);
		target = job->size;
	}
	zp_round_size(zp, target, ZP_DEFAULT_BLOCKSIZE, &target);
	/* the allocated clusters are at most the file: what the copy writes */
	r = check_space(job, MIN(file_size, vsize));
	if (r < 0)
		return r;
	r = create_base(job, target, &wfd);
	if (r < 0)
		return r;
	job_progress(job, ZJOB_WRITING, 0, vsize);
	r = qcow2_copy_to_raw(q, wfd, qcow2_progress, job, &job->cancel);
	if (r == -ECANCELED)
		return r;
	if (r < 0)
		return job_fail(job, r, "cannot convert the image: %s", qcow2_error(q));
	job_progress(job, ZJOB_WRITING, vsize, vsize);
	r = finalize(job, wfd, target, true);
	if (r >= 0 && close(TAKE_FD(wfd)) < 0)
		r = job_fail(job, -errno, "cannot close the image: %m");
	return r;
}

/* ---- sources -------------------------------------------------------------- */

/* The last path component of a URL, without query or fragment. */
static void url_basename(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://"), *end, *slash;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "?#");
	slash = p;
	for (const char *c = p; c < end; c++)
		if (*c == '/')
			slash = c + 1;
	snprintf(out, size, "%.*s", (int)(end - slash), slash);
}

static bool under_roots(const struct zsvc *svc, const char *path)
{
	for (size_t i = 0; i < svc->cfg.n_import_roots; i++) {
		const char *root = svc->cfg.import_roots[i];
		size_t n = strlen(root);
		if (streq(root, "/") ||
		    (strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0')))
			return true;
	}
	return false;
}

static int import_local(struct import_job *job)
{
	_cleanup_close_ int fd = open(job->source, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char link[64], real[PATH_MAX], name[256];
	uint8_t head[HEAD_BYTES];
	struct stat st;
	ssize_t n, len;
	int fmt;

	if (fd < 0)
		return job_fail(job, -errno, "cannot open %s: %m", job->source);
	/* what was opened, not what the name said a moment ago */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, real, sizeof(real) - 1);
	if (len < 0)
		return job_fail(job, -errno, "cannot resolve %s: %m", job->source);
	real[len] = '\0';
	if (!under_roots(job->svc, real))
		return job_fail(job, -EPERM, "source '%s' is outside the import roots", job->source);
	if (fstat(fd, &st) < 0)
		return job_fail(job, -errno, "cannot stat %s: %m", job->source);
	if (!S_ISREG(st.st_mode))
		return job_fail(job, -EINVAL, "source '%s' is not a regular file", job->source);
	fcntl(fd, F_SETFL, 0);
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return job_fail(job, -errno, "cannot read %s: %m", job->source);
	url_basename(job->source, name, sizeof(name));
	fmt = stream_format_choose(name, head, (size_t)n);
	if (fmt < 0)
		return job_fail(job, fmt, "'%s' does not hold what its name says", name);
	if (fmt == STREAM_QCOW2)
		return import_qcow2(job, fd, (uint64_t)st.st_size, job->has_sha);
	return import_stream(job, (enum stream_format)fmt, stream_source_fd(fd), st.st_size, NULL);
}

/* A source that first returns the bytes already peeked at. */
struct peeked {
	const uint8_t *head;
	size_t n, off;
	struct http_source *http;
};

static ssize_t peeked_read(void *userdata, void *buf, size_t n)
{
	struct peeked *p = userdata;

	if (p->off < p->n) {
		size_t k = MIN(n, p->n - p->off);
		memcpy(buf, p->head + p->off, k);
		p->off += k;
		return (ssize_t)k;
	}
	return http_source_read(p->http, buf, n);
}

/* Download a qcow2 into the .tmp area (it needs random access), hashing. */
static int stage_qcow2(struct import_job *job, struct http_source *http, const uint8_t *head,
		       size_t n_head, int *out_fd, uint64_t *size)
{
	struct zp *zp = job->svc->zp;
	_cleanup_free_ uint8_t *buf = xmalloc(COPY_CHUNK);
	_cleanup_close_ int fd = -1;
	char tmp[ZFS_NAME_MAX + 8], mp[4096];
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256 ctx;
	uint64_t off = 0, total;
	int64_t len = http_source_length(http);
	int r;

	snprintf(tmp, sizeof(tmp), "%s/.tmp", zp->root);
	r = zp_mountpoint(zp, tmp, mp, sizeof(mp));
	if (r < 0)
		return job_fail(job, r, "cannot locate the staging area");
	snprintf(job->staging, sizeof(job->staging), "%s/import-%s.qcow2", mp, job->id);
	fd = open(job->staging, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		job->staging[0] = '\0';
		return job_fail(job, r, "cannot create the staging file: %m");
	}
	if (len > 0) {
		r = check_space(job, (uint64_t)len);
		if (r < 0)
			return r;
	}
	total = len > 0 ? (uint64_t)len : 0;
	sha256_init(&ctx);
	sha256_update(&ctx, head, n_head);
	r = pwrite_all(fd, head, n_head, 0);
	off = n_head;
	while (r >= 0) {
		ssize_t k = http_source_read(http, buf, COPY_CHUNK);
		if (k < 0) {
			if (k == -ECANCELED)
				return (int)k;
			return job_fail(job, (int)k, "download failed: %s", http_source_error(http));
		}
		if (k == 0)
			break;
		sha256_update(&ctx, buf, (size_t)k);
		r = pwrite_all(fd, buf, (size_t)k, (off_t)off);
		off += (uint64_t)k;
		job_progress(job, ZJOB_DOWNLOADING, off, total);
	}
	if (r < 0)
		return job_fail(job, r, "cannot write the staging file: %s", strerror(-r));
	sha256_final(&ctx, digest);
	if (job->has_sha) {
		char got[SHA256_HEX_SIZE];
		sha256_hex(digest, got);
		r = check_sha(job, got);
		if (r < 0)
			return r;
	}
	*size = off;
	*out_fd = TAKE_FD(fd);
	return 0;
}

static int import_url(struct import_job *job)
{
	const struct zfs_service_config *cfg = &job->svc->cfg;
	struct http_options opt = {
		.ca_file = cfg->ca_file,
		.stall_timeout_ms = cfg->http_stall_ms,
		.cancel = &job->cancel,
	};
	_cleanup_http_source_ struct http_source *http = NULL;
	_cleanup_close_ int staged = -1;
	char err[512] = "", name[256];
	uint8_t head[HEAD_BYTES];
	size_t n_head = 0;
	uint64_t staged_size = 0;
	int64_t len;
	int fmt, r;

	job_progress(job, ZJOB_DOWNLOADING, 0, 0);
	r = http_source_open(job->source, &opt, &http, err, sizeof(err));
	if (r == -ECANCELED)
		return r;
	if (r < 0)
		return job_fail(job, r, "%s", err);
	len = http_source_length(http);
	job_progress(job, ZJOB_DOWNLOADING, 0, len > 0 ? (uint64_t)len : 0);
	/* the format shows in the first bytes, however the body is chunked */
	while (n_head < sizeof(head)) {
		ssize_t k = http_source_read(http, head + n_head, sizeof(head) - n_head);
		if (k == -ECANCELED)
			return (int)k;
		if (k < 0)
			return job_fail(job, (int)k, "download failed: %s", http_source_error(http));
		if (k == 0)
			break;
		n_head += (size_t)k;
	}
	url_basename(http_source_url(http), name, sizeof(name));
	fmt = stream_format_choose(name, head, n_head);
	if (fmt < 0)
		return job_fail(job, fmt, "'%s' does not hold what its name says", name);
	if (fmt == STREAM_QCOW2) {
		r = stage_qcow2(job, http, head, n_head, &staged, &staged_size);
		if (r < 0)
			return r;
		http_source_close(TAKE_PTR(http));
		return import_qcow2(job, staged, staged_size, false);
	}
	struct peeked pk = { head, n_head, 0, http };
	struct stream_source src = { peeked_read, &pk };
	return import_stream(job, (enum stream_format)fmt, src, len, http);
}

/* ---- the job's life ------------------------------------------------------- */

static void job_free(struct import_job *job)
{
	free(job->name);
	free(job->source);
	free(job->created_at);
	free(job);
}

/* The staged download is needed only while the job runs, whatever its end. */
static void remove_staging(struct import_job *job)
{
	if (job->staging[0] && unlink(job->staging) < 0 && errno != ENOENT)
		log_warning("import %s: cannot remove %s: %m", job->id, job->staging);
}

/* Remove what a failed or cancelled job made. */
static void job_cleanup(struct import_job *job)
{
	char err[ZP_ERR_MAX] = "";

	remove_staging(job);
	if (job->base_created) {
		int r = zp_destroy(job->svc->zp, job->base, true, err);
		if (r < 0 && r != -ENOENT)
			log_warning("import %s: cannot remove %s: %s (the start-up GC retries)",
				    job->id, job->base, err);
	}
}

static bool wait_slot(struct import_job *job)
{
	struct zsvc *svc = job->svc;
	bool ok;

	pthread_mutex_lock(&svc->jobs_lock);
	while (svc->copying >= MAX(svc->cfg.max_imports, 1u) && !cancelled(job))
		pthread_cond_wait(&svc->jobs_cond, &svc->jobs_lock);
	ok = !cancelled(job);
	if (ok)
		svc->copying++;
	pthread_mutex_unlock(&svc->jobs_lock);
	return ok;
}

static void *job_main(void *arg)
{
	struct import_job *job = arg;
	struct zsvc *svc = job->svc;
	const char *ids[2] = { job->id, job->tid };
	bool slot;
	int r;

	slot = wait_slot(job);
	if (!slot)
		r = -ECANCELED;
	else if (job->is_url)
		r = import_url(job);
	else
		r = import_local(job);
	if (r < 0 && cancelled(job))
		r = -ECANCELED;

	if (r == 0) {
		remove_staging(job);
		log_info("import %s: template '%s' ready", job->id, job->name);
		svc_audit(svc, LOG_LEVEL_AUDIT, NULL, ids, 2, "Import completed for '%s'", job->name);
	} else {
		enum zjob_state end = ZJOB_FAILED;
		const char *why = job->err[0] ? job->err : strerror(-r);
		job_cleanup(job);
		if (r == -ECANCELED && job->shutdown)
			why = "interrupted by daemon shutdown";
		else if (r == -ECANCELED)
			end = ZJOB_CANCELLED;
		pthread_mutex_lock(&svc->jobs_lock);
		uint64_t bytes = job->bytes;
		pthread_mutex_unlock(&svc->jobs_lock);
		if (zstore_job_finish(svc->store, job->id, end, bytes,
				      end == ZJOB_FAILED ? why : NULL) < 0)
			log_error("import %s: final state not recorded", job->id);
		if (end == ZJOB_CANCELLED) {
			log_info("import %s: cancelled", job->id);
			svc_audit(svc, LOG_LEVEL_AUDIT, NULL, ids, 1, "Import cancelled for '%s'",
				  job->name);
		} else {
			log_warning("import %s: %s", job->id, why);
			svc_audit(svc, LOG_LEVEL_ERROR, NULL, ids, 1, "Import failed for '%s': %s",
				  job->name, why);
		}
	}
	publish_stored(svc, job->id);

	pthread_mutex_lock(&svc->jobs_lock);
	if (slot)
		svc->copying--;
	for (struct import_job **pp = &svc->jobs; *pp; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			break;
		}
	job_free(job);
	pthread_cond_broadcast(&svc->jobs_cond);
	pthread_mutex_unlock(&svc->jobs_lock);
	return NULL;
}

void import_start(struct zsvc *svc, struct import_job *job)
{
	pthread_t th;
	int r;

	pthread_mutex_lock(&svc->jobs_lock);
	if (svc->stopping) {
		/* never started: it ends as interrupted, nothing was made */
		atomic_store(&job->cancel, true);
		job->shutdown = true;
	}
	job->started = true;
	pthread_mutex_unlock(&svc->jobs_lock);
	r = thread_create_quiet(&th, true, job_main, job);
	if (r < 0) {
		log_error_errno(r, "import %s: cannot start its thread", job->id);
		zstore_job_finish(svc->store, job->id, ZJOB_FAILED, 0, "cannot start the import");
		pthread_mutex_lock(&svc->jobs_lock);
		for (struct import_job **pp = &svc->jobs; *pp; pp = &(*pp)->next)
			if (*pp == job) {
				*pp = job->next;
				break;
			}
		job_free(job);
		pthread_cond_broadcast(&svc->jobs_cond);
		pthread_mutex_unlock(&svc->jobs_lock);
	}
}

void import_stop_all(struct zsvc *svc)
{
	pthread_mutex_lock(&svc->jobs_lock);
	svc->stopping = true;
	for (struct import_job *j = svc->jobs; j; j = j->next) {
		j->shutdown = true;
		atomic_store(&j->cancel, true);
	}
	pthread_cond_broadcast(&svc->jobs_cond);
	/* jobs whose thread never started are ended by import_start */
	for (;;) {
		bool running = false;
		for (struct import_job *j = svc->jobs; j; j = j->next)
			running |= j->started;
		if (!running)
			break;
		pthread_cond_wait(&svc->jobs_cond, &svc->jobs_lock);
	}
	pthread_mutex_unlock(&svc->jobs_lock);
}

void import_recover(struct zsvc *svc)
{
	struct zjob *jobs = NULL;
	size_t n = 0;
	char err[ZP_ERR_MAX] = "", tmp[ZFS_NAME_MAX + 8], mp[4096];

	if (zstore_jobs_interrupt(svc->store, "interrupted by daemon restart", &jobs, &n) < 0) {
		log_error("cannot mark interrupted imports as failed");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char base[ZFS_NAME_MAX + 1];
		log_warning("import %s of '%s' was interrupted by a restart: FAILED", jobs[i].id,
			    jobs[i].template_name);
		if (jobs[i].template_id && zp_base_name(svc->zp, jobs[i].template_id, base) == 0) {
			int r = zp_destroy(svc->zp, base, true, err);
			if (r < 0 && r != -ENOENT)
				log_warning("cannot remove %s: %s", base, err);
		}
	}
	zjob_list_free(jobs, n);
	/* staging files of any earlier run */
	snprintf(tmp, sizeof(tmp), "%s/.tmp", svc->zp->root);
	if (zp_mountpoint(svc->zp, tmp, mp, sizeof(mp)) == 0) {
		_cleanup_closedir_ DIR *d = opendir(mp);
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (startswith(de->d_name, "import-") && unlinkat(dirfd(d), de->d_name, 0) == 0)
				log_info("removed the staging file %s/%s", mp, de->d_name);
	}
}

/* ---- RPCs ----------------------------------------------------------------- */

static bool hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') ||
		      (s[n] >= 'A' && s[n] <= 'F')))
			return false;
	return n == 64;
}

/* "http"/"https" (any case) → URL; another scheme → refused; else a path. */
static int classify_source(struct op *op, const char *source, bool *is_url)
{
	size_t n = strspn(source, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	*is_url = false;
	if (n > 0 && startswith(source + n, "://")) {
		if ((n == 4 && strncasecmp(source, "http", 4) == 0) ||
		    (n == 5 && strncasecmp(source, "https", 5) == 0)) {
			*is_url = true;
			return 0;
		}
		return op_fail(op, GRPC_INVALID_ARGUMENT,
			       "unsupported source scheme '%.*s' (only http and https URLs or "
			       "absolute paths)", (int)MIN(n, 32), source);
	}
	return 0;
}

/* A local source: absolute, a regular file, below an import root. */
static int check_local_source(struct op *op, const char *source)
{
	char real[PATH_MAX];
	struct stat st;

	if (source[0] != '/')
		return op_fail(op, GRPC_INVALID_ARGUMENT, "source '%s' must be an absolute path",
			       source);
	if (stat(source, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return op_fail(op, GRPC_NOT_FOUND, "source '%s' not found", source);
		return op_fail(op, GRPC_INVALID_ARGUMENT, "source '%s': %s", source, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return op_fail(op, GRPC_INVALID_ARGUMENT, "source '%s' is not a regular file", source);
	if (op->svc->cfg.n_import_roots == 0)
		return op_fail(op, GRPC_INVALID_ARGUMENT,
			       "local imports are disabled (the daemon has no --import-root)");
	if (!realpath(source, real) || !under_roots(op->svc, real))
		return op_fail(op, GRPC_INVALID_ARGUMENT, "source '%s' is outside the import roots",
			       source);
	return 0;
}

void op_import_template(struct op *op)
{
	const Mvirt__Zfs__ImportTemplateRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	bool has_size = req->_size_bytes_case ==
			MVIRT__ZFS__IMPORT_TEMPLATE_REQUEST___SIZE_BYTES_SIZE_BYTES;
	bool has_sha = req->_sha256_case == MVIRT__ZFS__IMPORT_TEMPLATE_REQUEST___SHA256_SHA256;
	struct zjob j = { 0 };
	struct import_job *job;
	char now[RFC3339_LEN];
	bool is_url, taken;
	int r;

	if (!op_check_name(op, "name", req->name))
		return;
	if (!req->source[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "source is required");
		return;
	}
	if (strlen(req->source) > 4096) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "source is longer than 4096 bytes");
		return;
	}
	if (has_size && req->size_bytes == 0) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "size_bytes must be > 0");
		return;
	}
	if (has_size && req->size_bytes > (UINT64_C(1) << 60)) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "size_bytes exceeds the maximum of 1 EiB");
		return;
	}
	if (has_sha && !hex64(req->sha256)) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "sha256 must be 64 hex characters");
		return;
	}
	if (classify_source(op, req->source, &is_url) != 0)
		return;
	if (!is_url && check_local_source(op, req->source) != 0)
		return;
	r = zstore_template_name_taken(svc->store, req->name, &taken);
	if (r < 0) {
		op_fail_store(op, r);
		return;
	}
	if (taken) {
		op_fail(op, GRPC_ALREADY_EXISTS, "Template '%s' already exists", req->name);
		return;
	}

	job = xcalloc(1, sizeof(*job));
	job->svc = svc;
	uuid_v4(job->id);
	uuid_v4(job->tid);
	job->name = xstrdup(req->name);
	job->source = xstrdup(req->source);
	job->is_url = is_url;
	job->has_size = has_size;
	job->size = has_size ? req->size_bytes : 0;
	job->has_sha = has_sha;
	if (has_sha)
		snprintf(job->sha, sizeof(job->sha), "%s", req->sha256);
	job->state = ZJOB_PENDING;
	job->total = job->size;
	zp_base_name(svc->zp, job->tid, job->base);
	rfc3339_format(now_realtime_ns(), now);
	job->created_at = xstrdup(now);

	memcpy(j.id, job->id, sizeof(j.id));
	j.template_name = job->name;
	j.source = job->source;
	j.format = "auto";
	j.state = ZJOB_PENDING;
	j.total_bytes = job->total;
	j.created_at = now;
	j.template_id = job->tid;
	r = zstore_job_insert(svc->store, &j);
	if (r < 0) {
		job_free(job);
		op_fail_store(op, r);
		return;
	}
	pthread_mutex_lock(&svc->jobs_lock);
	job->next = svc->jobs;
	svc->jobs = job;
	pthread_mutex_unlock(&svc->jobs_lock);
	op->start = job;

	const char *ids[] = { job->id };
	svc_audit(svc, LOG_LEVEL_AUDIT, &op->peer, ids, 1, "Import started for '%s' from %s",
		  job->name, job->source);
	op->resp = &job_msg(svc, &j)->base;
}

void op_get_import_job(struct op *op)
{
	const Mvirt__Zfs__GetImportJobRequest *req = (const void *)op->req;
	struct zjob j = { 0 };
	int r;

	if (!req->id[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "id is required");
		return;
	}
	r = zstore_job_get(op->svc->store, req->id, &j);
	if (r == -ENOENT)
		op_fail(op, GRPC_NOT_FOUND, "Import job '%s' not found", req->id);
	else if (r < 0)
		op_fail_store(op, r);
	else
		op->resp = &job_msg(op->svc, &j)->base;
	zjob_clear(&j);
}

void op_list_import_jobs(struct op *op)
{
	const Mvirt__Zfs__ListImportJobsRequest *req = (const void *)op->req;
	Mvirt__Zfs__ListImportJobsResponse *resp;
	struct zjob *jobs = NULL;
	size_t n = 0;
	int r;

	r = zstore_job_list(op->svc->store, req->include_completed, &jobs, &n);
	if (r < 0) {
		op_fail_store(op, r);
		return;
	}
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__list_import_jobs_response__init(resp);
	resp->jobs = xcalloc(n ?: 1, sizeof(*resp->jobs));
	for (size_t i = 0; i < n; i++)
		resp->jobs[resp->n_jobs++] = job_msg(op->svc, &jobs[i]);
	zjob_list_free(jobs, n);
	op->resp = &resp->base;
}

static struct import_job *job_find_locked(struct zsvc *svc, const char *id)
{
	for (struct import_job *j = svc->jobs; j; j = j->next)
		if (streq(j->id, id))
			return j;
	return NULL;
}

void op_cancel_import_job(struct op *op)
{
	const Mvirt__Zfs__CancelImportJobRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	Mvirt__Zfs__CancelImportJobResponse *resp;
	struct zjob j = { 0 };
	struct import_job *job;
	struct timespec deadline;
	bool stopped = false;
	int r;

	if (!req->id[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "id is required");
		return;
	}
	r = zstore_job_get(svc->store, req->id, &j);
	if (r == -ENOENT) {
		op_fail(op, GRPC_NOT_FOUND, "Import job '%s' not found", req->id);
		return;
	}
	if (r < 0) {
		op_fail_store(op, r);
		return;
	}
	if (!zjob_state_terminal(j.state)) {
		/* stop it and wait until it cleaned up: a Get right after the
		 * reply shows CANCELLED and the pool holds nothing of it */
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += CANCEL_WAIT_S;
		pthread_mutex_lock(&svc->jobs_lock);
		job = job_find_locked(svc, req->id);
		if (job) {
			atomic_store(&job->cancel, true);
			pthread_cond_broadcast(&svc->jobs_cond);
		}
		while (job_find_locked(svc, req->id))
			if (pthread_cond_timedwait(&svc->jobs_cond, &svc->jobs_lock, &deadline) ==
			    ETIMEDOUT)
				break;
		stopped = !job_find_locked(svc, req->id);
		pthread_mutex_unlock(&svc->jobs_lock);
		zjob_clear(&j);
		r = zstore_job_get(svc->store, req->id, &j);
		if (r < 0) {
			op_fail_store(op, r);
			return;
		}
		if (!stopped) {
			zjob_clear(&j);
			op_fail(op, GRPC_UNAVAILABLE, "the import did not stop within %d s",
				CANCEL_WAIT_S);
			return;
		}
	} else {
		zjob_clear(&j);
		j.state = ZJOB_COMPLETED; /* terminal before this call: not cancelled by it */
		stopped = false;
	}
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__cancel_import_job_response__init(resp);
	resp->cancelled = stopped && j.state == ZJOB_CANCELLED;
	zjob_clear(&j);
	op->resp = &resp->base;
}
