#!/usr/bin/env bash
# tests/bench/netnamed.sh: named networks beside podman, in one run.
#   - iperf3 from one container to another over a named network (myctr's
#     holder and bridge; podman 4.3's rootless netns, netavark on Debian
#     12), both directions; target >= 1.0 of podman.
#   - podman-compose up -d of tests/compose/compose.yml with myctr as its
#     podman beside podman itself (hyperfine, down between runs, not
#     timed); target: myctr faster. podman-compose 1.0.3 sleeps 1 s after
#     each container it starts, for both alike.
# Runs as the (non-root) benchmark user; called by tests/bench/run.sh with
# myctr's root and run root, after both have imported localhost/bb. The
# iperf3 binaries are the host's, bound in read-only (busybox has none).
set -euo pipefail

myctr=${MYCTR_BIN:?}
root=${1:?usage: netnamed.sh MYCTR-ROOT RUNROOT WORKDIR}
runroot=${2:?}
work=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
secs=${NET_BENCH_SECONDS:-5}
bind=(-v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro)
net=bench-named-$$

m() { "$myctr" --root "$root" --runroot "$runroot" "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { jq -n "$1 / $2 * 100 | round / 100"; }

cleanup() {
	m rm -f iperf-named-srv >/dev/null 2>&1 || true
	podman rm -f iperf-named-srv >/dev/null 2>&1 || true
	m network rm -f "$net" >/dev/null 2>&1 || true
	podman network rm -f "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

m network create "$net" >/dev/null
podman network create "$net" >/dev/null
m run -d --name iperf-named-srv --network "$net" "${bind[@]}" bb /usr/bin/iperf3 -s >/dev/null
podman run -d --name iperf-named-srv --network "$net" "${bind[@]}" localhost/bb /usr/bin/iperf3 -s >/dev/null
fmt="{{(index .NetworkSettings.Networks \"$net\").IPAddress}}"
mip=$(m inspect --format "$fmt" iperf-named-srv)
pip=$(podman inspect --format "$fmt" iperf-named-srv)

# gbps TOOL IP [-R]: one iperf3 client in a new container on the network,
# in Gbit/s (retried while the server is still starting).
gbps() {
	local tool=$1 ip=$2 out img=bb
	shift 2
	[[ $tool == podman ]] && img=localhost/bb
	for _ in $(seq 30); do
		if out=$("$tool" run --rm --network "$net" "${bind[@]}" "$img" /usr/bin/iperf3 -c "$ip" -t "$secs" -J "$@" 2>/dev/null) &&
			jq -e '.end.sum_received.bits_per_second > 0' <<<"$out" >/dev/null 2>&1; then
			jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$out"
			return 0
		fi
		sleep 0.3
	done
	echo "Error: iperf3 from $tool's container to $ip never succeeded" >&2
	return 1
}

declare -A up down
for ((i = 0; i < ${NET_BENCH_REPEAT:-3}; i++)); do
	up[myctr]+="$(gbps m "$mip") " down[myctr]+="$(gbps m "$mip" -R) "
	up[podman]+="$(gbps podman "$pip") " down[podman]+="$(gbps podman "$pip" -R) "
done
for t in myctr podman; do
	up[$t]=$(tr ' ' '\n' <<<"${up[$t]}" | grep . | median)
	down[$t]=$(tr ' ' '\n' <<<"${down[$t]}" | grep . | median)
done
echo
echo "iperf3 container to container over a named network, Gbps, median of ${NET_BENCH_REPEAT:-3} interleaved rounds of $secs s per direction"
printf '%-10s %10s %10s\n' "" "client->srv" "srv->client"
printf '%-10s %10s %10s\n' myctr "${up[myctr]}" "${down[myctr]}" podman "${up[podman]}" "${down[podman]}"
printf 'myctr/podman   %s   %s   (target >= 1.0)\n' "$(ratio "${up[myctr]}" "${up[podman]}")" "$(ratio "${down[myctr]}" "${down[podman]}")"

# podman-compose up -d, myctr beside podman.
if ! command -v podman-compose >/dev/null; then
	echo "podman-compose not installed: compose up not measured (tests/setup/deps.sh installs it)"
	exit 0
fi
wrapper=$work/myctr-for-compose
printf '#!/bin/sh\nexec %q --root %q --runroot %q "$@"\n' "$myctr" "$root" "$runroot" >"$wrapper"
chmod +x "$wrapper"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MYCTR_COMPOSE_IMAGE=localhost/bb MYCTR_COMPOSE_PORT=$port
file=$here/../compose/compose.yml
pc() { printf 'podman-compose --podman-path %q -p bench -f %q' "$1" "$file"; }
hyperfine --style basic --warmup 1 --runs "${COMPOSE_BENCH_RUNS:-5}" \
	--prepare "$(pc "$wrapper") down -t 0 >/dev/null 2>&1; $(pc podman) down -t 0 >/dev/null 2>&1; true" \
	--command-name "myctr compose up" "$(pc "$wrapper") up -d" \
	--command-name "podman compose up" "$(pc podman) up -d" \
	--cleanup "$(pc "$wrapper") down -t 0 >/dev/null 2>&1; $(pc podman) down -t 0 >/dev/null 2>&1; true" \
	--export-json "$work/compose.json" >/dev/null
jq -r '(.results | map({key: .command, value: .median}) | from_entries) as $m
	| "podman-compose up -d of tests/compose/compose.yml, median of \(.results[0].times | length) runs",
	  (.results[] | "  \(.command)  \(.median * 1000 | round) ms"),
	  "  myctr/podman  \($m["myctr compose up"] / $m["podman compose up"] * 100 | round / 100)  (target < 1.0)"' "$work/compose.json"
for p in "$wrapper" podman; do
	eval "$(pc "$p") down -t 0" >/dev/null 2>&1 || true
	"$p" network rm -f bench_front bench_back >/dev/null 2>&1 || true
	"$p" volume rm -f bench_data >/dev/null 2>&1 || true
done
