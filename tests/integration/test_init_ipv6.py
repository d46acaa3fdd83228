"""The init's IPv6 clients (os/init/ra.c, os/init/dhcp6_client.c), run by
tests/init/v6_driver.c on one end of a veth pair between two network
namespaces, against servers nobody here wrote: Debian's dnsmasq (RA with
stateful DHCPv6, and RA for SLAAC only). Then against a hostile peer
(v6_peer.py) that sends malformed RAs and DHCPv6 answers first: the client
must ignore them and keep working.

The client side keeps IPv6 DAD on, so the driver starts while its link-local
address is still tentative, as the init does at boot. Needs root.
"""
import ipaddress
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest

from conftest import SANITIZER_MARKERS, binary

DNSMASQ = "/usr/sbin/dnsmasq"
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v6_peer.py")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, raw sockets)"),
    pytest.mark.skipif(not os.access(DNSMASQ, os.X_OK), reason="dnsmasq (dnsmasq-base) missing"),
]


def run(*argv):
    subprocess.run(argv, check=True, capture_output=True)


class Link:
    """Namespaces <server> and <client> joined by a veth: v6s0 on the server
    side (fd00:1::1/64, DAD off: the servers start at once) and v6c0 on the
    client side, down until client_up()."""

    def __init__(self):
        tag = uuid.uuid4().hex[:8]
        self.server_ns, self.client_ns = "mv6s-" + tag, "mv6c-" + tag
        run("ip", "netns", "add", self.server_ns)
        run("ip", "netns", "add", self.client_ns)
        run("ip", "link", "add", "v6s0", "netns", self.server_ns, "type", "veth",
            "peer", "name", "v6c0", "netns", self.client_ns)
        self.server("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.v6s0.accept_dad=0")
        self.server("ip", "addr", "add", "fd00:1::1/64", "dev", "v6s0")
        self.server("ip", "link", "set", "v6s0", "up")

    def server(self, *argv):
        run("ip", "netns", "exec", self.server_ns, *argv)

    def client_up(self):
        run("ip", "-n", self.client_ns, "link", "set", "v6c0", "up")

    def server_link_local(self, timeout=5):
        """The server's fe80:: address (it appears once the link has carrier)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["ip", "-n", self.server_ns, "-6", "-o", "addr", "show", "dev",
                                  "v6s0", "scope", "link"], capture_output=True, text=True).stdout
            m = re.search(r"inet6 (fe80::[0-9a-f:]+)/64", out)
            if m:
                return m.group(1)
            time.sleep(0.1)
        raise AssertionError("no link-local address on the server side")

    def client_addresses(self):
        return subprocess.run(["ip", "-n", self.client_ns, "-6", "-o", "addr", "show", "dev",
                               "v6c0"], capture_output=True, text=True).stdout

    def close(self):
        for ns in (self.client_ns, self.server_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def link():
    lk = Link()
    yield lk
    lk.close()


class Process:
    """A process in a namespace whose stdout lines are collected as they come."""

    def __init__(self, ns, argv, stderr_path):
        self._stderr = open(stderr_path, "w+")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        self.lines = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, pattern, timeout=15):
        """The first line matching pattern (a regex match object); fails after timeout."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        with self._cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r} in {self.lines}\n"
                                         f"stderr:\n{self.stderr()}")
                self._cond.wait(min(left, 0.2))

    def stderr(self):
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.proc.args} did not stop on {sig}")
        self._reader.join(5)
        return self.proc.returncode


class Driver(Process):
    def __init__(self, link, tmp_path, *args):
        super().__init__(link.client_ns, [binary("v6-driver"), "--verbose", *args, "v6c0"],
                         os.path.join(str(tmp_path), "driver.stderr"))

    def assert_clean_exit(self):
        """SIGTERM: the driver releases its lease and exits 0, sanitizers silent."""
        assert self.proc.poll() is None, f"driver died: {self.lines}\n{self.stderr()}"
        rc = self.stop()
        err = self.stderr()
        bad = [m for m in SANITIZER_MARKERS if m in err]
        assert rc == 0 and not bad, f"exit code {rc}, sanitizer findings {bad}:\n{err}"
        assert self.lines[-1] == "released", self.lines


def start_dnsmasq(link, tmp_path, *options):
    log = os.path.join(str(tmp_path), "dnsmasq.log")
    p = Process(link.server_ns, [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv",
                                 "--no-hosts", "--port=0", "--interface=v6s0", "--log-dhcp",
                                 "--pid-file=", "--user=root",
                                 "--dhcp-leasefile=" + os.path.join(str(tmp_path), "leases"),
                                 *options], log)
    deadline = time.monotonic() + 10
    while "started" not in p.stderr():
        assert p.proc.poll() is None, "dnsmasq exited: " + p.stderr()
        assert time.monotonic() < deadline, "dnsmasq did not start: " + p.stderr()
        time.sleep(0.05)
    return p


@pytest.fixture
def servers():
    """Processes to stop at the end of the test, whatever happens."""
    procs = []
    yield procs
    for p in procs:
        p.stop(timeout=5)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


STATEFUL = ["--enable-ra", "--dhcp-range=fd00:1::10,fd00:1::100,64",
            "--dhcp-option=option6:dns-server,[fd00:1::1]"]


@pytest.mark.parametrize("rapid_commit", [False, True], ids=["four-message", "rapid-commit"])
def test_stateful_dhcpv6_from_dnsmasq(link, tmp_path, servers, rapid_commit):
    dnsmasq = start_dnsmasq(link, tmp_path, *STATEFUL)
    servers.append(dnsmasq)
    link.client_up()
    d = Driver(link, tmp_path, *(["--rapid-commit"] if rapid_commit else []))
    router = link.server_link_local()

    ra = d.wait_for(r"^ra router (\S+) lifetime (\d+) managed 1 .* prefix fd00:1::/64 onlink 1 ")
    assert ra.group(1) == router and int(ra.group(2)) > 0
    lease = d.wait_for(r"^dhcp6 bound (\S+) preferred (\d+) valid (\d+) t1 (\d+) t2 (\d+) "
                       r"server (\S+) dns (\S+)$")
    addr = ipaddress.IPv6Address(lease.group(1))
    assert addr in ipaddress.IPv6Network("fd00:1::/64")
    assert 0x10 <= int(addr) & 0xffff <= 0x100
    assert lease.group(6) == router
    assert lease.group(7) == "fd00:1::1"
    valid, t1, t2 = int(lease.group(3)), int(lease.group(4)), int(lease.group(5))
    assert 0 < t1 <= t2 <= valid
    # it started while its link-local address was tentative, and waited
    assert "waiting for a usable link-local address" in d.stderr()

    d.assert_clean_exit()
    wait_until(lambda: "DHCPRELEASE(v6s0)" in dnsmasq.stderr(), 5, "dnsmasq saw no RELEASE")
    log = dnsmasq.stderr()
    if rapid_commit:
        assert "rapid-commit" in log and "DHCPREQUEST" not in log
    else:
        assert "DHCPADVERTISE(v6s0)" in log and "DHCPREQUEST(v6s0)" in log
    assert not [ln for ln in d.lines if ln.startswith("dhcp6 ") and "bound" not in ln]


def test_slaac_only_from_dnsmasq(link, tmp_path, servers):
    link.server("ip", "addr", "add", "fd00:2::1/64", "dev", "v6s0")
    servers.append(start_dnsmasq(link, tmp_path, "--enable-ra", "--dhcp-range=fd00:2::,ra-only"))
    link.client_up()
    d = Driver(link, tmp_path)
    router = link.server_link_local()

    ra = d.wait_for(r"^ra router (\S+) lifetime \d+ managed 0 other 0 .*"
                    r"prefix fd00:2::/64 onlink 1 autonomous 1 valid (\d+) preferred (\d+)")
    assert ra.group(1) == router and int(ra.group(2)) > 0
    # the kernel does SLAAC from the same RA; the driver starts no DHCPv6
    wait_until(lambda: "inet6 fd00:2:" in link.client_addresses(), 10,
               "no SLAAC address: " + link.client_addresses())
    time.sleep(1)
    assert not [ln for ln in d.lines if ln.startswith("dhcp6")], d.lines
    assert "DHCPv6" not in d.stderr()
    d.assert_clean_exit()


def start_peer(link, tmp_path, servers, mode):
    p = Process(link.server_ns, ["/usr/bin/python3", PEER, mode, "v6s0"],
                os.path.join(str(tmp_path), "peer.stderr"))
    servers.append(p)
    return p


def no_bad_values(lines):
    """Every malformed message of the peer carries fd00:bad:: values."""
    return not [ln for ln in lines if "fd00:bad" in ln]


def test_hostile_router_advertisements(link, tmp_path, servers):
    link.client_up()
    d = Driver(link, tmp_path)
    start_peer(link, tmp_path, servers, "ra")

    ra = d.wait_for(r"^ra router (\S+) lifetime 600 managed 0 other 0 mtu 0 "
                    r"prefix fd00:1::/64 onlink 1 autonomous 1 valid 600 preferred 300 "
                    r"dns fd00:1::53$")
    assert ra.group(1) == link.server_link_local()
    time.sleep(2)  # several more rounds of the malformed ones
    assert no_bad_values(d.lines), d.lines
    # the same valid RA again and again: reported once
    assert len([ln for ln in d.lines if ln.startswith("ra ")]) == 1, d.lines
    # received and rejected, not merely lost on the way
    err = d.stderr()
    assert "ignoring malformed RA" in err
    assert "with hop limit 64" in err
    assert "fd00:1::1: not a link-local address" in err
    d.assert_clean_exit()


def test_hostile_dhcpv6_then_renewals(link, tmp_path, servers):
    link.client_up()
    d = Driver(link, tmp_path)
    peer = start_peer(link, tmp_path, servers, "dhcp6")

    d.wait_for(r"^ra router \S+ lifetime 600 managed 1 ")
    lease = d.wait_for(r"^dhcp6 bound fd00:1::77 preferred 6 valid 8 t1 2 t2 3 server (\S+) "
                       r"dns fd00:1::53$")
    assert lease.group(1) == link.server_link_local()
    # T1 is 2 s: RENEW, and the malformed answers to it are ignored too
    d.wait_for(r"^dhcp6 renewed fd00:1::77 preferred 6 valid 8 ", timeout=10)
    assert no_bad_values(d.lines), d.lines
    assert not [ln for ln in d.lines if ln in ("dhcp6 no-lease",) or ln.startswith("dhcp6 lost")]
    assert "ignoring a malformed DHCPv6 message" in d.stderr()
    d.assert_clean_exit()
    peer.wait_for(r"^got RELEASE$", timeout=5)
    assert "got RENEW" in peer.lines


def test_lease_lost_when_renewals_go_unanswered(link, tmp_path, servers):
    link.client_up()
    d = Driver(link, tmp_path)
    peer = start_peer(link, tmp_path, servers, "dhcp6-norenew")

    d.wait_for(r"^dhcp6 bound fd00:1::77 ")
    # RENEW from T1 (2 s), REBIND from T2 (3 s), lost at the valid lifetime (8 s)
    d.wait_for(r"^dhcp6 lost fd00:1::77 ", timeout=15)
    assert "got RENEW" in peer.lines and "got REBIND" in peer.lines, peer.lines
    # and it starts over
    wait_until(lambda: peer.lines.count("got SOLICIT") >= 2, 10, f"no new SOLICIT: {peer.lines}")
    d.assert_clean_exit()


def test_no_addresses_available(link, tmp_path, servers):
    link.client_up()
    d = Driver(link, tmp_path)
    peer = start_peer(link, tmp_path, servers, "dhcp6-noaddrs")

    d.wait_for(r"^dhcp6 no-lease$")
    # it keeps asking (1 s, then about 2 s later)
    wait_until(lambda: peer.lines.count("got SOLICIT") >= 3, 10, f"stopped asking: {peer.lines}")
    assert "got REQUEST" not in peer.lines
    assert d.lines.count("dhcp6 no-lease") == 1, d.lines
    assert "NoAddrsAvail" in d.stderr()
    d.assert_clean_exit()


def test_no_router(link, tmp_path):
    link.client_up()
    d = Driver(link, tmp_path)
    # DAD (1-2 s), then 3 solicitations 4 s apart and 4 s to wait for the last
    d.wait_for(r"^ra none$", timeout=25)
    assert d.lines == ["ra none"]
    err = d.stderr()
    assert len(re.findall(r"router solicitation \d sent", err)) == 3, err
    assert "no router advertisement after 3 solicitations" in err
    d.assert_clean_exit()
