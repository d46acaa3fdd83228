/* SPDX-License-Identifier: MIT */
/*
 * The TAP devices of VMs with TAP NICs. The daemon only makes persistent,
 * root-owned TAPs (up, and on the bridge when one is configured); the
 * hypervisor opens them itself by name (QEMU `-netdev tap,ifname=NAME`,
 * cloud-hypervisor `--net tap=NAME`). Blocking calls, safe to use from
 * several worker threads at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* IFNAMSIZ: a name of at most 15 characters and its NUL. */
#define TAP_NAME_SIZE 16
/* tap_name_for() has room for NIC indexes 0..TAP_NIC_INDEX_MAX. */
#define TAP_NIC_INDEX_MAX 9999u

/* An interface name we accept for a TAP or a bridge: 1-15 characters of
 * [A-Za-z0-9._-], not "." or "..". Stricter than the kernel on purpose: no
 * '/', ':' or '%' (the kernel would expand "tap%d" to a name of its own). */
bool tap_name_valid(const char *name);

/* The TAP name of NIC nic_index of VM vm_id: "mv" + the first 8 hex digits
 * of the id + "n" + the index, e.g. "mv1a2b3c4dn0". Deterministic, so that a
 * restarted daemon finds its TAPs again. Only 32 bits of the UUID are used:
 * two VMs may collide, and the daemon must check that a name it is about to
 * create is not a TAP of another VM. Returns 0, -EINVAL when vm_id does not
 * start with 8 hex digits, -ERANGE when nic_index > TAP_NIC_INDEX_MAX. */
int tap_name_for(const char *vm_id, unsigned nic_index, char out[TAP_NAME_SIZE]);

/* Create (or reuse) the persistent TAP name: IFF_TAP|IFF_NO_PI|IFF_VNET_HDR,
 * owned by root, up, and a port of bridge when bridge is not NULL (the
 * bridge must exist); without a bridge it is taken off any bridge it was on.
 * Idempotent: an existing TAP of that name, even one a hypervisor holds
 * open, is brought to that state. A TAP this call created is removed again
 * when a later step fails. Returns 0 or a negative errno with a one-line
 * reason in err: -EINVAL (bad name, or name is a device but not a TAP),
 * -ENODEV (no such bridge), -ENOTDIR (bridge is not a bridge), or the
 * kernel's error. */
int tap_create(const char *name, const char *bridge, char *err, size_t errlen);

/* Remove the TAP name, also while a hypervisor still holds it open. 0 when
 * it is gone or was never there; -EINVAL for a bad name or a device that is
 * not a TAP (never removed); else the kernel's error. */
int tap_delete(const char *name);
