package userns

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// capData builds a vfs_cap_data: magic_etc, then {permitted, inheritable}
// for each 32-bit word.
func capData(magic uint32, permitted ...uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	for _, p := range permitted {
		b = binary.LittleEndian.AppendUint32(b, p)
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	return b
}

func TestFileCapGrants(t *testing.T) {
	setuid := uint32(1) << unix.CAP_SETUID
	for _, c := range []struct {
		name string
		data []byte
		capa int
		want bool
	}{
		{"v2 cap_setuid+ep", capData(vfsCapRevision2|vfsCapEffective, setuid, 0), unix.CAP_SETUID, true},
		{"v3 cap_setuid+ep", append(capData(vfsCapRevision3|vfsCapEffective, setuid, 0), 0, 0, 0, 0), unix.CAP_SETUID, true},
		{"v1 cap_setuid+ep", capData(vfsCapRevision1|vfsCapEffective, setuid), unix.CAP_SETUID, true},
		{"permitted, not effective", capData(vfsCapRevision2, setuid, 0), unix.CAP_SETUID, false},
		{"another capability", capData(vfsCapRevision2|vfsCapEffective, setuid, 0), unix.CAP_SETGID, false},
		{"unknown revision", capData(0x04000000|vfsCapEffective, setuid, 0), unix.CAP_SETUID, false},
		{"truncated", capData(vfsCapRevision2|vfsCapEffective, setuid), unix.CAP_SETUID, false},
		{"empty", nil, unix.CAP_SETUID, false},
	} {
		if got := fileCapGrants(c.data, c.capa); got != c.want {
			t.Errorf("%s: fileCapGrants = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestReadSysctls(t *testing.T) {
	old := ProcSys
	defer func() { ProcSys = old }()
	ProcSys = t.TempDir()
	if err := os.MkdirAll(filepath.Join(ProcSys, "user"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ProcSys, "user", "max_user_namespaces"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := ReadSysctls()
	if got != (Sysctls{MaxUserNamespaces: 0, UnprivilegedClone: -1, AppArmorRestrict: -1}) {
		t.Errorf("ReadSysctls = %+v, want max 0 and the others absent (-1)", got)
	}
}
