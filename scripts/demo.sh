#!/bin/bash
# make demo: the whole stack in a temporary directory. mvirt-log records the
# audit trail; mvirt-zfs keeps volumes on a throw-away file-backed ZFS pool
# (zfs-fuse, started when it is not running); mvirt-vmm boots the guest OS
# of os/ under QEMU. A disk image is imported as a template, cloned into the
# VM's disk, the VM boots from the guest's kernel and reads that disk, its
# console reaches "mvirt-init: ready", and a graceful stop ends with the
# guest's own power-off. Everything is removed at the end.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
BIN=$ROOT/$BUILD
GUEST=$BIN/guest
TMP=$(mktemp -d /tmp/mvirt-demo.XXXXXX)
RUN=$TMP/run
POOL=mvdemo$$
PIDS=()
STARTED_ZFS_FUSE=""

cleanup() {
	set +e
	[ -S "$RUN/vmm.sock" ] && "$BIN/cli/mvirt" --run-dir "$RUN" vm kill web1 >/dev/null 2>&1
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	if zpool list -H -o name "$POOL" >/dev/null 2>&1; then
		for _ in $(seq 20); do zpool destroy -f "$POOL" 2>/dev/null && break; sleep 0.25; done
	fi
	[ -n "$STARTED_ZFS_FUSE" ] && [ -z "$(zpool list -H -o name 2>/dev/null)" ] &&
		kill "$(cat "$TMP/zfs-fuse.pid")" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

mvirt() { echo "\$ mvirt ${*@Q}"; "$BIN/cli/mvirt" --run-dir "$RUN" "$@"; }
wait_socket() {
	for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
	echo "demo: $1 did not appear" >&2; return 1
}

echo "== building the guest OS (cached after the first time)"
MVIRT_BUILD=$BUILD "$ROOT/os/build.sh" "$GUEST" >"$TMP/os-build.log" 2>&1 ||
	{ tail -20 "$TMP/os-build.log"; exit 1; }
ls -l "$GUEST/vmlinux" "$GUEST/initramfs-test.cpio" | awk '{print "   " $5 "\t" $9}'

echo
echo "== starting mvirt-log"
"$BIN/log/mvirt-log" --run-dir "$RUN" --data-dir "$TMP/log" 2>"$TMP/mvirt-log.stderr" &
PIDS+=($!)
wait_socket "$RUN/log.sock"

echo "== a file-backed ZFS pool on zfs-fuse"
if ! zpool list >/dev/null 2>&1; then
	zfs-fuse --pidfile "$TMP/zfs-fuse.pid"
	STARTED_ZFS_FUSE=1
	for _ in $(seq 100); do zpool list >/dev/null 2>&1 && break; sleep 0.1; done
fi
truncate -s 1G "$TMP/pool.img"
zpool create -o cachefile=none -m none "$POOL" "$TMP/pool.img"
echo "   pool $POOL on $TMP/pool.img"

echo "== starting mvirt-zfs (file layout: zfs-fuse has no zvols)"
mkdir -p "$TMP/images"
"$BIN/zfs/mvirt-zfs" --pool "$POOL" --layout file --run-dir "$RUN" --data-dir "$TMP/zfs" \
	--import-root "$TMP/images" 2>"$TMP/mvirt-zfs.stderr" &
PIDS+=($!)
wait_socket "$RUN/zfs.sock"

echo "== starting mvirt-vmm (QEMU)"
"$BIN/vmm/mvirt-vmm" --run-dir "$RUN" --data-dir "$TMP/vmm" --allowed-boot-root "$GUEST" \
	--allowed-disk-root "$TMP/zfs/mnt" 2>"$TMP/mvirt-vmm.stderr" &
PIDS+=($!)
wait_socket "$RUN/vmm.sock"
sleep 0.2

echo
echo "== a disk image: 64 MiB, a greeting at its start, the rest zeros; xz-compressed"
{ printf 'hello from the mvirt template\n'; head -c $((64 * 1024 * 1024 - 30)) /dev/zero; } \
	>"$TMP/images/base.raw"
xz -T0 -1 "$TMP/images/base.raw"
ls -l "$TMP/images/base.raw.xz" | awk '{print "   " $5 " bytes"}'

mvirt template import base "$TMP/images/base.raw.xz"
mvirt template list
mvirt template clone base web1-root --size 128M
mvirt volume list
DISK=$("$BIN/cli/mvirt" --run-dir "$RUN" --json volume get web1-root |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')
mvirt pool stats

echo
echo "== a VM that boots the guest kernel with the cloned volume as its disk"
CMDLINE='console=ttyS0 quiet mvirt.hostname=web1 mvirt.net=off mvirt.run="/bin/sh -c '"'"'echo disk vda: $(cat /sys/block/vda/size) sectors, says: $(head -c 29 /dev/vda)'"'"'"'
mvirt vm create web1 --vcpus 1 --memory 128M --boot kernel --kernel "$GUEST/vmlinux" \
	--initramfs "$GUEST/initramfs-test.cpio" --cmdline "$CMDLINE" --disk "$DISK"
mvirt vm start web1
for _ in $(seq 300); do
	"$BIN/cli/mvirt" --run-dir "$RUN" vm log web1 | grep -q "mvirt-init: ready" && break
	sleep 0.2
done
sleep 0.5
echo "-- the guest's console:"
"$BIN/cli/mvirt" --run-dir "$RUN" vm log web1 | tr -d '\r' | sed 's/^/   | /'
mvirt vm list

echo
echo "== graceful stop: the guest powers itself off"
mvirt vm stop web1 --wait
"$BIN/cli/mvirt" --run-dir "$RUN" vm log web1 | tr -d '\r' | grep -E "poweroff|Power down" |
	sed 's/^/   | /'
mvirt vm get web1

echo
echo "== bad requests are refused with one line and change nothing"
mvirt vm create evil --boot kernel --kernel /etc/shadow || echo "(exit status $?)"
mvirt template import evil file:///etc/shadow || echo "(exit status $?)"
mvirt volume create web1-root --size 1G || echo "(exit status $?)"

echo
echo "== clean up through the API"
mvirt vm delete web1
mvirt volume delete web1-root
mvirt template delete base
echo
echo "== the audit trail"
mvirt log list --limit 12

echo
echo "== stopping the daemons (SIGTERM)"
for pid in "${PIDS[@]}"; do kill -TERM "$pid"; done
status=0
for pid in "${PIDS[@]}"; do wait "$pid" || status=$?; done
PIDS=()
[ $status -eq 0 ] && echo "all daemons exited cleanly" || echo "a daemon exited with status $status"
