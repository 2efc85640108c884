#!/bin/bash
# tests/fuzz/run.sh: run every go test -fuzz target of the module for
# FUZZTIME each (default 30s), one after another, and print per target the
# execs, the new interesting inputs and whether it found anything. A
# finding fails the run and leaves the crasher in the package's
# testdata/fuzz/FuzzName/, to be committed as a regression seed once
# the bug is fixed. FUZZ_RUN=REGEX picks targets by name;
# FUZZMINIMIZETIME bounds the minimizing of each new input (default 100x).
set -euo pipefail
cd "$(dirname "$0")/../.."
fuzztime=${FUZZTIME:-30s}
pick=${FUZZ_RUN:-.}
minimize=${FUZZMINIMIZETIME:-100x}
go=${GO:-go}

# PACKAGE TARGET, one a line, from the test files' func Fuzz... lines.
targets=$(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . \
	| sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|./\1 \2|' | sort -u | grep -E " ($pick)" || true)
if [ -z "$targets" ]; then
	echo "fuzz: no target matches $pick" >&2
	exit 1
fi

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
st=0
summary=()
while read -r pkg name; do
	echo "=== $name ($pkg, $fuzztime)"
	out="$log/$name.out"
	rc=0
	# Each input that finds new coverage is minimized first, by default
	# for up to 60 s; at the unpacker's cost per run (a sandbox of files
	# each time) that took the whole budget and the counters stood still
	# at the seeds. A bounded number of runs keeps the search going.
	$go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$pkg" >"$out" 2>&1 || rc=$?
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$out" | tail -1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+) .*/\1/p' <<<"$last")
	newi=$(sed -nE 's/.*new interesting: ([0-9]+) .*/\1/p' <<<"$last")
	if [ "$rc" = 0 ]; then
		result="nothing found"
	else
		st=1
		crasher=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$out" | tail -1)
		if [ -n "$crasher" ]; then
			result="FOUND: $pkg/$crasher"
		else
			result="FAILED (exit $rc)"
		fi
		grep -vE '^fuzz: elapsed: ' "$out" | head -40
	fi
	echo "$name: execs ${execs:-0}, new interesting ${newi:-0}: $result"
	summary+=("$(printf '%-24s %-22s %12s %6s  %s' "$name" "$pkg" "${execs:-0}" "${newi:-0}" "$result")")
done <<<"$targets"

echo
echo "=== fuzz summary ($fuzztime each)"
printf '%-24s %-22s %12s %6s  %s\n' target package execs new result
printf '%s\n' "${summary[@]}"
exit $st
