#!/usr/bin/env bash
# run-integration.sh RESULTS.json: compile the integration tests (build tag
# "integration") and run them as the test user, streaming the output and
# writing test2json events to RESULTS.json. Called by `make test-integration`
# after bin/ is built. As root: runs deps.sh and user.sh first and runs the
# tests as myctr-test. Otherwise: runs them as the current user.
#
# Then, as root, the helper tier (tests/helper, build tag "helper"): between
# `helper-env.sh up` and `helper-env.sh down`, the test binary runs as root
# (it only looks: links, rules and ledger in the test namespace) and drives
# myctr and a raw D-Bus client as the test users; its events are appended to
# the same RESULTS.json. Not as root, its tests skip and say why.
#
# Environment: TEST_USER (myctr-test), INTEGRATION_TIMEOUT (60m),
# INTEGRATION_RUN (a -test.run pattern), MYCTR_* (passed through),
# INTEGRATION_PHASES (which phases: "rootless helper oci", the default;
# `make test-helper` runs "helper"), HELPER_TIMEOUT (20m), HELPER_RUN (a
# -test.run pattern for the helper tier), OCI_RUN (one for the oci phase).
#
# Last, as root, the OCI runtime's root tier (tests/ociroot, build tag
# "ociroot"): containerd drives myctr-runtime, and a bundle without a user
# namespace runs as root's do. Not as root it is left out, with a note.
set -euo pipefail

results=${1:?usage: $0 RESULTS.json}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
pkg=github.com/myctr/myctr/tests/integration
test_user=${TEST_USER:-myctr-test}
timeout=${INTEGRATION_TIMEOUT:-60m}

phases=" ${INTEGRATION_PHASES:-rootless helper oci} "
want_phase() { [[ $phases == *" $1 "* ]]; }

mkdir -p "$(dirname "$results")"
results=$(cd "$(dirname "$results")" && pwd)/$(basename "$results")
cd "$repo"
rm -f "$results"

if [[ $(id -u) -eq 0 ]]; then
	"$here/deps.sh"
	"$here/user.sh" >/dev/null
fi

for b in bin/myctr bin/myctr-helper; do
	if [[ ! -x $b ]]; then
		echo "Error: $b is missing; run make build first" >&2
		exit 1
	fi
done

if ! compgen -G "tests/integration/*_test.go" >/dev/null; then
	echo "run-integration.sh: no integration tests in tests/integration yet" >&2
	: >"$results"
	exit 0
fi

# Static (no cgo): the tests bind these binaries into containers as servers.
if want_phase rootless; then
	CGO_ENABLED=0 go test -c -tags integration -o bin/integration.test ./tests/integration
	go test -c -o bin/network.test ./frontend/network
	go test -c -o bin/nsexec.test ./frontend/nsexec
	# testcontainers-go's test (TestAPITestcontainers runs it), a module
	# of its own so that myctr's go.mod does not take the library's
	# dependencies. A failed build is reported by that test, not here.
	if ! (cd tests/clients/testcontainers && CGO_ENABLED=0 go test -c -tags integration -o "$repo/bin/testcontainers.test" .); then
		rm -f bin/testcontainers.test
		echo "run-integration.sh: could not build tests/clients/testcontainers; TestAPITestcontainers will fail" >&2
	fi
fi
helper_built=
if want_phase helper; then
	# A failed build is reported in the results (below), not fatal here:
	# the other phases still run.
	if CGO_ENABLED=0 go test -c -tags helper -o bin/helper.test ./tests/helper; then
		helper_built=1
	fi
fi
oci_built=
if want_phase oci && [[ $(id -u) -eq 0 ]]; then
	if go test -c -tags ociroot -o bin/ociroot.test ./tests/ociroot; then
		oci_built=1
	fi
fi
chmod 0755 bin bin/*

# Whatever the script set up, undone on exit, last first.
on_exit=()
# shellcheck disable=SC2317 # called by the trap
run_on_exit() {
	local i
	for ((i = ${#on_exit[@]} - 1; i >= 0; i--)); do
		eval "${on_exit[$i]}" || true
	done
}
trap run_on_exit EXIT

run_as=()
workdir=$repo
if [[ $(id -u) -eq 0 ]]; then
	run_as=("$here/as-user.sh" "$test_user")
	# The user must be able to reach the binaries and the test data. Where
	# the checkout is not reachable (say under /root, mode 0700), run from a
	# copy under /tmp.
	# shellcheck disable=SC2016 # $1 is for the inner sh
	if ! "$here/as-user.sh" "$test_user" sh -c 'test -x "$1/bin/myctr" && test -r "$1/bin/integration.test" && test -x "$1/tests/integration" && test -r "$1/go.mod"' sh "$repo"; then
		workdir=$(mktemp -d /tmp/myctr-integration.XXXXXX)
		chmod 0755 "$workdir"
		on_exit+=('rm -rf "$workdir"')
		# The binaries, and the sources (the README's and the Go
		# bootstrap's tests read and build them), without .git.
		tar -C "$repo" --exclude=./.git --exclude=./bin -cf - . | tar -C "$workdir" -xf -
		cp -a bin "$workdir/"
		chmod -R a+rX "$workdir"
		echo "run-integration.sh: $repo is not reachable by $test_user; running from $workdir" >&2
	fi
fi

# A small file system of the test user's for the full-disk tests
# (TestFullDisk): only root can mount one.
if [[ $(id -u) -eq 0 ]] && want_phase rootless; then
	smallfs=$(mktemp -d /tmp/myctr-it-smallfs.XXXXXX)
	# shellcheck disable=SC2016 # expanded by run_on_exit's eval
	on_exit+=('rmdir "$smallfs"')
	mount -t tmpfs -o "size=48m,mode=0700,uid=$(id -u "$test_user"),gid=$(id -g "$test_user")" myctr-it-smallfs "$smallfs"
	# shellcheck disable=SC2016 # expanded by run_on_exit's eval
	on_exit+=('umount "$smallfs"')
	export MYCTR_IT_SMALLFS=$smallfs
fi

args=(-test.v=test2json -test.timeout="$timeout")
if [[ -n ${INTEGRATION_RUN:-} ]]; then
	args+=(-test.run="$INTEGRATION_RUN")
fi

# Like `go test`, run the test binary in its package directory.
cd "$workdir/tests/integration"
export MYCTR_BIN=$workdir/bin/myctr
export MYCTR_HELPER_BIN=$workdir/bin/myctr-helper
export MYCTR_SETUP_DIR=$workdir/tests/setup
export MYCTR_SRC_DIR=$workdir

# run_tests USER-PREFIX... -- ARGS...: one run of the test binary, its
# test2json events appended to $results. TEST_BIN and TEST_PKG choose
# another test binary than the integration tests'.
run_tests() {
	local prefix=() st
	while [[ $1 != -- ]]; do
		prefix+=("$1")
		shift
	done
	shift
	set +e
	"${prefix[@]}" "${TEST_BIN:-$workdir/bin/integration.test}" "${args[@]}" "$@" </dev/null 2>&1 |
		go tool test2json -t -p "${TEST_PKG:-$pkg}" |
		tee -a "$results" |
		jq --unbuffered -j 'select(.Action == "output") | .Output'
	local status=("${PIPESTATUS[@]}")
	set -e
	# test2json writes a package's final "fail" event only when the
	# binary printed its FAIL line; a TestMain that exits 1 before any
	# test leaves none, and the summary would count nothing. A failed
	# binary always leaves one (summarize.sh does not count it twice
	# beside a failed test).
	if ((status[0] != 0)); then
		jq -n -c --arg pkg "${TEST_PKG:-$pkg}" --arg st "${status[0]}" '
			{Action: "output", Package: $pkg, Output: ("the test binary exited with status " + $st + "\n")},
			{Action: "fail", Package: $pkg}' >>"$results"
	fi
	# test2json exits 1 when the binary failed; either is a failure.
	for st in "${status[@]}"; do
		if ((st != 0)); then
			return 1
		fi
	done
}

rc=0
if ! want_phase rootless; then
	:
elif [[ $(id -u) -eq 0 ]]; then
	# Everything as the user with a subordinate range; then, as the user
	# without one, the test of the single-mapping fallback.
	run_tests "${run_as[@]}" -- -test.skip='^TestNoSubordinateRange' || rc=1
	# The network package's tests of real namespaces, as the user (the
	# unit tier, as root, leaves them out).
	# The same for nsexec's tests of the init and exec stages against a
	# mock parent (nsenter.c and the sync protocol).
	if [[ -z ${INTEGRATION_RUN:-} ]]; then
		TEST_BIN=$workdir/bin/network.test TEST_PKG=github.com/myctr/myctr/frontend/network \
			run_tests "${run_as[@]}" -- -test.run='^TestReal' || rc=1
		TEST_BIN=$workdir/bin/nsexec.test TEST_PKG=github.com/myctr/myctr/frontend/nsexec \
			run_tests "${run_as[@]}" -- -test.run='^TestReal' || rc=1
		# The stage tests again with bin/myctr-init as the stages: its
		# constructor runs from its entry point, with no C library
		# (frontend/nsexec/preinit), not from the test binary's.
		TEST_BIN=$workdir/bin/nsexec.test TEST_PKG=github.com/myctr/myctr/cmd/myctr-init \
			run_tests "${run_as[@]}" env MYCTR_TEST_STAGE_BINARY="$workdir/bin/myctr-init" -- -test.run='^TestRealNsenter' || rc=1
	fi
	if [[ -z ${INTEGRATION_RUN:-} ]]; then
		run_tests "$here/as-user.sh" myctr-nosub -- -test.run='^TestNoSubordinateRange' || rc=1
	fi
else
	run_tests -- || rc=1
fi

# fail_event NAME TEXT: one failed pseudo-test of the helper tier in the
# results, for a failure before its test binary could run.
fail_event() {
	jq -n -c --arg t "$1" --arg out "$2" --arg pkg github.com/myctr/myctr/tests/helper '
		{Action: "run", Package: $pkg, Test: $t},
		{Action: "output", Package: $pkg, Test: $t, Output: ($out + "\n")},
		{Action: "fail", Package: $pkg, Test: $t}' >>"$results"
	echo "run-integration.sh: $1: $2" >&2
}

# The helper tier: a real bus, polkitd and the helper activated through
# it, in throwaway network namespaces; as root only (not as root the test
# binary runs and every test skips with the reason).
# INTEGRATION_RUN alone selects rootless tests: the helper tier runs then
# only when HELPER_RUN is set too.
if want_phase helper && [[ -z ${INTEGRATION_RUN:-} || -n ${HELPER_RUN:-} ]]; then
	# After args: the last -test.run and -test.timeout win.
	helper_args=(-test.timeout="${HELPER_TIMEOUT:-20m}" -test.run="${HELPER_RUN:-.}")
	if [[ -z $helper_built ]]; then
		fail_event TestHelperTierBuild "go test -c -tags helper ./tests/helper failed (see the output above)"
		rc=1
	elif [[ $(id -u) -ne 0 ]]; then
		(cd "$workdir/tests/helper" && TEST_BIN=$workdir/bin/helper.test TEST_PKG=github.com/myctr/myctr/tests/helper \
			run_tests -- "${helper_args[@]}") || rc=1
	else
		# shellcheck disable=SC2016 # expanded when it runs
		on_exit+=('"$here/helper-env.sh" down')
		if ! env_out=$(MYCTR_HELPER_BIN=$repo/bin/myctr-helper "$here/helper-env.sh" up 2>&1); then
			fail_event TestHelperEnvUp "tests/setup/helper-env.sh up failed: $env_out"
			rc=1
		else
			printf '%s\n' "$env_out" >&2
			# As root: the tests look into the namespaces and start every
			# client and myctr as the test users themselves.
			(cd "$workdir/tests/helper" && TEST_BIN=$workdir/bin/helper.test TEST_PKG=github.com/myctr/myctr/tests/helper \
				run_tests -- "${helper_args[@]}") || rc=1
		fi
	fi
fi

# The OCI runtime's root tier. INTEGRATION_RUN alone selects rootless
# tests: this tier runs then only when OCI_RUN is set too.
if want_phase oci && [[ -z ${INTEGRATION_RUN:-} || -n ${OCI_RUN:-} ]]; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "run-integration.sh: the oci phase (tests/ociroot) needs root; left out" >&2
	elif [[ -z $oci_built ]]; then
		jq -n -c --arg pkg github.com/myctr/myctr/tests/ociroot '
			{Action: "run", Package: $pkg, Test: "TestOCIRootTierBuild"},
			{Action: "output", Package: $pkg, Test: "TestOCIRootTierBuild", Output: "go test -c -tags ociroot ./tests/ociroot failed (see the output above)\n"},
			{Action: "fail", Package: $pkg, Test: "TestOCIRootTierBuild"}' >>"$results"
		rc=1
	else
		(cd "$workdir/tests/ociroot" && MYCTR_BIN_DIR=$workdir/bin TEST_BIN=$workdir/bin/ociroot.test \
			TEST_PKG=github.com/myctr/myctr/tests/ociroot run_tests -- -test.run="${OCI_RUN:-.}") || rc=1
	fi
fi
exit $rc
