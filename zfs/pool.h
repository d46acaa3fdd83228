/* SPDX-License-Identifier: MIT */
/*
 * The datasets the storage daemon keeps below its root (--pool: a pool or a
 * dataset inside one), in one of two layouts behind one interface:
 *
 *   zvol  a sparse zvol per volume; its disk is /dev/zvol/<dataset>.
 *   file  a filesystem dataset per volume holding one sparse disk.raw, for
 *         ZFS implementations without zvols (Debian's userspace zfs-fuse).
 *         Every dataset below the root gets an explicit mountpoint under
 *         the mount root, so paths do not depend on the root's mountpoint.
 *
 * Snapshots, clones, rollback, promote and destroy are the same ZFS
 * operations in both. Every function runs zfs/zpool through zfs_exec.h and
 * returns 0 or a negative errno with a one-line reason in err (the tool's
 * stderr). Blocking: call from worker threads.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zfs_parse.h"

#define ZP_ERR_MAX 512
#define ZP_FILE_SECTOR 512        /* file layout: sizes are rounded to this */
#define ZP_DEFAULT_BLOCKSIZE 16384
#define ZP_DISK_FILE "disk.raw"

enum zp_layout { ZP_LAYOUT_ZVOL, ZP_LAYOUT_FILE };

struct zp {
	char root[ZFS_NAME_MAX + 1];   /* "vmpool" or "tank/vms" */
	char pool[ZFS_NAME_MAX + 1];   /* its first component */
	enum zp_layout layout;
	char *mount_root;              /* file layout mounts and the .tmp area */
	char *zvol_dev_root;           /* "/dev/zvol" (a test seam may move it) */
	int zvol_wait_ms;              /* how long a new zvol's device node may take */
};

const char *zp_layout_name(enum zp_layout l);

/* Fill in p for root/mount_root (copied; zvol nodes below /dev/zvol unless
 * zvol_dev_root is set afterwards); the layout is set by the caller
 * or by zp_probe_layout. -EINVAL for a bad root name. */
int zp_init(struct zp *p, const char *root, const char *mount_root);
void zp_done(struct zp *p);

/* Whether this ZFS can make zvols: creates and destroys a 1 MiB sparse
 * probe zvol <root>/.probe-<uuid>; "Function not implemented" (zfs-fuse) is
 * the file layout. */
int zp_probe_layout(struct zp *p, enum zp_layout *out, char *err);

/* Check that the root exists and create the .base and .tmp containers. */
int zp_setup(struct zp *p, char *err);

/* Round a size up to what the layout stores: a multiple of the block size
 * (zvol) or of ZP_FILE_SECTOR (file). -ERANGE on overflow. */
int zp_round_size(const struct zp *p, uint64_t size, uint32_t blocksize, uint64_t *out);

/* Names: <root>/<id>, <root>/<id>@<snap>, <root>/.base/<id>[@img]. */
int zp_volume_name(const struct zp *p, const char *id, char out[ZFS_NAME_MAX + 1]);
int zp_base_name(const struct zp *p, const char *id, char out[ZFS_NAME_MAX + 1]);
int zp_snap_name(const struct zp *p, const char *dataset, const char *snap,
		 char out[ZFS_NAME_MAX + 1]);

/* The disk path of a volume or base dataset (zvol device or disk.raw). */
int zp_disk_path(const struct zp *p, const char *dataset, char *out, size_t size);
/* The mountpoint of a dataset (file layout; also the .tmp area). */
int zp_mountpoint(const struct zp *p, const char *dataset, char *out, size_t size);

/* A new empty sparse disk of size bytes (already rounded). */
int zp_disk_create(struct zp *p, const char *dataset, uint64_t size, uint32_t blocksize,
		   char *err);
/* Grow the disk to size bytes (already rounded, larger than now). */
int zp_disk_grow(struct zp *p, const char *dataset, uint64_t size, char *err);
/* Open the disk for writing (an import); wait for a zvol's node first. */
int zp_disk_open_write(struct zp *p, const char *dataset, int *fd, char *err);

struct zp_diskinfo {
	uint64_t size;         /* volsize / disk.raw size */
	uint64_t used;         /* space used, snapshots included */
	uint64_t blocksize;    /* volblocksize / recordsize */
	uint32_t compress_x100;
};
int zp_disk_info(struct zp *p, const char *dataset, struct zp_diskinfo *out, char *err);

/* Whether a process has the disk open (a running VM): 1 and its pid, 0, or
 * -errno. zfs would say "busy" only after destroy -r took the snapshots. */
int zp_disk_user(const struct zp *p, const char *dataset, pid_t *pid);

int zp_snapshot(struct zp *p, const char *snapshot, char *err);
/* Clone snapshot into dataset; a volume (directly below the root) gets its
 * own mountpoint in the file layout, a zvol clone its device node. */
int zp_clone(struct zp *p, const char *snapshot, const char *dataset, char *err);
int zp_rollback(struct zp *p, const char *snapshot, char *err);
int zp_promote(struct zp *p, const char *dataset, char *err);
/* zfs destroy [-r]: retried a few times on "busy" (zfs-fuse's first destroy
 * of a just-unmounted dataset), -ENOENT when it does not exist. */
int zp_destroy(struct zp *p, const char *dataset, bool recursive, char *err);
/* Bytes used by a snapshot. */
int zp_snapshot_used(struct zp *p, const char *snapshot, uint64_t *used, char *err);
/* Every dataset below the root and its origin ("" when none). */
int zp_origins(struct zp *p, struct zfs_prop_list *out, char *err);
/* Snapshots of a dataset: names and properties used, creation, defer_destroy. */
int zp_snapshots(struct zp *p, const char *dataset, struct zfs_prop_list *out, char *err);

struct zp_stats {
	uint64_t used, available;
	uint32_t compress_x100;
};
int zp_stats(struct zp *p, struct zp_stats *out, char *err);
