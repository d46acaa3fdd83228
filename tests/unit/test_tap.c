/* SPDX-License-Identifier: MIT */
/*
 * vmm/tap.c against the real kernel, in a network namespace of its own (and
 * a mount namespace with a fresh sysfs, so /sys/class/net shows that
 * namespace): TAPs with and without a bridge, their flags and owner,
 * idempotent re-creation (also while held open, as by a running
 * hypervisor), deletion, bad names, missing or wrong bridges, concurrent
 * callers, and QEMU opening a TAP we made. Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

/* "tap.h" next to this file is the assertion helper and wins the search
 * for that name; the unit under test is named by its path. */
#include "../../vmm/tap.h"
#include "tap.h"
#include "util.h"

static bool link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* The first line of /sys/class/net/<name>/<attr> into buf, or "" if absent. */
static const char *sys_attr(const char *name, const char *attr, char *buf, size_t len)
{
	_cleanup_free_ char *path = xasprintf("/sys/class/net/%s/%s", name, attr);
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static unsigned long sys_hex(const char *name, const char *attr)
{
	char buf[64];

	return strtoul(sys_attr(name, attr, buf, sizeof(buf)), NULL, 16);
}

/* The bridge name is on, "" when none. */
static const char *master_of(const char *name, char *buf, size_t len)
{
	_cleanup_free_ char *path = xasprintf("/sys/class/net/%s/master", name);
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;
	size_t blen;

	buf[0] = '\0';
	if (n < 0)
		return buf;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	blen = MIN(strlen(base), len - 1);
	memcpy(buf, base, blen);
	buf[blen] = '\0';
	return buf;
}

static int run(const char *cmd)
{
	int status = system(cmd);

	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A private network namespace and a sysfs that shows it. */
static int enter_namespaces(void)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

static void test_names(void)
{
	char name[TAP_NAME_SIZE];

	CHECK_INT(tap_name_for("1A2B3C4D-0000-4000-8000-000000000000", 0, name), 0);
	CHECK_STR(name, "mv1a2b3c4dn0");
	CHECK_INT(tap_name_for("deadbeef-0000-4000-8000-000000000000", TAP_NIC_INDEX_MAX, name), 0);
	CHECK_STR(name, "mvdeadbeefn9999");
	CHECK(strlen(name) < IFNAMSIZ);
	CHECK(tap_name_valid(name));
	CHECK_INT(tap_name_for("deadbeef-0000", TAP_NIC_INDEX_MAX + 1, name), -ERANGE);
	CHECK_STR(name, "");
	CHECK_INT(tap_name_for("deadbee", 0, name), -EINVAL);
	CHECK_INT(tap_name_for("deadbeeg", 0, name), -EINVAL);
	CHECK_INT(tap_name_for("", 0, name), -EINVAL);
	CHECK_INT(tap_name_for(NULL, 0, name), -EINVAL);

	CHECK(tap_name_valid("a"));
	CHECK(tap_name_valid("abcdefghijklmno")); /* 15 */
	CHECK(tap_name_valid("br-lan.10_x"));
	CHECK(!tap_name_valid(NULL));
	CHECK(!tap_name_valid(""));
	CHECK(!tap_name_valid("abcdefghijklmnop")); /* 16 */
	CHECK(!tap_name_valid("a/b"));
	CHECK(!tap_name_valid("a:b"));
	CHECK(!tap_name_valid("tap%d"));
	CHECK(!tap_name_valid("a b"));
	CHECK(!tap_name_valid("a\nb"));
	CHECK(!tap_name_valid("."));
	CHECK(!tap_name_valid(".."));
	CHECK(!tap_name_valid("\xc3\xa9"));
}

static void test_bad_names(void)
{
	const char *bad[] = { "", "abcdefghijklmnop", "a/b", "../x", "tap%d", "a:0", "." };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		CHECK_INT(tap_create(bad[i], NULL, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "invalid TAP name") != NULL);
		CHECK_INT(tap_delete(bad[i]), -EINVAL);
	}
	CHECK_INT(tap_create(NULL, NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(tap_delete(NULL), -EINVAL);
	CHECK_INT(tap_create("mvt9", "br/0", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "invalid bridge name") != NULL);
	CHECK(!link_exists("mvt9"));
	CHECK(!link_exists("tap0")); /* "tap%d" was not expanded by the kernel */
}

static void test_without_bridge(void)
{
	char err[256] = "", buf[64];
	unsigned long tun_flags;

	CHECK_INT(tap_create("mvt0", NULL, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK(link_exists("mvt0"));
	CHECK(sys_hex("mvt0", "flags") & IFF_UP);
	tun_flags = sys_hex("mvt0", "tun_flags");
	CHECK_INT(tun_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST),
		  IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST);
	CHECK(!(tun_flags & IFF_TUN));
	CHECK_STR(sys_attr("mvt0", "owner", buf, sizeof(buf)), "0");
	CHECK_STR(master_of("mvt0", buf, sizeof(buf)), "");
	/* err may be NULL when the caller has no use for the reason */
	CHECK_INT(tap_create("mvt0", NULL, NULL, 0), 0);
}

static void test_with_bridge(void)
{
	char err[256] = "", buf[64];
	unsigned long ifindex;

	CHECK_INT(tap_create("mvt1", "br0", err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(master_of("mvt1", buf, sizeof(buf)), "br0");
	CHECK(sys_hex("mvt1", "flags") & IFF_UP);
	ifindex = strtoul(sys_attr("mvt1", "ifindex", buf, sizeof(buf)), NULL, 10);
	CHECK(ifindex > 0);

	/* idempotent, and it repairs a TAP that was taken down and off the bridge */
	CHECK_INT(tap_create("mvt1", "br0", err, sizeof(err)), 0);
	CHECK_INT(run("ip link set mvt1 down nomaster"), 0);
	CHECK(!(sys_hex("mvt1", "flags") & IFF_UP));
	CHECK_STR(master_of("mvt1", buf, sizeof(buf)), "");
	CHECK_INT(tap_create("mvt1", "br0", err, sizeof(err)), 0);
	CHECK(sys_hex("mvt1", "flags") & IFF_UP);
	CHECK_STR(master_of("mvt1", buf, sizeof(buf)), "br0");
	CHECK_U64(strtoul(sys_attr("mvt1", "ifindex", buf, sizeof(buf)), NULL, 10), ifindex);

	/* moved to another bridge, then off any bridge */
	CHECK_INT(tap_create("mvt1", "br1", err, sizeof(err)), 0);
	CHECK_STR(master_of("mvt1", buf, sizeof(buf)), "br1");
	CHECK_INT(tap_create("mvt1", NULL, err, sizeof(err)), 0);
	CHECK_STR(master_of("mvt1", buf, sizeof(buf)), "");
	CHECK_INT(tap_create("mvt1", "br0", err, sizeof(err)), 0);


	/* a persistent TAP made by someone else gets our flags and owner */
	CHECK_INT(run("ip tuntap add dev mvt3 mode tap"), 0);
	CHECK(!(sys_hex("mvt3", "tun_flags") & IFF_VNET_HDR));
	CHECK_STR(sys_attr("mvt3", "owner", buf, sizeof(buf)), "-1");
	CHECK_INT(tap_create("mvt3", NULL, err, sizeof(err)), 0);
	CHECK(sys_hex("mvt3", "tun_flags") & IFF_VNET_HDR);
	CHECK(sys_hex("mvt3", "tun_flags") & IFF_PERSIST);
	CHECK_STR(sys_attr("mvt3", "owner", buf, sizeof(buf)), "0");
	CHECK(sys_hex("mvt3", "flags") & IFF_UP);
	CHECK_INT(tap_delete("mvt3"), 0);
	CHECK(!link_exists("mvt3"));
}

/* A hypervisor holds the TAP open: re-creating still works, deleting too. */
static void test_in_use(void)
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	char err[256] = "", buf[64];

	CHECK(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mvt1");
	CHECK_INT(ioctl(fd, TUNSETIFF, &ifr), 0);
	CHECK_INT(run("ip link set mvt1 down nomaster"), 0);
	CHECK_INT(tap_create("mvt1", "br0", err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK(sys_hex("mvt1", "flags") & IFF_UP);
	CHECK_STR(master_of("mvt1", buf, sizeof(buf)), "br0");
	CHECK_INT(tap_delete("mvt1"), 0);
	CHECK(!link_exists("mvt1"));
}

static void test_bridge_errors(void)
{
	char err[256] = "";

	CHECK_INT(tap_create("mvt2", "nobr", err, sizeof(err)), -ENODEV);
	CHECK_STR(err, "bridge nobr does not exist");
	CHECK(!link_exists("mvt2"));
	CHECK_INT(tap_create("mvt2", "lo", err, sizeof(err)), -ENOTDIR);
	CHECK_STR(err, "lo is not a bridge");
	CHECK(!link_exists("mvt2"));
	/* a TAP is not a bridge either */
	CHECK_INT(tap_create("mvt2", "mvt0", err, sizeof(err)), -ENOTDIR);
	CHECK(!link_exists("mvt2"));
}

/* Names of devices that are not TAPs are neither taken over nor removed. */
static void test_not_a_tap(void)
{
	char err[256] = "";

	CHECK_INT(tap_create("lo", NULL, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "lo exists and is not a TAP device");
	CHECK_INT(tap_create("br0", NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(tap_delete("lo"), -EINVAL);
	CHECK_INT(tap_delete("br0"), -EINVAL);
	CHECK(link_exists("lo"));
	CHECK(link_exists("br0"));

	/* a TUN (layer 3) device is not a TAP */
	CHECK_INT(run("ip tuntap add dev mvt6 mode tun"), 0);
	CHECK_INT(tap_create("mvt6", NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(tap_delete("mvt6"), -EINVAL);
	CHECK(link_exists("mvt6"));
	CHECK_INT(run("ip link del mvt6"), 0);
}

static void test_delete(void)
{
	CHECK_INT(tap_delete("mvt0"), 0);
	CHECK(!link_exists("mvt0"));
	CHECK_INT(tap_delete("mvt0"), 0);
	CHECK_INT(tap_delete("neverthere"), 0);
}

/* QEMU opens a TAP we made, as the daemon's command line asks it to: it
 * runs until killed when it could, and exits at once with an error when
 * it could not. */
static void test_qemu_opens_it(void)
{
	char err[256] = "";

	CHECK_INT(tap_create("mvt4", "br0", err, sizeof(err)), 0);
	CHECK_INT(run("timeout 2 qemu-system-x86_64 -nodefaults -display none -machine none "
		      "-netdev tap,id=n0,ifname=mvt4,script=no,downscript=no,vhost=off "
		      ">/dev/null 2>&1"),
		  124);
	/* a device that is not a TAP is refused at once: the check above means it */
	CHECK_INT(run("timeout 2 qemu-system-x86_64 -nodefaults -display none -machine none "
		      "-netdev tap,id=n0,ifname=br0,script=no,downscript=no,vhost=off "
		      ">/dev/null 2>&1"),
		  1);
	CHECK_INT(tap_delete("mvt4"), 0);
}

#define THREADS 4
#define ROUNDS 25

static void *create_delete_loop(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	long failures = 0;

	for (unsigned i = 0; i < ROUNDS; i++) {
		char name[TAP_NAME_SIZE], err[256];

		snprintf(name, sizeof(name), "mvc%un%u", id, i);
		if (tap_create(name, "br0", err, sizeof(err)) < 0 || !link_exists(name))
			failures++;
		if (tap_delete(name) < 0 || link_exists(name))
			failures++;
	}
	return (void *)failures;
}

static void test_threads(void)
{
	pthread_t t[THREADS];

	for (uintptr_t i = 0; i < THREADS; i++)
		CHECK_INT(pthread_create(&t[i], NULL, create_delete_loop, (void *)i), 0);
	for (size_t i = 0; i < THREADS; i++) {
		void *failures = NULL;

		CHECK_INT(pthread_join(t[i], &failures), 0);
		CHECK_INT((long)failures, 0);
	}
}

int main(void)
{
	int r;

	test_names();

	r = enter_namespaces();
	if (r < 0) {
		fprintf(stderr, "FAIL: cannot enter a private network namespace (%s); run as root\n",
			strerror(-r));
		return 1;
	}
	CHECK_INT(run("ip link add br0 type bridge && ip link add br1 type bridge"), 0);

	test_bad_names();
	test_without_bridge();
	test_with_bridge();
	test_in_use();
	test_bridge_errors();
	test_not_a_tap();
	test_delete();
	test_qemu_opens_it();
	test_threads();

	/* the namespace goes away with us, and everything in it */
	return test_done();
}
