#!/usr/bin/python3
"""The echo service of tests/grpc/echo.proto in Python grpcio: the
independent server that our client library (mvirt-echo-client) is tested
against, with the same behaviour as tests/grpc/echo_server.c.

    py_echo_server.py STUB_DIR ENDPOINT

STUB_DIR holds the grpcio stubs (echo_pb2, echo_pb2_grpc; conftest.py
generates them); ENDPOINT is "unix:/path" or "host:port". Prints "ready"
on stdout once it serves, stops on SIGTERM (exit status 0).
"""
import signal
import sys
import threading
from concurrent import futures

import grpc

sys.path.insert(0, sys.argv[1])
import echo_pb2 as pb  # noqa: E402
import echo_pb2_grpc as g  # noqa: E402

CODES = {c.value[0]: c for c in grpc.StatusCode}


class Echo(g.EchoServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.cancelled = 0
        self.active = 0

    @staticmethod
    def _ended(context):
        """An Event set when the call ends (completed, cancelled, deadline)."""
        ev = threading.Event()
        if not context.add_callback(ev.set):
            ev.set()  # already over
        return ev

    def _abort(self, context, req):
        context.abort(CODES.get(req.status_code, grpc.StatusCode.UNKNOWN), req.status_message)

    def Unary(self, req, context):
        if req.delay_ms and self._ended(context).wait(req.delay_ms / 1000):
            return pb.EchoResponse()
        if req.status_code:
            self._abort(context, req)
        payload = bytes(req.response_size) if req.response_size else req.payload
        return pb.EchoResponse(message=req.message, payload=payload)

    def ServerStream(self, req, context):
        payload = bytes(req.response_size)
        ended = self._ended(context)
        finished = False
        with self.lock:
            self.active += 1
        try:
            for i in range(req.count):
                if req.delay_ms and ended.wait(req.delay_ms / 1000):
                    return
                yield pb.EchoResponse(message=req.message, payload=payload, index=i)
            finished = True
        finally:
            # a cancelled call: the wait saw it, or grpcio closed the generator
            with self.lock:
                self.active -= 1
                self.cancelled += not finished
        if req.status_code:
            self._abort(context, req)

    def ClientStream(self, reqs, context):
        n, size, last = 0, 0, ""
        for req in reqs:
            n += 1
            size += len(req.payload)
            last = req.message
        return pb.EchoResponse(message=f"{last} bytes={size}", index=n)

    def Bidi(self, reqs, context):
        for i, req in enumerate(reqs):
            if req.status_code:
                self._abort(context, req)
            yield pb.EchoResponse(message=req.message, payload=req.payload, index=i)

    def Hang(self, req, context):
        ended = self._ended(context)
        with self.lock:
            self.active += 1
        ended.wait()
        with self.lock:
            self.active -= 1
            self.cancelled += 1
        return pb.EchoResponse()

    def Stats(self, req, context):
        with self.lock:
            return pb.EchoResponse(message=f"cancelled={self.cancelled} active={self.active}")


def main():
    endpoint = sys.argv[2]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64),
                         options=[("grpc.max_receive_message_length", 4 << 20),
                                  ("grpc.max_send_message_length", 64 << 20)])
    g.add_EchoServicer_to_server(Echo(), server)
    if server.add_insecure_port(endpoint) == 0:
        sys.exit(f"py_echo_server: cannot listen on {endpoint}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    server.stop(grace=10).wait()


if __name__ == "__main__":
    main()
