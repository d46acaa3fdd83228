"""The storage commands of the mvirt CLI (volume, snapshot, template, import,
pool) against a real mvirt-zfs on a zfs-fuse pool (the zfs_daemon fixture):
their text and --json output, following an import (plain lines when stdout is
not a terminal, a progress line redrawn in place when it is), and how errors
are reported (one line on stderr; exit 1 for a failed operation, 2 for a
usage error)."""
import json
import os
import pty
import re
import select
import subprocess
import time
import uuid

import pytest

from conftest import SANITIZER_MARKERS, binary

TIMEOUT = 120
MiB = 1 << 20
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PROGRESS_LINE = re.compile(r"^(pending|downloading|converting|writing|completed|failed|cancelled)"
                           r" (\d+) (\d+)$")


def clean_env():
    """The environment without any MVIRT_* variable of the caller's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MVIRT_")}


def run(endpoint, *args):
    p = subprocess.run([binary("mvirt"), "--zfs-endpoint", endpoint, *args], capture_output=True,
                       text=True, timeout=TIMEOUT, env=clean_env(), stdin=subprocess.DEVNULL)
    bad = [m for m in SANITIZER_MARKERS if m in p.stderr]
    assert not bad, p.stderr
    return p


@pytest.fixture
def mvirt(zfs_daemon):
    """mvirt against the daemon; ok=True asserts exit 0 and a quiet stderr."""
    def call(*args, ok=True):
        p = run(zfs_daemon.endpoint, *args)
        if ok:
            assert p.returncode == 0 and p.stderr == "", (args, p.returncode, p.stdout, p.stderr)
        return p
    return call


def mjson(mvirt, *args):
    return json.loads(mvirt("--json", *args).stdout)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_one_error_line(p, code=1, contains=None):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mvirt: "), p.stderr
    if contains:
        assert contains in lines[0], lines[0]
    return lines[0]


def image(zfs_daemon, size=MiB, name=None):
    """A raw image below the daemon's import root: data at the start and the
    end, zeros between (sparse, as real images are). Returns path and bytes."""
    path = os.path.join(zfs_daemon.import_root, name or unique("img") + ".raw")
    data = bytearray(size)
    data[:4096] = os.urandom(4096)
    data[-4096:] = os.urandom(4096)
    with open(path, "wb") as f:
        f.write(data)
    return path, bytes(data)


def progress_updates(lines):
    """The (phase, bytes, total) lines that start lines, up to the first other line."""
    updates = []
    for line in lines:
        m = PROGRESS_LINE.match(line)
        if not m:
            break
        updates.append(m.groups())
    return updates


def import_template(mvirt, zfs_daemon, name, size=MiB):
    path, _ = image(zfs_daemon, size)
    job = mvirt("template", "import", name, path, "--detach").stdout.strip()
    assert re.fullmatch(UUID_RE, job), job
    mvirt("import", "watch", job)
    return job


VOLUME_KEYS = {"id", "name", "path", "volsize_bytes", "used_bytes", "volblocksize",
               "compression_ratio", "created_at", "snapshots"}
SNAPSHOT_KEYS = {"id", "name", "full_name", "used_bytes", "created_at"}
TEMPLATE_KEYS = {"id", "name", "snapshot_path", "source_volume", "size_bytes", "created_at",
                 "clone_count"}
JOB_KEYS = {"id", "template_name", "source", "state", "bytes_written", "total_bytes", "error",
            "template", "created_at", "completed_at"}


# ---- volumes -----------------------------------------------------------------------


def test_volume_lifecycle(mvirt):
    name = unique("vol")
    p = mvirt("volume", "create", name, "--size", "64M")
    assert re.search(rf"^Name:\s+{name}$", p.stdout, re.M)
    assert re.search(r"^Size:\s+64 MiB \(67108864 bytes\)$", p.stdout, re.M), p.stdout

    v = mjson(mvirt, "volume", "get", name)
    assert set(v) == VOLUME_KEYS
    assert v["name"] == name and re.fullmatch(UUID_RE, v["id"])
    assert v["volsize_bytes"] == 64 * MiB and v["snapshots"] == []
    assert isinstance(v["used_bytes"], int) and isinstance(v["compression_ratio"], float)

    listed = mjson(mvirt, "volume", "list")
    assert [x for x in listed if x["name"] == name] == [v]
    rows = [line.split() for line in mvirt("volume", "list").stdout.splitlines()]
    assert rows[0][:4] == ["NAME", "SIZE", "USED", "SNAPSHOTS"]
    row = next(r for r in rows if r[0] == name)
    assert row[1:3] == ["64", "MiB"] and row[-1] == v["id"]

    # a fraction with a unit, the global --json and the verb's own
    v = json.loads(mvirt("volume", "resize", name, "--size", "0.125G", "--json").stdout)
    assert v["volsize_bytes"] == 128 * MiB
    line = assert_one_error_line(mvirt("volume", "resize", name, "--size", "1M", ok=False))
    assert line.startswith("mvirt: volume: ")

    assert mvirt("volume", "delete", name).stdout == f"Volume '{name}' deleted.\n"
    assert_one_error_line(mvirt("volume", "get", name, ok=False), contains="not found")
    assert name not in [x["name"] for x in mjson(mvirt, "volume", "list")]


def test_volume_create_sizes(mvirt):
    a, b = unique("vol"), unique("vol")
    v = json.loads(mvirt("volume", "create", a, "--size", "1.5MiB", "--json").stdout)
    assert v["volsize_bytes"] == 3 * MiB // 2
    v = json.loads(mvirt("volume", "create", b, "-s", "16777216", "--block-size", "8K",
                         "--json").stdout)
    assert v["volsize_bytes"] == 16 * MiB
    assert_one_error_line(mvirt("volume", "create", a, "--size", "1M", ok=False),
                          contains="already exists")
    for n in (a, b):
        mvirt("volume", "delete", n)


# ---- snapshots ---------------------------------------------------------------------


def test_snapshots(mvirt):
    vol = unique("vol")
    mvirt("volume", "create", vol, "--size", "32M")
    s1 = json.loads(mvirt("snapshot", "create", vol, "s1", "--json").stdout)
    assert set(s1) == SNAPSHOT_KEYS and s1["name"] == "s1"
    p = mvirt("snapshot", "create", vol, "s2")
    assert p.stdout.splitlines()[0].split()[:2] == ["NAME", "USED"]
    assert p.stdout.splitlines()[1].split()[0] == "s2"

    snaps = mjson(mvirt, "snapshot", "list", vol)
    assert [s["name"] for s in snaps] == ["s1", "s2"]
    assert snaps[0] == s1
    text = mvirt("snapshot", "list", vol).stdout.splitlines()
    assert [line.split()[0] for line in text] == ["NAME", "s1", "s2"]
    assert [s["name"] for s in mjson(mvirt, "volume", "get", vol)["snapshots"]] == ["s1", "s2"]

    assert_one_error_line(mvirt("snapshot", "rollback", vol, "s1", ok=False),
                          contains="newer snapshots exist")
    assert_one_error_line(mvirt("snapshot", "create", vol, "s1", ok=False),
                          contains="already exists")
    assert mvirt("snapshot", "delete", vol, "s2").stdout == \
        f"Snapshot 's2' of volume '{vol}' deleted.\n"
    v = json.loads(mvirt("snapshot", "rollback", vol, "s1", "--json").stdout)
    assert set(v) == VOLUME_KEYS and v["name"] == vol
    assert [s["name"] for s in mjson(mvirt, "volume", "get", vol)["snapshots"]] == ["s1"]
    assert_one_error_line(mvirt("snapshot", "delete", vol, "nope", ok=False), contains="not found")
    mvirt("volume", "delete", vol)


# ---- templates and imports -----------------------------------------------------------


def test_import_detach_then_watch(mvirt, zfs_daemon):
    name = unique("tpl")
    path, _ = image(zfs_daemon, 2 * MiB)
    p = mvirt("template", "import", name, path, "--detach")
    job = p.stdout.strip()
    assert p.stdout == job + "\n" and re.fullmatch(UUID_RE, job)

    p = mvirt("import", "watch", job)
    updates = progress_updates(p.stdout.splitlines())
    assert updates and updates[-1][0] == "completed", p.stdout
    for state, done, total in updates:
        if state == "writing" and int(total):
            assert int(done) <= int(total)
    assert re.search(rf"^Name:\s+{name}$", p.stdout, re.M), p.stdout

    j = mjson(mvirt, "import", "get", job)
    assert set(j) == JOB_KEYS
    assert j["state"] == "COMPLETED" and j["error"] is None and j["completed_at"]
    assert j["template"]["name"] == name and j["template"]["size_bytes"] == 2 * MiB
    assert j["source"] == path
    assert job in [x["id"] for x in mjson(mvirt, "import", "list", "--all")]
    assert job not in [x["id"] for x in mjson(mvirt, "import", "list")]
    text = mvirt("import", "get", job).stdout
    assert re.search(r"^State:\s+completed$", text, re.M), text

    # watching a finished job: one update, exit 0
    p = mvirt("import", "watch", job)
    assert p.stdout.splitlines()[0].startswith("completed ")
    mvirt("template", "delete", name)


def test_import_following(mvirt, zfs_daemon, monkeypatch):
    name = unique("tpl")
    path, _ = image(zfs_daemon, MiB)
    # a path relative to the working directory is made absolute by the CLI
    monkeypatch.chdir(zfs_daemon.import_root)
    p = mvirt("template", "import", name, os.path.basename(path))
    lines = p.stdout.splitlines()
    source = os.path.join(os.getcwd(), os.path.basename(path))
    assert re.fullmatch(rf"Import job {UUID_RE}: template '{name}' from {re.escape(source)}",
                        lines[0]), lines[0]
    updates = progress_updates(lines[1:])
    assert updates and updates[-1][0] == "completed", p.stdout
    assert re.search(rf"^Name:\s+{name}$", p.stdout, re.M)
    assert re.search(r"^Size:\s+1 MiB \(1048576 bytes\)$", p.stdout, re.M)

    t = [x for x in mjson(mvirt, "template", "list") if x["name"] == name]
    assert len(t) == 1 and set(t[0]) == TEMPLATE_KEYS
    assert t[0]["size_bytes"] == MiB and t[0]["source_volume"] == "" and t[0]["clone_count"] == 0
    mvirt("template", "delete", name)


def test_import_json_lines(mvirt, zfs_daemon):
    name = unique("tpl")
    path, _ = image(zfs_daemon, MiB)
    p = mvirt("--json", "template", "import", name, path)
    jobs = [json.loads(line) for line in p.stdout.splitlines()]
    assert jobs and all(set(j) == JOB_KEYS for j in jobs)
    assert jobs[-1]["state"] == "COMPLETED" and jobs[-1]["template"]["name"] == name
    mvirt("template", "delete", name)


def test_import_failure_is_one_line_and_exit_1(mvirt, zfs_daemon):
    name = unique("bad-sha")
    path, _ = image(zfs_daemon, MiB)
    p = mvirt("template", "import", name, path, "--sha256", "0" * 64, ok=False)
    assert_one_error_line(p, contains="sha256 mismatch")
    updates = progress_updates(p.stdout.splitlines()[1:])
    assert updates and updates[-1][0] == "failed", p.stdout
    job = re.search(UUID_RE, p.stdout.splitlines()[0]).group(0)
    j = mjson(mvirt, "import", "get", job)
    assert j["state"] == "FAILED" and "sha256 mismatch" in j["error"]
    # watching it again says the same, with the same exit code
    assert_one_error_line(mvirt("import", "watch", job, ok=False), contains="sha256 mismatch")
    # cancelling a finished job changes nothing and is no error
    assert mvirt("import", "cancel", job).stdout == f"Import job {job} had already finished.\n"
    assert mjson(mvirt, "import", "cancel", job) == {"cancelled": False}


def test_import_progress_on_a_terminal(zfs_daemon):
    name = unique("tpl")
    path, _ = image(zfs_daemon, 4 * MiB)
    master, slave = pty.openpty()
    proc = subprocess.Popen([binary("mvirt"), "--zfs-endpoint", zfs_daemon.endpoint, "template",
                             "import", name, path], stdout=slave, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=clean_env())
    os.close(slave)
    out = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=TIMEOUT) == 0, proc.stderr.read()
    text = out.decode()
    # the progress line is redrawn in place and cleared to its end, never a plain update line
    assert "\rcompleted\x1b[K" in text, repr(text)
    assert not re.search(r"^(writing|completed) \d+ \d+\r?$", text, re.M), repr(text)
    assert re.search(rf"^Name:\s+{name}\r?$", text, re.M), repr(text)
    run(zfs_daemon.endpoint, "template", "delete", name)


def test_clone_and_promote(mvirt, zfs_daemon):
    tpl = unique("tpl")
    import_template(mvirt, zfs_daemon, tpl, 2 * MiB)
    c1, c2 = unique("clone"), unique("clone")
    v = json.loads(mvirt("template", "clone", tpl, c1, "--json").stdout)
    assert v["name"] == c1 and v["volsize_bytes"] == 2 * MiB
    p = mvirt("template", "clone", tpl, c2, "--size", "8M")
    assert re.search(r"^Size:\s+8 MiB \(8388608 bytes\)$", p.stdout, re.M), p.stdout
    assert_one_error_line(mvirt("template", "clone", tpl, c2, ok=False), contains="already exists")
    assert_one_error_line(mvirt("template", "clone", tpl, unique("c"), "--size", "1M", ok=False))
    t = next(x for x in mjson(mvirt, "template", "list") if x["name"] == tpl)
    assert t["clone_count"] == 2
    rows = mvirt("template", "list").stdout.splitlines()
    assert rows[0].split()[:3] == ["NAME", "SIZE", "CLONES"]
    assert next(r for r in rows if r.startswith(tpl + " ")).split()[1:4] == ["2", "MiB", "2"]

    # promote a clone's snapshot; deleting the first template keeps the clones
    mvirt("snapshot", "create", c1, "gold")
    promoted = unique("tpl")
    t2 = json.loads(mvirt("template", "promote", c1, "gold", promoted, "--json").stdout)
    assert set(t2) == TEMPLATE_KEYS and t2["name"] == promoted and t2["source_volume"] == c1
    text = mvirt("template", "promote", c1, "gold", promoted, ok=False)
    assert_one_error_line(text, contains="already exists")
    assert_one_error_line(mvirt("snapshot", "delete", c1, "gold", ok=False),
                          contains=f"used by template '{promoted}'")
    assert mvirt("template", "delete", tpl).stdout == f"Template '{tpl}' deleted.\n"
    assert mjson(mvirt, "volume", "get", c2)["volsize_bytes"] == 8 * MiB
    mvirt("template", "delete", promoted)
    for v in (c1, c2):
        mvirt("volume", "delete", v)


def test_pool_stats(mvirt, zfs_daemon):
    p = mvirt("pool", "stats")
    for label in ("Pool:", "Size:", "Used:", "Available:", "Provisioned:", "Compression:"):
        assert re.search(rf"^{label}\s+\S", p.stdout, re.M), p.stdout
    s = mjson(mvirt, "pool", "stats")
    assert set(s) == {"name", "total_bytes", "available_bytes", "used_bytes", "provisioned_bytes",
                      "compression_ratio"}
    assert s["total_bytes"] > 0 and isinstance(s["compression_ratio"], float)
    assert all(isinstance(s[k], int) for k in s if k.endswith("_bytes"))


# ---- errors and help ---------------------------------------------------------------------


USAGE_ERRORS = [
    (["volume", "create", "x", "--size", "12X"], "invalid --size '12X'"),
    (["volume", "create", "x", "--size", "0"], "invalid --size '0'"),
    (["volume", "create", "x", "--size", "16384P"], "--size '16384P' is too large"),
    (["volume", "create", "x"], "--size is required"),
    (["volume", "create", "--size", "1G"], "missing NAME"),
    (["volume", "create", "x", "--size"], "option '--size' needs a value"),
    (["volume", "get"], "missing NAME"),
    (["volume", "get", "a", "b"], "unexpected argument 'b'"),
    (["volume", "frob"], "unknown verb 'frob'"),
    (["volume", "list", "--bogus"], "unknown option '--bogus'"),
    (["snapshot", "create", "vol"], "missing NAME"),
    (["snapshot", "rollback"], "missing VOLUME"),
    (["template", "import", "name"], "missing SOURCE"),
    (["template", "import", "n", "/x", "--sha256", "abc"], "invalid --sha256 'abc'"),
    (["template", "import", "n", "/x", "--size", "1.5Q"], "invalid --size '1.5Q'"),
    (["template", "clone", "t"], "missing NEW_VOLUME"),
    (["template", "promote", "v", "s"], "missing TEMPLATE"),
    (["import", "get"], "missing ID"),
    (["import", "list", "x"], "unexpected argument 'x'"),
    (["pool", "stats", "--all"], "unknown option '--all'"),
    (["pool", "frob"], "unknown verb 'frob'"),
    (["storage", "list"], "unknown command 'storage'"),
]


@pytest.mark.parametrize("args,message", USAGE_ERRORS, ids=lambda a: " ".join(a)
                         if isinstance(a, list) else None)
def test_usage_errors(tmp_path, args, message):
    # usage errors are found before any connection: no daemon needed
    p = run("unix:" + str(tmp_path / "none.sock"), *args)
    line = assert_one_error_line(p, code=2, contains=message)
    assert p.stdout == ""
    assert line.endswith("--help')")


@pytest.mark.parametrize("args", [
    ["volume", "get", "no-such-volume"],
    ["volume", "delete", "no-such-volume"],
    ["volume", "resize", "no-such-volume", "--size", "1G"],
    ["snapshot", "list", "no-such-volume"],
    ["snapshot", "create", "no-such-volume", "s"],
    ["template", "delete", "no-such-template"],
    ["template", "clone", "no-such-template", "x"],
    ["import", "get", "00000000-0000-4000-8000-000000000000"],
    ["import", "watch", "00000000-0000-4000-8000-000000000000"],
    ["import", "cancel", "00000000-0000-4000-8000-000000000000"],
], ids=lambda a: " ".join(a))
def test_not_found(mvirt, args):
    p = mvirt(*args, ok=False)
    assert p.stdout == ""
    assert_one_error_line(p, code=1, contains="not found")
    assert_one_error_line(mvirt("--json", *args, ok=False), code=1, contains="not found")


def test_import_source_refused(mvirt, zfs_daemon):
    p = mvirt("template", "import", unique("tpl"), "/etc/hostname", ok=False)
    assert_one_error_line(p, code=1)
    assert p.stdout == ""


def test_daemon_down(tmp_path):
    p = run("unix:" + str(tmp_path / "nothing.sock"), "volume", "list")
    assert_one_error_line(p, code=1, contains="cannot connect")


NOUNS = {
    "volume": ["create", "list", "get", "delete", "resize"],
    "snapshot": ["create", "list", "delete", "rollback"],
    "template": ["import", "list", "delete", "clone", "promote"],
    "import": ["list", "get", "cancel", "watch"],
    "pool": ["stats"],
}


@pytest.mark.parametrize("noun", sorted(NOUNS))
def test_help(tmp_path, noun):
    # no daemon is needed for help
    ep = "unix:" + str(tmp_path / "none.sock")
    for args in ([noun, "--help"], [noun, "-h"], [noun, "help"]):
        p = run(ep, *args)
        assert p.returncode == 0 and p.stderr == ""
        assert p.stdout.startswith(f"Usage: mvirt {noun} <verb>")
        for verb in NOUNS[noun]:
            assert re.search(rf"^  {verb}\s", p.stdout, re.M), (verb, p.stdout)
    p = run(ep, noun)
    assert p.returncode == 2 and p.stdout.startswith(f"Usage: mvirt {noun}")
    for verb in NOUNS[noun]:
        for flag in ("--help", "-h"):
            p = run(ep, noun, verb, flag)
            assert p.returncode == 0 and p.stderr == "", (noun, verb, p.stderr)
            assert p.stdout.startswith(f"Usage: mvirt {noun} {verb}"), p.stdout
    top = run(ep, "--help").stdout
    assert re.search(rf"^  {noun}\s", top, re.M), top


def test_help_says_ctrl_c_does_not_cancel(tmp_path):
    ep = "unix:" + str(tmp_path / "none.sock")
    for args in (["template", "import", "--help"], ["import", "watch", "--help"]):
        assert "mvirt import cancel ID" in run(ep, *args).stdout
