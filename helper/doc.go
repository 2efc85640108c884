// Package helper is myctr's privileged helper: a D-Bus service
// (org.myctr.Helper1), started on demand by activation, that does for
// non-root users only what needs root: a bridge, a veth pair per container
// whose far end goes into the container's network namespace, an address
// from the bridge's subnet, masquerading and published ports. Each method
// is authorized through polkit, tied to the caller's uid, recorded in a
// ledger before anything is made, and serialized through one goroutine.
// The helper exits when idle; the ledger and the kernel hold all its state.
//
// README.md beside this file maps each method to its polkit action, the
// kernel objects it touches and how they are cleaned up. The host-side
// kernel work is package hostnet's; it never imports the frontend.
package helper

import "github.com/myctr/myctr/protocol"

// BusName is the name the helper owns on the system bus.
const BusName = protocol.BusName
