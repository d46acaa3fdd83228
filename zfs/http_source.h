/* SPDX-License-Identifier: MIT */
/*
 * An http(s) download read like a file: the image import pulls bytes from it
 * through struct stream_source, so raw, gzip and xz images stream from a URL
 * into a volume without a temporary copy. Built on libcurl's multi interface
 * so that a read can wait for data in short slices (cancel and stall checks)
 * and memory stays bounded: at most HTTP_BUFFER_SIZE bytes are held, the
 * transfer is paused while the reader is behind.
 *
 * Redirects (up to 10, http and https only), TLS verification (always on),
 * timeouts, an optional size limit, cancellation, and resuming: when the
 * connection drops mid-body and the server takes byte ranges, the rest is
 * asked for with "Range: bytes=<received>-" (up to HTTP_MAX_RESUMES times)
 * and the reader sees one seamless stream. The resume asks for the URL the
 * redirects ended at. Its 206 answer must continue exactly where the
 * transfer stopped (Content-Range start and total are checked). A server
 * that ignores the range and answers 200 sends the whole body again: the
 * bytes already delivered are skipped (their content is not compared; the
 * import's checksum covers that), provided its Content-Length is unchanged.
 *
 * Errors (negative errno, with a one-line message):
 *   -EINVAL          the URL is not http:// or https://, or malformed
 *   -ENOENT          HTTP 404 or 410
 *   -EACCES          HTTP 401 or 403
 *   -EPROTO          any other non-2xx answer, or a broken resume answer
 *   -ELOOP           more than 10 redirects
 *   -EPROTONOSUPPORT a redirect to a scheme other than http/https
 *   -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH ...
 *                    cannot connect (the system's reason)
 *   -ETIMEDOUT       connect timeout, or no byte for the stall timeout
 *   -EFBIG           the resource is larger than max_bytes
 *   -ECANCELED       *cancel became true
 *   -EIO             anything else: DNS, TLS (including a failed
 *                    verification), a connection lost beyond resuming
 *
 * Threads: a source is used by one thread at a time. http_global_init() must
 * be called once by main() before any thread starts (libcurl's global set-up
 * is not thread-safe).
 */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stream.h"

/* Most body bytes held between the network and the reader. */
#define HTTP_BUFFER_SIZE (1U << 20)
/* How often a read resumes a dropped connection at most. */
#define HTTP_MAX_RESUMES 3
/* Redirects followed at most. */
#define HTTP_MAX_REDIRECTS 10
/* The longest wait before *cancel is looked at again. */
#define HTTP_POLL_MS 100

#define HTTP_CONNECT_TIMEOUT_MS_DEFAULT (30 * 1000)
#define HTTP_STALL_TIMEOUT_MS_DEFAULT (60 * 1000)

struct http_options {
	const char *ca_file;         /* CA certificates (PEM); NULL: the system store */
	unsigned connect_timeout_ms; /* 0: HTTP_CONNECT_TIMEOUT_MS_DEFAULT */
	unsigned stall_timeout_ms;   /* no byte for this long fails; 0: the default */
	uint64_t max_bytes;          /* larger resources fail with -EFBIG; 0: no limit */
	const atomic_bool *cancel;   /* when it becomes true: -ECANCELED; may be NULL */
};

struct http_source;

/* libcurl's process-wide set-up: once, from main(), before threads. 0 or -EIO. */
int http_global_init(void);
void http_global_cleanup(void);

/*
 * Starts fetching url (opt may be NULL for the defaults) and returns once the
 * final response's headers are in and say 2xx, so that length and URL are
 * known. On failure returns a negative errno (see above) and writes a
 * one-line reason into err.
 */
int http_source_open(const char *url, const struct http_options *opt, struct http_source **out,
		     char *err, size_t errlen);

/*
 * Reads up to n body bytes: returns how many (fewer than n only when no more
 * are buffered yet), 0 at the end of the body, or a negative errno. Errors
 * are sticky; http_source_error() tells the reason.
 */
ssize_t http_source_read(struct http_source *s, void *buf, size_t n);

/* The body's full size when the server said it, else -1. */
int64_t http_source_length(const struct http_source *s);
/* Body bytes received so far (across resumes; each byte counted once). */
uint64_t http_source_received(const struct http_source *s);
/* The URL after redirects. */
const char *http_source_url(const struct http_source *s);
/* How often the transfer was resumed. */
unsigned http_source_resumes(const struct http_source *s);
/* The last error's one-line reason, NULL while all is well. */
const char *http_source_error(const struct http_source *s);

/* The source for stream_new_raw/gzip/xz(); s must outlive the stream. */
struct stream_source http_source_stream(struct http_source *s);

void http_source_close(struct http_source *s);
static inline void http_source_closep(struct http_source **s)
{
	http_source_close(*s);
}
#define _cleanup_http_source_ __attribute__((cleanup(http_source_closep)))
