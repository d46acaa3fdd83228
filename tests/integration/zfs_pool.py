"""A throw-away ZFS pool on Debian's userspace zfs-fuse, for the tests.

zfs_fuse_running() starts the zfs-fuse daemon when it is not running (and
remembers that we did, so that only then it is stopped again); TestPool
creates a file-backed pool with a unique name in a temporary directory,
with cachefile=none so that a leftover never comes back FAULTED at the next
zfs-fuse start, and destroys it with a bounded retry: zfs-fuse reports
"pool is busy" for a moment after datasets were used.
"""
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

SOCKET = "/var/run/zfs/zfs_socket"
CMD_TIMEOUT = 60


def run(argv, check=True, timeout=CMD_TIMEOUT):
    """Run a zfs/zpool command; its CompletedProcess (text)."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def _pids(name):
    p = subprocess.run(["pidof", name], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()]


def _daemon_answers():
    if not os.path.exists(SOCKET):
        return False
    try:
        return run(["zpool", "list", "-H", "-o", "name"], check=False, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


class ZfsFuse:
    """The zfs-fuse daemon: started by start() unless one is running."""

    def __init__(self):
        self.pid = None  # set only when we started it
        self.tmpdir = None

    def start(self, timeout=20):
        if shutil.which("zfs-fuse") is None or shutil.which("zpool") is None:
            raise RuntimeError("zfs-fuse is not installed (scripts/deps.sh installs it)")
        if not os.path.exists("/dev/fuse"):
            raise RuntimeError("/dev/fuse is missing: zfs-fuse cannot run here")
        if _pids("zfs-fuse") and _daemon_answers():
            return self
        if _pids("zfs-fuse"):
            raise RuntimeError("a zfs-fuse process exists but does not answer on " + SOCKET)
        # zfs-fuse daemonizes by default and writes the daemon's pid into
        # --pidfile; we keep the default so that it outlives no test by
        # accident: stop() kills exactly that pid
        self.tmpdir = tempfile.mkdtemp(prefix="mvirt-zfs-fuse-")
        pidfile = os.path.join(self.tmpdir, "zfs-fuse.pid")
        run(["zfs-fuse", "--pidfile", pidfile], timeout=30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(pidfile) and _daemon_answers():
                with open(pidfile) as f:
                    self.pid = int(f.read().strip())
                return self
            time.sleep(0.1)
        raise RuntimeError(f"zfs-fuse did not answer on {SOCKET} within {timeout} s")

    def stop(self, timeout=30):
        if self.pid is None:
            return
        # another test session may have started using the daemon we started
        # (its pools are still imported): leave it running for them
        p = run(["zpool", "list", "-H", "-o", "name"], check=False, timeout=10)
        if p.returncode == 0 and p.stdout.strip():
            self.pid = None
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class TestPool:
    """A file-backed pool named mvt<random>, its root dataset unmounted."""

    __test__ = False  # not a pytest test class

    def __init__(self, size="1G"):
        self.name = "mvt" + secrets.token_hex(4)
        self.dir = tempfile.mkdtemp(prefix="mvirt-pool-")
        self.file = os.path.join(self.dir, "disk")
        with open(self.file, "wb") as f:
            f.truncate(_parse_size(size))
        try:
            run(["zpool", "create", "-o", "cachefile=none", "-m", "none", self.name, self.file])
        except Exception:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def destroy(self, attempts=20, pause=0.25):
        """Destroy the pool (only ours), retrying while zfs-fuse says busy."""
        last = None
        for _ in range(attempts):
            p = run(["zpool", "destroy", "-f", self.name], check=False)
            if p.returncode == 0:
                break
            last = p.stderr.strip()
            if "no such pool" in last:
                break
            if "busy" not in last:
                raise RuntimeError(f"zpool destroy {self.name}: {last}")
            time.sleep(pause)
        else:
            raise RuntimeError(f"zpool destroy {self.name} still busy: {last}")
        shutil.rmtree(self.dir, ignore_errors=True)


def _parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1] in units:
        return int(s[:-1]) * units[s[-1]]
    return int(s)


def destroy_dataset(name, attempts=10, pause=0.2):
    """zfs destroy -r with the bounded retry that zfs-fuse's first "dataset
    is busy" on a just-unmounted dataset needs; returns the attempts used."""
    for i in range(1, attempts + 1):
        p = run(["zfs", "destroy", "-r", name], check=False)
        if p.returncode == 0:
            return i
        if "busy" not in p.stderr:
            raise RuntimeError(f"zfs destroy -r {name}: {p.stderr.strip()}")
        time.sleep(pause)
    raise RuntimeError(f"zfs destroy -r {name} still busy after {attempts} attempts")
