/* SPDX-License-Identifier: MIT */
/*
 * Volumes and their snapshots: the RPCs, run on worker threads under the
 * volume's key. Checks go in api.md's order (bad input, unknown, taken,
 * wrong state); ZFS work that a later step cannot complete is undone.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "timefmt.h"
#include "zfsd.h"

#define MAX_SIZE_BYTES (UINT64_C(1) << 60) /* 1 EiB: beyond any pool we can make */

/* Snapshot messages of a volume, oldest first: DB records joined with the
 * snapshots ZFS really has (deferred destroys are hidden). */
static int snapshot_msgs(struct op *op, const struct zvolume *v, Mvirt__Zfs__Snapshot ***out,
			 size_t *n)
{
	struct zsvc *svc = op->svc;
	_cleanup_(zfs_prop_list_free) struct zfs_prop_list props = { 0 };
	struct zsnapshot *snaps = NULL;
	size_t count = 0;
	char err[ZP_ERR_MAX] = "";
	int r;

	*out = NULL;
	*n = 0;
	r = zstore_snapshot_list(svc->store, v->id, &snaps, &count);
	if (r < 0)
		return op_fail_store(op, r);
	if (count == 0)
		return 0;
	r = zp_snapshots(svc->zp, v->zfs_path, &props, err);
	if (r < 0) {
		zsnapshot_list_free(snaps, count);
		return op_fail_zfs(op, r, "cannot list snapshots", err);
	}
	*out = xcalloc(count, sizeof(**out));
	for (size_t i = 0; i < count; i++) {
		char full[ZFS_NAME_MAX + 1];
		uint64_t used;
		const char *defer;
		if (zp_snap_name(svc->zp, v->zfs_path, snaps[i].id, full) < 0)
			continue;
		if (zfs_prop_u64(&props, full, "used", &used) < 0)
			continue; /* not (or no longer) in ZFS */
		defer = zfs_prop_find(&props, full, "defer_destroy");
		if (defer && streq(defer, "on"))
			continue;
		Mvirt__Zfs__Snapshot *m = xmalloc(sizeof(*m));
		mvirt__zfs__snapshot__init(m);
		m->id = xstrdup_or_empty(snaps[i].id);
		m->name = xstrdup_or_empty(snaps[i].name);
		m->full_name = xstrdup_or_empty(full);
		m->used_bytes = used;
		m->created_at = xstrdup_or_empty(snaps[i].created_at);
		(*out)[(*n)++] = m;
	}
	zsnapshot_list_free(snaps, count);
	return 0;
}

/* The Volume message of a record; info may be given (ListVolumes), else it
 * is read. A vanished dataset is INTERNAL: its name stays taken. */
static int volume_msg(struct op *op, const struct zvolume *v, bool with_snapshots,
		      Mvirt__Zfs__Volume **out)
{
	struct zp_diskinfo info;
	char err[ZP_ERR_MAX] = "";
	Mvirt__Zfs__Volume *m;
	int r;

	r = zp_disk_info(op->svc->zp, v->zfs_path, &info, err);
	if (r == -ENOENT)
		return op_fail(op, GRPC_INTERNAL, "Volume '%s' is missing its dataset", v->name);
	if (r < 0)
		return op_fail_zfs(op, r, "cannot read the volume's properties", err);
	m = xmalloc(sizeof(*m));
	mvirt__zfs__volume__init(m);
	m->id = xstrdup_or_empty(v->id);
	m->name = xstrdup_or_empty(v->name);
	m->path = xstrdup_or_empty(v->device_path);
	m->volsize_bytes = info.size;
	m->used_bytes = info.used;
	m->volblocksize = info.blocksize;
	m->compression_ratio = info.compress_x100 / 100.0;
	m->created_at = xstrdup_or_empty(v->created_at);
	if (with_snapshots && snapshot_msgs(op, v, &m->snapshots, &m->n_snapshots) != 0) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return op->code;
	}
	*out = m;
	return 0;
}

/* Look a volume up by its name: INVALID_ARGUMENT when empty, NOT_FOUND. */
static int volume_lookup(struct op *op, const char *field, const char *name, struct zvolume *v)
{
	int r;

	if (!name[0])
		return op_fail(op, GRPC_INVALID_ARGUMENT, "%s is required", field);
	r = zstore_volume_by_name(op->svc->store, name, v);
	if (r == -ENOENT)
		return op_fail(op, GRPC_NOT_FOUND, "Volume '%s' not found", name);
	if (r < 0)
		return op_fail_store(op, r);
	return 0;
}

/* Audit a volume event with [volume id, volume name(, extra id)]. */
static void audit_volume(struct op *op, const struct zvolume *v, const char *extra_id,
			 const char *fmt, ...) PRINTF_FMT(4, 5);
static void audit_volume(struct op *op, const struct zvolume *v, const char *extra_id,
			 const char *fmt, ...)
{
	const char *ids[3] = { v->id, v->name, extra_id };
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	svc_audit(op->svc, LOG_LEVEL_AUDIT, &op->peer, ids, extra_id ? 3 : 2, "%s", text);
}

/* ALREADY_EXISTS when a volume has this name; 0 when it is free. */
int volume_name_free(struct op *op, const char *name)
{
	struct zvolume v = { 0 };
	int r = zstore_volume_by_name(op->svc->store, name, &v);

	zvolume_clear(&v);
	if (r == 0)
		return op_fail(op, GRPC_ALREADY_EXISTS, "Volume '%s' already exists", name);
	if (r != -ENOENT)
		return op_fail_store(op, r);
	return 0;
}

/* Record a volume whose dataset was just made; on failure the dataset goes
 * again, so that a failed create or clone leaves nothing behind. */
int volume_record(struct op *op, const struct zvolume *v)
{
	int r = zstore_volume_insert(op->svc->store, v);

	if (r >= 0)
		return 0;
	zp_destroy(op->svc->zp, v->zfs_path, true, NULL);
	if (r == -EEXIST)
		return op_fail(op, GRPC_ALREADY_EXISTS, "Volume '%s' already exists", v->name);
	return op_fail_store(op, r);
}

/* ---- pool ----------------------------------------------------------------- */

void op_get_pool_stats(struct op *op)
{
	struct zsvc *svc = op->svc;
	struct zp_stats st;
	char err[ZP_ERR_MAX] = "";
	uint64_t provisioned = 0;
	Mvirt__Zfs__PoolStats *m;
	int r;

	r = zp_stats(svc->zp, &st, err);
	if (r < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot query pool '%s': %s", svc->zp->root, err);
		return;
	}
	if (zstore_provisioned(svc->store, &provisioned) < 0)
		provisioned = 0;
	m = xmalloc(sizeof(*m));
	mvirt__zfs__pool_stats__init(m);
	m->name = xstrdup_or_empty(svc->zp->root);
	m->total_bytes = st.used + st.available;
	m->available_bytes = st.available;
	m->used_bytes = st.used;
	m->provisioned_bytes = provisioned;
	m->compression_ratio = st.compress_x100 / 100.0;
	op->resp = &m->base;
}

/* ---- volumes -------------------------------------------------------------- */

static bool blocksize_valid(uint32_t bs)
{
	return bs >= 512 && bs <= 131072 && (bs & (bs - 1)) == 0;
}

void op_create_volume(struct op *op)
{
	const Mvirt__Zfs__CreateVolumeRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct zvolume v = { 0 };
	char ds[ZFS_NAME_MAX + 1], path[4200], now[RFC3339_LEN], err[ZP_ERR_MAX] = "";
	bool has_bs = req->_volblocksize_case ==
		      MVIRT__ZFS__CREATE_VOLUME_REQUEST___VOLBLOCKSIZE_VOLBLOCKSIZE;
	uint32_t bs = has_bs ? req->volblocksize : ZP_DEFAULT_BLOCKSIZE;
	uint64_t size;
	Mvirt__Zfs__Volume *m;
	int r;

	if (!op_check_name(op, "name", req->name))
		return;
	if (req->size_bytes == 0) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "size_bytes must be > 0");
		return;
	}
	if (req->size_bytes > MAX_SIZE_BYTES) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "size_bytes %llu exceeds the maximum of 1 EiB",
			(unsigned long long)req->size_bytes);
		return;
	}
	if (!blocksize_valid(bs)) {
		op_fail(op, GRPC_INVALID_ARGUMENT,
			"volblocksize %u is not a power of two between 512 and 131072", bs);
		return;
	}
	if (volume_name_free(op, req->name) != 0)
		return;
	zp_round_size(svc->zp, req->size_bytes, bs, &size);

	uuid_v4(v.id);
	if (zp_volume_name(svc->zp, v.id, ds) < 0 || zp_disk_path(svc->zp, ds, path, sizeof(path)) < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot name the new volume's dataset");
		return;
	}
	r = zp_disk_create(svc->zp, ds, size, bs, err);
	if (r < 0) {
		op_fail_zfs(op, r, "cannot create the volume", err);
		return;
	}
	rfc3339_format(now_realtime_ns(), now);
	v.name = (char *)req->name;
	v.zfs_path = ds;
	v.device_path = path;
	v.size_bytes = size;
	v.backend = (char *)zp_layout_name(svc->zp->layout);
	v.created_at = now;
	if (volume_record(op, &v) != 0)
		return;
	audit_volume(op, &v, NULL, "Volume '%s' created (%llu bytes)", v.name,
		     (unsigned long long)size);
	if (volume_msg(op, &v, false, &m) == 0)
		op->resp = &m->base;
}

void op_list_volumes(struct op *op)
{
	struct zsvc *svc = op->svc;
	struct zvolume *vols = NULL;
	size_t n = 0;
	Mvirt__Zfs__ListVolumesResponse *resp;
	int r;

	r = zstore_volume_list(svc->store, &vols, &n);
	if (r < 0) {
		op_fail_store(op, r);
		return;
	}
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__list_volumes_response__init(resp);
	resp->volumes = xcalloc(n ?: 1, sizeof(*resp->volumes));
	for (size_t i = 0; i < n; i++) {
		Mvirt__Zfs__Volume *m;
		struct op probe = { .svc = svc };
		if (volume_msg(&probe, &vols[i], false, &m) != 0) {
			/* a volume whose dataset vanished is skipped (and said) */
			log_warning("ListVolumes: skipping '%s': %s", vols[i].name, probe.msg);
			continue;
		}
		resp->volumes[resp->n_volumes++] = m;
	}
	zvolume_list_free(vols, n);
	op->resp = &resp->base;
}

void op_get_volume(struct op *op)
{
	const Mvirt__Zfs__GetVolumeRequest *req = (const void *)op->req;
	struct zvolume v = { 0 };
	Mvirt__Zfs__Volume *m;

	if (volume_lookup(op, "name", req->name, &v) == 0 && volume_msg(op, &v, true, &m) == 0)
		op->resp = &m->base;
	zvolume_clear(&v);
}

/* Index of the snapshot "<dataset>@<id>" in the volume's list, or -1. */
static ssize_t snapshot_index(const struct zvolume *v, const struct zsnapshot *snaps, size_t n,
			      const char *origin)
{
	size_t dl = strlen(v->zfs_path);

	if (strncmp(origin, v->zfs_path, dl) != 0 || origin[dl] != '@')
		return -1;
	for (size_t i = 0; i < n; i++)
		if (streq(origin + dl + 1, snaps[i].id))
			return (ssize_t)i;
	return -1;
}

/*
 * A template promoted from one of the volume's snapshots is a clone of it;
 * ZFS would refuse to destroy the volume. `zfs promote` of that base moves
 * the snapshots it depends on (and older ones) into the base, after which
 * the volume no longer holds anything the template needs. The clone of the
 * newest such snapshot is promoted first; the others then hang off the
 * promoted base. A dependent that is not one of our bases is refused.
 */
static int release_dependents(struct op *op, const struct zvolume *v)
{
	struct zsvc *svc = op->svc;
	struct zsnapshot *snaps = NULL;
	size_t n = 0;
	char err[ZP_ERR_MAX] = "";
	int r;

	r = zstore_snapshot_list(svc->store, v->id, &snaps, &n);
	if (r < 0)
		return op_fail_store(op, r);
	for (int round = 0; round < 64; round++) {
		_cleanup_(zfs_prop_list_free) struct zfs_prop_list origins = { 0 };
		const char *newest = NULL;
		ssize_t newest_idx = -1;
		char base_prefix[ZFS_NAME_MAX + 8];

		r = zp_origins(svc->zp, &origins, err);
		if (r < 0) {
			op_fail_zfs(op, r, "cannot read clone origins", err);
			goto out;
		}
		snprintf(base_prefix, sizeof(base_prefix), "%s/.base/", svc->zp->root);
		for (size_t i = 0; i < origins.n; i++) {
			const struct zfs_prop *p = &origins.items[i];
			size_t dl = strlen(v->zfs_path);
			if (strncmp(p->value, v->zfs_path, dl) != 0 || p->value[dl] != '@')
				continue;
			if (!startswith(p->dataset, base_prefix) || strchr(p->dataset, '@')) {
				r = op_fail(op, GRPC_FAILED_PRECONDITION,
					    "snapshot %s has a dependent clone %s that mvirt does "
					    "not manage", p->value, p->dataset);
				goto out;
			}
			ssize_t idx = snapshot_index(v, snaps, n, p->value);
			if (!newest || idx > newest_idx) {
				newest = p->dataset;
				newest_idx = idx;
			}
		}
		if (!newest) {
			r = 0;
			goto out;
		}
		r = zp_promote(svc->zp, newest, err);
		if (r < 0) {
			op_fail_zfs(op, r, "cannot hand the volume's snapshots to its template", err);
			goto out;
		}
		log_info("DeleteVolume '%s': promoted %s, which depended on its snapshots", v->name,
			 newest);
	}
	r = op_fail(op, GRPC_INTERNAL, "too many dependent templates");
out:
	zsnapshot_list_free(snaps, n);
	return r;
}

/* FAILED_PRECONDITION while a process (a VM) has the volume's disk open:
 * destroying or rolling back under it would change its disk beneath it. */
static int refuse_in_use(struct op *op, const struct zvolume *v)
{
	pid_t pid = 0;

	if (zp_disk_user(op->svc->zp, v->zfs_path, &pid) > 0)
		return op_fail(op, GRPC_FAILED_PRECONDITION,
			       "Volume '%s' is busy: process %d has its disk open", v->name,
			       (int)pid);
	return 0;
}

void op_delete_volume(struct op *op)
{
	const Mvirt__Zfs__DeleteVolumeRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct zvolume v = { 0 };
	char err[ZP_ERR_MAX] = "";
	Mvirt__Zfs__DeleteVolumeResponse *resp;
	int r;

	if (volume_lookup(op, "name", req->name, &v) != 0)
		goto out;
	if (refuse_in_use(op, &v) != 0)
		goto out;
	if (release_dependents(op, &v) != 0)
		goto out;
	r = zp_destroy(svc->zp, v.zfs_path, true, err);
	if (r < 0 && r != -ENOENT) {
		op_fail_zfs(op, r, "cannot destroy the volume", err);
		goto out;
	}
	r = zstore_volume_delete(svc->store, v.id);
	if (r < 0 && r != -ENOENT) {
		op_fail_store(op, r);
		goto out;
	}
	audit_volume(op, &v, NULL, "Volume '%s' deleted", v.name);
	if (v.origin_template_id)
		template_gc(svc, v.origin_template_id);
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__delete_volume_response__init(resp);
	resp->deleted = true;
	op->resp = &resp->base;
out:
	zvolume_clear(&v);
}

void op_resize_volume(struct op *op)
{
	const Mvirt__Zfs__ResizeVolumeRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct zvolume v = { 0 };
	struct zp_diskinfo info;
	char err[ZP_ERR_MAX] = "";
	uint64_t size;
	Mvirt__Zfs__Volume *m;
	int r;

	if (!req->name[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "name is required");
		return;
	}
	if (req->new_size_bytes == 0) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "shrinking is not supported");
		return;
	}
	if (req->new_size_bytes > MAX_SIZE_BYTES) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "new_size_bytes exceeds the maximum of 1 EiB");
		return;
	}
	if (volume_lookup(op, "name", req->name, &v) != 0)
		goto out;
	r = zp_disk_info(svc->zp, v.zfs_path, &info, err);
	if (r < 0) {
		if (r == -ENOENT)
			op_fail(op, GRPC_INTERNAL, "Volume '%s' is missing its dataset", v.name);
		else
			op_fail_zfs(op, r, "cannot read the volume's size", err);
		goto out;
	}
	zp_round_size(svc->zp, req->new_size_bytes, (uint32_t)info.blocksize, &size);
	if (size < info.size) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "shrinking is not supported");
		goto out;
	}
	if (size > info.size) {
		r = zp_disk_grow(svc->zp, v.zfs_path, size, err);
		if (r < 0) {
			op_fail_zfs(op, r, "cannot grow the volume", err);
			goto out;
		}
		r = zstore_volume_set_size(svc->store, v.id, size);
		if (r < 0)
			log_warning_errno(r, "volume %s: size not recorded", v.id);
		audit_volume(op, &v, NULL, "Volume '%s' resized to %llu bytes", v.name,
			     (unsigned long long)size);
	}
	if (volume_msg(op, &v, false, &m) == 0)
		op->resp = &m->base;
out:
	zvolume_clear(&v);
}

/* ---- snapshots ------------------------------------------------------------ */

/* The volume and one of its snapshots, after checking both names. */
static int snapshot_lookup(struct op *op, const char *volume_name, const char *snapshot_name,
			   struct zvolume *v, struct zsnapshot *s)
{
	int r;

	if (!volume_name[0])
		return op_fail(op, GRPC_INVALID_ARGUMENT, "volume_name is required");
	if (!snapshot_name[0])
		return op_fail(op, GRPC_INVALID_ARGUMENT, "snapshot_name is required");
	if (volume_lookup(op, "volume_name", volume_name, v) != 0)
		return op->code;
	r = zstore_snapshot_by_name(op->svc->store, v->id, snapshot_name, s);
	if (r == -ENOENT)
		return op_fail(op, GRPC_NOT_FOUND, "Snapshot '%s' not found", snapshot_name);
	if (r < 0)
		return op_fail_store(op, r);
	return 0;
}

void op_create_snapshot(struct op *op)
{
	const Mvirt__Zfs__CreateSnapshotRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct zvolume v = { 0 };
	struct zsnapshot s = { 0 };
	char full[ZFS_NAME_MAX + 1], now[RFC3339_LEN], err[ZP_ERR_MAX] = "";
	uint64_t used = 0;
	Mvirt__Zfs__Snapshot *m;
	int r;

	if (!req->volume_name[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "volume_name is required");
		return;
	}
	if (!op_check_name(op, "snapshot_name", req->snapshot_name))
		return;
	if (volume_lookup(op, "volume_name", req->volume_name, &v) != 0)
		goto out;
	r = zstore_snapshot_by_name(svc->store, v.id, req->snapshot_name, &s);
	zsnapshot_clear(&s);
	if (r == 0) {
		op_fail(op, GRPC_ALREADY_EXISTS, "Snapshot '%s' already exists", req->snapshot_name);
		goto out;
	}
	if (r != -ENOENT) {
		op_fail_store(op, r);
		goto out;
	}
	uuid_v4(s.id);
	snprintf(s.volume_id, sizeof(s.volume_id), "%s", v.id);
	if (zp_snap_name(svc->zp, v.zfs_path, s.id, full) < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot name the snapshot");
		goto out;
	}
	r = zp_snapshot(svc->zp, full, err);
	if (r < 0) {
		op_fail_zfs(op, r, "cannot snapshot the volume", err);
		goto out;
	}
	rfc3339_format(now_realtime_ns(), now);
	s.name = (char *)req->snapshot_name;
	s.created_at = now;
	r = zstore_snapshot_insert(svc->store, &s);
	if (r < 0) {
		zp_destroy(svc->zp, full, false, NULL);
		if (r == -EEXIST)
			op_fail(op, GRPC_ALREADY_EXISTS, "Snapshot '%s' already exists",
				req->snapshot_name);
		else
			op_fail_store(op, r);
		s = (struct zsnapshot){ 0 };
		goto out;
	}
	zp_snapshot_used(svc->zp, full, &used, NULL);
	audit_volume(op, &v, s.id, "Snapshot '%s' created", s.name);
	m = xmalloc(sizeof(*m));
	mvirt__zfs__snapshot__init(m);
	m->id = xstrdup_or_empty(s.id);
	m->name = xstrdup_or_empty(s.name);
	m->full_name = xstrdup_or_empty(full);
	m->used_bytes = used;
	m->created_at = xstrdup_or_empty(now);
	op->resp = &m->base;
	s = (struct zsnapshot){ 0 };
out:
	zvolume_clear(&v);
}

void op_list_snapshots(struct op *op)
{
	const Mvirt__Zfs__ListSnapshotsRequest *req = (const void *)op->req;
	struct zvolume v = { 0 };
	Mvirt__Zfs__ListSnapshotsResponse *resp;

	if (volume_lookup(op, "volume_name", req->volume_name, &v) != 0)
		goto out;
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__list_snapshots_response__init(resp);
	if (snapshot_msgs(op, &v, &resp->snapshots, &resp->n_snapshots) != 0) {
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		goto out;
	}
	op->resp = &resp->base;
out:
	zvolume_clear(&v);
}

void op_delete_snapshot(struct op *op)
{
	const Mvirt__Zfs__DeleteSnapshotRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct zvolume v = { 0 };
	struct zsnapshot s = { 0 };
	struct ztemplate t = { 0 };
	char full[ZFS_NAME_MAX + 1], err[ZP_ERR_MAX] = "";
	Mvirt__Zfs__DeleteSnapshotResponse *resp;
	int r;

	if (snapshot_lookup(op, req->volume_name, req->snapshot_name, &v, &s) != 0)
		goto out;
	r = zstore_template_by_snapshot(svc->store, s.id, &t);
	if (r == 0) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "snapshot '%s' is used by template '%s'",
			s.name, t.name);
		goto out;
	}
	if (zp_snap_name(svc->zp, v.zfs_path, s.id, full) < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot name the snapshot");
		goto out;
	}
	r = zp_destroy(svc->zp, full, false, err);
	if (r == -ENOTEMPTY) {
		/* a deleted template's clones still need it */
		op_fail(op, GRPC_FAILED_PRECONDITION,
			"snapshot '%s' is used by the clones of a deleted template", s.name);
		goto out;
	}
	if (r < 0 && r != -ENOENT) {
		op_fail_zfs(op, r, "cannot destroy the snapshot", err);
		goto out;
	}
	r = zstore_snapshot_delete(svc->store, s.id);
	if (r < 0 && r != -ENOENT) {
		op_fail_store(op, r);
		goto out;
	}
	audit_volume(op, &v, s.id, "Snapshot '%s' deleted", s.name);
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__delete_snapshot_response__init(resp);
	resp->deleted = true;
	op->resp = &resp->base;
out:
	ztemplate_clear(&t);
	zsnapshot_clear(&s);
	zvolume_clear(&v);
}

void op_rollback_snapshot(struct op *op)
{
	const Mvirt__Zfs__RollbackSnapshotRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct zvolume v = { 0 };
	struct zsnapshot s = { 0 }, *all = NULL;
	size_t n = 0;
	char full[ZFS_NAME_MAX + 1], err[ZP_ERR_MAX] = "";
	struct zp_diskinfo info;
	Mvirt__Zfs__Volume *m;
	int r;

	if (snapshot_lookup(op, req->volume_name, req->snapshot_name, &v, &s) != 0)
		goto out;
	if (refuse_in_use(op, &v) != 0)
		goto out;
	r = zstore_snapshot_list(svc->store, v.id, &all, &n);
	if (r < 0) {
		op_fail_store(op, r);
		goto out;
	}
	if (n > 0 && !streq(all[n - 1].id, s.id)) {
		op_fail(op, GRPC_FAILED_PRECONDITION, "newer snapshots exist");
		goto out;
	}
	if (zp_snap_name(svc->zp, v.zfs_path, s.id, full) < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot name the snapshot");
		goto out;
	}
	r = zp_rollback(svc->zp, full, err);
	if (r < 0) {
		if (strstr(err, "more recent snapshots"))
			op_fail(op, GRPC_FAILED_PRECONDITION, "newer snapshots exist");
		else
			op_fail_zfs(op, r, "cannot roll back", err);
		goto out;
	}
	/* the disk's size is part of the snapshot */
	if (zp_disk_info(svc->zp, v.zfs_path, &info, NULL) == 0 && info.size != v.size_bytes)
		zstore_volume_set_size(svc->store, v.id, info.size);
	audit_volume(op, &v, s.id, "Volume rolled back to snapshot '%s'", s.name);
	if (volume_msg(op, &v, true, &m) == 0)
		op->resp = &m->base;
out:
	zsnapshot_list_free(all, n);
	zsnapshot_clear(&s);
	zvolume_clear(&v);
}
