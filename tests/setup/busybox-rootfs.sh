#!/usr/bin/env bash
# busybox-rootfs.sh OUT.tar: write a minimal root filesystem tarball made of
# Debian's busybox-static (the binary plus one symlink per applet), /etc/passwd
# and /etc/group with root and nobody, and empty /tmp /proc /sys /dev /root.
# Any user can run it; files in the tarball are owned by 0:0 and the output is
# reproducible (fixed mtimes, sorted names). Import it with
# `myctr import OUT.tar bb` or `podman import OUT.tar bb`.
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 OUT.tar" >&2
	exit 2
fi
out=$1

# A static busybox: the container has no libc of its own.
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	[[ -x $b ]] || continue
	linkage=$(LC_ALL=C ldd "$b" 2>&1 || true)
	if [[ $linkage == *"not a dynamic executable"* || $linkage == *"statically linked"* ]]; then
		busybox=$b
		break
	fi
done
if [[ -z $busybox ]]; then
	echo "Error: no static busybox found in /bin or /usr/bin" >&2
	echo "Hint: apt-get install busybox-static (or run tests/setup/deps.sh as root)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/busybox-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
r=$work/rootfs

mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,tmp,var/tmp,run}
chmod 1777 "$r/tmp" "$r/var/tmp"
chmod 0700 "$r/root"
cp "$busybox" "$r/bin/busybox"
chmod 0755 "$r/bin/busybox"

# --list-full names each applet with its directory (bin/sh, usr/bin/awk, ...).
while read -r applet; do
	[[ -z $applet || $applet == bin/busybox ]] && continue
	dir=$(dirname "$applet")
	mkdir -p "$r/$dir"
	ln -sf /bin/busybox "$r/$applet"
done < <("$busybox" --list-full)
[[ -e $r/bin/sh ]] || ln -s /bin/busybox "$r/bin/sh"

cat >"$r/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$r/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
: >"$r/etc/hostname"
: >"$r/etc/hosts"
: >"$r/etc/resolv.conf"
chmod 0644 "$r"/etc/*

out_dir=$(dirname "$out")
mkdir -p "$out_dir"
tar --create --file "$out.tmp" --directory "$r" \
	--numeric-owner --owner=0 --group=0 \
	--sort=name --mtime='2000-01-01 00:00:00Z' \
	.
mv "$out.tmp" "$out"
