/* SPDX-License-Identifier: MIT */
/*
 * The cloud-init seed (vmm/seed.c): host name sanitizing, the YAML texts,
 * and the ISO 9660 image read back by seed_iso_list() through both the
 * primary (Rock Ridge) and the Joliet tree: names, sizes, contents, byte
 * order fields, determinism, and refusals of bad input. Hostile images are
 * the fuzz target's job (fuzz/fuzz_seed_iso.c); a few truncations are here.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "seed.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/test-seed-XXXXXX";

/* The whole of a file into a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *p;

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = xmalloc((size_t)st.st_size + 1);
	if (read(fd, p, (size_t)st.st_size) != st.st_size) {
		free(p);
		return NULL;
	}
	*len = (size_t)st.st_size;
	return p;
}

static void test_hostname(void)
{
	char out[SEED_HOSTNAME_MAX + 1];
	char long_name[200];

	CHECK_STR(seed_hostname_sanitize("web-01", "id", out), "web-01");
	CHECK_STR(seed_hostname_sanitize("My VM_1", "id", out), "my-vm-1");
	CHECK_STR(seed_hostname_sanitize("--a..b--", "id", out), "a-b");
	CHECK_STR(seed_hostname_sanitize("\"; rm -rf /\n", "id", out), "rm-rf");
	CHECK_STR(seed_hostname_sanitize("ÄÖÜ", "0f3C-ab", out), "0f3c-ab");
	CHECK_STR(seed_hostname_sanitize("___", "...", out), "vm");
	CHECK_STR(seed_hostname_sanitize(NULL, NULL, out), "vm");

	/* at most 63 characters, and never ending in '-' at the cut */
	memset(long_name, 'a', sizeof(long_name));
	long_name[62] = '_';
	long_name[sizeof(long_name) - 1] = 0;
	seed_hostname_sanitize(long_name, "id", out);
	CHECK_INT(strlen(out), 62);
	CHECK(out[61] == 'a');
	long_name[62] = 'a';
	seed_hostname_sanitize(long_name, "id", out);
	CHECK_INT(strlen(out), 63);
}

static void test_texts(void)
{
	_cleanup_free_ char *meta = NULL, *net = NULL, *none = NULL, *evil = NULL;
	struct seed_nic nics[] = { { "52:54:00:AA:bb:01" }, { "02:00:00:00:00:02" } };
	struct seed_nic bad[] = { { "52:54:00:aa:bb" } };
	struct seed_nic bad2[] = { { "52-54-00-aa-bb-01" } };
	char *tmp = NULL;

	CHECK_INT(seed_meta_data("0f3c-id", "My VM", &meta), 0);
	CHECK_STR(meta, "instance-id: \"0f3c-id\"\nlocal-hostname: \"my-vm\"\n");
	/* whatever the id holds cannot end its scalar or start a line */
	CHECK_INT(seed_meta_data("a\"b\\c\nd: e", "x", &evil), 0);
	CHECK_STR(evil, "instance-id: \"a\\\"b\\\\c\\x0ad: e\"\nlocal-hostname: \"x\"\n");
	CHECK_INT(seed_meta_data("", "x", &tmp), -EINVAL);
	CHECK_INT(seed_meta_data(NULL, "x", &tmp), -EINVAL);

	CHECK_INT(seed_network_config(nics, 2, &net), 0);
	CHECK_STR(net, "version: 2\nethernets:\n"
		       "  nic0:\n    match:\n      macaddress: \"52:54:00:aa:bb:01\"\n"
		       "    dhcp4: true\n    dhcp6: true\n"
		       "  nic1:\n    match:\n      macaddress: \"02:00:00:00:00:02\"\n"
		       "    dhcp4: true\n    dhcp6: true\n");
	CHECK_INT(seed_network_config(NULL, 0, &none), 0);
	CHECK_STR(none, "version: 2\nethernets: {}\n");
	CHECK_INT(seed_network_config(bad, 1, &tmp), -EINVAL);
	CHECK_INT(seed_network_config(bad2, 1, &tmp), -EINVAL);
}

/* The files of a listing must be exactly these, with these contents. */
static void check_listing(const uint8_t *img, size_t len, bool joliet,
			  const struct seed_file *want, size_t n, const char *label)
{
	_cleanup_free_ struct seed_iso_listing *l = xmalloc(sizeof(*l));
	const char *err = NULL;

	CHECK_INT(seed_iso_list(img, len, joliet, l, &err), 0);
	if (err)
		fprintf(stderr, "seed_iso_list: %s\n", err);
	CHECK_STR(l->label, label);
	CHECK_U64((uint64_t)l->volume_sectors * SEED_ISO_SECTOR, len);
	CHECK(l->rock_ridge == !joliet);
	CHECK_INT(l->n, n);
	for (size_t i = 0; i < n && i < l->n; i++) {
		const struct seed_iso_entry *e = NULL;

		for (size_t j = 0; j < l->n; j++)
			if (streq(l->files[j].name, want[i].name))
				e = &l->files[j];
		CHECK(e != NULL);
		if (!e)
			continue;
		CHECK_U64(e->size, want[i].len);
		CHECK(e->offset % SEED_ISO_SECTOR == 0);
		CHECK(e->offset + e->size <= len);
		if (e->size)
			CHECK_MEM(img + e->offset, want[i].data, want[i].len);
	}
}

static void test_seed_build(void)
{
	_cleanup_free_ char *path = xasprintf("%s/seed.iso", dir);
	_cleanup_free_ char *meta = NULL, *net = NULL;
	_cleanup_free_ uint8_t *img = NULL, *again = NULL;
	static const char user_data[] = "#cloud-config\nruncmd:\n - [echo, \"\\0\"]\n";
	struct seed_nic nics[] = { { "52:54:00:12:34:56" } };
	size_t len = 0, len2 = 0;
	struct stat st;

	CHECK_INT(seed_build(path, "i-1", "vm one", user_data, sizeof(user_data), nics, 1), 0);
	img = slurp(path, &len);
	CHECK(img != NULL);
	if (!img)
		return;
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK(len % SEED_ISO_SECTOR == 0);
	/* the system area is zero; the descriptors are where readers look */
	for (size_t i = 0; i < 16 * SEED_ISO_SECTOR; i++)
		if (img[i]) {
			CHECK(!"system area not zero");
			break;
		}
	CHECK_MEM(img + 16 * 2048, "\001CD001\001", 7);
	CHECK_MEM(img + 17 * 2048, "\002CD001\001", 7);
	CHECK_MEM(img + 17 * 2048 + 88, "%/E", 3);
	CHECK_MEM(img + 18 * 2048, "\377CD001\001", 7);

	CHECK_INT(seed_meta_data("i-1", "vm one", &meta), 0);
	CHECK_INT(seed_network_config(nics, 1, &net), 0);
	const struct seed_file want[] = {
		{ "meta-data", meta, strlen(meta) },
		{ "user-data", user_data, sizeof(user_data) },
		{ "network-config", net, strlen(net) },
	};
	check_listing(img, len, false, want, 3, "cidata");
	check_listing(img, len, true, want, 3, "cidata");

	/* the same input gives the same bytes; no temporary file is left */
	CHECK_INT(seed_build(path, "i-1", "vm one", user_data, sizeof(user_data), nics, 1), 0);
	again = slurp(path, &len2);
	CHECK(again && len2 == len && memcmp(img, again, len) == 0);
	{
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *de;
		int entries = 0;

		while (d && (de = readdir(d)))
			entries += de->d_name[0] != '.';
		CHECK_INT(entries, 1);
	}

	/* bad input: nothing written over the good seed */
	CHECK_INT(seed_build(path, "", "x", "", 0, NULL, 0), -EINVAL);
	CHECK_INT(seed_build(path, "i-1", "x", "", 0, (struct seed_nic[]){ { "zz" } }, 1), -EINVAL);
	CHECK_INT(seed_build(path, "i-1", "x", NULL, 5, NULL, 0), -EINVAL);
	free(again);
	again = slurp(path, &len2);
	CHECK(again && len2 == len && memcmp(img, again, len) == 0);
}

/* Many files with lengths around sector boundaries, including empty ones,
 * so that both directories span several sectors. */
static void test_many_files(void)
{
	_cleanup_free_ char *path = xasprintf("%s/many.iso", dir);
	struct seed_file files[SEED_FILES_MAX];
	char names[SEED_FILES_MAX][SEED_NAME_MAX + 1];
	_cleanup_free_ uint8_t *data = xmalloc(3 * SEED_ISO_SECTOR + 1);
	_cleanup_free_ uint8_t *img = NULL;
	size_t len = 0;

	for (size_t i = 0; i < 3 * SEED_ISO_SECTOR + 1; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < SEED_FILES_MAX; i++) {
		static const size_t sizes[] = { 0, 1, 2047, 2048, 2049, 3 * SEED_ISO_SECTOR + 1 };

		/* long names (29 characters), mixed case, dots and dashes */
		snprintf(names[i], sizeof(names[i]), "File-%02zu.with.Dots-and-longs.x", i);
		files[i] = (struct seed_file){ names[i], data + i % 5, sizes[i % 6] };
		if (files[i].len > 3 * SEED_ISO_SECTOR + 1 - i % 5)
			files[i].len -= i % 5;
	}
	CHECK_INT(strlen(names[0]), SEED_NAME_MAX);
	CHECK_INT(seed_iso_write(path, files, SEED_FILES_MAX, "SEED LABEL 32 CHARACTERS LONG..."),
		  0);
	img = slurp(path, &len);
	CHECK(img != NULL);
	if (!img)
		return;
	check_listing(img, len, false, files, SEED_FILES_MAX, "SEED LABEL 32 CHARACTERS LONG...");
	check_listing(img, len, true, files, SEED_FILES_MAX, "SEED LABEL 32 CHARACTERS LONG...");

	/* every truncation of the image is refused or listed within bounds */
	for (size_t cut = 0; cut < len; cut += 509) {
		_cleanup_free_ struct seed_iso_listing *l = xmalloc(sizeof(*l));
		int r = seed_iso_list(img, cut, false, l, NULL);

		CHECK(r == -EBADMSG || r == 0);
		for (size_t i = 0; r == 0 && i < l->n; i++)
			CHECK(l->files[i].offset + l->files[i].size <= cut);
	}
}

static void test_refusals(void)
{
	_cleanup_free_ char *path = xasprintf("%s/bad.iso", dir);
	struct seed_file f = { "user-data", "x", 1 };
	struct seed_file dup[] = { { "a-b", "x", 1 }, { "a_b", "y", 1 } };
	struct seed_file many[SEED_FILES_MAX + 1];
	static const char *const bad_names[] = { "", ".hidden", "a/b", "a b", "ü",
						 "a-name-longer-than-29-characters" };
	_cleanup_free_ struct seed_iso_listing *l = xmalloc(sizeof(*l));
	uint8_t junk[40000] = { 0 };
	const char *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		f.name = bad_names[i];
		CHECK_INT(seed_iso_write(path, &f, 1, "cidata"), -EINVAL);
	}
	f.name = "ok";
	CHECK_INT(seed_iso_write(path, &f, 1, ""), -EINVAL);
	CHECK_INT(seed_iso_write(path, &f, 1, "label longer than thirty-two chars"), -EINVAL);
	CHECK_INT(seed_iso_write(path, &f, 1, "tab\there"), -EINVAL);
	CHECK_INT(seed_iso_write(path, dup, 2, "cidata"), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct seed_file){ "f", "x", 1 };
	CHECK_INT(seed_iso_write(path, many, ARRAY_SIZE(many), "cidata"), -EINVAL);
	f.len = (size_t)SEED_ISO_MAX_BYTES; /* refused before anything is read */
	CHECK_INT(seed_iso_write(path, &f, 1, "cidata"), -EFBIG);
	CHECK_INT(seed_iso_write("/nonexistent-dir/x.iso", dup, 1, "cidata"), -ENOENT);
	CHECK(access(path, F_OK) != 0);

	CHECK_INT(seed_iso_list(junk, sizeof(junk), false, l, &err), -EBADMSG);
	CHECK(err && err[0]);
	CHECK_INT(seed_iso_list(junk, 100, false, l, &err), -EBADMSG);
}

/* An image without Joliet: listing its Joliet tree says so. */
static void test_no_joliet(void)
{
	_cleanup_free_ char *path = xasprintf("%s/nj.iso", dir);
	_cleanup_free_ struct seed_iso_listing *l = xmalloc(sizeof(*l));
	_cleanup_free_ uint8_t *img = NULL;
	struct seed_file f = { "user-data", "x", 1 };
	size_t len = 0;

	CHECK_INT(seed_iso_write(path, &f, 1, "cidata"), 0);
	img = slurp(path, &len);
	if (!img)
		return;
	img[17 * SEED_ISO_SECTOR] = 3; /* no longer a supplementary descriptor */
	CHECK_INT(seed_iso_list(img, len, true, l, NULL), -ENOENT);
	CHECK_INT(seed_iso_list(img, len, false, l, NULL), 0);
	CHECK_STR(l->files[0].name, "user-data");
	unlink(path);
}

int main(void)
{
	_cleanup_free_ char *p = NULL;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_hostname();
	test_texts();
	test_seed_build();
	test_many_files();
	test_refusals();
	test_no_joliet();

	for (const char *const *n = (const char *const[]){ "seed.iso", "many.iso", NULL }; *n; n++) {
		free(p);
		p = xasprintf("%s/%s", dir, *n);
		unlink(p);
	}
	CHECK_INT(rmdir(dir), 0);
	return test_done();
}
