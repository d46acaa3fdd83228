/* SPDX-License-Identifier: MIT */
/*
 * mvirt-log: the audit log daemon. Stores entries linked to any number of
 * object ids in SQLite and serves mvirt.log.LogService over gRPC.
 */
#include <getopt.h>
#include <stdio.h>

#include "daemon.h"
#include "grpc.h"
#include "log.h"
#include "service.h"
#include "store.h"

enum { OPT_RETENTION_DAYS = 0x2000, OPT_MAX_ENTRIES };

static const struct option log_options[] = {
	{ "retention-days", required_argument, NULL, OPT_RETENTION_DAYS },
	{ "max-entries", required_argument, NULL, OPT_MAX_ENTRIES },
	{ 0 },
};

static int on_option(int opt, const char *arg, void *userdata)
{
	struct log_service_config *cfg = userdata;
	unsigned long long v;

	switch (opt) {
	case OPT_RETENTION_DAYS:
		if (parse_u64(arg, 100000, &v) < 0) {
			fprintf(stderr, "mvirt-log: invalid --retention-days '%s' (see --help)\n", arg);
			return -EINVAL;
		}
		cfg->retention_days = (unsigned)v;
		return 0;
	case OPT_MAX_ENTRIES:
		if (parse_u64(arg, (unsigned long long)INT64_MAX, &v) < 0) {
			fprintf(stderr, "mvirt-log: invalid --max-entries '%s' (see --help)\n", arg);
			return -EINVAL;
		}
		cfg->max_entries = v;
		return 0;
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct log_service_config cfg = { .retention_days = 365, .max_entries = 10000000 };
	struct daemon_args args = {
		.program = "mvirt-log",
		.summary = "The mvirt audit log: stores entries linked to object ids in SQLite\n"
			   "(DATA_DIR/logs.db) and serves mvirt.log.LogService over gRPC.",
		.socket_name = "log.sock",
		.data_subdir = "log",
		.extra = log_options,
		.extra_usage = "      --retention-days N     delete entries older than N days (default 365;\n"
			       "                             0 keeps them forever)\n"
			       "      --max-entries N        keep at most the newest N entries (default\n"
			       "                             10000000; 0 means no limit)\n",
		.on_extra = on_option,
		.userdata = &cfg,
	};
	struct grpc_daemon d = { 0 };
	struct log_store *store = NULL;
	struct log_service *svc = NULL;
	_cleanup_free_ char *db_path = NULL;
	int r;

	r = daemon_parse_args(&args, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	r = mkdir_p(args.data_dir, 0750);
	if (r < 0) {
		log_error_errno(r, "cannot create data directory %s", args.data_dir);
		goto out;
	}
	db_path = xasprintf("%s/logs.db", args.data_dir);
	r = log_store_open(db_path, &store);
	if (r < 0) {
		log_error_errno(r, "cannot open %s", db_path);
		goto out;
	}
	r = grpc_daemon_init(&d, &args);
	if (r < 0)
		goto out;
	r = log_service_new(d.event, store, &cfg, &svc);
	if (r < 0) {
		log_error_errno(r, "cannot start the log service");
		goto out;
	}
	grpc_server_add_service(d.server, log_service_grpc(svc));
	log_info("mvirt-log %s: database %s, retention %u days, at most %llu entries",
		 MVIRT_VERSION, db_path, cfg.retention_days, (unsigned long long)cfg.max_entries);
	r = grpc_daemon_serve(&d);
out:
	grpc_server_free(d.server);
	d.server = NULL;
	log_service_free(svc);
	grpc_daemon_done(&d);
	log_store_close(store);
	daemon_args_free(&args);
	return r < 0 ? 1 : 0;
}
