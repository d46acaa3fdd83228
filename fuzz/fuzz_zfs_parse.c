/* SPDX-License-Identifier: MIT */
/*
 * The zfs/zpool output parsers on hostile bytes: the first byte picks the
 * parser (list, get, pool, sizes, names), the rest is the tool's output.
 * Every call returns 0 or -EBADMSG/-EINVAL/-ERANGE, stays bounded, and what
 * it returns is consistent (names valid, strings inside the copy).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zfs_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS 1000

static void check_names(const char *s, size_t len)
{
	/* a NUL-terminated copy of the input as a name and a size */
	char *copy = malloc(len + 1);
	struct zfs_size sz;
	uint32_t ratio;
	char buf[ZFS_NAME_MAX + 1];

	if (!copy)
		return;
	memcpy(copy, s, len);
	copy[len] = '\0';
	(void)zfs_parse_size(copy, &sz);
	(void)zfs_parse_ratio(copy, &ratio);
	(void)zfs_name_ours(copy, "vmpool");
	(void)zfs_pool_name_valid(copy);
	if (zfs_name_build(buf, sizeof(buf), "vmpool", len & 1, copy, NULL) == 0 &&
	    !zfs_name_ours(buf, "vmpool"))
		abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t bad;

	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	switch (data[0] % 4) {
	case 0: {
		struct zfs_dataset_list l;
		if (zfs_parse_list(text, len, MAX_ITEMS, &l, &bad) == 0) {
			if (l.n > MAX_ITEMS)
				abort();
			for (size_t i = 0; i < l.n; i++)
				if (strlen(l.items[i].name) == 0)
					abort();
		} else if (bad == 0) {
			abort();
		}
		zfs_dataset_list_free(&l);
		break;
	}
	case 1: {
		struct zfs_prop_list l;
		uint64_t v;
		if (zfs_parse_get(text, len, MAX_ITEMS, &l, &bad) == 0) {
			for (size_t i = 0; i < l.n; i++) {
				if (zfs_prop_find(&l, l.items[i].dataset, l.items[i].property) == NULL)
					abort();
				(void)zfs_prop_u64(&l, l.items[i].dataset, l.items[i].property, &v);
			}
		} else if (bad == 0) {
			abort();
		}
		zfs_prop_list_free(&l);
		break;
	}
	case 2: {
		struct zpool_list l;
		if (zfs_parse_pools(text, len, MAX_ITEMS, &l, &bad) == 0)
			for (size_t i = 0; i < l.n; i++)
				(void)zpool_health_to_string(l.items[i].health);
		zpool_list_free(&l);
		break;
	}
	default:
		check_names(text, len);
		break;
	}
	return 0;
}
