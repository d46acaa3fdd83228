#!/bin/bash
# SPDX-License-Identifier: MIT
# Build the mvirt guest kernel from Debian's linux-source-6.1: tinyconfig plus
# the fragment mvirt.config, producing vmlinux (booted directly through its
# PVH note) and bzImage (for the UKI). Builds are cached outside the work tree
# under ${MVIRT_CACHE:-~/.cache/mvirt}/kernel/<key>/, keyed by the source
# package version, the fragment and this script, so a repeated build only
# copies files.
# Usage: build.sh OUTDIR    (writes OUTDIR/vmlinux, OUTDIR/bzImage,
#                            OUTDIR/kernel.config)
set -euo pipefail

SOURCE_PKG=linux-source-6.1
TARBALL=/usr/src/$SOURCE_PKG.tar.xz
# Seconds between progress lines while compiling.
PROGRESS_INTERVAL=30

die() {
	echo "kernel: error: $*" >&2
	exit 1
}

info() {
	echo "kernel: $*"
}

# Copy a file into OUTDIR under its final name atomically, so a concurrent
# reader (or a second build into the same OUTDIR) never sees half a file.
install_file() {
	local src=$1 dst=$2
	cp -f "$src" "$dst.tmp.$$"
	mv -f "$dst.tmp.$$" "$dst"
}

# Print the fragment's lines that did not survive in .config: "CONFIG_X=v"
# must appear verbatim; "# CONFIG_X is not set" and "CONFIG_X=n" mean X must
# not be set to anything.
dropped_options() {
	local fragment=$1 config=$2 line sym
	grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set$)' "$fragment" |
		while IFS= read -r line; do
			case $line in
			"# "* | CONFIG_*=n)
				sym=${line#\# }
				sym=${sym%%[ =]*}
				if grep -q "^$sym=" "$config"; then
					echo "  $line  (got: $(grep "^$sym=" "$config"))"
				fi
				;;
			*)
				sym=${line%%=*}
				if ! grep -qxF -- "$line" "$config"; then
					echo "  $line  (got: $(grep -E "^$sym=|^# $sym is not set" "$config" || echo "absent: unknown symbol or unmet dependencies"))"
				fi
				;;
			esac
		done
}

# Run "make vmlinux bzImage" with its output in a log, printing a line per
# stage and a file count every PROGRESS_INTERVAL seconds instead of thousands
# of compiler lines; the count of the last build, if any, serves as the
# expected total. On failure, show the errors and the end of the log.
compile() {
	local src=$1 log=$2 rc=0 stage last="" next=0 start=$SECONDS total=""

	if [ -f "$cache/compiled-files" ]; then
		total=" of ~$(cat "$cache/compiled-files")"
	fi

	# Create the log before make starts, so that the first poll finds it.
	: >"$log"
	make -C "$src" ARCH=x86_64 -j"$(nproc)" vmlinux bzImage >>"$log" 2>&1 &
	make_pid=$!
	while kill -0 "$make_pid" 2>/dev/null; do
		if grep -q '^  LD      vmlinux$' "$log"; then
			stage="building bzImage"
		elif grep -q '^  LD      vmlinux\.o$' "$log"; then
			stage="linking vmlinux"
		else
			stage="compiling"
		fi
		if [ "$stage" != "$last" ] || [ "$SECONDS" -ge "$next" ]; then
			info "$stage: $(grep -c '^  CC ' "$log" || true)$total files compiled," \
				"$((SECONDS - start))s"
			last=$stage
			next=$((SECONDS + PROGRESS_INTERVAL))
		fi
		sleep 2
	done
	wait "$make_pid" || rc=$?
	make_pid=""
	if [ "$rc" -ne 0 ]; then
		echo "kernel: error: make failed (exit $rc):" >&2
		grep -E 'error:|Error [0-9]+' "$log" | head -n 20 >&2 || true
		echo "kernel: end of the build log:" >&2
		tail -n 30 "$log" >&2
		exit 1
	fi
	grep -c '^  CC ' "$log" >"$cache/compiled-files" || true
	info "vmlinux and bzImage built in $((SECONDS - start))s"
}

# Configure and build in a fresh tree under $work, then move the outputs to
# $entry in one rename.
build_into_cache() {
	local work=$1 entry=$2 fragment=$3 src=$1/src bad
	local -x KBUILD_BUILD_USER=mvirt KBUILD_BUILD_HOST=mvirt
	local -x KBUILD_BUILD_TIMESTAMP
	# Reproducible "uname -v": the date of the source package, not of the build.
	KBUILD_BUILD_TIMESTAMP=$(date -u -R -d "@$(stat -c %Y "$TARBALL")")

	info "unpacking $TARBALL"
	mkdir -p "$src"
	tar -xf "$TARBALL" -C "$src" --strip-components=1 ||
		die "cannot unpack $TARBALL"

	info "configuring: tinyconfig + $fragment"
	make -C "$src" ARCH=x86_64 tinyconfig >"$work/config.log" 2>&1 ||
		{ cat "$work/config.log" >&2; die "make tinyconfig failed"; }
	(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$fragment") \
		>>"$work/config.log" 2>&1 ||
		{ cat "$work/config.log" >&2; die "merging $fragment failed"; }
	make -C "$src" ARCH=x86_64 olddefconfig >>"$work/config.log" 2>&1 ||
		{ cat "$work/config.log" >&2; die "make olddefconfig failed"; }

	bad=$(dropped_options "$fragment" "$src/.config")
	if [ -n "$bad" ]; then
		echo "kernel: error: Kconfig dropped these options of $fragment" \
			"(unmet dependencies or selected by another option):" >&2
		echo "$bad" >&2
		exit 1
	fi

	info "building vmlinux and bzImage with $(nproc) jobs (log: $work/build.log)"
	compile "$src" "$work/build.log"

	"$here/check-vmlinux.sh" "$src/vmlinux"
	# A bzImage carries the boot protocol magic "HdrS" at offset 0x202.
	[ "$(dd if="$src/arch/x86/boot/bzImage" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] ||
		die "arch/x86/boot/bzImage is not a bzImage"
	mkdir "$work/out"
	cp "$src/vmlinux" "$src/arch/x86/boot/bzImage" "$work/out/"
	cp "$src/.config" "$work/out/kernel.config"
	mv -T "$work/out" "$entry"
}

# On any exit during a build: stop make, keep its log for a post-mortem and
# remove the unpacked tree.
cleanup() {
	local rc=$?

	if [ -n "$make_pid" ]; then
		kill "$make_pid" 2>/dev/null || true
		wait "$make_pid" 2>/dev/null || true
	fi
	if [ -n "$work" ]; then
		if [ -f "$work/build.log" ]; then
			mv -f "$work/build.log" "$cache/${key:0:12}-failed-build.log"
			echo "kernel: build log kept in $cache/${key:0:12}-failed-build.log" >&2
		fi
		rm -rf "$work"
	fi
	return "$rc"
}

make_pid=""
work=""
[ $# -eq 1 ] || die "usage: build.sh OUTDIR"
outdir=$1
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/mvirt.config
[ -f "$fragment" ] || die "$fragment: missing"

for tool in make gcc flex bison bc tar xz readelf flock sha256sum; do
	command -v "$tool" >/dev/null ||
		die "$tool not found; run 'make deps' (or scripts/deps.sh)"
done
version=$(dpkg-query -W -f='${Version}' "$SOURCE_PKG" 2>/dev/null) ||
	die "$SOURCE_PKG is not installed; run 'make deps' (or scripts/deps.sh)"
[ -f "$TARBALL" ] || die "$TARBALL: missing (reinstall $SOURCE_PKG)"

key=$({
	echo "$SOURCE_PKG $version"
	cat "$fragment"
	cat "$here/build.sh"
} | sha256sum | cut -c1-64)
cache=${MVIRT_CACHE:-${HOME:?set MVIRT_CACHE or HOME}/.cache/mvirt}/kernel
entry=$cache/$key
mkdir -p "$cache" "$outdir"

# One builder per key at a time; a second caller waits, then finds the entry.
exec 9>"$cache/$key.lock"
if ! flock -n 9; then
	info "waiting for another build of the same kernel to finish"
	flock 9
fi

if [ -f "$entry/vmlinux" ] && [ -f "$entry/bzImage" ]; then
	info "cached: $entry"
else
	# Leftover of an interrupted store (cannot normally happen: rename).
	rm -rf "$entry"
	info "building $SOURCE_PKG $version (cache key ${key:0:12}); takes minutes"
	# Under the cache, not /tmp: the tree is ~1.5 GB and /tmp may be tmpfs.
	work=$(mktemp -d "$cache/.build-${key:0:12}.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	build_into_cache "$work" "$entry" "$fragment"
	rm -rf "$work"
	work=""
	info "stored in $entry"
fi

"$here/check-vmlinux.sh" "$entry/vmlinux"
install_file "$entry/vmlinux" "$outdir/vmlinux"
install_file "$entry/bzImage" "$outdir/bzImage"
install_file "$entry/kernel.config" "$outdir/kernel.config"
info "$outdir/vmlinux $outdir/bzImage ready"
