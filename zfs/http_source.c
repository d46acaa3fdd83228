/* SPDX-License-Identifier: MIT */
/*
 * An http(s) download read like a file (see http_source.h). One curl easy
 * handle runs in its own multi handle; a read drives the transfer in slices
 * of at most HTTP_POLL_MS until the bounded buffer holds bytes, so cancel and
 * stall checks happen while waiting, and the transfer is paused
 * (CURL_WRITEFUNC_PAUSE) whenever the buffer has no room for the next chunk.
 * What the server says in its headers is read by the pure parsers of
 * http_parse.c.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_parse.h"
#include "http_source.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

struct http_source {
	CURLM *multi;
	CURL *easy;
	char *url;           /* as asked */
	char *final_url;     /* after redirects, once the headers are in */
	char *ca_file;
	unsigned connect_timeout_ms;
	unsigned stall_timeout_ms;
	uint64_t max_bytes;
	const atomic_bool *cancel;

	/* unread body bytes are buf[buf_start, buf_end) */
	uint8_t *buf;
	size_t buf_start, buf_end;
	bool paused;         /* the write callback asked curl to hold its chunk */

	/* the current response; reset by each status line (redirects, resumes) */
	unsigned status;
	char reason[HTTP_REASON_MAX];
	bool has_location;
	bool accept_ranges;
	bool has_content_range;
	int content_range_error;
	struct http_content_range content_range;
	bool headers_done;   /* the final response's headers are complete */
	bool done;           /* curl finished the request, with result */
	CURLcode result;
	char curl_error[CURL_ERROR_SIZE];

	/* the whole body, across resumes */
	int64_t length;      /* -1 while unknown */
	uint64_t received;   /* bytes handed to the buffer: the resume offset */
	uint64_t skip;       /* bytes of a repeated body (200 to a resume) to drop */
	bool ranges_ok;      /* the server takes byte ranges */
	bool resuming;
	unsigned resumes;
	bool eof;
	uint64_t last_byte_ns; /* when bytes last came in, or the wait began */

	int error;           /* sticky negative errno */
	char message[256];
};

int http_global_init(void)
{
	CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (c != CURLE_OK)
		return log_error_errno(EIO, "libcurl: %s", curl_easy_strerror(c));
	return 0;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

/* Records the first error with its message; returns the (sticky) error. */
static int PRINTF_FMT(3, 4) http_fail(struct http_source *s, int error, const char *fmt, ...)
{
	va_list ap;

	if (s->error)
		return s->error;
	s->error = error;
	va_start(ap, fmt);
	vsnprintf(s->message, sizeof(s->message), fmt, ap);
	va_end(ap);
	return error;
}

/* "host:port" of a URL for messages (never the path or credentials). */
static void url_host_port(const char *url, char *out, size_t size)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(out, size, "%s:%s", host, port);
	else
		snprintf(out, size, "the server");
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* host:port of the URL the transfer is at now (redirects included). */
static void current_host_port(struct http_source *s, char *out, size_t size)
{
	char *url = NULL;

	if (curl_easy_getinfo(s->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
		url = s->url;
	url_host_port(url, out, size);
}

/* 0 when url is an http:// or https:// URL libcurl can parse, else -EINVAL. */
static int url_check(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int r = -EINVAL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (streq(scheme, "http") || streq(scheme, "https")))
		r = 0;
	curl_free(scheme);
	curl_url_cleanup(u);
	return r;
}

static bool cancelled(const struct http_source *s)
{
	return s->cancel && atomic_load(s->cancel);
}

static int status_errno(unsigned status)
{
	switch (status) {
	case 404:
	case 410:
		return -ENOENT;
	case 401:
	case 403:
		return -EACCES;
	default:
		return -EPROTO;
	}
}

/*
 * Checks the final response of a request once its headers are in, before
 * any body byte: status, size, and for a resume the range it continues.
 */
static int response_check(struct http_source *s)
{
	curl_off_t content_length = -1;
	char *url = NULL;
	const char *why;

	if (curl_easy_getinfo(s->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) {
		free(s->final_url);
		s->final_url = xstrdup(url);
	}
	if (s->status < 200 || s->status > 299)
		return http_fail(s, status_errno(s->status), "HTTP request failed: %u%s%s", s->status,
				 s->reason[0] ? " " : "", s->reason);
	if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &content_length) != CURLE_OK)
		content_length = -1;

	if (!s->resuming) {
		if (s->status == 206)
			return http_fail(s, -EPROTO, "HTTP 206 (a partial body) to a request for the whole");
		s->length = content_length;
		s->ranges_ok = s->accept_ranges;
	} else if (s->status == 206) {
		if (!s->has_content_range || s->content_range_error < 0)
			return http_fail(s, -EPROTO, "HTTP 206 to a resume without a valid Content-Range");
		if (http_range_continues(&s->content_range, s->received, s->length, &why) < 0)
			return http_fail(s, -EPROTO, "cannot resume at byte %llu: %s",
					 (unsigned long long)s->received, why);
		if (s->length < 0)
			s->length = s->content_range.total;
		s->ranges_ok = true;
	} else {
		/* the whole body again: drop what was delivered already */
		if (s->length >= 0 && content_length != s->length)
			return http_fail(s, -EPROTO, "cannot resume: the resource changed size");
		s->skip = s->received;
	}
	if (s->max_bytes && s->length > 0 && (uint64_t)s->length > s->max_bytes)
		return http_fail(s, -EFBIG, "the image is %lld bytes, larger than the limit of %llu bytes",
				 (long long)s->length, (unsigned long long)s->max_bytes);
	return 0;
}

/* curl's header callback: one header line of any response (redirects too). */
static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct http_source *s = userdata;
	size_t n = size * nmemb, value_len;
	const char *value;
	unsigned code;

	s->last_byte_ns = now_monotonic_ns();
	if (s->headers_done)
		return n; /* trailers of a chunked body: nothing we use */
	if (http_parse_status_line(line, n, &code, s->reason, sizeof(s->reason)) == 0) {
		s->status = code;
		s->has_location = false;
		s->accept_ranges = false;
		s->has_content_range = false;
		return n;
	}
	if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		/* the end of this response's headers: final unless informational
		 * or a redirect that curl is about to follow */
		if (s->status >= 200 && !(s->status >= 300 && s->status < 400 && s->has_location)) {
			s->headers_done = true;
			/* checked before the first body byte arrives: a wrong
			 * answer aborts the transfer here */
			if (response_check(s) < 0)
				return 0;
		}
		return n;
	}
	if (http_header_value(line, n, "Location", &value, &value_len)) {
		s->has_location = value_len > 0;
	} else if (http_header_value(line, n, "Accept-Ranges", &value, &value_len)) {
		s->accept_ranges = http_token_list_has(value, value_len, "bytes");
	} else if (http_header_value(line, n, "Content-Range", &value, &value_len)) {
		s->has_content_range = true;
		s->content_range_error = http_parse_content_range(value, value_len, &s->content_range);
	}
	return n;
}

/* curl's write callback: body bytes into the buffer, or pause when full. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_source *s = userdata;
	size_t n = size * nmemb, drop, keep, room;

	s->last_byte_ns = now_monotonic_ns();
	if (!s->headers_done)
		return n; /* the body of a redirect: not ours */

	drop = (size_t)MIN(s->skip, (uint64_t)n);
	keep = n - drop;
	if (keep > HTTP_BUFFER_SIZE) {
		http_fail(s, -EIO, "libcurl delivered %zu bytes at once, more than the buffer holds", keep);
		return 0;
	}
	room = HTTP_BUFFER_SIZE - (s->buf_end - s->buf_start);
	if (keep > room) {
		/* curl keeps this chunk and offers it again after the unpause;
		 * nothing is counted until then */
		s->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	s->skip -= drop;
	if (keep == 0)
		return n;
	if (s->max_bytes && s->received + keep > s->max_bytes) {
		char where[300];

		current_host_port(s, where, sizeof(where));
		http_fail(s, -EFBIG, "the download from %s is larger than the limit of %llu bytes", where,
			  (unsigned long long)s->max_bytes);
		return 0; /* aborts the transfer */
	}
	if (HTTP_BUFFER_SIZE - s->buf_end < keep) {
		memmove(s->buf, s->buf + s->buf_start, s->buf_end - s->buf_start);
		s->buf_end -= s->buf_start;
		s->buf_start = 0;
	}
	memcpy(s->buf + s->buf_end, data + drop, keep);
	s->buf_end += keep;
	s->received += keep;
	return n;
}

/* Sets up the easy handle once: what stays the same for every request. */
static int easy_setup(struct http_source *s)
{
	CURL *e = curl_easy_init();

	if (!e)
		return http_fail(s, -ENOMEM, "libcurl: cannot create a transfer");
	s->easy = e;
	if (curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (s->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "mvirt-zfs/" MVIRT_VERSION) != CURLE_OK ||
	    /* the image's bytes as served: a .gz sent with Content-Encoding
	     * gzip stays gzip, and the checksum covers what the server has */
	    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->curl_error) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK)
		return http_fail(s, -EIO, "libcurl lacks a needed option (http/https, TLS)");
	return 0;
}

/* Starts a request: the first one, or a resume from s->received on. */
static int request_start(struct http_source *s)
{
	char range[32];

	s->status = 0;
	s->reason[0] = '\0';
	s->has_location = s->accept_ranges = s->has_content_range = false;
	s->headers_done = s->done = s->paused = false;
	s->curl_error[0] = '\0';
	if (s->resuming) {
		/* the same resource as before: the URL the redirects led to */
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)s->received);
		if (curl_multi_remove_handle(s->multi, s->easy) != CURLM_OK ||
		    curl_easy_setopt(s->easy, CURLOPT_URL, s->final_url) != CURLE_OK ||
		    curl_easy_setopt(s->easy, CURLOPT_RANGE, range) != CURLE_OK)
			return http_fail(s, -EIO, "libcurl: cannot restart the transfer");
	}
	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK)
		return http_fail(s, -EIO, "libcurl: cannot start the transfer");
	return 0;
}

/*
 * Lets curl work, waiting at most HTTP_POLL_MS when nothing came in. Returns
 * 0, or -ECANCELED, -ETIMEDOUT when no byte came for the stall timeout, or a
 * callback's error.
 */
static int transfer_step(struct http_source *s)
{
	CURLMsg *msg;
	int running, left, ready;
	uint64_t before;
	char where[300];

	if (cancelled(s))
		return http_fail(s, -ECANCELED, "cancelled");
	before = s->last_byte_ns;
	if (curl_multi_perform(s->multi, &running) != CURLM_OK)
		return http_fail(s, -EIO, "libcurl: the transfer loop failed");
	while ((msg = curl_multi_info_read(s->multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == s->easy) {
			s->done = true;
			s->result = msg->data.result;
		}
	if (s->error)
		return s->error; /* set by a callback */
	/* bytes came in, or there is something to act on: no waiting (a
	 * paused transfer's socket is not even in the poll set) */
	if (s->done || s->paused || s->last_byte_ns != before)
		return 0;
	if (now_monotonic_ns() - s->last_byte_ns > (uint64_t)s->stall_timeout_ms * 1000000) {
		current_host_port(s, where, sizeof(where));
		return http_fail(s, -ETIMEDOUT, "no data from %s for %u ms", where, s->stall_timeout_ms);
	}
	if (curl_multi_poll(s->multi, NULL, 0, HTTP_POLL_MS, &ready) != CURLM_OK)
		return http_fail(s, -EIO, "libcurl: waiting for the network failed");
	if (cancelled(s))
		return http_fail(s, -ECANCELED, "cancelled");
	return 0;
}

static bool is_connection_lost(CURLcode c)
{
	return c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR ||
	       c == CURLE_GOT_NOTHING || c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM;
}

/* The transfer ended with a curl error before or without a usable answer:
 * the errno and message for it. */
static int fail_curl(struct http_source *s)
{
	const char *detail = s->curl_error[0] ? s->curl_error : curl_easy_strerror(s->result);
	char where[300];
	long os_errno = 0;

	current_host_port(s, where, sizeof(where));
	switch (s->result) {
	case CURLE_COULDNT_CONNECT:
		if (curl_easy_getinfo(s->easy, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK ||
		    os_errno <= 0)
			os_errno = ECONNREFUSED;
		return http_fail(s, -(int)os_errno, "cannot connect to %s: %s", where,
				 strerror((int)os_errno));
	case CURLE_OPERATION_TIMEDOUT:
		return http_fail(s, -ETIMEDOUT, "cannot connect to %s: timed out after %u ms", where,
				 s->connect_timeout_ms);
	case CURLE_COULDNT_RESOLVE_HOST:
		return http_fail(s, -EIO, "cannot resolve the host of %s: %s", where, detail);
	case CURLE_TOO_MANY_REDIRECTS:
		return http_fail(s, -ELOOP, "more than %d redirects (a redirect loop?) at %s",
				 HTTP_MAX_REDIRECTS, where);
	case CURLE_UNSUPPORTED_PROTOCOL:
		return http_fail(s, -EPROTONOSUPPORT,
				 "redirected to a URL that is not http or https: %s", detail);
	case CURLE_URL_MALFORMAT:
		return http_fail(s, -EINVAL, "malformed URL: %s", detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return http_fail(s, -EIO, "TLS with %s failed: %s", where, detail);
	default:
		return http_fail(s, -EIO, "download from %s failed: %s", where, detail);
	}
}

/* Drives the request until its final headers are in (and were checked by
 * on_header). */
static int wait_headers(struct http_source *s)
{
	int r;

	s->last_byte_ns = now_monotonic_ns();
	while (!s->headers_done && !s->done) {
		r = transfer_step(s);
		if (r < 0)
			return r;
	}
	if (s->error)
		return s->error;
	if (!s->headers_done)
		return s->result != CURLE_OK ? fail_curl(s)
					     : http_fail(s, -EPROTO, "the server sent no final answer");
	return 0;
}

/*
 * The request finished: returns 0 at the real end of the body, 1 when a lost
 * connection was resumed (read on), or a negative errno.
 */
static int transfer_finish(struct http_source *s)
{
	char where[300];
	int r;

	if (s->result == CURLE_OK && (s->length < 0 || s->received == (uint64_t)s->length))
		return 0;
	if (s->result != CURLE_OK && !is_connection_lost(s->result))
		return fail_curl(s);

	current_host_port(s, where, sizeof(where));
	if (!s->ranges_ok)
		return http_fail(s, -EIO,
				 "connection to %s lost after %llu bytes; the server cannot resume (no Accept-Ranges: bytes)",
				 where, (unsigned long long)s->received);
	if (s->resumes >= HTTP_MAX_RESUMES)
		return http_fail(s, -EIO, "connection to %s lost after %llu bytes, resumed %u times already",
				 where, (unsigned long long)s->received, s->resumes);
	s->resumes++;
	s->resuming = true;
	log_info("connection to %s lost after %llu bytes, resuming (%u of %u)", where,
		 (unsigned long long)s->received, s->resumes, HTTP_MAX_RESUMES);
	r = request_start(s);
	if (r < 0)
		return r;
	r = wait_headers(s);
	return r < 0 ? r : 1;
}

static int transfer_unpause(struct http_source *s)
{
	/* cleared first: the callback may run inside and pause again */
	s->paused = false;
	if (curl_easy_pause(s->easy, CURLPAUSE_CONT) != CURLE_OK)
		return http_fail(s, -EIO, "libcurl: cannot resume the paused transfer");
	return s->error;
}

int http_source_open(const char *url, const struct http_options *opt, struct http_source **out,
		     char *err, size_t errlen)
{
	static const struct http_options defaults = {};
	struct http_source *s;
	int r;

	if (!opt)
		opt = &defaults;
	if (url_check(url) < 0) {
		snprintf(err, errlen, "not an http:// or https:// URL");
		return -EINVAL;
	}
	s = xcalloc(1, sizeof(*s));
	s->url = xstrdup(url);
	s->ca_file = opt->ca_file ? xstrdup(opt->ca_file) : NULL;
	s->connect_timeout_ms = opt->connect_timeout_ms ?: HTTP_CONNECT_TIMEOUT_MS_DEFAULT;
	s->stall_timeout_ms = opt->stall_timeout_ms ?: HTTP_STALL_TIMEOUT_MS_DEFAULT;
	s->max_bytes = opt->max_bytes;
	s->cancel = opt->cancel;
	s->length = -1;
	s->buf = xmalloc(HTTP_BUFFER_SIZE);

	s->multi = curl_multi_init();
	if (!s->multi)
		r = http_fail(s, -ENOMEM, "libcurl: cannot create a transfer");
	else
		r = easy_setup(s);
	if (r >= 0)
		r = request_start(s);
	if (r >= 0)
		r = wait_headers(s);
	if (r < 0) {
		snprintf(err, errlen, "%s", s->message);
		http_source_close(s);
		return r;
	}
	*out = s;
	return 0;
}

ssize_t http_source_read(struct http_source *s, void *buf, size_t n)
{
	size_t take;
	int r;

	if (s->error)
		return s->error;
	if (cancelled(s))
		return http_fail(s, -ECANCELED, "cancelled");
	/* the stall clock runs only while we wait, not while the reader works */
	s->last_byte_ns = now_monotonic_ns();
	while (s->buf_start == s->buf_end) {
		if (s->eof || n == 0)
			return 0;
		if (s->done) {
			r = transfer_finish(s);
			if (r < 0)
				return r;
			if (r == 0)
				s->eof = true;
			continue;
		}
		if (s->paused) {
			r = transfer_unpause(s);
			if (r < 0)
				return r;
			continue;
		}
		r = transfer_step(s);
		if (r < 0)
			return r;
	}
	take = MIN(n, s->buf_end - s->buf_start);
	memcpy(buf, s->buf + s->buf_start, take);
	s->buf_start += take;
	if (s->buf_start == s->buf_end)
		s->buf_start = s->buf_end = 0;
	/* room for curl's largest chunk: take the held one now */
	if (s->paused && HTTP_BUFFER_SIZE - (s->buf_end - s->buf_start) >= CURL_MAX_WRITE_SIZE) {
		r = transfer_unpause(s);
		if (r < 0)
			return r;
	}
	return (ssize_t)take;
}

int64_t http_source_length(const struct http_source *s)
{
	return s->length;
}

uint64_t http_source_received(const struct http_source *s)
{
	return s->received;
}

const char *http_source_url(const struct http_source *s)
{
	return s->final_url ? s->final_url : s->url;
}

unsigned http_source_resumes(const struct http_source *s)
{
	return s->resumes;
}

const char *http_source_error(const struct http_source *s)
{
	return s->error ? s->message : NULL;
}

static ssize_t stream_read_http(void *userdata, void *buf, size_t n)
{
	return http_source_read(userdata, buf, n);
}

struct stream_source http_source_stream(struct http_source *s)
{
	return (struct stream_source){ .read = stream_read_http, .userdata = s };
}

void http_source_close(struct http_source *s)
{
	if (!s)
		return;
	if (s->easy) {
		if (s->multi)
			curl_multi_remove_handle(s->multi, s->easy);
		curl_easy_cleanup(s->easy);
	}
	if (s->multi)
		curl_multi_cleanup(s->multi);
	free(s->buf);
	free(s->url);
	free(s->final_url);
	free(s->ca_file);
	free(s);
}
