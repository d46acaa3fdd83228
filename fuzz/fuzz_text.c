/* SPDX-License-Identifier: MIT */
/*
 * Everything that parses text a user or a peer wrote: times, numbers, UTF-8,
 * names, UUIDs, endpoints, grpc-timeout and grpc-message values. Besides not
 * crashing, the round trips must hold.
 */
#include <stdint.h>
#include <stdlib.h>

#include "endpoint.h"
#include "ids.h"
#include "timefmt.h"
#include "util.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_time(const char *s)
{
	static const int64_t nows[] = { 0, 1735787045123456789LL, INT64_MAX, INT64_MIN, -1 };

	for (size_t i = 0; i < ARRAY_SIZE(nows); i++) {
		int64_t t;
		char out[RFC3339_LEN];
		if (time_parse(s, nows[i], &t) < 0)
			continue;
		/* whatever parses formats, and the text parses back to the same time */
		if (rfc3339_format(t, out) == 0) {
			int64_t back;
			if (time_parse(out, 0, &back) != 0 || back != t)
				abort();
		}
	}
}

static void check_timeout(const char *s, size_t n)
{
	uint64_t ns, back;
	char out[16];

	if (grpc_timeout_parse(s, n, &ns) < 0)
		return;
	grpc_timeout_format(ns, out);
	if (grpc_timeout_parse(out, strlen(out), &back) != 0 || back < ns)
		abort();
}

static void check_percent(const char *s, size_t n)
{
	char *d = grpc_percent_decode(s, n);
	char *e = grpc_percent_encode(d);
	char *d2 = grpc_percent_decode(e, strlen(e));

	if (strlen(d) > n || strcmp(d, d2) != 0)
		abort();
	for (const char *p = e; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	free(d2);
	free(e);
	free(d);
}

static void check_endpoint(const char *s)
{
	struct grpc_endpoint ep;
	char out[512];

	int r = grpc_endpoint_parse(s, &ep);
	if (r == 0) {
		if (ep.is_unix ? ep.path[0] != '/' : !ep.host[0] || !ep.port[0])
			abort();
		grpc_endpoint_format(&ep, out, sizeof(out));
	} else if (r != -EINVAL && r != -ENAMETOOLONG) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	unsigned long long v;

	memcpy(s, data, size);
	s[size] = '\0';

	check_time(s);
	parse_u64(s, ~0ULL, &v);
	parse_u64(s, 65535, &v);
	utf8_valid((const char *)data, size);
	if (name_valid(s) && (strlen(s) > 63 || !utf8_valid(s, strlen(s))))
		abort();
	if (uuid_shaped(s) && strlen(s) != 36)
		abort();
	check_endpoint(s);
	check_timeout((const char *)data, size);
	check_percent((const char *)data, size);
	free(s);
	return 0;
}
