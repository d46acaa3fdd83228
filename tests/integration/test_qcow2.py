"""Our qcow2 reader (zfs/qcow2.c, through zfs/qcow2_to_raw) against qemu-img.

Images are made by qemu-img and qemu-io, an independent implementation:
versions 2 (compat 0.10) and 3 (compat 1.1), clusters of 4 KiB, 64 KiB and
2 MiB, data, zero clusters and compressed clusters. Each is converted by our
tool and by `qemu-img convert -O raw`, and the outputs must be identical
byte for byte; ours must stay sparse. Images we must refuse (backing file,
encryption, external data file, zstd, subclusters) fail with a clear line.
"""
import os
import shutil
import subprocess

import pytest

from conftest import SANITIZER_MARKERS, binary

pytestmark = pytest.mark.skipif(not shutil.which("qemu-img") or not shutil.which("qemu-io"),
                                reason="qemu-utils is not installed")

MiB = 1 << 20


def run(*argv, check=True):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"{argv}: {p.stderr}"
    return p


def to_raw(image, out, check=True):
    p = run(binary("qcow2_to_raw"), image, out, check=False)
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    if check:
        assert p.returncode == 0, p.stderr
    return p


def same_as_qemu(tmp_path, image):
    ours, theirs = tmp_path / "ours.raw", tmp_path / "qemu.raw"
    to_raw(image, ours)
    run("qemu-img", "convert", "-O", "raw", image, theirs)
    assert os.path.getsize(ours) == os.path.getsize(theirs)
    with open(ours, "rb") as a, open(theirs, "rb") as b:
        while True:
            x, y = a.read(MiB), b.read(MiB)
            assert x == y, f"{image}: output differs from qemu-img near offset {a.tell()}"
            if not x:
                break
    return ours


def qemu_io(image, *commands):
    argv = ["qemu-io", "-f", "qcow2"]
    for c in commands:
        argv += ["-c", c]
    run(*argv, image)


COMPAT = [("0.10", 2), ("1.1", 3)]
CLUSTERS = ["4k", "64k", "2M"]


@pytest.mark.parametrize("compat,version", COMPAT)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_data_and_holes(tmp_path, compat, version, cluster):
    image = tmp_path / "a.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o",
        f"compat={compat},cluster_size={cluster}", image, "64M")
    qemu_io(image, "write -P 0xab 1M 64k", "write -P 0x5a 5000k 3k",
            "write -P 0x01 63M 1M", "write -P 0x00 20M 128k")
    if version == 3:
        qemu_io(image, "write -z 1M 32k", "write -z 40M 4M")
    ours = same_as_qemu(tmp_path, image)
    # sparse: about 1.1 MiB of data in 64 MiB (the zeros written as data are holes)
    assert os.stat(ours).st_blocks * 512 < 4 * MiB


@pytest.mark.parametrize("compat,version", COMPAT)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_compressed(tmp_path, compat, version, cluster):
    raw = tmp_path / "src.raw"
    with open(raw, "wb") as f:
        # patterned data that compresses, a stretch of zeros, and a tail that
        # does not fill its cluster (virtual size not cluster aligned)
        for i in range(12):
            f.write(bytes((j * (i + 3)) % 251 for j in range(256)) * 4096)
        f.write(bytes(3 * MiB))
        f.write(os.urandom(300 * 1024 + 512))
    image = tmp_path / "c.qcow2"
    run("qemu-img", "convert", "-c", "-O", "qcow2", "-o",
        f"compat={compat},cluster_size={cluster}", raw, image)
    ours = same_as_qemu(tmp_path, image)
    with open(ours, "rb") as a, open(raw, "rb") as b:
        assert a.read() == b.read()


def test_large_sparse_image(tmp_path):
    """A 1 TiB image with a little data converts quickly and stays sparse."""
    image = tmp_path / "big.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", image, "1T")
    qemu_io(image, "write -P 0x42 0 64k", "write -P 0x43 700G 64k")
    out = tmp_path / "big.raw"
    to_raw(image, out)
    st = os.stat(out)
    assert st.st_size == 1 << 40
    assert st.st_blocks * 512 <= 1 * MiB
    with open(out, "rb") as f:
        assert f.read(65536) == b"\x42" * 65536
        f.seek(700 << 30)
        assert f.read(65536) == b"\x43" * 65536


def refused(tmp_path, image, *needles):
    p = to_raw(image, tmp_path / "out.raw", check=False)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in lines[0], p.stderr


def test_refuses_backing_file(tmp_path):
    base = tmp_path / "base.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", base, "16M")
    top = tmp_path / "top.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top)
    refused(tmp_path, top, "backing files are not supported", str(base))


def test_refuses_luks_encryption(tmp_path):
    image = tmp_path / "enc.qcow2"
    p = run("qemu-img", "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=pw",
            "-o", "encrypt.format=luks,encrypt.key-secret=sec0", image, "16M", check=False)
    if p.returncode != 0:
        pytest.skip(f"qemu-img cannot create LUKS images here: {p.stderr.strip()}")
    refused(tmp_path, image, "encrypted images are not supported (LUKS")


def test_refuses_external_data_file(tmp_path):
    image = tmp_path / "ext.qcow2"
    data = tmp_path / "ext.data"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", f"data_file={data}", image, "16M")
    refused(tmp_path, image, "external data files are not supported", str(data))


def test_refuses_zstd(tmp_path):
    image = tmp_path / "zstd.qcow2"
    p = run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compression_type=zstd",
            image, "16M", check=False)
    if p.returncode != 0:
        pytest.skip(f"qemu-img has no zstd: {p.stderr.strip()}")
    refused(tmp_path, image, "compression type 1 is not supported")


def test_refuses_subclusters(tmp_path):
    image = tmp_path / "l2.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", image, "16M")
    refused(tmp_path, image, "extended L2 entries")


def test_refuses_other_formats(tmp_path):
    raw = tmp_path / "plain.raw"
    raw.write_bytes(bytes(MiB))
    refused(tmp_path, raw, "not a qcow2 image")
    vmdk = tmp_path / "x.vmdk"
    run("qemu-img", "create", "-q", "-f", "vmdk", vmdk, "16M")
    refused(tmp_path, vmdk, "not a qcow2 image")


def test_snapshots_ignored(tmp_path):
    """Internal snapshots do not matter: the active layer is what we read."""
    image = tmp_path / "snap.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", image, "8M")
    qemu_io(image, "write -P 0x11 0 1M")
    run("qemu-img", "snapshot", "-c", "s1", image)
    qemu_io(image, "write -P 0x22 512k 1M")
    same_as_qemu(tmp_path, image)
