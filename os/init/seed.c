/* SPDX-License-Identifier: MIT */
#include "seed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define SEED_MOUNT "/run/mvirt-seed"

static void copy_trimmed(char *dst, const uint8_t *src, size_t n)
{
	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == 0))
		n--;
	for (size_t i = 0; i < n; i++) /* labels are printable ASCII; anything else becomes '?' */
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[n] = 0;
}

int seed_label_iso9660(const uint8_t *pvd, size_t n, char label[SEED_LABEL_MAX])
{
	/* ECMA-119 8.4: type 1, "CD001", version 1; volume identifier at 40..71 */
	if (n < 72 || pvd[0] != 1 || memcmp(pvd + 1, "CD001", 5) != 0 || pvd[6] != 1)
		return -EINVAL;
	copy_trimmed(label, pvd + 40, 32);
	return 0;
}

int seed_label_vfat(const uint8_t *bs, size_t n, char label[SEED_LABEL_MAX])
{
	size_t sig_off, label_off;

	if (n < 512 || bs[510] != 0x55 || bs[511] != 0xaa)
		return -EINVAL;
	/* bytes per sector must be a power of two in 512..4096 for a FAT BPB */
	unsigned bps = bs[11] | bs[12] << 8;
	if (bps < 512 || bps > 4096 || (bps & (bps - 1)))
		return -EINVAL;
	/* FAT32 has 0 sectors per FAT in the FAT12/16 field (offset 22) and
	 * its extended BPB further on */
	if ((bs[22] | bs[23] << 8) == 0) {
		sig_off = 66;
		label_off = 71;
	} else {
		sig_off = 38;
		label_off = 43;
	}
	if (bs[sig_off] != 0x29) /* no extended boot signature: no label field */
		return -EINVAL;
	copy_trimmed(label, bs + label_off, 11);
	return 0;
}

/* Copy a YAML scalar into dst if it fits and is clean text: 'single' or
 * "double" quoted (no escapes: host names and ids need none), or plain up to
 * a comment (a '#' after a blank). An unterminated quote is no value. */
static void take_value(char *dst, size_t size, const char *v, size_t len)
{
	const char *end = v + len;

	if (len > 0 && (v[0] == '"' || v[0] == '\'')) {
		end = memchr(v + 1, v[0], len - 1);
		if (!end)
			return;
		v++;
	} else {
		/* v starts after the blanks that follow the colon */
		for (const char *c = v; c < end; c++)
			if (*c == '#' && (c == v || c[-1] == ' ' || c[-1] == '\t')) {
				end = c;
				break;
			}
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
	}
	len = (size_t)(end - v);
	if (len == 0 || len >= size)
		return;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return;
	memcpy(dst, v, len);
	dst[len] = 0;
}

int seed_meta_parse(const char *text, size_t n, struct seed_meta *out)
{
	const char *p = text, *end = text + n;

	*out = (struct seed_meta){ 0 };
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end, *colon, *v, *ve;
		size_t klen;

		colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon && p[0] != '#' && p[0] != ' ') {
			klen = (size_t)(colon - p);
			for (v = colon + 1; v < line_end && (*v == ' ' || *v == '\t'); v++)
				;
			for (ve = line_end; ve > v && (ve[-1] == ' ' || ve[-1] == '\r' || ve[-1] == '\t');
			     ve--)
				;
			if (klen == 14 && memcmp(p, "local-hostname", 14) == 0)
				take_value(out->hostname, sizeof(out->hostname), v, (size_t)(ve - v));
			else if (klen == 11 && memcmp(p, "instance-id", 11) == 0)
				take_value(out->instance_id, sizeof(out->instance_id), v,
					   (size_t)(ve - v));
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

/* Read n bytes at off from a device; 0 or -errno. */
static int read_at(int fd, off_t off, uint8_t *buf, size_t n)
{
	ssize_t got = pread(fd, buf, n, off);

	if (got < 0)
		return -errno;
	return (size_t)got == n ? 0 : -EIO;
}

/* The filesystem type of a cidata disk, or NULL. */
static const char *cidata_fstype(const char *dev)
{
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	uint8_t buf[2048];
	char label[SEED_LABEL_MAX];

	if (fd < 0)
		return NULL;
	if (read_at(fd, ISO9660_PVD_OFFSET, buf, sizeof(buf)) == 0 &&
	    seed_label_iso9660(buf, sizeof(buf), label) == 0 && strcasecmp(label, "cidata") == 0)
		return "iso9660";
	if (read_at(fd, 0, buf, 512) == 0 && seed_label_vfat(buf, 512, label) == 0 &&
	    strcasecmp(label, "cidata") == 0)
		return "vfat";
	return NULL;
}

static int read_meta(struct seed_meta *out)
{
	_cleanup_close_ int fd = open(SEED_MOUNT "/meta-data", O_RDONLY | O_CLOEXEC);
	char buf[16384];
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf)); /* meta-data is a few lines; more is ignored */
	if (n < 0)
		return -errno;
	return seed_meta_parse(buf, (size_t)n, out);
}

int seed_load(struct seed_meta *out)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/block");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char dev[300];
		const char *fstype;
		int r;

		if (de->d_name[0] == '.' || startswith(de->d_name, "loop") ||
		    startswith(de->d_name, "ram"))
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		fstype = cidata_fstype(dev);
		if (!fstype)
			continue;
		mkdir(SEED_MOUNT, 0700);
		if (mount(dev, SEED_MOUNT, fstype, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0) {
			log_warning_errno(errno, "seed: cannot mount %s (%s)", dev, fstype);
			continue;
		}
		r = read_meta(out);
		umount2(SEED_MOUNT, MNT_DETACH);
		rmdir(SEED_MOUNT);
		if (r < 0) {
			log_warning_errno(r, "seed: %s has no readable meta-data", dev);
			continue;
		}
		log_info("seed: %s (%s) instance-id %s", dev, fstype,
			 out->instance_id[0] ? out->instance_id : "-");
		return 0;
	}
	return -ENOENT;
}
