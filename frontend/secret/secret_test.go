package secret

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"mysecret", true}, {"a", true}, {"ab_c.d-e", true}, {"A1", true}, {strings.Repeat("x", 64), true},
		{"", false}, {strings.Repeat("x", 65), false}, {"a/b", false}, {"a=b", false}, {"a,b", false},
		{".a", false}, {"a.", false}, {"-a", false}, {"a b", false}, {"..", false},
	} {
		err := ValidName(tc.name)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidName)) {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestStore: create, list, look up (name, id, id prefix), read and
// remove, with the files only their owner may read.
func TestStore(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Create("alpha", []byte("hunter2"), map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{25}$`).MatchString(a.ID) {
		t.Errorf("id %q: want 25 hex digits", a.ID)
	}
	if a.Spec.Driver.Name != "file" || a.Spec.Driver.Options["path"] != filepath.Join(root, "secrets") || a.Spec.Labels["k"] != "v" {
		t.Errorf("record %+v", a)
	}
	if _, err := s.Create("alpha", []byte("x"), nil); !errors.Is(err, ErrNameInUse) {
		t.Errorf("a second alpha: %v, want ErrNameInUse", err)
	}
	for _, data := range [][]byte{nil, make([]byte, MaxSize)} {
		if _, err := s.Create("big", data, nil); !errors.Is(err, ErrInvalidData) {
			t.Errorf("%d bytes: %v, want ErrInvalidData", len(data), err)
		}
	}
	if _, err := s.Create("max", make([]byte, MaxSize-1), nil); err != nil {
		t.Errorf("%d bytes: %v", MaxSize-1, err)
	}
	if _, err := s.Create("a/b", []byte("x"), nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("a/b: %v, want ErrInvalidName", err)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Join(root, "secrets"), 0o700 | os.ModeDir}, {filepath.Join(root, "secrets", a.ID), 0o600}, {filepath.Join(root, "secrets", a.ID+".json"), 0o600}} {
		st, err := os.Stat(p.path)
		if err != nil || st.Mode() != p.mode {
			t.Errorf("%s: %v, %v; want mode %v", p.path, st.Mode(), err, p.mode)
		}
	}
	for _, ref := range []string{"alpha", a.ID, a.ID[:5]} {
		got, err := s.Lookup(ref)
		if err != nil || got.ID != a.ID {
			t.Errorf("Lookup(%q) = %v, %v", ref, got, err)
		}
	}
	if _, err := s.Lookup("nosuch"); !errors.Is(err, ErrNoSuchSecret) || err.Error() != `no secret with name or id "nosuch": no such secret` {
		t.Errorf("Lookup(nosuch) = %v", err)
	}
	if b, err := s.Data(a.ID); err != nil || string(b) != "hunter2" {
		t.Errorf("Data = %q, %v", b, err)
	}
	if _, err := s.Data("../x"); !errors.Is(err, ErrNoSuchSecret) {
		t.Errorf("Data(../x) = %v", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].Spec.Name != "alpha" || list[1].Spec.Name != "max" {
		t.Errorf("List = %v, %v", list, err)
	}
	if _, err := s.Remove("alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("alpha"); !errors.Is(err, ErrNoSuchSecret) {
		t.Errorf("after Remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "secrets", a.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data stays after Remove: %v", err)
	}
	if _, err := s.Remove("alpha"); !errors.Is(err, ErrNoSuchSecret) {
		t.Errorf("a second Remove: %v", err)
	}
}

// TestOpenTightens: a secrets directory that others may read is made the
// user's alone; data left without a record (a crash between the two
// writes) is removed by the next create.
func TestOpenTightens(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "secrets")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, strings.Repeat("a", 25))
	if err := os.WriteFile(orphan, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", st.Mode().Perm())
	}
	if _, err := s.Create("x", []byte("y"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphaned data stays: %v", err)
	}
}

func TestParseUse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Use
		err  string
	}{
		{in: "db", want: Use{Name: "db", Type: "mount", Target: "/run/secrets/db", Mode: 0o444}},
		{in: "db,target=pw", want: Use{Name: "db", Type: "mount", Target: "/run/secrets/pw", Mode: 0o444}},
		{in: "db,target=/etc/pw,mode=0400", want: Use{Name: "db", Type: "mount", Target: "/etc/pw", Mode: 0o400}},
		{in: "db,target=../../etc/x", want: Use{Name: "db", Type: "mount", Target: "/etc/x", Mode: 0o444}},
		{in: "db,type=env", want: Use{Name: "db", Type: "env", Target: "db"}},
		{in: "db,type=env,target=PASSWORD", want: Use{Name: "db", Type: "env", Target: "PASSWORD"}},
		{in: "db,uid=0,gid=0", want: Use{Name: "db", Type: "mount", Target: "/run/secrets/db", Mode: 0o444}},
		{in: "", err: "no secret name"},
		{in: "db,uid=1000", err: "uid=1000"},
		{in: "db,mode=999", err: "octal"},
		{in: "db,type=env,mode=0400", err: "type=mount"},
		{in: "db,type=file", err: "mount or env"},
		{in: "db,type=env,target=A=B", err: "environment variable"},
		{in: "db,foo=bar", err: "unknown option"},
		{in: "db,target", err: "KEY=VALUE"},
	} {
		got, err := ParseUse(tc.in)
		if tc.err != "" {
			if err == nil || !errors.Is(err, ErrInvalidUse) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseUse(%q) = %v, want an error about %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseUse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
