#!/usr/bin/env bash
# run.sh RESULTS.json: the VM tier (TESTING.md, tier 4), as root. Boots the
# cached Debian guest (tests/vm/image.sh builds it the first time) once
# under qemu (TCG), with this build of myctr carried in through a 9p share,
# runs every VM case inside (tests/vm/vm_test.go, through tests/vm/job.sh),
# powers it off, and writes the cases as test2json events to RESULTS.json
# (package github.com/myctr/myctr/tests/vm), streaming their output.
# tests/setup/summarize.sh reads RESULTS.json like the other tiers'.
#
# A failure before the cases could run (image, install, build, boot,
# timeout) is written as one failed pseudo-test named after the step
# (TestVMImage, TestVMInstall, TestVMBuild, TestVMBoot, TestVMJob), with
# what is known.
#
# The guest has no network card: its traffic never leaves it. Nothing on
# this machine changes but the cache (/var/cache/myctr-vm) and a temporary
# directory, removed at the end (MYCTR_VM_KEEP=1 keeps it and says where).
#
# Environment: MYCTR_VM_TIMEOUT (seconds for the whole boot, default 1200),
# MYCTR_VM_RUN (a -test.run pattern), MYCTR_VM_BENCH (1: run
# bench-cgroups.sh, print its table, no cases), MYCTR_VM_CPUS (2), MYCTR_VM_MEM (2048,
# MiB), MYCTR_VM_ACCEL (tcg; kvm where it works), MYCTR_VM_CACHE and
# MYCTR_VM_MIRROR (image.sh).
set -euo pipefail

results=${1:?usage: $0 RESULTS.json}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
pkg=github.com/myctr/myctr/tests/vm
timeout=${MYCTR_VM_TIMEOUT:-1200}
export PATH=/usr/local/go/bin:$PATH

log() { echo "run.sh: $*" >&2; }

mkdir -p "$(dirname "$results")"
results=$(cd "$(dirname "$results")" && pwd)/$(basename "$results")
rm -f "$results"

# fail_event NAME TEXT: one failed pseudo-test in the results, for a
# failure before the cases could report.
fail_event() {
	jq -n -c --arg t "$1" --arg out "$2" --arg pkg "$pkg" '
		{Action: "run", Package: $pkg, Test: $t},
		{Action: "output", Package: $pkg, Test: $t, Output: ($out + "\n")},
		{Action: "fail", Package: $pkg, Test: $t}' >>"$results"
	echo "Error: $1: $2" >&2
}

if [[ $(id -u) -ne 0 ]]; then
	echo "Error: the VM tier runs as root (debootstrap builds the image; qemu opens it)" >&2
	echo "Hint: sudo make test-vm" >&2
	exit 1
fi
# The packages of every tier, the VM tier's block included (qemu,
# debootstrap, ...): on a prepared machine this only asks dpkg.
"$repo/tests/setup/deps.sh"
for tool in qemu-system-x86_64 jq go timeout; do
	if ! command -v "$tool" >/dev/null; then
		echo "Error: $tool not found" >&2
		echo "Hint: run tests/setup/deps.sh as root (the VM tier's block installs qemu-system-x86 and debootstrap)" >&2
		[[ $tool == jq ]] && exit 1
		fail_event TestVMSetup "$tool not found: run tests/setup/deps.sh as root"
		exit 1
	fi
done

run=$(mktemp -d /tmp/myctr-vm.XXXXXX)
share=$run/share
mkdir -p "$share/out"
cleanup() {
	if [[ -n ${MYCTR_VM_KEEP:-} ]]; then
		log "kept $run (console.log, share/out/)"
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT

# ---- 1. the guest image (cached)
t0=$(date +%s)
if ! entry=$("$here/image.sh"); then
	fail_event TestVMImage "tests/vm/image.sh could not build the guest image (see its Error above)"
	exit 1
fi
log "guest image $entry ($(($(date +%s) - t0)) s)"

# ---- 2. this build of myctr, installed as a distribution would
# (PREFIX=/usr), carried in as a tarball that the job unpacks over /.
staging=$run/staging
if ! make -C "$repo" --no-print-directory install DESTDIR="$staging" PREFIX=/usr >"$run/install.log" 2>&1; then
	cat "$run/install.log" >&2
	fail_event TestVMInstall "make install DESTDIR=... PREFIX=/usr failed: $(tail -n 5 "$run/install.log")"
	exit 1
fi
tar -C "$staging" --numeric-owner --owner=0 --group=0 -cf "$share/myctr-install.tar" .

# The guest's test binary (static: the guest has no Go) and the busybox
# rootfs its containers run.
if ! (cd "$repo" && CGO_ENABLED=0 go test -c -tags vm -o "$share/vm.test" ./tests/vm) >"$run/build.log" 2>&1; then
	cat "$run/build.log" >&2
	fail_event TestVMBuild "CGO_ENABLED=0 go test -c -tags vm ./tests/vm failed: $(tail -n 5 "$run/build.log")"
	exit 1
fi
if ! "$repo/tests/setup/busybox-rootfs.sh" "$share/bb.tar" >"$run/bb.log" 2>&1; then
	cat "$run/bb.log" >&2
	fail_event TestVMBuild "tests/setup/busybox-rootfs.sh failed: $(tail -n 3 "$run/bb.log")"
	exit 1
fi
cp "$here/job.sh" "$here/bench-cgroups.sh" "$repo/README.md" "$share/"
{
	if [[ -n ${MYCTR_VM_BENCH:-} ]]; then
		echo "VM_BENCH=1"
		echo "BENCH_RUNS=${BENCH_RUNS:-15}"
	fi
	# Inside, the cases get most of the boot's time; the rest is boot.
	echo "VM_TEST_TIMEOUT=$((timeout > 180 ? timeout - 120 : timeout))s"
	printf 'VM_TEST_RUN=%q\n' "${MYCTR_VM_RUN:-}"
} >"$share/env"
chmod -R a+rX "$share"

# ---- 3. boot once; the job powers the machine off
accel=${MYCTR_VM_ACCEL:-tcg}
log "booting the guest ($accel, ${MYCTR_VM_CPUS:-2} CPUs, ${MYCTR_VM_MEM:-2048} MiB; at most $timeout s; console: $run/console.log)"
t1=$(date +%s)
qemu_rc=0
timeout --kill-after=10 "$timeout" qemu-system-x86_64 \
	-machine "pc,accel=$accel" -cpu max -smp "${MYCTR_VM_CPUS:-2}" -m "${MYCTR_VM_MEM:-2048}" \
	-kernel "$entry/vmlinux" -initrd "$entry/initrd.img" \
	-append "console=ttyS0 panic=-1" \
	-drive "file=$entry/rootfs.img,if=virtio,format=raw,snapshot=on" \
	-virtfs "local,path=$share,mount_tag=myctr-job,security_model=none,id=job" \
	-nic none -display none -vga none -monitor none -no-reboot \
	-serial "file:$run/console.log" </dev/null >"$run/qemu.log" 2>&1 || qemu_rc=$?
boot_s=$(($(date +%s) - t1))
log "the guest ran $boot_s s (qemu exit $qemu_rc)"

# ---- 4. the results
out=$share/out
if [[ -n ${MYCTR_VM_BENCH:-} ]]; then
	# A benchmark run: its table, and no test events.
	cat "$out/bench.txt" 2>/dev/null || echo "Error: the guest wrote no bench.txt (console: $run/console.log)" >&2
	[[ -f $out/job.exit && $(cat "$out/job.exit") == 0 ]]
	exit
fi
if [[ -s $out/vm.out ]]; then
	# test2json's exit code follows the tests': their results are in the
	# events, and the job's exit code below.
	{ go tool test2json -p "$pkg" <"$out/vm.out" || true; } | tee -a "$results" | jq --unbuffered -j 'select(.Action == "output") | .Output'
fi
why=
if ((qemu_rc == 124 || qemu_rc == 137)); then
	why="the guest did not power off within $timeout s (MYCTR_VM_TIMEOUT)"
elif ((qemu_rc != 0)); then
	why="qemu-system-x86_64 exited $qemu_rc: $(tail -n 5 "$run/qemu.log")"
elif [[ ! -f $out/job.exit ]]; then
	why="the job did not run to its end (no out/job.exit)"
elif [[ -f $out/setup.failed ]]; then
	why="the job's set-up failed at: $(cat "$out/setup.failed")"
elif [[ ! -s $out/vm.out ]]; then
	why="vm.test wrote nothing"
fi
if [[ -n $why ]]; then
	details=$why
	[[ -f $out/job.log ]] && details+=$'\n--- job.log\n'$(tail -n 40 "$out/job.log")
	# The console's last lines, without systemd's colours.
	details+=$'\n--- console.log (last lines)\n'$(tail -n 25 "$run/console.log" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' || true)
	if [[ -s $out/vm.out ]]; then
		fail_event TestVMJob "$details"
	else
		fail_event TestVMBoot "$details"
	fi
	# The guest's journal, for the lead and the logs of CI.
	if [[ -f $out/journal.txt ]]; then
		cp "$out/journal.txt" "$(dirname "$results")/vm-journal.txt"
		log "the guest's journal: $(dirname "$results")/vm-journal.txt"
	fi
	exit 1
fi
# Keep the guest's journal next to the results either way.
[[ -f $out/journal.txt ]] && cp "$out/journal.txt" "$(dirname "$results")/vm-journal.txt"
log "guest job exited $(cat "$out/job.exit"); boot to power-off $boot_s s"
[[ $(cat "$out/job.exit") == 0 ]]
