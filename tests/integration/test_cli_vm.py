"""`mvirt vm` against a real mvirt-vmm (the vmm_daemon fixture: QEMU driver,
TCG here): definitions (create, list, get, delete, attach/detach on a stopped
VM) and their text and --json output; how errors are reported (one line on
stderr; exit 1 for a failed operation, 2 for a usage error); and, booting the
guest OS, start, `vm log`, `stop --wait`, `watch`, and `console` through a
pseudo-terminal: output arrives, typed input reaches the guest, Ctrl-]
detaches, and the terminal's modes are restored however the session ends."""
import json
import os
import re
import select
import signal
import socket
import subprocess
import termios
import time
import uuid

import pytest

from conftest import SANITIZER_MARKERS, binary

TIMEOUT = 120
BOOT_TIMEOUT = 60
READY = "mvirt-init: ready"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
QUIET = "console=ttyS0 quiet mvirt.net=off"
# a service echoing every line typed on the serial port (console input)
ECHOER = "mvirt.run=\"/bin/sh -c 'while read l; do echo got:$l; done </dev/ttyS0'\""
VERBS = ("create", "list", "get", "start", "stop", "kill", "delete", "pause", "resume",
         "reboot", "attach-disk", "detach-disk", "attach-nic", "detach-nic", "console", "log",
         "watch")


def clean_env():
    """The environment without any MVIRT_* variable of the caller's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MVIRT_")}


def argv(endpoint, *args):
    return [binary("mvirt"), "--vmm-endpoint", endpoint, *args]


def assert_no_sanitizer_report(text):
    bad = [m for m in SANITIZER_MARKERS if m in text]
    assert not bad, text


@pytest.fixture
def mvirt(vmm_daemon):
    """mvirt against the daemon; ok=True asserts exit 0 and a quiet stderr."""
    def call(*args, ok=True):
        p = subprocess.run(argv(vmm_daemon.endpoint, *args), capture_output=True, text=True,
                           timeout=TIMEOUT, env=clean_env(), stdin=subprocess.DEVNULL)
        assert_no_sanitizer_report(p.stderr)
        if ok:
            assert p.returncode == 0 and p.stderr == "", (args, p.returncode, p.stdout, p.stderr)
        return p
    return call


def mjson(mvirt, *args):
    return json.loads(mvirt("--json", *args).stdout)


def unique(prefix="vm"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_one_error_line(p, code=1, contains=None):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mvirt: "), p.stderr
    if contains:
        assert contains in lines[0], lines[0]
    return lines[0]


def kernel_args(d, initramfs="initramfs-test.cpio", cmdline=QUIET):
    return ["--kernel", os.path.join(d.boot_root, "vmlinux"),
            "--initramfs", os.path.join(d.boot_root, initramfs), "--cmdline", cmdline]


def disk(d, name=None, size=1 << 20):
    path = os.path.join(d.disk_root, name or unique("disk") + ".raw")
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# ---- definitions -------------------------------------------------------------

def test_create_list_get_delete(vmm_daemon, mvirt):
    d = vmm_daemon
    name = unique()
    created = mjson(mvirt, "vm", "create", name, "--vcpus", "2", "--memory", "256M",
                    *kernel_args(d))
    assert re.fullmatch(UUID_RE, created["id"])
    assert created["name"] == name and created["state"] == "STOPPED"
    c = created["config"]
    assert c["vcpus"] == 2 and c["memory_mb"] == 256
    # --kernel without --boot means kernel boot
    assert c["boot_mode"] == "KERNEL"
    assert c["kernel"] == os.path.join(d.boot_root, "vmlinux")
    assert c["cmdline"] == QUIET and c["user_data"] is None
    # no --nic: the daemon gives one TAP NIC with a generated MAC
    assert len(c["nics"]) == 1 and c["nics"][0]["vhost_socket"] is None
    assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", c["nics"][0]["mac"])
    assert created["started_at"] is None and created["last_error"] is None

    listed = mjson(mvirt, "vm", "list")
    assert [v["id"] for v in listed if v["name"] == name] == [created["id"]]
    text = mvirt("vm", "list").stdout.splitlines()
    assert text[0].split() == ["NAME", "STATE", "VCPUS", "MEMORY", "CREATED", "ID"]
    row = [ln for ln in text if ln.startswith(name + " ")]
    assert len(row) == 1 and "stopped" in row[0] and "256 MiB" in row[0]
    assert row[0].endswith(created["id"])

    # name or id everywhere
    assert mjson(mvirt, "vm", "get", name) == created
    assert mjson(mvirt, "vm", "get", created["id"]) == created
    shown = mvirt("vm", "get", name).stdout
    assert f"Name:         {name}\n" in shown and f"ID:           {created['id']}\n" in shown
    assert "State:        stopped\n" in shown and "Memory:       256 MiB\n" in shown

    out = mvirt("vm", "delete", name).stdout
    assert out == f"VM '{name}' deleted.\n"
    assert_one_error_line(mvirt("vm", "get", name, ok=False), 1, "not found")
    assert name not in mvirt("vm", "list").stdout


def test_create_disks_nics_user_data(vmm_daemon, mvirt, tmp_path):
    d = vmm_daemon
    root, data = disk(d), disk(d)
    user_data = tmp_path / "user-data"
    user_data.write_text("#cloud-config\nhostname: from-cli\n")
    # the daemon wants a socket there (mvirt-net would serve it)
    vhost = os.path.join(d.tmpdir, "nic.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(vhost)
    vm = mjson(mvirt, "vm", "create", unique(), "--memory", "2G", "--disk", root,
               "--disk", data + ":ro", "--nic", "tap,mac=02:aa:bb:cc:dd:01",
               "--nic", f"mac=02:aa:bb:cc:dd:02,vhost={vhost}", "--nic", "tap",
               "--user-data", str(user_data))
    c = vm["config"]
    assert c["boot_mode"] == "DISK" and c["memory_mb"] == 2048 and c["vcpus"] == 1
    assert c["disks"] == [{"path": root, "readonly": False}, {"path": data, "readonly": True}]
    assert [n["mac"] for n in c["nics"][:2]] == ["02:aa:bb:cc:dd:01", "02:aa:bb:cc:dd:02"]
    assert [n["vhost_socket"] for n in c["nics"]] == [None, vhost, None]
    assert c["nics"][2]["mac"]  # generated
    assert c["user_data"] == user_data.read_text()
    text = mvirt("vm", "get", vm["id"]).stdout
    assert f"{data} (read-only)" in text and f"vhost-user {vhost}" in text
    assert "Boot:         disk" in text and "User data:    " in text
    mvirt("vm", "delete", vm["id"])
    listener.close()


def test_attach_detach_stopped(vmm_daemon, mvirt):
    d = vmm_daemon
    name = unique()
    first, second = disk(d), disk(d)
    mvirt("vm", "create", name, "--disk", first)
    out = mvirt("vm", "attach-disk", name, second + ":ro").stdout
    assert out == f"Disk {second} attached to VM '{name}'.\n"
    assert mjson(mvirt, "vm", "get", name)["config"]["disks"][1] == \
        {"path": second, "readonly": True}
    assert_one_error_line(mvirt("vm", "attach-disk", name, second, ok=False), 1,
                          "already attached")
    out = mvirt("vm", "attach-nic", name, "tap,mac=02:00:00:00:aa:01").stdout
    assert out == f"NIC 02:00:00:00:aa:01 attached to VM '{name}'.\n"
    vm = mjson(mvirt, "vm", "attach-nic", name, "tap")
    generated = vm["config"]["nics"][-1]["mac"]
    assert len(vm["config"]["nics"]) == 3 and generated
    mvirt("vm", "detach-nic", name, "02:00:00:00:AA:01")
    vm = mjson(mvirt, "vm", "detach-disk", name, second)
    assert [x["path"] for x in vm["config"]["disks"]] == [first]
    assert "02:00:00:00:aa:01" not in [n["mac"] for n in vm["config"]["nics"]]
    assert_one_error_line(mvirt("vm", "detach-disk", name, first, ok=False), 1,
                          "at least one disk")
    mvirt("vm", "delete", name)


def test_watch_sees_create_and_delete(vmm_daemon, mvirt):
    name = unique()
    w = subprocess.Popen(argv(vmm_daemon.endpoint, "vm", "watch", "--json"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=clean_env(), stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # subscribed (WatchVms sends no initial snapshot)
        mvirt("vm", "create", name, "--disk", disk(vmm_daemon))
        mvirt("vm", "delete", name)
        events = [json.loads(w.stdout.readline()) for _ in range(2)]
    finally:
        w.send_signal(signal.SIGINT)
        w.wait(timeout=10)
    assert [e["type"] for e in events] == ["CREATED", "DELETED"]
    assert all(e["vm"]["name"] == name and e["vm_id"] == events[0]["vm_id"] for e in events)


def test_help(mvirt):
    top = mvirt("--help").stdout
    assert "\n  vm " in top
    noun = mvirt("vm", "--help").stdout
    for verb in VERBS:
        assert re.search(rf"^  {verb} ", noun, re.M), verb
        out = mvirt("vm", verb, "--help").stdout
        assert out.startswith(f"Usage: mvirt vm {verb}"), out
    assert "Ctrl-]" in mvirt("vm", "console", "--help").stdout
    assert mvirt("vm", ok=False).returncode == 2


@pytest.mark.parametrize("args, contains", [
    (["vm", "create"], "missing NAME"),
    (["vm", "create", "a", "b"], "unexpected argument 'b'"),
    (["vm", "create", "a", "--vcpus", "0"], "--vcpus"),
    (["vm", "create", "a", "--vcpus", "x"], "--vcpus"),
    (["vm", "create", "a", "--memory", "0"], "--memory"),
    (["vm", "create", "a", "--memory", "1.5K"], "--memory"),
    (["vm", "create", "a", "--memory", "lots"], "--memory"),
    (["vm", "create", "a", "--memory", "99999999999999999999999"], "too large"),
    (["vm", "create", "a", "--boot", "floppy"], "--boot"),
    (["vm", "create", "a", "--disk", ":ro"], "invalid disk"),
    (["vm", "create", "a", "--nic", "bridge"], "unknown key"),
    (["vm", "create", "a", "--nic", "vhost="], "needs a socket path"),
    (["vm", "create", "a", "--nic", "tap,mac=zz:00:00:00:00:01"], "MAC"),
    (["vm", "create", "a", "--nic", "tap,vhost=/x.sock"], "not both"),
    (["vm", "create", "a", "--nic", "mac=02:00:00:00:00:01"], "vhost=PATH or tap"),
    (["vm", "create", "a", "--nic", "tap,,mac=02:00:00:00:00:01"], "empty item"),
    (["vm", "create", "a", "--user-data", "/nonexistent/user-data"], "--user-data"),
    (["vm", "create", "a", "--boot", "disk", "--kernel", "/k"], "--boot kernel"),
    (["vm", "create", "a", "--vcpus"], "needs a value"),
    (["vm", "frobnicate"], "unknown verb"),
    (["vm", "get"], "missing VM"),
    (["vm", "get", "a", "b"], "unexpected argument"),
    (["vm", "list", "--bogus"], "unknown option '--bogus'"),
    (["vm", "stop", "a", "--timeout", "0"], "--timeout"),
    (["vm", "log", "a", "--bytes", "-1"], "--bytes"),
    (["vm", "detach-nic", "a", "not-a-mac"], "invalid MAC"),
    (["vm", "attach-nic", "a", "tap,mac"], "needs an address"),
    (["vm", "attach-disk", "a"], "missing PATH"),
    (["vm", "watch", "a", "b"], "unexpected argument 'b'"),
    (["vm", "console"], "missing VM"),
])
def test_usage_errors(mvirt, args, contains):
    line = assert_one_error_line(mvirt(*args, ok=False), 2, contains)
    assert line.endswith("--help')"), line


def test_failures(vmm_daemon, mvirt, tmp_path):
    d = vmm_daemon
    name = unique()
    mvirt("vm", "create", name, "--disk", disk(d))
    ghost = unique("ghost")
    for args in (["get", ghost], ["delete", ghost], ["start", ghost], ["stop", ghost],
                 ["log", ghost], ["console", ghost], ["watch", ghost],
                 ["attach-disk", ghost, disk(d)]):
        assert_one_error_line(mvirt("vm", *args, ok=False), 1, "not found")
    assert_one_error_line(mvirt("vm", "create", name, "--disk", disk(d), ok=False), 1,
                          "already exists")
    # outside the allowed roots, or missing
    outside = tmp_path / "outside.raw"
    outside.write_bytes(b"\0" * 4096)
    p = mvirt("vm", "create", unique(), "--disk", str(outside), ok=False)
    assert_one_error_line(p, 1)
    p = mvirt("vm", "create", unique(), "--disk", os.path.join(d.disk_root, "none.raw"),
              ok=False)
    assert_one_error_line(p, 1, "does not exist")
    # wrong state
    assert_one_error_line(mvirt("vm", "stop", name, ok=False), 1, "not running")
    assert_one_error_line(mvirt("vm", "console", name, ok=False), 1, "not running")
    assert_one_error_line(mvirt("vm", "pause", name, ok=False), 1, "not running")
    assert_one_error_line(mvirt("vm", "resume", name, ok=False), 1, "not paused")
    # a never started VM has an empty log
    assert mvirt("vm", "log", name).stdout == ""
    mvirt("vm", "delete", name)
    # nobody listening
    p = subprocess.run(argv("unix:" + str(tmp_path / "nobody.sock"), "vm", "list"),
                       capture_output=True, text=True, timeout=TIMEOUT, env=clean_env())
    assert_one_error_line(p, 1, "cannot connect")


# ---- with a guest ------------------------------------------------------------

def wait_stopped(mvirt, ref, timeout=60):
    deadline = time.monotonic() + timeout
    while mjson(mvirt, "vm", "get", ref)["state"] != "STOPPED":
        assert time.monotonic() < deadline, f"VM {ref} did not stop within {timeout} s"
        time.sleep(0.1)


def wait_log(mvirt, ref, pattern, timeout=BOOT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        out = mvirt("vm", "log", ref).stdout
        if re.search(pattern, out):
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"no /{pattern}/ in `mvirt vm log {ref}` within {timeout} s:\n"
                                 + out[-3000:])
        time.sleep(0.2)


@pytest.mark.guest
def test_boot(vmm_daemon, mvirt):
    d = vmm_daemon
    name = unique()
    mvirt("vm", "create", name, "--memory", "128", *kernel_args(d), "--nic", "tap")
    w = subprocess.Popen(argv(d.endpoint, "vm", "watch", name, "--json"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=clean_env(), stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # subscribed (WatchVms sends no initial snapshot)
        vm = mjson(mvirt, "vm", "start", name)
        assert vm["state"] == "RUNNING" and vm["started_at"] is not None
        log = wait_log(mvirt, name, READY)
        assert "mvirt-init: version" in log
        # raw bytes, as the guest wrote them (\r\n included)
        raw = subprocess.run(argv(d.endpoint, "vm", "log", name), capture_output=True,
                             timeout=TIMEOUT, env=clean_env()).stdout
        tail = subprocess.run(argv(d.endpoint, "vm", "log", name, "--bytes", "10"),
                              capture_output=True, timeout=TIMEOUT, env=clean_env()).stdout
        assert b"\r\n" in raw and len(tail) == 10 and raw.endswith(tail)
        assert "running" in mvirt("vm", "list").stdout

        out = mvirt("vm", "stop", name, "--wait", "--timeout", "60").stdout
        assert out == f"VM '{name}' stopped.\n"
        vm = mjson(mvirt, "vm", "get", name)
        # a graceful stop: the guest powered itself off
        assert vm["state"] == "STOPPED" and vm["last_error"] is None
        assert "mvirt-init: poweroff" in mvirt("vm", "log", name).stdout
        # watching one VM ends with its deletion
        mvirt("vm", "delete", name)
        out, err = w.communicate(timeout=20)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert w.returncode == 0 and err == "", err
    events = [json.loads(ln) for ln in out.splitlines()]
    types = [e["type"] for e in events]
    assert types[-1] == "DELETED" and "STARTED" in types and "STOPPED" in types
    assert types.index("STARTED") < types.index("STOPPED")


@pytest.mark.guest
def test_kill(vmm_daemon, mvirt):
    d = vmm_daemon
    name = unique()
    mvirt("vm", "create", name, "--memory", "128", *kernel_args(d), "--start")
    wait_log(mvirt, name, READY)
    assert mvirt("vm", "pause", name).stdout == f"VM '{name}' paused.\n"
    assert mjson(mvirt, "vm", "resume", name)["state"] == "RUNNING"
    assert mvirt("vm", "kill", name).stdout == f"VM '{name}' is being killed.\n"
    wait_stopped(mvirt, name)
    mvirt("vm", "start", name)
    wait_log(mvirt, name, READY)
    vm = mjson(mvirt, "vm", "stop", name)
    # without --wait the reply comes at once, before the guest is down
    assert vm["state"] in ("STOPPING", "STOPPED")
    wait_stopped(mvirt, name)
    mvirt("vm", "delete", name)


class Pty:
    """`mvirt vm console` with a pseudo-terminal as its stdin and stdout."""

    def __init__(self, endpoint, ref):
        self.master, self.slave = os.openpty()
        self.modes_before = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen(argv(endpoint, "vm", "console", ref), stdin=self.slave,
                                     stdout=self.slave, stderr=subprocess.PIPE,
                                     env=clean_env())
        self.out = b""

    def read_until(self, needle, timeout=30):
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {needle!r} on the console; got {self.out[-2000:]!r}")
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    self.out += os.read(self.master, 4096)
                except OSError:
                    pass
        return self.out

    def raw_now(self):
        """Wait until mvirt put the terminal in raw mode."""
        deadline = time.monotonic() + 10
        while termios.tcgetattr(self.slave)[3] & termios.ICANON:
            assert time.monotonic() < deadline, "the terminal never went raw"
            time.sleep(0.02)

    def wait(self, timeout=20):
        self.proc.wait(timeout=timeout)
        err = self.proc.stderr.read().decode()
        assert_no_sanitizer_report(err)
        return self.proc.returncode, err

    def modes_restored(self):
        return termios.tcgetattr(self.slave) == self.modes_before

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        os.close(self.master)
        os.close(self.slave)


@pytest.mark.guest
def test_console(vmm_daemon, mvirt):
    d = vmm_daemon
    name = unique()
    mvirt("vm", "create", name, "--memory", "128", "--start",
          *kernel_args(d, cmdline=f"{QUIET} {ECHOER}"))
    wait_log(mvirt, name, READY)

    # typed input reaches the guest, its answer comes back; Ctrl-] detaches
    con = Pty(d.endpoint, name)
    try:
        con.raw_now()
        os.write(con.master, b"hello-cli\r")
        con.read_until(b"got:hello-cli")
        os.write(con.master, b"\x1d")
        rc, err = con.wait()
        assert rc == 0, err
        assert "Detach with Ctrl-]" in err and f"Detached from VM '{name}'" in err
        assert con.modes_restored()
    finally:
        con.close()
    assert mjson(mvirt, "vm", "get", name)["state"] == "RUNNING"

    # a signal: the terminal is restored, then mvirt dies of it
    for sig in (signal.SIGTERM, signal.SIGHUP):
        con = Pty(d.endpoint, name)
        try:
            con.raw_now()
            con.proc.send_signal(sig)
            rc, _ = con.wait()
            assert rc == -sig
            assert con.modes_restored()
        finally:
            con.close()

    # the VM stops: the stream ends, the terminal is restored, exit 0
    con = Pty(d.endpoint, name)
    try:
        con.raw_now()
        mvirt("vm", "stop", name)
        rc, err = con.wait(timeout=90)
        assert rc == 0, err
        assert "the VM stopped" in err
        assert con.modes_restored()
    finally:
        con.close()
    wait_stopped(mvirt, name)
    mvirt("vm", "delete", name)
