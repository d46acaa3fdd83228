/* SPDX-License-Identifier: MIT */
/*
 * Templates: a hidden base dataset <root>/.base/<id> with the snapshot @img
 * that volumes are cloned from. Deleting a template removes its record at
 * once; its base stays while clones need it and is garbage-collected when
 * nothing does: after DeleteTemplate, after deleting a clone, and at start.
 * Dependencies are read from ZFS's origin property, the one truth that also
 * covers bases of promoted snapshots and clones of clones.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "timefmt.h"
#include "zfsd.h"

Mvirt__Zfs__Template *template_msg(const struct ztemplate *t)
{
	Mvirt__Zfs__Template *m = xmalloc(sizeof(*m));

	mvirt__zfs__template__init(m);
	m->id = xstrdup_or_empty(t->id);
	m->name = xstrdup_or_empty(t->name);
	m->snapshot_path = xstrdup_or_empty(t->snapshot_path);
	m->source_volume = xstrdup_or_empty(t->source_volume);
	m->size_bytes = t->size_bytes;
	m->created_at = xstrdup_or_empty(t->created_at);
	m->clone_count = t->clone_count;
	return m;
}

static int template_lookup(struct op *op, const char *field, const char *name,
			   struct ztemplate *t)
{
	int r;

	if (!name[0])
		return op_fail(op, GRPC_INVALID_ARGUMENT, "%s is required", field);
	r = zstore_template_by_name(op->svc->store, name, t);
	if (r == -ENOENT)
		return op_fail(op, GRPC_NOT_FOUND, "Template '%s' not found", name);
	if (r < 0)
		return op_fail_store(op, r);
	return 0;
}

/* ---- garbage collection --------------------------------------------------- */

/* Whether any dataset is a clone of a snapshot of base (in origins). */
static bool has_clones(const struct zfs_prop_list *origins, const char *base)
{
	size_t bl = strlen(base);

	for (size_t i = 0; i < origins->n; i++) {
		const char *o = origins->items[i].value;
		if (strncmp(o, base, bl) == 0 && o[bl] == '@')
			return true;
	}
	return false;
}

/* Under gc_lock: destroy the base of id unless a record or a clone needs it. */
static void gc_one(struct zsvc *svc, const struct zfs_prop_list *origins, const char *id)
{
	char base[ZFS_NAME_MAX + 1], err[ZP_ERR_MAX] = "";
	bool exists = true;
	int r;

	if (zp_base_name(svc->zp, id, base) < 0)
		return;
	/* a database error counts as "still needed" */
	if (zstore_template_exists(svc->store, id, &exists) < 0 || exists)
		return;
	if (has_clones(origins, base))
		return;
	r = zp_destroy(svc->zp, base, true, err);
	if (r == 0)
		log_info("template base %s destroyed: nothing needs it any more", base);
	else if (r != -ENOENT)
		log_warning("cannot destroy the unused template base %s: %s", base, err);
}

void template_gc(struct zsvc *svc, const char *template_id)
{
	_cleanup_(zfs_prop_list_free) struct zfs_prop_list origins = { 0 };
	char err[ZP_ERR_MAX] = "";

	pthread_mutex_lock(&svc->gc_lock);
	if (zp_origins(svc->zp, &origins, err) < 0)
		log_warning("template GC skipped: %s", err);
	else
		gc_one(svc, &origins, template_id);
	pthread_mutex_unlock(&svc->gc_lock);
}

void template_gc_all(struct zsvc *svc)
{
	_cleanup_(zfs_prop_list_free) struct zfs_prop_list origins = { 0 };
	char err[ZP_ERR_MAX] = "", prefix[ZFS_NAME_MAX + 8];

	snprintf(prefix, sizeof(prefix), "%s/.base/", svc->zp->root);
	pthread_mutex_lock(&svc->gc_lock);
	if (zp_origins(svc->zp, &origins, err) < 0) {
		log_warning("template GC skipped: %s", err);
	} else {
		for (size_t i = 0; i < origins.n; i++) {
			const char *ds = origins.items[i].dataset;
			if (startswith(ds, prefix) && !strchr(ds, '@') &&
			    zfs_name_ours(ds, svc->zp->root))
				gc_one(svc, &origins, ds + strlen(prefix));
		}
	}
	pthread_mutex_unlock(&svc->gc_lock);
}

/* ---- RPCs ----------------------------------------------------------------- */

void op_list_templates(struct op *op)
{
	struct ztemplate *list = NULL;
	size_t n = 0;
	Mvirt__Zfs__ListTemplatesResponse *resp;
	int r;

	r = zstore_template_list(op->svc->store, &list, &n);
	if (r < 0) {
		op_fail_store(op, r);
		return;
	}
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__list_templates_response__init(resp);
	resp->templates = xcalloc(n ?: 1, sizeof(*resp->templates));
	for (size_t i = 0; i < n; i++)
		resp->templates[resp->n_templates++] = template_msg(&list[i]);
	ztemplate_list_free(list, n);
	op->resp = &resp->base;
}

void op_delete_template(struct op *op)
{
	const Mvirt__Zfs__DeleteTemplateRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct ztemplate t = { 0 };
	Mvirt__Zfs__DeleteTemplateResponse *resp;
	int r;

	if (template_lookup(op, "name", req->name, &t) != 0)
		goto out;
	r = zstore_template_delete(svc->store, t.id);
	if (r < 0 && r != -ENOENT) {
		op_fail_store(op, r);
		goto out;
	}
	const char *ids[] = { t.id, t.name };
	svc_audit(svc, LOG_LEVEL_AUDIT, &op->peer, ids, 2, "Template '%s' deleted", t.name);
	template_gc(svc, t.id);
	resp = xmalloc(sizeof(*resp));
	mvirt__zfs__delete_template_response__init(resp);
	resp->deleted = true;
	op->resp = &resp->base;
out:
	ztemplate_clear(&t);
}

void op_clone_from_template(struct op *op)
{
	const Mvirt__Zfs__CloneFromTemplateRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	bool has_size = req->_size_bytes_case ==
			MVIRT__ZFS__CLONE_FROM_TEMPLATE_REQUEST___SIZE_BYTES_SIZE_BYTES;
	struct ztemplate t = { 0 };
	struct zvolume v = { 0 };
	struct zp_diskinfo info;
	char ds[ZFS_NAME_MAX + 1], path[4200], now[RFC3339_LEN], err[ZP_ERR_MAX] = "";
	uint64_t size;
	int r;

	if (!req->template_name[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "template_name is required");
		return;
	}
	if (!op_check_name(op, "new_volume_name", req->new_volume_name))
		return;
	if (has_size && req->size_bytes == 0) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "size_bytes must be > 0");
		return;
	}
	if (template_lookup(op, "template_name", req->template_name, &t) != 0)
		goto out;
	size = has_size ? req->size_bytes : t.size_bytes;
	if (size < t.size_bytes) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "Volume size %llu is smaller than template size %llu",
			(unsigned long long)size, (unsigned long long)t.size_bytes);
		goto out;
	}
	if (size > (UINT64_C(1) << 60)) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "size_bytes exceeds the maximum of 1 EiB");
		goto out;
	}
	if (volume_name_free(op, req->new_volume_name) != 0)
		goto out;

	uuid_v4(v.id);
	if (zp_volume_name(svc->zp, v.id, ds) < 0 || zp_disk_path(svc->zp, ds, path, sizeof(path)) < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot name the new volume's dataset");
		goto out;
	}
	r = zp_clone(svc->zp, t.snapshot_path, ds, err);
	if (r < 0) {
		op_fail_zfs(op, r, "cannot clone the template", err);
		goto out;
	}
	r = zp_disk_info(svc->zp, ds, &info, err);
	if (r >= 0) {
		zp_round_size(svc->zp, size, (uint32_t)info.blocksize, &size);
		if (size > info.size)
			r = zp_disk_grow(svc->zp, ds, size, err);
		else
			size = info.size;
	}
	if (r < 0) {
		zp_destroy(svc->zp, ds, true, NULL);
		op_fail_zfs(op, r, "cannot size the clone", err);
		goto out;
	}
	rfc3339_format(now_realtime_ns(), now);
	v.name = (char *)req->new_volume_name;
	v.zfs_path = ds;
	v.device_path = path;
	v.size_bytes = size;
	v.origin_template_id = t.id;
	v.backend = (char *)zp_layout_name(svc->zp->layout);
	v.created_at = now;
	if (volume_record(op, &v) != 0)
		goto out_v;
	const char *ids[] = { v.id, v.name, t.id };
	svc_audit(svc, LOG_LEVEL_AUDIT, &op->peer, ids, 3, "Volume '%s' cloned from template '%s'",
		  v.name, t.name);

	Mvirt__Zfs__Volume *m = xmalloc(sizeof(*m));
	mvirt__zfs__volume__init(m);
	m->id = xstrdup_or_empty(v.id);
	m->name = xstrdup_or_empty(v.name);
	m->path = xstrdup_or_empty(path);
	m->volsize_bytes = size;
	m->used_bytes = info.used;
	m->volblocksize = info.blocksize;
	m->compression_ratio = info.compress_x100 / 100.0;
	m->created_at = xstrdup_or_empty(now);
	op->resp = &m->base;
out_v:
	v = (struct zvolume){ 0 };
out:
	ztemplate_clear(&t);
}

void op_promote_snapshot(struct op *op)
{
	const Mvirt__Zfs__PromoteSnapshotRequest *req = (const void *)op->req;
	struct zsvc *svc = op->svc;
	struct zvolume v = { 0 };
	struct zsnapshot s = { 0 };
	struct ztemplate t = { 0 };
	struct zp_diskinfo info;
	char snap[ZFS_NAME_MAX + 1], base[ZFS_NAME_MAX + 1], img[ZFS_NAME_MAX + 1];
	char now[RFC3339_LEN], err[ZP_ERR_MAX] = "";
	bool taken;
	int r;

	if (!req->volume_name[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "volume_name is required");
		return;
	}
	if (!req->snapshot_name[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "snapshot_name is required");
		return;
	}
	if (!op_check_name(op, "template_name", req->template_name))
		return;
	r = zstore_volume_by_name(svc->store, req->volume_name, &v);
	if (r == -ENOENT) {
		op_fail(op, GRPC_NOT_FOUND, "Volume '%s' not found", req->volume_name);
		goto out;
	}
	if (r < 0) {
		op_fail_store(op, r);
		goto out;
	}
	r = zstore_snapshot_by_name(svc->store, v.id, req->snapshot_name, &s);
	if (r == -ENOENT) {
		op_fail(op, GRPC_NOT_FOUND, "Snapshot '%s' not found", req->snapshot_name);
		goto out;
	}
	if (r < 0 || (r = zstore_template_name_taken(svc->store, req->template_name, &taken)) < 0) {
		op_fail_store(op, r);
		goto out;
	}
	if (taken) {
		op_fail(op, GRPC_ALREADY_EXISTS, "Template '%s' already exists", req->template_name);
		goto out;
	}

	uuid_v4(t.id);
	if (zp_snap_name(svc->zp, v.zfs_path, s.id, snap) < 0 ||
	    zp_base_name(svc->zp, t.id, base) < 0 || zp_snap_name(svc->zp, base, "img", img) < 0) {
		op_fail(op, GRPC_INTERNAL, "cannot name the template's datasets");
		goto out;
	}
	r = zp_clone(svc->zp, snap, base, err);
	if (r < 0) {
		op_fail_zfs(op, r, "cannot clone the snapshot", err);
		goto out;
	}
	/* the base holds the snapshot's content, so its size is the snapshot's */
	r = zp_disk_info(svc->zp, base, &info, err);
	if (r >= 0)
		r = zp_snapshot(svc->zp, img, err);
	if (r < 0) {
		zp_destroy(svc->zp, base, true, NULL);
		op_fail_zfs(op, r, "cannot make the template's base", err);
		goto out;
	}
	rfc3339_format(now_realtime_ns(), now);
	t.name = (char *)req->template_name;
	t.base_path = base;
	t.snapshot_path = img;
	t.size_bytes = info.size;
	t.source_volume = v.name;
	t.source_snapshot_id = s.id;
	t.backend = (char *)zp_layout_name(svc->zp->layout);
	t.created_at = now;
	r = zstore_template_insert(svc->store, &t);
	if (r < 0) {
		zp_destroy(svc->zp, base, true, NULL);
		if (r == -EEXIST)
			op_fail(op, GRPC_ALREADY_EXISTS, "Template '%s' already exists",
				req->template_name);
		else
			op_fail_store(op, r);
		t = (struct ztemplate){ 0 };
		goto out;
	}
	const char *ids[] = { t.id, t.name, v.id };
	svc_audit(svc, LOG_LEVEL_AUDIT, &op->peer, ids, 3,
		  "Template '%s' created from volume '%s'", t.name, v.name);
	op->resp = &template_msg(&t)->base;
	t = (struct ztemplate){ 0 };
out:
	ztemplate_clear(&t);
	zsnapshot_clear(&s);
	zvolume_clear(&v);
}
