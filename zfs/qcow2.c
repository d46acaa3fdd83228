/* SPDX-License-Identifier: MIT */
/*
 * Read-only qcow2 reader (see qcow2.h). Layout facts follow the qcow2
 * specification in qemu's docs/interop/qcow2.txt: a big-endian header in the
 * first cluster, a one-level L1 table of L2 table offsets, L2 tables of
 * 8-byte cluster descriptors. Every offset read from the image is checked
 * before it is used; nothing follows chains, so each guest offset costs at
 * most one L2 table read.
 */
#include "qcow2.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <zlib.h>

#include "util.h"

#define QCOW2_MAGIC 0x514649fbU /* "QFI\xfb" */
#define V2_HEADER_LEN 72
#define V3_HEADER_LEN 104
#define MIN_CLUSTER_BITS 9
#define MAX_CLUSTER_BITS 21
#define MAX_BACKING_NAME 1023
/* L2 tables kept at once, in bytes: 16 tables of 64 KiB, 4 of 2 MiB */
#define L2_CACHE_BYTES (8U << 20)
/* guest bytes copied per read in qcow2_copy_to_raw */
#define COPY_CHUNK (1U << 20)
/* granularity at which copied data are checked for zeros (holes) */
#define ZERO_BLOCK 4096

/* header extension types */
#define EXT_END 0x00000000U
#define EXT_DATA_FILE 0x44415441U
#define EXT_FEATURE_NAMES 0x6803f857U

/* v3 incompatible feature bits */
#define INCOMPAT_DIRTY (UINT64_C(1) << 0)
#define INCOMPAT_CORRUPT (UINT64_C(1) << 1)
#define INCOMPAT_DATA_FILE (UINT64_C(1) << 2)
#define INCOMPAT_COMPRESSION (UINT64_C(1) << 3)
#define INCOMPAT_EXTL2 (UINT64_C(1) << 4)

/* L1 entry: bits 9-55 the L2 table offset, bit 63 "copied", the rest reserved */
#define L1E_OFFSET_MASK UINT64_C(0x00fffffffffffe00)
#define L1E_RESERVED UINT64_C(0x7f000000000001ff)
/* standard L2 entry: bit 0 zero (v3), bits 9-55 the offset, bits 1-8 and 56-61 reserved */
#define L2E_COMPRESSED (UINT64_C(1) << 62)
#define L2E_ZERO UINT64_C(1)
#define L2E_OFFSET_MASK UINT64_C(0x00fffffffffffe00)
#define L2E_RESERVED UINT64_C(0x3f000000000001fe)

struct l2_slot {
	uint64_t host_offset; /* 0: slot empty (no L2 table lives in the header cluster) */
	uint64_t last_use;
	uint64_t *table;      /* big-endian entries as on disk */
};

struct qcow2 {
	int fd;
	uint64_t file_size;
	uint64_t virtual_size;
	unsigned version;
	unsigned cluster_bits;
	uint32_t cluster_size;
	unsigned l2_bits;      /* log2 of the entries per L2 table */
	uint64_t *l1;          /* host-endian, the entries the virtual size needs */
	uint64_t l1_entries;

	struct l2_slot l2[QCOW2_L2_CACHE];
	unsigned n_l2_slots;
	uint64_t use_clock;

	/* the last inflated compressed cluster, by its host offset */
	uint8_t *inflated;
	uint64_t inflated_host; /* 0: none */
	uint64_t inflated_csize;
	uint8_t *compressed;    /* room for the largest descriptor: two clusters */
	z_stream zs;
	bool zs_ready;

	char err[512];
};

/* A decoded L2 entry. */
struct cluster {
	enum qcow2_extent_kind kind;
	uint64_t host;  /* DATA: cluster start; COMPRESSED: data start */
	uint64_t csize; /* COMPRESSED: bytes of compressed data in the file */
};

/* Records the reason of a failure in q->err and returns r. */
static int PRINTF_FMT(3, 4) fail(struct qcow2 *q, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
	return r;
}

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* Reads len bytes of the image at off. Bytes past the end of the file read
 * as zeros, as in qemu: the last data cluster need not be fully written out. */
static int read_at(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(q->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(q, -errno, "reading the image at offset %" PRIu64 ": %s",
				    off + done, strerror(errno));
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	memset((uint8_t *)buf + done, 0, len - done);
	return 0;
}

/* Copies a name from the image for a message, replacing what is not printable. */
static void printable_name(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	size_t i;

	n = MIN(n, outlen - 1);
	for (i = 0; i < n && p[i]; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[i] = '\0';
}

/* What the header extensions tell us for messages about refused features. */
struct header_exts {
	char data_file[160];
	const uint8_t *feature_names; /* the feature name table, 48-byte entries */
	size_t n_feature_names;
};

/* Walks the header extensions in hdr[start, end) with bounds checks. */
static int parse_header_exts(struct qcow2 *q, const uint8_t *hdr, size_t start, size_t end,
			     struct header_exts *exts)
{
	size_t off = start;

	while (end >= 8 && off <= end - 8) {
		uint32_t type = get_be32(hdr + off), len = get_be32(hdr + off + 4);
		const uint8_t *data = hdr + off + 8;

		if (type == EXT_END)
			return 0;
		if (len > end - off - 8)
			return fail(q, -EBADMSG,
				    "header extension 0x%08x at offset %zu overruns the header cluster",
				    type, off);
		if (type == EXT_DATA_FILE)
			printable_name(exts->data_file, sizeof(exts->data_file), data, len);
		else if (type == EXT_FEATURE_NAMES) {
			exts->feature_names = data;
			exts->n_feature_names = len / 48;
		}
		/* each extension is padded to a multiple of 8 bytes */
		off += 8 + (((size_t)len + 7) & ~(size_t)7);
	}
	return 0;
}

/* The name of incompatible feature bit from the image's own table, or "". */
static void feature_name(const struct header_exts *exts, unsigned bit, char *out, size_t outlen)
{
	out[0] = '\0';
	for (size_t i = 0; i < exts->n_feature_names; i++) {
		const uint8_t *e = exts->feature_names + i * 48;
		if (e[0] == 0 /* incompatible */ && e[1] == bit) {
			printable_name(out, outlen, e + 2, 46);
			return;
		}
	}
}

/* Refuses v3 features that change how clusters are found or decoded. */
static int check_features(struct qcow2 *q, uint64_t incompat, unsigned compression_type,
			  const struct header_exts *exts)
{
	char name[47];

	if (incompat & INCOMPAT_CORRUPT)
		return fail(q, -EOPNOTSUPP,
			    "the image is marked corrupt (qemu-img check -r all may repair it)");
	if (incompat & INCOMPAT_DATA_FILE)
		return fail(q, -EOPNOTSUPP, "external data files are not supported (data in \"%s\")",
			    exts->data_file);
	if ((incompat & INCOMPAT_COMPRESSION) && compression_type == 0)
		return fail(q, -EBADMSG, "the compression type bit is set but the type is zlib");
	if (compression_type != 0)
		return fail(q, -EOPNOTSUPP,
			    "compression type %u is not supported, only zlib (0): "
			    "convert with qemu-img convert -o compression_type=zlib",
			    compression_type);
	if (incompat & INCOMPAT_EXTL2)
		return fail(q, -EOPNOTSUPP, "extended L2 entries (subclusters) are not supported");
	/* The dirty bit only says refcounts may be stale (lazy refcounts); the
	 * L1/L2 tables are valid, and we never write or trust refcounts. */
	incompat &= ~INCOMPAT_DIRTY;
	if (incompat) {
		unsigned bit = (unsigned)__builtin_ctzll(incompat);
		feature_name(exts, bit, name, sizeof(name));
		return fail(q, -EOPNOTSUPP, "unknown incompatible feature bit %u%s%s%s", bit,
			    name[0] ? " (\"" : "", name, name[0] ? "\")" : "");
	}
	return 0;
}

/* Validates the header in hdr (hdr_len bytes read, up to one cluster) and
 * fills q's geometry. */
static int parse_header(struct qcow2 *q, const uint8_t *hdr, size_t hdr_len)
{
	uint64_t backing_offset, l1_offset, refcount_offset, incompat = 0, l2_coverage, l1_needed;
	uint32_t backing_size, crypt_method, l1_size, header_length = V2_HEADER_LEN;
	unsigned refcount_order = 4, compression_type = 0;
	struct header_exts exts = {};
	int r;

	if (hdr_len < V2_HEADER_LEN || get_be32(hdr) != QCOW2_MAGIC)
		return fail(q, -EBADMSG, "not a qcow2 image (no QFI\\xfb magic)");
	q->version = get_be32(hdr + 4);
	if (q->version != 2 && q->version != 3)
		return fail(q, -EOPNOTSUPP, "qcow2 version %u is not supported (only 2 and 3)",
			    q->version);
	backing_offset = get_be64(hdr + 8);
	backing_size = get_be32(hdr + 16);
	q->cluster_bits = get_be32(hdr + 20);
	q->virtual_size = get_be64(hdr + 24);
	crypt_method = get_be32(hdr + 32);
	l1_size = get_be32(hdr + 36);
	l1_offset = get_be64(hdr + 40);
	refcount_offset = get_be64(hdr + 48);

	if (q->cluster_bits < MIN_CLUSTER_BITS || q->cluster_bits > MAX_CLUSTER_BITS)
		return fail(q, -EBADMSG, "cluster_bits %u is outside %u..%u", q->cluster_bits,
			    MIN_CLUSTER_BITS, MAX_CLUSTER_BITS);
	q->cluster_size = UINT32_C(1) << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	hdr_len = MIN(hdr_len, q->cluster_size); /* the header never leaves cluster 0 */

	if (q->version == 3) {
		if (hdr_len < V3_HEADER_LEN)
			return fail(q, -EBADMSG, "the file is too short for a version 3 header");
		incompat = get_be64(hdr + 72);
		refcount_order = get_be32(hdr + 96);
		header_length = get_be32(hdr + 100);
		if (header_length < V3_HEADER_LEN || header_length % 8 || header_length > hdr_len)
			return fail(q, -EBADMSG, "header_length %u is invalid", header_length);
		if (header_length > V3_HEADER_LEN)
			compression_type = hdr[104];
	}
	if (refcount_order > 6)
		return fail(q, -EBADMSG, "refcount_order %u is above 6", refcount_order);

	if (q->virtual_size > QCOW2_MAX_VIRTUAL_SIZE)
		return fail(q, -EFBIG, "virtual size %" PRIu64 " bytes is above the limit of %" PRIu64
			    " TiB", q->virtual_size, QCOW2_MAX_VIRTUAL_SIZE >> 40);
	if (crypt_method != 0)
		return fail(q, -EOPNOTSUPP, "encrypted images are not supported (%s encryption)",
			    crypt_method == 1 ? "AES" : crypt_method == 2 ? "LUKS" : "unknown");
	if (backing_offset != 0) {
		char name[MAX_BACKING_NAME + 1];
		if (backing_size > MAX_BACKING_NAME || backing_offset > hdr_len ||
		    backing_size > hdr_len - backing_offset)
			return fail(q, -EBADMSG, "the backing file name lies outside the header cluster");
		printable_name(name, sizeof(name), hdr + backing_offset, backing_size);
		return fail(q, -EOPNOTSUPP,
			    "backing files are not supported (the image depends on \"%s\"): "
			    "flatten it with qemu-img convert first", name);
	}

	/* with no backing file name, the extensions may fill the first cluster */
	r = parse_header_exts(q, hdr, header_length, hdr_len, &exts);
	if (r < 0)
		return r;
	r = check_features(q, incompat, compression_type, &exts);
	if (r < 0)
		return r;

	if (refcount_offset & (q->cluster_size - 1))
		return fail(q, -EBADMSG, "the refcount table offset is not cluster aligned");

	/* the L1 entries the virtual size needs; more may be declared, they are unused */
	l2_coverage = UINT64_C(1) << (q->cluster_bits + q->l2_bits);
	l1_needed = (q->virtual_size + l2_coverage - 1) >> (q->cluster_bits + q->l2_bits);
	if (l1_needed > l1_size)
		return fail(q, -EBADMSG,
			    "the L1 table has %u entries, the virtual size needs %" PRIu64, l1_size,
			    l1_needed);
	if (l1_needed * 8 > QCOW2_MAX_L1_BYTES)
		return fail(q, -EFBIG, "an L1 table of %" PRIu64 " entries is too large", l1_needed);
	if (l1_needed > 0) {
		if (l1_offset & (q->cluster_size - 1))
			return fail(q, -EBADMSG, "the L1 table offset is not cluster aligned");
		if (l1_offset < q->cluster_size)
			return fail(q, -EBADMSG, "the L1 table overlaps the header");
		if (l1_offset > q->file_size || l1_needed * 8 > q->file_size - l1_offset)
			return fail(q, -EBADMSG, "the L1 table lies past the end of the file");
	}
	q->l1_entries = l1_needed;
	q->n_l2_slots = MIN(QCOW2_L2_CACHE, MAX(1U, L2_CACHE_BYTES >> q->cluster_bits));
	return 0;
}

int qcow2_open(int fd, uint64_t file_size, struct qcow2 **ret, char *err, size_t errlen)
{
	struct qcow2 *q = xcalloc(1, sizeof(*q));
	_cleanup_free_ uint8_t *hdr = NULL;
	size_t hdr_len;
	int r;

	q->fd = fd;
	q->file_size = file_size;
	/* the header, its extensions and the backing name live in the first
	 * cluster, which is at most 2 MiB: read that much of the file at once */
	hdr_len = (size_t)MIN(file_size, (uint64_t)1 << MAX_CLUSTER_BITS);
	hdr = xmalloc(MAX(hdr_len, 1));
	r = read_at(q, hdr, hdr_len, 0);
	if (r >= 0)
		r = parse_header(q, hdr, hdr_len);
	if (r >= 0 && q->l1_entries > 0) {
		q->l1 = xmalloc(q->l1_entries * 8);
		r = read_at(q, q->l1, q->l1_entries * 8, get_be64(hdr + 40));
		for (uint64_t i = 0; r >= 0 && i < q->l1_entries; i++)
			q->l1[i] = be64toh(q->l1[i]);
	}
	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", q->err);
		qcow2_close(q);
		return r;
	}
	*ret = q;
	return 0;
}

void qcow2_close(struct qcow2 *q)
{
	if (!q)
		return;
	for (unsigned i = 0; i < QCOW2_L2_CACHE; i++)
		free(q->l2[i].table);
	if (q->zs_ready)
		inflateEnd(&q->zs);
	free(q->l1);
	free(q->inflated);
	free(q->compressed);
	free(q);
}

uint64_t qcow2_virtual_size(const struct qcow2 *q)
{
	return q->virtual_size;
}

uint32_t qcow2_cluster_size(const struct qcow2 *q)
{
	return q->cluster_size;
}

const char *qcow2_error(const struct qcow2 *q)
{
	return q->err;
}

/* Returns the L2 table at host offset l2_offset (validated by the caller)
 * from the cache, reading it into the least recently used slot on a miss. */
static int l2_table_get(struct qcow2 *q, uint64_t l2_offset, const uint64_t **ret)
{
	struct l2_slot *victim = &q->l2[0];
	int r;

	for (unsigned i = 0; i < q->n_l2_slots; i++) {
		struct l2_slot *s = &q->l2[i];
		if (s->host_offset == l2_offset) {
			s->last_use = ++q->use_clock;
			*ret = s->table;
			return 0;
		}
		if (s->last_use < victim->last_use)
			victim = s;
	}
	if (!victim->table)
		victim->table = xmalloc(q->cluster_size);
	victim->host_offset = 0;
	r = read_at(q, victim->table, q->cluster_size, l2_offset);
	if (r < 0)
		return r;
	victim->host_offset = l2_offset;
	victim->last_use = ++q->use_clock;
	*ret = victim->table;
	return 0;
}

/* Decodes the L2 entry for the guest cluster at guest, checking every bit. */
static int decode_l2_entry(struct qcow2 *q, uint64_t entry, uint64_t guest, struct cluster *c)
{
	if (entry & L2E_COMPRESSED) {
		/* bits 0..x-1 host offset, x..61 extra 512-byte sectors (x = 70 - cluster_bits) */
		unsigned x = 70 - q->cluster_bits;
		uint64_t host = entry & ((UINT64_C(1) << x) - 1);
		uint64_t sectors = (entry >> x) & ((UINT64_C(1) << (q->cluster_bits - 8)) - 1);
		uint64_t size = (sectors + 1) * 512 - (host & 511);

		if (host < q->cluster_size || host >= q->file_size)
			return fail(q, -EBADMSG,
				    "compressed cluster of guest offset %" PRIu64
				    " points %s (host offset %" PRIu64 ")",
				    guest, host < q->cluster_size ? "into the header" :
				    "past the end of the file", host);
		/* the descriptor counts whole sectors; the file may end earlier */
		*c = (struct cluster){ .kind = QCOW2_EXTENT_COMPRESSED, .host = host,
				       .csize = MIN(size, q->file_size - host) };
		return 0;
	}
	if (entry & L2E_RESERVED)
		return fail(q, -EBADMSG, "L2 entry of guest offset %" PRIu64
			    " has reserved bits set (0x%016" PRIx64 ")", guest, entry);
	if ((entry & L2E_ZERO) && q->version < 3)
		return fail(q, -EBADMSG, "L2 entry of guest offset %" PRIu64
			    " has the zero flag in a version 2 image", guest);

	uint64_t host = entry & L2E_OFFSET_MASK;
	if ((entry & L2E_ZERO) || host == 0) {
		*c = (struct cluster){ .kind = QCOW2_EXTENT_ZERO };
		return 0;
	}
	if (host & (q->cluster_size - 1))
		return fail(q, -EBADMSG, "data cluster of guest offset %" PRIu64
			    " is not cluster aligned (host offset %" PRIu64 ")", guest, host);
	if (host < q->cluster_size || host >= q->file_size)
		return fail(q, -EBADMSG, "data cluster of guest offset %" PRIu64
			    " points %s (host offset %" PRIu64 ")", guest,
			    host < q->cluster_size ? "into the header" : "past the end of the file",
			    host);
	*c = (struct cluster){ .kind = QCOW2_EXTENT_DATA, .host = host };
	return 0;
}

/* Checks L1 entry i and returns its L2 table offset, 0 when unallocated. */
static int l1_entry_l2_offset(struct qcow2 *q, uint64_t i, uint64_t *ret)
{
	uint64_t entry = q->l1[i], l2_offset = entry & L1E_OFFSET_MASK;

	if (entry & L1E_RESERVED)
		return fail(q, -EBADMSG, "L1 entry %" PRIu64 " has reserved bits set (0x%016" PRIx64
			    ")", i, entry);
	if (l2_offset != 0) {
		if (l2_offset & (q->cluster_size - 1))
			return fail(q, -EBADMSG, "L2 table %" PRIu64 " is not cluster aligned", i);
		if (l2_offset < q->cluster_size)
			return fail(q, -EBADMSG, "L2 table %" PRIu64 " points into the header", i);
		if (l2_offset > q->file_size || q->cluster_size > q->file_size - l2_offset)
			return fail(q, -EBADMSG, "L2 table %" PRIu64 " lies past the end of the file",
				    i);
	}
	*ret = l2_offset;
	return 0;
}

int qcow2_read_extent(struct qcow2 *q, uint64_t off, struct qcow2_extent *ext)
{
	unsigned shift = q->cluster_bits + q->l2_bits;
	uint64_t l1_index = off >> shift, l2_entries = UINT64_C(1) << q->l2_bits;
	uint64_t l2_index = (off >> q->cluster_bits) & (l2_entries - 1), end, l2_offset = 0;
	const uint64_t *table;
	struct cluster first, next;
	int r;

	if (off >= q->virtual_size)
		return fail(q, -EINVAL, "offset %" PRIu64 " is past the virtual size", off);
	q->err[0] = '\0';

	r = l1_entry_l2_offset(q, l1_index, &l2_offset);
	if (r < 0)
		return r;
	if (l2_offset == 0) {
		/* unallocated L2 tables: the run goes on over further empty L1 entries */
		uint64_t i = l1_index + 1;
		while (i < q->l1_entries && q->l1[i] == 0)
			i++;
		end = MIN(i << shift, q->virtual_size);
		*ext = (struct qcow2_extent){ .kind = QCOW2_EXTENT_ZERO, .length = end - off };
		return 0;
	}

	r = l2_table_get(q, l2_offset, &table);
	if (r < 0)
		return r;
	r = decode_l2_entry(q, be64toh(table[l2_index]), off, &first);
	if (r < 0)
		return r;

	/* extend the run while the next clusters of this table are alike (and,
	 * for data, contiguous in the file); a compressed cluster stands alone */
	uint64_t i = l2_index + 1;
	if (first.kind != QCOW2_EXTENT_COMPRESSED)
		for (; i < l2_entries && (l1_index << shift) + (i << q->cluster_bits) <
		       q->virtual_size; i++) {
			uint64_t guest = (l1_index << shift) + (i << q->cluster_bits);
			if (decode_l2_entry(q, be64toh(table[i]), guest, &next) < 0) {
				q->err[0] = '\0'; /* reported when the reader gets there */
				break;
			}
			if (next.kind != first.kind ||
			    (first.kind == QCOW2_EXTENT_DATA &&
			     next.host != first.host + ((i - l2_index) << q->cluster_bits)))
				break;
		}
	end = MIN((l1_index << shift) + (i << q->cluster_bits), q->virtual_size);

	*ext = (struct qcow2_extent){ .kind = first.kind, .length = end - off };
	if (first.kind == QCOW2_EXTENT_DATA)
		ext->host_offset = first.host + (off & (q->cluster_size - 1));
	else if (first.kind == QCOW2_EXTENT_COMPRESSED) {
		ext->host_offset = first.host;
		ext->compressed_size = first.csize;
	}
	return 0;
}

/* Inflates the compressed cluster at host (csize bytes) into q->inflated.
 * The data are raw deflate and must fill exactly one cluster. */
static int inflate_cluster(struct qcow2 *q, uint64_t host, uint64_t csize, uint64_t guest)
{
	int r, zr;

	if (q->inflated_host == host && q->inflated_csize == csize)
		return 0;
	if (!q->inflated) {
		q->inflated = xmalloc(q->cluster_size);
		q->compressed = xmalloc((size_t)q->cluster_size * 2);
	}
	/* the descriptor's sector count is cluster_bits - 8 bits wide: csize < 2 clusters */
	r = read_at(q, q->compressed, csize, host);
	if (r < 0)
		return r;

	if (!q->zs_ready) {
		if (inflateInit2(&q->zs, -MAX_WBITS) != Z_OK)
			return fail(q, -ENOMEM, "cannot set up zlib");
		q->zs_ready = true;
	} else if (inflateReset(&q->zs) != Z_OK)
		return fail(q, -EIO, "cannot reset zlib");

	q->inflated_host = 0;
	q->zs.next_in = q->compressed;
	q->zs.avail_in = (uInt)csize;
	q->zs.next_out = q->inflated;
	q->zs.avail_out = q->cluster_size;
	zr = inflate(&q->zs, Z_FINISH);
	/* the compressed size is only known to the sector, so input may be left */
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR && zr != Z_OK) || q->zs.avail_out != 0)
		return fail(q, -EBADMSG,
			    "compressed cluster of guest offset %" PRIu64 " does not inflate to a "
			    "cluster (%s)", guest, q->zs.msg ? q->zs.msg : "data too short");
	q->inflated_host = host;
	q->inflated_csize = csize;
	return 0;
}

int qcow2_read(struct qcow2 *q, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	int r;

	if (off > q->virtual_size || len > q->virtual_size - off)
		return fail(q, -EINVAL, "read of %zu bytes at %" PRIu64 " is past the virtual size",
			    len, off);
	while (len > 0) {
		struct qcow2_extent ext;
		size_t n;

		r = qcow2_read_extent(q, off, &ext);
		if (r < 0)
			return r;
		n = (size_t)MIN((uint64_t)len, ext.length);
		switch (ext.kind) {
		case QCOW2_EXTENT_ZERO:
			memset(p, 0, n);
			r = 0;
			break;
		case QCOW2_EXTENT_DATA:
			r = read_at(q, p, n, ext.host_offset);
			break;
		case QCOW2_EXTENT_COMPRESSED:
			r = inflate_cluster(q, ext.host_offset, ext.compressed_size, off);
			if (r >= 0)
				memcpy(p, q->inflated + (off & (q->cluster_size - 1)), n);
			break;
		}
		if (r < 0)
			return r;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Writes p[0, n) at guest offset off, leaving out all-zero blocks. */
static int write_nonzero(struct qcow2 *q, int fd, const uint8_t *p, size_t n, uint64_t off)
{
	int r = pwrite_nonzero(fd, p, n, (off_t)off, ZERO_BLOCK);

	if (r < 0)
		return fail(q, r, "writing at offset %" PRIu64 ": %s", off, strerror(-r));
	return 0;
}

int qcow2_copy_to_raw(struct qcow2 *q, int out_fd, qcow2_progress_fn progress, void *userdata,
		      const atomic_bool *cancel)
{
	_cleanup_free_ uint8_t *chunk = xmalloc(COPY_CHUNK);
	uint64_t off = 0;
	struct stat st;
	int r;

	while (off < q->virtual_size) {
		struct qcow2_extent ext;
		uint64_t n;

		if (cancel && atomic_load(cancel))
			return fail(q, -ECANCELED, "cancelled");
		r = qcow2_read_extent(q, off, &ext);
		if (r < 0)
			return r;
		switch (ext.kind) {
		case QCOW2_EXTENT_ZERO:
			n = ext.length;
			r = 0;
			break;
		case QCOW2_EXTENT_DATA:
			n = MIN(ext.length, (uint64_t)COPY_CHUNK);
			r = read_at(q, chunk, n, ext.host_offset);
			if (r >= 0)
				r = write_nonzero(q, out_fd, chunk, n, off);
			break;
		case QCOW2_EXTENT_COMPRESSED:
			n = ext.length;
			r = inflate_cluster(q, ext.host_offset, ext.compressed_size, off);
			if (r >= 0)
				r = write_nonzero(q, out_fd,
						  q->inflated + (off & (q->cluster_size - 1)), n, off);
			break;
		default:
			return fail(q, -EINVAL, "unknown extent kind");
		}
		if (r < 0)
			return r;
		off += n;
		if (progress)
			progress(off, q->virtual_size, userdata);
	}

	/* skipped ranges at the end must still exist, as a hole */
	if (fstat(out_fd, &st) < 0)
		return fail(q, -errno, "fstat of the output: %s", strerror(errno));
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < q->virtual_size &&
	    ftruncate(out_fd, (off_t)q->virtual_size) < 0)
		return fail(q, -errno, "extending the output to %" PRIu64 " bytes: %s",
			    q->virtual_size, strerror(errno));
	return 0;
}
