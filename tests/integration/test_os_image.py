"""The guest OS image builders of os/image/: mkcpio (initramfs) and mkuki.sh (UKI).

Archives are read back by GNU cpio, an independent implementation (listing
and extraction), and by a small newc reader here for the fields GNU cpio does
not show (inode numbers, nlink, padding). UKIs are read back by binutils
(objdump, objcopy) and file(1).
"""
import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, SANITIZER_MARKERS

MKUKI = os.path.join(ROOT, "os", "image", "mkuki.sh")
STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
UKI_SECTIONS = [".osrel", ".cmdline", ".linux", ".initrd"]


def mkcpio_path():
    p = os.path.join(BUILD, "os", "image", "mkcpio")
    if not os.access(p, os.X_OK):
        raise FileNotFoundError(f"{p} not built (run make first)")
    return p


def run_mkcpio(*args, env=None, check=True):
    full_env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    full_env.update(env or {})
    p = subprocess.run([mkcpio_path(), *map(str, args)], capture_output=True, text=True,
                       env=full_env, timeout=60)
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    if check:
        assert p.returncode == 0, p.stderr
    return p


def read_newc(data):
    """Parse a newc archive: a list of dicts, checking magic, alignment, trailer."""
    fields = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor",
              "devminor", "rdevmajor", "rdevminor", "namesize", "check")
    entries, off = [], 0
    while True:
        assert off % 4 == 0
        assert data[off:off + 6] == b"070701", f"bad magic at {off}"
        hdr = data[off + 6:off + 110].decode("ascii")
        assert re.fullmatch(r"[0-9A-Fa-f]{104}", hdr)
        e = {f: int(hdr[i * 8:i * 8 + 8], 16) for i, f in enumerate(fields)}
        name_end = off + 110 + e["namesize"]
        assert data[name_end - 1] == 0, "name not NUL-terminated"
        e["name"] = data[off + 110:name_end - 1].decode()
        body = (name_end + 3) & ~3
        assert data[name_end:body] == b"\0" * (body - name_end), "header padding not zero"
        e["data"] = data[body:body + e["filesize"]]
        off = (body + e["filesize"] + 3) & ~3
        assert data[body + e["filesize"]:off] == b"\0" * (off - body - e["filesize"])
        if e["name"] == "TRAILER!!!":
            assert e["ino"] == 0 and e["filesize"] == 0
            break
        entries.append(e)
    assert len(data) % 512 == 0, f"archive of {len(data)} bytes not padded to 512"
    assert data[off:] == b"\0" * (len(data) - off)
    return entries


@pytest.fixture
def inputs(tmp_path):
    """Host files of various modes, and a tree with a subdirectory and symlinks."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "init").write_bytes(b"\x7fELF fake init" + bytes(range(256)) * 40)
    os.chmod(src / "init", 0o755)
    tree = src / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "hosts").write_text("127.0.0.1 localhost\n")
    os.chmod(tree / "hosts", 0o644)
    (tree / "secret").write_text("x")
    os.chmod(tree / "secret", 0o600)
    (tree / "empty").write_bytes(b"")
    os.chmod(tree / "empty", 0o640)
    (tree / "sub" / "tool").write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(tree / "sub" / "tool", 0o4755)
    (tree / "sub" / "deeper" / "odd name:with colon").write_text("colon")
    os.chmod(tree / "sub" / "deeper" / "odd name:with colon", 0o644)
    os.symlink("../hosts", tree / "sub" / "link")
    os.symlink("/nowhere/at/all", tree / "dangling")
    os.chmod(tree / "sub", 0o750)
    os.chmod(tree / "sub" / "deeper", 0o700)
    os.chmod(tree, 0o700)  # the tree's own mode is not copied: its PATH gets 0755
    return src


def specs_for(src):
    return [
        f"file:/init:0755:{src}/init",
        "dir:/dev:0755",
        "nod:/dev/console:0600:c:5:1",
        "nod:/dev/vda:0660:b:254:0",
        "dir:/proc:0555",
        "dir:/sys:0555",
        "dir:/tmp:1777",
        "symlink:/bin/sh:busybox",
        f"tree:/etc:{src}/tree",
        f"file:/usr/lib/deep/file:0444:{src}/init",  # parents implied
    ]


# What the archive must hold: name -> (type, mode bits, contents/target/(major, minor)).
def expected_entries(src):
    init = (src / "init").read_bytes()
    return {
        "bin": ("d", 0o755, None),
        "bin/sh": ("l", 0o777, "busybox"),
        "dev": ("d", 0o755, None),
        "dev/console": ("c", 0o600, (5, 1)),
        "dev/vda": ("b", 0o660, (254, 0)),
        "etc": ("d", 0o755, None),
        "etc/dangling": ("l", 0o777, "/nowhere/at/all"),
        "etc/empty": ("f", 0o640, b""),
        "etc/hosts": ("f", 0o644, b"127.0.0.1 localhost\n"),
        "etc/secret": ("f", 0o600, b"x"),
        "etc/sub": ("d", 0o750, None),
        "etc/sub/deeper": ("d", 0o700, None),
        "etc/sub/deeper/odd name:with colon": ("f", 0o644, b"colon"),
        "etc/sub/link": ("l", 0o777, "../hosts"),
        "etc/sub/tool": ("f", 0o4755, b"#!/bin/sh\necho hi\n"),
        "init": ("f", 0o755, init),
        "proc": ("d", 0o555, None),
        "sys": ("d", 0o555, None),
        "tmp": ("d", 0o1777, None),
        "usr": ("d", 0o755, None),
        "usr/lib": ("d", 0o755, None),
        "usr/lib/deep": ("d", 0o755, None),
        "usr/lib/deep/file": ("f", 0o444, init),
    }


def type_of(mode):
    return {stat.S_IFDIR: "d", stat.S_IFREG: "f", stat.S_IFLNK: "l", stat.S_IFCHR: "c",
            stat.S_IFBLK: "b"}[stat.S_IFMT(mode)]


def test_cpio_extracts_with_gnu_cpio(inputs, tmp_path):
    out = tmp_path / "initramfs.cpio"
    run_mkcpio(out, *specs_for(inputs))
    want = expected_entries(inputs)

    listing = subprocess.run(["cpio", "-t", "-v", "-n", "--quiet"], stdin=open(out, "rb"),
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(listing) == len(want), listing
    for line in listing:
        # e.g. "crw-------   1 0        0          5,   1 Jan  1  1970 dev/console"
        m = re.match(r"([-dlcb][-rwxsStT]{9})\s+(\d+)\s+0\s+0\s+(?:\d+,\s+\d+|\d+)\s+"
                     r"\w{3}\s+\d+\s+\d{4} (.*)$", line)
        assert m, f"unexpected listing line (not owned by 0:0?): {line!r}"
        name = m.group(3).split(" -> ")[0]
        assert name in want, line
        kind = want[name][0]
        assert m.group(1)[0] == {"f": "-"}.get(kind, kind), line
        assert m.group(2) == ("2" if kind == "d" else "1"), line
    assert "   5,   1 " in next(l for l in listing if l.endswith(" dev/console"))

    if os.geteuid() != 0:
        pytest.skip("extracting device nodes with cpio needs root")
    root = tmp_path / "extract"
    root.mkdir()
    subprocess.run(["cpio", "-i", "-d", "-m", "--quiet", "--no-absolute-filenames"],
                   stdin=open(out, "rb"), cwd=root, check=True, capture_output=True)
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            found[os.path.relpath(p, root)] = os.lstat(p)
    assert sorted(found) == sorted(want)
    for name, (kind, mode, content) in want.items():
        st = found[name]
        p = os.path.join(root, name)
        assert type_of(st.st_mode) == kind, name
        if kind != "l":
            assert stat.S_IMODE(st.st_mode) == mode, f"{name}: {oct(st.st_mode)}"
        if kind == "f":
            assert open(p, "rb").read() == content, name
        elif kind == "l":
            assert os.readlink(p) == content, name
        elif kind in "cb":
            assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == content, name


def test_cpio_layout_sorted_and_reproducible(inputs, tmp_path):
    out = tmp_path / "a.cpio"
    run_mkcpio(out, *specs_for(inputs))
    data = out.read_bytes()
    entries = read_newc(data)
    names = [e["name"] for e in entries]
    want = expected_entries(inputs)
    assert sorted(names) == sorted(want)

    # sorted with '/' first: every directory directly followed by its subtree
    assert names == sorted(names, key=lambda n: n.split("/"))
    for i, n in enumerate(names):
        if "/" in n:
            assert os.path.dirname(n) in names[:i], f"{n} before its parent"
    for i, e in enumerate(entries):
        assert e["ino"] == i + 1
        assert (e["uid"], e["gid"], e["mtime"], e["check"]) == (0, 0, 0, 0)
        assert (e["devmajor"], e["devminor"]) == (0, 0), "host device number leaked"
        kind, mode, content = want[e["name"]]
        assert type_of(e["mode"]) == kind and stat.S_IMODE(e["mode"]) == mode, e["name"]
        assert e["nlink"] == (2 if kind == "d" else 1)
        if kind in "cb":
            assert (e["rdevmajor"], e["rdevminor"]) == content
        else:
            assert (e["rdevmajor"], e["rdevminor"]) == (0, 0)
        if kind == "f":
            assert e["data"] == content
        elif kind == "l":
            assert e["data"] == content.encode()
        else:
            assert e["filesize"] == 0

    # Same inputs with other mtimes and owners, specs in another order: same bytes.
    for dirpath, dirnames, filenames in os.walk(inputs):
        for n in dirnames + filenames + ["."]:
            p = os.path.join(dirpath, n)
            mode = os.lstat(p).st_mode
            os.utime(p, (1234567890, 1234567890), follow_symlinks=False)
            if os.geteuid() == 0:
                os.chown(p, 4321, 8765, follow_symlinks=False)
                if not stat.S_ISLNK(mode):
                    os.chmod(p, stat.S_IMODE(mode))  # chown dropped the setuid bit
    out2 = tmp_path / "b.cpio"
    run_mkcpio(out2, *reversed(specs_for(inputs)))
    assert out2.read_bytes() == data

    # SOURCE_DATE_EPOCH sets every mtime; nothing else changes
    out3 = tmp_path / "c.cpio"
    run_mkcpio(out3, *specs_for(inputs), env={"SOURCE_DATE_EPOCH": "1700000000"})
    entries3 = read_newc(out3.read_bytes())
    assert all(e["mtime"] == 1700000000 for e in entries3)
    assert [dict(e, mtime=0) for e in entries3] == entries


def test_cpio_gzip(inputs, tmp_path):
    out = tmp_path / "plain.cpio"
    run_mkcpio(out, *specs_for(inputs))
    gz1, gz2 = tmp_path / "1.cpio.gz", tmp_path / "2.cpio.gz"
    run_mkcpio("--gzip", gz1, *specs_for(inputs))
    os.utime(inputs / "init", (1, 1))
    run_mkcpio("--gzip", gz2, *specs_for(inputs))
    assert gz1.read_bytes() == gz2.read_bytes()
    assert gz1.read_bytes()[:2] == b"\x1f\x8b"
    unpacked = subprocess.run(["gzip", "-dc", str(gz1)], capture_output=True, check=True).stdout
    assert unpacked == out.read_bytes()


def test_cpio_identical_duplicates_merge(inputs, tmp_path):
    out = tmp_path / "dup.cpio"
    run_mkcpio(out, "dir:/etc:0755", f"tree:/etc:{inputs}/tree", f"tree:/etc:{inputs}/tree",
               f"file:/init:0755:{inputs}/init", f"file:/init:0755:{inputs}/init",
               "dir:/etc/sub:0750", "symlink:/x:y", "symlink:/x:y")
    names = [e["name"] for e in read_newc(out.read_bytes())]
    assert len(names) == len(set(names))
    assert names.count("init") == 1 and "etc/sub/tool" in names


def test_cpio_explicit_dir_mode_wins_over_implied(inputs, tmp_path):
    out = tmp_path / "dirs.cpio"
    run_mkcpio(out, "symlink:/a/b/c:target", "dir:/a:0700", f"tree:/e:{inputs}/tree",
               "dir:/e:0711")
    modes = {e["name"]: e["mode"] for e in read_newc(out.read_bytes())}
    assert modes["a"] == stat.S_IFDIR | 0o700
    assert modes["a/b"] == stat.S_IFDIR | 0o755
    assert modes["e"] == stat.S_IFDIR | 0o711


def test_cpio_empty_tree_makes_its_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "t.cpio"
    run_mkcpio(out, f"tree:/srv:{tmp_path}/empty", f"tree:/:{tmp_path}/empty")
    entries = read_newc(out.read_bytes())
    assert [(e["name"], e["mode"]) for e in entries] == [("srv", stat.S_IFDIR | 0o755)]


BAD_SPECS = [
    (["file:/a/../b:0755:{init}"], "'..'"),
    (["file:/../b:0755:{init}"], "'..'"),
    (["dir:/a/./b:0755"], "'.'"),
    (["dir::0755"], "absolute"),
    (["dir:relative:0755"], "absolute"),
    (["dir:/:0755"], "absolute"),
    (["dir://x:0755"], "empty"),
    (["dir:/x/:0755"], "empty"),
    (["dir:/" + "x" * 4096 + ":0755"], "longer"),
    (["dir:/" + "/".join(["x" * 200] * 21) + ":0755"], "longer"),
    (["dir:/x:0755", "dir:/x:0700"], "conflicting entries for '/x'"),
    (["file:/x:0644:{init}", "file:/x:0644:{other}"], "conflicting entries for '/x'"),
    (["file:/x:0644:{init}", "file:/x:0600:{init}"], "conflicting entries for '/x'"),
    (["file:/x:0644:{init}", "file:/x/y:0644:{init}"], "conflicting entries for '/x'"),
    (["symlink:/x:a", "symlink:/x:b"], "conflicting entries for '/x'"),
    (["symlink:/bin:usr/bin", "symlink:/bin/sh:busybox"], "conflicting entries for '/bin'"),
    (["nod:/c:0600:c:5:1", "nod:/c:0600:b:5:1"], "conflicting entries for '/c'"),
    (["fifo:/x:0644"], "unknown kind"),
    (["justtext"], "expected KIND:PATH"),
    (["dir:/x"], "fields"),
    (["dir:/x:0755:extra"], "mode"),
    (["file:/x:0644"], "fields"),
    (["dir:/x:0999"], "octal"),
    (["dir:/x:17777"], "octal"),
    (["dir:/x:rwx"], "octal"),
    (["dir:/x:"], "octal"),
    (["nod:/x:0600:p:1:1"], "c|b"),
    (["nod:/x:0600:c:4096:1"], "c|b"),
    (["nod:/x:0600:c:1:1048576"], "c|b"),
    (["nod:/x:0600:c:-1:1"], "c|b"),
    (["nod:/x:0600:c:1"], "fields"),
    (["symlink:/x:"], "link target"),
    (["file:/x:0644:{src}/missing"], "No such file"),
    (["file:/x:0644:{src}"], "not a regular file"),
    (["tree:/x:{src}/missing"], "No such file"),
    (["tree:/x:{init}"], "Not a directory"),
    (["tree:/x:{fifodir}"], "not a directory, file or symlink"),
]


@pytest.mark.parametrize("specs,message", BAD_SPECS,
                         ids=[f"{i}-{s[0][:24]}" for i, (s, _) in enumerate(BAD_SPECS)])
def test_cpio_rejects_bad_specs(tmp_path, specs, message):
    src = tmp_path / "src"
    src.mkdir()
    (src / "init").write_text("init")
    (src / "other").write_text("other")
    (src / "fifodir").mkdir()
    os.mkfifo(src / "fifodir" / "pipe")
    subst = {"src": src, "init": src / "init", "other": src / "other",
             "fifodir": src / "fifodir"}
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "initramfs.cpio"
    p = run_mkcpio(out, "dir:/ok:0755", *[s.format(**subst) for s in specs], check=False)
    assert p.returncode != 0
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mkcpio: "), p.stderr
    assert message in lines[0], lines[0]
    assert os.listdir(out_dir) == [], "output or temporary file left behind"


def test_cpio_failure_keeps_existing_output(tmp_path):
    out = tmp_path / "initramfs.cpio"
    out.write_bytes(b"previous")
    p = run_mkcpio(out, "dir:/x:0755", "dir:/x:0700", check=False)
    assert p.returncode != 0
    assert out.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["initramfs.cpio"]


def test_cpio_usage_errors(tmp_path):
    for args in ([], [tmp_path / "only-output"], ["--no-such-option", tmp_path / "o", "dir:/x:0755"]):
        p = run_mkcpio(*args, check=False)
        assert p.returncode != 0 and "mkcpio" in p.stderr
    assert os.listdir(tmp_path) == []
    p = run_mkcpio("--help")
    for kind in ("dir:", "file:", "symlink:", "nod:", "tree:", "SOURCE_DATE_EPOCH", "--gzip"):
        assert kind in p.stdout
    p = run_mkcpio(tmp_path / "o", "dir:/x:0755", env={"SOURCE_DATE_EPOCH": "soon"}, check=False)
    assert p.returncode != 0 and "SOURCE_DATE_EPOCH" in p.stderr
    assert os.listdir(tmp_path) == []


# --- UKI ---------------------------------------------------------------------

def project_version():
    text = open(os.path.join(ROOT, "meson.build")).read()
    return re.search(r"version:\s*'([^']+)'", text).group(1)


def pe_field(path, field):
    out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return int(re.search(rf"^{field}\s+([0-9a-fA-F]+)$", out, re.M).group(1), 16)


def sections(path):
    """[(name, size, vma, flags)] from objdump -h, in table order."""
    out = subprocess.run(["objdump", "-h", str(path)], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    result = []
    for i, line in enumerate(out):
        f = line.split()
        if len(f) >= 7 and f[0].isdigit():
            result.append((f[1], int(f[2], 16), int(f[3], 16), out[i + 1].strip()))
    return result


def run_mkuki(*args):
    return subprocess.run([MKUKI, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture
def uki_inputs(tmp_path, inputs):
    if not os.path.exists(STUB):
        pytest.fail(f"{STUB} missing: install systemd-boot-efi (scripts/deps.sh)")
    kernel = tmp_path / "bzImage"
    # a fake kernel: arbitrary bytes whose size is not a multiple of anything
    kernel.write_bytes(os.urandom(1_500_001))
    initrd = tmp_path / "initramfs.cpio"
    run_mkcpio(initrd, *specs_for(inputs))
    return kernel, initrd


def pe_checksum(data, checksum_offset):
    """The PE image checksum, computed here independently of mkuki.sh."""
    length = len(data)
    data = bytearray(data)
    data[checksum_offset:checksum_offset + 4] = b"\0\0\0\0"
    if length % 2:
        data.append(0)
    s = 0
    for i in range(0, len(data), 2):
        s += data[i] | data[i + 1] << 8
        s = (s & 0xFFFF) + (s >> 16)
    return s + length


def check_uki(uki, contents):
    """The UKI is a PE with our sections last, in order, aligned, readable back."""
    ft = subprocess.run(["file", "-b", str(uki)], capture_output=True, text=True,
                        check=True).stdout
    assert ft.startswith("PE32+ executable (EFI application) x86-64"), ft
    alignment = pe_field(uki, "SectionAlignment")
    assert alignment == pe_field(STUB, "SectionAlignment")
    base = pe_field(uki, "ImageBase")
    stub_secs = sections(STUB)
    secs = sections(uki)
    assert [s[0] for s in secs] == [s[0] for s in stub_secs] + UKI_SECTIONS
    end = max(vma + size for _, size, vma, _ in stub_secs)
    for name, size, vma, flags in secs[len(stub_secs):]:
        assert (vma - base) % alignment == 0, f"{name} at {vma:#x} not aligned to {alignment:#x}"
        assert vma >= end, f"{name} at {vma:#x} overlaps what ends at {end:#x}"
        assert size == len(contents[name]), name
        assert "READONLY" in flags and "DATA" in flags, flags
        end = vma + size
    assert pe_field(uki, "SizeOfImage") >= end - base
    data = uki.read_bytes()
    pe = int.from_bytes(data[60:64], "little")
    assert pe_field(uki, "CheckSum") == pe_checksum(data, pe + 88)
    for name in UKI_SECTIONS:
        readback = uki.parent / ("readback" + name)
        subprocess.run(["objcopy", "-O", "binary", f"--only-section={name}", str(uki),
                        str(readback)], check=True)
        assert readback.read_bytes() == contents[name], name


def test_uki_sections(tmp_path, uki_inputs):
    kernel, initrd = uki_inputs
    uki = tmp_path / "mvirt.efi"
    cmdline = "console=ttyS0 mvirt.hostname=test mvirt.run=/bin/sh"
    p = run_mkuki(uki, "--linux", kernel, "--initrd", initrd, "--cmdline", cmdline)
    assert p.returncode == 0, p.stderr
    version = project_version()
    osrel = (f'NAME="mvirt"\nID=mvirt\nVERSION_ID={version}\n'
             f'PRETTY_NAME="mvirt {version}"\n').encode()
    check_uki(uki, {".osrel": osrel, ".cmdline": cmdline.encode(),
                    ".linux": kernel.read_bytes(), ".initrd": initrd.read_bytes()})
    assert oct(os.stat(uki).st_mode & 0o777) == "0o644"
    assert os.listdir(tmp_path / "src")  # inputs untouched

    # same inputs: same image, whatever the clock says
    data = uki.read_bytes()
    pe = int.from_bytes(data[60:64], "little")
    assert data[pe + 8:pe + 12] == b"\0\0\0\0"  # TimeDateStamp
    time.sleep(1.1)
    uki2 = tmp_path / "again.efi"
    assert run_mkuki(uki2, "--linux", kernel, "--initrd", initrd,
                     "--cmdline", cmdline).returncode == 0
    assert uki2.read_bytes() == data

    uki3 = tmp_path / "dated.efi"
    p = subprocess.run([MKUKI, uki3, "--linux", kernel, "--initrd", initrd, "--cmdline", cmdline],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
    assert p.returncode == 0, p.stderr
    data3 = uki3.read_bytes()
    assert int.from_bytes(data3[pe + 8:pe + 12], "little") == 1700000000
    assert pe_field(uki3, "CheckSum") == pe_checksum(data3, pe + 88)


def test_uki_custom_osrel(tmp_path, uki_inputs):
    kernel, initrd = uki_inputs
    osrel = tmp_path / "os-release"
    osrel.write_text('NAME="appliance"\nID=appliance\nVERSION_ID=7\n')
    uki = tmp_path / "app.efi"
    p = run_mkuki("--osrel", osrel, "--cmdline", "quiet", "--initrd", initrd,
                  "--linux", kernel, uki)
    assert p.returncode == 0, p.stderr
    check_uki(uki, {".osrel": osrel.read_bytes(), ".cmdline": b"quiet",
                    ".linux": kernel.read_bytes(), ".initrd": initrd.read_bytes()})


def test_uki_rejects_bad_arguments(tmp_path, uki_inputs):
    kernel, initrd = uki_inputs
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    uki = out_dir / "x.efi"
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    cases = [
        ([uki, "--initrd", initrd, "--cmdline", "x"], "--linux"),
        ([uki, "--linux", kernel, "--cmdline", "x"], "--initrd"),
        ([uki, "--linux", kernel, "--initrd", initrd], "--cmdline"),
        ([uki, "--linux", kernel, "--initrd", initrd, "--cmdline", ""], "empty"),
        ([uki, "--linux", kernel, "--initrd", initrd, "--cmdline", "a\nb"], "control"),
        ([uki, "--linux", tmp_path / "missing", "--initrd", initrd, "--cmdline", "x"], "cannot read"),
        ([uki, "--linux", empty, "--initrd", initrd, "--cmdline", "x"], "empty"),
        ([uki, "--linux", kernel, "--initrd", initrd, "--cmdline", "x", "--stub", kernel],
         "PE"),
        ([uki, "--linux", kernel, "--initrd", initrd, "--cmdline", "x", "--bogus"], "unknown"),
        (["--linux", kernel, "--initrd", initrd, "--cmdline", "x"], "no output"),
    ]
    for args, message in cases:
        p = run_mkuki(*args)
        assert p.returncode != 0, args
        assert p.stderr.startswith("mkuki: ") and message in p.stderr, (args, p.stderr)
        assert os.listdir(out_dir) == [], args


def test_uki_help():
    p = run_mkuki("--help")
    assert p.returncode == 0 and "--linux" in p.stdout and "--cmdline" in p.stdout
    assert shutil.which("objcopy") and shutil.which("objdump")


# --- booting a UKI under OVMF ----------------------------------------------------

OVMF = "/usr/share/ovmf/OVMF.fd"
BUSYBOX = "/bin/busybox"  # Debian's busybox-static


@pytest.mark.guest
def test_uki_boots_under_ovmf(tmp_path, guest_os):
    """Firmware → systemd stub → our kernel → initramfs: the stub finds every
    section, the kernel gets the exact command line, the initramfs's init runs."""
    bzimage = os.path.join(guest_os, "bzImage")
    # busybox's init applet runs the inittab's sysinit line through its sh:
    # no script interpreter needed in the kernel
    (tmp_path / "inittab").write_text(
        "::sysinit:/bin/sh -c '/bin/busybox mount -t proc proc /proc;"
        " echo \"uki-boot-ok: $(/bin/busybox cat /proc/cmdline)\"; /bin/busybox poweroff -f'\n")
    initrd = tmp_path / "initrd.cpio"
    run_mkcpio(initrd, f"file:/bin/busybox:0755:{BUSYBOX}", "symlink:/init:bin/busybox",
               "symlink:/bin/sh:busybox", f"file:/etc/inittab:0644:{tmp_path}/inittab",
               "dir:/proc:0555", "dir:/dev:0755", "nod:/dev/console:0600:c:5:1")
    esp = tmp_path / "esp"
    (esp / "EFI" / "BOOT").mkdir(parents=True)
    cmdline = "console=ttyS0 panic=-1 mvirt.uki-test=4242"
    p = run_mkuki(esp / "EFI" / "BOOT" / "BOOTX64.EFI", "--linux", bzimage,
                  "--initrd", initrd, "--cmdline", cmdline)
    assert p.returncode == 0, p.stderr
    serial = tmp_path / "serial.log"
    qemu = subprocess.run(
        ["qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "512", "-nodefaults",
         "-display", "none", "-no-reboot", "-serial", f"file:{serial}", "-bios", OVMF,
         "-drive", f"if=none,id=esp,format=raw,readonly=on,file=fat:{esp}",
         "-device", "virtio-blk-pci,drive=esp"],
        capture_output=True, text=True, timeout=240)
    log = serial.read_bytes().decode(errors="replace")
    assert qemu.returncode == 0, qemu.stderr + log[-3000:]
    assert f"uki-boot-ok: {cmdline}\n" in log.replace("\r", ""), log[-3000:]
