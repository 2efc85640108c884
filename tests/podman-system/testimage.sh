#!/usr/bin/env bash
# testimage.sh MYCTR OUT.tar: a stand-in for quay.io/libpod/testimage:20220615,
# the image Podman's system tests run, built from Debian's busybox-static
# with what the suite reads from it (test/system/build-testimage in Podman
# says what that is): /home/podman/testimage-id holding the tag,
# /home/podman/pause, the created_by and created_at labels, WORKDIR
# /home/podman and its CMD. Written as a docker-archive that both myctr
# and podman load. Runs as the user whose store MYCTR uses.
set -euo pipefail

myctr=${1:?usage: $0 MYCTR OUT.tar}
out=${2:?usage: $0 MYCTR OUT.tar}
here=$(cd "$(dirname "$0")" && pwd)
tag=20220615
name=quay.io/libpod/testimage:$tag

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
"$here/../setup/busybox-rootfs.sh" "$ctx/rootfs.tar" >/dev/null
"$myctr" import "$ctx/rootfs.tar" localhost/testimage-base >/dev/null

echo "$tag" >"$ctx/testimage-id"
touch --date=@1600000000 "$ctx/testimage-id"
cat >"$ctx/pause" <<'PAUSE'
#!/bin/sh
#
# Trivial little pause script, used in one of the pod tests
#
echo Confirmed: testimage pause invoked as $0
while :; do
    sleep 0.1
done
PAUSE
chmod 0755 "$ctx/pause"
cat >"$ctx/Containerfile" <<CF
FROM localhost/testimage-base
ADD testimage-id pause /home/podman/
LABEL created_by=test/system/build-testimage
LABEL created_at=2022-06-15T00:00:00Z
WORKDIR /home/podman
CMD ["/bin/echo", "This container is intended for podman CI testing"]
CF
"$myctr" build -q -t "$name" "$ctx" >/dev/null
"$myctr" save --format docker-archive -o "$out" "$name"
"$myctr" rmi "$name" localhost/testimage-base >/dev/null
