/* SPDX-License-Identifier: MIT */
/*
 * dhcp4-driver: the init's DHCPv4 client on a host interface, for the
 * integration tests. One line on stdout per event:
 *
 *   BOUND <addr> mask <m> router <r> routes <dst/len>gw,...> dns <a,...>
 *         mtu <n> lease <s> t1 <s> t2 <s> server <a> hostname <h> domain <d>
 *   RENEWED ... (the same fields)
 *   LOST <addr>
 *   NO_LEASE
 *
 * ("-" for what is absent), then RELEASED <0|-errno> with --release, or
 * TIMEOUT (exit status 2). Diagnostics go to stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "dhcp4_client.h"
#include "driver.h"
#include "log.h"
#include "loop.h"
#include "util.h"

struct driver {
	struct loop *loop;
	const char *ifname;
	unsigned events_left;
	bool configure;
	bool timed_out;
};

static const char *ntop(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void print_lease(const char *event, const struct dhcp4_lease *l)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];

	printf("%s %s mask %s router %s routes ", event, ntop(l->address, a),
	       l->subnet_mask.s_addr ? ntop(l->subnet_mask, b) : "-",
	       l->has_router ? ntop(l->router, c) : "-");
	for (unsigned i = 0; i < l->n_routes; i++)
		printf("%s%s/%u>%s", i ? "," : "", ntop(l->routes[i].dest, a),
		       l->routes[i].prefixlen, ntop(l->routes[i].gateway, b));
	printf("%s dns ", l->n_routes ? "" : "-");
	for (unsigned i = 0; i < l->n_dns; i++)
		printf("%s%s", i ? "," : "", ntop(l->dns[i], a));
	printf("%s mtu ", l->n_dns ? "" : "-");
	if (l->mtu)
		printf("%u", l->mtu);
	else
		printf("-");
	printf(" lease %" PRIu32 " t1 %" PRIu32 " t2 %" PRIu32 " server %s hostname %s domain %s\n",
	       l->lease_s, l->t1_s, l->t2_s, ntop(l->server, a), l->hostname[0] ? l->hostname : "-",
	       l->domain[0] ? l->domain : "-");
}

/* ip address replace|del <addr>/<len> dev <ifname>: what net.c does over
 * netlink, done here with iproute2 so the driver stays a thin shell. */
static void run_ip(const char *verb, const struct dhcp4_lease *l, const char *ifname)
{
	char a[INET_ADDRSTRLEN], prefix[INET_ADDRSTRLEN + 4];
	int len = l->subnet_mask.s_addr ? dhcp4_netmask_to_prefixlen(l->subnet_mask) : 32;
	pid_t pid;
	int status;

	snprintf(prefix, sizeof(prefix), "%s/%d", ntop(l->address, a), len < 0 ? 32 : len);
	pid = fork();
	if (pid < 0) {
		log_warning_errno(errno, "fork");
		return;
	}
	if (pid == 0) {
		execlp("ip", "ip", "address", verb, prefix, "dev", ifname, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warning("ip address %s %s dev %s failed", verb, prefix, ifname);
}

static void on_event(struct dhcp4_client *c, enum dhcp4_event ev, const struct dhcp4_lease *l,
		     void *userdata)
{
	struct driver *d = userdata;
	char a[INET_ADDRSTRLEN];

	switch (ev) {
	case DHCP4_BOUND:
	case DHCP4_RENEWED:
		if (d->configure)
			run_ip("replace", l, d->ifname);
		print_lease(ev == DHCP4_BOUND ? "BOUND" : "RENEWED", l);
		break;
	case DHCP4_LOST:
		if (d->configure)
			run_ip("del", l, d->ifname);
		printf("LOST %s\n", ntop(l->address, a));
		break;
	case DHCP4_NO_LEASE:
		printf("NO_LEASE\n");
		break;
	}
	fflush(stdout);
	if (d->events_left > 0 && --d->events_left == 0)
		loop_quit(d->loop);
}

static void on_timeout(struct loop_timer *t, void *userdata)
{
	struct driver *d = userdata;

	d->timed_out = true;
	loop_quit(d->loop);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dhcp4-driver [options] IFNAME\n"
		"  --events N       exit after N events (default 1)\n"
		"  --timeout S      give up after S seconds: TIMEOUT, exit 2 (default 30)\n"
		"  --request ADDR   start in INIT-REBOOT asking for ADDR\n"
		"  --hostname NAME  send it as option 12\n"
		"  --configure      put the leased address on IFNAME (ip address ...)\n"
		"  --release        release the lease before exiting\n"
		"  --debug          debug logging\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "request", required_argument, NULL, 'r' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "configure", no_argument, NULL, 'c' },
		{ "release", no_argument, NULL, 'R' },
		{ "debug", no_argument, NULL, 'd' },
		{ 0 },
	};
	struct driver d = { .events_left = 1 };
	unsigned long long events = 1, timeout_s = 30;
	const char *hostname = NULL;
	struct in_addr request = { 0 };
	bool release = false;
	struct dhcp4_client *c = NULL;
	struct loop_timer *timeout;
	uint8_t mac[6];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			if (parse_u64(optarg, 1000, &events) < 0 || events == 0)
				return usage(), 64;
			break;
		case 't':
			if (parse_u64(optarg, 86400, &timeout_s) < 0)
				return usage(), 64;
			break;
		case 'r':
			if (inet_pton(AF_INET, optarg, &request) != 1)
				return usage(), 64;
			break;
		case 'H':
			hostname = optarg;
			break;
		case 'c':
			d.configure = true;
			break;
		case 'R':
			release = true;
			break;
		case 'd':
			log_max_level = LOG_DEBUG;
			break;
		default:
			return usage(), 64;
		}
	}
	if (optind != argc - 1)
		return usage(), 64;
	d.ifname = argv[optind];
	d.events_left = (unsigned)events;

	int ifindex = (int)if_nametoindex(d.ifname);
	if (ifindex <= 0)
		return log_error_errno(errno, "no interface %s", d.ifname), 1;
	r = driver_link_mac(d.ifname, mac);
	if (r < 0)
		return log_error_errno(r, "cannot read the MAC of %s", d.ifname), 1;

	r = loop_new(&d.loop);
	if (r < 0)
		return log_error_errno(r, "loop"), 1;
	r = dhcp4_client_new(d.loop, ifindex, d.ifname, mac, on_event, &d, &c);
	if (r < 0)
		return log_error_errno(r, "dhcp4_client_new"), 1;
	dhcp4_client_set_hostname(c, hostname);
	if (request.s_addr)
		dhcp4_client_set_requested_address(c, request);
	r = dhcp4_client_start(c);
	if (r < 0)
		return log_error_errno(r, "dhcp4_client_start"), 1;

	loop_timer_new(d.loop, on_timeout, &d, &timeout);
	loop_timer_in(timeout, timeout_s * 1000);
	r = loop_run(d.loop);
	if (r < 0)
		log_error_errno(r, "loop");

	if (release) {
		r = dhcp4_client_release(c);
		printf("RELEASED %d\n", r);
	}
	if (d.timed_out)
		printf("TIMEOUT\n");
	fflush(stdout);
	dhcp4_client_free(c);
	loop_timer_free(timeout);
	loop_free(d.loop);
	return d.timed_out ? 2 : 0;
}
