"""CONTRACT tests of mvirt-vmm's cloud-hypervisor driver, against a MOCK.

cloud-hypervisor cannot run a guest on our build machines, so these tests
run mvirt-vmm --hypervisor cloud-hypervisor with ch_standin.py as the
binary: a stand-in that runs no guest but checks the command line like the
real binary, rejects every REST request that openapi.yaml does not allow,
behaves like the hypervisor on power button and pause/resume, and records
everything (CH_STANDIN_RECORD, passed on through the daemon's environment).
They prove that the driver speaks cloud-hypervisor's documented contract;
they do not prove that a guest boots under cloud-hypervisor.
"""
import json
import os
import pathlib
import queue
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import VmmDaemon, _kill_leftover_hypervisors, binary

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "ch_standin.py")


@pytest.fixture
def short_tmp():
    """A temporary directory with a short path: the VM's sockets below it
    must fit in sun_path (108 bytes), which pytest's tmp_path does not."""
    with tempfile.TemporaryDirectory(prefix="vch-") as d:
        yield pathlib.Path(d)


@pytest.fixture
def ch(short_tmp):
    """start(env=None): an mvirt-vmm on the stand-in, recording into
    record.jsonl; dummy kernel/initramfs/disks in its roots and a listening
    vhost-user back-end socket."""
    tmp_path = short_tmp
    daemons = []
    backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    vhost = str(tmp_path / "vnic.sock")
    backend.bind(vhost)
    backend.listen(4)

    def start(env=None, *extra):
        full_env = {"CH_STANDIN_RECORD": str(tmp_path / "record.jsonl"),
                    "CH_STANDIN_POWEROFF_MS": "100"}
        full_env.update(env or {})
        d = VmmDaemon(tmp_path, "--hypervisor", "cloud-hypervisor", "--cloud-hypervisor-bin",
                      STANDIN, *extra, env=full_env)
        for name in ("vmlinux", "initramfs.cpio"):
            with open(os.path.join(d.boot_root, name), "wb") as f:
                f.write(b"\0" * 4096)
        for name in ("root.raw", "data.raw", "hot.raw"):
            with open(os.path.join(d.disk_root, name), "wb") as f:
                f.truncate(1 << 20)
        d.record = full_env["CH_STANDIN_RECORD"]
        d.vhost = vhost
        daemons.append(d)
        return d

    yield start
    try:
        for d in daemons:
            d.assert_clean_exit()
    finally:
        for d in daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
            _kill_leftover_hypervisors(d.run_dir)
        backend.close()


def stubs(d):
    import mvirt_pb2 as pb
    import mvirt_pb2_grpc as g

    return pb, g.VmServiceStub(d.channel())


def records(d):
    with open(d.record) as f:
        return [json.loads(line) for line in f]


def requests_of(d):
    return [r for r in records(d) if "request" in r]


def assert_contract_kept(d):
    """Every request the driver sent was allowed by openapi.yaml and
    succeeded; no command line was refused."""
    recs = records(d)
    assert not [r for r in recs if "cli_error" in r], recs
    bad = [r for r in recs if "violation" in r or "standin_bug" in r
           or ("status" in r and "request" in r and not 200 <= r["status"] < 300)]
    assert not bad, bad


def wait_state(s, pb, vm_id, state, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        vm = s.GetVm(pb.GetVmRequest(id=vm_id), timeout=5)
        if vm.state == state:
            return vm
        time.sleep(0.05)
    raise AssertionError(f"VM {vm_id} not in state {state}: {vm}")


def console_until(s, pb, vm_id, text, timeout=10):
    """Attach a Console stream and read until text appears."""
    inputs = queue.Queue()
    inputs.put(pb.ConsoleInput(vm_id=vm_id))

    def gen():
        while True:
            item = inputs.get()
            if item is None:
                return
            yield item

    call = s.Console(gen(), timeout=timeout)
    seen = b""
    try:
        for out in call:
            seen += out.data
            if text.encode() in seen:
                return seen
    finally:
        inputs.put(None)
        call.cancel()
    raise AssertionError(f"{text!r} not seen on the console: {seen!r}")


def kernel_config(pb, d, nics):
    return pb.VmConfig(vcpus=2, memory_mb=256, boot_mode=pb.BOOT_MODE_KERNEL,
                       kernel=os.path.join(d.boot_root, "vmlinux"),
                       initramfs=os.path.join(d.boot_root, "initramfs.cpio"),
                       cmdline="console=ttyS0 quiet",
                       disks=[pb.DiskConfig(path=os.path.join(d.disk_root, "root.raw")),
                              pb.DiskConfig(path=os.path.join(d.disk_root, "data.raw"),
                                            readonly=True)],
                       nics=nics)


def test_lifecycle_contract(ch):
    """create → start (console ready) → pause/resume → reboot → hot-plug
    and unplug a disk and NICs of both kinds → graceful stop by the power
    button; every request within the published API."""
    d = ch()
    pb, s = stubs(d)
    nics = [pb.NicConfig(mac="02:00:00:aa:00:01", vhost_socket=d.vhost),
            pb.NicConfig(mac="02:00:00:aa:00:02")]
    vm = s.CreateVm(pb.CreateVmRequest(name="chvm", config=kernel_config(pb, d, nics)))
    vm = s.StartVm(pb.StartVmRequest(id="chvm"), timeout=30)
    assert vm.state == pb.VM_STATE_RUNNING, vm
    console_until(s, pb, vm.id, "mvirt-init: ready")

    # the VM really runs in the stand-in and the daemon asked it so
    reqs = [(r["request"]["method"], r["request"]["path"]) for r in requests_of(d)]
    assert ("GET", "/api/v1/vmm.ping") in reqs and ("GET", "/api/v1/vm.info") in reqs

    assert s.PauseVm(pb.PauseVmRequest(id="chvm")).state == pb.VM_STATE_PAUSED
    assert s.ResumeVm(pb.ResumeVmRequest(id="chvm")).state == pb.VM_STATE_RUNNING
    assert s.RebootVm(pb.RebootVmRequest(id="chvm")).state == pb.VM_STATE_RUNNING

    hot = os.path.join(d.disk_root, "hot.raw")
    vm = s.AttachDisk(pb.AttachDiskRequest(vm_id="chvm", disk=pb.DiskConfig(path=hot,
                                                                            readonly=True)))
    assert [x.path for x in vm.config.disks][-1] == hot
    vm = s.AttachNic(pb.AttachNicRequest(vm_id="chvm", nic=pb.NicConfig(
        mac="02:00:00:aa:00:03", vhost_socket=d.vhost)))
    vm = s.AttachNic(pb.AttachNicRequest(vm_id="chvm", nic=pb.NicConfig(mac="02:00:00:aa:00:04")))
    assert len(vm.config.nics) == 4
    # unplug what the start made and what was hot-plugged: the ids match
    s.DetachDisk(pb.DetachDiskRequest(vm_id="chvm", path=hot))
    s.DetachDisk(pb.DetachDiskRequest(vm_id="chvm", path=os.path.join(d.disk_root, "data.raw")))
    s.DetachNic(pb.DetachNicRequest(vm_id="chvm", mac="02:00:00:aa:00:01"))
    vm = s.DetachNic(pb.DetachNicRequest(vm_id="chvm", mac="02:00:00:aa:00:04"))
    assert len(vm.config.nics) == 2 and len(vm.config.disks) == 1

    vm = s.StopVm(pb.StopVmRequest(id="chvm"))
    assert vm.state in (pb.VM_STATE_STOPPING, pb.VM_STATE_STOPPED)
    vm = wait_state(s, pb, "chvm", pb.VM_STATE_STOPPED)
    assert not vm.last_error, vm.last_error

    recs = records(d)
    assert_contract_kept(d)
    # the stand-in exited on the guest's power-off, not by a kill
    assert recs[-1] == {"exit": 0, "reason": "guest power-off"}, recs[-1]
    sent = [(r["request"]["path"].rsplit("/", 1)[-1], r["request"]["body"]) for r in recs
            if "request" in r and r["request"]["method"] == "PUT"]
    names = [n for n, _ in sent]
    for ep in ("vm.pause", "vm.resume", "vm.reboot", "vm.add-disk", "vm.add-net",
               "vm.remove-device", "vm.power-button"):
        assert ep in names, names
    disk = [b for n, b in sent if n == "vm.add-disk"][0]
    assert disk["path"] == hot and disk["readonly"] is True and disk["id"].startswith("disk-")
    nets = [b for n, b in sent if n == "vm.add-net"]
    assert nets[0] == {"vhost_user": True, "vhost_socket": d.vhost, "mac": "02:00:00:aa:00:03",
                       "id": "nic-020000aa0003"}
    assert nets[1]["tap"] and nets[1]["id"] == "nic-020000aa0004"
    removed = [b["id"] for n, b in sent if n == "vm.remove-device"]
    assert removed[2:] == ["nic-020000aa0001", "nic-020000aa0004"], removed


def test_argv_is_what_hv_argv_prints(ch, tmp_path):
    """The command line the daemon ran (recorded by the stand-in) is the
    one hv-argv prints for the same config: the golden files of
    test_hv_golden.py describe what really runs."""
    d = ch()
    pb, s = stubs(d)
    nics = [pb.NicConfig(mac="02:00:00:bb:00:01", vhost_socket=d.vhost),
            pb.NicConfig(mac="02:00:00:bb:00:02")]
    cfg = kernel_config(pb, d, nics)
    cfg.user_data = "#cloud-config\n"
    vm = s.CreateVm(pb.CreateVmRequest(config=cfg))
    s.StartVm(pb.StartVmRequest(id=vm.id), timeout=30)
    argv = [r["argv"] for r in records(d) if "argv" in r][0]
    stored = {"vcpus": 2, "memory_mb": 256, "boot_mode": 2, "kernel": cfg.kernel,
              "initramfs": cfg.initramfs, "cmdline": cfg.cmdline,
              "disks": [{"path": x.path, "readonly": x.readonly} for x in cfg.disks],
              "nics": [{"tap": None, "mac": n.mac,
                        "vhost_socket": n.vhost_socket if n.HasField("vhost_socket") else None}
                       for n in cfg.nics],
              "user_data": None, "nested_virt": False}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(stored))
    p = subprocess.run([binary("hv-argv"), "--vm-id", vm.id, "--run-dir", d.run_dir,
                        "--bin", STANDIN, "--seed", f"{d.run_dir}/vms/{vm.id}/seed.iso",
                        "cloud-hypervisor", str(path)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert argv == p.stdout.splitlines()
    s.KillVm(pb.KillVmRequest(id=vm.id))
    wait_state(s, pb, vm.id, pb.VM_STATE_STOPPED)
    assert_contract_kept(d)


def test_hung_guest_is_killed_after_stop_timeout(ch):
    """A guest that ignores the power button: StopVm's timeout kills the
    hypervisor, and the VM ends STOPPED without an error (asked for)."""
    d = ch(env={"CH_STANDIN_IGNORE_POWER_BUTTON": "1"})
    pb, s = stubs(d)
    vm = s.CreateVm(pb.CreateVmRequest(config=kernel_config(pb, d, [])))
    s.StartVm(pb.StartVmRequest(id=vm.id), timeout=30)
    t0 = time.monotonic()
    s.StopVm(pb.StopVmRequest(id=vm.id, timeout_seconds=1))
    time.sleep(0.5)
    assert s.GetVm(pb.GetVmRequest(id=vm.id)).state == pb.VM_STATE_STOPPING
    vm = wait_state(s, pb, vm.id, pb.VM_STATE_STOPPED, timeout=10)
    assert time.monotonic() - t0 >= 1.0
    assert not vm.last_error, vm.last_error
    recs = records(d)
    assert_contract_kept(d)
    assert any(r.get("request", {}).get("path") == "/api/v1/vm.power-button" for r in recs)
    assert not [r for r in recs if "exit" in r], "the stand-in was expected to be killed"


def test_start_failure_reports_the_hypervisor_error(ch):
    """cloud-hypervisor exiting at start: StartVm fails with its stderr."""
    d = ch(env={"CH_STANDIN_OPENAPI": "/nonexistent/openapi.yaml"})
    pb, s = stubs(d)
    import grpc

    vm = s.CreateVm(pb.CreateVmRequest(config=kernel_config(pb, d, [])))
    with pytest.raises(grpc.RpcError) as e:
        s.StartVm(pb.StartVmRequest(id=vm.id), timeout=30)
    assert e.value.code() == grpc.StatusCode.INTERNAL
    assert "cloud-hypervisor exited during start" in e.value.details()
    assert "openapi.yaml" in e.value.details(), e.value.details()  # its last stderr line
    vm = s.GetVm(pb.GetVmRequest(id=vm.id))
    # "start failed: ..." or, when the exit is handled after the start's
    # clean-up, "cloud-hypervisor exited with status 1: ..." (vm.c)
    assert vm.state == pb.VM_STATE_STOPPED and "openapi.yaml" in vm.last_error, vm.last_error


def test_control_error_carries_the_api_answer(ch):
    """An API error reaches the caller with cloud-hypervisor's HTTP status
    and error chain: resume of a VM that was resumed behind the daemon's
    back is an invalid transition for the hypervisor."""
    d = ch()
    pb, s = stubs(d)
    import grpc

    vm = s.CreateVm(pb.CreateVmRequest(config=kernel_config(pb, d, [])))
    s.StartVm(pb.StartVmRequest(id=vm.id), timeout=30)
    s.PauseVm(pb.PauseVmRequest(id=vm.id))
    # resume behind the daemon's back, then ask the daemon to resume
    sock = os.path.join(d.run_dir, "vms", vm.id, "control.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(5)
        c.connect(sock)
        c.sendall(b"PUT /api/v1/vm.resume HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 204"), "resume behind the daemon's back"
    with pytest.raises(grpc.RpcError) as e:
        s.ResumeVm(pb.ResumeVmRequest(id=vm.id))
    assert e.value.code() == grpc.StatusCode.INTERNAL
    assert "vm.resume: HTTP 500" in e.value.details(), e.value.details()
    assert "Invalid VM state transition" in e.value.details(), e.value.details()
    s.KillVm(pb.KillVmRequest(id=vm.id))
    wait_state(s, pb, vm.id, pb.VM_STATE_STOPPED)
