/* SPDX-License-Identifier: MIT */
/*
 * Persistent TAP devices for TAP NICs (see tap.h). The TAP itself is made
 * through /dev/net/tun; bringing it up, putting it on a bridge and removing
 * it go through rtnetlink, with the init's small netlink client (one
 * request, one checked ack) rather than a second copy of it. What a device
 * is (TAP, bridge, something else) is asked with the ethtool driver-info
 * ioctl, which answers for the caller's network namespace; /sys/class/net
 * would show the namespace sysfs was mounted in.
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "log.h"
#include "netlink.h"
#include "util.h"

/* The init's netlink client numbers its requests with one unlocked
 * process-wide counter (PID 1 has one thread); we are called from several
 * worker threads, so our requests go one at a time. They take microseconds. */
static pthread_mutex_t tap_netlink_lock = PTHREAD_MUTEX_INITIALIZER;

static int fail(char *err, size_t errlen, int r, const char *fmt, ...) PRINTF_FMT(4, 5);
static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

bool tap_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n >= TAP_NAME_SIZE || streq(name, ".") || streq(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int tap_name_for(const char *vm_id, unsigned nic_index, char out[TAP_NAME_SIZE])
{
	char hex[9];

	out[0] = '\0';
	if (!vm_id)
		return -EINVAL;
	if (nic_index > TAP_NIC_INDEX_MAX)
		return -ERANGE;
	for (size_t i = 0; i < 8; i++) {
		char c = vm_id[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL; /* also the NUL of a short id */
		hex[i] = c;
	}
	hex[8] = '\0';
	/* 2 + 8 + 1 + at most 4 digits: always fits in 15 characters */
	snprintf(out, TAP_NAME_SIZE, "mv%sn%u", hex, nic_index);
	return 0;
}

/* The ethtool driver info of interface name: the driver ("tun" for TUN and
 * TAP, "bridge") and bus_info ("tap" or "tun" for the tun driver). 0,
 * -ENODEV when there is no such interface, or -errno. */
static int link_drvinfo(const char *name, struct ethtool_drvinfo *info)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = {};

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	info->cmd = ETHTOOL_GDRVINFO;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_data = (void *)info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return -errno;
	/* the kernel fills fixed arrays; terminate them whatever it wrote */
	info->driver[sizeof(info->driver) - 1] = '\0';
	info->bus_info[sizeof(info->bus_info) - 1] = '\0';
	return 0;
}

/* 1 when name is a TAP, 0 when it is some other device, -ENODEV when there
 * is none, or -errno. */
static int link_is_tap(const char *name)
{
	struct ethtool_drvinfo info;
	int r;

	r = link_drvinfo(name, &info);
	if (r == -EOPNOTSUPP)
		return 0; /* drivers without driver info are not the tun driver */
	if (r < 0)
		return r;
	return streq(info.driver, "tun") && streq(info.bus_info, "tap");
}

/* Same for a bridge. */
static int link_is_bridge(const char *name)
{
	struct ethtool_drvinfo info;
	int r;

	r = link_drvinfo(name, &info);
	if (r == -EOPNOTSUPP)
		return 0;
	if (r < 0)
		return r;
	return streq(info.driver, "bridge");
}

/* One RTM_NEWLINK/RTM_DELLINK request for ifindex, answered by the kernel's
 * ack: 0 or its -errno. For RTM_NEWLINK the link is set up and its master
 * set to master_ifindex (0: no master). */
static int link_request(uint16_t type, int ifindex, int master_ifindex)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
	};
	_cleanup_close_ int fd = -1;
	struct nl_msg m;
	int r;

	if (type == RTM_NEWLINK) {
		ifi.ifi_flags = IFF_UP;
		ifi.ifi_change = IFF_UP;
	}
	nl_msg_init(&m, type, NLM_F_REQUEST | NLM_F_ACK, 0);
	nl_msg_put(&m, &ifi, sizeof(ifi));
	if (type == RTM_NEWLINK)
		nl_msg_put_u32(&m, IFLA_MASTER, (uint32_t)master_ifindex);

	fd = nl_open();
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&tap_netlink_lock);
	r = nl_request(fd, &m, NULL, NULL);
	pthread_mutex_unlock(&tap_netlink_lock);
	return r;
}

/* Create or attach to the TAP name through /dev/net/tun and make it
 * persistent and root-owned. *in_use is set when a process (a running
 * hypervisor) holds the TAP: it is then left as it is, which is fine, since
 * it exists already. Returns its ifindex or -errno with err set. */
static int tun_make_persistent(const char *name, bool *in_use, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = {};
	int ifindex;

	*in_use = false;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "cannot open /dev/net/tun: %s", strerror(errno));

	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		if (errno != EBUSY)
			return fail(err, errlen, -errno, "cannot create TAP %s: %s", name,
				    strerror(errno));
		*in_use = true;
	} else {
		/* Without an owner any user who can open /dev/net/tun could
		 * attach to a persistent TAP and speak for the guest. */
		if (ioctl(fd, TUNSETOWNER, 0UL) < 0)
			return fail(err, errlen, -errno, "cannot make root the owner of TAP %s: %s",
				    name, strerror(errno));
		if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
			return fail(err, errlen, -errno, "cannot make TAP %s persistent: %s", name,
				    strerror(errno));
	}

	ifindex = (int)if_nametoindex(name);
	if (ifindex <= 0)
		return fail(err, errlen, -ENODEV, "TAP %s vanished while being created", name);
	return ifindex;
}

int tap_create(const char *name, const char *bridge, char *err, size_t errlen)
{
	int master = 0, ifindex, r;
	bool existed, in_use;

	if (!tap_name_valid(name))
		return fail(err, errlen, -EINVAL,
			    "invalid TAP name '%s': 1-15 characters of [A-Za-z0-9._-]",
			    name ? name : "");

	/* The bridge first: a missing bridge must not leave a TAP behind. */
	if (bridge) {
		if (!tap_name_valid(bridge))
			return fail(err, errlen, -EINVAL, "invalid bridge name '%s'", bridge);
		r = link_is_bridge(bridge);
		if (r == -ENODEV)
			return fail(err, errlen, r, "bridge %s does not exist", bridge);
		if (r < 0)
			return fail(err, errlen, r, "cannot inspect bridge %s: %s", bridge,
				    strerror(-r));
		if (r == 0)
			return fail(err, errlen, -ENOTDIR, "%s is not a bridge", bridge);
		master = (int)if_nametoindex(bridge);
		if (master <= 0)
			return fail(err, errlen, -ENODEV, "bridge %s does not exist", bridge);
	}

	r = link_is_tap(name);
	if (r < 0 && r != -ENODEV)
		return fail(err, errlen, r, "cannot inspect %s: %s", name, strerror(-r));
	if (r == 0)
		return fail(err, errlen, -EINVAL, "%s exists and is not a TAP device", name);
	existed = r == 1;

	ifindex = tun_make_persistent(name, &in_use, err, errlen);
	if (ifindex < 0)
		return ifindex;
	if (in_use)
		log_debug("TAP %s is held open by a process; reusing it as it is", name);

	r = link_request(RTM_NEWLINK, ifindex, master);
	if (r < 0) {
		if (!existed)
			(void)link_request(RTM_DELLINK, ifindex, 0);
		if (bridge)
			return fail(err, errlen, r, "cannot bring TAP %s up on bridge %s: %s", name,
				    bridge, strerror(-r));
		return fail(err, errlen, r, "cannot bring TAP %s up: %s", name, strerror(-r));
	}
	return 0;
}

int tap_delete(const char *name)
{
	int ifindex, r;

	if (!tap_name_valid(name))
		return log_error_errno(EINVAL, "invalid TAP name '%s'", name ? name : "");
	r = link_is_tap(name);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot inspect %s: %s", name, strerror(-r));
	if (r == 0)
		return log_error_errno(EINVAL, "refusing to delete %s: not a TAP device", name);

	ifindex = (int)if_nametoindex(name);
	if (ifindex <= 0)
		return 0; /* gone in the meantime */
	r = link_request(RTM_DELLINK, ifindex, 0);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot delete TAP %s: %s", name, strerror(-r));
	return 0;
}
