/* SPDX-License-Identifier: MIT */
/*
 * mkcpio: write a reproducible newc cpio archive (the guest's initramfs) from
 * entry specs on the command line. A host tool that os/build.sh runs; the
 * archive format itself lives in cpio.c. See usage() for the specs.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cpio.h"

extern char **environ;

static void usage(void)
{
	fputs("Usage: mkcpio [--gzip] OUTPUT SPEC...\n"
	      "\n"
	      "Write a newc (070701) cpio archive, e.g. an initramfs, made of:\n"
	      "  dir:PATH:MODE                     a directory\n"
	      "  file:PATH:MODE:HOSTFILE           a regular file with HOSTFILE's contents\n"
	      "  symlink:PATH:TARGET               a symbolic link to TARGET\n"
	      "  nod:PATH:MODE:c|b:MAJOR:MINOR     a character or block device node\n"
	      "  tree:PATH:HOSTDIR                 HOSTDIR's contents below PATH (directories,\n"
	      "                                    files and symlinks, with their permissions)\n"
	      "PATH is absolute (\"/dev/console\"), without '.', '..' or empty components, and\n"
	      "cannot contain ':'; MODE is octal permission bits (\"0755\"). HOSTFILE, TARGET\n"
	      "and HOSTDIR take the rest of the spec and may contain ':'.\n"
	      "\n"
	      "The output is the same for the same inputs: entries sorted by path (parents\n"
	      "first; missing parent directories are added with mode 0755), owned by root,\n"
	      "mtime 0 or $SOURCE_DATE_EPOCH, inode numbers 1, 2, ..., no host device or\n"
	      "owner information. The same PATH given twice must describe the same entry.\n"
	      "OUTPUT is replaced atomically and not created on any error.\n"
	      "\n"
	      "  --gzip    compress with 'gzip -n -9' (reproducible: no name, no timestamp)\n"
	      "  --help    show this help\n",
	      stdout);
}

/* Print "mkcpio: MESSAGE[: strerror(err)]"; returns -|err|, or -EINVAL for err 0. */
static PRINTF_FMT(2, 3) int error_errno(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("mkcpio: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	err = err < 0 ? -err : err;
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	return err ? -err : -EINVAL;
}

/* Split s in place at ':' into at most max fields; the last one keeps any
 * further ':'. Returns the number of fields found. */
static size_t split_fields(char *s, char **fields, size_t max)
{
	size_t n = 0;

	while (n < max) {
		fields[n++] = s;
		if (n == max)
			break;
		s = strchr(s, ':');
		if (!s)
			break;
		*s++ = '\0';
	}
	return n;
}

/* Permission bits in octal: 1-5 digits 0-7, at most 07777. */
static int parse_mode(const char *s, uint32_t *ret)
{
	uint32_t v = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		v = v * 8 + (uint32_t)(*s - '0');
	}
	if (v > 07777)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Read a whole regular file; its size is what read() returns, not st_size. */
static int read_host_file(const char *spec, const char *path, unsigned char **ret,
			  size_t *ret_size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ unsigned char *data = NULL;
	size_t size = 0, cap = 0;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_errno(errno, "bad spec '%s': cannot open '%s'", spec, path);
	if (fstat(fd, &st) < 0)
		return error_errno(errno, "bad spec '%s': cannot stat '%s'", spec, path);
	if (!S_ISREG(st.st_mode))
		return error_errno(0, "bad spec '%s': '%s' is not a regular file", spec, path);
	for (;;) {
		ssize_t n;

		if (size == cap) {
			cap = cap ? cap * 2 : 64 * 1024;
			data = xrealloc(data, cap);
		}
		n = read(fd, data + size, cap - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno(errno, "bad spec '%s': cannot read '%s'", spec, path);
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > UINT32_MAX)
			return error_errno(EFBIG, "bad spec '%s': '%s' is too large for cpio",
					   spec, path);
	}
	*ret = TAKE_PTR(data);
	*ret_size = size;
	return 0;
}

/* Read a symbolic link's target (without NUL). */
static int read_host_link(const char *spec, const char *path, unsigned char **ret,
			  size_t *ret_size)
{
	_cleanup_free_ char *target = xmalloc(PATH_MAX);
	ssize_t n = readlink(path, target, PATH_MAX);

	if (n < 0)
		return error_errno(errno, "bad spec '%s': cannot read link '%s'", spec, path);
	if (n == 0 || n >= PATH_MAX)
		return error_errno(ENAMETOOLONG, "bad spec '%s': link target of '%s'", spec, path);
	*ret = (unsigned char *)TAKE_PTR(target);
	*ret_size = (size_t)n;
	return 0;
}

static int archive_add(struct cpio_archive *a, struct cpio_entry *e, const char *spec)
{
	int r = cpio_archive_add(a, e);

	if (r < 0)
		return error_errno(r, "bad spec '%s'", spec);
	return 0;
}

static int add_tree_object(struct cpio_archive *a, const char *spec, const char *path,
			   const char *host_path, const struct stat *st);

/* Add the contents of host_dir below the archive path prefix ("" for /). The
 * names are read first and the directory closed before descending, so deep
 * trees do not hold one descriptor per level. */
static int add_tree(struct cpio_archive *a, const char *spec, const char *prefix,
		    const char *host_dir)
{
	_cleanup_free_ char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *dir;
	struct dirent *de;
	int r = 0;

	dir = opendir(host_dir);
	if (!dir)
		return error_errno(errno, "bad spec '%s': cannot open directory '%s'", spec, host_dir);
	errno = 0;
	while ((de = readdir(dir))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	if (errno)
		r = error_errno(errno, "bad spec '%s': cannot read directory '%s'", spec, host_dir);
	closedir(dir);

	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *host_path = xasprintf("%s/%s", host_dir, names[i]);
		_cleanup_free_ char *path = xasprintf("%s/%s", prefix, names[i]);
		struct stat st;

		if (lstat(host_path, &st) < 0)
			r = error_errno(errno, "bad spec '%s': cannot stat '%s'", spec, host_path);
		else
			r = add_tree_object(a, spec, path, host_path, &st);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return r;
}

/* Add one object found in a tree (and, for a directory, its contents) at the
 * archive path "/prefix/name", with the host's permission bits. */
static int add_tree_object(struct cpio_archive *a, const char *spec, const char *path,
			   const char *host_path, const struct stat *st)
{
	struct cpio_entry e = { .mode = st->st_mode & 07777 };
	_cleanup_free_ char *name = NULL;
	int r;

	/* host names may hold anything but '/' and NUL: check as for a spec */
	r = cpio_name_from_path(path, &name);
	if (r < 0)
		return error_errno(r, "bad spec '%s': invalid archive path '%s' for '%s'", spec,
				   path, host_path);
	if (S_ISDIR(st->st_mode)) {
		e.mode |= S_IFDIR;
	} else if (S_ISREG(st->st_mode)) {
		e.mode |= S_IFREG;
		r = read_host_file(spec, host_path, &e.data, &e.size);
	} else if (S_ISLNK(st->st_mode)) {
		e.mode = S_IFLNK | 0777;
		r = read_host_link(spec, host_path, &e.data, &e.size);
	} else {
		r = error_errno(0, "bad spec '%s': '%s' is not a directory, file or symlink"
				   " (use nod: for device nodes)", spec, host_path);
	}
	if (r < 0)
		return r;
	e.name = TAKE_PTR(name);
	r = archive_add(a, &e, spec);
	if (r < 0 || !S_ISDIR(st->st_mode))
		return r;
	return add_tree(a, spec, path, host_path);
}

/* Parse "c|b:MAJOR:MINOR" of a nod: spec into e's type and device number. */
static int parse_device(const char *type, const char *major, const char *minor,
			struct cpio_entry *e)
{
	unsigned long long maj, min;

	if (streq(type, "c"))
		e->mode |= S_IFCHR;
	else if (streq(type, "b"))
		e->mode |= S_IFBLK;
	else
		return -EINVAL;
	if (parse_u64(major, CPIO_MAJOR_MAX, &maj) < 0 || parse_u64(minor, CPIO_MINOR_MAX, &min) < 0)
		return -EINVAL;
	e->rdev_major = (uint32_t)maj;
	e->rdev_minor = (uint32_t)min;
	return 0;
}

/* How many ':'-separated fields follow the kind, PATH included. */
static const struct {
	const char *kind;
	size_t fields;
} spec_kinds[] = {
	{ "dir", 2 }, { "file", 3 }, { "symlink", 2 }, { "nod", 5 }, { "tree", 2 },
};

/* Parse one spec and add what it names; prints the error. */
static int add_spec(struct cpio_archive *a, const char *spec)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	_cleanup_free_ char *name = NULL;
	struct cpio_entry e = {};
	const char *kind;
	char *f[6];
	size_t want = 0;
	int r;

	if (split_fields(copy, f, 2) < 2)
		return error_errno(0, "bad spec '%s': expected KIND:PATH:...", spec);
	kind = f[0];
	for (size_t i = 0; i < ARRAY_SIZE(spec_kinds); i++)
		if (streq(kind, spec_kinds[i].kind))
			want = spec_kinds[i].fields;
	if (want == 0)
		return error_errno(0, "bad spec '%s': unknown kind '%s' (dir, file, symlink, nod, tree)",
				   spec, kind);
	/* f[1] is "PATH:..." until split by what this kind expects */
	if (split_fields(f[1], f + 1, want) != want)
		return error_errno(0, "bad spec '%s': %s takes %zu fields after the kind", spec, kind,
				   want);
	if (streq(kind, "tree") && streq(f[1], "/"))
		return add_tree(a, spec, "", f[2]);
	r = cpio_name_from_path(f[1], &name);
	if (r == -ENAMETOOLONG)
		return error_errno(0, "bad spec '%s': path longer than %d bytes", spec, PATH_MAX - 1);
	if (r < 0)
		return error_errno(0, "bad spec '%s': path must be absolute, without '.', '..' or"
				      " empty components", spec);

	if (streq(kind, "tree")) {
		/* PATH exists even for an empty HOSTDIR; a dir: spec may set its mode */
		e = (struct cpio_entry){ .name = TAKE_PTR(name), .mode = S_IFDIR | 0755,
					 .implied = true };
		r = archive_add(a, &e, spec);
		return r < 0 ? r : add_tree(a, spec, f[1], f[2]);
	}
	if (streq(kind, "symlink")) {
		size_t len = strlen(f[2]);

		if (len == 0 || len >= PATH_MAX)
			return error_errno(0, "bad spec '%s': empty or too long link target", spec);
		e = (struct cpio_entry){ .name = TAKE_PTR(name), .mode = S_IFLNK | 0777,
					 .data = (unsigned char *)xstrdup(f[2]), .size = len };
		return archive_add(a, &e, spec);
	}
	if (parse_mode(f[2], &e.mode) < 0)
		return error_errno(0, "bad spec '%s': mode must be octal, at most 07777", spec);
	if (streq(kind, "dir")) {
		e.mode |= S_IFDIR;
	} else if (streq(kind, "file")) {
		e.mode |= S_IFREG;
		r = read_host_file(spec, f[3], &e.data, &e.size);
		if (r < 0)
			return r;
	} else if (parse_device(f[3], f[4], f[5], &e) < 0) {
		return error_errno(0, "bad spec '%s': expected c|b:MAJOR:MINOR (major <= %u, minor <= %u)",
				   spec, CPIO_MAJOR_MAX, CPIO_MINOR_MAX);
	}
	e.name = TAKE_PTR(name);
	return archive_add(a, &e, spec);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Pipe the archive through "gzip -n -9" into fd. */
static int write_gzip(int fd, const unsigned char *p, size_t n)
{
	char *argv[] = { "gzip", "-n", "-9", "-c", NULL };
	posix_spawn_file_actions_t actions;
	int pipefd[2], status, r;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_errno(errno, "cannot create a pipe");
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, pipefd[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
	r = posix_spawnp(&pid, "gzip", &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[0]);
	if (r != 0) {
		close(pipefd[1]);
		return error_errno(r, "cannot run gzip");
	}
	/* EPIPE rather than SIGPIPE if gzip dies: SIGPIPE is ignored in main() */
	r = write_all(pipefd[1], p, n);
	close(pipefd[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error_errno(errno, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_errno(0, "gzip failed");
	if (r < 0)
		return error_errno(r, "cannot write to gzip");
	return 0;
}

/* Write to a temporary file next to output and rename it over output, so
 * that output is either the complete new archive or untouched. */
static int write_output(const char *output, const struct buf *archive, bool gzip)
{
	_cleanup_free_ char *tmp = xasprintf("%s.XXXXXX", output);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	int r;

	if (fd < 0)
		return error_errno(errno, "cannot create '%s'", tmp);
	if (gzip)
		r = write_gzip(fd, buf_head(archive), buf_avail(archive));
	else if ((r = write_all(fd, buf_head(archive), buf_avail(archive))) < 0)
		r = error_errno(r, "cannot write '%s'", tmp);
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = error_errno(errno, "cannot chmod '%s'", tmp);
	if (r == 0 && close(TAKE_FD(fd)) < 0)
		r = error_errno(errno, "cannot write '%s'", tmp);
	if (r == 0 && rename(tmp, output) < 0)
		r = error_errno(errno, "cannot rename '%s' to '%s'", tmp, output);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* SOURCE_DATE_EPOCH (reproducible-builds.org) or 0. */
static int archive_mtime(uint32_t *ret)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	unsigned long long v = 0;

	if (s && parse_u64(s, UINT32_MAX, &v) < 0)
		return error_errno(0, "SOURCE_DATE_EPOCH='%s' is not a time in seconds that fits the"
				      " archive (0..%u)", s, UINT32_MAX);
	*ret = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "gzip", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct cpio_archive archive = {};
	struct buf out = {};
	const char *conflict = NULL;
	bool gzip = false;
	uint32_t mtime = 0;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "zh", options, NULL)) >= 0) {
		switch (c) {
		case 'z':
			gzip = true;
			break;
		case 'h':
			usage();
			return EXIT_SUCCESS;
		default:
			fputs("Try 'mkcpio --help'.\n", stderr);
			return EXIT_FAILURE;
		}
	}
	if (argc - optind < 2) {
		error_errno(0, "expected OUTPUT and at least one SPEC (see 'mkcpio --help')");
		return EXIT_FAILURE;
	}
	if (archive_mtime(&mtime) < 0)
		return EXIT_FAILURE;
	signal(SIGPIPE, SIG_IGN);

	for (int i = optind + 1; i < argc && r == 0; i++)
		r = add_spec(&archive, argv[i]);
	if (r == 0 && cpio_archive_finish(&archive, &conflict) < 0)
		r = error_errno(0, "conflicting entries for '/%s'", conflict);
	if (r == 0) {
		cpio_archive_serialize(&archive, mtime, &out);
		r = write_output(argv[optind], &out, gzip);
	}
	buf_free(&out);
	cpio_archive_free(&archive);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
