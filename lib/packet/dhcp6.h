/* SPDX-License-Identifier: MIT */
/*
 * DHCPv6 messages (RFC 8415) between a client and a server on the same link
 * (no relay messages): the guest's init is a client, mvirt-net a server, so
 * every message is parsed and built in both directions. Only the options
 * stateful address assignment needs are decoded; the rest are skipped.
 *
 * Buffers hold the UDP payload: message type, 24-bit transaction id, options.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DHCP6_CLIENT_PORT = 546,
	DHCP6_SERVER_PORT = 547,
};

/* Message types (RFC 8415 §7.3). */
enum {
	DHCP6_SOLICIT = 1,
	DHCP6_ADVERTISE = 2,
	DHCP6_REQUEST = 3,
	DHCP6_CONFIRM = 4,
	DHCP6_RENEW = 5,
	DHCP6_REBIND = 6,
	DHCP6_REPLY = 7,
	DHCP6_RELEASE = 8,
	DHCP6_DECLINE = 9,
	DHCP6_RECONFIGURE = 10,
	DHCP6_INFORMATION_REQUEST = 11,
};

/* Option codes (RFC 8415 §21, RFC 3646 for 23 and 24). */
enum {
	DHCP6_OPT_CLIENTID = 1,
	DHCP6_OPT_SERVERID = 2,
	DHCP6_OPT_IA_NA = 3,
	DHCP6_OPT_IAADDR = 5,
	DHCP6_OPT_ORO = 6,
	DHCP6_OPT_PREFERENCE = 7,
	DHCP6_OPT_ELAPSED_TIME = 8,
	DHCP6_OPT_STATUS_CODE = 13,
	DHCP6_OPT_RAPID_COMMIT = 14,
	DHCP6_OPT_DNS_SERVERS = 23,
	DHCP6_OPT_DOMAIN_LIST = 24,
};

/* Status codes (RFC 8415 §21.13). */
enum {
	DHCP6_STATUS_SUCCESS = 0,
	DHCP6_STATUS_UNSPEC_FAIL = 1,
	DHCP6_STATUS_NO_ADDRS_AVAIL = 2,
	DHCP6_STATUS_NO_BINDING = 3,
	DHCP6_STATUS_NOT_ON_LINK = 4,
	DHCP6_STATUS_USE_MULTICAST = 5,
};

/* Fixed limits: further addresses, servers, domains or ORO entries are ignored. */
#define DHCP6_DUID_MAX 130 /* 2-byte type + up to 128 bytes (RFC 8415 §11.1) */
#define DHCP6_DUID_LL_SIZE 10
#define DHCP6_MAX_IA_ADDRS 4
#define DHCP6_MAX_ORO 8
#define DHCP6_MAX_DNS 4
#define DHCP6_MAX_DOMAINS 4
#define DHCP6_DOMAIN_MAX 254 /* dotted text of a name of up to 255 wire bytes, + NUL */
#define DHCP6_STATUS_MESSAGE_MAX 128
/* Largest message the builder writes (every field at its limit). */
#define DHCP6_MAX_SIZE 3072

struct dhcp6_status {
	bool present;
	uint16_t code;
	/* the message when it fits (with its NUL) and has no control
	 * characters, else empty: it only ever goes to a log */
	char message[DHCP6_STATUS_MESSAGE_MAX];
};

struct dhcp6_ia_addr {
	struct in6_addr address;
	uint32_t preferred_s, valid_s;
	struct dhcp6_status status;
};

struct dhcp6_ia_na {
	uint32_t iaid, t1_s, t2_s;
	struct dhcp6_ia_addr addrs[DHCP6_MAX_IA_ADDRS];
	unsigned n_addrs;
	struct dhcp6_status status;
};

struct dhcp6_message {
	uint8_t type;
	uint32_t xid; /* 24 bits */
	uint8_t client_id[DHCP6_DUID_MAX];
	size_t client_id_len; /* 0: no Client Identifier */
	uint8_t server_id[DHCP6_DUID_MAX];
	size_t server_id_len; /* 0: no Server Identifier */
	bool has_ia_na; /* the first IA_NA; further ones are ignored */
	struct dhcp6_ia_na ia_na;
	uint16_t oro[DHCP6_MAX_ORO];
	unsigned n_oro;
	bool has_preference;
	uint8_t preference;
	bool has_elapsed;
	uint16_t elapsed_cs; /* hundredths of a second */
	struct dhcp6_status status;
	bool rapid_commit;
	struct in6_addr dns[DHCP6_MAX_DNS];
	unsigned n_dns;
	/* Domain Search List, dotted; names with characters other than
	 * letters, digits, '-' and '_' are dropped (they end up in resolv.conf) */
	char domains[DHCP6_MAX_DOMAINS][DHCP6_DOMAIN_MAX];
	unsigned n_domains;
};

/* Parse a client or server message (not a relay message) into out: 0, or
 * -EBADMSG when it is short, of an unknown or relay type, an option (or an
 * option nested in IA_NA or IA Address) runs past its container, a known
 * option has an impossible size, or the identifier options RFC 8415 §16
 * requires or forbids for its type are missing or present. */
int dhcp6_parse(const void *buf, size_t len, struct dhcp6_message *out);

/* Build m into buf: the length, -ENOBUFS when buf is too small
 * (DHCP6_MAX_SIZE is always enough), -EINVAL when m breaks the identifier
 * rules of dhcp6_parse, a DUID is longer than DHCP6_DUID_MAX, or a domain is
 * not a valid name. The status message is written when status.present. */
int dhcp6_build(const struct dhcp6_message *m, void *buf, size_t size);

/* DUID-LL (RFC 8415 §11.4) of an Ethernet address into out; returns its
 * length, DHCP6_DUID_LL_SIZE. */
size_t dhcp6_duid_ll(const uint8_t mac[6], uint8_t out[DHCP6_DUID_LL_SIZE]);

/* "Success", "NoAddrsAvail"... for logs; "unknown" otherwise. */
const char *dhcp6_status_name(uint16_t code);
/* "SOLICIT", "REPLY"... for logs; "unknown" otherwise. */
const char *dhcp6_type_name(uint8_t type);
