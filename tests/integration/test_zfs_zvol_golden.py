"""Golden tests of the zvol layout's zfs command lines (CONTRACT tests).

zfs-fuse, the only ZFS these machines run, has no zvols, so the zvol layout
cannot run for real here. mvirt-zfs runs against fake_zfs.py, a MOCK of the
zfs program that models datasets and records every argument vector; the
recorded vectors of a scenario that touches every zvol code path are
compared with tests/integration/golden/zvol_argv.txt (ids and temporary
paths replaced by placeholders). MVIRT_UPDATE_GOLDEN=1 rewrites the file.
"""
import json
import os
import re
import sys

import pytest

from conftest import ROOT, Daemon, binary

GOLDEN = os.path.join(ROOT, "tests", "integration", "golden", "zvol_argv.txt")
FAKE = os.path.join(ROOT, "tests", "integration", "fake_zfs.py")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize(lines, tmp):
    ids = {}

    def sub(m):
        return ids.setdefault(m.group(0), f"<id{len(ids) + 1}>")

    out = []
    for line in lines:
        line = UUID.sub(sub, line.replace(tmp, "<TMP>"))
        out.append(" ".join(json.loads(line)))
    return out


@pytest.fixture
def zvol_daemon(tmp_path):
    env = {
        "FAKE_ZFS_STATE": str(tmp_path / "state.json"),
        "FAKE_ZFS_LOG": str(tmp_path / "argv.log"),
        "FAKE_ZFS_DEVROOT": str(tmp_path / "dev"),
    }
    with open(env["FAKE_ZFS_STATE"], "w") as f:
        json.dump({"datasets": {"tank": {"type": "filesystem"},
                                "tank/vms": {"type": "filesystem"}}}, f)
    os.makedirs(tmp_path / "images")
    run_dir = tmp_path / "run"
    d = Daemon([binary("mvirt-zfs"), "--pool", "tank/vms", "--layout", "zvol",
                "--zfs-bin", FAKE, "--zvol-dev-root", str(tmp_path / "dev"),
                "--run-dir", str(run_dir), "--data-dir", str(tmp_path / "data"),
                "--import-root", str(tmp_path / "images")],
               str(run_dir / "zfs.sock"), str(tmp_path), env=env)
    d.tmp = str(tmp_path)
    d.env = env
    yield d
    d.assert_clean_exit()


def test_zvol_command_lines(zvol_daemon, tmp_path):
    import zfs_pb2 as pb
    import zfs_pb2_grpc as g

    d = zvol_daemon
    s = g.ZfsServiceStub(d.channel())
    v = s.CreateVolume(pb.CreateVolumeRequest(name="web", size_bytes=(1 << 30) + 1,
                                              volblocksize=8192))
    # rounded up to the block size, device node under the zvol root
    assert v.volsize_bytes == (1 << 30) + 8192
    assert v.path == f"{tmp_path}/dev/tank/vms/{v.id}"
    assert v.volblocksize == 8192
    s.CreateVolume(pb.CreateVolumeRequest(name="db", size_bytes=1 << 20))
    s.CreateSnapshot(pb.CreateSnapshotRequest(volume_name="web", snapshot_name="s1"))
    s.RollbackSnapshot(pb.RollbackSnapshotRequest(volume_name="web", snapshot_name="s1"))
    s.ResizeVolume(pb.ResizeVolumeRequest(name="web", new_size_bytes=2 << 30))
    s.ListVolumes(pb.ListVolumesRequest())
    s.PromoteSnapshotToTemplate(pb.PromoteSnapshotRequest(
        volume_name="web", snapshot_name="s1", template_name="gold"))
    c = s.CloneFromTemplate(pb.CloneFromTemplateRequest(
        template_name="gold", new_volume_name="clone", size_bytes=3 << 30))
    assert c.volsize_bytes == 3 << 30
    s.DeleteVolume(pb.DeleteVolumeRequest(name="web"))     # promotes the base first
    s.DeleteTemplate(pb.DeleteTemplateRequest(name="gold"))  # the clone keeps the base
    s.DeleteVolume(pb.DeleteVolumeRequest(name="clone"))   # now the base goes
    raw = tmp_path / "images" / "a.raw"
    raw.write_bytes(b"\x01" * 100000)
    job = s.ImportTemplate(pb.ImportTemplateRequest(name="img", source=str(raw)))
    last = list(s.WatchImportJob(pb.GetImportJobRequest(id=job.id), timeout=30))[-1]
    assert last.state == pb.IMPORT_JOB_STATE_COMPLETED, last.error
    s.DeleteVolume(pb.DeleteVolumeRequest(name="db"))
    s.GetPoolStats(pb.GetPoolStatsRequest())

    with open(d.env["FAKE_ZFS_LOG"]) as f:
        got = normalize(f.read().splitlines(), d.tmp)
    if os.environ.get("MVIRT_UPDATE_GOLDEN"):
        with open(GOLDEN, "w") as f:
            f.write("\n".join(got) + "\n")
    with open(GOLDEN) as f:
        want = f.read().splitlines()
    assert got == want, "\n".join(["argv differs from the golden file:"] + got)
    # the imported base's device holds the image, its tail reads as zeros
    st = json.load(open(d.env["FAKE_ZFS_STATE"]))
    bases = [n for n in st["datasets"] if n.startswith("tank/vms/.base/") and "@" not in n]
    assert len(bases) == 1
    data = open(os.path.join(d.tmp, "dev", bases[0]), "rb").read()
    assert data[:100000] == b"\x01" * 100000 and not data[100000:].strip(b"\0")
