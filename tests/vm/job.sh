#!/bin/bash
# job.sh: the VM tier's job, run as root inside the guest by
# myctr-vm-job.service (tests/vm/image.sh) from the 9p share that run.sh
# filled. It installs this build of myctr, sets up what the cases need,
# runs the guest test binary (vm.test: tests/vm, build tag vm) once for all
# cases, and leaves in out/:
#   vm.out            the test binary's -test.v=test2json output (run.sh
#                     turns it into test2json events)
#   journal.txt       the guest's journal of this boot (for diagnosis)
#   setup.failed      the step that failed, when set-up failed before
#                     vm.test could run
# Its own output goes to out/job.log. The machine powers off after it.
set -euo pipefail

job=$(cd "$(dirname "$0")" && pwd)
out=$job/out
mkdir -p "$out"
# Settings from run.sh: VM_TEST_RUN (a -test.run pattern), VM_TEST_TIMEOUT,
# VM_BENCH (run bench-cgroups.sh into out/bench.txt instead of the cases).
# shellcheck disable=SC1091
[[ -f $job/env ]] && . "$job/env"

step=start
# shellcheck disable=SC2317 # called by the trap
on_exit() {
	local rc=$?
	journalctl -b --no-pager -o short-monotonic >"$out/journal.txt" 2>&1 || true
	if ((rc != 0)) && [[ ! -f $out/vm.out ]]; then
		echo "$step" >"$out/setup.failed"
	fi
	sync
}
trap on_exit EXIT
say() {
	step=$*
	echo "job: $(cut -d' ' -f1 /proc/uptime)s: $*"
}

say "guest $(uname -r), $(systemctl is-system-running 2>/dev/null || true)"

# ---- this build of myctr: make install DESTDIR=... PREFIX=/usr, as a tarball
say "install myctr (myctr-install.tar)"
# Only its files and the directories the guest lacks: bookworm's tar (1.34)
# chmods every existing directory it extracts to 0700 until it is done, even
# with --no-overwrite-dir, which for "./" is / itself; meanwhile every path
# lookup of a non-root process fails with EACCES (the lingering users'
# managers, starting at that moment, then fail or hang in "activating", and
# a login session waits for its user's manager).
members=$(mktemp)
tar -tf "$job/myctr-install.tar" | while IFS= read -r m; do
	[[ $m == */ && -d /$m ]] || printf '%s\n' "$m"
done >"$members"
tar -xf "$job/myctr-install.tar" -C / --no-recursion --verbatim-files-from -T "$members"
rm -f "$members"
for f in /usr/bin/myctr /usr/bin/myctr-runtime /usr/libexec/myctr/myctr-full /usr/libexec/myctr/myctr-seccomp /usr/libexec/myctr/myctr-monitor /usr/libexec/myctr/myctr-helper /usr/lib/systemd/system/myctr-helper.service \
	/usr/share/dbus-1/system-services/org.myctr.Helper1.service /usr/share/dbus-1/system.d/org.myctr.Helper1.conf \
	/usr/share/polkit-1/actions/org.myctr.helper.policy /usr/lib/systemd/user/myctr.socket /usr/lib/systemd/user/myctr.service; do
	[[ -e $f ]] || {
		echo "Error: make install did not install $f"
		exit 1
	}
done
# The bus re-reads its policy and activation files, systemd its units.
say "reload systemd and the system bus"
systemctl daemon-reload
busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig

# ---- the test's configuration
say "polkit rule and helper.conf"
install -d -m 0755 /etc/polkit-1/rules.d
cat >/etc/polkit-1/rules.d/50-myctr-vm-test.rules <<'EOF'
// The VM tier: members of myctr-helper-test (vmuser, not vmother) may
// attach containers to the bridge and get containers' cgroups from the
// helper, and nothing more.
polkit.addRule(function(action, subject) {
    if ((action.id == "org.myctr.helper.network" || action.id == "org.myctr.helper.cgroup") && subject.isInGroup("myctr-helper-test")) {
        return polkit.Result.YES;
    }
});
// vmprompt may too, once it has typed its own password (pkttyagent asks).
polkit.addRule(function(action, subject) {
    if (action.id == "org.myctr.helper.network" && subject.user == "vmprompt") {
        return polkit.Result.AUTH_SELF;
    }
});
EOF
install -d -m 0755 /etc/myctr
# A short idle_timeout, so the idle exit can be watched.
cat >/etc/myctr/helper.conf <<'EOF'
# The VM tier's helper configuration: the defaults, but a short idle time.
idle_timeout = 10s
EOF
# The helper must not be running yet: case 2 wants it activated by a call.
if systemctl is-active --quiet myctr-helper.service; then
	echo "Error: myctr-helper.service is active before any call"
	exit 1
fi

# ---- the users' sessions: lingering users get /run/user/UID from logind
say "wait for /run/user of vmuser, vmother and vmprompt"
for u in vmuser vmother vmprompt; do
	uid=$(id -u "$u")
	for _ in $(seq 120); do
		[[ -d /run/user/$uid ]] && break
		sleep 0.5
	done
	[[ -d /run/user/$uid ]] || {
		echo "Error: /run/user/$uid (of $u) does not exist after 60 s"
		echo "Hint: the image marks $u as lingering (/var/lib/systemd/linger/$u): see loginctl and journal.txt"
		exit 1
	}
done

# ---- vmprompt's manager delegates every controller (the drop-in README
# gives for user@.service, here for one user): source 1 with io and cpuset.
# vmuser's and vmother's keep Debian's default (cpu memory pids).
say "delegate cpu cpuset io memory pids to vmprompt's user manager"
prompt_uid=$(id -u vmprompt)
install -d -m 0755 "/etc/systemd/system/user@$prompt_uid.service.d"
printf '[Service]\nDelegate=cpu cpuset io memory pids\n' >"/etc/systemd/system/user@$prompt_uid.service.d/delegate.conf"
systemctl daemon-reload
systemctl restart "user@$prompt_uid.service"
for _ in $(seq 60); do
	grep -qw io "/sys/fs/cgroup/user.slice/user-$prompt_uid.slice/user@$prompt_uid.service/cgroup.controllers" 2>/dev/null && break
	sleep 0.5
done

# ---- a persistent journal, as a Debian install has (/var/log/journal):
# only then does journald keep each user's entries in a file of their own
# that they may read (myctr logs of a --log-driver journald container). On
# the snapshot disk it is gone after the run.
say "persistent journal"
printf '[Journal]\nStorage=persistent\n' >/etc/systemd/journald.conf.d/zz-persistent.conf
install -d -m 2755 -g systemd-journal /var/log/journal
systemd-tmpfiles --create --prefix /var/log/journal >/dev/null 2>&1 || true
systemctl restart systemd-journald
journalctl --flush

# ---- the cases
say "busybox image for the users"
install -d -m 0755 /var/tmp/myctr-vm
install -m 0644 "$job/bb.tar" /var/tmp/myctr-vm/bb.tar
install -m 0644 "$job/README.md" /var/tmp/myctr-vm/README.md
install -m 0755 "$job/vm.test" /usr/local/bin/myctr-vm.test

if [[ -n ${VM_BENCH:-} ]]; then
	say "bench-cgroups.sh"
	rc=0
	BENCH_RUNS=${BENCH_RUNS:-15} "$job/bench-cgroups.sh" "$job/bb.tar" >"$out/bench.txt" 2>&1 </dev/null || rc=$?
	say "bench-cgroups.sh exited $rc"
	exit "$rc"
fi

say "vm.test"
args=(-test.v=test2json -test.timeout="${VM_TEST_TIMEOUT:-20m}")
[[ -n ${VM_TEST_RUN:-} ]] && args+=(-test.run="$VM_TEST_RUN")
rc=0
(cd /var/tmp/myctr-vm && MYCTR_VM_BB_TAR=/var/tmp/myctr-vm/bb.tar MYCTR_VM_README=/var/tmp/myctr-vm/README.md /usr/local/bin/myctr-vm.test "${args[@]}") \
	>"$out/vm.out" 2>&1 </dev/null || rc=$?
say "vm.test exited $rc"
exit "$rc"
