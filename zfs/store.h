/* SPDX-License-Identifier: MIT */
/*
 * The storage daemon's metadata in SQLite: user names ↔ ids of volumes,
 * snapshots and templates, and the import jobs. The schema is the reference
 * one (volumes, snapshots, templates, import_jobs) with additive columns only,
 * so a reference database is adopted as is.
 *
 * Every function is one atomic unit under the store's mutex: the daemon calls
 * them from several worker threads and a multi-statement change must not
 * interleave with another thread's statements on the shared connection.
 * Strings in the records are owned by the record (free with the _clear
 * functions). Lists are ordered as the API returns them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"

struct zstore;

struct zvolume {
	char id[UUID_STR_LEN];
	char *name;
	char *zfs_path;     /* <root>/<id> */
	char *device_path;  /* what Volume.path says: /dev/zvol/... or .../disk.raw */
	uint64_t size_bytes;
	char *origin_template_id; /* NULL unless cloned from a template */
	char *backend;      /* "zvol" or "file" */
	char *created_at;
};

struct zsnapshot {
	char id[UUID_STR_LEN];
	char volume_id[UUID_STR_LEN];
	char *name;
	char *created_at;
};

struct ztemplate {
	char id[UUID_STR_LEN];
	char *name;
	char *base_path;      /* <root>/.base/<id> */
	char *snapshot_path;  /* <root>/.base/<id>@img */
	uint64_t size_bytes;
	char *source_volume;  /* "" for imports */
	char *source_snapshot_id; /* NULL for imports */
	char *backend;
	char *created_at;
	uint32_t clone_count; /* computed: volumes with this origin */
};

enum zjob_state {
	ZJOB_UNSPECIFIED = 0,
	ZJOB_PENDING = 1,
	ZJOB_DOWNLOADING = 2,
	ZJOB_CONVERTING = 3,
	ZJOB_WRITING = 4,
	ZJOB_COMPLETED = 5,
	ZJOB_FAILED = 6,
	ZJOB_CANCELLED = 7,
};

struct zjob {
	char id[UUID_STR_LEN];
	char *template_name;
	char *source;
	char *format;        /* "raw", "qcow2", "auto" (reference values) */
	enum zjob_state state;
	uint64_t bytes_written;
	uint64_t total_bytes;
	char *error;         /* NULL unless FAILED */
	char *created_at;
	char *completed_at;  /* NULL until terminal */
	char *template_id;   /* the base being written / the template made; may be NULL */
};

const char *zjob_state_name(enum zjob_state s);
enum zjob_state zjob_state_parse(const char *s);
static inline bool zjob_state_terminal(enum zjob_state s)
{
	return s == ZJOB_COMPLETED || s == ZJOB_FAILED || s == ZJOB_CANCELLED;
}

void zvolume_clear(struct zvolume *v);
void zsnapshot_clear(struct zsnapshot *s);
void ztemplate_clear(struct ztemplate *t);
void zjob_clear(struct zjob *j);
void zvolume_list_free(struct zvolume *v, size_t n);
void zsnapshot_list_free(struct zsnapshot *s, size_t n);
void ztemplate_list_free(struct ztemplate *t, size_t n);
void zjob_list_free(struct zjob *j, size_t n);

int zstore_open(const char *path, struct zstore **out);
void zstore_close(struct zstore *s);

/* Volumes. Lookups: 0, -ENOENT, or another -errno. Inserts: -EEXIST when
 * the name is taken. */
int zstore_volume_by_name(struct zstore *s, const char *name, struct zvolume *out);
int zstore_volume_list(struct zstore *s, struct zvolume **out, size_t *n);
int zstore_volume_insert(struct zstore *s, const struct zvolume *v);
int zstore_volume_delete(struct zstore *s, const char *id);
int zstore_volume_set_size(struct zstore *s, const char *id, uint64_t size);
/* Sum of the sizes of volumes and templates (provisioned bytes). */
int zstore_provisioned(struct zstore *s, uint64_t *out);

/* Snapshots of a volume, oldest first. */
int zstore_snapshot_by_name(struct zstore *s, const char *volume_id, const char *name,
			    struct zsnapshot *out);
int zstore_snapshot_list(struct zstore *s, const char *volume_id, struct zsnapshot **out,
			 size_t *n);
int zstore_snapshot_insert(struct zstore *s, const struct zsnapshot *snap);
int zstore_snapshot_delete(struct zstore *s, const char *id);

/* Templates. */
int zstore_template_by_name(struct zstore *s, const char *name, struct ztemplate *out);
int zstore_template_by_id(struct zstore *s, const char *id, struct ztemplate *out);
/* The template promoted from this snapshot, if any (-ENOENT when none). */
int zstore_template_by_snapshot(struct zstore *s, const char *snapshot_id, struct ztemplate *out);
int zstore_template_list(struct zstore *s, struct ztemplate **out, size_t *n);
int zstore_template_insert(struct zstore *s, const struct ztemplate *t);
int zstore_template_delete(struct zstore *s, const char *id);
/* true when a template or an unfinished import job has this name. */
int zstore_template_name_taken(struct zstore *s, const char *name, bool *taken);
int zstore_template_exists(struct zstore *s, const char *id, bool *exists);

/* Import jobs. */
int zstore_job_insert(struct zstore *s, const struct zjob *j);
int zstore_job_get(struct zstore *s, const char *id, struct zjob *out);
int zstore_job_list(struct zstore *s, bool include_completed, struct zjob **out, size_t *n);
int zstore_job_set_template_id(struct zstore *s, const char *id, const char *template_id);
int zstore_job_progress(struct zstore *s, const char *id, enum zjob_state state,
			uint64_t bytes_written, uint64_t total_bytes);
/* Enter a terminal state (completed_at is set the first time only). */
int zstore_job_finish(struct zstore *s, const char *id, enum zjob_state state,
		      uint64_t bytes_written, const char *error);
/* The job is done: insert its template and mark it COMPLETED in one
 * transaction; -EEXIST (and nothing changed) when the name got taken. */
int zstore_job_complete(struct zstore *s, const char *id, uint64_t bytes_written,
			const struct ztemplate *t);
/* At start: every unfinished job becomes FAILED with the given error; their
 * ids and template ids are returned for clean-up. */
int zstore_jobs_interrupt(struct zstore *s, const char *error, struct zjob **out, size_t *n);
