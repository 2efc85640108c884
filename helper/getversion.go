package helper

import (
	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

// GetVersion is org.myctr.Helper1.GetVersion: () → (u version, as features).
//
// Why this is safe: it reads two constants and changes nothing, so it
// needs no authorization; a frontend calls it to learn what this helper
// serves before it asks for anything.
func (a api) GetVersion() (uint32, []string, *dbus.Error) {
	defer a.s.begin()()
	return protocol.Version, protocol.Features, nil
}
