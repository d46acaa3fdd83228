/* SPDX-License-Identifier: MIT */
/*
 * zfs_probe: runs zfs/zpool through zfs_exec and zfs_parse and prints what
 * they return as JSON lines, so that the integration tests can compare it
 * with the tools' own output. Not installed.
 *
 *   zfs_probe [--zfs-bin P] [--zpool-bin P] [--timeout-ms N] list DATASET
 *   zfs_probe ... get PROPS DATASET     (zfs get -Hp -r)
 *   zfs_probe ... pool POOL
 *   zfs_probe ... run zfs|zpool ARGS...  (raw: exit code, stdout, error)
 *   zfs_probe name POOL NAME            (is NAME one of the names we build?)
 *
 * Errors: one line {"error": message, "errno": positive errno}, exit 1.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "zfs_exec.h"
#include "zfs_parse.h"

static int timeout_ms;

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	puts(s);
	free(s);
	json_decref(o);
}

static int fail(int r, const char *msg)
{
	print_json(json_pack("{s:s, s:i}", "error", msg, "errno", -r));
	return 1;
}

static json_t *size_json(const struct zfs_size *s)
{
	if (!s->set)
		return json_null();
	return json_pack("{s:I, s:b}", "bytes", (json_int_t)s->bytes, "exact", s->exact);
}

static int cmd_list(const char *dataset)
{
	const char *args[] = { "list", "-H", "-o", ZFS_LIST_COLUMNS, "-t", "all", "-r", dataset, NULL };
	static const char *const types[] = { "filesystem", "volume", "snapshot" };
	struct zfs_result res;
	struct zfs_dataset_list l;
	size_t bad;
	int r;

	r = zfs_run(args, timeout_ms, &res);
	if (r < 0) {
		fail(r, res.err);
		zfs_result_free(&res);
		return 1;
	}
	r = zfs_parse_list(res.out, res.out_len, 0, &l, &bad);
	zfs_result_free(&res);
	if (r < 0) {
		_cleanup_free_ char *msg = xasprintf("zfs list: bad line %zu", bad);
		return fail(r, msg);
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct zfs_dataset *d = &l.items[i];
		print_json(json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s?}", "name", d->name, "type",
				     types[d->type], "used", size_json(&d->used), "avail",
				     size_json(&d->avail), "refer", size_json(&d->refer), "volsize",
				     size_json(&d->volsize), "origin",
				     d->origin[0] ? d->origin : NULL));
	}
	zfs_dataset_list_free(&l);
	return 0;
}

static int cmd_get(const char *props, const char *dataset)
{
	const char *args[] = { "get", "-Hp", "-r", "-o", "name,property,value", props, dataset, NULL };
	struct zfs_result res;
	struct zfs_prop_list l;
	size_t bad;
	int r;

	r = zfs_run(args, timeout_ms, &res);
	if (r < 0) {
		fail(r, res.err);
		zfs_result_free(&res);
		return 1;
	}
	r = zfs_parse_get(res.out, res.out_len, 0, &l, &bad);
	zfs_result_free(&res);
	if (r < 0) {
		_cleanup_free_ char *msg = xasprintf("zfs get: bad line %zu", bad);
		return fail(r, msg);
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct zfs_prop *p = &l.items[i];
		uint64_t v;
		json_t *o = json_pack("{s:s, s:s, s:s}", "name", p->dataset, "property", p->property,
				      "value", p->value);
		if (zfs_prop_u64(&l, p->dataset, p->property, &v) == 0)
			json_object_set_new(o, "u64", json_integer((json_int_t)v));
		print_json(o);
	}
	zfs_prop_list_free(&l);
	return 0;
}

static int cmd_pool(const char *pool)
{
	const char *args[] = { "list", "-H", "-o", ZPOOL_LIST_COLUMNS, pool, NULL };
	struct zfs_result res;
	struct zpool_list l;
	size_t bad;
	int r;

	r = zpool_run(args, timeout_ms, &res);
	if (r < 0) {
		fail(r, res.err);
		zfs_result_free(&res);
		return 1;
	}
	r = zfs_parse_pools(res.out, res.out_len, 0, &l, &bad);
	zfs_result_free(&res);
	if (r < 0) {
		_cleanup_free_ char *msg = xasprintf("zpool list: bad line %zu", bad);
		return fail(r, msg);
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct zpool_info *p = &l.items[i];
		print_json(json_pack("{s:s, s:o, s:o, s:o, s:s}", "name", p->name, "size",
				     size_json(&p->size), "alloc", size_json(&p->alloc), "free",
				     size_json(&p->free), "health",
				     zpool_health_to_string(p->health)));
	}
	zpool_list_free(&l);
	return 0;
}

static int cmd_run(const char *tool, char **args)
{
	struct zfs_result res;
	int r;

	if (streq(tool, "zfs"))
		r = zfs_run((const char *const *)args, timeout_ms, &res);
	else if (streq(tool, "zpool"))
		r = zpool_run((const char *const *)args, timeout_ms, &res);
	else
		return fail(-EINVAL, "run: zfs or zpool");
	print_json(json_pack("{s:i, s:i, s:s, s:s%}", "rc", r, "status", res.status, "err", res.err,
			     "out", res.out ? res.out : "", res.out_len));
	zfs_result_free(&res);
	return r < 0;
}

int main(int argc, char **argv)
{
	const char *zfs = NULL, *zpool = NULL;
	int i = 1;

	for (; i + 1 < argc && startswith(argv[i], "--"); i += 2) {
		if (streq(argv[i], "--zfs-bin"))
			zfs = argv[i + 1];
		else if (streq(argv[i], "--zpool-bin"))
			zpool = argv[i + 1];
		else if (streq(argv[i], "--timeout-ms"))
			timeout_ms = atoi(argv[i + 1]);
		else
			return fail(-EINVAL, "unknown option");
	}
	zfs_exec_set_paths(zfs, zpool);
	if (i + 2 == argc && streq(argv[i], "list"))
		return cmd_list(argv[i + 1]);
	if (i + 3 == argc && streq(argv[i], "get"))
		return cmd_get(argv[i + 1], argv[i + 2]);
	if (i + 2 == argc && streq(argv[i], "pool"))
		return cmd_pool(argv[i + 1]);
	if (i + 2 <= argc && streq(argv[i], "run"))
		return cmd_run(argv[i + 1], argv + i + 2);
	if (i + 3 == argc && streq(argv[i], "name")) {
		print_json(json_pack("{s:b}", "ours", zfs_name_ours(argv[i + 2], argv[i + 1])));
		return 0;
	}
	fputs("usage: zfs_probe [--zfs-bin P] [--zpool-bin P] [--timeout-ms N] "
	      "list DS | get PROPS DS | pool POOL | run zfs|zpool ARGS... | name POOL NAME\n",
	      stderr);
	return 2;
}
