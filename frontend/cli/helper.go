package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/protocol"
)

// reworded is an error shown with other words than its cause's, which
// errors.Is and errors.As still find.
type reworded struct {
	msg string
	err error
}

func (r *reworded) Error() string { return r.msg }
func (r *reworded) Unwrap() error { return r.err }

// otherModes is the way out of every failure of the bridged network.
const otherModes = "or use --network slirp4netns or pasta"

// helperError says what went wrong between us, the system bus, polkit and
// myctr-helper for --network bridge, and what to do about it; nil when err
// is none of theirs.
func helperError(err error) error {
	var pe *protocol.Error
	errors.As(err, &pe)
	var port *network.PortError
	errors.As(err, &port)
	switch {
	case errors.Is(err, helperclient.ErrNoBus):
		return hint(err, "bridged networking needs the system D-Bus (dbus-daemon --system, at /run/dbus/system_bus_socket or $DBUS_SYSTEM_BUS_ADDRESS) to reach myctr-helper; %s", otherModes)
	case errors.Is(err, helperclient.ErrNotInstalled):
		return hint(err, "install myctr-helper as root with `make install` (the helper, its D-Bus activation file and its polkit policy), %s", otherModes)
	case errors.Is(err, helperclient.ErrNotStarted):
		return hint(err, "the system bus could not start myctr-helper: see the system log (journalctl -u myctr-helper), and reinstall it with `make install`; %s", otherModes)
	case errors.Is(err, helperclient.ErrMissingFeature):
		return hint(err, "install myctr and myctr-helper from the same build (make install)")
	case errors.Is(err, helperclient.ErrNoReply):
		return hint(err, "myctr-helper did not answer in time (an unanswered password prompt ends the same way): see the system log (journalctl -u myctr-helper)")
	case errors.Is(err, helperclient.ErrPolkitNotRunning):
		return hint(&reworded{"not authorized to connect a container to a bridged network: polkit is not running", err},
			"start polkit as root (systemctl start polkit, or /usr/lib/polkit-1/polkitd --no-debug &): myctr-helper asks it about every request")
	case errors.Is(err, protocol.ErrNotAuthorized):
		action := protocol.ActionNetwork
		if pe != nil && pe.Action != "" {
			action = pe.Action
		}
		rule := fmt.Sprintf("an administrator can allow the action %s with a polkit rule in /etc/polkit-1/rules.d/", action)
		if action == protocol.ActionPublishLowPort {
			start := network.UnprivilegedPortStart()
			what := "a host port"
			if port != nil {
				what = fmt.Sprintf("host port %d/%s", port.Port.HostPort, port.Port.Protocol)
			}
			return hint(&reworded{fmt.Sprintf("not authorized to publish %s below net.ipv4.ip_unprivileged_port_start (%d) (polkit action %s)", what, start, action), err},
				"%s (it is asked for host ports below net.ipv4.ip_unprivileged_port_start), or publish a host port of %d or above", rule, start)
		}
		return hint(&reworded{fmt.Sprintf("not authorized to connect a container to a bridged network (polkit action %s)", action), err},
			"%s; publishing a host port below net.ipv4.ip_unprivileged_port_start needs %s too; %s", rule, protocol.ActionPublishLowPort, otherModes)
	case errors.Is(err, protocol.ErrNotOwner):
		return hint(&reworded{"myctr-helper refused the container's namespaces: " + pe.Error(), err},
			"the helper attaches only a network namespace of a user namespace you own: run myctr as yourself, not inside another user's namespace")
	case errors.Is(err, protocol.ErrLimitExceeded):
		return hint(&reworded{"bridged network limit reached: " + pe.Error(), err},
			"stop or remove another of your bridged containers (myctr ps), or ask an administrator to raise the limit in myctr-helper's configuration")
	case errors.Is(err, protocol.ErrConflict) && port != nil:
		return hint(&reworded{fmt.Sprintf("host port %d/%s is already published: %s", port.Port.HostPort, port.Port.Protocol, pe.Error()), err},
			"choose another host port (-p OTHER:%d), or stop the container that publishes it", port.Port.ContainerPort)
	case errors.Is(err, protocol.ErrConflict):
		return hint(err, "an earlier run of this container is still attached: wait until it has ended, or remove the container (myctr rm) and run it again")
	case errors.Is(err, protocol.ErrUnsupported):
		return hint(err, "myctr-helper or this host cannot do that (an unknown bridge, a kernel without nf_tables); %s", otherModes)
	case errors.Is(err, protocol.ErrInvalidArgs):
		return hint(err, "myctr and myctr-helper disagree on a request: install both from the same build (make install)")
	case errors.Is(err, protocol.ErrFailed):
		return hint(err, "myctr-helper failed: see its log (journalctl -u myctr-helper, or the system log)")
	}
	return nil
}

// warnRelease prints a failed release of a bridged network as a warning:
// the helper releases it by itself once the container's network namespace
// is gone, so it never fails a command.
func warnRelease(stderr io.Writer, err error) {
	msg := err.Error()
	if h := helperError(err); h != nil {
		msg = h.Error()
	}
	fmt.Fprintf(stderr, "Warning: %s\n", strings.TrimSpace(msg))
}
