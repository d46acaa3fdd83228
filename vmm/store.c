/* SPDX-License-Identifier: MIT */
/*
 * The reference tables are created with IF NOT EXISTS so that a reference
 * database is taken over as is; our columns come as separate migrations.
 */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "util.h"

static const char *const migrations[] = {
	"CREATE TABLE IF NOT EXISTS vms ("
	"  id TEXT PRIMARY KEY, name TEXT, state TEXT NOT NULL DEFAULT 'stopped',"
	"  config_json TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER);"
	"CREATE TABLE IF NOT EXISTS vm_runtime ("
	"  vm_id TEXT PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,"
	"  pid INTEGER NOT NULL, api_socket TEXT NOT NULL, serial_socket TEXT NOT NULL);",
	"ALTER TABLE vms ADD COLUMN last_error TEXT;"
	"ALTER TABLE vm_runtime ADD COLUMN pid_start INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vm_runtime ADD COLUMN hypervisor TEXT NOT NULL DEFAULT 'cloud-hypervisor';"
	"ALTER TABLE vm_runtime ADD COLUMN taps TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE vm_runtime ADD COLUMN shared_memory INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX IF NOT EXISTS vms_by_name ON vms(name);",
	/* the config again, packed: decoding JSON dominated ListVms */
	"ALTER TABLE vms ADD COLUMN config_pb BLOB;",
};

struct vmstore {
	struct db_shared d;
};

static const char *const state_names[] = {
	[VM_UNSPECIFIED] = "unspecified", [VM_STOPPED] = "stopped",   [VM_STARTING] = "starting",
	[VM_RUNNING] = "running",	  [VM_STOPPING] = "stopping", [VM_PAUSED] = "paused",
};
static const char *const state_upper[] = {
	[VM_UNSPECIFIED] = "UNSPECIFIED", [VM_STOPPED] = "STOPPED",   [VM_STARTING] = "STARTING",
	[VM_RUNNING] = "RUNNING",	  [VM_STOPPING] = "STOPPING", [VM_PAUSED] = "PAUSED",
};

const char *vm_state_name(enum vm_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "unspecified";
}

const char *vm_state_upper(enum vm_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_upper) ? state_upper[s] : "UNSPECIFIED";
}

enum vm_state vm_state_parse(const char *s)
{
	for (size_t i = 1; i < ARRAY_SIZE(state_names); i++)
		if (s && streq(s, state_names[i]))
			return (enum vm_state)i;
	return VM_UNSPECIFIED;
}

void vm_runtime_clear(struct vm_runtime *rt)
{
	free(rt->control_socket);
	free(rt->serial_socket);
	free(rt->hypervisor);
	free(rt->taps);
	*rt = (struct vm_runtime){ 0 };
}

void vm_record_clear(struct vm_record *r)
{
	free(r->name);
	vmconfig_free(r->config);
	free(r->last_error);
	vm_runtime_clear(&r->rt);
	*r = (struct vm_record){ 0 };
}

void vm_record_list_free(struct vm_record *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vm_record_clear(&v[i]);
	free(v);
}


int vmstore_open(const char *path, struct vmstore **out)
{
	struct vmstore *s = xcalloc(1, sizeof(*s));
	int r = db_shared_open(&s->d, path, migrations, ARRAY_SIZE(migrations));

	if (r < 0) {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void vmstore_close(struct vmstore *s)
{
	if (!s)
		return;
	db_shared_close(&s->d);
	free(s);
}

#define VM_COLUMNS                                                                        \
	"v.id, v.name, v.state, v.config_json, v.created_at, v.started_at, v.last_error, " \
	"r.pid, r.pid_start, r.api_socket, r.serial_socket, r.hypervisor, r.taps, "      \
	"r.shared_memory, v.config_pb"
#define VM_FROM "FROM vms v LEFT JOIN vm_runtime r ON r.vm_id = v.id"

/* A row into a record; a config_json that does not parse is an error of
 * the row (-EBADMSG), reported with the VM's id. */
static int vm_read(sqlite3_stmt *st, struct vm_record *r)
{
	const char *json = (const char *)sqlite3_column_text(st, 3);
	char err[256];
	int rc;

	*r = (struct vm_record){ 0 };
	snprintf(r->id, sizeof(r->id), "%s", (const char *)sqlite3_column_text(st, 0) ?: "");
	r->name = db_column_dup(st, 1);
	r->state = vm_state_parse((const char *)sqlite3_column_text(st, 2));
	r->created_at = sqlite3_column_int64(st, 4);
	r->has_started_at = sqlite3_column_type(st, 5) != SQLITE_NULL;
	r->started_at = sqlite3_column_int64(st, 5);
	r->last_error = db_column_dup(st, 6);
	r->has_runtime = sqlite3_column_type(st, 7) != SQLITE_NULL;
	if (r->has_runtime) {
		r->rt.pid = (pid_t)sqlite3_column_int64(st, 7);
		r->rt.pid_start = (uint64_t)sqlite3_column_int64(st, 8);
		r->rt.control_socket = db_column_dup(st, 9);
		r->rt.serial_socket = db_column_dup(st, 10);
		r->rt.hypervisor = db_column_dup(st, 11);
		r->rt.taps = db_column_dup(st, 12);
		r->rt.shared_memory = sqlite3_column_int(st, 13) != 0;
	}
	/* the packed copy when there is one (rows of a reference database,
	 * or written by it, have only the JSON) */
	if (sqlite3_column_type(st, 14) == SQLITE_BLOB)
		r->config = mvirt__vm_config__unpack(NULL, (size_t)sqlite3_column_bytes(st, 14),
						     sqlite3_column_blob(st, 14));
	rc = r->config ? 0
		       : vmconfig_from_json(json ?: "", json ? strlen(json) : 0, &r->config, err,
					    sizeof(err));
	if (rc < 0) {
		log_error("VM %s: unreadable %s", r->id, err);
		vm_record_clear(r);
		return rc;
	}
	return 0;
}

static int vm_select(struct vmstore *s, const char *where, const char *key,
		     struct vm_record **out, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *sql = xasprintf("SELECT " VM_COLUMNS " " VM_FROM " %s "
					     "ORDER BY v.created_at DESC, v.id", where);
	struct vm_record *v = NULL;
	size_t count = 0;
	int r;

	DB_LOCKED(&s->d) {
		r = key ? db_query(s->d.db, &st, sql, "s", key) : db_query(s->d.db, &st, sql, "");
		while (r >= 0 && (r = db_step(st)) > 0) {
			v = xrealloc(v, (count + 1) * sizeof(*v));
			if (vm_read(st, &v[count]) == 0)
				count++; /* an unreadable row was logged and is left out */
		}
	}
	if (r < 0) {
		vm_record_list_free(v, count);
		return r;
	}
	*out = v;
	*n = count;
	return 0;
}

int vmstore_list(struct vmstore *s, struct vm_record **out, size_t *n)
{
	return vm_select(s, "", NULL, out, n);
}

int vmstore_get(struct vmstore *s, const char *id, struct vm_record *out)
{
	struct vm_record *v = NULL;
	size_t n = 0;
	int r = vm_select(s, "WHERE v.id = ?", id, &v, &n);

	if (r < 0)
		return r;
	if (n == 0) {
		free(v);
		return -ENOENT;
	}
	*out = v[0];
	v[0] = (struct vm_record){ 0 };
	vm_record_list_free(v, n);
	return 0;
}

int vmstore_resolve(struct vmstore *s, const char *ref, struct vm_record *out)
{
	struct vm_record *v = NULL;
	size_t n = 0;
	int r = vmstore_get(s, ref, out);

	if (r != -ENOENT)
		return r;
	r = vm_select(s, "WHERE v.name = ?", ref, &v, &n);
	if (r < 0)
		return r;
	if (n == 1) {
		*out = v[0];
		v[0] = (struct vm_record){ 0 };
	}
	vm_record_list_free(v, n);
	return n == 0 ? -ENOENT : n > 1 ? -ENOTUNIQ : 0;
}

int vmstore_name_taken(struct vmstore *s, const char *name, bool *taken)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st, "SELECT 1 FROM vms WHERE name = ?", "s", name);
		if (r >= 0)
			r = db_step(st);
	}
	if (r < 0)
		return r;
	*taken = r > 0;
	return 0;
}

/* Bind the packed config as parameter idx. */
static int bind_packed(sqlite3_stmt *st, int idx, const Mvirt__VmConfig *c)
{
	size_t n = protobuf_c_message_get_packed_size(&c->base);
	uint8_t *buf = xmalloc(n ?: 1);

	protobuf_c_message_pack(&c->base, buf);
	return db_errno(sqlite3_bind_blob(st, idx, buf, (int)n, free));
}

/* Run sql (prepared with types) after binding the config as its last
 * parameter; -EEXIST / -ENOENT as db_run. */
static int run_with_config(struct vmstore *s, bool must_change, sqlite3_stmt *st,
			   const Mvirt__VmConfig *c, int idx)
{
	int r = bind_packed(st, idx, c), rc;

	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc) ?: -EIO;
	if (must_change && sqlite3_changes(s->d.db) == 0)
		return -ENOENT;
	return 0;
}

int vmstore_insert(struct vmstore *s, const struct vm_record *rec)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = vmconfig_to_json(rec->config, &json);
	if (r < 0)
		return r;
	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st,
			     "INSERT INTO vms (id, name, state, config_json, created_at, config_pb) "
			     "VALUES (?, ?, ?, ?, ?, ?)",
			     "ssssl", rec->id, rec->name, vm_state_name(rec->state), json,
			     rec->created_at);
		if (r >= 0)
			r = run_with_config(s, false, st, rec->config, 6);
	}
	return r;
}

int vmstore_delete(struct vmstore *s, const char *id)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, true, "DELETE FROM vms WHERE id = ?", "s", id);
	return r;
}

int vmstore_set_config(struct vmstore *s, const char *id, const Mvirt__VmConfig *c)
{
	_cleanup_free_ char *json = NULL;
	int r;

	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	r = vmconfig_to_json(c, &json);
	if (r < 0)
		return r;
	DB_LOCKED(&s->d) {
		r = db_query(s->d.db, &st,
			     "UPDATE vms SET config_json = ?, config_pb = ?3 WHERE id = ?2", "ss",
			     json, id);
		if (r >= 0)
			r = run_with_config(s, true, st, c, 3);
	}
	return r;
}

int vmstore_set_state(struct vmstore *s, const char *id, enum vm_state state, bool started,
		      const char *last_error)
{
	int64_t now = (int64_t)time(NULL);
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, true,
		   "UPDATE vms SET state = ?, started_at = CASE WHEN ? THEN ? ELSE started_at END, "
		   "last_error = CASE WHEN ? IS NULL THEN last_error WHEN ? = '' THEN NULL "
		   "ELSE ? END WHERE id = ?",
		   "silssss", vm_state_name(state), (int)started, now, last_error, last_error,
		   last_error, id);
	return r;
}

int vmstore_set_runtime(struct vmstore *s, const char *id, const struct vm_runtime *rt)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, false,
		   "INSERT OR REPLACE INTO vm_runtime (vm_id, pid, api_socket, serial_socket, "
		   "pid_start, hypervisor, taps, shared_memory) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		   "slssussi", id, (int64_t)rt->pid, rt->control_socket, rt->serial_socket,
		   rt->pid_start, rt->hypervisor, rt->taps ? rt->taps : "", (int)rt->shared_memory);
	return r;
}

int vmstore_clear_runtime(struct vmstore *s, const char *id)
{
	int r;

	DB_LOCKED(&s->d)
	r = db_run(s->d.db, false, "DELETE FROM vm_runtime WHERE vm_id = ?", "s", id);
	return r;
}
