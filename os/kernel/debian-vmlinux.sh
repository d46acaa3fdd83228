#!/bin/bash
# SPDX-License-Identifier: MIT
# Fetch Debian's stock kernel (the linux-image-6.1.*-amd64 that
# linux-image-amd64 depends on) without installing it, and extract the
# uncompressed PVH vmlinux from its bzImage: the reference for the boot-time
# comparison. Cached like build.sh, under
# ${MVIRT_CACHE:-~/.cache/mvirt}/debian-kernel/<key>/, keyed by the package
# name and version and this script.
# Usage: debian-vmlinux.sh OUTDIR    (writes OUTDIR/debian-vmlinux)
set -euo pipefail

META_PKG=linux-image-amd64
SOURCE_PKG=linux-source-6.1
TARBALL=/usr/src/$SOURCE_PKG.tar.xz

die() {
	echo "debian-kernel: error: $*" >&2
	exit 1
}

info() {
	echo "debian-kernel: $*"
}

# Download and unpack the package in $work, extract vmlinux with the kernel
# source's own scripts/extract-vmlinux, check it, and move it to $entry in
# one rename.
fetch_into_cache() {
	local work=$1 entry=$2 pkg=$3 version=$4 vmlinuz
	local -a apt_opts=()

	# apt drops to the _apt user to download, who cannot write to our
	# private temporary directory; as root, download as root.
	[ "$(id -u)" -eq 0 ] && apt_opts=(-o APT::Sandbox::User=root)
	info "downloading $pkg $version"
	(cd "$work" && apt-get download -q "${apt_opts[@]}" "$pkg=$version") >"$work/apt.log" 2>&1 ||
		{ cat "$work/apt.log" >&2; die "apt-get download $pkg=$version failed"; }

	dpkg-deb -x "$work"/*.deb "$work/root" || die "cannot unpack the package"
	vmlinuz=$(find "$work/root/boot" -name 'vmlinuz-*' -type f | head -n 1)
	[ -n "$vmlinuz" ] || die "$pkg contains no /boot/vmlinuz-*"

	tar -xOf "$TARBALL" --wildcards '*/scripts/extract-vmlinux' >"$work/extract-vmlinux" ||
		die "cannot read scripts/extract-vmlinux from $TARBALL"
	info "extracting vmlinux from $(basename "$vmlinuz")"
	bash "$work/extract-vmlinux" "$vmlinuz" >"$work/vmlinux" ||
		die "extract-vmlinux could not decompress $vmlinuz"

	"$here/check-vmlinux.sh" "$work/vmlinux"
	mkdir "$work/out"
	mv "$work/vmlinux" "$work/out/vmlinux"
	echo "$pkg $version" >"$work/out/version"
	mv -T "$work/out" "$entry"
}

# On exit during a fetch: remove the temporary directory, keep the status.
cleanup() {
	local rc=$?

	if [ -n "$work" ]; then
		rm -rf "$work"
	fi
	return "$rc"
}

work=""
[ $# -eq 1 ] || die "usage: debian-vmlinux.sh OUTDIR"
outdir=$1
here=$(cd "$(dirname "$0")" && pwd)

for tool in apt-cache apt-get dpkg-deb tar xz readelf flock sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
[ -f "$TARBALL" ] || die "$TARBALL: missing; run 'make deps' (or scripts/deps.sh)"

pkg=$(apt-cache depends "$META_PKG" 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*-amd64\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || die "apt knows no $META_PKG depending on linux-image-6.1.*-amd64; run 'apt-get update'"
version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$version" ] || die "apt has no version of $pkg; run 'apt-get update'"

key=$({
	echo "$pkg $version"
	cat "$here/debian-vmlinux.sh"
} | sha256sum | cut -c1-64)
cache=${MVIRT_CACHE:-${HOME:?set MVIRT_CACHE or HOME}/.cache/mvirt}/debian-kernel
entry=$cache/$key
mkdir -p "$cache" "$outdir"

exec 9>"$cache/$key.lock"
if ! flock -n 9; then
	info "waiting for another run to finish"
	flock 9
fi

if [ -f "$entry/vmlinux" ]; then
	info "cached: $entry ($pkg $version)"
else
	rm -rf "$entry"
	work=$(mktemp -d "$cache/.fetch-${key:0:12}.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	fetch_into_cache "$work" "$entry" "$pkg" "$version"
	rm -rf "$work"
	work=""
	info "stored in $entry"
fi

"$here/check-vmlinux.sh" "$entry/vmlinux"
cp -f "$entry/vmlinux" "$outdir/debian-vmlinux.tmp.$$"
mv -f "$outdir/debian-vmlinux.tmp.$$" "$outdir/debian-vmlinux"
info "$outdir/debian-vmlinux ready ($pkg $version)"
