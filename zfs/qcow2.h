/* SPDX-License-Identifier: MIT */
/*
 * A small read-only qcow2 reader (versions 2 and 3) for image import: header
 * validation, L1/L2 lookup with a bounded L2 cache, zero and unallocated
 * clusters, zlib-compressed clusters, and a sparse copy into a raw file or
 * block device. Anything it does not understand is refused with a one-line
 * reason: backing files, external data files, encryption, other compression
 * types, extended L2 entries, unknown incompatible features.
 *
 * Memory stays bounded whatever the image says: the L1 table is at most
 * QCOW2_MAX_L1_BYTES and must lie inside the file, at most QCOW2_L2_CACHE
 * L2 tables (and 8 MiB of them) are kept, and a compressed cluster inflates
 * into one cluster. The dirty bit (lazy refcounts) is accepted: refcounts
 * are never read, the L1/L2 tables stay valid. Internal snapshots are ignored.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* a header claiming more than this is refused */
#define QCOW2_MAX_VIRTUAL_SIZE (UINT64_C(64) << 40)
/* the largest L1 table we load (qemu's own limit) */
#define QCOW2_MAX_L1_BYTES (UINT64_C(32) << 20)
/* L2 tables kept in memory (least recently used is replaced) */
#define QCOW2_L2_CACHE 16

struct qcow2;

enum qcow2_extent_kind {
	QCOW2_EXTENT_ZERO,       /* zero flag or unallocated: reads as zeros */
	QCOW2_EXTENT_DATA,       /* stored as is at host_offset */
	QCOW2_EXTENT_COMPRESSED, /* one zlib-compressed cluster */
};

struct qcow2_extent {
	enum qcow2_extent_kind kind;
	uint64_t length;      /* bytes from the asked guest offset to the end of the run */
	uint64_t host_offset; /* DATA: where the asked guest offset is; COMPRESSED: start of the data */
	uint64_t compressed_size; /* COMPRESSED: bytes at host_offset holding the cluster */
};

/* Reads and validates the header of the image in fd (file_size bytes long;
 * the fd is borrowed and must outlive the reader). Returns 0 and *ret, or
 * -EBADMSG (malformed), -EOPNOTSUPP (valid but not supported here), -EFBIG
 * (absurd sizes) or an I/O error, with a one-line reason in err. */
int qcow2_open(int fd, uint64_t file_size, struct qcow2 **ret, char *err, size_t errlen);
void qcow2_close(struct qcow2 *q);
static inline void qcow2_closep(struct qcow2 **q)
{
	if (*q)
		qcow2_close(*q);
}
#define _cleanup_qcow2_ __attribute__((cleanup(qcow2_closep)))

uint64_t qcow2_virtual_size(const struct qcow2 *q);
uint32_t qcow2_cluster_size(const struct qcow2 *q);
/* The reason of the last failure of a call on q ("" when none). */
const char *qcow2_error(const struct qcow2 *q);

/* Describes the run of clusters of one kind containing guest offset off
 * (< virtual size); runs end at an L2 table boundary at the latest. Returns 0
 * or -EBADMSG for a hostile table entry, or an I/O error. */
int qcow2_read_extent(struct qcow2 *q, uint64_t off, struct qcow2_extent *ext);

/* Reads guest bytes [off, off+len), which must lie within the virtual size
 * (-EINVAL otherwise). Returns 0 or a negative errno as qcow2_read_extent. */
int qcow2_read(struct qcow2 *q, uint64_t off, void *buf, size_t len);

/* Called between chunks with the guest bytes done so far of the total. */
typedef void (*qcow2_progress_fn)(uint64_t done, uint64_t total, void *userdata);

/* Writes the whole virtual disk into out_fd at offset 0, skipping zero and
 * unallocated runs and all-zero blocks, so out_fd must already read as zeros
 * (a new file or a fresh sparse volume); a regular file is extended to the
 * virtual size, its skipped ranges stay holes. progress may be NULL; cancel
 * (may be NULL) is checked between chunks and stops with -ECANCELED. */
int qcow2_copy_to_raw(struct qcow2 *q, int out_fd, qcow2_progress_fn progress, void *userdata,
		      const atomic_bool *cancel);
