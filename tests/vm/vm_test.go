//go:build vm

// Package vmtest is the VM tier's guest half (TESTING.md, tier 4): the real
// myctr and myctr-helper, installed by `make install`, under a real systemd
// as PID 1 in a Debian guest that qemu boots (tests/vm/run.sh). The helper
// is started the way a distribution starts it: the system bus asks systemd
// for myctr-helper.service (SystemdService= of the activation file), and
// the unit's hardening is in force.
//
// The test binary runs as root inside the guest, once per boot, started by
// tests/vm/job.sh; it only looks (links, nftables, the ledger, the unit,
// /proc) and starts myctr as the guest's users:
//   - vmuser, in group myctr-helper-test, which the job's polkit rule grants
//     org.myctr.helper.network;
//   - vmother, outside it;
//   - vmprompt, whom the rule asks for its own password (AUTH_SELF): it
//     runs myctr in a login session on a pseudo-terminal, where myctr's
//     pkttyagent asks.
//
// The tests run in this file's order and share one container: the first
// starts it, the ones after look at it, case 4 removes it.
// Nothing here runs on the host: the build tag keeps it out of go test ./...
package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/helperprobe"
	"github.com/myctr/myctr/tests/testuser"
)

const (
	allowedUser = "vmuser"  // in myctr-helper-test: granted the network action
	deniedUser  = "vmother" // outside the rule
	image       = "bb"
	unit        = "myctr-helper.service"
	unitFile    = "/usr/lib/systemd/system/myctr-helper.service"
	helperExe   = "/usr/libexec/myctr/myctr-helper"
	stateDir    = "/run/myctr-helper"
	helperConf  = "/etc/myctr/helper.conf"
	// Under TCG a process start is ~30x slower than on a host, and
	// unshare -U ~80x: generous limits everywhere.
	cmdTimeout = 4 * time.Minute
	webName    = "vm-web"
	webPort    = "8080"
	webPage    = "myctr VM tier: served by busybox httpd"
)

// vmprompt is granted the network action once it has typed its own
// password (AUTH_SELF); tests/vm/image.sh sets it with chpasswd.
const (
	promptUser     = "vmprompt"
	promptPassword = "vmprompt-pw"
)

var vethName = regexp.MustCompile(`^mc[0-9a-f]{12}$`)

var (
	users      = map[string]*testUser{}
	skipReason string
	// The container of case 1, which the later cases look at and case 4
	// removes; zero when case 1 did not start it.
	web struct {
		id, ip string
	}
	// Host veths before any test ran.
	vethsAtStart map[string]bool
)

// testUser is a guest user; its myctr is the installed one, with the
// storage of a login (under HOME and XDG_RUNTIME_DIR).
type testUser struct{ *testuser.User }

func TestMain(m *testing.M) {
	if role := os.Getenv("MYCTR_VM_ROLE"); role != "" {
		// This binary (static) in a container, as a service of a test.
		f, ok := vmRoles[role]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
			os.Exit(2)
		}
		os.Exit(f())
	}
	if os.Geteuid() != 0 {
		skipReason = "the VM tier's guest tests run as root inside the VM (tests/vm/run.sh boots it)"
		os.Exit(m.Run())
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		skipReason = "systemd is not PID 1 here: these tests run inside the VM that tests/vm/run.sh boots (make test-vm)"
		os.Exit(m.Run())
	}
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "VM tier set-up: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	tarball := os.Getenv("MYCTR_VM_BB_TAR")
	if tarball == "" {
		return errors.New("MYCTR_VM_BB_TAR is not set (tests/vm/job.sh sets it)")
	}
	for _, name := range []string{allowedUser, deniedUser, promptUser} {
		u, err := newUser(name)
		if err != nil {
			return err
		}
		users[name] = u
		if out, errOut, code := u.Run(cmdTimeout, "import", tarball, image); code != 0 {
			return fmt.Errorf("myctr import %s %s as %s: exit %d\n%s%s", tarball, image, name, code, out, errOut)
		}
	}
	var err error
	vethsAtStart, err = veths()
	return err
}

func newUser(name string) (*testUser, error) {
	u, err := testuser.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%w\nHint: tests/vm/image.sh creates %s in the guest image", err, name)
	}
	if _, err := os.Stat(u.RuntimeDir()); err != nil {
		return nil, fmt.Errorf("%w\nHint: %s lingers (loginctl enable-linger), so logind makes it at boot", err, u.RuntimeDir())
	}
	u.Bin, u.Timeout = "/usr/bin/myctr", cmdTimeout
	u.Path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
	return &testUser{u}, nil
}

// begin is each test's first call: skips when the tier cannot run, and on
// failure logs the helper's journal of the test.
func begin(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	since := time.Now().Add(-time.Second)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		out, _ := command(30*time.Second, "journalctl", "--no-pager", "-o", "short-monotonic",
			"--since", since.Format("2006-01-02 15:04:05"), "-u", unit, "-u", "dbus.service", "-u", "polkit.service")
		t.Logf("journal of %s, dbus and polkit during the test:\n%s", unit, out)
	})
}

// command runs a command as root and returns its output (stdout and
// stderr).
func command(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ---- what the tests look at ------------------------------------------------

// veths returns the helper's host-side veths ("mc" + 12 hex digits): with
// netns= empty, the helper works in the guest's own network namespace.
func veths() (map[string]bool, error) {
	out, err := command(30*time.Second, "ip", "-j", "link", "show")
	if err != nil {
		return nil, err
	}
	var ls []struct {
		Name string `json:"ifname"`
	}
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		return nil, fmt.Errorf("ip -j link: %w\n%s", err, out)
	}
	m := map[string]bool{}
	for _, l := range ls {
		if vethName.MatchString(l.Name) {
			m[l.Name] = true
		}
	}
	return m, nil
}

func mustVeths(t testing.TB) map[string]bool {
	t.Helper()
	m, err := veths()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

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

// nftRules is `nft list table ip myctr` ("" when there is no such table).
func nftRules(t testing.TB) string {
	t.Helper()
	out, err := command(30*time.Second, "nft", "list", "table", "ip", "myctr")
	if err != nil {
		if strings.Contains(out, "No such file or directory") {
			return ""
		}
		t.Fatal(err)
	}
	return out
}

// ledgerFiles lists the files under the helper's state directory but its lock.
func ledgerFiles() []string {
	var found []string
	filepath.WalkDir(stateDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != filepath.Join(stateDir, "lock") { // the helpers' lock stays
			found = append(found, p)
		}
		return nil
	})
	return found
}

// ledgerFilesOf lists the ledger files that name any of the needles.
func ledgerFilesOf(needles ...string) []string {
	var found []string
	for _, p := range ledgerFiles() {
		b, _ := os.ReadFile(p)
		for _, n := range needles {
			if n != "" && bytes.Contains(b, []byte(n)) {
				found = append(found, p)
				break
			}
		}
	}
	return found
}

// unitProps reads properties of the helper's unit from systemd.
func unitProps(t testing.TB, props ...string) map[string]string {
	t.Helper()
	args := []string{"show", unit}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	out, err := command(30*time.Second, "systemctl", args...)
	if err != nil {
		t.Fatal(err)
	}
	m := helperprobe.Properties(out)
	return m
}

// getVersion calls the helper as root (activating it when it is not
// running).
func getVersion(t testing.TB) {
	t.Helper()
	var version uint32
	var features []string
	err := helperprobe.SystemBus(t).Object(protocol.BusName, protocol.ObjectPath).Call(protocol.MethodGetVersion, 0).Store(&version, &features)
	if err != nil {
		t.Fatalf("%s: %v", protocol.MethodGetVersion, err)
	}
	t.Logf("GetVersion: %d %v", version, features)
}

// activations counts the system bus's "Activating via systemd" lines for
// the helper's unit in this boot's journal.
func activations(t testing.TB) int {
	t.Helper()
	out, err := command(30*time.Second, "journalctl", "-b", "--no-pager", "-o", "cat", "-u", "dbus.service")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Activating via systemd") && strings.Contains(l, "'"+protocol.BusName+"'") && strings.Contains(l, "'"+unit+"'") {
			n++
		}
	}
	return n
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
		time.Sleep(500 * time.Millisecond)
	}
}

// get GETs url, retrying until it answers 200 or the timeout passes.
func get(t testing.TB, url string, timeout time.Duration) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("%s, %v: %q", resp.Status, rerr, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no answer in %s: %v", url, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

// leftovers describes what of a container is still there ("" when
// nothing): host veths that were not there at the start, rules naming its
// address or host port, ledger files naming it.
func leftovers(t testing.TB, names []string, addr, port string) string {
	t.Helper()
	var why []string
	if nv := newVeths(vethsAtStart, mustVeths(t)); len(nv) > 0 {
		why = append(why, fmt.Sprintf("veths %v", nv))
	}
	if m := helperprobe.Mentions(nftRules(t), addr, port); len(m) > 0 {
		why = append(why, fmt.Sprintf("nftables rules in table ip myctr naming %v", m))
	}
	if f := ledgerFilesOf(names...); len(f) > 0 {
		why = append(why, fmt.Sprintf("ledger files %v", f))
	}
	return strings.Join(why, "; ")
}

type inspectInfo struct {
	Id              string
	State           struct{ Pid, ConmonPid int }
	NetworkSettings struct {
		IPAddress string
		Networks  map[string]struct{ IPAddress string }
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

func (in inspectInfo) ip() string {
	if in.NetworkSettings.IPAddress != "" {
		return in.NetworkSettings.IPAddress
	}
	for _, n := range in.NetworkSettings.Networks {
		if n.IPAddress != "" {
			return n.IPAddress
		}
	}
	return ""
}

// procStatus reads the fields of /proc/PID/status.
func procStatus(t testing.TB, pid int) map[string]string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// capBits are the capabilities a unit may name, by number (linux/capability.h).
var capBits = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
	"CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
	"CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17,
	"CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21,
	"CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25,
	"CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29,
	"CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33,
	"CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37,
	"CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}

// unitDirective returns the values of a [Service] directive of the
// installed unit file.
func unitDirective(t testing.TB, key string) []string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatalf("%v\nHint: make install puts the unit in /usr/lib/systemd/system", err)
	}
	var vals []string
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && k == key {
			vals = append(vals, v)
		}
	}
	return vals
}

// ---- the cases ---------------------------------------------------------------

// TestBridgePublishedPort (case 1): as vmuser, a bridged container with
// -p 8080:80 running busybox httpd serves its page on the guest's
// 127.0.0.1:8080.
func TestBridgePublishedPort(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	t.Cleanup(func() {
		if t.Failed() {
			out, errOut, _ := u.Run(cmdTimeout, "logs", webName)
			t.Logf("logs of %s:\n%s%s", webName, out, errOut)
		}
	})
	before := len(mustVeths(t))
	// podman, Podman's default network, is the helper's bridge (the
	// other bridge tests say bridge).
	u.Must(t, "run", "-d", "--network", "podman", "--name", webName, "-p", webPort+":80", image,
		"sh", "-c", "mkdir -p /www && echo '"+webPage+"' >/www/index.html && exec httpd -f -p 80 -h /www")
	in := inspect(t, u, webName)
	web.id, web.ip = in.Id, in.ip()
	t.Logf("%s: id %s, address %s", webName, web.id, web.ip)
	if web.ip == "" {
		t.Errorf("inspect %s: no address on the bridge", webName)
	}
	body := get(t, "http://127.0.0.1:"+webPort+"/", 90*time.Second)
	if !strings.Contains(body, webPage) {
		t.Errorf("GET http://127.0.0.1:%s/: %q, want the page %q", webPort, body, webPage)
	}
	if n := len(mustVeths(t)); n != before+1 {
		t.Errorf("%d host veths, want %d", n, before+1)
	}
	rules := nftRules(t)
	if m := helperprobe.Mentions(rules, web.ip, webPort); len(m) != 2 {
		t.Errorf("table ip myctr names %v of [%s %s]:\n%s", m, web.ip, webPort, rules)
	}
	// The frontend attaches a container by its id.
	if f := ledgerFilesOf(web.id); len(f) != 1 {
		t.Errorf("ledger files naming %s's id: %v, want one (all: %v)", webName, f, ledgerFiles())
	}
}

// TestHelperStartedBySystemd (case 2): the helper that serves
// org.myctr.Helper1 is myctr-helper.service's main process, started because
// the bus asked systemd for it (SystemdService=), not by the bus's launch
// helper.
func TestHelperStartedBySystemd(t *testing.T) {
	begin(t)
	if activations(t) == 0 {
		t.Errorf("the bus's journal has no \"Activating via systemd: service name='%s' unit='%s'\"", protocol.BusName, unit)
	}
	// The call keeps it from idling out while we look (or activates it
	// again, through the same path).
	getVersion(t)
	pid := helperprobe.HelperPid(t)
	p := unitProps(t, "ActiveState", "SubState", "MainPID", "Type", "BusName")
	t.Logf("bus owner pid %d; %s: %v", pid, unit, p)
	if p["ActiveState"] != "active" || p["SubState"] != "running" {
		t.Errorf("%s is %s/%s, want active/running", unit, p["ActiveState"], p["SubState"])
	}
	if pid == 0 || p["MainPID"] != strconv.Itoa(pid) {
		t.Errorf("%s has MainPID=%s, the owner of %s is pid %d: want the same", unit, p["MainPID"], protocol.BusName, pid)
	}
	if p["Type"] != "dbus" || p["BusName"] != protocol.BusName {
		t.Errorf("Type=%s BusName=%s, want dbus %s", p["Type"], p["BusName"], protocol.BusName)
	}
	if pid == 0 {
		return
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != helperExe {
		t.Errorf("the bus owner runs %q, want %s", exe, helperExe)
	}
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if !strings.Contains(string(cg), "/system.slice/"+unit) {
		t.Errorf("pid %d is in cgroup %q, not the unit's", pid, strings.TrimSpace(string(cg)))
	}
	if st := procStatus(t, pid); st["PPid"] != "1" {
		t.Errorf("pid %d has parent %s, want systemd (1)", pid, st["PPid"])
	}
}

// TestHelperHardening (case 2): the unit's sandbox and the helper's own
// are in force on the running helper: its effective capabilities are
// CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (no netns= here, so no
// CAP_SYS_ADMIN), within the unit's CapabilityBoundingSet=, and its
// bounding set is empty (the helper empties it); no_new_privs is set, a
// seccomp filter is loaded, no ambient capabilities, and it sees the file
// system read-only (ProtectSystem=strict) in a mount namespace of its own
// except its state directory.
func TestHelperHardening(t *testing.T) {
	begin(t)
	getVersion(t)
	pid := helperprobe.HelperPid(t)
	if pid == 0 {
		t.Fatalf("%s has no owner right after a call", protocol.BusName)
	}
	st := procStatus(t, pid)
	t.Logf("pid %d: CapBnd %s CapEff %s CapAmb %s NoNewPrivs %s Seccomp %s Seccomp_filters %s",
		pid, st["CapBnd"], st["CapEff"], st["CapAmb"], st["NoNewPrivs"], st["Seccomp"], st["Seccomp_filters"])

	set := unitDirective(t, "CapabilityBoundingSet")
	if len(set) != 1 {
		t.Fatalf("%s: CapabilityBoundingSet=%v, want one line", unitFile, set)
	}
	var unitSet uint64
	for _, c := range strings.Fields(set[0]) {
		bit, ok := capBits[c]
		if !ok {
			t.Fatalf("%s: unknown capability %s", unitFile, c)
		}
		unitSet |= 1 << bit
	}
	want := uint64(1)<<capBits["CAP_NET_ADMIN"] | 1<<capBits["CAP_NET_BIND_SERVICE"] | 1<<capBits["CAP_CHOWN"]
	if want&^unitSet != 0 {
		t.Errorf("CapabilityBoundingSet=%s lacks what the helper keeps", set[0])
	}
	for k, w := range map[string]uint64{"CapBnd": 0, "CapEff": want, "CapPrm": want} {
		if got, err := strconv.ParseUint(st[k], 16, 64); err != nil || got != w {
			t.Errorf("%s %s, want %016x", k, st[k], w)
		}
	}
	for k, v := range map[string]string{"NoNewPrivs": "1", "Seccomp": "2", "CapAmb": "0000000000000000"} {
		if st[k] != v {
			t.Errorf("%s: %s, want %s", k, st[k], v)
		}
	}

	// For the record: systemd's own summary of the sandbox.
	if out, err := command(time.Minute, "systemd-analyze", "security", "--no-pager", unit); err == nil {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "Overall exposure level") {
				t.Logf("systemd-analyze security %s: %s", unit, strings.TrimSpace(l))
			}
		}
	}

	// ProtectSystem=strict: / read-only in the helper's own mount
	// namespace; the state directory (RuntimeDirectory=) writable.
	own, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	init, _ := os.Readlink("/proc/1/ns/mnt")
	if own == "" || own == init {
		t.Errorf("the helper's mount namespace %q is systemd's own %q", own, init)
	}
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	opts := map[string]string{} // mount point -> options (the last mount wins)
	for _, l := range strings.Split(string(mi), "\n") {
		f := strings.Fields(l)
		if len(f) > 5 {
			opts[f[4]] = f[5]
		}
	}
	for mp, want := range map[string]string{"/": "ro", "/usr": "ro", "/etc": "ro", stateDir: "rw"} {
		o, ok := opts[mp]
		if !ok && mp != "/" {
			o = opts["/"]
		}
		if !strings.HasPrefix(o, want) && !strings.Contains(o, ","+want) {
			t.Errorf("%s in the helper's mount namespace is mounted %q, want %s", mp, o, want)
		}
	}
}

// TestDeniedUser (case 3): vmother, outside the polkit rule, is refused:
// exit 125, "Error: not authorized" naming org.myctr.helper.network, and
// no veth, rule or ledger record is made for it.
func TestDeniedUser(t *testing.T) {
	begin(t)
	u := users[deniedUser]
	before := mustVeths(t)
	rulesBefore := nftRules(t)
	ledgerBefore := ledgerFiles()
	name := "vm-denied"
	t.Cleanup(func() { u.Run(cmdTimeout, "rm", "-f", name) })
	out, errOut, code := u.Myctr(t, "run", "-d", "--network", "bridge", "--name", name, "-p", "8081:80", image, "sleep", "600")
	all := out + errOut
	t.Logf("output:\n%s", all)
	if code != 125 {
		t.Errorf("exit %d, want 125", code)
	}
	for _, want := range []string{"Error: not authorized", protocol.ActionNetwork} {
		if !strings.Contains(all, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if nv := newVeths(before, mustVeths(t)); len(nv) > 0 {
		t.Errorf("veths made for the refused run: %v", nv)
	}
	if r := nftRules(t); r != rulesBefore {
		t.Errorf("the refused run changed table ip myctr:\nbefore:\n%s\nafter:\n%s", rulesBefore, r)
	}
	if l := ledgerFiles(); strings.Join(l, " ") != strings.Join(ledgerBefore, " ") {
		t.Errorf("ledger files %v, before the refused run %v", l, ledgerBefore)
	}
	if f, _ := filepath.Glob(filepath.Join(stateDir, strconv.Itoa(int(u.UID)), "*")); len(f) > 0 {
		t.Errorf("ledger records of %s: %v", deniedUser, f)
	}
}

// TestRemoveLeavesNothing (case 4): myctr rm -f of the container of case 1
// leaves no mc* link, no rule naming it in table ip myctr, and no ledger
// file under /run/myctr-helper.
func TestRemoveLeavesNothing(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	if web.id == "" {
		// Case 1 failed before it had a container: make one here.
		u.Must(t, "run", "-d", "--network", "bridge", "--name", webName, "-p", webPort+":80", image, "sleep", "600")
		in := inspect(t, u, webName)
		web.id, web.ip = in.Id, in.ip()
	}
	if f := ledgerFilesOf(web.id); len(f) == 0 {
		t.Errorf("before rm: no ledger file names %s's id (all: %v)", webName, ledgerFiles())
	}
	u.Must(t, "rm", "-f", webName)
	waitFor(t, 60*time.Second, "rm -f left things behind", func() string {
		why := leftovers(t, []string{webName, web.id}, web.ip, webPort)
		if f := ledgerFiles(); len(f) > 0 {
			why = strings.TrimPrefix(why+fmt.Sprintf("; ledger files under %s: %v", stateDir, f), "; ")
		}
		return why
	})
	if out, _, _ := u.Run(cmdTimeout, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("myctr ps -a after rm -f: %q", out)
	}
	web.id = ""
}

// TestIdleExitAndReactivation (case 5): left alone for idle_timeout, the
// helper exits cleanly and its unit goes inactive; the next bridged run
// activates the unit again (a new invocation, through the bus and
// systemd), works, and cleans up after itself.
func TestIdleExitAndReactivation(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	conf, _ := os.ReadFile(helperConf)
	t.Logf("%s:\n%s", helperConf, conf)
	first := unitProps(t, "InvocationID")["InvocationID"]
	activated := activations(t)

	// Nothing calls the helper now; only systemd and the bus driver are
	// asked.
	start := time.Now()
	waitFor(t, 3*time.Minute, "the helper did not exit when idle", func() string {
		p := unitProps(t, "ActiveState", "SubState")
		if p["ActiveState"] != "inactive" {
			return fmt.Sprintf("%s is %s/%s", unit, p["ActiveState"], p["SubState"])
		}
		if pid := helperprobe.HelperPid(t); pid != 0 {
			return fmt.Sprintf("%s still owned by pid %d", protocol.BusName, pid)
		}
		return ""
	})
	p := unitProps(t, "Result", "ExecMainStatus", "ExecMainCode")
	t.Logf("the helper went inactive after %s idle: %v", time.Since(start).Round(100*time.Millisecond), p)
	if p["Result"] != "success" {
		t.Errorf("%s ended with Result=%s (ExecMainCode=%s ExecMainStatus=%s), want success", unit, p["Result"], p["ExecMainCode"], p["ExecMainStatus"])
	}

	name := "vm-again"
	t.Cleanup(func() { u.Run(cmdTimeout, "rm", "-f", name) })
	u.Must(t, "run", "-d", "--network", "bridge", "--name", name, "-p", "8082:80", image,
		"sh", "-c", "mkdir -p /www && echo again >/www/index.html && exec httpd -f -p 80 -h /www")
	in := inspect(t, u, name)
	if body := get(t, "http://127.0.0.1:8082/", 90*time.Second); !strings.Contains(body, "again") {
		t.Errorf("GET http://127.0.0.1:8082/: %q", body)
	}
	second := unitProps(t, "InvocationID", "ActiveState")
	if second["InvocationID"] == "" || second["InvocationID"] == first {
		t.Errorf("%s InvocationID %q after the run, %q before the idle exit: want a new one", unit, second["InvocationID"], first)
	}
	if n := activations(t); n <= activated {
		t.Errorf("the bus's journal has %d activations of %s through systemd, %d before: want more", n, unit, activated)
	}
	u.Must(t, "rm", "-f", name)
	waitFor(t, 60*time.Second, "rm -f through the re-activated helper left things behind", func() string {
		why := leftovers(t, []string{name, in.Id}, in.ip(), "8082")
		if f := ledgerFiles(); len(f) > 0 {
			why = strings.TrimPrefix(why+fmt.Sprintf("; ledger files under %s: %v", stateDir, f), "; ")
		}
		return why
	})
}

// ---- a login on a terminal (case 6) ------------------------------------------

// ttyLogin is `login -f USER` on a pseudo-terminal whose master the test
// holds, as a person at a text console: PAM's login stack (common-session:
// pam_systemd) registers a logind session for it, and the user's login
// shell reads what the test types.
type ttyLogin struct {
	master *os.File
	tty    string // the terminal's path, /dev/pts/N
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    []byte
	exited chan struct{}
}

func startLogin(t *testing.T, name string) *ttyLogin {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	// Wide enough that the shell never wraps a command line.
	if err := pty.Setsize(master, &pty.Winsize{Rows: 50, Cols: 250}); err != nil {
		t.Fatalf("set the terminal's size: %v", err)
	}
	l := &ttyLogin{master: master, tty: slave.Name(), exited: make(chan struct{})}
	l.cmd = exec.Command("/bin/login", "-f", name)
	l.cmd.Stdin, l.cmd.Stdout, l.cmd.Stderr = slave, slave, slave
	l.cmd.Env = []string{"TERM=dumb", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
	// The terminal is login's controlling terminal, as getty would leave it.
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := l.cmd.Start(); err != nil {
		master.Close()
		slave.Close()
		t.Fatalf("login -f %s: %v", name, err)
	}
	slave.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			l.mu.Lock()
			l.out = append(l.out, buf[:n]...)
			l.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { _ = l.cmd.Wait(); close(l.exited) }()
	t.Cleanup(func() {
		l.logout(t)
		if t.Failed() {
			t.Logf("the terminal (%s), all of it:\n%s", l.tty, l.text(0, -1))
		}
	})
	return l
}

// text is the terminal's output from offset from to end (-1: all so far),
// without the agent's colours and carriage returns.
func (l *ttyLogin) text(from, end int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if end < 0 || end > len(l.out) {
		end = len(l.out)
	}
	s := string(l.out[from:end])
	s = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`).ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "\r", "")
}

func (l *ttyLogin) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.out)
}

// expect waits until the output after offset from matches re; returns the
// submatches and the offset where the match ends. It fails the test with
// the output when what it waits for does not come within timeout.
func (l *ttyLogin) expect(t *testing.T, from int, re *regexp.Regexp, timeout time.Duration) ([]string, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l.mu.Lock()
		b := l.out[from:]
		if ix := re.FindSubmatchIndex(b); ix != nil {
			m := make([]string, len(ix)/2)
			for i := range m {
				if ix[2*i] >= 0 {
					m[i] = string(b[ix[2*i]:ix[2*i+1]])
				}
			}
			l.mu.Unlock()
			return m, from + ix[1]
		}
		l.mu.Unlock()
		select {
		case <-l.exited:
			// The last output may still be on its way.
			time.Sleep(200 * time.Millisecond)
			if re.Match([]byte(l.text(from, -1))) {
				continue
			}
			t.Fatalf("login on %s ended while waiting for %q; the terminal said:\n%s", l.tty, re, l.text(from, -1))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on %s within %s; the terminal said:\n%s", re, l.tty, timeout, l.text(from, -1))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeIn writes s to the terminal as keystrokes.
func (l *ttyLogin) typeIn(t *testing.T, s string) {
	t.Helper()
	if _, err := l.master.Write([]byte(s)); err != nil {
		t.Fatalf("write to %s: %v", l.tty, err)
	}
}

// echoOff reports whether the terminal echoes no more (what pkttyagent
// sets, TCSAFLUSH, before it reads the password: what is typed before is
// thrown away). TCGETS on the master reads the terminal's settings.
func (l *ttyLogin) echoOff() bool {
	rc, err := l.master.SyscallConn()
	if err != nil {
		return false
	}
	off := false
	_ = rc.Control(func(fd uintptr) {
		if tio, err := unix.IoctlGetTermios(int(fd), unix.TCGETS); err == nil {
			off = tio.Lflag&unix.ECHO == 0
		}
	})
	return off
}

// logout ends the shell (exit, then a hang-up), and kills the login only
// when it outlives both.
func (l *ttyLogin) logout(t *testing.T) {
	select {
	case <-l.exited:
	default:
		_, _ = l.master.Write([]byte("exit\n"))
		select {
		case <-l.exited:
		case <-time.After(30 * time.Second):
			t.Logf("login on %s still runs 30s after exit: hanging up", l.tty)
		}
	}
	l.master.Close()
	select {
	case <-l.exited:
	case <-time.After(30 * time.Second):
		t.Logf("login on %s (pid %d) still runs after the hang-up: killing it", l.tty, l.cmd.Process.Pid)
		_ = l.cmd.Process.Kill()
		<-l.exited
	}
}

// loginSession returns the id of u's logind session on tty ("pts/N"),
// failing the test when logind has none.
func loginSession(t *testing.T, u *testUser, tty string) string {
	t.Helper()
	ids, err := command(30*time.Second, "loginctl", "show-user", u.Name, "-p", "Sessions", "--value")
	if err != nil {
		t.Fatal(err)
	}
	props := []string{"Id", "Name", "TTY", "Type", "Class", "State", "Active", "Remote", "Service", "Leader", "Scope"}
	for _, id := range strings.Fields(ids) {
		args := []string{"show-session", id}
		for _, p := range props {
			args = append(args, "-p", p)
		}
		out, err := command(30*time.Second, "loginctl", args...)
		if err != nil {
			t.Fatal(err)
		}
		m := helperprobe.Properties(out)
		if m["TTY"] == tty && m["Name"] == u.Name {
			t.Logf("logind session %s: %s", id, strings.Join(strings.Fields(out), " "))
			return id
		}
	}
	all, _ := command(30*time.Second, "loginctl", "list-sessions", "--no-pager")
	t.Fatalf("logind has no session of %s on %s (its sessions: %q)\nloginctl list-sessions:\n%s\nHint: /etc/pam.d/login includes common-session, whose pam_systemd registers the session", u.Name, tty, ids, all)
	return ""
}

// checkAgent looks at the pkttyagent that asks: u's, started by myctr
// (its parent) as `pkttyagent --notify-fd 3 --fallback`, in the logind
// session session.
func checkAgent(t *testing.T, u *testUser, session string) {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []string
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		comm, _ := os.ReadFile(d + "/comm")
		if strings.TrimSpace(string(comm)) != "pkttyagent" {
			continue
		}
		st := procStatus(t, pid)
		if f := strings.Fields(st["Uid"]); len(f) == 0 || f[0] != strconv.Itoa(int(u.UID)) {
			continue
		}
		cmdline, _ := os.ReadFile(d + "/cmdline")
		args := strings.Join(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"), " ")
		parent, _ := os.Readlink("/proc/" + st["PPid"] + "/exe")
		cg, _ := os.ReadFile(d + "/cgroup")
		found = append(found, fmt.Sprintf("pid %d %q, parent %s %s, cgroup %s", pid, args, st["PPid"], parent, strings.TrimSpace(string(cg))))
		if parent != "/usr/bin/myctr" {
			t.Errorf("pkttyagent pid %d was started by %s (pid %s), want /usr/bin/myctr", pid, parent, st["PPid"])
		}
		if !strings.HasSuffix(args, "--notify-fd 3 --fallback") {
			t.Errorf("pkttyagent pid %d runs as %q, want ... --notify-fd 3 --fallback", pid, args)
		}
		if !strings.Contains(string(cg), "/session-"+session+".scope") {
			t.Errorf("pkttyagent pid %d is in cgroup %q, not in session %s's scope", pid, strings.TrimSpace(string(cg)), session)
		}
	}
	t.Logf("the agents of %s while it asks: %v", u.Name, found)
	if len(found) != 1 {
		t.Errorf("%d pkttyagent processes of %s, want one", len(found), u.Name)
	}
}

// TestPolkitTextAgentPrompt (case 6): vmprompt, whom the polkit rule
// answers AUTH_SELF, logs in on a terminal (a logind session through PAM)
// and runs a bridged container there: myctr starts pkttyagent on the
// terminal before its call, polkitd asks that agent (pkttyagent registers
// for its parent, the myctr process whose bus name calls; the journal
// shows "Registered Authentication Agent for unix-process:PID"), and the
// agent asks for the password. Typed right, the container runs (exit 0); typed wrong, myctr
// says "Error: not authorized" with the action, exits 125, and leaves no
// veth, no ledger record and no container.
func TestPolkitTextAgentPrompt(t *testing.T) {
	begin(t)
	u := users[promptUser]
	before := mustVeths(t)
	since := time.Now().Add(-time.Second)
	ledger := filepath.Join(stateDir, strconv.Itoa(int(u.UID)), "*")
	nothingLeft := func() string {
		var why []string
		if nv := newVeths(before, mustVeths(t)); len(nv) > 0 {
			why = append(why, fmt.Sprintf("veths %v", nv))
		}
		if f, _ := filepath.Glob(ledger); len(f) > 0 {
			why = append(why, fmt.Sprintf("ledger records %v", f))
		}
		if out, errOut, code := u.Run(cmdTimeout, "ps", "-a", "-q"); code != 0 || strings.TrimSpace(out) != "" {
			why = append(why, fmt.Sprintf("myctr ps -a -q: exit %d, %q %q", code, out, errOut))
		}
		return strings.Join(why, "; ")
	}

	start := time.Now()
	l := startLogin(t, u.Name)
	// The shell's prompt ("vmprompt@myctr-vm:~$ "): the login is done.
	_, _ = l.expect(t, 0, regexp.MustCompile(`\$ \z`), 2*time.Minute)
	t.Logf("login -f %s on %s: a shell after %s", u.Name, l.tty, time.Since(start).Round(10*time.Millisecond))
	session := loginSession(t, u, strings.TrimPrefix(l.tty, "/dev/"))

	authStart := regexp.MustCompile(`==== AUTHENTICATING FOR (\S+) ====|myctr-exit=(\d+)`)
	passwordPrompt := regexp.MustCompile(`Password: `)
	exitLine := regexp.MustCompile(`myctr-exit=(\d+)`)
	// run types a bridged run and, at the agent's prompt, password; it
	// returns myctr's exit code and what the terminal showed.
	run := func(password string) (int, string) {
		t.Helper()
		from := l.len()
		start := time.Now()
		l.typeIn(t, "myctr run --rm --network bridge "+image+" true; echo myctr-exit=$?\n")
		m, p := l.expect(t, from, authStart, cmdTimeout)
		if m[1] == "" {
			t.Fatalf("myctr exited %s without a password prompt; the terminal said:\n%s", m[2], l.text(from, -1))
		}
		if m[1] != protocol.ActionNetwork {
			t.Errorf("the agent authenticates for %s, want %s", m[1], protocol.ActionNetwork)
		}
		_, p = l.expect(t, p, passwordPrompt, time.Minute)
		t.Logf("the prompt after %s", time.Since(start).Round(10*time.Millisecond))
		checkAgent(t, u, session)
		waitFor(t, 30*time.Second, "the agent did not turn the terminal's echo off", func() string {
			if l.echoOff() {
				return ""
			}
			return "echo is on"
		})
		l.typeIn(t, password+"\n")
		m, end := l.expect(t, p, exitLine, cmdTimeout)
		code, _ := strconv.Atoi(m[1])
		out := l.text(from, end)
		t.Logf("myctr run --rm --network bridge %s true, password %s -> exit %d (%s); the terminal:\n%s",
			image, map[bool]string{true: "right", false: "wrong"}[password == promptPassword], code,
			time.Since(start).Round(10*time.Millisecond), out)
		if strings.Contains(out, password) {
			t.Errorf("the password was echoed on the terminal")
		}
		return code, out
	}

	// The right password: authorized, the container runs.
	code, out := run(promptPassword)
	if code != 0 {
		t.Errorf("with the right password: exit %d, want 0", code)
	}
	for _, want := range []string{"Authenticating as: " + u.Name, "==== AUTHENTICATION COMPLETE ===="} {
		if !strings.Contains(out, want) {
			t.Errorf("with the right password: the terminal lacks %q", want)
		}
	}
	if strings.Contains(out, "Error:") {
		t.Errorf("with the right password: an error on the terminal")
	}
	// Its network goes with its namespace (the helper reaps the record).
	waitFor(t, 60*time.Second, "the authorized --rm run left things behind", nothingLeft)

	// A wrong password: refused, nothing made.
	code, out = run("not-" + promptPassword)
	if code != 125 {
		t.Errorf("with a wrong password: exit %d, want 125", code)
	}
	for _, want := range []string{"==== AUTHENTICATION FAILED ====", "Error: not authorized", protocol.ActionNetwork} {
		if !strings.Contains(out, want) {
			t.Errorf("with a wrong password: the terminal lacks %q", want)
		}
	}
	if why := nothingLeft(); why != "" {
		t.Errorf("the refused run left %s", why)
	}

	// polkitd's own account of the two authentications.
	journal, _ := command(30*time.Second, "journalctl", "--no-pager", "-o", "cat", "--since", since.Format("2006-01-02 15:04:05"), "-u", "polkit.service")
	var lines []string
	for _, ln := range strings.Split(journal, "\n") {
		if strings.Contains(ln, protocol.ActionNetwork) || strings.Contains(ln, "uthentica") {
			lines = append(lines, ln)
		}
	}
	t.Logf("polkitd:\n%s", strings.Join(lines, "\n"))
}
