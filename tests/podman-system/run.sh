#!/usr/bin/env bash
# run.sh RESULTS.json: Podman's own system tests (test/system/*.bats of the
# Podman release Debian 12 ships, v4.3.1) run against myctr and, in the same
# run, against podman, as the test user, each with a store of its own and a
# stand-in for the suite's test image (testimage.sh). Prints per file how
# many tests each passes, and writes test2json events to RESULTS.json:
#
#   TestPodmanSystem/FILE   fails when a test that myctr passed before (as
#                           listed in passing.txt) no longer passes; a
#                           newly passing test is reported, to be added.
#
# The suite comes from the Go module proxy (the module
# github.com/containers/podman/v4 carries test/system); it is not changed.
#
# podman runs these files slowly here (with runc, each attached `podman
# run` waits 20 s for conmon; crun refuses this cgroup v1+v2 host), so
# `make test` runs myctr alone and prints podman's figures from the last
# run with podman (podman-results.txt, written by `make
# test-podman-system`, which runs both).
#
# Environment: PODMAN_SYSTEM_FILES (file names without .bats; the default
# list is below), PODMAN_SYSTEM_PEER (none: myctr alone, the default;
# podman: both, and podman-results.txt is rewritten),
# PODMAN_SYSTEM_TIMEOUT (per file, 15m), TEST_USER (myctr-test),
# PODMAN_SYSTEM_KEEP=1 keeps the work directory (TAP output per file).
set -euo pipefail

results=${1:?usage: $0 RESULTS.json}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=$repo/tests/setup
test_user=${TEST_USER:-myctr-test}
version=v4.3.1
read -r -a files <<<"${PODMAN_SYSTEM_FILES:-001-basic 010-images 015-help 020-tag 030-run 035-logs 040-ps 045-start 050-stop 055-rm 065-cp 070-build 075-exec 090-events 110-history 120-load 125-import 130-kill 140-diff 160-volumes 170-run-userns 190-run-ipcns 200-pod 220-healthcheck 300-cli-parsing 320-system-df 450-interactive 500-networking 610-format}"
peer=${PODMAN_SYSTEM_PEER:-none}
recorded=$here/podman-results.txt
pkg=github.com/myctr/myctr/tests/podman-system

mkdir -p "$(dirname "$results")"
results=$(cd "$(dirname "$results")" && pwd)/$(basename "$results")
rm -f "$results"

# event ACTION TEST [OUTPUT]: one test2json event.
event() {
	jq -n -c --arg a "$1" --arg t "$2" --arg out "${3:-}" --arg pkg "$pkg" '
		if $a == "output" then {Action: $a, Package: $pkg, Test: $t, Output: $out}
		else {Action: $a, Package: $pkg, Test: $t} end' >>"$results"
}
fail_event() {
	event run "$1"
	event output "$1" "$2"$'\n'
	event fail "$1"
	echo "podman-system: $1: $2" >&2
}

for b in "$repo/bin/myctr" "$repo/bin/myctr-full" "$repo/bin/myctr-init" "$repo/bin/myctr-monitor" "$repo/bin/myctr-seccomp"; do
	if [[ ! -x $b ]]; then
		fail_event TestPodmanSystemSetup "$b is missing; run make build first"
		exit 1
	fi
done
if ! command -v bats >/dev/null; then
	fail_event TestPodmanSystemSetup "bats is not installed (apt-get install bats; tests/setup/deps.sh does)"
	exit 1
fi

work=$(mktemp -d /tmp/myctr-podman-system.XXXXXX)
chmod 0755 "$work"
run_as=()
if [[ $(id -u) -eq 0 ]]; then
	run_as=("$setup/as-user.sh" "$test_user")
fi
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local rt
	[[ -z ${on_exit_registry:-} ]] || registry stop >/dev/null 2>&1 || true
	for rt in myctr podman; do
		[[ -d $work/$rt ]] || continue
		# The stores hold files of the user's subordinate ids.
		"${run_as[@]}" env HOME="$work/$rt/home" XDG_RUNTIME_DIR="$work/$rt/run" \
			"$(runtime_bin "$rt")" unshare rm -rf "$work/$rt/home" >/dev/null 2>&1 || true
	done
	if [[ -n ${PODMAN_SYSTEM_KEEP:-} ]]; then
		echo "podman-system: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
runtime_bin() {
	case $1 in
	myctr) echo "$work/as-podman/podman" ;;
	podman) command -v podman ;;
	esac
}

# The suite, from the module proxy, readable by the test user.
if ! dir=$(cd "$work" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "github.com/containers/podman/v4@$version" 2>"$work/download.log" |
	jq -r .Dir) || [[ ! -f $dir/test/system/helpers.bash ]]; then
	fail_event TestPodmanSystemSetup "go mod download github.com/containers/podman/v4@$version failed: $(tail -n 3 "$work/download.log")"
	exit 1
fi
cp -r "$dir/test/system" "$work/suite"
mkdir -p "$work/bin"
cp "$repo/bin/myctr" "$repo/bin/myctr-full" "$repo/bin/myctr-init" "$repo/bin/myctr-monitor" "$repo/bin/myctr-seccomp" "$work/bin/"
# The suite calls myctr as $PODMAN, and reads its help the way Podman's
# is read: 610-format strips "podman CMD" from the synopsis after
# "Usage:". myctr names itself in help as it was called, so it is called
# through a link named podman, in a directory of its own (no podman on
# PATH becomes myctr; myctr-init is found beside the link's target).
mkdir "$work/as-podman"
ln -s ../bin/myctr "$work/as-podman/podman"
chmod -R u+w,a+rX "$work"

# as_runtime RT CMD...: CMD as the test user with RT's own home and
# runtime directory (so its own store), PODMAN set to RT.
as_runtime() {
	local rt=$1
	shift
	"${run_as[@]}" env HOME="$work/$rt/home" XDG_RUNTIME_DIR="$work/$rt/run" \
		PODMAN="$(runtime_bin "$rt")" TMPDIR="$work/$rt/tmp" \
		PODMAN_TEST_IMAGE_REGISTRY="${PODMAN_TEST_IMAGE_REGISTRY:-}" \
		CONTAINERS_REGISTRIES_CONF="$work/registries.conf" \
		${peer_conf[$rt]:+CONTAINERS_CONF="${peer_conf[$rt]}"} \
		PATH="$work/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" "$@"
}

runtimes=(myctr)
[[ $peer == none ]] || runtimes+=(podman)
for rt in "${runtimes[@]}"; do
	mkdir -p "$work/$rt/home" "$work/$rt/run" "$work/$rt/tmp" "$work/$rt/tap"
	chmod 0700 "$work/$rt/run"
	[[ -z ${run_as[*]} ]] || chown -R "$test_user:" "$work/$rt"
done
chown "$test_user:" "$work" 2>/dev/null || true

# The suite pulls its image whenever a test removed it: the stand-in is
# served by a registry of our own on loopback, named through the suite's
# PODMAN_TEST_IMAGE_REGISTRY. podman is told that registry speaks plain
# HTTP (myctr speaks it to loopback registries unasked).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PODMAN_TEST_IMAGE_REGISTRY=127.0.0.1:$port
registry() {
	"${run_as[@]}" env REGISTRY_PORT="$port" REGISTRY_DIR="$work/registry" "$setup/registry.sh" "$1"
}
on_exit_registry=1
if ! registry start >"$work/registry.log" 2>&1; then
	fail_event TestPodmanSystemSetup "the registry did not start: $(tail -n 5 "$work/registry.log")"
	exit 1
fi
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$PODMAN_TEST_IMAGE_REGISTRY" >"$work/registries.conf"
# podman's default runtime, crun 1.8, refuses a host with cgroup v1 and v2
# controllers mixed ("cgroups in hybrid mode not supported"); runc runs
# there (and, rootless, ignores the limits it cannot set, where myctr
# refuses them).
printf '[engine]\nruntime = "runc"\n' >"$work/podman.conf"
chmod 0644 "$work/registries.conf" "$work/podman.conf"
declare -A peer_conf=([podman]=$work/podman.conf)
image=$PODMAN_TEST_IMAGE_REGISTRY/libpod/testimage:20220615
# The suite's "nonlocal" image (PODMAN_NONLOCAL_IMAGE_FQN), which tests
# pull: in the registry only. The real 0000000N tags are the same image.
nonlocal=$PODMAN_TEST_IMAGE_REGISTRY/libpod/testimage:00000004
# The inner sh expands its own positional parameters: single quotes on purpose.
# shellcheck disable=SC2016
if ! as_runtime myctr sh -c '"$1" "$2" "$3" && "$2" load -i "$3" && "$2" tag quay.io/libpod/testimage:20220615 "$4" "$5" && "$2" push "$4" && "$2" push "$5" && "$2" rmi quay.io/libpod/testimage:20220615 "$4" "$5"' \
	sh "$here/testimage.sh" "$work/bin/myctr" "$work/testimage.tar" "$image" "$nonlocal" >"$work/testimage.log" 2>&1; then
	fail_event TestPodmanSystemSetup "the stand-in test image could not be built and pushed: $(tail -n 5 "$work/testimage.log")"
	exit 1
fi

# passed RT FILE: the names of the tests RT passed in FILE (not skipped).
passed() {
	sed -n 's/^ok [0-9]* //p' "$work/$1/tap/$2.tap" | grep -v ' # skip' || true
}
counts() {
	local p n s
	p=$(passed "$1" "$2" | wc -l)
	n=$(grep -c '^not ok ' "$work/$1/tap/$2.tap" || true)
	s=$(grep -c '^ok .* # skip' "$work/$1/tap/$2.tap" || true)
	printf '%d/%d' "$p" "$((p + n + s))"
}

# The suite, file by file, for each runtime.
for f in "${files[@]}"; do
	for rt in "${runtimes[@]}"; do
		start=$(date +%s)
		(cd "$work/suite" && as_runtime "$rt" timeout -k 10 "${PODMAN_SYSTEM_TIMEOUT:-15m}" bats --tap "$f.bats") \
			>"$work/$rt/tap/$f.tap" 2>&1 </dev/null || true
		echo "podman-system: $f with $rt: $(counts "$rt" "$f") passed ($(($(date +%s) - start)) s)" >&2
	done
done

# retry_passes FILE NAME: whether myctr passes test NAME of FILE when it
# runs alone (bats --filter takes a regular expression).
retry_passes() {
	local re
	echo "podman-system: $1: \"$2\" failed; running it once more on its own" >&2
	re="^$(sed 's/[]\/$*.^[()+?{}|]/\\&/g' <<<"$2")\$"
	(cd "$work/suite" && as_runtime myctr timeout -k 10 5m bats --tap --filter "$re" "$1.bats") \
		>"$work/myctr/tap/$1.retry.tap" 2>&1 </dev/null || true
	grep -qxF "ok 1 $2" "$work/myctr/tap/$1.retry.tap"
}

rc=0
baseline=$here/passing.txt
if [[ $peer == none ]]; then
	table="file            myctr      podman (recorded: make test-podman-system)"$'\n'
else
	table="file            myctr      podman"$'\n'
	: >"$recorded.new"
fi
tot_m=0 tot_p=0
for f in "${files[@]}"; do
	t=TestPodmanSystem/$f
	event run "$t"
	m=$(counts myctr "$f")
	if [[ $peer == none ]]; then
		p=$(sed -n "s/^$f //p" "$recorded" 2>/dev/null || true)
		p=${p:--}
	else
		p=$(counts podman "$f")
		echo "$f $p" >>"$recorded.new"
	fi
	table+=$(printf '%-15s %-10s %s' "$f" "$m" "$p")$'\n'
	tot_m=$((tot_m + ${m%/*}))
	[[ $p == - ]] || tot_p=$((tot_p + ${p%/*}))
	event output "$t" "$f: myctr passes $m, $peer $p"$'\n'
	mapfile -t now < <(passed myctr "$f")
	mapfile -t before < <(sed -n "s/^$f: //p" "$baseline" 2>/dev/null)
	lost=() gained=()
	for name in "${before[@]}"; do
		# (Not grep -q: under pipefail, printf's SIGPIPE after an early
		# match would count as a miss.)
		printf '%s\n' "${now[@]}" | grep -xF -- "$name" >/dev/null || lost+=("$name")
	done
	for name in "${now[@]}"; do
		printf '%s\n' "${before[@]}" | grep -xF -- "$name" >/dev/null || gained+=("$name")
	done
	for name in "${gained[@]}"; do
		event output "$t" "newly passing (add to tests/podman-system/passing.txt): $f: $name"$'\n'
	done
	if ((${#lost[@]} > 0)); then
		# A few of the suite's tests race by design (a listener started
		# with `run -d` and read with `logs` at once, say), and a loaded
		# host loses some: each lost test gets one more run on its own,
		# and one that passes then is reported as flaky, not lost.
		still=()
		for name in "${lost[@]}"; do
			if retry_passes "$f" "$name"; then
				event output "$t" "flaky (failed, then passed on its own): $name"$'\n'
				event output "$t" "$(awk -v n="$name" '/^(not )?ok /{ x = $0; sub(/^(not )?ok [0-9]+ /, "", x); p = ($0 ~ /^not ok/ && x == n) } p' "$work/myctr/tap/$f.tap" | head -n 200)"$'\n'
			else
				still+=("$name")
			fi
		done
		lost=("${still[@]}")
	fi
	if ((${#lost[@]} > 0)); then
		for name in "${lost[@]}"; do
			event output "$t" "no longer passes: $name"$'\n'
		done
		event output "$t" "$(sed -n '/^not ok/,$p' "$work/myctr/tap/$f.tap" | head -n 200)"$'\n'
		event fail "$t"
		rc=1
	else
		event pass "$t"
	fi
done
table+=$(printf '%-15s %-10s %s' total "$tot_m" "$tot_p")
if [[ $peer != none ]]; then
	if [[ -w $here ]]; then
		mv "$recorded.new" "$recorded"
	else
		echo "podman-system: podman's figures are in $recorded.new" >&2
	fi
fi
printf '\n=== Podman %s system tests: tests passed per file\n%s\n' "$version" "$table"
exit $rc
