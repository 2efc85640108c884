//go:build helper

package helpertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/helperprobe"
)

// The helper as a target of any local user (issue 20, items 9–11):
// descriptors sent with messages it does not take, a second instance with
// a ledger of its own, and what the process may do at all.

// ---- the raw role: messages as no godbus client writes them -----------------

// rawSpec is what the raw role sends (MYCTR_HT_RAW, JSON): Rounds times
// each shot of Shots, waiting for each reply.
type rawSpec struct {
	Shots     []string `json:"shots"`
	Rounds    int      `json:"rounds"`
	Container string   `json:"container,omitempty"`
}

// rawResult counts the replies by error name ("ok" for a method return)
// and keeps each distinct error message.
type rawResult struct {
	Replies  map[string]int `json:"replies"`
	Messages []string       `json:"messages,omitempty"`
	Failure  string         `json:"failure,omitempty"`
}

// rawShot builds one shot: its message and which of the role's two
// descriptors (a, b) go with it. Indices in bodies are
// dbus.UnixFDIndex values, sent as written.
func rawShot(name, helper, container string, a, b int) (*dbus.Message, []int, bool) {
	idx := func(i uint32) dbus.UnixFDIndex { return dbus.UnixFDIndex(i) }
	call := func(path dbus.ObjectPath, iface, member, sig string, body ...any) *dbus.Message {
		return helperprobe.Method(protocol.BusName, path, iface, member, sig, body...)
	}
	opts := map[string]dbus.Variant{}
	switch name {
	case "ping-h": // a method godbus answers itself, with a descriptor
		return call(protocol.ObjectPath, "org.freedesktop.DBus.Peer", "Ping", "h", idx(0)), []int{a}, true
	case "ping-unnamed": // three descriptors the body never names
		return call(protocol.ObjectPath, "org.freedesktop.DBus.Peer", "Ping", ""), []int{a, b, a}, true
	case "unknown-method":
		return call(protocol.ObjectPath, protocol.Interface, "NoSuchMethod", "h", idx(0)), []int{a}, true
	case "unknown-object":
		return call("/org/myctr/NoSuchObject", protocol.Interface, "GetVersion", "h", idx(0)), []int{a}, true
	case "wrong-signature": // AttachNetwork without its options
		return call(protocol.ObjectPath, protocol.Interface, "AttachNetwork", "hhs", idx(0), idx(1), container), []int{a, b}, true
	case "getversion-h":
		return call(protocol.ObjectPath, protocol.Interface, "GetVersion", "h", idx(0)), []int{a}, true
	case "introspect-h":
		return call(protocol.ObjectPath, "org.freedesktop.DBus.Introspectable", "Introspect", "h", idx(0)), []int{a}, true
	case "many-fds": // AttachNetwork's shape, five descriptors
		return call(protocol.ObjectPath, protocol.Interface, "AttachNetwork", "hhsa{sv}", idx(0), idx(1), container, opts), []int{a, b, a, b, a}, true
	case "signal-h": // a unicast signal: nothing answers it
		m := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldDestination: dbus.MakeVariant(helper),
			dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/myctr/Test")),
			dbus.FieldInterface:   dbus.MakeVariant("org.myctr.Test"),
			dbus.FieldMember:      dbus.MakeVariant("Poke"),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.ParseSignatureMust("h")),
		}, Body: []any{idx(0)}}
		return m, []int{a}, false
	case "attach-same-index": // one descriptor, named twice
		return call(protocol.ObjectPath, protocol.Interface, "AttachNetwork", "hhsa{sv}", idx(0), idx(0), container, opts), []int{a}, true
	case "attach-same-index-2": // two descriptors, the first named twice, the second never
		return call(protocol.ObjectPath, protocol.Interface, "AttachNetwork", "hhsa{sv}", idx(0), idx(0), container, opts), []int{a, b}, true
	}
	return nil, nil, false
}

// rawBusRole sends the shots of MYCTR_HT_RAW on a raw connection, with fds 3
// and 4 when passed (else two of /dev/null), ends with a plain Ping (so
// that every earlier message has been read), and prints a rawResult.
func rawBusRole() int {
	res := rawResult{Replies: map[string]int{}}
	out := json.NewEncoder(os.Stdout)
	fail := func(format string, args ...any) int {
		res.Failure = fmt.Sprintf(format, args...)
		out.Encode(res)
		return 1
	}
	var spec rawSpec
	if err := json.Unmarshal([]byte(os.Getenv("MYCTR_HT_RAW")), &spec); err != nil {
		return fail("MYCTR_HT_RAW: %v", err)
	}
	a, b := 3, 4
	if _, err := os.Stat("/proc/self/fd/3"); err != nil {
		n1, _ := os.Open("/dev/null")
		n2, _ := os.Open("/dev/null")
		a, b = int(n1.Fd()), int(n2.Fd())
	}
	c, err := helperprobe.DialRaw("unix:path=" + busSocket)
	if err != nil {
		return fail("connect: %v", err)
	}
	defer c.Close()
	var helper string
	if r, err := c.Call(helperprobe.Method("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		"GetNameOwner", "s", protocol.BusName), 30*time.Second); err == nil {
		helper, _ = r.Body[0].(string)
	}
	seen := map[string]bool{}
	for range max(spec.Rounds, 1) {
		for _, name := range spec.Shots {
			m, fds, reply := rawShot(name, helper, spec.Container, a, b)
			if m == nil {
				return fail("unknown shot %q", name)
			}
			if helper == "" && !reply {
				continue
			}
			serial, err := c.Send(m, fds...)
			if err != nil {
				return fail("%s: send: %v", name, err)
			}
			if !reply {
				continue
			}
			r, err := c.Reply(serial, 30*time.Second)
			if err != nil {
				return fail("%s: %v", name, err)
			}
			key := "ok"
			if r.Type == dbus.TypeError {
				e := helperprobe.ErrorOf(r)
				key = e.Name
				if msg := fmt.Sprint(e.Body...); !seen[msg] {
					seen[msg] = true
					res.Messages = append(res.Messages, name+": "+e.Name+": "+msg)
				}
			}
			res.Replies[key]++
		}
	}
	if _, err := c.Call(helperprobe.Method(protocol.BusName, protocol.ObjectPath, "org.freedesktop.DBus.Peer", "Ping", ""), 30*time.Second); err != nil {
		return fail("the last Ping: %v", err)
	}
	out.Encode(res)
	return 0
}

// rawAs runs the raw role as u with files as fds 3, 4.
func rawAs(t testing.TB, u *testUser, spec rawSpec, files ...*os.File) rawResult {
	t.Helper()
	b, _ := json.Marshal(spec)
	ctx, cancel := context.WithTimeout(context.Background(), 2*cmdTimeout)
	defer cancel()
	cmd := u.Command(ctx, selfBin)
	cmd.Env = append(cmd.Env, roleEnv+"=rawbus", "MYCTR_HT_RAW="+string(b))
	cmd.ExtraFiles = files
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var r rawResult
	if jerr := json.Unmarshal(o.Bytes(), &r); jerr != nil || r.Failure != "" {
		t.Fatalf("raw role as %s %s: %v %v %s\nstdout: %s\nstderr: %s", u.Name, b, err, jerr, r.Failure, o.String(), e.String())
	}
	t.Logf("%s: raw %v x%d -> %v", u.Name, spec.Shots, spec.Rounds, r.Replies)
	for _, m := range r.Messages {
		t.Logf("  %s", m)
	}
	return r
}

// ---- looking at the helper process ------------------------------------------

// fdCount is the number of open descriptors of pid.
func fdCount(t testing.TB, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("descriptors of the helper (pid %d): %v", pid, err)
	}
	return len(es)
}

// helperPids lists the processes running the helper with the tier's
// configuration.
func helperPids(t testing.TB) []int {
	t.Helper()
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(b), "--config\x00"+conf.path) && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether pid is gone or only a zombie (its descriptors,
// and so its lock, are released either way).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// status is /proc/PID/status as key → value.
func status(t testing.TB, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// activeHelper makes sure a helper runs (a call as the allowed user) and
// returns its pid.
func activeHelper(t testing.TB) int {
	t.Helper()
	if r := callAs(t, users[allowedUser], clientCall{Method: "GetVersion"}); r.ErrorName != "" {
		t.Fatalf("GetVersion: %s %v", r.ErrorName, r.ErrorBody)
	}
	pid := helperprobe.HelperPid(t)
	if pid == 0 {
		t.Fatal("no helper owns the name after a call")
	}
	return pid
}

// ---- a polkit rule that takes its time ---------------------------------------

const slowRules = "/etc/polkit-1/rules.d/49-myctr-helper-test-slow.rules"

// slowPolkit installs a rule that grants org.myctr.helper.network to
// AttachNetwork of container ctr (the call that names a bridge) only
// after polkit.spawn(sleep secs); polkitd evaluates rules one at a time,
// so every other check waits too. (polkit.spawn gives up on a program
// after 10 s: secs stays below.) It returns when polkitd has loaded the
// rule, and removes it at cleanup.
func slowPolkit(t *testing.T, ctr string, secs int) {
	t.Helper()
	probe := ctr + "-probe"
	rule := fmt.Sprintf(`// Installed by the helper tier (%s) for its duration.
polkit.addRule(function(action, subject) {
    if (action.id == "org.myctr.helper.network" && action.lookup("container") == %q && action.lookup("bridge")) {
        polkit.spawn(["/bin/sleep", "%d"]);
        return polkit.Result.YES;
    }
    if (action.id == "org.myctr.helper.network" && action.lookup("container") == %q) {
        return polkit.Result.YES;
    }
});
`, t.Name(), ctr, secs, probe)
	if err := os.WriteFile(slowRules, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(slowRules) })
	// Loaded when the probe detail grants the action to the user outside
	// the test's group rule.
	holder := nsHolder(t, users[deniedUser])
	waitFor(t, 20*time.Second, "polkitd did not load "+slowRules, func() string {
		err := exec.Command("pkcheck", "--action-id", protocol.ActionNetwork, "--process", strconv.Itoa(holder),
			"--detail", "container", probe).Run()
		if err != nil {
			return err.Error()
		}
		return ""
	})
}

// spawnedSleep reports whether polkitd runs the slow rule's sleep now.
func spawnedSleep(secs int) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if string(b) == fmt.Sprintf("/bin/sleep\x00%d\x00", secs) {
			return true
		}
	}
	return false
}

// callAsync is callAs in a goroutine: its result arrives on the channel.
func callAsync(t *testing.T, u *testUser, call clientCall, files ...*os.File) <-chan clientResult {
	ch := make(chan clientResult, 1)
	spec, _ := json.Marshal(call)
	ctx, cancel := context.WithTimeout(context.Background(), 2*cmdTimeout)
	cmd := u.Command(ctx, selfBin)
	cmd.Env = append(cmd.Env, roleEnv+"=client", "MYCTR_HT_CALL="+string(spec))
	cmd.ExtraFiles = files
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer cancel()
		err := cmd.Wait()
		var r clientResult
		if jerr := json.Unmarshal(o.Bytes(), &r); jerr != nil {
			r.Failure = fmt.Sprintf("%v (%v): %s", err, jerr, e.String())
		}
		ch <- r
	}()
	return ch
}

// ---- item 9: descriptors ------------------------------------------------------

// TestFDFlood: a user outside every polkit rule sends the helper hundreds
// of messages that carry descriptors it does not take (Peer.Ping and
// Introspect with one, a Ping with three the body never names, unknown
// methods and objects, wrong signatures, more descriptors than any method
// takes, unicast signals). Before the fix godbus kept each one open for
// good and the helper ran out of descriptors. Now the helper keeps no more
// descriptors than before, is the same process (one instance, the same
// pid), refuses each such call with InvalidArgs, and serves a real attach
// afterwards.
func TestFDFlood(t *testing.T) {
	begin(t)
	u, denied := users[allowedUser], users[deniedUser]
	// An authorized call held in polkit keeps the helper busy (so not
	// idle) for the whole test: the flood itself is no activity.
	const hold = "ht-fdflood-hold"
	slowPolkit(t, hold, 8)
	pid := activeHelper(t)
	holdNS := nsHolder(t, u, "-Urn")
	held := callAsync(t, u, clientCall{Method: "AttachNetwork", Container: hold}, openNS(t, holdNS, "user"), openNS(t, holdNS, "net"))
	t.Cleanup(func() { <-held; callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: hold}) })
	waitFor(t, 10*time.Second, "polkit did not start the held check", func() string {
		if !spawnedSleep(8) {
			return "no sleep 8 under polkitd"
		}
		return ""
	})
	base := fdCount(t, pid)

	shots := []string{"ping-h", "ping-unnamed", "unknown-method", "unknown-object", "wrong-signature",
		"getversion-h", "introspect-h", "many-fds", "signal-h"}
	r := rawAs(t, denied, rawSpec{Shots: shots, Rounds: 40, Container: "ht-fdflood"})
	// 8 calls with replies per round, 14 descriptors per round.
	if got := r.Replies["ok"]; got != 0 {
		t.Errorf("%d of the calls with descriptors were answered as if fine, want every one refused: %v", got, r.Replies)
	}
	if n := helperprobe.HelperPid(t); n != pid {
		t.Fatalf("after the flood the helper is pid %d, was %d (it exited or crashed)", n, pid)
	}
	if ps := helperPids(t); len(ps) != 1 || ps[0] != pid {
		t.Errorf("helper processes %v, want only %d", ps, pid)
	}
	waitFor(t, 5*time.Second, "the helper kept the flood's descriptors", func() string {
		if n := fdCount(t, pid); n > base+4 {
			return fmt.Sprintf("%d open descriptors, %d before 560 were sent", n, base)
		}
		return ""
	})

	// The helper still does its work.
	ns := nsHolder(t, u, "-Urn")
	ctr := "ht-fdflood-after"
	a := callAs(t, u, clientCall{Method: "AttachNetwork", Container: ctr}, openNS(t, ns, "user"), openNS(t, ns, "net"))
	if a.ErrorName != "" {
		t.Errorf("AttachNetwork after the flood: %s %v", a.ErrorName, a.ErrorBody)
	}
	if r := callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: ctr}); r.ErrorName != "" {
		t.Errorf("ReleaseNetwork: %s %v", r.ErrorName, r.ErrorBody)
	}
	if n := helperprobe.HelperPid(t); n != pid {
		t.Errorf("the helper is pid %d at the end, was %d", n, pid)
	}
	if b, _ := os.ReadFile(helperLog); bytes.Contains(b, []byte("panic")) {
		t.Errorf("the helper log mentions a panic")
	}
}

// TestSameFDTwice: AttachNetwork whose two namespace arguments name the
// same descriptor index (with one descriptor, and with two where the
// second is never named). Before the fix the helper closed that
// descriptor twice (the second close can close whatever another goroutine
// opened meanwhile under the same number) and kept the unnamed one open.
// A tracer on the helper sees every close(2) that fails with EBADF: there
// must be none; the descriptor count stays put; nothing is attached; and a
// real attach works afterwards.
func TestSameFDTwice(t *testing.T) {
	begin(t)
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatalf("strace is not installed: %v\nHint: tests/setup/deps.sh installs it", err)
	}
	u := users[allowedUser]
	const hold = "ht-samefd-hold"
	slowPolkit(t, hold, 8)
	pid := activeHelper(t)
	holdNS := nsHolder(t, u, "-Urn")
	held := callAsync(t, u, clientCall{Method: "AttachNetwork", Container: hold}, openNS(t, holdNS, "user"), openNS(t, holdNS, "net"))
	t.Cleanup(func() { <-held; callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: hold}) })
	waitFor(t, 10*time.Second, "polkit did not start the held check", func() string {
		if !spawnedSleep(8) {
			return "no sleep 8 under polkitd"
		}
		return ""
	})
	base := fdCount(t, pid)

	trace := filepath.Join(tmp, "samefd.strace")
	ctx, cancel := context.WithCancel(context.Background())
	st := exec.CommandContext(ctx, "strace", "-f", "-qq", "-p", strconv.Itoa(pid), "-e", "trace=close", "-e", "status=failed", "-o", trace)
	st.Cancel = func() error { return st.Process.Signal(syscall.SIGINT) } // detach
	if err := st.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() { cancel(); st.Wait() }()
	waitFor(t, 10*time.Second, "strace did not attach", func() string {
		if tp := status(t, pid)["TracerPid"]; tp != strconv.Itoa(st.Process.Pid) {
			return "TracerPid " + tp
		}
		return ""
	})

	ns := nsHolder(t, u, "-Urn")
	ctr := "ht-samefd"
	before := veths(t)
	r := rawAs(t, u, rawSpec{Shots: []string{"attach-same-index", "attach-same-index-2"}, Rounds: 25, Container: ctr},
		openNS(t, ns, "net"), openNS(t, ns, "user"))
	if r.Replies["ok"] != 0 {
		t.Errorf("an AttachNetwork naming one descriptor twice succeeded: %v", r.Replies)
	}
	// One more plain call, so that the tracer has seen every close of the
	// calls above (each was answered, after its descriptors were closed).
	callAs(t, u, clientCall{Method: "GetVersion"})
	cancel()
	st.Wait()
	b, _ := os.ReadFile(trace)
	if bad := strings.Count(string(b), "EBADF"); bad > 0 {
		t.Errorf("the helper called close(2) on %d descriptors that were not open (a double close):\n%s", bad, b)
	}
	waitFor(t, 5*time.Second, "the helper kept descriptors", func() string {
		if n := fdCount(t, pid); n > base+4 {
			return fmt.Sprintf("%d open descriptors, %d before", n, base)
		}
		return ""
	})
	if nv := newVeths(before, veths(t)); len(nv) > 0 {
		t.Errorf("new veths %v after refused calls", nv)
	}
	if f := ledgerFiles(t, ctr); len(f) > 0 {
		t.Errorf("ledger files %v after refused calls", f)
	}
	a := callAs(t, u, clientCall{Method: "AttachNetwork", Container: ctr}, openNS(t, ns, "user"), openNS(t, ns, "net"))
	if a.ErrorName != "" {
		t.Errorf("AttachNetwork afterwards: %s %v", a.ErrorName, a.ErrorBody)
	}
	callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: ctr})
	if n := helperprobe.HelperPid(t); n != pid {
		t.Errorf("the helper is pid %d at the end, was %d", n, pid)
	}
}

// ---- item 10: one instance at a time -------------------------------------------

// TestTwoInstances: a call waits in polkit in helper A when A gets SIGTERM
// and gives up its name; another call then activates helper B. Before the
// fix A carried on (its call, its reaper) beside B, each with its own
// ledger: both handed out the same address. Now B owns the name only once
// A is gone (B waits for the state directory's lock), A refuses its call
// with an error that says to try again instead of acting, no two records
// share an address, and B's container stays attached.
func TestTwoInstances(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const slow, second, secs = "ht-two-slow", "ht-two-second", 8
	slowPolkit(t, slow, secs)
	pidA := activeHelper(t)
	ns1, ns2 := nsHolder(t, u, "-Urn"), nsHolder(t, u, "-Urn")
	before := veths(t)
	t.Cleanup(func() {
		for _, c := range []string{slow, second} {
			callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: c})
		}
	})

	r1 := callAsync(t, u, clientCall{Method: "AttachNetwork", Container: slow}, openNS(t, ns1, "user"), openNS(t, ns1, "net"))
	waitFor(t, 10*time.Second, "polkit did not start the slow check", func() string {
		if !spawnedSleep(secs) {
			return "no sleep under polkitd"
		}
		return ""
	})
	if err := syscall.Kill(pidA, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "helper A kept its name after SIGTERM", func() string {
		if p := helperprobe.HelperPid(t); p == pidA {
			return "still owned by A"
		}
		return ""
	})
	r2 := callAsync(t, u, clientCall{Method: "AttachNetwork", Container: second}, openNS(t, ns2, "user"), openNS(t, ns2, "net"))

	// Until both calls are answered: whenever B owns the name, A must be
	// gone.
	var res1, res2 *clientResult
	var overlap string
	deadline := time.Now().Add(2 * cmdTimeout)
	for (res1 == nil || res2 == nil) && time.Now().Before(deadline) {
		select {
		case r := <-r1:
			res1 = &r
		case r := <-r2:
			res2 = &r
		case <-time.After(20 * time.Millisecond):
		}
		if p := helperprobe.HelperPid(t); p != 0 && p != pidA && !zombie(pidA) && overlap == "" {
			overlap = fmt.Sprintf("helper B (pid %d) owned the name while A (pid %d) was still running", p, pidA)
		}
	}
	if res1 == nil || res2 == nil {
		t.Fatalf("the calls did not end: %v %v", res1, res2)
	}
	t.Logf("A's call: %v; B's call: %v", *res1, *res2)
	if overlap != "" {
		t.Error(overlap)
	}
	if res2.ErrorName != "" || res2.Failure != "" {
		t.Errorf("the second AttachNetwork: %s %v %s", res2.ErrorName, res2.ErrorBody, res2.Failure)
	}
	switch {
	case res1.Failure != "":
		t.Errorf("the slow call: %s", res1.Failure)
	case res1.ErrorName == "":
		t.Errorf("helper A attached %s after it gave up its name: %v", slow, res1.Reply)
	case res1.ErrorName != protocol.ErrRestarting.Name || !strings.Contains(fmt.Sprint(res1.ErrorBody...), "try again"):
		t.Errorf("the slow call: %s %v, want %s saying to try again", res1.ErrorName, res1.ErrorBody, protocol.ErrRestarting.Name)
	}

	// Each address at most once in the ledger.
	addrs := map[string][]string{}
	filepath.WalkDir(conf.stateDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		var rec struct {
			Container string
			Address   netip.Addr
		}
		if b, err := os.ReadFile(p); err == nil && json.Unmarshal(b, &rec) == nil && rec.Address.IsValid() {
			addrs[rec.Address.String()] = append(addrs[rec.Address.String()], rec.Container)
		}
		return nil
	})
	for a, cs := range addrs {
		if len(cs) > 1 {
			t.Errorf("address %s is recorded for %v", a, cs)
		}
	}
	// B's container keeps its veth through B's reaper and whatever A did.
	time.Sleep(2*conf.reapInterval + 500*time.Millisecond)
	if f := ledgerFiles(t, second); len(f) != 1 {
		t.Errorf("ledger files of %s: %v, want one", second, f)
	}
	if nv := newVeths(before, veths(t)); res1.ErrorName != "" && len(nv) != 1 {
		t.Errorf("new veths %v, want only %s's", nv, second)
	}
}

// ---- item 11: what the helper process may do ------------------------------------

// TestConfined: the activated helper (started by dbus-daemon's launch
// helper as root with every capability) keeps only CAP_NET_ADMIN,
// CAP_NET_BIND_SERVICE and, since the tier configures netns=,
// CAP_SYS_ADMIN; its bounding, inheritable and ambient sets are empty;
// no_new_privs is set and a seccomp filter is installed. The rest of the
// tier shows that these are enough.
func TestConfined(t *testing.T) {
	begin(t)
	pid := activeHelper(t)
	st := status(t, pid)
	want := uint64(1<<0 | 1<<10 | 1<<12) // CAP_CHOWN, CAP_NET_BIND_SERVICE, CAP_NET_ADMIN
	if conf.netns != "" {
		want |= 1 << 21 // CAP_SYS_ADMIN
	}
	for k, w := range map[string]uint64{"CapEff": want, "CapPrm": want, "CapInh": 0, "CapBnd": 0, "CapAmb": 0} {
		got, err := strconv.ParseUint(st[k], 16, 64)
		if err != nil || got != w {
			t.Errorf("%s: %s, want %016x", k, st[k], w)
		}
	}
	if st["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs: %q, want 1", st["NoNewPrivs"])
	}
	if st["Seccomp"] != "2" {
		t.Errorf("Seccomp: %q, want 2 (a filter)", st["Seccomp"])
	}
	if b, _ := os.ReadFile(helperLog); !bytes.Contains(b, []byte("capabilities: ")) {
		t.Errorf("the helper log has no line with its capability sets")
	}
}
