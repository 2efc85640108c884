//go:build vm

package vmtest

// Containers as systemd units (issue: systemd), under the guest's real
// systemd: a system unit with User= and user units of vmuser's manager run
// `myctr run` as their main process; Type=notify with each --sdnotify mode;
// socket activation; the journal.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myctr/myctr/tests/helperprobe"
)

// vmRoles are the in-container programs of these tests: the test binary
// (static) bound into a container and started with MYCTR_VM_ROLE.
var vmRoles = map[string]func() int{
	"notify":   notifyRole,
	"listenfd": listenFDRole,
}

// notifyRole is a Type=notify service: it says hello, works for
// MYCTR_VM_DELAY seconds, says READY=1 through NOTIFY_SOCKET, and ends on
// SIGTERM saying so.
func notifyRole() int {
	fmt.Println("hello from the container")
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	delay, _ := strconv.Atoi(os.Getenv("MYCTR_VM_DELAY"))
	time.Sleep(time.Duration(delay) * time.Second)
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
		return 1
	}
	c.Write([]byte("STATUS=serving\nREADY=1"))
	fmt.Println("ready sent")
	<-terms
	fmt.Println("got-term")
	return 0
}

// listenFDRole answers one connection on descriptor 3.
func listenFDRole() int {
	l, err := net.FileListener(os.NewFile(3, "listen"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fd 3:", err)
		return 1
	}
	c, err := l.Accept()
	if err != nil {
		return 1
	}
	fmt.Fprintf(c, "pid=%d LISTEN_PID=%s LISTEN_FDS=%s\n", os.Getpid(), os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"))
	c.Close()
	return 0
}

// userCommand runs a command as u with its manager's bus (systemctl
// --user, journalctl), returning its combined output.
func (u *testUser) userCommand(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := u.userBusCommand(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// userBusCommand is u.Command with u's manager's bus as the session bus.
func (u *testUser) userBusCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := u.Command(ctx, name, args...)
	cmd.Env = append(cmd.Env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+u.RuntimeDir()+"/bus")
	return cmd
}

// writeUserUnit installs a unit file in u's ~/.config/systemd/user and
// reloads u's manager.
func (u *testUser) writeUserUnit(t *testing.T, name, text string) {
	t.Helper()
	dir := filepath.Join(u.Home, ".config/systemd/user")
	if _, err := u.userCommand(time.Minute, "mkdir", "-p", dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(path, int(u.UID), int(u.GID))
	t.Cleanup(func() { os.Remove(path); u.userCommand(time.Minute, "systemctl", "--user", "daemon-reload") })
	if _, err := u.userCommand(time.Minute, "systemctl", "--user", "daemon-reload"); err != nil {
		t.Fatal(err)
	}
}

// props reads properties of a unit, of u's manager when u is not nil.
func props(t testing.TB, u *testUser, unit string, names ...string) map[string]string {
	t.Helper()
	args := []string{"show", unit}
	if u != nil {
		args = append([]string{"--user"}, args...)
	}
	for _, p := range names {
		args = append(args, "-p", p)
	}
	var out string
	var err error
	if u != nil {
		out, err = u.userCommand(30*time.Second, "systemctl", args...)
	} else {
		out, err = command(30*time.Second, "systemctl", args...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return helperprobe.Properties(out)
}

// cgroupOf is the cgroup v2 path of pid.
func cgroupOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	return strings.TrimSpace(strings.TrimPrefix(string(b), "0::"))
}

// TestUnitSystemUser: a system unit with User= runs `myctr run` in the
// foreground as its main process. The container's processes are in the
// unit's cgroup (split below it: the unit delegates), Restart=on-failure
// brings it back after kill -9 of the container's process, systemctl stop
// ends it through its TERM trap well within the timeout, its lines are in
// the journal, and nothing is left afterwards.
func TestUnitSystemUser(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const unitName = "myctr-vm-sys.service"
	path := "/etc/systemd/system/" + unitName
	text := fmt.Sprintf(`[Unit]
Description=myctr VM tier: a system unit with User=
[Service]
User=%s
Environment=XDG_RUNTIME_DIR=%s HOME=%s
WorkingDirectory=~
Delegate=yes
Restart=on-failure
RestartSec=1
TimeoutStopSec=90
ExecStart=/usr/bin/myctr run --rm --replace --name sysunit --network none %s sh -c 'trap "echo got-term; exit 0" TERM; echo started $$$$; while :; do sleep 1; done'
`, u.Name, u.RuntimeDir(), u.Home, image)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		command(2*time.Minute, "systemctl", "stop", unitName)
		os.Remove(path)
		command(time.Minute, "systemctl", "daemon-reload")
	}()
	if _, err := command(time.Minute, "systemctl", "daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if out, err := command(2*time.Minute, "systemctl", "start", unitName); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	running := func(oldPid int) int {
		var pid int
		waitFor(t, 3*time.Minute, "the container of "+unitName+" running", func() string {
			out, errOut, code := u.Run(cmdTimeout, "inspect", "--format", "{{.State.Pid}}", "sysunit")
			pid, _ = strconv.Atoi(strings.TrimSpace(out))
			if code != 0 || pid == 0 || pid == oldPid {
				return fmt.Sprintf("inspect: exit %d, pid %q %s", code, out, errOut)
			}
			return ""
		})
		return pid
	}
	pid := running(0)
	unitCg := props(t, nil, unitName, "ControlGroup")["ControlGroup"]
	if cg := cgroupOf(pid); unitCg == "" || !strings.HasPrefix(cg, unitCg+"/myctr-") {
		t.Errorf("the container's process is in %q, want a cgroup below the unit's %q", cg, unitCg)
	}
	if out, _ := command(30*time.Second, "systemctl", "status", "--no-pager", "-l", unitName); !strings.Contains(out, "sleep 1") && !strings.Contains(out, "sh -c") {
		t.Errorf("systemctl status does not show the container's processes:\n%s", out)
	}
	// Restart=on-failure: the container dies of SIGKILL, myctr exits 137.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pid2 := running(pid)
	if n := props(t, nil, unitName, "NRestarts")["NRestarts"]; n != "1" {
		t.Errorf("NRestarts=%s after kill -9 of the container's process, want 1", n)
	}
	start := time.Now()
	if out, err := command(2*time.Minute, "systemctl", "stop", unitName); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("systemctl stop took %s: the container did not end on TERM", d)
	}
	journal, _ := command(time.Minute, "journalctl", "--no-pager", "-o", "cat", "CONTAINER_NAME=sysunit")
	if !strings.Contains(journal, "got-term") || !strings.Contains(journal, "started 1") {
		t.Errorf("the journal's lines of the container (CONTAINER_NAME=sysunit):\n%s", journal)
	}
	// The container's lines reach the unit's journal through the log
	// driver (with CONTAINER_NAME), never also through the unit's
	// stdout. (systemd's SIGTERM reaches the container's process
	// directly as well as through myctr, so its trap may run twice:
	// the fields tell the two ways apart, a count would not.)
	unitJournal, _ := command(time.Minute, "journalctl", "--no-pager", "-o", "json", "-u", unitName)
	viaDriver, viaStdout := 0, 0
	for _, line := range strings.Split(unitJournal, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil || e["MESSAGE"] != "got-term" {
			continue
		}
		if e["CONTAINER_NAME"] == "sysunit" {
			viaDriver++
		} else {
			viaStdout++
		}
	}
	if viaDriver == 0 || viaStdout != 0 {
		t.Errorf("journalctl -u %s: got-term %d times from the log driver and %d times from the unit's stdout, want it from the log driver alone:\n%s", unitName, viaDriver, viaStdout, unitJournal)
	}
	if out, _, _ := u.Run(cmdTimeout, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "sysunit") {
		t.Errorf("the --rm container is left after stop: %s", out)
	}
	if ents, _ := filepath.Glob("/sys/fs/cgroup" + unitCg + "/myctr-*"); len(ents) > 0 {
		t.Errorf("cgroups left after stop: %v", ents)
	}
	_ = pid2
}

// TestUnitNotifyContainer: a user unit with Type=notify and
// --sdnotify=container is activating until the container says READY=1,
// then active with its STATUS=; the container's output is in the journal
// with its fields, and myctr logs reads the same lines back.
func TestUnitNotifyContainer(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const unitName = "myctr-vm-notify.service"
	u.writeUserUnit(t, unitName, fmt.Sprintf(`[Service]
Type=notify
NotifyAccess=all
TimeoutStartSec=600
ExecStart=/usr/bin/myctr run --replace --name notify1 --network none --sdnotify=container --log-driver journald -v /usr/local/bin/myctr-vm.test:/t:ro -e MYCTR_VM_ROLE=notify -e MYCTR_VM_DELAY=20 %s /t
`, image))
	defer func() {
		u.userCommand(2*time.Minute, "systemctl", "--user", "stop", unitName)
		u.Run(cmdTimeout, "rm", "-f", "notify1")
	}()
	if _, err := u.userCommand(time.Minute, "systemctl", "--user", "start", "--no-block", unitName); err != nil {
		t.Fatal(err)
	}
	// Activating while the container works towards READY=1.
	sawHello := false
	waitFor(t, 3*time.Minute, "the container's hello while the unit activates", func() string {
		st := props(t, u, unitName, "ActiveState")["ActiveState"]
		out, _ := command(time.Minute, "journalctl", "--no-pager", "-o", "cat", "CONTAINER_NAME=notify1")
		if strings.Contains(out, "hello from the container") && !strings.Contains(out, "ready sent") {
			sawHello = true
			if st != "activating" {
				return "ActiveState " + st + " before READY=1"
			}
			return ""
		}
		return "no hello yet (" + st + ")"
	})
	if !sawHello {
		t.Fatal("no hello")
	}
	waitFor(t, 3*time.Minute, "the unit active after READY=1", func() string {
		p := props(t, u, unitName, "ActiveState", "StatusText")
		if p["ActiveState"] != "active" || p["StatusText"] != "serving" {
			return fmt.Sprintf("ActiveState %s StatusText %q", p["ActiveState"], p["StatusText"])
		}
		return ""
	})
	// Not delegated: the container is in the unit's own cgroup.
	p := props(t, u, unitName, "ControlGroup", "MainPID")
	in := inspect(t, u, "notify1")
	if cg := cgroupOf(in.State.Pid); cg != p["ControlGroup"] {
		t.Errorf("the container's process is in %q, want the unit's %q", cg, p["ControlGroup"])
	}
	if cg := cgroupOf(in.State.Pid); cg == "" {
		t.Error("no cgroup for the container's process")
	}
	logs := u.Must(t, "logs", "notify1")
	if !strings.Contains(logs, "hello from the container") || !strings.Contains(logs, "ready sent") {
		t.Errorf("myctr logs notify1 (from the journal): %q", logs)
	}
	if out, err := u.userCommand(time.Minute, "journalctl", "--user", "--no-pager", "-o", "cat", "-u", unitName); err != nil || !strings.Contains(out, "hello from the container") {
		t.Errorf("journalctl --user -u %s: %v\n%s", unitName, err, out)
	}
	fields, _ := command(time.Minute, "journalctl", "--no-pager", "-o", "verbose", "CONTAINER_NAME=notify1", "-n", "1")
	for _, f := range []string{"CONTAINER_ID_FULL=", "CONTAINER_ID=", "IMAGE_NAME=", "_SYSTEMD_USER_UNIT=" + unitName} {
		if !strings.Contains(fields, f) {
			t.Errorf("the journal entry lacks %s:\n%s", f, fields)
		}
	}
	if _, err := u.userCommand(2*time.Minute, "systemctl", "--user", "stop", unitName); err != nil {
		t.Fatal(err)
	}
	if logs := u.Must(t, "logs", "notify1"); !strings.Contains(logs, "got-term") {
		t.Errorf("after stop, myctr logs: %q", logs)
	}
}

// TestUnitNotifyConmon: the Quadlet shape, run -d --sdnotify=conmon in a
// Type=notify user unit with --cidfile, ExecStop= and ExecStopPost=: active
// once started, the monitor the unit's main process, the container in the
// unit's cgroup; stop leaves nothing.
func TestUnitNotifyConmon(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const unitName = "myctr-vm-conmon.service"
	u.writeUserUnit(t, unitName, fmt.Sprintf(`[Service]
Type=notify
NotifyAccess=all
Delegate=yes
KillMode=mixed
TimeoutStartSec=600
ExecStart=/usr/bin/myctr run -d --rm --replace --name conmon1 --cidfile=%%t/conmon1.cid --sdnotify=conmon --network none %s sleep 10000
ExecStop=/usr/bin/myctr stop --ignore -t 5 --cidfile=%%t/conmon1.cid
ExecStopPost=-/usr/bin/myctr rm --force --ignore --cidfile=%%t/conmon1.cid
Restart=on-failure
RestartSec=1
`, image))
	defer u.userCommand(2*time.Minute, "systemctl", "--user", "stop", unitName)
	if out, err := u.userCommand(5*time.Minute, "systemctl", "--user", "start", unitName); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	p := props(t, u, unitName, "ActiveState", "MainPID", "ControlGroup")
	in := inspect(t, u, "conmon1")
	if p["ActiveState"] != "active" || p["MainPID"] != strconv.Itoa(in.State.ConmonPid) {
		t.Errorf("ActiveState %s MainPID %s, want active with the monitor %d", p["ActiveState"], p["MainPID"], in.State.ConmonPid)
	}
	if cg := cgroupOf(in.State.Pid); !strings.HasPrefix(cg, p["ControlGroup"]+"/") {
		t.Errorf("the container's process is in %q, not below the unit's %q", cg, p["ControlGroup"])
	}
	cid := filepath.Join(u.RuntimeDir(), "conmon1.cid")
	if b, err := os.ReadFile(cid); err != nil || string(b) != in.Id {
		t.Errorf("%s: %q %v, want the id %s", cid, b, err, in.Id)
	}
	// kill -9 of the container's process: the monitor exits 137, the
	// unit fails and Restart=on-failure starts a new container.
	if err := syscall.Kill(in.State.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Minute, "the unit restarted", func() string {
		p := props(t, u, unitName, "NRestarts", "ActiveState")
		if p["NRestarts"] != "1" || p["ActiveState"] != "active" {
			return fmt.Sprintf("NRestarts %s ActiveState %s", p["NRestarts"], p["ActiveState"])
		}
		return ""
	})
	if in2 := inspect(t, u, "conmon1"); in2.Id == in.Id || in2.State.Pid == 0 {
		t.Errorf("after the restart: id %s pid %d (before: %s)", in2.Id, in2.State.Pid, in.Id)
	}
	if _, err := u.userCommand(2*time.Minute, "systemctl", "--user", "stop", unitName); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := u.Run(cmdTimeout, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "conmon1") {
		t.Errorf("conmon1 is left after stop: %s", out)
	}
	if _, err := os.Stat(cid); !os.IsNotExist(err) {
		t.Errorf("the cidfile is left after stop: %v", err)
	}
}

// TestUnitSocketActivation: a user .socket with its service; the first
// connection starts the unit, and the container (--network none) answers
// it on the socket it inherited as fd 3, with LISTEN_PID its own pid.
func TestUnitSocketActivation(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	u.writeUserUnit(t, "myctr-vm-sa.socket", "[Socket]\nListenStream=127.0.0.1:18383\n")
	u.writeUserUnit(t, "myctr-vm-sa.service", fmt.Sprintf(`[Service]
ExecStart=/usr/bin/myctr run --rm --network none -v /usr/local/bin/myctr-vm.test:/t:ro -e MYCTR_VM_ROLE=listenfd %s /t
`, image))
	defer u.userCommand(time.Minute, "systemctl", "--user", "stop", "myctr-vm-sa.socket", "myctr-vm-sa.service")
	if _, err := u.userCommand(time.Minute, "systemctl", "--user", "start", "myctr-vm-sa.socket"); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:18383", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(3 * time.Minute))
	got, err := io.ReadAll(conn)
	conn.Close()
	if string(got) != "pid=1 LISTEN_PID=1 LISTEN_FDS=1\n" {
		t.Errorf("the container answered %q (%v)", got, err)
	}
}
