//go:build integration

// Package integration drives the real myctr binary as a real non-root user
// against the real kernel. Each run gets a private --root and --runroot
// under a fresh temporary directory and a busybox image built here from the
// host's static busybox; nothing outside that directory is touched.
//
// Run it with `make test-integration`, which builds myctr, sets MYCTR_BIN
// and runs this package as the test user.
package integration

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	image        = "bb"                  // short name of the test image
	imageFull    = "localhost/bb:latest" // its full name
	hostBusybox  = "/bin/busybox"        // Debian busybox-static
	cmdTimeout   = 30 * time.Second      // default limit for one myctr call
	pollInterval = 100 * time.Millisecond
)

// Set once by TestMain.
var (
	bin     string // the myctr binary
	tmpRoot string // everything this run creates lives under here
	root    string // --root
	runRoot string // --runroot
)

func TestMain(m *testing.M) {
	if os.Getenv("MYCTR_IT_ROLE") == "dnshost" {
		os.Exit(dnsHost())
	}
	if role := os.Getenv("MYCTR_IT_ROLE"); role != "" {
		// This binary (static: built with CGO_ENABLED=0) bound into a
		// container, playing a server busybox cannot.
		os.Exit(serveRole(role))
	}
	os.Exit(testMain(m))
}

// extraRoles are more in-container roles, registered by the test files
// that use them (init functions).
var extraRoles = map[string]func() int{}

// serveRole runs the in-container servers of the tests: "udpecho" prints
// each datagram on port 5353 with its source and sends it back.
func serveRole(role string) int {
	if f, ok := extraRoles[role]; ok {
		return f()
	}
	if role != "udpecho" {
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		return 2
	}
	c, err := net.ListenPacket("udp", ":5353")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("udp from %s: %s\n", from, strings.TrimSpace(string(buf[:n])))
		c.WriteTo(buf[:n], from)
	}
}

func testMain(m *testing.M) int {
	bin = os.Getenv("MYCTR_BIN")
	if bin == "" {
		fmt.Fprintln(os.Stderr, "MYCTR_BIN is not set: point it at a built myctr binary (make test-integration does this)")
		return 1
	}
	if !filepath.IsAbs(bin) {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "MYCTR_BIN %q: %v\n", bin, err)
			return 1
		}
		bin = abs
	}
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "MYCTR_BIN: %v\n", err)
		return 1
	}
	if os.Geteuid() == 0 {
		fmt.Fprintln(os.Stderr, "run as a non-root user: make test-integration does this")
		return 1
	}

	var err error
	tmpRoot, err = os.MkdirTemp("", "myctr-it-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "create temporary root: %v\n", err)
		return 1
	}
	root = filepath.Join(tmpRoot, "root")
	runRoot = filepath.Join(tmpRoot, "run")
	defer cleanupAll()

	for _, d := range []string{root, runRoot} {
		if err := os.Mkdir(d, 0o700); err != nil {
			fmt.Fprintf(os.Stderr, "create %s: %v\n", d, err)
			return 1
		}
	}
	tarball := filepath.Join(tmpRoot, "bb.tar")
	if err := writeBusyboxTar(tarball); err != nil {
		fmt.Fprintf(os.Stderr, "build busybox image: %v\n", err)
		return 1
	}
	if out, errOut, code := runMyctr(2*time.Minute, nil, "import", tarball, image); code != 0 {
		fmt.Fprintf(os.Stderr, "myctr import failed (exit %d)\nstdout: %s\nstderr: %s\n", code, out, errOut)
		return 1
	}
	return m.Run()
}

// cleanupAll removes every container of this run, then the temporary root.
// Files in the store belong to subordinate ids, so the removal runs as root
// of the user's namespace (myctr unshare); os.RemoveAll is the fallback.
func cleanupAll() {
	// Pods first: a pod's infra container goes only with its pod.
	runMyctr(cmdTimeout, nil, "pod", "rm", "-a", "-f")
	out, _, code := runMyctr(cmdTimeout, nil, "ps", "-a", "-q")
	if code == 0 {
		for _, id := range strings.Fields(out) {
			runMyctr(cmdTimeout, nil, "rm", "-f", id)
		}
	}
	if _, errOut, code := runMyctr(2*time.Minute, nil, "unshare", "rm", "-rf", tmpRoot); code != 0 {
		fmt.Fprintf(os.Stderr, "myctr unshare rm -rf %s: exit %d: %s\n", tmpRoot, code, errOut)
	}
	if err := os.RemoveAll(tmpRoot); err != nil {
		fmt.Fprintf(os.Stderr, "remove %s: %v\n", tmpRoot, err)
	}
}

// writeBusyboxTar writes a minimal root filesystem: the static busybox,
// its applets as symlinks in /bin, and the usual top-level directories,
// /etc/passwd and /etc/group.
func writeBusyboxTar(path string) error {
	bb, err := os.ReadFile(hostBusybox)
	if err != nil {
		return fmt.Errorf("read %s (install busybox-static): %w", hostBusybox, err)
	}
	list, err := exec.Command(hostBusybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", hostBusybox, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	now := time.Now()
	hdr := func(name string, typ byte, mode int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, ModTime: now, Uname: "root", Gname: "root"}
	}
	for _, d := range []struct {
		name string
		mode int64
	}{
		{"bin/", 0o755}, {"etc/", 0o755}, {"tmp/", 0o1777}, {"proc/", 0o555}, {"sys/", 0o555},
		{"dev/", 0o755}, {"root/", 0o700}, {"home/", 0o755}, {"var/", 0o755},
		{"srv/", 0o755}, // as Alpine has it: run --workdir does not create a directory
	} {
		if err := tw.WriteHeader(hdr(d.name, tar.TypeDir, d.mode)); err != nil {
			return err
		}
	}
	h := hdr("home/app/", tar.TypeDir, 0o755)
	h.Uid, h.Gid, h.Uname, h.Gname = 1000, 1000, "app", "app"
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	h = hdr("bin/busybox", tar.TypeReg, 0o755)
	h.Size = int64(len(bb))
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	seen := map[string]bool{"busybox": true}
	for _, applet := range strings.Fields(string(list)) {
		applet = filepath.Base(applet)
		if seen[applet] {
			continue
		}
		seen[applet] = true
		h := hdr("bin/"+applet, tar.TypeSymlink, 0o777)
		h.Linkname = "busybox"
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" +
			"app:x:1000:1000::/home/app:/bin/sh\n",
		"etc/group": "root:x:0:\nnobody:x:65534:\napp:x:1000:\n",
	}
	for _, name := range []string{"etc/passwd", "etc/group"} {
		h := hdr(name, tar.TypeReg, 0o644)
		h.Size = int64(len(files[name]))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// globalArgs are prepended to every myctr call.
func globalArgs(args []string) []string {
	return append([]string{"--root", root, "--runroot", runRoot}, args...)
}

// myctrCommand returns an unstarted myctr command with the private roots.
func myctrCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, globalArgs(args)...)
	cmd.WaitDelay = 5 * time.Second // do not hang on pipes held by a leftover child
	return cmd
}

// runMyctr runs myctr to completion with stdin (may be nil) and a timeout.
// code is -1 if it could not be started or was killed by the timeout.
func runMyctr(timeout time.Duration, stdin []byte, args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := myctrCommand(ctx, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		code = -1
		e.WriteString(fmt.Sprintf("\n[test harness: myctr %s timed out after %s]", strings.Join(args, " "), timeout))
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		code = -1
		e.WriteString("\n[test harness: " + err.Error() + "]")
	}
	return o.String(), e.String(), code
}

// myctr runs myctr with the default timeout.
func myctr(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return myctrT(t, cmdTimeout, args...)
}

// myctrT runs myctr with the given timeout and logs the call.
func myctrT(t testing.TB, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, code = runMyctr(timeout, nil, args...)
	t.Logf("myctr %s -> exit %d", strings.Join(args, " "), code)
	return stdout, stderr, code
}

// mustMyctr fails the test unless myctr exits 0, and returns its stdout.
func mustMyctr(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, code := myctr(t, args...)
	if code != 0 {
		t.Fatalf("myctr %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// runOut runs a foreground container (`run --rm bb CMD...` with extra
// flags before the image) and fails unless it exits 0; it returns stdout.
func runOut(t testing.TB, flags []string, cmd ...string) string {
	t.Helper()
	args := append([]string{"run", "--rm"}, flags...)
	args = append(args, image)
	return mustMyctr(t, append(args, cmd...)...)
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// ctrName returns a container name unique to the test (and suffix), and
// removes that container when the test ends.
func ctrName(t testing.TB, suffix string) string {
	t.Helper()
	n := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()+"-"+suffix), "-"), "-")
	if len(n) > 100 {
		n = n[len(n)-100:]
		n = strings.TrimLeft(n, "-")
	}
	n = "it-" + n
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rm", "-f", n) })
	return n
}

// runDetached starts `run -d --name NAME FLAGS... bb CMD...` and returns the id.
func runDetached(t testing.TB, name string, flags []string, cmd ...string) string {
	t.Helper()
	args := append([]string{"run", "-d", "--name", name}, flags...)
	args = append(args, image)
	out := mustMyctr(t, append(args, cmd...)...)
	id := strings.TrimSpace(out)
	if !isFullID(id) {
		t.Fatalf("run -d printed %q, want a 64-hex container id", out)
	}
	return id
}

var fullID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func isFullID(s string) bool { return fullID.MatchString(s) }

// Inspect is the part of `myctr inspect` the tests read.
type Inspect struct {
	Id        string
	Name      string
	Path      string
	Args      []string
	Image     string
	ImageName string
	State     struct {
		Status     string
		Running    bool
		Paused     bool
		CgroupPath string
		Pid        int
		ConmonPid  int
		ExitCode   int
		Error      string
		StartedAt  string
		FinishedAt string
	}
	Config struct {
		Hostname   string
		Env        []string
		Cmd        []string
		Entrypoint string // a string, as Podman 4's
		WorkingDir string
		User       string
		StopSignal string
	}
	HostConfig struct {
		NetworkMode    string
		ReadonlyRootfs bool
		AutoRemove     bool
		Sysctls        map[string]string
		ExtraHosts     []string
	}
	GraphDriver struct {
		Name string
		Data struct {
			LowerDir  string
			UpperDir  string
			WorkDir   string
			MergedDir string
		}
	}
	OCIConfigPath   string
	NetworkSettings struct {
		NetworkPid       int
		PortForwarderPid int
		Ports            []struct {
			HostIP        string
			HostPort      int
			ContainerPort int
			Protocol      string
		}
		Networks map[string]struct{ IPAddress string }
	}
}

// inspect returns the one container named by ref.
func inspect(t testing.TB, ref string) Inspect {
	t.Helper()
	out := mustMyctr(t, "inspect", ref)
	var all []Inspect
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("inspect %s: output is not a JSON array: %v\n%s", ref, err, out)
	}
	if len(all) != 1 {
		t.Fatalf("inspect %s: got %d objects, want 1", ref, len(all))
	}
	return all[0]
}

// PsEntry is one object of `ps --format json`.
type PsEntry struct {
	Id       string
	Names    []string
	Image    string
	Command  []string
	State    string
	Status   string
	ExitCode int
	Pid      int
}

// psJSON runs `ps [-a] --format json`.
func psJSON(t testing.TB, all bool) []PsEntry {
	t.Helper()
	args := []string{"ps", "--format", "json"}
	if all {
		args = []string{"ps", "-a", "--format", "json"}
	}
	out := mustMyctr(t, args...)
	var ps []PsEntry
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("%s: not a JSON array: %v\n%s", strings.Join(args, " "), err, out)
	}
	return ps
}

// psFind returns the ps entry with the given name, if any.
func psFind(ps []PsEntry, name string) (PsEntry, bool) {
	for _, p := range ps {
		for _, n := range p.Names {
			if n == name {
				return p, true
			}
		}
	}
	return PsEntry{}, false
}

// waitFor polls cond until it is true or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
}

// waitLogs waits until the container's log (stdout and stderr) contains s.
func waitLogs(t testing.TB, name, s string, timeout time.Duration) {
	t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for {
		out, errOut, _ := runMyctr(cmdTimeout, nil, "logs", name)
		last = out + errOut
		if strings.Contains(last, s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %q in logs of %s; logs:\n%s", timeout, s, name, last)
		}
		time.Sleep(pollInterval)
	}
}

// waitState waits until inspect reports the status (e.g. "exited").
func waitState(t testing.TB, name, status string, timeout time.Duration) Inspect {
	t.Helper()
	var in Inspect
	waitFor(t, timeout, name+" to be "+status, func() bool {
		in = inspect(t, name)
		return in.State.Status == status
	})
	return in
}

// procStartTime returns field 22 of /proc/PID/stat (start time in ticks)
// and the state letter, or ok=false if the process does not exist.
func procStat(pid int) (state string, ppid int, start uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return "", 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return f[0], ppid, start, true
}

// processGone reports whether the process pid that started at start no
// longer runs (gone, reused by another process, or a zombie).
func processGone(pid int, start uint64) bool {
	state, _, st, ok := procStat(pid)
	return !ok || st != start || state == "Z"
}

// subIDRange returns the current user's first range in /etc/subuid or
// /etc/subgid, or skips the test.
func subIDRange(t testing.TB, file string) (start, count int) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Skipf("needs a subordinate id range: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) != 3 || (p[0] != u.Username && p[0] != u.Uid) {
			continue
		}
		s, err1 := strconv.Atoi(p[1])
		c, err2 := strconv.Atoi(p[2])
		if err1 == nil && err2 == nil {
			return s, c
		}
	}
	t.Skipf("needs a subordinate id range: no entry for %s in %s", u.Username, file)
	return 0, 0
}

// statusField returns the value of "Key:" in /proc/PID/status text.
func statusField(t testing.TB, status, key string) string {
	t.Helper()
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/self/status:\n%s", key, status)
	return ""
}

// containerDir is where myctr keeps the container's persistent state.
func containerDir(id string) string { return filepath.Join(root, "containers", id) }

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
