"""The cloud-init NoCloud seed image of mvirt-vmm (vmm/seed.c, through the
vmm/mkseed driver), judged by implementations that are not ours:

- isoinfo (genisoimage): descriptors, Rock Ridge and Joliet detection, the
  names of all three trees, and every file extracted byte for byte;
- blkid: TYPE iso9660 and LABEL cidata, which is how cloud-init finds it;
- Python's yaml: meta-data and network-config parse to what cloud-init wants;
- the Linux kernel's isofs: a loop mount on the host when its kernel has
  iso9660 (the build machines' kernel has not), and always in our guest
  kernel under QEMU, mounted with Rock Ridge, Joliet (norock) and neither,
  each file's sha256 compared with the host's; the guest's init also takes
  its host name from the seed.
"""
import hashlib
import os
import re
import subprocess

import pytest
import yaml

from conftest import SANITIZER_MARKERS, binary

USER_DATA = ("#cloud-config\n"
             "users:\n  - name: \"ünïcödé\"\n"
             "runcmd:\n  - [sh, -c, 'echo \"quoted\" \\\\ back; printf \"\\t\"']\n").encode()
INSTANCE_ID = "7d1e0c52-93c1-4f0e-8a49-2b1a4f3d9e10"
VM_NAME = "Web Server_01"
HOSTNAME = "web-server-01"
MACS = ["52:54:00:AB:cd:01", "02:00:00:00:00:02"]
NAMES = ["meta-data", "network-config", "user-data"]
ISO_NAMES = {"meta-data": "META_DATA.;1", "network-config": "NETWORK_CONFIG.;1",
             "user-data": "USER_DATA.;1"}


def run(*argv, check=True, text=True):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=text, timeout=120)
    err = p.stderr if text else p.stderr.decode(errors="replace")
    for marker in SANITIZER_MARKERS:
        assert marker not in err, err
    if check:
        assert p.returncode == 0, f"{argv}: {err}"
    return p


def mkseed(*args, check=True):
    return run(binary("mkseed"), *args, check=check)


@pytest.fixture
def seed(tmp_path):
    """A seed as the daemon builds it; returns (path, expected contents)."""
    ud = tmp_path / "user-data.in"
    ud.write_bytes(USER_DATA)
    img = tmp_path / "seed.iso"
    mkseed("build", img, INSTANCE_ID, VM_NAME, ud, *MACS)
    files = {n: isoinfo_extract(img, "-R", "/" + n) for n in NAMES}
    return img, files


def isoinfo_extract(img, mode, path):
    args = ["isoinfo", "-i", img] + ([mode] if mode else []) + ["-x", path]
    return run(*args, text=False).stdout


def test_isoinfo_descriptors(seed):
    img, _ = seed
    out = run("isoinfo", "-d", "-i", img).stdout
    assert "CD-ROM is in ISO 9660 format" in out
    assert re.search(r"^Volume id: cidata$", out, re.M), out
    assert re.search(r"^Logical block size is: 2048$", out, re.M), out
    size = int(re.search(r"^Volume size is: (\d+)$", out, re.M).group(1))
    assert size * 2048 == os.path.getsize(img)
    assert "Joliet with UCS level 3 found" in out
    assert "Rock Ridge signatures version 1 found" in out


@pytest.mark.parametrize("flags,names", [
    (["-R", "-J"], NAMES),
    (["-R"], NAMES),
    (["-J"], NAMES),
    ([], [ISO_NAMES[n] for n in NAMES]),
])
def test_isoinfo_names(seed, flags, names):
    img, _ = seed
    out = run("isoinfo", "-f", *flags, "-i", img).stdout.split()
    assert sorted(out) == sorted("/" + n for n in names)


def test_contents_through_every_tree(seed):
    img, files = seed
    assert files["user-data"] == USER_DATA
    for n in NAMES:
        assert isoinfo_extract(img, "-J", "/" + n) == files[n]
        assert isoinfo_extract(img, None, "/" + ISO_NAMES[n]) == files[n]


def test_yaml_is_what_cloud_init_wants(seed):
    _, files = seed
    meta = yaml.safe_load(files["meta-data"])
    assert meta == {"instance-id": INSTANCE_ID, "local-hostname": HOSTNAME}
    net = yaml.safe_load(files["network-config"])
    assert net["version"] == 2
    eths = net["ethernets"]
    assert sorted(e["match"]["macaddress"] for e in eths.values()) == \
        sorted(m.lower() for m in MACS)
    for e in eths.values():
        assert e["dhcp4"] is True and e["dhcp6"] is True
        assert set(e) == {"match", "dhcp4", "dhcp6"}


def test_blkid(seed):
    img, _ = seed
    out = run("blkid", "-p", "-o", "export", img).stdout
    fields = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert fields.get("TYPE") == "iso9660", out
    assert fields.get("LABEL") == "cidata", out


def test_deterministic_and_atomic(seed, tmp_path):
    img, _ = seed
    first = img.read_bytes()
    ud = tmp_path / "user-data.in"
    mkseed("build", img, INSTANCE_ID, VM_NAME, ud, *MACS)
    assert img.read_bytes() == first
    assert sorted(os.listdir(tmp_path)) == ["seed.iso", "user-data.in"]
    assert os.stat(img).st_mode & 0o777 == 0o600
    # a refused build leaves the old seed alone
    p = mkseed("build", img, INSTANCE_ID, VM_NAME, ud, "not-a-mac", check=False)
    assert p.returncode == 1 and "Invalid argument" in p.stderr
    assert img.read_bytes() == first


def test_binary_files_and_sector_edges(tmp_path):
    """Arbitrary bytes of awkward sizes (empty, one sector, one byte more)."""
    sizes = {"empty": 0, "one": 1, "sector": 2048, "sector-plus": 2049, "big.bin": 300001}
    args = []
    for name, size in sizes.items():
        p = tmp_path / (name + ".in")
        p.write_bytes(os.urandom(size))
        args.append(f"{name}={p}")
    img = tmp_path / "files.iso"
    mkseed("iso", img, "cidata", *args)
    out = run("isoinfo", "-f", "-R", "-i", img).stdout.split()
    assert sorted(out) == sorted("/" + n for n in sizes)
    for name in sizes:
        want = (tmp_path / (name + ".in")).read_bytes()
        assert isoinfo_extract(img, "-R", "/" + name) == want
        assert isoinfo_extract(img, "-J", "/" + name) == want
    # our own reader agrees with isoinfo on genisoimage's image of the same files
    src = tmp_path / "src"
    src.mkdir()
    for name in sizes:
        os.link(tmp_path / (name + ".in"), src / name)
    gimg = tmp_path / "genisoimage.iso"
    run("genisoimage", "-quiet", "-V", "cidata", "-J", "-r", "-o", gimg, src)
    listed = mkseed("list", "--joliet", gimg).stdout
    got = dict((m.group(1), int(m.group(2)))
               for m in re.finditer(r"^file (\S+) (\d+) \d+$", listed, re.M))
    assert got == sizes


def host_has_isofs():
    with open("/proc/filesystems") as f:
        return any(line.split()[-1] == "iso9660" for line in f if line.strip())


@pytest.mark.skipif(not host_has_isofs(),
                    reason="the host kernel has no iso9660 (test_guest_kernel_mounts_seed "
                    "mounts it in our guest kernel instead)")
def test_host_loop_mount(seed, tmp_path):
    img, files = seed
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run("mount", "-o", "loop,ro", "-t", "iso9660", img, mnt)
    try:
        assert sorted(os.listdir(mnt)) == NAMES
        for n in NAMES:
            assert (mnt / n).read_bytes() == files[n]
    finally:
        run("umount", mnt)


@pytest.mark.guest
def test_guest_kernel_mounts_seed(seed, guest_os, tmp_path):
    """Linux's isofs in our guest kernel, with Rock Ridge (the default),
    Joliet (norock) and plain ISO 9660 (norock,nojoliet)."""
    from guest import Guest

    img, files = seed
    script = ("busybox mkdir -p /s; for o in ro ro,norock ro,norock,nojoliet; do "
              "mount -t iso9660 -o $o /dev/vda /s && echo mounted $o && "
              "busybox sha256sum /s/*; umount /s; done; echo seed-done")
    g = Guest(os.path.join(guest_os, "vmlinux"), os.path.join(guest_os, "initramfs-test.cpio"),
              f'quiet mvirt.run="/bin/sh -c \'{script}\'"', workdir=str(tmp_path),
              name="seedguest", drives=[str(img)])
    g.start()
    try:
        g.expect(rf"^mvirt-init: hostname {HOSTNAME} source seed$")
        g.expect(r"^sh-0: seed-done$", timeout=120)
        text = g.console()
        for opts, names in (("ro", NAMES), ("ro,norock", NAMES),
                            ("ro,norock,nojoliet", [n.replace("-", "_") for n in NAMES])):
            block = text.split(f"sh-0: mounted {opts}\n", 1)
            g.check(len(block) == 2, f"not mounted with {opts}")
            for n, plain in zip(NAMES, names):
                want = hashlib.sha256(files[n]).hexdigest()
                g.check(re.search(rf"^sh-0: {want}  /s/{plain}$", block[1], re.M),
                        f"{opts}: /s/{plain} missing or its sha256 is not {want}")
        g.powerdown()
        g.expect(r"^mvirt-init: poweroff$", timeout=30)
        rc, _ = g.wait_exit(30)
        g.check(rc == 0, f"QEMU exited with status {rc}")
    finally:
        g.stop()
