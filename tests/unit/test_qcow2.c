/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of zfs/qcow2.c on small images built here byte by byte: the
 * lookup of data, zero, unallocated and compressed clusters, run merging,
 * the L2 cache, the sparse copy with progress and cancel, every refusal of
 * the header, and hostile L1/L2 entries.
 *
 * Layout of the images: cluster 0 header, cluster 1 the L1 table, cluster 2
 * the first L2 table, data from cluster 3 on (C is the cluster size).
 */
#include <endian.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>

#include "qcow2.h"
#include "tap.h"
#include "util.h"

#define COPIED (UINT64_C(1) << 63)

struct image {
	uint8_t *b;
	size_t len;
	unsigned cluster_bits;
	size_t c; /* cluster size */
};

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* A valid empty image of `clusters` clusters with L1 at cluster 1. */
static struct image image_new(unsigned version, unsigned cluster_bits, uint64_t size,
			      size_t clusters)
{
	struct image im = { .cluster_bits = cluster_bits, .c = (size_t)1 << cluster_bits };
	uint64_t coverage = UINT64_C(1) << (2 * cluster_bits - 3);

	im.len = clusters * im.c;
	im.b = xcalloc(1, im.len);
	memcpy(im.b, "QFI\xfb", 4);
	put32(im.b + 4, version);
	put32(im.b + 20, cluster_bits);
	put64(im.b + 24, size);
	put32(im.b + 36, (uint32_t)MAX((size + coverage - 1) / coverage, 1));
	put64(im.b + 40, im.c);
	if (version == 3) {
		put32(im.b + 96, 4);
		put32(im.b + 100, 104);
	}
	return im;
}

static void set_l1(struct image *im, unsigned i, uint64_t v)
{
	put64(im->b + im->c + 8 * i, v);
}

static void set_l2(struct image *im, unsigned table_cluster, unsigned i, uint64_t v)
{
	put64(im->b + table_cluster * im->c + 8 * i, v);
}

static int memfd_of(const uint8_t *b, size_t len)
{
	int fd = memfd_create("qcow2-test", MFD_CLOEXEC);

	if (fd < 0 || write(fd, b, len) != (ssize_t)len)
		abort();
	return fd;
}

/* Opens the image; on success *fd stays open for the reader. */
static int image_open(const struct image *im, struct qcow2 **q, int *fd, char *err)
{
	int r;

	*fd = memfd_of(im->b, im->len);
	r = qcow2_open(*fd, im->len, q, err, 256);
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

/* The image must be refused with want_r and a message containing want_msg. */
#define CHECK_REFUSED(im, want_r, want_msg)                                  \
	do {                                                                 \
		struct qcow2 *q_ = NULL;                                     \
		char err_[256] = "";                                         \
		int fd_;                                                     \
		CHECK_INT(image_open(&(im), &q_, &fd_, err_), want_r);        \
		if (!strstr(err_, want_msg))                                 \
			fprintf(stderr, "message: %s\n", err_);               \
		CHECK(strstr(err_, want_msg));                               \
		if (q_) {                                                    \
			qcow2_close(q_);                                     \
			close(fd_);                                          \
		}                                                            \
	} while (0)

/* Opens (must succeed) and reads len bytes at off: returns the read's result. */
static int read_image(const struct image *im, uint64_t off, void *buf, size_t len, char *err)
{
	struct qcow2 *q;
	int fd, r;

	r = image_open(im, &q, &fd, err);
	CHECK_INT(r, 0);
	if (r < 0)
		return r;
	r = qcow2_read(q, off, buf, len);
	snprintf(err, 256, "%s", qcow2_error(q));
	qcow2_close(q);
	close(fd);
	return r;
}

static void test_data_zero_unallocated(unsigned version)
{
	struct image im = image_new(version, 9, 64 << 10, 6);
	uint8_t buf[4096], want[4096] = {};
	struct qcow2_extent ext;
	struct qcow2 *q;
	char err[256];
	int fd;

	set_l1(&im, 0, 2 * im.c | COPIED);
	/* guest clusters 0,1 -> host 3,4 (contiguous); 3 -> host 5; 2 and the rest unallocated */
	set_l2(&im, 2, 0, 3 * im.c | COPIED);
	set_l2(&im, 2, 1, 4 * im.c | COPIED);
	set_l2(&im, 2, 3, 5 * im.c);
	memset(im.b + 3 * im.c, 0xa1, im.c);
	memset(im.b + 4 * im.c, 0xa2, im.c);
	memset(im.b + 5 * im.c, 0xa3, im.c);

	CHECK_INT(image_open(&im, &q, &fd, err), 0);
	CHECK_U64(qcow2_virtual_size(q), 64 << 10);
	CHECK_U64(qcow2_cluster_size(q), 512);

	CHECK_INT(qcow2_read_extent(q, 100, &ext), 0);
	CHECK_INT(ext.kind, QCOW2_EXTENT_DATA);
	CHECK_U64(ext.length, 1024 - 100);
	CHECK_U64(ext.host_offset, 3 * 512 + 100);
	CHECK_INT(qcow2_read_extent(q, 1024, &ext), 0);
	CHECK_INT(ext.kind, QCOW2_EXTENT_ZERO);
	CHECK_U64(ext.length, 512);
	CHECK_INT(qcow2_read_extent(q, 1536, &ext), 0);
	CHECK_INT(ext.kind, QCOW2_EXTENT_DATA);
	CHECK_U64(ext.length, 512);
	CHECK_U64(ext.host_offset, 5 * 512);
	/* the rest of the L2 table (32 KiB) and the unallocated second L1 entry: one run */
	CHECK_INT(qcow2_read_extent(q, 2048, &ext), 0);
	CHECK_INT(ext.kind, QCOW2_EXTENT_ZERO);
	CHECK_U64(ext.length, (32 << 10) - 2048);
	CHECK_INT(qcow2_read_extent(q, 32 << 10, &ext), 0);
	CHECK_INT(ext.kind, QCOW2_EXTENT_ZERO);
	CHECK_U64(ext.length, 32 << 10);
	CHECK_INT(qcow2_read_extent(q, 64 << 10, &ext), -EINVAL);

	CHECK_INT(qcow2_read(q, 0, buf, sizeof(buf)), 0);
	memset(want, 0xa1, 512);
	memset(want + 512, 0xa2, 512);
	memset(want + 1536, 0xa3, 512);
	CHECK_MEM(buf, want, sizeof(buf));
	CHECK_INT(qcow2_read(q, (64 << 10) - 10, buf, 10), 0);
	CHECK_INT(qcow2_read(q, (64 << 10) - 10, buf, 11), -EINVAL);
	qcow2_close(q);
	close(fd);
	free(im.b);
}

static void test_zero_flag(void)
{
	struct image im = image_new(3, 9, 4096, 4);
	uint8_t buf[512], zeros[512] = {};
	char err[256];

	set_l1(&im, 0, 2 * im.c);
	/* zero flag on an allocated cluster: the data there do not count */
	set_l2(&im, 2, 0, 3 * im.c | 1);
	memset(im.b + 3 * im.c, 0xff, im.c);
	CHECK_INT(read_image(&im, 0, buf, sizeof(buf), err), 0);
	CHECK_MEM(buf, zeros, sizeof(buf));

	/* version 2 has no zero flag: the bit is reserved */
	put32(im.b + 4, 2);
	CHECK_INT(read_image(&im, 0, buf, sizeof(buf), err), -EBADMSG);
	CHECK(strstr(err, "zero flag"));
	free(im.b);
}

/* Raw deflate of one cluster as qemu writes it, placed at host offset at. */
static uint64_t put_compressed(struct image *im, const uint8_t *data, size_t at)
{
	z_stream zs = {};
	uint64_t sectors;
	size_t n;

	CHECK_INT(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
			       Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (uint8_t *)data;
	zs.avail_in = (uInt)im->c;
	zs.next_out = im->b + at;
	zs.avail_out = (uInt)(im->len - at);
	CHECK_INT(deflate(&zs, Z_FINISH), Z_STREAM_END);
	n = zs.total_out;
	deflateEnd(&zs);
	sectors = ((at + n - 1) >> 9) - (at >> 9);
	return (UINT64_C(1) << 62) | (sectors << (70 - im->cluster_bits)) | at;
}

static void test_compressed(void)
{
	struct image im = image_new(3, 12, 3 * 4096, 6);
	uint8_t cluster[4096], buf[3 * 4096];
	uint64_t desc;
	char err[256];

	for (size_t i = 0; i < sizeof(cluster); i++)
		cluster[i] = (uint8_t)(i * 7 / 13);
	set_l1(&im, 0, 2 * im.c);
	/* not sector aligned, as qemu packs compressed clusters */
	desc = put_compressed(&im, cluster, 3 * im.c + 100);
	set_l2(&im, 2, 1, desc);
	CHECK_INT(read_image(&im, 0, buf, sizeof(buf), err), 0);
	CHECK_MEM(buf + 4096, cluster, 4096);
	CHECK(buf[0] == 0 && buf[4095] == 0 && buf[8192] == 0);
	CHECK_INT(read_image(&im, 4096 + 1000, buf, 100, err), 0);
	CHECK_MEM(buf, cluster + 1000, 100);

	/* the same cluster mapped twice is fine (no chains involved) */
	set_l2(&im, 2, 2, desc);
	CHECK_INT(read_image(&im, 0, buf, sizeof(buf), err), 0);
	CHECK_MEM(buf + 8192, cluster, 4096);
	set_l2(&im, 2, 2, 0);

	/* damaged deflate data */
	memset(im.b + 3 * im.c + 100, 0xff, 64); /* BTYPE 11: invalid */
	CHECK_INT(read_image(&im, 4096, buf, 10, err), -EBADMSG);
	CHECK(strstr(err, "does not inflate"));
	/* data inflating to less than a cluster */
	memset(im.b + 3 * im.c, 0, 2 * im.c);
	static const uint8_t tiny[512] = { 1 };
	struct image small = im;
	small.c = 512;
	set_l2(&im, 2, 1, put_compressed(&small, tiny, 3 * im.c));
	CHECK_INT(read_image(&im, 4096, buf, 10, err), -EBADMSG);
	/* pointing into the header or past the end; an absurd sector count is
	 * clamped to the file and the data do not inflate */
	set_l2(&im, 2, 1, (UINT64_C(1) << 62) | 64);
	CHECK_INT(read_image(&im, 4096, buf, 10, err), -EBADMSG);
	CHECK(strstr(err, "into the header"));
	set_l2(&im, 2, 1, (UINT64_C(1) << 62) | im.len);
	CHECK_INT(read_image(&im, 4096, buf, 10, err), -EBADMSG);
	CHECK(strstr(err, "past the end"));
	set_l2(&im, 2, 1, (UINT64_C(1) << 62) | (UINT64_C(0xf) << 58) | (3 * im.c));
	CHECK_INT(read_image(&im, 4096, buf, 10, err), -EBADMSG);
	free(im.b);
}

static void test_run_merging_and_partial_last_cluster(void)
{
	/* 3 clusters and 100 bytes: the last cluster is cut by the virtual size */
	struct image im = image_new(2, 9, 3 * 512 + 100, 8);
	struct qcow2_extent ext;
	struct qcow2 *q;
	char err[256];
	int fd;

	set_l1(&im, 0, 2 * im.c);
	for (unsigned i = 0; i < 4; i++)
		set_l2(&im, 2, i, (3 + i) * im.c);
	CHECK_INT(image_open(&im, &q, &fd, err), 0);
	CHECK_INT(qcow2_read_extent(q, 0, &ext), 0);
	CHECK_INT(ext.kind, QCOW2_EXTENT_DATA);
	CHECK_U64(ext.length, 3 * 512 + 100);
	qcow2_close(q);
	close(fd);

	/* a gap in the host offsets splits the run */
	set_l2(&im, 2, 2, 7 * im.c);
	CHECK_INT(image_open(&im, &q, &fd, err), 0);
	CHECK_INT(qcow2_read_extent(q, 0, &ext), 0);
	CHECK_U64(ext.length, 1024);
	qcow2_close(q);
	close(fd);

	/* a data cluster the file does not fully cover reads as zeros past its end */
	uint8_t buf[512];
	set_l2(&im, 2, 2, 0);
	set_l2(&im, 2, 3, 7 * im.c);
	im.len = 7 * im.c + 10;
	memset(im.b + 7 * im.c, 0x77, im.c);
	CHECK_INT(read_image(&im, 3 * 512, buf, 100, err), 0);
	CHECK(buf[9] == 0x77 && buf[10] == 0 && buf[99] == 0);
	free(im.b);
}

static void test_l2_cache(void)
{
	/* 40 L2 tables (512-byte clusters: 32 KiB each), more than the cache holds */
	enum { TABLES = 40 };
	struct image im = image_new(3, 9, TABLES * (32 << 10), 2 + 2 * TABLES);
	uint8_t buf[512];
	struct qcow2 *q;
	char err[256];
	int fd;

	for (unsigned t = 0; t < TABLES; t++) {
		unsigned l2 = 2 + 2 * t, data = l2 + 1;
		set_l1(&im, t, (uint64_t)l2 * im.c);
		set_l2(&im, l2, t % 64, (uint64_t)data * im.c);
		memset(im.b + data * im.c, 0x10 + t, im.c);
	}
	CHECK_INT(image_open(&im, &q, &fd, err), 0);
	for (int pass = 0; pass < 3; pass++)
		for (unsigned k = 0; k < TABLES; k++) {
			unsigned t = pass == 1 ? TABLES - 1 - k : (k * 7) % TABLES;
			uint64_t off = (uint64_t)t * (32 << 10) + (t % 64) * 512;
			CHECK_INT(qcow2_read(q, off, buf, 512), 0);
			CHECK(buf[0] == 0x10 + t && buf[511] == 0x10 + t);
			CHECK_INT(qcow2_read(q, off + 512 * ((t % 64) ? -1 : 1), buf, 1), 0);
			CHECK(buf[0] == 0);
		}
	qcow2_close(q);
	close(fd);
	free(im.b);
}

static uint64_t last_done, last_total;
static unsigned progress_calls;

static void on_progress(uint64_t done, uint64_t total, void *userdata)
{
	CHECK(done > last_done && done <= total);
	last_done = done;
	last_total = total;
	progress_calls++;
	if (userdata)
		atomic_store((atomic_bool *)userdata, true);
}

static void test_copy_to_raw(void)
{
	/* 4 MiB virtual, 64 KiB clusters: one data cluster, one all-zero data cluster */
	struct image im = image_new(3, 16, 4 << 20, 6);
	_cleanup_free_ uint8_t *out = xmalloc(4 << 20);
	atomic_bool cancel = false;
	struct qcow2 *q;
	struct stat st;
	char err[256];
	int fd, out_fd;

	set_l1(&im, 0, 2 * im.c);
	set_l2(&im, 2, 16, 3 * im.c); /* guest 1 MiB */
	set_l2(&im, 2, 17, 4 * im.c); /* zeros stored as data: not written */
	memset(im.b + 3 * im.c + 4096, 0xab, 8192);
	CHECK_INT(image_open(&im, &q, &fd, err), 0);

	out_fd = memfd_create("qcow2-out", MFD_CLOEXEC);
	CHECK_INT(qcow2_copy_to_raw(q, out_fd, on_progress, NULL, &cancel), 0);
	CHECK_U64(last_done, 4 << 20);
	CHECK_U64(last_total, 4 << 20);
	CHECK(fstat(out_fd, &st) == 0 && st.st_size == 4 << 20);
	/* only the 8 KiB of 0xab were written: the rest are holes */
	CHECK(st.st_blocks * 512 <= 16384);
	CHECK_INT(lseek(out_fd, 0, SEEK_DATA), (1 << 20) + 4096);
	CHECK_INT(pread(out_fd, out, 4 << 20, 0), 4 << 20);
	for (size_t i = 0; i < (4 << 20); i++)
		if (out[i] != ((i >= (1 << 20) + 4096 && i < (1 << 20) + 12288) ? 0xab : 0)) {
			CHECK(!"output differs");
			break;
		}
	close(out_fd);

	/* cancel: stops before the end with -ECANCELED */
	out_fd = memfd_create("qcow2-out", MFD_CLOEXEC);
	last_done = 0;
	CHECK_INT(qcow2_copy_to_raw(q, out_fd, on_progress, &cancel, &cancel), -ECANCELED);
	CHECK(last_done < (4 << 20));
	close(out_fd);

	/* a write error is reported with its errno */
	CHECK_INT(qcow2_copy_to_raw(q, -1, NULL, NULL, NULL), -EBADF);
	CHECK(strstr(qcow2_error(q), "writing"));
	qcow2_close(q);
	close(fd);
	free(im.b);
}

static void test_header_refusals(void)
{
	struct image im;

	im = image_new(3, 9, 4096, 4);
	im.b[0] = 'X';
	CHECK_REFUSED(im, -EBADMSG, "not a qcow2 image");
	im.len = 40;
	im.b[0] = 'Q';
	CHECK_REFUSED(im, -EBADMSG, "not a qcow2 image");
	im.len = 80;
	CHECK_REFUSED(im, -EBADMSG, "too short for a version 3 header");
	free(im.b);

	for (unsigned v = 0; v < 6; v++) {
		if (v == 2 || v == 3)
			continue;
		im = image_new(v, 9, 4096, 4);
		CHECK_REFUSED(im, -EOPNOTSUPP, "version");
		free(im.b);
	}
	im = image_new(3, 9, 4096, 4);
	put32(im.b + 20, 8);
	CHECK_REFUSED(im, -EBADMSG, "cluster_bits 8");
	put32(im.b + 20, 22);
	CHECK_REFUSED(im, -EBADMSG, "cluster_bits 22");
	put32(im.b + 20, 9);

	/* a header claiming petabytes */
	put64(im.b + 24, UINT64_C(1) << 50);
	CHECK_REFUSED(im, -EFBIG, "above the limit of 64 TiB");
	put64(im.b + 24, UINT64_MAX);
	CHECK_REFUSED(im, -EFBIG, "above the limit");
	/* 256 GiB with 512-byte clusters needs a 64 MiB L1 table */
	put64(im.b + 24, UINT64_C(256) << 30);
	put32(im.b + 36, UINT32_MAX);
	CHECK_REFUSED(im, -EFBIG, "L1 table of");
	put64(im.b + 24, 4096);
	put32(im.b + 36, 1);

	put32(im.b + 32, 1);
	CHECK_REFUSED(im, -EOPNOTSUPP, "encrypted images are not supported (AES");
	put32(im.b + 32, 2);
	CHECK_REFUSED(im, -EOPNOTSUPP, "encrypted images are not supported (LUKS");
	put32(im.b + 32, 0);

	memcpy(im.b + 400, "base.qcow2", 10);
	put64(im.b + 8, 400);
	put32(im.b + 16, 10);
	CHECK_REFUSED(im, -EOPNOTSUPP, "backing files are not supported (the image depends on \"base.qcow2\")");
	put32(im.b + 16, 200); /* the name would leave the header cluster */
	CHECK_REFUSED(im, -EBADMSG, "backing file name");
	put64(im.b + 8, 0);
	put32(im.b + 16, 0);

	put32(im.b + 96, 7);
	CHECK_REFUSED(im, -EBADMSG, "refcount_order");
	put32(im.b + 96, 4);
	put64(im.b + 48, 100);
	CHECK_REFUSED(im, -EBADMSG, "refcount table offset");
	put64(im.b + 48, 0);

	put32(im.b + 100, 100);
	CHECK_REFUSED(im, -EBADMSG, "header_length");
	put32(im.b + 100, 108);
	CHECK_REFUSED(im, -EBADMSG, "header_length");
	put32(im.b + 100, 1024);
	CHECK_REFUSED(im, -EBADMSG, "header_length");
	/* a compression type byte (header_length 112): zstd is 1 */
	put32(im.b + 100, 112);
	im.b[104] = 1;
	CHECK_REFUSED(im, -EOPNOTSUPP, "compression type 1");
	im.b[104] = 0;
	put64(im.b + 72, 1 << 3);
	CHECK_REFUSED(im, -EBADMSG, "compression type bit");
	put32(im.b + 100, 104);

	/* incompatible features */
	put64(im.b + 72, 1 << 0); /* dirty: read-only use is fine */
	CHECK_REFUSED(im, 0, "");
	put64(im.b + 72, 1 << 1);
	CHECK_REFUSED(im, -EOPNOTSUPP, "marked corrupt");
	put64(im.b + 72, 1 << 4);
	CHECK_REFUSED(im, -EOPNOTSUPP, "extended L2");
	put64(im.b + 72, 1 << 2);
	/* extension: external data file name */
	put32(im.b + 104, 0x44415441);
	put32(im.b + 108, 8);
	memcpy(im.b + 112, "data.raw", 8);
	CHECK_REFUSED(im, -EOPNOTSUPP, "external data files are not supported (data in \"data.raw\")");
	/* an unknown bit, named by the image's feature name table */
	put64(im.b + 72, UINT64_C(1) << 9);
	put32(im.b + 120, 0x6803f857);
	put32(im.b + 124, 48);
	im.b[128] = 0;
	im.b[129] = 9;
	memcpy(im.b + 130, "time travel", 11);
	CHECK_REFUSED(im, -EOPNOTSUPP, "unknown incompatible feature bit 9 (\"time travel\")");
	put64(im.b + 72, 0);
	CHECK_REFUSED(im, 0, "");
	/* an extension overrunning the header cluster */
	put32(im.b + 124, 400);
	CHECK_REFUSED(im, -EBADMSG, "overruns the header cluster");
	put32(im.b + 124, UINT32_MAX);
	CHECK_REFUSED(im, -EBADMSG, "overruns the header cluster");
	free(im.b);
}

static void test_l1_refusals(void)
{
	struct image im = image_new(2, 9, 64 << 10, 4);

	put32(im.b + 36, 1); /* 64 KiB needs 2 entries */
	CHECK_REFUSED(im, -EBADMSG, "the L1 table has 1 entries, the virtual size needs 2");
	put32(im.b + 36, 2);
	CHECK_REFUSED(im, 0, "");
	put32(im.b + 36, 1000000); /* more than needed is fine, unused */
	CHECK_REFUSED(im, 0, "");
	put64(im.b + 40, 100);
	CHECK_REFUSED(im, -EBADMSG, "not cluster aligned");
	put64(im.b + 40, 0);
	CHECK_REFUSED(im, -EBADMSG, "overlaps the header");
	put64(im.b + 40, 4 * 512);
	CHECK_REFUSED(im, -EBADMSG, "past the end of the file");
	put64(im.b + 40, UINT64_MAX & ~UINT64_C(511));
	CHECK_REFUSED(im, -EBADMSG, "past the end of the file");
	put64(im.b + 40, 3 * 512);
	CHECK_REFUSED(im, 0, "");
	/* a zero-sized image needs no L1 table at all */
	put64(im.b + 24, 0);
	put32(im.b + 36, 0);
	put64(im.b + 40, 0);
	CHECK_REFUSED(im, 0, "");
	free(im.b);
}

static void test_hostile_entries(void)
{
	struct image im = image_new(3, 9, 4096, 5);
	uint8_t buf[512];
	char err[256];

	set_l1(&im, 0, 2 * im.c | (UINT64_C(1) << 60));
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "L1 entry 0 has reserved bits"));
	set_l1(&im, 0, 2 * im.c + 512 * 64);
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "past the end of the file"));
	set_l1(&im, 0, UINT64_C(0x00fffffffffffe00));
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "past the end of the file"));

	set_l1(&im, 0, 2 * im.c);
	set_l2(&im, 2, 0, 3 * im.c | (1 << 5));
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "reserved bits"));
	set_l2(&im, 2, 0, 3 * im.c | (UINT64_C(1) << 57));
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	set_l2(&im, 2, 0, 5 * im.c);
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "data cluster of guest offset 0 points past the end of the file"));
	set_l2(&im, 2, 0, UINT64_C(0x00fffffffffffe00));
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	/* the L2 table itself as a data cluster: harmless, it reads the table */
	set_l2(&im, 2, 0, 2 * im.c);
	CHECK_INT(read_image(&im, 0, buf, 8, err), 0);
	/* an L2 entry after a valid one is only checked when reached */
	set_l2(&im, 2, 0, 3 * im.c);
	set_l2(&im, 2, 1, 3 * im.c | 2);
	CHECK_INT(read_image(&im, 0, buf, 512, err), 0);
	CHECK_INT(read_image(&im, 512, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "guest offset 512"));
	free(im.b);

	/* misaligned pointers need clusters larger than the 512-byte granule */
	im = image_new(3, 12, 16384, 5);
	set_l1(&im, 0, 2 * im.c + 512);
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "not cluster aligned"));
	set_l1(&im, 0, 2 * im.c);
	set_l2(&im, 2, 0, 3 * im.c + 1024);
	CHECK_INT(read_image(&im, 0, buf, 1, err), -EBADMSG);
	CHECK(strstr(err, "not cluster aligned"));
	free(im.b);
}

int main(void)
{
	test_data_zero_unallocated(2);
	test_data_zero_unallocated(3);
	test_zero_flag();
	test_compressed();
	test_run_merging_and_partial_last_cluster();
	test_l2_cache();
	test_copy_to_raw();
	test_header_refusals();
	test_l1_refusals();
	test_hostile_entries();
	return test_done();
}
