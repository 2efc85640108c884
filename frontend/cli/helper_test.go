package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/protocol"
)

// printed is what Run prints for err: the Error: and Hint: lines.
func printed(err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Error: %v\n", err)
	var h *hinted
	if errors.As(err, &h) {
		fmt.Fprintf(&b, "Hint: %s\n", h.hint)
	}
	return b.String()
}

// TestHelperErrors: each failure of --network bridge, as the layers below
// return it (and as a detached container's monitor reports it), gets its
// words and its fix.
func TestHelperErrors(t *testing.T) {
	attach := func(err error) error {
		return &container.StartError{Err: &network.Error{Err: err, Msg: "attach the container to bridge myctr0"}, Exit: 125}
	}
	port80 := network.PortMapping{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}
	port8080 := network.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}
	start := network.UnprivilegedPortStart()
	sentinels := []error{helperclient.ErrNoBus, helperclient.ErrNotInstalled, helperclient.ErrNotStarted, helperclient.ErrPolkitNotRunning,
		helperclient.ErrMissingFeature, helperclient.ErrNoReply, protocol.ErrNotAuthorized, protocol.ErrNotOwner, protocol.ErrLimitExceeded,
		protocol.ErrConflict, protocol.ErrUnsupported, protocol.ErrFailed}
	for _, tc := range []struct {
		name string
		err  error
		want []string // substrings of the printed lines, in order
	}{
		{"no bus", fmt.Errorf("%w: dial unix /run/dbus/system_bus_socket: connect: no such file or directory", helperclient.ErrNoBus), []string{
			"Error: cannot connect to the system D-Bus: dial unix",
			"Hint: bridged networking needs the system D-Bus", "--network slirp4netns or pasta"}},
		{"not installed", attach(fmt.Errorf("%w: org.myctr.Helper1 is not activatable on the bus (x)", helperclient.ErrNotInstalled)), []string{
			"Error: attach the container to bridge myctr0: myctr-helper is not installed",
			"Hint: install myctr-helper as root with `make install` (the helper, its D-Bus activation file and its polkit policy)"}},
		{"not started", attach(fmt.Errorf("%w: exec failed", helperclient.ErrNotStarted)), []string{
			"Error: attach the container to bridge myctr0: myctr-helper could not be started", "Hint: the system bus could not start myctr-helper"}},
		{"denied", attach(protocol.NotAuthorized(protocol.ActionNetwork, "Not authorized")), []string{
			"Error: not authorized to connect a container to a bridged network (polkit action org.myctr.helper.network)\n",
			"Hint: an administrator can allow the action org.myctr.helper.network with a polkit rule in /etc/polkit-1/rules.d/",
			"org.myctr.helper.publish-low-port"}},
		{"denied without action", attach(protocol.Errorf(protocol.ErrNotAuthorized, "no")), []string{
			"Error: not authorized to connect a container to a bridged network (polkit action org.myctr.helper.network)\n"}},
		{"low port denied", &network.PortError{Port: port80, Err: protocol.NotAuthorized(protocol.ActionPublishLowPort, "no")}, []string{
			fmt.Sprintf("Error: not authorized to publish host port 80/tcp below net.ipv4.ip_unprivileged_port_start (%d) (polkit action org.myctr.helper.publish-low-port)\n", start),
			"Hint: an administrator can allow the action org.myctr.helper.publish-low-port with a polkit rule in /etc/polkit-1/rules.d/",
			fmt.Sprintf("or publish a host port of %d or above", start)}},
		{"polkit not running", attach(fmt.Errorf("%w: %w", helperclient.ErrPolkitNotRunning, protocol.NotAuthorized(protocol.ActionNetwork, "no"))), []string{
			"Error: not authorized to connect a container to a bridged network: polkit is not running\n", "Hint: start polkit as root"}},
		{"not owner", attach(protocol.Errorf(protocol.ErrNotOwner, "user namespace owned by uid 1002")), []string{
			"Error: myctr-helper refused the container's namespaces: user namespace owned by uid 1002\n", "Hint: the helper attaches only"}},
		{"quota", attach(protocol.Errorf(protocol.ErrLimitExceeded, "uid 1001 has 8 containers attached, the limit")), []string{
			"Error: bridged network limit reached: uid 1001 has 8 containers attached, the limit\n",
			"Hint: stop or remove another of your bridged containers"}},
		{"port taken", &network.PortError{Port: port8080, Err: protocol.Errorf(protocol.ErrConflict, "8080/tcp is published by another container")}, []string{
			"Error: host port 8080/tcp is already published: 8080/tcp is published by another container\n",
			"Hint: choose another host port (-p OTHER:80)"}},
		{"attach conflict", attach(protocol.Errorf(protocol.ErrConflict, "attached with other namespaces")), []string{
			"Error: attach the container to bridge myctr0: attached with other namespaces\n", "Hint: an earlier run of this container"}},
		{"unsupported", attach(protocol.Errorf(protocol.ErrUnsupported, "no nf_tables")), []string{
			"Error: attach the container to bridge myctr0: no nf_tables\n", "Hint: myctr-helper or this host cannot do that", "--network slirp4netns or pasta"}},
		{"missing feature", fmt.Errorf("%w: it serves API version 1 with network.bridge, not network.publish", helperclient.ErrMissingFeature), []string{
			"Error: myctr-helper lacks a feature", "Hint: install myctr and myctr-helper from the same build"}},
		{"failed", attach(protocol.Errorf(protocol.ErrFailed, "add veth: file exists")), []string{
			"Error: attach the container to bridge myctr0: add veth: file exists\n", "Hint: myctr-helper failed: see its log"}},
		{"no reply", attach(fmt.Errorf("%w: AttachNetwork: none within 5m0s", helperclient.ErrNoReply)), []string{
			"no reply from myctr-helper", "Hint: myctr-helper did not answer in time"}},
	} {
		got := printed(explain(tc.err))
		rest := got
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: lacks %q (in order):\n%s", tc.name, w, got)
				break
			}
			rest = rest[i+len(w):]
		}
		if strings.Count(got, "Hint:") != 1 {
			t.Errorf("%s: want one hint:\n%s", tc.name, got)
		}
		// The words change; what the error is does not.
		back := explain(tc.err)
		for _, s := range sentinels {
			if errors.Is(back, s) != errors.Is(tc.err, s) {
				t.Errorf("%s: errors.Is(%v) changed", tc.name, s)
			}
		}
	}
	// Through a detached container's monitor: the same words.
	for _, err := range []error{
		attach(protocol.NotAuthorized(protocol.ActionNetwork, "no")),
		&network.PortError{Port: port80, Err: protocol.NotAuthorized(protocol.ActionPublishLowPort, "no")},
	} {
		direct := printed(explain(err))
		name, action := helperclient.Kind(err)
		var rebuilt error = helperclient.Rebuild(err.Error(), name, action)
		var pe *network.PortError
		if errors.As(err, &pe) {
			rebuilt = &network.PortError{Port: pe.Port, Err: errors.Unwrap(rebuilt)}
		}
		if got := printed(explain(rebuilt)); got != direct {
			t.Errorf("rebuilt:\n%s\ndirect:\n%s", got, direct)
		}
	}
	// Not the helper's: unchanged.
	if h := helperError(errors.New("something else")); h != nil {
		t.Errorf("a plain error got %v", h)
	}
}

// TestReleaseWarning: a failed release is one Warning: line.
func TestReleaseWarning(t *testing.T) {
	var b strings.Builder
	warnRelease(&b, &network.Error{Err: protocol.Errorf(protocol.ErrFailed, "nft: busy"), Msg: "release the bridged network of container 0123456789ab"})
	if got := b.String(); got != "Warning: release the bridged network of container 0123456789ab: nft: busy\n" {
		t.Errorf("%q", got)
	}
}

func TestNetworkModeBridge(t *testing.T) {
	if m, opts, err := networkMode("bridge"); m != network.ModeBridge || opts != nil || err != nil {
		t.Errorf("bridge: %q %v %v", m, opts, err)
	}
	if _, _, err := networkMode("bridge:x"); err == nil {
		t.Error("bridge:x accepted")
	}
	// Podman's default network is the helper's bridge.
	if m, opts, err := networkMode("podman"); m != network.ModeBridge || opts != nil || err != nil {
		t.Errorf("podman: %q %v %v", m, opts, err)
	}
}

// TestNetworkModePrivate: Podman's "private" is the default mode, as no
// --network is.
func TestNetworkModePrivate(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	conf := filepath.Join(t.TempDir(), "empty.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_CONF", conf)
	def, _, derr := networkMode("")
	got, opts, err := networkMode("private")
	if err != nil || derr != nil || got != def || opts != nil {
		t.Errorf("private: %q %v %v; the default is %q (%v)", got, opts, err, def, derr)
	}
}
