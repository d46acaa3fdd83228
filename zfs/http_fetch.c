/* SPDX-License-Identifier: MIT */
/*
 * http_fetch URL OUT [options]: streams a URL through the import's http
 * source (optionally through the gzip or xz stream on top of it) into OUT
 * and prints one JSON line:
 *   {"ok":true,"bytes":N,"length":L|null,"sha256":"<of OUT>","resumes":R,
 *    "max_rss_kib":K,...}   (peak memory, to show it stays bounded)
 *   {"ok":false,"errno":"ENOENT","error":"HTTP request failed: 404 Not Found"}
 * For the integration tests and by hand; not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "http_source.h"
#include "sha256.h"
#include "stream.h"
#include "util.h"

#define BLOCK_SIZE (64 * 1024)

static atomic_bool cancel_flag;

/* Sets the cancel flag after *arg milliseconds (--cancel-after-ms). */
static void *cancel_later(void *arg)
{
	unsigned ms = *(unsigned *)arg;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	atomic_store(&cancel_flag, true);
	return NULL;
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static int print_error(int r, const char *message)
{
	const char *name = strerrorname_np(-r);

	print_json(json_pack("{s:b, s:s, s:s}", "ok", false, "errno", name ? name : "?", "error",
			     message));
	return 1;
}

/* Pulls everything from s (or from src directly when s is NULL) into fd,
 * hashing what is written, resting delay_ms after each block. Returns the
 * byte count or a negative errno. */
static int64_t copy_out(struct http_source *src, struct stream *s, int fd, struct sha256 *hash,
			unsigned delay_ms)
{
	struct timespec delay = { .tv_sec = delay_ms / 1000, .tv_nsec = (long)(delay_ms % 1000) * 1000000 };
	_cleanup_free_ uint8_t *block = xmalloc(BLOCK_SIZE);
	int64_t total = 0;

	for (;;) {
		ssize_t n = s ? stream_read(s, block, BLOCK_SIZE) : http_source_read(src, block, BLOCK_SIZE);
		int r;

		if (n < 0)
			return n;
		if (n == 0)
			return total;
		sha256_update(hash, block, (size_t)n);
		r = pwrite_all(fd, block, (size_t)n, total);
		if (r < 0)
			return r;
		total += n;
		/* a slow reader: the transfer must pause, not pile up bytes */
		if (delay_ms)
			nanosleep(&delay, NULL);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: http_fetch URL OUT [--stall-ms N] [--connect-ms N] [--max-bytes N]\n"
		   "                  [--cancel-after-ms N] [--ca-file PEM] [--decompress gz|xz]\n"
		   "                  [--read-delay-ms N]\n"
		   "Streams URL into OUT and prints one JSON line with the outcome.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "stall-ms", required_argument, NULL, 's' },
		{ "connect-ms", required_argument, NULL, 'c' },
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "cancel-after-ms", required_argument, NULL, 'x' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "decompress", required_argument, NULL, 'd' },
		{ "read-delay-ms", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_http_source_ struct http_source *src = NULL;
	_cleanup_stream_ struct stream *s = NULL;
	_cleanup_close_ int out_fd = -1;
	struct http_options opt = { .cancel = &cancel_flag };
	unsigned long long v, cancel_after_ms = 0;
	const char *decompress = NULL;
	char err[512], hex[SHA256_HEX_SIZE], source_hex[SHA256_HEX_SIZE] = "";
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256 hash;
	struct rusage rusage;
	pthread_t canceller;
	unsigned cancel_ms, read_delay_ms = 0;
	int64_t bytes, length;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
		case 'c':
		case 'm':
		case 'x':
		case 'r':
			if (parse_u64(optarg, c == 'm' ? UINT64_MAX : UINT32_MAX, &v) < 0) {
				fprintf(stderr, "http_fetch: bad number '%s'\n", optarg);
				return 2;
			}
			if (c == 's')
				opt.stall_timeout_ms = (unsigned)v;
			else if (c == 'c')
				opt.connect_timeout_ms = (unsigned)v;
			else if (c == 'm')
				opt.max_bytes = v;
			else if (c == 'x')
				cancel_after_ms = v;
			else
				read_delay_ms = (unsigned)v;
			break;
		case 'a':
			opt.ca_file = optarg;
			break;
		case 'd':
			if (!streq(optarg, "gz") && !streq(optarg, "xz")) {
				fprintf(stderr, "http_fetch: --decompress takes gz or xz\n");
				return 2;
			}
			decompress = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (http_global_init() < 0)
		return 1;
	out_fd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		fprintf(stderr, "http_fetch: %s: %m\n", argv[optind + 1]);
		return 1;
	}
	if (cancel_after_ms) {
		cancel_ms = (unsigned)cancel_after_ms;
		if (pthread_create(&canceller, NULL, cancel_later, &cancel_ms) != 0 ||
		    pthread_detach(canceller) != 0) {
			fprintf(stderr, "http_fetch: cannot start the cancel thread\n");
			return 1;
		}
	}

	r = http_source_open(argv[optind], &opt, &src, err, sizeof(err));
	if (r < 0)
		return print_error(r, err);
	if (decompress) {
		s = streq(decompress, "gz") ? stream_new_gzip(http_source_stream(src))
					    : stream_new_xz(http_source_stream(src), 0);
		if (!s)
			return print_error(-ENOMEM, "cannot set up the decoder");
		stream_hash_source(s);
	}
	sha256_init(&hash);
	bytes = copy_out(src, s, out_fd, &hash, read_delay_ms);
	if (bytes < 0) {
		/* the source's own message is more precise than the stream's */
		const char *message = http_source_error(src);

		if (!message)
			message = s ? stream_error(s) : NULL;
		return print_error((int)bytes, message ? message : strerror((int)-bytes));
	}
	if (fsync(out_fd) < 0)
		return print_error(-errno, "fsync of the output failed");
	sha256_final(&hash, digest);
	sha256_hex(digest, hex);
	if (s && stream_source_sha256(s, source_hex) < 0)
		return print_error(-EIO, "no source hash");

	length = http_source_length(src);
	if (getrusage(RUSAGE_SELF, &rusage) < 0)
		return print_error(-errno, "getrusage failed");
	print_json(json_pack("{s:b, s:I, s:o, s:I, s:s, s:s?, s:i, s:s, s:I}", "ok", true, "bytes",
			     (json_int_t)bytes, "length",
			     length >= 0 ? json_integer((json_int_t)length) : json_null(), "received",
			     (json_int_t)http_source_received(src), "sha256", hex, "source_sha256",
			     source_hex[0] ? source_hex : NULL, "resumes", (int)http_source_resumes(src),
			     "url", http_source_url(src), "max_rss_kib", (json_int_t)rusage.ru_maxrss));
	return 0;
}
