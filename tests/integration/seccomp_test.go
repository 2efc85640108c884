//go:build integration

package integration

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The seccomp filter of containers, seen from inside them: /proc's
// Seccomp field, and the errno of raw system calls made by this test
// binary bound into the container (the "syscalls" role).

func init() { extraRoles["syscalls"] = syscallsRole }

// sysLsmGetSelfAttr is lsm_get_self_attr(2) (Linux 6.8), a call Docker's
// profile does not name and whose number is above every call that
// libseccomp 2.5 (Debian 12's) knows of the profile's: the default filter
// answers it ENOSYS, as Docker's does, where the kernel itself gives
// EINVAL or EFAULT for these arguments.
const sysLsmGetSelfAttr = 459

// addrNoRandomize is the ADDR_NO_RANDOMIZE persona flag.
const addrNoRandomize = 0x0040000

// probes are the calls the role can make: each returns its errno (0 for
// success).
var probes = map[string]func() syscall.Errno{
	"getpid": func() syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
		return e
	},
	// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)
	"keyctl": func() syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd), 0)
		return e
	},
	"add_key": func() syscall.Errno {
		_, err := unix.AddKey("user", "myctr-it", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
		return errnoOf(err)
	},
	// personality(ADDR_NO_RANDOMIZE): Docker allows only a few personas.
	"personality-addr-no-randomize": func() syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, addrNoRandomize, 0, 0)
		if e == 0 {
			unix.RawSyscall(unix.SYS_PERSONALITY, 0, 0, 0)
		}
		return e
	},
	"personality-query": func() syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		return e
	},
	// unshare(CLONE_NEWUTS): a new namespace needs CAP_SYS_ADMIN, in the
	// filter as in the kernel.
	"unshare-uts": func() syscall.Errno {
		return errnoOf(unix.Unshare(unix.CLONE_NEWUTS))
	},
	"mount-tmpfs": func() syscall.Errno {
		dir, err := os.MkdirTemp("", "mnt")
		if err != nil {
			return errnoOf(err)
		}
		err = unix.Mount("none", dir, "tmpfs", 0, "")
		if err == nil {
			unix.Unmount(dir, 0)
		}
		return errnoOf(err)
	},
	"mkdirat": func() syscall.Errno {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("seccomp-%d", os.Getpid()))
		err := unix.Mkdirat(unix.AT_FDCWD, dir, 0o755)
		if err == nil {
			os.Remove(dir)
		}
		return errnoOf(err)
	},
	"lsm_get_self_attr": func() syscall.Errno {
		_, _, e := unix.RawSyscall6(sysLsmGetSelfAttr, 0, 0, 0, 0, 0, 0)
		return e
	},
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	if pe, ok := err.(*os.PathError); ok {
		return errnoOf(pe.Err)
	}
	return unix.EIO
}

func errnoName(e syscall.Errno) string {
	if e == 0 {
		return "ok"
	}
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno%d", int(e))
}

// syscallsRole prints "NAME RESULT" for each probe named in its arguments.
func syscallsRole() int {
	for _, name := range os.Args[1:] {
		p, ok := probes[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown probe %q\n", name)
			return 2
		}
		fmt.Printf("%s %s\n", name, errnoName(p()))
	}
	return 0
}

// probeArgs are the run flags and command that run the role in a
// container.
func probeArgs(t *testing.T, flags []string) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"--network", "none", "-v", self + ":/it:ro", "-e", "MYCTR_IT_ROLE=syscalls"}, flags...)
}

// probeResults parses the role's output.
func probeResults(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			got[k] = v
		}
	}
	return got
}

func wantProbes(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s gave %q, want %s", what, k, got[k], v)
		}
	}
}

func probeNames(want map[string]string) []string {
	var names []string
	for k := range want {
		names = append(names, k)
	}
	return names
}

// The default filter, as Docker's default profile means it, in a run, in
// an exec and under --init, for root and for another user.
func TestSeccompDefault(t *testing.T) {
	t.Parallel()
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		status := runOut(t, []string{"--network", "none"}, "cat", "/proc/self/status")
		if got := statusField(t, status, "Seccomp"); got != "2" {
			t.Errorf("Seccomp = %s, want 2 (a filter)", got)
		}
		// Docker and Podman leave no_new_privs off unless asked.
		if got := statusField(t, status, "NoNewPrivs"); got != "0" {
			t.Errorf("NoNewPrivs = %s, want 0", got)
		}
		status = runOut(t, []string{"--network", "none", "--security-opt", "no-new-privileges"}, "cat", "/proc/self/status")
		if s, n := statusField(t, status, "Seccomp"), statusField(t, status, "NoNewPrivs"); s != "2" || n != "1" {
			t.Errorf("with no-new-privileges: Seccomp = %s, NoNewPrivs = %s, want 2 and 1", s, n)
		}
		// A non-root user: loaded while the init still held its capabilities.
		status = runOut(t, []string{"--network", "none", "-u", "1000:1000"}, "cat", "/proc/self/status")
		if got := statusField(t, status, "Seccomp"); got != "2" {
			t.Errorf("-u 1000: Seccomp = %s, want 2", got)
		}
	})
	t.Run("init", func(t *testing.T) {
		t.Parallel()
		out := runOut(t, []string{"--network", "none", "--init"}, "sh", "-c", "grep Seccomp: /proc/1/status /proc/self/status")
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasSuffix(l, "\t2") {
				t.Errorf("--init: %q, want Seccomp 2 for PID 1 and its child", l)
			}
		}
	})
	want := map[string]string{
		"getpid":                        "ok",
		"keyctl":                        "EPERM",
		"add_key":                       "EPERM",
		"personality-addr-no-randomize": "EPERM",
		"personality-query":             "ok",
		"unshare-uts":                   "EPERM",
		"mount-tmpfs":                   "EPERM",
		"mkdirat":                       "ok",
		"lsm_get_self_attr":             "ENOSYS",
	}
	t.Run("calls", func(t *testing.T) {
		t.Parallel()
		out := runOut(t, probeArgs(t, nil), append([]string{"/it"}, probeNames(want)...)...)
		wantProbes(t, "run", probeResults(t, out), want)
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		runDetached(t, name, probeArgs(t, nil), "sleep", "300")
		status := mustMyctr(t, "exec", name, "cat", "/proc/self/status")
		if got := statusField(t, status, "Seccomp"); got != "2" {
			t.Errorf("exec: Seccomp = %s, want 2", got)
		}
		out := mustMyctr(t, append([]string{"exec", name, "/it"}, probeNames(want)...)...)
		wantProbes(t, "exec", probeResults(t, out), want)
		out = mustMyctr(t, "exec", "-u", "1000", name, "grep", "Seccomp:", "/proc/self/status")
		if !strings.HasSuffix(strings.TrimSpace(out), "\t2") {
			t.Errorf("exec -u 1000: %q, want Seccomp 2", out)
		}
	})
}

// unconfined: no filter; the calls the default denies reach the kernel.
func TestSeccompUnconfined(t *testing.T) {
	t.Parallel()
	flags := []string{"--security-opt", "seccomp=unconfined"}
	status := runOut(t, append([]string{"--network", "none"}, flags...), "cat", "/proc/self/status")
	if got := statusField(t, status, "Seccomp"); got != "0" {
		t.Errorf("Seccomp = %s, want 0", got)
	}
	out := runOut(t, probeArgs(t, flags), "/it", "personality-addr-no-randomize", "lsm_get_self_attr")
	got := probeResults(t, out)
	if got["personality-addr-no-randomize"] != "ok" {
		t.Errorf("unconfined personality(ADDR_NO_RANDOMIZE): %s, want ok", got["personality-addr-no-randomize"])
	}
	if v := got["lsm_get_self_attr"]; v == "ENOSYS" || v == "" {
		t.Errorf("unconfined lsm_get_self_attr: %q, want the kernel's own answer (this kernel implements it)", v)
	}
	name := ctrName(t, "")
	runDetached(t, name, append([]string{"--network", "none"}, flags...), "sleep", "300")
	in := inspectSecurity(t, name)
	if strings.Join(in.HostConfig.SecurityOpt, ",") != "seccomp=unconfined" || in.Config.Annotations["io.podman.annotations.seccomp"] != "unconfined" {
		t.Errorf("inspect: SecurityOpt %q, annotations %v; want [seccomp=unconfined] and io.podman.annotations.seccomp=unconfined", in.HostConfig.SecurityOpt, in.Config.Annotations)
	}
	out = mustMyctr(t, "exec", name, "grep", "Seccomp:", "/proc/self/status")
	if !strings.HasSuffix(strings.TrimSpace(out), "\t0") {
		t.Errorf("exec into an unconfined container: %q, want Seccomp 0", out)
	}
}

// --cap-add SYS_ADMIN changes the filter as in Docker: mount and unshare
// are allowed (and the user namespace's kernel checks let them work).
func TestSeccompCapAdd(t *testing.T) {
	t.Parallel()
	flags := []string{"--cap-add", "SYS_ADMIN"}
	out := runOut(t, probeArgs(t, flags), "/it", "mount-tmpfs", "unshare-uts", "keyctl")
	wantProbes(t, "--cap-add SYS_ADMIN", probeResults(t, out), map[string]string{
		"mount-tmpfs": "ok", "unshare-uts": "ok", "keyctl": "EPERM"})
	out = runOut(t, append([]string{"--network", "none"}, flags...), "sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt && grep -c ' /mnt tmpfs ' /proc/mounts")
	if strings.TrimSpace(out) != "1" {
		t.Errorf("mount -t tmpfs with --cap-add SYS_ADMIN: %q", out)
	}
}

// A profile file in Docker's format: errnoRet is what the call returns;
// the filter is on; inspect names the file as Podman does.
func TestSeccompProfileFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	profile := filepath.Join(dir, "no-mkdir.json")
	body := `{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [
		{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122},
		{"names": ["no_such_syscall_myctr"], "action": "SCMP_ACT_ERRNO"}
	]
}`
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--security-opt", "seccomp=" + profile}
	name := ctrName(t, "")
	args := append([]string{"run", "--name", name}, probeArgs(t, flags)...)
	out, errOut, code := myctr(t, append(args, image, "/it", "mkdirat", "getpid", "personality-addr-no-randomize")...)
	if code != 0 {
		t.Fatalf("run: exit %d, stderr %q", code, errOut)
	}
	wantProbes(t, "profile", probeResults(t, out), map[string]string{
		"mkdirat": "EDQUOT", "getpid": "ok", "personality-addr-no-randomize": "ok"})
	var warnings []string
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "Warning:") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no_such_syscall_myctr") || !strings.Contains(warnings[0], profile) {
		t.Errorf("warnings %q, want one line naming the profile and no_such_syscall_myctr", warnings)
	}
	in := inspectSecurity(t, name)
	if strings.Join(in.HostConfig.SecurityOpt, ",") != "seccomp="+profile || in.Config.Annotations["io.podman.annotations.seccomp"] != profile {
		t.Errorf("inspect: SecurityOpt %q, annotations %v; want seccomp=%s", in.HostConfig.SecurityOpt, in.Config.Annotations, profile)
	}
	// busybox's mkdir says what the errno means.
	_, errOut, code = myctr(t, append([]string{"run", "--rm", "--network", "none"}, append(flags, image, "mkdir", "/tmp/d")...)...)
	if code == 0 || !strings.Contains(errOut, "quota") {
		t.Errorf("mkdir under the profile: exit %d, stderr %q; want a failure with EDQUOT (Disk quota exceeded)", code, errOut)
	}
	// The profile was read at create: the container keeps it.
	if err := os.WriteFile(profile, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code = myctr(t, "start", name); code != 0 {
		t.Fatalf("start after the file changed: exit %d, stderr %q", code, errOut)
	}
	waitState(t, name, "exited", cmdTimeout)
	if logs := mustMyctr(t, "logs", name); strings.Count(logs, "mkdirat EDQUOT") != 2 {
		t.Errorf("logs after the second start: %q, want mkdirat EDQUOT twice", logs)
	}
}

// Bad profiles: exit 125, an error naming the file (and the position of
// malformed JSON), and no container left behind.
func TestSeccompBadProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name, body string
		want       []string
	}{
		{"malformed", "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [ ,\n]}", []string{":3:17:", "invalid character"}},
		{"unknown-action", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]}`, []string{"unknown action", "SCMP_ACT_BOGUS"}},
		{"missing", "", []string{"no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, c.name+".json")
			if c.body != "" {
				if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			name := ctrName(t, "")
			_, errOut, code := myctr(t, "run", "--name", name, "--network", "none", "--security-opt", "seccomp="+path, image, "true")
			if code != 125 {
				t.Errorf("exit %d, want 125", code)
			}
			if !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, path) {
				t.Errorf("stderr %q, want an Error naming %s", errOut, path)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q, want %q in it", errOut, w)
				}
			}
			if _, ok := psFind(psJSON(t, true), name); ok {
				t.Errorf("ps -a lists %s after the refused run", name)
			}
		})
	}
}

// inspectSecurity reads the inspect fields the seccomp tests look at.
func inspectSecurity(t *testing.T, ref string) (in struct {
	Config struct {
		Annotations map[string]string
	}
	HostConfig struct {
		SecurityOpt []string
	}
}) {
	t.Helper()
	out := mustMyctr(t, "inspect", ref)
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	if err := json.Unmarshal(list[0], &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestSeccompCompilerMissing: myctr built without cgo (make build, on
// amd64) links no libseccomp; myctr-seccomp, beside it, compiles each
// profile once, into the run root's cache. A copy of myctr without
// myctr-seccomp beside it fails a confined container with the fix, and
// leaves nothing; an unconfined one runs.
func TestSeccompCompilerMissing(t *testing.T) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" && s.Value != "0" {
			t.Skip("this myctr is the cgo build, with libseccomp linked in")
		}
	}
	// The tier's containers ran confined: their programs are in the cache.
	runOut(t, []string{"--network", "none"}, "true")
	if ents, err := os.ReadDir(filepath.Join(runRoot, "seccomp")); err != nil || len(ents) == 0 {
		t.Fatalf("the run root's seccomp cache: %d entries, %v; want the default profile's program", len(ents), err)
	}

	lone := t.TempDir()
	for _, name := range []string{"myctr", "myctr-init", "myctr-monitor"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(bin), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(lone, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(filepath.Join(lone, "myctr"), globalArgs(args)...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code <= 0 {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	name := ctrName(t, "")
	_, errOut, code := run("run", "--rm", "--name", name, "--network", "none", image, "true")
	if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, "needs myctr-seccomp") ||
		!strings.Contains(errOut, "Hint: install myctr with make install") {
		t.Fatalf("without myctr-seccomp: exit %d, %q; want 125, the missing program named and the fix", code, errOut)
	}
	if _, ok := psFind(psJSON(t, true), name); ok {
		t.Fatalf("the refused container %s is listed", name)
	}
	out, errOut, code := run("run", "--rm", "--security-opt", "seccomp=unconfined", "--network", "none", image, "echo", "unconfined")
	if code != 0 || strings.TrimSpace(out) != "unconfined" {
		t.Fatalf("an unconfined container without myctr-seccomp: exit %d, %q, %q", code, out, errOut)
	}
}
