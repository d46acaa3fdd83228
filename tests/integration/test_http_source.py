"""The storage daemon's http(s) image source (zfs/http_source.c), through http_fetch.

A scripted server in this file (Python's http.server, threaded, on 127.0.0.1 and
a random port) plays well-behaved and broken web servers: lengths and chunked
bodies, redirect chains and loops, a redirect to file://, error statuses,
stalls, connections dropped half-way with and without byte ranges, resumes
answered with 200 or a wrong Content-Range, oversized bodies; and TLS with a
throw-away self-signed certificate made by openssl. Every download is compared
byte for byte and by SHA-256 with the file served.
"""
import gzip
import hashlib
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_MARKERS, binary

# larger than the source's 1 MiB buffer, so the transfer has to pause
DATA = os.urandom(3 * 1024 * 1024 + 12345)
DATA_SHA = hashlib.sha256(DATA).hexdigest()
GZ = gzip.compress(DATA, compresslevel=1)
BLOCK_MIB = [os.urandom(1 << 20) for _ in range(4)]
STALL_SECONDS = 20          # how long a stalling handler holds its connection


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # counts requests per path, for the resume tests
    hits = {}
    hits_lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def count(self):
        with self.hits_lock:
            self.hits[self.path] = self.hits.get(self.path, 0) + 1
            return self.hits[self.path]

    def requested_start(self):
        r = self.headers.get("Range")
        if r and r.startswith("bytes=") and r.endswith("-"):
            return int(r[len("bytes="):-1])
        return None

    def send_body(self, body, status=200, headers=(), ranges=True, limit=None):
        """Sends body (or, for a Range request, its tail as a 206); at most
        limit body bytes, then closes the connection."""
        start = self.requested_start() if ranges else None
        if start is not None:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        else:
            self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if limit is not None and limit < len(body):
            self.wfile.write(body[:limit])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def send_chunked(self, body, chunk=65536):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(body), chunk):
            part = body[i:i + chunk]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")

    def redirect(self, status, location):
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def error(self, status):
        body = b"<html>error page</html>"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stall(self):
        # hold the connection without a byte; ends early when the client goes
        self.connection.settimeout(0.2)
        deadline = time.monotonic() + STALL_SECONDS
        while time.monotonic() < deadline:
            try:
                if self.connection.recv(1) == b"":
                    return
            except socket.timeout:
                pass
            except OSError:
                return
        self.close_connection = True

    def do_GET(self):
        p = self.path
        quarter = len(DATA) // 4 + 1
        if p == "/data.raw":
            self.send_body(DATA)
        elif p == "/data.raw.gz":
            self.send_body(GZ)
        elif p == "/chunked":
            self.send_chunked(DATA)
        elif p.startswith("/redirect/"):
            n = int(p.rsplit("/", 1)[1])
            if n == 0:
                self.redirect(301, "/data.raw")
            else:
                self.redirect(302, f"/redirect/{n - 1}")
        elif p == "/loop":
            self.redirect(302, "/loop")
        elif p == "/to-file":
            self.redirect(302, "file:///etc/passwd")
        elif p in ("/status/404", "/status/410", "/status/401", "/status/403", "/status/500"):
            self.error(int(p.rsplit("/", 1)[1]))
        elif p == "/stall-headers":
            self.stall()
        elif p == "/stall-body":
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.wfile.write(DATA[:100000])
            self.wfile.flush()
            self.stall()
        elif p.startswith("/drop-range/"):
            # every response sends at most a quarter: 3 resumes finish the body
            self.count()
            self.send_body(DATA, limit=quarter)
        elif p == "/drop-chunked-range":
            # no length, ranges announced: the drop is resumed, the 206 tells the total
            if self.count() == 1:
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                part = DATA[:quarter]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.send_body(DATA)
        elif p == "/drop-always":
            self.send_body(DATA, limit=1000 if self.requested_start() is None else 10)
        elif p == "/drop-no-range":
            self.send_body(DATA, ranges=False, limit=len(DATA) // 2)
        elif p == "/drop-then-200":
            # announces ranges, but answers the resume with the whole body
            first = self.count() == 1
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if first:
                self.wfile.write(DATA[:len(DATA) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.wfile.write(DATA)
        elif p == "/drop-bad-range":
            # resumes with a range that starts in the wrong place
            start = self.requested_start()
            if start is None:
                self.send_body(DATA, limit=len(DATA) // 2)
            else:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes 0-{len(DATA) - 1}/{len(DATA)}")
                self.send_header("Content-Length", str(len(DATA)))
                self.end_headers()
                self.wfile.write(DATA)
        elif p == "/big-chunked":
            self.send_chunked(DATA)
        elif p.startswith("/generated/"):
            # MiB of bytes made on the fly, to measure the client's memory
            mib = int(p.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Length", str(mib << 20))
            self.end_headers()
            for i in range(mib):
                self.wfile.write(BLOCK_MIB[i % len(BLOCK_MIB)])
        else:
            self.error(404)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def start(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return server


@pytest.fixture(scope="module")
def server():
    s = start(Server(("127.0.0.1", 0), Handler))
    yield f"http://127.0.0.1:{s.server_address[1]}"
    s.shutdown()
    s.server_close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.fail("openssl is missing (scripts/deps.sh installs it)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    s = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
    start(s)
    yield f"https://127.0.0.1:{s.server_address[1]}", cert
    s.shutdown()
    s.server_close()


def fetch(url, out, *args, timeout=60):
    """Runs http_fetch; returns (its JSON answer, seconds taken)."""
    t0 = time.monotonic()
    p = subprocess.run([binary("http_fetch"), url, str(out), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t0
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1, (p.stdout, p.stderr)
    res = json.loads(lines[0])
    assert p.returncode == (0 if res["ok"] else 1), (p.returncode, p.stderr)
    return res, took


def check_ok(res, out, data=DATA):
    assert res["ok"], res
    assert res["bytes"] == len(data)
    assert res["sha256"] == hashlib.sha256(data).hexdigest()
    assert out.read_bytes() == data


def check_error(res, errno_name, *words):
    assert not res["ok"], res
    assert res["errno"] == errno_name, res
    for w in words:
        assert w in res["error"], res
    assert "\n" not in res["error"]


def test_plain_with_length(server, tmp_path):
    out = tmp_path / "out"
    res, _ = fetch(server + "/data.raw", out)
    check_ok(res, out)
    assert res["length"] == len(DATA)
    assert res["resumes"] == 0
    assert res["sha256"] == DATA_SHA


def test_chunked_without_length(server, tmp_path):
    out = tmp_path / "out"
    res, _ = fetch(server + "/chunked", out)
    check_ok(res, out)
    assert res["length"] is None


def test_gzip_composes_with_stream(server, tmp_path):
    out = tmp_path / "out"
    res, _ = fetch(server + "/data.raw.gz", out, "--decompress", "gz")
    check_ok(res, out)
    assert res["source_sha256"] == hashlib.sha256(GZ).hexdigest()


def test_redirect_chain(server, tmp_path):
    out = tmp_path / "out"
    res, _ = fetch(server + "/redirect/5", out)
    check_ok(res, out)
    assert res["url"] == server + "/data.raw"


def test_redirect_chain_too_long(server, tmp_path):
    res, _ = fetch(server + "/redirect/12", tmp_path / "out")
    check_error(res, "ELOOP", "redirects")


def test_redirect_loop(server, tmp_path):
    res, took = fetch(server + "/loop", tmp_path / "out")
    check_error(res, "ELOOP", "redirect loop")
    assert took < 10


def test_redirect_to_file_refused(server, tmp_path):
    out = tmp_path / "out"
    res, _ = fetch(server + "/to-file", out)
    check_error(res, "EPROTONOSUPPORT", "not http or https")
    assert out.read_bytes() == b""


def test_file_url_refused(tmp_path):
    res, _ = fetch("file:///etc/passwd", tmp_path / "out")
    check_error(res, "EINVAL", "http")


@pytest.mark.parametrize("status,errno_name", [
    (404, "ENOENT"), (410, "ENOENT"), (401, "EACCES"), (403, "EACCES"), (500, "EPROTO")])
def test_http_errors(server, tmp_path, status, errno_name):
    out = tmp_path / "out"
    res, _ = fetch(f"{server}/status/{status}", out)
    check_error(res, errno_name, f"HTTP request failed: {status}")
    # the error page is not taken for the image
    assert out.read_bytes() == b""


def test_stall_before_headers(server, tmp_path):
    res, took = fetch(server + "/stall-headers", tmp_path / "out", "--stall-ms", 700)
    check_error(res, "ETIMEDOUT", "no data from 127.0.0.1:", "700 ms")
    assert 0.6 < took < 5


def test_stall_in_body(server, tmp_path):
    res, took = fetch(server + "/stall-body", tmp_path / "out", "--stall-ms", 700)
    check_error(res, "ETIMEDOUT", "no data")
    assert took < 5


def test_cancel_while_stalled(server, tmp_path):
    res, took = fetch(server + "/stall-headers", tmp_path / "out", "--cancel-after-ms", 300)
    check_error(res, "ECANCELED", "cancelled")
    assert took < 2


def test_cancel_while_stalled_in_body(server, tmp_path):
    res, took = fetch(server + "/stall-body", tmp_path / "out", "--cancel-after-ms", 500)
    check_error(res, "ECANCELED")
    assert took < 2


def test_resume_with_ranges(server, tmp_path):
    out = tmp_path / "out"
    path = "/drop-range/%d" % time.monotonic_ns()
    res, _ = fetch(server + path, out)
    check_ok(res, out)
    assert res["resumes"] == 3
    assert Handler.hits[path] == 4


def test_resume_chunked_learns_length(server, tmp_path):
    out = tmp_path / "out"
    Handler.hits.pop("/drop-chunked-range", None)
    res, _ = fetch(server + "/drop-chunked-range", out)
    check_ok(res, out)
    assert res["resumes"] == 1
    assert res["length"] == len(DATA)


def test_resume_gives_up(server, tmp_path):
    res, _ = fetch(server + "/drop-always", tmp_path / "out")
    check_error(res, "EIO", "lost after", "resumed 3 times")


def test_drop_without_ranges(server, tmp_path):
    res, _ = fetch(server + "/drop-no-range", tmp_path / "out")
    check_error(res, "EIO", "lost after", "cannot resume")


def test_resume_answered_with_whole_body(server, tmp_path):
    out = tmp_path / "out"
    Handler.hits.pop("/drop-then-200", None)
    res, _ = fetch(server + "/drop-then-200", out)
    check_ok(res, out)
    assert res["resumes"] == 1


def test_resume_with_wrong_range(server, tmp_path):
    res, _ = fetch(server + "/drop-bad-range", tmp_path / "out")
    check_error(res, "EPROTO", "does not start where")


def test_max_size_by_length(server, tmp_path):
    res, _ = fetch(server + "/data.raw", tmp_path / "out", "--max-bytes", len(DATA) - 1)
    check_error(res, "EFBIG", "limit")


def test_max_size_while_streaming(server, tmp_path):
    out = tmp_path / "out"
    res, _ = fetch(server + "/big-chunked", out, "--max-bytes", 1000000)
    check_error(res, "EFBIG", "limit of 1000000 bytes")
    assert out.stat().st_size <= 1000000


def test_max_size_exact_fits(server, tmp_path):
    out = tmp_path / "out"
    res, _ = fetch(server + "/chunked", out, "--max-bytes", len(DATA))
    check_ok(res, out)


def test_memory_stays_bounded(server, tmp_path):
    """A reader slower than the network: curl fills the 1 MiB buffer and is
    paused until the reader catches up, so 24 MiB need no more memory than 2,
    and no byte is lost or doubled across the pauses."""
    small, _ = fetch(server + "/generated/2", tmp_path / "small")
    big, _ = fetch(server + "/generated/24", tmp_path / "big", "--read-delay-ms", 10)
    assert small["ok"] and big["ok"], (small, big)
    assert big["bytes"] == 24 << 20
    expected = hashlib.sha256(b"".join(BLOCK_MIB[i % 4] for i in range(24))).hexdigest()
    assert big["sha256"] == expected
    assert big["max_rss_kib"] - small["max_rss_kib"] < 8 * 1024, (small, big)


def test_closed_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res, _ = fetch(f"http://127.0.0.1:{port}/x.raw", tmp_path / "out")
    check_error(res, "ECONNREFUSED", f"cannot connect to 127.0.0.1:{port}: Connection refused")


def test_https_verification_on_by_default(tls_server, tmp_path):
    url, _ = tls_server
    res, _ = fetch(url + "/data.raw", tmp_path / "out")
    check_error(res, "EIO", "TLS")


def test_https_with_ca_file(tls_server, tmp_path):
    url, cert = tls_server
    out = tmp_path / "out"
    res, _ = fetch(url + "/redirect/2", out, "--ca-file", cert)
    check_ok(res, out)


def test_https_resume(tls_server, tmp_path):
    url, cert = tls_server
    out = tmp_path / "out"
    res, _ = fetch(url + "/drop-range/tls%d" % time.monotonic_ns(), out, "--ca-file", cert)
    check_ok(res, out)
    assert res["resumes"] == 3
