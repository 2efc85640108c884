#!/usr/bin/env bash
# helper-env.sh up|down|status: the world of the helper tier (tests/helper),
# as root, on a machine without systemd or logind (see TESTING.md, tier 3).
#
# up (idempotent) makes:
#   - a system bus: `dbus-daemon --system --fork` unless one already answers
#     on /run/dbus/system_bus_socket (recorded: down stops only what up
#     started);
#   - the project's polkit actions (polkit/org.myctr.helper.policy), its bus
#     policy (systemd/org.myctr.Helper1.conf; then the bus reloads its
#     config) and a test activation file org.myctr.Helper1.service whose Exec=
#     is the helper under test (MYCTR_HELPER_BIN, default bin/myctr-helper)
#     with --config /run/myctr-helper-test/helper.conf, its output appended
#     to /run/myctr-helper-test/helper.log;
#   - /etc/polkit-1/rules.d/50-myctr-helper-test.rules: org.myctr.helper.network
#     (and nothing else) is granted to group myctr-helper-test, which holds
#     myctr-test and myctr-other (a second user, for the cross-user cases)
#     and not myctr-nosub (the user outside the rule);
#   - polkitd, unless org.freedesktop.PolicyKit1 has an owner (recorded);
#   - network namespaces myctr-helper-test (where the helper makes every
#     host-side object: netns= in helper.conf) and myctr-helper-client, joined
#     by a veth: 10.99.0.1/24 (mht0, test side), 10.99.0.2/24 (mhc0, client);
#   - /run/myctr-helper-test/helper.conf (state_dir under the same
#     directory, so that nothing mixes with a real install);
#   then checks with busctl and pkcheck that the bus and polkit answer as the
#   rules say (myctr-test authorized, myctr-nosub not).
# down stops the helper activated for the test (its pid from the bus, and
# only if its command line names our config), then polkitd and dbus-daemon
# if up started them; removes the installed files (putting back any file
# they replaced), the namespaces and /run/myctr-helper-test. The group
# membership stays.
# status prints what is up.
#
# Nothing is created in the machine's own network namespace.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
src=${MYCTR_SRC_DIR:-$repo} # where polkit/ and systemd/ are taken from
helper_bin=${MYCTR_HELPER_BIN:-$repo/bin/myctr-helper}

dir=/run/myctr-helper-test
conf=$dir/helper.conf
manifest=$dir/installed # "DEST BACKUP-OR-DASH" per installed file
bus_socket=/run/dbus/system_bus_socket
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$bus_socket

bus_name=org.myctr.Helper1
group=myctr-helper-test
allowed_user=myctr-test
other_user=myctr-other # allowed too: a second uid on the bridge
denied_user=myctr-nosub
netns=myctr-helper-test
client_netns=myctr-helper-client
test_if=mht0
client_if=mhc0
test_addr=10.99.0.1
client_addr=10.99.0.2

polkit_actions=/usr/share/polkit-1/actions/org.myctr.helper.policy
bus_policy=/usr/share/dbus-1/system.d/org.myctr.Helper1.conf
activation=/usr/share/dbus-1/system-services/org.myctr.Helper1.service
rules=/etc/polkit-1/rules.d/50-myctr-helper-test.rules
polkitd=/usr/lib/polkit-1/polkitd

log() { echo "helper-env.sh: $*" >&2; }
die() {
	echo "Error: $1" >&2
	[[ -n ${2:-} ]] && echo "Hint: $2" >&2
	exit 1
}

# bus_call METHOD ARGS...: a call to the bus driver; prints the reply's
# value (the last word of dbus-send's output).
bus_call() {
	local method=$1
	shift
	dbus-send --system --reply-timeout=5000 --print-reply=literal --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus "org.freedesktop.DBus.$method" "$@" 2>/dev/null | awk '{print $NF}'
}
bus_answers() { [[ -S $bus_socket ]] && [[ -n $(bus_call GetId) ]]; }
netns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
has_owner() { [[ $(bus_call NameHasOwner "string:$1") == true ]]; }
owner_pid() { bus_call GetConnectionUnixProcessID "string:$1"; }

# pid_is PIDFILE EXE: the pid recorded in PIDFILE, if it still runs EXE.
pid_is() {
	local pid
	[[ -f $1 ]] || return 1
	pid=$(cat "$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(readlink "/proc/$pid/exe" 2>/dev/null || true) == "$2" ]] || return 1
	echo "$pid"
}

# stop_pid PID: TERM, then KILL after 5 s.
stop_pid() {
	local pid=$1
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# install_file SRC-FILE-OR-"-" DEST MODE: install (stdin when SRC is -),
# recording DEST in the manifest the first time, with a backup of any file
# it replaces that is not ours.
install_file() {
	local srcf=$1 dest=$2 mode=$3 backup=-
	if ! grep -q "^$dest " "$manifest" 2>/dev/null; then
		if [[ -e $dest ]]; then
			backup=$dir/backup/$(echo "$dest" | tr / _)
			mkdir -p "$dir/backup"
			cp -a "$dest" "$backup"
		fi
		echo "$dest $backup" >>"$manifest"
	fi
	mkdir -p "$(dirname "$dest")"
	if [[ $srcf == - ]]; then
		cat >"$dest.tmp"
	else
		cat "$srcf" >"$dest.tmp"
	fi
	chmod "$mode" "$dest.tmp"
	mv "$dest.tmp" "$dest"
}

up() {
	[[ -x $helper_bin ]] || die "$helper_bin is missing" "make build (or set MYCTR_HELPER_BIN)"
	helper_bin=$(readlink -f "$helper_bin")
	for f in polkit/org.myctr.helper.policy systemd/org.myctr.Helper1.conf; do
		[[ -f $src/$f ]] || die "$src/$f is missing: the helper tier needs it" "it belongs to the helper's part of the tree"
	done
	for tool in dbus-daemon dbus-send busctl pkcheck ip nft "$polkitd"; do
		command -v "$tool" >/dev/null || die "$tool not found" "run tests/setup/deps.sh as root"
	done
	mkdir -p "$dir" "$dir/state"
	chmod 0755 "$dir"
	chmod 0700 "$dir/state"

	"$here/user.sh" >/dev/null

	# --- the system bus
	if ! bus_answers; then
		mkdir -p /run/dbus
		# A pid file left by a bus that is gone makes dbus-daemon refuse.
		if [[ -f /run/dbus/pid ]] && ! kill -0 "$(cat /run/dbus/pid)" 2>/dev/null; then
			rm -f /run/dbus/pid
		fi
		[[ -e /etc/machine-id || -e /var/lib/dbus/machine-id ]] || dbus-uuidgen --ensure
		pid=$(dbus-daemon --system --fork --print-pid) || die "dbus-daemon --system failed"
		echo "$pid" >"$dir/dbus-daemon.pid"
		log "started dbus-daemon --system (pid $pid)"
		for _ in $(seq 50); do
			bus_answers && break
			sleep 0.1
		done
		bus_answers || die "the system bus does not answer on $bus_socket"
	fi

	# --- files
	install_file "$src/polkit/org.myctr.helper.policy" "$polkit_actions" 0644
	install_file "$src/systemd/org.myctr.Helper1.conf" "$bus_policy" 0644
	# The test variant of the activation file, made from the real one:
	# Exec= runs the helper under test with our config, and SystemdService=
	# goes (a bus with systemd activation would start the installed unit
	# instead of this binary). Name= and User=root (which the launch helper
	# demands) stay as shipped. sh -c 'exec ...' keeps the helper's pid and
	# catches its log (dbus-daemon --fork has none).
	{
		echo "# Made by tests/setup/helper-env.sh from systemd/org.myctr.Helper1.service"
		echo "# for the helper tier; removed by helper-env.sh down."
		sed -e "s|^Exec=.*|Exec=/bin/sh -c \"exec $helper_bin --config $conf >>$dir/helper.log 2>\&1\"|" \
			-e '/^SystemdService=/d' "$src/systemd/org.myctr.Helper1.service"
	} | install_file - "$activation" 0644
	install_file - "$rules" 0644 <<EOF
// Installed by tests/setup/helper-env.sh for the helper tier: members of
// $group may attach containers to bridges (org.myctr.helper.network) and
// ask for containers' cgroups (org.myctr.helper.cgroup), and nothing more
// (not org.myctr.helper.publish-low-port).
polkit.addRule(function(action, subject) {
    if ((action.id == "org.myctr.helper.network" || action.id == "org.myctr.helper.cgroup") && subject.isInGroup("$group")) {
        return polkit.Result.YES;
    }
});
EOF
	bus_call ReloadConfig >/dev/null || die "org.freedesktop.DBus.ReloadConfig failed"

	# --- the group
	getent group "$group" >/dev/null || groupadd "$group"
	for u in "$allowed_user" "$other_user"; do
		if ! id -nG "$u" | tr ' ' '\n' | grep -qx "$group"; then
			gpasswd -a "$u" "$group" >/dev/null
		fi
	done
	if id -nG "$denied_user" | tr ' ' '\n' | grep -qx "$group"; then
		gpasswd -d "$denied_user" "$group" >/dev/null
	fi

	# --- polkitd
	if ! has_owner org.freedesktop.PolicyKit1; then
		setsid "$polkitd" --no-debug >>"$dir/polkitd.log" 2>&1 </dev/null &
		echo $! >"$dir/polkitd.pid"
		log "started polkitd (pid $!)"
		for _ in $(seq 100); do
			has_owner org.freedesktop.PolicyKit1 && break
			kill -0 "$(cat "$dir/polkitd.pid")" 2>/dev/null || break
			sleep 0.1
		done
		has_owner org.freedesktop.PolicyKit1 || {
			cat "$dir/polkitd.log" >&2
			die "polkitd did not take org.freedesktop.PolicyKit1"
		}
	fi

	# --- namespaces (never the machine's own)
	netns_exists "$netns" || ip netns add "$netns"
	netns_exists "$client_netns" || ip netns add "$client_netns"
	ip -n "$netns" link set lo up
	ip -n "$client_netns" link set lo up
	if ! ip -n "$netns" link show "$test_if" >/dev/null 2>&1; then
		ip -n "$client_netns" link del "$client_if" 2>/dev/null || true
		ip -n "$netns" link add "$test_if" type veth peer name "$client_if" netns "$client_netns"
		ip -n "$netns" addr add "$test_addr/24" dev "$test_if"
		ip -n "$client_netns" addr add "$client_addr/24" dev "$client_if"
	fi
	ip -n "$netns" link set "$test_if" up
	ip -n "$client_netns" link set "$client_if" up

	# --- the helper's configuration
	cat >"$conf.tmp" <<EOF
# Written by tests/setup/helper-env.sh: the helper tier's configuration.
bridge=myctr0
subnet=10.88.0.0/16
mtu=1500
max_containers_per_user=8
max_ports_per_user=8
idle_timeout=3s
reap_interval=2s
state_dir=$dir/state
netns=/run/netns/$netns
EOF
	mv "$conf.tmp" "$conf"
	chmod 0644 "$conf"
	touch "$dir/helper.log"

	check
	log "up: bus $bus_socket, polkit, $activation -> $helper_bin, netns $netns + $client_netns, $conf"
}

# check: polkit answers as the rules say. Rules are re-read on a change
# (inotify): retry for a few seconds.
check() {
	busctl --system status org.freedesktop.PolicyKit1 >/dev/null ||
		die "busctl cannot reach org.freedesktop.PolicyKit1"
	local ok u
	for u in "$allowed_user" "$other_user"; do
		ok=
		for _ in $(seq 50); do
			# shellcheck disable=SC2016 # $$ is the inner shell, which pkcheck replaces
			if "$here/as-user.sh" "$u" sh -c 'exec pkcheck --action-id org.myctr.helper.network --process $$' >/dev/null 2>&1; then
				ok=1
				break
			fi
			sleep 0.1
		done
		[[ -n $ok ]] || die "pkcheck: $u is not authorized for org.myctr.helper.network" "see $rules and $dir/polkitd.log"
	done
	# shellcheck disable=SC2016
	if "$here/as-user.sh" "$allowed_user" sh -c 'exec pkcheck --action-id org.myctr.helper.publish-low-port --process $$' >/dev/null 2>&1; then
		die "pkcheck: $allowed_user is authorized for org.myctr.helper.publish-low-port; the test rules must not grant it"
	fi
	# shellcheck disable=SC2016
	if "$here/as-user.sh" "$denied_user" sh -c 'exec pkcheck --action-id org.myctr.helper.network --process $$' >/dev/null 2>&1; then
		die "pkcheck: $denied_user is authorized for org.myctr.helper.network; it must be outside the rule"
	fi
}

down() {
	if bus_answers; then
		# The helper activated for the test, and only that one.
		if has_owner "$bus_name"; then
			pid=$(owner_pid "$bus_name")
			if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--config $conf"; then
				log "stopping the test helper (pid $pid)"
				stop_pid "$pid"
			elif [[ -n $pid ]]; then
				log "$bus_name is owned by pid $pid, not the test's helper: left alone"
			fi
		fi
	fi
	# Installed files, last first, with what they replaced put back.
	if [[ -f $manifest ]]; then
		tac "$manifest" | while read -r dest backup; do
			if [[ $backup != - && -e $backup ]]; then
				cp -a "$backup" "$dest"
			else
				rm -f "$dest"
			fi
		done
		rm -f "$manifest"
		if bus_answers; then
			bus_call ReloadConfig >/dev/null || true
		fi
	fi
	if pid=$(pid_is "$dir/polkitd.pid" "$polkitd"); then
		log "stopping polkitd (pid $pid)"
		stop_pid "$pid"
	fi
	rm -f "$dir/polkitd.pid"
	if pid=$(pid_is "$dir/dbus-daemon.pid" "$(command -v dbus-daemon)"); then
		log "stopping dbus-daemon (pid $pid)"
		stop_pid "$pid"
		# dbus-daemon leaves both behind on SIGTERM.
		if [[ $(cat /run/dbus/pid 2>/dev/null) == "$pid" ]]; then
			rm -f /run/dbus/pid "$bus_socket"
		fi
	fi
	rm -f "$dir/dbus-daemon.pid"
	for ns in "$client_netns" "$netns"; do
		if netns_exists "$ns"; then
			ip netns del "$ns"
		fi
	done
	rm -rf "$dir"
	log "down"
}

status() {
	echo "bus:        $(bus_answers && echo "answers on $bus_socket" || echo "none")"
	if bus_answers; then
		echo "polkit:     $(has_owner org.freedesktop.PolicyKit1 && echo "pid $(owner_pid org.freedesktop.PolicyKit1)" || echo "no owner")"
		echo "helper:     $(has_owner "$bus_name" && echo "pid $(owner_pid "$bus_name")" || echo "not running")"
	fi
	echo "namespaces: $(for ns in "$netns" "$client_netns"; do netns_exists "$ns" && printf '%s ' "$ns"; done)"
	echo "config:     $([[ -f $conf ]] && echo "$conf" || echo "none")"
}

if [[ $(id -u) -ne 0 ]]; then
	die "helper-env.sh must run as root" "sudo $0 ${1:-up}"
fi
case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*)
	echo "usage: $0 up|down|status" >&2
	exit 2
	;;
esac
