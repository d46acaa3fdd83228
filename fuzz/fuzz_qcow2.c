/* SPDX-License-Identifier: MIT */
/*
 * The qcow2 reader on hostile images: the bytes go into a memfd, the reader
 * opens them and walks the extents of the whole disk (bounded in count) and
 * reads the first MiBs. Every call returns 0 or a negative errno with a
 * message; extents stay inside the disk and reads never run out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EXTENTS 4096
#define READ_BYTES (4U << 20)
#define READ_CHUNK (96U << 10) /* not a power of two: reads cross clusters */

static int image_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;

	if (fd < 0)
		fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	return fd;
}

static void check_error(struct qcow2 *q, int r)
{
	if (r > 0 || r == -EFAULT || qcow2_error(q)[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[READ_CHUNK];
	int fd = image_fd(data, size);
	struct qcow2_extent ext;
	struct qcow2 *q = NULL;
	char err[256] = "";
	uint64_t off, vsize;
	int r;

	r = qcow2_open(fd, size, &q, err, sizeof(err));
	if (r < 0) {
		if (err[0] == '\0' || q)
			abort();
		return 0;
	}
	vsize = qcow2_virtual_size(q);
	if (vsize > QCOW2_MAX_VIRTUAL_SIZE)
		abort();

	off = 0;
	for (unsigned n = 0; n < MAX_EXTENTS && off < vsize; n++) {
		r = qcow2_read_extent(q, off, &ext);
		if (r < 0) {
			check_error(q, r);
			/* go on after the broken cluster */
			off = (off | (qcow2_cluster_size(q) - 1)) + 1;
			continue;
		}
		if (ext.length == 0 || ext.length > vsize - off ||
		    (ext.kind == QCOW2_EXTENT_COMPRESSED &&
		     (ext.compressed_size == 0 || ext.compressed_size > 2 * qcow2_cluster_size(q))) ||
		    (ext.kind == QCOW2_EXTENT_COMPRESSED && ext.host_offset >= size) ||
		    (ext.kind == QCOW2_EXTENT_DATA &&
		     ext.host_offset - (off & (qcow2_cluster_size(q) - 1)) >= size))
			abort();
		off += ext.length;
	}

	for (off = 0; off < vsize && off < READ_BYTES; off += READ_CHUNK) {
		size_t n = vsize - off < READ_CHUNK ? (size_t)(vsize - off) : READ_CHUNK;
		r = qcow2_read(q, off, buf, n);
		if (r < 0)
			check_error(q, r);
	}
	if (vsize > 0 && qcow2_read(q, vsize - 1, buf, 2) != -EINVAL)
		abort();
	qcow2_close(q);
	return 0;
}
