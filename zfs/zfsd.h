/* SPDX-License-Identifier: MIT */
/*
 * Internals of mvirt-zfs shared by its files: the service state, and the
 * operation object every RPC becomes. An RPC is validated and carried out
 * by a worker thread (workq.h) under the keys of the objects it names
 * ("vol:<name>", "tpl:<name>", "job:<id>"), so that operations on one object
 * are serialized and others proceed; the reply is sent from the loop.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>

#include "audit.h"
#include "pool.h"
#include "server.h"
#include "store.h"
#include "workq.h"
#include "zfs.pb-c.h"

#define LOG_LEVEL_ERROR 2
#define LOG_LEVEL_AUDIT 4

struct import_job;

struct zfs_service_config {
	char **import_roots;   /* resolved (realpath) directories; none: local imports refused */
	size_t n_import_roots;
	unsigned max_imports;  /* imports copying at once; more wait in PENDING */
	const char *ca_file;   /* CA store for https imports; NULL: the system's */
	unsigned http_stall_ms;
};

struct zsvc {
	sd_event *event;
	struct grpc_service grpc;
	struct workq *wq;
	struct zstore *store;
	struct zp *zp;
	struct audit_client *audit;
	struct zfs_service_config cfg;
	pthread_mutex_t gc_lock;      /* one base GC at a time */

	/* imports: running jobs and their slots (import.c) */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	struct import_job *jobs;
	unsigned copying;
	bool stopping;

	/* WatchImportJob streams, loop thread only */
	struct watcher *watchers;
};

struct op {
	struct zsvc *svc;
	struct grpc_call *call;
	const ProtobufCMessage *req;
	struct grpc_peer peer;
	void (*run)(struct op *op);
	int code;                 /* GRPC_OK or the failure's status */
	char msg[1024];
	ProtobufCMessage *resp;   /* heap, freed with protobuf_c_message_free_unpacked */
	struct import_job *start; /* ImportTemplate: the job to start after the reply */
};

/* Set the op's failure status; returns code (for `return op_fail(...)`). */
int op_fail(struct op *op, int code, const char *fmt, ...) PRINTF_FMT(3, 4);
/* A failed zfs step: busy/dependents → FAILED_PRECONDITION, no space →
 * RESOURCE_EXHAUSTED, else INTERNAL, with what and ZFS's reason. */
int op_fail_zfs(struct op *op, int r, const char *what, const char *zerr);
int op_fail_store(struct op *op, int r);


/* The name rule check with api.md's message; true when valid. */
bool op_check_name(struct op *op, const char *field, const char *name);

/* RPCs of volumes and snapshots (volumes.c). */
void op_get_pool_stats(struct op *op);
void op_create_volume(struct op *op);
void op_list_volumes(struct op *op);
void op_get_volume(struct op *op);
void op_delete_volume(struct op *op);
void op_resize_volume(struct op *op);
void op_create_snapshot(struct op *op);
void op_list_snapshots(struct op *op);
void op_delete_snapshot(struct op *op);
void op_rollback_snapshot(struct op *op);

/* Shared by CreateVolume and CloneFromTemplate (volumes.c). */
int volume_name_free(struct op *op, const char *name);
int volume_record(struct op *op, const struct zvolume *v);

/* Templates (templates.c). */
void op_list_templates(struct op *op);
void op_delete_template(struct op *op);
void op_clone_from_template(struct op *op);
void op_promote_snapshot(struct op *op);
Mvirt__Zfs__Template *template_msg(const struct ztemplate *t);
/* Destroy the base of template id when no record and no clone needs it. */
void template_gc(struct zsvc *svc, const char *template_id);
/* At start: every base that nothing needs. */
void template_gc_all(struct zsvc *svc);

/* Imports (import.c). */
void op_import_template(struct op *op);
void op_get_import_job(struct op *op);
void op_list_import_jobs(struct op *op);
void op_cancel_import_job(struct op *op);
/* Loop thread: start the job op->start after ImportTemplate replied. */
void import_start(struct zsvc *svc, struct import_job *job);
Mvirt__Zfs__ImportJob *job_msg(struct zsvc *svc, const struct zjob *j);
/* At start: unfinished jobs of a previous run become FAILED, leftovers go. */
void import_recover(struct zsvc *svc);
/* Shutdown: stop every running job (FAILED, cleaned up) and join them. */
void import_stop_all(struct zsvc *svc);

/* WatchImportJob (service.c): deliver a job's new state to its watchers;
 * takes ownership of msg. Callable from any thread. */
void watch_publish(struct zsvc *svc, Mvirt__Zfs__ImportJob *msg);

/* The audit trail (component "zfs"): never blocks, never fails the RPC. */
#define svc_audit(svc, level, peer, ids, n, ...) \
	audit_log((svc)->audit, level, peer, ids, n, __VA_ARGS__)
