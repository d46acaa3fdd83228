"""The mvirt command-line client against a real mvirt-log: output forms, filters,
--follow, endpoint selection, and how errors are reported (one line on stderr,
exit 1 for a failed operation, 2 for a usage error)."""
import datetime
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_MARKERS, binary, start_log_daemon

import log_pb2 as pb
import log_pb2_grpc as g

NS = 1_000_000_000
TIMEOUT = 30


def clean_env(**extra):
    """The environment without any MVIRT_* variable of the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVIRT_")}
    env.update(extra)
    return env


def run(*args, env=None, check_sanitizers=True):
    p = subprocess.run([binary("mvirt"), *args], capture_output=True, text=True,
                       timeout=TIMEOUT, env=env if env is not None else clean_env())
    if check_sanitizers:
        bad = [m for m in SANITIZER_MARKERS if m in p.stderr]
        assert not bad, p.stderr
    return p


@pytest.fixture
def mvirt(log_daemon):
    """mvirt with the daemon's endpoint given by --log-endpoint."""
    def call(*args, ok=True):
        p = run("--log-endpoint", log_daemon.endpoint, *args)
        if ok:
            assert p.returncode == 0 and p.stderr == "", (p.returncode, p.stderr)
        return p
    return call


@pytest.fixture
def stub(log_daemon):
    ch = log_daemon.channel()
    yield g.LogServiceStub(ch)
    ch.close()


def glog(stub, message, **kw):
    return int(stub.Log(pb.LogRequest(entry=pb.LogEntry(message=message, **kw)),
                        timeout=TIMEOUT).id)


def query(stub, **kw):
    return list(stub.Query(pb.QueryRequest(limit=10000, **kw), timeout=TIMEOUT))


def rfc3339(ns):
    dt = datetime.datetime.fromtimestamp(ns // NS, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (ns % NS)


def assert_one_error_line(p, prefix, code=1):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), p.stderr
    assert p.stderr.endswith("\n")
    return lines[0]


# ---- log add -------------------------------------------------------------------


def test_add_prints_id(mvirt, stub):
    p = mvirt("log", "add", "--message", "first")
    assert p.stdout == "1\n"
    p = mvirt("log", "add", "-m", "second", "--level", "audit", "--component", "vmm",
              "--object", "vm-b", "--object", "vm-a")
    assert p.stdout == "2\n"
    e1, e2 = query(stub)
    assert (e1.id, e1.message, e1.level, e1.component) == ("1", "first", 0, "cli")
    assert list(e1.related_object_ids) == []
    assert (e2.id, e2.message, e2.level, e2.component) == ("2", "second", 4, "vmm")
    assert list(e2.related_object_ids) == ["vm-a", "vm-b"]


@pytest.mark.parametrize("name,level", [("info", 0), ("WARN", 1), ("warning", 1), ("Error", 2),
                                        ("debug", 3), ("audit", 4), ("2", 2)])
def test_add_level_names(mvirt, stub, name, level):
    mvirt("log", "add", "-m", "x", "--level", name)
    assert query(stub)[0].level == level


def test_add_json(mvirt):
    p = mvirt("--json", "log", "add", "-m", "a")
    assert json.loads(p.stdout) == {"id": "1"}
    p = mvirt("log", "add", "--json", "-m", "b")
    assert json.loads(p.stdout) == {"id": "2"}


# ---- log list --------------------------------------------------------------------


@pytest.fixture
def sample(stub):
    """Five entries of various levels, components and objects, a minute apart."""
    base = time.time_ns() - 10 * 60 * NS
    rows = [("created vm web1", 4, "vmm", ["vm1"]),
            ("disk almost full", 1, "zfs", ["vol1"]),
            ("start failed", 2, "vmm", ["vm1", "vol1"]),
            ("debug detail", 3, "net", []),
            ("hello", 0, "cli", ["vm10"])]
    ids = [glog(stub, m, level=lvl, component=c, related_object_ids=o,
                timestamp_ns=base + i * 60 * NS) for i, (m, lvl, c, o) in enumerate(rows)]
    return {"base": base, "ids": [str(i) for i in ids], "rows": rows}


LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)  (\S+)\s+(\S+)\s+(.*)$")


def messages(p):
    return [LINE.match(line).group(4).split("  [")[0] for line in p.stdout.splitlines()]


def test_list_text(mvirt, sample):
    p = mvirt("log", "list")
    lines = p.stdout.splitlines()
    assert len(lines) == 5
    for line, (msg, lvl, comp, objs) in zip(lines, sample["rows"]):
        m = LINE.match(line)
        assert m, line
        assert m.group(2) == ["INFO", "WARN", "ERROR", "DEBUG", "AUDIT"][lvl]
        assert m.group(3) == comp
        assert msg in m.group(4)
        if objs:
            assert line.endswith("  [" + ", ".join(sorted(objs)) + "]")
    # the time shown is the entry's, to the millisecond
    t = sample["base"]
    assert lines[0].startswith(rfc3339(t)[:23] + "Z")


def test_list_json(mvirt, sample):
    for args in (("--json", "log", "list"), ("log", "list", "--json")):
        got = json.loads(mvirt(*args).stdout)
        assert [e["id"] for e in got] == sample["ids"]
        e = got[2]
        assert e["message"] == "start failed" and e["level"] == "ERROR"
        assert e["component"] == "vmm" and e["related_object_ids"] == ["vm1", "vol1"]
        assert e["timestamp_ns"] == sample["base"] + 2 * 60 * NS
        assert e["time"] == rfc3339(e["timestamp_ns"]).replace("Z", "+00:00")


def test_list_empty(mvirt):
    assert mvirt("log", "list").stdout == ""
    assert json.loads(mvirt("log", "list", "--json").stdout) == []


def test_list_filters(mvirt, sample):
    def ids(*args):
        return [e["id"] for e in json.loads(mvirt("log", "list", "--json", *args).stdout)]
    i = sample["ids"]
    assert ids("--object", "vm1") == [i[0], i[2]]  # exact match: not vm10
    assert ids("--object", "vol1") == [i[1], i[2]]
    assert ids("--object", "vm") == []
    assert ids("--component", "vmm") == [i[0], i[2]]
    assert ids("--component", "vmm", "--object", "vol1") == [i[2]]
    assert ids("--level", "warn,error") == [i[1], i[2]]
    assert ids("--level", "warn", "--level", "audit") == [i[0], i[1]]
    assert ids("--level", "DEBUG") == [i[3]]
    assert ids("--reverse") == i[::-1]
    assert ids("--limit", "2") == i[-2:]
    assert ids("--limit", "2", "--reverse") == i[::-1][:2]
    assert messages(mvirt("log", "list", "--level", "error")) == ["start failed"]


def test_list_time_window(mvirt, stub):
    now = time.time_ns()
    old = glog(stub, "two hours ago", timestamp_ns=now - 2 * 3600 * NS)
    mid = glog(stub, "half an hour ago", timestamp_ns=now - 1800 * NS)
    new = glog(stub, "now", timestamp_ns=0)

    def ids(*args):
        return [int(e["id"]) for e in json.loads(mvirt("log", "list", "--json", *args).stdout)]
    assert ids("--since", "-1h") == [mid, new]
    assert ids("--since=-1h") == [mid, new]
    assert ids("--since", "-3h", "--until", "-1h") == [old]
    cut = rfc3339(now - 3600 * NS)
    assert ids("--until", cut) == [old]
    assert ids("--since", cut) == [mid, new]
    # inclusive bounds, and other RFC 3339 spellings of the same instant
    t = now - 1800 * NS
    assert ids("--since", rfc3339(t), "--until", rfc3339(t)) == [mid]
    sec = t - t % NS
    frac = "%09d" % (t % NS)
    dt = datetime.datetime.fromtimestamp(sec // NS, datetime.timezone(datetime.timedelta(hours=2)))
    assert ids("--since", dt.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "+02:00", "--until", "now") \
        == [mid, new]
    assert ids("--until", "1970-01-02") == []
    assert ids("--since", "1970-01-01T00:00:00Z") == [old, mid, new]


def test_follow_json_lines(mvirt, log_daemon, stub):
    first = glog(stub, "before", related_object_ids=["vm1"])
    glog(stub, "other object", related_object_ids=["vm2"])
    proc = subprocess.Popen([binary("mvirt"), "--log-endpoint", log_daemon.endpoint, "log", "list",
                             "--follow", "--json", "--object", "vm1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env())
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()

    def next_entry():
        try:
            return json.loads(lines.get(timeout=TIMEOUT))
        except queue.Empty:
            proc.kill()
            pytest.fail("no line from mvirt log list --follow: " + proc.stderr.read())

    try:
        e = next_entry()  # the backlog: the stream is open
        assert (int(e["id"]), e["message"]) == (first, "before")
        added = []
        for n in range(3):
            added.append(int(run("--log-endpoint", log_daemon.endpoint, "log", "add", "-m",
                                 f"live {n}", "--object", "vm1").stdout))
            glog(stub, "not mine", related_object_ids=["vm2"])
        for n in range(3):
            e = next_entry()
            assert (int(e["id"]), e["message"], e["related_object_ids"]) == \
                (added[n], f"live {n}", ["vm1"])
        assert lines.empty()
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)
    reader.join(TIMEOUT)
    assert lines.empty()
    err = proc.stderr.read()
    assert not [m for m in SANITIZER_MARKERS if m in err], err


def test_follow_text_ends_when_daemon_stops(log_daemon, stub):
    glog(stub, "before")
    proc = subprocess.Popen([binary("mvirt"), "--log-endpoint", log_daemon.endpoint, "log", "list",
                             "-f"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env())
    try:
        assert "before" in proc.stdout.readline()
        glog(stub, "live one", level=2)
        line = proc.stdout.readline()
        assert "live one" in line and "ERROR" in line
        log_daemon.proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out == ""
    assert proc.returncode == 1
    assert err.startswith("mvirt: log: ") and len(err.splitlines()) == 1, err


# ---- endpoint selection ------------------------------------------------------------------


def test_endpoint_selection(log_daemon, tmp_path):
    ep = log_daemon.endpoint
    run_dir = os.path.dirname(log_daemon.socket_path)
    nowhere = str(tmp_path / "nowhere")
    bad_ep = "unix:" + nowhere + "/log.sock"

    def works(*args, **env):
        p = run(*args, "log", "add", "-m", "x", env=clean_env(**env))
        assert p.returncode == 0 and p.stdout.strip().isdigit(), (args, env, p.stderr)

    def fails(*args, **env):
        p = run(*args, "log", "add", "-m", "x", env=clean_env(**env))
        line = assert_one_error_line(p, "mvirt: log: ")
        return line

    works("--log-endpoint", ep)
    works(MVIRT_LOG_ENDPOINT=ep)
    works("--run-dir", run_dir)
    works(MVIRT_RUN_DIR=run_dir)
    works("--run-dir=" + run_dir)
    # precedence: flag > MVIRT_LOG_ENDPOINT > --run-dir > MVIRT_RUN_DIR
    works("--log-endpoint", ep, MVIRT_LOG_ENDPOINT=bad_ep)
    assert nowhere in fails("--log-endpoint", bad_ep, MVIRT_LOG_ENDPOINT=ep)
    works("--run-dir", nowhere, MVIRT_LOG_ENDPOINT=ep)
    assert nowhere in fails("--run-dir", run_dir, MVIRT_LOG_ENDPOINT=bad_ep)
    works("--run-dir", run_dir, MVIRT_RUN_DIR=nowhere)
    assert nowhere in fails("--run-dir", nowhere, MVIRT_RUN_DIR=run_dir)
    # other daemons' endpoints do not matter to log commands
    works("--vmm-endpoint", bad_ep, "--run-dir", run_dir, MVIRT_ZFS_ENDPOINT=bad_ep)
    # empty variables are ignored
    works("--run-dir", run_dir, MVIRT_LOG_ENDPOINT="")
    works(MVIRT_RUN_DIR=run_dir, MVIRT_LOG_ENDPOINT="")


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_endpoints(tmp_path):
    port = free_tcp_port()
    d = start_log_daemon(tmp_path, "--listen", "unix:" + str(tmp_path / "run" / "log.sock"),
                         "--listen", f"127.0.0.1:{port}")
    try:
        for ep in (f"127.0.0.1:{port}", f"http://127.0.0.1:{port}", f"localhost:{port}"):
            p = run("--log-endpoint", ep, "log", "add", "-m", ep)
            assert p.returncode == 0 and p.stderr == "", (ep, p.stderr)
        p = run("--log-endpoint", f"http://127.0.0.1:{port}", "log", "list", "--json")
        assert [e["message"] for e in json.loads(p.stdout)] == \
            [f"127.0.0.1:{port}", f"http://127.0.0.1:{port}", f"localhost:{port}"]
    finally:
        d.assert_clean_exit()


# ---- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("verb", [["add", "-m", "x"], ["list"], ["list", "--follow"],
                                  ["list", "--json"]])
def test_daemon_down(tmp_path, verb):
    # no socket at all, a stale socket file nobody listens on, a closed TCP port
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()
    for args in (["--run-dir", str(tmp_path / "nowhere")],
                 ["--log-endpoint", "unix:" + str(stale)],
                 ["--log-endpoint", f"127.0.0.1:{free_tcp_port()}"]):
        p = run(*args, "log", *verb)
        line = assert_one_error_line(p, "mvirt: log: ")
        assert "Traceback" not in line


def test_daemon_down_json_flag_still_plain_error(tmp_path):
    p = run("--json", "--run-dir", str(tmp_path), "log", "add", "-m", "x")
    assert_one_error_line(p, "mvirt: log: ")


def test_server_side_rejection(mvirt, stub):
    p = mvirt("log", "add", "-m", "x", "--object", "o" * 300, ok=False)
    line = assert_one_error_line(p, "mvirt: log: related object id too long")
    assert "300" in line
    p = mvirt("log", "add", "-m", "y" * 70000, ok=False)
    assert_one_error_line(p, "mvirt: log: message too long")
    p = mvirt("log", "add", "-m", "x", "--component", "c" * 65, ok=False)
    assert_one_error_line(p, "mvirt: log: component too long")
    assert query(stub) == []


USAGE_ERRORS = [
    ["bogus"],
    ["log", "bogus"],
    ["log", "list", "--limit", "x"],
    ["log", "list", "--limit", "0"],
    ["log", "list", "--limit", "10001"],
    ["log", "list", "--limit", "-1"],
    ["log", "list", "--since", "yesterday"],
    ["log", "list", "--until", "2025-13-01"],
    ["log", "list", "--since", "-1x"],
    ["log", "list", "--since", "now", "--until", "-1h"],
    ["log", "list", "--level", "loud"],
    ["log", "list", "--level", "warn,5"],
    ["log", "list", "--bogus"],
    ["log", "list", "extra"],
    ["log", "list", "--limit"],
    ["log", "add"],
    ["log", "add", "--level", "info"],
    ["log", "add", "-m", ""],
    ["log", "add", "-m", "x", "--level", "loud"],
    ["log", "add", "-m", "x", "--bogus"],
    ["log", "add", "-m", "x", "extra"],
    ["--bogus", "log", "list"],
    ["--timeout", "0", "log", "list"],
    ["--timeout", "x", "log", "list"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=lambda a: " ".join(a) or "nothing")
def test_usage_errors(log_daemon, stub, args):
    p = run("--log-endpoint", log_daemon.endpoint, *args)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    assert p.stderr.strip() and "Traceback" not in p.stderr
    assert query(stub) == []


@pytest.mark.parametrize("args,line", [
    (["log", "list", "--bogus=1"], "mvirt: unknown option '--bogus' (see 'mvirt log list --help')"),
    (["log", "list", "-x"], "mvirt: unknown option '-x' (see 'mvirt log list --help')"),
    (["log", "list", "--limit"],
     "mvirt: option '--limit' needs a value (see 'mvirt log list --help')"),
    (["log", "add", "-m"], "mvirt: option '-m' needs a value (see 'mvirt log add --help')"),
    (["--bogus", "log", "list"], "mvirt: unknown option '--bogus' (see 'mvirt --help')"),
    (["--timeout"], "mvirt: option '--timeout' needs a value (see 'mvirt --help')"),
])
def test_option_errors_are_one_line_naming_the_command(args, line):
    p = run(*args)
    assert p.returncode == 2
    assert p.stderr == line + "\n"


def test_no_arguments_is_usage_error():
    p = run()
    assert p.returncode == 2 and "Usage: mvirt" in p.stdout + p.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"], ["log", "--help"], ["log", "-h"],
                                  ["log", "help"], ["log", "list", "--help"],
                                  ["log", "list", "-h"], ["log", "add", "--help"],
                                  ["log", "add", "-h"]],
                         ids=lambda a: " ".join(a))
def test_help(tmp_path, args):
    # no daemon is needed for help
    p = run("--run-dir", str(tmp_path), *args)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout.startswith("Usage: mvirt")
    if args[0] == "log" and args[1] in ("list", "add"):
        assert p.stdout.startswith(f"Usage: mvirt log {args[1]}")
        assert "--json" in p.stdout
    if args == ["log", "list", "--help"]:
        for opt in ("--object", "--since", "--until", "--component", "--level", "--limit",
                    "--reverse", "--follow"):
            assert opt in p.stdout


def test_version():
    p = run("--version")
    assert p.returncode == 0 and p.stderr == ""
    assert re.fullmatch(r"mvirt \d+\.\d+\.\d+\S*\n", p.stdout), p.stdout
    d = subprocess.run([binary("mvirt-log"), "--version"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.stdout.split()[1] in d.stdout
