/* SPDX-License-Identifier: MIT */
/*
 * DHCPv4 messages (RFC 2131, options of RFC 2132, classless static routes of
 * RFC 3442, long options of RFC 3396): parsing and building the BOOTP payload
 * of any message in either direction, for the guest's client and the network
 * daemon's server alike. Pure functions over buffers; no allocation.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DHCP4_SERVER_PORT 67
#define DHCP4_CLIENT_PORT 68

/* the fixed BOOTP header, then the magic cookie */
#define DHCP4_HEADER_LEN 236
#define DHCP4_OPTIONS_OFFSET 240
/* RFC 1542 §2.1: relay agents and old servers drop shorter BOOTP messages */
#define DHCP4_MIN_LEN 300
/* RFC 2131 §2: every DHCP participant accepts at least this (IP datagram) */
#define DHCP4_MIN_MAX_MSG_SIZE 576

#define DHCP4_FLAG_BROADCAST 0x8000
#define DHCP4_HTYPE_ETHER 1
#define DHCP4_INFINITE_LEASE UINT32_MAX

/* Fixed limits: excess entries on the wire are ignored. */
#define DHCP4_MAX_DNS 4
#define DHCP4_MAX_ROUTES 16
#define DHCP4_MAX_PRL 64
#define DHCP4_MAX_CLIENT_ID 64
#define DHCP4_HOSTNAME_MAX 64 /* with the NUL, as HOST_NAME_MAX + 1 */
#define DHCP4_DOMAIN_MAX 256
#define DHCP4_MESSAGE_MAX 256

enum dhcp4_op {
	DHCP4_BOOTREQUEST = 1,
	DHCP4_BOOTREPLY = 2,
};

/* option 53 */
enum dhcp4_type {
	DHCP4_DISCOVER = 1,
	DHCP4_OFFER = 2,
	DHCP4_REQUEST = 3,
	DHCP4_DECLINE = 4,
	DHCP4_ACK = 5,
	DHCP4_NAK = 6,
	DHCP4_RELEASE = 7,
	DHCP4_INFORM = 8,
};

enum dhcp4_option {
	DHCP4_OPT_PAD = 0,
	DHCP4_OPT_SUBNET_MASK = 1,
	DHCP4_OPT_ROUTER = 3,
	DHCP4_OPT_DNS = 6,
	DHCP4_OPT_HOSTNAME = 12,
	DHCP4_OPT_DOMAIN = 15,
	DHCP4_OPT_MTU = 26,
	DHCP4_OPT_REQUESTED_IP = 50,
	DHCP4_OPT_LEASE_TIME = 51,
	DHCP4_OPT_OVERLOAD = 52,
	DHCP4_OPT_MESSAGE_TYPE = 53,
	DHCP4_OPT_SERVER_ID = 54,
	DHCP4_OPT_PRL = 55,
	DHCP4_OPT_MESSAGE = 56,
	DHCP4_OPT_MAX_MSG_SIZE = 57,
	DHCP4_OPT_T1 = 58,
	DHCP4_OPT_T2 = 59,
	DHCP4_OPT_CLIENT_ID = 61,
	DHCP4_OPT_CLASSLESS_ROUTES = 121,
	DHCP4_OPT_END = 255,
};

/* One classless static route (option 121): dest/prefixlen via gateway;
 * gateway 0.0.0.0 means on-link. dest has no bits set past prefixlen. */
struct dhcp4_route {
	struct in_addr dest;
	uint8_t prefixlen;
	struct in_addr gateway;
};

/*
 * A DHCP message. Multi-byte numbers are in host byte order, addresses in
 * network byte order. Options that can be absent have a has_ flag or a
 * count; strings are "" when absent. sname and file are not kept (they are
 * read as options when option 52 says so, and built as zeros).
 */
struct dhcp4_msg {
	uint8_t op; /* enum dhcp4_op */
	uint8_t htype, hlen, hops;
	uint32_t xid;
	uint16_t secs;
	uint16_t flags; /* DHCP4_FLAG_BROADCAST */
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16]; /* hlen bytes used */

	uint8_t type; /* option 53, enum dhcp4_type; 0: absent (plain BOOTP) */
	bool has_server_id, has_requested_ip, has_subnet_mask, has_router;
	bool has_lease_time, has_t1, has_t2, has_mtu, has_max_msg_size;
	struct in_addr server_id;    /* 54 */
	struct in_addr requested_ip; /* 50 */
	struct in_addr subnet_mask;  /* 1 */
	struct in_addr router;	     /* 3: the first one */
	uint32_t lease_time, t1, t2; /* 51, 58, 59: seconds */
	uint16_t mtu;		     /* 26: at least 68 */
	uint16_t max_msg_size;	     /* 57 */

	struct in_addr dns[DHCP4_MAX_DNS]; /* 6 */
	unsigned n_dns;
	struct dhcp4_route routes[DHCP4_MAX_ROUTES]; /* 121 */
	unsigned n_routes;
	uint8_t prl[DHCP4_MAX_PRL]; /* 55: requested option codes */
	unsigned n_prl;
	uint8_t client_id[DHCP4_MAX_CLIENT_ID]; /* 61: type byte, then the id */
	unsigned client_id_len;			/* 0: absent */

	/* printable ASCII only; a value that is not (or does not fit) is
	 * dropped, never truncated */
	char hostname[DHCP4_HOSTNAME_MAX]; /* 12 */
	char domain[DHCP4_DOMAIN_MAX];	   /* 15 */
	char message[DHCP4_MESSAGE_MAX];   /* 56: e.g. why a NAK */
};

/*
 * Parse the BOOTP payload p[0..n) of a UDP datagram into *out. Options split
 * into several instances are concatenated (RFC 3396) and option overload
 * (52) is honoured: the file and sname fields then hold options too.
 * Unknown options are skipped, and so are values that are well-formed but
 * unusable: strings that are not printable ASCII or do not fit, an MTU below
 * 68, a client id shorter than 2 bytes. Returns 0 or -EBADMSG for a
 * malformed message: short header, bad op or hlen, no magic cookie, an
 * option running past its field, a known option of the wrong length,
 * message type 0, overload not 1-3, or a malformed option 121 — which
 * rejects the whole message rather than let the client fall back to the
 * router of option 3 that RFC 3442 tells it to ignore.
 */
int dhcp4_parse(const uint8_t *p, size_t n, struct dhcp4_msg *out);

/*
 * Build m into buf: header, magic cookie, then the options present, in a
 * fixed order (53, 61, 50, 54, 57, 51, 58, 59, 1, 121, 3, 6, 12, 15, 26, 55,
 * 56), the end option, and zero padding up to DHCP4_MIN_LEN. Option 52 is
 * never used: the caller's buffer is the limit. Returns the length or
 * -ENOBUFS when size is too small, -EINVAL for values that cannot be
 * encoded (hlen > 16, a route's prefixlen > 32, counts over the limits).
 */
ssize_t dhcp4_build(const struct dhcp4_msg *m, uint8_t *buf, size_t size);

/* The prefix length of a contiguous netmask, or -EINVAL (e.g. 255.0.255.0). */
int dhcp4_netmask_to_prefixlen(struct in_addr mask);
