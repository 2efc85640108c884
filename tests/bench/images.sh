#!/usr/bin/env bash
# tests/bench/images.sh: builds and pulls, myctr beside podman in one
# hyperfine run each. Called by tests/bench/run.sh as the benchmark user,
# after both have imported the busybox image as localhost/bb.
#   - cold build (--no-cache) and fully cached rebuild of tests/bench/build;
#     target: cached rebuild <= 0.3x podman build
#   - pull of a ~100 MB image from a registry on loopback (Debian's
#     docker-registry); target: <= 1x podman pull
set -euo pipefail

myctr=${MYCTR_BIN:?}
root=${1:?usage: images.sh MYCTR-ROOT RUNROOT WORKDIR}
runroot=${2:?}
work=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
runs=${MYCTR_BENCH_RUNS:-10}
m="$myctr --root $root --runroot $runroot"
ctx=$here/build

step() { echo "== $*" >&2; }
q() { printf '%q' "$1"; }

step "first builds (fill the caches)"
$m build -q -t bench-app "$ctx" >/dev/null
podman build -q -t bench-app "$ctx" >/dev/null 2>&1

json=$work/build.json
step "hyperfine: builds"
hyperfine -N --warmup 1 --runs "$runs" --style basic --export-json "$json" \
	--command-name "myctr cold" "$m build -q --no-cache -t bench-cold $(q "$ctx")" \
	--command-name "podman cold" "podman build -q --no-cache -t bench-cold $(q "$ctx")" \
	--command-name "myctr cached" "$m build -q -t bench-app $(q "$ctx")" \
	--command-name "podman cached" "podman build -q -t bench-app $(q "$ctx")" </dev/null

# A ~100 MB image in a registry on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export REGISTRY_PORT=$port REGISTRY_DIR=$work/registry
"$here/../setup/registry.sh" start
trap '"$here/../setup/registry.sh" stop >/dev/null 2>&1 || true' EXIT
step "make a 100 MB image and push it"
big=$work/big
mkdir -p "$big"
head -c 100000000 /dev/urandom >"$big/blob"
printf 'FROM localhost/bb\nCOPY blob /blob\n' >"$big/Containerfile"
$m build -q -t bench-big "$big" >/dev/null
$m save --format oci-archive -o "$work/big.tar" bench-big
skopeo copy -q --dest-tls-verify=false "oci-archive:$work/big.tar" "docker://127.0.0.1:$port/bench/big:1"
# Out of myctr's store again, so that every pull really fetches the 100 MB.
$m rmi bench-big >/dev/null
ref=127.0.0.1:$port/bench/big:1

pjson=$work/pull.json
step "hyperfine: pulls"
hyperfine -N --warmup 1 --runs "$runs" --style basic --export-json "$pjson" \
	--prepare "sh -c '$m rmi -f $ref >/dev/null 2>&1; true'" --command-name "myctr pull" "$m pull -q $ref" \
	--prepare "sh -c 'podman rmi -f $ref >/dev/null 2>&1; true'" --command-name "podman pull" "podman pull -q --tls-verify=false $ref" </dev/null

echo
jq -r -s '
	def ms: . * 1000 | round;
	def r2: . * 100 | round / 100;
	(map(.results[]) | map({key: .command, value: .median}) | from_entries) as $m
	| "median times, \(.[0].results[0].times | length) runs each",
	  (map(.results[]) | .[] | "  \(.command | . + "              " | .[0:14]) \(.median | ms) ms"),
	  "",
	  "ratio                          value   target",
	  "  cold build myctr/podman      \($m["myctr cold"] / $m["podman cold"] | r2)    (none)",
	  "  cached rebuild myctr/podman  \($m["myctr cached"] / $m["podman cached"] | r2)    <= 0.3  \(if $m["myctr cached"] / $m["podman cached"] <= 0.3 then "met" else "MISSED" end)",
	  "  pull 100 MB myctr/podman     \($m["myctr pull"] / $m["podman pull"] | r2)    <= 1.0  \(if $m["myctr pull"] / $m["podman pull"] <= 1.0 then "met" else "MISSED" end)"
' "$json" "$pjson"
