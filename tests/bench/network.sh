#!/usr/bin/env bash
# tests/bench/network.sh: iperf3 through a published port, host→container
# and container→host, myctr beside its peer with the same driver and MTU in
# one run: slirp4netns (myctr's default forwarder and port_handler=slirp4netns
# beside podman's default, rootlessport, and its port_handler=slirp4netns,
# all with mtu=65520) and pasta (podman 4.3 has no pasta mode: pasta run by
# hand with the options myctr uses). Prints Gbps and ratios (target: >= 1.0).
# Runs as the (non-root) benchmark user; called by tests/bench/run.sh, which
# passes bridge.sh's figures (the helper's bridge) in MYCTR_BENCH_BRIDGE to
# be printed after these.
# The iperf3 server in the container is the host's own binary, bound in
# read-only (busybox has none).
set -euo pipefail

myctr=${MYCTR_BIN:?}
root=${1:?usage: network.sh MYCTR-ROOT RUNROOT}
runroot=${2:?}
secs=${NET_BENCH_SECONDS:-5}
bind=(-v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# gbps1 PORT [-R]: one iperf3 client run against 127.0.0.1:PORT, in
# Gbit/s (retried while the server is still starting).
gbps1() {
	local port=$1 out
	shift
	for _ in $(seq 50); do
		# A server not listening yet answers with an error document.
		if out=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J "$@" 2>/dev/null) &&
			jq -e '.end.sum_received.bits_per_second > 0' <<<"$out" >/dev/null 2>&1; then
			jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$out"
			return 0
		fi
		sleep 0.2
	done
	echo "Error: iperf3 to 127.0.0.1:$port never succeeded" >&2
	return 1
}

m() { "$myctr" --root "$root" --runroot "$runroot" "$@"; }

# median: the median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure LABEL@PORT...: NET_BENCH_REPEAT (5) rounds, each measuring every
# target in turn in both directions, so that the machine's drift (it is
# shared and has 2 cores) falls on all alike; sets UP[LABEL] and
# DOWN[LABEL] to the medians.
declare -A UP DOWN
measure() {
	local i t label port
	declare -A ups downs
	for ((i = 0; i < ${NET_BENCH_REPEAT:-5}; i++)); do
		for t in "$@"; do
			label=${t%@*} port=${t##*@}
			ups[$label]+="$(gbps1 "$port") " || return 1
			downs[$label]+="$(gbps1 "$port" -R) " || return 1
		done
	done
	for t in "$@"; do
		label=${t%@*}
		UP[$label]=$(tr ' ' '\n' <<<"${ups[$label]}" | grep . | median)
		DOWN[$label]=$(tr ' ' '\n' <<<"${downs[$label]}" | grep . | median)
	done
}

ratio() { jq -n "$1 / $2 * 100 | round / 100"; }

# ratios LABEL PEER-LABEL NOTE: one line of host->ctr and ctr->host ratios.
ratios=()
ratioline() {
	ratios+=("$(printf '%-88s host->ctr %5s   ctr->host %5s   %s' "$1 / $2" \
		"$(ratio "${UP[$1]}" "${UP[$2]}")" "$(ratio "${DOWN[$1]}" "${DOWN[$2]}")" "$3")")
}

results=()
report() {
	local label
	for label in "$@"; do
		results+=("$(printf '%-44s %8s %8s' "$label" "${UP[$label]}" "${DOWN[$label]}")")
	done
}

# slirp4netns. myctr publishes TCP through its own forwarder by default
# (the client's address kept) and through slirp4netns's add_hostfwd with
# port_handler=slirp4netns; podman through rootlessport by default (the
# client shows as 127.0.0.1) and through add_hostfwd with
# port_handler=slirp4netns. All four run in each round.
p1=$(free_port) p2=$(free_port) p3=$(free_port) p4=$(free_port)
m run -d --name iperf-slirp --network slirp4netns -p "127.0.0.1:$p1:5201" "${bind[@]}" bb /usr/bin/iperf3 -s >/dev/null
m run -d --name iperf-slirp-hostfwd --network slirp4netns:port_handler=slirp4netns -p "127.0.0.1:$p2:5201" "${bind[@]}" bb /usr/bin/iperf3 -s >/dev/null
podman run -d --name iperf-peer --network slirp4netns:mtu=65520 \
	-p "127.0.0.1:$p3:5201" "${bind[@]}" localhost/bb /usr/bin/iperf3 -s >/dev/null
podman run -d --name iperf-peer-hostfwd --network slirp4netns:port_handler=slirp4netns,mtu=65520 \
	-p "127.0.0.1:$p4:5201" "${bind[@]}" localhost/bb /usr/bin/iperf3 -s >/dev/null
st=0
measure "myctr slirp4netns@$p1" "myctr slirp4netns:port_handler=slirp4netns@$p2" \
	"podman slirp4netns@$p3" "podman slirp4netns:port_handler=slirp4netns@$p4" || st=1
m rm -f iperf-slirp iperf-slirp-hostfwd >/dev/null
podman rm -f iperf-peer iperf-peer-hostfwd >/dev/null 2>&1
((st == 0)) || exit 1
report "myctr slirp4netns" "myctr slirp4netns:port_handler=slirp4netns" "podman slirp4netns" "podman slirp4netns:port_handler=slirp4netns"
ratioline "myctr slirp4netns" "podman slirp4netns" "(each one's default; target >= 1.0)"
ratioline "myctr slirp4netns" "podman slirp4netns:port_handler=slirp4netns" "(target >= 1.0)"
ratioline "myctr slirp4netns:port_handler=slirp4netns" "podman slirp4netns:port_handler=slirp4netns" "(the same forwarder: parity expected)"

# pasta. Podman 4.3 has no pasta mode: pasta run by hand with the options
# myctr uses.
port=$(free_port) pport=$(free_port)
m run -d --name iperf-pasta --network pasta -p "127.0.0.1:$port:5201" "${bind[@]}" bb /usr/bin/iperf3 -s >/dev/null
pasta --config-net --quiet --mtu 65520 --address 10.0.2.100 --netmask 24 --gateway 10.0.2.2 \
	--tcp-ns none --udp-ns none --no-map-gw -t "127.0.0.1/$pport:5201" -u none \
	-- iperf3 -s >/dev/null 2>&1 &
ppid=$!
measure "myctr pasta@$port" "pasta by hand@$pport" || st=1
m rm -f iperf-pasta >/dev/null
# pasta's child, iperf3 -s in its namespace, would outlive it.
kids=$(cat /proc/"$ppid"/task/*/children 2>/dev/null || true)
# shellcheck disable=SC2086 # one pid per word
kill "$ppid" $kids 2>/dev/null || true
wait "$ppid" 2>/dev/null || true
((st == 0)) || exit 1
report "myctr pasta" "pasta by hand"
ratioline "myctr pasta" "pasta by hand" "(target >= 1.0)"

echo
echo "iperf3 through a published port on 127.0.0.1, Gbps, median of ${NET_BENCH_REPEAT:-5} interleaved rounds of $secs s per direction, MTU 65520"
printf '%-44s %8s %8s\n' "" "host->ctr" "ctr->host"
printf '%s\n' "${results[@]}"
echo
printf '%s\n' "${ratios[@]}"

# The bridged network, measured as root by bridge.sh (run.sh runs it
# before this stage): its own block, beside these.
if [[ -n ${MYCTR_BENCH_BRIDGE:-} && -s $MYCTR_BENCH_BRIDGE ]]; then
	echo
	cat "$MYCTR_BENCH_BRIDGE"
fi
