package helper

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCgroupLedger: records survive a reopen; a leftover temporary file is
// removed; a record whose file name does not match it is reported and
// left out.
func TestCgroupLedger(t *testing.T) {
	dir := t.TempDir()
	l, bad, err := OpenCgroupLedger(dir)
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	rec := &CgroupRecord{UID: 1000, Container: "web", Unit: scopeName(1000, "web"), Path: "/myctr.slice/x"}
	if err := l.Put(rec); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "1000", ".tmp-123")
	os.WriteFile(tmp, []byte("{"), 0o600)
	b := []byte(`{"uid":1001,"container":"web","unit":"` + scopeName(1001, "web") + `"}`)
	os.WriteFile(filepath.Join(dir, "1000", "forged.json"), b, 0o600)
	l, bad, err = OpenCgroupLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Get(1000, "web"); got == nil || *got != *rec {
		t.Errorf("after reopen: %+v, want %+v", got, rec)
	}
	if len(bad) != 1 || len(l.All()) != 1 {
		t.Errorf("bad %v, records %v: want the forged one reported and left out", bad, l.All())
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	if err := l.Delete(rec); err != nil || l.Get(1000, "web") != nil {
		t.Errorf("delete: %v", err)
	}
}
