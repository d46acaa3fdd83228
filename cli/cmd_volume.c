/* SPDX-License-Identifier: MIT */
/* mvirt volume create|list|get|delete|resize: block volumes of mvirt-zfs. */
#include <getopt.h>
#include <stdio.h>

#include "size.h"
#include "storage.h"
#include "table.h"

static const char usage_create[] =
	"Usage: mvirt volume create NAME --size SIZE [--block-size SIZE]\n"
	"\n"
	"Create a sparse volume and print it.\n"
	"\n"
	"Options:\n"
	"  -s, --size SIZE         size of the volume (required), rounded up to the block size\n"
	"  -b, --block-size SIZE   block size, a power of two from 512 to 128K (default 16K)\n"
	"      --json              print the volume as JSON\n"
	"  -h, --help              show this help\n"
	"\n"
	"SIZE is a number with an optional fraction and unit: 4096, 512M, 10G, 1.5T, 16KiB\n"
	"(K, M, G, T, P are powers of 1024).\n";

static const char usage_list[] =
	"Usage: mvirt volume list [--json]\n"
	"\n"
	"Show every volume, newest first.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_get[] =
	"Usage: mvirt volume get NAME [--json]\n"
	"\n"
	"Show a volume and its snapshots.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_delete[] =
	"Usage: mvirt volume delete NAME [--json]\n"
	"\n"
	"Destroy a volume and all its snapshots. Refused while a snapshot of it\n"
	"backs a template, or while the volume is in use.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_resize[] =
	"Usage: mvirt volume resize NAME --size SIZE [--json]\n"
	"\n"
	"Grow a volume to SIZE (shrinking is refused) and print it.\n"
	"\n"
	"Options:\n"
	"  -s, --size SIZE   the new size: 4096, 512M, 10G, 1.5T...\n"
	"      --json        print the volume as JSON\n"
	"  -h, --help        show this help\n";

/* Print a Volume response (JSON or text) and free it. */
static int volume_show(struct cli *cli, ProtobufCMessage *m)
{
	const Mvirt__Zfs__Volume *v = (const Mvirt__Zfs__Volume *)m;

	if (cli->json)
		cli_json_print(zfs_volume_json(v), false);
	else
		zfs_volume_print(v);
	protobuf_c_message_free_unpacked(m, NULL);
	return EXIT_OK;
}

/* The getopt loop of create and resize: --size, --block-size (create only), --json, --help. */
static int size_options(struct cli *cli, const char *cmd, const char *usage, bool block_size,
			int argc, char **argv, uint64_t *size, uint64_t *block)
{
	enum { O_JSON = 0x100 };
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, block_size ? ":s:b:h" : ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			r = size_parse(optarg, size);
			if (r < 0)
				return cli_bad_size(cmd, "--size", optarg, r);
			break;
		case 'b':
			if (!block_size)
				return cli_usage(cmd, "unknown option '--block-size'");
			r = size_parse(optarg, block);
			if (r == 0 && *block > UINT32_MAX)
				r = -ERANGE;
			if (r < 0)
				return cli_bad_size(cmd, "--block-size", optarg, r);
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	r = cli_verb_positional(cmd, "NAME", argc, argv);
	if (r >= 0)
		return r;
	if (*size == 0)
		return cli_usage(cmd, "--size is required");
	return -1;
}

static int volume_create(struct cli *cli, int argc, char **argv)
{
	const char *cmd = "mvirt volume create";
	Mvirt__Zfs__CreateVolumeRequest req = MVIRT__ZFS__CREATE_VOLUME_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	uint64_t size = 0, block = 0;
	int r;

	r = size_options(cli, cmd, usage_create, true, argc, argv, &size, &block);
	if (r >= 0)
		return r;
	req.name = argv[optind];
	req.size_bytes = size;
	if (block) {
		req._volblocksize_case = MVIRT__ZFS__CREATE_VOLUME_REQUEST___VOLBLOCKSIZE_VOLBLOCKSIZE;
		req.volblocksize = (uint32_t)block;
	}
	if (zfs_call(cli, "volume", "CreateVolume", &req.base, &mvirt__zfs__volume__descriptor,
		     &resp) != EXIT_OK)
		return EXIT_FAILED;
	return volume_show(cli, resp);
}

static int volume_resize(struct cli *cli, int argc, char **argv)
{
	const char *cmd = "mvirt volume resize";
	Mvirt__Zfs__ResizeVolumeRequest req = MVIRT__ZFS__RESIZE_VOLUME_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	uint64_t size = 0;
	int r;

	r = size_options(cli, cmd, usage_resize, false, argc, argv, &size, NULL);
	if (r >= 0)
		return r;
	req.name = argv[optind];
	req.new_size_bytes = size;
	if (zfs_call(cli, "volume", "ResizeVolume", &req.base, &mvirt__zfs__volume__descriptor,
		     &resp) != EXIT_OK)
		return EXIT_FAILED;
	return volume_show(cli, resp);
}

static int volume_list(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__ListVolumesRequest req = MVIRT__ZFS__LIST_VOLUMES_REQUEST__INIT;
	const Mvirt__Zfs__ListVolumesResponse *list;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt volume list", usage_list, "", argc, argv);
	if (r >= 0)
		return r;
	if (zfs_call(cli, "volume", "ListVolumes", &req.base,
		     &mvirt__zfs__list_volumes_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	list = (const Mvirt__Zfs__ListVolumesResponse *)resp;
	if (cli->json) {
		json_t *all = json_array();
		for (size_t i = 0; i < list->n_volumes; i++)
			json_array_append_new(all, zfs_volume_json(list->volumes[i]));
		cli_json_print(all, false);
	} else {
		_cleanup_table_ struct table *t =
			table_new(6, "NAME", "SIZE", "USED", "SNAPSHOTS", "CREATED", "ID");
		for (size_t i = 0; i < list->n_volumes; i++) {
			const Mvirt__Zfs__Volume *v = list->volumes[i];
			char size[SIZE_STR_MAX], used[SIZE_STR_MAX], snaps[24];
			snprintf(snaps, sizeof(snaps), "%zu", v->n_snapshots);
			table_add(t, v->name, size_format(v->volsize_bytes, size),
				  size_format(v->used_bytes, used), snaps, v->created_at, v->id);
		}
		table_print(t, stdout);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int volume_get(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__GetVolumeRequest req = MVIRT__ZFS__GET_VOLUME_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt volume get", usage_get, "NAME", argc, argv);
	if (r >= 0)
		return r;
	req.name = argv[optind];
	if (zfs_call(cli, "volume", "GetVolume", &req.base, &mvirt__zfs__volume__descriptor,
		     &resp) != EXIT_OK)
		return EXIT_FAILED;
	return volume_show(cli, resp);
}

static int volume_delete(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__DeleteVolumeRequest req = MVIRT__ZFS__DELETE_VOLUME_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt volume delete", usage_delete, "NAME", argc, argv);
	if (r >= 0)
		return r;
	req.name = argv[optind];
	if (zfs_call(cli, "volume", "DeleteVolume", &req.base,
		     &mvirt__zfs__delete_volume_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		cli_json_print(json_pack("{s:b}", "deleted",
					 ((Mvirt__Zfs__DeleteVolumeResponse *)resp)->deleted),
			       false);
	else
		printf("Volume '%s' deleted.\n", req.name);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

int cmd_volume(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", "create a sparse volume", volume_create },
		{ "list", "show every volume", volume_list },
		{ "get", "show a volume and its snapshots", volume_get },
		{ "delete", "destroy a volume and its snapshots", volume_delete },
		{ "resize", "grow a volume", volume_resize },
	};

	return cli_verb_dispatch(cli, "volume", "Block volumes (VM disks) of mvirt-zfs.", verbs,
				 ARRAY_SIZE(verbs), argc, argv);
}
