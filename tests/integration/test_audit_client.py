"""The audit client of lib/grpc/audit.h (what every daemon uses to write to
mvirt-log), driven by tests/grpc/mvirt-audit-probe: delivery, retries while
mvirt-log is down, and a bounded queue and flush time when it never comes."""
import os
import re
import subprocess
import time

import pytest

from conftest import SANITIZER_MARKERS, binary, start_log_daemon

import log_pb2 as pb
import log_pb2_grpc as g

AUDIT = 4
QUEUE_MAX = 10000  # AUDIT_QUEUE_MAX


def parse(out):
    m = re.search(r"^delivered=(\d+) dropped=(\d+)\nfree_ms=(\d+)\n", out, re.M)
    assert m, out
    return tuple(int(x) for x in m.groups())


def check_stderr(err):
    bad = [m for m in SANITIZER_MARKERS if m in err]
    assert not bad, err


def probe(*args, timeout=60):
    p = subprocess.run([binary("mvirt-audit-probe"), *map(str, args)], capture_output=True,
                       text=True, timeout=timeout)
    check_stderr(p.stderr)
    assert p.returncode == 0, p.stderr
    return parse(p.stdout)


class WaitingProbe:
    """A probe started with --wait-stdin: it has queued its entries once it
    said "queued", and frees its client when release() is called."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([binary("mvirt-audit-probe"), "--wait-stdin",
                                      *map(str, args)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line == "queued\n", (line, self.proc.stderr.read() if not line else "")

    def release(self, timeout=60):
        out, err = self.proc.communicate("go\n", timeout=timeout)
        check_stderr(err)
        assert self.proc.returncode == 0, err
        return parse(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def probe_entries(d):
    with d.channel() as ch:
        return list(g.LogServiceStub(ch).Query(pb.QueryRequest(object_id="probe-obj", limit=10000),
                                               timeout=30))


def check_entries(entries, n):
    assert len(entries) == n
    # one worker delivers in queue order, with the time of audit_log()
    assert [e.message for e in entries] == [f"probe {i}" for i in range(n)]
    ids = [int(e.id) for e in entries]
    assert ids == sorted(set(ids))
    stamps = [e.timestamp_ns for e in entries]
    assert stamps == sorted(stamps)
    now = time.time_ns()
    for e in entries:
        assert (e.component, e.level, list(e.related_object_ids)) == ("probe", AUDIT, ["probe-obj"])
        assert 0 < e.timestamp_ns <= now


def test_delivers_to_running_daemon(log_daemon):
    delivered, dropped, _ = probe(log_daemon.endpoint, 100, 30000)
    assert (delivered, dropped) == (100, 0)
    check_entries(probe_entries(log_daemon), 100)


def test_retries_until_daemon_comes_up(tmp_path):
    sock = tmp_path / "run" / "log.sock"
    p = WaitingProbe("unix:" + str(sock), 50, 30000)
    try:
        assert not os.path.exists(sock)
        d = start_log_daemon(tmp_path)
        try:
            delivered, dropped, _ = p.release()
            assert (delivered, dropped) == (50, 0)
            check_entries(probe_entries(d), 50)
        finally:
            d.assert_clean_exit()
    finally:
        p.kill()


def test_queue_bounded_and_flush_time_bounded_when_daemon_down(tmp_path):
    count = QUEUE_MAX + 2500
    t0 = time.monotonic()
    delivered, dropped, free_ms = probe("unix:" + str(tmp_path / "nothing.sock"), count, 100)
    elapsed = time.monotonic() - t0
    assert delivered == 0
    # the entries beyond the queue were refused at once, the rest lost at exit
    assert dropped == count
    assert free_ms < 100 + 2000, free_ms
    assert elapsed < 30


def test_flush_deadline_holds_after_backoff_grew(tmp_path):
    # mvirt-log stays down for a while: the retry backoff grows (0.1 s, 0.2 s,
    # ... 3.2 s, then 5 s); freeing with a short flush time must still
    # return near that time instead of sleeping out a whole backoff step.
    p = WaitingProbe("unix:" + str(tmp_path / "nothing.sock"), 10, 200)
    try:
        time.sleep(3.5)  # a precondition (backoff at 3.2 s, next 5 s), not a measurement
        delivered, dropped, free_ms = p.release()
    finally:
        p.kill()
    assert (delivered, dropped) == (0, 10)
    assert free_ms < 200 + 2000, free_ms


def test_flush_stops_early_once_all_delivered(log_daemon):
    # a long flush time is only an upper bound
    p = WaitingProbe(log_daemon.endpoint, 20, 600000)
    try:
        delivered, dropped, free_ms = p.release(timeout=60)
    finally:
        p.kill()
    assert (delivered, dropped) == (20, 0)
    assert free_ms < 60000
    check_entries(probe_entries(log_daemon), 20)


@pytest.mark.parametrize("args", [[], ["unix:/x"], ["unix:/x", "many"], ["unix:/x", "1", "2", "3"]])
def test_probe_usage(args):
    p = subprocess.run([binary("mvirt-audit-probe"), *args], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2 and "Usage" in p.stderr
