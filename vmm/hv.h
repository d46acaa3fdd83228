/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor drivers: one small interface, two implementations (QEMU
 * over QMP, cloud-hypervisor over its REST API). A driver builds the command
 * line of a VM and carries out control requests on its control socket. All
 * calls block (the daemon makes them from worker threads) and return 0 or a
 * negative errno with a one-line reason in err.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

#define HV_ERR_MAX 512

/* Daemon-wide settings the drivers read. */
struct hv_settings {
	const char *qemu_bin;        /* qemu-system-x86_64 */
	const char *ch_bin;          /* cloud-hypervisor */
	const char *firmware;        /* UEFI firmware for disk boot (OVMF / CLOUDHV.fd) */
	bool kvm;                    /* QEMU: -accel kvm (else tcg) */
	int control_timeout_ms;      /* one control request */
};

/* What one start of a VM needs beyond its config. */
struct hv_spec {
	const char *vm_id;
	const Mvirt__VmConfig *config;
	const char *control_socket;  /* QMP / API socket to create */
	const char *serial_socket;   /* serial console socket to create */
	const char *seed_iso;        /* NoCloud seed to attach read-only; NULL: none */
	const char *const *taps;     /* per NIC: the TAP device (NULL for vhost-user NICs) */
	bool shared_memory;          /* guest RAM shareable (vhost-user) */
};

struct hv_driver {
	const char *name;            /* "qemu", "cloud-hypervisor" */
	/* argv (NULL-terminated, malloc'd strings) to exec. */
	int (*build_argv)(const struct hv_settings *s, const struct hv_spec *spec, char ***argv,
			  char *err);
	/* The control socket answers and the guest runs. */
	int (*wait_running)(const struct hv_settings *s, const char *control_socket,
			    int timeout_ms, char *err);
	int (*power_button)(const struct hv_settings *s, const char *control_socket, char *err);
	int (*pause)(const struct hv_settings *s, const char *control_socket, char *err);
	int (*resume)(const struct hv_settings *s, const char *control_socket, char *err);
	int (*reboot)(const struct hv_settings *s, const char *control_socket, char *err);
	/* Hot-plug; device ids come from hv_disk_id/hv_nic_id. */
	int (*add_disk)(const struct hv_settings *s, const char *control_socket,
			const Mvirt__DiskConfig *disk, char *err);
	int (*remove_disk)(const struct hv_settings *s, const char *control_socket,
			   const char *path, char *err);
	int (*add_nic)(const struct hv_settings *s, const char *control_socket,
		       const Mvirt__NicConfig *nic, const char *tap, char *err);
	int (*remove_nic)(const struct hv_settings *s, const char *control_socket,
			  const char *mac, char *err);
};

extern const struct hv_driver hv_qemu;
extern const struct hv_driver hv_cloud_hypervisor;

/* Stable device ids, so that a detach finds what an attach or the start
 * made: "disk-" + 16 hex of the path's SHA-256, "nic-" + the MAC's hex. */
void hv_disk_id(const char *path, char out[32]);
void hv_nic_id(const char *mac, char out[32]);

/* argv helpers for the drivers. */
struct argv_builder {
	char **v;
	size_t n;
};
void argv_add(struct argv_builder *a, const char *fmt, ...) PRINTF_FMT(2, 3);
char **argv_finish(struct argv_builder *a);
void argv_free(char **argv);
