"""A DHCPv4 server that only lies, for test_init_dhcp4.py.

Runs in the server's network namespace (`ip netns exec NS python3
dhcp4_bad_server.py --ifname srv0 --client-mac 02:...`) on an AF_PACKET
socket, and answers the client's messages with frames built byte by byte:

- every DISCOVER: OFFERs that must all be ignored: malformed (options past
  the end, option 121 with bad widths, huge lengths, wrong lengths, bad
  overload), well-formed but not for this client (xid, chaddr, op, type) or
  not usable (no server id, unusable addresses), and good OFFERs in broken
  IPv4/UDP framing (checksums, fragments, lengths, ports, protocol);
- the first DISCOVER also gets one good OFFER, the bait: 10.0.0.99 from
  10.0.0.66;
- a REQUEST for the bait: ACKs and NAKs that must be ignored, then a good
  NAK ("go away") that sends the client back to DISCOVER.

Every address a wrongly accepted reply would hand out is 10.0.0.99 or
10.0.0.2xx, and every server id 10.0.0.66 or 10.0.0.77, so the test can tell.
It prints "ready", then "discover XID", "request REQUESTED SERVER" for each
client message and "nak" after the good NAK.
"""
import argparse
import signal
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
PEER_MAC = bytes.fromhex("020000aa0066")
BAIT_SERVER = bytes([10, 0, 0, 66])
OTHER_SERVER = bytes([10, 0, 0, 77])
BAIT_ADDRESS = bytes([10, 0, 0, 99])
BROADCAST = b"\xff" * 4
COOKIE = bytes([99, 130, 83, 99])


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(payload, *, src=BAIT_SERVER, sport=67, dport=68, proto=17, version=4,
             frag=0, total_len=None, udp_len=None, bad_ip_csum=False, bad_udp_csum=False):
    """An IPv4 packet carrying a UDP datagram, each field overridable."""
    ulen = 8 + len(payload) if udp_len is None else udp_len
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    pseudo = src + BROADCAST + struct.pack("!BBH", 0, 17, len(udp))
    ucsum = (checksum(pseudo + udp) or 0xFFFF) ^ (0x4242 if bad_udp_csum else 0)
    udp = udp[:6] + struct.pack("!H", ucsum) + udp[8:]
    total = 20 + len(udp) if total_len is None else total_len
    hdr = struct.pack("!BBHHHBBH4s4s", version << 4 | 5, 0, total, 0, frag, 64, proto, 0, src,
                      BROADCAST)
    csum = checksum(hdr) ^ (0x0101 if bad_ip_csum else 0)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + udp


def opt(code, value):
    return bytes([code, len(value)]) + value


def bootp(xid, chaddr, options, *, op=2, yiaddr=BAIT_ADDRESS, hlen=6, sname=b"", file=b""):
    """RFC 2131 §2: the fixed header, the cookie, then options as given."""
    return (struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, hlen, 0, xid, 0, 0x8000,
                        b"\0" * 4, yiaddr, b"\0" * 4, b"\0" * 4, chaddr.ljust(16, b"\0"),
                        sname, file) + COOKIE + options)


def lease_opts(msg_type, server=BAIT_SERVER):
    return (opt(53, bytes([msg_type])) + opt(54, server) + opt(51, struct.pack("!I", 600))
            + opt(1, bytes([255, 255, 255, 0])))


def addr(n):
    return bytes([10, 0, 0, n])


def bad_offers(xid, chaddr):
    """IPv4 packets answering a DISCOVER; the client must take none."""
    good = lease_opts(2)
    out = []
    # malformed DHCP: the parser must refuse each (distinct addresses, in case)
    malformed = [
        good + b"\xff",                                         # (cut below to 100 bytes)
        good + opt(43, b"x") + b"\x03\xff" + addr(1),          # length past the end
        good + opt(121, bytes([33, 10, 0, 0, 0, 10, 0, 0, 1])),  # width 33
        good + opt(121, bytes([255, 1, 2, 3, 4])),             # width 255
        good + opt(121, bytes([24, 10, 0])),                   # destination cut
        good + opt(121, bytes([0, 10, 0, 0])),                 # gateway cut
        good + opt(121, b""),                                  # empty
        good + opt(121, bytes([0, 10, 0, 0, 1, 8])),           # stray byte after a route
        good + b"\x2b\xff" + b"y" * 10,                        # 255 bytes announced, 10 there
        opt(53, b"\x02\x02") + opt(54, BAIT_SERVER) + b"\xff",  # type of 2 bytes
        opt(53, b"\x02") + opt(54, BAIT_SERVER[:3]) + b"\xff",  # server id of 3 bytes
        good + opt(51, b"\0\0\0\0\0") + b"\xff",               # lease of 5 bytes (twice)
        good + opt(52, b"\x07") + b"\xff",                     # overload 7
        good + opt(6, b"\x01\x01\x01\x01\x02\x02") + b"\xff",  # DNS of 6 bytes
        good + opt(3, b"") + b"\xff",                          # router of 0 bytes
        good + b"\x0c",                                        # a lone code at the end
    ]
    for i, options in enumerate(malformed):
        b = bootp(xid, chaddr, options, yiaddr=addr(200 + i))
        if i == 0:
            b = b[:100]
        out.append(ipv4_udp(b))
    out.append(ipv4_udp(bootp(xid, chaddr, good + opt(52, b"\x03") + b"\xff",
                              yiaddr=addr(220), sname=b"\x03\x7f" + b"\x01" * 20,
                              file=b"\x06\xff")))             # overload to garbage
    out.append(ipv4_udp(bootp(xid, chaddr, b"\x00" * 5 + b"\x35", yiaddr=addr(221))))
    # well-formed, not ours or not usable
    out += [
        ipv4_udp(bootp(xid ^ 1, chaddr, good + b"\xff", yiaddr=addr(230))),        # xid
        ipv4_udp(bootp(xid, b"\x02" * 6, good + b"\xff", yiaddr=addr(231))),       # chaddr
        ipv4_udp(bootp(xid, chaddr, good + b"\xff", op=1, yiaddr=addr(232))),      # a request
        ipv4_udp(bootp(xid, chaddr, good + b"\xff", hlen=16, yiaddr=addr(233))),   # hlen
        ipv4_udp(bootp(xid, chaddr, lease_opts(5) + b"\xff", yiaddr=addr(234))),   # an ACK
        ipv4_udp(bootp(xid, chaddr, opt(53, b"\x02") + b"\xff", yiaddr=addr(235))),  # no id
        ipv4_udp(bootp(xid, chaddr, good + b"\xff", yiaddr=b"\0\0\0\0")),
        ipv4_udp(bootp(xid, chaddr, good + b"\xff", yiaddr=b"\xff\xff\xff\xff")),
        ipv4_udp(bootp(xid, chaddr, good + b"\xff", yiaddr=bytes([127, 0, 0, 5]))),
        ipv4_udp(bootp(xid, chaddr, good + b"\xff", yiaddr=bytes([224, 0, 0, 5]))),
        ipv4_udp(bootp(xid, chaddr, b"", yiaddr=addr(236))),  # no options at all
    ]
    # a good OFFER in broken framing
    def offer(n):
        return bootp(xid, chaddr, good + b"\xff", yiaddr=addr(n))
    out += [
        ipv4_udp(offer(240), bad_ip_csum=True),
        ipv4_udp(offer(241), frag=0x2000),                     # more fragments
        ipv4_udp(offer(242), frag=0x0010),                     # a later fragment
        ipv4_udp(offer(243), total_len=2000),
        ipv4_udp(offer(244), total_len=30),
        ipv4_udp(offer(245), udp_len=5000),
        ipv4_udp(offer(246), udp_len=7),
        ipv4_udp(offer(247), bad_udp_csum=True),
        ipv4_udp(offer(248), sport=1234),
        ipv4_udp(offer(249), dport=69),
        ipv4_udp(offer(250), proto=6),
        ipv4_udp(offer(251), version=6),
        ipv4_udp(offer(252))[:30],
        b"\x45",
    ]
    return out


def bad_answers_to_request(xid, chaddr):
    """Answers to the REQUEST for the bait that must be ignored, then the NAK
    that must not."""
    good = lease_opts(5)
    return [
        ipv4_udp(bootp(xid, chaddr, good + opt(121, bytes([40, 0, 0, 0, 0, 0])) + b"\xff")),
        ipv4_udp(bootp(xid, chaddr, good + b"\x06\x08" + addr(1))),
        ipv4_udp(bootp(xid, chaddr, good + opt(51, b"\0\0\x10") + b"\xff")),
        ipv4_udp(bootp(xid, chaddr, good + b"\xff", yiaddr=b"\0\0\0\0")),
        ipv4_udp(bootp(xid, chaddr, opt(53, b"\x05") + opt(51, b"\0\0\x10\0") + b"\xff")),
        ipv4_udp(bootp(xid, chaddr, lease_opts(5, OTHER_SERVER) + b"\xff")),  # not chosen
        ipv4_udp(bootp(xid, chaddr, opt(53, b"\x06") + opt(54, OTHER_SERVER) + b"\xff",
                       yiaddr=b"\0\0\0\0")),                                  # its NAK
        ipv4_udp(bootp(xid ^ 0x100, chaddr, good + b"\xff")),
        ipv4_udp(bootp(xid, chaddr, good + b"\xff"), bad_udp_csum=True),
        ipv4_udp(bootp(xid, chaddr, opt(53, b"\x06") + opt(54, BAIT_SERVER)
                       + opt(56, b"go away") + b"\xff", yiaddr=b"\0\0\0\0")),
    ]


def client_message(packet, client_mac):
    """(type, xid, requested ip, server id) of the client's DHCP message in an
    IPv4 packet, or None."""
    if len(packet) < 28 + 240 or packet[0] >> 4 != 4 or packet[9] != 17:
        return None
    ihl = (packet[0] & 0xF) * 4
    if struct.unpack_from("!H", packet, ihl + 2)[0] != 67:
        return None
    b = packet[ihl + 8:]
    if len(b) < 240 or b[0] != 1 or b[28:34] != client_mac or b[236:240] != COOKIE:
        return None
    opts, i = {}, 240
    while i + 1 < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        opts[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    msg_type = opts.get(53, b"\0")[0]
    return msg_type, struct.unpack_from("!I", b, 4)[0], opts.get(50), opts.get(54)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ifname", required=True)
    ap.add_argument("--client-mac", required=True)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    client_mac = bytes.fromhex(args.client_mac.replace(":", ""))

    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    s.bind((args.ifname, ETH_P_IP))
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    print("ready", flush=True)

    def send(packets):
        for p in packets:
            try:
                s.sendto(p, (args.ifname, ETH_P_IP, 0, 1, b"\xff" * 6))
            except OSError as e:  # the kernel may refuse the shortest ones
                print(f"send failed: {e}", flush=True)

    baited = False
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and not stop:
        try:
            packet, sa = s.recvfrom(65536)
        except socket.timeout:
            continue
        except OSError:  # the link went away: the test is over
            break
        if sa[2] == socket.PACKET_OUTGOING:
            continue
        m = client_message(packet, client_mac)
        if m is None:
            continue
        msg_type, xid, requested, server = m
        if msg_type == 1:
            print(f"discover {xid:08x}", flush=True)
            send(bad_offers(xid, client_mac))
            if not baited:
                baited = True
                send([ipv4_udp(bootp(xid, client_mac, lease_opts(2) + b"\xff"))])
        elif msg_type == 3:
            req = socket.inet_ntoa(requested) if requested and len(requested) == 4 else "-"
            srv = socket.inet_ntoa(server) if server and len(server) == 4 else "-"
            print(f"request {req} {srv}", flush=True)
            if requested == BAIT_ADDRESS and server == BAIT_SERVER:
                send(bad_answers_to_request(xid, client_mac))
                print("nak", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
