"""Integration tests of the VM manager mvirt-vmm (issue 4, "Tests").

Every test talks to a real mvirt-vmm (the vmm_daemon fixture of conftest.py)
through Python grpcio, and the tests marked `guest` boot the project's guest
OS for real under QEMU/TCG: what they check is what the guest prints on its
serial console (the init's `mvirt-init: ...` status lines, os/README.md),
read back through the daemon's own Console and GetConsoleLog RPCs.

Boots are kept cheap: 128 MiB, 1 vCPU, `quiet`, and `mvirt.net=off` unless a
test is about NICs (the TAP NIC every VM gets has no DHCP server behind it,
and the init would wait for one). Services given with `mvirt.run=` (busybox
of initramfs-test.cpio) make the guest print what a test needs to see.

Nothing of a test may outlive it: the `vmm` fixture deletes leftover TAP
devices named after the test's VMs, and conftest kills leftover QEMUs.
"""
import os
import queue
import re
import signal
import subprocess
import threading
import time

import grpc
import pytest

import mvirt_pb2 as pb
import mvirt_pb2_grpc
from conftest import ROOT

READY = r"mvirt-init: ready"
BOOT_TIMEOUT = 60
QUIET = "console=ttyS0 quiet mvirt.net=off"
TAP_RE = re.compile(r"^mv[0-9a-f]{8}n\d+$")
IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"

def run_param(command, policy=""):
    """A mvirt.run= kernel parameter (double quotes outside, single inside)."""
    assert '"' not in command
    return f'mvirt.run="{policy}{command}"'


# a service printing a counter every 0.2 s (pause/resume)
TICKER = run_param("/bin/sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done'")
# a service echoing every line typed on the serial port (console input)
ECHOER = run_param("/bin/sh -c 'while read l; do echo got:$l; done </dev/ttyS0'")


def links():
    out = subprocess.run([IP, "-o", "link", "show"], capture_output=True, text=True).stdout
    return [ln.split(":")[1].strip().split("@")[0] for ln in out.splitlines() if ":" in ln]


def taps_of(vm_id):
    return [n for n in links() if n.startswith("mv" + vm_id[:8] + "n")]


class Vmm:
    """The daemon plus a stub and the VMs this test created (for cleanup)."""

    def __init__(self, daemon):
        self.d = daemon
        self.ch = daemon.channel()
        self.stub = mvirt_pb2_grpc.VmServiceStub(self.ch)
        self.ids = []

    def reconnect(self):
        self.ch.close()
        self.ch = self.d.channel()
        self.stub = mvirt_pb2_grpc.VmServiceStub(self.ch)

    def config(self, cmdline=QUIET, initramfs="initramfs-test.cpio", **kw):
        return self.d.kernel_config(initramfs=initramfs, cmdline=cmdline, **kw)

    def create(self, name=None, config=None, **kw):
        req = pb.CreateVmRequest(config=config or self.config(**kw))
        if name is not None:
            req.name = name
        vm = self.stub.CreateVm(req, timeout=10)
        self.ids.append(vm.id)
        return vm

    def get(self, ref):
        return self.stub.GetVm(pb.GetVmRequest(id=ref), timeout=10)

    def start(self, ref):
        return self.stub.StartVm(pb.StartVmRequest(id=ref), timeout=90)

    def stop(self, ref, timeout_seconds=0):
        return self.stub.StopVm(pb.StopVmRequest(id=ref, timeout_seconds=timeout_seconds),
                                timeout=10)

    def kill(self, ref):
        return self.stub.KillVm(pb.KillVmRequest(id=ref), timeout=10)

    def delete(self, ref):
        return self.stub.DeleteVm(pb.DeleteVmRequest(id=ref), timeout=10)

    def list(self):
        return list(self.stub.ListVms(pb.ListVmsRequest(), timeout=10).vms)

    def log(self, ref, max_bytes=0):
        return self.stub.GetConsoleLog(pb.GetConsoleLogRequest(id=ref, max_bytes=max_bytes),
                                       timeout=10)

    def wait_state(self, ref, state, timeout=40):
        deadline = time.monotonic() + timeout
        while True:
            vm = self.get(ref)
            if vm.state == state:
                return vm
            if time.monotonic() > deadline:
                raise AssertionError(f"VM {ref} is {pb.VmState.Name(vm.state)}, not "
                                     f"{pb.VmState.Name(state)} after {timeout} s; console:\n"
                                     + self.log_text(ref)[-2000:])
            time.sleep(0.05)

    def log_text(self, ref):
        try:
            return self.log(ref).data.decode(errors="replace")
        except grpc.RpcError as e:
            return f"(no console log: {e.code()})"

    def wait_log(self, ref, pattern, timeout=BOOT_TIMEOUT, since=0):
        """Wait for a regex in the console log (bytes after offset since)."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text(ref).replace("\r\n", "\n")
            m = rx.search(text, since)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"no /{pattern}/ on the console of {ref} within {timeout}"
                                     f" s:\n{text[-3000:]}")
            time.sleep(0.1)

    def qemu_pid(self, vm_id):
        """The pid of the QEMU whose command line names this VM's run dir."""
        needle = os.path.join(self.d.run_dir, "vms", vm_id).encode()
        pids = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    if needle in f.read():
                        pids.append(int(p))
            except OSError:
                pass
        assert len(pids) <= 1, f"several processes for {vm_id}: {pids}"
        return pids[0] if pids else None

    def close(self):
        self.ch.close()


@pytest.fixture
def vmm(vmm_daemon):
    v = Vmm(vmm_daemon)
    try:
        yield v
    finally:
        v.close()
        for vm_id in v.ids:
            for t in taps_of(vm_id):
                subprocess.run([IP, "link", "del", t], capture_output=True)


def rpc_error(fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as ei:
        fn(*args, **kw)
    return ei.value


class Console:
    """One Console stream: the first message is sent at once; a thread
    collects the output; expect() waits for a regex after a cursor."""

    def __init__(self, stub, ref, first=b""):
        self._q = queue.Queue()
        self._q.put(pb.ConsoleInput(vm_id=ref, data=first))
        self.buf = bytearray()
        self.cursor = 0
        self.ended = threading.Event()
        self.error = None
        self.chunks = 0
        self._lock = threading.Lock()
        self._call = stub.Console(self._requests())
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _requests(self):
        while True:
            m = self._q.get()
            if m is None:
                return
            yield m

    def _read(self):
        try:
            for out in self._call:
                with self._lock:
                    self.buf += out.data
                    self.chunks += 1
        except grpc.RpcError as e:
            self.error = e
        self.ended.set()

    def send(self, data):
        self._q.put(pb.ConsoleInput(data=data))

    def text(self):
        with self._lock:
            return bytes(self.buf).decode(errors="replace").replace("\r\n", "\n")

    def expect(self, pattern, timeout=BOOT_TIMEOUT):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            m = rx.search(text, self.cursor)
            if m:
                self.cursor = m.end()
                return m
            if self.ended.is_set() and not rx.search(self.text(), self.cursor):
                raise AssertionError(f"console ended ({self.error}) before /{pattern}/:\n"
                                     f"{text[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no /{pattern}/ on the console within {timeout} s:\n"
                                     f"{text[-2000:]}")
            time.sleep(0.05)

    def close(self):
        self._q.put(None)
        self._call.cancel()
        self._t.join(5)


class Watch:
    """A WatchVms stream collected by a thread."""

    def __init__(self, stub, vm_id=None):
        req = pb.WatchVmsRequest()
        if vm_id is not None:
            req.vm_id = vm_id
        self.events = []
        self.ended = threading.Event()
        self.error = None
        self._call = stub.WatchVms(req)
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        try:
            for e in self._call:
                self.events.append(e)
        except grpc.RpcError as e:
            self.error = e
        self.ended.set()

    def wait_for(self, pred, timeout=30, what="event"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(pred(e) for e in list(self.events)):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout} s; got {self.summary()}")

    def summary(self):
        return [(pb.VmEventType.Name(e.type), pb.VmState.Name(e.vm.state)) for e in self.events]

    def close(self):
        self._call.cancel()
        self._t.join(5)


# ---- lifecycle -------------------------------------------------------------


@pytest.mark.guest
def test_lifecycle_graceful_stop_is_the_guests_power_off(vmm):
    """create → start → ready on Console → StopVm powers the guest off by
    itself (its own poweroff line and the kernel's "Power down", well
    before the stop timeout, last_error absent) → start again → kill →
    delete; TAP devices come and go with the VM."""
    vm = vmm.create("life")
    assert vm.state == pb.VM_STATE_STOPPED and not vm.HasField("started_at")
    # normalisation: no NICs given → one TAP NIC with a generated MAC
    assert len(vm.config.nics) == 1 and not vm.config.nics[0].HasField("vhost_socket")
    mac = vm.config.nics[0].mac
    assert re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac)
    assert int(mac[:2], 16) & 1 == 0 and int(mac[:2], 16) & 2 == 2, mac
    assert taps_of(vm.id) == []

    t0 = time.monotonic()
    got = vmm.start("life")
    assert got.state == pb.VM_STATE_RUNNING and got.HasField("started_at")
    assert not got.HasField("last_error")
    assert taps_of(vm.id) == [f"mv{vm.id[:8]}n0"]
    pid = vmm.qemu_pid(vm.id)
    assert pid
    con = Console(vmm.stub, "life")
    try:
        con.expect(READY)
        print(f"StartVm → ready: {time.monotonic() - t0:.1f} s")
        t1 = time.monotonic()
        assert vmm.stop("life", timeout_seconds=25).state == pb.VM_STATE_STOPPING
        con.expect(r"^mvirt-init: poweroff$", timeout=15)
        vm2 = vmm.wait_state("life", pb.VM_STATE_STOPPED, timeout=20)
        took = time.monotonic() - t1
        assert took < 15, f"graceful stop took {took:.1f} s: killed after the timeout?"
        assert not vm2.HasField("last_error"), vm2.last_error
        con.ended.wait(10)
        assert con.ended.is_set(), "the Console stream did not end with the VM"
        assert con.error is None, f"Console ended with {con.error}"
    finally:
        con.close()
    text = vmm.log_text("life")
    assert "reboot: Power down" in text, "the kernel did not power the guest off itself"
    assert vmm.qemu_pid(vm.id) is None
    assert taps_of(vm.id) == [], "TAP left behind after stop"

    # start again (same MAC), then kill
    got = vmm.start(vm.id)
    assert got.state == pb.VM_STATE_RUNNING
    assert got.config.nics[0].mac == mac
    vmm.wait_log(vm.id, READY)
    pid2 = vmm.qemu_pid(vm.id)
    assert pid2 and pid2 != pid
    assert vmm.kill(vm.id).state == pb.VM_STATE_STOPPING
    vm3 = vmm.wait_state(vm.id, pb.VM_STATE_STOPPED, timeout=10)
    assert not vm3.HasField("last_error")
    assert "mvirt-init: poweroff" not in vmm.log_text(vm.id), "KillVm let the guest power off"
    assert vmm.qemu_pid(vm.id) is None
    assert taps_of(vm.id) == []
    vmm.delete(vm.id)
    assert rpc_error(vmm.get, vm.id).code() == grpc.StatusCode.NOT_FOUND
    assert rpc_error(vmm.log, vm.id).code() == grpc.StatusCode.NOT_FOUND
    # its runtime folder and its console log went with it
    assert not os.path.exists(os.path.join(vmm.d.run_dir, "vms", vm.id))
    assert not os.path.exists(os.path.join(vmm.d.data_dir, "vms", vm.id))


@pytest.mark.guest
def test_pause_resume(vmm):
    """PAUSED stops the guest's output (a ticker service every 0.2 s),
    ResumeVm makes it continue."""
    vm = vmm.create("pz", cmdline=f"{QUIET} {TICKER}")
    vmm.start(vm.id)
    con = Console(vmm.stub, vm.id)
    try:
        con.expect(r"^sh-0: tick 3$")
        assert vmm.stub.PauseVm(pb.PauseVmRequest(id=vm.id), timeout=10).state == \
            pb.VM_STATE_PAUSED
        assert vmm.get(vm.id).state == pb.VM_STATE_PAUSED
        time.sleep(0.5)  # output in flight when the vCPUs stopped
        frozen = vmm.log(vm.id).total_bytes
        time.sleep(2.0)
        assert vmm.log(vm.id).total_bytes == frozen, "the guest printed while paused"
        # a paused VM can not be paused or started; Console still attaches
        assert rpc_error(vmm.stub.PauseVm, pb.PauseVmRequest(id=vm.id), timeout=10).code() == \
            grpc.StatusCode.FAILED_PRECONDITION
        assert rpc_error(vmm.start, vm.id).code() == grpc.StatusCode.FAILED_PRECONDITION
        last = int(re.findall(r"tick (\d+)", con.text())[-1])
        assert vmm.stub.ResumeVm(pb.ResumeVmRequest(id=vm.id), timeout=10).state == \
            pb.VM_STATE_RUNNING
        con.expect(rf"^sh-0: tick {last + 3}$", timeout=15)
        assert vmm.log(vm.id).total_bytes > frozen
        assert rpc_error(vmm.stub.ResumeVm, pb.ResumeVmRequest(id=vm.id),
                         timeout=10).code() == grpc.StatusCode.FAILED_PRECONDITION
        # StopVm of a paused VM resumes it and still powers it off cleanly
        assert vmm.stub.PauseVm(pb.PauseVmRequest(id=vm.id), timeout=10).state == \
            pb.VM_STATE_PAUSED
        vmm.stop(vm.id, timeout_seconds=25)
        con.expect(r"^mvirt-init: poweroff$", timeout=15)
        assert not vmm.wait_state(vm.id, pb.VM_STATE_STOPPED).HasField("last_error")
    finally:
        con.close()


@pytest.mark.guest
def test_reboot_same_process(vmm):
    """RebootVm resets the guest inside the same QEMU: the boot shows again
    on the console, the state stays RUNNING, started_at is unchanged."""
    vm = vmm.create("rb")
    started = vmm.start(vm.id)
    m = vmm.wait_log(vm.id, READY)
    pid = vmm.qemu_pid(vm.id)
    assert pid
    got = vmm.stub.RebootVm(pb.RebootVmRequest(id=vm.id), timeout=30)
    assert got.state == pb.VM_STATE_RUNNING
    m2 = vmm.wait_log(vm.id, r"^mvirt-init: version ", since=m.end())
    vmm.wait_log(vm.id, READY, since=m2.end())
    vm2 = vmm.get(vm.id)
    assert vm2.state == pb.VM_STATE_RUNNING
    assert vm2.started_at == started.started_at
    assert vmm.qemu_pid(vm.id) == pid, "RebootVm replaced the QEMU process"
    vmm.kill(vm.id)
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)
    assert rpc_error(vmm.stub.RebootVm, pb.RebootVmRequest(id=vm.id), timeout=10).code() == \
        grpc.StatusCode.FAILED_PRECONDITION


# ---- console ---------------------------------------------------------------


@pytest.mark.guest
def test_two_viewers_history_and_log_after_stop(vmm):
    """Two Console streams at once both get output and each one's input
    reaches the guest; a late viewer first gets the recent history;
    GetConsoleLog still has the output after the stop."""
    vm = vmm.create("con", cmdline=f"{QUIET} {ECHOER}")
    vmm.start(vm.id)
    a = Console(vmm.stub, vm.id)
    b = Console(vmm.stub, "con")
    try:
        a.expect(READY)
        b.expect(READY)
        a.send(b"from-a\n")
        a.expect(r"^sh-0: got:from-a$", timeout=20)
        b.expect(r"^sh-0: got:from-a$", timeout=20)
        b.send(b"from-b\n")
        a.expect(r"^sh-0: got:from-b$", timeout=20)
        b.expect(r"^sh-0: got:from-b$", timeout=20)
        # the first message's data goes to the guest too
        c = Console(vmm.stub, vm.id, first=b"from-c\n")
        try:
            # the late viewer first gets what the guest printed before it came
            c.expect(r"mvirt-init: version ", timeout=10)
            c.expect(r"^sh-0: got:from-b$", timeout=10)
            c.expect(r"^sh-0: got:from-c$", timeout=20)
            a.expect(r"^sh-0: got:from-c$", timeout=20)
            assert not a.ended.is_set() and not b.ended.is_set(), \
                "a new viewer ended an older one"
        finally:
            c.close()
        # a viewer that goes away does not disturb the others
        a.close()
        b.send(b"after-a\n")
        b.expect(r"^sh-0: got:after-a$", timeout=20)
        vmm.stop(vm.id, timeout_seconds=25)
        b.expect(r"^mvirt-init: poweroff$", timeout=15)
        vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)
        b.ended.wait(10)
        assert b.ended.is_set() and b.error is None, f"stream end: {b.error}"
    finally:
        a.close()
        b.close()
    log = vmm.log(vm.id)
    text = log.data.decode(errors="replace")
    for s in ("mvirt-init: ready", "got:from-a", "got:from-b", "got:after-a",
              "mvirt-init: poweroff"):
        assert s in text, f"{s!r} missing from GetConsoleLog after stop"
    assert log.total_bytes >= len(log.data) > 0
    tail = vmm.log(vm.id, max_bytes=100)
    assert len(tail.data) == 100 and log.data.endswith(tail.data)
    assert tail.total_bytes == log.total_bytes
    # console of a stopped VM
    c = Console(vmm.stub, vm.id)
    c.ended.wait(10)
    assert c.error is not None and c.error.code() == grpc.StatusCode.FAILED_PRECONDITION
    c.close()


# ---- WatchVms --------------------------------------------------------------


@pytest.mark.guest
def test_watch_sees_every_transition(vmm):
    """Every change in commit order with the right type (api.md 2.4/2.5),
    the full Vm in each; a single-VM watch ends with OK after DELETED."""
    U, C, ST, SP, D = (pb.VM_EVENT_UNSPECIFIED, pb.VM_EVENT_CREATED, pb.VM_EVENT_STARTED,
                       pb.VM_EVENT_STOPPED, pb.VM_EVENT_DELETED)
    everything = Watch(vmm.stub)
    time.sleep(0.3)  # subscribed before the first change
    vm = vmm.create("w")
    one = Watch(vmm.stub, "w")
    other = vmm.create("w-other")
    time.sleep(0.3)
    vmm.start(vm.id)
    vmm.stub.PauseVm(pb.PauseVmRequest(id=vm.id), timeout=10)
    vmm.stub.ResumeVm(pb.ResumeVmRequest(id=vm.id), timeout=10)
    disk = os.path.join(vmm.d.disk_root, "w.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    vmm.kill(vm.id)
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)
    vmm.stub.AttachDisk(pb.AttachDiskRequest(vm_id=vm.id, disk=pb.DiskConfig(path=disk)),
                        timeout=10)
    vmm.delete(vm.id)
    expected = [
        (C, pb.VM_STATE_STOPPED),
        (U, pb.VM_STATE_STARTING),
        (ST, pb.VM_STATE_RUNNING),
        (U, pb.VM_STATE_PAUSED),
        (U, pb.VM_STATE_RUNNING),
        (U, pb.VM_STATE_STOPPING),
        (SP, pb.VM_STATE_STOPPED),
        (U, pb.VM_STATE_STOPPED),   # AttachDisk
        (D, pb.VM_STATE_STOPPED),
    ]
    try:
        one.ended.wait(15)
        assert one.ended.is_set(), f"single-VM watch did not end after DELETED: {one.summary()}"
        assert one.error is None, f"single-VM watch ended with {one.error}"
        everything.wait_for(lambda e: e.type == D and e.vm_id == vm.id, what="DELETED")
        mine = [e for e in everything.events if e.vm_id == vm.id]
        got = [(e.type, e.vm.state) for e in mine]
        assert got == expected, f"events {everything.summary()}"
        # the single-VM watch started after CREATED and saw only this VM
        assert [(e.type, e.vm.state) for e in one.events] == expected[1:], one.summary()
        assert any(e.vm_id == other.id and e.type == C for e in everything.events)
        for e in mine:
            assert e.vm.id == vm.id and e.vm.name == "w" and e.timestamp > 0
            assert e.HasField("vm") and e.vm.config.vcpus == 1
        assert [d.path for d in mine[-2].vm.config.disks] == [disk]
        assert mine[2].vm.HasField("started_at")
        # watching an unknown VM: NOT_FOUND before any message
        bad = Watch(vmm.stub, "no-such-vm")
        bad.ended.wait(10)
        assert bad.error is not None and bad.error.code() == grpc.StatusCode.NOT_FOUND
        assert bad.events == []
    finally:
        everything.close()
        one.close()


# ---- recovery --------------------------------------------------------------


@pytest.mark.guest
def test_daemon_kill9_restart_readopts(vmm):
    """kill -9 of mvirt-vmm while two VMs run; after restart both are still
    RUNNING in the same QEMU processes, their consoles work, StopVm works."""
    vms = [vmm.create(f"keep{i}", cmdline=f"{QUIET} {ECHOER}") for i in range(2)]
    for v in vms:
        vmm.start(v.id)
    for v in vms:
        vmm.wait_log(v.id, READY)
    pids = [vmm.qemu_pid(v.id) for v in vms]
    assert all(pids)
    vmm.d.proc.kill()
    vmm.d.proc.wait()
    time.sleep(0.5)
    assert [vmm.qemu_pid(v.id) for v in vms] == pids, "QEMU died with the daemon"
    vmm.d.restart()
    vmm.reconnect()
    for v, pid in zip(vms, pids):
        got = vmm.get(v.id)
        assert got.state == pb.VM_STATE_RUNNING, f"{v.name}: {got}"
        assert not got.HasField("last_error")
        assert vmm.qemu_pid(v.id) == pid
        con = Console(vmm.stub, v.id)
        try:
            con.send(f"hello-{v.name}\n".encode())
            con.expect(rf"^sh-0: got:hello-{v.name}$", timeout=20)
        finally:
            con.close()
        assert taps_of(v.id) == [f"mv{v.id[:8]}n0"]
    for v in vms:
        vmm.stop(v.id, timeout_seconds=25)
    for v in vms:
        got = vmm.wait_state(v.id, pb.VM_STATE_STOPPED, timeout=30)
        assert not got.HasField("last_error"), got.last_error
        assert "mvirt-init: poweroff" in vmm.log_text(v.id)
        assert vmm.qemu_pid(v.id) is None
        assert taps_of(v.id) == []


@pytest.mark.guest
def test_qemu_killed_behind_the_daemons_back(vmm):
    """A QEMU killed from outside: the VM becomes STOPPED at once (pidfd),
    last_error names the signal, an event STOPPED carries it."""
    vm = vmm.create("victim")
    vmm.start(vm.id)
    vmm.wait_log(vm.id, READY)
    w = Watch(vmm.stub, vm.id)
    try:
        time.sleep(0.3)
        os.kill(vmm.qemu_pid(vm.id), signal.SIGKILL)
        got = vmm.wait_state(vm.id, pb.VM_STATE_STOPPED, timeout=5)
        assert got.HasField("last_error") and "signal 9" in got.last_error, got.last_error
        w.wait_for(lambda e: e.type == pb.VM_EVENT_STOPPED, what="STOPPED")
        ev = [e for e in w.events if e.type == pb.VM_EVENT_STOPPED][0]
        assert "signal 9" in ev.vm.last_error
    finally:
        w.close()
    assert taps_of(vm.id) == []
    # the next start clears last_error
    got = vmm.start(vm.id)
    assert not got.HasField("last_error")
    vmm.kill(vm.id)
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)


@pytest.mark.guest
def test_guest_power_off_by_itself(vmm):
    """A guest that powers itself off (init gets SIGTERM from a service):
    STOPPED without any request, last_error says so."""
    vm = vmm.create("selfoff", cmdline=f"{QUIET} " +
                    run_param("/bin/sh -c 'sleep 1; kill -TERM 1'"))
    vmm.start(vm.id)
    got = vmm.wait_state(vm.id, pb.VM_STATE_STOPPED, timeout=BOOT_TIMEOUT)
    assert "mvirt-init: poweroff" in vmm.log_text(vm.id)
    assert got.HasField("last_error") and "powered off" in got.last_error, got


@pytest.mark.guest
def test_uefi_disk_boot(vmm, guest_os):
    """DISK boot: OVMF (Debian's ovmf, the daemon's default firmware) boots
    our UKI from an EFI system partition on the VM's first disk; the guest
    reaches ready and powers off on StopVm."""
    uki = os.path.join(guest_os, "mvirt-os.efi")
    esp = os.path.join(vmm.d.disk_root, "esp.img")
    with open(esp, "wb") as f:
        f.truncate(64 << 20)
    for argv in (["mkfs.vfat", "-F", "32", esp],
                 ["mmd", "-i", esp, "::/EFI", "::/EFI/BOOT"],
                 ["mcopy", "-i", esp, uki, "::/EFI/BOOT/BOOTX64.EFI"]):
        subprocess.run(argv, check=True, capture_output=True)
    cfg = pb.VmConfig(vcpus=1, memory_mb=256, boot_mode=pb.BOOT_MODE_DISK,
                      disks=[pb.DiskConfig(path=esp)])
    vm = vmm.create("uefi", config=cfg)
    vmm.start(vm.id)
    vmm.wait_log(vm.id, READY, timeout=120)
    vmm.stop(vm.id)
    got = vmm.wait_state(vm.id, pb.VM_STATE_STOPPED, timeout=60)
    assert "mvirt-init: poweroff" in vmm.log_text(vm.id)
    assert not got.HasField("last_error"), got


# ---- many VMs --------------------------------------------------------------


@pytest.mark.guest
def test_ten_vms_at_once(vmm):
    """Ten VMs of 128 MiB start, all reach ready, all stop gracefully."""
    n = 10
    vms = [vmm.create(f"many{i}", initramfs="initramfs.cpio") for i in range(n)]
    t0 = time.monotonic()
    errors = []

    def start(v):
        try:
            vmm.start(v.id)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((v.name, e))

    threads = [threading.Thread(target=start, args=(v,)) for v in vms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    t_started = time.monotonic() - t0
    for v in vms:
        vmm.wait_log(v.id, READY, timeout=120)
    t_ready = time.monotonic() - t0
    info = vmm.stub.GetSystemInfo(pb.GetSystemInfoRequest(), timeout=10)
    assert info.allocated_cpus == n and info.allocated_memory_mb == n * 128
    for v in vms:
        vmm.stop(v.id, timeout_seconds=30)
    for v in vms:
        got = vmm.wait_state(v.id, pb.VM_STATE_STOPPED, timeout=60)
        assert not got.HasField("last_error"), (v.name, got.last_error)
        assert "mvirt-init: poweroff" in vmm.log_text(v.id), v.name
    t_stopped = time.monotonic() - t0
    print(f"ten VMs: all started {t_started:.1f} s, all ready {t_ready:.1f} s, "
          f"all stopped {t_stopped:.1f} s")
    info = vmm.stub.GetSystemInfo(pb.GetSystemInfoRequest(), timeout=10)
    assert info.allocated_cpus == 0 and info.allocated_memory_mb == 0


# ---- cloud-init, disks, NICs -----------------------------------------------


@pytest.mark.guest
def test_cloud_init_seed_hostname(vmm):
    """user_data set → a NoCloud seed; the guest's init takes its hostname
    from meta-data's local-hostname, the sanitized VM name."""
    cfg = vmm.config(user_data="#cloud-config\n")
    vm = vmm.create("Seed_Test..One", config=cfg)
    vmm.start(vm.id)
    vmm.wait_log(vm.id, r"^mvirt-init: hostname seed-test-one source seed$")
    vmm.wait_log(vm.id, READY)
    vmm.kill(vm.id)
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)


@pytest.mark.guest
def test_without_user_data_no_seed(vmm):
    """Without user_data no seed is attached: no hostname from a seed."""
    vm = vmm.create("noseed")
    vmm.start(vm.id)
    vmm.wait_log(vm.id, READY)
    assert "source seed" not in vmm.log_text(vm.id)
    vmm.kill(vm.id)
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)


def make_disk(vmm, name, size=1 << 20):
    path = os.path.join(vmm.d.disk_root, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


SHOW_DEVICES = run_param("/bin/sh -c 'echo disks: $(ls /sys/block | grep vd); "
                         "echo nics: $(ls /sys/class/net)'")


@pytest.mark.guest
def test_attach_detach_on_stopped_vm(vmm):
    """AttachDisk/AttachNic on a STOPPED VM change the definition, and the
    next start uses them: the guest sees vdb and a second NIC; after the
    detaches it sees neither."""
    first = make_disk(vmm, "first.img")
    vm = vmm.create("edit", cmdline=f"{QUIET} {SHOW_DEVICES}",
                    disks=[pb.DiskConfig(path=first)])
    disk = make_disk(vmm, "edit.img")
    got = vmm.stub.AttachDisk(pb.AttachDiskRequest(vm_id="edit", disk=pb.DiskConfig(
        path=disk, readonly=True)), timeout=10)
    assert [(d.path, d.readonly) for d in got.config.disks] == [(first, False), (disk, True)]
    got = vmm.stub.AttachNic(pb.AttachNicRequest(vm_id=vm.id, nic=pb.NicConfig(
        mac="52:54:00:aa:bb:01")), timeout=10)
    assert [n.mac for n in got.config.nics][1:] == ["52:54:00:aa:bb:01"]
    assert vmm.get(vm.id).config == got.config
    vmm.start(vm.id)
    vmm.wait_log(vm.id, r"^sh-0: disks: vda vdb$")
    vmm.wait_log(vm.id, r"^sh-0: nics: eth0 eth1 lo$")
    assert sorted(taps_of(vm.id)) == [f"mv{vm.id[:8]}n0", f"mv{vm.id[:8]}n1"]
    vmm.kill(vm.id)
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)
    assert taps_of(vm.id) == []

    got = vmm.stub.DetachDisk(pb.DetachDiskRequest(vm_id=vm.id, path=disk), timeout=10)
    assert [d.path for d in got.config.disks] == [first]
    got = vmm.stub.DetachNic(pb.DetachNicRequest(vm_id=vm.id, mac="52:54:00:AA:BB:01"),
                             timeout=10)
    assert len(got.config.nics) == 1
    vmm.start(vm.id)
    vmm.wait_log(vm.id, r"^sh-0: disks: vda$")
    vmm.wait_log(vm.id, r"^sh-0: nics: eth0 lo$")
    vmm.kill(vm.id)
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)
    # detaching what is not there
    e = rpc_error(vmm.stub.DetachDisk, pb.DetachDiskRequest(vm_id=vm.id, path=disk), timeout=10)
    assert e.code() == grpc.StatusCode.NOT_FOUND
    e = rpc_error(vmm.stub.DetachNic, pb.DetachNicRequest(vm_id=vm.id, mac="52:54:00:aa:bb:01"),
                  timeout=10)
    assert e.code() == grpc.StatusCode.NOT_FOUND


# the guest notices a hot-plugged PCI device through ACPI PCI hotplug on
# QEMU's -M pc; the kernel fragment is the truth (its build fails when
# Kconfig drops an option), the built kernel.config may be stale here
def _kernel_fragment_has(option):
    try:
        with open(os.path.join(ROOT, "os", "kernel", "mvirt.config")) as f:
            return re.search(rf"^{option}=y$", f.read(), re.M) is not None
    except OSError:
        return False


# a service reporting vdb when it appears and when it goes away
WATCH_VDB = run_param("/bin/sh -c 'while [ ! -e /sys/block/vdb ]; do sleep 0.2; done; "
                      "echo saw vdb $(cat /sys/block/vdb/size); "
                      "while [ -e /sys/block/vdb ]; do sleep 0.2; done; echo vdb gone'")


@pytest.mark.guest
@pytest.mark.xfail(not _kernel_fragment_has("CONFIG_HOTPLUG_PCI_ACPI"), strict=True,
                   reason="the guest kernel lacks CONFIG_HOTPLUG_PCI_ACPI: it never notices "
                   "a device_add on -M pc")
def test_hotplug_disk_into_running_vm(vmm):
    """AttachDisk on a RUNNING VM: QEMU gets the device, the guest sees
    vdb; attaching it twice is ALREADY_EXISTS with the config unchanged;
    DetachDisk removes it from the guest and the config."""
    first = make_disk(vmm, "first.img")
    vm = vmm.create("hot", cmdline=f"{QUIET} {WATCH_VDB}", disks=[pb.DiskConfig(path=first)])
    vmm.start(vm.id)
    vmm.wait_log(vm.id, READY)
    disk = make_disk(vmm, "hot.img", 4 << 20)
    try:
        got = vmm.stub.AttachDisk(pb.AttachDiskRequest(vm_id=vm.id, disk=pb.DiskConfig(
            path=disk)), timeout=30)
        assert [d.path for d in got.config.disks] == [first, disk]
        assert got.state == pb.VM_STATE_RUNNING
        vmm.wait_log(vm.id, r"^sh-0: saw vdb 8192$", timeout=20)
        e = rpc_error(vmm.stub.AttachDisk, pb.AttachDiskRequest(
            vm_id=vm.id, disk=pb.DiskConfig(path=disk)), timeout=10)
        assert e.code() == grpc.StatusCode.ALREADY_EXISTS
        assert vmm.get(vm.id).config == got.config
        got = vmm.stub.DetachDisk(pb.DetachDiskRequest(vm_id=vm.id, path=disk), timeout=30)
        assert [d.path for d in got.config.disks] == [first]
        vmm.wait_log(vm.id, r"^sh-0: vdb gone$", timeout=20)
    finally:
        vmm.kill(vm.id)
        vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)


# ---- bad input -------------------------------------------------------------


def snapshot(vmm):
    return sorted((v.id, v.name, v.state, v.config.SerializeToString(deterministic=True))
                  for v in vmm.list())


def test_bad_create_input(vmm, tmp_path):
    """Each bad CreateVm is rejected with a clear status and changes
    nothing (ListVms before/after)."""
    d = vmm.d
    vmm.create("taken", config=vmm.config())
    before = snapshot(vmm)
    kernel = os.path.join(d.boot_root, "vmlinux")
    os.makedirs(os.path.join(d.disk_root, "adir"), exist_ok=True)
    outside = tmp_path / "outside.img"
    outside.write_bytes(b"\0" * 4096)
    notsock = os.path.join(d.disk_root, "plain-file")
    open(notsock, "wb").close()
    link = os.path.join(d.disk_root, "sneaky.img")
    os.symlink("/etc/shadow", link)

    def cfg(**kw):
        base = dict(vcpus=1, memory_mb=128, boot_mode=pb.BOOT_MODE_KERNEL, kernel=kernel)
        base.update(kw)
        return pb.VmConfig(**base)

    I, A = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS
    cases = [
        ("no config", pb.CreateVmRequest(name="x"), I, "config is required"),
        ("duplicate name", pb.CreateVmRequest(name="taken", config=cfg()), A, "already exists"),
        ("uuid-shaped name", pb.CreateVmRequest(name="0b5e5a8e-8f2c-4a43-9a51-7d1f2c3b4a5d",
                                                config=cfg()), I, "invalid name"),
        ("bad name", pb.CreateVmRequest(name="-x", config=cfg()), I, "invalid name"),
        ("long name", pb.CreateVmRequest(name="a" * 64, config=cfg()), I, "invalid name"),
        ("zero vcpus", pb.CreateVmRequest(config=cfg(vcpus=0)), I, "vcpus"),
        ("zero memory", pb.CreateVmRequest(config=cfg(memory_mb=0)), I, "memory"),
        ("absurd vcpus", pb.CreateVmRequest(config=cfg(vcpus=1 << 31)), I, "vcpus"),
        ("absurd memory", pb.CreateVmRequest(config=cfg(memory_mb=1 << 62)), I, "memory"),
        ("boot_mode 7", pb.CreateVmRequest(config=cfg(boot_mode=7)), I, "boot"),
        ("kernel mode without kernel", pb.CreateVmRequest(config=pb.VmConfig(
            vcpus=1, memory_mb=128, boot_mode=pb.BOOT_MODE_KERNEL)), I, "kernel"),
        ("kernel empty", pb.CreateVmRequest(config=cfg(kernel="")), I, "kernel"),
        ("disk mode without disks", pb.CreateVmRequest(config=pb.VmConfig(
            vcpus=1, memory_mb=128, boot_mode=pb.BOOT_MODE_DISK)), I, "disk"),
        ("kernel outside roots", pb.CreateVmRequest(config=cfg(kernel="/bin/sh")), I,
         "outside"),
        ("kernel does not exist", pb.CreateVmRequest(config=cfg(
            kernel=os.path.join(d.boot_root, "nope"))), I, "does not exist"),
        ("initramfs outside roots", pb.CreateVmRequest(config=cfg(initramfs="/etc/passwd")), I,
         "outside"),
        ("relative kernel", pb.CreateVmRequest(config=cfg(kernel="boot/vmlinux")), I, ""),
        ("disk outside roots", pb.CreateVmRequest(config=cfg(disks=[pb.DiskConfig(
            path=str(outside))])), I, "outside"),
        ("/etc/shadow as disk", pb.CreateVmRequest(config=cfg(disks=[pb.DiskConfig(
            path="/etc/shadow")])), I, "outside"),
        ("symlink to /etc/shadow", pb.CreateVmRequest(config=cfg(disks=[pb.DiskConfig(
            path=link)])), I, "outside"),
        ("dot-dot out of the root", pb.CreateVmRequest(config=cfg(disks=[pb.DiskConfig(
            path=d.disk_root + "/../../../etc/shadow")])), I, ""),
        ("disk does not exist", pb.CreateVmRequest(config=cfg(disks=[pb.DiskConfig(
            path=os.path.join(d.disk_root, "nope.img"))])), I, "does not exist"),
        ("directory as disk", pb.CreateVmRequest(config=cfg(disks=[pb.DiskConfig(
            path=os.path.join(d.disk_root, "adir"))])), I, "regular file"),
        ("disk path with comma", pb.CreateVmRequest(config=cfg(disks=[pb.DiskConfig(
            path=os.path.join(d.disk_root, "a,b"))])), I, ""),
        ("malformed MAC", pb.CreateVmRequest(config=cfg(nics=[pb.NicConfig(mac="52:54:00:1")])),
         I, "mac"),
        ("MAC not hex", pb.CreateVmRequest(config=cfg(nics=[pb.NicConfig(
            mac="52:54:00:zz:00:01")])), I, "mac"),
        ("multicast MAC", pb.CreateVmRequest(config=cfg(nics=[pb.NicConfig(
            mac="01:00:5e:00:00:01")])), I, "mac"),
        ("duplicate MAC", pb.CreateVmRequest(config=cfg(nics=[
            pb.NicConfig(mac="52:54:00:00:00:01"), pb.NicConfig(mac="52:54:00:00:00:01")])),
         I, "mac"),
        ("vhost socket missing", pb.CreateVmRequest(config=cfg(nics=[pb.NicConfig(
            vhost_socket=os.path.join(d.run_dir, "nope.sock"))])), I, "does not exist"),
        ("vhost socket not a socket", pb.CreateVmRequest(config=cfg(nics=[pb.NicConfig(
            vhost_socket=notsock)])), I, "not a socket"),
        ("vhost socket empty", pb.CreateVmRequest(config=cfg(nics=[pb.NicConfig(
            vhost_socket="")])), I, ""),
    ]
    failures = []
    for what, req, code, text in cases:
        try:
            vm = vmm.stub.CreateVm(req, timeout=10)
            vmm.ids.append(vm.id)
            failures.append(f"{what}: accepted")
            continue
        except grpc.RpcError as e:
            if e.code() != code or text.lower() not in (e.details() or "").lower():
                failures.append(f"{what}: {e.code()} {e.details()!r}, expected {code} {text!r}")
            if not e.details():
                failures.append(f"{what}: no message")
    assert not failures, "\n".join(failures)
    assert snapshot(vmm) == before
    assert taps_of(vmm.list()[0].id) == []


def test_bad_refs_and_empty_ids(vmm):
    """Unknown id/name → NOT_FOUND, empty id → INVALID_ARGUMENT, for every
    RPC that takes a VM ref; nothing changes."""
    vmm.create("exists")
    before = snapshot(vmm)
    disk = pb.DiskConfig(path="/x")
    rpcs = {
        "GetVm": lambda r: vmm.stub.GetVm(pb.GetVmRequest(id=r), timeout=10),
        "DeleteVm": lambda r: vmm.stub.DeleteVm(pb.DeleteVmRequest(id=r), timeout=10),
        "StartVm": lambda r: vmm.stub.StartVm(pb.StartVmRequest(id=r), timeout=10),
        "StopVm": lambda r: vmm.stub.StopVm(pb.StopVmRequest(id=r), timeout=10),
        "KillVm": lambda r: vmm.stub.KillVm(pb.KillVmRequest(id=r), timeout=10),
        "PauseVm": lambda r: vmm.stub.PauseVm(pb.PauseVmRequest(id=r), timeout=10),
        "ResumeVm": lambda r: vmm.stub.ResumeVm(pb.ResumeVmRequest(id=r), timeout=10),
        "RebootVm": lambda r: vmm.stub.RebootVm(pb.RebootVmRequest(id=r), timeout=10),
        "GetConsoleLog": lambda r: vmm.stub.GetConsoleLog(pb.GetConsoleLogRequest(id=r),
                                                          timeout=10),
        "AttachDisk": lambda r: vmm.stub.AttachDisk(pb.AttachDiskRequest(vm_id=r, disk=disk),
                                                    timeout=10),
        "DetachDisk": lambda r: vmm.stub.DetachDisk(pb.DetachDiskRequest(vm_id=r, path="/x"),
                                                    timeout=10),
        "AttachNic": lambda r: vmm.stub.AttachNic(pb.AttachNicRequest(vm_id=r,
                                                  nic=pb.NicConfig()), timeout=10),
        "DetachNic": lambda r: vmm.stub.DetachNic(pb.DetachNicRequest(
            vm_id=r, mac="52:54:00:00:00:01"), timeout=10),
    }
    failures = []
    for name, call in rpcs.items():
        for ref, code in (("", grpc.StatusCode.INVALID_ARGUMENT),
                          ("no-such-vm", grpc.StatusCode.NOT_FOUND),
                          ("6f1c7c0e-3a7e-4b8a-9f0e-2b1d3c4e5f60", grpc.StatusCode.NOT_FOUND)):
            try:
                call(ref)
                failures.append(f"{name}({ref!r}) succeeded")
            except grpc.RpcError as e:
                if e.code() != code or not e.details():
                    failures.append(f"{name}({ref!r}): {e.code()} {e.details()!r}")
    for ref, code in (("", grpc.StatusCode.INVALID_ARGUMENT),
                      ("no-such-vm", grpc.StatusCode.NOT_FOUND)):
        c = Console(vmm.stub, ref)
        c.ended.wait(10)
        if c.error is None or c.error.code() != code:
            failures.append(f"Console({ref!r}): {c.error}")
        c.close()
    assert not failures, "\n".join(failures)
    assert snapshot(vmm) == before
    # the name finds the VM as the id does
    assert vmm.get("exists").id == vmm.ids[0]


def test_state_errors_of_a_stopped_vm(vmm):
    """StopVm, KillVm, PauseVm, ResumeVm, RebootVm and Console on a STOPPED
    VM: FAILED_PRECONDITION, nothing changed. Start preflight: a disk that
    vanished since CreateVm → FAILED_PRECONDITION, still STOPPED."""
    disk = make_disk(vmm, "gone.img")
    vm = vmm.create("idle", config=vmm.config(disks=[pb.DiskConfig(path=disk)]))
    before = snapshot(vmm)
    F = grpc.StatusCode.FAILED_PRECONDITION
    for what, fn in (("StopVm", lambda: vmm.stop(vm.id)),
                     ("KillVm", lambda: vmm.kill(vm.id)),
                     ("PauseVm", lambda: vmm.stub.PauseVm(pb.PauseVmRequest(id=vm.id),
                                                          timeout=10)),
                     ("ResumeVm", lambda: vmm.stub.ResumeVm(pb.ResumeVmRequest(id=vm.id),
                                                            timeout=10)),
                     ("RebootVm", lambda: vmm.stub.RebootVm(pb.RebootVmRequest(id=vm.id),
                                                            timeout=10))):
        e = rpc_error(fn)
        assert e.code() == F and e.details(), (what, e.code(), e.details())
    c = Console(vmm.stub, "idle")
    c.ended.wait(10)
    assert c.error is not None and c.error.code() == F, c.error
    assert "not running" in c.error.details()
    c.close()
    log = vmm.log(vm.id)
    assert log.data == b"" and log.total_bytes == 0
    assert snapshot(vmm) == before
    os.unlink(disk)
    e = rpc_error(vmm.start, vm.id)
    assert e.code() == F and "does not exist" in e.details(), e.details()
    got = vmm.get(vm.id)
    assert got.state == pb.VM_STATE_STOPPED and not got.HasField("started_at")
    assert vmm.qemu_pid(vm.id) is None and taps_of(vm.id) == []


@pytest.mark.guest
def test_state_errors_of_a_running_vm(vmm):
    """Start and delete of a running VM: FAILED_PRECONDITION, it keeps
    running; StopVm twice: the second is refused while STOPPING."""
    vm = vmm.create("busy")
    vmm.start(vm.id)
    pid = vmm.qemu_pid(vm.id)
    e = rpc_error(vmm.start, vm.id)
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "already running" in e.details()
    e = rpc_error(vmm.delete, "busy")
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "running" in e.details()
    got = vmm.get(vm.id)
    assert got.state == pb.VM_STATE_RUNNING and vmm.qemu_pid(vm.id) == pid
    vmm.wait_log(vm.id, READY)
    # the init ignores the button only before it is up; 25 s is plenty
    vmm.stop(vm.id, timeout_seconds=25)
    e = rpc_error(vmm.stop, vm.id)
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    e = rpc_error(vmm.delete, vm.id)
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    vmm.wait_state(vm.id, pb.VM_STATE_STOPPED)
    vmm.delete(vm.id)
    assert vmm.list() == []
