#!/usr/bin/env bash
# tests/bench/cgroups.sh (part of make bench): what a container's own
# cgroup costs at start-up, where limits work: in the VM tier's guest
# (systemd, cgroup v2), myctr with and without --memory beside rootless
# podman with and without it, interleaved (tests/vm/bench-cgroups.sh).
# As root (the VM tier boots a qemu guest). BENCH_RUNS (15) is passed in
# through the guest's environment file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d /tmp/myctr-bench-cg.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "== cgroups: run --rm with and without --memory, in the VM guest" >&2
MYCTR_VM_BENCH=1 "$here/../vm/run.sh" "$out/vm.json"
