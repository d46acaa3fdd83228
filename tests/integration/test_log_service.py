"""mvirt-log's LogService seen by Python grpcio (api.md section 3.4): Log
validation and ids, Query filters, ordering and limits, follow streams,
persistence, crash safety, retention, and robustness against garbage.

Every test gets its own daemon (and database) in tmp_path. Entries use
timestamps of about an hour ago unless a test is about old timestamps; those
run the daemon with --retention-days 0 so that the retention pass one second
after start cannot remove them while the test looks.
"""
import queue
import signal
import threading
import time

import grpc
import pytest

from conftest import start_log_daemon

import grpc_health_v1_pb2 as hpb
import grpc_health_v1_pb2_grpc as hg
import log_pb2 as pb
import log_pb2_grpc as g

INFO, WARN, ERROR, DEBUG, AUDIT = range(5)
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
NS = 1_000_000_000
T0 = time.time_ns() - 3600 * NS  # "an hour ago": kept by the default retention
KEEP_ALL = pytest.mark.parametrize("log_daemon", [["--retention-days", "0"]], indirect=True)
TIMEOUT = 30


@pytest.fixture
def stub(log_daemon):
    ch = log_daemon.channel()
    yield g.LogServiceStub(ch)
    ch.close()


def entry(message="m", **kw):
    kw.setdefault("timestamp_ns", T0)
    return pb.LogEntry(message=message, **kw)


def log(stub, message="m", **kw):
    """Log one entry, return its id (an int)."""
    return int(stub.Log(pb.LogRequest(entry=entry(message, **kw)), timeout=TIMEOUT).id)


def log_many(stub, entries, window=500):
    """Log entries concurrently (at most `window` calls in flight); ids in order."""
    ids = []
    for i in range(0, len(entries), window):
        futs = [stub.Log.future(pb.LogRequest(entry=e), timeout=120)
                for e in entries[i:i + window]]
        ids += [int(f.result().id) for f in futs]
    return ids


def query(stub, **kw):
    return list(stub.Query(pb.QueryRequest(**kw), timeout=TIMEOUT))


def ids_of(entries):
    return [int(e.id) for e in entries]


def count(stub, **kw):
    kw.setdefault("limit", 10000)
    return len(query(stub, **kw))


def rpc_code(fn):
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value.code()


class Follower:
    """A Query stream read by a thread into a queue."""

    def __init__(self, stub, timeout=60, **kw):
        self.call = stub.Query(pb.QueryRequest(follow=True, **kw), timeout=timeout)
        self.q = queue.Queue()
        self.error = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for e in self.call:
                self.q.put(e)
        except grpc.RpcError as e:
            self.error = e
        finally:
            self.done.set()

    def take(self, n, timeout=TIMEOUT):
        """The next n entries; fails if they do not all arrive in time."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            try:
                out.append(self.q.get(timeout=max(left, 0.001)))
            except queue.Empty:
                pytest.fail(f"follow stream: got {len(out)} of {n} entries "
                            f"(ended: {self.done.is_set()}, error: {self.error})")
        return out

    def take_until_id(self, last_id, timeout=TIMEOUT):
        """Entries up to and including the one with id last_id."""
        out = []
        while not out or int(out[-1].id) != last_id:
            out += self.take(1, timeout)
            assert int(out[-1].id) <= last_id, f"overtook {last_id}: {ids_of(out)}"
        return out

    def pending(self):
        out = []
        while not self.q.empty():
            out.append(self.q.get_nowait())
        return out

    def cancel(self):
        self.call.cancel()
        assert self.done.wait(10)


# ---- Log ---------------------------------------------------------------------


def test_log_returns_increasing_decimal_ids(stub):
    raw = [stub.Log(pb.LogRequest(entry=entry(f"m{i}")), timeout=TIMEOUT).id for i in range(20)]
    for s in raw:
        assert s.isdigit() and s == str(int(s)) and int(s) > 0, s
    ids = [int(s) for s in raw]
    assert ids == sorted(set(ids))
    assert ids_of(query(stub)) == ids


def test_timestamp_zero_means_server_now(stub):
    before = time.time_ns()
    i = log(stub, "now", timestamp_ns=0, related_object_ids=["o"])
    after = time.time_ns()
    (e,) = query(stub, object_id="o")
    assert int(e.id) == i
    assert before <= e.timestamp_ns <= after


@KEEP_ALL
def test_given_timestamps_are_kept(stub):
    stamps = [T0, 1, -7, INT64_MIN + 1, INT64_MAX, 1700000000123456789]
    ids = [log(stub, f"t{t}", timestamp_ns=t) for t in stamps]
    got = {int(e.id): e.timestamp_ns for e in query(stub)}
    assert got == dict(zip(ids, stamps))


def test_client_sent_id_is_ignored(stub):
    first = log(stub, "a")
    resp = stub.Log(pb.LogRequest(entry=entry("b", id="999999")), timeout=TIMEOUT)
    assert int(resp.id) == first + 1
    e = query(stub)[-1]
    assert (e.id, e.message) == (resp.id, "b")
    assert "999999" not in [x.id for x in query(stub)]


def test_related_ids_deduplicated_and_sorted(stub):
    i = log(stub, "links", related_object_ids=["vm-b", "vm-a", "vm-c", "vm-a", "vm-b", "vm-a"])
    (e,) = query(stub)
    assert int(e.id) == i
    assert list(e.related_object_ids) == ["vm-a", "vm-b", "vm-c"]
    for o in ("vm-a", "vm-b", "vm-c"):
        assert ids_of(query(stub, object_id=o)) == [i]


def test_fields_round_trip(stub):
    i = log(stub, "héllo wörld ✓", level=AUDIT, component="vmm", related_object_ids=["x"])
    (e,) = query(stub)
    assert (int(e.id), e.timestamp_ns, e.message, e.level, e.component,
            list(e.related_object_ids)) == (i, T0, "héllo wörld ✓", AUDIT, "vmm", ["x"])


def test_size_limits_inclusive(stub):
    """The largest accepted values of every guard are stored unchanged."""
    msg = "x" * 65536
    comp = "c" * 64
    many = [f"obj-{n:03d}" for n in range(64)]
    long_id = "i" * 256
    a = log(stub, msg)
    b = log(stub, "comp", component=comp)
    c = log(stub, "many", related_object_ids=many)
    d = log(stub, "long", related_object_ids=[long_id])
    got = {int(e.id): e for e in query(stub)}
    assert got[a].message == msg
    assert got[b].component == comp
    assert list(got[c].related_object_ids) == many
    assert list(got[d].related_object_ids) == [long_id]
    assert ids_of(query(stub, object_id=long_id)) == [d]


INVALID_ENTRIES = {
    "missing entry": pb.LogRequest(),
    "empty message": pb.LogRequest(entry=entry("", related_object_ids=["bad"])),
    "message 65537 bytes": pb.LogRequest(entry=entry("x" * 65537, related_object_ids=["bad"])),
    "multibyte message over 64 KiB": pb.LogRequest(entry=entry("é" * 32769)),
    "component 65 bytes": pb.LogRequest(entry=entry(component="c" * 65,
                                                    related_object_ids=["bad"])),
    "65 related ids": pb.LogRequest(
        entry=entry(related_object_ids=["bad"] + [f"o{n}" for n in range(64)])),
    "related id 257 bytes": pb.LogRequest(entry=entry(related_object_ids=["bad", "i" * 257])),
    "empty related id": pb.LogRequest(entry=entry(related_object_ids=["bad", ""])),
    "level 5": pb.LogRequest(entry=entry(level=5, related_object_ids=["bad"])),
    "level -1": pb.LogRequest(entry=entry(level=-1, related_object_ids=["bad"])),
}


@pytest.mark.parametrize("case", list(INVALID_ENTRIES))
def test_log_invalid_argument_stores_nothing(stub, case):
    log(stub, "before")
    with pytest.raises(grpc.RpcError) as e:
        stub.Log(INVALID_ENTRIES[case], timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert e.value.details()
    if case == "missing entry":
        assert e.value.details() == "Missing entry"
    assert count(stub) == 1
    assert count(stub, object_id="bad") == 0
    # the daemon goes on: the next id follows the previous one
    assert log(stub, "after") == 2


def _raw_entry(message=b"m", component=b"", related=()):
    """Hand-encoded LogRequest{entry: LogEntry{...}} (strings as raw bytes)."""
    def field(num, data):
        assert len(data) < 128
        return bytes([(num << 3) | 2, len(data)]) + data
    body = field(3, message) + (field(5, component) if component else b"")
    for r in related:
        body += field(6, r)
    return field(1, body)


@pytest.mark.parametrize("where", ["message", "component", "related id"])
def test_log_invalid_utf8_refused(log_daemon, stub, where):
    bad = b"\xff\xfe"
    raw = {"message": _raw_entry(message=bad),
           "component": _raw_entry(component=b"x" + bad),
           "related id": _raw_entry(related=[b"bad", b"o" + bad])}[where]
    with log_daemon.channel() as ch:
        call = ch.unary_unary("/mvirt.log.LogService/Log", request_serializer=lambda b: b,
                              response_deserializer=pb.LogResponse.FromString)
        # the encoding itself is right: the same bytes with valid text are stored
        assert call(_raw_entry(message=b"fine", related=[b"good"]), timeout=TIMEOUT).id == "1"
        with pytest.raises(grpc.RpcError) as e:
            call(raw, timeout=TIMEOUT)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert count(stub) == 1
    assert count(stub, object_id="bad") == 0


def test_garbage_body_is_internal_and_daemon_keeps_serving(log_daemon, stub):
    with log_daemon.channel() as ch:
        call = ch.unary_unary("/mvirt.log.LogService/Log", request_serializer=lambda b: b,
                              response_deserializer=pb.LogResponse.FromString)
        for garbage in (b"\x0a\xff\xff\xff\xff\x0f", b"\xff" * 11, b"\x0a\x05ab"):
            with pytest.raises(grpc.RpcError) as e:
                call(garbage, timeout=TIMEOUT)
            assert e.value.code() == grpc.StatusCode.INTERNAL
        qcall = ch.unary_stream("/mvirt.log.LogService/Query", request_serializer=lambda b: b,
                                response_deserializer=pb.LogEntry.FromString)
        with pytest.raises(grpc.RpcError) as e:
            list(qcall(b"\x22\x80", timeout=TIMEOUT))
        assert e.value.code() == grpc.StatusCode.INTERNAL
    assert count(stub) == 0
    assert log(stub, "still here") == 1


def test_health_serving(log_daemon):
    with log_daemon.channel() as ch:
        h = hg.HealthStub(ch)
        for service in ("", "mvirt.log.LogService"):
            r = h.Check(hpb.HealthCheckRequest(service=service), timeout=TIMEOUT)
            assert r.status == hpb.HealthCheckResponse.SERVING


# ---- Query -----------------------------------------------------------------------


def test_query_limit_zero_means_100_newest_ascending(stub):
    ids = log_many(stub, [entry(f"m{i}", timestamp_ns=T0 + i) for i in range(150)])
    got = query(stub)  # limit 0
    assert ids_of(got) == ids[50:]
    assert [e.message for e in got] == [f"m{i}" for i in range(50, 150)]
    assert ids_of(query(stub, limit=7)) == ids[-7:]
    assert ids_of(query(stub, limit=150)) == ids
    assert ids_of(query(stub, limit=1000)) == ids


def test_query_limit_capped_at_10000(stub):
    ids = log_many(stub, [entry(f"m{i}", timestamp_ns=T0 + i) for i in range(10050)])
    assert len(set(ids)) == 10050
    for limit in (10001, 20000, 0xFFFFFFFF):
        assert ids_of(query(stub, limit=limit)) == ids[50:]
    assert ids_of(query(stub, limit=10000, descending=True)) == ids[50:][::-1]


def test_query_backlog_ordered_by_timestamp_then_id(stub):
    # inserted out of time order; equal timestamps are ordered by id
    stamps = [T0 + 5, T0 + 1, T0 + 3, T0 + 3, T0 + 9, T0 + 1]
    ids = [log(stub, f"m{n}", timestamp_ns=t) for n, t in enumerate(stamps)]
    order = [i for _, i in sorted(zip(stamps, ids))]
    assert ids_of(query(stub)) == order
    assert ids_of(query(stub, descending=True)) == order[::-1]
    # the newest 3 by time, not by id
    assert ids_of(query(stub, limit=3)) == order[-3:]
    assert ids_of(query(stub, limit=3, descending=True)) == order[-3:][::-1]


def test_query_descending(stub):
    ids = log_many(stub, [entry(f"m{i}", timestamp_ns=T0 + i) for i in range(150)])
    assert ids_of(query(stub, descending=True)) == ids[::-1][:100]
    assert ids_of(query(stub, descending=True, limit=5)) == ids[::-1][:5]


def test_query_object_id_exact_match(stub):
    a = log(stub, "a", related_object_ids=["abc"])
    log(stub, "b", related_object_ids=["abcd"])
    log(stub, "c", related_object_ids=["xabc"])
    log(stub, "d", related_object_ids=["ABC"])
    e = log(stub, "e", related_object_ids=["zzz", "abc"])
    log(stub, "f")
    assert ids_of(query(stub, object_id="abc")) == [a, e]
    assert ids_of(query(stub, object_id="ab")) == []
    assert ids_of(query(stub, object_id="zzz")) == [e]
    assert count(stub, object_id="") == 6  # "" = no filter


def test_query_component_filter(stub):
    a = log(stub, "a", component="vmm")
    log(stub, "b", component="zfs")
    log(stub, "c", component="vmmx")
    d = log(stub, "d", component="vmm", related_object_ids=["o"])
    log(stub, "e")
    assert ids_of(query(stub, component="vmm")) == [a, d]
    assert ids_of(query(stub, component="vm")) == []
    assert ids_of(query(stub, component="vmm", object_id="o")) == [d]
    assert count(stub, component="") == 5


def test_query_levels_filter(stub):
    ids = {lvl: log(stub, f"l{lvl}", level=lvl) for lvl in range(5)}
    assert ids_of(query(stub, levels=[WARN, ERROR])) == [ids[WARN], ids[ERROR]]
    assert ids_of(query(stub, levels=[AUDIT])) == [ids[AUDIT]]
    assert ids_of(query(stub, levels=[INFO])) == [ids[INFO]]
    assert ids_of(query(stub, levels=[ERROR, ERROR, DEBUG])) == [ids[ERROR], ids[DEBUG]]
    assert ids_of(query(stub, levels=[])) == [ids[lvl] for lvl in range(5)]


def test_query_levels_unpacked_encoding(log_daemon, stub):
    ids = {lvl: log(stub, f"l{lvl}", level=lvl) for lvl in range(5)}
    with log_daemon.channel() as ch:
        call = ch.unary_stream("/mvirt.log.LogService/Query", request_serializer=lambda b: b,
                               response_deserializer=pb.LogEntry.FromString)
        # levels = [WARN, AUDIT] as two unpacked varint fields (tag 8, wire type 0)
        got = list(call(b"\x40\x01\x40\x04", timeout=TIMEOUT))
    assert ids_of(got) == [ids[WARN], ids[AUDIT]]


def test_query_time_window_inclusive(stub):
    ids = [log(stub, f"t{i}", timestamp_ns=T0 + i) for i in range(10)]
    assert ids_of(query(stub, start_time_ns=T0 + 3, end_time_ns=T0 + 6)) == ids[3:7]
    assert ids_of(query(stub, start_time_ns=T0 + 4, end_time_ns=T0 + 4)) == [ids[4]]
    assert ids_of(query(stub, start_time_ns=T0 + 8)) == ids[8:]
    assert ids_of(query(stub, end_time_ns=T0 + 1)) == ids[:2]
    assert ids_of(query(stub, start_time_ns=T0 + 100)) == []


@KEEP_ALL
def test_query_negative_timestamps_without_lower_bound(stub):
    neg = log(stub, "neg", timestamp_ns=-5 * NS)
    very = log(stub, "very", timestamp_ns=INT64_MIN)
    zero_ish = log(stub, "one", timestamp_ns=1)
    assert ids_of(query(stub)) == [very, neg, zero_ish]
    assert ids_of(query(stub, end_time_ns=0)) == [very, neg]
    assert ids_of(query(stub, end_time_ns=-5 * NS)) == [very, neg]
    assert ids_of(query(stub, start_time_ns=0)) == [zero_ish]
    assert ids_of(query(stub, start_time_ns=INT64_MIN, end_time_ns=INT64_MIN)) == [very]


def test_query_start_after_end_invalid(stub):
    log(stub)
    code = rpc_code(lambda: query(stub, start_time_ns=T0 + 1, end_time_ns=T0))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    code = rpc_code(lambda: query(stub, start_time_ns=T0 + 1, end_time_ns=T0, follow=True))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert count(stub, start_time_ns=T0, end_time_ns=T0) == 1


@pytest.mark.parametrize("levels", [[7], [INFO, 5], [-1]])
def test_query_bad_level_invalid(stub, levels):
    log(stub)
    code = rpc_code(lambda: query(stub, levels=levels))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    code = rpc_code(lambda: query(stub, levels=levels, follow=True))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


# ---- follow ---------------------------------------------------------------------


def test_follow_backlog_then_live_in_commit_order(stub):
    backlog = [log(stub, f"b{i}", timestamp_ns=T0 + i) for i in range(5)]
    f = Follower(stub, limit=3)
    assert ids_of(f.take(3)) == backlog[2:]
    live = [log(stub, f"l{i}", timestamp_ns=T0 - i) for i in range(5)]  # commit order, not time
    live += log_many(stub, [entry(f"c{i}") for i in range(50)], window=50)
    got = f.take(55)
    assert ids_of(got) == sorted(live)  # ids are handed out in commit order
    assert [e.message for e in got[:5]] == [f"l{i}" for i in range(5)]
    assert f.pending() == [] and not f.done.is_set()
    f.cancel()


def test_follow_sends_only_matching_entries(stub):
    lo, hi = T0, T0 + 100 * NS

    def mk(msg, ts, obj="vm1", comp="vmm", level=INFO):
        return log(stub, msg, timestamp_ns=ts, related_object_ids=[obj, "other"],
                   component=comp, level=level)

    b1 = mk("match-backlog", lo)
    mk("too-early", lo - 1)
    b2 = mk("match-backlog-2", hi)
    f = Follower(stub, object_id="vm1", start_time_ns=lo, end_time_ns=hi)
    assert ids_of(f.take(2)) == [b1, b2]
    want = []
    want.append(mk("in", lo + 5))
    mk("before-window", lo - 1)
    mk("after-window", hi + 1)
    mk("server-now", 0)  # now is after the window
    mk("prefix-object", lo + 5, obj="vm10")
    mk("other-object", lo + 5, obj="vm2")
    want.append(mk("bounds", hi))
    want.append(mk("bounds", lo))
    mk("no-objects", lo + 1, obj="x")
    last = mk("last", lo + 50)
    want.append(last)
    assert ids_of(f.take_until_id(last)) == want
    f.cancel()

    # component and levels filters apply to live entries too
    f = Follower(stub, component="zfs", levels=[WARN, AUDIT], limit=1)
    want = [mk("z1", lo, comp="zfs", level=WARN)]
    mk("z2", lo, comp="zfs", level=INFO)
    mk("z3", lo, comp="vmm", level=WARN)
    want.append(mk("z4", lo, comp="zfs", level=AUDIT))
    assert ids_of(f.take_until_id(want[-1])) == want
    f.cancel()


def test_follow_empty_backlog_then_live(stub):
    f = Follower(stub, object_id="nothing-yet")
    # no backlog to wait for: entries written now arrive whether they are
    # committed before or after the server subscribed the stream
    ids = [log(stub, f"x{i}", related_object_ids=["nothing-yet"]) for i in range(3)]
    assert ids_of(f.take(3)) == ids
    f.cancel()


def test_follow_no_loss_no_duplicates_with_concurrent_writer(stub):
    total = 500
    acked = []
    progress = threading.Condition()
    errors = []

    def writer():
        try:
            # a few calls in flight at a time, so commits are batched while
            # the follow streams start
            for i in range(0, total, 5):
                futs = [stub.Log.future(pb.LogRequest(entry=entry(f"w{i + k}")), timeout=60)
                        for k in range(5)]
                got = [int(fu.result().id) for fu in futs]
                with progress:
                    acked.extend(got)
                    progress.notify_all()
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(e)
            with progress:
                progress.notify_all()

    def wait_acked(n):
        with progress:
            assert progress.wait_for(lambda: len(acked) >= n or errors, timeout=60)
        assert not errors, errors

    t = threading.Thread(target=writer)
    t.start()
    followers = []
    for start_at, kw in ((20, {}), (150, {"limit": 10}), (250, {"descending": True}),
                         (251, {"limit": 1}), (400, {"limit": 10000})):
        wait_acked(start_at)
        followers.append((Follower(stub, **kw), kw, start_at))
    t.join(120)
    assert not t.is_alive() and not errors, errors
    assert len(acked) == total and len(set(acked)) == total
    all_ids = sorted(acked)
    for f, kw, start_at in followers:
        got = ids_of(f.take_until_id(all_ids[-1]))
        assert len(got) == len(set(got)), f"duplicates for {kw}"
        n_back = kw.get("limit", 100)
        if kw.get("descending"):
            # the backlog newest first (a run of consecutive ids), then the rest ascending
            k = 1
            while k < len(got) and got[k] < got[k - 1]:
                k += 1
            backlog, rest = got[:k][::-1], got[k:]
            assert len(backlog) == n_back, f"backlog {backlog}"
            got = backlog + rest
        assert got == sorted(got), f"not increasing for {kw}"
        first = all_ids.index(got[0])
        assert got == all_ids[first:], f"gap for {kw}"
        # the backlog was the newest n_back of the (at least start_at) entries
        # committed when the stream started
        assert max(0, start_at - n_back) <= first, f"old backlog for {kw}"
        f.cancel()


def test_follow_after_descending_backlog(stub):
    backlog = [log(stub, f"b{i}", timestamp_ns=T0 + i) for i in range(10)]
    f = Follower(stub, descending=True, limit=4)
    assert ids_of(f.take(4)) == backlog[::-1][:4]
    live = [log(stub, f"l{i}", timestamp_ns=T0 + 100 - i) for i in range(5)]
    assert ids_of(f.take(5)) == live  # commit order, not time
    f.cancel()


def test_follow_ends_unavailable_on_sigterm(log_daemon, stub):
    first = log(stub, "x")
    f = Follower(stub)
    assert ids_of(f.take(1)) == [first]
    f2 = Follower(stub, object_id="nothing")
    log_daemon.proc.send_signal(signal.SIGTERM)
    for fol in (f, f2):
        assert fol.done.wait(20), "follow stream still open after SIGTERM"
        assert fol.error is not None
        assert fol.error.code() == grpc.StatusCode.UNAVAILABLE, fol.error
    assert log_daemon.proc.wait(20) == 0


def test_follow_client_cancel_leaves_daemon_fine(log_daemon, stub):
    for i in range(3):
        log(stub, f"b{i}")
    for round_ in range(10):
        f = Follower(stub, limit=2)
        assert len(f.take(2)) == 2
        if round_ % 2:
            log(stub, f"live{round_}")
            assert len(f.take(1)) == 1
        f.cancel()
        assert f.error.code() == grpc.StatusCode.CANCELLED
    # cancelled in the middle of a big backlog, with a full send queue
    log_many(stub, [entry("y" * 4000) for _ in range(2000)])
    for _ in range(3):
        call = stub.Query(pb.QueryRequest(follow=True, limit=10000), timeout=60)
        next(call)
        call.cancel()
    # and on a separate connection that is simply closed
    ch = log_daemon.channel()
    it = g.LogServiceStub(ch).Query(pb.QueryRequest(follow=True), timeout=60)
    next(it)
    ch.close()
    n = count(stub)
    i = log(stub, "after")
    assert count(stub) == n + 1 and ids_of(query(stub, limit=1)) == [i]
    with log_daemon.channel() as ch2:
        r = hg.HealthStub(ch2).Check(hpb.HealthCheckRequest(), timeout=TIMEOUT)
        assert r.status == hpb.HealthCheckResponse.SERVING


def test_follow_deadline_ends_stream(stub):
    log(stub)
    f = Follower(stub, timeout=1)
    assert f.done.wait(20)
    assert f.error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert log(stub, "after") == 2


# ---- persistence, crash safety, concurrency --------------------------------------------


def test_entries_survive_restart_and_ids_keep_growing(tmp_path):
    d = start_log_daemon(tmp_path)
    with d.channel() as ch:
        s = g.LogServiceStub(ch)
        ids = [log(s, f"m{i}", related_object_ids=["vm"], level=i % 5) for i in range(10)]
        before = query(s)
    d.assert_clean_exit()
    d = start_log_daemon(tmp_path)
    with d.channel() as ch:
        s = g.LogServiceStub(ch)
        after = query(s)
        assert after == before
        assert ids_of(query(s, object_id="vm")) == ids
        nxt = log(s, "new")
        assert nxt > max(ids)
    d.assert_clean_exit()


def test_acknowledged_entries_survive_sigkill(tmp_path):
    d = start_log_daemon(tmp_path)
    with d.channel() as ch:
        s = g.LogServiceStub(ch)
        ids = log_many(s, [entry(f"c{i}", related_object_ids=[f"o{i % 7}"])
                           for i in range(200)], window=200)
    assert len(set(ids)) == 200
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.stop()
    d = start_log_daemon(tmp_path)
    with d.channel() as ch:
        s = g.LogServiceStub(ch)
        got = query(s, limit=1000)
        assert sorted(ids_of(got)) == sorted(ids)
        assert sum(count(s, object_id=f"o{k}") for k in range(7)) == 200
        assert log(s, "next") > max(ids)
    d.assert_clean_exit()


def test_group_commit_with_64_concurrent_writers(stub):
    per_writer = 20
    results = [None] * 64
    barrier = threading.Barrier(64)

    def writer(w):
        barrier.wait()
        futs = [stub.Log.future(pb.LogRequest(entry=entry(f"w{w}-{k}",
                                                          related_object_ids=[f"w{w}"])),
                                timeout=60) for k in range(per_writer)]
        results[w] = [int(f.result().id) for f in futs]

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results)
    all_ids = [i for r in results for i in r]
    assert len(set(all_ids)) == 64 * per_writer
    assert sorted(ids_of(query(stub, limit=10000))) == sorted(all_ids)
    for w in range(64):
        got = query(stub, object_id=f"w{w}")
        assert sorted(ids_of(got)) == sorted(results[w])
        assert {e.message for e in got} == {f"w{w}-{k}" for k in range(per_writer)}


# ---- retention -----------------------------------------------------------------------


def poll(fn, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(0.05)


def test_retention_max_entries(tmp_path):
    d = start_log_daemon(tmp_path)
    with d.channel() as ch:
        ids = [log(g.LogServiceStub(ch), f"m{i}") for i in range(30)]
    d.assert_clean_exit()
    # retention runs one second after start (and every minute after that)
    d = start_log_daemon(tmp_path, "--max-entries", "10")
    with d.channel() as ch:
        s = g.LogServiceStub(ch)
        assert poll(lambda: count(s) == 10), f"{count(s)} entries left"
        assert ids_of(query(s)) == ids[-10:]
        assert log(s, "next") > max(ids)  # ids never go back
    d.assert_clean_exit()


def test_retention_days(tmp_path):
    old = time.time_ns() - 2 * 86400 * NS
    d = start_log_daemon(tmp_path, "--retention-days", "0")
    with d.channel() as ch:
        s = g.LogServiceStub(ch)
        gone = [log(s, f"old{i}", timestamp_ns=old + i, related_object_ids=["o"])
                for i in range(5)]
        kept = [log(s, f"fresh{i}", timestamp_ns=0, related_object_ids=["o"]) for i in range(3)]
        kept.append(log(s, "an hour ago", timestamp_ns=T0, related_object_ids=["o"]))
        assert count(s) == 9
    d.assert_clean_exit()
    d = start_log_daemon(tmp_path, "--retention-days", "1")
    with d.channel() as ch:
        s = g.LogServiceStub(ch)
        assert poll(lambda: count(s) == 4), f"{count(s)} entries left"
        assert sorted(ids_of(query(s))) == sorted(kept)
        assert sorted(ids_of(query(s, object_id="o"))) == sorted(kept)
        assert not set(ids_of(query(s))) & set(gone)
    d.assert_clean_exit()
