/* SPDX-License-Identifier: MIT */
/*
 * unpack [--sha256] [--xz-memlimit MIB] IN OUT: decodes a raw, .gz or .xz
 * image into OUT the way the import writes volumes (all-zero blocks become
 * holes), optionally printing the SHA-256 of IN. For tests and by hand; not
 * installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream.h"
#include "util.h"

#define BLOCK_SIZE (64 * 1024)

/* Decodes s into out_fd, skipping all-zero blocks; sets *size to the data size. */
static int unpack_stream(struct stream *s, int out_fd, off_t *size)
{
	_cleanup_free_ uint8_t *block = xmalloc(BLOCK_SIZE);
	off_t offset = 0;

	for (;;) {
		ssize_t n = stream_read(s, block, BLOCK_SIZE);
		int r;

		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		if (!mem_is_zero(block, (size_t)n)) {
			r = pwrite_all(out_fd, block, (size_t)n, offset);
			if (r < 0)
				return r;
		}
		offset += n;
	}
	/* trailing holes still count towards the size */
	if (ftruncate(out_fd, offset) < 0 || fsync(out_fd) < 0)
		return -errno;
	*size = offset;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: unpack [--sha256] [--xz-memlimit MIB] IN OUT\n"
		   "Decodes a raw, gzip or xz image IN into the sparse file OUT.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "sha256", no_argument, NULL, 's' },
		{ "xz-memlimit", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_stream_ struct stream *s = NULL;
	_cleanup_close_ int in_fd = -1, out_fd = -1;
	unsigned long long memlimit_mib = STREAM_XZ_MEMLIMIT >> 20;
	uint8_t head[STREAM_DETECT_SIZE];
	bool want_sha256 = false;
	const char *in, *out;
	ssize_t head_len;
	off_t size = 0;
	int c, format, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			want_sha256 = true;
			break;
		case 'm':
			if (parse_u64(optarg, 1ULL << 30, &memlimit_mib) < 0 || memlimit_mib == 0) {
				fprintf(stderr, "unpack: bad --xz-memlimit '%s'\n", optarg);
				return 2;
			}
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
	in = argv[optind];
	out = argv[optind + 1];

	in_fd = open(in, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0) {
		fprintf(stderr, "unpack: %s: %m\n", in);
		return 1;
	}
	head_len = pread(in_fd, head, sizeof(head), 0);
	if (head_len < 0) {
		fprintf(stderr, "unpack: %s: %m\n", in);
		return 1;
	}
	format = stream_format_choose(in, head, (size_t)head_len);
	if (format < 0) {
		fprintf(stderr, "unpack: %s: the content does not match the file name's format\n", in);
		return 1;
	}
	if (format == STREAM_QCOW2) {
		fprintf(stderr, "unpack: %s: qcow2 is not a stream format\n", in);
		return 1;
	}
	if (format == STREAM_XZ)
		s = stream_new_xz(stream_source_fd(in_fd), memlimit_mib << 20);
	else
		s = stream_new(format, stream_source_fd(in_fd));
	if (!s) {
		fprintf(stderr, "unpack: %m\n");
		return 1;
	}
	if (want_sha256)
		stream_hash_source(s);

	out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		fprintf(stderr, "unpack: %s: %m\n", out);
		return 1;
	}
	r = unpack_stream(s, out_fd, &size);
	if (r < 0) {
		if (stream_error(s))
			fprintf(stderr, "unpack: %s: %s\n", in, stream_error(s));
		else
			fprintf(stderr, "unpack: %s: %s\n", out, strerror(-r));
		return 1;
	}
	if (want_sha256) {
		char hex[SHA256_HEX_SIZE];

		r = stream_source_sha256(s, hex);
		if (r < 0) {
			fprintf(stderr, "unpack: %s: no source hash: %s\n", in, strerror(-r));
			return 1;
		}
		printf("%s\n", hex);
	}
	fprintf(stderr, "unpack: %s: %s, %llu source bytes, %lld bytes written to %s\n", in,
		stream_format_name((enum stream_format)format),
		(unsigned long long)stream_source_bytes(s), (long long)size, out);
	return 0;
}
