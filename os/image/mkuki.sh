#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mkuki.sh: assemble a Unified Kernel Image (one EFI executable holding the
# kernel, its initramfs, its command line and an os-release) from
# systemd-boot's stub, and prove it by reading every section back.
#
# The sections follow the stub's own, each at the next multiple of the stub's
# SectionAlignment, in the order .osrel, .cmdline, .linux, .initrd. The stub
# finds them by name and uses each section's VirtualSize as its length, so
# .cmdline holds exactly the text: no newline (the stub would turn it into a
# space) and no NUL (the stub stops at one, and adds its own when it copies
# the line for the kernel). The output is reproducible: objcopy's clock
# timestamp is replaced (see pe_set_timestamp).
set -euo pipefail

STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
SECTIONS=(.osrel .cmdline .linux .initrd)

usage() {
	cat <<EOF
Usage: mkuki.sh OUT.efi --linux BZIMAGE --initrd INITRAMFS --cmdline "ARGS"
                [--osrel FILE] [--stub STUB]

Build a Unified Kernel Image from systemd-boot's EFI stub (default
$STUB, Debian package systemd-boot-efi) by adding the sections
${SECTIONS[*]} after the stub's own, aligned to its SectionAlignment.
--osrel defaults to an os-release naming mvirt and the project's version.
The PE timestamp is \$SOURCE_DATE_EPOCH or 0, so the same inputs give the
same image.
The result is checked by reading every section back; OUT.efi is only
written when that check passes.
EOF
}

die() {
	echo "mkuki: $*" >&2
	exit 1
}

# The project version, from the top-level meson.build.
project_version() {
	local meson_build
	meson_build="$(dirname "$(readlink -f "$0")")/../../meson.build"
	[ -r "$meson_build" ] || die "cannot read $meson_build for the version"
	sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" "$meson_build" | head -n 1
}

# Write a 32-bit little-endian value into a file at a byte offset.
write_le32() {
	local file=$1 offset=$2 value=$3
	printf '%b' "$(printf '\\x%02x' $((value & 255)) $((value >> 8 & 255)) \
		$((value >> 16 & 255)) $((value >> 24 & 255)))" |
		dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

# objcopy stamps PE output with the current time (binutils 2.40 ignores
# SOURCE_DATE_EPOCH there), which would make every UKI differ: set the
# TimeDateStamp, then the CheckSum that covers it (the PE algorithm: 16-bit
# words summed with end-around carry, the CheckSum field counted as 0, plus
# the file's length).
pe_set_timestamp() {
	local file=$1 stamp=$2 pe sum
	pe=$(od -An -v -t u4 --endian=little -j 60 -N 4 "$file" | tr -d ' ')
	write_le32 "$file" $((pe + 8)) "$stamp"     # COFF header: TimeDateStamp
	write_le32 "$file" $((pe + 24 + 64)) 0      # optional header: CheckSum
	sum=$(od -An -v -t u2 --endian=little "$file" | awk '
		{ for (i = 1; i <= NF; i++) s += $i }
		END { while (s > 65535) s = s % 65536 + int(s / 65536); printf "%d\n", s }')
	write_le32 "$file" $((pe + 24 + 64)) $((sum + $(stat -c %s "$file")))
}

align_up() {
	local value=$1 align=$2
	echo $(((value + align - 1) / align * align))
}

# "NAME SIZE VMA" (hex without 0x) of every section of a PE file, in table order.
section_table() {
	objdump -h "$1" | awk '$1 ~ /^[0-9]+$/ && NF >= 7 { print $2, $3, $4 }'
}

# One field of "objdump -p" (ImageBase, SectionAlignment...), as hex digits.
pe_header_field() {
	objdump -p "$1" 2>/dev/null | awk -v f="$2" '$1 == f { print $2; exit }'
}

out='' linux='' initrd='' cmdline='' osrel=''
have_cmdline=false
while [ $# -gt 0 ]; do
	case "$1" in
	--linux | --initrd | --cmdline | --osrel | --stub)
		[ $# -ge 2 ] || die "$1 needs a value"
		case "$1" in
		--linux) linux=$2 ;;
		--initrd) initrd=$2 ;;
		--cmdline) cmdline=$2 have_cmdline=true ;;
		--osrel) osrel=$2 ;;
		--stub) STUB=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage; exit 0 ;;
	-*) die "unknown option '$1' (see --help)" ;;
	*)
		[ -z "$out" ] || die "more than one output file: '$out', '$1'"
		out=$1
		shift
		;;
	esac
done
[ -n "$out" ] || die "no output file (see --help)"
[ -n "$linux" ] || die "--linux is required"
[ -n "$initrd" ] || die "--initrd is required"
$have_cmdline || die "--cmdline is required"
[ -n "$cmdline" ] || die "--cmdline must not be empty"
case "$cmdline" in
*[[:cntrl:]]*) die "--cmdline must be one line without control characters" ;;
esac
for f in "$STUB" "$linux" "$initrd" ${osrel:+"$osrel"}; do
	if [ ! -f "$f" ] || [ ! -r "$f" ]; then
		die "cannot read '$f'"
	fi
done
[ -s "$linux" ] || die "'$linux' is empty"
[ -s "$initrd" ] || die "'$initrd' is empty"
for tool in objcopy objdump; do
	command -v "$tool" >/dev/null || die "$tool not found (Debian package binutils)"
done

timestamp=${SOURCE_DATE_EPOCH:-0}
if ! [[ "$timestamp" =~ ^[0-9]{1,10}$ ]] || ((10#$timestamp > 0xffffffff)); then
	die "SOURCE_DATE_EPOCH='$timestamp' is not a time in seconds that fits a PE header"
fi
timestamp=$((10#$timestamp))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkuki.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

printf '%s' "$cmdline" >"$tmp/cmdline"
if [ -z "$osrel" ]; then
	version=$(project_version)
	[ -n "$version" ] || die "no version found in the top-level meson.build"
	osrel=$tmp/os-release
	printf 'NAME="mvirt"\nID=mvirt\nVERSION_ID=%s\nPRETTY_NAME="mvirt %s"\n' \
		"$version" "$version" >"$osrel"
fi
declare -A input=([.osrel]=$osrel [.cmdline]=$tmp/cmdline [.linux]=$linux [.initrd]=$initrd)

# Where the stub ends, and the alignment its loader expects.
image_base=$(pe_header_field "$STUB" ImageBase) || image_base=
alignment=$(pe_header_field "$STUB" SectionAlignment) || alignment=
if [ -z "$image_base" ] || [ -z "$alignment" ]; then
	die "'$STUB' is not a PE image objdump can read"
fi
image_base=$((16#$image_base))
alignment=$((16#$alignment))
((alignment > 0 && (alignment & (alignment - 1)) == 0)) ||
	die "'$STUB' has an invalid SectionAlignment $alignment"
stub_end=0 stub_sections=0
while read -r name size vma; do
	case " ${SECTIONS[*]} " in
	*" $name "*) die "'$STUB' already has a $name section" ;;
	esac
	end=$((16#$vma + 16#$size))
	if ((end > stub_end)); then
		stub_end=$end
	fi
	stub_sections=$((stub_sections + 1))
done < <(section_table "$STUB")
((stub_sections > 0)) || die "'$STUB' has no sections"

# Lay the new sections out one after the other.
declare -A vma_of size_of
next=$(align_up "$stub_end" "$alignment")
args=()
for name in "${SECTIONS[@]}"; do
	size_of[$name]=$(stat -c %s "${input[$name]}")
	vma_of[$name]=$next
	args+=(--add-section "$name=${input[$name]}"
		--change-section-vma "$name=$(printf '0x%x' "$next")"
		--set-section-flags "$name=data,readonly")
	next=$(align_up $((next + size_of[$name])) "$alignment")
done
objcopy "${args[@]}" "$STUB" "$tmp/uki.efi" || die "objcopy failed"
pe_set_timestamp "$tmp/uki.efi" "$timestamp"

# Check what was built: the stub's sections first, then ours in order, each
# at its aligned address with its full size, and each reading back to the
# very bytes it was made from.
mapfile -t table < <(section_table "$tmp/uki.efi")
((${#table[@]} == stub_sections + ${#SECTIONS[@]})) ||
	die "check: the UKI has ${#table[@]} sections, expected $((stub_sections + ${#SECTIONS[@]}))"
prev_end=$stub_end
first=$stub_sections
for i in "${!SECTIONS[@]}"; do
	want=${SECTIONS[$i]}
	read -r name size vma <<<"${table[$((first + i))]}"
	[ "$name" = "$want" ] || die "check: section $((first + i)) is '$name', expected '$want'"
	vma=$((16#$vma))
	size=$((16#$size))
	((vma == vma_of[$want])) || die "check: $want is at 0x$(printf %x $vma), expected 0x$(printf %x "${vma_of[$want]}")"
	(((vma - image_base) % alignment == 0)) || die "check: $want at 0x$(printf %x $vma) is not aligned to $alignment"
	((vma >= prev_end)) || die "check: $want overlaps the section before it"
	((size == size_of[$want])) || die "check: $want has $size bytes, expected ${size_of[$want]}"
	prev_end=$((vma + size))
	objcopy -O binary --only-section="$want" "$tmp/uki.efi" "$tmp/readback" ||
		die "check: cannot extract $want"
	cmp -s "$tmp/readback" "${input[$want]}" || die "check: $want differs from '${input[$want]}'"
done
flags=$(objdump -h "$tmp/uki.efi" | awk -v n="${SECTIONS[*]}" '
	BEGIN { split(n, want, " "); for (i in want) ours[want[i]] = 1 }
	$1 ~ /^[0-9]+$/ && NF >= 7 { name = $2; next }
	name in ours { print name ": " $0; name = "" }')
while read -r name line; do
	case "$line" in
	*READONLY*DATA*) ;;
	*) die "check: $name has flags '$line', expected read-only data" ;;
	esac
done <<<"$flags"
[ "$(pe_header_field "$tmp/uki.efi" SectionAlignment)" = "$(printf '%08x' "$alignment")" ] ||
	die "check: the SectionAlignment changed"

mv -f "$tmp/uki.efi" "$out" || die "cannot write '$out'"
chmod 0644 "$out"
