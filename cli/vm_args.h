/* SPDX-License-Identifier: MIT */
/*
 * The arguments of `mvirt vm` that need parsing: disks ("PATH[:ro]"),
 * NICs ("vhost=PATH[,mac=MAC]", "tap[,mac=MAC]"), MAC addresses and memory
 * sizes. Pure functions of their input (no I/O), so that the unit test and
 * the fuzz target run exactly what the CLI runs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * A disk: "PATH", "PATH:ro" or "PATH:rw" (only a final ":ro"/":rw" is a
 * suffix, so other colons stay in the path). *path is a new string.
 * Returns 0 or -EINVAL (empty path).
 */
int vm_disk_spec_parse(const char *s, char **path, bool *readonly);

/* A NIC as given to --nic or attach-nic: vhost_socket NULL means TAP. */
struct vm_nic_spec {
	char *vhost_socket;
	char *mac; /* NULL: the daemon generates one */
};

/*
 * "vhost=PATH[,mac=MAC]" or "tap[,mac=MAC]" (keys in any order, each at
 * most once, exactly one of vhost= and tap). On error returns -EINVAL and
 * *reason says what is wrong in a few words; *out is then empty.
 */
int vm_nic_spec_parse(const char *s, struct vm_nic_spec *out, const char **reason);
void vm_nic_spec_done(struct vm_nic_spec *n);

/* "hh:hh:hh:hh:hh:hh", hex digits of either case. */
bool vm_mac_valid(const char *s);

/*
 * Guest memory in MiB: a plain number is MiB ("512"); with a unit it is a
 * size ("512M", "2G", "1.5G", "1048576K") that must be a whole number of
 * MiB. Returns 0, -EINVAL (malformed, zero, not whole MiB) or -ERANGE.
 */
int vm_memory_parse(const char *s, uint64_t *mib);
