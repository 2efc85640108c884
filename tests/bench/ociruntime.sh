#!/usr/bin/env bash
# tests/bench/ociruntime.sh (make bench, run as the non-root test user by
# run.sh): myctr-runtime beside crun and runc as OCI runtimes, in one
# hyperfine run, on the same rootless bundle (busybox, `true`, no
# terminal, its own network namespace): the user's id mapped to 0 and its
# first subordinate range from 1, written into config.json as Podman
# writes it, so each runtime calls newuidmap/newgidmap itself. Then the
# same through Podman: `podman --runtime R run --rm` for myctr-runtime and
# runc. The bundle's ociVersion is 1.0.2, which all three read (crun 1.8.1
# refuses later ones).
#
# Debian's crun 1.8.1 refuses this hybrid cgroup host unless it believes
# /sys/fs/cgroup/unified is not cgroup2: it runs under LD_PRELOAD of
# crun-hybrid.c (see there). So the runtimes are timed in two hyperfine
# runs, back to back: myctr-runtime beside crun with LD_PRELOAD set for
# hyperfine itself, which passes it on (no `env` process in crun's line:
# crun pays only for loading the small object; myctr-runtime and
# myctr-init are static and ignore it; newuidmap and newgidmap are
# set-uid, and the loader ignores it for them; the container's process
# gets the bundle's environment), then myctr-runtime beside runc and the
# Podman rows without it. Each ratio is taken within one run. Podman's
# rows have no crun: Podman's crun fails on this host for the same
# reason, and Podman does not pass LD_PRELOAD on to conmon's runtime.
#
# Usage: ociruntime.sh RUNTIME_BIN. Environment: BENCH_RUNS (30),
# BENCH_WARMUP (3). Targets: myctr-runtime/crun <= 1.0, below runc.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
setup=$(cd "$here/../setup" && pwd)
rt=${1:?usage: ociruntime.sh RUNTIME_BIN}
runs=${MYCTR_BENCH_RUNS:-${BENCH_RUNS:-30}}
warmup=${MYCTR_BENCH_WARMUP:-${BENCH_WARMUP:-3}}
for tool in hyperfine jq crun runc podman cc newuidmap; do
	command -v "$tool" >/dev/null || {
		echo "Error: $tool not found; Hint: run tests/setup/deps.sh as root" >&2
		exit 1
	}
done

step() { echo "== $*" >&2; }
q() { printf '%q' "$1"; }

# subrange FILE: "START COUNT" of the user's first subordinate range.
subrange() {
	awk -F: -v n="$(id -un)" -v u="$(id -u)" \
		'($1 == n || $1 == u) && $3 > 0 { print $2, $3; found = 1; exit } END { exit !found }' "$1"
}
if ! urange=$(subrange /etc/subuid) || ! grange=$(subrange /etc/subgid); then
	echo "Error: $(id -un) has no subordinate range in /etc/subuid and /etc/subgid; Hint: run tests/setup/user.sh as root" >&2
	exit 1
fi
read -r us uc <<<"$urange"
read -r gs gc <<<"$grange"

: "${XDG_RUNTIME_DIR:=/run/user/$(id -u)}"
work=$(mktemp -d "${TMPDIR:-/tmp}/myctr-bench-oci.XXXXXX")
pmdir=$(mktemp -d /tmp/pmb.XXXXXX) # podman refuses a long run root path
cleanup() {
	podman --root "$pmdir/root" --runroot "$pmdir/run" --storage-driver vfs unshare rm -rf "$pmdir/root" 2>/dev/null || true
	rm -rf "$work" "$pmdir" 2>/dev/null || true
}
trap cleanup EXIT

step "bundle"
bundle=$work/bundle
mkdir -p "$bundle/rootfs"
"$setup/busybox-rootfs.sh" "$work/bb.tar"
tar -xf "$work/bb.tar" -C "$bundle/rootfs" 2>/dev/null
"$rt" spec --rootless --bundle "$bundle"
jq --argjson uid "$(id -u)" --argjson gid "$(id -g)" \
	--argjson us "$us" --argjson uc "$uc" --argjson gs "$gs" --argjson gc "$gc" '
	.ociVersion = "1.0.2"
	| .process.args = ["true"] | .process.terminal = false
	| .linux.uidMappings = [{containerID: 0, hostID: $uid, size: 1}, {containerID: 1, hostID: $us, size: $uc}]
	| .linux.gidMappings = [{containerID: 0, hostID: $gid, size: 1}, {containerID: 1, hostID: $gs, size: $gc}]' \
	"$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"
cc -std=gnu11 -O2 -Wall -Wextra -Werror -shared -fPIC -o "$work/crun-hybrid.so" "$here/crun-hybrid.c" -ldl
preload=$work/crun-hybrid.so

# Each `run` deletes its container at its end: one id serves every run.
names=(myctr-runtime crun runc)
cmds=(
	"$(q "$rt") --root $(q "$work/s-myctr") run --bundle $(q "$bundle") b1"
	"crun --root $(q "$work/s-crun") run --bundle $(q "$bundle") b1"
	"runc --root $(q "$work/s-runc") run --bundle $(q "$bundle") b1"
)
# The same mapping for all: checked once through each runtime.
for i in 0 1 2; do
	cmd=${cmds[$i]}
	jq '.process.args = ["cat", "/proc/self/uid_map", "/proc/self/gid_map"]' "$bundle/config.json" >"$work/check.json"
	cp "$bundle/config.json" "$work/keep.json"
	cp "$work/check.json" "$bundle/config.json"
	if ! maps=$(LD_PRELOAD=$preload sh -c "$cmd" 2>&1 </dev/null) || [[ $(grep -cE "^ *1 +($us +$uc|$gs +$gc)\$" <<<"$maps") -ne 2 ]]; then
		cp "$work/keep.json" "$bundle/config.json"
		echo "Error: ${names[$i]}'s container does not have the subordinate range mapped:" >&2
		echo "$maps" >&2
		exit 1
	fi
	cp "$work/keep.json" "$bundle/config.json"
	step "${names[$i]}: uid_map and gid_map $(tr -s ' \n' ' ' <<<"$maps")"
done

step "podman import"
pm=(podman --root "$pmdir/root" --runroot "$pmdir/run" --storage-driver vfs --events-backend file --cgroup-manager cgroupfs)
"${pm[@]}" import "$work/bb.tar" localhost/bb:latest >/dev/null 2>&1
pmq=$(printf '%q ' "${pm[@]}")
names+=(podman-myctr-runtime podman-runc)
cmds+=("$pmq --runtime $(q "$rt") run --rm --network none localhost/bb true"
	"$pmq --runtime $(command -v runc) run --rm --network none localhost/bb true")

for i in "${!cmds[@]}"; do
	step "check ${names[$i]}: ${cmds[$i]}"
	pre=()
	[[ ${names[$i]} != crun ]] || pre=(env "LD_PRELOAD=$preload")
	if ! out=$("${pre[@]}" sh -c "${cmds[$i]}" 2>&1 </dev/null); then
		echo "Error: the ${names[$i]} line fails:" >&2
		echo "$out" >&2
		exit 1
	fi
done

# hf NAME INDEX...: one hyperfine run of those commands, into $work/NAME.json.
hf() {
	local name=$1 i
	shift
	local hargs=(-N --warmup "$warmup" --runs "$runs" --export-json "$work/$name.json" --style basic)
	for i in "$@"; do
		hargs+=(--command-name "${names[$i]}" "${cmds[$i]}")
	done
	step "hyperfine --warmup $warmup --runs $runs: ${name}"
	hyperfine "${hargs[@]}" </dev/null >&2
}
LD_PRELOAD=$preload hf with-crun 0 1
hf with-runc 0 2 3 4

echo
jq -rs '
	def ms: . * 1000 | . * 100 | round / 100;
	def r2: . * 100 | round / 100;
	def pad($n): . + "                              " | .[0:$n];
	def ratio($name; $num; $den; $target):
	  "  \($name | pad(34)) \($num / $den | r2 | tostring | pad(7)) <= \($target | tostring | pad(5)) \(if $num / $den <= $target then "met" else "MISSED" end)";
	def medians: .results | map({key: .command, value: .median}) | from_entries;
	(.[0] | medians) as $c | (.[1] | medians) as $r
	| "OCI runtimes, rootless, subordinate range mapped: median, \(.[0].results[0].times | length) runs each",
	  "  run 1 (LD_PRELOAD for crun):",
	  (.[0].results[] | "    \(.command | pad(21)) \(.median | ms) ms (mean \(.mean | ms) ± \(.stddev | ms))"),
	  "  run 2:",
	  (.[1].results[] | "    \(.command | pad(21)) \(.median | ms) ms (mean \(.mean | ms) ± \(.stddev | ms))"),
	  "",
	  "ratio                                value   target",
	  ratio("myctr-runtime/crun"; $c["myctr-runtime"]; $c.crun; 1.0),
	  ratio("myctr-runtime/runc"; $r["myctr-runtime"]; $r.runc; 1.0),
	  ratio("podman: myctr-runtime/runc"; $r["podman-myctr-runtime"]; $r["podman-runc"]; 1.0)
' "$work/with-crun.json" "$work/with-runc.json"
echo "commands (hyperfine -N, as $(id -un)):"
for i in "${!cmds[@]}"; do
	printf '  %-21s %s\n' "${names[$i]}" "${cmds[$i]}"
done
