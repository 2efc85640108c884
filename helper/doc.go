// Package helper is myctr's privileged helper: a D-Bus service, started on
// demand by activation, that does for non-root users only what needs root
// (bridges, veth pairs, NAT and port forwarding, delegated cgroups), each
// method authorized through polkit. It never imports the frontend.
package helper

import "github.com/myctr/myctr/protocol"

// BusName is the name the helper owns on the system bus.
const BusName = protocol.BusName
