package helperclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/helperclient/helpertest"
	"github.com/myctr/myctr/protocol"
)

// setup starts a private bus with the fake helper on it and connects a
// client; stdin is never a terminal here, so no agent starts.
func setup(t *testing.T, interactive bool) (*helpertest.Helper, *Client, string) {
	t.Helper()
	addr := helpertest.StartBus(t)
	h := helpertest.New(helpertest.Config{Reply: protocol.AttachNetworkReply{Interface: "vh1234", Address: "10.88.0.5/16", Gateway: "10.88.0.1", MTU: 1500}})
	helpertest.Serve(t, addr, h)
	c, err := Connect(Options{Address: addr, Interactive: interactive, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return h, c, addr
}

func devNull(t *testing.T) *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func openNS(t *testing.T, name string) (*os.File, unix.Stat_t) {
	t.Helper()
	f, err := os.Open("/proc/self/ns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return f, st
}

// TestAttachNetwork: the namespaces arrive as descriptors of those very
// namespaces, the container and options as sent, the reply comes back, and
// the call carries ALLOW_INTERACTIVE_AUTHORIZATION.
func TestAttachNetwork(t *testing.T) {
	h, c, _ := setup(t, true)
	userns, ust := openNS(t, "user")
	netns, nst := openNS(t, "net")
	ctx := context.Background()
	r, err := c.AttachNetwork(ctx, userns, netns, "ctr1", protocol.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := h.Reply(); r != want {
		t.Errorf("reply %+v, want %+v", r, want)
	}
	if _, err := c.AttachNetwork(ctx, userns, netns, "ctr2", protocol.AttachOptions{Bridge: "br1"}); err != nil {
		t.Fatal(err)
	}
	calls := h.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls: %+v", calls)
	}
	for _, call := range calls {
		if len(call.FDs) != 2 {
			t.Fatalf("fds: %+v", call.FDs)
		}
		if u := call.FDs[0]; u.Dev != ust.Dev || u.Ino != ust.Ino || !strings.HasPrefix(u.Link, "user:[") {
			t.Errorf("userns fd: %+v, want dev %d ino %d (user:[...])", u, ust.Dev, ust.Ino)
		}
		if n := call.FDs[1]; n.Dev != nst.Dev || n.Ino != nst.Ino || !strings.HasPrefix(n.Link, "net:[") {
			t.Errorf("netns fd: %+v, want dev %d ino %d (net:[...])", n, nst.Dev, nst.Ino)
		}
		if call.Flags&dbus.FlagAllowInteractiveAuthorization == 0 {
			t.Errorf("%s: flags %#x lack ALLOW_INTERACTIVE_AUTHORIZATION", call.Method, call.Flags)
		}
	}
	if got := calls[0].Args; got[0] != "ctr1" || len(got[1].(map[string]dbus.Variant)) != 0 {
		t.Errorf("first call: %v, want ctr1 and no options", got)
	}
	opts := calls[1].Args[1].(map[string]dbus.Variant)
	if o, err := protocol.DecodeAttachOptions(opts); err != nil || o.Bridge != "br1" || calls[1].Args[0] != "ctr2" {
		t.Errorf("second call: %v (%+v, %v), want ctr2 with bridge br1", calls[1].Args, o, err)
	}
	// A bad name never reaches the helper.
	if _, err := c.AttachNetwork(ctx, userns, netns, "../x", protocol.AttachOptions{}); !errors.Is(err, protocol.ErrInvalidArgs) {
		t.Errorf("bad name: %v", err)
	}
	if len(h.Calls()) != 2 {
		t.Errorf("a refused request was sent")
	}
}

// TestMethodsAndFlags: each method's arguments as the XML declares them;
// the authorizing calls carry the interactive flag only from an
// Interactive client, GetVersion never.
func TestMethodsAndFlags(t *testing.T) {
	for _, interactive := range []bool{true, false} {
		h, c, _ := setup(t, interactive)
		ctx := context.Background()
		if err := c.Require(ctx, protocol.FeatureBridge, protocol.FeaturePublish); err != nil {
			t.Fatal(err)
		}
		pr := protocol.PortRequest{Container: "c1", Protocol: "udp", HostIP: "127.0.0.1", HostPort: 8053, ContainerPort: 53}
		if err := c.PublishPort(ctx, pr); err != nil {
			t.Fatal(err)
		}
		if err := c.UnpublishPort(ctx, pr); err != nil {
			t.Fatal(err)
		}
		if err := c.ReleaseNetwork(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		empty := map[string]dbus.Variant{}
		want := []helpertest.Call{
			{Method: "GetVersion"},
			{Method: "PublishPort", Args: []any{"c1", "udp", "127.0.0.1", uint16(8053), uint16(53), empty}},
			{Method: "UnpublishPort", Args: []any{"c1", "udp", "127.0.0.1", uint16(8053), empty}},
			{Method: "ReleaseNetwork", Args: []any{"c1", empty}},
		}
		calls := h.Calls()
		if len(calls) != len(want) {
			t.Fatalf("calls %v, want %d", h.Methods(), len(want))
		}
		for i, call := range calls {
			if call.Method != want[i].Method || !reflect.DeepEqual(call.Args, want[i].Args) {
				t.Errorf("call %d: %s %#v, want %s %#v", i, call.Method, call.Args, want[i].Method, want[i].Args)
			}
			flagged := call.Flags&dbus.FlagAllowInteractiveAuthorization != 0
			if wantFlag := interactive && call.Method != "GetVersion"; flagged != wantFlag {
				t.Errorf("interactive=%v: %s flags %#x, want the interactive flag %v", interactive, call.Method, call.Flags, wantFlag)
			}
		}
	}
}

func TestRequireMissingFeature(t *testing.T) {
	h, c, _ := setup(t, false)
	h.Configure(func(c *helpertest.Config) { c.Features = []string{protocol.FeatureBridge} })
	err := c.Require(context.Background(), protocol.FeatureBridge, protocol.FeaturePublish)
	if !errors.Is(err, ErrMissingFeature) || !strings.Contains(err.Error(), protocol.FeaturePublish) {
		t.Errorf("err = %v, want ErrMissingFeature naming %s", err, protocol.FeaturePublish)
	}
}

// TestErrorNames: every error name of the helper comes back as its
// sentinel, with the helper's message; NotAuthorized keeps its action, and
// is also ErrPolkitNotRunning exactly when polkit is absent from the bus.
func TestErrorNames(t *testing.T) {
	sentinels := []*protocol.Error{protocol.ErrNotAuthorized, protocol.ErrNotOwner, protocol.ErrInvalidArgs,
		protocol.ErrLimitExceeded, protocol.ErrUnsupported, protocol.ErrNotFound, protocol.ErrConflict, protocol.ErrFailed,
		protocol.ErrRestarting}
	if len(sentinels) != len(protocol.ErrorNames()) {
		t.Fatalf("the protocol has %d error names, this test knows %d", len(protocol.ErrorNames()), len(sentinels))
	}
	for _, polkit := range []bool{false, true} {
		h, c, addr := setup(t, true)
		if polkit {
			helpertest.Own(t, addr, polkitName)
		}
		for _, s := range sentinels {
			e := protocol.Errorf(s, "refused: %s", s.Name)
			if s == protocol.ErrNotAuthorized {
				e = protocol.NotAuthorized(protocol.ActionPublishLowPort, "refused: "+s.Name)
			}
			h.Configure(func(c *helpertest.Config) { c.Fail = map[string]*protocol.Error{"PublishPort": e} })
			err := c.PublishPort(context.Background(), protocol.PortRequest{Container: "c1", Protocol: "tcp", HostPort: 80, ContainerPort: 80})
			if !errors.Is(err, s) {
				t.Errorf("%s: got %v", s.Name, err)
				continue
			}
			for _, other := range sentinels {
				if other != s && errors.Is(err, other) {
					t.Errorf("%s also matches %s", s.Name, other.Name)
				}
			}
			if !strings.Contains(err.Error(), "refused: "+s.Name) {
				t.Errorf("%s: message %q lost", s.Name, err)
			}
			absent := s == protocol.ErrNotAuthorized && !polkit
			if errors.Is(err, ErrPolkitNotRunning) != absent {
				t.Errorf("%s with polkit=%v: ErrPolkitNotRunning = %v", s.Name, polkit, !absent)
			}
			var pe *protocol.Error
			if s == protocol.ErrNotAuthorized && (!errors.As(err, &pe) || pe.Action != protocol.ActionPublishLowPort) {
				t.Errorf("NotAuthorized lost its action: %#v", err)
			}
		}
	}
}

// TestNotInstalled: with nobody owning org.myctr.Helper1 and no activation
// file, the bus answers ServiceUnknown, which is ErrNotInstalled.
func TestNotInstalled(t *testing.T) {
	addr := helpertest.StartBus(t)
	c, err := Connect(Options{Address: addr, Stdin: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Version(context.Background())
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), protocol.BusName) {
		t.Errorf("err = %v, want ErrNotInstalled", err)
	}
}

func TestNoBus(t *testing.T) {
	_, err := Connect(Options{Address: "unix:path=" + filepath.Join(t.TempDir(), "nobody")})
	if !errors.Is(err, ErrNoBus) {
		t.Errorf("err = %v, want ErrNoBus", err)
	}
}

// helpertestBus is a private bus with the fake helper on it.
func helpertestBus(t *testing.T) string {
	addr := helpertest.StartBus(t)
	helpertest.Serve(t, addr, helpertest.New(helpertest.Config{}))
	return addr
}

// TestKindRebuild: an error sent as text with its Kind comes back matching
// the same sentinels, with the same text and action.
func TestKindRebuild(t *testing.T) {
	na := protocol.NotAuthorized(protocol.ActionNetwork, "denied")
	for _, tc := range []struct {
		err  error
		want []error
	}{
		{fmt.Errorf("x: %w", na), []error{protocol.ErrNotAuthorized}},
		{fmt.Errorf("%w: %w", ErrPolkitNotRunning, na), []error{ErrPolkitNotRunning, protocol.ErrNotAuthorized}},
		{fmt.Errorf("%w: dial", ErrNoBus), []error{ErrNoBus}},
		{fmt.Errorf("%w: x", ErrNotInstalled), []error{ErrNotInstalled}},
		{protocol.Errorf(protocol.ErrConflict, "taken"), []error{protocol.ErrConflict}},
		{errors.New("plain"), nil},
	} {
		name, action := Kind(tc.err)
		back := Rebuild(tc.err.Error(), name, action)
		if back.Error() != tc.err.Error() {
			t.Errorf("%v: text %q", tc.err, back)
		}
		for _, w := range tc.want {
			if !errors.Is(back, w) {
				t.Errorf("%v: rebuilt does not match %v", tc.err, w)
			}
		}
		var pe *protocol.Error
		if errors.Is(tc.err, protocol.ErrNotAuthorized) && (!errors.As(back, &pe) || pe.Action != protocol.ActionNetwork) {
			t.Errorf("%v: action lost", tc.err)
		}
		if tc.want == nil && name != "" {
			t.Errorf("%v: kind %q", tc.err, name)
		}
	}
}

// TestCgroupCalls: DelegateCgroup sends the pidfd itself (a descriptor of
// the same pidfd arrives), the container and the controllers, and may
// prompt; ReleaseCgroup sends the container and may prompt too; bad
// names are refused before any call.
func TestCgroupCalls(t *testing.T) {
	h, c, _ := setup(t, true)
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Skipf("pidfd_open needs Linux 5.3 or later: %v", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	ctx := context.Background()
	if path, unit, err := c.DelegateCgroup(ctx, fd, "ctr1", []string{"io"}); err != nil || path != "/myctr.slice/ctr1" || unit != "ctr1.scope" {
		t.Fatalf("DelegateCgroup: %q %q %v", path, unit, err)
	}
	if err := c.ReleaseCgroup(ctx, "ctr1"); err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseCgroup(ctx, "../x"); !errors.Is(err, protocol.ErrInvalidArgs) {
		t.Errorf("ReleaseCgroup ../x: %v", err)
	}
	calls := h.Calls()
	if len(calls) != 2 || calls[0].Method != "DelegateCgroup" || calls[1].Method != "ReleaseCgroup" {
		t.Fatalf("calls %+v", calls)
	}
	opts, _ := calls[0].Args[1].(map[string]dbus.Variant)
	if calls[0].Args[0] != "ctr1" || fmt.Sprint(opts["controllers"].Value()) != "[io]" || len(calls[0].FDs) != 1 || calls[0].FDs[0].Ino != st.Ino {
		t.Errorf("DelegateCgroup call %+v (pidfd inode %d)", calls[0], st.Ino)
	}
	for _, call := range calls {
		if call.Flags&dbus.FlagAllowInteractiveAuthorization == 0 {
			t.Errorf("%s without ALLOW_INTERACTIVE_AUTHORIZATION", call.Method)
		}
	}
	if calls[1].Args[0] != "ctr1" {
		t.Errorf("ReleaseCgroup call %+v", calls[1])
	}
}

// TestRestartingIsCalledAgain: a helper that had given up its name did
// nothing, so the client calls again, up to restartTries times in all,
// and passes the error on when every call is answered so.
func TestRestartingIsCalledAgain(t *testing.T) {
	h, c, _ := setup(t, false)
	req := protocol.PortRequest{Container: "c1", Protocol: "tcp", HostPort: 8080, ContainerPort: 80}
	count := func() int {
		n := 0
		for _, m := range h.Methods() {
			if m == "PublishPort" {
				n++
			}
		}
		return n
	}
	restarting := protocol.Errorf(protocol.ErrRestarting, "myctr-helper is restarting: nothing was done; try again")
	h.Configure(func(c *helpertest.Config) {
		c.Fail = map[string]*protocol.Error{"PublishPort": restarting}
		c.FailTimes = map[string]int{"PublishPort": restartTries - 1}
	})
	if err := c.PublishPort(context.Background(), req); err != nil {
		t.Fatalf("after %d Restarting answers: %v, want the next call's success", restartTries-1, err)
	}
	if n := count(); n != restartTries {
		t.Errorf("%d calls, want %d", n, restartTries)
	}
	h.Configure(func(c *helpertest.Config) { c.FailTimes = nil })
	if err := c.PublishPort(context.Background(), req); !errors.Is(err, protocol.ErrRestarting) {
		t.Errorf("a helper that keeps answering Restarting: %v, want ErrRestarting", err)
	}
	if n := count(); n != 2*restartTries {
		t.Errorf("%d calls in all, want %d", n, 2*restartTries)
	}
	// Other errors are not called again.
	h.Configure(func(c *helpertest.Config) { c.Fail = map[string]*protocol.Error{"PublishPort": protocol.ErrConflict} })
	c.PublishPort(context.Background(), req)
	if n := count(); n != 2*restartTries+1 {
		t.Errorf("a Conflict was called again: %d calls, want %d", n, 2*restartTries+1)
	}
}
