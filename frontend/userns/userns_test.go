package userns

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseRange(t *testing.T) {
	file := "# comment\nother:1:2\nalice:100000:65536\nalice:300000:10\n1001:500000:1000\nbad:x:y\n"
	tests := []struct {
		name string
		uid  uint32
		want *Range
	}{
		{"alice", 1000, &Range{100000, 65536}},
		{"bob", 1001, &Range{500000, 1000}},
		{"carol", 1002, nil},
		{"bad", 1003, nil},
	}
	for _, tt := range tests {
		got, err := parseRange(bufio.NewScanner(strings.NewReader(file)), tt.name, tt.uid)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestMappings(t *testing.T) {
	m := &Mapping{UID: 1000, GID: 1000, SubUID: &Range{100000, 65536}, SubGID: &Range{200000, 1000}}
	want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	if got := m.UIDMappings(); !reflect.DeepEqual(got, want) {
		t.Errorf("UIDMappings = %+v", got)
	}
	if m.Size() != 1001 {
		t.Errorf("Size = %d, want the smaller range + 1", m.Size())
	}
	if got := ToHost(m.UIDMappings(), 1000); got != 100999 {
		t.Errorf("ToHost(1000) = %d", got)
	}
	if got := ToHost(m.UIDMappings(), 70000); got != -1 {
		t.Errorf("ToHost(70000) = %d, want -1", got)
	}
	single := &Mapping{UID: 1000, GID: 1000}
	if single.HasRange() || single.Size() != 1 || len(single.GIDMappings()) != 1 {
		t.Errorf("single mapping wrong: %+v", single)
	}
}

func TestMappedIDs(t *testing.T) {
	tests := []struct {
		text string
		want uint32
	}{
		{"         0          0 4294967295\n", 4294967295},
		{"0 1001 1\n1 100000 65536\n", 65537},
		{"0 1001 1\n", 1},
		{"1 100000 65536\n", 0},
		{"0 1000 1\n2 5000 10\n", 1},
	}
	for _, tt := range tests {
		f := filepath.Join(t.TempDir(), "map")
		os.WriteFile(f, []byte(tt.text), 0o600)
		if got := mappedIDs(f); got != tt.want {
			t.Errorf("mappedIDs(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestFreeRange(t *testing.T) {
	for _, tc := range []struct {
		files [][]byte
		want  uint32
	}{
		{nil, 100000},
		{[][]byte{[]byte("alice:100000:65536\n")}, 165536},
		{[][]byte{[]byte("alice:100000:65536\n"), []byte("bob:165536:65536\n# c:231072:1\n")}, 231072},
		{[][]byte{[]byte("x:150000:10\n")}, 165536},
		{[][]byte{[]byte("garbage\nalice:notanumber:5\n")}, 100000},
	} {
		if got := FreeRange(tc.files, 65536); got != tc.want {
			t.Errorf("FreeRange(%q) = %d, want %d", tc.files, got, tc.want)
		}
	}
}

// TestApplyMappers: Apply runs newuidmap and newgidmap side by side (here
// stand-ins in PATH: the uid tool waits for the gid tool's mark, so Apply
// ends only if both run at once), with the pid and each extent's three
// numbers; a tool's failure comes back as a MapperError with its output,
// a missing tool as ErrNoMapper.
func TestApplyMappers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("newgidmap", `echo "$@" > "$0.args"; : > "$0.mark"; exit 0`+"\n")
	write("newuidmap", `echo "$@" > "$0.args"; i=0
while [ ! -e "${0%/*}/newgidmap.mark" ]; do i=$((i+1)); [ $i -lt 500 ] || exit 3; /bin/sleep 0.01; done
exit 0
`)
	t.Setenv("PATH", dir)
	m := &Mapping{UID: 1000, GID: 1000, SubUID: &Range{100000, 65536}, SubGID: &Range{200000, 1000}}
	if err := m.Apply(4242); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for tool, want := range map[string]string{"newuidmap": "4242 0 1000 1 1 100000 65536", "newgidmap": "4242 0 1000 1 1 200000 1000"} {
		b, err := os.ReadFile(filepath.Join(dir, tool+".args"))
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s got %q (%v), want %q", tool, b, err, want)
		}
	}

	write("newgidmap", "echo 'newgidmap: write to gid_map failed: Operation not permitted' >&2; exit 1\n")
	err := m.Apply(4242)
	var me *MapperError
	if !errors.As(err, &me) || me.Tool != "newgidmap" || !strings.Contains(me.Output, "Operation not permitted") {
		t.Errorf("a failing newgidmap: got %v, want its MapperError with the output", err)
	}

	if err := os.Remove(filepath.Join(dir, "newuidmap")); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(4242); !errors.Is(err, ErrNoMapper) {
		t.Errorf("a missing newuidmap: got %v, want ErrNoMapper", err)
	}
}
