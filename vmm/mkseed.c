/* SPDX-License-Identifier: MIT */
/*
 * mkseed: drives vmm/seed.c for the integration tests (and by hand), so
 * that independent tools (isoinfo, blkid, the kernel's isofs) can judge the
 * images it writes. Not installed.
 *
 *   mkseed build OUT INSTANCE_ID HOSTNAME USER_DATA_FILE [MAC...]
 *   mkseed iso OUT LABEL [NAME=FILE...]
 *   mkseed list [--joliet] IMAGE     one "name size offset" line per file
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "seed.h"
#include "util.h"

#define MKSEED_INPUT_MAX (SEED_ISO_MAX_BYTES / 2)

/* The whole of a file, malloc'd; NULL with errno. */
static void *read_file(const char *path, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *data = NULL;
	struct stat st;
	ssize_t got;

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	if ((uint64_t)st.st_size > MKSEED_INPUT_MAX) {
		errno = EFBIG;
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	got = read(fd, data, (size_t)st.st_size);
	if (got != st.st_size) {
		errno = got < 0 ? errno : EIO;
		return NULL;
	}
	*len = (size_t)got;
	return TAKE_PTR(data);
}

static int do_build(int argc, char **argv)
{
	_cleanup_free_ char *user_data = NULL;
	struct seed_nic nics[64];
	size_t len = 0, n_nics = (size_t)argc - 5;
	int r;

	if (argc < 5 || n_nics > ARRAY_SIZE(nics))
		return 2;
	user_data = read_file(argv[4], &len);
	if (!user_data) {
		fprintf(stderr, "mkseed: %s: %m\n", argv[4]);
		return 1;
	}
	for (size_t i = 0; i < n_nics; i++)
		nics[i].mac = argv[5 + i];
	r = seed_build(argv[1], argv[2], argv[3], user_data, len, nics, n_nics);
	if (r < 0) {
		fprintf(stderr, "mkseed: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	return 0;
}

static int do_iso(int argc, char **argv)
{
	struct seed_file files[SEED_FILES_MAX + 1] = { 0 };
	void *data[SEED_FILES_MAX + 1] = { 0 };
	size_t n = (size_t)argc - 3;
	int r, ret = 1;

	if (argc < 3 || n > ARRAY_SIZE(files))
		return 2;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(argv[3 + i], '=');

		if (!eq)
			goto out;
		*eq = 0;
		files[i].name = argv[3 + i];
		data[i] = read_file(eq + 1, &files[i].len);
		if (!data[i]) {
			fprintf(stderr, "mkseed: %s: %m\n", eq + 1);
			goto out;
		}
		files[i].data = data[i];
	}
	r = seed_iso_write(argv[1], files, n, argv[2]);
	if (r < 0)
		fprintf(stderr, "mkseed: %s: %s\n", argv[1], strerror(-r));
	else
		ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(data[i]);
	return ret;
}

static int do_list(int argc, char **argv)
{
	_cleanup_free_ uint8_t *img = NULL;
	_cleanup_free_ struct seed_iso_listing *l = xmalloc(sizeof(*l));
	bool joliet = argc == 3 && streq(argv[1], "--joliet");
	const char *err = "";
	size_t len = 0;
	int r;

	if (argc != 2 + joliet)
		return 2;
	img = read_file(argv[argc - 1], &len);
	if (!img) {
		fprintf(stderr, "mkseed: %s: %m\n", argv[argc - 1]);
		return 1;
	}
	r = seed_iso_list(img, len, joliet, l, &err);
	if (r < 0) {
		fprintf(stderr, "mkseed: %s: %s\n", argv[argc - 1],
			r == -EBADMSG ? err : strerror(-r));
		return 1;
	}
	printf("label %s\nsectors %" PRIu32 "\nrock_ridge %d\n", l->label, l->volume_sectors,
	       l->rock_ridge);
	for (size_t i = 0; i < l->n; i++)
		printf("file %s %" PRIu32 " %" PRIu64 "\n", l->files[i].name, l->files[i].size,
		       l->files[i].offset);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	if (argc >= 2 && streq(argv[1], "build"))
		r = do_build(argc - 1, argv + 1);
	else if (argc >= 2 && streq(argv[1], "iso"))
		r = do_iso(argc - 1, argv + 1);
	else if (argc >= 2 && streq(argv[1], "list"))
		r = do_list(argc - 1, argv + 1);
	if (r == 2)
		fprintf(stderr, "usage: mkseed build OUT INSTANCE_ID HOSTNAME USER_DATA_FILE [MAC...]\n"
				"       mkseed iso OUT LABEL [NAME=FILE...]\n"
				"       mkseed list [--joliet] IMAGE\n");
	return r;
}
