//go:build vm

package vmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuadlet: a NAME.container file in the lingering user's
// ~/.config/containers/systemd becomes NAME.service at daemon-reload
// (myctr-user-generator, installed by make install), which systemd
// accepts (systemd-analyze verify), [Install] WantedBy= pulls in, starts
// (Type=notify), serves a page through its published port, restarts and
// stops, removing its container. The container ends on its stop signal
// (RunInit=: httpd as PID 1 would ignore SIGTERM), which is a clean stop
// (SuccessExitStatus=), not a failure. A file with a bad key beside it makes no
// unit, and its file, line and key are in the journal.
func TestQuadlet(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const (
		name = "quadlet-web"
		port = "18181"
		page = "served by a quadlet unit: $HOME stays"
	)
	dir := filepath.Join(u.Home, ".config/containers/systemd")
	genDir := filepath.Join(u.RuntimeDir(), "systemd/generator")
	svc := name + ".service"
	if _, err := u.userCommand(time.Minute, "mkdir", "-p", dir); err != nil {
		t.Fatal(err)
	}
	write := func(file, text string) {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, int(u.UID), int(u.GID))
	}
	// The page goes through Environment= (quoted, with a '$' that must
	// reach the container as written) and the shell of Exec=.
	write(name+".container", fmt.Sprintf(`# A Quadlet-style file, as written for Podman.
[Unit]
Description=myctr VM tier: a Quadlet-style container

[Container]
Image=%s
ContainerName=%s
Environment="PAGE=%s"
Exec=sh -c 'mkdir -p /www && echo "$PAGE" >/www/index.html && exec httpd -f -p 8080 -h /www'
PublishPort=127.0.0.1:%s:8080
RunInit=true

[Service]
TimeoutStartSec=300
TimeoutStopSec=120

[Install]
WantedBy=default.target
`, image, name, page, port))
	write("quadlet-bad.container", "[Container]\nImage=bb\nNoSuchKey=1\n")
	reload := func() {
		t.Helper()
		if out, err := u.userCommand(2*time.Minute, "systemctl", "--user", "daemon-reload"); err != nil {
			t.Fatalf("daemon-reload: %v\n%s", err, out)
		}
	}
	since := time.Now().Add(-time.Second)
	defer func() {
		u.userCommand(3*time.Minute, "systemctl", "--user", "stop", svc)
		os.Remove(filepath.Join(dir, name+".container"))
		os.Remove(filepath.Join(dir, "quadlet-bad.container"))
		u.userCommand(2*time.Minute, "systemctl", "--user", "daemon-reload")
		if t.Failed() {
			out, _ := command(time.Minute, "journalctl", "--no-pager", "-o", "short-monotonic",
				"--since", since.Format("2006-01-02 15:04:05"), fmt.Sprintf("_UID=%d", u.UID))
			t.Logf("the journal of %s during the test:\n%s", u.Name, out)
		}
	}()
	reload()

	unitPath := filepath.Join(genDir, svc)
	text, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatalf("the generator made no unit: %v", err)
	}
	t.Logf("%s:\n%s", unitPath, text)
	if target, err := os.Readlink(filepath.Join(genDir, "default.target.wants", svc)); err != nil || target != "../"+svc {
		t.Errorf("default.target.wants/%s -> %q, %v; want ../%s", svc, target, err, svc)
	}
	if _, err := os.Stat(filepath.Join(genDir, "quadlet-bad.service")); err == nil {
		t.Error("the file with a bad key made a unit")
	}
	if out, err := u.userCommand(2*time.Minute, "systemd-analyze", "--user", "verify", unitPath); err != nil {
		t.Errorf("systemd-analyze --user verify: %v", err)
	} else if strings.TrimSpace(out) != "" {
		t.Logf("systemd-analyze --user verify says:\n%s", out)
	}
	if p := props(t, u, svc, "SourcePath", "Type", "Delegate"); p["SourcePath"] != filepath.Join(dir, name+".container") ||
		p["Type"] != "notify" || p["Delegate"] != "yes" {
		t.Errorf("%s: %v", svc, p)
	}
	if w := props(t, u, "default.target", "Wants")["Wants"]; !strings.Contains(w, svc) {
		t.Errorf("default.target Wants=%s: no %s (its [Install] WantedBy=)", w, svc)
	}

	// The bad file: file, line and key in the journal, from the generator.
	waitFor(t, time.Minute, "the generator's message about quadlet-bad.container in the journal", func() string {
		out, _ := command(time.Minute, "journalctl", "--no-pager", "-o", "cat", "--since", since.Format("2006-01-02 15:04:05"))
		want := filepath.Join(dir, "quadlet-bad.container") + ":3: unknown key NoSuchKey= in [Container]"
		if !strings.Contains(out, want) {
			return "no line with " + want
		}
		return ""
	})

	containerID := func() string {
		out, _, _ := u.Run(cmdTimeout, "inspect", "--format", "{{.Id}}", name)
		return strings.TrimSpace(out)
	}
	start := time.Now()
	if out, err := u.userCommand(6*time.Minute, "systemctl", "--user", "start", svc); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	t.Logf("systemctl --user start took %s", time.Since(start).Round(time.Second))
	if got := get(t, "http://127.0.0.1:"+port+"/", 3*time.Minute); strings.TrimSpace(got) != page {
		t.Errorf("the page is %q, want %q", got, page)
	}
	first := containerID()
	if p := props(t, u, svc, "ActiveState", "MainPID"); p["ActiveState"] != "active" || p["MainPID"] == "0" {
		t.Errorf("after start: %v", p)
	}

	if out, err := u.userCommand(8*time.Minute, "systemctl", "--user", "restart", svc); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	if got := get(t, "http://127.0.0.1:"+port+"/", 3*time.Minute); strings.TrimSpace(got) != page {
		t.Errorf("after restart the page is %q", got)
	}
	if second := containerID(); second == "" || second == first {
		t.Errorf("after restart the container is %q, before %q: want a new one", second, first)
	}

	start = time.Now()
	if out, err := u.userCommand(4*time.Minute, "systemctl", "--user", "stop", svc); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 9*time.Second {
		t.Errorf("systemctl --user stop took %s: the container was killed after the stop timeout, it did not end on its stop signal", d.Round(time.Second))
	}
	if p := props(t, u, svc, "ActiveState", "Result"); p["ActiveState"] != "inactive" || p["Result"] != "success" {
		t.Errorf("after stop: %v", p)
	}
	if out, _, _ := u.Run(cmdTimeout, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, name) {
		t.Errorf("the container is left after stop:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(u.RuntimeDir(), name+".cid")); err == nil {
		t.Errorf("%s.cid is left after stop", name)
	}
	// The monitor named MAINPID= must be the manager's child by then: a
	// foreign main process is not waited for on stop, and the unit ends
	// in SIGKILL (Result=signal), depending on who was faster.
	out, _ := command(time.Minute, "journalctl", "--no-pager", "-o", "cat",
		"--since", since.Format("2006-01-02 15:04:05"), fmt.Sprintf("_UID=%d", u.UID))
	if strings.Contains(out, "which is not our child") {
		t.Errorf("the manager supervised a main process that is not its child:\n%s", out)
	}
}
