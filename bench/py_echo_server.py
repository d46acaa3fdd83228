#!/usr/bin/python3
"""The "real alternative" of the RPC benchmark: mvirt.test.Echo (tests/grpc/
echo.proto) served by Python grpcio the way people normally run it, a
grpc.server with a ThreadPoolExecutor. Stubs are generated at start-up from
echo.proto with grpc_tools.protoc into a temporary directory.

    /usr/bin/python3 bench/py_echo_server.py --listen unix:/tmp/x/py.sock [--workers 16]

Prints "ready" on stdout once serving; stops on SIGTERM/SIGINT.
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent import futures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generate_stubs(out):
    from grpc_tools import protoc

    shutil.copy(os.path.join(ROOT, "tests", "grpc", "echo.proto"), out)
    rc = protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}",
                      os.path.join(out, "echo.proto")])
    if rc != 0:
        raise RuntimeError("grpc_tools.protoc failed on echo.proto")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="unix:/path or host:port")
    ap.add_argument("--workers", type=int, default=16, help="thread pool size (default 16)")
    args = ap.parse_args()

    stub_dir = tempfile.mkdtemp(prefix="mvirt-bench-stubs-")
    try:
        generate_stubs(stub_dir)
        sys.path.insert(0, stub_dir)
        import grpc
        import echo_pb2 as pb
        import echo_pb2_grpc as pbg

        class Echo(pbg.EchoServicer):
            def __init__(self):
                self.lock = threading.Lock()
                self.cancelled = 0
                self.active = 0

            def Unary(self, req, ctx):
                if req.delay_ms:
                    time.sleep(req.delay_ms / 1000)
                if req.status_code:
                    ctx.abort(_status(req.status_code), req.status_message)
                payload = b"\0" * req.response_size if req.response_size else req.payload
                return pb.EchoResponse(message=req.message, payload=payload)

            def ServerStream(self, req, ctx):
                for i in range(req.count):
                    if req.delay_ms:
                        time.sleep(req.delay_ms / 1000)
                    yield pb.EchoResponse(message=req.message, index=i,
                                          payload=b"\0" * req.response_size)
                if req.status_code:
                    ctx.abort(_status(req.status_code), req.status_message)

            def ClientStream(self, it, ctx):
                n, size, last = 0, 0, ""
                for req in it:
                    n += 1
                    size += len(req.payload)
                    last = req.message
                return pb.EchoResponse(message=f"{last} bytes={size}", index=n)

            def Bidi(self, it, ctx):
                for i, req in enumerate(it):
                    if req.status_code:
                        ctx.abort(_status(req.status_code), req.status_message)
                    yield pb.EchoResponse(message=req.message, payload=req.payload, index=i)

            def Hang(self, req, ctx):
                done = threading.Event()
                ctx.add_callback(done.set)
                done.wait()
                ctx.abort(grpc.StatusCode.CANCELLED, "cancelled")

            def Stats(self, req, ctx):
                return pb.EchoResponse(message=f"cancelled={self.cancelled} active={self.active}")

        def _status(n):
            for c in grpc.StatusCode:
                if c.value[0] == n:
                    return c
            return grpc.StatusCode.UNKNOWN

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
        pbg.add_EchoServicer_to_server(Echo(), server)
        if server.add_insecure_port(args.listen) == 0 and not args.listen.startswith("unix:"):
            raise RuntimeError(f"cannot listen on {args.listen}")
        server.start()
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        print("ready", flush=True)
        stop.wait()
        server.stop(1).wait()
    finally:
        shutil.rmtree(stub_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
