/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <stdio.h>

const char *grpc_code_name(int code)
{
	static const char *const names[] = {
		"OK",		   "CANCELLED",		"UNKNOWN",	  "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND",	"ALREADY_EXISTS", "PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",	  "OUT_OF_RANGE",
		"UNIMPLEMENTED",   "INTERNAL",		"UNAVAILABLE",	  "DATA_LOSS",
		"UNAUTHENTICATED",
	};
	if (code < 0 || (size_t)code >= ARRAY_SIZE(names))
		return "UNKNOWN";
	return names[code];
}

int grpc_deframe(const uint8_t *data, size_t avail, size_t max, const uint8_t **msg,
		 size_t *len, bool *compressed)
{
	uint32_t n;

	if (avail < GRPC_FRAME_HEADER)
		return 0;
	if (data[0] > 1)
		return -EPROTO;
	n = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 |
	    (uint32_t)data[4];
	if (n > max)
		return -EMSGSIZE;
	if (avail - GRPC_FRAME_HEADER < n)
		return 0;
	*compressed = data[0] == 1;
	*msg = data + GRPC_FRAME_HEADER;
	*len = n;
	return 1;
}

void grpc_frame_message(struct buf *out, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = buf_reserve(out, GRPC_FRAME_HEADER + n);

	p[0] = 0;
	p[1] = (uint8_t)(n >> 24);
	p[2] = (uint8_t)(n >> 16);
	p[3] = (uint8_t)(n >> 8);
	p[4] = (uint8_t)n;
	protobuf_c_message_pack(m, p + GRPC_FRAME_HEADER);
	out->len += GRPC_FRAME_HEADER + n;
}

int grpc_timeout_parse(const char *s, size_t n, uint64_t *ns)
{
	uint64_t v = 0, mult;

	/* The spec allows at most 8 digits: only hours can pass 2^64 ns
	 * (from 5124096H on), and those saturate below. */
	if (n < 2 || n > 9)
		return -EINVAL;
	for (size_t i = 0; i < n - 1; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	switch (s[n - 1]) {
	case 'H': mult = 3600ULL * 1000000000ULL; break;
	case 'M': mult = 60ULL * 1000000000ULL; break;
	case 'S': mult = 1000000000ULL; break;
	case 'm': mult = 1000000ULL; break;
	case 'u': mult = 1000ULL; break;
	case 'n': mult = 1ULL; break;
	default: return -EINVAL;
	}
	*ns = v > UINT64_MAX / mult ? UINT64_MAX : v * mult;
	return 0;
}

void grpc_timeout_format(uint64_t ns, char out[16])
{
	static const struct {
		char unit;
		uint64_t ns;
	} units[] = { { 'n', 1ULL }, { 'u', 1000ULL }, { 'm', 1000000ULL },
		      { 'S', 1000000000ULL }, { 'M', 60000000000ULL }, { 'H', 3600000000000ULL } };

	/* Smallest unit whose value fits in 8 digits; round up so the peer never
	 * sees a shorter deadline than ours. */
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		uint64_t v = ns / units[i].ns + (ns % units[i].ns != 0);
		if (v <= 99999999ULL) {
			snprintf(out, 16, "%llu%c", (unsigned long long)v, units[i].unit);
			return;
		}
	}
	snprintf(out, 16, "99999999H");
}

char *grpc_percent_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *p = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c <= 0x7e && c != '%') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

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

char *grpc_percent_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *p = out;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			*p++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return out;
}
