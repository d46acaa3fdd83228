/* SPDX-License-Identifier: MIT */
/*
 * Streaming readers for disk images: raw, gzip and xz, pulled block by block
 * from a byte source (a file now, an HTTP transfer later) with bounded memory
 * and no temporary files. Optionally hashes the source bytes (SHA-256) as
 * they pass, for the import's checksum check.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "sha256.h"

enum stream_format {
	STREAM_RAW,
	STREAM_GZIP,
	STREAM_XZ,
	STREAM_QCOW2,   /* detected only: not a stream, the qcow2 reader handles it */
};

/* Bytes the magic-number check needs at most (shorter heads still work). */
#define STREAM_DETECT_SIZE 6

/* Default memory limit of the xz decoder: xz -9 needs 65 MiB, so this leaves
 * room for custom dictionaries while refusing absurd ones. */
#define STREAM_XZ_MEMLIMIT (256ULL << 20)

/*
 * Where the (compressed) bytes come from: read() fills up to n bytes and
 * returns the count, 0 at the end, or a negative errno.
 */
struct stream_source {
	ssize_t (*read)(void *userdata, void *buf, size_t n);
	void *userdata;
};

/* A source reading a file descriptor (not closed by the stream). */
struct stream_source stream_source_fd(int fd);

struct stream;

/* Constructors return NULL only if the decoder cannot be set up (memory). */
struct stream *stream_new_raw(struct stream_source src);
struct stream *stream_new_gzip(struct stream_source src);
/* memlimit: bytes the decoder may use, 0 for STREAM_XZ_MEMLIMIT. */
struct stream *stream_new_xz(struct stream_source src, uint64_t memlimit);
/* By format; qcow2 gives NULL with errno EINVAL. */
struct stream *stream_new(enum stream_format format, struct stream_source src);
void stream_free(struct stream *s);
static inline void stream_freep(struct stream **s)
{
	stream_free(*s);
}
#define _cleanup_stream_ __attribute__((cleanup(stream_freep)))

/* The most one stream_read() call returns. */
#define STREAM_READ_MAX (1U << 30)

/*
 * Reads decoded bytes into buf: returns MIN(n, STREAM_READ_MAX) bytes, fewer
 * only at the end of the data and then 0; -EBADMSG for corrupt or truncated
 * input, -ENOMEM beyond the xz memory limit, or the source's -errno. Errors
 * are sticky; stream_error() says what went wrong in one line.
 */
ssize_t stream_read(struct stream *s, void *buf, size_t n);
const char *stream_error(const struct stream *s);

/* Source bytes consumed so far, for progress against the source's size. */
uint64_t stream_source_bytes(const struct stream *s);

/* Hash every source byte from now on (call before the first read). */
void stream_hash_source(struct stream *s);
/* Hex SHA-256 of the source; -EBUSY before the end, -EINVAL if not hashing. */
int stream_source_sha256(struct stream *s, char hex[SHA256_HEX_SIZE]);

/* The format the first bytes of a file show: gzip, xz, qcow2 or else raw. */
enum stream_format stream_detect(const uint8_t *head, size_t n);

/*
 * The format to import a file as, from its name (last path component, no
 * URL query) and its first bytes:
 *   ".gz", ".xz", ".qcow2"  the content must carry that format's magic,
 *                           else -EBADMSG (a mislabelled file is refused);
 *   ".raw"                  raw, never probed: a raw disk may hold any bytes,
 *                           even a qcow2 header written by a guest;
 *   ".img" or anything else probed by magic (cloud images named .img are
 *                           often qcow2).
 * Returns an enum stream_format or -EBADMSG.
 */
int stream_format_choose(const char *name, const uint8_t *head, size_t n);

const char *stream_format_name(enum stream_format format);
