/* SPDX-License-Identifier: MIT */
/* Unit tests of the `mvirt vm` argument parsers (cli/vm_args.c). */
#include <errno.h>
#include <stdlib.h>

#include "tap.h"
#include "util.h"
#include "vm_args.h"

static void test_disk(void)
{
	bool ro = true;
	char *path = NULL;

	CHECK_INT(vm_disk_spec_parse("/d/a.raw", &path, &ro), 0);
	CHECK_STR(path, "/d/a.raw");
	CHECK(!ro);
	free(path);
	CHECK_INT(vm_disk_spec_parse("/d/a.raw:ro", &path, &ro), 0);
	CHECK_STR(path, "/d/a.raw");
	CHECK(ro);
	free(path);
	CHECK_INT(vm_disk_spec_parse("/d/a.raw:rw", &path, &ro), 0);
	CHECK_STR(path, "/d/a.raw");
	CHECK(!ro);
	free(path);
	/* only the final suffix counts; other colons belong to the path */
	CHECK_INT(vm_disk_spec_parse("/d/x:ro:ro", &path, &ro), 0);
	CHECK_STR(path, "/d/x:ro");
	CHECK(ro);
	free(path);
	CHECK_INT(vm_disk_spec_parse("/d/x:RO", &path, &ro), 0);
	CHECK_STR(path, "/d/x:RO");
	free(path);
	CHECK_INT(vm_disk_spec_parse("", &path, &ro), -EINVAL);
	CHECK_INT(vm_disk_spec_parse(":ro", &path, &ro), -EINVAL);
	CHECK_INT(vm_disk_spec_parse(":rw", &path, &ro), -EINVAL);
}

static void check_nic(const char *spec, const char *vhost, const char *mac)
{
	struct vm_nic_spec n;
	const char *reason = "unset";

	CHECK_INT(vm_nic_spec_parse(spec, &n, &reason), 0);
	CHECK(reason == NULL);
	if (vhost)
		CHECK(n.vhost_socket && streq(n.vhost_socket, vhost));
	else
		CHECK(n.vhost_socket == NULL);
	if (mac)
		CHECK(n.mac && streq(n.mac, mac));
	else
		CHECK(n.mac == NULL);
	vm_nic_spec_done(&n);
}

static void check_nic_error(const char *spec)
{
	struct vm_nic_spec n = { (char *)"x", (char *)"y" };
	const char *reason = NULL;

	CHECK_INT(vm_nic_spec_parse(spec, &n, &reason), -EINVAL);
	CHECK(reason != NULL && reason[0]);
	CHECK(n.vhost_socket == NULL && n.mac == NULL);
}

static void test_nic(void)
{
	check_nic("tap", NULL, NULL);
	check_nic("tap,mac=02:00:00:00:00:01", NULL, "02:00:00:00:00:01");
	check_nic("mac=02:00:00:00:00:01,tap", NULL, "02:00:00:00:00:01");
	check_nic("vhost=/run/mvirt/net/a.sock", "/run/mvirt/net/a.sock", NULL);
	check_nic("vhost=/a=b.sock,mac=AA:bb:CC:dd:EE:ff", "/a=b.sock", "AA:bb:CC:dd:EE:ff");

	check_nic_error("");
	check_nic_error(",");
	check_nic_error("tap,");
	check_nic_error(",tap");
	check_nic_error("tap,,mac=02:00:00:00:00:01");
	check_nic_error("tap=x");
	check_nic_error("tap,tap");
	check_nic_error("vhost");
	check_nic_error("vhost=");
	check_nic_error("vhost=/a,vhost=/b");
	check_nic_error("vhost=/a,tap");
	check_nic_error("mac=02:00:00:00:00:01");
	check_nic_error("tap,mac");
	check_nic_error("tap,mac=");
	check_nic_error("tap,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02");
	check_nic_error("tap,mac=02:00:00:00:00");
	check_nic_error("bridge=br0");
	check_nic_error("TAP");
}

static void test_mac(void)
{
	CHECK(vm_mac_valid("02:00:00:00:00:01"));
	CHECK(vm_mac_valid("fF:aA:00:99:0a:B0"));
	CHECK(!vm_mac_valid(""));
	CHECK(!vm_mac_valid("02:00:00:00:00"));
	CHECK(!vm_mac_valid("02:00:00:00:00:01:"));
	CHECK(!vm_mac_valid("02:00:00:00:00:011"));
	CHECK(!vm_mac_valid("02-00-00-00-00-01"));
	CHECK(!vm_mac_valid("2:00:00:00:00:01"));
	CHECK(!vm_mac_valid("g2:00:00:00:00:01"));
	CHECK(!vm_mac_valid("020000000001"));
}

static uint64_t memory(const char *s)
{
	uint64_t v = 0;

	return vm_memory_parse(s, &v) == 0 ? v : UINT64_C(0xdeadbeef);
}

static void test_memory(void)
{
	uint64_t v;

	CHECK_U64(memory("512"), 512);
	CHECK_U64(memory("1"), 1);
	CHECK_U64(memory("512M"), 512);
	CHECK_U64(memory("512MiB"), 512);
	CHECK_U64(memory("2G"), 2048);
	CHECK_U64(memory("1.5G"), 1536);
	CHECK_U64(memory("1048576K"), 1024);
	CHECK_U64(memory("1T"), 1024 * 1024);
	CHECK_U64(memory("18446744073709551615"), UINT64_MAX);
	CHECK_INT(vm_memory_parse("0", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("0M", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("1.5K", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("1000K", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("1.3M", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("-1", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("lots", &v), -EINVAL);
	CHECK_INT(vm_memory_parse("18446744073709551616", &v), -ERANGE);
	CHECK_INT(vm_memory_parse("17E", &v), -ERANGE);
}

int main(void)
{
	test_disk();
	test_nic();
	test_mac();
	test_memory();
	return test_done();
}
