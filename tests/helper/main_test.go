//go:build helper

// Package helpertest is the helper tier (TESTING.md, tier 3): the real
// myctr-helper, started by D-Bus activation on a real system bus, asking a
// real polkitd, making its bridge, veths and nftables rules inside the test
// network namespace that tests/setup/helper-env.sh made; the real myctr and a
// raw D-Bus client (this binary, re-executed) calling it as non-root users.
//
// The test process itself runs as root, and only to look: links, nftables
// rules and ledger files in the test namespace and state directory, pids on
// the bus, and traffic from the client namespace. Everything under test runs
// as myctr-test (allowed by the test's polkit rule) or myctr-nosub (outside
// it).
//
// Run it with tests/setup/run-integration.sh (make test), or alone with
// `make test-helper`; by hand, as root:
//
//	tests/setup/helper-env.sh up
//	CGO_ENABLED=0 go test -c -tags helper -o bin/helper.test ./tests/helper
//	(cd tests/helper && MYCTR_BIN=$PWD/../../bin/myctr ../../bin/helper.test -test.v)
//	tests/setup/helper-env.sh down
package helpertest

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/helperprobe"
	"github.com/myctr/myctr/tests/testuser"
)

const (
	allowedUser  = "myctr-test"  // in group myctr-helper-test: org.myctr.helper.network is granted
	deniedUser   = "myctr-nosub" // outside the rule
	otherUser    = "myctr-other" // in the group too: a second uid on the bridge
	clientNetns  = "/run/netns/myctr-helper-client"
	testAddr     = "10.99.0.1" // the test netns's end of the client veth
	clientAddr   = "10.99.0.2" // the client's
	busSocket    = "/run/dbus/system_bus_socket"
	image        = "bb"
	cmdTimeout   = 60 * time.Second
	pollInterval = 100 * time.Millisecond
	defaultConf  = "/run/myctr-helper-test/helper.conf"
	roleEnv      = "MYCTR_HT_ROLE" // client | httpd | get | raw: this binary re-executed
)

var vethName = regexp.MustCompile(`^mc[0-9a-f]{12}$`)

// Set once by TestMain.
var (
	conf      helperConf
	tmp       string // everything this run creates (0755, root)
	bin       string // tmp/bin/myctr: a copy every user can execute
	selfBin   string // tmp/bin/helper.test: this binary, for the client and the containers
	users     = map[string]*testUser{}
	helperLog string
)

// helperConf is what the tests read of the helper's configuration
// (written by helper-env.sh).
type helperConf struct {
	path         string
	stateDir     string
	netns        string
	idleTimeout  time.Duration
	reapInterval time.Duration
	raw          map[string]string
}

// testUser is a test user; its myctr runs with private roots under tmp.
type testUser = testuser.User

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "client":
		os.Exit(clientRole())
	case "httpd":
		os.Exit(httpdRole())
	case "get":
		os.Exit(getRole())
	case "rawbus":
		os.Exit(rawBusRole())
	case "rawframe":
		os.Exit(rawFrameRole())
	case "":
	default:
		fmt.Fprintf(os.Stderr, "unknown %s %q\n", roleEnv, os.Getenv(roleEnv))
		os.Exit(2)
	}
	os.Exit(testMain(m))
}

// skipReason is set when the tier cannot run here at all; every test skips
// with it.
var skipReason string

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "the helper tier runs as root (it inspects the test network namespace and starts clients as other users): tests/setup/run-integration.sh runs it as root"
		return m.Run()
	}
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "helper tier set-up: %v\n", err)
		return 1
	}
	code := m.Run()
	cleanup()
	return code
}

func setup() error {
	path := os.Getenv("MYCTR_HELPER_CONF")
	if path == "" {
		path = defaultConf
	}
	var err error
	if conf, err = readConf(path); err != nil {
		return fmt.Errorf("%w\nHint: run tests/setup/helper-env.sh up as root first", err)
	}
	helperLog = filepath.Join(filepath.Dir(path), "helper.log")
	if _, err := os.Stat(busSocket); err != nil {
		return fmt.Errorf("no system bus: %w\nHint: tests/setup/helper-env.sh up", err)
	}
	os.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+busSocket)

	myctr := os.Getenv("MYCTR_BIN")
	if myctr == "" {
		return errors.New("MYCTR_BIN is not set: point it at a built myctr (run-integration.sh does)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := mustBeStatic(self); err != nil {
		return err
	}
	if tmp, err = os.MkdirTemp("", "myctr-helper-it-"); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	// Copies every test user can execute, wherever the checkout is.
	binDir := filepath.Join(tmp, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return err
	}
	bin = filepath.Join(binDir, "myctr")
	selfBin = filepath.Join(binDir, "helper.test")
	if err := copyFile(myctr, bin); err != nil {
		return err
	}
	for _, name := range []string{"myctr-full", "myctr-init", "myctr-monitor", "myctr-seccomp"} {
		if p := filepath.Join(filepath.Dir(myctr), name); fileExists(p) {
			if err := copyFile(p, filepath.Join(binDir, name)); err != nil {
				return err
			}
		}
	}
	if err := copyFile(self, selfBin); err != nil {
		return err
	}

	setupDir := os.Getenv("MYCTR_SETUP_DIR")
	if setupDir == "" {
		setupDir = "../setup"
	}
	tarball := filepath.Join(tmp, "bb.tar")
	if out, err := exec.Command(filepath.Join(setupDir, "busybox-rootfs.sh"), tarball).CombinedOutput(); err != nil {
		return fmt.Errorf("busybox-rootfs.sh: %v\n%s", err, out)
	}
	if err := os.Chmod(tarball, 0o644); err != nil {
		return err
	}
	for _, name := range []string{allowedUser, deniedUser, otherUser} {
		u, err := newUser(name)
		if err != nil {
			return err
		}
		users[name] = u
		if out, errOut, code := u.Run(2*time.Minute, "import", tarball, image); code != 0 {
			return fmt.Errorf("myctr import as %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	return nil
}

// cleanup removes every container of the run, then the temporary tree.
func cleanup() {
	for _, u := range users {
		out, _, code := u.Run(cmdTimeout, "ps", "-a", "-q")
		if code == 0 {
			for _, id := range strings.Fields(out) {
				u.Run(cmdTimeout, "rm", "-f", id)
			}
		}
	}
	os.RemoveAll(tmp)
}

func readConf(path string) (helperConf, error) {
	c := helperConf{path: path, raw: map[string]string{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("helper configuration: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok {
			c.raw[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	c.stateDir, c.netns = c.raw["state_dir"], c.raw["netns"]
	if c.stateDir == "" || c.netns == "" {
		return c, fmt.Errorf("%s: state_dir and netns must be set", path)
	}
	for k, p := range map[string]*time.Duration{"idle_timeout": &c.idleTimeout, "reap_interval": &c.reapInterval} {
		if *p, err = time.ParseDuration(c.raw[k]); err != nil {
			return c, fmt.Errorf("%s: %s: %w", path, k, err)
		}
	}
	return c, nil
}

func mustBeStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: containers run it as a server\nHint: build it with CGO_ENABLED=0 go test -c -tags helper", path)
		}
	}
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func newUser(name string) (*testUser, error) {
	u, err := testuser.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%w\nHint: tests/setup/user.sh creates the test users", err)
	}
	dir := filepath.Join(tmp, name)
	root, runRoot := filepath.Join(dir, "root"), filepath.Join(dir, "run")
	for _, d := range []string{dir, root, runRoot} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(d, int(u.UID), int(u.GID)); err != nil {
			return nil, err
		}
	}
	if !fileExists(u.RuntimeDir()) {
		return nil, fmt.Errorf("%s does not exist\nHint: tests/setup/user.sh creates it", u.RuntimeDir())
	}
	u.Bin, u.GlobalArgs = bin, []string{"--root", root, "--runroot", runRoot}
	u.Dir, u.Timeout = dir, cmdTimeout
	u.Env = []string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + busSocket}
	return u, nil
}

// begin is each test's first call: skips when the tier cannot run, and on
// failure logs what the helper wrote meanwhile.
func begin(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	var off int64
	if st, err := os.Stat(helperLog); err == nil {
		off = st.Size()
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		f, err := os.Open(helperLog)
		if err != nil {
			return
		}
		defer f.Close()
		f.Seek(off, io.SeekStart)
		b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
		t.Logf("helper log during the test (%s):\n%s", helperLog, b)
	})
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// ctrName returns a container name unique to the test and removes the
// container (as u) when the test ends.
func ctrName(t testing.TB, u *testUser, suffix string) string {
	t.Helper()
	n := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()+"-"+suffix), "-"), "-")
	if len(n) > 50 {
		n = strings.TrimLeft(n[len(n)-50:], "-")
	}
	n = "ht-" + n
	t.Cleanup(func() { u.Run(cmdTimeout, "rm", "-f", n) })
	return n
}

// ---- looking at the test network namespace and the helper's state ----------

// inTestNetns runs a command as root in the helper's network namespace.
func inNetns(t testing.TB, netns string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + netns, "--"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		return o.String(), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, e.String())
	}
	return o.String(), nil
}

type link struct {
	Name   string `json:"ifname"`
	Master string `json:"master"`
	MTU    int    `json:"mtu"`
	Flags  []string
}

// links lists the interfaces of a network namespace.
func links(t testing.TB, netns string) []link {
	t.Helper()
	out, err := inNetns(t, netns, "ip", "-j", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	var ls []link
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatalf("ip -j link: %v\n%s", err, out)
	}
	return ls
}

// veths returns the helper's host-side veths ("mc" + 12 hex) in the test
// netns.
func veths(t testing.TB) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, l := range links(t, conf.netns) {
		if vethName.MatchString(l.Name) {
			m[l.Name] = true
		}
	}
	return m
}

// newVeths is what is in now and was not in before.
func newVeths(before, now map[string]bool) []string {
	var out []string
	for n := range now {
		if !before[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// nftRules is `nft list table ip myctr` in the test netns ("" when the
// table does not exist).
func nftRules(t testing.TB) string {
	t.Helper()
	out, err := inNetns(t, conf.netns, "nft", "list", "table", "ip", "myctr")
	if err != nil {
		if strings.Contains(err.Error(), "No such file or directory") {
			return ""
		}
		t.Fatal(err)
	}
	return out
}

// ledgerFiles returns the helper's state files that mention any of the
// needles (in their path or content).
func ledgerFiles(t testing.TB, needles ...string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(conf.stateDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, n := range needles {
			if n != "" && (strings.Contains(p, n) || bytes.Contains(b, []byte(n))) {
				found = append(found, p)
				break
			}
		}
		return nil
	})
	return found
}

// ---- the bus, as root: only the bus driver and introspection ----------------

// ---- the raw client: this binary as a user ----------------------------------

// clientCall is one method call of the raw client, passed in roleEnv's
// companion MYCTR_HT_CALL as JSON. Namespace descriptors are fds 3 and 4.
type clientCall struct {
	Method        string         `json:"method"` // short: "AttachNetwork"
	Container     string         `json:"container,omitempty"`
	Protocol      string         `json:"protocol,omitempty"`
	HostIP        string         `json:"host_ip,omitempty"`
	HostPort      uint16         `json:"host_port,omitempty"`
	ContainerPort uint16         `json:"container_port,omitempty"`
	Options       map[string]any `json:"options,omitempty"`
	// Pidfd is DelegateCgroup's process: "self" (the client's own),
	// "pid1" (root's), "file" (/dev/null, no pidfd) or "dead" (an exited
	// child's).
	Pidfd string `json:"pidfd,omitempty"`
}

type clientResult struct {
	ErrorName string `json:"error_name,omitempty"`
	ErrorBody []any  `json:"error_body,omitempty"`
	Reply     []any  `json:"reply,omitempty"`
	Failure   string `json:"failure,omitempty"` // the client itself failed
}

func (r clientResult) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// callAs runs the raw client as u with the namespace files (fds 3, 4, ...).
func callAs(t testing.TB, u *testUser, call clientCall, files ...*os.File) clientResult {
	t.Helper()
	spec, _ := json.Marshal(call)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := u.Command(ctx, selfBin)
	cmd.Env = append(cmd.Env, roleEnv+"=client", "MYCTR_HT_CALL="+string(spec))
	cmd.ExtraFiles = files
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var r clientResult
	if jerr := json.Unmarshal(o.Bytes(), &r); jerr != nil {
		t.Fatalf("raw client as %s %s: %v (%v)\nstdout: %s\nstderr: %s", u.Name, spec, err, jerr, o.String(), e.String())
	}
	if r.Failure != "" {
		t.Fatalf("raw client as %s %s: %s\nstderr: %s", u.Name, spec, r.Failure, e.String())
	}
	t.Logf("%s: %s -> %s", u.Name, spec, r)
	return r
}

// clientRole is the raw client: one call, its result as JSON on stdout.
func clientRole() int {
	var call clientCall
	out := json.NewEncoder(os.Stdout)
	fail := func(format string, args ...any) int {
		out.Encode(clientResult{Failure: fmt.Sprintf(format, args...)})
		return 1
	}
	if err := json.Unmarshal([]byte(os.Getenv("MYCTR_HT_CALL")), &call); err != nil {
		return fail("MYCTR_HT_CALL: %v", err)
	}
	opts := map[string]dbus.Variant{}
	for k, v := range call.Options {
		switch v := v.(type) {
		case string:
			opts[k] = dbus.MakeVariant(v)
		case float64:
			opts[k] = dbus.MakeVariant(uint32(v))
		case bool:
			opts[k] = dbus.MakeVariant(v)
		case []any:
			var l []string
			for _, x := range v {
				l = append(l, fmt.Sprint(x))
			}
			opts[k] = dbus.MakeVariant(l)
		default:
			return fail("option %s: type %T", k, v)
		}
	}
	var args []any
	switch call.Method {
	case "GetVersion":
	case "AttachNetwork":
		args = []any{dbus.UnixFD(3), dbus.UnixFD(4), call.Container, opts}
	case "ReleaseNetwork":
		args = []any{call.Container, opts}
	case "PublishPort":
		args = []any{call.Container, call.Protocol, call.HostIP, call.HostPort, call.ContainerPort, opts}
	case "UnpublishPort":
		args = []any{call.Container, call.Protocol, call.HostIP, call.HostPort, opts}
	case "ReleaseAll":
		args = []any{opts}
	case "ReleaseCgroup":
		args = []any{call.Container, opts}
	case "DelegateCgroup":
		fd, err := clientPidfd(call.Pidfd)
		if err != nil {
			return fail("pidfd %q: %v", call.Pidfd, err)
		}
		args = []any{dbus.UnixFD(fd), call.Container, opts}
	default:
		return fail("unknown method %q", call.Method)
	}
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return fail("connect to the system bus as uid %d: %v", os.Getuid(), err)
	}
	defer conn.Close()
	c := conn.Object(protocol.BusName, protocol.ObjectPath).Call(protocol.Interface+"."+call.Method, 0, args...)
	var r clientResult
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case c.Err == nil:
		r.Reply = c.Body
	case errors.As(c.Err, &dep):
		r.ErrorName, r.ErrorBody = dep.Name, dep.Body
	case errors.As(c.Err, &de):
		r.ErrorName, r.ErrorBody = de.Name, de.Body
	default:
		return fail("call %s: %v", call.Method, c.Err)
	}
	out.Encode(r)
	return 0
}

// ---- the server in the containers -------------------------------------------

// httpdRole serves "hello from HOSTNAME: you are REMOTE" on MYCTR_HT_PORT
// (80) and logs "request from REMOTE" for each request: the address the
// server sees is the point of the tests.
func httpdRole() int {
	port := os.Getenv("MYCTR_HT_PORT")
	if port == "" {
		port = "80"
	}
	host, _ := os.Hostname()
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("listening on %s\n", l.Addr())
	err = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("request from %s\n", r.RemoteAddr)
		fmt.Fprintf(w, "hello from %s: you are %s\n", host, r.RemoteAddr)
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// getRole prints the body of a GET of MYCTR_HT_URL (5 s timeout): the
// client of the tests, in a namespace or a container (busybox-static's
// wget crashes on Debian 12).
func getRole() int {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(os.Getenv("MYCTR_HT_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	os.Stdout.Write(b)
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, resp.Status, err)
		return 1
	}
	return 0
}

// httpdFlags are the run flags that bind this binary in as the server.
func httpdFlags() []string {
	return []string{"-v", selfBin + ":/ht:ro", "-e", roleEnv + "=httpd"}
}

// fetchFrom GETs url from inside netns (as root, this binary in its "get"
// role), retrying until it answers or the timeout passes.
func fetchFrom(t testing.TB, netns, url string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		out, err := inNetns(t, netns, "env", roleEnv+"=get", "MYCTR_HT_URL="+url, selfBin)
		if err == nil {
			return out
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("GET %s from %s: no answer in %s: %v", url, netns, timeout, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// ---- myctr inspect ----------------------------------------------------------

type inspectInfo struct {
	Id    string
	Name  string
	State struct {
		Status    string
		Running   bool
		Pid       int
		ConmonPid int
	}
	HostConfig struct {
		NetworkMode string
	}
	NetworkSettings struct {
		IPAddress string
		Gateway   string
		Networks  map[string]struct {
			IPAddress string
			Gateway   string
		}
	}
}

func inspect(t testing.TB, u *testUser, ref string) inspectInfo {
	t.Helper()
	out := u.Must(t, "inspect", ref)
	var all []inspectInfo
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 1 {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return all[0]
}

// ip is the container's address on the bridge, from inspect.
func (in inspectInfo) ip(t testing.TB) string {
	t.Helper()
	if in.NetworkSettings.IPAddress != "" {
		return in.NetworkSettings.IPAddress
	}
	for _, n := range in.NetworkSettings.Networks {
		if n.IPAddress != "" {
			return n.IPAddress
		}
	}
	t.Fatalf("inspect %s: no NetworkSettings.IPAddress (nor in Networks)", in.Name)
	return ""
}

// runBridged starts `run -d --network bridge --name NAME FLAGS... bb CMD...`
// as u and returns its inspect.
func runBridged(t testing.TB, u *testUser, name string, flags []string, cmd ...string) inspectInfo {
	t.Helper()
	args := append([]string{"run", "-d", "--network", "bridge", "--name", name}, flags...)
	args = append(args, image)
	u.Must(t, append(args, cmd...)...)
	return inspect(t, u, name)
}

// waitFor polls cond until it returns "" or the timeout passes; then fails
// with its last answer.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %s: %s", timeout, what, why)
		}
		time.Sleep(pollInterval)
	}
}

// leftovers describes what of a container is still in the test netns and
// the state directory ("" when nothing): host veths that were not there
// before, nftables rules naming its address or host ports, ledger files
// naming it.
func leftovers(t testing.TB, before map[string]bool, ids []string, addr string, ports ...string) string {
	t.Helper()
	var why []string
	if nv := newVeths(before, veths(t)); len(nv) > 0 {
		why = append(why, fmt.Sprintf("veths %v", nv))
	}
	if m := helperprobe.Mentions(nftRules(t), append([]string{addr}, ports...)...); len(m) > 0 {
		why = append(why, fmt.Sprintf("nftables rules naming %v", m))
	}
	if f := ledgerFiles(t, ids...); len(f) > 0 {
		why = append(why, fmt.Sprintf("ledger files %v", f))
	}
	return strings.Join(why, "; ")
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// clientPidfd opens the descriptor DelegateCgroup gets (see clientCall).
func clientPidfd(kind string) (int, error) {
	switch kind {
	case "self":
		return unix.PidfdOpen(os.Getpid(), 0)
	case "pid1":
		return unix.PidfdOpen(1, 0)
	case "file":
		f, err := os.Open("/dev/null")
		if err != nil {
			return -1, err
		}
		return int(f.Fd()), nil
	case "dead":
		cmd := exec.Command("/bin/true")
		if err := cmd.Start(); err != nil {
			return -1, err
		}
		fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
		cmd.Wait()
		return fd, err
	}
	return -1, fmt.Errorf("unknown kind")
}
