// Package protocol is the only code that myctr's frontend and its
// privileged helper share: the D-Bus names of the helper's API and its
// version. It imports neither side.
package protocol

// D-Bus names of the helper.
const (
	BusName    = "org.myctr.Helper1"
	ObjectPath = "/org/myctr/Helper1"
	Interface  = "org.myctr.Helper1"
)

// APIVersion is the helper API's version; GetVersion reports it, and a
// frontend refuses a helper whose major version differs.
const APIVersion = "1.0"
