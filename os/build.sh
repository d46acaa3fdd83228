#!/bin/bash
# make os: build the mvirt guest OS into OUT (default build/guest):
#   vmlinux, bzImage     the kernel (os/kernel/build.sh; cached in ~/.cache/mvirt)
#   init                 mvirt-init, static with musl
#   initramfs.cpio       the init alone (plus /dev/console and empty mount points)
#   initramfs-test.cpio  the same plus Debian's static busybox, for tests
#   mvirt-os.efi         a UKI: systemd-boot's stub + bzImage + initramfs + cmdline
#
#   os/build.sh [OUT]
#
# Environment: MVIRT_BUILD (meson build dir for the host tools, default
# build), MVIRT_CACHE (kernel cache, default ~/.cache/mvirt), OS_CMDLINE
# (the UKI's command line).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-build/guest}
BUILD=${MVIRT_BUILD:-build}
VERSION=$(sed -n "s/^  version: '\(.*\)',$/\1/p" meson.build)
CMDLINE=${OS_CMDLINE:-console=ttyS0 panic=-1 quiet}

say() { echo "os: $*" >&2; }

./scripts/deps.sh
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" os/image/mkcpio >/dev/null
case $BUILD in /*) MKCPIO=$BUILD/os/image/mkcpio ;; *) MKCPIO=$ROOT/$BUILD/os/image/mkcpio ;; esac
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

say "kernel"
os/kernel/build.sh "$OUT"

# The init: static, with musl. musl-gcc does not see the kernel's UAPI
# headers; a directory of links to just those (not glibc's) fixes that.
say "init (musl, static)"
UAPI=$(mktemp -d)
trap 'rm -rf "$UAPI"' EXIT
ln -s /usr/include/linux "$UAPI/linux"
ln -s /usr/include/asm-generic "$UAPI/asm-generic"
ln -s "/usr/include/$(gcc -dumpmachine)/asm" "$UAPI/asm"
musl-gcc -static -Os -std=gnu17 -D_GNU_SOURCE -DMVIRT_VERSION="\"$VERSION\"" \
	-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-ffunction-sections -fdata-sections -Wl,--gc-sections -s \
	-isystem "$UAPI" -I os/init -I lib/common -I lib/packet \
	os/init/*.c lib/packet/*.c lib/common/util.c lib/common/log.c \
	-o "$OUT/init.new"
mv "$OUT/init.new" "$OUT/init"

say "initramfs"
base_specs() {
	cat <<SPECS
dir:/dev:0755
nod:/dev/console:0600:c:5:1
nod:/dev/null:0666:c:1:3
dir:/proc:0555
dir:/sys:0555
dir:/run:0755
dir:/tmp:01777
dir:/etc:0755
dir:/etc/mvirt:0755
file:/init:0755:$OUT/init
SPECS
}
BUSYBOX=/bin/busybox
test_specs() {
	base_specs
	echo "dir:/bin:0755"
	echo "file:/bin/busybox:0755:$BUSYBOX"
	for applet in sh ash ping ping6 udhcpc ip ifconfig route cat ls echo sleep \
		mount umount poweroff reboot hostname ps kill wget nc; do
		echo "symlink:/bin/$applet:busybox"
	done
}
mapfile -t specs < <(base_specs)
"$MKCPIO" "$OUT/initramfs.cpio" "${specs[@]}"
mapfile -t specs < <(test_specs)
"$MKCPIO" "$OUT/initramfs-test.cpio" "${specs[@]}"

say "UKI"
os/image/mkuki.sh "$OUT/mvirt-os.efi" --linux "$OUT/bzImage" \
	--initrd "$OUT/initramfs.cpio" --cmdline "$CMDLINE"

say "done: $(cd "$OUT" && ls | tr '\n' ' ')"
