#!/usr/bin/python3
"""Benchmarks of the VM manager mvirt-vmm (issue 4), under QEMU/TCG.

1. Start overhead: StartVm -> "mvirt-init: ready" seen on the daemon's
   Console stream, against the very same QEMU command line started by hand
   (read from /proc/PID/cmdline of a QEMU the daemon started, nothing
   stripped) with this script connecting to QEMU's serial socket itself and
   waiting for the same line. Same guest, same kernel command line
   (mvirt.net=off, so no DHCP wait), alternately, --reps times each; the
   target is a ratio daemon/by-hand <= 1.05.

2. Control plane, each run on a fresh daemon with an empty data directory:
   CreateVm rate for --vms definitions, sequentially and from --threads
   client threads (each with its own channel); ListVms latency with --vms
   defined VMs (p50/p95 of --lists calls; target <= 20 ms); the daemon's
   VmRSS after start (target <= 6 MiB) and with --vms defined VMs; and the
   RSS with 0, 2 and 4 running VMs (added RSS per running VM). The client
   is Python grpcio; GetSystemInfo (no store access) measured the same way
   gives the rate the client and transport alone allow.

Every figure is a median [min-max]; nothing is asserted. The daemon's data
lives in a temporary directory under /var/tmp and its run directory in a
short /tmp/mvr-* one (socket paths have at most 107 bytes); both are removed
at the end, and so are every QEMU and TAP device this script made.

  bench/vmm_bench.py [--build build] [--os-dir BUILD/guest] [--reps 5]
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20
READY = b"mvirt-init: ready"
CMDLINE = "console=ttyS0 quiet mvirt.net=off"
IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"


def say(msg):
    print(f"vmm_bench: {msg}", file=sys.stderr, flush=True)


def generate_stubs(out):
    """mvirt.proto and the health service, compiled with grpc_tools.protoc."""
    from grpc_tools import protoc

    src = os.path.join(out, "src")
    os.makedirs(src)
    shutil.copy(os.path.join(ROOT, "proto", "mvirt.proto"), src)
    shutil.copy(os.path.join(ROOT, "proto", "grpc", "health", "v1", "health.proto"),
                os.path.join(src, "grpc_health_v1.proto"))
    for p in ("mvirt.proto", "grpc_health_v1.proto"):
        if protoc.main(["protoc", f"-I{src}", f"--python_out={out}", f"--grpc_python_out={out}",
                        os.path.join(src, p)]) != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {p}")
    sys.path.insert(0, out)


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def pids_naming(needle):
    """Pids of the processes whose command line contains needle (bytes)."""
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
    return pids


def links():
    out = subprocess.run([IP, "-o", "link", "show"], capture_output=True, text=True).stdout
    return [ln.split(":")[1].strip().split("@")[0] for ln in out.splitlines() if ":" in ln]


class Vmm:
    """mvirt-vmm on a fresh data directory in tmp, the guest in its boot root."""

    def __init__(self, binary, tmp, boot_root, name):
        import grpc
        import mvirt_pb2_grpc

        self.dir = os.path.join(tmp, name)
        self.data_dir = os.path.join(self.dir, "data")
        self.disk_root = os.path.join(self.dir, "disks")
        os.makedirs(self.disk_root)
        self.boot_root = boot_root
        # the VMs' sockets live below the run directory: keep its path short
        self.run_dir = tempfile.mkdtemp(prefix="mvr-", dir="/tmp")
        self.socket = os.path.join(self.run_dir, "vmm.sock")
        self.stderr_path = os.path.join(self.dir, "mvirt-vmm.stderr")
        self.vm_ids = []
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "--run-dir", self.run_dir, "--data-dir", self.data_dir,
                 "--allowed-boot-root", boot_root, "--allowed-disk-root", self.disk_root,
                 "--log-endpoint", "none"], stdout=err, stderr=err, stdin=subprocess.DEVNULL)
        self.channel = None
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.channel = grpc.insecure_channel("unix:" + self.socket)
        self.stub = mvirt_pb2_grpc.VmServiceStub(self.channel)

    def _wait_ready(self):
        import grpc
        import grpc_health_v1_pb2 as hpb
        import grpc_health_v1_pb2_grpc as hg

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mvirt-vmm exited with {self.proc.returncode}: {self.log()}")
            if os.path.exists(self.socket):
                try:
                    with grpc.insecure_channel("unix:" + self.socket) as ch:
                        r = hg.HealthStub(ch).Check(hpb.HealthCheckRequest(), timeout=2)
                        if r.status == hpb.HealthCheckResponse.SERVING:
                            return
                except grpc.RpcError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("mvirt-vmm did not become ready: " + self.log())

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def rss(self, field="VmRSS"):
        return rss_kib(self.proc.pid, field)

    def config(self, pb, vcpus=1, memory_mb=128):
        return pb.VmConfig(vcpus=vcpus, memory_mb=memory_mb, boot_mode=pb.BOOT_MODE_KERNEL,
                           kernel=os.path.join(self.boot_root, "vmlinux"),
                           initramfs=os.path.join(self.boot_root, "initramfs.cpio"),
                           cmdline=CMDLINE)

    def create(self, pb, name, stub=None):
        vm = (stub or self.stub).CreateVm(pb.CreateVmRequest(name=name, config=self.config(pb)),
                                          timeout=30)
        return vm

    def wait_state(self, pb, ref, state, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            vm = self.stub.GetVm(pb.GetVmRequest(id=ref), timeout=10)
            if vm.state == state:
                return vm
            if time.monotonic() > deadline:
                raise RuntimeError(f"VM {ref} is {pb.VmState.Name(vm.state)} after {timeout} s")
            time.sleep(0.02)

    def qemu_pid(self, vm_id):
        pids = pids_naming(os.path.join(self.run_dir, "vms", vm_id).encode())
        return pids[0] if len(pids) == 1 else None

    def stop(self):
        """SIGTERM the daemon, then kill whatever QEMU names its run dir
        (QEMUs outlive the daemon by design) and delete leftover TAPs."""
        if self.channel is not None:
            self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in pids_naming(self.run_dir.encode()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for vm_id in self.vm_ids:
            for n in links():
                if n.startswith("mv" + vm_id[:8] + "n"):
                    subprocess.run([IP, "link", "del", n], capture_output=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


class ConsoleWaiter:
    """A Console stream; ready is set when READY went by."""

    def __init__(self, pb, stub, ref):
        import queue

        self._q = queue.Queue()
        self._q.put(pb.ConsoleInput(vm_id=ref))
        self.ready = threading.Event()
        self.t_ready = None
        self.buf = bytearray()
        self.error = None
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
        import grpc

        try:
            for out in self._call:
                self.buf += out.data
                if not self.ready.is_set() and READY in self.buf:
                    self.t_ready = time.monotonic()
                    self.ready.set()
        except grpc.RpcError as e:
            self.error = e
        self.ready.set()

    def close(self):
        self._q.put(None)
        self._call.cancel()
        self._t.join(5)


def daemon_boot(pb, vmm, vm_id, timeout):
    """StartVm, Console, ready: (seconds to ready, seconds StartVm took)."""
    t0 = time.monotonic()
    vmm.stub.StartVm(pb.StartVmRequest(id=vm_id), timeout=timeout)
    t_started = time.monotonic() - t0
    con = ConsoleWaiter(pb, vmm.stub, vm_id)
    try:
        if not con.ready.wait(timeout) or con.t_ready is None:
            raise RuntimeError(f"no ready on the Console ({con.error}): "
                               f"{bytes(con.buf[-2000:]).decode(errors='replace')}")
        return con.t_ready - t0, t_started
    finally:
        vmm.stub.KillVm(pb.KillVmRequest(id=vm_id), timeout=10)
        vmm.wait_state(pb, vm_id, pb.VM_STATE_STOPPED)
        con.close()


def argv_value(argv, flag):
    return argv[argv.index(flag) + 1]


def tap_names(argv):
    """ifname= of every -netdev tap of a QEMU command line."""
    names = []
    for i, a in enumerate(argv[:-1]):
        if a == "-netdev" and argv[i + 1].startswith("tap,"):
            for kv in argv[i + 1].split(","):
                if kv.startswith("ifname="):
                    names.append(kv[len("ifname="):])
    return names


def hand_boot(argv, log_path, timeout):
    """The same QEMU command line started by hand: connect to its serial
    socket and wait for READY. Seconds from the spawn to READY. The TAP
    devices it names are made (and brought up) before the clock starts, as
    the daemon does before it spawns QEMU; QEMU is killed afterwards."""
    serial = argv_value(argv, "-chardev").split("path=")[1].split(",")[0]
    control = argv_value(argv, "-qmp").split("unix:")[1].split(",")[0]
    os.makedirs(os.path.dirname(serial), exist_ok=True)
    for p in (serial, control):
        if os.path.exists(p):
            os.unlink(p)
    taps = tap_names(argv)
    for t in taps:
        subprocess.run([IP, "tuntap", "add", "dev", t, "mode", "tap"], check=True)
        subprocess.run([IP, "link", "set", t, "up"], check=True)
    proc = None
    try:
        with open(log_path, "wb") as log:
            t0 = time.monotonic()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
        deadline = t0 + timeout
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                s.connect(serial)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"QEMU by hand: no serial socket (exit {proc.poll()})")
                time.sleep(0.002)
        buf = bytearray()
        s.settimeout(0.5)
        with s:
            while READY not in buf:
                if time.monotonic() > deadline:
                    raise RuntimeError("QEMU by hand: no ready: "
                                       + bytes(buf[-2000:]).decode(errors="replace"))
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    raise RuntimeError("QEMU by hand: serial closed before ready")
                buf += d
            return time.monotonic() - t0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for t in taps:
            subprocess.run([IP, "link", "del", t], capture_output=True)
        for p in (serial, control):
            if os.path.exists(p):
                os.unlink(p)


def bench_start(pb, binary, tmp, boot_root, reps, timeout):
    vmm = Vmm(binary, tmp, boot_root, "start")
    try:
        vm = vmm.create(pb, "boot")
        vmm.vm_ids.append(vm.id)
        # a first boot through the daemon gives the command line; a first
        # one by hand warms the same caches
        vmm.stub.StartVm(pb.StartVmRequest(id=vm.id), timeout=timeout)
        pid = vmm.qemu_pid(vm.id)
        if pid is None:
            raise RuntimeError("no QEMU process found for the VM")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
        vmm.stub.KillVm(pb.KillVmRequest(id=vm.id), timeout=10)
        vmm.wait_state(pb, vm.id, pb.VM_STATE_STOPPED)
        say("start: QEMU command line: " + " ".join(argv))
        qlog = os.path.join(vmm.dir, "qemu-by-hand.log")
        hand_boot(argv, qlog, timeout)
        res = {"daemon": [], "hand": [], "startvm": []}
        for rep in range(reps):
            order = ("daemon", "hand") if rep % 2 == 0 else ("hand", "daemon")
            for who in order:
                if who == "daemon":
                    secs, started = daemon_boot(pb, vmm, vm.id, timeout)
                    res["startvm"].append(started)
                else:
                    secs = hand_boot(argv, qlog, timeout)
                res[who].append(secs)
            say(f"start: run {rep + 1}/{reps}: daemon {res['daemon'][-1]:.3f} s (StartVm "
                f"returned after {res['startvm'][-1]:.3f} s), by hand {res['hand'][-1]:.3f} s")
        if vmm.qemu_pid(vm.id) is not None or any(t in links() for t in tap_names(argv)):
            raise RuntimeError("a QEMU or TAP was left behind by the start benchmark")
        return res, argv
    finally:
        vmm.stop()


def timed_calls(fn, n):
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        fn()
        lat.append(time.monotonic() - t0)
    return lat


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def create_parallel(pb, vmm, n, threads, prefix):
    """n CreateVm calls from `threads` threads with one channel each: seconds."""
    import grpc
    import mvirt_pb2_grpc

    chans = [grpc.insecure_channel("unix:" + vmm.socket) for _ in range(threads)]
    errors = []
    barrier = threading.Barrier(threads + 1)

    def work(k):
        stub = mvirt_pb2_grpc.VmServiceStub(chans[k])
        stub.GetSystemInfo(pb.GetSystemInfoRequest(), timeout=10)  # connect first
        barrier.wait()
        try:
            for i in range(k, n, threads):
                vmm.create(pb, f"{prefix}{i}", stub)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in ts:
        t.join()
    secs = time.monotonic() - t0
    for c in chans:
        c.close()
    if errors:
        raise errors[0]
    return secs


def bench_control(pb, binary, tmp, boot_root, reps, nvms, threads, nlists):
    res = {k: [] for k in ("rss_start", "rss_idle", "rss_idle_anon", "create_seq",
                           "create_par", "rss_defined", "list_p50", "list_p95", "noop_seq",
                           "list_bytes")}
    for rep in range(reps):
        vmm = Vmm(binary, tmp, boot_root, f"cp{rep}")
        try:
            res["rss_start"].append(vmm.rss())
            # a few calls, as the other daemons' idle figures
            for _ in range(10):
                vmm.stub.ListVms(pb.ListVmsRequest(), timeout=10)
            time.sleep(0.3)
            res["rss_idle"].append(vmm.rss())
            res["rss_idle_anon"].append(vmm.rss("RssAnon"))
            noop = timed_calls(lambda: vmm.stub.GetSystemInfo(pb.GetSystemInfoRequest(),
                                                               timeout=10), 500)
            res["noop_seq"].append(len(noop) / sum(noop))
            t0 = time.monotonic()
            for i in range(nvms):
                vmm.create(pb, f"seq{i}")
            res["create_seq"].append(nvms / (time.monotonic() - t0))
            time.sleep(0.3)
            res["rss_defined"].append(vmm.rss())
            for _ in range(5):  # warm-up
                r = vmm.stub.ListVms(pb.ListVmsRequest(), timeout=30)
            if len(r.vms) != nvms:
                raise RuntimeError(f"ListVms returned {len(r.vms)} VMs, not {nvms}")
            res["list_bytes"].append(r.ByteSize())
            lat = timed_calls(lambda: vmm.stub.ListVms(pb.ListVmsRequest(), timeout=30), nlists)
            res["list_p50"].append(pct(lat, 50))
            res["list_p95"].append(pct(lat, 95))
        finally:
            vmm.stop()
            shutil.rmtree(vmm.dir, ignore_errors=True)
        vmm = Vmm(binary, tmp, boot_root, f"cpp{rep}")
        try:
            secs = create_parallel(pb, vmm, nvms, threads, "par")
            res["create_par"].append(nvms / secs)
            n = len(vmm.stub.ListVms(pb.ListVmsRequest(), timeout=30).vms)
            if n != nvms:
                raise RuntimeError(f"{n} VMs after {nvms} parallel creates")
        finally:
            vmm.stop()
            shutil.rmtree(vmm.dir, ignore_errors=True)
        say(f"control: run {rep + 1}/{reps}: idle RSS {res['rss_idle'][-1]} KiB, CreateVm "
            f"{res['create_seq'][-1]:.0f}/s sequential, {res['create_par'][-1]:.0f}/s with "
            f"{threads} threads, ListVms of {nvms} p50 {res['list_p50'][-1] * 1000:.1f} ms "
            f"p95 {res['list_p95'][-1] * 1000:.1f} ms, RSS with {nvms} defined "
            f"{res['rss_defined'][-1]} KiB")
    return res


def bench_running_rss(pb, binary, tmp, boot_root, reps, timeout):
    """Daemon VmRSS with 0, 2 and 4 running VMs (each past ready)."""
    res = {0: [], 2: [], 4: []}
    for rep in range(reps):
        vmm = Vmm(binary, tmp, boot_root, f"rss{rep}")
        try:
            vms = [vmm.create(pb, f"run{i}") for i in range(4)]
            vmm.vm_ids += [v.id for v in vms]
            vmm.stub.ListVms(pb.ListVmsRequest(), timeout=10)
            time.sleep(0.3)
            res[0].append(vmm.rss())
            for lo, hi in ((0, 2), (2, 4)):
                for v in vms[lo:hi]:
                    vmm.stub.StartVm(pb.StartVmRequest(id=v.id), timeout=timeout)
                for v in vms[lo:hi]:
                    deadline = time.monotonic() + timeout
                    while READY not in vmm.stub.GetConsoleLog(
                            pb.GetConsoleLogRequest(id=v.id), timeout=10).data:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"VM {v.name} not ready within {timeout} s")
                        time.sleep(0.1)
                time.sleep(0.3)
                res[hi].append(vmm.rss())
            for v in vms:
                vmm.stub.KillVm(pb.KillVmRequest(id=v.id), timeout=10)
            for v in vms:
                vmm.wait_state(pb, v.id, pb.VM_STATE_STOPPED)
        finally:
            vmm.stop()
            shutil.rmtree(vmm.dir, ignore_errors=True)
        say(f"rss: run {rep + 1}/{reps}: 0 running {res[0][-1]} KiB, 2 running {res[2][-1]} "
            f"KiB, 4 running {res[4][-1]} KiB")
    return res


def stats(values):
    return statistics.median(values), min(values), max(values)


def fmt(values, scale=1.0, unit="", prec=0):
    m, lo, hi = stats([v * scale for v in values])
    return f"{m:.{prec}f}{unit} [{lo:.{prec}f}-{hi:.{prec}f}]"


def main():
    ap = argparse.ArgumentParser(description="mvirt-vmm start overhead and control plane")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--os-dir", help="output of os/build.sh (default BUILD/guest)")
    ap.add_argument("--reps", type=int, default=5, help="boots per side; control-plane runs")
    ap.add_argument("--rss-reps", type=int, default=3, help="runs of the running-VM RSS")
    ap.add_argument("--vms", type=int, default=1000, help="VM definitions per run")
    ap.add_argument("--threads", type=int, default=8, help="client threads for CreateVm")
    ap.add_argument("--lists", type=int, default=50, help="timed ListVms calls per run")
    ap.add_argument("--timeout", type=float, default=120, help="per boot, seconds")
    ap.add_argument("--skip", action="append", default=[], choices=["start", "control", "rss"])
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    binary = os.path.join(build, "vmm", "mvirt-vmm")
    os_dir = os.path.abspath(args.os_dir or os.path.join(build, "guest"))
    if not os.access(binary, os.X_OK):
        sys.exit(f"vmm_bench: {binary} is not built (run make)")
    for f in ("vmlinux", "initramfs.cpio"):
        if not os.path.isfile(os.path.join(os_dir, f)):
            sys.exit(f"vmm_bench: {os_dir}/{f} missing: run make os (or os/build.sh {os_dir})")

    t_start = time.monotonic()
    cpu0 = os.times()
    with open("/proc/stat") as f:
        mcpu0 = [int(x) for x in f.readline().split()[1:]]
    tmp = tempfile.mkdtemp(prefix="mvirt-vmm-bench.", dir="/var/tmp")
    try:
        generate_stubs(os.path.join(tmp, "stubs"))
        import mvirt_pb2 as pb

        boot_root = os.path.join(tmp, "boot")
        os.makedirs(boot_root)
        for f in ("vmlinux", "initramfs.cpio"):
            shutil.copy(os.path.join(os_dir, f), boot_root)
        start = control = running = None
        if "start" not in args.skip:
            say(f"start: StartVm -> ready against the same QEMU by hand, {args.reps} each")
            start, argv = bench_start(pb, binary, tmp, boot_root, args.reps, args.timeout)
        if "control" not in args.skip:
            say(f"control: CreateVm x {args.vms}, ListVms, RSS; {args.reps} runs")
            control = bench_control(pb, binary, tmp, boot_root, args.reps, args.vms,
                                    args.threads, args.lists)
        if "rss" not in args.skip:
            say("rss: daemon RSS with 0, 2, 4 running VMs")
            running = bench_running_rss(pb, binary, tmp, boot_root, args.rss_reps, args.timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.monotonic() - t_start
    with open("/proc/stat") as f:
        mcpu1 = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    busy = lambda c: (c[0] + c[1] + c[2] + c[5] + c[6] + c[7]) / tick  # noqa: E731
    cpu1 = os.times()
    own = sum(cpu1[:4]) - sum(cpu0[:4])
    ncpu = os.cpu_count()
    other = max(0.0, (busy(mcpu1) - busy(mcpu0) - own) / (elapsed * ncpu) * 100)

    def ok(cond):
        return "met" if cond else "MISSED"

    def row(label, value):
        return f"  {label:<44} {value}"

    out = [f"\n== mvirt-vmm: medians [min-max]; QEMU/TCG, guest {CMDLINE!r}, 1 vCPU, 128 MiB",
           f"took {elapsed:.0f} s; other processes used ~{other:.0f}% of the machine's "
           f"{ncpu} CPUs meanwhile (approximate: QEMUs the daemon started count as other)"]
    targets = []
    if start:
        d, h = statistics.median(start["daemon"]), statistics.median(start["hand"])
        ratio = d / h
        out += [f"start -> 'mvirt-init: ready', {len(start['hand'])} boots each, alternately:",
                row("mvirt-vmm: StartVm -> ready on Console", fmt(start["daemon"], 1, " s", 3)
                    + f"  (StartVm returned after {fmt(start['startvm'], 1, ' s', 3)})"),
                row("same QEMU command line by hand", fmt(start["hand"], 1, " s", 3)),
                row("ratio mvirt-vmm/by hand", f"{ratio:.3f}x")]
        targets.append(row("start overhead <= 1.05x QEMU by hand", f"{ratio:.3f}x: "
                           f"{ok(ratio <= 1.05)}"))
    if control:
        c = control
        n = args.vms
        out += [f"control plane (Python grpcio client), {len(c['create_seq'])} runs, "
                f"fresh daemon each:",
                row(f"CreateVm x {n}, sequential", fmt(c["create_seq"], 1, "/s")),
                row(f"CreateVm x {n}, {args.threads} client threads", fmt(c["create_par"], 1, "/s")),
                row("GetSystemInfo (no store), sequential", fmt(c["noop_seq"], 1, "/s")),
                row(f"ListVms with {n} VMs, {args.lists} calls",
                    f"p50 {fmt(c['list_p50'], 1000, ' ms', 1)}, p95 "
                    f"{fmt(c['list_p95'], 1000, ' ms', 1)}; reply "
                    f"{statistics.median(c['list_bytes']) / 1024:.0f} KiB"),
                row("RSS just started", fmt(c["rss_start"], 1 / 1024, " MiB", 2)),
                row("RSS idle after 10 ListVms", fmt(c["rss_idle"], 1 / 1024, " MiB", 2)
                    + f"; RssAnon {statistics.median(c['rss_idle_anon']) / 1024:.2f} MiB"),
                row(f"RSS with {n} defined VMs", fmt(c["rss_defined"], 1 / 1024, " MiB", 2))]
        p95 = statistics.median(c["list_p95"]) * 1000
        rss = statistics.median(c["rss_idle"])
        targets += [row(f"ListVms with {n} VMs <= 20 ms (p95)", f"{p95:.1f} ms: {ok(p95 <= 20)}"),
                    row("idle daemon RSS <= 6 MiB", f"{rss / 1024:.2f} MiB: {ok(rss <= 6 * 1024)}")]
    if running:
        m = {k: statistics.median(v) for k, v in running.items()}
        out += [f"daemon RSS with running VMs ({len(running[0])} runs):",
                row("0 / 2 / 4 running", f"{m[0] / 1024:.2f} / {m[2] / 1024:.2f} / "
                    f"{m[4] / 1024:.2f} MiB"),
                row("added per running VM", f"{(m[4] - m[0]) / 4:.0f} KiB (4 VMs), "
                    f"{(m[2] - m[0]) / 2:.0f} KiB (2 VMs)")]
    print("\n".join(out + (["targets:"] + targets if targets else [])))


if __name__ == "__main__":
    main()
