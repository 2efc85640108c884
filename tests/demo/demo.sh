#!/usr/bin/env bash
# tests/demo/demo.sh (make demo): a short tour of myctr as a non-root user.
# As root: installs packages, creates the test user, builds, then runs the
# tour as myctr-test. As another user: runs the tour as that user.
# Uses throw-away --root/--runroot directories and removes them at the end
# (with `myctr unshare rm -rf`, since the files belong to subordinate ids).
# Exits non-zero if any step fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=$repo/tests/setup
test_user=${TEST_USER:-myctr-test}
export PATH=/usr/local/go/bin:$PATH

if [[ $(id -u) -eq 0 && -z ${MYCTR_DEMO_STAGE:-} ]]; then
	"$setup/deps.sh"
	"$setup/user.sh" >/dev/null
	make -C "$repo" --no-print-directory build
	base=$repo
	# shellcheck disable=SC2016 # $1 is for the inner sh
	if ! "$setup/as-user.sh" "$test_user" sh -c 'test -x "$1/bin/myctr" && test -x "$1/tests/demo/demo.sh"' sh "$repo"; then
		base=$(mktemp -d /tmp/myctr-demo.XXXXXX)
		chmod 0755 "$base"
		trap 'rm -rf "$base"' EXIT
		mkdir -p "$base/bin"
		# myctr and what it runs beside it (make install puts these in
		# libexec/myctr): seccomp profiles are compiled by myctr-seccomp,
		# and build runs in myctr-full.
		cp -a "$repo/bin/myctr" "$repo/bin/myctr-full" "$repo/bin/myctr-init" "$repo/bin/myctr-monitor" "$repo/bin/myctr-seccomp" "$base/bin/"
		cp -a "$repo/tests" "$base/"
		chmod -R a+rX "$base"
	fi
	st=0
	MYCTR_DEMO_STAGE=user MYCTR_BIN=$base/bin/myctr \
		"$setup/as-user.sh" "$test_user" "$base/tests/demo/demo.sh" || st=$?
	exit "$st"
fi

# ---- as the (non-root) demo user -------------------------------------------

myctr_bin=${MYCTR_BIN:-$repo/bin/myctr}
if [[ ! -x $myctr_bin ]]; then
	echo "Error: $myctr_bin not found; Hint: make build" >&2
	exit 1
fi
: "${XDG_RUNTIME_DIR:=/run/user/$(id -u)}"
work=$(mktemp -d "${TMPDIR:-/tmp}/myctr-demo.XXXXXX")
root=$work/root
runroot=$(mktemp -d "$XDG_RUNTIME_DIR/myctr-demo.XXXXXX")

myctr() { "$myctr_bin" --root "$root" --runroot "$runroot" "$@"; }

cleanup() {
	local st=$?
	set +e
	myctr rm -f web www >/dev/null 2>&1
	if [[ -d $root ]]; then
		myctr unshare rm -rf "$root" || st=1
	fi
	rm -rf "$runroot" "$work" || st=1
	exit "$st"
}
trap cleanup EXIT

if [[ -t 1 ]]; then
	header() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
else
	header() { printf '\n### %s\n' "$*"; }
fi
# quote WORD...: the words as a shell reads them back, so that every
# command the demo shows can be copied and pasted.
quote() {
	local out=() w q="'"
	for w in "$@"; do
		if [[ $w =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+=("$w")
		else
			out+=("$q${w//$q/$q\\$q$q}$q")
		fi
	done
	printf '%s' "${out[*]}"
}
show() {
	printf '$ myctr %s\n' "$(quote "$@")"
	myctr "$@"
}

header "who am I (no root here)"
echo "$(id -un) (uid $(id -u)); subordinate ids: $(grep "^$(id -un):" /etc/subuid || echo none)"

header "build a busybox image from Debian's busybox-static"
"$setup/busybox-rootfs.sh" "$work/bb.tar"
show import "$work/bb.tar" bb
show images

header "a container: own PID namespace, hostname and user namespace"
show run --rm bb sh -c 'echo PID=$$; hostname; cat /proc/self/uid_map'

header "build an image from a Containerfile"
cat "$here/web/Containerfile"
show build -t web "$here/web"

header "run it with a forwarded port (rootless network: $(myctr run --rm bb sh -c 'ls /sys/class/net | grep -v lo'))"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
show run -d --name www -p "127.0.0.1:$port:8080" web
echo "\$ busybox wget -qO- http://127.0.0.1:$port/"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	if busybox wget -qO- "http://127.0.0.1:$port/"; then
		answered=1
		break
	fi
	sleep 0.3
done
[[ -n ${answered:-} ]] || { echo "Error: the container did not answer on port $port" >&2; exit 1; }
echo "\$ # the same from 127.0.0.2: the server sees each client's own address"
python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.2", 0)); s.connect(("127.0.0.1", int(sys.argv[1]))); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); s.recv(4096)' "$port"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	myctr logs www 2>/dev/null | grep -q 127.0.0.2 && break
	sleep 0.2
done
show logs www
show port www
show rm -f www

header "a detached container"
show run -d --name web bb sh -c 'trap "echo stopping; exit 0" TERM; while true; do date; sleep 1; done'
sleep 2.5

header "its logs"
show logs web

header "exec into it"
show exec web ps

header "containers"
show ps

header "stop it (SIGTERM; SIGKILL after -t seconds) and remove it"
show stop -t 5 web
show logs --tail 1 web
show ps -a
show rm web

header "done"
