/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of zfs/zfs_parse.c: golden outputs captured from Debian's
 * zfs-fuse 0.7.0 (a file-backed pool "mvtcap" with a volume dataset, its
 * snapshot and a clone), the human size forms, malformed lines with their
 * numbers, bounds, and the rules for the names we build.
 */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "util.h"
#include "zfs_parse.h"

#define V1 "mvtcap/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d"
#define S1 V1 "@c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f"
#define V2 "mvtcap/7d3e9a10-4c2b-4f6a-8e1d-0a9b8c7d6e5f"

/* zfs list -H -o name,type,used,avail,refer,volsize,origin -t all -r mvtcap */
static const char golden_list[] =
	"mvtcap\tfilesystem\t3.73M\t980M\t112K\t-\t-\n"
	"mvtcap/.base\tfilesystem\t112K\t980M\t112K\t-\t-\n"
	V1 "\tfilesystem\t3.12M\t980M\t3.12M\t-\t-\n"
	S1 "\tsnapshot\t0\t-\t3.12M\t-\t-\n"
	V2 "\tfilesystem\t0\t980M\t3.12M\t-\t" S1 "\n";

/* zfs get -Hp -o name,property,value used,available,...  (excerpt) */
static const char golden_get[] =
	"mvtcap\tused\t3915776\n"
	"mvtcap\tavailable\t1027883008\n"
	"mvtcap\tcreation\t1796174625\n"
	"mvtcap\torigin\t-\n"
	"mvtcap\tcompressratio\t1.00x\n"
	"mvtcap\tmountpoint\tnone\n"
	"mvtcap\tvolsize\t-\n"
	"mvtcap\trecordsize\t131072\n"
	S1 "\tavailable\t-\n"
	S1 "\treferenced\t3268608\n"
	V2 "\torigin\t" S1 "\n"
	V2 "\tmountpoint\t/tmp/zfscmd-pool/mnt v\n";

/* zpool list -H -o name,size,alloc,free,health */
static const char golden_pool[] = "mvtcap\t1016M\t544K\t1015M\tONLINE\n";

static void test_sizes(void)
{
	struct zfs_size s;

	CHECK_INT(zfs_parse_size("0", &s), 0);
	CHECK(s.set && s.exact && s.bytes == 0);
	CHECK_INT(zfs_parse_size("3915776", &s), 0);
	CHECK(s.exact);
	CHECK_U64(s.bytes, 3915776);
	CHECK_INT(zfs_parse_size("512K", &s), 0);
	CHECK(s.set && !s.exact);
	CHECK_U64(s.bytes, 512 * 1024);
	CHECK_INT(zfs_parse_size("1.50G", &s), 0);
	CHECK_U64(s.bytes, 1536ULL << 20);
	CHECK_INT(zfs_parse_size("3.12M", &s), 0);
	CHECK_U64(s.bytes, 3271557); /* 3.12 * 2^20, rounded */
	CHECK_INT(zfs_parse_size("15.5T", &s), 0);
	CHECK_U64(s.bytes, 31ULL << 39);
	CHECK_INT(zfs_parse_size("15E", &s), 0);
	CHECK_U64(s.bytes, 15ULL << 60);
	CHECK_INT(zfs_parse_size("512B", &s), 0);
	CHECK_U64(s.bytes, 512);
	CHECK_INT(zfs_parse_size("18446744073709551615", &s), 0);
	CHECK_U64(s.bytes, UINT64_MAX);
	CHECK_INT(zfs_parse_size("-", &s), 0);
	CHECK(!s.set);
	CHECK_INT(zfs_parse_size("none", &s), 0);
	CHECK(!s.set);

	CHECK_INT(zfs_parse_size("16E", &s), -ERANGE);
	CHECK_INT(zfs_parse_size("18446744073709551616", &s), -ERANGE);
	CHECK_INT(zfs_parse_size("", &s), -EINVAL);
	CHECK_INT(zfs_parse_size("1.5", &s), -EINVAL);
	CHECK_INT(zfs_parse_size("1.G", &s), -EINVAL);
	CHECK_INT(zfs_parse_size(".5G", &s), -EINVAL);
	CHECK_INT(zfs_parse_size("1GG", &s), -EINVAL);
	CHECK_INT(zfs_parse_size("1Q", &s), -EINVAL);
	CHECK_INT(zfs_parse_size("-1", &s), -EINVAL);
	CHECK_INT(zfs_parse_size(" 1", &s), -EINVAL);
	CHECK_INT(zfs_parse_size("1.1234567G", &s), -EINVAL);

	uint32_t h;
	CHECK_INT(zfs_parse_ratio("1.00x", &h), 0);
	CHECK_INT(h, 100);
	CHECK_INT(zfs_parse_ratio("2.5x", &h), 0);
	CHECK_INT(h, 250);
	CHECK_INT(zfs_parse_ratio("12.34", &h), 0);
	CHECK_INT(h, 1234);
	CHECK_INT(zfs_parse_ratio("x", &h), -EINVAL);
	CHECK_INT(zfs_parse_ratio("1.x", &h), -EINVAL);
	CHECK_INT(zfs_parse_ratio("1.234x", &h), -EINVAL);
	CHECK_INT(zfs_parse_ratio("1.00xx", &h), -EINVAL);
	CHECK_INT(zfs_parse_ratio("99999999999", &h), -ERANGE);
}

static void test_list(void)
{
	struct zfs_dataset_list l;
	size_t bad = 99;

	CHECK_INT(zfs_parse_list(golden_list, strlen(golden_list), 0, &l, &bad), 0);
	CHECK_INT(bad, 0);
	CHECK_INT(l.n, 5);
	if (l.n == 5) {
		CHECK_STR(l.items[0].name, "mvtcap");
		CHECK_INT(l.items[0].type, ZFS_TYPE_FILESYSTEM);
		CHECK_U64(l.items[0].avail.bytes, 980ULL << 20);
		CHECK(!l.items[0].volsize.set);
		CHECK_STR(l.items[0].origin, "");
		CHECK_STR(l.items[3].name, S1);
		CHECK_INT(l.items[3].type, ZFS_TYPE_SNAPSHOT);
		CHECK(!l.items[3].avail.set);
		CHECK(l.items[3].used.set && l.items[3].used.exact && l.items[3].used.bytes == 0);
		CHECK_STR(l.items[4].origin, S1);
	}
	zfs_dataset_list_free(&l);

	/* bounded: only the first two */
	CHECK_INT(zfs_parse_list(golden_list, strlen(golden_list), 2, &l, &bad), 0);
	CHECK_INT(l.n, 2);
	zfs_dataset_list_free(&l);

	/* no trailing newline, and empty output */
	static const char no_newline[] = "p\tvolume\t1\t2\t3\t4K\t-";
	CHECK_INT(zfs_parse_list(no_newline, strlen(no_newline), 0, &l, &bad), 0);
	CHECK_INT(l.n, 1);
	if (l.n == 1)
		CHECK_U64(l.items[0].volsize.bytes, 4096);
	zfs_dataset_list_free(&l);
	CHECK_INT(zfs_parse_list("", 0, 0, &l, &bad), 0);
	CHECK_INT(l.n, 0);

	static const struct {
		const char *text;
		size_t line;
	} bad_cases[] = {
		{ "p\tfilesystem\t1\t2\t3\t-\n\n", 1 },                   /* 6 columns */
		{ "p\tfilesystem\t1\t2\t3\t-\t-\n\n", 2 },                /* empty line */
		{ "p\tfilesystem\t1\t2\t3\t-\t-\textra\n", 1 },           /* 8 columns */
		{ "p\tfilesystem\t1\t2\t3\t-\t-\np\tpool\t1\t2\t3\t-\t-\n", 2 }, /* type */
		{ "p@s\tfilesystem\t1\t2\t3\t-\t-\n", 1 },                /* '@' but no snapshot */
		{ "p\tsnapshot\t1\t2\t3\t-\t-\n", 1 },                    /* snapshot without '@' */
		{ "p\tfilesystem\t1x\t2\t3\t-\t-\n", 1 },                 /* size */
		{ "p\tfilesystem\t1\t2\t3\t-\tp/q\n", 1 },                /* origin is no snapshot */
		{ "p//q\tfilesystem\t1\t2\t3\t-\t-\n", 1 },               /* empty component */
		{ "/p\tfilesystem\t1\t2\t3\t-\t-\n", 1 },
		{ "p\tfilesystem\t1\t2\t3\t-\t-\r\n", 1 },                /* control byte */
		{ "p;rm\tfilesystem\t1\t2\t3\t-\t-\n", 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		bad = 0;
		CHECK_INT(zfs_parse_list(bad_cases[i].text, strlen(bad_cases[i].text), 0, &l, &bad),
			  -EBADMSG);
		CHECK_INT(bad, bad_cases[i].line);
		CHECK(l.items == NULL && l.n == 0);
	}
	/* a NUL inside the output */
	static const char with_nul[] = "p\tfilesystem\t1\0\t2\t3\t-\t-\n";
	CHECK_INT(zfs_parse_list(with_nul, sizeof(with_nul) - 1, 0, &l, &bad), -EBADMSG);
}

static void test_get(void)
{
	struct zfs_prop_list l;
	size_t bad;
	uint64_t v;

	CHECK_INT(zfs_parse_get(golden_get, strlen(golden_get), 0, &l, &bad), 0);
	CHECK_INT(l.n, 12);
	CHECK_INT(zfs_prop_u64(&l, "mvtcap", "used", &v), 0);
	CHECK_U64(v, 3915776);
	CHECK_INT(zfs_prop_u64(&l, "mvtcap", "creation", &v), 0);
	CHECK_U64(v, 1796174625);
	CHECK_INT(zfs_prop_u64(&l, "mvtcap", "volsize", &v), -ENODATA);
	CHECK_INT(zfs_prop_u64(&l, "mvtcap", "compressratio", &v), -EBADMSG);
	CHECK_INT(zfs_prop_u64(&l, "mvtcap", "nothere", &v), -ENOENT);
	CHECK_INT(zfs_prop_u64(&l, S1, "available", &v), -ENODATA);
	CHECK_STR(zfs_prop_find(&l, V2, "origin"), S1);
	CHECK_STR(zfs_prop_find(&l, V2, "mountpoint"), "/tmp/zfscmd-pool/mnt v");
	CHECK_STR(zfs_prop_find(&l, "mvtcap", "mountpoint"), "none");
	zfs_prop_list_free(&l);

	/* the value is the rest of the line: tabs and empty values are kept */
	static const char user[] = "p/x\tmvirt:name\ta\tb\np/x\tmvirt:empty\t\n";
	CHECK_INT(zfs_parse_get(user, strlen(user), 0, &l, &bad), 0);
	CHECK_STR(zfs_prop_find(&l, "p/x", "mvirt:name"), "a\tb");
	CHECK_STR(zfs_prop_find(&l, "p/x", "mvirt:empty"), "");
	zfs_prop_list_free(&l);

	static const char *const bads[] = {
		"p\tused\n", "p\n", "\tused\t1\n", "p\tu sed\t1\n", "p\t\t1\n", "p\tused\t1\x01\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		bad = 0;
		CHECK_INT(zfs_parse_get(bads[i], strlen(bads[i]), 0, &l, &bad), -EBADMSG);
		CHECK_INT(bad, 1);
		CHECK(l.items == NULL && l.text == NULL);
	}
}

static void test_pools(void)
{
	struct zpool_list l;
	size_t bad;

	CHECK_INT(zfs_parse_pools(golden_pool, strlen(golden_pool), 0, &l, &bad), 0);
	CHECK_INT(l.n, 1);
	if (l.n == 1) {
		CHECK_STR(l.items[0].name, "mvtcap");
		CHECK_U64(l.items[0].size.bytes, 1016ULL << 20);
		CHECK_U64(l.items[0].alloc.bytes, 544ULL << 10);
		CHECK_U64(l.items[0].free.bytes, 1015ULL << 20);
		CHECK(!l.items[0].size.exact);
		CHECK_INT(l.items[0].health, ZPOOL_ONLINE);
		CHECK_STR(zpool_health_to_string(l.items[0].health), "ONLINE");
	}
	zpool_list_free(&l);

	static const char two[] = "a\t1G\t0\t1G\tDEGRADED\nb\t1G\t0\t1G\tFAULTED\nc\t1\t2\t3\tWEIRD\n";
	CHECK_INT(zfs_parse_pools(two, strlen(two), 0, &l, &bad), -EBADMSG);
	CHECK_INT(bad, 3);
	CHECK_INT(zfs_parse_pools(two, strlen(two), 2, &l, &bad), 0);
	CHECK_INT(l.n, 2);
	zpool_list_free(&l);
	CHECK_INT(zfs_parse_pools("a/b\t1\t2\t3\tONLINE\n", 17, 0, &l, &bad), -EBADMSG);
	CHECK_INT(zfs_parse_pools("a\t1\t2\tONLINE\n", 13, 0, &l, &bad), -EBADMSG);
}

static void test_names(void)
{
	char buf[300];

	CHECK(zfs_pool_name_valid("vmpool"));
	CHECK(zfs_pool_name_valid("mvt1a2b"));
	CHECK(!zfs_pool_name_valid(""));
	CHECK(!zfs_pool_name_valid("1pool"));
	CHECK(!zfs_pool_name_valid("mirror1"));
	CHECK(!zfs_pool_name_valid("c0d0"));
	CHECK(!zfs_pool_name_valid("a/b"));
	CHECK(!zfs_pool_name_valid("a b"));

	CHECK(zfs_name_ours("mvtcap", "mvtcap"));
	CHECK(zfs_name_ours("mvtcap/.base", "mvtcap"));
	CHECK(zfs_name_ours("mvtcap/.tmp", "mvtcap"));
	CHECK(zfs_name_ours(V1, "mvtcap"));
	CHECK(zfs_name_ours(S1, "mvtcap"));
	CHECK(zfs_name_ours("mvtcap/.base/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d@img", "mvtcap"));
	CHECK(zfs_name_ours("mvtcap/.base/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "mvtcap"));
	CHECK(!zfs_name_ours("mvtcap/.base/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d@x", "mvtcap"));
	CHECK(!zfs_name_ours(V1 "@img", "mvtcap"));
	CHECK(!zfs_name_ours("mvtcap/0B6F3C1E-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "mvtcap"));
	CHECK(!zfs_name_ours("mvtcap/myvm", "mvtcap"));
	CHECK(!zfs_name_ours("mvtcapx/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "mvtcap"));
	CHECK(!zfs_name_ours(V1 "/x", "mvtcap"));
	CHECK(!zfs_name_ours("other/.tmp", "mvtcap"));
	/* a base may hold a volume's UUID-named snapshot after a promote */
	CHECK(zfs_name_ours("mvtcap/.base/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d@"
			    "0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "mvtcap"));

	/* roots: a pool or a dataset inside one */
	CHECK(zfs_root_name_valid("vmpool"));
	CHECK(zfs_root_name_valid("tank/vms"));
	CHECK(zfs_root_name_valid("tank/a_b/c-d.e:f"));
	CHECK(!zfs_root_name_valid("tank/"));
	CHECK(!zfs_root_name_valid("tank//vms"));
	CHECK(!zfs_root_name_valid("tank/.base"));
	CHECK(!zfs_root_name_valid("tank/v ms"));
	CHECK(!zfs_root_name_valid("tank/vms@snap"));
	CHECK(!zfs_root_name_valid("/tank"));
	CHECK(!zfs_root_name_valid("1tank/vms"));
	CHECK(zfs_name_ours("tank/vms/" "0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "tank/vms"));
	CHECK(zfs_name_ours("tank/vms/.base", "tank/vms"));
	CHECK(!zfs_name_ours("tank/vmsx/.base", "tank/vms"));
	CHECK(!zfs_name_ours("tank/.base", "tank/vms"));

	CHECK_INT(zfs_name_build(buf, sizeof(buf), "vmpool", true,
				 "0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "img"), 0);
	CHECK_STR(buf, "vmpool/.base/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d@img");
	CHECK_INT(zfs_name_build(buf, sizeof(buf), "vmpool", false,
				 "0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", NULL), 0);
	CHECK_STR(buf, "vmpool/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d");
	CHECK_INT(zfs_name_build(buf, sizeof(buf), "vmpool", false, "../etc", NULL), -EINVAL);
	CHECK_INT(zfs_name_build(buf, sizeof(buf), "vmpool", false,
				 "0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "x y"), -EINVAL);
	CHECK_INT(zfs_name_build(buf, sizeof(buf), "tank/vms", true,
				 "0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d", "img"), 0);
	CHECK_STR(buf, "tank/vms/.base/0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d@img");
	CHECK_INT(zfs_name_build(buf, 20, "vmpool", false, "0b6f3c1e-5b1a-4e7e-9d2c-2f1e6a7b8c9d",
				 NULL), -ENAMETOOLONG);
}

int main(void)
{
	test_sizes();
	test_list();
	test_get();
	test_pools();
	test_names();
	return test_done();
}
