"""Golden-file tests of the hypervisor command lines both drivers build.

hv-argv (vmm/hv_argv.c, not installed) prints a driver's argv for a stored
VmConfig without starting anything; each case below covers one boot mode or
NIC kind, and its output must equal tests/integration/golden/
<driver>_argv_<case>.txt (one argument per line). The paths in the configs
are fixed and need not exist, so nothing is normalised. That hv-argv prints
what mvirt-vmm really runs is checked in test_vmm_ch.py (cloud-hypervisor:
the stand-in records the daemon's argv). MVIRT_UPDATE_GOLDEN=1 rewrites the
files.
"""
import json
import os
import subprocess

import pytest

from conftest import ROOT, binary

GOLDEN_DIR = os.path.join(ROOT, "tests", "integration", "golden")
VM_ID = "3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"
RUN_DIR = "/run/mvirt"
BOOT = "/var/lib/mvirt/boot"
DISKS = "/var/lib/mvirt/disks"
VNIC = "/run/mvirt/net/vnic-1.sock"
FIRMWARE = {"qemu": "/usr/share/ovmf/OVMF.fd",
            "cloud-hypervisor": "/usr/share/cloud-hypervisor/CLOUDHV.fd"}


def config(**kw):
    """A VmConfig in its stored form (api.md §2.6), kernel boot by default."""
    c = {"vcpus": 2, "memory_mb": 512, "boot_mode": 2, "kernel": f"{BOOT}/vmlinux",
         "initramfs": None, "cmdline": None, "disks": [], "nics": [], "user_data": None,
         "nested_virt": False}
    c.update(kw)
    return c


def tap_nic(mac):
    return {"tap": None, "mac": mac, "vhost_socket": None}


# name: (config, extra hv-argv options, drivers)
CASES = {
    # kernel boot with initramfs and command line, a writable and a read-only disk
    "kernel": (config(initramfs=f"{BOOT}/initramfs.cpio", cmdline="console=ttyS0 quiet",
                      disks=[{"path": f"{DISKS}/root.raw", "readonly": False},
                             {"path": f"{DISKS}/data.raw", "readonly": True}],
                      nics=[tap_nic("52:54:00:00:00:01")]), [], ("qemu", "cloud-hypervisor")),
    # UEFI firmware boots the first disk
    "disk": (config(boot_mode=1, kernel=None, vcpus=4, memory_mb=2048,
                    disks=[{"path": "/dev/zvol/tank/vms/0c1d2e3f", "readonly": False}],
                    nics=[tap_nic("52:54:00:00:00:02")]), ["firmware"], ("qemu", "cloud-hypervisor")),
    # a vhost-user NIC: guest RAM shared with the back end
    "vhost": (config(cmdline="console=ttyS0",
                     nics=[{"tap": None, "mac": "02:aa:bb:cc:dd:ee", "vhost_socket": VNIC}]),
              [], ("qemu", "cloud-hypervisor")),
    # QEMU under KVM: no vectors=0 work-around, host CPU
    "vhost_kvm": (config(cmdline="console=ttyS0",
                         nics=[{"tap": None, "mac": "02:aa:bb:cc:dd:ee", "vhost_socket": VNIC}]),
                  ["--kvm"], ("qemu",)),
    # several TAP NICs, named after the VM id and the NIC index
    "taps": (config(vcpus=1, memory_mb=128,
                    nics=[tap_nic("52:54:00:00:00:0a"), tap_nic("52:54:00:00:00:0b"),
                          tap_nic("52:54:00:00:00:0c")]), [], ("qemu", "cloud-hypervisor")),
    # the cloud-init seed as an extra read-only disk
    "seed": (config(disks=[{"path": f"{DISKS}/root.raw", "readonly": False}],
                    nics=[tap_nic("52:54:00:00:00:03")]),
             ["--seed", f"{RUN_DIR}/vms/{VM_ID}/seed.iso"], ("qemu", "cloud-hypervisor")),
}
PARAMS = [(d, c) for c, (_, _, drivers) in CASES.items() for d in drivers]


def hv_argv(driver, cfg, extra, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    opts = []
    for e in extra:
        opts += ["--firmware", FIRMWARE[driver]] if e == "firmware" else [e]
    p = subprocess.run([binary("hv-argv"), "--vm-id", VM_ID, "--run-dir", RUN_DIR, *opts,
                        driver, str(path)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


@pytest.mark.parametrize("driver,case", PARAMS, ids=[f"{d}-{c}" for d, c in PARAMS])
def test_argv_golden(driver, case, tmp_path):
    cfg, extra, _ = CASES[case]
    got = hv_argv(driver, cfg, extra, tmp_path)
    prefix = "ch" if driver == "cloud-hypervisor" else "qemu"
    golden = os.path.join(GOLDEN_DIR, f"{prefix}_argv_{case}.txt")
    if os.environ.get("MVIRT_UPDATE_GOLDEN"):
        with open(golden, "w") as f:
            f.write("\n".join(got) + "\n")
    with open(golden) as f:
        want = f.read().splitlines()
    assert got == want, "\n".join([f"argv differs from {golden}:"] + got)


def test_disk_boot_needs_firmware(tmp_path):
    cfg, _, _ = CASES["disk"]
    for driver in ("qemu", "cloud-hypervisor"):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(cfg))
        p = subprocess.run([binary("hv-argv"), driver, str(path)], capture_output=True,
                           text=True, timeout=10)
        assert p.returncode == 1 and "--firmware-path" in p.stderr, p.stderr


def test_ch_refuses_option_separators(tmp_path):
    """cloud-hypervisor splits option values at ',' and quotes with '"': a
    path holding '"' would change the option's meaning."""
    cfg = config(disks=[{"path": f'{DISKS}/a"b.raw', "readonly": False}])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    p = subprocess.run([binary("hv-argv"), "cloud-hypervisor", str(path)], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 1 and "cannot be passed to cloud-hypervisor" in p.stderr, p.stderr
