"""Our gRPC server against broken and hostile clients: garbage instead of the
HTTP/2 preface, truncated and malformed frames, bad gRPC message framing,
undecodable request messages, abandoned connections. Each case must end
that stream or that connection with the right status, never the process;
after every case a normal grpcio call on a fresh connection still works.

The malformed requests are written by hand as HTTP/2 frames (struct), with
a minimal HPACK encoder (literal headers, no Huffman) and an HPACK decoder
(with Huffman and the dynamic table) to read the server's status.
"""
import random
import signal
import socket
import struct
import time

import grpc
import pytest

import echo_pb2 as pb
import echo_pb2_grpc as g

TIMEOUT = 10
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
UNARY = "/mvirt.test.Echo/Unary"

# ---- HPACK (RFC 7541) ------------------------------------------------------------

STATIC_TABLE = [(n, "") for n in (
    ":authority",)] + [
    (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
    (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"),
    (":status", "206"), (":status", "304"), (":status", "400"), (":status", "404"),
    (":status", "500"), ("accept-charset", ""), ("accept-encoding", "gzip, deflate"),
] + [(n, "") for n in (
    "accept-language", "accept-ranges", "accept", "access-control-allow-origin", "age",
    "allow", "authorization", "cache-control", "content-disposition", "content-encoding",
    "content-language", "content-length", "content-location", "content-range",
    "content-type", "cookie", "date", "etag", "expect", "expires", "from", "host",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
    "last-modified", "link", "location", "max-forwards", "proxy-authenticate",
    "proxy-authorization", "range", "referer", "refresh", "retry-after", "server",
    "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent", "vary",
    "via", "www-authenticate")]
assert len(STATIC_TABLE) == 61

# The HPACK Huffman code is canonical: the code lengths of symbols 0-256
# (length - 5 as a letter, 'A' = 5 bits) determine it completely.
_HUFFMAN_LENGTHS = (
    "ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCC"
    "CCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIXPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRS"
    "SQSRRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWX"
    "WWWWWVZ")


def _huffman_table():
    lengths = [ord(c) - ord("A") + 5 for c in _HUFFMAN_LENGTHS]
    assert len(lengths) == 257
    table, code, prev = {}, -1, 0
    for sym in sorted(range(257), key=lambda s: (lengths[s], s)):
        code = (code + 1) << (lengths[sym] - prev)
        prev = lengths[sym]
        table[(lengths[sym], code)] = sym
    return table


HUFFMAN = _huffman_table()


def huffman_decode(data):
    out, code, n = bytearray(), 0, 0
    for byte in data:
        for bit in range(7, -1, -1):
            code = (code << 1) | ((byte >> bit) & 1)
            n += 1
            sym = HUFFMAN.get((n, code))
            if sym is not None:
                assert sym != 256, "EOS in a Huffman string"
                out.append(sym)
                code, n = 0, 0
    assert n < 8 and code == (1 << n) - 1, "bad Huffman padding"
    return bytes(out)


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hpack_encode(headers):
    """Literal header fields without indexing, new names, no Huffman."""
    out = bytearray()
    for name, value in headers:
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        out += b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value
    return bytes(out)


class HpackDecoder:
    def __init__(self):
        self.dynamic = []  # newest first
        self.max_size = 4096

    def _size(self):
        return sum(32 + len(n) + len(v) for n, v in self.dynamic)

    def _evict(self):
        while self.dynamic and self._size() > self.max_size:
            self.dynamic.pop()

    def _entry(self, index):
        assert index > 0, "HPACK index 0"
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        return self.dynamic[index - len(STATIC_TABLE) - 1]

    @staticmethod
    def _int(data, pos, prefix_bits):
        limit = (1 << prefix_bits) - 1
        value = data[pos] & limit
        pos += 1
        if value < limit:
            return value, pos
        shift = 0
        while True:
            b = data[pos]
            pos += 1
            value += (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value, pos

    def _string(self, data, pos):
        huffman = data[pos] & 0x80
        n, pos = self._int(data, pos, 7)
        raw = bytes(data[pos:pos + n])
        assert len(raw) == n, "truncated HPACK string"
        return (huffman_decode(raw) if huffman else raw).decode("latin-1"), pos + n

    def decode(self, data):
        headers, pos = [], 0
        while pos < len(data):
            b = data[pos]
            if b & 0x80:  # indexed
                index, pos = self._int(data, pos, 7)
                headers.append(self._entry(index))
                continue
            if b & 0xE0 == 0x20:  # dynamic table size update
                self.max_size, pos = self._int(data, pos, 5)
                self._evict()
                continue
            prefix = 6 if b & 0x40 else 4
            index, pos = self._int(data, pos, prefix)
            if index:
                name = self._entry(index)[0]
            else:
                name, pos = self._string(data, pos)
            value, pos = self._string(data, pos)
            headers.append((name, value))
            if b & 0x40:  # with incremental indexing
                self.dynamic.insert(0, (name, value))
                self._evict()
        return headers


def test_hpack_self_check():
    # RFC 7541 C.4.1: "www.example.com" Huffman-coded
    assert huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")) == b"www.example.com"
    # RFC 7541 C.6.1: a response with Huffman coding and the dynamic table
    d = HpackDecoder()
    d.max_size = 256
    assert d.decode(bytes.fromhex(
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718"
        "63c78f0b97c8e9ae82ae43d3")) == [
        (":status", "302"), ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")]
    assert d.decode(bytes.fromhex("4883640effc1c0bf")) == [
        (":status", "307"), ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")]
    assert HpackDecoder().decode(hpack_encode([("a", "b" * 300)])) == [("a", "b" * 300)]


# ---- a hand-made HTTP/2 client ------------------------------------------------------


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags,
                                                               stream_id) + payload


def grpc_message(body, flag=0, length=None):
    return struct.pack(">BI", flag, len(body) if length is None else length) + body


def request_headers(path=UNARY, method="POST", content_type="application/grpc", extra=()):
    return [(":method", method), (":scheme", "http"), (":path", path),
            (":authority", "localhost"), ("content-type", content_type),
            ("te", "trailers"), *extra]


class Stream:
    def __init__(self):
        self.headers = []  # every header of every HEADERS block, in order
        self.data = b""
        self.ended = False  # the server's END_STREAM
        self.rst = None  # RST_STREAM error code

    def header(self, name):
        values = [v for n, v in self.headers if n == name]
        return values[-1] if values else None

    @property
    def grpc_status(self):
        v = self.header("grpc-status")
        return None if v is None else int(v)


class H2:
    """One raw HTTP/2 connection to the server's Unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.buf = b""
        self.hpack = HpackDecoder()
        self.streams = {}
        self.goaway = None  # error code
        self.closed = False
        self.settings_seen = False
        self._block = None  # (stream id, flags, fragments) of an unfinished header block

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def handshake(self):
        self.send(PREFACE + frame(SETTINGS, 0, 0))

    def request(self, stream_id, body=None, headers=None, end_stream=True):
        """HEADERS and, if body is given, one DATA frame (body as is)."""
        hdrs = hpack_encode(headers or request_headers())
        if body is None:
            self.send(frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0),
                            stream_id, hdrs))
        else:
            self.send(frame(HEADERS, END_HEADERS, stream_id, hdrs) +
                      frame(DATA, END_STREAM if end_stream else 0, stream_id, body))

    def stream(self, stream_id):
        return self.streams.setdefault(stream_id, Stream())

    def _recv(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
        self.buf += data

    def read_frame(self):
        """The next frame (type, flags, stream id, payload), or None at EOF."""
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            if self.closed:
                return None
            self._recv()
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags, sid = struct.unpack(">BBI", self.buf[3:9])
        payload, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
        self._handle(ftype, flags, sid & 0x7FFFFFFF, payload)
        return ftype, flags, sid & 0x7FFFFFFF, payload

    def _handle(self, ftype, flags, sid, payload):
        if ftype == SETTINGS and not flags & ACK:
            self.settings_seen = True
            self.send_quietly(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self.send_quietly(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            self.goaway = struct.unpack(">I", payload[4:8])[0]
        elif ftype == RST_STREAM:
            self.stream(sid).rst = struct.unpack(">I", payload)[0]
        elif ftype == DATA:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            s = self.stream(sid)
            s.data += payload
            s.ended |= bool(flags & END_STREAM)
            if payload:  # keep the windows open
                inc = struct.pack(">I", len(payload))
                self.send_quietly(frame(WINDOW_UPDATE, 0, 0, inc) +
                                  frame(WINDOW_UPDATE, 0, sid, inc))
        elif ftype == HEADERS:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            if flags & PRIORITY_FLAG:
                payload = payload[5:]
            self._block = (sid, flags, payload)
        elif ftype == CONTINUATION and self._block:
            self._block = (sid, self._block[1] | flags, self._block[2] + payload)
        if ftype in (HEADERS, CONTINUATION) and flags & END_HEADERS and self._block:
            bsid, bflags, block = self._block
            self._block = None
            s = self.stream(bsid)
            s.headers += self.hpack.decode(block)
            s.ended |= bool(bflags & END_STREAM)

    def send_quietly(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def wait_stream(self, stream_id):
        """Read until the server ended the stream (END_STREAM or RST_STREAM)
        or the connection; returns the Stream."""
        s = self.stream(stream_id)
        while not (s.ended or s.rst is not None):
            if self.read_frame() is None:
                break
        return s

    def wait_closed(self):
        """Read (and discard) until the server closes the connection."""
        while self.read_frame() is not None:
            pass
        return True


# ---- fixtures and helpers -------------------------------------------------------------


@pytest.fixture
def server(echo_server):
    """The echo server; afterwards it must still answer a grpcio call on a new
    connection (and then exit cleanly, see conftest)."""
    yield echo_server
    assert_serving(echo_server)


def assert_serving(server, text="still serving"):
    with server.channel() as ch:
        r = g.EchoStub(ch).Unary(pb.EchoRequest(message=text), timeout=TIMEOUT)
        assert r.message == text


def stats(server):
    with server.channel() as ch:
        return g.EchoStub(ch).Stats(pb.EchoRequest(), timeout=TIMEOUT).message


def wait_stats(server, want, timeout=10):
    deadline = time.monotonic() + timeout
    while (s := stats(server)) != want and time.monotonic() < deadline:
        time.sleep(0.01)
    return s


def connect(server):
    h = H2(server.socket_path)
    h.handshake()
    return h


ECHO = pb.EchoRequest(message="raw").SerializeToString()


# ---- garbage instead of HTTP/2 ------------------------------------------------------------


@pytest.mark.parametrize("junk", [
    random.Random(7).randbytes(200).replace(b"P", b"p"),
    b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n",  # almost the preface
    b"\x00" * 24,
], ids=["random", "http1", "bad-preface", "zeros"])
def test_not_http2(server, junk):
    h = H2(server.socket_path)
    h.send(junk)
    assert h.wait_closed()
    assert not any(s.headers for s in h.streams.values())
    h.close()


def test_connect_and_close(server):
    for n in (0, 5, len(PREFACE)):  # nothing, part of the preface, the preface alone
        h = H2(server.socket_path)
        h.send(PREFACE[:n])
        h.close()


def test_preface_then_truncated_frame(server):
    h = connect(server)
    # a HEADERS frame of which only the 9-byte header and 10 payload bytes arrive
    h.send(frame(HEADERS, END_HEADERS, 1, hpack_encode(request_headers()))[:9 + 10])
    h.close()
    h = connect(server)
    # a frame header cut in the middle
    h.send(frame(DATA, 0, 1, b"x" * 50)[:5])
    h.close()


def test_random_frames(server):
    """Well-formed frame headers around random payloads and types: each
    connection is closed or survives, the server stays up."""
    rng = random.Random(1234)
    for i in range(40):
        h = connect(server)
        try:
            for _ in range(rng.randint(1, 5)):
                ftype = rng.choice([DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING,
                                    GOAWAY, WINDOW_UPDATE, CONTINUATION, PUSH_PROMISE, 0x42])
                payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
                h.send(frame(ftype, rng.getrandbits(8), rng.choice([0, 1, 2, 3, 0x7FFFFFFF]),
                             payload))
        except OSError:
            pass  # closed on us while sending
        h.close()
    # raw random bytes after a valid preface
    for i in range(20):
        h = connect(server)
        try:
            h.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))))
        except OSError:
            pass
        h.close()


@pytest.mark.parametrize("bad", [
    frame(DATA, 0, 0, b"x"),  # DATA on stream 0
    frame(HEADERS, END_HEADERS, 2, hpack_encode(request_headers())),  # even stream id
    frame(HEADERS, END_HEADERS, 1, b"\xff\xff\xff\xff"),  # undecodable HPACK
    frame(SETTINGS, 0, 0, b"\x00\x04\xff\xff\xff\xff"),  # window above 2^31-1
    frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"),  # zero increment
    frame(PING, 0, 0, b"short"),
    frame(CONTINUATION, END_HEADERS, 1, b""),  # without HEADERS
    frame(PUSH_PROMISE, END_HEADERS, 1, b"\x00\x00\x00\x02"),  # clients cannot push
], ids=["data-stream-0", "even-id", "bad-hpack", "bad-settings", "zero-window-update",
        "short-ping", "lone-continuation", "push-promise"])
def test_connection_errors(server, bad):
    """Protocol errors of the connection: GOAWAY with an error, then close."""
    h = connect(server)
    h.send(bad)
    assert h.wait_closed()
    assert h.goaway is not None and h.goaway != 0
    h.close()


# ---- malformed gRPC requests ----------------------------------------------------------------


def test_raw_request_works(server):
    """The hand-made client itself: a correct unary call succeeds."""
    h = connect(server)
    h.request(1, grpc_message(ECHO))
    s = h.wait_stream(1)
    assert s.header(":status") == "200" and s.grpc_status == 0
    assert s.header("content-type").startswith("application/grpc")
    # one length-prefixed EchoResponse
    assert s.data[0] == 0 and int.from_bytes(s.data[1:5], "big") == len(s.data) - 5
    r = pb.EchoResponse.FromString(s.data[5:])
    assert r.message == "raw"
    # the connection goes on: a second call on stream 3, the message split in
    # several DATA frames
    msg = grpc_message(pb.EchoRequest(message="split").SerializeToString())
    h.send(frame(HEADERS, END_HEADERS, 3, hpack_encode(request_headers())) +
           b"".join(frame(DATA, 0, 3, msg[i:i + 1]) for i in range(len(msg))) +
           frame(DATA, END_STREAM, 3))
    s = h.wait_stream(3)
    assert s.grpc_status == 0 and pb.EchoResponse.FromString(s.data[5:]).message == "split"
    h.close()


@pytest.mark.parametrize("body,code", [
    (grpc_message(ECHO, flag=7), 13),  # compressed flag other than 0/1
    (grpc_message(ECHO, flag=1), 13),  # compressed without grpc-encoding
    (grpc_message(ECHO, length=len(ECHO) + 100), 13),  # ends inside the message
    (grpc_message(ECHO)[:3], 13),  # ends inside the 5-byte prefix
    (grpc_message(ECHO) * 2, 13),  # two messages for a unary call
    (b"", 13),  # no message at all
    (grpc_message(b"\xff\xff\xff"), 13),  # not protobuf
    (grpc_message(ECHO, length=0xFFFFFFFF), 8),  # announces 4 GiB
    (grpc_message(ECHO, length=(4 << 20) + 1), 8),  # just above the 4 MiB limit
], ids=["flag-7", "flag-1", "short-body", "short-prefix", "two-messages", "no-message",
        "not-protobuf", "4gib", "4mib+1"])
def test_bad_grpc_framing(server, body, code):
    h = connect(server)
    h.request(1, body)
    s = h.wait_stream(1)
    assert s.ended and s.header(":status") == "200"
    assert s.grpc_status == code, s.headers
    assert s.header("grpc-message")
    assert s.data == b""  # no response message
    # the connection is still good for the next call
    h.request(3, grpc_message(ECHO))
    s = h.wait_stream(3)
    assert s.grpc_status == 0 and pb.EchoResponse.FromString(s.data[5:]).message == "raw"
    h.close()


def test_bad_framing_on_streaming_calls(server):
    h = connect(server)
    # a bidi call gets a good message, then a bad prefix, and keeps the stream
    # open: the server answers the good one, then ends the call with INTERNAL
    # and resets our half of the stream
    h.request(1, grpc_message(ECHO) + grpc_message(ECHO, flag=7),
              headers=request_headers("/mvirt.test.Echo/Bidi"), end_stream=False)
    s = h.wait_stream(1)
    assert s.grpc_status == 13
    assert pb.EchoResponse.FromString(s.data[5:]).message == "raw"
    # a client stream whose message is not an EchoRequest
    h.request(3, grpc_message(ECHO) + grpc_message(b"\x0a\x05ab"),
              headers=request_headers("/mvirt.test.Echo/ClientStream"))
    assert h.wait_stream(3).grpc_status == 13
    # the handlers learnt that their calls ended
    assert wait_stats(server, "cancelled=2 active=0") == "cancelled=2 active=0"
    h.close()


def test_not_a_grpc_request(server):
    h = connect(server)
    h.request(1, headers=request_headers(method="GET"))
    s = h.wait_stream(1)
    assert s.header(":status") == "405"
    h.request(3, grpc_message(ECHO), headers=request_headers(content_type="text/plain"))
    s = h.wait_stream(3)
    assert s.header(":status") == "415"
    # "application/grpc+proto" is a gRPC content type
    h.request(5, grpc_message(ECHO), headers=request_headers(
        content_type="application/grpc+proto"))
    assert h.wait_stream(5).grpc_status == 0
    # missing :path (a malformed request: nghttp2 resets it)
    h.send(frame(HEADERS, END_HEADERS | END_STREAM, 7, hpack_encode(
        [(":method", "POST"), (":scheme", "http"), (":authority", "x"),
         ("content-type", "application/grpc")])))
    s = h.wait_stream(7)
    assert s.rst is not None or s.grpc_status not in (None, 0)
    h.request(9, grpc_message(ECHO))
    assert h.wait_stream(9).grpc_status == 0
    h.close()


def test_unsupported_encoding(server):
    h = connect(server)
    h.request(1, grpc_message(ECHO, flag=1),
              headers=request_headers(extra=[("grpc-encoding", "gzip")]))
    assert h.wait_stream(1).grpc_status == 12
    h.close()
    # grpcio with compression: refused the same way, not misread
    with server.channel() as ch:
        with pytest.raises(grpc.RpcError) as e:
            g.EchoStub(ch).Unary(pb.EchoRequest(message="z" * 1000), timeout=TIMEOUT,
                                 compression=grpc.Compression.Gzip)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_grpc_timeout_header(server):
    h = connect(server)
    # malformed values are ignored: the call runs without a deadline
    for sid, value in ((1, "abc"), (3, "123456789S"), (5, "10x"), (7, "")):
        h.request(sid, grpc_message(ECHO),
                  headers=request_headers(extra=[("grpc-timeout", value)]))
        assert h.wait_stream(sid).grpc_status == 0, value
    # a tiny deadline on a call that never answers
    h.request(9, grpc_message(ECHO), headers=request_headers(
        "/mvirt.test.Echo/Hang", extra=[("grpc-timeout", "1m")]))
    s = h.wait_stream(9)
    assert s.grpc_status == 4
    h.close()


def send_header_block(h, stream_id, block, end_stream=False):
    """HEADERS and CONTINUATION frames of at most 16 KiB (the default maximum)."""
    chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
    out = b""
    for i, chunk in enumerate(chunks):
        flags = END_HEADERS if i == len(chunks) - 1 else 0
        if i == 0:
            out += frame(HEADERS, flags | (END_STREAM if end_stream else 0), stream_id, chunk)
        else:
            out += frame(CONTINUATION, flags, stream_id, chunk)
    h.send_quietly(out)


def test_large_headers(server):
    """Header blocks over CONTINUATION frames; what is too large (a field
    above 64 KiB, a block of too many frames, a frame above the maximum
    frame size) ends the connection, not the server. (The advertised 16 KiB
    SETTINGS_MAX_HEADER_LIST_SIZE is advisory: nghttp2 accepts more.)"""
    h = connect(server)
    for sid, extra in ((1, [("x-%d" % i, "v" * 1000) for i in range(12)]),
                       (3, [("x-big", "v" * 40000)])):
        send_header_block(h, sid, hpack_encode(request_headers(extra=extra)))
        h.send(frame(DATA, END_STREAM, sid, grpc_message(ECHO)))
        s = h.wait_stream(sid)
        assert s.grpc_status == 0, s.headers
    h.close()
    for block in (hpack_encode(request_headers(extra=[("x-big", "v" * 70000)])),
                  hpack_encode(request_headers(extra=[("x-%d" % i, "v" * 1000)
                                                      for i in range(1000)]))):
        h = connect(server)
        send_header_block(h, 1, block)
        h.send_quietly(frame(DATA, END_STREAM, 1, grpc_message(ECHO)))
        assert h.wait_closed() and not h.stream(1).headers
        h.close()
    h = connect(server)
    h.send(frame(HEADERS, END_HEADERS, 1, hpack_encode(request_headers(
        extra=[("x-big", "v" * 40000)]))))
    assert h.wait_closed() and h.goaway == 6  # FRAME_SIZE_ERROR
    h.close()


# ---- invalid protobuf through grpcio ------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"\xff\xff\xff",  # truncated varint tag
    b"\x0a\x05ab",  # string field longer than the message
    b"\x08\x01",  # field 1 (a string) as a varint
    b"\x00",  # field number 0
], ids=["bad-varint", "short-string", "wrong-wiretype", "field-0"])
def test_invalid_protobuf(server, body):
    with server.channel() as ch:
        call = ch.unary_unary(UNARY, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as e:
            call(body, timeout=TIMEOUT)
        assert e.value.code() == grpc.StatusCode.INTERNAL
        # unknown fields are fine (proto3)
        r = call(ECHO + b"\xf8\x3f\x01", timeout=TIMEOUT)
        assert pb.EchoResponse.FromString(r).message == "raw"


# ---- abandoned calls and connections --------------------------------------------------------


def test_rst_stream_cancels(server):
    h = connect(server)
    h.request(1, grpc_message(ECHO), headers=request_headers("/mvirt.test.Echo/Hang"))
    assert wait_stats(server, "cancelled=0 active=1") == "cancelled=0 active=1"
    h.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))  # CANCEL
    assert wait_stats(server, "cancelled=1 active=0") == "cancelled=1 active=0"
    # RST_STREAM of a stream that does not exist (closed or idle)
    h.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
    h.request(3, grpc_message(ECHO))
    assert h.wait_stream(3).grpc_status == 0
    h.close()


def test_connection_dropped_with_open_calls(server):
    """Calls of a connection that disappears are cancelled: a hanging one, a
    half-sent client stream, and a large stream the client never reads."""
    h = connect(server)
    h.request(1, grpc_message(ECHO), headers=request_headers("/mvirt.test.Echo/Hang"))
    h.request(3, grpc_message(ECHO), headers=request_headers("/mvirt.test.Echo/ClientStream"),
              end_stream=False)
    h.request(5, grpc_message(pb.EchoRequest(count=200, response_size=65536)
                              .SerializeToString()),
              headers=request_headers("/mvirt.test.Echo/ServerStream"))
    # stream 5 stops on the flow-control windows (we send no WINDOW_UPDATE)
    assert wait_stats(server, "cancelled=0 active=3") == "cancelled=0 active=3"
    h.close()
    assert wait_stats(server, "cancelled=3 active=0") == "cancelled=3 active=0"


def test_slow_reader_then_close(server):
    """A client that reads nothing while a big response is queued, then
    closes: the server's writes hit EAGAIN and it must not block or spin."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(server.socket_path)
    hdrs = hpack_encode(request_headers("/mvirt.test.Echo/ServerStream"))
    body = grpc_message(pb.EchoRequest(count=100, response_size=65536).SerializeToString())
    # big windows, so that the server may queue megabytes on the socket
    s.sendall(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0x7FFFFFFF)) +
              frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF - 65535)) +
              frame(HEADERS, END_HEADERS, 1, hdrs) + frame(DATA, END_STREAM, 1, body))
    assert wait_stats(server, "cancelled=0 active=1") == "cancelled=0 active=1"
    # other clients are served meanwhile
    assert_serving(server)
    s.close()
    assert wait_stats(server, "cancelled=1 active=0") == "cancelled=1 active=0"


def test_many_streams_on_raw_connection(server):
    """Exceeding nothing: 300 unary calls opened back to back on one
    connection before reading any answer."""
    h = connect(server)
    out = b""
    for i in range(300):
        body = grpc_message(pb.EchoRequest(message=str(i)).SerializeToString())
        out += frame(HEADERS, END_HEADERS, 1 + 2 * i, hpack_encode(request_headers())) + \
            frame(DATA, END_STREAM, 1 + 2 * i, body)
    h.send(out)
    for i in range(300):
        s = h.wait_stream(1 + 2 * i)
        assert s.grpc_status == 0 and pb.EchoResponse.FromString(s.data[5:]).message == str(i)
    h.close()


def test_request_trailers_and_odd_endings(server):
    """Unusual but valid: the client ends its stream with a trailing HEADERS
    frame instead of an END_STREAM DATA frame; empty DATA frames; padding."""
    h = connect(server)
    h.send(frame(HEADERS, END_HEADERS, 1, hpack_encode(request_headers())) +
           frame(DATA, 0, 1, grpc_message(ECHO)) +
           frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack_encode([("x-trailer", "1")])))
    s = h.wait_stream(1)
    assert s.grpc_status == 0 and pb.EchoResponse.FromString(s.data[5:]).message == "raw"
    body = grpc_message(ECHO)
    h.send(frame(HEADERS, END_HEADERS, 3, hpack_encode(request_headers())) +
           frame(DATA, 0, 3) + frame(DATA, PADDED, 3, b"\x04" + body + b"\x00" * 4) +
           frame(DATA, END_STREAM, 3))
    s = h.wait_stream(3)
    assert s.grpc_status == 0 and pb.EchoResponse.FromString(s.data[5:]).message == "raw"
    # a client-streaming call that is all in the HEADERS frame: no messages
    h.send(frame(HEADERS, END_HEADERS | END_STREAM, 5,
                 hpack_encode(request_headers("/mvirt.test.Echo/ClientStream"))))
    s = h.wait_stream(5)
    assert s.grpc_status == 0 and pb.EchoResponse.FromString(s.data[5:]).index == 0
    # a deadline far away is no deadline to worry about
    h.request(7, grpc_message(ECHO), headers=request_headers(
        extra=[("grpc-timeout", "99999999H")]))
    assert h.wait_stream(7).grpc_status == 0
    h.close()


def test_max_concurrent_streams(server):
    """The server allows 1000 open streams per connection: stream 1001 is
    refused, the first 1000 are served."""
    h = connect(server)
    hang = hpack_encode(request_headers("/mvirt.test.Echo/Hang"))
    body = frame(DATA, END_STREAM, 0, grpc_message(ECHO))
    h.send(b"".join(frame(HEADERS, END_HEADERS, 1 + 2 * i, hang) +
                    body[:5] + struct.pack(">I", 1 + 2 * i) + body[9:]
                    for i in range(1001)))
    s = h.wait_stream(1 + 2 * 1000)
    assert s.rst in (1, 7), (s.rst, s.headers)  # PROTOCOL_ERROR or REFUSED_STREAM
    assert not h.closed
    assert wait_stats(server, "cancelled=0 active=1000") == "cancelled=0 active=1000"
    h.close()
    assert wait_stats(server, "cancelled=1000 active=0") == "cancelled=1000 active=0"


def test_shutdown_with_garbage_connections(echo_server):
    """SIGTERM while connections sit in odd states (half a preface, half a
    frame, nothing sent, a finished call): the server closes them and exits
    cleanly (the fixture checks the exit status)."""
    conns = []
    for data in (b"", PREFACE[:10], PREFACE + frame(SETTINGS, 0, 0)[:4],
                 PREFACE + frame(SETTINGS, 0, 0)):
        h = H2(echo_server.socket_path)
        h.send(data)
        conns.append(h)
    h = connect(echo_server)
    h.request(1, grpc_message(ECHO))
    assert h.wait_stream(1).grpc_status == 0
    conns.append(h)
    echo_server.proc.send_signal(signal.SIGTERM)
    assert echo_server.proc.wait(timeout=TIMEOUT) == 0
    for h in conns:
        assert h.wait_closed()
        h.close()
    # a connection with a finished handshake learnt why: GOAWAY(NO_ERROR)
    assert conns[-1].goaway == 0
