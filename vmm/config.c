/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

#define KERNEL_SET(c) ((c)->_kernel_case == MVIRT__VM_CONFIG___KERNEL_KERNEL)
#define INITRAMFS_SET(c) ((c)->_initramfs_case == MVIRT__VM_CONFIG___INITRAMFS_INITRAMFS)
#define CMDLINE_SET(c) ((c)->_cmdline_case == MVIRT__VM_CONFIG___CMDLINE_CMDLINE)
#define USER_DATA_SET(c) ((c)->_user_data_case == MVIRT__VM_CONFIG___USER_DATA_USER_DATA)
#define TAP_SET(n) ((n)->_tap_case == MVIRT__NIC_CONFIG___TAP_TAP)
#define MAC_SET(n) ((n)->_mac_case == MVIRT__NIC_CONFIG___MAC_MAC)
#define VHOST_SET(n) ((n)->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET)

static int fail(char *err, size_t len, const char *fmt, ...) PRINTF_FMT(3, 4);
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- MACs ------------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool mac_valid(const char *s)
{
	if (!s || strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : hexval(s[i]) < 0)
			return false;
	}
	/* bit 0 of the first octet set: multicast, not a NIC's address */
	return (hexval(s[1]) & 1) == 0;
}

void mac_generate(char out[MAC_STR_LEN])
{
	uint8_t b[6] = { 0 };

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* getrandom on Linux ≥ 3.17 does not fail for 6 bytes; be safe */
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rand();
	}
	b[0] = (uint8_t)((b[0] & 0xfe) | 0x02);
	snprintf(out, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
		 b[5]);
}

bool mac_equal(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* ---- checks ---------------------------------------------------------------- */

bool vmconfig_path_ok(const char *p)
{
	return p && p[0] == '/' && !strchr(p, ',') && strlen(p) <= VMCONFIG_MAX_PATH;
}

int vmconfig_check_disk(const Mvirt__DiskConfig *d, char *err, size_t errlen)
{
	if (!d->path[0])
		return fail(err, errlen, "disk path is required");
	if (!vmconfig_path_ok(d->path))
		return fail(err, errlen, "disk path '%s' must be absolute and must not contain ','",
			    d->path);
	return 0;
}

int vmconfig_check_nic(const Mvirt__NicConfig *n, char *err, size_t errlen)
{
	if (MAC_SET(n) && !mac_valid(n->mac))
		return fail(err, errlen, "invalid MAC '%s': expected unicast hh:hh:hh:hh:hh:hh",
			    n->mac);
	if (VHOST_SET(n) && !vmconfig_path_ok(n->vhost_socket))
		return fail(err, errlen,
			    "vhost_socket '%s' must be absolute and must not contain ','",
			    n->vhost_socket);
	if (TAP_SET(n) && strlen(n->tap) > 64)
		return fail(err, errlen, "tap name is too long");
	return 0;
}

int vmconfig_check(const Mvirt__VmConfig *c, char *err, size_t errlen)
{
	int r;

	if (c->vcpus == 0)
		return fail(err, errlen, "vcpus must be > 0");
	if (c->vcpus > VMCONFIG_MAX_VCPUS)
		return fail(err, errlen, "vcpus %u exceeds the maximum of %u", c->vcpus,
			    VMCONFIG_MAX_VCPUS);
	if (c->memory_mb == 0)
		return fail(err, errlen, "memory_mb must be > 0");
	if (c->memory_mb > VMCONFIG_MAX_MEMORY_MB)
		return fail(err, errlen, "memory_mb %llu exceeds the maximum of %llu",
			    (unsigned long long)c->memory_mb,
			    (unsigned long long)VMCONFIG_MAX_MEMORY_MB);
	if ((unsigned)c->boot_mode > 2)
		return fail(err, errlen, "invalid boot_mode %d", (int)c->boot_mode);
	if (c->n_disks > VMCONFIG_MAX_DISKS)
		return fail(err, errlen, "at most %d disks", VMCONFIG_MAX_DISKS);
	if (c->n_nics > VMCONFIG_MAX_NICS)
		return fail(err, errlen, "at most %d NICs", VMCONFIG_MAX_NICS);
	if (!vmconfig_kernel_boot(c) && c->n_disks == 0)
		return fail(err, errlen, "Disk boot mode requires at least one disk");
	if (vmconfig_kernel_boot(c)) {
		if (!KERNEL_SET(c) || !c->kernel[0])
			return fail(err, errlen, "Kernel boot mode requires kernel path");
		if (!vmconfig_path_ok(c->kernel))
			return fail(err, errlen, "kernel path '%s' must be absolute and must not "
				    "contain ','", c->kernel);
		if (INITRAMFS_SET(c) && !vmconfig_path_ok(c->initramfs))
			return fail(err, errlen, "initramfs path '%s' must be absolute and must "
				    "not contain ','", c->initramfs);
	}
	if (CMDLINE_SET(c) && strlen(c->cmdline) > VMCONFIG_MAX_CMDLINE)
		return fail(err, errlen, "cmdline is longer than %d bytes", VMCONFIG_MAX_CMDLINE);
	if (USER_DATA_SET(c) && strlen(c->user_data) > VMCONFIG_MAX_USER_DATA)
		return fail(err, errlen, "user_data is larger than %u bytes", VMCONFIG_MAX_USER_DATA);
	for (size_t i = 0; i < c->n_disks; i++) {
		r = vmconfig_check_disk(c->disks[i], err, errlen);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (streq(c->disks[i]->path, c->disks[j]->path))
				return fail(err, errlen, "duplicate disk path '%s'", c->disks[i]->path);
	}
	for (size_t i = 0; i < c->n_nics; i++) {
		r = vmconfig_check_nic(c->nics[i], err, errlen);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i && MAC_SET(c->nics[i]); j++)
			if (MAC_SET(c->nics[j]) && mac_equal(c->nics[i]->mac, c->nics[j]->mac))
				return fail(err, errlen, "duplicate MAC '%s'", c->nics[i]->mac);
	}
	return 0;
}

/* ---- copies ---------------------------------------------------------------- */

static Mvirt__NicConfig *nic_new(void)
{
	Mvirt__NicConfig *n = xmalloc(sizeof(*n));

	mvirt__nic_config__init(n);
	return n;
}

void vmconfig_normalize(Mvirt__VmConfig *c)
{
	if (c->n_nics == 0) {
		c->nics = xrealloc(c->nics, sizeof(*c->nics));
		c->nics[0] = nic_new();
		c->n_nics = 1;
	}
	for (size_t i = 0; i < c->n_nics; i++) {
		Mvirt__NicConfig *n = c->nics[i];
		if (!MAC_SET(n)) {
			char mac[MAC_STR_LEN];
			mac_generate(mac);
			n->_mac_case = MVIRT__NIC_CONFIG___MAC_MAC;
			n->mac = xstrdup(mac);
		}
	}
}

/* Serialize and parse back: a deep copy with every string on the heap. */
Mvirt__VmConfig *vmconfig_copy(const Mvirt__VmConfig *c)
{
	size_t n = protobuf_c_message_get_packed_size(&c->base);
	_cleanup_free_ uint8_t *buf = xmalloc(n ?: 1);

	protobuf_c_message_pack(&c->base, buf);
	return mvirt__vm_config__unpack(NULL, n, buf);
}

void vmconfig_free(Mvirt__VmConfig *c)
{
	if (c)
		mvirt__vm_config__free_unpacked(c, NULL);
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *opt_str(bool set, const char *s)
{
	return set ? json_string(s) : json_null();
}

int vmconfig_to_json(const Mvirt__VmConfig *c, char **json)
{
	json_t *o = json_object(), *disks = json_array(), *nics = json_array();

	/* the reference schema's key order */
	json_object_set_new(o, "vcpus", json_integer(c->vcpus));
	json_object_set_new(o, "memory_mb", json_integer((json_int_t)c->memory_mb));
	json_object_set_new(o, "boot_mode", json_integer(c->boot_mode));
	json_object_set_new(o, "kernel", opt_str(KERNEL_SET(c), c->kernel));
	json_object_set_new(o, "initramfs", opt_str(INITRAMFS_SET(c), c->initramfs));
	json_object_set_new(o, "cmdline", opt_str(CMDLINE_SET(c), c->cmdline));
	for (size_t i = 0; i < c->n_disks; i++)
		json_array_append_new(disks, json_pack("{s:s, s:b}", "path", c->disks[i]->path,
						       "readonly", (int)c->disks[i]->readonly));
	json_object_set_new(o, "disks", disks);
	for (size_t i = 0; i < c->n_nics; i++) {
		const Mvirt__NicConfig *n = c->nics[i];
		json_t *nic = json_object();
		json_object_set_new(nic, "tap", opt_str(TAP_SET(n), n->tap));
		json_object_set_new(nic, "mac", opt_str(MAC_SET(n), n->mac));
		json_object_set_new(nic, "vhost_socket", opt_str(VHOST_SET(n), n->vhost_socket));
		json_array_append_new(nics, nic);
	}
	json_object_set_new(o, "nics", nics);
	json_object_set_new(o, "user_data", opt_str(USER_DATA_SET(c), c->user_data));
	json_object_set_new(o, "nested_virt", json_boolean(c->nested_virt));
	*json = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return *json ? 0 : -ENOMEM;
}

/* An optional string key: absent or null → not set; a string → set. */
static int get_opt_str(json_t *o, const char *key, int *case_out, int case_set, char **out,
		       char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "config_json: '%s' is not a string", key);
		return -EBADMSG;
	}
	*case_out = case_set;
	*out = xstrndup(json_string_value(v), json_string_length(v));
	return 0;
}

static int bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "config_json: %s", what);
	return -EBADMSG;
}

int vmconfig_from_json(const char *json, size_t len, Mvirt__VmConfig **out, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *o, *v, *disks, *nics;
	Mvirt__VmConfig *c;
	int r = -EBADMSG;

	if (len > VMCONFIG_MAX_JSON)
		return bad(err, errlen, "too large");
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		snprintf(err, errlen, "config_json: %s", jerr.text);
		return -EBADMSG;
	}
	c = xmalloc(sizeof(*c));
	mvirt__vm_config__init(c);
	if (!json_is_object(o)) {
		r = bad(err, errlen, "not an object");
		goto out;
	}
	v = json_object_get(o, "vcpus");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
		r = bad(err, errlen, "vcpus missing or out of range");
		goto out;
	}
	c->vcpus = (uint32_t)json_integer_value(v);
	v = json_object_get(o, "memory_mb");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		r = bad(err, errlen, "memory_mb missing or out of range");
		goto out;
	}
	c->memory_mb = (uint64_t)json_integer_value(v);
	v = json_object_get(o, "boot_mode");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
		    json_integer_value(v) > INT32_MAX) {
			r = bad(err, errlen, "boot_mode is not an integer");
			goto out;
		}
		c->boot_mode = (Mvirt__BootMode)json_integer_value(v);
	}
	v = json_object_get(o, "nested_virt");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			r = bad(err, errlen, "nested_virt is not a boolean");
			goto out;
		}
		c->nested_virt = json_is_true(v);
	}
	if (get_opt_str(o, "kernel", (int *)&c->_kernel_case, MVIRT__VM_CONFIG___KERNEL_KERNEL,
			&c->kernel, err, errlen) < 0 ||
	    get_opt_str(o, "initramfs", (int *)&c->_initramfs_case,
			MVIRT__VM_CONFIG___INITRAMFS_INITRAMFS, &c->initramfs, err, errlen) < 0 ||
	    get_opt_str(o, "cmdline", (int *)&c->_cmdline_case, MVIRT__VM_CONFIG___CMDLINE_CMDLINE,
			&c->cmdline, err, errlen) < 0 ||
	    get_opt_str(o, "user_data", (int *)&c->_user_data_case,
			MVIRT__VM_CONFIG___USER_DATA_USER_DATA, &c->user_data, err, errlen) < 0)
		goto out;
	disks = json_object_get(o, "disks");
	nics = json_object_get(o, "nics");
	if (!json_is_array(disks) || json_array_size(disks) > VMCONFIG_MAX_DISKS ||
	    !json_is_array(nics) || json_array_size(nics) > VMCONFIG_MAX_NICS) {
		r = bad(err, errlen, "disks or nics missing, not arrays or too many");
		goto out;
	}
	c->disks = xcalloc(json_array_size(disks) ?: 1, sizeof(*c->disks));
	for (size_t i = 0; i < json_array_size(disks); i++) {
		json_t *d = json_array_get(disks, i), *p = json_object_get(d, "path");
		json_t *ro = json_object_get(d, "readonly");
		if (!json_is_string(p) || (ro && !json_is_boolean(ro))) {
			r = bad(err, errlen, "a disk without a path string");
			goto out;
		}
		Mvirt__DiskConfig *dc = xmalloc(sizeof(*dc));
		mvirt__disk_config__init(dc);
		dc->path = xstrndup(json_string_value(p), json_string_length(p));
		dc->readonly = ro && json_is_true(ro);
		c->disks[c->n_disks++] = dc;
	}
	c->nics = xcalloc(json_array_size(nics) ?: 1, sizeof(*c->nics));
	for (size_t i = 0; i < json_array_size(nics); i++) {
		json_t *n = json_array_get(nics, i);
		if (!json_is_object(n)) {
			r = bad(err, errlen, "a NIC is not an object");
			goto out;
		}
		Mvirt__NicConfig *nc = nic_new();
		c->nics[c->n_nics++] = nc;
		if (get_opt_str(n, "tap", (int *)&nc->_tap_case, MVIRT__NIC_CONFIG___TAP_TAP,
				&nc->tap, err, errlen) < 0 ||
		    get_opt_str(n, "mac", (int *)&nc->_mac_case, MVIRT__NIC_CONFIG___MAC_MAC,
				&nc->mac, err, errlen) < 0 ||
		    get_opt_str(n, "vhost_socket", (int *)&nc->_vhost_socket_case,
				MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET, &nc->vhost_socket, err,
				errlen) < 0)
			goto out;
	}
	*out = TAKE_PTR(c);
	r = 0;
out:
	json_decref(o);
	vmconfig_free(c);
	return r;
}
