package rootfs

import (
	"fmt"
	"strconv"
	"strings"
)

// AnnotationKeepID in a container's spec marks a --userns=keep-id
// container and carries its user to the init, as "UID:GID:NAME:HOME".
const AnnotationKeepID = "io.myctr.keep-id"

// AnnotationHostUsers holds the /etc/passwd lines of --hostuser, one a
// line, for the container's init to add (Overlay.HostUsers).
const AnnotationHostUsers = "io.myctr.hostusers"

// KeepUser is the user a keep-id container maps: its container ids (those
// that are the user's own ids on the host), login name and home directory.
type KeepUser struct {
	UID, GID uint32
	Name     string
	Home     string
}

// Encode is the annotation's value.
func (k KeepUser) Encode() string {
	return fmt.Sprintf("%d:%d:%s:%s", k.UID, k.GID, k.Name, k.Home)
}

// ParseKeepUser reads an annotation made by Encode.
func ParseKeepUser(s string) (KeepUser, error) {
	f := strings.SplitN(s, ":", 4)
	if len(f) != 4 || f[2] == "" || !strings.HasPrefix(f[3], "/") {
		return KeepUser{}, fmt.Errorf("bad %s annotation %q", AnnotationKeepID, s)
	}
	uid, err1 := strconv.ParseUint(f[0], 10, 32)
	gid, err2 := strconv.ParseUint(f[1], 10, 32)
	if err1 != nil || err2 != nil {
		return KeepUser{}, fmt.Errorf("bad %s annotation %q", AnnotationKeepID, s)
	}
	return KeepUser{UID: uint32(uid), GID: uint32(gid), Name: f[2], Home: f[3]}, nil
}

// Rotate is the owner a file of the image must get in a keep-id
// container, given the owner it shows there before the shift (own is the
// container id that maps to the user). The image's layers are stored with
// the default mapping's owners: container root is the user, container id
// c >= 1 is subordinate id c-1. Under keep-id the user shows as own and
// subordinate id k as k below own, k+1 from own on; so a file the image
// gives to root shows as own, one it gives to c <= own shows as c-1, and
// one it gives to c > own shows as c.
func Rotate(seen, own uint32) uint32 {
	switch {
	case seen == own:
		return 0
	case seen < own:
		return seen + 1
	}
	return seen
}
