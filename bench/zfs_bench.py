#!/usr/bin/python3
"""Storage benchmarks of mvirt-zfs (issue 5) on a throw-away zfs-fuse pool.

1. Clone time: templates of 1 GiB and 16 GiB virtual size holding the same
   few MiB of data are imported, then CloneFromTemplate is timed --clones
   times for each (each clone deleted right after, sizes alternately). A
   clone is a ZFS clone of the template's snapshot, so the two medians
   should be equal within noise: the target is a 16G/1G ratio of ~1.0.

2. qcow2 import throughput: ImportTemplate of a local qcow2 until the job is
   COMPLETED (WatchImportJob) against `qemu-img convert -f qcow2 -O raw` of
   the same image into a file in another dataset of the same pool (same
   zfs-fuse, same recordsize as the daemon's bases), followed by an fsync of
   the output because the import fsyncs before it completes. Two images: a
   mostly-empty one and a mostly-full one. Throughput is virtual bytes per
   second; the target is ours/qemu-img >= 1.0. The two run alternately,
   --reps times each, and each output is deleted before the next run.

Every figure is a median [min-max]; nothing is asserted. Everything runs in
a temporary directory under /var/tmp and a pool created for the run, both
removed at the end; zfs-fuse is started (and stopped again) only when it is
not running.

  bench/zfs_bench.py [--build build] [--reps 3] [--clones 15]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from zfs_pool import TestPool, ZfsFuse, destroy_dataset, run  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
# the daemon's recordsize for template bases (zfs/pool.h ZP_DEFAULT_BLOCKSIZE)
RECORDSIZE = "16K"
# the mostly-empty and the mostly-full import images: virtual size, and
# every how many MiB one MiB of data is written (1 in 20 = 5 %), or which
# MiB are left empty (1 in 10 = 90 % data)
IMAGES = {
    "empty": {"vsize": 2 * GiB, "desc": "2 GiB virtual, 5 % data"},
    "full": {"vsize": 512 * MiB, "desc": "512 MiB virtual, 90 % data"},
}


def say(msg):
    print(f"zfs_bench: {msg}", file=sys.stderr, flush=True)


def generate_stubs(out):
    """zfs.proto and the health service, compiled with grpc_tools.protoc."""
    from grpc_tools import protoc

    src = os.path.join(out, "src")
    os.makedirs(src)
    shutil.copy(os.path.join(ROOT, "proto", "zfs.proto"), src)
    shutil.copy(os.path.join(ROOT, "proto", "grpc", "health", "v1", "health.proto"),
                os.path.join(src, "grpc_health_v1.proto"))
    for p in ("zfs.proto", "grpc_health_v1.proto"):
        if protoc.main(["protoc", f"-I{src}", f"--python_out={out}", f"--grpc_python_out={out}",
                        os.path.join(src, p)]) != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {p}")
    sys.path.insert(0, out)


class Daemon:
    """mvirt-zfs on dataset, file layout, local imports from import_root."""

    def __init__(self, binary, dataset, tmp, import_root):
        self.run_dir = os.path.join(tmp, "run")
        self.data_dir = os.path.join(tmp, "data")
        self.socket = os.path.join(self.run_dir, "zfs.sock")
        self.stderr_path = os.path.join(tmp, "mvirt-zfs.stderr")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "--pool", dataset, "--layout", "file", "--run-dir", self.run_dir,
                 "--data-dir", self.data_dir, "--import-root", import_root],
                stdout=err, stderr=err)
        self.channel = None
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self):
        import grpc

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mvirt-zfs exited with {self.proc.returncode}: {self.log()}")
            if os.path.exists(self.socket) and self._serving():
                self.channel = grpc.insecure_channel("unix:" + self.socket)
                import zfs_pb2_grpc
                self.stub = zfs_pb2_grpc.ZfsServiceStub(self.channel)
                return
            time.sleep(0.05)
        raise RuntimeError("mvirt-zfs did not become ready: " + self.log())

    def _serving(self):
        import grpc
        import grpc_health_v1_pb2 as hpb
        import grpc_health_v1_pb2_grpc as hg

        try:
            with grpc.insecure_channel("unix:" + self.socket) as ch:
                r = hg.HealthStub(ch).Check(hpb.HealthCheckRequest(), timeout=2)
                return r.status == hpb.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self):
        if self.channel is not None:
            self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def import_template(stub, name, source):
    """ImportTemplate until COMPLETED: (seconds, seconds until WRITING was
    first seen, i.e. the base dataset exists)."""
    import zfs_pb2 as pb

    t0 = time.monotonic()
    job = stub.ImportTemplate(pb.ImportTemplateRequest(name=name, source=source), timeout=60)
    t_writing = None
    last = job
    for last in stub.WatchImportJob(pb.GetImportJobRequest(id=job.id), timeout=600):
        if last.state == pb.IMPORT_JOB_STATE_WRITING and t_writing is None:
            t_writing = time.monotonic() - t0
        if last.state >= pb.IMPORT_JOB_STATE_COMPLETED:
            break
    elapsed = time.monotonic() - t0
    if last.state != pb.IMPORT_JOB_STATE_COMPLETED:
        raise RuntimeError(f"import of {source} ended {pb.ImportJobState.Name(last.state)}: "
                           f"{last.error}")
    return elapsed, t_writing if t_writing is not None else float("nan")


def delete_template(stub, name):
    import zfs_pb2 as pb

    stub.DeleteTemplate(pb.DeleteTemplateRequest(name=name), timeout=120)


def qemu_convert(src, dst):
    """qemu-img convert qcow2 -> raw, then fsync the output: seconds."""
    t0 = time.monotonic()
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", src, dst], check=True,
                   stdin=subprocess.DEVNULL)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.monotonic() - t0


def qemu_convert_dataset(src, parent, n):
    """What a script making the same template would do: zfs create, qemu-img
    convert into it, fsync, zfs snapshot: seconds (the dataset is destroyed
    afterwards, untimed)."""
    ds = f"{parent}/t{n}"
    t0 = time.monotonic()
    run(["zfs", "create", "-o", f"recordsize={RECORDSIZE}", ds])
    mp = run(["zfs", "get", "-Hp", "-o", "value", "mountpoint", ds]).stdout.strip()
    qemu_convert(src, os.path.join(mp, "disk.raw"))
    run(["zfs", "snapshot", f"{ds}@img"])
    secs = time.monotonic() - t0
    run(["zfs", "unmount", ds], check=False)
    try:
        destroy_dataset(ds)
    except (RuntimeError, subprocess.TimeoutExpired) as e:  # the pool goes at the end anyway
        say(str(e))
    return secs


def make_raw(path, vsize, data_mib):
    """A sparse raw image of vsize bytes with one MiB of random data at each
    MiB index in data_mib."""
    with open(path, "wb") as f:
        f.truncate(vsize)
        for i in data_mib:
            f.seek(i * MiB)
            f.write(os.urandom(MiB))


def make_qcow2(raw, qcow2):
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    os.unlink(raw)


def stats(values):
    return statistics.median(values), min(values), max(values)


def fmt_s(values, scale=1.0, unit="s", prec=3):
    m, lo, hi = stats([v * scale for v in values])
    return f"{m:.{prec}f} {unit} [{lo:.{prec}f}-{hi:.{prec}f}]"


def bench_clones(stub, images, n):
    """Median seconds of CloneFromTemplate for the 1 GiB and 16 GiB templates."""
    import zfs_pb2 as pb

    times = {"1G": [], "16G": []}
    for size, vsize in (("1G", GiB), ("16G", 16 * GiB)):
        secs, _ = import_template(stub, f"tpl-{size}", os.path.join(images, f"clone-{size}.qcow2"))
        say(f"clone: template of {size} imported in {secs:.2f} s")
    for i in range(n):
        order = ("1G", "16G") if i % 2 == 0 else ("16G", "1G")
        for size in order:
            name = f"clone-{size}-{i}"
            t0 = time.monotonic()
            vol = stub.CloneFromTemplate(pb.CloneFromTemplateRequest(
                template_name=f"tpl-{size}", new_volume_name=name), timeout=120)
            times[size].append(time.monotonic() - t0)
            if vol.volsize_bytes != (GiB if size == "1G" else 16 * GiB):
                raise RuntimeError(f"clone {name} has size {vol.volsize_bytes}")
            stub.DeleteVolume(pb.DeleteVolumeRequest(name=name), timeout=120)
        say(f"clone: run {i + 1}/{n}: 1G {times['1G'][-1] * 1000:.0f} ms, "
            f"16G {times['16G'][-1] * 1000:.0f} ms")
    for size in ("1G", "16G"):
        delete_template(stub, f"tpl-{size}")
    return times


def bench_imports(stub, images, qemu_dir, qemu_parent, reps):
    res = {k: {"mvirt": [], "qemu": [], "qemu_ds": [], "mvirt_pre": []} for k in IMAGES}
    n = 0
    for kind in IMAGES:
        src = os.path.join(images, f"{kind}.qcow2")
        for rep in range(reps):
            order = ("mvirt", "qemu", "qemu_ds") if rep % 2 == 0 else ("qemu_ds", "qemu", "mvirt")
            for who in order:
                if who == "mvirt":
                    secs, pre = import_template(stub, f"imp-{kind}", src)
                    res[kind]["mvirt_pre"].append(pre)
                    delete_template(stub, f"imp-{kind}")
                elif who == "qemu_ds":
                    n += 1
                    secs = qemu_convert_dataset(src, qemu_parent, n)
                else:
                    dst = os.path.join(qemu_dir, f"{kind}.raw")
                    secs = qemu_convert(src, dst)
                    os.unlink(dst)
                res[kind][who].append(secs)
            vs = IMAGES[kind]["vsize"]
            say(f"import: {kind} run {rep + 1}/{reps}: mvirt {vs / res[kind]['mvirt'][-1] / MiB:.0f} "
                f"MiB/s, qemu-img {vs / res[kind]['qemu'][-1] / MiB:.0f} MiB/s, "
                f"zfs create + qemu-img + zfs snapshot {vs / res[kind]['qemu_ds'][-1] / MiB:.0f} MiB/s")
    return res


def bench_fixed(stub, images, qemu_parent, reps):
    """The fixed cost of an import: a 1 MiB image holding 64 KiB."""
    src = os.path.join(images, "tiny.qcow2")
    res = {"mvirt": [], "qemu_ds": []}
    for rep in range(reps):
        secs, _ = import_template(stub, "imp-tiny", src)
        delete_template(stub, "imp-tiny")
        res["mvirt"].append(secs)
        res["qemu_ds"].append(qemu_convert_dataset(src, qemu_parent, 1000 + rep))
    say(f"import: 1 MiB image: mvirt {statistics.median(res['mvirt']):.2f} s, zfs create + "
        f"qemu-img + zfs snapshot {statistics.median(res['qemu_ds']):.2f} s")
    return res


def main():
    ap = argparse.ArgumentParser(description="mvirt-zfs clone and import benchmarks")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3, help="import runs per image and tool")
    ap.add_argument("--clones", type=int, default=15, help="clones per template size")
    ap.add_argument("--pool-size", default="4G")
    args = ap.parse_args()

    binary = os.path.join(os.path.abspath(args.build), "zfs", "mvirt-zfs")
    if not os.access(binary, os.X_OK):
        sys.exit(f"zfs_bench: {binary} is not built (run make)")
    if shutil.which("qemu-img") is None:
        sys.exit("zfs_bench: qemu-img is not installed")

    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="mvirt-zfs-bench.", dir="/var/tmp")
    fuse = pool = daemon = None
    try:
        generate_stubs(os.path.join(tmp, "stubs"))
        images = os.path.join(tmp, "images")
        os.makedirs(images)
        say("making the images (qemu-img convert of sparse raw files)")
        # clone templates: the same 4 MiB of data at the start and the end of 1 and 16 GiB
        for size, vsize in (("1G", GiB), ("16G", 16 * GiB)):
            raw = os.path.join(images, f"clone-{size}.raw")
            make_raw(raw, vsize, [0, 1, vsize // MiB - 2, vsize // MiB - 1])
            make_qcow2(raw, os.path.join(images, f"clone-{size}.qcow2"))
        raw = os.path.join(images, "tiny.raw")
        with open(raw, "wb") as f:
            f.truncate(MiB)
            f.write(os.urandom(64 << 10))
        make_qcow2(raw, os.path.join(images, "tiny.qcow2"))
        data = {
            "empty": range(0, IMAGES["empty"]["vsize"] // MiB, 20),
            "full": [i for i in range(IMAGES["full"]["vsize"] // MiB) if i % 10 != 5],
        }
        for kind, spec in IMAGES.items():
            raw = os.path.join(images, f"{kind}.raw")
            make_raw(raw, spec["vsize"], data[kind])
            spec["data"] = len(data[kind]) * MiB
            make_qcow2(raw, os.path.join(images, f"{kind}.qcow2"))
            spec["file"] = os.path.getsize(os.path.join(images, f"{kind}.qcow2"))

        fuse = ZfsFuse().start()
        pool = TestPool(size=args.pool_size)
        say(f"pool {pool.name} ({args.pool_size}, file-backed on zfs-fuse)")
        dataset = f"{pool.name}/zb"
        run(["zfs", "create", "-o", "mountpoint=none", dataset])
        qemu_dir = os.path.join(tmp, "qemu")
        os.makedirs(qemu_dir)
        run(["zfs", "create", "-o", f"mountpoint={qemu_dir}", "-o", f"recordsize={RECORDSIZE}",
             f"{pool.name}/qemu"])
        daemon = Daemon(binary, dataset, os.path.join(tmp), images)

        clones = bench_clones(daemon.stub, images, args.clones)
        imports = bench_imports(daemon.stub, images, qemu_dir, f"{pool.name}/qemu", args.reps)
        fixed = bench_fixed(daemon.stub, images, f"{pool.name}/qemu", args.reps)
    finally:
        if daemon is not None:
            daemon.stop()
        try:
            if pool is not None:
                run(["zfs", "unmount", f"{pool.name}/qemu"], check=False)
                pool.destroy()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            say(f"{e}: pool {pool.name} left behind")
        finally:
            if fuse is not None:
                fuse.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    c1, c16 = statistics.median(clones["1G"]), statistics.median(clones["16G"])
    clone_ratio = c16 / c1
    lines = []
    ratios = {}
    ratios_ds = {}
    for kind, spec in IMAGES.items():
        vs = spec["vsize"]
        ours = [vs / s / MiB for s in imports[kind]["mvirt"]]
        qemu = [vs / s / MiB for s in imports[kind]["qemu"]]
        qemu_ds = [vs / s / MiB for s in imports[kind]["qemu_ds"]]
        ratios[kind] = statistics.median(ours) / statistics.median(qemu)
        ratios_ds[kind] = statistics.median(ours) / statistics.median(qemu_ds)
        lines.append(
            f"  {spec['desc']} ({spec['data'] / MiB:.0f} MiB data, qcow2 file "
            f"{spec['file'] / MiB:.0f} MiB):\n"
            f"    mvirt ImportTemplate -> COMPLETED  {fmt_s(ours, unit='MiB/s', prec=0)}  "
            f"= {fmt_s(imports[kind]['mvirt'], prec=2)}"
            f"  (of which {statistics.median(imports[kind]['mvirt_pre']):.2f} s before WRITING)\n"
            f"    qemu-img convert + fsync           {fmt_s(qemu, unit='MiB/s', prec=0)}  "
            f"= {fmt_s(imports[kind]['qemu'], prec=2)}\n"
            f"    zfs create, qemu-img, zfs snapshot {fmt_s(qemu_ds, unit='MiB/s', prec=0)}  "
            f"= {fmt_s(imports[kind]['qemu_ds'], prec=2)}\n"
            f"    ratio mvirt/qemu-img               {ratios[kind]:.2f}x  "
            f"(against the same with zfs create + snapshot: {ratios_ds[kind]:.2f}x)")

    def ok(cond):
        return "met" if cond else "MISSED"

    body = "\n".join(lines)
    print(f"""
== mvirt-zfs storage (file layout on zfs-fuse, pool {args.pool_size} file-backed in /tmp): \
medians [min-max]
took {time.monotonic() - t_start:.0f} s
CloneFromTemplate (+ DeleteVolume after each, not timed), {args.clones} clones per template,
templates holding 4 MiB of data:
  1 GiB template                       {fmt_s(clones['1G'], 1000, 'ms', 1)}
  16 GiB template                      {fmt_s(clones['16G'], 1000, 'ms', 1)}
  ratio 16G/1G                         {clone_ratio:.2f}x
qcow2 -> raw import, virtual bytes/s, {args.reps} runs per tool, alternately, into a file of the
same pool (recordsize {RECORDSIZE}):
{body}
  fixed cost, 1 MiB image holding 64 KiB: mvirt import {fmt_s(fixed['mvirt'], prec=2)}, zfs create +
    qemu-img + fsync + zfs snapshot {fmt_s(fixed['qemu_ds'], prec=2)}
targets:
  clone time independent of size (16G/1G ~1.0)   {clone_ratio:.2f}x: \
{ok(0.8 <= clone_ratio <= 1.25)}
  import >= 1.0x qemu-img convert                mostly empty {ratios['empty']:.2f}x, \
mostly full {ratios['full']:.2f}x: {ok(min(ratios.values()) >= 1.0)}""")


if __name__ == "__main__":
    main()
