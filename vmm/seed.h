/* SPDX-License-Identifier: MIT */
/*
 * The cloud-init NoCloud seed of a VM: meta-data, user-data and
 * network-config in an ISO 9660 image labelled "cidata", written by our own
 * small writer so that the daemon needs no external tool at run time.
 *
 * The image carries the files three ways, as genisoimage -J -r does:
 * strict ISO 9660 level 2 names (USER_DATA.;1), Rock Ridge names (what Linux
 * shows by default: user-data) and a Joliet tree (what Linux shows with
 * norock, and what other systems read). Output is a pure function of the
 * input: every timestamp is the Unix epoch.
 *
 * seed_iso_list() reads such an image back (tests, fuzzing); it treats its
 * input as hostile bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEED_ISO_SECTOR 2048
/* Longest file name: the ISO 9660 level 2 limit (30 with its dot). */
#define SEED_NAME_MAX 29
/* Most files in one image (and in one listing). */
#define SEED_FILES_MAX 32
/* Largest image we write or list: far more than any seed needs. */
#define SEED_ISO_MAX_BYTES (UINT64_C(256) << 20)
#define SEED_HOSTNAME_MAX 63

struct seed_file {
	const char *name;  /* [A-Za-z0-9._-], 1..SEED_NAME_MAX, not starting with '.' */
	const void *data;
	size_t len;
};

struct seed_nic {
	const char *mac;   /* "hh:hh:hh:hh:hh:hh", either case */
};

/* Write an ISO 9660 image holding files in its root directory to path,
 * atomically (temporary file in the same directory, fsync, rename, fsync of
 * the directory); mode 0600, since user-data may hold secrets. volume_label
 * is 1..32 printable ASCII characters. 0, -EINVAL on bad names or sizes, or
 * -errno of the file system. */
int seed_iso_write(const char *path, const struct seed_file *files, size_t n,
		   const char *volume_label);

/* A valid host name (RFC 1123 label: [a-z0-9-], no leading or trailing '-',
 * at most 63 characters) from vm_name: letters lowered, runs of anything
 * else turned into one '-'. Falls back to fallback_id the same way, then to
 * "vm". Returns out. */
const char *seed_hostname_sanitize(const char *vm_name, const char *fallback_id,
				   char out[SEED_HOSTNAME_MAX + 1]);

/* The texts of the seed, each malloc'd and NUL-terminated.
 * meta-data: instance-id and local-hostname (sanitized from hostname).
 * network-config: version 2, DHCPv4 and DHCPv6 on every NIC, matched by MAC.
 * 0 or -EINVAL (bad MAC, empty instance id). */
int seed_meta_data(const char *instance_id, const char *hostname, char **out);
int seed_network_config(const struct seed_nic *nics, size_t n_nics, char **out);

/* The whole seed at path: meta-data, user-data (bytes as given) and
 * network-config, labelled "cidata". 0 or negative errno. */
int seed_build(const char *path, const char *instance_id, const char *hostname,
	       const char *user_data, size_t user_data_len, const struct seed_nic *nics,
	       size_t n_nics);

/* One file of a listed image. */
struct seed_iso_entry {
	char name[64];     /* Rock Ridge or Joliet name if present, else the ISO name */
	uint64_t offset;   /* of its data in the image */
	uint32_t size;
};

struct seed_iso_listing {
	char label[33];    /* volume identifier, trailing blanks removed */
	uint32_t volume_sectors;
	bool rock_ridge;   /* the root's "." record has an SP entry */
	size_t n;
	struct seed_iso_entry files[SEED_FILES_MAX];
};

/* List the root directory of an ISO 9660 image held in memory: the primary
 * tree, or with joliet the tree of the Joliet supplementary descriptor.
 * Every offset and length is checked against size; names are printable
 * ASCII. 0, -EBADMSG on anything malformed (a reason in err when err is not
 * NULL), -ENOENT when joliet is asked and there is no Joliet descriptor,
 * -E2BIG when the directory holds more than SEED_FILES_MAX files. */
int seed_iso_list(const uint8_t *img, size_t size, bool joliet, struct seed_iso_listing *out,
		  const char **err);
