#!/usr/bin/env bash
# registry.sh start|stop: a throwaway OCI registry (Debian's docker-registry,
# the CNCF distribution registry) on the loopback interface, for pulling
# by hand and for tests. Runs as whoever calls it (root or a user).
#
# Environment: REGISTRY_PORT (5000), REGISTRY_DIR (a state directory,
# default /tmp/myctr-registry-$UID: config.yml, storage/, pid, log).
# With REGISTRY_HTPASSWD=FILE the registry asks for basic authentication.
#
#   tests/setup/registry.sh start
#   skopeo copy --dest-tls-verify=false oci-archive:bb.tar docker://127.0.0.1:5000/bb:latest
#   myctr pull 127.0.0.1:5000/bb:latest
#   tests/setup/registry.sh stop
set -euo pipefail

port=${REGISTRY_PORT:-5000}
dir=${REGISTRY_DIR:-/tmp/myctr-registry-$(id -u)}
bin=/usr/bin/docker-registry

start() {
	if [[ ! -x $bin ]]; then
		echo "Error: $bin is missing" >&2
		echo "Hint: apt-get install docker-registry (tests/setup/deps.sh does)" >&2
		exit 1
	fi
	if [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		echo "registry.sh: already running (pid $(cat "$dir/pid")) on 127.0.0.1:$port" >&2
		exit 0
	fi
	mkdir -p "$dir/storage"
	chmod 0700 "$dir"
	{
		echo "version: 0.1"
		echo "log:"
		echo "  level: warn"
		echo "  accesslog:"
		echo "    disabled: true"
		echo "storage:"
		echo "  filesystem:"
		echo "    rootdirectory: $dir/storage"
		echo "  delete:"
		echo "    enabled: true"
		echo "http:"
		echo "  addr: 127.0.0.1:$port"
		if [[ -n ${REGISTRY_HTPASSWD:-} ]]; then
			echo "auth:"
			echo "  htpasswd:"
			echo "    realm: myctr-test"
			echo "    path: $REGISTRY_HTPASSWD"
		fi
	} >"$dir/config.yml"
	# setsid: the registry outlives this script, in its own session.
	setsid "$bin" serve "$dir/config.yml" >"$dir/log" 2>&1 </dev/null &
	echo $! >"$dir/pid"
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "registry.sh: serving 127.0.0.1:$port (pid $(cat "$dir/pid"), state in $dir)" >&2
			exit 0
		fi
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			echo "Error: the registry exited; its log:" >&2
			cat "$dir/log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "Error: the registry does not listen on 127.0.0.1:$port after 10 s; its log:" >&2
	cat "$dir/log" >&2
	exit 1
}

stop() {
	if [[ ! -f $dir/pid ]]; then
		echo "registry.sh: not running (no $dir/pid)" >&2
		exit 0
	fi
	pid=$(cat "$dir/pid")
	# Only the pid we started, and only while it still is the registry.
	if [[ $(readlink "/proc/$pid/exe" 2>/dev/null || true) == "$bin" ]]; then
		kill "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$dir"
	echo "registry.sh: stopped" >&2
}

case ${1:-} in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
