/* SPDX-License-Identifier: MIT */
/*
 * A VM's configuration: the VmConfig message as the API carries it, its
 * checks and normalisation at CreateVm (api.md §2.5), and its stored form,
 * config_json in the reference schema's key order (api.md §2.6). The JSON
 * comes from our database, which may be a reference database taken over,
 * so its parser treats it as outside bytes: every key checked, bounded.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "mvirt.pb-c.h"

#define VMCONFIG_MAX_DISKS 64
#define VMCONFIG_MAX_NICS 32
#define VMCONFIG_MAX_VCPUS 512
#define VMCONFIG_MAX_MEMORY_MB (UINT64_C(16) << 20) /* 16 TiB */
#define VMCONFIG_MAX_PATH 4095
#define VMCONFIG_MAX_CMDLINE 4096
#define VMCONFIG_MAX_USER_DATA (1U << 20)
#define VMCONFIG_MAX_JSON (4U << 20)
#define MAC_STR_LEN 18

/* Heap copies (free with vmconfig_free), every string its own allocation. */
Mvirt__VmConfig *vmconfig_copy(const Mvirt__VmConfig *c);
void vmconfig_free(Mvirt__VmConfig *c);

/* config_json; *json is malloc'd. */
int vmconfig_to_json(const Mvirt__VmConfig *c, char **json);
/* -EBADMSG with a reason in err on anything malformed. */
int vmconfig_from_json(const char *json, size_t len, Mvirt__VmConfig **out, char *err,
		       size_t errlen);

/* CreateVm's checks, in api.md's words; 0 or -EINVAL with err set. */
int vmconfig_check(const Mvirt__VmConfig *c, char *err, size_t errlen);
/* Checks of one disk / NIC as AttachDisk/AttachNic need them. */
int vmconfig_check_disk(const Mvirt__DiskConfig *d, char *err, size_t errlen);
int vmconfig_check_nic(const Mvirt__NicConfig *n, char *err, size_t errlen);
/* An absolute path without ',' (the hypervisors' option separator). */
bool vmconfig_path_ok(const char *p);

/* CreateVm's normalisation: no NICs → one TAP NIC; every NIC gets a MAC. */
void vmconfig_normalize(Mvirt__VmConfig *c);

/* MACs: "hh:hh:hh:hh:hh:hh" unicast; generated ones are random, locally
 * administered, lowercase. */
bool mac_valid(const char *s);
void mac_generate(char out[MAC_STR_LEN]);
/* Case-insensitive comparison of two valid MACs. */
bool mac_equal(const char *a, const char *b);

static inline bool vmconfig_kernel_boot(const Mvirt__VmConfig *c)
{
	return c->boot_mode == MVIRT__BOOT_MODE__BOOT_MODE_KERNEL;
}
