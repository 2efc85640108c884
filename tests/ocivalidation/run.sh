#!/usr/bin/env bash
# run.sh [--user USER] [--out DIR] [--timeout SECONDS] [--programs LIST]
#        [--jobs N] [--serial] [--build DIR] RUNTIME_PATH...
#
# Runs the OCI runtime validation programs of opencontainers/runtime-tools
# (validation/*: one Go program per spec area, each printing TAP) against
# each runc-compatible RUNTIME_PATH, N programs at a time per runtime
# (--jobs, default 1) and the runtimes side by side (one after the other
# with --serial), and prints a table program x runtime and, per runtime,
# the programs passed and the TAP tests passed, failed and skipped. A cell
# is one of:
#   pass       exit 0, no "not ok" (the *_fail programs print nothing when
#              the runtime refused the bad config, as it must)
#   FAIL n/m   n of the program's m TAP tests are "not ok"
#   FAIL diag  no TAP test line, but an error diagnostic (the hook programs
#              report that way)
#   FAIL exit  exit 1 with a spec violation on stderr (the *_fail programs
#              report that way: the runtime accepted what it must refuse)
#   skip       every TAP test skipped
#   crash      exit != 0 otherwise, or TAP cut short: the program could not
#              finish (often: the runtime failed a step it needed)
#   timeout    killed after --timeout seconds (60); counted with crashes
# DIR (default ./ocivalidation-results) gets per runtime NAME: NAME/results.tsv
# (program, status, cell, TAP counts, exit status, seconds, cgroups left),
# each program's TAP (PROGRAM.tap), stderr (PROGRAM.err) and the runtime
# command lines it ran with their exit status (PROGRAM.calls); and
# summary.txt, the table printed at the end.
#
# Must run as root: every runtime runs in namespaces set up as below. With
# --user USER the programs (and so the runtime) run as that non-root user,
# in the same kind of namespaces, and by default only the programs that can
# pass without root (root_only below lists the others; --programs overrides).
# runtime-tools generates rootful configs only (no user namespace); a
# rootless runtime has to cope with that (crun does, runc refuses).
#
# The module is pinned below; it is fetched through the Go module proxy when
# not in the module cache, and built once into the build directory (--build,
# default ${XDG_CACHE_HOME:-~/.cache}/myctr/ocivalidation/VERSION-GOVERSION).
#
# Why the namespaces. As root, a runtime makes cgroups in every hierarchy it
# finds under /sys/fs/cgroup; on a host with cgroup v1 hierarchies (this
# v1/v2 hybrid kind) those belong to the host and must not be touched. Some
# programs also write there themselves (delete_only_create_resources makes
# /sys/fs/cgroup/pids/cgrouptest and removes it). So each runtime runs in:
#   - a cgroup of its own, made here at the root of the host's cgroup2
#     hierarchy and removed afterwards with whatever the runtime made in it;
#   - a new cgroup namespace whose root is that cgroup, and a new private
#     mount namespace in which /sys/fs/cgroup is replaced by one cgroup2
#     mount of that namespace: the runtimes see a pure cgroup v2 host whose
#     root is our cgroup, so every cgroup they make (and every
#     cgroup.subtree_control they write) is ours, and no v1 hierarchy is
#     reachable. The namespace's copies of the v1 mounts are unmounted once
#     checked to propagate nowhere: the same happens to them when the
#     namespace ends, the host's mounts are not affected, and so
#     /proc/self/mountinfo inside (which the programs read) lists no v1
#     hierarchy. Debian's crun 1.8.1, which refuses the hybrid layout, sees a
#     unified one there;
#   - a fresh tmpfs on /run, so the runtimes' state (/run/runc, /run/crun,
#     /run/user/UID/...) is private to the run.
#   - per program, a child cgroup that is again the root of a cgroup
#     namespace and cgroup2 mount of its own (see ns_inner), killed and
#     removed when the program ends.
# Afterwards the run fails if a directory named after one of its containers,
# cgrouptest or myctr-ocivalidation appeared in a v1 hierarchy, if the host's
# cgroup mounts changed, or if a cgroup it made could not be removed.
set -euo pipefail

module=github.com/opencontainers/runtime-tools
version=v0.9.1-0.20250523060157-0ea5ed0382a2

# Programs that cannot pass without root, whatever the runtime: they set
# cgroup limits and paths (linux_cgroups_*, delete_resources,
# delete_only_create_resources), map host ids 1000-3999 (linux_uid_mappings,
# linux_ns_nopath), share the host's pid namespace (linux_ns_itype), make
# namespaces with unshare(1) to join (linux_ns_path), or make device nodes
# themselves (linux_devices, linux_masked_paths, linux_readonly_paths).
root_only=('linux_cgroups_*' delete_resources delete_only_create_resources
	linux_uid_mappings linux_ns_nopath linux_ns_itype linux_ns_path
	linux_devices linux_masked_paths linux_readonly_paths)

here=$(cd "$(dirname "$0")" && pwd)
self=$here/$(basename "$0")
repo=$(cd "$here/../.." && pwd)

die() {
	echo "ocivalidation: error: $1" >&2
	[[ -z ${2:-} ]] || echo "ocivalidation: hint: $2" >&2
	exit 1
}
note() { echo "ocivalidation: $*" >&2; }

# ---------------------------------------------------------------------------
# Inside the namespaces: run.sh --ns-inner NAME RUNTIME RTDIR WORKDIR, as
# root. Results go to RTDIR; WORKDIR (which USER can reach) holds the
# programs' working directory, their TMPDIR and the runtime call logs.
# Environment: OCV_USER, OCV_TIMEOUT, OCV_JOBS, OCV_PROGRAMS, OCV_BIN,
# OCV_AS_USER.

# cg_kill_rm DIR: kill every process in cgroup DIR's subtree (all of them
# started by this run: DIR is ours) and remove the subtree, deepest first.
cg_kill_rm() {
	local d=$1 i
	[[ -d $d ]] || return 0
	if grep -q '^populated 1' "$d/cgroup.events" 2>/dev/null; then
		echo 1 >"$d/cgroup.kill"
		for ((i = 0; i < 100; i++)); do
			grep -q '^populated 0' "$d/cgroup.events" && break
			sleep 0.05
		done
	fi
	find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	[[ ! -d $d ]]
}

# fstype_awk: an awk prefix setting t to a mountinfo line's filesystem type.
# shellcheck disable=SC2016 # awk's own $ fields
fstype_awk='{ for (i = 7; $i != "-"; i++) ; t = $(i + 1) }'

# mounts_check: /sys/fs/cgroup is the only cgroup mount and is cgroup2.
mounts_check() {
	local bad
	bad=$(awk "$fstype_awk"' t == "cgroup" || (t == "cgroup2" && $5 != "/sys/fs/cgroup")' /proc/self/mountinfo)
	[[ -z $bad ]] || die "cgroup mounts left in the namespace: $bad"
	[[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] || die "/sys/fs/cgroup is not cgroup2 in the namespace"
}

# tap_count FILE: "TESTS OK NOTOK SKIP PLAN YAML" of the top-level TAP
# lines (nested TAP in YAML blocks is indented); PLAN is - when missing,
# YAML the number of YAML blocks.
tap_count() {
	awk '
		/^ok( |$)/ { n++; if (tolower($0) ~ /# *skip/) s++; else o++ }
		/^not ok( |$)/ { n++; f++ }
		/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); p = $0 + 0; havep = 1 }
		/^  ---$/ { y++ }
		END { printf "%d %d %d %d %s %d\n", n, o, f, s, (havep ? p : "-"), y }' "$1"
}

# run_program PROGRAM: one validation program, in cgroup p.PROGRAM and
# namespaces of its own; writes RTDIR/PROGRAM.{tap,err,calls} and its
# results.tsv row to WORKDIR/PROGRAM.row. Uses ns_inner's variables.
run_program() {
	local prog=$1 cg=$cgr/p.$1 tmp=$work/tmp/$1 start end rc=0 st cell
	local tests ok notok skip plan yaml leftover run
	mkdir "$cg" "$tmp"
	if [[ -n $OCV_USER ]]; then
		chown "$uid:$gid" "$cg" "$cg/cgroup.procs" "$cg/cgroup.threads" "$cg/cgroup.subtree_control" "$tmp"
	fi
	start=$(date +%s%N)
	run=(env "RUNTIME=$wrapper" "TMPDIR=$tmp" "OCV_CALLS=$work/calls/$prog" "$OCV_BIN/$prog")
	[[ -z $OCV_USER ]] || run=("$OCV_AS_USER" "$OCV_USER" "${run[@]}")
	(
		echo "$BASHPID" >"$cg/cgroup.procs"
		cd "$cwd"
		# shellcheck disable=SC2016 # for sh
		exec unshare --mount --propagation private --cgroup --fork -- sh -c \
			'umount /sys/fs/cgroup && mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup && exec "$@"' \
			sh timeout --kill-after=5 "$OCV_TIMEOUT" "${run[@]}"
	) </dev/null >"$rtdir/$prog.tap" 2>"$rtdir/$prog.err" || rc=$?
	end=$(date +%s%N)
	cp "$work/calls/$prog" "$rtdir/$prog.calls" 2>/dev/null || : >"$rtdir/$prog.calls"

	# Cgroups the runtime left behind (a deleted container's should be
	# gone); then kill what still runs and remove them all.
	find "$cg" -mindepth 1 -type d | sed "s|^$cg||" >"$work/$prog.left"
	leftover=$(wc -l <"$work/$prog.left")
	cg_kill_rm "$cg" || note "$name: $prog: could not remove cgroup /p.$prog"
	rm -rf "$tmp"

	read -r tests ok notok skip plan yaml < <(tap_count "$rtdir/$prog.tap")
	if ((rc == 124 || rc == 137)); then
		st=timeout cell=timeout
	elif ((rc != 0)); then
		if grep -q 'Refer to: https://github.com/opencontainers/runtime-spec' "$rtdir/$prog.err"; then
			st=fail cell="FAIL exit"
		else
			st=crash cell=crash
		fi
	elif ((notok > 0)); then
		st=fail cell="FAIL $notok/$tests"
	elif ((tests == 0)); then
		if ((yaml > 0)); then st=fail cell="FAIL diag"; else st=pass cell=pass; fi
	elif [[ $plan == - ]] || ((tests < plan)); then
		st=crash cell=crash
	elif ((tests == skip)); then
		st=skip cell=skip
	else
		st=pass cell=pass
	fi
	printf '%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\n' "$prog" "$st" "$cell" "$tests" "$ok" "$notok" "$skip" "$rc" \
		"$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')" "$leftover" >"$work/$prog.row"
	note "$name: $prog: $cell"
}

ns_inner() {
	local name=$1 real=$2 rtdir=$3 work=$4
	local cgr=/sys/fs/cgroup uid=0 gid=0 prog wrapper cwd arch running

	# The unmount below must stay in this namespace: refuse if a mount here
	# still propagates (unshare --propagation private made them private).
	if awk '$5 == "/" || $5 ~ "^/sys" { for (i = 7; $i != "-"; i++) if ($i ~ /^(shared|master):/) print }' \
		/proc/self/mountinfo | grep -q .; then
		die "mounts in the private namespace still propagate; not unmounting"
	fi
	umount --recursive /sys/fs/cgroup
	mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
	mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
	mounts_check
	cp /proc/self/mountinfo "$rtdir/mountinfo.txt"

	if [[ -n $OCV_USER ]]; then
		uid=$(id -u "$OCV_USER")
		gid=$(id -g "$OCV_USER")
		mkdir -p /run/user
		mkdir -m 0700 "/run/user/$uid"
		chown "$uid:$gid" "/run/user/$uid"
	fi

	# This shell lives in /harness. Each program runs in a cgroup of its
	# own, p.PROGRAM (delegated to USER with --user), which is also the root
	# of a cgroup namespace and of a cgroup2 mount of its own: the cgroups
	# its containers get (absolute cgroupsPath included) are under it, apart
	# from other programs' (several may run at once, --jobs), and what it
	# leaves running is killed when it ends.
	mkdir "$cgr/harness"
	echo $$ >"$cgr/harness/cgroup.procs"

	wrapper=$work/runtime
	cwd=$work/cwd
	# The runtime as the programs call it: logs each command line and its
	# exit status to OCV_CALLS, and passes on the runtime's output and
	# exit status.
	cat >"$wrapper" <<EOF
#!/bin/bash
printf '+ %s' $(printf '%q' "${real##*/}") >>"\${OCV_CALLS:-/dev/null}"
printf ' %q' "\$@" >>"\${OCV_CALLS:-/dev/null}"
printf '\n' >>"\${OCV_CALLS:-/dev/null}"
$(printf '%q' "$real") "\$@"
rc=\$?
printf '  exit %d\n' "\$rc" >>"\${OCV_CALLS:-/dev/null}"
exit "\$rc"
EOF
	chmod 0755 "$wrapper"
	# Each program reads runtimetest and rootfs-ARCH.tar.gz from its
	# working directory (and gives the bundle's copy of runtimetest the
	# owner of this one, so USER must own it).
	arch=$(uname -m)
	case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; i?86) arch=386 ;; esac
	mkdir -p "$cwd" "$work/tmp" "$work/calls"
	cp "$OCV_BIN/runtimetest" "$OCV_BIN/rootfs-$arch.tar.gz" "$cwd/"
	[[ -z $OCV_USER ]] || chown -R "$uid:$gid" "$cwd" "$work/tmp" "$work/calls"

	running=0
	for prog in $OCV_PROGRAMS; do
		if ((running >= OCV_JOBS)); then
			wait -n || true
			running=$((running - 1))
		fi
		run_program "$prog" &
		running=$((running + 1))
	done
	wait
	printf 'program\tstatus\tcell\ttests\tok\tnot_ok\tskip\texit\tseconds\tleft_cgroups\n' >"$rtdir/results.tsv"
	for prog in $OCV_PROGRAMS; do
		cat "$work/$prog.row" >>"$rtdir/results.tsv"
		if [[ -s $work/$prog.left ]]; then
			sed "s|^|$prog: |" "$work/$prog.left" >>"$rtdir/cgroups-left.txt"
		fi
	done
	mounts_check
}

if [[ ${1:-} == --ns-inner ]]; then
	shift
	ns_inner "$@"
	exit 0
fi

# ---------------------------------------------------------------------------
# Outside: arguments, build, one set of namespaces per runtime, report.

usage() {
	sed -n '2,3p' "$self" | sed 's/^# \{0,1\}/usage: /;2s/usage: /       /' >&2
	exit 2
}

user=
out=$PWD/ocivalidation-results
timeout_s=60
programs=
build=
serial=
jobs=1
runtimes=()
while (($#)); do
	case $1 in
	--user) user=${2:?--user needs a user name}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	--programs) programs=${2:?--programs needs a list}; shift 2 ;;
	--build) build=${2:?--build needs a directory}; shift 2 ;;
	--serial) serial=1; shift ;;
	--jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
	-h | --help) usage ;;
	--) shift; runtimes+=("$@"); break ;;
	-*) echo "unknown option $1" >&2; usage ;;
	*) runtimes+=("$1"); shift ;;
	esac
done
((${#runtimes[@]})) || usage
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout takes whole seconds"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs takes a number"
[[ $(id -u) -eq 0 ]] || die "run as root: each runtime runs in mount and cgroup namespaces set up here" \
	"use --user USER to run the programs as a non-root user"
for t in unshare timeout setpriv tar awk find stat; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
for i in "${!runtimes[@]}"; do
	r=${runtimes[$i]}
	[[ $r == */* ]] || r=$(command -v "$r" || true)
	[[ -n $r && -f $r && -x $r ]] || die "runtime ${runtimes[$i]} is not an executable"
	runtimes[i]=$(readlink -f "$r")
done
if [[ -n $user ]]; then
	uid=$(id -u "$user" 2>/dev/null) || die "no user $user"
	((uid != 0)) || die "--user takes a non-root user"
fi

# The host's cgroup2 hierarchy (unified, or /sys/fs/cgroup/unified on a
# hybrid host) and its v1 hierarchies.
cg2=$(awk "$fstype_awk"' t == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[[ -n $cg2 ]] || die "no cgroup2 hierarchy is mounted" "the namespaces need one (a hybrid or unified cgroup host)"
[[ -w $cg2/cgroup.procs ]] || die "$cg2 is not writable"
mapfile -t v1dirs < <(awk "$fstype_awk"' t == "cgroup" { print $5 }' /proc/self/mountinfo)

PATH=$("$repo/tests/setup/go.sh"):$PATH
export PATH
export GOWORK=off GOTOOLCHAIN=local GOFLAGS='-mod=readonly -buildvcs=false'
gover=$(go env GOVERSION)
build=${build:-${XDG_CACHE_HOME:-$HOME/.cache}/myctr/ocivalidation/$version-$gover}

# The module: from the module cache, else through the module proxy. Module
# zips hold no vendor/ tree (only vendor/modules.txt), so its dependencies
# come through the proxy too, checked against its go.sum (-mod=readonly).
fetch_tmp=$(mktemp -d)
if ! (cd "$fetch_tmp" && GOFLAGS=-mod=mod go mod download -json "$module@$version") >"$fetch_tmp/dl.json"; then
	cat "$fetch_tmp/dl.json" >&2
	rm -rf "$fetch_tmp"
	die "could not download $module@$version" "check GOPROXY"
fi
moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$fetch_tmp/dl.json")
rm -rf "$fetch_tmp"
[[ -n $moddir && -d $moddir/validation ]] || die "$module@$version has no validation/ directory"

mapfile -t all_programs < <(grep -l '^package main' "$moddir"/validation/*/*.go | xargs -n1 dirname | xargs -n1 basename | sort -u)
if [[ -n $programs ]]; then
	programs=${programs//,/ }
	for p in $programs; do
		[[ " ${all_programs[*]} " == *" $p "* ]] || die "no validation program $p"
	done
else
	programs=
	skipped=
	for p in "${all_programs[@]}"; do
		keep=1
		if [[ -n $user ]]; then
			for r in "${root_only[@]}"; do
				# shellcheck disable=SC2053 # a glob pattern
				[[ $p != $r ]] || keep=
			done
		fi
		if [[ -n $keep ]]; then programs+=" $p"; else skipped+=" $p"; fi
	done
	programs=${programs# }
	[[ -z $skipped ]] || note "as $user, not running the programs that need root:$skipped"
fi

mkdir -p "$(dirname "$build")"
exec 8>"$build.lock"
flock 8
if [[ ! -f $build/.complete ]]; then
	note "building the validation programs of $module@$version into $build"
	btmp=$(mktemp -d "$build.XXXXXX")
	if ! (
		cd "$moddir"
		go build -trimpath -ldflags='-s -w' -o "$btmp/" ./validation/...
		CGO_ENABLED=0 go build -trimpath -tags 'netgo osusergo' -ldflags='-s -w' -o "$btmp/runtimetest" ./cmd/runtimetest
	); then
		rm -rf "$btmp"
		die "building the validation programs failed"
	fi
	cp "$moddir"/rootfs-*.tar.gz "$btmp/"
	chmod -R a+rX "$btmp"
	touch "$btmp/.complete"
	rm -rf "$build"
	mv "$btmp" "$build"
fi
exec 8>&-

mkdir -p "$out"
out=$(cd "$out" && pwd)
cgroups_made=()
pids=()
work=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local c p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for c in "${cgroups_made[@]}"; do
		cg_kill_rm "$c" || note "could not remove $c"
	done
	[[ -z $work ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

work=$(mktemp -d -t myctr-ocivalidation.XXXXXX)
chmod 0755 "$work"
bin=$build
if [[ -n $user ]]; then
	if ! setpriv --reuid="$uid" --regid="$(id -g "$user")" --init-groups test -x "$work"; then
		die "$user cannot reach $work" "set TMPDIR to a directory $user can reach"
	fi
	# USER may not reach the build directory (under root's home).
	bin=$work/bin
	mkdir "$bin"
	cp "$build"/* "$bin/"
fi

# v1_snapshot: every directory of the host's v1 hierarchies (read only).
v1_snapshot() {
	local d
	for d in "${v1dirs[@]}"; do find "$d" -type d 2>/dev/null || true; done | sort
}
cgmounts() { awk "$fstype_awk"' t ~ /^cgroup2?$/ { print $5, t, $(i + 3) }' /proc/self/mountinfo | sort; }

# run_runtime NAME REAL CGROUP: one runtime, in its namespaces.
run_runtime() {
	local name=$1 real=$2 cg=$3 rtdir=$out/$1 r0 rc=0
	rm -rf "$rtdir"
	mkdir -p "$rtdir" "$work/$name"
	printf '%s\n%s\n' "$real" "$("$real" --version 2>&1 | head -n 1)" >"$rtdir/runtime.txt"
	mkdir "$cg"
	note "$name: $real, as ${user:-root}, in cgroup ${cg#"$cg2"} of $cg2"
	r0=$(date +%s)
	(
		echo "$BASHPID" >"$cg/cgroup.procs"
		exec env OCV_USER="$user" OCV_TIMEOUT="$timeout_s" OCV_JOBS="$jobs" OCV_PROGRAMS="$programs" OCV_BIN="$bin" \
			OCV_AS_USER="$repo/tests/setup/as-user.sh" \
			unshare --mount --propagation private --cgroup --fork -- \
			"$self" --ns-inner "$name" "$real" "$rtdir" "$work/$name"
	) || rc=$?
	echo "$(($(date +%s) - r0))" >"$rtdir/seconds"
	((rc == 0)) || note "$name: the run in the namespaces failed (exit $rc)"

	# What is left of the runtime's cgroup (the harness's own /harness, and
	# nothing else if all went well) is killed and removed.
	find "$cg" -mindepth 1 -type d | sed "s|^$cg||" | grep -vx /harness >"$rtdir/cgroups-at-end.txt" || true
	if ! cg_kill_rm "$cg"; then
		note "$name: could not remove $cg"
		rc=1
	fi
	return "$rc"
}

before_v1=$(v1_snapshot)
before_mounts=$(cgmounts)
t0=$(date +%s)
names=()
bad=0
for i in "${!runtimes[@]}"; do
	real=${runtimes[$i]}
	name=$(basename "$real")
	for n in "${names[@]}"; do
		[[ $n != "$name" ]] || name=$name-$((i + 1))
	done
	names+=("$name")
	cg=$cg2/myctr-ocivalidation.$$.$i
	cgroups_made+=("$cg")
	if [[ -n $serial ]]; then
		run_runtime "$name" "$real" "$cg" || bad=1
	else
		run_runtime "$name" "$real" "$cg" &
		pids+=($!)
	fi
done
for p in "${pids[@]}"; do
	wait "$p" || bad=1
done
total=$(($(date +%s) - t0))

# Nothing of this run in the host's v1 hierarchies, its cgroup mounts as
# they were.
{
	printf '%s\n' cgrouptest myctr-ocivalidation
	cat "$out"/*/*.calls 2>/dev/null | grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' || true
} | sort -u >"$work/ids"
iso=ok
ours=$(comm -13 <(echo "$before_v1") <(v1_snapshot) | grep -F -f "$work/ids" || true)
if [[ -n $ours ]]; then
	note "made in the host's v1 cgroup hierarchies (left as they are):"$'\n'"$ours"
	iso=
fi
if [[ $(cgmounts) != "$before_mounts" ]]; then
	note "the host's cgroup mounts changed during the run"
	iso=
fi
for c in "${cgroups_made[@]}"; do
	[[ ! -d $c ]] || iso=
done
[[ -n $iso ]] || bad=1
if [[ -n $iso ]]; then
	isolation="isolation: nothing new in the host's ${#v1dirs[@]} v1 hierarchies, cgroup mounts unchanged, the runtimes' cgroups under $cg2 removed"
else
	isolation="isolation: FAILED (see above)"
fi

# ---------------------------------------------------------------------------
# The table and the totals.
{
	w=31
	printf '%-*s' "$w" program
	for n in "${names[@]}"; do printf ' %-12s' "$n"; done
	printf '\n'
	for p in $programs; do
		printf '%-*s' "$w" "$p"
		for n in "${names[@]}"; do
			cell=$(awk -F'\t' -v p="$p" '$1 == p { print $3 }' "$out/$n/results.tsv" 2>/dev/null || true)
			printf ' %-12s' "${cell:-?}"
		done
		printf '\n'
	done
	printf '\n'
	for n in "${names[@]}"; do
		[[ -f $out/$n/results.tsv ]] || continue
		awk -F'\t' -v n="$n" -v s="$(cat "$out/$n/seconds")" -v u="${user:-root}" 'NR > 1 {
				progs++; st[$2]++
				tests += $4; ok += $5; notok += $6; skip += $7
			}
			END {
				printf "%s (as %s, %d s): programs %d/%d passed, %d failed, %d skipped, %d crashed, %d timed out; TAP tests %d passed, %d failed, %d skipped\n",
					n, u, s, st["pass"], progs, st["fail"], st["skip"], st["crash"], st["timeout"], ok, notok, skip
			}' "$out/$n/results.tsv"
	done
	echo "wall time ${total} s"
	echo "$isolation"
} | tee "$out/summary.txt"
echo "results in $out"
exit "$bad"
