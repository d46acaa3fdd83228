/* SPDX-License-Identifier: MIT */
/* mvirt snapshot create|list|delete|rollback: point-in-time copies of a volume. */
#include <stdio.h>

#include "storage.h"

static const char usage_create[] =
	"Usage: mvirt snapshot create VOLUME NAME [--json]\n"
	"\n"
	"Take a snapshot of a volume and print it.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_list[] =
	"Usage: mvirt snapshot list VOLUME [--json]\n"
	"\n"
	"Show a volume's snapshots, oldest first.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_delete[] =
	"Usage: mvirt snapshot delete VOLUME NAME [--json]\n"
	"\n"
	"Destroy a snapshot. Refused while a template was promoted from it.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_rollback[] =
	"Usage: mvirt snapshot rollback VOLUME NAME [--json]\n"
	"\n"
	"Return a volume to the state of its snapshot NAME, losing what was written\n"
	"since, and print the volume. Refused while newer snapshots exist (delete\n"
	"them first) or while the volume is in use.\n" CLI_OPTIONS_JSON_HELP;

static int snapshot_create(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__CreateSnapshotRequest req = MVIRT__ZFS__CREATE_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	const Mvirt__Zfs__Snapshot *s;
	int r;

	r = cli_verb_args(cli, "mvirt snapshot create", usage_create, "VOLUME NAME", argc, argv);
	if (r >= 0)
		return r;
	req.volume_name = argv[optind];
	req.snapshot_name = argv[optind + 1];
	if (zfs_call(cli, "snapshot", "CreateSnapshot", &req.base,
		     &mvirt__zfs__snapshot__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	s = (const Mvirt__Zfs__Snapshot *)resp;
	if (cli->json)
		cli_json_print(zfs_snapshot_json(s), false);
	else
		zfs_snapshots_print((Mvirt__Zfs__Snapshot *const *)&s, 1);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int snapshot_list(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__ListSnapshotsRequest req = MVIRT__ZFS__LIST_SNAPSHOTS_REQUEST__INIT;
	const Mvirt__Zfs__ListSnapshotsResponse *list;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt snapshot list", usage_list, "VOLUME", argc, argv);
	if (r >= 0)
		return r;
	req.volume_name = argv[optind];
	if (zfs_call(cli, "snapshot", "ListSnapshots", &req.base,
		     &mvirt__zfs__list_snapshots_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	list = (const Mvirt__Zfs__ListSnapshotsResponse *)resp;
	if (cli->json) {
		json_t *all = json_array();
		for (size_t i = 0; i < list->n_snapshots; i++)
			json_array_append_new(all, zfs_snapshot_json(list->snapshots[i]));
		cli_json_print(all, false);
	} else {
		zfs_snapshots_print(list->snapshots, list->n_snapshots);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int snapshot_delete(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__DeleteSnapshotRequest req = MVIRT__ZFS__DELETE_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt snapshot delete", usage_delete, "VOLUME NAME", argc, argv);
	if (r >= 0)
		return r;
	req.volume_name = argv[optind];
	req.snapshot_name = argv[optind + 1];
	if (zfs_call(cli, "snapshot", "DeleteSnapshot", &req.base,
		     &mvirt__zfs__delete_snapshot_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		cli_json_print(json_pack("{s:b}", "deleted",
					 ((Mvirt__Zfs__DeleteSnapshotResponse *)resp)->deleted),
			       false);
	else
		printf("Snapshot '%s' of volume '%s' deleted.\n", req.snapshot_name,
		       req.volume_name);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int snapshot_rollback(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__RollbackSnapshotRequest req = MVIRT__ZFS__ROLLBACK_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt snapshot rollback", usage_rollback, "VOLUME NAME", argc,
			  argv);
	if (r >= 0)
		return r;
	req.volume_name = argv[optind];
	req.snapshot_name = argv[optind + 1];
	if (zfs_call(cli, "snapshot", "RollbackSnapshot", &req.base,
		     &mvirt__zfs__volume__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		cli_json_print(zfs_volume_json((const Mvirt__Zfs__Volume *)resp), false);
	else
		zfs_volume_print((const Mvirt__Zfs__Volume *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

int cmd_snapshot(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", "take a snapshot of a volume", snapshot_create },
		{ "list", "show a volume's snapshots", snapshot_list },
		{ "delete", "destroy a snapshot", snapshot_delete },
		{ "rollback", "return a volume to a snapshot", snapshot_rollback },
	};

	return cli_verb_dispatch(cli, "snapshot", "Snapshots of mvirt-zfs volumes.", verbs,
				 ARRAY_SIZE(verbs), argc, argv);
}
