"""QEMU guests for the guest OS tests and the boot benchmark.

A Guest is one qemu-system-x86_64 process booting a vmlinux and an initramfs
under TCG (KVM cannot run 64-bit guests on our machines, see DESIGN.md), with
its serial console written to a file that the test reads, and a QMP socket
driven by the small client below (JSON lines over a unix socket). A Netns is
a network namespace made by a test: a bridge with addresses, TAP devices for
guests, and the processes (QEMU, dnsmasq, a test peer) that run inside it.

Everything that can go wrong in a guest is reported with the end of its
console: GuestError messages carry it, and Guest.check() is the assertion to
use in tests.
"""
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

QEMU = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"
IP = shutil.which("ip") or "/usr/sbin/ip"
PANIC_MARKERS = ("Kernel panic", "Attempted to kill init", "BUG:", "Oops:", "general protection")


class GuestError(AssertionError):
    """A test failure in a guest; the message ends with its console tail."""


class QMP:
    """A QMP client: the greeting, qmp_capabilities, then synchronous
    commands. A reader thread keeps every event (SHUTDOWN, POWERDOWN...)."""

    def __init__(self, path, timeout=30.0, alive=lambda: True):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline or not alive():
                    raise
                time.sleep(0.02)
        self.events = []
        self._replies = queue.Queue()
        self.sock.settimeout(timeout)
        self._file = self.sock.makefile("rb")
        greeting = json.loads(self._file.readline())
        if "QMP" not in greeting:
            raise RuntimeError(f"not a QMP greeting: {greeting}")
        self.sock.settimeout(None)  # the reader thread blocks until QEMU exits
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.command("qmp_capabilities")

    def _read(self):
        try:
            for line in self._file:
                msg = json.loads(line)
                if "event" in msg:
                    self.events.append(msg)
                else:
                    self._replies.put(msg)
        except (OSError, ValueError):
            pass
        self._replies.put(None)  # the connection is gone

    def command(self, name, timeout=10.0, **arguments):
        """Run a command and return its "return" value; RuntimeError on an
        "error" reply or when QEMU closed the connection."""
        self._next_id += 1
        msg = {"execute": name, "id": self._next_id}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._replies.get(timeout=timeout)
            if reply is None:
                raise RuntimeError(f"QMP connection closed during {name}")
            if reply.get("id") == self._next_id:
                break
        if "error" in reply:
            raise RuntimeError(f"QMP {name}: {reply['error']}")
        return reply.get("return")

    def event_names(self):
        return [e["event"] for e in self.events]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Guest:
    """One QEMU process. Construct, then start(); expect() console lines;
    stop() in a finally block (or use it as a context manager) kills it only
    if the test did not already make it exit."""

    def __init__(self, kernel, initrd, append="", *, workdir=None, name="guest",
                 netns=None, nics=(), drives=(), memory=256, cpus=2, extra=()):
        self.name = name
        self.kernel, self.initrd = kernel, initrd
        self.append = "console=ttyS0 panic=-1 " + append
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix=f"mvirt-{name}-")
        os.makedirs(self.dir, exist_ok=True)
        self.console_path = os.path.join(self.dir, f"{name}.console")
        self.qmp_path = os.path.join(self.dir, f"{name}.qmp")
        self.stderr_path = os.path.join(self.dir, f"{name}.stderr")
        self.netns = netns
        self.nics, self.drives = list(nics), list(drives)
        self.memory, self.cpus, self.extra = memory, cpus, list(extra)
        self.proc = None
        self.qmp = None
        self.started = None
        self.cursor = 0  # expect() searches the console from here on
        self.diagnostics = []  # callables returning more text for failures

    # ---- process ----

    def argv(self):
        a = [QEMU, "-M", "pc", "-accel", "tcg", "-nodefaults", "-no-user-config",
             "-m", str(self.memory), "-smp", str(self.cpus),
             "-kernel", self.kernel, "-initrd", self.initrd, "-append", self.append,
             "-serial", "file:" + self.console_path,
             "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
             "-display", "none", "-no-reboot"]
        for i, (tap, mac) in enumerate(self.nics):
            a += ["-netdev", f"tap,id=n{i},ifname={tap},script=no,downscript=no",
                  "-device", f"virtio-net-pci,netdev=n{i},romfile=,mac={mac}"]
        for i, path in enumerate(self.drives):
            a += ["-drive", f"file={path},if=virtio,format=raw,readonly=on,index={i}"]
        return a + self.extra

    def start(self):
        argv = self.argv()
        if self.netns:
            argv = self.netns.wrap(argv)
        open(self.console_path, "wb").close()
        self._stderr = open(self.stderr_path, "wb")
        self.started = time.monotonic()
        # its own process group: a Ctrl-C of pytest does not reach QEMU first
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, start_new_session=True)
        try:
            self.qmp = QMP(self.qmp_path, alive=lambda: self.proc.poll() is None)
        except OSError as e:
            self.fail(f"cannot connect to QMP ({e})")
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Cleanup: kill QEMU if it still runs, close files, remove the
        working directory if we made it."""
        if self.qmp:
            self.qmp.close()
        if self.running():
            self.proc.kill()
        if self.proc:
            self.proc.wait()
            self._stderr.close()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- console ----

    def console(self):
        with open(self.console_path, "rb") as f:
            return f.read().decode(errors="replace").replace("\r\n", "\n")

    def tail(self, lines=50):
        text = self.console().splitlines()[-lines:]
        out = f"--- console of {self.name} (last {len(text)} lines) ---\n" + "\n".join(text)
        try:
            with open(self.stderr_path, "rb") as f:
                err = f.read().decode(errors="replace").strip()
            if err:
                out += f"\n--- QEMU stderr ---\n{err[-2000:]}"
        except OSError:
            pass
        for extra in self.diagnostics:
            out += "\n" + extra()
        return out

    def fail(self, msg):
        raise GuestError(f"{self.name}: {msg}\n{self.tail()}")

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)

    def panicked(self, text=None):
        text = self.console() if text is None else text
        return [m for m in PANIC_MARKERS if m in text]

    def expect(self, pattern, timeout=60.0):
        """Wait for a regex (multiline) in the console after the cursor,
        move the cursor past it and return the match. Fails at once on a
        kernel panic or when QEMU exits without having printed it."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            exited = not self.running()
            text = self.console()
            m = rx.search(text, self.cursor)
            if m:
                self.cursor = m.end()
                return m
            bad = self.panicked(text)
            if bad:
                self.fail(f"kernel trouble ({', '.join(bad)}) while waiting for /{pattern}/")
            if exited:
                self.fail(f"QEMU exited (status {self.proc.returncode}) before /{pattern}/")
            if time.monotonic() > deadline:
                self.fail(f"no /{pattern}/ within {timeout:.0f} s")
            time.sleep(0.05)

    def expect_all(self, patterns, timeout=60.0, since=None):
        """Wait until every regex matches somewhere after the cursor (or
        the offset since: 0 for the whole console), in any order; returns
        the matches in the order given. The cursor does not move: these
        lines may interleave with others."""
        deadline = time.monotonic() + timeout
        start = self.cursor
        result = []
        for p in patterns:
            self.cursor = start if since is None else since
            try:
                result.append(self.expect(p, max(0.1, deadline - time.monotonic())))
            finally:
                self.cursor = start
        return result

    def lines_matching(self, pattern):
        return re.findall(pattern, self.console(), re.M)

    # ---- power ----

    def powerdown(self):
        """Press the ACPI power button; returns the monotonic time of the request."""
        t = time.monotonic()
        self.qmp.command("system_powerdown")
        return t

    def wait_exit(self, timeout):
        """Wait for QEMU to exit by itself; return (status, seconds waited)."""
        t0 = time.monotonic()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"QEMU still running {timeout} s later")
        return rc, time.monotonic() - t0

    def shutdown_reason(self):
        """The reason of QMP's SHUTDOWN event ("guest-shutdown" for a power
        off, "guest-reset" for a reboot under -no-reboot), or None."""
        if not self.qmp:
            return None
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            for e in self.qmp.events:
                if e["event"] == "SHUTDOWN":
                    return e.get("data", {}).get("reason")
            time.sleep(0.02)
        return None


def mac_address(n):
    """A locally administered unicast MAC for guest NIC n."""
    return "52:54:00:77:%02x:%02x" % (n >> 8 & 0xFF, n & 0xFF)


class Netns:
    """A network namespace of our own, deleted (with its links) by close().
    Names carry our pid so that concurrent runs never collide."""

    _count = 0

    def __init__(self, tag="boot"):
        Netns._count += 1
        self.name = f"mvirt-{tag}-{os.getpid()}-{Netns._count}"
        self.links = []
        self.procs = []
        subprocess.run([IP, "netns", "add", self.name], check=True, capture_output=True)
        self.ip("link", "set", "lo", "up")

    def wrap(self, argv):
        return [IP, "netns", "exec", self.name, *argv]

    def run(self, *argv, check=True):
        p = subprocess.run(self.wrap(list(argv)), capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {self.name}: {p.stderr.strip()}")
        return p

    def ip(self, *args, check=True):
        p = subprocess.run([IP, "-n", self.name, *args], capture_output=True, text=True,
                           timeout=30)
        if check and p.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)} in {self.name}: {p.stderr.strip()}")
        return p.stdout

    def sysctl(self, key, value):
        self.run("sysctl", "-qw", f"{key}={value}")

    def add_bridge(self, name, *addrs):
        """A bridge that forwards at once (no STP), without multicast
        snooping (IPv6 ND must reach the guest whatever MLD says), holding
        addrs ("10.0.0.1/24", "fd00::1/64"; IPv6 without DAD)."""
        self.ip("link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0",
                "mcast_snooping", "0")
        self.links.append(name)
        self.sysctl(f"net.ipv6.conf.{name}.accept_ra", "0")
        for a in addrs:
            extra = ["nodad"] if ":" in a else []
            self.ip("addr", "add", a, "dev", name, *extra)
        self.ip("link", "set", name, "up")

    def add_tap(self, name, bridge):
        self.ip("tuntap", "add", "dev", name, "mode", "tap")
        self.links.append(name)
        self.ip("link", "set", name, "master", bridge)
        self.ip("link", "set", name, "up")

    def popen(self, argv, log_path):
        """Start a process in the namespace with stdout+stderr to log_path."""
        log = open(log_path, "wb")
        p = subprocess.Popen(self.wrap(list(argv)), stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        # TAPs outlive their namespace (moved back to the host): delete them
        for link in reversed(self.links):
            self.ip("link", "del", link, check=False)
        subprocess.run([IP, "netns", "del", self.name], capture_output=True)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def wait_for_text(path, pattern, timeout, proc=None):
    """Wait until the file at path matches regex pattern; the match or None."""
    rx = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = rx.search(read_text(path))
        if m:
            return m
        if proc is not None and proc.poll() is not None:
            return rx.search(read_text(path))
        time.sleep(0.05)
    return None
