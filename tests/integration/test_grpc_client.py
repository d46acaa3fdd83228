"""Conformance of our gRPC client (lib/grpc/client.c) against an independent
server: mvirt-echo-client (tests/grpc/echo_client.c) runs each scenario
against py_echo_server.py, the echo service in Python grpcio, and its output
lines are checked: responses, status codes and messages (non-ASCII),
deadlines, cancellation, large messages, many streams on one connection,
Unix and TCP endpoints.
"""
import os
import re
import select
import signal
import socket
import subprocess
import time

import grpc
import pytest

import conftest
from conftest import SANITIZER_MARKERS, binary

import echo_pb2 as pb
import echo_pb2_grpc as g

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
TIMEOUT = 60
MiB = 1 << 20
ODD_MESSAGE = "nö ✓ 日本 % 100%"


class PyServer:
    """py_echo_server.py listening on the given endpoints."""

    def __init__(self, tmp_path, endpoint):
        self.endpoint = endpoint
        self.stopping = False
        self.stderr_path = os.path.join(str(tmp_path), "py_echo_server.stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [PY, os.path.join(HERE, "py_echo_server.py"), conftest._STUB_DIR, endpoint],
            stdout=subprocess.PIPE, stderr=self._stderr)
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        line = self.proc.stdout.readline() if ready else b""  # "ready", or EOF if it failed
        if line.strip() != b"ready":
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("py_echo_server.py did not start: " + self.log())

    def log(self):
        self._stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stats(self):
        """(cancelled, active) calls, asked through grpcio."""
        target = self.endpoint
        with grpc.insecure_channel(target) as ch:
            m = g.EchoStub(ch).Stats(pb.EchoRequest(), timeout=TIMEOUT).message
        c, a = re.fullmatch(r"cancelled=(\d+) active=(\d+)", m).groups()
        return int(c), int(a)

    def wait_stats(self, pred, timeout=10):
        deadline = time.monotonic() + timeout
        while not pred(*(s := self.stats())) and time.monotonic() < deadline:
            time.sleep(0.01)
        return s

    def stop(self):
        """SIGTERM (once: a second one during Python's exit would kill it)
        and wait for the exit; returns the exit status."""
        if self.proc.poll() is None and not self.stopping:
            self.stopping = True
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pyecho")
    s = PyServer(tmp, "unix:" + str(tmp / "py-echo.sock"))
    yield s
    s.stop()


def run(endpoint, *args, ok=True):
    """Run mvirt-echo-client; return its output lines. The client must exit
    with 0 (1 when ok is False) and without sanitizer findings."""
    p = subprocess.run([binary("mvirt-echo-client"), endpoint, *map(str, args)],
                       capture_output=True, timeout=TIMEOUT)
    out, err = p.stdout.decode(), p.stderr.decode(errors="replace")
    bad = [m for m in SANITIZER_MARKERS if m in err]
    assert not bad, f"sanitizer findings in mvirt-echo-client {args}:\n{err}"
    assert p.returncode == (0 if ok else 1), f"exit {p.returncode}:\n{out}\n{err}"
    return out.splitlines()


def msg(index, message, payload=0):
    return f"msg {index} {payload} {message}"


def status(code, message=""):
    return f"status {code} {message}"


# ---- the four streaming kinds -------------------------------------------------


def test_unary(server):
    assert run(server.endpoint, "unary", "hello world") == [msg(0, "hello world"), status(0)]
    assert run(server.endpoint, "unary", ODD_MESSAGE) == [msg(0, ODD_MESSAGE), status(0)]
    assert run(server.endpoint, "unary", "") == [msg(0, ""), status(0)]


def test_server_stream(server):
    out = run(server.endpoint, "server-stream", 1000)
    assert out == [msg(i, "s") for i in range(1000)] + [status(0)]
    out = run(server.endpoint, "server-stream", 5, 20)
    assert out == [msg(i, "s") for i in range(5)] + [status(0)]
    assert run(server.endpoint, "server-stream", 0) == [status(0)]


def test_client_stream(server):
    assert run(server.endpoint, "client-stream", 50) == [
        msg(50, f"m49 bytes={sum(range(50))}"), status(0)]
    assert run(server.endpoint, "client-stream", 0) == [msg(0, " bytes=0"), status(0)]


def test_bidi_interleaved(server):
    # echo_client waits for each answer before it sends the next request
    out = run(server.endpoint, "bidi", 20)
    assert out == [msg(i, f"ping {i}") for i in range(20)] + [status(0)]


# ---- status codes -------------------------------------------------------------


@pytest.mark.parametrize("code", [1, 3, 5, 7, 9, 10, 13, 14, 15, 16])
def test_status_code_and_message(server, code):
    assert run(server.endpoint, "error", code, ODD_MESSAGE) == [status(code, ODD_MESSAGE)]


def test_status_messages(server):
    for text in ["plain", "100%", "%41", "ü" * 1000]:
        assert run(server.endpoint, "error", 10, text) == [status(10, text)]


def test_unimplemented(server):
    out = run(server.endpoint, "unimplemented")
    assert len(out) == 1 and out[0].startswith("status 12 ")


# ---- deadlines and cancellation ---------------------------------------------------


def test_deadline(server):
    before, _ = server.stats()
    out = run(server.endpoint, "deadline", 300)
    assert len(out) == 1 and out[0].startswith("status 4 ")
    # the server saw the call end: our RST_STREAM, or its own deadline
    assert server.wait_stats(lambda c, a: c > before and a == 0)[1] == 0


def test_cancel(server):
    before, _ = server.stats()
    assert run(server.endpoint, "cancel") == [
        msg(0, "c"), msg(1, "c"), "cancelled", status(1, "Cancelled"),
        msg(0, "after cancel"), status(0)]
    cancelled, active = server.wait_stats(lambda c, a: c > before and a == 0)
    assert cancelled == before + 1 and active == 0


# ---- sizes and concurrency --------------------------------------------------------


def test_3mib_response(server):
    assert run(server.endpoint, "big", 3 * MiB) == [msg(0, "", 3 * MiB), status(0)]
    # above the client's own limit: RESOURCE_EXHAUSTED, not a crash or hang
    out = run(server.endpoint, "big", 3 * MiB, 1 * MiB)
    assert len(out) == 1 and out[0].startswith("status 8 ")


def test_3mib_request(server):
    assert run(server.endpoint, "big-request", 3 * MiB) == [
        msg(0, "big", 3 * MiB), "payload ok", status(0)]


def test_oversized_request(server):
    # grpcio's limit is 4 MiB: the server refuses while we are still sending
    out = run(server.endpoint, "big-request", 5 * MiB)
    assert len(out) == 1 and out[0].startswith("status 8 "), out
    assert run(server.endpoint, "unary", "after") == [msg(0, "after"), status(0)]


def test_concurrent_streams(server):
    out = run(server.endpoint, "concurrent", 100)
    want = []
    for i in range(100):
        want += [msg(k, f"c{i}") for k in range(3)] + [status(0)]
    assert out == want


# ---- endpoints --------------------------------------------------------------------


def free_port(family, host):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("family,host,fmt", [
    (socket.AF_INET, "127.0.0.1", "127.0.0.1:{}"),
    (socket.AF_INET6, "::1", "[::1]:{}"),
    (socket.AF_INET, "127.0.0.1", "http://127.0.0.1:{}"),
], ids=["ipv4", "ipv6", "http-url"])
def test_tcp(tmp_path, family, host, fmt):
    port = free_port(family, host)
    bind = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
    s = PyServer(tmp_path, bind)
    try:
        ep = fmt.format(port)
        assert run(ep, "unary", ep) == [msg(0, ep), status(0)]
        assert run(ep, "big", 3 * MiB) == [msg(0, "", 3 * MiB), status(0)]
        assert run(ep, "server-stream", 100) == [msg(i, "s") for i in range(100)] + [status(0)]
    finally:
        s.stop()


def test_connect_failure(tmp_path):
    out = run("unix:" + str(tmp_path / "nobody.sock"), "unary", "x", ok=False)
    assert len(out) == 1 and out[0].startswith("error connect")
    port = free_port(socket.AF_INET, "127.0.0.1")  # nobody listens there now
    out = run(f"127.0.0.1:{port}", "unary", "x", ok=False)
    assert len(out) == 1 and out[0].startswith("error connect")


def test_server_goes_away(tmp_path):
    """The server ends while a call is open: the call ends (UNAVAILABLE or a
    connection error), it does not hang."""
    s = PyServer(tmp_path, "unix:" + str(tmp_path / "gone.sock"))
    p = subprocess.Popen([binary("mvirt-echo-client"), s.endpoint, "deadline", "20000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert s.wait_stats(lambda c, a: a == 1)[1] == 1
        s.proc.kill()
        s.proc.wait()
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        s.stop()
    lines = out.decode().splitlines()
    assert not [m for m in SANITIZER_MARKERS if m in err.decode(errors="replace")]
    assert len(lines) == 1 and (lines[0].startswith("status 14 ") or
                                lines[0].startswith("error ")), lines


def test_deadline_against_a_deaf_server(tmp_path):
    """A server that accepts the connection and then reads nothing: the
    deadline ends the call, also while a large request waits for the peer's
    flow-control window."""
    path = str(tmp_path / "deaf.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as deaf:
        deaf.bind(path)
        deaf.listen(8)  # connections complete in the backlog, nobody accepts
        for args in (("deadline", 300), ("big-request", 3 * MiB, 300)):
            out = run("unix:" + path, *args)
            assert len(out) == 1 and out[0].startswith("status 4 "), (args, out)


def test_graceful_server_stop(tmp_path):
    """The server stops gracefully (GOAWAY) during a stream: the stream
    still completes."""
    s = PyServer(tmp_path, "unix:" + str(tmp_path / "stop.sock"))
    p = subprocess.Popen([binary("mvirt-echo-client"), s.endpoint, "server-stream", "5", "100"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert s.wait_stats(lambda c, a: a == 1)[1] == 1
        assert s.stop() == 0  # returns once the stream is done
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        s.stop()
    assert not [m for m in SANITIZER_MARKERS if m in err.decode(errors="replace")]
    assert out.decode().splitlines() == [msg(i, "s") for i in range(5)] + [status(0)]
