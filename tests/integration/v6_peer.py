#!/usr/bin/python3
"""A hostile IPv6 peer for test_init_ipv6.py, run inside the server's network
namespace: it sends malformed Router Advertisements and answers DHCPv6 with
malformed ADVERTISE/REPLY messages before (or instead of) proper ones.

Bytes are built by hand with struct (scapy is not available). Every
malformed message carries an address or prefix under fd00:bad::/32, so a
client that accepted one would show it.

    v6_peer.py ra IFNAME                 malformed RAs, then a valid one, in a loop
    v6_peer.py dhcp6 IFNAME              RA with M, malformed DHCPv6 answers, then
                                         a lease with T1 2 s, T2 3 s (renewals)
    v6_peer.py dhcp6-norenew IFNAME      like dhcp6, but RENEW and REBIND go unanswered
    v6_peer.py dhcp6-noaddrs IFNAME      RA with M, ADVERTISE with NoAddrsAvail

It prints one line per DHCPv6 message received ("got SOLICIT" ...) and runs
until killed.
"""
import select
import socket
import struct
import sys
import time

SO_BINDTODEVICE = 25
ALL_NODES = "ff02::1"
ALL_DHCP = "ff02::1:2"
TYPES = {1: "SOLICIT", 2: "ADVERTISE", 3: "REQUEST", 5: "RENEW", 6: "REBIND", 7: "REPLY",
         8: "RELEASE"}
SERVER_DUID = struct.pack("!HH", 3, 1) + bytes([0x02, 0, 0, 0, 0, 0x99])
LEASE_ADDR = "fd00:1::77"


def a6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def ra(flags=0, options=b"", hop_limit=64, lifetime=0, code=0):
    """An RA with checksum 0 (the kernel fills it in on raw ICMPv6 sockets)."""
    return struct.pack("!BBHBBHII", 134, code, 0, hop_limit, flags, lifetime, 0, 0) + options


def prefix_opt(prefix, length=64, flags=0xC0, valid=600, preferred=300, opt_len=4):
    body = struct.pack("!BBII4x", length, flags, valid, preferred) + a6(prefix)
    return struct.pack("!BB", 3, opt_len) + body


def rdnss_opt(*servers, opt_len=None):
    body = struct.pack("!HI", 0, 600) + b"".join(a6(s) for s in servers)
    return struct.pack("!BB", 25, opt_len if opt_len is not None else 1 + 2 * len(servers)) + body


def ra_socket(ifname, hops=255, source=None):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
    if source:
        s.bind((source, 0))
    return s


class RaSender:
    def __init__(self, ifname):
        self.ifindex = socket.if_nametoindex(ifname)
        self.good = ra_socket(ifname)
        self.low_hops = ra_socket(ifname, hops=64)
        self.global_src = ra_socket(ifname, source="fd00:1::1")

    def send(self, sock, msg):
        sock.sendto(msg, (ALL_NODES, 0, 0, self.ifindex))

    def malformed(self):
        bad = [
            # an option of length 0 (RFC 4861 §4.6: drop the whole packet)
            ra(options=prefix_opt("fd00:bad:1::") + b"\x01\x00" + bytes(6)),
            # a prefix option of 24 bytes instead of 32
            ra(options=prefix_opt("fd00:bad:2::", opt_len=3)[:24]),
            # the message ends inside the prefix option
            ra(options=prefix_opt("fd00:bad:3::")[:20]),
            # RDNSS claiming 40 bytes, carrying 24
            ra(options=prefix_opt("fd00:bad:4::") + rdnss_opt("fd00:bad::53", opt_len=5)),
            # non-zero code
            ra(options=prefix_opt("fd00:bad:5::"), code=1),
            # shorter than the fixed header
            ra()[:12],
        ]
        for msg in bad:
            self.send(self.good, msg)
        # well-formed, but with hop limit 64: forwarded, not from the link
        self.send(self.low_hops, ra(options=prefix_opt("fd00:bad:6::"), lifetime=600))
        # well-formed, but from a global source address
        self.send(self.global_src, ra(options=prefix_opt("fd00:bad:7::"), lifetime=600))

    def valid(self, managed):
        flags = 0xC0 if managed else 0
        opts = prefix_opt("fd00:1::", flags=0x80 if managed else 0xC0) + rdnss_opt("fd00:1::53")
        self.send(self.good, ra(flags=flags, options=opts, lifetime=600))


def opt(code, body=b""):
    return struct.pack("!HH", code, len(body)) + body


def parse_client_message(data):
    """(type, xid bytes, client id, iaid) of a client's message; raises on garbage."""
    mtype, xid = data[0], data[1:4]
    client_id, iaid, off = None, None, 4
    while off + 4 <= len(data):
        code, length = struct.unpack_from("!HH", data, off)
        body = data[off + 4:off + 4 + length]
        if code == 1:
            client_id = body
        elif code == 3:
            iaid = struct.unpack_from("!I", body)[0]
        off += 4 + length
    return mtype, xid, client_id, iaid


def ia_na(iaid, t1, t2, addr=None, inner=b"", length=None):
    body = struct.pack("!III", iaid, t1, t2)
    if addr:
        body += opt(5, a6(addr) + struct.pack("!II", 6, 8))
    body += inner
    head = struct.pack("!HH", 3, len(body) if length is None else length)
    return head + body


def answers(mtype, xid, cid, iaid, mode):
    """The datagrams to send back for one client message, bad ones first."""
    if mtype == 8:  # RELEASE
        return [bytes([7]) + xid + opt(2, SERVER_DUID) + opt(1, cid) + opt(13, b"\x00\x00")]
    ids = opt(2, SERVER_DUID) + opt(1, cid)
    if mode == "dhcp6-norenew" and mtype in (5, 6):
        return []
    if mode == "dhcp6-noaddrs":
        if mtype != 1:
            return []
        return [bytes([2]) + xid + ids + ia_na(iaid, 0, 0, inner=opt(13, b"\x00\x02none left"))]
    reply_type = 2 if mtype == 1 else 7
    good = ia_na(iaid, 2, 3, LEASE_ADDR) + opt(23, a6("fd00:1::53"))
    other_xid = bytes([xid[0] ^ 0xFF]) + xid[1:]
    bad = [
        # IA_NA of 8 bytes (IAID, T1 and T2 take 12)
        bytes([reply_type]) + xid + ids + struct.pack("!HH", 3, 8) + struct.pack("!II", iaid, 2),
        # an option running past the end of the message
        bytes([reply_type]) + xid + ids + ia_na(iaid, 2, 3, "fd00:bad::1") + struct.pack("!HH", 23, 64)
        + a6("fd00:bad::53"),
        # the IA address option running past its IA_NA
        bytes([reply_type]) + xid + ids + ia_na(iaid, 2, 3, "fd00:bad::2", length=20)
        + opt(23, a6("fd00:bad::53")),
        # another transaction
        bytes([reply_type]) + other_xid + ids + ia_na(iaid, 2, 3, "fd00:bad::3"),
        # another client
        bytes([reply_type]) + xid + opt(2, SERVER_DUID) + opt(1, b"\x00\x03\x00\x01abcdef")
        + ia_na(iaid, 2, 3, "fd00:bad::4"),
        # another IAID
        bytes([reply_type]) + xid + ids + ia_na(iaid ^ 1, 2, 3, "fd00:bad::5"),
    ]
    return bad + [bytes([reply_type]) + xid + ids + good]


def run_dhcp6(ifname, mode):
    ras = RaSender(ifname)
    ifindex = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
    s.bind(("::", 547))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                 a6(ALL_DHCP) + struct.pack("@I", ifindex))
    next_ra = 0
    while True:
        now = time.monotonic()
        if now >= next_ra:
            ras.valid(managed=True)
            next_ra = now + 1
        ready, _, _ = select.select([s], [], [], 0.2)
        if not ready:
            continue
        data, peer = s.recvfrom(4096)
        try:
            mtype, xid, cid, iaid = parse_client_message(data)
        except (IndexError, struct.error):
            print("got garbage", flush=True)
            continue
        print("got", TYPES.get(mtype, str(mtype)), flush=True)
        if cid is None or (iaid is None and mtype != 8):
            continue
        for msg in answers(mtype, xid, cid, iaid or 0, mode):
            s.sendto(msg, peer)


def run_ra(ifname):
    ras = RaSender(ifname)
    while True:
        ras.malformed()
        ras.valid(managed=False)
        time.sleep(0.3)


def main():
    mode, ifname = sys.argv[1], sys.argv[2]
    if mode == "ra":
        run_ra(ifname)
    else:
        run_dhcp6(ifname, mode)


if __name__ == "__main__":
    main()
