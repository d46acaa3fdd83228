/* SPDX-License-Identifier: MIT */
/*
 * mvirt.zfs.ZfsService: the gRPC side. Each call becomes an op that a worker
 * thread carries out under the keys of the objects the request names; the
 * loop thread then sends the reply. WatchImportJob streams live on the loop:
 * import threads publish job states through the work queue's post.
 */
#include "service.h"

#include <stdarg.h>
#include <stdio.h>

#include "ids.h"
#include "log.h"
#include "zfsd.h"

#define KEY_MAX 96

struct watcher {
	struct watcher *next;
	struct zsvc *svc;
	struct grpc_call *call;
	char job_id[UUID_STR_LEN];
};

/* ---- status helpers ------------------------------------------------------- */

int op_fail(struct op *op, int code, const char *fmt, ...)
{
	va_list ap;

	op->code = code;
	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
	va_end(ap);
	return code;
}

int op_fail_zfs(struct op *op, int r, const char *what, const char *zerr)
{
	switch (r) {
	case -EBUSY:
		return op_fail(op, GRPC_FAILED_PRECONDITION, "%s: dataset is busy (in use?): %s",
			       what, zerr);
	case -ENOTEMPTY:
		return op_fail(op, GRPC_FAILED_PRECONDITION, "%s: %s", what, zerr);
	case -ENOSPC:
		return op_fail(op, GRPC_RESOURCE_EXHAUSTED, "%s: out of space: %s", what, zerr);
	case -ETIMEDOUT:
		return op_fail(op, GRPC_UNAVAILABLE, "%s: zfs did not answer in time: %s", what,
			       zerr);
	default:
		return op_fail(op, GRPC_INTERNAL, "%s: %s", what, zerr && zerr[0] ? zerr : strerror(-r));
	}
}

int op_fail_store(struct op *op, int r)
{
	return op_fail(op, GRPC_INTERNAL, "metadata database error: %s", strerror(-r));
}

bool op_check_name(struct op *op, const char *field, const char *name)
{
	if (!name || !name[0]) {
		op_fail(op, GRPC_INVALID_ARGUMENT, "%s is required", field);
		return false;
	}
	if (!name_valid(name)) {
		op_fail(op, GRPC_INVALID_ARGUMENT,
			"invalid name '%s': 1-63 chars of [A-Za-z0-9._-], starting alphanumeric",
			name);
		return false;
	}
	return true;
}

/* ---- dispatch ------------------------------------------------------------- */

static void op_work(void *userdata)
{
	struct op *op = userdata;

	op->run(op);
}

static void op_done(void *userdata)
{
	struct op *op = userdata;

	if (op->code == GRPC_OK && op->resp)
		grpc_call_reply(op->call, op->resp);
	else
		grpc_call_finish(op->call, op->code == GRPC_OK ? GRPC_INTERNAL : op->code, "%s",
				 op->msg);
	if (op->start)
		import_start(op->svc, op->start);
	if (op->resp)
		protobuf_c_message_free_unpacked(op->resp, NULL);
	grpc_call_unref(op->call);
	free(op);
}

/* "vol:<name>"-style keys of what a request names. */
static size_t op_keys(const char *method, const ProtobufCMessage *req, char keys[][KEY_MAX])
{
	size_t n = 0;

#define KEY(prefix, value) snprintf(keys[n++], KEY_MAX, prefix "%.80s", (value))
	if (streq(method, "CreateVolume"))
		KEY("vol:", ((const Mvirt__Zfs__CreateVolumeRequest *)req)->name);
	else if (streq(method, "GetVolume"))
		KEY("vol:", ((const Mvirt__Zfs__GetVolumeRequest *)req)->name);
	else if (streq(method, "DeleteVolume"))
		KEY("vol:", ((const Mvirt__Zfs__DeleteVolumeRequest *)req)->name);
	else if (streq(method, "ResizeVolume"))
		KEY("vol:", ((const Mvirt__Zfs__ResizeVolumeRequest *)req)->name);
	else if (streq(method, "CreateSnapshot"))
		KEY("vol:", ((const Mvirt__Zfs__CreateSnapshotRequest *)req)->volume_name);
	else if (streq(method, "ListSnapshots"))
		KEY("vol:", ((const Mvirt__Zfs__ListSnapshotsRequest *)req)->volume_name);
	else if (streq(method, "DeleteSnapshot"))
		KEY("vol:", ((const Mvirt__Zfs__DeleteSnapshotRequest *)req)->volume_name);
	else if (streq(method, "RollbackSnapshot"))
		KEY("vol:", ((const Mvirt__Zfs__RollbackSnapshotRequest *)req)->volume_name);
	else if (streq(method, "ImportTemplate"))
		KEY("tpl:", ((const Mvirt__Zfs__ImportTemplateRequest *)req)->name);
	else if (streq(method, "DeleteTemplate"))
		KEY("tpl:", ((const Mvirt__Zfs__DeleteTemplateRequest *)req)->name);
	else if (streq(method, "CancelImportJob"))
		KEY("job:", ((const Mvirt__Zfs__CancelImportJobRequest *)req)->id);
	else if (streq(method, "CloneFromTemplate")) {
		const Mvirt__Zfs__CloneFromTemplateRequest *c = (const void *)req;
		KEY("tpl:", c->template_name);
		KEY("vol:", c->new_volume_name);
	} else if (streq(method, "PromoteSnapshotToTemplate")) {
		const Mvirt__Zfs__PromoteSnapshotRequest *p = (const void *)req;
		KEY("vol:", p->volume_name);
		KEY("tpl:", p->template_name);
	}
#undef KEY
	return n;
}

static void dispatch(struct grpc_call *call, const ProtobufCMessage *req, void *userdata,
		     void (*run)(struct op *))
{
	struct zsvc *svc = userdata;
	struct op *op = xcalloc(1, sizeof(*op));
	const char *path = grpc_call_path(call);
	const char *method = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char keys[WORKQ_KEYS_MAX][KEY_MAX];
	const char *key_ptrs[WORKQ_KEYS_MAX];
	size_t n = op_keys(method, req, keys);
	int r;

	op->svc = svc;
	op->call = grpc_call_ref(call);
	op->req = req;
	op->peer = *grpc_call_peer(call);
	op->run = run;
	for (size_t i = 0; i < n; i++)
		key_ptrs[i] = keys[i];
	r = workq_submit(svc->wq, key_ptrs, n, op_work, op_done, op);
	if (r < 0) {
		grpc_call_finish(call, GRPC_UNAVAILABLE, "the server is shutting down");
		grpc_call_unref(call);
		free(op);
	}
}

#define RPC(fn)                                                                        \
	static void rpc_##fn(struct grpc_call *call, const ProtobufCMessage *req, void *ud) \
	{                                                                              \
		dispatch(call, req, ud, op_##fn);                                      \
	}
RPC(get_pool_stats)
RPC(create_volume)
RPC(list_volumes)
RPC(get_volume)
RPC(delete_volume)
RPC(resize_volume)
RPC(create_snapshot)
RPC(list_snapshots)
RPC(delete_snapshot)
RPC(rollback_snapshot)
RPC(import_template)
RPC(get_import_job)
RPC(list_import_jobs)
RPC(cancel_import_job)
RPC(list_templates)
RPC(delete_template)
RPC(clone_from_template)
RPC(promote_snapshot)

/* ---- WatchImportJob ------------------------------------------------------- */

static void watcher_remove(struct zsvc *svc, struct watcher *w)
{
	for (struct watcher **pp = &svc->watchers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	grpc_call_unref(w->call);
	free(w);
}

static void watcher_on_cancel(struct grpc_call *call, void *userdata)
{
	struct watcher *w = userdata;

	(void)call;
	watcher_remove(w->svc, w);
}

static const struct grpc_call_handlers watcher_handlers = { .on_cancel = watcher_on_cancel };

/* Send msg to w; a terminal state ends the stream. true when w is gone. */
static bool watcher_send(struct zsvc *svc, struct watcher *w, const Mvirt__Zfs__ImportJob *msg)
{
	bool terminal = zjob_state_terminal((enum zjob_state)msg->state);

	grpc_call_send(w->call, &msg->base);
	if (terminal || grpc_call_queued_bytes(w->call) > 4 * GRPC_CALL_LOW_WATER) {
		if (terminal)
			grpc_call_finish(w->call, GRPC_OK, "%s", "");
		else
			grpc_call_finish(w->call, GRPC_RESOURCE_EXHAUSTED,
					 "the watcher does not keep up");
		grpc_call_set_handlers(w->call, NULL, NULL);
		watcher_remove(svc, w);
		return true;
	}
	return false;
}

struct publication {
	struct zsvc *svc;
	Mvirt__Zfs__ImportJob *msg;
};

static void on_publish(void *userdata)
{
	struct publication *p = userdata;
	struct watcher *next;

	for (struct watcher *w = p->svc->watchers; w; w = next) {
		next = w->next;
		if (streq(w->job_id, p->msg->id))
			watcher_send(p->svc, w, p->msg);
	}
	protobuf_c_message_free_unpacked(&p->msg->base, NULL);
	free(p);
}

void watch_publish(struct zsvc *svc, Mvirt__Zfs__ImportJob *msg)
{
	struct publication *p = xmalloc(sizeof(*p));

	*p = (struct publication){ svc, msg };
	if (workq_post(svc->wq, on_publish, p) < 0) {
		protobuf_c_message_free_unpacked(&msg->base, NULL);
		free(p);
	}
}

static void rpc_watch_import_job(struct grpc_call *call, const ProtobufCMessage *req, void *ud)
{
	const Mvirt__Zfs__GetImportJobRequest *r = (const void *)req;
	struct zsvc *svc = ud;
	struct zjob job = { 0 };
	Mvirt__Zfs__ImportJob *msg;
	struct watcher *w;
	int rc;

	if (!r->id[0]) {
		grpc_call_finish(call, GRPC_INVALID_ARGUMENT, "id is required");
		return;
	}
	/* On the loop thread, so that no published state can slip between this
	 * read and the registration below: a job is published (on this thread)
	 * only after its state was stored. */
	rc = zstore_job_get(svc->store, r->id, &job);
	if (rc == -ENOENT) {
		grpc_call_finish(call, GRPC_NOT_FOUND, "Import job '%s' not found", r->id);
		return;
	}
	if (rc < 0) {
		grpc_call_finish(call, GRPC_INTERNAL, "metadata database error: %s", strerror(-rc));
		return;
	}
	msg = job_msg(svc, &job);
	zjob_clear(&job);
	w = xcalloc(1, sizeof(*w));
	w->svc = svc;
	w->call = grpc_call_ref(call);
	snprintf(w->job_id, sizeof(w->job_id), "%s", r->id);
	w->next = svc->watchers;
	svc->watchers = w;
	grpc_call_set_handlers(call, &watcher_handlers, w);
	watcher_send(svc, w, msg);
	protobuf_c_message_free_unpacked(&msg->base, NULL);
}

static void on_shutdown(void *userdata)
{
	struct zsvc *svc = userdata;

	while (svc->watchers) {
		struct watcher *w = svc->watchers;
		grpc_call_set_handlers(w->call, NULL, NULL);
		grpc_call_finish(w->call, GRPC_UNAVAILABLE, "the server is shutting down");
		watcher_remove(svc, w);
	}
}

/* ---- the service ---------------------------------------------------------- */

#define M(name, kind, in, out, fn) \
	{ name, kind, &mvirt__zfs__##in##__descriptor, &mvirt__zfs__##out##__descriptor, fn }

static const struct grpc_method zfs_methods[] = {
	M("GetPoolStats", GRPC_UNARY, get_pool_stats_request, pool_stats, rpc_get_pool_stats),
	M("CreateVolume", GRPC_UNARY, create_volume_request, volume, rpc_create_volume),
	M("ListVolumes", GRPC_UNARY, list_volumes_request, list_volumes_response,
	  rpc_list_volumes),
	M("GetVolume", GRPC_UNARY, get_volume_request, volume, rpc_get_volume),
	M("DeleteVolume", GRPC_UNARY, delete_volume_request, delete_volume_response,
	  rpc_delete_volume),
	M("ResizeVolume", GRPC_UNARY, resize_volume_request, volume, rpc_resize_volume),
	M("CreateSnapshot", GRPC_UNARY, create_snapshot_request, snapshot, rpc_create_snapshot),
	M("ListSnapshots", GRPC_UNARY, list_snapshots_request, list_snapshots_response,
	  rpc_list_snapshots),
	M("DeleteSnapshot", GRPC_UNARY, delete_snapshot_request, delete_snapshot_response,
	  rpc_delete_snapshot),
	M("RollbackSnapshot", GRPC_UNARY, rollback_snapshot_request, volume,
	  rpc_rollback_snapshot),
	M("ImportTemplate", GRPC_UNARY, import_template_request, import_job,
	  rpc_import_template),
	M("GetImportJob", GRPC_UNARY, get_import_job_request, import_job, rpc_get_import_job),
	M("ListImportJobs", GRPC_UNARY, list_import_jobs_request, list_import_jobs_response,
	  rpc_list_import_jobs),
	M("CancelImportJob", GRPC_UNARY, cancel_import_job_request, cancel_import_job_response,
	  rpc_cancel_import_job),
	M("ListTemplates", GRPC_UNARY, list_templates_request, list_templates_response,
	  rpc_list_templates),
	M("DeleteTemplate", GRPC_UNARY, delete_template_request, delete_template_response,
	  rpc_delete_template),
	M("CloneFromTemplate", GRPC_UNARY, clone_from_template_request, volume,
	  rpc_clone_from_template),
	M("PromoteSnapshotToTemplate", GRPC_UNARY, promote_snapshot_request, template,
	  rpc_promote_snapshot),
	M("WatchImportJob", GRPC_SERVER_STREAMING, get_import_job_request, import_job,
	  rpc_watch_import_job),
};

int zfs_service_new(sd_event *event, struct zstore *store, struct zp *zp,
		    struct audit_client *audit, const struct zfs_service_config *cfg,
		    unsigned threads, struct zsvc **out)
{
	struct zsvc *svc = xcalloc(1, sizeof(*svc));
	int r;

	svc->event = event;
	svc->store = store;
	svc->zp = zp;
	svc->audit = audit;
	svc->cfg = *cfg;
	pthread_mutex_init(&svc->gc_lock, NULL);
	pthread_mutex_init(&svc->jobs_lock, NULL);
	pthread_cond_init(&svc->jobs_cond, NULL);
	svc->grpc = (struct grpc_service){
		.name = "mvirt.zfs.ZfsService",
		.methods = zfs_methods,
		.n_methods = ARRAY_SIZE(zfs_methods),
		.userdata = svc,
		.on_shutdown = on_shutdown,
	};
	r = workq_new(event, threads, &svc->wq);
	if (r < 0) {
		free(svc);
		return r;
	}
	*out = svc;
	return 0;
}

const struct grpc_service *zfs_service_grpc(struct zsvc *svc)
{
	return &svc->grpc;
}

void zfs_service_start(struct zsvc *svc)
{
	import_recover(svc);
	template_gc_all(svc);
}

void zfs_service_free(struct zsvc *svc)
{
	if (!svc)
		return;
	import_stop_all(svc);
	workq_free(svc->wq);
	on_shutdown(svc);
	pthread_cond_destroy(&svc->jobs_cond);
	pthread_mutex_destroy(&svc->jobs_lock);
	pthread_mutex_destroy(&svc->gc_lock);
	free(svc);
}
