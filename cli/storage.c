/* SPDX-License-Identifier: MIT */
/* The part of the storage commands that they all share (see storage.h). */
#include <inttypes.h>
#include <stdio.h>

#include "size.h"
#include "storage.h"
#include "table.h"

int zfs_call(struct cli *cli, const char *noun, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
	_cleanup_free_ char *path = xasprintf("/mvirt.zfs.ZfsService/%s", method);

	return cli_call(cli, DAEMON_ZFS, noun, path, req, resp_desc, resp);
}

json_t *zfs_snapshot_json(const Mvirt__Zfs__Snapshot *s)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", s->id, "name", s->name, "full_name",
			 s->full_name, "used_bytes", json_u64(s->used_bytes), "created_at",
			 s->created_at);
}

json_t *zfs_volume_json(const Mvirt__Zfs__Volume *v)
{
	json_t *snapshots = json_array();

	for (size_t i = 0; i < v->n_snapshots; i++)
		json_array_append_new(snapshots, zfs_snapshot_json(v->snapshots[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:s, s:o}", "id", v->id, "name",
			 v->name, "path", v->path, "volsize_bytes", json_u64(v->volsize_bytes),
			 "used_bytes", json_u64(v->used_bytes), "volblocksize",
			 json_u64(v->volblocksize), "compression_ratio", v->compression_ratio,
			 "created_at", v->created_at, "snapshots", snapshots);
}

json_t *zfs_template_json(const Mvirt__Zfs__Template *t)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I}", "id", t->id, "name", t->name,
			 "snapshot_path", t->snapshot_path, "source_volume", t->source_volume,
			 "size_bytes", json_u64(t->size_bytes), "created_at", t->created_at,
			 "clone_count", (json_int_t)t->clone_count);
}

/* The enum's value name without its prefix: "WRITING". */
static const char *import_state_enum_name(Mvirt__Zfs__ImportJobState s)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&mvirt__zfs__import_job_state__descriptor, (int)s);

	if (!v)
		return "UNKNOWN";
	return startswith(v->name, "IMPORT_JOB_STATE_") ? v->name + strlen("IMPORT_JOB_STATE_")
							: v->name;
}

json_t *zfs_import_job_json(const Mvirt__Zfs__ImportJob *j)
{
	/* the optional fields are null when absent, so every key is always there */
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o}", "id", j->id,
			 "template_name", j->template_name, "source", j->source, "state",
			 import_state_enum_name(j->state), "bytes_written",
			 json_u64(j->bytes_written), "total_bytes", json_u64(j->total_bytes), "error",
			 j->_error_case ? json_string(j->error) : json_null(), "template",
			 j->_template_case && j->template_ ? zfs_template_json(j->template_)
							   : json_null(),
			 "created_at", j->created_at, "completed_at",
			 j->_completed_at_case ? json_string(j->completed_at) : json_null());
}

const char *zfs_import_state_name(Mvirt__Zfs__ImportJobState s)
{
	switch (s) {
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_PENDING:
		return "pending";
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_DOWNLOADING:
		return "downloading";
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_CONVERTING:
		return "converting";
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_WRITING:
		return "writing";
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_COMPLETED:
		return "completed";
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_FAILED:
		return "failed";
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_CANCELLED:
		return "cancelled";
	default:
		return "unknown";
	}
}

bool zfs_import_state_terminal(Mvirt__Zfs__ImportJobState s)
{
	return s == MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_COMPLETED ||
	       s == MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_FAILED ||
	       s == MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_CANCELLED;
}

void zfs_snapshots_print(Mvirt__Zfs__Snapshot *const *s, size_t n)
{
	_cleanup_table_ struct table *t = table_new(4, "NAME", "USED", "CREATED", "ID");
	char used[SIZE_STR_MAX];

	for (size_t i = 0; i < n; i++)
		table_add(t, s[i]->name, size_format(s[i]->used_bytes, used), s[i]->created_at,
			  s[i]->id);
	table_print(t, stdout);
}

void zfs_volume_print(const Mvirt__Zfs__Volume *v)
{
	char size[SIZE_STR_MAX], used[SIZE_STR_MAX], block[SIZE_STR_MAX];

	printf("Name:         %s\n"
	       "ID:           %s\n"
	       "Path:         %s\n"
	       "Size:         %s (%" PRIu64 " bytes)\n"
	       "Used:         %s\n"
	       "Block size:   %s\n"
	       "Compression:  %.2fx\n"
	       "Created:      %s\n",
	       v->name, v->id, v->path, size_format(v->volsize_bytes, size), v->volsize_bytes,
	       size_format(v->used_bytes, used), size_format(v->volblocksize, block),
	       v->compression_ratio, v->created_at);
	if (v->n_snapshots) {
		printf("Snapshots:\n");
		zfs_snapshots_print(v->snapshots, v->n_snapshots);
	} else {
		printf("Snapshots:    none\n");
	}
}

void zfs_template_print(const Mvirt__Zfs__Template *t)
{
	char size[SIZE_STR_MAX];

	printf("Name:         %s\n"
	       "ID:           %s\n"
	       "Snapshot:     %s\n"
	       "Size:         %s (%" PRIu64 " bytes)\n"
	       "Source:       %s\n"
	       "Clones:       %" PRIu32 "\n"
	       "Created:      %s\n",
	       t->name, t->id, t->snapshot_path, size_format(t->size_bytes, size), t->size_bytes,
	       t->source_volume[0] ? t->source_volume : "(imported)", t->clone_count,
	       t->created_at);
}
