/* SPDX-License-Identifier: MIT */
/* lib/grpc/reflection.c: indexing the embedded descriptor set. */
#include "grpc.h"
#include "reflection.h"
#include "tap.h"

static void test_embedded_set(void)
{
	struct grpc_reflection *r = NULL;
	static const char *const symbols[] = {
		"mvirt.log.LogService",
		"mvirt.log.LogService.Query",
		"mvirt.log.LogService.Log",
		"mvirt.log.LogEntry",
		"mvirt.log.LogLevel",
		"grpc.health.v1.Health",
		"grpc.health.v1.Health.Check",
		"grpc.health.v1.HealthCheckResponse",
		"grpc.health.v1.HealthCheckResponse.ServingStatus",
		"grpc.reflection.v1.ServerReflection",
		"grpc.reflection.v1.ServerReflection.ServerReflectionInfo",
		"mvirt.VmService",
		"mvirt.VmService.CreateVm",
		"mvirt.zfs.ZfsService",
		"mvirt.net.NetService",
	};

	CHECK(mvirt_descriptor_set_len > 1000);
	CHECK_INT(grpc_reflection_new(mvirt_descriptor_set, mvirt_descriptor_set_len, &r), 0);
	if (!r)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(symbols); i++) {
		tap_checks++;
		if (grpc_reflection_find_symbol(r, symbols[i]) < 0) {
			tap_fail(__FILE__, __LINE__);
			fprintf(stderr, "symbol %s not found\n", symbols[i]);
		}
	}
	/* symbols of one file share its index; other files differ */
	ssize_t log = grpc_reflection_find_symbol(r, "mvirt.log.LogService");
	CHECK_INT(grpc_reflection_find_symbol(r, "mvirt.log.LogEntry"), log);
	CHECK_INT(grpc_reflection_find_symbol(r, "mvirt.log.LogService.Query"), log);
	CHECK(grpc_reflection_find_symbol(r, "mvirt.VmService") != log);
	CHECK(grpc_reflection_find_symbol(r, "grpc.health.v1.HealthCheckResponse.ServingStatus") !=
	      log);

	/* only whole, fully-qualified names match */
	CHECK_INT(grpc_reflection_find_symbol(r, "LogService"), -1);
	CHECK_INT(grpc_reflection_find_symbol(r, "mvirt.log"), -1);
	CHECK_INT(grpc_reflection_find_symbol(r, "mvirt.log.LogServic"), -1);
	CHECK_INT(grpc_reflection_find_symbol(r, "mvirt.log.LogService.Nope"), -1);
	CHECK_INT(grpc_reflection_find_symbol(r, ".mvirt.log.LogService"), -1);
	CHECK_INT(grpc_reflection_find_symbol(r, ""), -1);
	grpc_reflection_free(r);
	grpc_reflection_free(NULL);
}

static void test_malformed_sets(void)
{
	struct grpc_reflection *r = (void *)1;
	const size_t n = mvirt_descriptor_set_len;

	/* truncated: the last file's length runs past the end */
	CHECK_INT(grpc_reflection_new(mvirt_descriptor_set, n - 1, &r), -EBADMSG);
	CHECK(r == (void *)1); /* not written on failure */
	CHECK_INT(grpc_reflection_new(mvirt_descriptor_set, n / 2, &r), -EBADMSG);
	CHECK_INT(grpc_reflection_new(mvirt_descriptor_set, 1, &r), -EBADMSG);

	/* every prefix either indexes (at a file boundary) or is -EBADMSG; the
	 * copy is exactly as long as the prefix, so ASan sees any over-read */
	unsigned ok = 0, bad = 0, other = 0;
	for (size_t len = 0; len <= n; len += len < 64 || n - len < 64 ? 1 : 37) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, mvirt_descriptor_set, len);
		int k = grpc_reflection_new(copy, len, &r);
		if (k == 0) {
			ok++;
			grpc_reflection_free(r);
		} else if (k == -EBADMSG) {
			bad++;
		} else {
			other++;
		}
		free(copy);
	}
	CHECK(ok >= 2); /* at least the empty set and the whole set */
	CHECK(bad > 100);
	CHECK_INT(other, 0);

	/* an empty set is a valid, empty index */
	r = NULL;
	CHECK_INT(grpc_reflection_new((const uint8_t *)"", 0, &r), 0);
	if (r) {
		CHECK_INT(grpc_reflection_find_symbol(r, "mvirt.VmService"), -1);
		grpc_reflection_free(r);
	}

	/* hand-made sets */
	static const uint8_t garbage[] = { 0xff };
	CHECK_INT(grpc_reflection_new(garbage, sizeof(garbage), &r), -EBADMSG);
	/* a file without a name (only package "p") */
	static const uint8_t noname[] = { 0x0a, 0x03, 0x12, 0x01, 'p' };
	CHECK_INT(grpc_reflection_new(noname, sizeof(noname), &r), -EBADMSG);
	/* a file whose message type has no name */
	static const uint8_t anon_msg[] = { 0x0a, 0x07, 0x0a, 0x01, 'f', 0x22, 0x02, 0x10, 0x01 };
	CHECK_INT(grpc_reflection_new(anon_msg, sizeof(anon_msg), &r), -EBADMSG);
	/* a group wire type inside a file */
	static const uint8_t group[] = { 0x0a, 0x04, 0x0a, 0x01, 'f', 0x0b };
	CHECK_INT(grpc_reflection_new(group, sizeof(group), &r), -EBADMSG);

	/* the smallest useful file: name "f", package "p", message "M" with a
	 * nested enum "E", service "S" with method "m" */
	static const uint8_t tiny[] = {
		0x0a, 0x1a, /* file, 26 bytes */
		0x0a, 0x01, 'f',
		0x12, 0x01, 'p',
		0x22, 0x08, 0x0a, 0x01, 'M', 0x22, 0x03, 0x0a, 0x01, 'E',
		0x32, 0x08, 0x0a, 0x01, 'S', 0x12, 0x03, 0x0a, 0x01, 'm',
	};
	r = NULL;
	CHECK_INT(grpc_reflection_new(tiny, sizeof(tiny), &r), 0);
	if (r) {
		CHECK_INT(grpc_reflection_find_symbol(r, "p.M"), 0);
		CHECK_INT(grpc_reflection_find_symbol(r, "p.M.E"), 0);
		CHECK_INT(grpc_reflection_find_symbol(r, "p.S"), 0);
		CHECK_INT(grpc_reflection_find_symbol(r, "p.S.m"), 0);
		CHECK_INT(grpc_reflection_find_symbol(r, "M"), -1);
		grpc_reflection_free(r);
	}
}

int main(void)
{
	test_embedded_set();
	test_malformed_sets();
	return test_done();
}
