"""Tests of ch_standin.py, the cloud-hypervisor MOCK that the VM manager's
cloud-hypervisor driver is contract-tested against (it runs no guest).

They make the stand-in trustworthy as a contract checker: it accepts what
cloud-hypervisor accepts (a realistic command line, every request the driver
sends), refuses what breaks the contract (unknown endpoint, wrong method,
bodies that do not match openapi.yaml, bad command lines) and records all of
it, and it behaves like the hypervisor on power button, shutdown and signals.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# CH_STANDIN_PATH: run these tests against another copy (used to check that they fail on a broken one)
STANDIN = os.environ.get("CH_STANDIN_PATH", os.path.join(HERE, "ch_standin.py"))


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix socket, as libcurl's CURLOPT_UNIX_SOCKET_PATH."""

    def __init__(self, path, timeout=5):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class StandIn:
    """One ch_standin process with its files in a temporary directory."""

    def __init__(self, tmp, args, env=None):
        self.tmp = tmp
        self.api = os.path.join(tmp, "api.sock")
        self.record_path = os.path.join(tmp, "record.jsonl")
        self.stderr_path = os.path.join(tmp, "stderr")
        full_env = dict(os.environ, CH_STANDIN_RECORD=self.record_path)
        full_env.update(env or {})
        self.argv = [STANDIN] + args
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=err,
                                         env=full_env)

    def wait_api(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"stand-in exited {self.proc.returncode}: {self.stderr()}")
            if os.path.exists(self.api):
                try:
                    if self.call("GET", "vmm.ping")[0] == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.02)
        raise AssertionError("stand-in API socket did not answer")

    def call(self, method, endpoint, body=None, raw=None):
        """One request on a fresh connection: (status, parsed JSON or None)."""
        conn = UnixHTTPConnection(self.api)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body))
            headers = {"Content-Type": "application/json"} if data is not None else {}
            path = endpoint if endpoint.startswith("/") else "/api/v1/" + endpoint
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, (json.loads(payload) if payload else None)
        finally:
            conn.close()

    def records(self):
        with open(self.record_path) as f:
            return [json.loads(line) for line in f]

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def wait_exit(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tmp():
    with tempfile.TemporaryDirectory(prefix="ch-standin-") as d:
        yield d


@pytest.fixture
def files(tmp):
    """A kernel, an initramfs, two disk images and a listening vhost-user
    backend socket (the stand-in only checks that it exists)."""
    paths = {}
    for name in ("vmlinux", "initramfs.cpio", "root.raw", "data.raw", "extra.raw"):
        paths[name] = os.path.join(tmp, name)
        with open(paths[name], "wb") as f:
            f.truncate(1 << 20)
    paths["vhost"] = os.path.join(tmp, "vnic.sock")
    backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    backend.bind(paths["vhost"])
    backend.listen(1)
    paths["serial"] = os.path.join(tmp, "serial.sock")
    yield paths
    backend.close()


def realistic_args(tmp, f, api_form="path="):
    """A command line like the one the driver builds."""
    return [
        "--api-socket", api_form + os.path.join(tmp, "api.sock"),
        "--kernel", f["vmlinux"], "--initramfs", f["initramfs.cpio"],
        "--cmdline", "console=ttyS0 quiet mvirt.hostname=vm1",
        "--cpus", "boot=2", "--memory", "size=256M,shared=on",
        "--disk", f"path={f['root.raw']},id=root", f"path={f['data.raw']},readonly=on",
        "--net", f"vhost_user=true,socket={f['vhost']},mac=52:54:00:12:34:56",
        "--net", "tap=mvtap0,mac=52:54:00:12:34:57,id=legacy",
        "--serial", f"socket={f['serial']}", "--console", "off",
        "--seccomp", "true", "--log-file", os.path.join(tmp, "ch.log"), "-v",
    ]


@pytest.fixture
def standin(tmp, files):
    procs = []

    def start(args=None, env=None, wait=True):
        s = StandIn(tmp, realistic_args(tmp, files) if args is None else args, env)
        procs.append(s)
        return s.wait_api() if wait else s

    yield start
    for s in procs:
        s.stop()


def read_until(sock, needle, timeout=5):
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data:
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not seen in {data!r}")
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"serial closed before {needle!r}: {data!r}")
        data += chunk
    return data


def test_valid_requests_of_every_kind(standin, files):
    s = standin()
    st, ping = s.call("GET", "vmm.ping")
    assert st == 200 and ping["version"] and ping["pid"] == s.proc.pid

    st, info = s.call("GET", "vm.info")
    assert st == 200 and info["state"] == "Running"
    cfg = info["config"]
    assert cfg["payload"] == {"kernel": files["vmlinux"], "initramfs": files["initramfs.cpio"],
                              "cmdline": "console=ttyS0 quiet mvirt.hostname=vm1"}
    assert cfg["cpus"]["boot_vcpus"] == 2 and cfg["cpus"]["max_vcpus"] == 2
    assert cfg["memory"]["size"] == 256 << 20 and cfg["memory"]["shared"] is True
    assert [(d["id"], d["path"], d["readonly"]) for d in cfg["disks"]] == [
        ("root", files["root.raw"], False), ("_disk0", files["data.raw"], True)]
    assert [(n["id"], n["vhost_user"], n["mac"]) for n in cfg["net"]] == [
        ("_net1", True, "52:54:00:12:34:56"), ("legacy", False, "52:54:00:12:34:57")]
    assert cfg["serial"] == {"mode": "Socket", "socket": files["serial"]}
    assert info["memory_actual_size"] == 256 << 20
    assert info["device_tree"]["root"]["pci_bdf"].startswith("0000:00:")

    assert s.call("PUT", "vm.pause") == (204, None)
    assert s.call("GET", "vm.info")[1]["state"] == "Paused"
    st, err = s.call("PUT", "vm.pause")
    assert st == 500 and any("Paused" in line for line in err)
    assert s.call("PUT", "vm.resume") == (204, None)
    st, err = s.call("PUT", "vm.resume")
    assert st == 500 and any("Running" in line for line in err)

    st, dev = s.call("PUT", "vm.add-disk", {"path": files["extra.raw"], "readonly": True})
    assert st == 200 and dev["id"] == "_disk2" and dev["bdf"].startswith("0000:00:")
    st, dev2 = s.call("PUT", "vm.add-disk", {"path": files["extra.raw"], "id": "scratch"})
    assert st == 200 and dev2["id"] == "scratch" and dev2["bdf"] != dev["bdf"]
    assert s.call("PUT", "vm.add-disk", {"path": files["extra.raw"], "id": "scratch"})[0] == 409
    assert s.call("PUT", "vm.add-disk", {"path": files["extra.raw"], "id": "__x"})[0] == 400
    st, nic = s.call("PUT", "vm.add-net", {"vhost_user": True, "vhost_socket": files["vhost"],
                                           "mac": "52:54:00:00:00:09", "id": "nic9"})
    assert st == 200 and nic["id"] == "nic9"
    ids = [d["id"] for d in s.call("GET", "vm.info")[1]["config"]["disks"]]
    assert ids == ["root", "_disk0", "_disk2", "scratch"]
    assert s.call("PUT", "vm.remove-device", {"id": "_disk2"}) == (204, None)
    assert s.call("PUT", "vm.remove-device", {"id": "nic9"}) == (204, None)
    assert s.call("PUT", "vm.remove-device", {"id": "nope"})[0] == 404
    assert "_disk2" not in s.call("GET", "vm.info")[1]["device_tree"]

    assert s.call("PUT", "vm.reboot") == (204, None)
    assert s.call("GET", "vm.info")[1]["state"] == "Running"
    assert s.call("PUT", "vm.shutdown") == (204, None)
    assert s.call("GET", "vm.info")[1]["state"] == "Created"
    assert s.call("PUT", "vm.power-button")[0] == 500     # not running
    assert s.call("PUT", "vm.boot") == (204, None)
    assert s.call("PUT", "vm.boot")[0] == 500             # already booted
    assert s.call("PUT", "vm.delete") == (204, None)
    assert s.call("GET", "vm.info")[0] == 404
    assert s.call("PUT", "vmm.shutdown") == (204, None)
    assert s.wait_exit(5) == 0
    assert not os.path.exists(s.api)

    recs = s.records()
    assert recs[0] == {"argv": s.argv}
    assert recs[1]["config"]["payload"]["kernel"] == files["vmlinux"]
    reqs = [r for r in recs if "request" in r]
    assert not [r for r in reqs if "violation" in r or "standin_bug" in r]
    assert {"request": {"method": "PUT", "path": "/api/v1/vm.add-disk",
                        "body": {"path": files["extra.raw"], "readonly": True}},
            "status": 200} in reqs
    assert recs[-1] == {"exit": 0, "reason": "vmm.shutdown"}


def test_bare_api_socket_path_and_repeated_disk(standin, tmp, files):
    args = realistic_args(tmp, files, api_form="")
    args += ["--disk", f"path={files['extra.raw']}"]
    s = standin(args)
    disks = s.call("GET", "vm.info")[1]["config"]["disks"]
    assert [d["path"] for d in disks] == [files["root.raw"], files["data.raw"], files["extra.raw"]]


def test_serial_console_and_power_button(standin, files):
    s = standin(env={"CH_STANDIN_POWEROFF_MS": "300"})
    con = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    con.connect(files["serial"])
    read_until(con, b"mvirt-init: ready\r\n")
    con.sendall(b"echo me\n")
    read_until(con, b"echo me\n")
    t0 = time.monotonic()
    assert s.call("PUT", "vm.power-button") == (204, None)
    read_until(con, b"mvirt-init: poweroff")
    assert s.wait_exit(5) == 0
    elapsed = time.monotonic() - t0
    assert 0.25 <= elapsed < 3
    assert s.records()[-1] == {"exit": 0, "reason": "guest power-off"}
    assert not os.path.exists(files["serial"])
    con.close()


def test_power_button_while_paused_waits_for_resume(standin):
    s = standin(env={"CH_STANDIN_POWEROFF_MS": "50"})
    assert s.call("PUT", "vm.pause") == (204, None)
    assert s.call("PUT", "vm.power-button") == (204, None)
    time.sleep(0.5)
    assert s.proc.poll() is None
    assert s.call("PUT", "vm.resume") == (204, None)
    assert s.wait_exit(5) == 0


def test_ignored_power_button_keeps_running(standin):
    s = standin(env={"CH_STANDIN_POWEROFF_MS": "50", "CH_STANDIN_IGNORE_POWER_BUTTON": "1"})
    assert s.call("PUT", "vm.power-button") == (204, None)
    time.sleep(1)
    assert s.proc.poll() is None
    assert s.call("GET", "vm.info")[1]["state"] == "Running"
    s.proc.send_signal(signal.SIGTERM)
    assert s.wait_exit(5) == 0
    assert s.records()[-1] == {"exit": 0, "reason": "SIGTERM"}


def test_no_shutdown_keeps_the_vmm(standin, tmp, files):
    s = standin(realistic_args(tmp, files) + ["--no-shutdown"],
                env={"CH_STANDIN_POWEROFF_MS": "50"})
    assert s.call("PUT", "vm.power-button") == (204, None)
    deadline = time.monotonic() + 5
    while s.call("GET", "vm.info")[1]["state"] != "Created":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert s.proc.poll() is None


def test_without_payload_waits_for_create(standin, tmp, files):
    s = standin(["--api-socket", f"path={os.path.join(tmp, 'api.sock')}"])
    assert s.call("GET", "vm.info")[0] == 404
    assert s.call("PUT", "vm.boot")[0] == 404
    assert s.call("PUT", "vm.create", {"payload": {"kernel": files["vmlinux"]},
                                       "cpus": {"boot_vcpus": 1, "max_vcpus": 1},
                                       "memory": {"size": 1 << 28}}) == (204, None)
    assert s.call("GET", "vm.info")[1]["state"] == "Created"
    assert s.call("PUT", "vm.boot") == (204, None)
    assert s.call("GET", "vm.info")[1]["state"] == "Running"


VIOLATIONS = [
    ("unknown endpoint", "GET", "vm.nonexistent", None, "unknown endpoint"),
    ("outside /api/v1", "GET", "/vm.info", None, "not under"),
    ("wrong method (GET on PUT)", "GET", "vm.pause", None, "not allowed"),
    ("wrong method (PUT on GET)", "PUT", "vmm.ping", None, "not allowed"),
    ("wrong method (POST)", "POST", "vm.add-disk", '{"path": "/x"}', "not allowed"),
    ("missing body", "PUT", "vm.add-disk", None, "requires a JSON request body"),
    ("body where none is declared", "PUT", "vm.pause", "{}", "takes no request body"),
    ("missing required field", "PUT", "vm.create", '{"cpus": {"boot_vcpus": 1, "max_vcpus": 1}}',
     "missing required property 'payload'"),
    ("missing nested required field", "PUT", "vm.create",
     '{"payload": {}, "cpus": {"boot_vcpus": 1}}', "missing required property 'max_vcpus'"),
    ("missing required field (vsock)", "PUT", "vm.add-vsock", '{"socket": "/x"}',
     "missing required property 'cid'"),
    ("wrong type (string)", "PUT", "vm.add-disk", '{"path": 5}', "body.path: expected a string"),
    ("wrong type (boolean)", "PUT", "vm.add-disk", '{"path": "/x", "readonly": "on"}',
     "expected a boolean"),
    ("wrong type (integer)", "PUT", "vm.add-net", '{"num_queues": 2.0}', "expected an integer"),
    ("integer out of format range", "PUT", "vm.add-disk", '{"path": "/x", "pci_device_id": 256}',
     "out of range for uint8"),
    ("below minimum", "PUT", "vm.resize", '{"desired_vcpus": 0}', "below the minimum"),
    ("null value", "PUT", "vm.remove-device", '{"id": null}', "null is not allowed"),
    ("unknown property", "PUT", "vm.add-disk", '{"path": "/x", "read_only": true}',
     "unknown property 'read_only'"),
    ("unknown nested property", "PUT", "vm.create",
     '{"payload": {"kernel": "/k", "kernal": "/k"}}', "body.payload: unknown property 'kernal'"),
    ("bad enum", "PUT", "vm.add-disk", '{"path": "/x", "image_type": "raw"}', "is not one of"),
    ("bad nested enum", "PUT", "vm.create",
     '{"payload": {"kernel": "/k"}, "serial": {"mode": "socket"}}', "is not one of"),
    ("not JSON", "PUT", "vm.add-disk", '{"path": ', "not valid JSON"),
    ("duplicate key", "PUT", "vm.add-disk", '{"path": "/a", "path": "/b"}', "duplicate key"),
    ("not an object", "PUT", "vm.remove-device", '["_disk0"]', "expected an object"),
]


@pytest.mark.parametrize("name,method,endpoint,raw,reason", VIOLATIONS,
                         ids=[v[0] for v in VIOLATIONS])
def test_contract_violation_is_refused_and_recorded(standin, name, method, endpoint, raw, reason):
    s = standin()
    st, err = s.call(method, endpoint, raw=raw)
    assert st == 400, (name, st, err)
    assert err[0] == "ch_standin: contract violation" and reason in err[1], err
    rec = [r for r in s.records() if "request" in r][-1]
    assert rec["status"] == 400 and reason in rec["violation"]
    assert rec["request"]["method"] == method
    # the stand-in keeps serving and the VM is untouched
    assert s.call("GET", "vm.info")[1]["state"] == "Running"


def test_keep_alive_connection_serves_several_requests(standin):
    s = standin()
    conn = UnixHTTPConnection(s.api)
    for _ in range(3):
        conn.request("GET", "/api/v1/vmm.ping")
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["version"]
    conn.close()


def bad_command_lines(tmp, f):
    api = ["--api-socket", os.path.join(tmp, "api.sock")]
    k = ["--kernel", f["vmlinux"]]
    shared = ["--memory", "size=256M,shared=on"]
    return [
        ("unknown option", api + k + ["--frobnicate"], 2),
        ("positional argument", api + k + ["stray"], 2),
        ("no arguments", [], 2),
        ("vm option without payload", api + ["--disk", f"path={f['root.raw']}"], 2),
        ("single-value option twice", api + k + k, 2),
        ("option without value", api + k + ["--cmdline"], 2),
        ("bad --seccomp value", api + k + ["--seccomp", "maybe"], 2),
        ("bad cpus value", api + k + ["--cpus", "boot=two"], 1),
        ("max below boot", api + k + ["--cpus", "boot=2,max=1"], 1),
        ("unknown disk key", api + k + ["--disk", f"pth={f['root.raw']}"], 1),
        ("bad toggle", api + k + ["--disk", f"path={f['root.raw']},readonly=yes"], 1),
        ("bad memory size", api + k + ["--memory", "size=lots"], 1),
        ("malformed MAC", api + k + shared + ["--net", f"vhost_user=true,socket={f['vhost']},mac=52:54:00:zz:00:01"], 1),
        ("vhost-user without shared memory", api + k + ["--net", f"vhost_user=true,socket={f['vhost']}"], 1),
        ("vhost-user without socket", api + k + shared + ["--net", "vhost_user=true"], 1),
        ("missing vhost-user backend", api + k + shared + ["--net", "vhost_user=true,socket=/nonexistent.sock"], 1),
        ("bad serial mode", api + k + ["--serial", "sockets=/x"], 1),
        ("duplicate device id", api + k + ["--disk", f"path={f['root.raw']},id=a", f"path={f['data.raw']},id=a"], 1),
        ("reserved device id", api + k + ["--disk", f"path={f['root.raw']},id=__a"], 1),
        ("missing kernel file", api + ["--kernel", "/nonexistent/vmlinux"], 1),
        ("missing disk image", api + k + ["--disk", "path=/nonexistent.raw"], 1),
        ("unmodelled option", api + k + ["--vsock", "cid=3,socket=/x"], 1),
    ]


@pytest.mark.parametrize("index", range(22))
def test_bad_command_line_exits_nonzero(tmp, files, index):
    cases = bad_command_lines(tmp, files)
    assert len(cases) == 22
    name, args, code = cases[index]
    s = StandIn(tmp, args)
    try:
        assert s.wait_exit(10) == code, (name, s.stderr())
    finally:
        s.stop()
    assert s.stderr().strip(), name
    recs = s.records()
    assert recs[0] == {"argv": s.argv}
    assert recs[-1]["exit"] == code and recs[-1]["cli_error"]
    assert not os.path.exists(s.api)


def test_good_command_line_variants_start(standin, tmp, files):
    """Syntax cloud-hypervisor accepts: --opt=value, bare api socket path,
    firmware instead of kernel, serial to a file, console tty."""
    args = ["--api-socket=" + os.path.join(tmp, "api.sock"), "--firmware", files["vmlinux"],
            "--cpus", "boot=1,max=4", "--memory=size=1G",
            "--disk", f"path={files['root.raw']},image_type=raw,num_queues=1,queue_size=256",
            "--net", "tap=,mac=52:54:00:00:00:01,num_queues=2",
            "--serial", "file=" + os.path.join(tmp, "serial.log"), "--console", "tty", "-vv"]
    s = standin(args)
    cfg = s.call("GET", "vm.info")[1]["config"]
    assert cfg["payload"] == {"firmware": files["vmlinux"]}
    assert cfg["cpus"]["max_vcpus"] == 4 and cfg["memory"]["size"] == 1 << 30
    assert cfg["disks"][0]["image_type"] == "Raw"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
