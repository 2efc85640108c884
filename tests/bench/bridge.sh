#!/usr/bin/env bash
# tests/bench/bridge.sh: iperf3 through myctr's bridged network (the helper's
# bridge, veth and nftables table, in the helper tier's test network
# namespace: tests/setup/helper-env.sh) against the floor the kernel gives:
# a raw veth pair this script makes between the same test namespace and a
# fresh one, with the bridge's MTU. Host side -> container and back, median
# of NET_BENCH_REPEAT (5) runs of NET_BENCH_SECONDS (5) s each; prints Gbps
# and the ratio myctr/raw (target: >= 0.9).
#
# As root (the namespaces and the iperf3 client need it; the container runs
# as TEST_USER, myctr-test, through the helper). Brings helper-env.sh up if
# it is not, and down again at the end only then. tests/bench/run.sh calls
# it and prints its block beside the slirp4netns/pasta figures; it also runs
# alone:
#
#   make build && tests/bench/bridge.sh
#
# The iperf3 server in the container is the host's own binary, bound in
# read-only (busybox has none), as in network.sh. Result block on stdout,
# progress on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=$repo/tests/setup
test_user=${TEST_USER:-myctr-test}
myctr=${MYCTR_BIN:-$repo/bin/myctr}
secs=${NET_BENCH_SECONDS:-5}
repeat=${NET_BENCH_REPEAT:-5}
netns='myctr-helper-test' # helper-env.sh's
raw_ns='myctr-bench-raw'
raw_host=mbr0 raw_peer=mbr1
raw_host_addr=10.98.0.1 raw_peer_addr=10.98.0.2
bind=(-v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro)
export PATH=/usr/local/go/bin:$PATH

step() { echo "== bridge.sh: $*" >&2; }
die() {
	echo "Error: $1" >&2
	[[ -n ${2:-} ]] && echo "Hint: $2" >&2
	exit 1
}

[[ $(id -u) -eq 0 ]] || die "bridge.sh runs as root (network namespaces, the helper's test set-up)" "sudo $0"
for tool in iperf3 jq ip; do
	command -v "$tool" >/dev/null || die "$tool not found" "run tests/setup/deps.sh as root"
done
[[ -x $myctr ]] || die "$myctr not found" "make build"

work=$(mktemp -d /tmp/myctr-bench-bridge.XXXXXX)
chmod 0755 "$work"
env_started=''
raw_server=''
cleanup() {
	set +e
	if [[ -d $work/u/root ]]; then
		m rm -f iperf-bridge >/dev/null 2>&1
	fi
	if [[ -n $raw_server ]]; then
		kill "$raw_server" 2>/dev/null
		wait "$raw_server" 2>/dev/null
	fi
	if ip netns list | awk '{print $1}' | grep -qx "$raw_ns"; then
		ip netns del "$raw_ns"
	fi
	ip -n "$netns" link del "$raw_host" 2>/dev/null
	if [[ -n $env_started ]]; then
		"$setup/helper-env.sh" down >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -f /run/myctr-helper-test/helper.conf ]]; then
	step "helper-env.sh up"
	env_started=1
	MYCTR_HELPER_BIN=${MYCTR_HELPER_BIN:-$(dirname "$myctr")/myctr-helper} "$setup/helper-env.sh" up >&2
fi

uid=$(id -u "$test_user")
gid=$(id -g "$test_user")
mkdir -p "$work/u/root" "$work/u/run"
chown -R "$uid:$gid" "$work/u"
chmod 0700 "$work/u"

m() { "$setup/as-user.sh" "$test_user" "$myctr" --root "$work/u/root" --runroot "$work/u/run" "$@"; }

# gbps1 NETNS ADDR [-R]: one iperf3 client run from NETNS, in Gbit/s.
gbps1() {
	local ns=$1 addr=$2 out
	shift 2
	for _ in $(seq 50); do
		# A server not listening yet answers with an error document.
		if out=$(ip netns exec "$ns" iperf3 -c "$addr" -t "$secs" -J "$@" 2>/dev/null) &&
			jq -e '.end.sum_received.bits_per_second > 0' <<<"$out" >/dev/null 2>&1; then
			jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$out"
			return 0
		fi
		sleep 0.2
	done
	echo "Error: iperf3 from $ns to $addr never succeeded" >&2
	return 1
}

# median N...: the median of the numbers.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

step "busybox image for $test_user"
"$setup/busybox-rootfs.sh" "$work/bb.tar"
chmod 0644 "$work/bb.tar"
m import "$work/bb.tar" bb >/dev/null

step "bridged container with iperf3 -s"
m run -d --name iperf-bridge --network bridge "${bind[@]}" bb /usr/bin/iperf3 -s >/dev/null
ctr_addr=$(m inspect iperf-bridge | jq -r '.[0].NetworkSettings | .IPAddress // ([(.Networks // {})[] | .IPAddress] | first) // empty')
[[ -n $ctr_addr ]] || die "myctr inspect iperf-bridge gives no NetworkSettings.IPAddress"
bridge=$(awk -F= '$1 == "bridge" {print $2}' /run/myctr-helper-test/helper.conf)
mtu=$(ip -n "$netns" -j link show "${bridge:-myctr0}" | jq -r '.[0].mtu')
step "container at $ctr_addr behind ${bridge:-myctr0}, MTU $mtu"

step "raw veth pair $netns/$raw_host <-> $raw_ns/$raw_peer, MTU $mtu"
ip netns add "$raw_ns"
ip -n "$raw_ns" link set lo up
ip -n "$netns" link add "$raw_host" mtu "$mtu" type veth peer name "$raw_peer" mtu "$mtu" netns "$raw_ns"
ip -n "$netns" addr add "$raw_host_addr/24" dev "$raw_host"
ip -n "$raw_ns" addr add "$raw_peer_addr/24" dev "$raw_peer"
ip -n "$netns" link set "$raw_host" up
ip -n "$raw_ns" link set "$raw_peer" up
ip netns exec "$raw_ns" iperf3 -s >/dev/null 2>&1 &
raw_server=$!

# Interleaved, so that the machine's drift falls on both alike.
ups=() downs=() rups=() rdowns=()
for ((i = 1; i <= repeat; i++)); do
	step "round $i of $repeat"
	ups+=("$(gbps1 "$netns" "$ctr_addr")")
	rups+=("$(gbps1 "$netns" "$raw_peer_addr")")
	downs+=("$(gbps1 "$netns" "$ctr_addr" -R)")
	rdowns+=("$(gbps1 "$netns" "$raw_peer_addr" -R)")
done
up=$(median "${ups[@]}") down=$(median "${downs[@]}")
rup=$(median "${rups[@]}") rdown=$(median "${rdowns[@]}")
m rm -f iperf-bridge >/dev/null

ratio() { jq -n "$1 / $2 * 100 | round / 100"; }
met() { jq -n -r "if $1 / $2 >= 0.9 then \"met\" else \"MISSED\" end"; }
echo "bridge: iperf3 from the host side (the helper's test netns), median of $repeat runs of $secs s, MTU $mtu"
printf '%-12s %-22s %8s Gbps\n' bridge "myctr host->ctr" "$up"
printf '%-12s %-22s %8s Gbps\n' bridge "myctr ctr->host" "$down"
printf '%-12s %-22s %8s Gbps\n' bridge "raw veth host->ctr" "$rup"
printf '%-12s %-22s %8s Gbps\n' bridge "raw veth ctr->host" "$rdown"
printf '%-12s host->ctr %5s %s   ctr->host %5s %s   (myctr/raw veth, target >= 0.9)\n' bridge \
	"$(ratio "$up" "$rup")" "$(met "$up" "$rup")" "$(ratio "$down" "$rdown")" "$(met "$down" "$rdown")"
