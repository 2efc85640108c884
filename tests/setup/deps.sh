#!/usr/bin/env bash
# deps.sh: install the Debian packages that myctr's tests, benchmarks and demo
# need. Idempotent: on a prepared machine it only asks dpkg and exits.
# Run as root. Extra packages may be added with MYCTR_EXTRA_DEPS="pkg pkg".
set -euo pipefail

packages=(
	uidmap         # newuidmap/newgidmap
	busybox-static # the tiny base image
	podman crun runc # peers for comparisons and benchmarks
	hyperfine iperf3 python3 # benchmarks
	slirp4netns passt # rootless networking (passt ships pasta)
	dnsmasq-base   # the upstream DNS server of frontend/network's tests
	iproute2 util-linux bsdutils procps # ip, unshare/setpriv, script, ps
	jq             # reading go test -json and hyperfine JSON
	shellcheck     # make lint: the shell scripts
	bats socat     # Podman's system tests (tests/podman-system; 450-interactive's ptys)
	curl           # the README's examples
	zsh fish groff-base # myctr completion's scripts parsed by their shells, man pages rendered
	golang-go      # the Go a bare Debian has: tests/setup/go.sh fetches go.mod's with it (its test)
	gcc libc6-dev  # cgo (the frontend's C constructor)
	libseccomp-dev # libseccomp, which compiles seccomp profiles (frontend/seccomp, cgo)
	docker-registry skopeo # a real registry on loopback, and pushing into it (image tests)
	docker-compose python3-docker # docker-compose 1.29 and docker-py as clients of the API service (API tests)
	buildah        # a peer builder: side-by-side Containerfile builds (build tests)
	podman-compose # a real compose client driving myctr (tests/compose)
	containerd     # containerd and ctr drive myctr-runtime (tests/ociroot); no daemon is started by the package here
	# The helper tier (tests/setup/helper-env.sh): a system bus (dbus-daemon,
	# its setuid launch helper, dbus-send), polkitd (and pkcheck), busctl
	# (systemd: the package only; no systemd runs), nft, iperf3 for the
	# bridge benchmark, and strace (a test traces the helper's close calls).
	dbus dbus-bin polkitd systemd nftables strace
	# ---- The VM tier (tests/vm, make test-vm): qemu (TCG) boots a Debian
	# guest that debootstrap builds from the configured mirror; the guest's
	# kernel and modules come from its own linux-image-amd64 (installed in
	# the guest image, not on this machine). mkfs.ext4 -d (e2fsprogs) makes
	# the disk image, cpio and busybox-static the initrd, xz-utils unpacks
	# the kernel to an uncompressed vmlinux (faster to boot under TCG).
	qemu-system-x86 debootstrap e2fsprogs cpio xz-utils zstd
)
# shellcheck disable=SC2206
packages+=(${MYCTR_EXTRA_DEPS:-})

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [[ $status != "install ok installed" ]]; then
		missing+=("$p")
	fi
done

# The docker CLI 20.10 of Debian's docker.io, for the API service's tests
# (tests/integration/api_test.go): unpacked from the .deb, never installed,
# so that no dockerd is installed or started; only usr/bin/docker is kept.
docker_cli_dir=/opt/myctr-docker-cli
install_docker_cli() {
	if [[ -x $docker_cli_dir/usr/bin/docker ]]; then
		return 0
	fi
	if [[ $(id -u) -ne 0 ]]; then
		echo "Error: the docker CLI is missing from $docker_cli_dir" >&2
		echo "Hint: run this script as root: sudo $0" >&2
		return 1
	fi
	local tmp
	tmp=$(mktemp -d)
	chmod 0755 "$tmp" # apt-get download fetches as _apt
	if ! (cd "$tmp" && apt-get download -q docker.io </dev/null); then
		apt-get update -q </dev/null
		(cd "$tmp" && apt-get download -q docker.io </dev/null)
	fi
	dpkg-deb -x "$tmp"/docker.io_*.deb "$tmp/x"
	install -D -m 0755 "$tmp/x/usr/bin/docker" "$docker_cli_dir/usr/bin/docker"
	rm -rf "$tmp"
}

if ((${#missing[@]} == 0)); then
	install_docker_cli
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "Error: missing packages: ${missing[*]}" >&2
	echo "Hint: run this script as root: sudo $0" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q "${missing[@]}" </dev/null
install_docker_cli
