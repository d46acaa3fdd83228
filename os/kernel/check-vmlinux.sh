#!/bin/bash
# SPDX-License-Identifier: MIT
# Check that a file is a kernel that QEMU (-kernel) and cloud-hypervisor can
# boot directly: an x86-64 ELF vmlinux carrying the Xen PVH entry note
# (XEN_ELFNOTE_PHYS32_ENTRY, type 18, owner "Xen").
# Usage: check-vmlinux.sh VMLINUX
set -euo pipefail

die() {
	echo "check-vmlinux: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: check-vmlinux.sh VMLINUX"
vmlinux=$1
[ -f "$vmlinux" ] || die "$vmlinux: no such file"
command -v readelf >/dev/null || die "readelf not found (install binutils)"

header=$(LC_ALL=C readelf -h "$vmlinux" 2>/dev/null) || die "$vmlinux: not an ELF file"
grep -Eq '^ *Class: +ELF64$' <<<"$header" || die "$vmlinux: not a 64-bit ELF"
grep -Eq '^ *Machine: +Advanced Micro Devices X86-64$' <<<"$header" ||
	die "$vmlinux: not an x86-64 ELF"

# readelf prints one line per note: owner, size, then the type, which
# binutils 2.40 does not decode for Xen notes ("Unknown note type:
# (0x00000012)"); accept a decoded name too, should a later one learn it.
notes=$(LC_ALL=C readelf -n "$vmlinux" 2>/dev/null) || die "$vmlinux: cannot read its notes"
grep -Eq '^ *Xen[[:space:]]+0x[0-9a-f]+[[:space:]].*(\(0x0*12\)|PHYS32)' <<<"$notes" ||
	die "$vmlinux: no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); is CONFIG_PVH set?"
