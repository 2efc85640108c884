#!/bin/bash
# bench-cgroups.sh: the cost of a container's cgroup, inside the VM guest
# (job.sh runs it as root when run.sh is given MYCTR_VM_BENCH=1; `make
# bench` does that through tests/bench/cgroups.sh). As vmuser, whose user
# manager delegates memory, interleaved rounds of:
#
#   nocgroup     myctr run --rm --network none --cgroups=disabled bb true
#   plain        myctr run --rm --network none bb true   (a scope, no limit)
#   memory       myctr run --rm --network none --memory 64m bb true
#   podman       podman run --rm --network none localhost/bb true
#   podman-mem   podman run --rm --network none --memory 64m localhost/bb true
#
# (podman 4.3 from the guest image, rootless, systemd cgroup manager, runc
# or crun as Debian installs it). Prints the medians and the ratios:
# memory/nocgroup is the cost of a container's own cgroup with a limit
# (target <= 1.30).
# Under TCG absolute times are ~30x a host's: only ratios mean anything.
set -euo pipefail

runs=${BENCH_RUNS:-15}
user=vmuser
uid=$(id -u "$user")
gid=$(id -g "$user")
home=$(getent passwd "$user" | cut -d: -f6)
tar=${1:?usage: $0 BB.TAR}

as_user() {
	setpriv --reuid="$uid" --regid="$gid" --init-groups \
		env -i HOME="$home" USER="$user" LOGNAME="$user" PATH=/usr/bin:/bin:/usr/sbin:/sbin \
		XDG_RUNTIME_DIR="/run/user/$uid" LANG=C.UTF-8 "$@"
}

install -m 0644 "$tar" /var/tmp/bench-bb.tar
as_user myctr import /var/tmp/bench-bb.tar bb >/dev/null 2>&1 || true
have_podman=
if command -v podman >/dev/null && as_user podman import /var/tmp/bench-bb.tar localhost/bb >/dev/null 2>&1 &&
	as_user podman run --rm --network none --memory 64m localhost/bb true >/dev/null 2>&1; then
	have_podman=yes
fi

# ms CMD...: wall time of one run in milliseconds (fails the bench when
# the command fails: a failing run is not a fast one).
ms() {
	local t0 t1
	t0=$(date +%s%N)
	if ! as_user "$@" >/dev/null 2>/tmp/bench-err; then
		echo "Error: $* failed: $(tail -n 3 /tmp/bench-err)" >&2
		exit 1
	fi
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

declare -A times
kinds=(nocgroup plain memory)
[[ -n $have_podman ]] && kinds+=(podman podman-mem)
# One warm-up round, then interleaved rounds.
for ((i = 0; i <= runs; i++)); do
	for k in "${kinds[@]}"; do
		case $k in
		nocgroup) t=$(ms myctr run --rm --network none --cgroups=disabled bb true) ;;
		plain) t=$(ms myctr run --rm --network none bb true) ;;
		memory) t=$(ms myctr run --rm --network none --memory 64m bb true) ;;
		podman) t=$(ms podman run --rm --network none localhost/bb true) ;;
		podman-mem) t=$(ms podman run --rm --network none --memory 64m localhost/bb true) ;;
		esac
		((i == 0)) || times[$k]+="$t "
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A med
echo "median start-up in the guest (TCG), $runs interleaved runs each"
for k in "${kinds[@]}"; do
	med[$k]=$(echo "${times[$k]}" | median)
	printf '  %-11s %8s ms\n' "$k" "${med[$k]}"
done
echo
echo "ratio                     value   target"
r=$(awk -v a="${med[memory]}" -v b="${med[nocgroup]}" 'BEGIN {printf "%.2f", a / b}')
ok=$(awk -v r="$r" 'BEGIN {print (r <= 1.30) ? "met" : "MISSED"}')
printf '  myctr memory/nocgroup   %s    <= 1.30  %s\n' "$r" "$ok"
r=$(awk -v a="${med[plain]}" -v b="${med[nocgroup]}" 'BEGIN {printf "%.2f", a / b}')
printf '  myctr plain/nocgroup    %s    (the scope alone)\n' "$r"
if [[ -n $have_podman ]]; then
	r=$(awk -v a="${med[memory]}" -v b="${med[podman-mem]}" 'BEGIN {printf "%.2f", a / b}')
	printf '  myctr/podman --memory   %s\n' "$r"
	r=$(awk -v a="${med[podman-mem]}" -v b="${med[podman]}" 'BEGIN {printf "%.2f", a / b}')
	printf '  podman memory/plain     %s\n' "$r"
else
	echo "  podman: not measured (not installed in the guest, or its --memory run failed)"
fi
