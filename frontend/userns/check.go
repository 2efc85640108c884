package userns

// What `myctr doctor` asks of this package: the user's ranges as each file
// gives them, whether newuidmap/newgidmap can do their work, and the
// sysctls that allow or forbid unprivileged user namespaces. Read-only.

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// MinRange is the smallest subordinate range a container image can count
// on: ids 0..65535, which is what useradd gives and images assume.
const MinRange = 65536

// Subordinate is what /etc/subuid and /etc/subgid give the calling user,
// each on its own (Current drops both when one is missing).
type Subordinate struct {
	User           string // the user's name, or the uid when it has none
	UID            uint32
	SubUID, SubGID *Range // nil: no line for the user
}

// LookupSubordinate reads the calling user's ranges.
func LookupSubordinate() (Subordinate, error) {
	uid := uint32(os.Getuid())
	s := Subordinate{UID: uid, User: strconv.Itoa(int(uid))}
	if u, err := LookupUser(s.User); err == nil {
		s.User = u.Username
	}
	var err error
	if s.SubUID, err = lookupRange(SubUIDFile, s.User, uid); err != nil {
		return s, err
	}
	s.SubGID, err = lookupRange(SubGIDFile, s.User, uid)
	return s, err
}

// ProposeRange is the usermod command that gives user a range of
// MinRange ids that no line of /etc/subuid or /etc/subgid holds now.
func ProposeRange(user string) string {
	uids, _ := os.ReadFile(SubUIDFile)
	gids, _ := os.ReadFile(SubGIDFile)
	start := FreeRange([][]byte{uids, gids}, MinRange)
	r := fmt.Sprintf("%d-%d", start, start+MinRange-1)
	return fmt.Sprintf("usermod --add-subuids %s --add-subgids %s %s", r, r, user)
}

// Mapper is how newuidmap or newgidmap is installed.
type Mapper struct {
	Tool string // "newuidmap" or "newgidmap"
	Path string // "" when it is not in PATH
	// SetuidRoot: owned by root with the set-user-id bit (Debian, Ubuntu).
	SetuidRoot bool
	// FileCap: a security.capability attribute that puts the capability
	// the tool needs (CAP_SETUID for newuidmap, CAP_SETGID for newgidmap)
	// in its permitted and effective sets (Fedora, Arch).
	FileCap bool
	// Mode is the file's mode, for the message.
	Mode os.FileMode
}

// Usable reports whether the tool may write another user's maps.
func (m Mapper) Usable() bool { return m.Path != "" && (m.SetuidRoot || m.FileCap) }

// CheckMapper looks at tool (newuidmap or newgidmap) as startMapper would
// find it: through PATH. A missing tool wraps ErrNoMapper.
func CheckMapper(tool string) (Mapper, error) {
	m := Mapper{Tool: tool}
	p, err := exec.LookPath(tool)
	if err != nil {
		return m, fmt.Errorf("%s: %w", tool, ErrNoMapper)
	}
	m.Path = p
	st, err := os.Stat(p)
	if err != nil {
		return m, fmt.Errorf("stat %s: %w", p, err)
	}
	m.Mode = st.Mode()
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid == 0 && st.Mode()&os.ModeSetuid != 0 {
		m.SetuidRoot = true
	}
	capability := unix.CAP_SETUID
	if tool == "newgidmap" {
		capability = unix.CAP_SETGID
	}
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(p, "security.capability", buf); err == nil {
		m.FileCap = fileCapGrants(buf[:n], capability)
	}
	return m, nil
}

// vfs_cap_data's magic_etc (linux/capability.h).
const (
	vfsCapEffective    = 0x000001
	vfsCapRevisionMask = 0xFF000000
	vfsCapRevision1    = 0x01000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
)

// fileCapGrants reads a vfs_cap_data (security.capability, revision 1, 2
// or 3; little-endian) and reports whether capability c is permitted and
// the effective flag is set.
func fileCapGrants(b []byte, c int) bool {
	if len(b) < 12 {
		return false
	}
	magic := binary.LittleEndian.Uint32(b)
	if magic&vfsCapEffective == 0 {
		return false
	}
	word, bit := c/32, uint(c%32)
	switch magic & vfsCapRevisionMask {
	case vfsCapRevision1:
		if word > 0 {
			return false
		}
	case vfsCapRevision2, vfsCapRevision3:
		if len(b) < 20 {
			return false
		}
	default:
		return false
	}
	// data[i] = {permitted, inheritable}, 8 bytes each, after magic_etc.
	permitted := binary.LittleEndian.Uint32(b[4+8*word:])
	return permitted&(1<<bit) != 0
}

// ProcSys is where the sysctls are read; a variable for tests.
var ProcSys = "/proc/sys"

// Sysctls are the kernel settings that decide whether an unprivileged
// user may create a user namespace. -1: the kernel has no such setting.
type Sysctls struct {
	// MaxUserNamespaces is user.max_user_namespaces (0 forbids them).
	MaxUserNamespaces int
	// UnprivilegedClone is kernel.unprivileged_userns_clone (Debian's
	// and Ubuntu's patch; 0 forbids them to unprivileged users).
	UnprivilegedClone int
	// AppArmorRestrict is kernel.apparmor_restrict_unprivileged_userns
	// (Ubuntu 23.10 on; 1: only programs with an AppArmor profile that
	// allows userns keep the namespace's capabilities).
	AppArmorRestrict int
}

// ReadSysctls reads the three settings.
func ReadSysctls() Sysctls {
	return Sysctls{
		MaxUserNamespaces: readSysctl("user/max_user_namespaces"),
		UnprivilegedClone: readSysctl("kernel/unprivileged_userns_clone"),
		AppArmorRestrict:  readSysctl("kernel/apparmor_restrict_unprivileged_userns"),
	}
}

func readSysctl(name string) int {
	b, err := os.ReadFile(filepath.Join(ProcSys, name))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}
