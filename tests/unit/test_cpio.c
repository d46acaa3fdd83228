/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of os/image/cpio.c: header bytes, archive names and their order,
 * implied directories, duplicate merging and conflicts, and the layout of a
 * whole small archive checked byte by byte.
 */
#include <sys/stat.h>

#include "cpio.h"
#include "tap.h"

static void test_header_format(void)
{
	struct cpio_newc_header h = {
		.ino = 1, .mode = 0100755, .uid = 0, .gid = 0, .nlink = 1,
		.mtime = 0x5f5e0ff, .filesize = 0xabcdef12, .dev_major = 0, .dev_minor = 0,
		.rdev_major = 5, .rdev_minor = 1, .namesize = 5, .check = 0,
	};
	char out[CPIO_NEWC_HEADER_SIZE + 1];

	memset(out, '#', sizeof(out));
	cpio_newc_header_format(out, &h);
	CHECK_MEM(out,
		  "070701"
		  "00000001" "000081ED" "00000000" "00000000" "00000001"
		  "05F5E0FF" "ABCDEF12" "00000000" "00000000" "00000005"
		  "00000001" "00000005" "00000000",
		  CPIO_NEWC_HEADER_SIZE);
	CHECK(out[CPIO_NEWC_HEADER_SIZE] == '#'); /* no NUL written past the header */
}

static void check_name(const char *path, int want_r, const char *want)
{
	char *name = NULL;
	int r = cpio_name_from_path(path, &name);

	CHECK_INT(r, want_r);
	CHECK_STR(name, want);
	free(name);
}

static void test_names(void)
{
	check_name("/init", 0, "init");
	check_name("/dev/console", 0, "dev/console");
	check_name("/a/.b/c..", 0, "a/.b/c..");
	check_name("dev", -EINVAL, NULL);
	check_name("", -EINVAL, NULL);
	check_name("/", -EINVAL, NULL);
	check_name("//dev", -EINVAL, NULL);
	check_name("/dev/", -EINVAL, NULL);
	check_name("/dev//console", -EINVAL, NULL);
	check_name("/./dev", -EINVAL, NULL);
	check_name("/dev/.", -EINVAL, NULL);
	check_name("/dev/../etc", -EINVAL, NULL);
	check_name("/..", -EINVAL, NULL);

	/* the name with its NUL may be PATH_MAX bytes, not more */
	char *path = xmalloc(PATH_MAX + 2);
	memset(path, 'x', PATH_MAX + 1);
	path[0] = '/';
	path[PATH_MAX] = '\0'; /* name length PATH_MAX - 1 */
	char *name = NULL;
	CHECK_INT(cpio_name_from_path(path, &name), 0);
	CHECK_INT(strlen(name), PATH_MAX - 1);
	free(name);
	path[PATH_MAX] = 'x';
	path[PATH_MAX + 1] = '\0'; /* name length PATH_MAX */
	check_name(path, -ENAMETOOLONG, NULL);
	free(path);
}

static void test_order(void)
{
	CHECK(cpio_name_compare("a", "a") == 0);
	CHECK(cpio_name_compare("a", "a/b") < 0);
	CHECK(cpio_name_compare("a/b", "a") > 0);
	/* '/' first: a's subtree stays together before "a-b" and "a.b" */
	CHECK(cpio_name_compare("a/z", "a-b") < 0);
	CHECK(cpio_name_compare("a/z", "a.b") < 0);
	CHECK(cpio_name_compare("a-b", "a.b") < 0);
	CHECK(cpio_name_compare("a\x01", "a/") > 0);
	CHECK(cpio_name_compare("b", "a/z") > 0);
	CHECK(cpio_name_compare("\xff", "a") > 0);
}

static int add(struct cpio_archive *a, const char *name, uint32_t mode, const char *data)
{
	struct cpio_entry e = {
		.name = xstrdup(name),
		.mode = mode,
		.data = data ? (unsigned char *)xstrdup(data) : NULL,
		.size = data ? strlen(data) : 0,
	};

	return cpio_archive_add(a, &e);
}

static void test_add_rejects(void)
{
	struct cpio_archive a = {};
	struct cpio_entry e;

	CHECK_INT(add(&a, "fifo", S_IFIFO | 0644, NULL), -EINVAL);
	CHECK_INT(add(&a, "sock", S_IFSOCK | 0644, NULL), -EINVAL);
	CHECK_INT(add(&a, "big", S_IFREG | 010000, NULL), -EINVAL);
	CHECK_INT(add(&a, "d", S_IFDIR | 0755, "data"), -EINVAL);
	e = (struct cpio_entry){ .name = xstrdup("dev"), .mode = S_IFCHR | 0600,
				 .rdev_major = CPIO_MAJOR_MAX + 1 };
	CHECK_INT(cpio_archive_add(&a, &e), -EINVAL);
	e = (struct cpio_entry){ .name = xstrdup("dev"), .mode = S_IFBLK | 0600,
				 .rdev_minor = CPIO_MINOR_MAX + 1 };
	CHECK_INT(cpio_archive_add(&a, &e), -EINVAL);
	e = (struct cpio_entry){ .name = xstrdup("file"), .mode = S_IFREG | 0600, .rdev_minor = 1 };
	CHECK_INT(cpio_archive_add(&a, &e), -EINVAL);
	e = (struct cpio_entry){ .name = xstrdup("dev"), .mode = S_IFCHR | 0600,
				 .rdev_major = CPIO_MAJOR_MAX, .rdev_minor = CPIO_MINOR_MAX };
	CHECK_INT(cpio_archive_add(&a, &e), 0);
	CHECK(e.name == NULL); /* ownership moved */
	CHECK_INT(a.n, 1);
	cpio_archive_free(&a);
}

static void test_finish(void)
{
	struct cpio_archive a = {};
	const char *conflict = NULL;

	CHECK_INT(add(&a, "usr/bin/sh", S_IFLNK | 0777, "busybox"), 0);
	CHECK_INT(add(&a, "usr/bin", S_IFDIR | 0700, NULL), 0);
	CHECK_INT(add(&a, "init", S_IFREG | 0755, "#!"), 0);
	CHECK_INT(add(&a, "init", S_IFREG | 0755, "#!"), 0); /* identical: merged */
	CHECK_INT(add(&a, "usr-x", S_IFDIR | 0755, NULL), 0);
	CHECK_INT(cpio_archive_finish(&a, &conflict), 0);
	CHECK_INT(a.n, 5);
	if (a.n == 5) {
		CHECK_STR(a.entries[0].name, "init");
		CHECK_STR(a.entries[1].name, "usr");
		CHECK(a.entries[1].implied);
		CHECK_INT(a.entries[1].mode, S_IFDIR | 0755);
		CHECK_STR(a.entries[2].name, "usr/bin");
		CHECK_INT(a.entries[2].mode, S_IFDIR | 0700); /* explicit beats implied */
		CHECK(!a.entries[2].implied);
		CHECK_STR(a.entries[3].name, "usr/bin/sh");
		CHECK_STR(a.entries[4].name, "usr-x");
	}
	cpio_archive_free(&a);

	struct {
		const char *name;
		uint32_t mode;
		const char *data;
	} conflicts[][2] = {
		{ { "x", S_IFREG | 0644, "a" }, { "x", S_IFREG | 0644, "b" } },
		{ { "x", S_IFREG | 0644, "a" }, { "x", S_IFREG | 0600, "a" } },
		{ { "x", S_IFREG | 0644, "a" }, { "x", S_IFLNK | 0777, "a" } },
		{ { "x", S_IFDIR | 0755, NULL }, { "x", S_IFDIR | 0700, NULL } },
		{ { "x", S_IFLNK | 0777, "y" }, { "x", S_IFLNK | 0777, "z" } },
		/* a file where a directory is needed */
		{ { "x", S_IFREG | 0644, "a" }, { "x/y", S_IFREG | 0644, "b" } },
		{ { "x/y", S_IFREG | 0644, "b" }, { "x", S_IFLNK | 0777, "/" } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(conflicts); i++) {
		conflict = NULL;
		CHECK_INT(add(&a, "first", S_IFDIR | 0755, NULL), 0);
		for (size_t j = 0; j < 2; j++)
			CHECK_INT(add(&a, conflicts[i][j].name, conflicts[i][j].mode,
				      conflicts[i][j].data), 0);
		CHECK_INT(add(&a, "z/last", S_IFDIR | 0755, NULL), 0);
		CHECK_INT(cpio_archive_finish(&a, &conflict), -EEXIST);
		CHECK_STR(conflict, "x");
		cpio_archive_free(&a); /* ASan: nothing leaked, nothing freed twice */
	}
}

static void test_serialize(void)
{
	struct cpio_archive a = {};
	struct cpio_entry e;
	struct buf out = {};
	const char *conflict = NULL;

	buf_append(&out, "xy", 2); /* padding counts from the archive's start */
	CHECK_INT(add(&a, "init", S_IFREG | 0755, "hello"), 0);
	e = (struct cpio_entry){ .name = xstrdup("dev/console"), .mode = S_IFCHR | 0600,
				 .rdev_major = 5, .rdev_minor = 1 };
	CHECK_INT(cpio_archive_add(&a, &e), 0);
	CHECK_INT(cpio_archive_finish(&a, &conflict), 0);
	cpio_archive_serialize(&a, 42, &out);

	const char want[] =
		"xy"
		"070701" "00000001" "000041ED" "00000000" "00000000" "00000002"
		"0000002A" "00000000" "00000000" "00000000" "00000000"
		"00000000" "00000004" "00000000"
		"dev\0" /* 110 + 4 = 114: 2 bytes of padding */ "\0\0"
		"070701" "00000002" "00002180" "00000000" "00000000" "00000001"
		"0000002A" "00000000" "00000000" "00000000" "00000005"
		"00000001" "0000000C" "00000000"
		"dev/console\0" /* 110 + 12 = 122: 2 */ "\0\0"
		"070701" "00000003" "000081ED" "00000000" "00000000" "00000001"
		"0000002A" "00000005" "00000000" "00000000" "00000000"
		"00000000" "00000005" "00000000"
		"init\0" /* 115: 1 */ "\0"
		"hello" /* 5: 3 */ "\0\0\0"
		"070701" "00000000" "00000000" "00000000" "00000000" "00000001"
		"00000000" "00000000" "00000000" "00000000" "00000000"
		"00000000" "0000000B" "00000000"
		"TRAILER!!!\0" /* 121: 3 */ "\0\0";
	size_t want_len = sizeof(want) - 1;

	CHECK_INT(out.len, 2 + 512);
	CHECK(out.len >= want_len);
	if (out.len >= want_len) {
		CHECK_MEM(out.data, want, want_len);
		bool zeros = true;
		for (size_t i = want_len; i < out.len; i++)
			zeros = zeros && out.data[i] == 0;
		CHECK(zeros);
	}
	buf_free(&out);

	/* an empty archive is a trailer padded to 512 bytes */
	cpio_archive_free(&a);
	CHECK_INT(cpio_archive_finish(&a, &conflict), 0);
	cpio_archive_serialize(&a, 0, &out);
	CHECK_INT(out.len, 512);
	CHECK_MEM(out.data + CPIO_NEWC_HEADER_SIZE, "TRAILER!!!", 11);
	buf_free(&out);
	cpio_archive_free(&a);
}

int main(void)
{
	test_header_format();
	test_names();
	test_order();
	test_add_rejects();
	test_finish();
	test_serialize();
	return test_done();
}
