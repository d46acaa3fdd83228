/* SPDX-License-Identifier: MIT */
/*
 * The init's rtnetlink reply parsers over arbitrary bytes taken as one
 * datagram from the kernel: the message walk, every parser on every
 * message, and the datagram fed to a pending request the way nl_request
 * does. Besides not crashing, what they return must stay inside the buffer
 * and within the limits the callers rely on.
 */
#include <stdint.h>
#include <stdlib.h>

#include "netlink.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_link(const struct nlmsghdr *h, size_t len)
{
	struct nl_link l;

	if (nl_parse_link(h, len, &l) < 0)
		return;
	if (l.ifindex <= 0 || !memchr(l.name, '\0', sizeof(l.name)) || !l.name[0])
		abort();
}

static void check_addr(const struct nlmsghdr *h, size_t len)
{
	struct nl_addr a;

	if (nl_parse_addr(h, len, &a) < 0)
		return;
	if (a.ifindex <= 0 || (a.family != AF_INET && a.family != AF_INET6) ||
	    a.prefixlen > (a.family == AF_INET ? 32 : 128))
		abort();
}

static void check_ack(const struct nlmsghdr *h, size_t len)
{
	const uint8_t *start = (const uint8_t *)h;
	const char *msg;
	int error;

	if (nl_parse_ack(h, len, &error, &msg) < 0)
		return;
	if (error > 0 || error < -4095)
		abort();
	/* the message lies inside this message, NUL included */
	if (msg && ((const uint8_t *)msg < start ||
		    (const uint8_t *)msg + strlen(msg) >= start + len))
		abort();
}

static int on_reply(const struct nlmsghdr *h, size_t len, void *userdata)
{
	unsigned *calls = userdata;

	(*calls)++;
	check_link(h, len);
	check_addr(h, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so that any overread is caught;
	 * malloc's alignment is the one of a recv buffer */
	uint8_t *buf = xmalloc(size ? size : 1);
	const struct nlmsghdr *h;
	struct nl_reply reply = {};
	size_t off = 0, hlen;
	unsigned calls = 0;
	int r;

	memcpy(buf, data, size);

	while ((r = nl_next(buf, size, &off, &h, &hlen)) > 0) {
		if ((const uint8_t *)h < buf || hlen < sizeof(*h) ||
		    hlen > size - (size_t)((const uint8_t *)h - buf) || off > size)
			abort();
		check_link(h, hlen);
		check_addr(h, hlen);
		check_ack(h, hlen);
	}
	if (r != 0 && r != -EBADMSG)
		abort();

	/* answer the request the first message claims to answer */
	if (size >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr first;

		memcpy(&first, buf, sizeof(first));
		reply.seq = first.nlmsg_seq;
		reply.portid = first.nlmsg_pid;
	}
	reply.fn = on_reply;
	reply.userdata = &calls;
	r = nl_reply_feed(&reply, buf, size);
	if ((r != 0 && r != 1 && r != -EBADMSG) || reply.error > 0 ||
	    !memchr(reply.ext_ack, '\0', sizeof(reply.ext_ack)))
		abort();
	free(buf);
	return 0;
}
