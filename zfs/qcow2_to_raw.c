/* SPDX-License-Identifier: MIT */
/*
 * qcow2_to_raw: converts a qcow2 image into a sparse raw file with our own
 * reader (zfs/qcow2.c), for the tests and by hand. Not installed.
 *
 *   qcow2_to_raw [--info] [--progress] IMAGE [OUTPUT]
 *
 * --info prints the virtual and cluster size and stops; otherwise OUTPUT is
 * created (or truncated) and receives the whole virtual disk.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "qcow2.h"
#include "util.h"

static void print_progress(uint64_t done, uint64_t total, void *userdata)
{
	fprintf(stderr, "%" PRIu64 "/%" PRIu64 "\n", done, total);
}

int main(int argc, char **argv)
{
	_cleanup_qcow2_ struct qcow2 *q = NULL;
	_cleanup_close_ int in_fd = -1, out_fd = -1;
	bool info = false, progress = false;
	char err[512];
	struct stat st;
	int i, r;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (streq(argv[i], "--info"))
			info = true;
		else if (streq(argv[i], "--progress"))
			progress = true;
		else
			break;
	}
	if (argc - i != (info ? 1 : 2)) {
		fprintf(stderr, "usage: qcow2_to_raw [--progress] IMAGE OUTPUT\n"
				"       qcow2_to_raw --info IMAGE\n");
		return 2;
	}

	in_fd = open(argv[i], O_RDONLY | O_CLOEXEC);
	if (in_fd < 0 || fstat(in_fd, &st) < 0) {
		fprintf(stderr, "qcow2_to_raw: %s: %m\n", argv[i]);
		return 1;
	}
	r = qcow2_open(in_fd, (uint64_t)st.st_size, &q, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "qcow2_to_raw: %s: %s\n", argv[i], err);
		return 1;
	}
	if (info) {
		printf("virtual_size %" PRIu64 "\ncluster_size %" PRIu32 "\n", qcow2_virtual_size(q),
		       qcow2_cluster_size(q));
		return 0;
	}

	out_fd = open(argv[i + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		fprintf(stderr, "qcow2_to_raw: %s: %m\n", argv[i + 1]);
		return 1;
	}
	r = qcow2_copy_to_raw(q, out_fd, progress ? print_progress : NULL, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "qcow2_to_raw: %s: %s\n", argv[i], qcow2_error(q));
		return 1;
	}
	if (fsync(out_fd) < 0) {
		fprintf(stderr, "qcow2_to_raw: %s: %m\n", argv[i + 1]);
		return 1;
	}
	return 0;
}
