/* SPDX-License-Identifier: MIT */
/*
 * Runs the init's IPv6 clients (os/init/ra.c, os/init/dhcp6_client.c) on
 * one interface the way the init does: router solicitation, then DHCPv6
 * when an RA has the M flag. Prints one line per event on stdout for
 * tests/integration/test_init_ipv6.py; SIGTERM releases the lease and exits.
 *
 *   v6-driver [--rapid-commit] [--verbose] IFNAME
 *
 * Lines:
 *   ra router ADDR lifetime S managed 0|1 other 0|1 mtu N
 *      [prefix P/LEN onlink 0|1 autonomous 0|1 valid S preferred S]... [dns ADDR]...
 *   ra none
 *   dhcp6 bound|renewed|lost ADDR preferred S valid S t1 S t2 S server ADDR [dns ADDR]...
 *   dhcp6 no-lease
 *   released
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "dhcp6_client.h"
#include "driver.h"
#include "log.h"
#include "loop.h"
#include "ra.h"
#include "util.h"

struct driver {
	struct loop *loop;
	int ifindex;
	const char *ifname;
	uint8_t mac[6];
	bool rapid_commit;
	struct ra_client *ra;
	struct dhcp6_client *dhcp6;
};

static const char *addr_str(const struct in6_addr *a, char buf[INET6_ADDRSTRLEN])
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static void on_dhcp6(struct dhcp6_client *c, enum dhcp6_event event,
		     const struct dhcp6_lease *lease, void *userdata)
{
	static const char *const names[] = {
		[DHCP6_BOUND] = "bound",
		[DHCP6_RENEWED] = "renewed",
		[DHCP6_LOST] = "lost",
	};
	char a[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];

	if (event == DHCP6_NO_LEASE) {
		printf("dhcp6 no-lease\n");
		return;
	}
	printf("dhcp6 %s %s preferred %u valid %u t1 %u t2 %u server %s", names[event],
	       addr_str(&lease->address, a), lease->preferred_s, lease->valid_s, lease->t1_s,
	       lease->t2_s, addr_str(&lease->server_addr, s));
	for (unsigned i = 0; i < lease->n_dns; i++)
		printf(" dns %s", addr_str(&lease->dns[i], a));
	printf("\n");
}

static void on_ra(struct ra_client *c, enum ra_event event, const struct ra_info *info,
		  void *userdata)
{
	struct driver *d = userdata;
	char a[INET6_ADDRSTRLEN];
	int r;

	if (event == RA_NONE) {
		printf("ra none\n");
		return;
	}
	printf("ra router %s lifetime %u managed %d other %d mtu %u", addr_str(&info->router, a),
	       info->lifetime_s, info->managed, info->other, info->mtu);
	for (unsigned i = 0; i < info->n_prefixes; i++)
		printf(" prefix %s/%u onlink %d autonomous %d valid %u preferred %u",
		       addr_str(&info->prefixes[i].prefix, a), info->prefixes[i].len,
		       info->prefixes[i].onlink, info->prefixes[i].autonomous,
		       info->prefixes[i].valid_s, info->prefixes[i].preferred_s);
	for (unsigned i = 0; i < info->n_dns; i++)
		printf(" dns %s", addr_str(&info->dns[i], a));
	printf("\n");

	if (!info->managed || d->dhcp6)
		return;
	r = dhcp6_client_new(d->loop, d->ifindex, d->ifname, d->mac, on_dhcp6, d, &d->dhcp6);
	if (r == 0) {
		dhcp6_client_set_rapid_commit(d->dhcp6, d->rapid_commit);
		r = dhcp6_client_start(d->dhcp6);
	}
	if (r < 0)
		log_error_errno(r, "starting DHCPv6");
}

static void on_signal(struct loop_io *io, int fd, uint32_t events, void *userdata)
{
	struct driver *d = userdata;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (d->dhcp6)
		dhcp6_client_release(d->dhcp6);
	printf("released\n");
	loop_quit(d->loop);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "rapid-commit", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct driver d = { 0 };
	struct loop_io *signal_io = NULL;
	_cleanup_close_ int signal_fd = -1;
	sigset_t mask;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "rv", options, NULL)) >= 0)
		switch (opt) {
		case 'r':
			d.rapid_commit = true;
			break;
		case 'v':
			log_max_level = LOG_DEBUG;
			break;
		default:
			return 2;
		}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: %s [--rapid-commit] [--verbose] IFNAME\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	d.ifname = argv[optind];
	d.ifindex = (int)if_nametoindex(d.ifname);
	if (d.ifindex <= 0)
		return log_error_errno(errno, "%s", d.ifname), 1;
	r = driver_link_mac(d.ifname, d.mac);
	if (r < 0)
		return log_error_errno(r, "%s: MAC address", d.ifname), 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd < 0)
		return log_error_errno(errno, "signalfd"), 1;

	r = loop_new(&d.loop);
	if (r < 0)
		return log_error_errno(r, "event loop"), 1;
	r = loop_io_add(d.loop, signal_fd, EPOLLIN, on_signal, &d, &signal_io);
	if (r == 0)
		r = ra_client_new(d.loop, d.ifindex, d.ifname, d.mac, on_ra, &d, &d.ra);
	if (r == 0)
		r = ra_client_start(d.ra);
	if (r == 0)
		r = loop_run(d.loop);
	if (r < 0)
		log_error_errno(r, "running");
	dhcp6_client_free(d.dhcp6);
	ra_client_free(d.ra);
	loop_io_free(signal_io);
	loop_free(d.loop);
	return r < 0 ? 1 : 0;
}
