"""Shared fixtures of the integration tests.

The tests run the binaries of one build directory (MVIRT_BUILD_DIR, default
build/; `make check` runs them again against the ASan+UBSan build) and talk
to them through Python grpcio, an independent gRPC implementation, with stubs
generated from proto/ by grpc_tools.protoc at the start of the session.
"""
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("MVIRT_BUILD_DIR", os.path.join(ROOT, "build")))

# protos whose generated module names would collide with the grpc package
# ("grpc/health/v1/...") are compiled from a flat copy instead
_FLAT = {
    "grpc/health/v1/health.proto": "grpc_health_v1.proto",
    "grpc/reflection/v1/reflection.proto": "grpc_reflection_v1.proto",
    "grpc/reflection/v1alpha/reflection.proto": "grpc_reflection_v1alpha.proto",
}


def _generate_stubs(out):
    from grpc_tools import protoc

    src = os.path.join(out, "src")
    os.makedirs(src)
    protos = []
    for name in ("mvirt.proto", "log.proto", "zfs.proto", "net.proto"):
        shutil.copy(os.path.join(ROOT, "proto", name), src)
        protos.append(name)
    for rel, flat in _FLAT.items():
        shutil.copy(os.path.join(ROOT, "proto", rel), os.path.join(src, flat))
        protos.append(flat)
    shutil.copy(os.path.join(ROOT, "tests", "grpc", "echo.proto"), src)
    protos.append("echo.proto")
    for p in protos:
        rc = protoc.main(["protoc", f"-I{src}", f"--python_out={out}",
                          f"--grpc_python_out={out}", os.path.join(src, p)])
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {p}")


_STUB_DIR = tempfile.mkdtemp(prefix="mvirt-stubs-")
_generate_stubs(_STUB_DIR)
sys.path.insert(0, _STUB_DIR)


def binary(name):
    """Path of a built program; the test fails if it was not built."""
    for sub in ("log", "cli", "zfs", "vmm", "tests/grpc", "tests/init", "bench", ""):
        p = os.path.join(BUILD, sub, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise FileNotFoundError(f"{name} not found in {BUILD} (run make first)")


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Daemon:
    """A daemon process of ours, ready once its health service says SERVING."""

    def __init__(self, argv, socket_path, tmpdir, env=None):
        self.socket_path = socket_path
        self.endpoint = "unix:" + socket_path
        self.stderr_path = os.path.join(tmpdir, os.path.basename(argv[0]) + ".stderr")
        self._stderr = open(self.stderr_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self._stderr, stderr=self._stderr, env=full_env)
        self.wait_ready()

    def wait_ready(self, timeout=20):
        import grpc
        import grpc_health_v1_pb2 as hpb
        import grpc_health_v1_pb2_grpc as hg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}: {self.log()}")
            if os.path.exists(self.socket_path):
                try:
                    with grpc.insecure_channel(self.endpoint) as ch:
                        r = hg.HealthStub(ch).Check(hpb.HealthCheckRequest(), timeout=2)
                        if r.status == hpb.HealthCheckResponse.SERVING:
                            return
                except grpc.RpcError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("daemon did not become ready: " + self.log())

    def log(self):
        if not self._stderr.closed:
            self._stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def channel(self):
        import grpc

        return grpc.insecure_channel(self.endpoint)

    def stop(self, timeout=30):
        """SIGTERM, wait, and return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not stop within %ss: %s" % (timeout, self.log()))
        self._stderr.close()
        return self.proc.returncode

    def assert_clean_exit(self):
        rc = self.stop()
        text = self.log()
        bad = [m for m in SANITIZER_MARKERS if m in text]
        assert rc == 0 and not bad, f"daemon exit code {rc}, sanitizer findings {bad}:\n{text}"


@pytest.fixture
def echo_server(tmp_path):
    sock = str(tmp_path / "echo.sock")
    d = Daemon([binary("mvirt-echo-server"), "--listen", "unix:" + sock,
                "--run-dir", str(tmp_path)], sock, str(tmp_path))
    yield d
    d.assert_clean_exit()


def start_log_daemon(tmp_path, *extra, env=None):
    """Start build's mvirt-log with its socket in tmp_path/run and its data in
    tmp_path/data (the same directories on every call, so a second call after
    stop() is a restart on the same database). Returns a ready Daemon."""
    run_dir = os.path.join(str(tmp_path), "run")
    data_dir = os.path.join(str(tmp_path), "data")
    return Daemon([binary("mvirt-log"), "--run-dir", run_dir, "--data-dir", data_dir, *extra],
                  os.path.join(run_dir, "log.sock"), str(tmp_path), env=env)


@pytest.fixture
def log_daemon(request, tmp_path):
    """A running mvirt-log (see start_log_daemon); extra arguments through
    indirect parametrization, e.g.
    @pytest.mark.parametrize("log_daemon", [["--max-entries", "10"]], indirect=True).
    The daemon must exit cleanly (status 0, no sanitizer report) at teardown."""
    d = start_log_daemon(tmp_path, *getattr(request, "param", ()))
    yield d
    d.assert_clean_exit()


@pytest.fixture(scope="session")
def guest_os():
    """The guest OS, built once per session by os/build.sh into BUILD/guest
    as `make os` does (kernel from the cache in ~/.cache/mvirt, init,
    initramfs-test.cpio...): the directory's path. A build that fails fails
    the tests that use it."""
    if platform.machine() != "x86_64":
        pytest.skip(f"the guest OS is x86-64 only; this machine is {platform.machine()}")
    out = os.path.join(BUILD, "guest")
    # os/build.sh takes the meson build directory relative to the source tree
    env = dict(os.environ, MVIRT_BUILD=os.path.relpath(BUILD, ROOT))
    p = subprocess.run([os.path.join(ROOT, "os", "build.sh"), out], cwd=ROOT, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        pytest.fail(f"os/build.sh {out} failed with status {p.returncode}:\n"
                    f"{p.stdout[-3000:]}\n{p.stderr[-6000:]}", pytrace=False)
    return out


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "guest: boots the guest OS under QEMU (nothing of it is built by the "
        "sanitizer build, so make check runs these in its gcc pass only)")


@pytest.fixture(scope="session")
def zfs_pool():
    """A file-backed ZFS pool on zfs-fuse for the session (tests/integration/
    zfs_pool.py): zfs-fuse is started if it is not running and stopped again
    only then; the pool and its file are destroyed at the end."""
    from zfs_pool import TestPool, ZfsFuse

    daemon = ZfsFuse().start()
    pool = TestPool()
    try:
        yield pool
    finally:
        try:
            pool.destroy()
        finally:
            daemon.stop()


class ZfsDaemon(Daemon):
    """mvirt-zfs on a dataset of its own in the session's pool (file layout:
    zfs-fuse has no zvols). .pool is that dataset, .import_root a directory
    local imports may come from, .data_dir its state, .mount_root where its
    datasets are mounted."""

    def __init__(self, zfs_pool, tmpdir, *extra, dataset=None, env=None):
        from zfs_pool import run

        self.zfs_pool = zfs_pool
        self.tmpdir = str(tmpdir)
        self.pool = dataset or f"{zfs_pool.name}/t{os.urandom(4).hex()}"
        if dataset is None:
            run(["zfs", "create", "-o", "mountpoint=none", self.pool])
        self.import_root = os.path.join(self.tmpdir, "images")
        self.run_dir = os.path.join(self.tmpdir, "run")
        self.data_dir = os.path.join(self.tmpdir, "data")
        self.mount_root = os.path.join(self.data_dir, "mnt")
        os.makedirs(self.import_root, exist_ok=True)
        self.argv = [binary("mvirt-zfs"), "--pool", self.pool, "--layout", "file",
                     "--run-dir", self.run_dir, "--data-dir", self.data_dir,
                     "--import-root", self.import_root, *extra]
        super().__init__(self.argv, os.path.join(self.run_dir, "zfs.sock"), self.tmpdir, env=env)

    def restart(self, *extra, env=None):
        """Start the same daemon again (after stop() or a kill) on the same
        dataset and database."""
        self._stderr.close()
        Daemon.__init__(self, self.argv + list(extra), self.socket_path, self.tmpdir, env=env)

    def destroy_dataset(self):
        from zfs_pool import destroy_dataset

        destroy_dataset(self.pool)


@pytest.fixture
def zfs_daemon(zfs_pool, tmp_path):
    """A running mvirt-zfs on a fresh dataset of the session's zfs-fuse pool;
    it must exit cleanly at teardown, and its dataset is destroyed."""
    d = ZfsDaemon(zfs_pool, tmp_path)
    try:
        yield d
        d.assert_clean_exit()
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.destroy_dataset()


class VmmDaemon(Daemon):
    """mvirt-vmm with its sockets, database and allowed roots in tmpdir:
    .boot_root holds copies of the guest OS (vmlinux, initramfs.cpio,
    initramfs-test.cpio) when guest_dir is given; .disk_root is where test
    disks go. restart() starts it again on the same state."""

    def __init__(self, tmpdir, *extra, guest_dir=None, env=None):
        self.tmpdir = str(tmpdir)
        # the VMs' sockets live below the run directory and a Unix socket
        # path has at most 107 bytes: pytest's tmp_path can be too long
        self.run_dir = tempfile.mkdtemp(prefix="mvr-", dir="/tmp")
        self.data_dir = os.path.join(self.tmpdir, "data")
        self.boot_root = os.path.join(self.tmpdir, "boot")
        self.disk_root = os.path.join(self.tmpdir, "disks")
        os.makedirs(self.boot_root, exist_ok=True)
        os.makedirs(self.disk_root, exist_ok=True)
        if guest_dir:
            for f in ("vmlinux", "initramfs.cpio", "initramfs-test.cpio"):
                src = os.path.join(guest_dir, f)
                if os.path.exists(src) and not os.path.exists(os.path.join(self.boot_root, f)):
                    shutil.copy(src, self.boot_root)
        self.argv = [binary("mvirt-vmm"), "--run-dir", self.run_dir, "--data-dir", self.data_dir,
                     "--allowed-boot-root", self.boot_root, "--allowed-disk-root", self.disk_root,
                     "--log-endpoint", "none", *extra]
        super().__init__(self.argv, os.path.join(self.run_dir, "vmm.sock"), self.tmpdir, env=env)

    def restart(self, *extra, env=None):
        self._stderr.close()
        Daemon.__init__(self, self.argv + list(extra), self.socket_path, self.tmpdir, env=env)

    def kernel_config(self, initramfs="initramfs.cpio", cmdline="console=ttyS0 quiet", **kw):
        """A VmConfig for a kernel boot of the guest OS."""
        import mvirt_pb2 as pb

        return pb.VmConfig(vcpus=kw.pop("vcpus", 1), memory_mb=kw.pop("memory_mb", 128),
                           boot_mode=pb.BOOT_MODE_KERNEL,
                           kernel=os.path.join(self.boot_root, "vmlinux"),
                           initramfs=os.path.join(self.boot_root, initramfs),
                           cmdline=cmdline, **kw)


def _kill_leftover_hypervisors(run_dir):
    """QEMU processes outlive the daemon by design; a test's must not
    outlive the test: kill every process whose command line names run_dir."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if run_dir.encode() in f.read():
                    os.kill(int(pid), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def _delete_leftover_taps(data_dir):
    """TAP devices of the daemon's VMs (mv<8 hex of the id>n<i>) that a
    killed daemon could not delete."""
    import sqlite3

    db = os.path.join(data_dir, "mvirt.db")
    if not os.path.exists(db):
        return
    try:
        with sqlite3.connect(db) as c:
            ids = [r[0] for r in c.execute("SELECT id FROM vms")]
    except sqlite3.Error:
        return
    prefixes = {"mv" + i.replace("-", "")[:8] + "n" for i in ids}
    for name in os.listdir("/sys/class/net"):
        if any(name.startswith(p) for p in prefixes):
            subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.fixture
def vmm_daemon(tmp_path, guest_os):
    """A running mvirt-vmm (QEMU driver, TCG here) with the guest OS in its
    boot root. Clean exit at teardown; hypervisors left behind are killed."""
    d = VmmDaemon(tmp_path, guest_dir=guest_os)
    try:
        yield d
        d.assert_clean_exit()
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        _kill_leftover_hypervisors(d.run_dir)
        _delete_leftover_taps(d.data_dir)
        shutil.rmtree(d.run_dir, ignore_errors=True)
