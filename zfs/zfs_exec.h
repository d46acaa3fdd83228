/* SPDX-License-Identifier: MIT */
/*
 * Running the zfs and zpool command-line tools: an argument vector (never a
 * shell), stdin from /dev/null, stdout captured up to a bound, the tail of
 * stderr kept for the error message, and a timeout after which the child's
 * process group is killed and reaped.
 */
#pragma once

#include <stddef.h>

#define ZFS_EXEC_TIMEOUT_MS_DEFAULT 60000
#define ZFS_EXEC_OUT_MAX (16U << 20)  /* stdout beyond this is an error (-EFBIG) */
#define ZFS_EXEC_ERR_KEEP 4096        /* the last bytes of stderr that are kept */
#define ZFS_EXEC_ARGS_MAX 64

struct zfs_result {
	char *out;          /* stdout, NUL-terminated (empty when nothing was printed) */
	size_t out_len;
	int status;         /* wait status of the child, -1 when it did not run or was killed by us */
	char err[512];      /* one printable line: stderr's last non-empty line or what went wrong */
};

void zfs_result_free(struct zfs_result *res);

/* Use these binaries instead of "zfs"/"zpool" looked up on PATH (test seams,
 * --zfs-bin/--zpool-bin). NULL restores the lookup on PATH. Not thread-safe:
 * call at start-up. */
int zfs_exec_set_paths(const char *zfs_bin, const char *zpool_bin);

/* Run path (absolute, or looked up on PATH when it has no '/') with argv
 * (argv[0] included, NULL-terminated). timeout_ms <= 0 means the default.
 * Returns 0 on exit status 0; otherwise a negative errno with res->err set:
 * -ETIMEDOUT, -EFBIG (stdout too long), -ENOENT (binary not found),
 * -ECHILD (killed by a signal) or the errno that zfs_error_errno() derives
 * from the message (-EIO when nothing specific). res->out holds what was
 * read either way. */
int zfs_exec(const char *path, const char *const *argv, int timeout_ms, size_t out_max,
	     struct zfs_result *res);

/* zfs/zpool with args (without argv[0], NULL-terminated), default bounds. */
int zfs_run(const char *const *args, int timeout_ms, struct zfs_result *res);
int zpool_run(const char *const *args, int timeout_ms, struct zfs_result *res);

/* Map a zfs/zpool error message to an errno (positive): ENOENT for "does not
 * exist", EEXIST, EBUSY for "busy" and
 * "cannot unmount", ENOTEMPTY for dependent clones/children,
 * ENOSPC, EINVAL for bad properties/values, ENOSYS for "Function not
 * implemented" (zvols on zfs-fuse), EIO otherwise. */
int zfs_error_errno(const char *msg);
