#!/usr/bin/env bash
# tests/bench/parallel.sh: many clients at once, myctr beside podman in one
# run, on the busybox image (issue #22's rows):
#
#   run --rm    BENCH_PARALLEL (50) `run --rm --network none localhost/bb
#               true` started together; wall time until the last ends.
#   run -d/rm   BENCH_PARALLEL `run -d --network none localhost/bb sleep
#               1000` started together, then one `rm -f` per container,
#               all together (podman: rm -f -t 0); wall time of each half.
#
# Each row counts the clients that failed (each must exit 0), and after
# each row the tool's `ps -a` must be empty of the row's containers: a
# failed client or a container left behind is printed and fails the
# script. myctr's store is then checked whole with `system check`.
#
#   make build && tests/bench/parallel.sh      (as root, or as the user)
#
# Environment: MYCTR_BIN (bin/myctr), BENCH_PARALLEL (50), TEST_USER
# (myctr-test; ignored when not root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=$repo/tests/setup
myctr=${MYCTR_BIN:-$repo/bin/myctr}
n=${BENCH_PARALLEL:-50}
img=localhost/bb

die() {
	echo "Error: $1" >&2
	[[ -n ${2:-} ]] && echo "Hint: $2" >&2
	exit 1
}
step() { echo "== parallel.sh (${SECONDS} s): $*" >&2; }

if [[ $(id -u) -eq 0 ]]; then
	user=${TEST_USER:-myctr-test}
else
	user=$(id -un)
fi
uid=$(id -u "$user")
[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_PARALLEL=$n is not a positive number"
for tool in podman python3; do
	command -v "$tool" >/dev/null || die "$tool not found" "run tests/setup/deps.sh as root"
done
[[ -x $myctr ]] || die "$myctr not found" "make build"

asu() { "$setup/as-user.sh" "$user" "$@"; }

rt=/run/user/$uid
[[ $(id -u) -eq 0 ]] || rt=${XDG_RUNTIME_DIR:-$rt}
work=$(asu mktemp -d /tmp/myctr-bench-parallel.XXXXXX)
runroot=$(asu mktemp -d "$rt/myctr-bench-parallel.XXXXXX")
mbase=("$myctr" --root "$work/root" --runroot "$runroot")
m() { asu "${mbase[@]}" "$@"; }
p() { asu podman "$@"; }

tag=benchpar-$$
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	set +e
	m rm -f -a >/dev/null 2>&1
	p ps -a --format '{{.Names}}' 2>/dev/null | grep "^$tag-" | xargs -r "$setup/as-user.sh" "$user" podman rm -f -t 0 >/dev/null 2>&1
	[[ -d $work/root ]] && m unshare rm -rf "$work/root"
	asu rm -rf "$work" "$runroot"
}
trap cleanup EXIT

# together LABEL NAMES CMD...: runs CMD (as the user) once per container
# name $tag-NAMES-1..n, all at once, "{}" in CMD standing for the name;
# prints the wall time in seconds and the number of clients that failed,
# and keeps each failure's output in $work/LABEL.err.
together() {
	local label=$1 names=$2
	shift 2
	asu python3 - "$n" "$tag-$names" "$work/$label.err" "$@" <<'EOF'
import subprocess, sys, time
n, prefix, errf, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
t = time.monotonic()
procs = [subprocess.Popen([a.replace("{}", f"{prefix}-{i}") for a in cmd],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
         for i in range(1, n + 1)]
fails = []
for i, pr in enumerate(procs, 1):
    _, err = pr.communicate()
    if pr.returncode != 0:
        fails.append(f"{prefix}-{i}: exit {pr.returncode}: {err.decode(errors='replace').strip()}")
wall = time.monotonic() - t
with open(errf, "w") as f:
    f.write("\n".join(fails))
print(f"{wall:.2f} {len(fails)}")
EOF
}

bad=0
# check LABEL FAILED LEFT: says what went wrong in a row.
check() {
	if (($2 > 0)); then
		echo "  $1: $2 of $n clients failed; the first:" >&2
		head -n 3 "$work/$1.err" >&2
		bad=1
	fi
	if [[ -n $3 ]]; then
		echo "  $1: left behind: $3" >&2
		bad=1
	fi
}
left() { "$@" ps -a --format '{{.Names}}' | grep "^$tag-" | tr '\n' ' ' || true; }

step "busybox image for myctr and podman"
asu "$setup/busybox-rootfs.sh" "$work/bb.tar"
m import "$work/bb.tar" bb >/dev/null
p image exists "$img" || p import "$work/bb.tar" "$img:latest" >/dev/null
# Warm both (the first podman run sets up its pause process and store).
m run --rm --network none "$img" true
p run --rm --network none "$img" true

step "$n x run --rm, myctr"
read -r m_rm_t m_rm_f < <(together mrm mrm "${mbase[@]}" run --rm --name "{}" --network none "$img" true)
check mrm "$m_rm_f" "$(left m)"
step "$n x run --rm, podman"
read -r p_rm_t p_rm_f < <(together prm prm podman run --rm --name "{}" --network none "$img" true)
check prm "$p_rm_f" "$(left p)"

step "$n x run -d, then $n x rm -f, myctr"
read -r m_d_t m_d_f < <(together md md "${mbase[@]}" run -d --name "{}" --network none "$img" sleep 1000)
read -r m_x_t m_x_f < <(together mx md "${mbase[@]}" rm -f "{}")
check md "$m_d_f" ""
check mx "$m_x_f" "$(left m)"
step "$n x run -d, then $n x rm -f -t 0, podman"
read -r p_d_t p_d_f < <(together pd pd podman run -d --name "{}" --network none "$img" sleep 1000)
read -r p_x_t p_x_f < <(together px pd podman rm -f -t 0 "{}")
check pd "$p_d_f" ""
check px "$p_x_f" "$(left p)"

step "myctr system check"
if ! m system check >"$work/check.out" 2>&1; then
	echo "  myctr system check after the rows:" >&2
	cat "$work/check.out" >&2
	bad=1
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
faster() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? "met" : "MISSED") }'; }
echo
echo "parallel clients, $n at once (wall time until the last ends, s; failed clients)"
printf '  %-22s %10s %10s %14s  %s\n' "" myctr podman myctr/podman target
printf '  %-22s %10s %10s %14s  %s\n' "run --rm x$n" "$m_rm_t ($m_rm_f)" "$p_rm_t ($p_rm_f)" "$(ratio "$m_rm_t" "$p_rm_t")" "< 1: $(faster "$m_rm_t" "$p_rm_t")"
printf '  %-22s %10s %10s %14s  %s\n' "run -d x$n" "$m_d_t ($m_d_f)" "$p_d_t ($p_d_f)" "$(ratio "$m_d_t" "$p_d_t")" "< 1: $(faster "$m_d_t" "$p_d_t")"
printf '  %-22s %10s %10s %14s  %s\n' "rm -f x$n" "$m_x_t ($m_x_f)" "$p_x_t ($p_x_f)" "$(ratio "$m_x_t" "$p_x_t")" "< 1: $(faster "$m_x_t" "$p_x_t")"
echo "commands (as $user, $n at once, each container named):"
echo "  myctr   run --rm --network none bb true; run -d --network none bb sleep 1000; rm -f NAME"
echo "  podman  run --rm --network none localhost/bb true; run -d ... sleep 1000; rm -f -t 0 NAME"
exit "$bad"
