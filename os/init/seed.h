/* SPDX-License-Identifier: MIT */
/*
 * cloud-init NoCloud seed: a disk labelled "cidata" (iso9660 or vfat) with a
 * meta-data file ("local-hostname: web1", "instance-id: i-42"). The label
 * readers and the meta-data parser are pure functions over bytes from a
 * disk the VM's owner supplies: unit-tested and fuzzed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ISO9660_PVD_OFFSET 32768
#define SEED_LABEL_MAX 33

/* The volume identifier of an iso9660 primary volume descriptor (the 2048
 * bytes at ISO9660_PVD_OFFSET), trailing blanks removed. -EINVAL if it is
 * not one. */
int seed_label_iso9660(const uint8_t *pvd, size_t n, char label[SEED_LABEL_MAX]);
/* The volume label of a FAT12/16/32 boot sector (the first 512 bytes). */
int seed_label_vfat(const uint8_t *sector, size_t n, char label[SEED_LABEL_MAX]);

struct seed_meta {
	char hostname[65];
	char instance_id[128];
};

/* "key: value" lines (YAML as cloud-init writes it for NoCloud; quotes
 * around values removed); unknown keys ignored. Values that do not fit or
 * hold control characters are ignored. */
int seed_meta_parse(const char *text, size_t n, struct seed_meta *out);

/* Find a cidata disk among the block devices, mount it read-only on a
 * temporary mount point, read meta-data, unmount. -ENOENT when there is
 * none. */
int seed_load(struct seed_meta *out);
