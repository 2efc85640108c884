#!/usr/bin/env bash
# tests/bench/detached.sh: what detached containers cost the host, myctr
# beside podman in one run, on the busybox image (issue #15's rows):
#
#   memory  one container with a published port, after one request through it:
#             myctr  run -d -p PORT:8080 localhost/bb httpd -f -p 8080 -h /etc
#             podman run -d -p PORT:8080 localhost/bb httpd -f -p 8080 -h /etc
#           RSS and PSS of the host processes there because of it;
#           target: myctr/podman <= 0.5 (RSS).
#   scale   BENCH_SCALE (100) containers `run -d --network none localhost/bb
#           sleep 1000`, one after another, myctr's then podman's; the host
#           memory of each set (as above) while both run; `ps` with all of
#           them running (hyperfine, both in one run); `rm -f` of each set in
#           one command (podman: rm -f -t 0, or it waits 10 s for each to
#           stop). Wall time of each phase. Targets: myctr faster than podman,
#           memory <= 0.5 of podman's, ps under 50 ms.
#
# Which processes count: those of the test user (its uid or one of its
# subordinate ids) that are in a listing of /proc taken after the run
# commands (once the port answers and two listings 0.5 s apart agree, so
# that short-lived helpers such as newuidmap are gone) and not in the one
# taken just before them (pid and start time), less the processes in the
# containers' own pid namespaces (the pid inspect reports names the
# namespace), less zombies and this script's own processes. For myctr that
# is its monitor, network watcher, slirp4netns and port forwarder; for
# podman conmon, rootlessport (two processes) and slirp4netns. Podman's
# pause process (catatonit, one per user, made before the first listing by
# `podman unshare true`) does not count. Nothing else may start processes
# as the test user meanwhile: the listings cannot tell them apart (the
# per-name breakdown printed shows any stranger), and as a check each
# counted process must be gone after rm -f; the script says which are not.
#
# RSS and PSS are summed from /proc/PID/smaps_rollup. Some helpers (myctr's
# port forwarder, for one) are not dumpable, and only root may read theirs:
# as root (tests/bench/run.sh calls it so) the script drives the test user
# through as-user.sh and reads /proc itself; as another user it counts what
# it can read and says how many processes it could not.
#
#   make build && tests/bench/detached.sh        (as root)
#
# Environment: MYCTR_BIN (bin/myctr), BENCH_SCALE (100), BENCH_PS_RUNS (20),
# TEST_USER (myctr-test; ignored when not root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=$repo/tests/setup
myctr=${MYCTR_BIN:-$repo/bin/myctr}
scale=${BENCH_SCALE:-100}
ps_runs=${BENCH_PS_RUNS:-20}
img=localhost/bb

die() {
	echo "Error: $1" >&2
	[[ -n ${2:-} ]] && echo "Hint: $2" >&2
	exit 1
}
step() { echo "== detached.sh (${SECONDS} s): $*" >&2; }

if [[ $(id -u) -eq 0 ]]; then
	user=${TEST_USER:-myctr-test}
else
	user=$(id -un)
fi
uid=$(id -u "$user")
[[ $scale =~ ^[1-9][0-9]*$ ]] || die "BENCH_SCALE=$scale is not a positive number"
for tool in hyperfine jq podman stat; do
	command -v "$tool" >/dev/null || die "$tool not found" "run tests/setup/deps.sh as root"
done
[[ -x $myctr ]] || die "$myctr not found" "make build"

# The test user's subordinate uids count as the user's.
read -r sub_start sub_count < <(awk -F: -v n="$user" -v u="$uid" \
	'($1 == n || $1 == u) { print $2, $3; exit } END { print 0, 0 }' /etc/subuid)

# as the test user (as-user.sh runs CMD as we are when we are not root).
asu() { "$setup/as-user.sh" "$user" "$@"; }

rt=/run/user/$uid
[[ $(id -u) -eq 0 ]] || rt=${XDG_RUNTIME_DIR:-$rt}
work=$(asu mktemp -d /tmp/myctr-bench-detached.XXXXXX)
runroot=$(asu mktemp -d "$rt/myctr-bench-detached.XXXXXX")
m() { asu "$myctr" --root "$work/root" --runroot "$runroot" "$@"; }
p() { asu podman "$@"; }

tag=bench-$$
names=()
for ((i = 1; i <= scale; i++)); do
	names+=("$tag-scale-$i")
done
cleanup() {
	set +e
	m rm -f "$tag-port" "${names[@]}" >/dev/null 2>&1
	p rm -f -i -t 0 "$tag-port" "${names[@]}" >/dev/null 2>&1
	[[ -d $work/root ]] && m unshare rm -rf "$work/root"
	asu rm -rf "$work" "$runroot"
}
trap cleanup EXIT

# ---- processes ---------------------------------------------------------------

# procs: "PID:STARTTIME" of every live process of the test user's ids, not
# counting this script and its children.
procs() {
	local d pid key val _ line rest owner
	local -a f
	local -A parent=()
	local -a cand=()
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		{ read -r line <"$d/stat"; } 2>/dev/null || continue
		rest=${line##*) }
		read -r -a f <<<"$rest"
		parent[$pid]=${f[1]}
		[[ ${f[0]} == [ZX] ]] && continue
		owner=
		{ while read -r key val _; do
			if [[ $key == Uid: ]]; then
				owner=$val
				break
			fi
		done <"$d/status"; } 2>/dev/null || continue
		[[ -n $owner ]] || continue
		((owner == uid || (owner >= sub_start && owner < sub_start + sub_count))) || continue
		cand+=("$pid:${f[19]}")
	done
	local c a
	for c in "${cand[@]}"; do
		a=${c%%:*}
		while [[ -n $a && $a != 0 && $a != 1 && $a != "$$" ]]; do
			a=${parent[$a]:-}
		done
		[[ $a == "$$" ]] || echo "$c"
	done
}

# settle: procs, once two listings 0.5 s apart agree (at most 10 s).
settle() {
	local a b i
	a=$(procs)
	for ((i = 0; i < 20; i++)); do
		sleep 0.5
		b=$(procs)
		[[ $a == "$b" ]] && break
		a=$b
	done
	printf '%s\n' "$b"
}

# appeared BEFORE AFTER CPID...: the entries of AFTER not in BEFORE, less
# those in the pid namespace of any CPID (the containers' own processes).
appeared() {
	local before=$1 after=$2 e ino
	shift 2
	local -A cns=() ns=()
	if (($#)); then
		while read -r _ ino; do cns[$ino]=1; done < <(cd /proc && stat -L -c '%n %i' "${@/%//ns/pid}" 2>/dev/null)
	fi
	local -a new
	mapfile -t new < <(comm -13 <(sort <<<"$before") <(sort <<<"$after") | grep .)
	((${#new[@]})) || return 0
	local -a paths=()
	for e in "${new[@]}"; do paths+=("${e%%:*}/ns/pid"); done
	while read -r e ino; do ns[${e%%/*}]=$ino; done < <(cd /proc && stat -L -c '%n %i' "${paths[@]}" 2>/dev/null)
	for e in "${new[@]}"; do
		ino=${ns[${e%%:*}]:-}
		[[ -n $ino && -n ${cns[$ino]:-} ]] || echo "$e"
	done
}

# measure PID:START...: sets RSS and PSS (kB), N (processes read), UNREAD
# (processes whose smaps_rollup could not be read) and DETAIL (per command
# name: count, RSS/PSS in MiB).
measure() {
	local e pid key val _ r q comm
	local -A cnt=() crss=() cpss=()
	RSS=0 PSS=0 N=0 UNREAD=0
	for e in "$@"; do
		pid=${e%%:*}
		r='' q=''
		{ while read -r key val _; do
			case $key in
			Rss:) r=$val ;;
			Pss:) q=$val ;;
			esac
		done <"/proc/$pid/smaps_rollup"; } 2>/dev/null || true
		if [[ -z $r || -z $q ]]; then
			UNREAD=$((UNREAD + 1))
			continue
		fi
		# argv[0]'s base name (comm is cut at 15 bytes, and is "exe"
		# for podman's rootlessport-child).
		comm=''
		{ IFS= read -r -d '' comm <"/proc/$pid/cmdline"; } 2>/dev/null || true
		comm=${comm##*/}
		[[ -n $comm ]] || { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || comm='?'
		RSS=$((RSS + r)) PSS=$((PSS + q)) N=$((N + 1))
		cnt[$comm]=$((${cnt[$comm]:-0} + 1))
		crss[$comm]=$((${crss[$comm]:-0} + r))
		cpss[$comm]=$((${cpss[$comm]:-0} + q))
	done
	DETAIL=$(for comm in "${!cnt[@]}"; do
		printf '%d %s\n' "${crss[$comm]}" "$(awk -v n="${cnt[$comm]}" -v c="$comm" -v r="${crss[$comm]}" -v q="${cpss[$comm]}" \
			'BEGIN { printf "%s%s %.1f/%.1f", (n > 1 ? n "x " : ""), c, r / 1024, q / 1024 }')"
	done | sort -rn | cut -d' ' -f2- | paste -sd, - | sed 's/,/, /g')
}

# gone PID:START...: waits up to 5 s for each to exit; prints those left.
gone() {
	local e pid start line rest i
	local -a f left
	for ((i = 0; i < 50; i++)); do
		left=()
		for e in "$@"; do
			pid=${e%%:*} start=${e##*:}
			{ read -r line <"/proc/$pid/stat"; } 2>/dev/null || continue
			rest=${line##*) }
			read -r -a f <<<"$rest"
			[[ ${f[0]} != [ZX] && ${f[19]} == "$start" ]] && left+=("$pid ($(cat "/proc/$pid/comm" 2>/dev/null))")
		done
		((${#left[@]})) || return 0
		sleep 0.1
	done
	echo "${left[*]}"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
verdict() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { print (b > 0 && a / b <= t) ? "met" : "MISSED" }'; }
faster() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? "met" : "MISSED" }'; }
now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# http_ok PORT: a GET of /passwd through the published port answers 200
# (retried for 10 s while the forwarder starts).
http_ok() {
	local i
	for ((i = 0; i < 50; i++)); do
		# shellcheck disable=SC2016 # $1 is for the inner bash
		if timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /passwd HTTP/1.0\r\n\r\n" >&3 && head -n 1 <&3' _ "$1" 2>/dev/null |
			grep -q ' 200 '; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# ---- set-up ------------------------------------------------------------------

step "busybox image for myctr and podman"
asu "$setup/busybox-rootfs.sh" "$work/bb.tar"
m import "$work/bb.tar" bb >/dev/null
p image exists "$img" || p import "$work/bb.tar" "$img:latest" >/dev/null
# Podman's pause process, made now so that it is in the first listing.
p unshare true

unread_note() {
	((UNREAD == 0)) || echo "          ($UNREAD processes not readable: run as root for the full figure)"
}

# ---- memory: one detached container with a published port ---------------------

mport=$(free_port)
pport=$(free_port)
while [[ $pport == "$mport" ]]; do pport=$(free_port); done
server=(httpd -f -p 8080 -h /etc)
mcmd="myctr run -d --name $tag-port -p $mport:8080 $img ${server[*]}"
pcmd="podman run -d --name $tag-port -p $pport:8080 $img ${server[*]}"

step "memory: $mcmd"
l0=$(procs)
m run -d --name "$tag-port" -p "$mport:8080" "$img" "${server[@]}" >/dev/null
http_ok "$mport" || die "myctr's published port $mport never answered"
l1=$(settle)
step "memory: $pcmd"
p run -d --name "$tag-port" -p "$pport:8080" "$img" "${server[@]}" >/dev/null
http_ok "$pport" || die "podman's published port $pport never answered"
l2=$(settle)

mapfile -t mset < <(appeared "$l0" "$l1" "$(m inspect --format '{{.State.Pid}}' "$tag-port")")
mapfile -t pset < <(appeared "$l1" "$l2" "$(p inspect --format '{{.State.Pid}}' "$tag-port")")
measure "${mset[@]}"
m_rss=$RSS m_pss=$PSS m_n=$N m_unread=$UNREAD m_detail=$DETAIL
measure "${pset[@]}"
p_rss=$RSS p_pss=$PSS p_n=$N p_unread=$UNREAD p_detail=$DETAIL

m rm -f "$tag-port" >/dev/null
p rm -f -t 0 "$tag-port" >/dev/null
m_left=$(gone "${mset[@]}")
p_left=$(gone "${pset[@]}")

echo
echo "host memory of one detached container with a published port, after one request through it"
echo "(RSS/PSS in MiB of the host processes it added, its own processes not counted)"
printf '  myctr   RSS %7s  PSS %7s  %d processes: %s\n' "$(mib "$m_rss")" "$(mib "$m_pss")" "$m_n" "$m_detail"
UNREAD=$m_unread unread_note
printf '  podman  RSS %7s  PSS %7s  %d processes: %s\n' "$(mib "$p_rss")" "$(mib "$p_pss")" "$p_n" "$p_detail"
UNREAD=$p_unread unread_note
printf '  myctr/podman  RSS %s (target <= 0.5: %s)  PSS %s\n' \
	"$(ratio "$m_rss" "$p_rss")" "$(verdict "$m_rss" "$p_rss" 0.5)" "$(ratio "$m_pss" "$p_pss")"
echo "  commands: $mcmd"
echo "            $pcmd"
[[ -z $m_left ]] || echo "  warning: counted for myctr but still running after rm -f: $m_left"
[[ -z $p_left ]] || echo "  warning: counted for podman but still running after rm -f: $p_left"

# ---- scale: BENCH_SCALE detached containers -----------------------------------

# start TOOL...: TOOL run -d each of names[], one after another, as the user.
# shellcheck disable=SC2016 # for the inner bash
starter='img=$1 n=$2; shift 2; names=("${@:1:n}"); shift "$n"
for name in "${names[@]}"; do "$@" run -d --name "$name" --network none "$img" sleep 1000 >/dev/null || exit 1; done'

step "scale: $scale x myctr run -d"
l0=$(procs)
t0=$(now)
asu bash -c "$starter" _ "$img" "$scale" "${names[@]}" "$myctr" --root "$work/root" --runroot "$runroot"
m_start=$(secs "$t0" "$(now)")
l1=$(settle)
step "scale: $scale x podman run -d"
t0=$(now)
asu bash -c "$starter" _ "$img" "$scale" "${names[@]}" podman
p_start=$(secs "$t0" "$(now)")
l2=$(settle)

mapfile -t mpids < <(m inspect --format '{{.State.Pid}}' "${names[@]}")
mapfile -t ppids < <(p inspect --format '{{.State.Pid}}' "${names[@]}")
mapfile -t mset < <(appeared "$l0" "$l1" "${mpids[@]}")
mapfile -t pset < <(appeared "$l1" "$l2" "${ppids[@]}")
measure "${mset[@]}"
m_rss=$RSS m_pss=$PSS m_n=$N m_unread=$UNREAD m_detail=$DETAIL
measure "${pset[@]}"
p_rss=$RSS p_pss=$PSS p_n=$N p_unread=$UNREAD p_detail=$DETAIL

m_running=$(m ps -q | grep -c .)
p_running=$(p ps -q | grep -c .)
((m_running >= scale && p_running >= scale)) ||
	die "expected $scale running containers each, myctr lists $m_running, podman $p_running"

step "scale: ps, hyperfine"
mps="$(printf '%q' "$myctr") --root $(printf '%q' "$work/root") --runroot $(printf '%q' "$runroot") ps"
asu hyperfine -N --style basic --warmup 3 --runs "$ps_runs" --export-json "$work/ps.json" \
	--command-name myctr "$mps" --command-name podman "podman ps" >/dev/null </dev/null
read -r m_ps p_ps < <(jq -r '[.results[] | .median * 1000 * 10 | round / 10] | "\(.[0]) \(.[1])"' "$work/ps.json")

step "scale: rm -f"
t0=$(now)
m rm -f "${names[@]}" >/dev/null
m_rm=$(secs "$t0" "$(now)")
t0=$(now)
p rm -f -t 0 "${names[@]}" >/dev/null
p_rm=$(secs "$t0" "$(now)")
m_left=$(gone "${mset[@]}")
p_left=$(gone "${pset[@]}")

echo
echo "scale: $scale detached containers, started one after another, then ps, then rm -f of all"
printf '  %-22s %10s %10s %14s  %s\n' "" myctr podman myctr/podman target
printf '  %-22s %10s %10s %14s  %s\n' "run -d x$scale (s)" "$m_start" "$p_start" "$(ratio "$m_start" "$p_start")" "< 1: $(faster "$m_start" "$p_start")"
printf '  %-22s %10s %10s %14s  %s\n' "ps, median (ms)" "$m_ps" "$p_ps" "$(ratio "$m_ps" "$p_ps")" \
	"myctr < 50 ms: $(awk -v a="$m_ps" 'BEGIN { print (a < 50) ? "met" : "MISSED" }')"
printf '  %-22s %10s %10s %14s  %s\n' "rm -f of all (s)" "$m_rm" "$p_rm" "$(ratio "$m_rm" "$p_rm")" "< 1: $(faster "$m_rm" "$p_rm")"
printf '  %-22s %10s %10s %14s  %s\n' "host RSS (MiB)" "$(mib "$m_rss")" "$(mib "$p_rss")" "$(ratio "$m_rss" "$p_rss")" "<= 0.5: $(verdict "$m_rss" "$p_rss" 0.5)"
printf '  %-22s %10s %10s %14s  %s\n' "host PSS (MiB)" "$(mib "$m_pss")" "$(mib "$p_pss")" "$(ratio "$m_pss" "$p_pss")" "<= 0.5: $(verdict "$m_pss" "$p_pss" 0.5)"
echo "  myctr processes:  $m_n: $m_detail"
UNREAD=$m_unread unread_note
echo "  podman processes: $p_n: $p_detail"
UNREAD=$p_unread unread_note
echo "  commands: myctr run -d --name $tag-scale-I --network none $img sleep 1000    (I = 1..$scale)"
echo "            podman run -d --name $tag-scale-I --network none $img sleep 1000"
echo "            hyperfine -N --warmup 3 --runs $ps_runs 'myctr ps' 'podman ps'"
echo "            myctr rm -f $tag-scale-1 ... $tag-scale-$scale"
echo "            podman rm -f -t 0 $tag-scale-1 ... $tag-scale-$scale"
[[ -z $m_left ]] || echo "  warning: counted for myctr but still running after rm -f: $m_left"
[[ -z $p_left ]] || echo "  warning: counted for podman but still running after rm -f: $p_left"
