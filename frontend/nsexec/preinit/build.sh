#!/usr/bin/env bash
# build.sh OUT.syso: compile nsenter.c (the C constructor of the stages)
# for myctr-init's ELF entry point (entry_linux_amd64.s), with no C
# library, into OUT, which `go build` links into a pure Go myctr-init
# (Makefile). Only amd64 is built this way; elsewhere myctr-init is a cgo
# program whose C library runs the same constructor.
#
# Go's internal linker applies no relocation of an object like this one
# in a binary with no dynamic section, so the object must have none: the
# compiler's assembly is assembled with its read-only data moved into
# .text, where every reference to it is resolved by the assembler, and
# the result is checked: no relocation, no writable data, one global
# symbol, myctr_preinit_entry.
set -euo pipefail

out=${1:?usage: build.sh OUT.syso}
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../nsenter.c
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cc" -std=gnu11 -DMYCTR_PREINIT_ENTRY -O2 -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -fno-stack-protector -fPIE \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-jump-tables \
	-fno-tree-loop-distribute-patterns -fno-reorder-blocks-and-partition \
	-fcf-protection=none -mgeneral-regs-only -fno-common \
	-S -o "$tmp/nsenter.s" "$src"

if grep -Eq '^[[:space:]]*\.(data|bss|comm|lcomm|local)\b|^[[:space:]]*\.section[[:space:]]+\.(data|bss|tbss|tdata)' "$tmp/nsenter.s"; then
	echo "Error: $src: writable data in the preinit build (nsenter_sys.h's rules)" >&2
	exit 1
fi
sed -E 's/^[[:space:]]*\.section[[:space:]]+\.(rodata|text)[^[:space:]]*.*$/\t.text/' "$tmp/nsenter.s" >"$tmp/text.s"
"$cc" -c -o "$tmp/nsenter.o" "$tmp/text.s"

if readelf -rW "$tmp/nsenter.o" | grep -q 'R_'; then
	echo "Error: $src: relocations left in the preinit object (Go's linker would not apply them):" >&2
	readelf -rW "$tmp/nsenter.o" >&2
	exit 1
fi
# Each section's line without its "[ N]": NAME TYPE ADDRESS OFFSET SIZE ...
if readelf -SW "$tmp/nsenter.o" | sed -nE 's/^ *\[ *[0-9]+\] +//p' |
	awk '$1 ~ /^\.(data|bss|rodata|tdata|tbss)/ && $5 !~ /^0+$/ { found = 1 } END { exit !found }'; then
	echo "Error: $src: data outside .text in the preinit object" >&2
	readelf -SW "$tmp/nsenter.o" >&2
	exit 1
fi
globals=$(readelf -sW "$tmp/nsenter.o" | awk '$5 == "GLOBAL" { print $8 }')
if [[ $globals != myctr_preinit_entry ]]; then
	echo "Error: $src: the preinit object's global symbols are [$globals], want myctr_preinit_entry" >&2
	exit 1
fi
cp "$tmp/nsenter.o" "$out"
