#!/bin/sh
# Install every Debian package that building, the demo and the tests need.
# Idempotent: does nothing (and needs no root) when all packages are present.
set -eu

PACKAGES="
build-essential clang lld llvm libclang-rt-14-dev meson ninja-build pkg-config
protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
libnghttp2-dev libsystemd-dev libsqlite3-dev sqlite3 libjansson-dev
python3 python3-grpcio python3-grpc-tools python3-protobuf python3-pytest python3-yaml
valgrind procps iproute2 util-linux
musl-tools linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils
busybox-static systemd-boot-efi binutils qemu-system-x86 dnsmasq-base
dosfstools mtools genisoimage cpio ovmf
zlib1g-dev liblzma-dev libcurl4-openssl-dev qemu-utils ca-certificates openssl
zfs-fuse
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends $missing; then
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends $missing
fi
