"""A hostile DHCPv4 / router / DHCPv6 server for the guest OS tests.

Runs inside the test's network namespace (`ip netns exec NS python3
hostile_peer.py --ifname br0 --seconds 10`), on a raw AF_PACKET socket on the
bridge, and answers every DHCPDISCOVER and DHCPREQUEST, Router Solicitation
and DHCPv6 SOLICIT or REQUEST of the guest with a burst of malformed replies
(truncated headers, options running past the end, zero-length options,
impossible prefix lengths, too many entries) built byte by byte with struct.
Each burst also holds one well-formed reply, so that the guest's clients
move on to their next state (REQUEST after an OFFER, DHCPv6 after an RA with
M=1, REQUEST after an ADVERTISE) and meet the malformed replies there too.
Every second it also sends unsolicited malformed RAs.

It prints "ready" once listening, "seen KIND" the first time it sees each
kind of client message (discover, request4, rs, solicit, request6) and, at
the end (--seconds, or SIGTERM), one JSON line of counts.
"""
import argparse
import json
import signal
import socket
import struct
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4

PEER_MAC = bytes.fromhex("0200007700fe")
PEER_IP4 = bytes([10, 77, 0, 1])
PEER_LL6 = socket.inet_pton(socket.AF_INET6, "fe80::ff:fe77:fe")
BROADCAST_MAC = b"\xff" * 6
ALL_NODES_MAC = bytes.fromhex("333300000001")
ALL_NODES6 = socket.inet_pton(socket.AF_INET6, "ff02::1")
OFFERED4 = bytes([10, 77, 0, 66])
OFFERED6 = socket.inet_pton(socket.AF_INET6, "fd77::66")
DHCP_COOKIE = b"\x63\x82\x53\x63"


# ---- checksums and headers ----

def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(dst, ethertype, payload):
    return dst + PEER_MAC + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, *, ihl=5, total_len=None, flags_frag=0, bad_csum=False,
         options=b""):
    total = 20 + len(options) + len(payload) if total_len is None else total_len
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 0x1234, flags_frag, 64, proto, 0,
                      src, dst) + options
    csum = inet_checksum(hdr) ^ (0xFFFF if bad_csum else 0)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def udp4(src, dst, sport, dport, payload, *, length=None, bad_csum=False):
    ulen = 8 + len(payload) if length is None else length
    pseudo = src + dst + struct.pack("!BBH", 0, 17, 8 + len(payload))
    hdr = struct.pack("!HHHH", sport, dport, ulen, 0)
    csum = inet_checksum(pseudo + hdr + payload) or 0xFFFF
    if bad_csum:
        csum ^= 0x5555
    return struct.pack("!HHHH", sport, dport, ulen, csum) + payload


def ipv6(src, dst, next_header, payload, *, hop_limit=255, payload_len=None):
    plen = len(payload) if payload_len is None else payload_len
    return struct.pack("!IHBB16s16s", 6 << 28, plen, next_header, hop_limit, src, dst) + payload


def l4_checksum6(src, dst, proto, data):
    pseudo = src + dst + struct.pack("!IxxxB", len(data), proto)
    return inet_checksum(pseudo + data)


def icmp6(src, dst, body, *, bad_csum=False):
    """body: type, code, 2 zero checksum bytes, rest."""
    csum = l4_checksum6(src, dst, 58, body) ^ (0x1111 if bad_csum else 0)
    return body[:2] + struct.pack("!H", csum) + body[4:]


def udp6(src, dst, sport, dport, payload, *, bad_csum=False):
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    csum = l4_checksum6(src, dst, 17, hdr + payload) or 0xFFFF
    if bad_csum:
        csum ^= 0x2222
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), csum) + payload


# ---- DHCPv4 ----

def opt4(code, value):
    return bytes([code, len(value) & 0xFF]) + value


def bootp(xid, chaddr, options, *, yiaddr=OFFERED4, cookie=DHCP_COOKIE, sname=b"", file=b""):
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                      yiaddr, PEER_IP4, b"\0" * 4, chaddr + b"\0" * 10, sname, file)
    return hdr + cookie + options


def good_offer_options(msg_type):
    return (opt4(53, bytes([msg_type])) + opt4(54, PEER_IP4) + opt4(51, struct.pack("!I", 3600))
            + opt4(1, bytes([255, 255, 255, 0])) + opt4(3, PEER_IP4) + b"\xff")


def malformed_dhcp4(xid, chaddr, msg_type, nak):
    """Bootp payloads (UDP data) answering a DISCOVER (msg_type 2, OFFER) or
    a REQUEST (5, ACK); the last one of the list is well-formed. An answer
    to a REQUEST starts with a NAK (nak: the client starts over) or with a
    well-formed but hostile ACK (the client binds); either way, the rest
    meets the client in its next state."""
    t = bytes([msg_type])
    base = opt4(53, t) + opt4(54, PEER_IP4)
    many_dns = bytes([6, 252]) + PEER_IP4 * 63
    many_routes = b"".join(bytes([24, 10, 77, i]) + PEER_IP4 for i in range(30))
    garbage_overload = b"\x03\xff" + b"\x06\x7f" + b"\x01" * 20  # lengths past the field
    out = [
        bootp(xid, chaddr, b"")[:100],                                  # truncated header
        bootp(xid, chaddr, base + b"\xff")[:236],                       # cut in the cookie
        bootp(xid, chaddr, base + b"\xff", cookie=b"\x63\x82\x53\x00"),  # wrong cookie
        bootp(xid, chaddr, b"\x35\x00\xff"),                            # msg type of length 0
        bootp(xid, chaddr, opt4(53, t) + b"\x36\x04\x0a\x4d"),          # option cut short
        bootp(xid, chaddr, opt4(53, t) + b"\x03\xff" + PEER_IP4),       # length past the end
        bootp(xid, chaddr, base + b"\x01\x00\x03\x03\x0a\x4d\x00\x06\x05\x01\x02\x03\x04\x05"
              b"\x33\x02\x00\x01\xff"),                                 # odd option lengths
        bootp(xid, chaddr, base + opt4(121, b"\x21\x0a\x4d\x00\x01\x0a\x4d\x00\x01") + b"\xff"),
        bootp(xid, chaddr, base + opt4(121, b"\x18\x0a\x4d") + b"\xff"),  # route cut short
        bootp(xid, chaddr, base + b"\x79\x00\xff"),                       # empty option 121
        bootp(xid, chaddr, base + opt4(52, b"\x03") + b"\xff",
              sname=garbage_overload, file=garbage_overload),           # overload to garbage
        bootp(xid, chaddr, base + opt4(52, b"\x07") + b"\xff"),         # invalid overload
        bootp(xid, chaddr, base + opt4(51, struct.pack("!I", 3600))),   # no end option
        bootp(xid, chaddr, base + b"\x00" * 300),                       # pad, no end
        bootp(xid, chaddr, base + many_dns * 3 + b"\xff"),              # 189 DNS servers
        bootp(xid, chaddr, base + opt4(12, b"a\nb/../\x00\x1b[2J") + opt4(15, b"\xff" * 255)
              + opt4(12, b"x" * 255) + b"\xff"),                        # hostile names
        bootp(xid, chaddr, base + opt4(26, b"\x00\x00") + opt4(26, b"\x01") + b"\xff"),  # MTU
        bootp(xid, chaddr, base + opt4(1, bytes([255, 0, 255, 0])) + opt4(51, b"\0\0\0\0")
              + b"\xff", yiaddr=b"\xff\xff\xff\xff"),                   # absurd lease
        bootp(xid, chaddr, base + opt4(1, bytes([255, 255, 255, 0])) + opt4(51, b"\0\0\x0e\x10")
              + bytes([121, len(many_routes)]) + many_routes + many_dns + b"\xff",
              yiaddr=b"\0\0\0\0"),                                      # no address at all
    ]
    if msg_type == 5 and nak:
        out.insert(0, bootp(xid, chaddr, opt4(53, b"\x06") + b"\x38\x00\xff"))  # empty text
    elif msg_type == 5:
        # well-formed, but hostile: 30 routes, 63 DNS servers, a long domain
        out.insert(0, bootp(xid, chaddr, base + opt4(51, struct.pack("!I", 3600))
                            + opt4(1, bytes([255, 255, 255, 255]))
                            + bytes([121, len(many_routes)]) + many_routes + many_dns
                            + opt4(15, b"a." * 100) + b"\xff"))
    out.append(bootp(xid, chaddr, good_offer_options(msg_type)))
    return out


def dhcp4_frames(xid, chaddr, msg_type, nak=True):
    frames = []
    for i, payload in enumerate(malformed_dhcp4(xid, chaddr, msg_type, nak)):
        u = udp4(PEER_IP4, b"\xff" * 4, 67, 68, payload)
        frames.append(ether(BROADCAST_MAC, ETH_P_IP, ipv4(PEER_IP4, b"\xff" * 4, 17, u)))
        if i == 0:  # broken IP and UDP headers around a valid payload
            good = bootp(xid, chaddr, good_offer_options(msg_type))
            ok_udp = udp4(PEER_IP4, b"\xff" * 4, 67, 68, good)
            for ip in (ipv4(PEER_IP4, b"\xff" * 4, 17, ok_udp, total_len=2000),
                       ipv4(PEER_IP4, b"\xff" * 4, 17, ok_udp, total_len=12),
                       ipv4(PEER_IP4, b"\xff" * 4, 17, ok_udp, ihl=15),
                       ipv4(PEER_IP4, b"\xff" * 4, 17, ok_udp, ihl=3),
                       ipv4(PEER_IP4, b"\xff" * 4, 17, ok_udp, flags_frag=0x2000),
                       ipv4(PEER_IP4, b"\xff" * 4, 17, ok_udp, bad_csum=True),
                       ipv4(PEER_IP4, b"\xff" * 4, 17,
                            udp4(PEER_IP4, b"\xff" * 4, 67, 68, good, length=5000)),
                       ipv4(PEER_IP4, b"\xff" * 4, 17,
                            udp4(PEER_IP4, b"\xff" * 4, 67, 68, good, length=3)),
                       ipv4(PEER_IP4, b"\xff" * 4, 17,
                            udp4(PEER_IP4, b"\xff" * 4, 67, 68, good, bad_csum=True)),
                       ipv4(PEER_IP4, b"\xff" * 4, 17, ok_udp)[:30]):
                frames.append(ether(BROADCAST_MAC, ETH_P_IP, ip))
    return frames


def parse_dhcp4_request(frame):
    """(message type, xid, chaddr) of a client's DHCPv4 message, or None."""
    if len(frame) < 14 + 20 + 8 + 240 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP:
        return None
    ihl = (frame[14] & 0xF) * 4
    if frame[14 + 9] != 17:
        return None
    udp = 14 + ihl
    if struct.unpack_from("!H", frame, udp + 2)[0] != 67:
        return None
    b = frame[udp + 8:]
    if len(b) < 240 or b[0] != 1 or b[236:240] != DHCP_COOKIE:
        return None
    xid = struct.unpack_from("!I", b, 4)[0]
    chaddr = b[28:34]
    i = 240
    while i + 1 < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        if b[i] == 53 and b[i + 1] == 1 and i + 2 < len(b):
            return b[i + 2], xid, chaddr
        i += 2 + b[i + 1]
    return None


# ---- router advertisements ----

def ra_body(options, *, flags=0xC0, lifetime=1800, truncate=None):
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, flags, lifetime, 0, 0) + options
    return body if truncate is None else body[:truncate]


def prefix_option(prefix, length, *, flags=0xC0, optlen=4):
    body = struct.pack("!BBBBIII16s", 3, optlen, length, flags, 86400, 14400, 0, prefix)
    return body


def malformed_ras():
    """ICMPv6 bodies (checksum zero, filled in later); the last is well-formed
    with M=1, O=1 and no prefix, so that the guest starts DHCPv6."""
    pfx = socket.inet_pton(socket.AF_INET6, "fd77::")
    dns = socket.inet_pton(socket.AF_INET6, "fd77::53")
    many_rdnss = struct.pack("!BBHI", 25, 1 + 2 * 60, 0, 3600) + dns * 60
    return [
        ra_body(b"")[:8],                                               # shorter than an RA
        ra_body(b"\x01\x00" + b"\x00" * 6),                             # zero-length option
        ra_body(b"\x05\x01\x00\x00\x00\x00\x05\xdc" + b"\x19\x00" + b"\x00" * 6),
        ra_body(prefix_option(pfx, 64), truncate=16 + 10),              # prefix info cut short
        ra_body(prefix_option(pfx, 64, optlen=1)[:8]),                  # prefix info of 8 bytes
        ra_body(prefix_option(pfx, 200)),                               # prefix length 200
        ra_body(prefix_option(pfx, 0) + prefix_option(pfx, 128)),
        ra_body(prefix_option(pfx, 64, optlen=255)),                    # length past the end
        ra_body(b"\x05\x02\x00\x00\x00\x00\x00\x00" + b"\x00" * 8),     # MTU option of 16 bytes
        ra_body(b"\x05\x01\x00\x00\x00\x00\x00\x00"),                   # MTU 0
        ra_body(struct.pack("!BBHI", 25, 1, 0, 3600)),                  # RDNSS without servers
        ra_body(struct.pack("!BBHI", 25, 2, 0, 3600) + dns[:8]),        # half a server
        ra_body(many_rdnss),                                            # 60 servers
        ra_body(struct.pack("!BBBBI", 24, 4, 200, 0x18, 3600) + pfx[:8]),  # route info
        ra_body(b"\x01\x01\x02"),                                       # option cut short
        ra_body(b"".join(prefix_option(bytes([0xFD, 0x77, i]) + b"\0" * 13, 64)
                         for i in range(35))),                          # 35 prefixes
        ra_body(b"\x1f\x03" + b"\x07bad\xc0\x00\x3f" + b"\x00" * 14),   # DNSSL, bad names
        ra_body(b"\x01\x01" + PEER_MAC, flags=0xC0),                    # the good one
    ]


def ra_frames(dst_mac=ALL_NODES_MAC, dst=ALL_NODES6):
    frames = []
    bodies = malformed_ras()
    for i, body in enumerate(bodies):
        frames.append(ether(dst_mac, ETH_P_IPV6, ipv6(PEER_LL6, dst, 58,
                                                         icmp6(PEER_LL6, dst, body))))
    good = icmp6(PEER_LL6, dst, bodies[-1])
    # broken IPv6 around a good RA: wrong hop limit, global source, lengths
    frames.append(ether(dst_mac, ETH_P_IPV6, ipv6(PEER_LL6, dst, 58, good, hop_limit=64)))
    frames.append(ether(dst_mac, ETH_P_IPV6, ipv6(PEER_LL6, dst, 58, good, payload_len=4000)))
    frames.append(ether(dst_mac, ETH_P_IPV6, ipv6(PEER_LL6, dst, 58, good, payload_len=3)))
    frames.append(ether(dst_mac, ETH_P_IPV6,
                        ipv6(PEER_LL6, dst, 58, icmp6(PEER_LL6, dst, bodies[-1], bad_csum=True))))
    frames.append(ether(dst_mac, ETH_P_IPV6, ipv6(PEER_LL6, dst, 58, good))[:50])
    # keep the good one last: the guest's last word from us is M=1
    frames.append(ether(dst_mac, ETH_P_IPV6, ipv6(PEER_LL6, dst, 58, good)))
    return frames


# ---- DHCPv6 ----

def opt6(code, value):
    return struct.pack("!HH", code, len(value)) + value


SERVER_DUID = struct.pack("!HH", 3, 1) + PEER_MAC  # DUID-LL


def iaaddr(addr=OFFERED6, pref=3600, valid=7200, sub=b""):
    return opt6(5, addr + struct.pack("!II", pref, valid) + sub)


def ia_na(iaid, body, t1=1800, t2=2880):
    return opt6(3, iaid + struct.pack("!II", t1, t2) + body)


def malformed_dhcp6(msg_type, xid, client_id, iaid):
    """DHCPv6 messages answering a SOLICIT (msg_type 2, ADVERTISE) or a
    REQUEST (7, REPLY); the last of the list is well-formed."""
    head = bytes([msg_type]) + xid
    cid = opt6(1, client_id)
    sid = opt6(2, SERVER_DUID)
    dns = socket.inet_pton(socket.AF_INET6, "fd77::53")
    good = head + cid + sid + ia_na(iaid, iaaddr()) + opt6(23, dns)
    return [
        head[:3],                                                       # truncated header
        head + b"\x00\x01",                                             # option code cut
        head + struct.pack("!HH", 1, 400) + client_id,                  # length past the end
        head + opt6(1, b"") + opt6(2, b""),                             # empty DUIDs
        head + cid + opt6(2, b"\x00\x02" + b"\xaa" * 200),              # DUID too long
        head + cid + sid + opt6(3, iaid),                               # IA_NA of 4 bytes
        head + cid + sid + opt6(3, iaid + b"\0" * 8 + b"\x00\x05\x00\x40" + OFFERED6),
        head + cid + sid + ia_na(iaid, opt6(5, OFFERED6[:10])),         # IAADDR of 10 bytes
        head + cid + sid + ia_na(iaid, iaaddr(pref=7200, valid=0)),     # pref > valid, 0 valid
        head + cid + sid + ia_na(iaid, iaaddr(sub=opt6(13, b""))),      # empty status code
        head + cid + sid + ia_na(iaid, iaaddr()) + opt6(13, b"\x00"),   # status of 1 byte
        head + cid + sid + ia_na(iaid, iaaddr()) + opt6(13, b"\x00\x02" + b"\x1b" * 1000),
        head + cid + sid + ia_na(iaid, iaaddr()) + opt6(23, dns[:7]),   # half a DNS server
        head + cid + sid + ia_na(iaid, iaaddr()) + opt6(23, dns * 60),  # 60 DNS servers
        head + cid + sid + ia_na(iaid, b"".join(iaaddr(bytes([0xFD, 0x77] + [0] * 13 + [i]))
                                                for i in range(40))),  # 40 addresses
        head + cid + sid + ia_na(iaid, iaaddr()) + opt6(24, b"\x3f" + b"a" * 10),  # bad label
        head + cid + sid + ia_na(iaid, iaaddr()) + opt6(24, b"\xc0\x00"),  # compression ptr
        head + cid + sid + ia_na(b"\xde\xad\xbe\xef", iaaddr()),        # someone else's IAID
        head + cid + sid + ia_na(iaid, iaaddr(), t1=5000, t2=10),       # T1 > T2
        head + cid + sid + ia_na(iaid, iaaddr(addr=ALL_NODES6)),        # multicast address
        head + opt6(1, client_id[:-1] + b"\x00") + sid + ia_na(iaid, iaaddr()),  # not our DUID
        good,
    ]


def parse_dhcp6_request(frame):
    """(msg type, xid, client id, iaid, source ll, source mac) of a DHCPv6
    client message, or None."""
    if len(frame) < 14 + 40 + 8 + 4 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IPV6:
        return None
    if frame[14 + 6] != 17:
        return None
    src = frame[14 + 8:14 + 24]
    u = 14 + 40
    if struct.unpack_from("!H", frame, u + 2)[0] != 547:
        return None
    m = frame[u + 8:]
    msg_type, xid = m[0], m[1:4]
    client_id = iaid = None
    i = 4
    while i + 4 <= len(m):
        code, ln = struct.unpack_from("!HH", m, i)
        val = m[i + 4:i + 4 + ln]
        if code == 1:
            client_id = val
        elif code == 3 and len(val) >= 4:
            iaid = val[:4]
        i += 4 + ln
    if client_id is None:
        return None
    return msg_type, xid, client_id, iaid or b"\0\0\0\1", src, frame[6:12]


def dhcp6_frames(req):
    msg_type, xid, client_id, iaid, src, mac = req
    reply_type = 2 if msg_type == 1 else 7
    frames = []
    for payload in malformed_dhcp6(reply_type, xid, client_id, iaid):
        u = udp6(PEER_LL6, src, 547, 546, payload)
        frames.append(ether(mac, ETH_P_IPV6, ipv6(PEER_LL6, src, 17, u, hop_limit=64)))
    good = malformed_dhcp6(reply_type, xid, client_id, iaid)[-1]
    bad = udp6(PEER_LL6, src, 547, 546, good, bad_csum=True)
    frames.insert(0, ether(mac, ETH_P_IPV6, ipv6(PEER_LL6, src, 17, bad, hop_limit=64)))
    return frames


def is_router_solicitation(frame):
    return (len(frame) >= 14 + 40 + 4 and struct.unpack_from("!H", frame, 12)[0] == ETH_P_IPV6
            and frame[14 + 6] == 58 and frame[14 + 40] == 133)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ifname", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((args.ifname, 0))
    s.settimeout(0.1)
    counts = {"discover": 0, "request4": 0, "rs": 0, "solicit": 0, "request6": 0, "sent": 0}
    print("ready", flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    def seen(kind):
        counts[kind] += 1
        if counts[kind] == 1:
            print(f"seen {kind}", flush=True)

    def send(frames):
        for f in frames:
            s.send(f)
            counts["sent"] += 1

    deadline = time.monotonic() + args.seconds
    next_ra = 0.0
    while time.monotonic() < deadline and not stop:
        if time.monotonic() >= next_ra:
            send(ra_frames())
            next_ra = time.monotonic() + 1.0
        try:
            frame, addr = s.recvfrom(65536)
        except socket.timeout:
            continue
        if addr[2] == PACKET_OUTGOING:
            continue
        d4 = parse_dhcp4_request(frame)
        if d4 and d4[0] in (1, 3):
            seen("discover" if d4[0] == 1 else "request4")
            # the first REQUEST is NAKed, the next ones ACKed
            send(dhcp4_frames(d4[1], d4[2], 2 if d4[0] == 1 else 5,
                              nak=counts["request4"] == 1))
            continue
        if is_router_solicitation(frame):
            seen("rs")
            src = frame[14 + 8:14 + 24]
            if src == bytes(16):  # from "::": answer to all nodes
                send(ra_frames())
            else:
                send(ra_frames(frame[6:12], src))
            continue
        d6 = parse_dhcp6_request(frame)
        if d6 and d6[0] in (1, 3):
            seen("solicit" if d6[0] == 1 else "request6")
            send(dhcp6_frames(d6))
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
