#!/usr/bin/env bash
# tests/bench/network.sh: iperf3 through a published port, host→container
# and container→host, myctr beside its peer with the same driver and MTU in
# one run: slirp4netns (podman --network slirp4netns:port_handler=slirp4netns,
# mtu=65520) and pasta (podman 4.3 has no pasta mode: pasta run by hand with
# the options myctr uses). Prints Gbps and ratios (target: >= 1.0).
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

results=()
record() { results+=("$(printf '%-12s %-22s %8s Gbps' "$1" "$2" "$3")"); }

m() { "$myctr" --root "$root" --runroot "$runroot" "$@"; }

# median: the median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure MYCTR-PORT PEER-PORT: NET_BENCH_REPEAT (5) rounds, each measuring
# myctr then its peer in both directions, so that the machine's drift (it
# is shared and has 2 cores) falls on both alike; sets up/down/pu/pd to
# the medians.
measure() {
	local mp=$1 pp=$2 i
	local a=() b=() c=() d=()
	for ((i = 0; i < ${NET_BENCH_REPEAT:-5}; i++)); do
		a+=("$(gbps1 "$mp")") && b+=("$(gbps1 "$pp")") &&
			c+=("$(gbps1 "$mp" -R)") && d+=("$(gbps1 "$pp" -R)") || return 1
	done
	up=$(printf '%s\n' "${a[@]}" | median)
	pu=$(printf '%s\n' "${b[@]}" | median)
	down=$(printf '%s\n' "${c[@]}" | median)
	pd=$(printf '%s\n' "${d[@]}" | median)
}

for driver in slirp4netns pasta; do
	command -v "$driver" >/dev/null || { echo "Error: $driver not installed" >&2; exit 1; }
	port=$(free_port)
	m run -d --name "iperf-$driver" --network "$driver" -p "127.0.0.1:$port:5201" "${bind[@]}" bb /usr/bin/iperf3 -s >/dev/null

	pport=$(free_port)
	ppid=
	if [[ $driver == slirp4netns ]]; then
		podman run -d --name iperf-peer --network slirp4netns:port_handler=slirp4netns,mtu=65520 \
			-p "127.0.0.1:$pport:5201" "${bind[@]}" localhost/bb /usr/bin/iperf3 -s >/dev/null
		peer="podman"
	else
		pasta --config-net --quiet --mtu 65520 --address 10.0.2.100 --netmask 24 --gateway 10.0.2.2 \
			--tcp-ns none --udp-ns none --no-map-gw -t "127.0.0.1/$pport:5201" -u none \
			-- iperf3 -s >/dev/null 2>&1 &
		ppid=$!
		peer="pasta by hand"
	fi
	measure "$port" "$pport"
	m rm -f "iperf-$driver" >/dev/null
	if [[ -n $ppid ]]; then
		# pasta's child, iperf3 -s in its namespace, would outlive it.
		kids=$(cat /proc/"$ppid"/task/*/children 2>/dev/null || true)
		# shellcheck disable=SC2086 # one pid per word
		kill "$ppid" $kids 2>/dev/null || true
		wait "$ppid" 2>/dev/null || true
	else
		podman rm -f iperf-peer >/dev/null 2>&1
	fi
	record "$driver" "myctr host->ctr" "$up"
	record "$driver" "myctr ctr->host" "$down"
	record "$driver" "$peer host->ctr" "$pu"
	record "$driver" "$peer ctr->host" "$pd"
	ratios+=("$(printf '%-12s host->ctr %5s   ctr->host %5s   (myctr/%s, target >= 1.0)' "$driver" \
		"$(jq -n "$up / $pu * 100 | round / 100")" "$(jq -n "$down / $pd * 100 | round / 100")" "$peer")")
done

echo
echo "iperf3, median of ${NET_BENCH_REPEAT:-5} interleaved rounds of $secs s per direction, MTU 65520"
printf '%s\n' "${results[@]}"
echo
printf '%s\n' "${ratios[@]}"

# The bridged network, measured as root by bridge.sh (run.sh runs it
# before this stage): its own block, beside these.
if [[ -n ${MYCTR_BENCH_BRIDGE:-} && -s $MYCTR_BENCH_BRIDGE ]]; then
	echo
	cat "$MYCTR_BENCH_BRIDGE"
fi
