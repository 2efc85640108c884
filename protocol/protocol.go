// Package protocol is the only code that myctr's frontend and its
// privileged helper share (with its subpackages atomicfile and flock, the
// file plumbing both sides use): the D-Bus names of the helper's API
// (org.myctr.Helper1), its version and features, every method's typed
// arguments and replies, the trailing a{sv} options of each method with
// their decoding, the validation of every caller-supplied string, and the
// error names with their Go sentinels. The introspection XML
// (org.myctr.Helper1.xml) is the interface's definition on the bus; a test
// of the helper checks it against the server.
//
// It imports neither side.
package protocol

import _ "embed"

// D-Bus names of the helper.
const (
	BusName    = "org.myctr.Helper1"
	ObjectPath = "/org/myctr/Helper1"
	Interface  = "org.myctr.Helper1"
)

// Version is the helper API's version; GetVersion reports it. A change
// that breaks a caller makes a new interface (org.myctr.Helper2); additions
// come as new methods, options and features, so Version only grows.
const Version uint32 = 1

// Features that GetVersion lists. A frontend checks for the feature it
// needs rather than comparing versions.
const (
	FeatureBridge  = "network.bridge"  // AttachNetwork, ReleaseNetwork
	FeaturePublish = "network.publish" // PublishPort, UnpublishPort
	FeatureRelease = "release.all"     // ReleaseAll
	FeatureCgroup  = "cgroup.delegate" // DelegateCgroup
	// FeatureCgroupRelease: ReleaseCgroup, and ReleaseAll releases
	// cgroups too.
	FeatureCgroupRelease = "cgroup.release"
	// FeatureNetworkGroups: AttachNetwork's "network" option, which puts
	// the container in a group of its user's containers on the bridge
	// apart from the user's others.
	FeatureNetworkGroups = "network.groups"
)

// Features is what a helper of this version serves.
var Features = []string{FeatureBridge, FeaturePublish, FeatureRelease, FeatureCgroup, FeatureCgroupRelease, FeatureNetworkGroups}

// Method names, as called on Interface.
const (
	MethodGetVersion     = Interface + ".GetVersion"
	MethodAttachNetwork  = Interface + ".AttachNetwork"
	MethodReleaseNetwork = Interface + ".ReleaseNetwork"
	MethodPublishPort    = Interface + ".PublishPort"
	MethodUnpublishPort  = Interface + ".UnpublishPort"
	MethodReleaseAll     = Interface + ".ReleaseAll"
	MethodDelegateCgroup = Interface + ".DelegateCgroup"
	MethodReleaseCgroup  = Interface + ".ReleaseCgroup"
)

// IntrospectionXML is the interface's definition (org.myctr.Helper1.xml).
//
//go:embed org.myctr.Helper1.xml
var IntrospectionXML string

// DefaultBridge is the bridge AttachNetwork uses without the "bridge"
// option.
const DefaultBridge = "myctr0"

// Polkit action ids, as declared in polkit/org.myctr.helper.policy.
// AttachNetwork, ReleaseNetwork, PublishPort, UnpublishPort and ReleaseAll
// ask for ActionNetwork, DelegateCgroup and ReleaseCgroup for ActionCgroup
// (ReleaseAll for it too when it releases cgroups); PublishPort of a host port below the host's
// net.ipv4.ip_unprivileged_port_start asks for ActionPublishLowPort too.
const (
	ActionNetwork        = "org.myctr.helper.network"
	ActionPublishLowPort = "org.myctr.helper.publish-low-port"
	// ActionCgroup is DelegateCgroup's: a container's cgroup made by the
	// system manager and handed to the caller.
	ActionCgroup = "org.myctr.helper.cgroup"
)

// Polkit details the helper passes with each check, so that rules can
// decide on them (action.lookup("container") in a .rules file).
const (
	DetailContainer = "container"
	DetailBridge    = "bridge"
	DetailNetwork   = "network"  // AttachNetwork's "network" option, when given
	DetailPort      = "port"     // "8080/tcp"
	DetailProtocol  = "protocol" // "tcp" or "udp"
)
