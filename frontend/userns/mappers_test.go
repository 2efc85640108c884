package userns

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestMappers(t *testing.T) {
	dir := t.TempDir()
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if err := os.WriteFile(filepath.Join(dir, tool), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	ranged := &Mapping{UID: 1000, GID: 1001, SubUID: &Range{Start: 100000, Count: 65536}, SubGID: &Range{Start: 200000, Count: 65536}}
	uid, gid, err := ranged.Mappers()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "newuidmap"), "0", "1000", "1", "1", "100000", "65536"}; !reflect.DeepEqual(uid, want) {
		t.Errorf("uid %q, want %q", uid, want)
	}
	if want := []string{filepath.Join(dir, "newgidmap"), "0", "1001", "1", "1", "200000", "65536"}; !reflect.DeepEqual(gid, want) {
		t.Errorf("gid %q, want %q", gid, want)
	}
	// What Apply writes itself: no mapper.
	for name, m := range map[string]*Mapping{
		"own ids alone": {UID: 1000, GID: 1001},
		"root":          {UID: 0, GID: 0, SubUID: &Range{Start: 100000, Count: 65536}, SubGID: &Range{Start: 100000, Count: 65536}},
	} {
		if uid, gid, err := m.Mappers(); uid != nil || gid != nil || err != nil {
			t.Errorf("%s: %q %q %v, want none", name, uid, gid, err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "newgidmap")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ranged.Mappers(); !errors.Is(err, ErrNoMapper) {
		t.Errorf("without newgidmap: %v, want ErrNoMapper", err)
	}
}
