#!/usr/bin/python3
"""Boot time of the guest OS under TCG: our kernel against Debian's.

Boots our vmlinux and Debian's stock one (os/kernel/debian-vmlinux.sh) with
the same initramfs-test.cpio and command line, --reps times each,
alternately, one at a time, under QEMU with TCG (tests/integration/guest.py),
and measures for each boot:

  kernel: kernel start -> "mvirt-init: ready", as the guest's own clock
          says: the service mvirt.run=/bin/cat /proc/uptime starts right
          at "ready" and prints the uptime (10 ms resolution);
  wall:   QEMU started -> "ready" seen on the serial console, host clock
          (adds QEMU's start and the loading of the vmlinux).

Prints medians [min-max] and the ratio ours/Debian's; the target (issue 3)
is <= 0.7. Nothing is asserted: this is a measurement.

  bench/os_boot.py [--os-dir build/guest] [--reps 5]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from guest import Guest  # noqa: E402

APPEND = 'quiet mvirt.run="/bin/cat /proc/uptime"'


def boot_once(kernel, initrd, timeout):
    """One boot: (kernel seconds, wall seconds)."""
    g = Guest(kernel, initrd, APPEND, name="bench")
    try:
        g.start()
        g.expect(r"^mvirt-init: ready$", timeout=timeout)
        wall = time.monotonic() - g.started
        m = g.expect(r"^cat-0: (\d+\.\d+) ", timeout=timeout)
        return float(m.group(1)), wall
    finally:
        if g.running():
            try:
                g.qmp.command("quit")
            except (OSError, RuntimeError):
                pass
        g.stop()


def stats(values):
    return statistics.median(values), min(values), max(values)


def main():
    ap = argparse.ArgumentParser(description="guest OS boot time under TCG: ours vs Debian's")
    ap.add_argument("--os-dir", default=os.path.join(ROOT, "build", "guest"),
                    help="output of os/build.sh (default build/guest, as make os)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()

    os_dir = os.path.abspath(args.os_dir)
    ours = os.path.join(os_dir, "vmlinux")
    initrd = os.path.join(os_dir, "initramfs-test.cpio")
    for f in (ours, initrd):
        if not os.path.isfile(f):
            sys.exit(f"os_boot: {f} missing: run make os (or os/build.sh {os_dir})")
    p = subprocess.run([os.path.join(ROOT, "os", "kernel", "debian-vmlinux.sh"), os_dir],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"os_boot: fetching Debian's kernel failed:\n{p.stdout}{p.stderr}")
    debian = os.path.join(os_dir, "debian-vmlinux")
    debian_version = re.search(r"\((linux-image-\S+ \S+)\)", p.stdout)

    kernels = {"mvirt": ours, "debian": debian}
    results = {name: {"kernel": [], "wall": []} for name in kernels}
    for rep in range(args.reps):
        order = ["mvirt", "debian"] if rep % 2 == 0 else ["debian", "mvirt"]
        for name in order:
            k, w = boot_once(kernels[name], initrd, args.timeout)
            results[name]["kernel"].append(k)
            results[name]["wall"].append(w)
            print(f"os_boot: run {rep + 1}/{args.reps} {name}: kernel->ready {k:.2f} s, "
                  f"QEMU->ready {w:.2f} s", file=sys.stderr)

    def line(metric):
        m, d = stats(results["mvirt"][metric]), stats(results["debian"][metric])
        return (f"mvirt {m[0]:.2f} s [{m[1]:.2f}-{m[2]:.2f}]  debian {d[0]:.2f} s "
                f"[{d[1]:.2f}-{d[2]:.2f}]  ratio {m[0] / d[0]:.2f}x"), m[0] / d[0]

    kline, kratio = line("kernel")
    wline, _ = line("wall")
    size = {n: os.path.getsize(k) / 2**20 for n, k in kernels.items()}
    verdict = "met" if kratio <= 0.7 else "MISSED"
    print(f"""
== guest OS boot under TCG (-M pc -accel tcg -smp 2 -m 256): medians of {args.reps} runs [min-max]
kernels: mvirt vmlinux {size['mvirt']:.1f} MiB, Debian's {size['debian']:.1f} MiB \
({debian_version.group(1) if debian_version else '?'})
same initramfs-test.cpio; cmdline console=ttyS0 panic=-1 {APPEND}
  kernel start -> mvirt-init ready (guest uptime)  {kline}
  QEMU start -> ready seen (host clock)            {wline}
target:
  boot time <= 0.7x Debian's kernel               {kratio:.2f}x: {verdict}""")


if __name__ == "__main__":
    main()
