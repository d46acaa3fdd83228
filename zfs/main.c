/* SPDX-License-Identifier: MIT */
/*
 * mvirt-zfs: the storage daemon. Volumes, snapshots, templates, instant
 * clones and image imports on one ZFS pool (or a dataset inside one), with
 * names and import jobs in SQLite; serves mvirt.zfs.ZfsService over gRPC.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "grpc.h"
#include "http_source.h"
#include "log.h"
#include "service.h"
#include "zfs_exec.h"

enum {
	OPT_POOL = 0x2000,
	OPT_LAYOUT,
	OPT_IMPORT_ROOT,
	OPT_MOUNT_ROOT,
	OPT_MAX_IMPORTS,
	OPT_WORKERS,
	OPT_ZFS_BIN,
	OPT_ZPOOL_BIN,
	OPT_CA_FILE,
	OPT_HTTP_STALL,
	OPT_ZVOL_DEV_ROOT,
};

static const struct option zfs_options[] = {
	{ "pool", required_argument, NULL, 'p' },
	{ "layout", required_argument, NULL, OPT_LAYOUT },
	{ "import-root", required_argument, NULL, OPT_IMPORT_ROOT },
	{ "mount-root", required_argument, NULL, OPT_MOUNT_ROOT },
	{ "max-imports", required_argument, NULL, OPT_MAX_IMPORTS },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "zfs-bin", required_argument, NULL, OPT_ZFS_BIN },
	{ "zpool-bin", required_argument, NULL, OPT_ZPOOL_BIN },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "http-stall-timeout", required_argument, NULL, OPT_HTTP_STALL },
	{ "zvol-dev-root", required_argument, NULL, OPT_ZVOL_DEV_ROOT },
	{ 0 },
};

struct zfs_args {
	const char *pool;
	const char *layout;       /* auto, zvol, file */
	char **import_roots;
	size_t n_import_roots;
	const char *mount_root;
	unsigned max_imports, workers;
	const char *zfs_bin, *zpool_bin, *ca_file, *zvol_dev_root;
	unsigned http_stall_s;
};

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "mvirt-zfs: invalid %s '%s' (see --help)\n", opt, arg);
	return -EINVAL;
}

static int on_option(int opt, const char *arg, void *userdata)
{
	struct zfs_args *a = userdata;
	unsigned long long v;
	char real[PATH_MAX];

	switch (opt) {
	case 'p':
		if (!zfs_root_name_valid(arg))
			return bad("--pool", arg);
		a->pool = arg;
		return 0;
	case OPT_LAYOUT:
		if (!streq(arg, "auto") && !streq(arg, "zvol") && !streq(arg, "file"))
			return bad("--layout", arg);
		a->layout = arg;
		return 0;
	case OPT_IMPORT_ROOT:
		/* resolved once, so that every check compares real paths */
		if (arg[0] != '/' || !realpath(arg, real)) {
			fprintf(stderr, "mvirt-zfs: --import-root '%s' must be an existing absolute "
					"directory\n", arg);
			return -EINVAL;
		}
		a->import_roots = xrealloc(a->import_roots,
					   (a->n_import_roots + 1) * sizeof(*a->import_roots));
		a->import_roots[a->n_import_roots++] = xstrdup(real);
		return 0;
	case OPT_MOUNT_ROOT:
		if (arg[0] != '/')
			return bad("--mount-root", arg);
		a->mount_root = arg;
		return 0;
	case OPT_MAX_IMPORTS:
		if (parse_u64(arg, 64, &v) < 0 || v == 0)
			return bad("--max-imports", arg);
		a->max_imports = (unsigned)v;
		return 0;
	case OPT_WORKERS:
		if (parse_u64(arg, 64, &v) < 0 || v == 0)
			return bad("--workers", arg);
		a->workers = (unsigned)v;
		return 0;
	case OPT_ZFS_BIN:
		a->zfs_bin = arg;
		return 0;
	case OPT_ZPOOL_BIN:
		a->zpool_bin = arg;
		return 0;
	case OPT_CA_FILE:
		a->ca_file = arg;
		return 0;
	case OPT_HTTP_STALL:
		if (parse_u64(arg, 86400, &v) < 0 || v == 0)
			return bad("--http-stall-timeout", arg);
		a->http_stall_s = (unsigned)v;
		return 0;
	case OPT_ZVOL_DEV_ROOT:
		a->zvol_dev_root = arg;
		return 0;
	}
	return -EINVAL;
}

/* Choose the layout: as asked, or probed once. */
static int choose_layout(struct zp *zp, const char *want)
{
	char err[ZP_ERR_MAX] = "";
	int r;

	if (streq(want, "zvol")) {
		zp->layout = ZP_LAYOUT_ZVOL;
		return 0;
	}
	if (streq(want, "file")) {
		zp->layout = ZP_LAYOUT_FILE;
		return 0;
	}
	r = zp_probe_layout(zp, &zp->layout, err);
	if (r < 0)
		return log_error_errno(r, "cannot probe for zvol support: %s", err);
	return 0;
}

/* Refuse a database whose objects were made in the other layout: their
 * paths and sizes mean something else there. */
static int check_backends(struct zstore *store, enum zp_layout layout)
{
	struct zvolume *v = NULL;
	struct ztemplate *t = NULL;
	size_t nv = 0, nt = 0;
	const char *want = zp_layout_name(layout), *other = NULL;
	int r;

	r = zstore_volume_list(store, &v, &nv);
	if (r >= 0)
		r = zstore_template_list(store, &t, &nt);
	for (size_t i = 0; r >= 0 && i < nv && !other; i++)
		if (!streq(v[i].backend, want))
			other = v[i].backend;
	for (size_t i = 0; r >= 0 && i < nt && !other; i++)
		if (!streq(t[i].backend, want))
			other = t[i].backend;
	if (other) {
		log_error("the database holds objects of the %s layout; this daemon runs the %s "
			  "layout (see --layout)", other, want);
		r = -EMEDIUMTYPE;
	}
	zvolume_list_free(v, nv);
	ztemplate_list_free(t, nt);
	return r;
}

int main(int argc, char **argv)
{
	struct zfs_args za = { .pool = "vmpool", .layout = "auto", .max_imports = 2, .workers = 4,
			       .http_stall_s = 60 };
	struct daemon_args args = {
		.program = "mvirt-zfs",
		.summary = "The mvirt storage daemon: volumes, snapshots, templates, instant clones\n"
			   "and image imports on ZFS, with names and jobs in DATA_DIR/metadata.db;\n"
			   "serves mvirt.zfs.ZfsService over gRPC.",
		.socket_name = "zfs.sock",
		.data_subdir = "zfs",
		.uses_log_endpoint = true,
		.extra = zfs_options,
		.extra_short = "p:",
		.extra_usage =
			"  -p, --pool DATASET         the pool, or a dataset inside one, that holds\n"
			"                             mvirt's datasets (default vmpool)\n"
			"      --layout MODE          auto (default: zvols when this ZFS has them), zvol\n"
			"                             (a sparse zvol per volume) or file (a dataset per\n"
			"                             volume holding a sparse disk.raw: zfs-fuse)\n"
			"      --import-root DIR      local image imports may come from below DIR\n"
			"                             (repeatable; none: local imports are refused)\n"
			"      --mount-root DIR       where datasets are mounted (file layout) and\n"
			"                             downloads are staged (default DATA_DIR/mnt)\n"
			"      --max-imports N        imports copying at once (default 2)\n"
			"      --workers N            threads carrying out RPCs (default 4)\n"
			"      --ca-file FILE         CA certificates for https imports (default: the\n"
			"                             system's)\n"
			"      --http-stall-timeout S a download with no byte for S seconds fails\n"
			"                             (default 60)\n"
			"      --zfs-bin PATH         the zfs program (default: zfs on PATH)\n"
			"      --zpool-bin PATH       the zpool program (default: zpool on PATH)\n"
			"      --zvol-dev-root DIR    where zvol device nodes appear (default /dev/zvol)\n",
		.on_extra = on_option,
		.userdata = &za,
	};
	struct grpc_daemon d = { 0 };
	struct zstore *store = NULL;
	struct zsvc *svc = NULL;
	struct audit_client *audit = NULL;
	struct zp zp = { 0 };
	_cleanup_free_ char *db_path = NULL, *mount_root = NULL;
	char err[ZP_ERR_MAX] = "";
	int r;

	r = daemon_parse_args(&args, argc, argv);
	if (r != 0) {
		for (size_t i = 0; i < za.n_import_roots; i++)
			free(za.import_roots[i]);
		free(za.import_roots);
		return r > 0 ? 0 : 2;
	}
	r = http_global_init();
	if (r < 0) {
		log_error("cannot initialize libcurl");
		goto out;
	}
	if (za.zfs_bin || za.zpool_bin)
		zfs_exec_set_paths(za.zfs_bin, za.zpool_bin);
	r = mkdir_p(args.data_dir, 0750);
	if (r < 0) {
		log_error_errno(r, "cannot create data directory %s", args.data_dir);
		goto out;
	}
	mount_root = za.mount_root ? xstrdup(za.mount_root) : xasprintf("%s/mnt", args.data_dir);
	r = mkdir_p(mount_root, 0750);
	if (r < 0) {
		log_error_errno(r, "cannot create %s", mount_root);
		goto out;
	}
	r = zp_init(&zp, za.pool, mount_root);
	if (r < 0)
		goto out;
	if (za.zvol_dev_root) {
		free(zp.zvol_dev_root);
		zp.zvol_dev_root = xstrdup(za.zvol_dev_root);
	}
	r = choose_layout(&zp, za.layout);
	if (r < 0)
		goto out;
	r = zp_setup(&zp, err);
	if (r < 0) {
		log_error("cannot use '%s': %s", zp.root, err);
		goto out;
	}
	db_path = xasprintf("%s/metadata.db", args.data_dir);
	r = zstore_open(db_path, &store);
	if (r < 0) {
		log_error_errno(r, "cannot open %s", db_path);
		goto out;
	}
	r = check_backends(store, zp.layout);
	if (r < 0)
		goto out;
	r = audit_client_new(args.log_endpoint, "zfs", &audit);
	if (r < 0) {
		log_error_errno(r, "cannot set up the audit client");
		goto out;
	}
	r = grpc_daemon_init(&d, &args);
	if (r < 0)
		goto out;
	struct zfs_service_config cfg = {
		.import_roots = za.import_roots,
		.n_import_roots = za.n_import_roots,
		.max_imports = za.max_imports,
		.ca_file = za.ca_file,
		.http_stall_ms = za.http_stall_s * 1000,
	};
	r = zfs_service_new(d.event, store, &zp, audit, &cfg, za.workers, &svc);
	if (r < 0) {
		log_error_errno(r, "cannot start the storage service");
		goto out;
	}
	zfs_service_start(svc);
	grpc_server_add_service(d.server, zfs_service_grpc(svc));
	log_info("mvirt-zfs %s: %s, %s layout, database %s, %zu import root(s)", MVIRT_VERSION,
		 zp.root, zp_layout_name(zp.layout), db_path, za.n_import_roots);
	r = grpc_daemon_serve(&d);
out:
	grpc_server_free(d.server);
	d.server = NULL;
	zfs_service_free(svc);
	grpc_daemon_done(&d);
	audit_client_free(audit, 2000);
	zstore_close(store);
	zp_done(&zp);
	http_global_cleanup();
	for (size_t i = 0; i < za.n_import_roots; i++)
		free(za.import_roots[i]);
	free(za.import_roots);
	daemon_args_free(&args);
	return r < 0 ? 1 : 0;
}
