/* SPDX-License-Identifier: MIT */
/*
 * Reproducible "newc" (070701) cpio archives, the format the kernel unpacks
 * as initramfs: a table of entries is completed with the parent directories
 * it implies, sorted, checked for conflicts and serialized with everything
 * that would make two builds differ (owners, host inode and device numbers,
 * mtimes) replaced by fixed values.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define CPIO_NEWC_MAGIC "070701"
#define CPIO_NEWC_HEADER_SIZE 110
#define CPIO_TRAILER_NAME "TRAILER!!!"
/* The kernel's initramfs unpacker (and dev_t) allow 12-bit majors, 20-bit minors. */
#define CPIO_MAJOR_MAX 0xfffu
#define CPIO_MINOR_MAX 0xfffffu

/* The 13 numeric fields of a newc header, in their order on disk. */
struct cpio_newc_header {
	uint32_t ino;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint32_t nlink;
	uint32_t mtime;
	uint32_t filesize;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t rdev_major;
	uint32_t rdev_minor;
	uint32_t namesize; /* including the name's NUL */
	uint32_t check;
};

/* Write the 110 header bytes (magic + 13 fields as 8 upper-case hex digits);
 * no NUL is written after them. */
void cpio_newc_header_format(char out[CPIO_NEWC_HEADER_SIZE], const struct cpio_newc_header *h);

struct cpio_entry {
	char *name;           /* archive name without leading '/': "dev/console" */
	uint32_t mode;        /* S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR or S_IFBLK | 07777 bits */
	uint32_t rdev_major;  /* device nodes only */
	uint32_t rdev_minor;
	unsigned char *data;  /* file contents or symlink target (no NUL) */
	size_t size;
	bool implied;         /* a parent directory no spec named: any explicit one wins */
};

struct cpio_archive {
	struct cpio_entry *entries;
	size_t n;
	size_t cap;
};

/* Turn an absolute path ("/dev/console") into an archive name ("dev/console").
 * Refuses relative paths, empty, "." and ".." components (-EINVAL) and names
 * the kernel would not accept (PATH_MAX bytes or more: -ENAMETOOLONG). */
int cpio_name_from_path(const char *path, char **ret);

/* Order of names in the archive: bytewise, except that '/' sorts before every
 * other byte, so each directory is directly followed by its whole subtree.
 * A parent always sorts before its children. */
int cpio_name_compare(const char *a, const char *b);

/* Append an entry; the archive takes ownership of name and data (also on
 * error). Refuses unknown types, mode bits beyond 07777, device numbers out
 * of range (-EINVAL) and files of 4 GiB or more (-EFBIG). */
int cpio_archive_add(struct cpio_archive *a, struct cpio_entry *e);

/* Add the implied parent directories (0755), sort, and merge duplicates.
 * Identical duplicates collapse into one entry; anything else under the same
 * name (different mode, contents, target, device, or a non-directory where a
 * directory is needed) fails with -EEXIST and *ret_conflict naming it. */
int cpio_archive_finish(struct cpio_archive *a, const char **ret_conflict);

/* Append a finished archive to out: inode numbers 1, 2, ... in order, uid/gid
 * 0, the given mtime everywhere, nlink 2 for directories and 1 otherwise, no
 * device numbers but those of device nodes, each header+name and each body
 * padded to 4 bytes, the trailer, and zero padding to a multiple of 512 bytes
 * (offsets count from where the archive starts in out). */
void cpio_archive_serialize(const struct cpio_archive *a, uint32_t mtime, struct buf *out);

void cpio_archive_free(struct cpio_archive *a);
