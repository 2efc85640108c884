// Package polkit holds myctr's polkit action definitions (the .policy file
// beside this package) and the client that asks polkit, over D-Bus, whether
// a caller of the helper may do something (CheckAuthorization). It imports
// neither the frontend nor the helper.
package polkit

import "github.com/myctr/myctr/protocol"

// Action ids, as declared in org.myctr.helper.policy. The protocol package
// is their one source: the frontend names them in its hints and the helper
// in its NotAuthorized errors.
const (
	ActionNetwork        = protocol.ActionNetwork
	ActionPublishLowPort = protocol.ActionPublishLowPort
	ActionCgroup         = protocol.ActionCgroup
)
