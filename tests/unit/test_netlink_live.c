/* SPDX-License-Identifier: MIT */
/*
 * The init's rtnetlink calls against the real kernel, in a network namespace
 * of our own with a veth pair: what the init does with an mvirt /32 lease
 * (address, on-link host route to the gateway, default route via it), IPv6
 * addresses and the wait for a link-local address to pass DAD, duplicates
 * and deletes. Every result is checked independently through `ip -j`.
 *
 * With MVIRT_NETLINK_SEEDS=<dir> it also saves raw kernel replies there as
 * seeds for fuzz/fuzz_netlink.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "netlink.h"
#include "tap.h"
#include "util.h"

#define DEV "mvt0"
#define PEER "mvt1"

/* ---- iproute2 as the independent witness ---- */

/* Parsed output of `ip -j <args>`; an empty array when ip printed nothing. */
static json_t *ip_json(const char *args)
{
	char cmd[256];
	json_error_t err;
	json_t *j;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ip -j %s", args);
	p = popen(cmd, "r");
	if (!p)
		return json_array();
	j = json_loadf(p, JSON_DISABLE_EOF_CHECK, &err);
	pclose(p);
	return j && json_is_array(j) ? j : (json_decref(j), json_array());
}

static void copy_str(char *out, size_t size, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	snprintf(out, size, "%s", s ? s : "");
}

struct ip_link {
	bool found, up;
	long long mtu;
	char address[32];
};

static struct ip_link ip_link_get(const char *dev)
{
	struct ip_link l = {};
	char args[64];
	json_t *j, *o, *flag;
	size_t i;

	snprintf(args, sizeof(args), "link show dev %s", dev);
	j = ip_json(args);
	o = json_array_get(j, 0);
	if (o) {
		l.found = true;
		l.mtu = json_integer_value(json_object_get(o, "mtu"));
		copy_str(l.address, sizeof(l.address), o, "address");
		json_array_foreach(json_object_get(o, "flags"), i, flag)
			if (streq(json_string_value(flag) ?: "", "UP"))
				l.up = true;
	}
	json_decref(j);
	return l;
}

struct ip_addr {
	bool found, tentative, nodad, noprefixroute;
	long long prefixlen, valid;
	char scope[16], local[64];
};

/* The address local on dev, or with local "" the first of that scope. */
static struct ip_addr ip_addr_get(const char *dev, const char *local, const char *scope)
{
	struct ip_addr a = {};
	char args[64];
	json_t *j, *info;
	size_t i;

	snprintf(args, sizeof(args), "addr show dev %s", dev);
	j = ip_json(args);
	json_array_foreach(json_object_get(json_array_get(j, 0), "addr_info"), i, info) {
		copy_str(a.local, sizeof(a.local), info, "local");
		copy_str(a.scope, sizeof(a.scope), info, "scope");
		if (local[0] ? !streq(a.local, local) : !streq(a.scope, scope))
			continue;
		a.found = true;
		a.prefixlen = json_integer_value(json_object_get(info, "prefixlen"));
		a.valid = json_integer_value(json_object_get(info, "valid_life_time"));
		a.tentative = json_is_true(json_object_get(info, "tentative"));
		a.nodad = json_is_true(json_object_get(info, "nodad"));
		a.noprefixroute = json_is_true(json_object_get(info, "noprefixroute"));
		break;
	}
	if (!a.found)
		a = (struct ip_addr){};
	json_decref(j);
	return a;
}

struct ip_route {
	bool found;
	char gateway[64], dev[16], scope[16], prefsrc[64];
	long long metric;
};

/* The route to dst ("default", "169.254.0.1", "192.0.2.0/24") in `ip -j
 * <-4|-6> route show`. */
static struct ip_route ip_route_get(const char *family, const char *dst)
{
	struct ip_route r = {};
	char args[64], d[64];
	json_t *j, *o;
	size_t i;

	snprintf(args, sizeof(args), "%s route show table main", family);
	j = ip_json(args);
	json_array_foreach(j, i, o) {
		copy_str(d, sizeof(d), o, "dst");
		if (!streq(d, dst))
			continue;
		r.found = true;
		copy_str(r.gateway, sizeof(r.gateway), o, "gateway");
		copy_str(r.dev, sizeof(r.dev), o, "dev");
		copy_str(r.scope, sizeof(r.scope), o, "scope");
		copy_str(r.prefsrc, sizeof(r.prefsrc), o, "prefsrc");
		r.metric = json_integer_value(json_object_get(o, "metric"));
		break;
	}
	json_decref(j);
	return r;
}

/* ---- the tests ---- */

static const struct nl_link *find_link(const struct nl_link *links, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(links[i].name, name))
			return &links[i];
	return NULL;
}

static void test_links(int fd, int *ifindex, int *peer)
{
	struct nl_link links[16];
	const struct nl_link *lo, *dev;
	struct ip_link ipl = ip_link_get(DEV);
	char mac[32];
	size_t n;

	CHECK_INT(nl_links(fd, links, ARRAY_SIZE(links), &n), 0);
	CHECK(n >= 3);
	lo = find_link(links, n, "lo");
	dev = find_link(links, n, DEV);
	CHECK(lo && dev && find_link(links, n, PEER));
	if (!lo || !dev || !find_link(links, n, PEER))
		exit(test_done());
	CHECK(lo->flags & IFF_LOOPBACK);
	CHECK_INT(lo->type, 772 /* ARPHRD_LOOPBACK */);
	CHECK_INT(lo->mtu, 65536);
	CHECK_INT(dev->type, 1 /* ARPHRD_ETHER */);
	CHECK(!(dev->flags & IFF_UP));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", dev->mac[0], dev->mac[1],
		 dev->mac[2], dev->mac[3], dev->mac[4], dev->mac[5]);
	CHECK_STR(mac, ipl.address);
	*ifindex = dev->ifindex;
	*peer = find_link(links, n, PEER)->ifindex;

	/* fewer slots than links: the rest are ignored */
	CHECK_INT(nl_links(fd, links, 1, &n), 0);
	CHECK_INT(n, 1);
}

static void test_link_config(int fd, int ifindex, int peer)
{
	struct nl_link links[8];
	const struct nl_link *dev;
	size_t n;

	CHECK_INT(nl_link_up(fd, 1), 0);
	CHECK_INT(nl_link_up(fd, ifindex), 0);
	CHECK_INT(nl_link_up(fd, peer), 0);
	CHECK(ip_link_get(DEV).up);
	CHECK_INT(nl_link_set_mtu(fd, ifindex, 1400), 0);
	CHECK_INT(ip_link_get(DEV).mtu, 1400);
	/* the MTU change left the link up */
	CHECK(ip_link_get(DEV).up);

	CHECK_INT(nl_links(fd, links, ARRAY_SIZE(links), &n), 0);
	dev = find_link(links, n, DEV);
	CHECK(dev && (dev->flags & IFF_UP) && dev->mtu == 1400 && dev->carrier);

	CHECK_INT(nl_link_up(fd, 9999), -ENODEV);
	CHECK_INT(nl_link_set_mtu(fd, ifindex, 10), -EINVAL);
}

/* What the init does with an mvirt lease: 10.0.0.2/32, gateway 169.254.0.1. */
static void test_ipv4_lease(int fd, int ifindex)
{
	struct in_addr addr, gw, net, unreachable;
	struct ip_addr ipa;
	struct ip_route ipr;

	inet_pton(AF_INET, "10.0.0.2", &addr);
	inet_pton(AF_INET, "169.254.0.1", &gw);
	inet_pton(AF_INET, "192.0.2.0", &net);
	inet_pton(AF_INET, "198.51.100.1", &unreachable);

	CHECK_INT(nl_addr_add(fd, ifindex, AF_INET, &addr, 32, 3600, 3600, 0), 0);
	ipa = ip_addr_get(DEV, "10.0.0.2", "");
	CHECK(ipa.found);
	CHECK_INT(ipa.prefixlen, 32);
	CHECK(ipa.valid > 3500 && ipa.valid <= 3600);
	CHECK_INT(nl_addr_add(fd, ifindex, AF_INET, &addr, 32, 3600, 3600, 0), -EEXIST);
	/* a renewal refreshes the lifetimes in place */
	CHECK_INT(nl_addr_replace(fd, ifindex, AF_INET, &addr, 32, 7200, 7200, 0), 0);
	ipa = ip_addr_get(DEV, "10.0.0.2", "");
	CHECK(ipa.valid > 7100 && ipa.valid <= 7200);

	/* the gateway is outside the /32: the kernel refuses it until the
	 * on-link host route is there */
	CHECK_INT(nl_route_add(fd, AF_INET, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 0, NULL),
		  -ENETUNREACH);
	CHECK_INT(nl_route_add(fd, AF_INET, &gw, 32, NULL, ifindex, RT_SCOPE_LINK, 0, NULL), 0);
	ipr = ip_route_get("-4", "169.254.0.1");
	CHECK(ipr.found);
	CHECK_STR(ipr.dev, DEV);
	CHECK_STR(ipr.scope, "link");
	CHECK_STR(ipr.gateway, "");

	CHECK_INT(nl_route_add(fd, AF_INET, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 0, NULL), 0);
	ipr = ip_route_get("-4", "default");
	CHECK(ipr.found);
	CHECK_STR(ipr.gateway, "169.254.0.1");
	CHECK_STR(ipr.dev, DEV);
	CHECK_INT(nl_route_add(fd, AF_INET, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 0, NULL),
		  -EEXIST);
	CHECK_INT(nl_route_add(fd, AF_INET, NULL, 0, &unreachable, ifindex, RT_SCOPE_UNIVERSE, 5,
			       NULL), -ENETUNREACH);

	/* a classless static route with metric and source */
	CHECK_INT(nl_route_add(fd, AF_INET, &net, 24, &gw, ifindex, RT_SCOPE_UNIVERSE, 100, &addr),
		  0);
	ipr = ip_route_get("-4", "192.0.2.0/24");
	CHECK(ipr.found);
	CHECK_STR(ipr.gateway, "169.254.0.1");
	CHECK_INT(ipr.metric, 100);
	CHECK_STR(ipr.prefsrc, "10.0.0.2");

	/* and away again; a second delete finds nothing */
	CHECK_INT(nl_route_del(fd, AF_INET, &net, 24, &gw, ifindex, RT_SCOPE_UNIVERSE, 100, &addr),
		  0);
	CHECK(!ip_route_get("-4", "192.0.2.0/24").found);
	CHECK_INT(nl_route_del(fd, AF_INET, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 0, NULL), 0);
	CHECK(!ip_route_get("-4", "default").found);
	CHECK_INT(nl_route_del(fd, AF_INET, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 0, NULL),
		  -ESRCH);
	CHECK_INT(nl_route_del(fd, AF_INET, &gw, 32, NULL, ifindex, RT_SCOPE_LINK, 0, NULL), 0);
	CHECK(!ip_route_get("-4", "169.254.0.1").found);
	CHECK_INT(nl_addr_del(fd, ifindex, AF_INET, &addr, 32), 0);
	CHECK(!ip_addr_get(DEV, "10.0.0.2", "").found);
	CHECK_INT(nl_addr_del(fd, ifindex, AF_INET, &addr, 32), -EADDRNOTAVAIL);
}

static void test_ipv6(int fd, int ifindex)
{
	struct in6_addr a2, a3, gw, ll;
	char text[INET6_ADDRSTRLEN];
	struct ip_addr ipa;
	struct ip_route ipr;
	int r = 0, first = -1;

	inet_pton(AF_INET6, "fd00::2", &a2);
	inet_pton(AF_INET6, "fd00::3", &a3);
	inet_pton(AF_INET6, "fe80::1", &gw);

	CHECK_INT(nl_addr_add(fd, ifindex, AF_INET6, &a2, 128, NL_LIFETIME_INFINITE,
			      NL_LIFETIME_INFINITE, IFA_F_NODAD), 0);
	ipa = ip_addr_get(DEV, "fd00::2", "");
	CHECK(ipa.found && ipa.prefixlen == 128 && ipa.nodad && !ipa.tentative);
	CHECK_INT(nl_addr_add(fd, ifindex, AF_INET6, &a2, 128, NL_LIFETIME_INFINITE,
			      NL_LIFETIME_INFINITE, IFA_F_NODAD), -EEXIST);
	/* a flag above the 8 bits of ifa_flags */
	CHECK_INT(nl_addr_add(fd, ifindex, AF_INET6, &a3, 64, 600, 300,
			      IFA_F_NODAD | IFA_F_NOPREFIXROUTE), 0);
	ipa = ip_addr_get(DEV, "fd00::3", "");
	CHECK(ipa.found && ipa.noprefixroute && ipa.valid <= 600 && ipa.valid > 500);
	CHECK(!ip_route_get("-6", "fd00::/64").found);

	/* the kernel's link-local address passes DAD within a few seconds */
	for (int i = 0; i < 100; i++) {
		r = nl_ipv6_linklocal_ready(fd, ifindex, &ll);
		if (first < 0)
			first = r;
		if (r != 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	}
	CHECK_INT(r, 1);
	printf("link-local: first answer %d, then %d\n", first, r);
	ipa = ip_addr_get(DEV, "", "link");
	CHECK(ipa.found && !ipa.tentative);
	CHECK_STR(inet_ntop(AF_INET6, &ll, text, sizeof(text)), ipa.local);
	/* lo has ::1, no link-local */
	CHECK_INT(nl_ipv6_linklocal_ready(fd, 1, NULL), 0);

	/* default route via the router's link-local address, as from an RA */
	CHECK_INT(nl_route_add(fd, AF_INET6, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 1024, NULL),
		  0);
	ipr = ip_route_get("-6", "default");
	CHECK(ipr.found);
	CHECK_STR(ipr.gateway, "fe80::1");
	CHECK_STR(ipr.dev, DEV);
	CHECK_INT(ipr.metric, 1024);
	CHECK_INT(nl_route_add(fd, AF_INET6, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 1024, NULL),
		  -EEXIST);
	CHECK_INT(nl_route_del(fd, AF_INET6, NULL, 0, &gw, ifindex, RT_SCOPE_UNIVERSE, 1024, NULL),
		  0);
	CHECK(!ip_route_get("-6", "default").found);

	CHECK_INT(nl_addr_del(fd, ifindex, AF_INET6, &a2, 128), 0);
	CHECK_INT(nl_addr_del(fd, ifindex, AF_INET6, &a3, 64), 0);
	CHECK(!ip_addr_get(DEV, "fd00::2", "").found);
	CHECK(!ip_addr_get(DEV, "fd00::3", "").found);
	CHECK_INT(nl_addr_del(fd, ifindex, AF_INET6, &a2, 128), -EADDRNOTAVAIL);
}

static void check_sysctl(const char *key, const char *want)
{
	char path[128], got[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/" DEV "/%s", key);
	f = fopen(path, "re");
	CHECK(f && fgets(got, sizeof(got), f));
	if (f)
		fclose(f);
	got[strcspn(got, "\n")] = '\0';
	CHECK_STR(got, want);
}

static void test_sysctl(void)
{
	CHECK_INT(ipv6_conf_set(DEV, "accept_ra", "0"), 0);
	check_sysctl("accept_ra", "0");
	CHECK_INT(ipv6_conf_set(DEV, "accept_ra", "2"), 0);
	check_sysctl("accept_ra", "2");
	CHECK_INT(ipv6_conf_set(DEV, "no_such_key", "1"), -ENOENT);
}

/* ---- seeds for the fuzz target: raw replies as the kernel sends them ---- */

static void save_reply(int fd, struct nl_msg *m, const char *dir, const char *name)
{
	static uint32_t seq = 1000;
	uint8_t *buf = malloc(32768);
	bool done = false;

	m->hdr.nlmsg_seq = ++seq;
	if (send(fd, m->buf, m->len, 0) != (ssize_t)m->len) {
		free(buf);
		return;
	}
	for (int i = 0; !done && i < 64; i++) {
		ssize_t n = recv(fd, buf, 32768, 0);
		const struct nlmsghdr *h;
		size_t off = 0, hlen;
		char path[512];
		FILE *f;

		if (n <= 0)
			break;
		snprintf(path, sizeof(path), "%s/%s-%d", dir, name, i);
		f = fopen(path, "we");
		if (f) {
			fwrite(buf, 1, (size_t)n, f);
			fclose(f);
		}
		while (nl_next(buf, (size_t)n, &off, &h, &hlen) > 0)
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				done = true;
	}
	free(buf);
}

static void save_seeds(int fd, int ifindex, const char *dir)
{
	struct in_addr gw, bad;
	struct nl_route r;
	struct nl_addr a = { .ifindex = ifindex, .family = AF_INET, .prefixlen = 24,
			     .valid_s = 3600, .preferred_s = 1800 };
	struct nl_msg m;

	inet_pton(AF_INET, "10.1.2.3", &a.addr.v4);
	inet_pton(AF_INET, "169.254.0.1", &gw);
	inet_pton(AF_INET, "198.51.100.1", &bad);

	nl_build_addr(&m, 0, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &a);
	save_reply(fd, &m, dir, "ack");
	nl_build_getlink(&m, 0);
	save_reply(fd, &m, dir, "links");
	nl_build_getaddr(&m, 0, AF_UNSPEC);
	save_reply(fd, &m, dir, "addrs");
	nl_build_addr(&m, 0, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &a);
	save_reply(fd, &m, dir, "eexist");
	r = (struct nl_route){ .family = AF_INET, .gateway = &bad, .ifindex = ifindex };
	nl_build_route(&m, 0, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r);
	save_reply(fd, &m, dir, "extack");
	nl_build_link_up(&m, 0, 9999);
	save_reply(fd, &m, dir, "enodev");
	nl_addr_del(fd, ifindex, AF_INET, &a.addr, 24);
}

int main(void)
{
	const char *seeds = getenv("MVIRT_NETLINK_SEEDS");
	_cleanup_close_ int fd = -1;
	int ifindex = 0, peer = 0;

	if (geteuid() != 0) {
		printf("skip: needs root for a network namespace of its own\n");
		return 77;
	}
	/* our own namespace: it and the veth pair vanish when we exit */
	if (unshare(CLONE_NEWNET) < 0) {
		printf("skip: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	if (access("/proc/sys/net/ipv6", F_OK) < 0) {
		printf("skip: kernel without IPv6\n");
		return 77;
	}
	if (system("ip link add " DEV " type veth peer name " PEER) != 0) {
		printf("skip: cannot create a veth pair with ip(8)\n");
		return 77;
	}
	fd = nl_open();
	CHECK(fd >= 0);
	if (fd < 0)
		return test_done();

	test_links(fd, &ifindex, &peer);
	test_link_config(fd, ifindex, peer);
	test_ipv4_lease(fd, ifindex);
	test_ipv6(fd, ifindex);
	test_sysctl();
	if (seeds)
		save_seeds(fd, ifindex, seeds);
	return test_done();
}
