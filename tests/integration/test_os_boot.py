"""Boot tests of the guest OS (os/): our kernel and init under QEMU with TCG.

Each test boots the vmlinux and initramfs-test.cpio that os/build.sh made
(the guest_os fixture of conftest.py) and reads the init's status lines on
the serial console (os/init/net.h, main.c, services.c). Power-off and reboot
are the guest's own: QEMU is never killed by a passing test, it has to exit
by itself. The network tests run QEMU, Debian's dnsmasq and a hostile test
peer (hostile_peer.py) in a network namespace of their own with a bridge and
a TAP device; they need root, which our test machines have.

A failure message always ends with the guest's console (guest.GuestError).
"""
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import BUILD, ROOT
from guest import Guest, Netns, mac_address, read_text, wait_for_text

# boots the musl-built guest: the same in the gcc and the sanitizer pass of
# make check, which runs these once (scripts/check.sh: -m "not guest")
pytestmark = pytest.mark.guest

HERE = os.path.dirname(os.path.abspath(__file__))
DNSMASQ = "/usr/sbin/dnsmasq"
POWEROFF_LIMIT_S = 10
GUEST_MAC = mac_address(1)

with open(os.path.join(ROOT, "meson.build")) as _f:
    VERSION = re.search(r"^\s*version: '([^']+)'", _f.read(), re.M).group(1)


def run_param(command, policy=""):
    """A mvirt.run= kernel parameter; command may hold blanks and single
    quotes, not double quotes (the kernel's own quoting)."""
    assert '"' not in command
    return f'mvirt.run="{policy}{command}"'


@pytest.fixture
def boot(guest_os, tmp_path):
    """boot(append, initrd=None, **Guest options): a started guest of our
    kernel; every guest still running at teardown is killed."""
    guests = []

    def start(append="", initrd=None, **kw):
        g = Guest(os.path.join(guest_os, "vmlinux"),
                  initrd or os.path.join(guest_os, "initramfs-test.cpio"),
                  "quiet " + append, workdir=str(tmp_path), name=f"guest{len(guests)}", **kw)
        guests.append(g)
        return g.start()

    yield start
    for g in guests:
        g.stop()


def power_off(g, limit=POWEROFF_LIMIT_S):
    """Press the power button, then check the status line, that QEMU exited
    by itself with status 0 within limit seconds of the request, and that
    the guest really powered off (QMP SHUTDOWN reason). Returns the seconds."""
    requested = g.powerdown()
    g.expect(r"^mvirt-init: poweroff$", timeout=limit)
    rc, _ = g.wait_exit(max(0.1, limit - (time.monotonic() - requested)))
    took = time.monotonic() - requested
    g.check(rc == 0, f"QEMU exited with status {rc}")
    g.check(took <= limit, f"QEMU exited {took:.1f} s after the power button, limit {limit} s")
    reason = g.shutdown_reason()
    g.check(reason == "guest-shutdown", f"QMP SHUTDOWN reason {reason!r}, not a power-off")
    g.check(not g.panicked(), "kernel trouble on the console")
    return took


def test_boot_ready_and_power_button(boot):
    """Banner, ready, and the ACPI power button (QMP system_powerdown)
    powers the guest off, by itself, within POWEROFF_LIMIT_S."""
    g = boot("mvirt.debug")
    m = g.expect(r"^mvirt-init: version (\S+) kernel (\S+) cmdline (.*)$", timeout=60)
    g.check(m.group(1) == VERSION, f"banner version {m.group(1)}, meson.build says {VERSION}")
    g.check(m.group(2).startswith("6.1."), f"banner kernel {m.group(2)}, expected 6.1.x")
    g.check(m.group(3) == g.append.strip(), f"banner cmdline {m.group(3)!r} != {g.append!r}")
    g.expect(r"^mvirt-init: ready$", timeout=60)
    g.check(not g.lines_matching(r"^mvirt-init: (poweroff|reboot)$"), "stopped before the button")
    time.sleep(0.5)  # idle for a moment: nothing may happen on its own
    g.check(g.running(), "QEMU exited before the power button was pressed")
    took = power_off(g)
    print(f"power-off took {took:.2f} s after system_powerdown")


def test_stubborn_service_is_killed_at_poweroff(boot):
    """A service that survives SIGTERM is SIGKILLed after the stop timeout
    (5 s) and the power-off still completes within the limit."""
    g = boot(run_param("/bin/sh -c 'trap : TERM; echo stubborn; while :; do sleep 1; done'"))
    g.expect(r"^mvirt-init: ready$")
    g.expect(r"^sh-0: stubborn$")
    requested = g.powerdown()
    g.expect(r"^mvirt-init: poweroff$", timeout=5)
    g.expect(r"service sh-0 did not stop: killing it", timeout=POWEROFF_LIMIT_S)
    g.expect(r"^mvirt-init: service sh-0 exited signal 9$", timeout=5)
    rc, _ = g.wait_exit(max(0.1, POWEROFF_LIMIT_S - (time.monotonic() - requested)))
    took = time.monotonic() - requested
    g.check(rc == 0 and g.shutdown_reason() == "guest-shutdown",
            f"QEMU status {rc}, shutdown reason {g.shutdown_reason()!r}")
    g.check(4.5 <= took <= POWEROFF_LIMIT_S, f"power-off after {took:.1f} s: expected the 5 s "
            f"stop timeout and at most {POWEROFF_LIMIT_S} s")


@pytest.mark.parametrize("sig,line,reason", [("TERM", "poweroff", "guest-shutdown"),
                                             ("USR2", "poweroff", "guest-shutdown"),
                                             ("INT", "reboot", "guest-reset")])
def test_signal_to_init(boot, sig, line, reason):
    """SIGTERM/SIGUSR2 power off, SIGINT (what ctrl-alt-del becomes)
    reboots; QEMU runs with -no-reboot, so a reboot ends it too. Sent from
    a service: ctrl-alt-del itself cannot come from outside, our kernel has
    no keyboard driver (QMP send-key ctrl-alt-delete does nothing)."""
    g = boot(run_param(f"/bin/sh -c 'echo sending {sig}; kill -{sig} 1'"))
    g.expect(r"^mvirt-init: ready$")
    g.expect(rf"^sh-0: sending {sig}$")
    g.expect(rf"^mvirt-init: {line}$", timeout=POWEROFF_LIMIT_S)
    rc, _ = g.wait_exit(POWEROFF_LIMIT_S)
    g.check(rc == 0, f"QEMU exited with status {rc}")
    got = g.shutdown_reason()
    g.check(got == reason, f"QMP SHUTDOWN reason {got!r}, expected {reason!r}")
    other = "reboot" if line == "poweroff" else "poweroff"
    g.check(not g.lines_matching(rf"^mvirt-init: {other}$"), f"{other} printed too")
    g.check(not g.panicked(), "kernel trouble on the console")


def initramfs_with(guest_os, tmp_path, files):
    """initramfs-test.cpio plus a second archive (made by our mkcpio) holding
    files {guest path: text}: the kernel unpacks concatenated archives in
    order, so these add to (or replace) what the first one has."""
    mkcpio = os.path.join(BUILD, "os", "image", "mkcpio")
    specs = []
    for i, (path, text) in enumerate(sorted(files.items())):
        host = tmp_path / f"extra{i}"
        host.write_text(text)
        specs.append(f"file:{path}:0644:{host}")
    extra = tmp_path / "extra.cpio"
    p = subprocess.run([mkcpio, str(extra), *specs], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"mkcpio failed: {p.stderr}"
    out = tmp_path / "initramfs-custom.cpio"
    with open(out, "wb") as f:
        for part in (os.path.join(guest_os, "initramfs-test.cpio"), extra):
            with open(part, "rb") as src:
                f.write(src.read())
    return str(out)


INIT_CONF = """\
# services of a test appliance
[service greeter]
exec = /bin/sh -c 'echo from init.conf; exit 0'

[service words]
exec = /bin/echo 'single quoted'  "double \\"quoted\\"" plain\\ escaped
restart = no
"""


def test_services(boot, guest_os, tmp_path):
    initrd = initramfs_with(guest_os, tmp_path, {"/etc/mvirt/init.conf": INIT_CONF})
    g = boot(" ".join([
        run_param("/bin/sh -c 'echo hello; echo to stderr >&2; exit 3'"),
        run_param("/bin/sh -c 'echo attempt; exit 1'", "on-failure:"),
        run_param("/bin/sh -c 'exit 0'", "on-failure:"),
        run_param("/bin/sh -c 'echo again; exit 0'", "always:"),
        run_param("/no/such/program"),
    ]), initrd=initrd)
    g.expect(r"^mvirt-init: ready$")
    # a plain service: its output prefixed, stdout and stderr, its status
    g.expect_all([r"^mvirt-init: service sh-0 started pid \d+$", r"^sh-0: hello$",
                  r"^sh-0: to stderr$", r"^mvirt-init: service sh-0 exited status 3$"],
                 since=0)
    # the services of /etc/mvirt/init.conf, named by their sections
    g.expect_all([r"^greeter: from init.conf$", r"^mvirt-init: service greeter exited status 0$",
                  r'^words: single quoted double "quoted" plain escaped$',
                  r"^mvirt-init: service words exited status 0$"], since=0)
    # a program that does not exist: the child says why and exits 127
    g.expect_all([r"^program-4: cannot run /no/such/program: No such file or directory$",
                  r"^mvirt-init: service program-4 exited status 127$"], since=0)
    # on-failure restarts a failing service with a doubling backoff...
    g.expect_all([r"^mvirt-init: service sh-1 restarting in 800 ms$"], timeout=30, since=0)
    delays = [int(d) for d in
              g.lines_matching(r"^mvirt-init: service sh-1 restarting in (\d+) ms$")]
    g.check(delays[:4] == [100, 200, 400, 800], f"backoff of sh-1: {delays}")
    g.check(len(g.lines_matching(r"^sh-1: attempt$")) >= 4, "sh-1 did not run 4 times")
    # ...but not one that succeeded; always restarts that one too
    g.expect_all([r"^mvirt-init: service sh-3 restarting in 200 ms$"], timeout=30, since=0)
    g.check(len(g.lines_matching(r"^sh-3: again$")) >= 2, "sh-3 did not run twice")
    text = g.console()
    for name in ("sh-0", "sh-2", "greeter", "words", "program-4"):
        g.check(f"service {name} restarting" not in text, f"{name} was restarted")
    g.check(len(re.findall(r"^mvirt-init: service sh-2 started", text, re.M)) == 1,
            "sh-2 (on-failure, exit 0) started more than once")
    power_off(g)


# ---- hostname ----

def seed_disk(tmp_path, kind, hostname):
    """A cloud-init NoCloud seed disk labelled cidata (iso9660 or vfat)."""
    src = tmp_path / f"seed-{kind}"
    src.mkdir()
    (src / "meta-data").write_text(f"instance-id: i-{kind}\nlocal-hostname: {hostname}\n")
    (src / "user-data").write_text("#cloud-config\n")
    img = tmp_path / f"seed-{kind}.img"
    if kind == "iso9660":
        cmds = [["genisoimage", "-quiet", "-V", "cidata", "-r", "-J", "-o", str(img),
                 str(src / "meta-data"), str(src / "user-data")]]
    else:
        cmds = [["mkfs.vfat", "-C", "-n", "CIDATA", str(img), "1440"],
                ["mcopy", "-i", str(img), str(src / "meta-data"), str(src / "user-data"), "::"]]
    for c in cmds:
        p = subprocess.run(c, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"{' '.join(c)}: {p.stderr}"
    return str(img)


def test_hostname_from_cmdline_wins_over_seed(boot, tmp_path):
    g = boot(f"mvirt.hostname=from-cmdline {run_param('/bin/hostname')}",
             drives=[seed_disk(tmp_path, "iso9660", "seeded")])
    g.expect(r"^mvirt-init: hostname from-cmdline source cmdline$")
    g.expect(r"^mvirt-init: ready$")
    g.expect(r"^hostname-0: from-cmdline$")
    g.check(not g.lines_matching(r"seeded"), "the seed's hostname showed up")
    power_off(g)


@pytest.mark.parametrize("kind", ["iso9660", "vfat"])
def test_hostname_from_seed_disk(boot, tmp_path, kind):
    name = f"seeded-{kind}"
    g = boot(run_param("/bin/hostname"), drives=[seed_disk(tmp_path, kind, name)])
    g.expect(rf"^mvirt-init: hostname {name} source seed$")
    g.expect(r"^mvirt-init: ready$")
    g.expect(rf"^hostname-0: {name}$")
    power_off(g)


# ---- network: a bridge and a TAP in a namespace of our own ----

class Lan:
    """Namespace with bridge br0 (10.77.0.1/24, fd77::1/64 and whatever else
    a test adds) and tap0 for the guest."""

    def __init__(self, tmp_path, *addrs):
        self.tmp = tmp_path
        self.ns = Netns("boot")
        self.dnsmasq_log = str(tmp_path / "dnsmasq.log")
        self.ns.add_bridge("br0", "10.77.0.1/24", "fd77::1/64", *addrs)
        self.ns.add_tap("tap0", "br0")

    def link_local(self):
        out = self.ns.ip("-6", "-o", "addr", "show", "dev", "br0", "scope", "link")
        m = re.search(r"inet6 (fe80::[0-9a-f:]+)/64", out)
        return m.group(1) if m else None

    def start_dnsmasq(self, *extra):
        argv = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--port=0", "--log-facility=-", "--log-dhcp", "--interface=br0",
                "--bind-interfaces", "--pid-file=", "--user=root",
                f"--dhcp-leasefile={self.tmp / 'dnsmasq.leases'}",
                "--dhcp-range=10.77.0.10,10.77.0.50,12h", "--enable-ra",
                "--dhcp-range=fd77::10,fd77::100,64,12h",
                "--dhcp-option=option:dns-server,10.77.0.1",
                "--dhcp-option=option6:dns-server,[fd77::1]", *extra]
        self.dnsmasq = self.ns.popen(argv, self.dnsmasq_log)
        if not wait_for_text(self.dnsmasq_log, r"started, version", 10, self.dnsmasq):
            raise AssertionError(f"dnsmasq did not start:\n{read_text(self.dnsmasq_log)}")

    def dnsmasq_tail(self):
        lines = read_text(self.dnsmasq_log).splitlines()[-40:]
        return "--- dnsmasq log (last 40 lines) ---\n" + "\n".join(lines)

    def close(self):
        self.ns.close()


@pytest.fixture
def lan(tmp_path):
    """lan(*extra bridge addresses): a new Lan, removed at teardown. Tests
    take it before boot, so that their guests are stopped first."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace, a bridge and a TAP device")
    made = []

    def make(*addrs):
        made.append(Lan(tmp_path, *addrs))
        return made[-1]

    yield make
    for lan_ in made:
        lan_.close()


PING_SCRIPT = ("ping -c 1 -W 5 10.77.0.1 && echo ping4-ok; "
               "for i in 1 2 3 4 5; do if ping6 -c 1 -W 2 fd77::1; then echo ping6-ok; break; "
               "fi; sleep 1; done; ip -4 route; ip -6 route")


def test_dhcp_and_ra_from_dnsmasq(lan, boot):
    """DHCPv4, RA with M=1 and stateful DHCPv6 from dnsmasq: the guest
    reports both leases and a hostname from DHCP, pings the host over
    both, and releases both leases at power-off."""
    net = lan()
    net.start_dnsmasq(f"--dhcp-host={GUEST_MAC},dhcp-named")
    g = boot(run_param(f"/bin/sh -c '{PING_SCRIPT}'"), netns=net.ns, nics=[("tap0", GUEST_MAC)])
    g.diagnostics.append(net.dnsmasq_tail)
    g.expect(rf"^mvirt-init: net eth0 up mac {GUEST_MAC}$")
    v4, v6, _ = g.expect_all([
        r"^mvirt-init: net eth0 ipv4 (\S+)/(\d+) gw (\S+) dns (.+)$",
        r"^mvirt-init: net eth0 ipv6 (\S+)/(\d+) gw (\S+) dns (.+)$",
        r"^mvirt-init: hostname dhcp-named source dhcp$"], timeout=60)
    addr4 = ipaddress.ip_address(v4.group(1))
    g.check(ipaddress.ip_address("10.77.0.10") <= addr4 <= ipaddress.ip_address("10.77.0.50")
            and v4.group(2) == "24" and v4.group(3) == "10.77.0.1"
            and v4.group(4) == "10.77.0.1", f"ipv4 line: {v4.group(0)}")
    addr6 = ipaddress.ip_address(v6.group(1))
    g.check(ipaddress.ip_address("fd77::10") <= addr6 <= ipaddress.ip_address("fd77::100")
            and v6.group(2) == "128" and v6.group(3) == net.link_local()
            and v6.group(4) == "fd77::1",
            f"ipv6 line: {v6.group(0)} (bridge link-local {net.link_local()})")
    g.expect(r"^mvirt-init: ready$")
    g.expect_all([r"^sh-0: ping4-ok$", r"^sh-0: ping6-ok$",
                  r"^mvirt-init: service sh-0 exited status 0$"], timeout=30)
    log = read_text(net.dnsmasq_log)
    g.check(re.search(rf"DHCPACK\(br0\) {addr4} {GUEST_MAC} dhcp-named", log),
            f"dnsmasq did not log the DHCPACK of {addr4}")
    g.check(re.search(rf"DHCPREPLY\(br0\) {addr6} ", log),
            f"dnsmasq did not log the DHCPv6 REPLY of {addr6}")
    power_off(g)
    g.check(wait_for_text(net.dnsmasq_log, rf"DHCPRELEASE\(br0\) {addr4} {GUEST_MAC}", 5),
            f"dnsmasq logged no DHCPRELEASE of {addr4}")
    duid = "00:03:00:01:" + GUEST_MAC  # DUID-LL of the NIC
    g.check(wait_for_text(net.dnsmasq_log, rf"DHCPRELEASE\(br0\) {duid}", 5),
            f"dnsmasq logged no DHCPv6 RELEASE from {duid}")


def test_dhcp_slash32_with_classless_route(lan, boot):
    """What mvirt's network hands out: address/32 and, by option 121, a
    default route via 169.254.0.1 outside it. The host holds 169.254.0.1
    on the bridge, so it answers the guest's ARP for the gateway; its
    replies to the guest need no extra route: they leave through its own
    10.77.0.0/24 on the bridge, and the guest answers ARP for its address
    whatever the prefix."""
    net = lan("169.254.0.1/32")
    net.start_dnsmasq("--dhcp-option=option:netmask,255.255.255.255",
                      "--dhcp-option=121,0.0.0.0/0,169.254.0.1")
    g = boot(run_param(f"/bin/sh -c '{PING_SCRIPT}'"), netns=net.ns, nics=[("tap0", GUEST_MAC)])
    g.diagnostics.append(net.dnsmasq_tail)
    m = g.expect(r"^mvirt-init: net eth0 ipv4 (\S+)/32 gw 169\.254\.0\.1 dns 10\.77\.0\.1$",
                 timeout=60)
    addr4 = ipaddress.ip_address(m.group(1))
    g.check(addr4 in ipaddress.ip_network("10.77.0.0/24"), f"address {addr4}")
    g.expect(r"^mvirt-init: ready$")
    g.expect_all([r"^sh-0: ping4-ok$",
                  r"^sh-0: default via 169\.254\.0\.1 dev eth0",
                  r"^sh-0: 169\.254\.0\.1 dev eth0 .*scope link",
                  r"^mvirt-init: service sh-0 exited status 0$"], timeout=30)
    g.check(not g.lines_matching(r"^sh-0: 10\.77\.0\.0/24 "), "a /24 route in the guest")
    power_off(g)


def test_hostile_dhcp_and_ra_do_not_hurt_init(lan, boot, tmp_path):
    """Malformed DHCPv4 offers and acks, RAs and DHCPv6 replies, in every
    state of the clients (hostile_peer.py): the init keeps running and
    powers off cleanly afterwards."""
    net = lan()
    peer_log = str(tmp_path / "peer.log")
    peer = net.ns.popen([sys.executable, os.path.join(HERE, "hostile_peer.py"),
                         "--ifname", "br0", "--seconds", "120"], peer_log)
    if not wait_for_text(peer_log, r"^ready$", 10, peer):
        raise AssertionError(f"hostile peer did not start:\n{read_text(peer_log)}")
    g = boot("mvirt.net_timeout=8",
             netns=net.ns, nics=[("tap0", GUEST_MAC)])
    g.diagnostics.append(lambda: "--- hostile peer ---\n" + read_text(peer_log)[-3000:])
    g.expect(rf"^mvirt-init: net eth0 up mac {GUEST_MAC}$")
    # every client reached the state in which the peer answers it badly
    for what in ("discover", "request4", "rs", "solicit", "request6"):
        if not wait_for_text(peer_log, rf"^seen {what}$", 40, peer):
            g.fail(f"the hostile peer never saw a {what} from the guest")
    g.expect(r"^mvirt-init: ready$", timeout=30)
    time.sleep(3)  # a few more rounds of bad replies and RAs
    peer.send_signal(signal.SIGTERM)
    try:
        peer.wait(timeout=10)
        counts = json.loads(read_text(peer_log).strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
        g.fail(f"the hostile peer did not end with its counts ({e!r})")
    print(f"hostile peer: {counts}")
    g.check(g.running(), "QEMU exited under hostile packets")
    g.check(counts["sent"] > 100, f"the peer sent only {counts['sent']} frames")
    power_off(g)
