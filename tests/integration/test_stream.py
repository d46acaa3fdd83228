"""The storage daemon's image stream readers, through the unpack tool (zfs/unpack.c).

Inputs are made by the real gzip and xz tools and the expected output by
zcat/xzcat, independent implementations; the source hash is checked against
sha256sum. Truncated, corrupted, mislabelled and oversized inputs must fail
with a clear message and a non-zero exit, and all-zero blocks must stay holes.
"""
import os
import subprocess

import pytest

from conftest import SANITIZER_MARKERS, binary

BLOCK = 64 * 1024


def run(*args, check=True):
    p = subprocess.run([binary("unpack"), *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    if check:
        assert p.returncode == 0, p.stderr
    return p


def sh(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, timeout=120, **kw).stdout


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    """An 8 MiB 'disk': random, text-like and all-zero 64 KiB blocks."""
    d = tmp_path_factory.mktemp("stream")
    rnd = os.urandom(BLOCK * 16)
    blocks = []
    for i in range(128):
        kind = i % 4
        if kind == 0:
            blocks.append(rnd[(i // 4 % 16) * BLOCK:(i // 4 % 16 + 1) * BLOCK])
        elif kind == 1:
            blocks.append(((b"mvirt block %d\n" % i) * BLOCK)[:BLOCK])
        else:
            blocks.append(bytes(BLOCK))
    data = b"".join(blocks)
    assert len(data) == 128 * BLOCK
    # a tail that is not a whole block, and ends in zeros
    data += b"tail" + bytes(1000)
    path = d / "disk.img"
    path.write_bytes(data)
    return path


def sha256sum(path):
    return sh(["sha256sum", str(path)]).split()[0].decode()


def check_unpacked(src, expected, out):
    p = run("--sha256", src, out)
    assert out.read_bytes() == expected
    assert p.stdout.strip() == sha256sum(src)
    return p


def check_sparse(out, size):
    st = os.stat(out)
    assert st.st_size == size
    # half of the 64 KiB blocks are zero: they must not be allocated
    assert st.st_blocks * 512 <= size * 0.6, (st.st_blocks, size)


@pytest.mark.parametrize("compress,suffix", [
    (["gzip", "-c"], ".gz"),
    (["gzip", "-1", "-c", "--no-name"], ".gz"),
    (["xz", "-c"], ".xz"),
    (["xz", "-c", "-T2", "--block-size=1MiB"], ".xz"),
    (["xz", "-c", "--check=sha256"], ".xz"),
    (["xz", "-c", "--check=crc32", "-0"], ".xz"),
    (["xz", "-c", "--check=none"], ".xz"),
])
def test_compressed_matches_peer(disk, tmp_path, compress, suffix):
    src = tmp_path / ("disk.img" + suffix)
    src.write_bytes(sh(compress + [str(disk)]))
    expected = sh(["zcat" if suffix == ".gz" else "xzcat", str(src)])
    assert expected == disk.read_bytes()
    out = tmp_path / "out.raw"
    p = check_unpacked(src, expected, out)
    check_sparse(out, len(expected))
    assert f"{os.path.getsize(src)} source bytes" in p.stderr


def test_multiblock_xz_has_blocks(disk, tmp_path):
    src = tmp_path / "disk.xz"
    src.write_bytes(sh(["xz", "-c", "-T2", "--block-size=1MiB", str(disk)]))
    listing = sh(["xz", "--robot", "--list", str(src)]).decode()
    stream_line = [l for l in listing.splitlines() if l.startswith("file")][0]
    assert int(stream_line.split("\t")[2]) > 1  # blocks
    check_unpacked(src, disk.read_bytes(), tmp_path / "out")


@pytest.mark.parametrize("tool,suffix", [("gzip", ".gz"), ("xz", ".xz")])
def test_concatenated(disk, tmp_path, tool, suffix):
    a = tmp_path / ("a" + suffix)
    b = tmp_path / ("b" + suffix)
    a.write_bytes(sh([tool, "-c", str(disk)]))
    b.write_bytes(sh([tool, "-c"], input=b"second part\n" * 5000))
    both = tmp_path / ("both" + suffix)
    both.write_bytes(a.read_bytes() + b.read_bytes())
    expected = sh(["zcat" if tool == "gzip" else "xzcat", str(both)])
    assert expected == disk.read_bytes() + b"second part\n" * 5000
    check_unpacked(both, expected, tmp_path / "out")


def test_raw_and_img(disk, tmp_path):
    for name in ("disk.raw", "disk.img", "disk"):
        src = tmp_path / name
        src.write_bytes(disk.read_bytes())
        out = tmp_path / "out"
        check_unpacked(src, disk.read_bytes(), out)
        check_sparse(out, os.path.getsize(disk))


def test_empty_raw(tmp_path):
    src = tmp_path / "empty.raw"
    src.write_bytes(b"")
    out = tmp_path / "out"
    p = run("--sha256", src, out)
    assert out.read_bytes() == b""
    assert p.stdout.strip() == sha256sum(src)


def fails(src, out, *args, expect):
    p = run(*args, src, out, check=False)
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""
    line = p.stderr.strip()
    assert "\n" not in line and expect in line, line
    return line


@pytest.mark.parametrize("tool,suffix", [("gzip", ".gz"), ("xz", ".xz")])
def test_truncated(disk, tmp_path, tool, suffix):
    packed = sh([tool, "-c", str(disk)])
    for cut in (0, 1, 10, len(packed) // 2, len(packed) - 1):
        src = tmp_path / ("t" + suffix)
        src.write_bytes(packed[:cut])
        if cut < 6:
            # too short for the magic: the name's format is refused
            fails(src, tmp_path / "out", expect="does not match")
        else:
            fails(src, tmp_path / "out", "--sha256", expect="truncated")


@pytest.mark.parametrize("tool,suffix", [("gzip", ".gz"), ("xz", ".xz")])
def test_corrupted(disk, tmp_path, tool, suffix):
    packed = bytearray(sh([tool, "-c", str(disk)]))
    for at in (len(packed) // 3, len(packed) - 6):
        bad = bytearray(packed)
        bad[at] ^= 0x20
        src = tmp_path / ("c" + suffix)
        src.write_bytes(bytes(bad))
        # the peer agrees that it is broken
        assert subprocess.run([tool, "-t", str(src)], capture_output=True).returncode != 0
        fails(src, tmp_path / "out", expect="corrupt")


@pytest.mark.parametrize("tool,suffix", [("gzip", ".gz"), ("xz", ".xz")])
def test_trailing_garbage(disk, tmp_path, tool, suffix):
    src = tmp_path / ("g" + suffix)
    src.write_bytes(sh([tool, "-c", str(disk)]) + b"this is not compressed data\n")
    fails(src, tmp_path / "out", expect="garbage")


def test_xz_memory_limit(disk, tmp_path):
    src = tmp_path / "big.xz"
    src.write_bytes(sh(["xz", "-9", "-c", str(disk)]))  # 64 MiB dictionary
    line = fails(src, tmp_path / "out", "--xz-memlimit", "16", expect="limit of 16 MiB")
    assert "needs 65 MiB" in line
    check_unpacked(src, disk.read_bytes(), tmp_path / "out")


def test_mislabelled(disk, tmp_path):
    src = tmp_path / "disk.gz"
    src.write_bytes(sh(["xz", "-c", str(disk)]))
    fails(src, tmp_path / "out", expect="does not match")
    src = tmp_path / "disk.xz"
    src.write_bytes(disk.read_bytes())
    fails(src, tmp_path / "out", expect="does not match")


def test_qcow2_refused(tmp_path):
    src = tmp_path / "disk.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(src), "1M"], check=True)
    fails(src, tmp_path / "out", expect="qcow2")


def test_bad_usage(tmp_path):
    p = run(check=False)
    assert p.returncode == 2
    p = run(tmp_path / "missing.gz", tmp_path / "out", check=False)
    assert p.returncode == 1 and "No such file" in p.stderr
