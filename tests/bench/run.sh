#!/usr/bin/env bash
# tests/bench/run.sh (make bench): start-up latency of a trivial container,
# myctr side by side with its peers in one hyperfine run, same busybox rootfs,
# same work (`true`, no network):
#
#   myctr     myctr run --rm --network none bb true
#   podman    podman run --rm --network none localhost/bb true   (rootless, runc)
#   crun      crun run on an OCI bundle made by `crun spec --rootless`
#   wrapper   the bare wrapper crun needs on this host (see below)
#   crun-map  crun run on the same rootfs, the bundle given linux.uidMappings
#             and gidMappings of the user's id plus its first subordinate
#             range (/etc/subuid, /etc/subgid): the mapping myctr gives its
#             containers, written into the bundle as an engine such as Podman
#             writes it; crun, run as the user, calls newuidmap/newgidmap for
#             it itself, as myctr does (checked once: uid_map in the container)
#   preload   the bare prefix the crun-map line needs on this host (below)
#
# Debian's crun 1.8.1 refuses a cgroup v1/v2 hybrid host ("cgroups in hybrid
# mode not supported") unless /sys/fs/cgroup/unified is hidden, so on such a
# host crun runs as
#   unshare -rm sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec crun ...'
# (a private user+mount namespace: nothing outside it changes). There crun is
# uid 0 of a namespace that maps one id, so the container gets that one id
# (crun writes uid_map itself, no newuidmap). The wrapper is timed alone so
# that its cost can be subtracted: the table shows raw and wrapper-corrected
# ratios. That wrapper cannot serve crun-map: a set-uid newuidmap gains
# nothing inside it (root is not mapped there), and a user cannot make a
# mount namespace without a user namespace. So crun-map runs as the user
# itself under `env LD_PRELOAD=crun-hybrid.so` (tests/bench/crun-hybrid.c,
# built here with cc), which makes statfs() of /sys/fs/cgroup/unified alone
# report the tmpfs the wrapper would mount, and nothing else; `preload`
# (env LD_PRELOAD=... true) is its cost, subtracted in the same way. Both
# corrections also take away one exec of `true`, so crun's true cost lies
# between its raw and corrected figures. Run as the user without either,
# crun 1.8.1 calls newuidmap/newgidmap even for one id, and for a bundle
# with no mappings (crun spec --rootless) maps the whole /etc/subuid range.
# Targets: myctr/podman <= 0.25, myctr/crun <= 2.0, myctr/crun-map <= 1.0.
#
# After the start-up table: tests/bench/detached.sh, host memory of one
# detached container with a published port and the scale row (BENCH_SCALE
# detached containers, ps, rm -f), beside podman; it runs as root to read
# every helper process's smaps_rollup (BENCH_NO_DETACHED=1 skips it).
# Then tests/bench/parallel.sh: BENCH_PARALLEL (50) clients at once, run
# --rm and run -d + rm -f, beside podman (BENCH_NO_PARALLEL=1 skips it).
# Then tests/bench/ociruntime.sh: myctr-runtime beside crun and runc on one
# bundle, and through Podman (BENCH_NO_OCI=1 skips it). Then
# tests/bench/api.sh: `docker run --rm` through myctr's and podman's API
# services, and their idle memory (BENCH_NO_API=1 skips it).
#
# As root: installs packages, creates the test user, builds, and runs the
# benchmark as myctr-test. As another user: runs as that user with bin/myctr.
#
# Environment: BENCH_RUNS (30), BENCH_WARMUP (3), BENCH_ONLY (a subset of
# "myctr podman crun", default all), BENCH_JSON (where to keep hyperfine's
# JSON; default bin/bench.json when run as root, else inside the temp dir and
# printed), BENCH_NO_NETWORK and BENCH_NO_IMAGES (set: skip network.sh and
# netnamed.sh, and images.sh), BENCH_SCALE (100), BENCH_PARALLEL (50), TEST_USER (myctr-test).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=$repo/tests/setup
test_user=${TEST_USER:-myctr-test}
export PATH=/usr/local/go/bin:$PATH

if [[ $(id -u) -eq 0 && -z ${MYCTR_BENCH_STAGE:-} ]]; then
	"$setup/deps.sh"
	"$setup/user.sh" >/dev/null
	make -C "$repo" --no-print-directory build
	base=$repo
	# shellcheck disable=SC2016 # $1 is for the inner sh
	if ! "$setup/as-user.sh" "$test_user" sh -c 'test -x "$1/bin/myctr" && test -x "$1/tests/bench/run.sh"' sh "$repo"; then
		base=$(mktemp -d /tmp/myctr-bench.XXXXXX)
		chmod 0755 "$base"
		trap 'rm -rf "$base"' EXIT
		mkdir -p "$base/bin"
		cp -a "$repo/bin/myctr" "$repo/bin/myctr-full" "$repo/bin/myctr-init" "$repo/bin/myctr-runtime" "$repo/bin/myctr-seccomp" "$repo/bin/myctr-monitor" "$repo/bin/myctr-helper" "$base/bin/"
		cp -a "$repo/tests" "$base/"
		chmod -R a+rX "$base"
	fi
	json_out=${BENCH_JSON:-$repo/bin/bench.json}
	tmp_json=$(mktemp /tmp/myctr-bench-json.XXXXXX)
	chmod 0666 "$tmp_json"
	st=0
	# The bridged network (bridge.sh, as root: it needs the helper's test
	# namespaces) first; network.sh prints its block beside the
	# slirp4netns/pasta figures.
	bridge_out=$(mktemp /tmp/myctr-bench-bridge-out.XXXXXX)
	chmod 0644 "$bridge_out"
	if [[ -z ${BENCH_NO_NETWORK:-} && -z ${BENCH_NO_BRIDGE:-} && " ${BENCH_ONLY:-myctr} " == *" myctr "* ]]; then
		echo "== bridge.sh: iperf3 through the helper's bridge" >&2
		if ! MYCTR_BIN=$base/bin/myctr MYCTR_HELPER_BIN=$repo/bin/myctr-helper "$here/bridge.sh" >"$bridge_out"; then
			echo "bridge       not measured: tests/bench/bridge.sh failed (its error is above)" >"$bridge_out"
			st=1
		fi
	fi
	echo "### $test_user: the user's full subordinate range (newuidmap/newgidmap)"
	MYCTR_BENCH_STAGE=user MYCTR_BENCH_JSON=$tmp_json MYCTR_BIN=$base/bin/myctr \
		MYCTR_BENCH_BRIDGE=$bridge_out \
		MYCTR_BENCH_RUNS=${BENCH_RUNS:-30} MYCTR_BENCH_WARMUP=${BENCH_WARMUP:-3} \
		MYCTR_BENCH_ONLY=${BENCH_ONLY:-} \
		MYCTR_BENCH_NO_NETWORK=${BENCH_NO_NETWORK:-} MYCTR_BENCH_NO_IMAGES=${BENCH_NO_IMAGES:-} \
		"$setup/as-user.sh" "$test_user" "$base/tests/bench/run.sh" || st=$?
	# `crun spec --rootless` maps one uid and so never runs newuidmap; the
	# same work for myctr is a user without a subordinate range.
	if [[ -z ${BENCH_ONLY:-} ]]; then
		echo
		echo "### myctr-nosub: one mapped uid for both, as crun spec --rootless"
		MYCTR_BENCH_STAGE=user MYCTR_BIN=$base/bin/myctr \
			MYCTR_BENCH_RUNS=${BENCH_RUNS:-30} MYCTR_BENCH_WARMUP=${BENCH_WARMUP:-3} \
			MYCTR_BENCH_ONLY="myctr crun" \
			"$setup/as-user.sh" myctr-nosub "$base/tests/bench/run.sh" || st=$?
	fi
	# network.sh (which prints the bridge block) runs only beside podman.
	if [[ -s $bridge_out && " ${BENCH_ONLY:-podman} " != *" podman "* ]]; then
		echo
		cat "$bridge_out"
	fi
	# Detached containers' host memory and the scale row, beside podman:
	# as root, to read every helper's smaps_rollup.
	if [[ -z ${BENCH_NO_DETACHED:-} && " ${BENCH_ONLY:-myctr} " == *" myctr "* && " ${BENCH_ONLY:-podman} " == *" podman "* ]]; then
		echo
		echo "### $test_user: detached containers, host memory and scale (tests/bench/detached.sh)"
		MYCTR_BIN=$base/bin/myctr TEST_USER=$test_user "$here/detached.sh" || st=1
	fi
	# Many clients at once, beside podman (BENCH_NO_PARALLEL=1 skips it).
	if [[ -z ${BENCH_NO_PARALLEL:-} && " ${BENCH_ONLY:-myctr} " == *" myctr "* && " ${BENCH_ONLY:-podman} " == *" podman "* ]]; then
		echo
		echo "### $test_user: parallel clients (tests/bench/parallel.sh)"
		MYCTR_BIN=$base/bin/myctr TEST_USER=$test_user "$here/parallel.sh" || st=1
	fi
	# The docker CLI through myctr's API service beside through podman's
	# (BENCH_NO_API=1 skips it).
	if [[ -z ${BENCH_NO_API:-} && " ${BENCH_ONLY:-myctr} " == *" myctr "* && " ${BENCH_ONLY:-podman} " == *" podman "* ]]; then
		echo
		echo "### $test_user: the Docker API services (tests/bench/api.sh)"
		MYCTR_BIN=$base/bin/myctr TEST_USER=$test_user "$here/api.sh" || st=1
	fi
	# myctr-runtime beside crun and runc as OCI runtimes, and through
	# Podman (BENCH_NO_OCI=1 skips it).
	if [[ -z ${BENCH_NO_OCI:-} && -z ${BENCH_ONLY:-} ]]; then
		echo
		echo "### $test_user: OCI runtimes (tests/bench/ociruntime.sh)"
		MYCTR_BENCH_RUNS=${BENCH_RUNS:-30} MYCTR_BENCH_WARMUP=${BENCH_WARMUP:-3} \
			"$setup/as-user.sh" "$test_user" "$base/tests/bench/ociruntime.sh" "$base/bin/myctr-runtime" || st=1
	fi
	if [[ -s $tmp_json ]]; then
		cp "$tmp_json" "$json_out"
		echo "hyperfine JSON: $json_out"
	fi
	rm -f "$tmp_json" "$bridge_out"
	exit "$st"
fi

# ---- as the (non-root) benchmark user --------------------------------------

runs=${MYCTR_BENCH_RUNS:-${BENCH_RUNS:-30}}
warmup=${MYCTR_BENCH_WARMUP:-${BENCH_WARMUP:-3}}
only=${MYCTR_BENCH_ONLY:-${BENCH_ONLY:-myctr podman crun}}
# as-user.sh passes only MYCTR_* through: the root stage renames these.
no_network=${MYCTR_BENCH_NO_NETWORK:-${BENCH_NO_NETWORK:-}}
no_images=${MYCTR_BENCH_NO_IMAGES:-${BENCH_NO_IMAGES:-}}
myctr=${MYCTR_BIN:-$repo/bin/myctr}
want() { [[ " $only " == *" $1 "* ]]; }

for tool in hyperfine jq unshare; do
	command -v "$tool" >/dev/null || {
		echo "Error: $tool not found; Hint: run tests/setup/deps.sh as root" >&2
		exit 1
	}
done
want podman && { command -v podman >/dev/null || { echo "Error: podman not found" >&2; exit 1; }; }
want crun && { command -v crun >/dev/null || { echo "Error: crun not found" >&2; exit 1; }; }
if want myctr && [[ ! -x $myctr ]]; then
	echo "Error: $myctr not found; Hint: make build" >&2
	exit 1
fi

: "${XDG_RUNTIME_DIR:=/run/user/$(id -u)}"
work=$(mktemp -d "${TMPDIR:-/tmp}/myctr-bench.XXXXXX")
runroot=$(mktemp -d "$XDG_RUNTIME_DIR/myctr-bench.XXXXXX")
cleanup() {
	if [[ -d $work/myctr-root && -x $myctr ]]; then
		"$myctr" --root "$work/myctr-root" --runroot "$runroot" unshare rm -rf "$work/myctr-root" || true
	fi
	rm -rf "$work" "$runroot" 2>/dev/null || true
}
trap cleanup EXIT

q() { printf '%q' "$1"; }

step() { echo "== $*" >&2; }

step "busybox rootfs"
"$setup/busybox-rootfs.sh" "$work/bb.tar"

names=()
cmds=()

if want myctr; then
	step "myctr import"
	"$myctr" --root "$work/myctr-root" --runroot "$runroot" import "$work/bb.tar" bb >/dev/null
	names+=(myctr)
	cmds+=("$(q "$myctr") --root $(q "$work/myctr-root") --runroot $(q "$runroot") run --rm --network none bb true")
fi

if want podman; then
	step "podman import"
	podman import "$work/bb.tar" localhost/bb:latest >/dev/null 2>&1
	names+=(podman)
	cmds+=("podman run --rm --network none localhost/bb true")
fi

# subrange FILE: "START COUNT" of the user's first subordinate range in
# FILE (/etc/subuid or /etc/subgid, by name or by uid); fails if none.
subrange() {
	awk -F: -v n="$(id -un)" -v u="$(id -u)" \
		'($1 == n || $1 == u) && $3 > 0 { print $2, $3; found = 1; exit } END { exit !found }' "$1"
}

wrapped=no
if want crun; then
	step "crun bundles"
	bundle=$work/bundle
	mkdir -p "$bundle/rootfs"
	tar -xf "$work/bb.tar" -C "$bundle/rootfs" 2>/dev/null
	(cd "$bundle" && crun spec --rootless)
	# `true`, no terminal; the spec keeps its own network namespace (like
	# --network none).
	jq '.process.args = ["true"] | .process.terminal = false' "$bundle/config.json" >"$bundle/config.json.new"
	mv "$bundle/config.json.new" "$bundle/config.json"
	state=$work/crun-state
	mkdir -p "$state"
	# A unique container id per run: $$ of the inner shell.
	crun_cmd="crun --root $(q "$state") run --bundle $(q "$bundle") ctr-\$\$"
	if [[ -d /sys/fs/cgroup/unified ]] && mountpoint -q /sys/fs/cgroup/unified; then
		wrapped=yes
		names+=(crun wrapper)
		cmds+=("unshare -rm sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec $crun_cmd'")
		cmds+=("unshare -rm sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec true'")
	else
		names+=(crun)
		cmds+=("sh -c 'exec $crun_cmd'")
	fi
	# crun-map: the same rootfs, the user's id as 0 and its subordinate
	# range from 1, the mapping myctr gives its containers.
	if urange=$(subrange /etc/subuid) && grange=$(subrange /etc/subgid); then
		mapped=$work/bundle-mapped
		mkdir -p "$mapped"
		read -r us uc <<<"$urange"
		read -r gs gc <<<"$grange"
		jq --arg rootfs "$bundle/rootfs" --argjson uid "$(id -u)" --argjson gid "$(id -g)" \
			--argjson us "$us" --argjson uc "$uc" --argjson gs "$gs" --argjson gc "$gc" '
			.root.path = $rootfs
			| .linux.uidMappings = [{containerID: 0, hostID: $uid, size: 1}, {containerID: 1, hostID: $us, size: $uc}]
			| .linux.gidMappings = [{containerID: 0, hostID: $gid, size: 1}, {containerID: 1, hostID: $gs, size: $gc}]' \
			"$bundle/config.json" >"$mapped/config.json"
		# crun run deletes the container when it exits: one id serves
		# every run.
		map_cmd="crun --root $(q "$state") run --bundle $(q "$mapped") ctr-mapped"
		pre=() # the prefix crun-map needs here: none, or the LD_PRELOAD
		if [[ $wrapped == yes ]]; then
			command -v cc >/dev/null || {
				echo "Error: cc not found (crun-map needs tests/bench/crun-hybrid.c built); Hint: apt-get install gcc libc6-dev" >&2
				exit 1
			}
			cc -std=gnu11 -O2 -Wall -Wextra -Werror -shared -fPIC -o "$work/crun-hybrid.so" "$here/crun-hybrid.c" -ldl
			pre=(env "LD_PRELOAD=$work/crun-hybrid.so")
			names+=(crun-map preload)
			cmds+=("env LD_PRELOAD=$(q "$work/crun-hybrid.so") $map_cmd" "env LD_PRELOAD=$(q "$work/crun-hybrid.so") true")
		else
			names+=(crun-map)
			cmds+=("$map_cmd")
		fi
		# The mapping must be the one given, not crun's fallback to one id.
		mkdir -p "$work/bundle-mapcheck"
		jq '.process.args = ["cat", "/proc/self/uid_map", "/proc/self/gid_map"]' "$mapped/config.json" >"$work/bundle-mapcheck/config.json"
		if ! maps=$("${pre[@]}" crun --root "$state" run --bundle "$work/bundle-mapcheck" ctr-mapcheck 2>&1) ||
			[[ $(grep -cE "^ *1 +($us +$uc|$gs +$gc)\$" <<<"$maps") -ne 2 ]]; then
			echo "Error: crun-map's container does not have the subordinate range mapped:" >&2
			echo "$maps" >&2
			exit 1
		fi
		step "crun-map's container: uid_map and gid_map $(tr -s ' \n' ' ' <<<"$maps")"
	else
		step "crun-map not measured: $(id -un) has no subordinate range in /etc/subuid and /etc/subgid"
	fi
fi

if ((${#cmds[@]} == 0)); then
	echo "Error: nothing to run (BENCH_ONLY=$only)" >&2
	exit 1
fi

# Each line must work once before it is timed (hyperfine stops at the first
# failure, and a failure should say which line and why).
for i in "${!cmds[@]}"; do
	step "check ${names[$i]}: ${cmds[$i]}"
	if ! out=$(sh -c "${cmds[$i]}" 2>&1 </dev/null); then
		echo "Error: the ${names[$i]} line fails:" >&2
		echo "$out" >&2
		exit 1
	fi
done

json=${MYCTR_BENCH_JSON:-$work/bench.json}
# -N: no intermediate shell (its start-up would be noise at these times);
# hyperfine splits each line into words itself, honouring the quotes.
hargs=(-N --warmup "$warmup" --runs "$runs" --export-json "$json" --style basic)
for i in "${!cmds[@]}"; do
	hargs+=(--command-name "${names[$i]}" "${cmds[$i]}")
done
step "hyperfine --warmup $warmup --runs $runs"
hyperfine "${hargs[@]}" </dev/null

# ---- table -------------------------------------------------------------------
echo
jq -r --arg wrapped "$wrapped" '
	def ms: . * 1000 | . * 100 | round / 100;
	def r2: . * 100 | round / 100;
	def pad($n): . + "                        " | .[0:$n];
	# ratio(name; num; den; target): one line of the ratio table.
	def ratio($name; $num; $den; $target):
	  "  \($name | pad(22)) \($num / $den | r2 | tostring | pad(7)) <= \($target | tostring | pad(5)) \(if $num / $den <= $target then "met" else "MISSED" end)";
	(.results | map({key: .command, value: .median}) | from_entries) as $m
	| ($m.wrapper // 0) as $w
	| ($m.preload // 0) as $p
	| ($m["crun-map"]) as $cm
	| "median start-up time, \(.results[0].times | length) runs each",
	  (.results[] | "  \(.command | pad(9)) \(.median | ms) ms (mean \(.mean | ms) ± \(.stddev | ms))"),
	  (if $wrapped == "yes" and $m.crun then
	     "  crun corrected (crun - wrapper): \(($m.crun - $w) | ms) ms" else empty end),
	  (if $wrapped == "yes" and $cm then
	     "  crun-map corrected (crun-map - preload): \(($cm - $p) | ms) ms" else empty end),
	  "",
	  "ratio                    value   target",
	  (if $m.myctr and $m.podman then ratio("myctr/podman"; $m.myctr; $m.podman; 0.25) else empty end),
	  (if $m.myctr and $m.crun then ratio("myctr/crun (raw)"; $m.myctr; $m.crun; 2.0) else empty end),
	  (if $m.myctr and $m.crun and $wrapped == "yes" and ($m.crun - $w) > 0 then
	     ratio("myctr/crun (corr.)"; $m.myctr; $m.crun - $w; 2.0) else empty end),
	  (if $m.myctr and $cm then ratio("myctr/crun-map (raw)"; $m.myctr; $cm; 1.0) else empty end),
	  (if $m.myctr and $cm and $wrapped == "yes" and ($cm - $p) > 0 then
	     ratio("myctr/crun-map (corr.)"; $m.myctr; $cm - $p; 1.0) else empty end),
	  (if ($m.myctr | not) then "  (myctr not measured: BENCH_ONLY)" else empty end)
' "$json"
echo "commands (hyperfine -N, as $(id -un)):"
for i in "${!cmds[@]}"; do
	printf '  %-9s %s\n' "${names[$i]}" "${cmds[$i]}"
done

# Network throughput, beside podman (and pasta run by hand), in the same run;
# with the bridged network's figures (bridge.sh, run as root before this
# stage) at the end of its table.
if want myctr && want podman && [[ -z $no_network ]]; then
	step "iperf3 through published ports"
	"$here/network.sh" "$work/myctr-root" "$runroot"
fi

# Named networks: container to container, and podman-compose up, beside
# podman in the same run.
if want myctr && want podman && [[ -z $no_network ]]; then
	step "named networks: iperf3 container to container, podman-compose up"
	"$here/netnamed.sh" "$work/myctr-root" "$runroot" "$work"
fi

# Builds and pulls, beside podman, in the same run.
if want myctr && want podman && [[ -z $no_images ]]; then
	step "builds and pulls"
	"$here/images.sh" "$work/myctr-root" "$runroot" "$work"
fi

# Run by a user other than root (the root stage runs it itself, as root):
# detached containers' host memory and the scale row, beside podman.
if [[ -z ${MYCTR_BENCH_STAGE:-} && -z ${BENCH_NO_DETACHED:-} ]] && want myctr && want podman; then
	step "detached containers: host memory and scale"
	MYCTR_BIN=$myctr "$here/detached.sh"
fi
