#!/usr/bin/env bash
# tests/bench/api.sh: the Docker API services side by side, on the busybox
# image (issue #23's row): the docker CLI (Debian's docker.io 20.10,
# unpacked by tests/setup/deps.sh) against `myctr system service` and
# against `podman system service`, each on a unix socket of the user's.
#
#   docker run --rm   `docker run --rm --network none localhost/bb true`
#                     through each socket, hyperfine, medians and the
#                     ratio (goal: myctr <= 0.5x podman). No network on
#                     either, so the row times the API and the start path,
#                     not slirp4netns against pasta.
#   idle memory       RSS and PSS of each service process once the runs
#                     are over and it is idle (goal: myctr <= podman).
#
#   make build && tests/bench/api.sh      (as root: it reads the services'
#                                          smaps_rollup; or as the user)
#
# Environment: MYCTR_BIN (bin/myctr), BENCH_RUNS (30), BENCH_WARMUP (3),
# TEST_USER (myctr-test; ignored when not root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=$repo/tests/setup
myctr=${MYCTR_BIN:-$repo/bin/myctr}
docker=/opt/myctr-docker-cli/usr/bin/docker
runs=${BENCH_RUNS:-30}
warmup=${BENCH_WARMUP:-3}
img=localhost/bb

die() {
	echo "Error: $1" >&2
	[[ -n ${2:-} ]] && echo "Hint: $2" >&2
	exit 1
}
step() { echo "== api.sh (${SECONDS} s): $*" >&2; }

if [[ $(id -u) -eq 0 ]]; then
	user=${TEST_USER:-myctr-test}
else
	user=$(id -un)
fi
uid=$(id -u "$user")
for tool in podman hyperfine jq pgrep; do
	command -v "$tool" >/dev/null || die "$tool not found" "run tests/setup/deps.sh as root"
done
[[ -x $docker ]] || die "the docker CLI is missing from $docker" "run tests/setup/deps.sh as root (it unpacks Debian's docker.io)"
[[ -x $myctr ]] || die "$myctr not found" "make build"

asu() { "$setup/as-user.sh" "$user" "$@"; }

rt=/run/user/$uid
[[ $(id -u) -eq 0 ]] || rt=${XDG_RUNTIME_DIR:-$rt}
work=$(asu mktemp -d /tmp/myctr-bench-api.XXXXXX)
runroot=$(asu mktemp -d "$rt/myctr-bench-api.XXXXXX")
socks=$(asu mktemp -d "$rt/myctr-bench-api-sock.XXXXXX") # 0700, the user's
msock=$socks/myctr.sock
psock=$socks/podman.sock
mbase=("$myctr" --root "$work/root" --runroot "$runroot")
m() { asu "${mbase[@]}" "$@"; }

service_pid() { pgrep -u "$uid" -f -n -- "system service --time 0 unix://$1\$" || true; }

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	set +e
	local pid
	for s in "$msock" "$psock"; do
		pid=$(service_pid "$s")
		[[ -n $pid ]] && kill "$pid"
	done
	wait
	m rm -f -a >/dev/null 2>&1
	[[ -d $work/root ]] && m unshare rm -rf "$work/root"
	asu rm -rf "$work" "$runroot" "$socks"
}
trap cleanup EXIT

step "busybox image for myctr and podman"
asu "$setup/busybox-rootfs.sh" "$work/bb.tar"
m import "$work/bb.tar" bb >/dev/null
asu podman image exists "$img" || asu podman import "$work/bb.tar" "$img:latest" >/dev/null

step "the two services"
asu "${mbase[@]}" system service --time 0 "unix://$msock" >"$work/myctr-service.log" 2>&1 &
asu podman system service --time 0 "unix://$psock" >"$work/podman-service.log" 2>&1 &
for s in "$msock" "$psock"; do
	for _ in $(seq 100); do
		asu env DOCKER_CONFIG="$work" "$docker" -H "unix://$s" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	asu env DOCKER_CONFIG="$work" "$docker" -H "unix://$s" version >/dev/null ||
		die "the service on $s does not answer" "see $work/*-service.log"
done

step "docker run --rm through each ($runs runs)"
dk() { printf 'env DOCKER_CONFIG=%q %q -H unix://%q' "$work" "$docker" "$1"; }
asu hyperfine -N --runs "$runs" --warmup "$warmup" --export-json "$work/api.json" \
	-n myctr "$(dk "$msock") run --rm --network none $img true" \
	-n podman "$(dk "$psock") run --rm --network none $img true" >&2

# After the runs, both idle: their memory as a user sees it.
sleep 2
mem() { # PID -> "RSS_KB PSS_KB"
	local rss pss
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")
	pss=$(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo "?")
	echo "$rss ${pss:-?}"
}
mpid=$(service_pid "$msock")
ppid_=$(service_pid "$psock")
[[ -n $mpid && -n $ppid_ ]] || die "a service is gone after the runs" "see $work/*-service.log"
read -r m_rss m_pss < <(mem "$mpid")
read -r p_rss p_pss < <(mem "$ppid_")

med() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/api.json"; }
m_t=$(med myctr)
p_t=$(med podman)
echo "docker API services, the docker CLI 20.10 through each socket (hyperfine, $runs runs, medians)"
awk -v mt="$m_t" -v pt="$p_t" 'BEGIN {
	printf "  docker run --rm   myctr %8.2f ms   podman %8.2f ms   ratio %.2f (goal <= 0.50)\n", mt, pt, mt / pt }'
awk -v mr="$m_rss" -v pr="$p_rss" -v mp="$m_pss" -v pp="$p_pss" 'BEGIN {
	printf "  idle service      myctr %6.1f MB RSS, %s PSS   podman %6.1f MB RSS, %s PSS   RSS ratio %.2f (goal <= 1.00)\n",
		mr / 1024, (mp == "?" ? "?" : sprintf("%.1f MB", mp / 1024)), pr / 1024, (pp == "?" ? "?" : sprintf("%.1f MB", pp / 1024)), mr / pr }'
