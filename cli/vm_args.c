/* SPDX-License-Identifier: MIT */
/* Parsers of the `mvirt vm` arguments (see vm_args.h). */
#include <ctype.h>
#include <errno.h>

#include "size.h"
#include "util.h"
#include "vm_args.h"

#define MIB (1ULL << 20)

int vm_disk_spec_parse(const char *s, char **path, bool *readonly)
{
	size_t len = strlen(s);

	*readonly = false;
	if (len > 3 && (streq(s + len - 3, ":ro") || streq(s + len - 3, ":rw"))) {
		*readonly = s[len - 1] == 'o';
		len -= 3;
	}
	if (len == 0 || streq(s, ":ro") || streq(s, ":rw"))
		return -EINVAL;
	*path = xstrndup(s, len);
	return 0;
}

void vm_nic_spec_done(struct vm_nic_spec *n)
{
	free(n->vhost_socket);
	free(n->mac);
	*n = (struct vm_nic_spec){ 0 };
}

/* One "key[=value]" item of a NIC spec, len bytes at item. */
static int nic_item_parse(const char *item, size_t len, bool *tap, struct vm_nic_spec *out,
			  const char **reason)
{
	const char *eq = memchr(item, '=', len);
	size_t key_len = eq ? (size_t)(eq - item) : len;
	const char *value = eq ? eq + 1 : NULL;
	size_t value_len = eq ? len - key_len - 1 : 0;

	if (key_len == 3 && strncmp(item, "tap", 3) == 0) {
		if (value) {
			*reason = "'tap' takes no value";
			return -EINVAL;
		}
		if (*tap) {
			*reason = "'tap' given twice";
			return -EINVAL;
		}
		*tap = true;
		return 0;
	}
	if (key_len == 5 && strncmp(item, "vhost", 5) == 0) {
		if (!value || value_len == 0) {
			*reason = "'vhost' needs a socket path";
			return -EINVAL;
		}
		if (out->vhost_socket) {
			*reason = "'vhost' given twice";
			return -EINVAL;
		}
		out->vhost_socket = xstrndup(value, value_len);
		return 0;
	}
	if (key_len == 3 && strncmp(item, "mac", 3) == 0) {
		if (!value || value_len == 0) {
			*reason = "'mac' needs an address";
			return -EINVAL;
		}
		if (out->mac) {
			*reason = "'mac' given twice";
			return -EINVAL;
		}
		out->mac = xstrndup(value, value_len);
		if (!vm_mac_valid(out->mac)) {
			*reason = "the MAC is not hh:hh:hh:hh:hh:hh";
			return -EINVAL;
		}
		return 0;
	}
	*reason = "unknown key (expected vhost=, tap or mac=)";
	return -EINVAL;
}

int vm_nic_spec_parse(const char *s, struct vm_nic_spec *out, const char **reason)
{
	bool tap = false;
	int r = 0;

	*out = (struct vm_nic_spec){ 0 };
	*reason = NULL;
	for (const char *p = s;; p++) {
		size_t len = strcspn(p, ",");
		if (len == 0) {
			*reason = "empty item";
			r = -EINVAL;
			break;
		}
		r = nic_item_parse(p, len, &tap, out, reason);
		if (r < 0)
			break;
		p += len;
		if (!*p)
			break;
	}
	if (r == 0 && tap == !!out->vhost_socket) {
		*reason = tap ? "give either vhost=PATH or tap, not both"
			      : "give vhost=PATH or tap";
		r = -EINVAL;
	}
	if (r < 0)
		vm_nic_spec_done(out);
	return r;
}

bool vm_mac_valid(const char *s)
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return false;
		s += 2;
		if (*s != (i < 5 ? ':' : '\0'))
			return false;
		if (i < 5)
			s++;
	}
	return true;
}

int vm_memory_parse(const char *s, uint64_t *mib)
{
	unsigned long long v;
	uint64_t bytes;
	int r;

	/* a bare number: MiB, what the wire carries */
	r = parse_u64(s, UINT64_MAX, &v);
	if (r == 0) {
		if (v == 0)
			return -EINVAL;
		*mib = v;
		return 0;
	}
	if (r == -ERANGE)
		return r;
	r = size_parse(s, &bytes);
	if (r < 0)
		return r;
	if (bytes % MIB != 0)
		return -EINVAL;
	*mib = bytes / MIB;
	return 0;
}
