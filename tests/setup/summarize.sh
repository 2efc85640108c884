#!/usr/bin/env bash
# summarize.sh FILE.json...: read `go test -json` / test2json event streams and
# print exactly one line "N passed, N failed, N skipped", then every skipped
# test with its skip reason, then every failed test. Subtests count as tests.
# A package that failed without a failing test (a build failure, a crash, a
# timeout outside a test) counts as one failed entry named after the package.
# A missing FILE counts as one failure (its tier produced no results).
# Exits 1 when anything failed. Needs jq.
set -euo pipefail

if ! command -v jq >/dev/null; then
	echo "Error: summarize.sh needs jq" >&2
	echo "Hint: apt-get install jq (tests/setup/deps.sh installs it)" >&2
	exit 1
fi

missing=()
files=()
for f in "$@"; do
	if [[ -f $f ]]; then
		files+=("$f")
	else
		missing+=("$f")
	fi
done

# Non-JSON lines (a crash before test2json took over) are dropped by
# fromjson? so that one bad line does not hide the rest.
summary=$(cat "${files[@]}" </dev/null | jq -R -s -r --argjson missing "$(printf '%s\n' "${missing[@]}" | jq -R -s -c 'split("\n") | map(select(. != ""))')" '
	[split("\n")[] | select(. != "") | (fromjson? // empty) | select(type == "object")] as $ev
	| def key: "\(.Package // .ImportPath // "?")\u0000\(.Test // "")";
	  # last terminal action per test (a test has exactly one)
	  ($ev | map(select(.Test != null and (.Action == "pass" or .Action == "fail" or .Action == "skip")))
	       | map({key: key, value: .}) | from_entries) as $tests
	| ($ev | map(select(.Test == null and .Action == "fail" and .Package != null)) | map(.Package) | unique) as $failedPkgs
	| ($ev | map(select(.Action == "build-fail")) | map(.ImportPath) | unique) as $buildFails
	| ($tests | to_entries | map(.value)) as $t
	| ($t | map(select(.Action == "fail")) ) as $failed
	| ($failed | map(.Package) | unique) as $pkgsWithFailedTests
	| ([$failedPkgs[] | select(. as $p | $pkgsWithFailedTests | index($p) | not)] ) as $pkgOnly
	| ([$buildFails[] | select(. as $p | ($failedPkgs + $pkgsWithFailedTests) | index($p) | not)]) as $buildOnly
	| ($t | map(select(.Action == "skip"))) as $skipped
	# output of one test, minus the framing lines
	| def reason($pkg; $test):
		[$ev[] | select(.Action == "output" and .Package == $pkg and .Test == $test) | .Output
		 | select(test("^\\s*(=== (RUN|PAUSE|CONT|NAME)|--- (SKIP|PASS|FAIL))") | not)
		 | sub("^\\s+"; "") | sub("\\s+$"; "")] | map(select(. != "")) | join(" | ");
	  "\($t | map(select(.Action == "pass")) | length) passed, \(($failed | length) + ($pkgOnly | length) + ($buildOnly | length) + ($missing | length)) failed, \($skipped | length) skipped",
	  (if ($skipped | length) > 0 then "skipped:" else empty end),
	  ($skipped[] | "  \(.Package) \(.Test): \(reason(.Package; .Test) | if . == "" then "(no reason given)" else . end)"),
	  (if (($failed | length) + ($pkgOnly | length) + ($buildOnly | length) + ($missing | length)) > 0 then "failed:" else empty end),
	  ($failed[] | "  \(.Package) \(.Test)"),
	  ($pkgOnly[] | "  \(.) (package failed outside any test: build error, panic, timeout or its TestMain)"),
	  ($buildOnly[] | "  \(.) (build failed)"),
	  ($missing[] | "  \(.) (no results: this tier did not run)")
')
printf '%s\n' "$summary"
first=${summary%%$'\n'*}
if [[ $first =~ ,\ ([0-9]+)\ failed, ]] && ((BASH_REMATCH[1] == 0)); then
	exit 0
fi
exit 1
