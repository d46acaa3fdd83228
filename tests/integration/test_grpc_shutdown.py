"""Graceful shutdown of our gRPC server, seen by Python grpcio clients:
in-flight calls finish, new connections are refused, calls that outlive
--shutdown-timeout are cancelled, and the process exits 0."""
import os
import signal
import threading
import time

import grpc
import pytest

from conftest import Daemon, binary

import echo_pb2 as pb
import echo_pb2_grpc as g


def start(tmp_path, *extra):
    sock = str(tmp_path / "echo.sock")
    return Daemon([binary("mvirt-echo-server"), "--listen", "unix:" + sock, *extra],
                  sock, str(tmp_path))


def test_in_flight_call_finishes_after_sigterm(tmp_path):
    d = start(tmp_path)
    ch = d.channel()
    stub = g.EchoStub(ch)
    fut = stub.Unary.future(pb.EchoRequest(message="slow", delay_ms=800), timeout=10)
    # the call is in the server once Stats counts it as active
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if "active=1" in stub.Stats(pb.EchoRequest()).message:
            break
        time.sleep(0.02)
    d.proc.send_signal(signal.SIGTERM)
    assert fut.result().message == "slow"
    ch.close()
    d.assert_clean_exit()
    # the socket file is gone: nobody is left listening
    assert not os.path.exists(d.socket_path)


def test_new_connections_refused_during_shutdown(tmp_path):
    d = start(tmp_path)
    ch = d.channel()
    stub = g.EchoStub(ch)
    fut = stub.Unary.future(pb.EchoRequest(message="slow", delay_ms=1500), timeout=10)
    while "active=1" not in stub.Stats(pb.EchoRequest()).message:
        time.sleep(0.02)
    d.proc.send_signal(signal.SIGTERM)
    while os.path.exists(d.socket_path):
        time.sleep(0.02)
    with grpc.insecure_channel(d.endpoint) as ch2:
        with pytest.raises(grpc.RpcError) as e:
            g.EchoStub(ch2).Unary(pb.EchoRequest(message="late"), timeout=2)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert fut.result().message == "slow"
    ch.close()
    d.assert_clean_exit()


def test_calls_beyond_shutdown_timeout_are_cancelled(tmp_path):
    d = start(tmp_path, "--shutdown-timeout", "1")
    ch = d.channel()
    stub = g.EchoStub(ch)
    fut = stub.Hang.future(pb.EchoRequest(), timeout=30)
    while "active=1" not in stub.Stats(pb.EchoRequest()).message:
        time.sleep(0.02)
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    with pytest.raises(grpc.RpcError) as e:
        fut.result()
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    d.proc.wait(timeout=10)
    # bounded by the timeout, not by the client's 30 s deadline
    assert time.monotonic() - t0 < 10
    ch.close()
    d.assert_clean_exit()


def test_stale_socket_replaced_live_socket_refused(tmp_path):
    sock = str(tmp_path / "echo.sock")
    d = start(tmp_path)
    # a second server on the same live socket must refuse to start
    p = os.popen(f"{binary('mvirt-echo-server')} --listen unix:{sock} 2>&1; echo rc=$?")
    out = p.read()
    assert "rc=1" in out and "in use" in out.lower()
    # kill -9 leaves the socket file behind; the next start replaces it
    d.proc.kill()
    d.proc.wait()
    assert os.path.exists(sock)
    d2 = start(tmp_path)
    with d2.channel() as ch:
        assert g.EchoStub(ch).Unary(pb.EchoRequest(message="again")).message == "again"
    assert oct(os.stat(sock).st_mode & 0o777) == "0o660"
    d2.assert_clean_exit()
