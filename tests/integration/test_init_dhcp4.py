"""The guest init's DHCPv4 client (os/init/dhcp4_client.c) against a server
nobody here wrote: Debian's dnsmasq.

Each test makes two network namespaces joined by a veth pair: dnsmasq on the
server side (srv0, 10.0.0.1/24), and on the client side (cli0) the
dhcp4-driver, which runs the client on the host and prints one line per
event (tests/init/dhcp4_driver.c). Cases: a plain lease, the /32 + option 121
lease mvirt-net hands out, NAK in INIT-REBOOT, renewal at T1, rebinding at
T2, NAK at renewal, RELEASE, no server at all, and a lying server
(dhcp4_bad_server.py) next to dnsmasq. They need root, which our test
machines have.
"""
import ipaddress
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import SANITIZER_MARKERS, binary
from guest import Netns, read_text, wait_for_text

HERE = os.path.dirname(os.path.abspath(__file__))
DNSMASQ = "/usr/sbin/dnsmasq"
CLIENT_MAC = "02:00:00:d4:00:02"
RANGE = "10.0.0.10,10.0.0.50,255.255.255.0,2m"  # dnsmasq's shortest lease is 2 min

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

BOUND_RE = re.compile(
    r"^(?P<event>BOUND|RENEWED) (?P<address>\S+) mask (?P<mask>\S+) router (?P<router>\S+) "
    r"routes (?P<routes>\S+) dns (?P<dns>\S+) mtu (?P<mtu>\S+) lease (?P<lease>\d+) "
    r"t1 (?P<t1>\d+) t2 (?P<t2>\d+) server (?P<server>\S+) hostname (?P<hostname>\S+) "
    r"domain (?P<domain>\S+)$")


def parse_event(line):
    """A BOUND/RENEWED line as a dict, or {"event": line} for the others."""
    m = BOUND_RE.match(line)
    if not m:
        return {"event": line}
    ev = m.groupdict()
    for k in ("lease", "t1", "t2"):
        ev[k] = int(ev[k])
    return ev


class Driver:
    """dhcp4-driver in the client namespace, stdout and stderr in files."""

    def __init__(self, ns, tmp_path, args, tag):
        self.out = str(tmp_path / f"driver-{tag}.out")
        self.err = str(tmp_path / f"driver-{tag}.err")
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(ns.wrap([binary("dhcp4-driver"), *args, "cli0"]),
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        ns.procs.append(self.proc)
        self.started = time.monotonic()

    def lines(self):
        return read_text(self.out).splitlines()

    def stderr(self):
        return read_text(self.err)

    def wait_line(self, pattern, timeout):
        """Wait for a stdout line matching pattern; its match, or fail."""
        m = wait_for_text(self.out, pattern, timeout, self.proc)
        assert m, f"no line matching {pattern!r} within {timeout} s:\n{self.report()}"
        return m

    def finish(self, timeout=30):
        """Wait for the exit: status 0, no sanitizer report; the events."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"driver still running after {timeout} s:\n{self.report()}")
        bad = [m for m in SANITIZER_MARKERS if m in self.stderr()]
        assert rc == 0 and not bad, f"driver exit {rc}, sanitizer {bad}:\n{self.report()}"
        return [parse_event(line) for line in self.lines()]

    def report(self):
        return f"--- stdout ---\n{read_text(self.out)}--- stderr ---\n{self.stderr()}"


class Link:
    """Two namespaces joined by a veth pair; dnsmasq and peers on the server
    side, the driver on the client side."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.srv = Netns("dhcp4s")
        try:
            self.cli = Netns("dhcp4c")
        except Exception:
            self.srv.close()
            raise
        self.dnsmasq = None
        self.dnsmasq_runs = 0
        self.srv.ip("link", "add", "srv0", "type", "veth", "peer", "name", "cli0", "netns",
                    self.cli.name)
        self.srv.ip("addr", "add", "10.0.0.1/24", "dev", "srv0")
        self.srv.ip("link", "set", "srv0", "up")
        self.cli.ip("link", "set", "cli0", "address", CLIENT_MAC)
        self.cli.ip("link", "set", "cli0", "up")

    def start_dnsmasq(self, *extra):
        """dnsmasq serving RANGE on srv0, logging every DHCP detail."""
        self.dnsmasq_runs += 1
        self.dnsmasq_log = str(self.tmp / f"dnsmasq-{self.dnsmasq_runs}.log")
        argv = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--port=0", "--log-facility=-", "--log-dhcp", "--interface=srv0",
                "--bind-interfaces", "--pid-file=", "--user=root", "--leasefile-ro",
                "--no-ping", f"--dhcp-range={RANGE}", *extra]
        self.dnsmasq = self.srv.popen(argv, self.dnsmasq_log)
        if not wait_for_text(self.dnsmasq_log, r"started, version", 10, self.dnsmasq):
            raise AssertionError(f"dnsmasq did not start:\n{read_text(self.dnsmasq_log)}")

    def stop_dnsmasq(self):
        self.dnsmasq.terminate()
        self.dnsmasq.wait(timeout=10)

    def dnsmasq_text(self):
        return read_text(self.dnsmasq_log)

    def driver(self, *args, tag="main"):
        return Driver(self.cli, self.tmp, args, tag)

    def close(self):
        self.cli.close()
        self.srv.close()


@pytest.fixture
def link(tmp_path):
    ln = Link(tmp_path)
    yield ln
    ln.close()


def in_range(address):
    a = ipaddress.ip_address(address)
    return ipaddress.ip_address("10.0.0.10") <= a <= ipaddress.ip_address("10.0.0.50")


def test_plain_lease(link):
    """Address, mask, router, DNS, domain, MTU and the hostname dnsmasq
    assigns by MAC; our hostname goes out as option 12."""
    link.start_dnsmasq("--dhcp-option=option:router,10.0.0.1",
                       "--dhcp-option=option:dns-server,10.0.0.1,10.0.0.2",
                       "--dhcp-option=option:domain-name,example.test",
                       "--dhcp-option=option:mtu,1400",
                       f"--dhcp-host={CLIENT_MAC},10.0.0.42,guest")
    d = link.driver("--events", "1", "--hostname", "vm-one")
    events = d.finish()
    assert len(events) == 1, d.report()
    ev = events[0]
    assert ev["event"] == "BOUND", d.report()
    assert ev["address"] == "10.0.0.42"
    assert ev["mask"] == "255.255.255.0"
    assert ev["router"] == "10.0.0.1"
    assert ev["routes"] == "-"
    assert ev["dns"] == "10.0.0.1,10.0.0.2"
    assert ev["domain"] == "example.test"
    assert ev["mtu"] == "1400"
    assert ev["hostname"] == "guest"
    assert ev["server"] == "10.0.0.1"
    assert ev["lease"] == 120 and 0 < ev["t1"] < ev["t2"] < 120, ev
    # the server saw our client id, hostname and parameter request list
    log = link.dnsmasq_text()
    assert "client provides name: vm-one" in log, log
    assert re.search(r"requested options: .*121:classless-static-route", log), log
    assert f"DHCPACK(srv0) 10.0.0.42 {CLIENT_MAC} guest" in log, log


def test_slash32_with_classless_routes(link):
    """What mvirt-net hands out: a /32 and, by RFC 3442, an on-link host
    route to the gateway and the default route through it."""
    link.start_dnsmasq("--dhcp-option=option:netmask,255.255.255.255",
                       "--dhcp-option=121,0.0.0.0/0,169.254.0.1,169.254.0.1/32,0.0.0.0",
                       "--dhcp-option=option:dns-server,1.1.1.1")
    d = link.driver("--events", "1")
    ev = d.finish()[0]
    assert ev["event"] == "BOUND", d.report()
    assert in_range(ev["address"])
    assert ev["mask"] == "255.255.255.255"
    assert ev["routes"] == "0.0.0.0/0>169.254.0.1,169.254.0.1/32>0.0.0.0"
    assert ev["dns"] == "1.1.1.1"


def test_nak_in_init_reboot_then_discover(link):
    """Asking an authoritative server for an address of another network
    (INIT-REBOOT) gets a NAK; the client starts over and gets a lease."""
    link.start_dnsmasq("--dhcp-authoritative")
    d = link.driver("--events", "1", "--request", "10.9.9.9")
    ev = d.finish()[0]
    assert ev["event"] == "BOUND" and in_range(ev["address"]), d.report()
    assert "NAK (rebooting): wrong network" in d.stderr(), d.report()
    log = link.dnsmasq_text()
    assert f"DHCPNAK(srv0) 10.9.9.9 {CLIENT_MAC}" in log, log
    assert f"DHCPACK(srv0) {ev['address']} {CLIENT_MAC}" in log, log


def test_renewal_at_t1(link):
    """dnsmasq sends T1/T2 given as options: renewals (unicast, from the
    configured address) come every T1 and keep the address."""
    link.start_dnsmasq("--dhcp-option=option:T1,2", "--dhcp-option=option:T2,5")
    d = link.driver("--events", "3", "--configure", "--debug")
    events = d.finish(timeout=40)
    assert [e["event"] for e in events] == ["BOUND", "RENEWED", "RENEWED"], d.report()
    assert len({e["address"] for e in events}) == 1
    t1 = events[0]["t1"]
    assert 0 < t1 < events[0]["t2"] < events[0]["lease"], events[0]
    assert t1 <= 5, f"dnsmasq did not send our T1: {events[0]}"
    assert "sent REQUEST (renewing)" in d.stderr(), d.report()
    requests = re.findall(rf"DHCPREQUEST\(srv0\) {events[0]['address']} ", link.dnsmasq_text())
    assert len(requests) >= 3


def test_rebinding_at_t2(link):
    """The server is gone at T1: the unicast renewal goes unanswered, and at
    T2 a broadcast REQUEST reaches a new server, which extends the lease."""
    link.start_dnsmasq("--dhcp-option=option:T1,2", "--dhcp-option=option:T2,6")
    d = link.driver("--events", "2", "--configure", "--debug", "--timeout", "40")
    bound = parse_event(d.wait_line(r"^BOUND .*$", 15).group(0))
    link.stop_dnsmasq()
    assert wait_for_text(d.err, r"sent REQUEST \(renewing\)", 15, d.proc), d.report()
    # authoritative: it does not know the lease but the address is in its range
    link.start_dnsmasq("--dhcp-authoritative", "--dhcp-option=option:T1,2",
                       "--dhcp-option=option:T2,6")
    events = d.finish(timeout=40)
    assert [e["event"] for e in events] == ["BOUND", "RENEWED"], d.report()
    assert events[1]["address"] == bound["address"]
    assert "sent REQUEST (rebinding)" in d.stderr(), d.report()
    assert f"DHCPACK(srv0) {bound['address']}" in link.dnsmasq_text()


def test_nak_at_renewal_loses_the_lease(link):
    """At renewal a server that no longer hands out our address says NAK:
    the lease is lost (LOST), and DISCOVER finds a new one."""
    link.start_dnsmasq("--dhcp-option=option:T1,2", "--dhcp-option=option:T2,6",
                       f"--dhcp-host={CLIENT_MAC},10.0.0.42")
    d = link.driver("--events", "3", "--configure", "--timeout", "40")
    d.wait_line(r"^BOUND 10\.0\.0\.42 ", 15)
    link.stop_dnsmasq()
    link.start_dnsmasq("--dhcp-authoritative", f"--dhcp-host={CLIENT_MAC},10.0.0.43")
    events = d.finish(timeout=40)
    assert [e["event"] for e in events] == ["BOUND", "LOST 10.0.0.42", "BOUND"], d.report()
    assert events[2]["address"] == "10.0.0.43"
    assert "NAK (renewing)" in d.stderr(), d.report()


def test_release(link):
    """RELEASE goes to the server, which frees the lease."""
    link.start_dnsmasq()
    d = link.driver("--events", "1", "--configure", "--release")
    events = d.finish()
    assert events[0]["event"] == "BOUND", d.report()
    assert events[1]["event"] == "RELEASED 0", d.report()
    addr = events[0]["address"]
    assert wait_for_text(link.dnsmasq_log, rf"DHCPRELEASE\(srv0\) {re.escape(addr)} ", 5), \
        link.dnsmasq_text()


def test_no_server_then_server(link):
    """No answer: NO_LEASE once after 10 s, and the client keeps trying, so
    a server that appears later still gives it a lease."""
    d = link.driver("--events", "2", "--timeout", "45")
    d.wait_line(r"^NO_LEASE$", 15)
    assert time.monotonic() - d.started >= 9
    link.start_dnsmasq()
    events = d.finish(timeout=45)
    assert [e["event"] for e in events] == ["NO_LEASE", "BOUND"], d.report()


def test_lying_server_is_ignored(link):
    """A server that answers with malformed and foreign replies (see
    dhcp4_bad_server.py): the client takes none of them, follows its one
    good OFFER to a NAK, and ends with dnsmasq's lease."""
    peer_out = str(link.tmp / "peer.out")
    peer = link.srv.popen([sys.executable, os.path.join(HERE, "dhcp4_bad_server.py"),
                           "--ifname", "srv0", "--client-mac", CLIENT_MAC], peer_out)
    assert wait_for_text(peer_out, r"^ready$", 10, peer), read_text(peer_out)
    d = link.driver("--events", "1", "--timeout", "40")
    assert wait_for_text(peer_out, r"^nak$", 15, peer), read_text(peer_out) + d.report()
    link.start_dnsmasq()
    events = d.finish(timeout=40)
    assert len(events) == 1 and events[0]["event"] == "BOUND", d.report()
    assert in_range(events[0]["address"]) and events[0]["server"] == "10.0.0.1", d.report()
    assert "NAK (requesting): go away" in d.stderr(), d.report()
    # the only REQUESTs: the bait's, then dnsmasq's offer
    requests = re.findall(r"^request (\S+) (\S+)$", read_text(peer_out), re.M)
    assert requests[0] == ("10.0.0.99", "10.0.0.66"), read_text(peer_out)
    assert all(srv == "10.0.0.1" for _, srv in requests[1:]), read_text(peer_out)
    assert peer.poll() is None, read_text(peer_out)
