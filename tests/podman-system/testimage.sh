#!/usr/bin/env bash
# testimage.sh MYCTR OUT.tar: a stand-in for quay.io/libpod/testimage:20220615,
# the image Podman's system tests run, built from Debian's busybox-static
# with what the suite reads from it (test/system/build-testimage in Podman
# says what that is): a root directory of mode 555, /etc/mtab and /srv (as
# Alpine's), adduser and the ping group, /home/podman/testimage-id
# holding the tag, /home/podman/pause, the created_by and created_at
# labels, WORKDIR /home/podman and its CMD. Written as a docker-archive
# that both myctr and podman load. Runs as the user whose store MYCTR uses.
set -euo pipefail

myctr=${1:?usage: $0 MYCTR OUT.tar}
out=${2:?usage: $0 MYCTR OUT.tar}
here=$(cd "$(dirname "$0")" && pwd)
tag=20220615
name=quay.io/libpod/testimage:$tag

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
"$here/../setup/busybox-rootfs.sh" "$ctx/base.tar" >/dev/null
# As Alpine's (which the real image is): a root directory of mode 555
# (the suite checks it: rhbz#1854566), /etc/mtab a symlink to
# ../proc/mounts, and /srv (065-cp runs --workdir=/srv, which run does
# not create).
python3 - "$ctx/base.tar" "$ctx/rootfs.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as src, tarfile.open(sys.argv[2], "w", format=tarfile.GNU_FORMAT) as dst:
    for m in src.getmembers():
        if m.name in (".", "./"):
            m.mode = 0o555
        dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        if m.name in ("./etc", "etc"):
            link = tarfile.TarInfo(m.name + "/mtab")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, "../proc/mounts", 0o777, m.mtime
            dst.addfile(link)
            srv = tarfile.TarInfo(m.name.replace("etc", "srv"))
            srv.type, srv.mode, srv.mtime = tarfile.DIRTYPE, 0o755, m.mtime
            dst.addfile(srv)
PY
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
# The real image's busybox (Alpine's) has printenv; Debian's busybox-static
# has not: a script that behaves the same for what the suite asks of it.
cat >"$ctx/printenv" <<'PRINTENV'
#!/bin/sh
# printenv [NAME...]: the environment, or the values of the NAMEs (exit 1
# when one is not set), as busybox's printenv.
[ $# -eq 0 ] && exec env
st=0
for n in "$@"; do
	case $n in *[!A-Za-z0-9_]* | "") st=1; continue ;; esac
	if eval "[ \"\${$n+set}\" = set ]"; then eval "printf '%s\\n' \"\$$n\""; else st=1; fi
done
exit $st
PRINTENV
chmod 0755 "$ctx/printenv"
# Alpine's busybox has adduser, Debian's busybox-static has not: a script
# for the form 030-run uses (adduser -u UID -G GROUP -D -g GECOS -s SHELL
# NAME), writing /etc/passwd as busybox's does. Alpine's /etc/group has
# ping (999), which that test names.
cat >"$ctx/adduser" <<'ADDUSER'
#!/bin/sh
# adduser [-u UID] [-G GROUP] [-D] [-g GECOS] [-s SHELL] [-h HOME] NAME
uid= group= gecos= shell=/bin/sh home=
while getopts u:G:Dg:s:h: o; do
	case $o in
	u) uid=$OPTARG ;; G) group=$OPTARG ;; D) ;; g) gecos=$OPTARG ;;
	s) shell=$OPTARG ;; h) home=$OPTARG ;; *) exit 1 ;;
	esac
done
shift $((OPTIND - 1))
name=${1:?usage: adduser [-u UID] [-G GROUP] [-D] [-g GECOS] [-s SHELL] NAME}
grep -q "^$name:" /etc/passwd && { echo "adduser: user '$name' in use" >&2; exit 1; }
gid=$(awk -F: -v g="${group:-$name}" '$1 == g { print $3 }' /etc/group)
[ -n "$gid" ] || { echo "adduser: unknown group ${group:-$name}" >&2; exit 1; }
[ -n "$uid" ] || uid=$(awk -F: 'BEGIN { m = 999 } $3 > m && $3 < 60000 { m = $3 } END { print m + 1 }' /etc/passwd)
home=${home:-/home/$name}
echo "$name:x:$uid:$gid:$gecos:$home:$shell" >>/etc/passwd
mkdir -p "$home" && chown "$uid:$gid" "$home"
ADDUSER
chmod 0755 "$ctx/adduser"
# The real image is Alpine's, whose /etc/os-release the suite counts on
# (cp refuses to copy a directory onto it, 060-mount diffs it).
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.16.0\nPRETTY_NAME="Alpine Linux v3.16"\n' >"$ctx/os-release"
touch --date=@1600000000 "$ctx/os-release"
# Alpine's /etc/services too: 140-diff deletes it and looks for the D.
printf 'ftp\t\t21/tcp\nssh\t\t22/tcp\nhttp\t\t80/tcp\t\twww\n' >"$ctx/services"
touch --date=@1600000000 "$ctx/services"
cat >"$ctx/Containerfile" <<CF
FROM localhost/testimage-base
ADD os-release services /etc/
ADD printenv /usr/bin/
ADD adduser /usr/sbin/
RUN echo 'ping:x:999:' >>/etc/group
ADD testimage-id pause /home/podman/
# Alpine's busybox-extras (httpd, which the suite serves pages with): the
# same busybox, which runs the applet its first argument names.
RUN ln -s busybox /bin/busybox-extras
LABEL created_by=test/system/build-testimage
LABEL created_at=2022-06-15T00:00:00Z
WORKDIR /home/podman
CMD ["/bin/echo", "This container is intended for podman CI testing"]
CF
"$myctr" build -q -t "$name" "$ctx" >/dev/null
"$myctr" save --format docker-archive -o "$ctx/built.tar" "$name"
# The real image was made on 2022-06-15: its CREATED column reads "2 years
# ago" however long a test takes, where a stand-in made now would turn
# "12 seconds ago" into "13 seconds ago" between two listings that a test
# compares. The config's dates become that day (a new config digest, so
# a new image id), the layers stay as built.
python3 - "$ctx/built.tar" "$out" <<'PY'
import hashlib, io, json, sys, tarfile
when = "2022-06-15T00:00:00Z"
with tarfile.open(sys.argv[1]) as src:
    manifest = json.load(src.extractfile("manifest.json"))
    cfg = json.load(src.extractfile(manifest[0]["Config"]))
    cfg["created"] = when
    for h in cfg.get("history", []):
        h["created"] = when
    data = json.dumps(cfg, separators=(",", ":")).encode()
    name = "sha256:" + hashlib.sha256(data).hexdigest()
    old = manifest[0]["Config"]
    manifest[0]["Config"] = name
    with tarfile.open(sys.argv[2], "w") as dst:
        for m in src.getmembers():
            if m.name == old:
                continue
            if m.name == "manifest.json":
                body = json.dumps(manifest).encode()
                m.size = len(body)
                dst.addfile(m, io.BytesIO(body))
                continue
            dst.addfile(m, src.extractfile(m))
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        dst.addfile(info, io.BytesIO(data))
PY
"$myctr" rmi "$name" localhost/testimage-base >/dev/null
