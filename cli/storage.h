/* SPDX-License-Identifier: MIT */
/*
 * What the storage commands (volume, snapshot, template, import, pool)
 * share: calls to mvirt-zfs and the JSON and text forms of the ZfsService
 * messages.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "command.h"
#include "zfs.pb-c.h"

/*
 * Call /mvirt.zfs.ZfsService/<method>. Returns EXIT_OK with *resp (free with
 * protobuf_c_message_free_unpacked), or EXIT_FAILED after printing one line
 * "mvirt: <noun>: <reason>".
 */
int zfs_call(struct cli *cli, const char *noun, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

/* JSON objects with every field of the message. */
json_t *zfs_volume_json(const Mvirt__Zfs__Volume *v);
json_t *zfs_snapshot_json(const Mvirt__Zfs__Snapshot *s);
json_t *zfs_template_json(const Mvirt__Zfs__Template *t);
json_t *zfs_import_job_json(const Mvirt__Zfs__ImportJob *j);

/* "writing", "completed"...; JSON uses the enum's own name ("WRITING"). */
const char *zfs_import_state_name(Mvirt__Zfs__ImportJobState s);
bool zfs_import_state_terminal(Mvirt__Zfs__ImportJobState s);

/* Human forms: a volume with its snapshots, a snapshot table, a template. */
void zfs_volume_print(const Mvirt__Zfs__Volume *v);
void zfs_snapshots_print(Mvirt__Zfs__Snapshot *const *s, size_t n);
void zfs_template_print(const Mvirt__Zfs__Template *t);

