#!/usr/bin/env bash
# user.sh: create the non-root users that the integration tests, benchmarks
# and demo run as, and do for them what logind and udev would do on a desktop.
# Idempotent. Run as root. Prints the uid of myctr-test on stdout (and nothing
# else there).
#
#   myctr-test   subuid/subgid myctr-test:200000:65536 (added only if the user
#                has no entry yet), /run/user/UID, containers.conf for podman
#   myctr-nosub  no subuid/subgid entries at all (single-mapping fallback)
#   myctr-other  a second user beside myctr-test (no ranges): the helper tier's
#                cross-user cases need two users that polkit allows
set -euo pipefail

TEST_USER=myctr-test
NOSUB_USER=myctr-nosub
OTHER_USER=myctr-other
SUB_START=200000
SUB_COUNT=65536

if [[ $(id -u) -ne 0 ]]; then
	echo "Error: user.sh must run as root" >&2
	exit 1
fi

log() { echo "user.sh: $*" >&2; }

# make_user NAME: create NAME with a home and bash. -K SUB_*_COUNT=0 keeps
# Debian's useradd from allocating a subordinate range on its own: we decide.
make_user() {
	local name=$1
	if ! id -u "$name" >/dev/null 2>&1; then
		log "creating user $name"
		useradd -m -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name"
	fi
}

# runtime_dir NAME: what pam_systemd/logind would create at login.
runtime_dir() {
	local name=$1 uid gid
	uid=$(id -u "$name")
	gid=$(id -g "$name")
	mkdir -p /run/user
	chmod 0755 /run/user
	mkdir -p "/run/user/$uid"
	# logind mounts a tmpfs there (RuntimeDirectorySize); so do we, so that
	# runtime state lives in memory here as on a desktop.
	if ! mountpoint -q "/run/user/$uid"; then
		mount -t tmpfs -o "mode=0700,uid=$uid,gid=$gid,size=10%,nosuid,nodev" tmpfs "/run/user/$uid"
	fi
	chown "$uid:$gid" "/run/user/$uid"
	chmod 0700 "/run/user/$uid"
}

make_user "$TEST_USER"
make_user "$NOSUB_USER"
make_user "$OTHER_USER"

for f in /etc/subuid /etc/subgid; do
	touch "$f"
	if ! grep -q "^$TEST_USER:" "$f"; then
		# Warn (do not fail) when another entry overlaps our fixed range.
		awk -F: -v s="$SUB_START" -v c="$SUB_COUNT" -v me="$TEST_USER" \
			'$1 != me && $2 < s + c && s < $2 + $3 { print "user.sh: warning: " FILENAME ": " $0 " overlaps " s ":" c > "/dev/stderr" }' "$f"
		log "adding $TEST_USER:$SUB_START:$SUB_COUNT to $f"
		echo "$TEST_USER:$SUB_START:$SUB_COUNT" >>"$f"
	fi
	# myctr-nosub must have no range, by name or by uid.
	nosub_uid=$(id -u "$NOSUB_USER")
	if grep -qE "^($NOSUB_USER|$nosub_uid):" "$f"; then
		log "removing $NOSUB_USER entries from $f"
		sed -i -E "/^($NOSUB_USER|$nosub_uid):/d" "$f"
	fi
done

runtime_dir "$TEST_USER"
runtime_dir "$NOSUB_USER"
runtime_dir "$OTHER_USER"

# No udev here: do what a distribution's rule does so that slirp4netns and
# pasta can open the tun device as a user.
if [[ -e /dev/net/tun ]]; then
	chmod 0666 /dev/net/tun
fi

# Rootless podman on this host: no systemd (so cgroupfs and file events) and
# runc (Debian's crun refuses the cgroup v1/v2 hybrid).
home=$(getent passwd "$TEST_USER" | cut -d: -f6)
uid=$(id -u "$TEST_USER")
gid=$(id -g "$TEST_USER")
conf_dir=$home/.config/containers
want='[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"'
if [[ ! -f $conf_dir/containers.conf ]] || [[ $(cat "$conf_dir/containers.conf") != "$want" ]]; then
	log "writing $conf_dir/containers.conf"
	install -d -o "$uid" -g "$gid" -m 0755 "$home/.config" "$conf_dir"
	printf '%s\n' "$want" >"$conf_dir/containers.conf"
	chown "$uid:$gid" "$conf_dir/containers.conf"
	chmod 0644 "$conf_dir/containers.conf"
fi

echo "$uid"
