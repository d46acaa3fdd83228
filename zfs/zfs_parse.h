/* SPDX-License-Identifier: MIT */
/*
 * Parsers of the tab-separated output of `zfs list -H`, `zfs get -Hp` and
 * `zpool list -H`, of the numbers in it (exact integers from -p, or the
 * rounded human form "1.50G" that zfs-fuse's list commands print because
 * they have no -p), and the validation of the dataset names we build.
 * Pure functions over bytes: every line is checked; a bad one is -EBADMSG
 * with its 1-based number in *bad_line.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZFS_NAME_MAX 255        /* ZFS_MAX_DATASET_NAME_LEN - 1 */
#define ZFS_PROP_NAME_MAX 255
#define ZFS_PROP_VALUE_MAX 8191 /* longer values are refused (ours are short) */
#define ZFS_PARSE_LINES_MAX 100000

/* A number as zfs printed it. "-" and "none" are !set. exact is false for
 * the human form: zfs prints three significant digits, so the value is
 * within 0.5 % of the truth (rounded to nearest; "1.50G" may be 1.495..1.505 GiB). */
struct zfs_size {
	uint64_t bytes;
	bool set;
	bool exact;
};

/* "123", "0", "512K", "1.50G", "15.5T", "16E" (units are powers of 1024;
 * "B" is accepted for bytes), "-", "none". -EINVAL on anything else,
 * -ERANGE beyond 2^64-1. */
int zfs_parse_size(const char *s, struct zfs_size *out);

/* compressratio "1.00x" / "1.5" / "12.34x" → hundredths (100 = 1.00x). */
int zfs_parse_ratio(const char *s, uint32_t *hundredths);

enum zfs_type {
	ZFS_TYPE_FILESYSTEM,
	ZFS_TYPE_VOLUME,
	ZFS_TYPE_SNAPSHOT,
};

/* The columns zfs_parse_list() expects, for `zfs list -H -o ZFS_LIST_COLUMNS`. */
#define ZFS_LIST_COLUMNS "name,type,used,avail,refer,volsize,origin"

struct zfs_dataset {
	char name[ZFS_NAME_MAX + 1];
	enum zfs_type type;
	struct zfs_size used, avail, refer, volsize; /* volsize: !set unless a volume */
	char origin[ZFS_NAME_MAX + 1];               /* "" when "-" */
};

struct zfs_dataset_list {
	struct zfs_dataset *items;
	size_t n;
};

void zfs_dataset_list_free(struct zfs_dataset_list *l);
int zfs_parse_list(const char *out, size_t len, size_t max_items, struct zfs_dataset_list *l,
		   size_t *bad_line);

/* `zfs get -Hp -o name,property,value`: the value is the rest of the line
 * (it may be empty; user property values may contain tabs). */
struct zfs_prop {
	char *dataset;
	char *property;
	char *value;
};

struct zfs_prop_list {
	struct zfs_prop *items;
	size_t n;
	char *text; /* one copy of the output that the strings above point into */
};

void zfs_prop_list_free(struct zfs_prop_list *l);
int zfs_parse_get(const char *out, size_t len, size_t max_items, struct zfs_prop_list *l,
		  size_t *bad_line);
/* The value of property of dataset, or NULL. */
const char *zfs_prop_find(const struct zfs_prop_list *l, const char *dataset, const char *property);
/* The value of property as an exact integer ("-" → -ENODATA). */
int zfs_prop_u64(const struct zfs_prop_list *l, const char *dataset, const char *property,
		 uint64_t *out);

/* The columns zfs_parse_pools() expects, for `zpool list -H -o ZPOOL_LIST_COLUMNS`. */
#define ZPOOL_LIST_COLUMNS "name,size,alloc,free,health"

enum zpool_health {
	ZPOOL_ONLINE,
	ZPOOL_DEGRADED,
	ZPOOL_FAULTED,
	ZPOOL_OFFLINE,
	ZPOOL_REMOVED,
	ZPOOL_UNAVAIL,
	ZPOOL_SUSPENDED,
};

struct zpool_info {
	char name[ZFS_NAME_MAX + 1];
	struct zfs_size size, alloc, free;
	enum zpool_health health;
};

struct zpool_list {
	struct zpool_info *items;
	size_t n;
};

void zpool_list_free(struct zpool_list *l);
int zfs_parse_pools(const char *out, size_t len, size_t max_items, struct zpool_list *l,
		    size_t *bad_line);
const char *zpool_health_to_string(enum zpool_health h);

/* Names. A pool name: a letter, then [A-Za-z0-9_.:-], not a reserved vdev
 * word, at most 200 characters (room for our suffixes). */
bool zfs_pool_name_valid(const char *pool);

/* The root the daemon keeps its datasets under (--pool): a pool name, or a
 * dataset inside one ("tank/vms") whose further components are ZFS name
 * characters and do not start with '.'; at most 200 characters. */
bool zfs_root_name_valid(const char *root);

/* The only names the daemon builds below its root: <root>, <root>/.base,
 * <root>/.tmp, <root>/<uuid>, <root>/<uuid>@<uuid>, <root>/.base/<uuid>,
 * <root>/.base/<uuid>@img and <root>/.base/<uuid>@<uuid> (a volume's
 * snapshot that moved into a base) — with lowercase UUIDs. */
bool zfs_name_ours(const char *name, const char *pool);

/* Build "<pool>/[.base/]<id>[@<snap>]" into buf after checking every part;
 * base selects the template area; snap may be NULL. -EINVAL or -ENAMETOOLONG. */
int zfs_name_build(char *buf, size_t size, const char *pool, bool base, const char *id,
		   const char *snap);
