"""Conformance of our gRPC server (lib/grpc/server.c, health.c, reflection.c)
against an independent client, Python grpcio: every streaming kind, status
codes and messages, deadlines, cancellation, message size limits, many
concurrent streams and connections, flow control, TCP, health and
reflection. The server is build's mvirt-echo-server (tests/grpc/echo.proto);
each test gets its own process, which must exit cleanly at the end.
"""
import os
import queue
import re
import signal
import socket
import time

import grpc
import pytest
from google.protobuf import descriptor_pb2

from conftest import Daemon, binary

import echo_pb2 as pb
import echo_pb2_grpc as g
import grpc_health_v1_pb2 as hpb
import grpc_health_v1_pb2_grpc as hg
import grpc_reflection_v1_pb2 as rpb
import grpc_reflection_v1_pb2_grpc as rg
import grpc_reflection_v1alpha_pb2 as rapb
import grpc_reflection_v1alpha_pb2_grpc as rag

TIMEOUT = 30  # generous bound on every call: a hang fails instead of blocking
MiB = 1 << 20
ODD_MESSAGE = "nö ✓ 日本 % 100%"


@pytest.fixture
def channel(echo_server):
    ch = echo_server.channel()
    yield ch
    ch.close()


@pytest.fixture
def stub(channel):
    return g.EchoStub(channel)


def stats(stub):
    """The server's (cancelled, active) call counters."""
    m = re.fullmatch(r"cancelled=(\d+) active=(\d+)",
                     stub.Stats(pb.EchoRequest(), timeout=TIMEOUT).message)
    assert m, "unexpected Stats reply"
    return int(m.group(1)), int(m.group(2))


def wait_stats(stub, pred, timeout=10):
    """Poll Stats until pred(cancelled, active) holds; return the last counters."""
    deadline = time.monotonic() + timeout
    while True:
        s = stats(stub)
        if pred(*s) or time.monotonic() > deadline:
            return s
        time.sleep(0.01)


def assert_serving(stub, text="still serving"):
    assert stub.Unary(pb.EchoRequest(message=text), timeout=TIMEOUT).message == text


# ---- the four streaming kinds -------------------------------------------------


def test_unary(stub):
    r = stub.Unary(pb.EchoRequest(message="hello", payload=b"\x00\x01\xff"), timeout=TIMEOUT)
    assert r.message == "hello" and r.payload == b"\x00\x01\xff"
    # an empty request is a valid (zero-length) message
    assert stub.Unary(pb.EchoRequest(), timeout=TIMEOUT) == pb.EchoResponse()


def test_unary_with_metadata(stub):
    # custom request metadata (text and binary) must not disturb the server
    r, call = stub.Unary.with_call(pb.EchoRequest(message="md"), timeout=TIMEOUT,
                                   metadata=[("x-test", "1"), ("x-bin-bin", b"\x00\xff")])
    assert r.message == "md"
    assert call.code() == grpc.StatusCode.OK


def test_server_stream_many(stub):
    rs = list(stub.ServerStream(pb.EchoRequest(message="s", count=1000), timeout=TIMEOUT))
    assert [r.index for r in rs] == list(range(1000))
    assert all(r.message == "s" for r in rs)


def test_server_stream_delayed(stub):
    it = stub.ServerStream(pb.EchoRequest(message="d", count=5, delay_ms=20), timeout=TIMEOUT)
    assert [(r.message, r.index) for r in it] == [("d", i) for i in range(5)]
    assert it.code() == grpc.StatusCode.OK


def test_server_stream_empty(stub):
    it = stub.ServerStream(pb.EchoRequest(count=0), timeout=TIMEOUT)
    assert list(it) == []
    assert it.code() == grpc.StatusCode.OK


def test_client_stream(stub):
    reqs = [pb.EchoRequest(message=f"m{i}", payload=b"x" * i) for i in range(50)]
    r = stub.ClientStream(iter(reqs), timeout=TIMEOUT)
    assert r.index == 50
    assert r.message == f"m49 bytes={sum(range(50))}"
    # no request messages at all
    r = stub.ClientStream(iter([]), timeout=TIMEOUT)
    assert r.index == 0 and r.message == " bytes=0"


def test_bidi_interleaved(stub):
    """Send one, read its answer, send the next: the server must answer each
    message as it arrives, not when the client half-closes."""
    q = queue.Queue()
    done = object()
    responses = stub.Bidi(iter(q.get, done), timeout=TIMEOUT)
    for i in range(20):
        q.put(pb.EchoRequest(message=f"ping {i}", payload=bytes([i]) * i))
        r = next(responses)
        assert (r.message, r.payload, r.index) == (f"ping {i}", bytes([i]) * i, i)
    q.put(done)
    assert list(responses) == []
    assert responses.code() == grpc.StatusCode.OK


def test_bidi_batch(stub):
    reqs = [pb.EchoRequest(message=str(i)) for i in range(300)]
    rs = list(stub.Bidi(iter(reqs), timeout=TIMEOUT))
    assert [(r.message, r.index) for r in rs] == [(str(i), i) for i in range(300)]


# ---- status codes -----------------------------------------------------------------


@pytest.mark.parametrize("code", [
    grpc.StatusCode.CANCELLED, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS, grpc.StatusCode.UNAUTHENTICATED,
])
def test_status_code_and_message(stub, code):
    """Trailers-only responses: the code and a non-ASCII, %-containing
    message (percent-encoded on the wire) arrive exactly."""
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(pb.EchoRequest(status_code=code.value[0], status_message=ODD_MESSAGE),
                   timeout=TIMEOUT)
    assert e.value.code() == code
    assert e.value.details() == ODD_MESSAGE
    assert_serving(stub)


def test_status_messages_round_trip(stub):
    for text in ["", "plain", "100%", "%41 is not A", "tab\tnew\nline", "ü" * 1000,
                 "emoji 🙂 and \x7f"]:
        with pytest.raises(grpc.RpcError) as e:
            stub.Unary(pb.EchoRequest(status_code=grpc.StatusCode.ABORTED.value[0],
                                      status_message=text), timeout=TIMEOUT)
        assert e.value.code() == grpc.StatusCode.ABORTED
        assert e.value.details() == text


def test_status_after_stream_messages(stub):
    """Status in real trailers, after DATA frames."""
    it = stub.ServerStream(pb.EchoRequest(message="x", count=3, status_code=5,
                                          status_message=ODD_MESSAGE), timeout=TIMEOUT)
    got = []
    with pytest.raises(grpc.RpcError) as e:
        for r in it:
            got.append(r.index)
    assert got == [0, 1, 2]
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == ODD_MESSAGE


def test_bidi_status_mid_stream(stub):
    reqs = [pb.EchoRequest(message="a"), pb.EchoRequest(message="b"),
            pb.EchoRequest(status_code=9, status_message=ODD_MESSAGE),
            pb.EchoRequest(message="never answered")]
    it = stub.Bidi(iter(reqs), timeout=TIMEOUT)
    got = []
    with pytest.raises(grpc.RpcError) as e:
        for r in it:
            got.append(r.message)
    assert got == ["a", "b"]
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == ODD_MESSAGE
    assert wait_stats(stub, lambda c, a: a == 0) == (0, 0)
    assert_serving(stub)


# ---- deadlines and cancellation ---------------------------------------------------


def test_deadline_exceeded(stub):
    before, _ = stats(stub)
    with pytest.raises(grpc.RpcError) as e:
        stub.Hang(pb.EchoRequest(), timeout=0.3)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # the server saw the call end (its deadline or the client's RST_STREAM)
    cancelled, active = wait_stats(stub, lambda c, a: c > before and a == 0)
    assert cancelled == before + 1 and active == 0
    assert_serving(stub)


def test_deadline_on_streams(stub):
    it = stub.ServerStream(pb.EchoRequest(count=1000, delay_ms=50), timeout=0.3)
    with pytest.raises(grpc.RpcError) as e:
        for _ in it:
            pass
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    q = queue.Queue()
    it = stub.Bidi(iter(q.get, None), timeout=0.3)
    q.put(pb.EchoRequest(message="one"))
    assert next(it).message == "one"
    with pytest.raises(grpc.RpcError) as e:
        next(it)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    q.put(None)
    assert wait_stats(stub, lambda c, a: c >= 2 and a == 0) == (2, 0)


def test_client_cancel_mid_stream(stub):
    before, _ = stats(stub)
    it = stub.ServerStream(pb.EchoRequest(message="c", count=100000, delay_ms=10),
                           timeout=TIMEOUT)
    assert next(it).index == 0
    assert next(it).index == 1
    assert stats(stub)[1] == 1
    it.cancel()
    with pytest.raises(grpc.RpcError) as e:
        for _ in it:
            pass
    assert e.value.code() == grpc.StatusCode.CANCELLED
    cancelled, active = wait_stats(stub, lambda c, a: c > before and a == 0)
    assert (cancelled, active) == (before + 1, 0)
    assert_serving(stub)


def test_client_cancel_unary_and_client_stream(stub):
    fut = stub.Hang.future(pb.EchoRequest(), timeout=TIMEOUT)
    assert wait_stats(stub, lambda c, a: a == 1)[1] == 1
    assert fut.cancel()
    assert wait_stats(stub, lambda c, a: c == 1 and a == 0) == (1, 0)

    q = queue.Queue()
    fut = stub.ClientStream.future(iter(q.get, None), timeout=TIMEOUT)
    q.put(pb.EchoRequest(message="x"))
    assert wait_stats(stub, lambda c, a: a == 1)[1] == 1
    assert fut.cancel()
    q.put(None)
    assert wait_stats(stub, lambda c, a: c == 2 and a == 0) == (2, 0)
    assert_serving(stub)


# ---- message sizes -----------------------------------------------------------------


def test_3mib_request_and_response(stub):
    payload = os.urandom(3 * MiB)
    r = stub.Unary(pb.EchoRequest(message="big", payload=payload), timeout=TIMEOUT)
    assert r.message == "big" and r.payload == payload
    r = stub.Unary(pb.EchoRequest(response_size=3 * MiB), timeout=TIMEOUT)
    assert r.payload == bytes(3 * MiB)
    # and a client stream of large messages
    r = stub.ClientStream(iter([pb.EchoRequest(payload=payload)] * 3), timeout=TIMEOUT)
    assert r.index == 3 and r.message == f" bytes={9 * MiB}"


def test_upload_beyond_connection_window(stub):
    """40 MiB into one client stream: more than the server's connection
    window (16 MiB), so it must keep granting window as it consumes."""
    chunk = pb.EchoRequest(payload=bytes(2 * MiB))
    r = stub.ClientStream(iter([chunk] * 20), timeout=TIMEOUT)
    assert r.index == 20 and r.message == f" bytes={40 * MiB}"


def test_oversized_request(stub, echo_server):
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(pb.EchoRequest(payload=bytes(5 * MiB)), timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # the same connection and a new one keep working
    assert_serving(stub)
    with echo_server.channel() as ch:
        assert_serving(g.EchoStub(ch))
    # just below the limit (4 MiB including the protobuf field header) passes
    r = stub.Unary(pb.EchoRequest(payload=bytes(4 * MiB - 16)), timeout=TIMEOUT)
    assert len(r.payload) == 4 * MiB - 16
    # a too-large message in the middle of a client stream
    with pytest.raises(grpc.RpcError) as e:
        stub.ClientStream(iter([pb.EchoRequest(message="ok"),
                                pb.EchoRequest(payload=bytes(5 * MiB))]), timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert wait_stats(stub, lambda c, a: a == 0)[1] == 0
    assert_serving(stub)


# ---- concurrency -------------------------------------------------------------------


def test_200_concurrent_unary(stub):
    # delayed replies: all 200 calls are open in the server at the same time
    futs = [stub.Unary.future(pb.EchoRequest(message=f"u{i}", response_size=i, delay_ms=100),
                              timeout=TIMEOUT)
            for i in range(200)]
    for i, f in enumerate(futs):
        r = f.result()
        assert r.message == f"u{i}" and r.payload == bytes(i)
    assert stats(stub) == (0, 0)


def test_200_concurrent_server_streams(stub):
    its = [stub.ServerStream(pb.EchoRequest(message=f"s{i}", count=5, delay_ms=20),
                             timeout=TIMEOUT) for i in range(200)]
    for i, it in enumerate(its):
        assert [(r.message, r.index) for r in it] == [(f"s{i}", k) for k in range(5)]
    assert stats(stub) == (0, 0)


def test_many_connections(echo_server):
    def server_sockets():
        fd_dir = f"/proc/{echo_server.proc.pid}/fd"
        n = 0
        for fd in os.listdir(fd_dir):
            try:
                n += os.readlink(os.path.join(fd_dir, fd)).startswith("socket:")
            except OSError:
                pass
        return n

    def wait_sockets(n):
        deadline = time.monotonic() + 10
        while server_sockets() > n and time.monotonic() < deadline:
            time.sleep(0.01)
        return server_sockets()

    # the listening socket only, once the fixture's readiness probe is gone
    base = wait_sockets(1)
    # a local subchannel pool: each channel has its own connection
    channels = [grpc.insecure_channel(echo_server.endpoint,
                                      options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(50)]
    try:
        stubs = [g.EchoStub(ch) for ch in channels]
        futs = [(i, k, s.Unary.future(pb.EchoRequest(message=f"{i}/{k}"), timeout=TIMEOUT))
                for k in range(3) for i, s in enumerate(stubs)]
        for i, k, f in futs:
            assert f.result().message == f"{i}/{k}"
        for i, s in enumerate(stubs):
            rs = list(s.ServerStream(pb.EchoRequest(message=str(i), count=3), timeout=TIMEOUT))
            assert [r.message for r in rs] == [str(i)] * 3
        assert server_sockets() >= base + 50
    finally:
        for ch in channels:
            ch.close()
    # closed connections are noticed and released
    assert wait_sockets(base) <= base


def test_large_server_stream_flow_control(stub):
    """200 x 64 KiB = 12.5 MiB, far beyond the HTTP/2 windows: the server must
    wait for WINDOW_UPDATEs and resume, in order and without loss."""
    size, n = 64 * 1024, 200
    it = stub.ServerStream(pb.EchoRequest(message="big", count=n, response_size=size),
                           timeout=TIMEOUT)
    count = 0
    for r in it:
        assert r.index == count and len(r.payload) == size and r.message == "big"
        count += 1
    assert count == n
    assert it.code() == grpc.StatusCode.OK
    assert stats(stub) == (0, 0)


def test_concurrent_large_streams(stub):
    size, n = 64 * 1024, 60
    its = [stub.ServerStream(pb.EchoRequest(message=str(k), count=n, response_size=size),
                             timeout=TIMEOUT) for k in range(4)]
    bidi = stub.Bidi(iter([pb.EchoRequest(payload=bytes(size))] * n), timeout=TIMEOUT)
    for k, it in enumerate(its):
        assert [(r.message, r.index, len(r.payload)) for r in it] == \
            [(str(k), i, size) for i in range(n)]
    assert [len(r.payload) for r in bidi] == [size] * n


def test_keepalive_pings(echo_server):
    """grpcio's keepalive PINGs during a call and while idle are answered;
    the connection stays up."""
    with grpc.insecure_channel(echo_server.endpoint, options=[
            ("grpc.keepalive_time_ms", 50), ("grpc.keepalive_timeout_ms", 5000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0)]) as ch:
        s = g.EchoStub(ch)
        rs = list(s.ServerStream(pb.EchoRequest(count=10, delay_ms=40), timeout=TIMEOUT))
        assert len(rs) == 10
        fut = s.Unary.future(pb.EchoRequest(message="late", delay_ms=300), timeout=TIMEOUT)
        assert fut.result().message == "late"
        assert_serving(s)


# ---- unknown methods -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/mvirt.test.Echo/NoSuchMethod", "/no.such.Service/Unary",
                                  "/mvirt.test.Echo", "/"])
def test_unimplemented(channel, stub, path):
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as e:
        call(b"\x0a\x01x", timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    # also as a stream that keeps sending after the early status
    call = channel.stream_stream(path, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as e:
        list(call(iter([b"\x0a\x01x"] * 100), timeout=TIMEOUT))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert_serving(stub)


# ---- TCP -----------------------------------------------------------------------------


def free_port(family, host):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def test_tcp_ipv4_and_ipv6(tmp_path):
    p4 = free_port(socket.AF_INET, "127.0.0.1")
    p6 = free_port(socket.AF_INET6, "::1")
    sock = str(tmp_path / "tcp-echo.sock")
    d = Daemon([binary("mvirt-echo-server"), "--listen", "unix:" + sock,
                "--listen", f"127.0.0.1:{p4}", "--listen", f"[::1]:{p6}",
                "--run-dir", str(tmp_path)], sock, str(tmp_path))
    try:
        for target in (f"127.0.0.1:{p4}", f"ipv6:[::1]:{p6}", f"localhost:{p4}"):
            with grpc.insecure_channel(target) as ch:
                s = g.EchoStub(ch)
                assert s.Unary(pb.EchoRequest(message=target), timeout=TIMEOUT).message == target
                rs = list(s.ServerStream(pb.EchoRequest(count=100, response_size=10000),
                                         timeout=TIMEOUT))
                assert len(rs) == 100
                r = s.Unary(pb.EchoRequest(response_size=3 * MiB), timeout=TIMEOUT)
                assert len(r.payload) == 3 * MiB
    finally:
        d.assert_clean_exit()


# ---- health --------------------------------------------------------------------------


def test_health_check(channel):
    h = hg.HealthStub(channel)
    for name in ("", "mvirt.test.Echo", "grpc.health.v1.Health",
                 "grpc.reflection.v1.ServerReflection"):
        r = h.Check(hpb.HealthCheckRequest(service=name), timeout=TIMEOUT)
        assert r.status == hpb.HealthCheckResponse.SERVING, name
    for name in ("nope", "mvirt.test", "mvirt.test.Echo.Unary"):
        with pytest.raises(grpc.RpcError) as e:
            h.Check(hpb.HealthCheckRequest(service=name), timeout=TIMEOUT)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_sees_shutdown(echo_server, channel):
    h = hg.HealthStub(channel)
    watch = h.Watch(hpb.HealthCheckRequest(service="mvirt.test.Echo"), timeout=TIMEOUT)
    unknown = h.Watch(hpb.HealthCheckRequest(service="unknown"), timeout=TIMEOUT)
    assert next(watch).status == hpb.HealthCheckResponse.SERVING
    assert next(unknown).status == hpb.HealthCheckResponse.SERVICE_UNKNOWN
    echo_server.proc.send_signal(signal.SIGTERM)
    assert next(watch).status == hpb.HealthCheckResponse.NOT_SERVING
    # then the stream ends (with a status, not by hanging until the deadline)
    with pytest.raises(grpc.RpcError) as e:
        next(watch)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError):
        for _ in unknown:
            pass
    channel.close()
    echo_server.proc.wait(timeout=TIMEOUT)
    # the fixture checks the exit status and the sanitizer output


# ---- reflection ------------------------------------------------------------------------


REFLECTION = [(rpb, rg), (rapb, rag)]


def reflect(channel, mod, grpc_mod, requests):
    stub = grpc_mod.ServerReflectionStub(channel)
    return list(stub.ServerReflectionInfo(iter(requests), timeout=TIMEOUT))


def decode_files(resp):
    assert resp.WhichOneof("message_response") == "file_descriptor_response", resp
    files = []
    for raw in resp.file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto()
        fd.ParseFromString(raw)
        files.append(fd)
    return files


@pytest.mark.parametrize("mod,grpc_mod", REFLECTION, ids=["v1", "v1alpha"])
def test_reflection_list_services(channel, mod, grpc_mod):
    (resp,) = reflect(channel, mod, grpc_mod, [mod.ServerReflectionRequest(list_services="")])
    assert resp.original_request.list_services == ""
    names = {s.name for s in resp.list_services_response.service}
    assert names == {"mvirt.test.Echo", "grpc.health.v1.Health",
                     "grpc.reflection.v1.ServerReflection",
                     "grpc.reflection.v1alpha.ServerReflection"}


@pytest.mark.parametrize("mod,grpc_mod", REFLECTION, ids=["v1", "v1alpha"])
def test_reflection_file_containing_symbol(channel, mod, grpc_mod):
    symbols = {
        "grpc.health.v1.Health": ("grpc/health/v1/health.proto", "grpc.health.v1"),
        "grpc.health.v1.HealthCheckResponse.ServingStatus":
            ("grpc/health/v1/health.proto", "grpc.health.v1"),
        "mvirt.log.LogService": ("log.proto", "mvirt.log"),
        "mvirt.log.LogService.Query": ("log.proto", "mvirt.log"),
        "mvirt.VmService": ("mvirt.proto", "mvirt"),
    }
    reqs = [mod.ServerReflectionRequest(file_containing_symbol=s) for s in symbols]
    resps = reflect(channel, mod, grpc_mod, reqs)
    assert len(resps) == len(symbols)
    for (sym, (fname, package)), resp in zip(symbols.items(), resps):
        assert resp.original_request.file_containing_symbol == sym
        files = decode_files(resp)
        assert files[0].name == fname and files[0].package == package, sym
    # the descriptors are complete: a pool built from them resolves the service
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.DescriptorPool()
    for fd in decode_files(resps[2]):
        pool.Add(fd)
    svc = pool.FindServiceByName("mvirt.log.LogService")
    assert {"Log", "Query"} <= {m.name for m in svc.methods}
    query = pool.FindMethodByName("mvirt.log.LogService.Query")
    assert query.output_type.full_name == "mvirt.log.LogEntry"


@pytest.mark.parametrize("mod,grpc_mod", REFLECTION, ids=["v1", "v1alpha"])
def test_reflection_file_by_filename(channel, mod, grpc_mod):
    resps = reflect(channel, mod, grpc_mod, [
        mod.ServerReflectionRequest(file_by_filename="log.proto"),
        mod.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"),
        mod.ServerReflectionRequest(file_by_filename="no/such.proto"),
    ])
    fd = decode_files(resps[0])[0]
    assert fd.name == "log.proto" and fd.package == "mvirt.log"
    assert "LogService" in [s.name for s in fd.service]
    fd = decode_files(resps[1])[0]
    assert [s.name for s in fd.service] == ["Health"]
    assert resps[2].WhichOneof("message_response") == "error_response"
    assert resps[2].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


@pytest.mark.parametrize("mod,grpc_mod", REFLECTION, ids=["v1", "v1alpha"])
def test_reflection_unknown_symbols(channel, mod, grpc_mod):
    resps = reflect(channel, mod, grpc_mod, [
        mod.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
        # listed by list_services, but echo.proto is not in the embedded set
        mod.ServerReflectionRequest(file_containing_symbol="mvirt.test.Echo"),
        mod.ServerReflectionRequest(file_containing_symbol="mvirt.log"),
        mod.ServerReflectionRequest(file_containing_symbol=""),
        mod.ServerReflectionRequest(list_services="*"),
    ])
    for resp in resps[:4]:
        assert resp.WhichOneof("message_response") == "error_response"
        assert resp.error_response.error_code == 5
    # the stream keeps working after errors
    assert resps[4].WhichOneof("message_response") == "list_services_response"


def test_reflection_interleaved(channel):
    """Reflection is a bidi stream: answers come one per request, in order,
    while the stream stays open."""
    q = queue.Queue()
    it = rg.ServerReflectionStub(channel).ServerReflectionInfo(iter(q.get, None),
                                                               timeout=TIMEOUT)
    for sym in ["mvirt.VmService", "mvirt.log.LogService", "grpc.health.v1.Health"] * 3:
        q.put(rpb.ServerReflectionRequest(file_containing_symbol=sym))
        resp = next(it)
        assert resp.original_request.file_containing_symbol == sym
        assert decode_files(resp)
    q.put(None)
    assert list(it) == []
