"""mvirt-zfs's volume, snapshot, template (all but import), clone and pool
RPCs seen by Python grpcio (api.md section 4.4), against real ZFS: the
session's zfs-fuse pool, file layout (a dataset per volume holding a sparse
disk.raw).

Every test checks what really happened besides the reply: the bytes of the
volumes' disk files, and what `zfs list`/`zfs get` show in the pool. Images
are a few MiB so that the file stays quick on zfs-fuse.
"""
import contextlib
import os
import re
import threading
import time

import grpc
import pytest

from conftest import ZfsDaemon, start_log_daemon
from zfs_pool import destroy_dataset, run

import log_pb2 as lpb
import log_pb2_grpc as lg
import zfs_pb2 as pb
import zfs_pb2_grpc as g

MiB = 1 << 20
TIMEOUT = 60
AUDIT = 4
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00$")
NAME_RULE = "1-63 chars of [A-Za-z0-9._-], starting alphanumeric"
BAD_NAMES = ["-a", ".a", "_a", "a" * 64, "a/b", "a b", "a@b", "caf\u00e9", "a\nb", "a:b"]

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
EXISTS = grpc.StatusCode.ALREADY_EXISTS
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
INTERNAL = grpc.StatusCode.INTERNAL


# ---- helpers ----------------------------------------------------------------

@contextlib.contextmanager
def zfs_daemon_with(zfs_pool, tmpdir, *extra):
    """Like conftest's zfs_daemon fixture, with extra daemon arguments: a
    running mvirt-zfs on a fresh dataset, which must exit cleanly; its
    dataset is destroyed afterwards."""
    d = ZfsDaemon(zfs_pool, tmpdir, *extra)
    try:
        yield d
        d.assert_clean_exit()
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.destroy_dataset()


@pytest.fixture
def daemon(zfs_pool, tmp_path):
    """conftest's zfs_daemon without auditing: the tests that do not look
    at the audit trail would otherwise wait at every exit for the audit
    queue's flush to a log daemon that is not there."""
    with zfs_daemon_with(zfs_pool, tmp_path, "--log-endpoint", "none") as d:
        yield d


@pytest.fixture
def zs(daemon):
    ch = daemon.channel()
    yield g.ZfsServiceStub(ch)
    ch.close()


def fails(rpc, req, code, message=None, match=None):
    """Call rpc(req), which must fail with code (and exactly message, or a
    message matching the regex match); returns the message."""
    with pytest.raises(grpc.RpcError) as ei:
        rpc(req, timeout=TIMEOUT)
    e = ei.value
    assert e.code() == code, (e.code(), e.details())
    if message is not None:
        assert e.details() == message
    if match is not None:
        assert re.search(match, e.details()), e.details()
    return e.details()


def create(zs, name, size=4 * MiB, **kw):
    return zs.CreateVolume(pb.CreateVolumeRequest(name=name, size_bytes=size, **kw),
                           timeout=TIMEOUT)


def snapshot(zs, volume, name):
    return zs.CreateSnapshot(pb.CreateSnapshotRequest(volume_name=volume, snapshot_name=name),
                             timeout=TIMEOUT)


def promote(zs, volume, snap, template):
    return zs.PromoteSnapshotToTemplate(
        pb.PromoteSnapshotRequest(volume_name=volume, snapshot_name=snap, template_name=template),
        timeout=TIMEOUT)


def clone(zs, template, name, size=None):
    req = pb.CloneFromTemplateRequest(template_name=template, new_volume_name=name)
    if size is not None:
        req.size_bytes = size
    return zs.CloneFromTemplate(req, timeout=TIMEOUT)


def get(zs, name):
    return zs.GetVolume(pb.GetVolumeRequest(name=name), timeout=TIMEOUT)


def delete(zs, name):
    r = zs.DeleteVolume(pb.DeleteVolumeRequest(name=name), timeout=TIMEOUT)
    assert r.deleted is True


def templates(zs):
    return list(zs.ListTemplates(pb.ListTemplatesRequest(), timeout=TIMEOUT).templates)


def write_disk(vol, offset, data):
    """Write data into the volume's disk file, durably."""
    fd = os.open(vol.path, os.O_WRONLY)
    try:
        assert os.pwrite(fd, data, offset) == len(data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_disk(vol, offset=0, length=None):
    with open(vol.path, "rb") as f:
        f.seek(offset)
        return f.read() if length is None else f.read(length)


def datasets(root):
    """Every dataset and snapshot below root, as names relative to it."""
    out = run(["zfs", "list", "-H", "-r", "-t", "all", "-o", "name", root]).stdout.split()
    return {n[len(root):].lstrip("/") for n in out if n != root}


def volume_datasets(root):
    """The volume datasets (no .base/.tmp, no snapshots) below root."""
    return {n for n in datasets(root) if "@" not in n and not n.startswith(".")}


def zfs_get(name, prop):
    return run(["zfs", "get", "-Hp", "-o", "value", prop, name]).stdout.strip()


def zfs_bytes(name, prop):
    return int(zfs_get(name, prop))


def check_volume(d, v, name, size, blocksize=16384):
    """blocksize None: not checked (clones, see test_clone_keeps_block_size)"""
    assert UUID_RE.match(v.id), v.id
    assert v.name == name
    assert v.volsize_bytes == size
    if blocksize is not None:
        assert v.volblocksize == blocksize
    assert TIME_RE.match(v.created_at), v.created_at
    assert v.compression_ratio >= 1.0
    # the file layout: <mount root>/<id>/disk.raw, sparse, of the real size
    assert os.path.realpath(v.path).startswith(os.path.realpath(d.mount_root) + "/")
    assert os.path.basename(v.path) == "disk.raw"
    assert os.stat(v.path).st_size == size
    assert zfs_get(f"{d.pool}/{v.id}", "type") == "filesystem"


# ---- pool --------------------------------------------------------------------

def test_pool_stats(daemon, zs):
    d = daemon
    s = zs.GetPoolStats(pb.GetPoolStatsRequest(), timeout=TIMEOUT)
    assert s.name == d.pool
    assert s.total_bytes == s.used_bytes + s.available_bytes
    assert s.available_bytes > 100 * MiB
    assert s.provisioned_bytes == 0
    assert s.compression_ratio >= 1.0
    # the figures are the root dataset's, as zfs itself reports them
    avail = zfs_bytes(d.pool, "available")
    assert abs(s.available_bytes - avail) < 16 * MiB, (s.available_bytes, avail)

    create(zs, "a", 4 * MiB)
    create(zs, "b", 6 * MiB + 1)  # rounded up to 512
    snapshot(zs, "a", "s")
    t = promote(zs, "a", "s", "t")
    assert t.size_bytes == 4 * MiB
    s = zs.GetPoolStats(pb.GetPoolStatsRequest(), timeout=TIMEOUT)
    # volumes and template bases, thin provisioned
    assert s.provisioned_bytes == 4 * MiB + (6 * MiB + 512) + 4 * MiB
    assert s.total_bytes == s.used_bytes + s.available_bytes


def test_pool_stats_internal_when_zfs_fails(zfs_pool, tmp_path):
    # a zfs that fails only the query of the root's space figures
    wrapper = tmp_path / "zfs-wrapper"
    wrapper.write_text('#!/bin/sh\n'
                       'case "$*" in *used,available,compressratio*)\n'
                       '  echo "cannot open pool: simulated failure" >&2; exit 1;;\n'
                       'esac\n'
                       'exec zfs "$@"\n')
    wrapper.chmod(0o755)
    with zfs_daemon_with(zfs_pool, tmp_path / "d", "--zfs-bin", str(wrapper)) as d:
        with d.channel() as ch:
            zs = g.ZfsServiceStub(ch)
            fails(zs.GetPoolStats, pb.GetPoolStatsRequest(), INTERNAL,
                  match=f"{re.escape(d.pool)}.*simulated failure")
            # the rest of the service is unaffected
            create(zs, "v", MiB)


# ---- CreateVolume ------------------------------------------------------------

def test_create_volume(daemon, zs):
    d = daemon
    v = create(zs, "vol-1", 4 * MiB)
    check_volume(d, v, "vol-1", 4 * MiB)
    assert volume_datasets(d.pool) == {v.id}
    assert len(v.snapshots) == 0
    # sparse: nothing written yet, the file takes (almost) no blocks
    assert os.stat(v.path).st_blocks * 512 < MiB
    assert read_disk(v, 0, 4096) == bytes(4096)

    # sizes are rounded up to 512 in the file layout
    for name, size, want in (("r1", 1, 512), ("r2", 1000, 1024), ("r3", 512, 512),
                             ("r4", 3 * MiB + 513, 3 * MiB + 1024)):
        v = create(zs, name, size)
        check_volume(d, v, name, want)
        assert get(zs, name).volsize_bytes == want

    # the longest valid name and every allowed character
    for name in ("a" * 63, "A.b_c-9", "0"):
        check_volume(d, create(zs, name, MiB), name, MiB)
    assert len(volume_datasets(d.pool)) == 8

    # a taken name
    fails(zs.CreateVolume, pb.CreateVolumeRequest(name="vol-1", size_bytes=2 * MiB), EXISTS,
          "Volume 'vol-1' already exists")
    assert get(zs, "vol-1").volsize_bytes == 4 * MiB
    assert len(volume_datasets(d.pool)) == 8
    # names are exact: another case is another name
    check_volume(d, create(zs, "VOL-1", MiB), "VOL-1", MiB)


def test_create_volume_volblocksize(daemon, zs):
    d = daemon
    for bs in (512, 4096, 65536, 131072):
        v = create(zs, f"bs{bs}", 2 * MiB, volblocksize=bs)
        check_volume(d, v, f"bs{bs}", 2 * MiB, blocksize=bs)
        # the file layout keeps the block size as the dataset's recordsize
        assert zfs_bytes(f"{d.pool}/{v.id}", "recordsize") == bs
    # a size is rounded up to 512, not to the block size, in this layout
    assert create(zs, "odd", 5000, volblocksize=131072).volsize_bytes == 5120
    before = volume_datasets(d.pool)
    for bs in (0, 1, 256, 1000, 3 * 4096, 262144, 1 << 31, (1 << 32) - 1):
        req = pb.CreateVolumeRequest(name="bad", size_bytes=MiB, volblocksize=bs)
        fails(zs.CreateVolume, req, INVALID,
              match=r"volblocksize .*power of two.*512.*131072")
    assert volume_datasets(d.pool) == before


def test_create_volume_invalid(daemon, zs):
    d = daemon
    fails(zs.CreateVolume, pb.CreateVolumeRequest(size_bytes=MiB), INVALID, "name is required")
    for name in BAD_NAMES:
        fails(zs.CreateVolume, pb.CreateVolumeRequest(name=name, size_bytes=MiB), INVALID,
              f"invalid name '{name}': {NAME_RULE}")
    fails(zs.CreateVolume, pb.CreateVolumeRequest(name="z"), INVALID, "size_bytes must be > 0")
    fails(zs.CreateVolume, pb.CreateVolumeRequest(name="z", size_bytes=0), INVALID,
          "size_bytes must be > 0")
    # the name is checked before the size (first failure wins, in api.md's order)
    fails(zs.CreateVolume, pb.CreateVolumeRequest(name="-z", size_bytes=0), INVALID,
          match="invalid name")
    # absurd sizes: refused cleanly, no overflow in the rounding
    for size in ((1 << 64) - 1, (1 << 64) - 100, 1 << 63, (1 << 60) + 1):
        fails(zs.CreateVolume, pb.CreateVolumeRequest(name="huge", size_bytes=size), INVALID)
    # nothing of the failures is left behind
    assert volume_datasets(d.pool) == set()
    assert not zs.ListVolumes(pb.ListVolumesRequest(), timeout=TIMEOUT).volumes

    # 1 EiB is the documented maximum; whether this ZFS can make such a file
    # or not, a failure leaves nothing behind
    try:
        v = create(zs, "eib", 1 << 60)
    except grpc.RpcError as e:
        assert e.code() in (INTERNAL, grpc.StatusCode.RESOURCE_EXHAUSTED), e.details()
        assert volume_datasets(d.pool) == set()
        fails(zs.GetVolume, pb.GetVolumeRequest(name="eib"), NOT_FOUND)
    else:
        assert v.volsize_bytes == 1 << 60
        assert os.stat(v.path).st_size == 1 << 60
        delete(zs, "eib")
        assert volume_datasets(d.pool) == set()


# ---- ListVolumes / GetVolume ---------------------------------------------------

def test_list_volumes_order_and_missing_dataset(daemon, zs):
    d = daemon
    assert list(zs.ListVolumes(pb.ListVolumesRequest(), timeout=TIMEOUT).volumes) == []
    made = [create(zs, n, MiB * (i + 1)) for i, n in enumerate(("first", "second", "third"))]
    vols = zs.ListVolumes(pb.ListVolumesRequest(), timeout=TIMEOUT).volumes
    assert [v.name for v in vols] == ["third", "second", "first"]
    assert [v.created_at for v in vols] == sorted([v.created_at for v in vols], reverse=True)
    for v, m in zip(vols, reversed(made)):
        assert (v.id, v.path, v.volsize_bytes, v.created_at) == \
            (m.id, m.path, m.volsize_bytes, m.created_at)

    # destroy "second"'s dataset behind the daemon's back
    destroy_dataset(f"{d.pool}/{made[1].id}")
    vols = zs.ListVolumes(pb.ListVolumesRequest(), timeout=TIMEOUT).volumes
    assert [v.name for v in vols] == ["third", "first"]
    fails(zs.GetVolume, pb.GetVolumeRequest(name="second"), INTERNAL,
          "Volume 'second' is missing its dataset")
    # its name stays taken
    fails(zs.CreateVolume, pb.CreateVolumeRequest(name="second", size_bytes=MiB), EXISTS,
          "Volume 'second' already exists")
    # and it can still be deleted, which frees the name
    delete(zs, "second")
    fails(zs.GetVolume, pb.GetVolumeRequest(name="second"), NOT_FOUND,
          "Volume 'second' not found")
    create(zs, "second", MiB)


def test_get_volume(daemon, zs):
    d = daemon
    fails(zs.GetVolume, pb.GetVolumeRequest(), INVALID, "name is required")
    fails(zs.GetVolume, pb.GetVolumeRequest(name="nope"), NOT_FOUND, "Volume 'nope' not found")
    v = create(zs, "g", 2 * MiB)
    create(zs, "other", MiB)
    # lookups are exact and never apply the name rule
    fails(zs.GetVolume, pb.GetVolumeRequest(name="G"), NOT_FOUND, "Volume 'G' not found")
    fails(zs.GetVolume, pb.GetVolumeRequest(name="g "), NOT_FOUND)
    fails(zs.GetVolume, pb.GetVolumeRequest(name="-x/y"), NOT_FOUND, "Volume '-x/y' not found")
    snaps = [snapshot(zs, "g", n) for n in ("zeta", "alpha", "mid")]
    snapshot(zs, "other", "zeta")
    got = get(zs, "g")
    assert (got.id, got.name, got.path, got.volsize_bytes, got.created_at) == \
        (v.id, v.name, v.path, v.volsize_bytes, v.created_at)
    # snapshots: the volume's only, oldest first (not by name)
    assert [s.name for s in got.snapshots] == ["zeta", "alpha", "mid"]
    for s, m in zip(got.snapshots, snaps):
        assert (s.id, s.full_name, s.created_at) == (m.id, m.full_name, m.created_at)
        assert UUID_RE.match(s.id)
        assert s.full_name == f"{d.pool}/{v.id}@{s.id}"
        assert TIME_RE.match(s.created_at)
    assert len({s.id for s in got.snapshots}) == 3
    assert {f"{v.id}@{s.id}" for s in snaps} <= datasets(d.pool)
    # used includes the snapshots' space; it is ZFS's figure
    used = zfs_bytes(f"{d.pool}/{v.id}", "used")
    assert 0 < got.used_bytes and abs(got.used_bytes - used) < 256 * 1024, (got.used_bytes, used)


# ---- DeleteVolume --------------------------------------------------------------

def test_delete_volume(daemon, zs):
    d = daemon
    fails(zs.DeleteVolume, pb.DeleteVolumeRequest(), INVALID, "name is required")
    fails(zs.DeleteVolume, pb.DeleteVolumeRequest(name="nope"), NOT_FOUND,
          "Volume 'nope' not found")
    keep = create(zs, "keep", MiB)
    v = create(zs, "del", 2 * MiB)
    write_disk(v, 0, b"old data" * 64)
    snapshot(zs, "del", "s1")
    snapshot(zs, "del", "s2")
    assert sum(1 for n in datasets(d.pool) if n.startswith(v.id)) == 3
    delete(zs, "del")
    # the dataset and its snapshots are gone, the other volume is untouched
    assert not any(n.startswith(v.id) for n in datasets(d.pool))
    assert volume_datasets(d.pool) == {keep.id}
    assert not os.path.exists(v.path)
    fails(zs.GetVolume, pb.GetVolumeRequest(name="del"), NOT_FOUND)
    fails(zs.DeleteVolume, pb.DeleteVolumeRequest(name="del"), NOT_FOUND)
    fails(zs.ListSnapshots, pb.ListSnapshotsRequest(volume_name="del"), NOT_FOUND)
    # the name is free again, for a new, empty volume with no snapshots
    v2 = create(zs, "del", 2 * MiB)
    assert v2.id != v.id
    assert read_disk(v2, 0, 512) == bytes(512)
    assert list(get(zs, "del").snapshots) == []
    assert [v.name for v in zs.ListVolumes(pb.ListVolumesRequest(), timeout=TIMEOUT).volumes] \
        == ["del", "keep"]


def test_delete_busy_volume_changes_nothing(daemon, zs):
    # a disk held open (as a running VM would) keeps the dataset busy:
    # DeleteVolume refuses, and changes nothing
    d = daemon
    v = create(zs, "busy", MiB)
    write_disk(v, 0, b"kept" * 128)
    s = snapshot(zs, "busy", "s")
    fd = os.open(v.path, os.O_RDWR)
    try:
        fails(zs.DeleteVolume, pb.DeleteVolumeRequest(name="busy"), PRECONDITION, match="busy")
        assert get(zs, "busy").id == v.id
        assert v.id in volume_datasets(d.pool)
        assert os.pread(fd, 512, 0) == b"kept" * 128
        assert f"{v.id}@{s.id}" in datasets(d.pool)
        assert [x.name for x in get(zs, "busy").snapshots] == ["s"]
    finally:
        os.close(fd)
    delete(zs, "busy")
    assert volume_datasets(d.pool) == set()


def test_busy_volume(daemon, zs):
    # the same without snapshots (nothing for destroy -r to lose): refused
    # while the disk is open, and then the volume is intact; and a rollback
    # under an open disk is refused or really rolls back
    d = daemon
    v = create(zs, "busy", MiB)
    write_disk(v, 0, b"kept" * 128)
    fd = os.open(v.path, os.O_RDWR)
    try:
        fails(zs.DeleteVolume, pb.DeleteVolumeRequest(name="busy"), PRECONDITION, match="busy")
        assert get(zs, "busy").id == v.id
        assert v.id in volume_datasets(d.pool)
        assert os.pread(fd, 512, 0) == b"kept" * 128
        os.fsync(fd)
        snapshot(zs, "busy", "s")
        os.pwrite(fd, b"new!" * 128, 0)
        os.fsync(fd)
        try:
            zs.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="busy", snapshot_name="s"),
                                timeout=TIMEOUT)
        except grpc.RpcError as e:
            assert e.code() == PRECONDITION, e.details()
            assert read_disk(v, 0, 512) == b"new!" * 128
        else:
            assert read_disk(v, 0, 512) == b"kept" * 128
    finally:
        os.close(fd)
    delete(zs, "busy")
    assert volume_datasets(d.pool) == set()


# ---- ResizeVolume --------------------------------------------------------------

def test_resize_volume(daemon, zs):
    d = daemon
    v = create(zs, "rs", 4 * MiB)
    data = os.urandom(64 * 1024)
    write_disk(v, 4 * MiB - len(data), data)
    r = zs.ResizeVolume(pb.ResizeVolumeRequest(name="rs", new_size_bytes=6 * MiB + 1),
                        timeout=TIMEOUT)
    assert r.volsize_bytes == 6 * MiB + 512
    assert r.id == v.id and r.name == "rs"
    assert os.stat(v.path).st_size == 6 * MiB + 512
    assert get(zs, "rs").volsize_bytes == 6 * MiB + 512
    # data kept; the new space reads as zeros
    assert read_disk(v, 4 * MiB - len(data), len(data)) == data
    assert read_disk(v, 4 * MiB, 2 * MiB + 512) == bytes(2 * MiB + 512)
    # the same size after rounding: a no-op
    for same in (6 * MiB + 512, 6 * MiB + 1, 6 * MiB + 100):
        r = zs.ResizeVolume(pb.ResizeVolumeRequest(name="rs", new_size_bytes=same),
                            timeout=TIMEOUT)
        assert r.volsize_bytes == 6 * MiB + 512
    assert os.stat(v.path).st_size == 6 * MiB + 512
    # shrinking is refused and changes nothing
    for small in (0, 1, 4 * MiB, 6 * MiB):
        fails(zs.ResizeVolume, pb.ResizeVolumeRequest(name="rs", new_size_bytes=small),
              INVALID, "shrinking is not supported")
    assert os.stat(v.path).st_size == 6 * MiB + 512
    assert read_disk(v, 4 * MiB - len(data), len(data)) == data
    fails(zs.ResizeVolume, pb.ResizeVolumeRequest(name="rs", new_size_bytes=(1 << 64) - 1),
          INVALID)
    fails(zs.ResizeVolume, pb.ResizeVolumeRequest(new_size_bytes=MiB), INVALID,
          "name is required")
    fails(zs.ResizeVolume, pb.ResizeVolumeRequest(name="nope", new_size_bytes=8 * MiB),
          NOT_FOUND, "Volume 'nope' not found")
    assert volume_datasets(d.pool) == {v.id}


# ---- snapshots -----------------------------------------------------------------

def test_snapshot_rollback_restores_data(daemon, zs):
    d = daemon
    v = create(zs, "rb", 4 * MiB)
    first = os.urandom(MiB)
    write_disk(v, MiB, first)
    s = snapshot(zs, "rb", "before")
    assert s.name == "before" and UUID_RE.match(s.id)
    assert s.full_name == f"{d.pool}/{v.id}@{s.id}"
    assert TIME_RE.match(s.created_at)
    assert f"{v.id}@{s.id}" in datasets(d.pool)

    # overwrite the snapshotted data, write elsewhere, and grow the disk
    write_disk(v, MiB, os.urandom(MiB))
    write_disk(v, 3 * MiB, b"\xff" * 4096)
    zs.ResizeVolume(pb.ResizeVolumeRequest(name="rb", new_size_bytes=8 * MiB), timeout=TIMEOUT)
    assert read_disk(v, MiB, MiB) != first

    r = zs.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="rb", snapshot_name="before"),
                            timeout=TIMEOUT)
    assert r.name == "rb" and r.id == v.id
    # byte for byte, and the size the disk had at the snapshot
    assert read_disk(v) == bytes(MiB) + first + bytes(2 * MiB)
    assert r.volsize_bytes == 4 * MiB
    assert get(zs, "rb").volsize_bytes == 4 * MiB
    # the snapshot stays, and can be rolled back to again
    assert [x.name for x in get(zs, "rb").snapshots] == ["before"]
    write_disk(v, 0, b"x" * 512)
    zs.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="rb", snapshot_name="before"),
                        timeout=TIMEOUT)
    assert read_disk(v, 0, 512) == bytes(512)


def test_rollback_refused_when_newer_snapshots_exist(daemon, zs):
    d = daemon
    v = create(zs, "rb", 2 * MiB)
    write_disk(v, 0, b"one" * 100)
    s1 = snapshot(zs, "rb", "s1")
    write_disk(v, 0, b"two" * 100)
    s2 = snapshot(zs, "rb", "s2")
    write_disk(v, 0, b"three" * 100)
    fails(zs.RollbackSnapshot, pb.RollbackSnapshotRequest(volume_name="rb", snapshot_name="s1"),
          PRECONDITION, "newer snapshots exist")
    # nothing was destroyed or rolled back
    assert {f"{v.id}@{s1.id}", f"{v.id}@{s2.id}"} <= datasets(d.pool)
    assert [s.name for s in get(zs, "rb").snapshots] == ["s1", "s2"]
    assert read_disk(v, 0, 500) == b"three" * 100
    # the newest is allowed; after deleting s2, s1 is the newest
    zs.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="rb", snapshot_name="s2"),
                        timeout=TIMEOUT)
    assert read_disk(v, 0, 300) == b"two" * 100
    zs.DeleteSnapshot(pb.DeleteSnapshotRequest(volume_name="rb", snapshot_name="s2"),
                      timeout=TIMEOUT)
    zs.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="rb", snapshot_name="s1"),
                        timeout=TIMEOUT)
    assert read_disk(v, 0, 300) == b"one" * 100

    R = pb.RollbackSnapshotRequest
    fails(zs.RollbackSnapshot, R(snapshot_name="s1"), INVALID, "volume_name is required")
    fails(zs.RollbackSnapshot, R(volume_name="rb"), INVALID, "snapshot_name is required")
    fails(zs.RollbackSnapshot, R(volume_name="nope", snapshot_name="s1"), NOT_FOUND,
          "Volume 'nope' not found")
    fails(zs.RollbackSnapshot, R(volume_name="rb", snapshot_name="s2"), NOT_FOUND,
          "Snapshot 's2' not found")


def test_snapshot_names_and_errors(daemon, zs):
    d = daemon
    C = pb.CreateSnapshotRequest
    a = create(zs, "a", MiB)
    b = create(zs, "b", MiB)
    fails(zs.CreateSnapshot, C(snapshot_name="s"), INVALID, "volume_name is required")
    fails(zs.CreateSnapshot, C(volume_name="a"), INVALID, "snapshot_name is required")
    for name in BAD_NAMES:
        fails(zs.CreateSnapshot, C(volume_name="a", snapshot_name=name), INVALID,
              f"invalid name '{name}': {NAME_RULE}")
    fails(zs.CreateSnapshot, C(volume_name="nope", snapshot_name="s"), NOT_FOUND,
          "Volume 'nope' not found")
    s = snapshot(zs, "a", "s")
    fails(zs.CreateSnapshot, C(volume_name="a", snapshot_name="s"), EXISTS,
          "Snapshot 's' already exists")
    # unique per volume only
    sb = snapshot(zs, "b", "s")
    assert sb.id != s.id
    snapshot(zs, "a", "S")
    snapshot(zs, "a", "a" * 63)
    # exactly the snapshots that succeeded exist in ZFS
    snaps = {n for n in datasets(d.pool) if "@" in n}
    assert len(snaps) == 4
    assert {n.split("@")[0] for n in snaps} == {a.id, b.id}
    assert all(UUID_RE.match(n.split("@")[1]) for n in snaps)


def test_list_and_delete_snapshots(daemon, zs):
    d = daemon
    L = pb.ListSnapshotsRequest
    D = pb.DeleteSnapshotRequest
    v = create(zs, "v", 2 * MiB)
    create(zs, "w", MiB)
    assert list(zs.ListSnapshots(L(volume_name="v"), timeout=TIMEOUT).snapshots) == []
    fails(zs.ListSnapshots, L(), INVALID, "volume_name is required")
    fails(zs.ListSnapshots, L(volume_name="nope"), NOT_FOUND, "Volume 'nope' not found")
    made = []
    for i, n in enumerate(("c", "a", "b")):
        write_disk(v, i * 65536, os.urandom(65536))
        made.append(snapshot(zs, "v", n))
    snapshot(zs, "w", "other")
    listed = zs.ListSnapshots(L(volume_name="v"), timeout=TIMEOUT).snapshots
    assert [s.name for s in listed] == ["c", "a", "b"]
    for s, m in zip(listed, made):
        assert (s.id, s.name, s.full_name, s.created_at) == (m.id, m.name, m.full_name,
                                                            m.created_at)
        assert s.used_bytes == zfs_bytes(s.full_name, "used")

    fails(zs.DeleteSnapshot, D(snapshot_name="a"), INVALID, "volume_name is required")
    fails(zs.DeleteSnapshot, D(volume_name="v"), INVALID, "snapshot_name is required")
    fails(zs.DeleteSnapshot, D(volume_name="nope", snapshot_name="a"), NOT_FOUND,
          "Volume 'nope' not found")
    fails(zs.DeleteSnapshot, D(volume_name="v", snapshot_name="other"), NOT_FOUND,
          "Snapshot 'other' not found")
    assert zs.DeleteSnapshot(D(volume_name="v", snapshot_name="a"), timeout=TIMEOUT).deleted
    assert f"{v.id}@{made[1].id}" not in datasets(d.pool)
    assert {f"{v.id}@{made[0].id}", f"{v.id}@{made[2].id}"} <= datasets(d.pool)
    assert [s.name for s in zs.ListSnapshots(L(volume_name="v"), timeout=TIMEOUT).snapshots] \
        == ["c", "b"]
    fails(zs.DeleteSnapshot, D(volume_name="v", snapshot_name="a"), NOT_FOUND,
          "Snapshot 'a' not found")
    # the name can be taken again: the new one is the newest
    again = snapshot(zs, "v", "a")
    assert again.id != made[1].id
    assert [s.name for s in get(zs, "v").snapshots] == ["c", "b", "a"]
    assert [s.name for s in zs.ListSnapshots(L(volume_name="w"), timeout=TIMEOUT).snapshots] \
        == ["other"]


# ---- templates: promote ----------------------------------------------------------

def test_promote_snapshot_to_template(daemon, zs):
    d = daemon
    P = pb.PromoteSnapshotRequest
    v = create(zs, "src", 4 * MiB)
    data = os.urandom(MiB)
    write_disk(v, 0, data)
    snapshot(zs, "src", "golden")
    # the volume changes and grows after the snapshot
    write_disk(v, 0, os.urandom(MiB))
    zs.ResizeVolume(pb.ResizeVolumeRequest(name="src", new_size_bytes=8 * MiB), timeout=TIMEOUT)

    fails(zs.PromoteSnapshotToTemplate, P(snapshot_name="golden", template_name="t"), INVALID,
          "volume_name is required")
    fails(zs.PromoteSnapshotToTemplate, P(volume_name="src", template_name="t"), INVALID,
          "snapshot_name is required")
    fails(zs.PromoteSnapshotToTemplate, P(volume_name="src", snapshot_name="golden"), INVALID,
          "template_name is required")
    for name in BAD_NAMES:
        fails(zs.PromoteSnapshotToTemplate,
              P(volume_name="src", snapshot_name="golden", template_name=name), INVALID,
              f"invalid name '{name}': {NAME_RULE}")
    fails(zs.PromoteSnapshotToTemplate,
          P(volume_name="nope", snapshot_name="golden", template_name="t"), NOT_FOUND,
          "Volume 'nope' not found")
    fails(zs.PromoteSnapshotToTemplate,
          P(volume_name="src", snapshot_name="nope", template_name="t"), NOT_FOUND,
          "Snapshot 'nope' not found")
    assert not any(n.startswith(".base/") for n in datasets(d.pool))

    t = promote(zs, "src", "golden", "tpl")
    assert UUID_RE.match(t.id)
    assert t.name == "tpl"
    assert t.size_bytes == 4 * MiB  # the snapshot's size, not the volume's 8 MiB
    assert t.source_volume == "src"
    assert t.snapshot_path == f"{d.pool}/.base/{t.id}@img"
    assert t.clone_count == 0
    assert TIME_RE.match(t.created_at)
    assert {f".base/{t.id}", f".base/{t.id}@img"} <= datasets(d.pool)
    assert [(x.id, x.name, x.size_bytes, x.source_volume, x.snapshot_path, x.created_at)
            for x in templates(zs)] == \
        [(t.id, "tpl", 4 * MiB, "src", t.snapshot_path, t.created_at)]

    # a taken name: ALREADY_EXISTS, and nothing new in ZFS
    snapshot(zs, "src", "later")
    before = datasets(d.pool)
    fails(zs.PromoteSnapshotToTemplate,
          P(volume_name="src", snapshot_name="later", template_name="tpl"), EXISTS,
          "Template 'tpl' already exists")
    assert datasets(d.pool) == before

    # the snapshot backs the template
    fails(zs.DeleteSnapshot, pb.DeleteSnapshotRequest(volume_name="src", snapshot_name="golden"),
          PRECONDITION, "snapshot 'golden' is used by template 'tpl'")
    assert [s.name for s in get(zs, "src").snapshots] == ["golden", "later"]

    # a clone has the snapshot's data at the template's size
    c = clone(zs, "tpl", "c1")
    assert c.volsize_bytes == 4 * MiB
    assert read_disk(c) == data + bytes(3 * MiB)

    # the volume can still be deleted (the daemon hands the snapshot to the base)
    delete(zs, "src")
    names = datasets(d.pool)
    assert not any(n.startswith(v.id) for n in names), names
    assert f".base/{t.id}@img" in names
    fails(zs.GetVolume, pb.GetVolumeRequest(name="src"), NOT_FOUND)
    # the template and its clones keep working, with their data
    assert read_disk(c) == data + bytes(3 * MiB)
    c2 = clone(zs, "tpl", "c2")
    assert read_disk(c2) == data + bytes(3 * MiB)
    (tt,) = templates(zs)
    assert (tt.id, tt.source_volume, tt.size_bytes, tt.clone_count) == (t.id, "src", 4 * MiB, 2)
    assert volume_datasets(d.pool) == {c.id, c2.id}


def test_promote_two_templates_then_delete_volume(daemon, zs):
    # two snapshots of one volume promoted: deleting the volume must keep both
    d = daemon
    v = create(zs, "src", 2 * MiB)
    one, two = os.urandom(MiB), os.urandom(MiB)
    write_disk(v, 0, one)
    snapshot(zs, "src", "s1")
    write_disk(v, 0, two)
    snapshot(zs, "src", "s2")
    promote(zs, "src", "s1", "t1")
    promote(zs, "src", "s2", "t2")
    # a third, unpromoted snapshot in between does not matter
    snapshot(zs, "src", "s3")
    delete(zs, "src")
    assert not any(n.startswith(v.id) for n in datasets(d.pool))
    assert read_disk(clone(zs, "t1", "c1"), 0, MiB) == one
    assert read_disk(clone(zs, "t2", "c2"), 0, MiB) == two


# ---- templates: clone -----------------------------------------------------------

def template_with_data(zs, size=4 * MiB, name="tpl"):
    """A template promoted from a volume holding known data: (template,
    the source volume, the whole disk's bytes)."""
    v = create(zs, name + "-src", size)
    data = bytearray(size)
    for off in (0, size // 2, size - 256 * 1024):
        chunk = os.urandom(256 * 1024)
        data[off:off + len(chunk)] = chunk
        write_disk(v, off, chunk)
    snapshot(zs, v.name, "img")
    return promote(zs, v.name, "img", name), v, bytes(data)


def test_clone_from_template(daemon, zs):
    d = daemon
    t, src, data = template_with_data(zs)
    clones = [clone(zs, "tpl", f"c{i}") for i in range(3)]
    for i, c in enumerate(clones):
        check_volume(d, c, f"c{i}", 4 * MiB, blocksize=None)
        # identical data
        assert read_disk(c) == data
        # ZFS knows it as a clone of the template's snapshot
        ds = f"{d.pool}/{c.id}"
        assert zfs_get(ds, "origin") == t.snapshot_path
        assert not c.snapshots
    assert len({c.id for c in clones}) == 3
    assert volume_datasets(d.pool) == {src.id} | {c.id for c in clones}

    # the clones took no space of their own: ZFS's used is tiny, while each
    # refers to the template's data (block usage is reported lazily)
    deadline = time.monotonic() + 10
    while True:
        refs = [zfs_bytes(f"{d.pool}/{c.id}", "referenced") for c in clones]
        if min(refs) >= 768 * 1024 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert min(refs) >= 768 * 1024, refs
    for c in clones:
        used = zfs_bytes(f"{d.pool}/{c.id}", "used")
        assert used < 256 * 1024, (c.name, used)

    (tt,) = templates(zs)
    assert tt.clone_count == 3
    # a clone is a volume like any other: written, its siblings stay as they were
    write_disk(clones[0], 0, b"\x01" * 4096)
    assert read_disk(clones[1]) == data
    assert read_disk(clones[0], 4096) == data[4096:]
    delete(zs, "c2")
    assert templates(zs)[0].clone_count == 2
    vols = {v.name: v for v in zs.ListVolumes(pb.ListVolumesRequest(), timeout=TIMEOUT).volumes}
    assert set(vols) == {"tpl-src", "c0", "c1"}


def test_clone_sizes_and_errors(daemon, zs):
    d = daemon
    C = pb.CloneFromTemplateRequest
    t, src, data = template_with_data(zs)
    fails(zs.CloneFromTemplate, C(template_name="tpl", new_volume_name="c", size_bytes=4 * MiB - 1),
          INVALID, f"Volume size {4 * MiB - 1} is smaller than template size {4 * MiB}")
    fails(zs.CloneFromTemplate, C(template_name="tpl", new_volume_name="c", size_bytes=MiB),
          INVALID, f"Volume size {MiB} is smaller than template size {4 * MiB}")
    fails(zs.CloneFromTemplate, C(template_name="tpl", new_volume_name="c", size_bytes=0),
          INVALID)
    fails(zs.CloneFromTemplate, C(template_name="tpl", new_volume_name="c",
                                  size_bytes=(1 << 64) - 1), INVALID)
    fails(zs.CloneFromTemplate, C(new_volume_name="c"), INVALID, "template_name is required")
    fails(zs.CloneFromTemplate, C(template_name="tpl"), INVALID, "new_volume_name is required")
    for name in BAD_NAMES:
        fails(zs.CloneFromTemplate, C(template_name="tpl", new_volume_name=name), INVALID,
              f"invalid name '{name}': {NAME_RULE}")
    fails(zs.CloneFromTemplate, C(template_name="nope", new_volume_name="c"), NOT_FOUND,
          "Template 'nope' not found")
    fails(zs.CloneFromTemplate, C(template_name="tpl", new_volume_name="tpl-src"), EXISTS,
          "Volume 'tpl-src' already exists")
    # nothing of the failures is left in ZFS
    assert volume_datasets(d.pool) == {src.id}

    # the template's size exactly, and a larger size: the clone is grown
    same = clone(zs, "tpl", "same", size=4 * MiB)
    assert same.volsize_bytes == 4 * MiB and read_disk(same) == data
    big = clone(zs, "tpl", "big", size=10 * MiB + 1)
    check_volume(d, big, "big", 10 * MiB + 512, blocksize=None)
    assert get(zs, "big").volsize_bytes == 10 * MiB + 512
    assert read_disk(big) == data + bytes(6 * MiB + 512)
    assert zfs_get(f"{d.pool}/{big.id}", "origin") == t.snapshot_path
    # a clone's name is then taken
    fails(zs.CloneFromTemplate, C(template_name="tpl", new_volume_name="big"), EXISTS,
          "Volume 'big' already exists")
    fails(zs.CreateVolume, pb.CreateVolumeRequest(name="big", size_bytes=MiB), EXISTS)
    assert templates(zs)[0].clone_count == 2


def test_clone_keeps_block_size(daemon, zs):
    d = daemon
    v = create(zs, "src", 2 * MiB, volblocksize=4096)
    write_disk(v, 0, os.urandom(MiB))
    snapshot(zs, "src", "s")
    promote(zs, "src", "s", "tpl")
    c = clone(zs, "tpl", "c")
    # what the clone's disk really uses: the data blocks came from the origin
    assert c.volblocksize == 4096
    assert get(zs, "c").volblocksize == 4096
    assert zfs_bytes(f"{d.pool}/{c.id}", "recordsize") == 4096


def test_delete_template_while_clones_live(daemon, zs):
    d = daemon
    t, src, data = template_with_data(zs)
    base = f".base/{t.id}"
    c1 = clone(zs, "tpl", "c1")
    c2 = clone(zs, "tpl", "c2", size=6 * MiB)
    fails(zs.DeleteTemplate, pb.DeleteTemplateRequest(), INVALID, "name is required")
    fails(zs.DeleteTemplate, pb.DeleteTemplateRequest(name="nope"), NOT_FOUND,
          "Template 'nope' not found")
    r = zs.DeleteTemplate(pb.DeleteTemplateRequest(name="tpl"), timeout=TIMEOUT)
    assert r.deleted is True
    assert templates(zs) == []
    fails(zs.DeleteTemplate, pb.DeleteTemplateRequest(name="tpl"), NOT_FOUND)
    fails(zs.CloneFromTemplate, pb.CloneFromTemplateRequest(template_name="tpl",
                                                            new_volume_name="c3"), NOT_FOUND)
    # the clones keep working, and the base stays while they need it
    assert read_disk(c1) == data
    assert read_disk(c2) == data + bytes(2 * MiB)
    write_disk(c1, 0, b"c1" * 256)
    assert read_disk(c1, 0, 512) == b"c1" * 256
    assert {base, base + "@img"} <= datasets(d.pool)
    # the name is free for a new template
    snapshot(zs, "tpl-src", "again")
    t2 = promote(zs, "tpl-src", "again", "tpl")
    assert t2.id != t.id

    delete(zs, "c1")
    assert {base, base + "@img"} <= datasets(d.pool)
    assert read_disk(c2, 0, len(data)) == data
    delete(zs, "c2")
    # the last clone is gone: so is the base (and only it)
    names = datasets(d.pool)
    assert not any(n.startswith(base) for n in names), names
    assert f".base/{t2.id}@img" in names
    assert src.id in names
    # its snapshot on the source volume is free again
    assert zs.DeleteSnapshot(pb.DeleteSnapshotRequest(volume_name="tpl-src", snapshot_name="img"),
                             timeout=TIMEOUT).deleted

    # a template without clones: its base goes at once, and its snapshot is free
    zs.DeleteTemplate(pb.DeleteTemplateRequest(name="tpl"), timeout=TIMEOUT)
    assert not any(n.startswith(".base/") for n in datasets(d.pool))
    assert zs.DeleteSnapshot(pb.DeleteSnapshotRequest(volume_name="tpl-src",
                                                      snapshot_name="again"),
                             timeout=TIMEOUT).deleted
    delete(zs, "tpl-src")
    assert datasets(d.pool) == {".base", ".tmp"}


# ---- restart -------------------------------------------------------------------

def test_restart_keeps_everything(daemon, zs):
    d = daemon
    t, src, data = template_with_data(zs)
    c = clone(zs, "tpl", "c", size=5 * MiB)
    v = create(zs, "plain", 3 * MiB)
    write_disk(v, 512, b"plain data")
    snapshot(zs, "plain", "p1")
    snapshot(zs, "plain", "p2")

    def state():
        vols = zs.ListVolumes(pb.ListVolumesRequest(), timeout=TIMEOUT).volumes
        return ([(x.id, x.name, x.path, x.volsize_bytes, x.volblocksize, x.created_at)
                 for x in vols],
                [(x.id, x.name, x.size_bytes, x.source_volume, x.clone_count, x.snapshot_path,
                  x.created_at) for x in templates(zs)],
                [(s.id, s.name, s.full_name, s.created_at) for s in get(zs, "plain").snapshots])

    before = state()
    zfs_before = datasets(d.pool)
    assert d.stop() == 0
    d.restart()
    ch = d.channel()
    try:
        zs = g.ZfsServiceStub(ch)
        assert state() == before
        assert datasets(d.pool) == zfs_before
        assert read_disk(c) == data + bytes(MiB)
        assert read_disk(v, 512, 10) == b"plain data"
        # and everything still works
        assert read_disk(clone(zs, "tpl", "c2")) == data
        zs.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="plain", snapshot_name="p2"),
                            timeout=TIMEOUT)
        fails(zs.CreateVolume, pb.CreateVolumeRequest(name="plain", size_bytes=MiB), EXISTS)
        fails(zs.CreateSnapshot, pb.CreateSnapshotRequest(volume_name="plain",
                                                          snapshot_name="p1"), EXISTS)
        fails(zs.PromoteSnapshotToTemplate,
              pb.PromoteSnapshotRequest(volume_name="plain", snapshot_name="p1",
                                        template_name="tpl"), EXISTS)
        assert templates(zs)[0].clone_count == 2
    finally:
        ch.close()


def test_restart_collects_unused_template_base(daemon, zs):
    # GC at start: a base whose last clone vanished while the daemon was
    # down (here: destroyed behind its back) is destroyed at the next start
    d = daemon
    t, src, data = template_with_data(zs)
    c = clone(zs, "tpl", "c")
    zs.DeleteTemplate(pb.DeleteTemplateRequest(name="tpl"), timeout=TIMEOUT)
    assert f".base/{t.id}@img" in datasets(d.pool)
    assert d.stop() == 0
    destroy_dataset(f"{d.pool}/{c.id}")
    d.restart()
    names = datasets(d.pool)
    assert not any(n.startswith(f".base/{t.id}") for n in names), names
    assert src.id in names


# ---- concurrency ---------------------------------------------------------------

def test_concurrent_rpcs(daemon):
    d = daemon
    errors = []
    results = []
    lock = threading.Lock()
    start = threading.Barrier(25)

    def churn(i):
        try:
            with d.channel() as ch:
                zs = g.ZfsServiceStub(ch)
                start.wait(timeout=30)
                v = create(zs, f"v{i}", MiB * (1 + i % 3))
                write_disk(v, 0, f"volume {i}".encode())
                assert get(zs, f"v{i}").id == v.id
                assert read_disk(v, 0, 16).rstrip(b"\0") == f"volume {i}".encode()
                if i % 2:
                    delete(zs, f"v{i}")
        except Exception as e:  # reported below
            with lock:
                errors.append((i, repr(e)))

    def same(i):
        try:
            with d.channel() as ch:
                zs = g.ZfsServiceStub(ch)
                start.wait(timeout=30)
                try:
                    v = create(zs, "same", 2 * MiB)
                    with lock:
                        results.append(("ok", v.id))
                except grpc.RpcError as e:
                    with lock:
                        results.append((e.code(), e.details()))
        except Exception as e:
            with lock:
                errors.append(("same", i, repr(e)))

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(20)]
    threads += [threading.Thread(target=same, args=(i,)) for i in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads)
    assert errors == []
    ok = [r for r in results if r[0] == "ok"]
    assert len(ok) == 1, results
    assert [r for r in results if r[0] != "ok"] == [(EXISTS, "Volume 'same' already exists")] * 4

    with d.channel() as ch:
        zs = g.ZfsServiceStub(ch)
        vols = {v.name: v for v in zs.ListVolumes(pb.ListVolumesRequest(),
                                                  timeout=TIMEOUT).volumes}
    assert set(vols) == {f"v{i}" for i in range(0, 20, 2)} | {"same"}
    assert vols["same"].id == ok[0][1]
    # exactly these datasets exist: nothing leaked by the losers or the deletes
    assert volume_datasets(d.pool) == {v.id for v in vols.values()}
    for i in range(0, 20, 2):
        assert read_disk(vols[f"v{i}"], 0, 16).rstrip(b"\0") == f"volume {i}".encode()


# ---- audit -------------------------------------------------------------------

def audit_entries(log, object_id, want, timeout=10):
    """The zfs entries of object_id once there are at least want of them."""
    deadline = time.monotonic() + timeout
    while True:
        with log.channel() as ch:
            got = list(lg.LogServiceStub(ch).Query(
                lpb.QueryRequest(object_id=object_id, component="zfs", limit=1000),
                timeout=TIMEOUT))
        if len(got) >= want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def by_us(message):
    """An audit message as the daemon writes it: the reference text and who
    asked (the peer credentials of our Unix socket connection)."""
    return f"{message} (by uid={os.getuid()} gid={os.getgid()} pid={os.getpid()})"


def test_audit(zfs_pool, tmp_path):
    (tmp_path / "log").mkdir()
    log = start_log_daemon(tmp_path / "log")
    try:
        endpoint = "unix:" + log.socket_path
        with zfs_daemon_with(zfs_pool, tmp_path / "zfs", "--log-endpoint", endpoint) as d:
            with d.channel() as ch:
                zs = g.ZfsServiceStub(ch)
                v = create(zs, "vol", 1000)
                zs.ResizeVolume(pb.ResizeVolumeRequest(name="vol", new_size_bytes=2048),
                                timeout=TIMEOUT)
                # a same-size resize and failed calls are not audited
                zs.ResizeVolume(pb.ResizeVolumeRequest(name="vol", new_size_bytes=2000),
                                timeout=TIMEOUT)
                fails(zs.CreateVolume, pb.CreateVolumeRequest(name="vol", size_bytes=MiB),
                      EXISTS)
                s = snapshot(zs, "vol", "snap")
                zs.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="vol",
                                                               snapshot_name="snap"),
                                    timeout=TIMEOUT)
                t = promote(zs, "vol", "snap", "tpl")
                c = clone(zs, "tpl", "cl")
                snapshot(zs, "vol", "snap2")
                zs.DeleteSnapshot(pb.DeleteSnapshotRequest(volume_name="vol",
                                                           snapshot_name="snap2"),
                                  timeout=TIMEOUT)
                zs.DeleteTemplate(pb.DeleteTemplateRequest(name="tpl"), timeout=TIMEOUT)
                delete(zs, "cl")
                delete(zs, "vol")

            vol_entries = audit_entries(log, v.id, 8)
            msgs = [e.message for e in vol_entries]
            assert msgs == [by_us(m) for m in [
                "Volume 'vol' created (1024 bytes)",
                "Volume 'vol' resized to 2048 bytes",
                "Snapshot 'snap' created",
                "Volume rolled back to snapshot 'snap'",
                "Template 'tpl' created from volume 'vol'",
                "Snapshot 'snap2' created",
                "Snapshot 'snap2' deleted",
                "Volume 'vol' deleted",
            ]], msgs
            for e in vol_entries:
                assert e.level == AUDIT and e.component == "zfs"
            # volume events carry [volume_id, volume_name] (the TUI queries by
            # name), snapshot events also the snapshot's id; the promotion is
            # the template's event: [template_id, template_name, volume_id]
            vol_events = [e for i, e in enumerate(vol_entries) if i != 4]
            for e in vol_events:
                assert {v.id, "vol"} <= set(e.related_object_ids), e
            assert sorted(vol_entries[0].related_object_ids) == sorted([v.id, "vol"])
            assert sorted(vol_entries[2].related_object_ids) == sorted([v.id, "vol", s.id])
            assert sorted(vol_entries[3].related_object_ids) == sorted([v.id, "vol", s.id])
            assert sorted(vol_entries[4].related_object_ids) == sorted([t.id, "tpl", v.id])
            by_name = audit_entries(log, "vol", 7)
            assert [e.id for e in by_name] == [e.id for e in vol_events]

            tpl = [e.message for e in audit_entries(log, t.id, 3)]
            assert tpl == [by_us(m) for m in ["Template 'tpl' created from volume 'vol'",
                                              "Volume 'cl' cloned from template 'tpl'",
                                              "Template 'tpl' deleted"]], tpl
            cl = audit_entries(log, c.id, 2)
            assert [e.message for e in cl] == [by_us("Volume 'cl' cloned from template 'tpl'"),
                                               by_us("Volume 'cl' deleted")]
            assert {c.id, "cl"} <= set(cl[0].related_object_ids)
    finally:
        log.assert_clean_exit()
