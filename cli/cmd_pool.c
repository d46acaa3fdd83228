/* SPDX-License-Identifier: MIT */
/* mvirt pool stats: size and usage of mvirt-zfs's pool. */
#include <inttypes.h>
#include <stdio.h>

#include "size.h"
#include "storage.h"

static const char usage_stats[] =
	"Usage: mvirt pool stats [--json]\n"
	"\n"
	"Show the size and usage of the storage pool. Provisioned is the sum of all\n"
	"volume sizes (thin provisioning: it may exceed the pool's size).\n" CLI_OPTIONS_JSON_HELP;

static int pool_stats(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__GetPoolStatsRequest req = MVIRT__ZFS__GET_POOL_STATS_REQUEST__INIT;
	char total[SIZE_STR_MAX], used[SIZE_STR_MAX], avail[SIZE_STR_MAX], prov[SIZE_STR_MAX];
	ProtobufCMessage *resp = NULL;
	const Mvirt__Zfs__PoolStats *p;
	int r;

	r = cli_verb_args(cli, "mvirt pool stats", usage_stats, "", argc, argv);
	if (r >= 0)
		return r;
	if (zfs_call(cli, "pool", "GetPoolStats", &req.base, &mvirt__zfs__pool_stats__descriptor,
		     &resp) != EXIT_OK)
		return EXIT_FAILED;
	p = (const Mvirt__Zfs__PoolStats *)resp;
	if (cli->json)
		cli_json_print(json_pack("{s:s, s:o, s:o, s:o, s:o, s:f}", "name", p->name,
					 "total_bytes", json_u64(p->total_bytes),
					 "available_bytes", json_u64(p->available_bytes),
					 "used_bytes", json_u64(p->used_bytes), "provisioned_bytes",
					 json_u64(p->provisioned_bytes), "compression_ratio",
					 p->compression_ratio),
			       false);
	else
		printf("Pool:         %s\n"
		       "Size:         %s (%" PRIu64 " bytes)\n"
		       "Used:         %s (%" PRIu64 " bytes)\n"
		       "Available:    %s (%" PRIu64 " bytes)\n"
		       "Provisioned:  %s (%" PRIu64 " bytes)\n"
		       "Compression:  %.2fx\n",
		       p->name, size_format(p->total_bytes, total), p->total_bytes,
		       size_format(p->used_bytes, used), p->used_bytes,
		       size_format(p->available_bytes, avail), p->available_bytes,
		       size_format(p->provisioned_bytes, prov), p->provisioned_bytes,
		       p->compression_ratio);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

int cmd_pool(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "stats", "show the pool's size and usage", pool_stats },
	};

	return cli_verb_dispatch(cli, "pool", "The storage pool of mvirt-zfs.", verbs,
				 ARRAY_SIZE(verbs), argc, argv);
}
