//go:build cgo

package seccomp

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/seccomp/progcache"
	"github.com/myctr/myctr/frontend/security"
)

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retNOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// Syscall numbers of the three x86 ABIs the default filter covers.
const (
	x86_64 = unix.AUDIT_ARCH_X86_64
	i386   = unix.AUDIT_ARCH_I386
	x32    = x32Bit

	i386Read  = 3
	i386Mount = 21
	i386Clone = 120
)

func compiled(t *testing.T, source string, caps []string) ([]unix.SockFilter, *Compiled) {
	t.Helper()
	s, err := Spec(source, caps)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	c, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	prog, err := security.DecodeBPF(c.Filter.Program)
	if err != nil {
		t.Fatal(err)
	}
	return prog, c
}

type verdict struct {
	name string
	call call
	want uint32
}

func check(t *testing.T, prog []unix.SockFilter, cases []verdict) {
	t.Helper()
	for _, v := range cases {
		got, err := run(prog, v.call)
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		if got != v.want {
			t.Errorf("%s: filter returns %#x, want %#x", v.name, got, v.want)
		}
	}
}

func sc(arch, nr uint32, args ...uint64) call {
	c := call{arch: arch, nr: nr}
	copy(c.args[:], args)
	return c
}

// The default profile for Podman's default capabilities: Docker's allow
// list, its argument conditions, its capability rules, errnoRet, and
// ENOSYS above the highest syscall it names, on x86_64, i386 and x32.
func TestDefaultProfileFilter(t *testing.T) {
	prog, _ := compiled(t, "", security.DefaultCaps)
	check(t, prog, []verdict{
		{"read", sc(x86_64, unix.SYS_READ), retAllow},
		{"mount without CAP_SYS_ADMIN", sc(x86_64, unix.SYS_MOUNT), retEPERM},
		{"unshare without CAP_SYS_ADMIN", sc(x86_64, unix.SYS_UNSHARE, unix.CLONE_NEWUSER), retEPERM},
		{"keyctl", sc(x86_64, unix.SYS_KEYCTL), retEPERM},
		{"add_key", sc(x86_64, unix.SYS_ADD_KEY), retEPERM},
		{"kexec_load (below the highest: the default errno)", sc(x86_64, unix.SYS_KEXEC_LOAD), retEPERM},
		{"a number above every one the profile names", sc(x86_64, 1000), retNOSYS},
		{"clone of a thread", sc(x86_64, unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), retAllow},
		{"clone with CLONE_NEWUSER", sc(x86_64, unix.SYS_CLONE, unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)), retEPERM},
		{"clone with CLONE_NEWNS", sc(x86_64, unix.SYS_CLONE, unix.CLONE_NEWNS), retEPERM},
		{"clone3: ENOSYS (errnoRet), so the C library falls back to clone", sc(x86_64, unix.SYS_CLONE3), retNOSYS},
		{"personality(PER_LINUX)", sc(x86_64, unix.SYS_PERSONALITY, 0), retAllow},
		{"personality(PER_LINUX32)", sc(x86_64, unix.SYS_PERSONALITY, 8), retAllow},
		{"personality query", sc(x86_64, unix.SYS_PERSONALITY, 0xffffffff), retAllow},
		{"personality(ADDR_NO_RANDOMIZE)", sc(x86_64, unix.SYS_PERSONALITY, 0x0040000), retEPERM},
		{"socket(AF_INET)", sc(x86_64, unix.SYS_SOCKET, unix.AF_INET), retAllow},
		{"socket(AF_UNIX)", sc(x86_64, unix.SYS_SOCKET, unix.AF_UNIX), retAllow},
		{"socket(AF_VSOCK)", sc(x86_64, unix.SYS_SOCKET, unix.AF_VSOCK), retEPERM},
		{"ptrace (kernel 4.8 and later)", sc(x86_64, unix.SYS_PTRACE), retAllow},
		{"i386 read", sc(i386, i386Read), retAllow},
		{"i386 mount", sc(i386, i386Mount), retEPERM},
		{"i386 clone with CLONE_NEWUSER", sc(i386, i386Clone, unix.CLONE_NEWUSER), retEPERM},
		{"i386 above the highest", sc(i386, 1000), retNOSYS},
		{"x32 read", sc(x86_64, x32|unix.SYS_READ), retAllow},
		{"x32 mount", sc(x86_64, x32|unix.SYS_MOUNT), retEPERM},
		{"x32 above the highest", sc(x86_64, x32|1000), retNOSYS},
	})
	// An architecture the profile does not cover is killed (libseccomp's
	// bad-architecture action), not let through.
	got, err := run(prog, sc(unix.AUDIT_ARCH_AARCH64, unix.SYS_READ))
	if err != nil || got&unix.SECCOMP_RET_ACTION_FULL != unix.SECCOMP_RET_KILL_THREAD && got&unix.SECCOMP_RET_ACTION_FULL != unix.SECCOMP_RET_KILL_PROCESS {
		t.Errorf("aarch64 call: %#x, %v; want a kill", got, err)
	}
}

// --cap-add changes the capability rules as in Docker: SYS_ADMIN allows
// mount, unshare and clone with namespace flags; SYS_PTRACE process_vm_*.
func TestCapabilityRules(t *testing.T) {
	caps, err := security.MergeCaps(security.DefaultCaps, []string{"SYS_ADMIN", "SYS_PTRACE"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, _ := compiled(t, "", caps)
	check(t, prog, []verdict{
		{"mount", sc(x86_64, unix.SYS_MOUNT), retAllow},
		{"unshare", sc(x86_64, unix.SYS_UNSHARE, unix.CLONE_NEWUSER), retAllow},
		{"clone with CLONE_NEWUSER", sc(x86_64, unix.SYS_CLONE, unix.CLONE_NEWUSER), retAllow},
		{"clone3", sc(x86_64, unix.SYS_CLONE3), retAllow},
		{"i386 mount", sc(i386, i386Mount), retAllow},
		{"process_vm_readv", sc(x86_64, unix.SYS_PROCESS_VM_READV), retAllow},
		{"keyctl stays denied", sc(x86_64, unix.SYS_KEYCTL), retEPERM},
	})
	// And --cap-drop takes them away again.
	dropped, err := security.MergeCaps(caps, nil, []string{"SYS_ADMIN"})
	if err != nil {
		t.Fatal(err)
	}
	prog, _ = compiled(t, "", dropped)
	check(t, prog, []verdict{{"mount after --cap-drop", sc(x86_64, unix.SYS_MOUNT), retEPERM}})
}

func writeProfile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCustomProfile(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		caps    []string
		cases   []verdict
		unknown []string
	}{
		{
			name: "errnoRet on an allow-by-default profile, no ENOSYS stub",
			body: `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}`,
			cases: []verdict{
				{"mkdirat", sc(x86_64, unix.SYS_MKDIRAT), unix.SECCOMP_RET_ERRNO | 13},
				{"mkdir", sc(x86_64, unix.SYS_MKDIR), unix.SECCOMP_RET_ERRNO | 13},
				{"read", sc(x86_64, unix.SYS_READ), retAllow},
				{"a new syscall", sc(x86_64, 1000), retAllow},
			},
		},
		{
			name: "deny by default with a custom errno: the stub still answers ENOSYS above the highest",
			body: `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5,"architectures":["SCMP_ARCH_X86_64"],
				"syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"},{"name":"no_such_call","action":"SCMP_ACT_ALLOW"}]}`,
			cases: []verdict{
				{"read", sc(x86_64, unix.SYS_READ), retAllow},
				{"open", sc(x86_64, unix.SYS_OPEN), unix.SECCOMP_RET_ERRNO | 5},
				{"above exit_group", sc(x86_64, unix.SYS_EXIT_GROUP+1), retNOSYS},
			},
			unknown: []string{"no_such_call"},
		},
		{
			name: "ENOSYS by default: no stub needed",
			body: `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`,
			cases: []verdict{
				{"read", sc(x86_64, unix.SYS_READ), retAllow},
				{"write", sc(x86_64, unix.SYS_WRITE), retNOSYS},
			},
		},
		{
			name: "includes and excludes by capability",
			body: `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
				{"names":["chroot"],"action":"SCMP_ACT_ERRNO","excludes":{"caps":["CAP_SYS_CHROOT"]}},
				{"names":["sethostname"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_CHROOT"]}}]}`,
			caps: []string{"CAP_SYS_CHROOT"},
			cases: []verdict{
				{"chroot (excluded: the container has CAP_SYS_CHROOT)", sc(x86_64, unix.SYS_CHROOT), retAllow},
				{"sethostname (included)", sc(x86_64, unix.SYS_SETHOSTNAME), retEPERM},
			},
		},
		{
			name: "two conditions on one argument are ORed, on two arguments ANDed",
			body: `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
				{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":9,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"op":"SCMP_CMP_EQ"}]},
				{"names":["tgkill"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":2,"value":12,"op":"SCMP_CMP_MASKED_EQ","valueTwo":8}]}]}`,
			cases: []verdict{
				{"kill 9", sc(x86_64, unix.SYS_KILL, 1, 9), retEPERM},
				{"kill 15", sc(x86_64, unix.SYS_KILL, 1, 15), retEPERM},
				{"kill 1", sc(x86_64, unix.SYS_KILL, 1, 1), retAllow},
				{"tgkill 1 x 8 (masked)", sc(x86_64, unix.SYS_TGKILL, 1, 2, 8|1), retEPERM},
				{"tgkill 1 x 4", sc(x86_64, unix.SYS_TGKILL, 1, 2, 4), retAllow},
				{"tgkill 2 x 8", sc(x86_64, unix.SYS_TGKILL, 2, 2, 8), retAllow},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, c := compiled(t, writeProfile(t, tt.body), tt.caps)
			check(t, prog, tt.cases)
			if !slices.Equal(c.Unknown, tt.unknown) {
				t.Errorf("unknown syscalls %v, want %v", c.Unknown, tt.unknown)
			}
		})
	}
}

func TestBadProfiles(t *testing.T) {
	tests := []struct {
		name string
		body string
		err  error
		msg  string // in the error, after the file's name
	}{
		{"syntax", "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [ ,\n]}", ErrProfile, ":3:17: invalid character ','"},
		{"truncated", "{\"defaultAction\": ", ErrProfile, ":1:18: unexpected end of JSON input"},
		{"type", "{\n\"defaultAction\": 7}", ErrProfile, ":2:18: json: cannot unmarshal number"},
		{"unknown action", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_DENY"}]}`, ErrInvalid, `syscalls[0] (mkdir): unknown action "SCMP_ACT_DENY"`},
		{"unknown default action", `{"defaultAction":"ALLOW"}`, ErrInvalid, `defaultAction: unknown action "ALLOW"`},
		{"notify", `{"defaultAction":"SCMP_ACT_NOTIFY"}`, ErrInvalid, `unknown action "SCMP_ACT_NOTIFY"`},
		{"unknown operator", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_LIKE"}]}]}`, ErrInvalid, `unknown operator "SCMP_CMP_LIKE"`},
		{"argument index", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}`, ErrInvalid, "argument index 6"},
		{"no default", `{"syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO"}]}`, ErrInvalid, "defaultAction is missing"},
		{"empty", `{}`, ErrInvalid, "it would apply no filter"},
		{"null", `null`, ErrInvalid, "it would apply no filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeProfile(t, tt.body)
			_, err := Spec(p, nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want the file's name and %q", err, tt.msg)
			}
		})
	}
	if _, err := Spec(filepath.Join(t.TempDir(), "missing.json"), nil); !errors.Is(err, ErrProfile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestUnconfined(t *testing.T) {
	s, err := Spec(Unconfined, security.DefaultCaps)
	if err != nil || s != nil {
		t.Errorf("Spec(unconfined) = %v, %v; want no section", s, err)
	}
}

// The cache gives the same program back from a file, under a name that
// changes with the capability set.
func TestProgramCache(t *testing.T) {
	dir := t.TempDir()
	s, err := Spec("", security.DefaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := Program(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(entries))
	}
	progcache.Forget()
	c2, err := Program(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	if string(c1.Filter.Program) != string(c2.Filter.Program) {
		t.Error("the cached program differs from the compiled one")
	}
	caps, _ := security.MergeCaps(security.DefaultCaps, []string{"SYS_ADMIN"}, nil)
	s2, err := Spec("", caps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Program(dir, s2); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("cache holds %d entries after --cap-add SYS_ADMIN, want 2", len(entries))
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\nef")
	for _, tt := range []struct {
		off       int64
		line, col int
	}{{1, 1, 1}, {2, 1, 2}, {4, 2, 1}, {8, 3, 2}, {100, 3, 2}} {
		if l, c := position(data, tt.off); l != tt.line || c != tt.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tt.off, l, c, tt.line, tt.col)
		}
	}
}

// The stub alone, against made-up highest numbers.
func TestENOSYSStub(t *testing.T) {
	stub, err := enosysStub(map[archMode]uint32{
		{x86_64, modeX86_64}: 300, {x86_64, modeX32}: x32 | 200, {i386, modeOnly}: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	const marker = 0x7f00beef // what "the profile's program" returns here
	prog := append(stub, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: marker})
	check(t, prog, []verdict{
		{"x86_64 300", sc(x86_64, 300), marker},
		{"x86_64 301", sc(x86_64, 301), retNOSYS},
		{"x32 200", sc(x86_64, x32|200), marker},
		{"x32 201", sc(x86_64, x32|201), retNOSYS},
		{"i386 100", sc(i386, 100), marker},
		{"i386 101", sc(i386, 101), retNOSYS},
		{"another arch", sc(unix.AUDIT_ARCH_AARCH64, 5000), marker},
	})
}

// What a start pays for its filter: the section of the default profile
// (at create), its digest and the cache file (at create, each start and
// each exec), without this process's memo.
func BenchmarkStartCost(b *testing.B) {
	dir := b.TempDir()
	s, err := Spec("", security.DefaultCaps)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Program(dir, s); err != nil {
		b.Fatal(err)
	}
	b.Run("spec", func(b *testing.B) {
		for range b.N {
			if _, err := Spec("", security.DefaultCaps); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-program", func(b *testing.B) {
		for range b.N {
			progcache.Forget()
			if _, err := Program(dir, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compile", func(b *testing.B) {
		for range b.N {
			if _, err := Compile(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
