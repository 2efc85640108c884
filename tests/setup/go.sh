#!/usr/bin/env bash
# go.sh: print the bin directory of a Go toolchain that can build this
# checkout: the version go.mod asks for (its toolchain line, else its go
# line), or a newer one. The Makefile puts that directory first on PATH, so
# `make demo` and `make test` work on a machine whose Go is missing or old
# (Debian 12's apt has Go 1.19).
#
# Looks at, in order: `go` on PATH, /usr/local/go/bin/go, and the toolchain
# this script fetched before (under ${XDG_CACHE_HOME:-~/.cache}/myctr/go, or
# MYCTR_GO_CACHE). When none is new enough, it fetches exactly the version
# go.mod names as the module golang.org/toolchain, which is what Go's own
# GOTOOLCHAIN switching downloads: through the Go module proxy only (never
# "direct" from a version control host or any other site), checked against
# the checksum database by the go command that downloads it. That go command
# may be any Go from 1.16 on; as root, with none at all, apt's golang-go is
# installed for it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)

die() {
	echo "Error: $1" >&2
	[[ -z ${2:-} ]] || echo "Hint: $2" >&2
	exit 1
}

# The version go.mod needs: `toolchain goX` where present (it may only be
# newer than the go line), else the go line.
want=$(sed -n 's/^toolchain go\([0-9][^ ]*\).*/\1/p' "$repo/go.mod" | head -n 1)
[[ -n $want ]] || want=$(sed -n 's/^go \([0-9][^ ]*\).*/\1/p' "$repo/go.mod" | head -n 1)
[[ -n $want ]] || die "$repo/go.mod has no go line"

# version_ge A B: A >= B for Go versions (1.26.8, 1.27rc1, 1.21).
version_ge() {
	[[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1) == "$2" ]]
}

# go_version GO: the version of that go command itself, never of a
# toolchain it would switch to (GOTOOLCHAIN=local; outside any module).
go_version() {
	local v
	v=$(cd / && GOTOOLCHAIN=local GOFLAGS='' "$1" env GOVERSION 2>/dev/null) || return 1
	v=${v%% *}
	v=${v#go}
	[[ $v == [0-9]* ]] || return 1
	printf '%s\n' "$v"
}

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
i?86) arch=386 ;;
armv6l | armv7l) arch=armv6l ;;
ppc64le) arch=ppc64le ;;
s390x) arch=s390x ;;
riscv64) arch=riscv64 ;;
*) die "no Go toolchain is published for this machine ($(uname -m))" "install Go $want or newer and put it on PATH" ;;
esac
cache=${MYCTR_GO_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/myctr/go}
fetched=$cache/go$want.linux-$arch

boot=
candidates=()
if g=$(command -v go 2>/dev/null); then candidates+=("$g"); fi
candidates+=(/usr/local/go/bin/go "$fetched/bin/go")
for g in "${candidates[@]}"; do
	[[ -x $g ]] || continue
	v=$(go_version "$g") || continue
	if version_ge "$v" "$want"; then
		dirname "$(readlink -f "$g")"
		exit 0
	fi
	# Old, but able to download a module outside a module (Go 1.16).
	if [[ -z $boot ]] && version_ge "$v" 1.16; then
		boot=$g
	fi
done

if [[ -z $boot ]]; then
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
		die "no Go $want or newer, and no Go to fetch it with" \
			"install Go (sudo apt-get install golang-go is enough: this script then fetches Go $want), or run make as root"
	fi
	echo "go.sh: installing apt's golang-go, to fetch Go $want with it" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q golang-go </dev/null >&2; then
		apt-get update -q </dev/null >&2
		apt-get install -y -q golang-go </dev/null >&2
	fi
	boot=$(command -v go 2>/dev/null || true)
	[[ -n $boot ]] || boot=/usr/bin/go
	v=$(go_version "$boot") || die "apt's golang-go gave no working go command"
	version_ge "$v" 1.16 || die "apt's Go is $v, too old to fetch Go $want" "install Go $want or newer by hand"
fi

# Only the module proxy: drop "direct" and "off" from GOPROXY's list.
proxies=
IFS=',|' read -r -a list <<<"$(cd / && GOFLAGS='' "$boot" env GOPROXY)"
for p in "${list[@]}"; do
	case $p in direct | off | "") ;; *) proxies=${proxies:+$proxies,}$p ;; esac
done
[[ -n $proxies ]] || die "GOPROXY names no module proxy, and Go $want is fetched only through one" \
	"set GOPROXY=https://proxy.golang.org (or your mirror)"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -x $fetched/bin/go ]] && v=$(go_version "$fetched/bin/go") && [[ $v == "$want" ]]; then
	# Another make fetched it while this one waited.
	echo "$fetched/bin"
	exit 0
fi
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
mod=golang.org/toolchain@v0.0.1-go$want.linux-$arch
echo "go.sh: Go $want is not installed; fetching $mod through $proxies" >&2
if ! (cd "$tmp" && GOPROXY=$proxies GOMODCACHE=$tmp/mod GOPATH=$tmp/gopath GOFLAGS=-mod=mod \
	GO111MODULE=on GOTOOLCHAIN=local "$boot" mod download "$mod" >&2); then
	die "fetching $mod failed (see above)" \
		"check that $proxies is reachable, or install Go $want or newer and put it on PATH"
fi
# The module cache is read-only and keeps no execute bits; the go command's
# own toolchain switch sets them on bin/ and pkg/tool/ the same way.
chmod -R u+w "$tmp/mod"
rm -rf "$fetched"
mv "$tmp/mod/$mod" "$fetched"
find "$fetched/bin" "$fetched/pkg/tool" -type f -exec chmod 0755 {} +
v=$(go_version "$fetched/bin/go") || die "the fetched $fetched/bin/go does not run"
[[ $v == "$want" ]] || die "the fetched toolchain is Go $v, not $want"
echo "go.sh: Go $want is in $fetched" >&2
echo "$fetched/bin"
