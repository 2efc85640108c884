//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type doctorFinding struct {
	Check   string `json:"check"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Hint    string `json:"hint"`
}

// doctorChecks are the checks every run reports, in order.
var doctorChecks = []string{"subuid", "subgid", "newuidmap", "newgidmap", "userns", "runtime-dir", "tun",
	"pasta", "slirp4netns", "cgroups", "store", "overlay", "helper"}

// doctor runs `myctr doctor [--format json]` with env added to the
// test's environment (a later VAR= wins); json: the findings parsed.
func doctor(t *testing.T, env []string, json bool) (text string, findings map[string]doctorFinding, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"doctor"}
	if json {
		args = append(args, "--format", "json")
	}
	cmd := myctrCommand(ctx, args...)
	cmd.Env = append(os.Environ(), env...)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("myctr doctor: %v: %s", err, errOut.String())
	}
	t.Logf("myctr %s (%v) -> exit %d\n%s%s", strings.Join(args, " "), env, code, out, errOut.String())
	if json {
		findings = parseFindings(t, out)
	}
	return string(out), findings, code
}

func parseFindings(t *testing.T, out []byte) map[string]doctorFinding {
	t.Helper()
	var list []doctorFinding
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("doctor --format json: %v: %s", err, out)
	}
	m := map[string]doctorFinding{}
	var order []string
	for _, f := range list {
		switch f.Status {
		case "ok", "warning", "error":
		default:
			t.Errorf("finding %+v: status %q, want ok, warning or error", f, f.Status)
		}
		if f.Status != "ok" && f.Hint == "" {
			t.Errorf("finding %+v: not ok, and no hint", f)
		}
		if f.Message == "" {
			t.Errorf("finding %+v: no message", f)
		}
		m[f.Check] = f
		order = append(order, f.Check)
	}
	if strings.Join(order, " ") != strings.Join(doctorChecks, " ") {
		t.Errorf("checks = %v, want %v", order, doctorChecks)
	}
	return m
}

// exitAgrees: exit 0 exactly when no finding is an error.
func exitAgrees(t *testing.T, fs map[string]doctorFinding, code int) {
	t.Helper()
	var errs []string
	for _, f := range fs {
		if f.Status == "error" {
			errs = append(errs, f.Check+": "+f.Message)
		}
	}
	if (len(errs) == 0) != (code == 0) || (code != 0 && code != 1) {
		t.Errorf("exit %d with errors %q: want 0 without errors, 1 with", code, errs)
	}
}

// TestDoctorHost: on this host, set up for the test user, doctor finds no
// error (exit 0) or names what is wrong; the overlay really mounts, the
// ranges are the user's own, and the text output gives each non-ok
// finding its Hint line.
func TestDoctorHost(t *testing.T) {
	if !hasSubRange(t) {
		t.Skip("needs the test user with a subordinate range; TestNoSubordinateRangeDoctor covers the user without")
	}
	_, fs, code := doctor(t, nil, true)
	exitAgrees(t, fs, code)
	for _, f := range fs {
		if f.Status == "error" {
			t.Errorf("on the prepared host: %s: %s (hint: %s)", f.Check, f.Message, f.Hint)
		}
	}
	start, count := subIDRange(t, "/etc/subuid")
	if f := fs["subuid"]; f.Status != "ok" || !strings.Contains(f.Message, fmt.Sprintf("%d subordinate ids from %d", count, start)) {
		t.Errorf("subuid = %+v, want ok with %d ids from %d", f, count, start)
	}
	if f := fs["overlay"]; f.Status != "ok" || !strings.Contains(f.Message, "chown to a subordinate id") {
		t.Errorf("overlay = %+v, want the probe's mount, whiteout and chown to succeed", f)
	}
	// The probe leaves nothing in the store.
	if left, _ := filepath.Glob(filepath.Join(root, "storage", ".doctor-*")); len(left) > 0 {
		t.Errorf("the overlay probe left %v", left)
	}
	text, _, code2 := doctor(t, nil, false)
	if code2 != code {
		t.Errorf("text output exits %d, json %d", code2, code)
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var checks, hints, notOK int
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "Hint:":
			hints++
		case len(f) > 2 && (f[0] == "ok" || f[0] == "warning" || f[0] == "error"):
			checks++
			if f[0] != "ok" {
				notOK++
			}
		default:
			t.Errorf("line %q is neither a finding nor a Hint", l)
		}
	}
	if checks != len(doctorChecks) || hints != notOK {
		t.Errorf("%d findings and %d Hint lines for %d not ok; want %d findings, a Hint each not ok", checks, hints, notOK, len(doctorChecks))
	}
}

// TestDoctorRuntimeDir: an XDG_RUNTIME_DIR others may read is an error,
// with chmod 0700 as the fix; once it is 0700 the check passes.
func TestDoctorRuntimeDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, fs, code := doctor(t, []string{"XDG_RUNTIME_DIR=" + dir}, true)
	exitAgrees(t, fs, code)
	f := fs["runtime-dir"]
	if code != 1 || f.Status != "error" || !strings.Contains(f.Message, "0755") || f.Hint != "run: chmod 0700 "+dir {
		t.Errorf("exit %d, runtime-dir = %+v; want exit 1, an error naming mode 0755 and the hint chmod 0700 %s", code, f, dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, fs, _ = doctor(t, []string{"XDG_RUNTIME_DIR=" + dir}, true)
	if f := fs["runtime-dir"]; f.Status != "ok" {
		t.Errorf("with mode 0700: runtime-dir = %+v, want ok", f)
	}
}

// TestDoctorNoNetworkTools: with a PATH where neither pasta nor
// slirp4netns is (newuidmap and newgidmap still are), both are errors
// whose hint names the packages to install, and doctor exits 1.
func TestDoctorNoNetworkTools(t *testing.T) {
	dir := t.TempDir()
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s is not installed (tests/setup/deps.sh installs uidmap)", tool)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	text, _, code := doctor(t, []string{"PATH=" + dir}, false)
	if code != 1 || !strings.Contains(text, "Hint: as root, run: apt-get install passt slirp4netns") {
		t.Errorf("exit %d, output:\n%s\nwant exit 1 and the hint apt-get install passt slirp4netns", code, text)
	}
	_, fs, code := doctor(t, []string{"PATH=" + dir}, true)
	exitAgrees(t, fs, code)
	for _, c := range []string{"pasta", "slirp4netns"} {
		if f := fs[c]; f.Status != "error" || !strings.Contains(f.Message, c+" is not in PATH") || !strings.Contains(f.Hint, "passt") || !strings.Contains(f.Hint, "slirp4netns") {
			t.Errorf("%s = %+v, want an error (not in PATH) whose hint names passt and slirp4netns", c, f)
		}
	}
	// The rest does not depend on them.
	for _, c := range []string{"newuidmap", "overlay"} {
		if f := fs[c]; f.Status != "ok" {
			t.Errorf("%s = %+v, want ok", c, f)
		}
	}
}

// TestNoSubordinateRangeDoctor: as a user without /etc/subuid and
// /etc/subgid entries, both are errors whose hint is the usermod command
// with a free range; the overlay still mounts (without the chown, which
// needs a subordinate id). make test-integration runs it as myctr-nosub.
func TestNoSubordinateRangeDoctor(t *testing.T) {
	if hasSubRange(t) {
		t.Skip("needs a user without a subordinate range; as root, make test-integration runs it as myctr-nosub")
	}
	_, fs, code := doctor(t, nil, true)
	exitAgrees(t, fs, code)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, c := range []string{"subuid", "subgid"} {
		f := fs[c]
		if f.Status != "error" || !strings.Contains(f.Message, "no subordinate range") || !strings.Contains(f.Hint, "usermod --add-subuids ") || !strings.Contains(f.Hint, "--add-subgids ") {
			t.Errorf("%s = %+v, want an error with the usermod hint", c, f)
		}
	}
	if f := fs["overlay"]; f.Status != "ok" || strings.Contains(f.Message, "chown") {
		t.Errorf("overlay = %+v, want ok without the chown", f)
	}
}
