// Package polkit holds myctr's polkit action definitions (the .policy file
// beside this package) and, with the helper, the client that asks polkit
// for authorization. It imports neither the frontend nor the helper.
package polkit

// Action ids, as declared in org.myctr.helper.policy.
const (
	ActionNetwork        = "org.myctr.helper.network"
	ActionPublishLowPort = "org.myctr.helper.publish-low-port"
)
