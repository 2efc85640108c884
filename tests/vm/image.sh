#!/usr/bin/env bash
# image.sh: build the VM tier's guest once and cache it; print the cache
# directory that holds it. As root.
#
# The cache entry, $MYCTR_VM_CACHE/<key>/ (default /var/cache/myctr-vm), is:
#   rootfs.img   a 4 GiB ext4 image (sparse) of a Debian bookworm guest made
#                with `debootstrap --variant=minbase` plus tests/vm/guest-packages;
#                qemu opens it with snapshot=on, so every run starts pristine
#   vmlinux      the guest's own kernel (linux-image-amd64), uncompressed:
#                unpacking a compressed kernel costs seconds under TCG
#   initrd.img   a busybox initrd that loads virtio_pci, virtio_blk and ext4
#                (and what they depend on) and switches to /dev/vda
#   ready        written last: an entry without it is not used
# <key> is a hash of this script and guest-packages: a changed recipe builds
# a new entry (and the old ones are removed once it is ready). Nothing of
# myctr is in the image: run.sh carries each build in through a 9p share,
# so the image is not rebuilt when only myctr changes.
#
# What the guest holds besides the packages:
#   - users vmuser, vmother and vmprompt (subordinate ranges, lingering:
#     logind starts user@UID.service at boot, which makes /run/user/UID);
#     group myctr-helper-test with vmuser only (run.sh's job grants it the
#     helper's network action); vmprompt has the password vmprompt-pw (the
#     job's polkit rule answers AUTH_SELF for it: it types its password at
#     pkttyagent's prompt, in a login session on a pseudo-terminal);
#   - myctr-vm-job.service, after multi-user.target: mounts the 9p share
#     tagged myctr-job on /mnt/job, runs /mnt/job/job.sh (output to
#     /mnt/job/out/job.log, exit code to /mnt/job/out/job.exit), then powers
#     the machine off, whatever happened;
#   - a fixed machine id, a volatile journal, periodic timers masked.
#
# Environment: MYCTR_VM_CACHE (cache root), MYCTR_VM_MIRROR (the Debian
# mirror; default: the first bookworm URI in the machine's apt sources),
# MYCTR_VM_REBUILD=1 (build even when the entry exists).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${MYCTR_VM_CACHE:-/var/cache/myctr-vm}
suite=bookworm
image_size=4G
# What the initrd loads (with their dependencies, from modules.dep) to reach
# the root disk; a module built into the kernel is skipped. ext4 asks the
# crypto API for crc32c at mount time, which modules.dep does not say.
initrd_modules=(virtio_pci virtio_blk crc32c_generic ext4)

log() { echo "image.sh: $*" >&2; }
die() {
	echo "Error: $1" >&2
	[[ -n ${2:-} ]] && echo "Hint: $2" >&2
	exit 1
}

[[ $(id -u) -eq 0 ]] || die "image.sh must run as root (debootstrap, chroot)" "sudo $0"
for tool in debootstrap mkfs.ext4 cpio xz zstd sha256sum flock; do
	command -v "$tool" >/dev/null || die "$tool not found" "run tests/setup/deps.sh as root"
done
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	[[ -x $b ]] || continue
	linkage=$(LC_ALL=C ldd "$b" 2>&1 || true)
	if [[ $linkage == *"not a dynamic executable"* || $linkage == *"statically linked"* ]]; then
		busybox=$b
		break
	fi
done
[[ -n $busybox ]] || die "no static busybox for the initrd" "apt-get install busybox-static (tests/setup/deps.sh)"

# The package list: guest-packages without comments and blank lines.
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/guest-packages" | grep -v '^$')
((${#packages[@]} > 0)) || die "$here/guest-packages lists no package"

key=$(cat "$here/image.sh" "$here/guest-packages" | sha256sum | cut -c1-16)
entry=$cache/$key
if [[ -f $entry/ready && -z ${MYCTR_VM_REBUILD:-} ]]; then
	echo "$entry"
	exit 0
fi

mkdir -p "$cache"
chmod 0755 "$cache"
# One build at a time; a second caller waits and then finds it ready.
exec 9>"$cache/.lock"
flock 9
if [[ -f $entry/ready && -z ${MYCTR_VM_REBUILD:-} ]]; then
	echo "$entry"
	exit 0
fi

# The mirror this machine's apt uses (deb822 .sources or one-line lists).
mirror_from_apt() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk -v s="$suite" '$1 == "deb" && $0 ~ (" " s " ") { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		# One stanza per blank-line-separated paragraph: URIs of a stanza
		# whose Suites include the suite itself (not -security).
		awk -v s="$suite" 'BEGIN { RS = "" } {
			uri = ""; ok = 0
			n = split($0, l, "\n")
			for (i = 1; i <= n; i++) {
				if (l[i] ~ /^URIs:/) { split(l[i], w, " "); uri = w[2] }
				if (l[i] ~ /^Suites:/) { m = split(l[i], w, " "); for (j = 2; j <= m; j++) if (w[j] == s) ok = 1 }
			}
			if (ok && uri != "") { print uri; exit }
		}' "$f"
	done
}
mirror=${MYCTR_VM_MIRROR:-$(mirror_from_apt | head -n1)}
[[ -n $mirror ]] || die "no Debian $suite mirror in /etc/apt/sources.list*" "set MYCTR_VM_MIRROR to the Debian mirror apt uses"

work=$cache/$key.tmp
rm -rf "$work"
mkdir -p "$work"
root=$work/rootfs
# On failure the half-built entry goes; the lock goes with the process.
trap 'rm -rf "$work"' EXIT

# ---- debootstrap -------------------------------------------------------------
log "building the guest image $key: debootstrap $suite from $mirror (about a minute)"
include=$(
	IFS=,
	echo "${packages[*]}"
)
if ! debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -n 30 "$work/debootstrap.log" >&2
	tail -n 30 "$root/debootstrap/debootstrap.log" >&2 2>/dev/null || true
	die "debootstrap $suite failed (log above)" "check that $mirror answers (apt-get update) and that every name in guest-packages exists in $suite"
fi

# ---- configuration ------------------------------------------------------------
log "configuring the guest"
echo myctr-vm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmyctr-vm\n' >"$root/etc/hosts"
# The disk is opened with snapshot=on: nothing needs checking or keeping.
echo '/dev/vda / ext4 rw,noatime 0 0' >"$root/etc/fstab"
# A fixed machine id: an empty one would make every boot a "first boot"
# (presets applied, slower).
chroot "$root" systemd-machine-id-setup >/dev/null
mkdir -p "$root/etc/systemd/journald.conf.d"
cat >"$root/etc/systemd/journald.conf.d/myctr-vm.conf" <<'EOF'
# The VM tier: the journal lives in /run only (the disk is a snapshot).
[Journal]
Storage=volatile
EOF
# Nothing periodic runs in a test guest.
for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer; do
	ln -sf /dev/null "$root/etc/systemd/system/$t"
done
# The kernel's initrd (made by initramfs-tools in the chroot) is not used:
# the host boots with its own busybox initrd.
rm -f "$root"/boot/initrd.img-*

# Users: vmuser (in the polkit test group), vmother (outside it) and
# vmprompt (asked for its password: the only one with one), each with a
# subordinate range, lingering.
chroot "$root" groupadd myctr-helper-test
chroot "$root" useradd -m -s /bin/bash -G myctr-helper-test vmuser
chroot "$root" useradd -m -s /bin/bash vmother
chroot "$root" useradd -m -s /bin/bash vmprompt
echo 'vmprompt:vmprompt-pw' | chroot "$root" chpasswd
: >"$root/etc/subuid"
: >"$root/etc/subgid"
start=100000
mkdir -p "$root/var/lib/systemd/linger"
for u in vmuser vmother vmprompt; do
	echo "$u:$start:65536" >>"$root/etc/subuid"
	echo "$u:$start:65536" >>"$root/etc/subgid"
	start=$((start + 65536))
	touch "$root/var/lib/systemd/linger/$u"
done

# The job runner.
mkdir -p "$root/mnt/job"
cat >"$root/usr/local/sbin/myctr-vm-job" <<'EOF'
#!/bin/bash
# myctr-vm-job: run the job that the host put in the 9p share tagged
# myctr-job (tests/vm/run.sh), then let the unit power the machine off.
set -uo pipefail
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576,cache=none myctr-job /mnt/job; then
	echo "Error: mount of the 9p share myctr-job failed" >/dev/console
	exit 1
fi
mkdir -p /mnt/job/out
if [[ ! -f /mnt/job/job.sh ]]; then
	echo "Error: /mnt/job/job.sh is missing" >/mnt/job/out/job.log
	echo 1 >/mnt/job/out/job.exit
	exit 1
fi
bash /mnt/job/job.sh >/mnt/job/out/job.log 2>&1 </dev/null
rc=$?
echo "$rc" >/mnt/job/out/job.exit
sync
umount /mnt/job || true
exit 0
EOF
chmod 0755 "$root/usr/local/sbin/myctr-vm-job"
cat >"$root/etc/systemd/system/myctr-vm-job.service" <<'EOF'
# The VM tier's job (tests/vm): runs once the system is up, then the
# machine powers off whatever the job did.
[Unit]
Description=myctr VM tier job
After=multi-user.target
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/myctr-vm-job
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/myctr-vm-job.service "$root/etc/systemd/system/multi-user.target.wants/myctr-vm-job.service"

# ---- kernel -------------------------------------------------------------------
mapfile -t kernels < <(cd "$root/boot" && ls vmlinuz-* 2>/dev/null)
((${#kernels[@]} == 1)) || die "expected one kernel in the guest's /boot, found: ${kernels[*]:-none}" "guest-packages must list linux-image-amd64"
kver=${kernels[0]#vmlinuz-}
log "kernel $kver: unpacking to vmlinux"
# The bzImage's payload is a compressed ELF; find it by its magic and
# unpack until an ELF comes out (trailing bytes make the unpacker complain).
unpack_kernel() {
	local img=$1 out=$2 magic cmd off
	for spec in 'FD377A585A00:xz -dc' '28B52FFD:zstd -dc' '1F8B0800:gzip -dc'; do
		magic=${spec%%:*}
		cmd=${spec#*:}
		while read -r off; do
			[[ -n $off ]] || continue
			tail -c +"$((off + 1))" "$img" | $cmd >"$out" 2>/dev/null || true
			if [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]; then
				return 0
			fi
		done < <(od -An -v -tx1 "$img" | tr -d ' \n' | grep -ob "$(echo "$magic" | tr 'A-F' 'a-f')" | awk -F: '$1 % 2 == 0 { print $1 / 2 }')
	done
	return 1
}
unpack_kernel "$root/boot/vmlinuz-$kver" "$work/vmlinux" ||
	die "could not unpack $root/boot/vmlinuz-$kver to an ELF vmlinux" "the kernel's compression is none of xz, zstd, gzip"

# ---- initrd -------------------------------------------------------------------
log "initrd: busybox + ${initrd_modules[*]}"
moddir=$root/lib/modules/$kver
ird=$work/initrd
mkdir -p "$ird/bin" "$ird/lib/modules" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/newroot"
cp "$busybox" "$ird/bin/busybox"
# deps MODULE: its path (relative to moddir) after those it needs, from
# modules.dep; nothing for a built-in module.
declare -A seen=()
order=()
add_module() {
	local name=$1 line path dep
	line=$(grep -E "(^|/)${name//_/[_-]}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" || true)
	if [[ -z $line ]]; then
		grep -Eq "(^|/)${name//_/[_-]}\.ko$" "$moddir/modules.builtin" ||
			die "module $name is neither in modules.dep nor built into $kver"
		return 0
	fi
	path=${line%%:*}
	[[ -n ${seen[$path]:-} ]] && return 0
	seen[$path]=1
	for dep in ${line#*:}; do
		dep=$(basename "$dep")
		add_module "${dep%%.ko*}"
	done
	order+=("$path")
}
for m in "${initrd_modules[@]}"; do
	add_module "$m"
done
: >"$ird/modules"
for path in "${order[@]}"; do
	base=$(basename "$path")
	case $base in
	*.ko.xz) xz -dc "$moddir/$path" >"$ird/lib/modules/${base%.xz}" ;;
	*.ko.zst) zstd -dcq "$moddir/$path" >"$ird/lib/modules/${base%.zst}" ;;
	*.ko.gz) gzip -dc "$moddir/$path" >"$ird/lib/modules/${base%.gz}" ;;
	*) cp "$moddir/$path" "$ird/lib/modules/$base" ;;
	esac
	echo "${base%%.ko*}.ko" >>"$ird/modules"
done
cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
# The VM tier's initrd: load the modules for the root disk, mount it and
# hand over to systemd.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules); do
	insmod "/lib/modules/$m" || echo "initrd: insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
	echo "initrd: Error: cannot mount /dev/vda"
	poweroff -f
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$ird/init"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$work/initrd.img"
rm -rf "$ird"

# ---- disk image ---------------------------------------------------------------
log "disk image: mkfs.ext4 -d ($image_size, sparse)"
truncate -s "$image_size" "$work/rootfs.img"
mkfs.ext4 -q -F -L myctr-vm -E root_owner=0:0 -d "$root" "$work/rootfs.img" ||
	die "mkfs.ext4 -d $root failed" "e2fsprogs 1.43 or newer is needed for -d"
rm -rf "$root"
echo "$kver" >"$work/kernel-version"
printf '%s\n' "${packages[@]}" >"$work/packages"
cp "$work/debootstrap.log" "$work/build.log"
rm -f "$work/debootstrap.log"

rm -rf "$entry"
mv "$work" "$entry"
trap - EXIT
date -u +%FT%TZ >"$entry/ready"
# Older recipes' entries are of no further use.
for old in "$cache"/*/; do
	old=${old%/}
	[[ $old == "$entry" ]] && continue
	[[ -f $old/ready || $old == *.tmp ]] && rm -rf "$old"
done
log "guest image ready: $entry"
echo "$entry"
