package helper

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

// nsID identifies a namespace: the device and inode of its nsfs file.
type nsID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

func fdID(fd int) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nsID{}, err
	}
	return nsID{Dev: st.Dev, Ino: st.Ino}, nil
}

func pathID(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return nsID{Dev: st.Dev, Ino: st.Ino}, nil
}

// nsType returns the CLONE_NEW* type of the namespace open as fd.
func nsType(fd int) (int, error) {
	return unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
}

// checkNamespaces checks that userFD is a user namespace owned by uid and
// netFD a network namespace owned by that user namespace, and not one of
// the helper's own (hosts). It returns the network namespace's identity.
//
// Why this is safe: the caller proves, by holding descriptors the kernel
// gave it, that the network namespace is one its own user namespace owns;
// the kernel answers each question about the descriptors themselves (no
// path or PID that could change meaning between the check and the use),
// and the helper later acts on the same netFD.
func checkNamespaces(uid uint32, userFD, netFD int, hosts []nsID) (nsID, error) {
	if t, err := nsType(userFD); err != nil || t != unix.CLONE_NEWUSER {
		return nsID{}, protocol.Errorf(protocol.ErrInvalidArgs, "the userns descriptor is not a user namespace")
	}
	if t, err := nsType(netFD); err != nil || t != unix.CLONE_NEWNET {
		return nsID{}, protocol.Errorf(protocol.ErrInvalidArgs, "the netns descriptor is not a network namespace")
	}
	netID, err := fdID(netFD)
	if err != nil {
		return nsID{}, fmt.Errorf("stat the netns descriptor: %w", err)
	}
	userID, err := fdID(userFD)
	if err != nil {
		return nsID{}, fmt.Errorf("stat the userns descriptor: %w", err)
	}
	ownerFD, err := unix.IoctlRetInt(netFD, unix.NS_GET_USERNS)
	if err != nil {
		// EPERM: the owner is outside the helper's user namespace.
		return nsID{}, protocol.Errorf(protocol.ErrNotOwner, "the network namespace's owner is not visible: %v", err)
	}
	ownerID, err := fdID(ownerFD)
	unix.Close(ownerFD)
	if err != nil {
		return nsID{}, fmt.Errorf("stat the network namespace's owner: %w", err)
	}
	if ownerID != userID {
		return nsID{}, protocol.Errorf(protocol.ErrNotOwner, "the network namespace does not belong to the user namespace passed with it")
	}
	owner, err := unix.IoctlGetUint32(userFD, unix.NS_GET_OWNER_UID)
	if err != nil {
		return nsID{}, fmt.Errorf("owner of the user namespace: %w", err)
	}
	if owner != uid {
		return nsID{}, protocol.Errorf(protocol.ErrNotOwner, "the user namespace belongs to another user")
	}
	// Only root owns the initial user namespace, and so could pass the
	// host's network namespace: never attach that one.
	for _, h := range hosts {
		if netID == h {
			return nsID{}, protocol.Errorf(protocol.ErrInvalidArgs, "the network namespace is the helper's host namespace")
		}
	}
	return netID, nil
}
