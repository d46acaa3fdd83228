/* SPDX-License-Identifier: MIT */
/*
 * Only the subset of the zfs CLI that OpenZFS and zfs-fuse share is used:
 * create/snapshot/clone/rollback/promote/destroy/set and `zfs get -Hp -o
 * name,property,value` for numbers (zfs-fuse's list commands have no -p).
 */
#include "pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "ids.h"
#include "log.h"
#include "util.h"
#include "zfs_exec.h"

#define ZP_ARGS_MAX 24
#define DESTROY_ATTEMPTS 10
#define DESTROY_PAUSE_MS 200

const char *zp_layout_name(enum zp_layout l)
{
	return l == ZP_LAYOUT_ZVOL ? "zvol" : "file";
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void set_err(char *err, const char *fmt, ...) PRINTF_FMT(2, 3);
static void set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, ZP_ERR_MAX, fmt, ap);
	va_end(ap);
}

/* Run `zfs <args...>` (NULL-terminated); out, when given, receives stdout. */
static int run_zfs(char *err, char **out, ...)
{
	const char *args[ZP_ARGS_MAX + 1];
	struct zfs_result res = { 0 };
	size_t n = 0;
	va_list ap;
	int r;

	va_start(ap, out);
	for (const char *a; (a = va_arg(ap, const char *));)
		if (n < ZP_ARGS_MAX)
			args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	r = zfs_run(args, 0, &res);
	if (r < 0)
		set_err(err, "zfs %s: %s", args[0], res.err);
	else if (out)
		*out = TAKE_PTR(res.out);
	zfs_result_free(&res);
	return r;
}

int zp_init(struct zp *p, const char *root, const char *mount_root)
{
	const char *slash;

	if (!zfs_root_name_valid(root))
		return -EINVAL;
	*p = (struct zp){ .layout = ZP_LAYOUT_FILE, .zvol_wait_ms = 10000 };
	snprintf(p->root, sizeof(p->root), "%s", root);
	slash = strchr(root, '/');
	snprintf(p->pool, sizeof(p->pool), "%.*s", slash ? (int)(slash - root) : (int)strlen(root),
		 root);
	p->mount_root = xstrdup(mount_root);
	p->zvol_dev_root = xstrdup("/dev/zvol");
	return 0;
}

void zp_done(struct zp *p)
{
	free(p->mount_root);
	free(p->zvol_dev_root);
	p->mount_root = p->zvol_dev_root = NULL;
}

/* ---- names and paths ------------------------------------------------------ */

int zp_volume_name(const struct zp *p, const char *id, char out[ZFS_NAME_MAX + 1])
{
	return zfs_name_build(out, ZFS_NAME_MAX + 1, p->root, false, id, NULL);
}

int zp_base_name(const struct zp *p, const char *id, char out[ZFS_NAME_MAX + 1])
{
	return zfs_name_build(out, ZFS_NAME_MAX + 1, p->root, true, id, NULL);
}

int zp_snap_name(const struct zp *p, const char *dataset, const char *snap,
		 char out[ZFS_NAME_MAX + 1])
{
	int n = snprintf(out, ZFS_NAME_MAX + 1, "%s@%s", dataset, snap);

	if (n < 0 || n > ZFS_NAME_MAX)
		return -ENAMETOOLONG;
	return zfs_name_ours(out, p->root) ? 0 : -EINVAL;
}

/* The part of dataset below the root: "<id>", ".base/<id>", ".tmp". */
static const char *relative(const struct zp *p, const char *dataset)
{
	size_t n = strlen(p->root);

	if (strncmp(dataset, p->root, n) != 0 || dataset[n] != '/')
		return NULL;
	return dataset + n + 1;
}

int zp_mountpoint(const struct zp *p, const char *dataset, char *out, size_t size)
{
	const char *rel = relative(p, dataset);
	int n;

	if (!rel)
		return -EINVAL;
	n = snprintf(out, size, "%s/%s", p->mount_root, rel);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int zp_disk_path(const struct zp *p, const char *dataset, char *out, size_t size)
{
	int n;

	if (!relative(p, dataset))
		return -EINVAL;
	if (p->layout == ZP_LAYOUT_ZVOL)
		n = snprintf(out, size, "%s/%s", p->zvol_dev_root, dataset);
	else
		n = snprintf(out, size, "%s/%s/%s", p->mount_root, relative(p, dataset),
			     ZP_DISK_FILE);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int zp_round_size(const struct zp *p, uint64_t size, uint32_t blocksize, uint64_t *out)
{
	uint64_t unit = p->layout == ZP_LAYOUT_ZVOL ? blocksize : ZP_FILE_SECTOR;

	if (unit == 0)
		unit = ZP_DEFAULT_BLOCKSIZE;
	if (size > UINT64_MAX - (unit - 1))
		return -ERANGE;
	*out = (size + unit - 1) / unit * unit;
	return 0;
}

/* ---- set-up --------------------------------------------------------------- */

int zp_probe_layout(struct zp *p, enum zp_layout *out, char *err)
{
	char uuid[UUID_STR_LEN], name[ZFS_NAME_MAX + 64];
	int r;

	uuid_v4(uuid);
	snprintf(name, sizeof(name), "%s/.probe-%s", p->root, uuid);
	r = run_zfs(err, NULL, "create", "-s", "-V", "1M", name, NULL);
	if (r == -ENOSYS || r == -ECHILD) {
		/* zfs-fuse: "Function not implemented", and its zfs aborts */
		*out = ZP_LAYOUT_FILE;
		return 0;
	}
	if (r < 0)
		return r;
	run_zfs(NULL, NULL, "destroy", name, NULL);
	*out = ZP_LAYOUT_ZVOL;
	return 0;
}

static int dataset_exists(const char *dataset, bool *exists, char *err)
{
	int r = run_zfs(err, NULL, "get", "-Hp", "-o", "value", "type", dataset, NULL);

	if (r == -ENOENT) {
		*exists = false;
		return 0;
	}
	if (r < 0)
		return r;
	*exists = true;
	return 0;
}

/* Create a container (.base/.tmp) unless it exists. */
static int ensure_container(struct zp *p, const char *leaf, bool mounted, char *err)
{
	char name[ZFS_NAME_MAX + 64], mp[4096], opt[4200];
	bool exists;
	int r;

	snprintf(name, sizeof(name), "%s/%s", p->root, leaf);
	r = dataset_exists(name, &exists, err);
	if (r < 0 || exists)
		return r;
	if (mounted) {
		r = zp_mountpoint(p, name, mp, sizeof(mp));
		if (r < 0)
			return r;
		snprintf(opt, sizeof(opt), "mountpoint=%s", mp);
	} else {
		snprintf(opt, sizeof(opt), "mountpoint=none");
	}
	r = run_zfs(err, NULL, "create", "-o", opt, name, NULL);
	/* another daemon instance may have raced us: that is fine */
	return r == -EEXIST ? 0 : r;
}

int zp_setup(struct zp *p, char *err)
{
	bool exists;
	int r;

	r = dataset_exists(p->root, &exists, err);
	if (r < 0)
		return r;
	if (!exists) {
		set_err(err, "dataset '%s' does not exist (create the pool or dataset first)",
			p->root);
		return -ENOENT;
	}
	r = ensure_container(p, ".base", p->layout == ZP_LAYOUT_FILE, err);
	if (r >= 0)
		r = ensure_container(p, ".tmp", true, err);
	return r;
}

/* ---- disks ---------------------------------------------------------------- */

static int wait_for_node(struct zp *p, const char *path, char *err)
{
	struct stat st;

	for (int waited = 0;; waited += 50) {
		if (stat(path, &st) == 0)
			return 0;
		if (waited >= p->zvol_wait_ms) {
			set_err(err, "%s did not appear within %d ms", path, p->zvol_wait_ms);
			return -ETIMEDOUT;
		}
		sleep_ms(50);
	}
}

/* The disk file of a new file-layout dataset: sparse, size bytes, synced. */
static int file_disk_create(const char *path, uint64_t size, char *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0) {
		int r = -errno;
		set_err(err, "cannot create %s: %s", path, strerror(errno));
		return r;
	}
	return 0;
}

int zp_disk_create(struct zp *p, const char *dataset, uint64_t size, uint32_t blocksize,
		   char *err)
{
	char sz[32], bs[48], mp[4096], mpopt[4200], path[4200];
	bool is_volume = !startswith(relative(p, dataset) ?: "", ".base/");
	int r;

	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	if (p->layout == ZP_LAYOUT_ZVOL) {
		snprintf(bs, sizeof(bs), "%u", blocksize ? blocksize : ZP_DEFAULT_BLOCKSIZE);
		r = run_zfs(err, NULL, "create", "-s", "-V", sz, "-b", bs, dataset, NULL);
		if (r < 0)
			return r;
		r = zp_disk_path(p, dataset, path, sizeof(path));
		if (r >= 0)
			r = wait_for_node(p, path, err);
	} else {
		snprintf(bs, sizeof(bs), "recordsize=%u", blocksize ? blocksize : ZP_DEFAULT_BLOCKSIZE);
		r = zp_mountpoint(p, dataset, mp, sizeof(mp));
		if (r < 0)
			return r;
		snprintf(mpopt, sizeof(mpopt), "mountpoint=%s", mp);
		/* bases inherit their mountpoint from .base */
		if (is_volume)
			r = run_zfs(err, NULL, "create", "-o", mpopt, "-o", bs, dataset, NULL);
		else
			r = run_zfs(err, NULL, "create", "-o", bs, dataset, NULL);
		if (r < 0)
			return r;
		r = zp_disk_path(p, dataset, path, sizeof(path));
		if (r >= 0)
			r = file_disk_create(path, size, err);
	}
	if (r < 0)
		zp_destroy(p, dataset, true, NULL); /* leave nothing behind */
	return r;
}

int zp_disk_grow(struct zp *p, const char *dataset, uint64_t size, char *err)
{
	char opt[64], path[4200];
	int r;

	if (p->layout == ZP_LAYOUT_ZVOL) {
		snprintf(opt, sizeof(opt), "volsize=%llu", (unsigned long long)size);
		return run_zfs(err, NULL, "set", opt, dataset, NULL);
	}
	r = zp_disk_path(p, dataset, path, sizeof(path));
	if (r < 0)
		return r;
	if (truncate(path, (off_t)size) < 0) {
		r = -errno;
		set_err(err, "cannot grow %s: %s", path, strerror(errno));
		return r;
	}
	return 0;
}

int zp_disk_open_write(struct zp *p, const char *dataset, int *fd, char *err)
{
	char path[4200];
	int r;

	r = zp_disk_path(p, dataset, path, sizeof(path));
	if (r < 0)
		return r;
	if (p->layout == ZP_LAYOUT_ZVOL) {
		r = wait_for_node(p, path, err);
		if (r < 0)
			return r;
	}
	*fd = open(path, O_WRONLY | O_CLOEXEC);
	if (*fd < 0) {
		r = -errno;
		set_err(err, "cannot open %s: %s", path, strerror(errno));
		return r;
	}
	return 0;
}

/* Parse `zfs get -Hp` output of the given dataset's properties. */
static int get_props(const char *dataset, const char *props, bool recursive,
		     struct zfs_prop_list *out, char *err)
{
	_cleanup_free_ char *text = NULL;
	size_t bad = 0;
	int r;

	if (recursive)
		r = run_zfs(err, &text, "get", "-Hp", "-r", "-o", "name,property,value", props,
			    dataset, NULL);
	else
		r = run_zfs(err, &text, "get", "-Hp", "-o", "name,property,value", props, dataset,
			    NULL);
	if (r < 0)
		return r;
	r = zfs_parse_get(text, strlen(text), ZFS_PARSE_LINES_MAX, out, &bad);
	if (r < 0)
		set_err(err, "cannot parse the output of zfs get (line %zu)", bad);
	return r;
}

int zp_disk_info(struct zp *p, const char *dataset, struct zp_diskinfo *out, char *err)
{
	_cleanup_(zfs_prop_list_free) struct zfs_prop_list props = { 0 };
	bool zvol = p->layout == ZP_LAYOUT_ZVOL;
	const char *ratio;
	int r;

	r = get_props(dataset, zvol ? "volsize,used,volblocksize,compressratio"
				    : "used,recordsize,compressratio",
		      false, &props, err);
	if (r < 0)
		return r;
	*out = (struct zp_diskinfo){ .compress_x100 = 100 };
	r = zfs_prop_u64(&props, dataset, "used", &out->used);
	if (r >= 0)
		r = zfs_prop_u64(&props, dataset, zvol ? "volblocksize" : "recordsize",
				 &out->blocksize);
	if (r >= 0 && zvol)
		r = zfs_prop_u64(&props, dataset, "volsize", &out->size);
	if (r < 0) {
		set_err(err, "zfs get %s: missing or malformed values", dataset);
		return -EBADMSG;
	}
	ratio = zfs_prop_find(&props, dataset, "compressratio");
	if (ratio && zfs_parse_ratio(ratio, &out->compress_x100) < 0)
		out->compress_x100 = 100;
	if (!zvol) {
		char path[4200];
		struct stat st;
		r = zp_disk_path(p, dataset, path, sizeof(path));
		if (r < 0)
			return r;
		if (stat(path, &st) < 0) {
			r = -errno;
			set_err(err, "cannot stat %s: %s", path, strerror(errno));
			return r;
		}
		out->size = (uint64_t)st.st_size;
	}
	return 0;
}

/* ---- snapshots, clones, destroy ------------------------------------------- */

int zp_snapshot(struct zp *p, const char *snapshot, char *err)
{
	(void)p;
	return run_zfs(err, NULL, "snapshot", snapshot, NULL);
}

/* "recordsize=N" of the dataset a snapshot belongs to: a clone inherits
 * recordsize from its parent, not from its origin, and the disk's block
 * size must stay what its data were written with. */
static int origin_recordsize(const char *snapshot, char *opt, size_t size, char *err)
{
	_cleanup_(zfs_prop_list_free) struct zfs_prop_list props = { 0 };
	char origin[ZFS_NAME_MAX + 1];
	const char *at = strchr(snapshot, '@');
	uint64_t rs;
	int r;

	if (!at || (size_t)(at - snapshot) > ZFS_NAME_MAX)
		return -EINVAL;
	snprintf(origin, sizeof(origin), "%.*s", (int)(at - snapshot), snapshot);
	r = get_props(origin, "recordsize", false, &props, err);
	if (r < 0)
		return r;
	r = zfs_prop_u64(&props, origin, "recordsize", &rs);
	if (r < 0)
		return r;
	snprintf(opt, size, "recordsize=%llu", (unsigned long long)rs);
	return 0;
}

int zp_clone(struct zp *p, const char *snapshot, const char *dataset, char *err)
{
	char mp[4096], opt[4200], path[4200], rs[64];
	const char *rel = relative(p, dataset);
	int r;

	if (!rel)
		return -EINVAL;
	if (p->layout == ZP_LAYOUT_FILE) {
		r = origin_recordsize(snapshot, rs, sizeof(rs), err);
		if (r < 0)
			return r;
		/* bases inherit their mountpoint from .base */
		if (startswith(rel, ".base/"))
			return run_zfs(err, NULL, "clone", "-o", rs, snapshot, dataset, NULL);
		r = zp_mountpoint(p, dataset, mp, sizeof(mp));
		if (r < 0)
			return r;
		snprintf(opt, sizeof(opt), "mountpoint=%s", mp);
		return run_zfs(err, NULL, "clone", "-o", opt, "-o", rs, snapshot, dataset, NULL);
	}
	r = run_zfs(err, NULL, "clone", snapshot, dataset, NULL);
	if (r < 0)
		return r;
	r = zp_disk_path(p, dataset, path, sizeof(path));
	if (r >= 0)
		r = wait_for_node(p, path, err);
	if (r < 0)
		zp_destroy(p, dataset, false, NULL);
	return r;
}

int zp_disk_user(const struct zp *p, const char *dataset, pid_t *pid)
{
	char path[4200], target[4200];
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	struct dirent *pe;
	int r;

	r = zp_disk_path(p, dataset, path, sizeof(path));
	if (r < 0)
		return r;
	if (!proc)
		return -errno;
	while ((pe = readdir(proc))) {
		char fddir[64];
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(fddir, sizeof(fddir), "/proc/%.20s/fd", pe->d_name);
		_cleanup_closedir_ DIR *fds = opendir(fddir);
		struct dirent *fe;
		while (fds && (fe = readdir(fds))) {
			ssize_t n;
			if (fe->d_name[0] == '.')
				continue;
			n = readlinkat(dirfd(fds), fe->d_name, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (streq(target, path)) {
				*pid = (pid_t)atoi(pe->d_name);
				return 1;
			}
		}
	}
	return 0;
}

int zp_rollback(struct zp *p, const char *snapshot, char *err)
{
	(void)p;
	/* no -r: newer snapshots are never destroyed implicitly */
	return run_zfs(err, NULL, "rollback", snapshot, NULL);
}

int zp_promote(struct zp *p, const char *dataset, char *err)
{
	(void)p;
	return run_zfs(err, NULL, "promote", dataset, NULL);
}

int zp_destroy(struct zp *p, const char *dataset, bool recursive, char *err)
{
	char local[ZP_ERR_MAX];
	int r = -EIO;

	(void)p;
	for (int i = 0; i < DESTROY_ATTEMPTS; i++) {
		r = recursive ? run_zfs(local, NULL, "destroy", "-r", dataset, NULL)
			      : run_zfs(local, NULL, "destroy", dataset, NULL);
		/* zfs-fuse: the first destroy of a just-unmounted dataset says
		 * busy; a file held open keeps it busy, so the retries are bounded */
		if (r != -EBUSY)
			break;
		sleep_ms(DESTROY_PAUSE_MS);
	}
	if (r < 0)
		set_err(err, "%s", local);
	return r;
}

int zp_snapshot_used(struct zp *p, const char *snapshot, uint64_t *used, char *err)
{
	_cleanup_(zfs_prop_list_free) struct zfs_prop_list props = { 0 };
	int r;

	(void)p;
	r = get_props(snapshot, "used", false, &props, err);
	if (r < 0)
		return r;
	r = zfs_prop_u64(&props, snapshot, "used", used);
	if (r < 0)
		set_err(err, "zfs get used %s: no value", snapshot);
	return r;
}

int zp_origins(struct zp *p, struct zfs_prop_list *out, char *err)
{
	return get_props(p->root, "origin", true, out, err);
}

int zp_snapshots(struct zp *p, const char *dataset, struct zfs_prop_list *out, char *err)
{
	(void)p;
	/* -r on a dataset lists its snapshots too (zfs-fuse's get has no -t) */
	return get_props(dataset, "used,defer_destroy", true, out, err);
}

int zp_stats(struct zp *p, struct zp_stats *out, char *err)
{
	_cleanup_(zfs_prop_list_free) struct zfs_prop_list props = { 0 };
	const char *ratio;
	int r;

	r = get_props(p->root, "used,available,compressratio", false, &props, err);
	if (r < 0)
		return r;
	*out = (struct zp_stats){ .compress_x100 = 100 };
	r = zfs_prop_u64(&props, p->root, "used", &out->used);
	if (r >= 0)
		r = zfs_prop_u64(&props, p->root, "available", &out->available);
	if (r < 0) {
		set_err(err, "zfs get %s: missing or malformed values", p->root);
		return -EBADMSG;
	}
	ratio = zfs_prop_find(&props, p->root, "compressratio");
	if (ratio && zfs_parse_ratio(ratio, &out->compress_x100) < 0)
		out->compress_x100 = 100;
	return 0;
}
