package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reserveNamed reserves a container named name (with hc) as create does.
func reserveNamed(t *testing.T, s *Store, name string, hc HostConfig) (*Container, error) {
	t.Helper()
	c := &Container{Name: name, HostConfig: hc, State: State{Status: StatusExited}}
	unlock, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	return c, s.reserve(c)
}

func linkOf(t *testing.T, p string) string {
	t.Helper()
	got, err := os.Readlink(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err == nil && linkID(got) == "" {
		t.Fatalf("%s -> %q, which names no id", p, got)
	}
	return linkID(got)
}

func TestIndexNames(t *testing.T) {
	s, a := checkFixture(t)
	b := addContainer(t, s, "b")
	if got := linkOf(t, s.nameLink("ok")); got != a.ID {
		t.Fatalf(".names/ok -> %q, want %s", got, a.ID)
	}
	for ref, want := range map[string]string{"ok": a.ID, "b": b.ID, a.ID: a.ID, b.ID[:5]: b.ID} {
		if c, err := s.Lookup(ref); err != nil || c.ID != want {
			t.Errorf("Lookup(%q) = %v, %v; want %.12s", ref, c, err, want)
		}
	}
	for _, ref := range []string{"nosuch", "ok/../b", "..", b.ID[:2]} {
		if _, err := s.Lookup(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%q): %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := reserveNamed(t, s, "ok", HostConfig{}); !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), "myctr rm") {
		t.Errorf("reserve of a name in use: %v, want ErrNameInUse with the fix", err)
	}
	if got := linkOf(t, s.nameLink("ok")); got != a.ID {
		t.Errorf("a refused reservation changed .names/ok to %q", got)
	}
	r, err := reserveNamed(t, s, "", HostConfig{})
	if err != nil || r.Name == "" || linkOf(t, s.nameLink(r.Name)) != r.ID {
		t.Errorf("reserve with no name: %v, name %q not linked to its id", err, r.Name)
	}

	// A crash can leave links that no record agrees with: to a container
	// that is gone, and to one that since has another name. Neither finds
	// anything, and both names are free.
	ghost := strings.Repeat("e", 64)
	for name, target := range map[string]string{"ghost": ghost, "renamed-away": b.ID} {
		if err := os.Symlink(linkTarget(target), s.nameLink(name)); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Lookup(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%q) through a stale link = %v, %v; want ErrNotFound", name, c, err)
		}
		c, err := reserveNamed(t, s, name, HostConfig{})
		if err != nil {
			t.Fatalf("reserve %q over a stale link: %v", name, err)
		}
		if got, err := s.Lookup(name); err != nil || got.ID != c.ID {
			t.Errorf("Lookup(%q) after its reservation = %v, %v; want %.12s", name, got, err, c.ID)
		}
	}

	// A link whose target names no id (64 hex digits, as a link never
	// holds) is stale too.
	if err := os.Symlink(a.ID, s.nameLink("raw")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("raw"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup through a link to no id: %v, want ErrNotFound", err)
	}
	if _, err := reserveNamed(t, s, "raw", HostConfig{}); err != nil {
		t.Errorf("reserve over a link to no id: %v", err)
	}
	// ext4 keeps a target of up to 59 bytes in the inode.
	if n := len(linkTarget(a.ID)); n >= 60 {
		t.Errorf("a link's target is %d bytes, want under 60", n)
	}

	// Removal takes the links with the directory.
	unlock, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	err = s.removeBroken(b.ID)
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := linkOf(t, s.nameLink("b")); got != "" {
		t.Errorf("removed b's link is still there: %q", got)
	}
	if _, err := s.Lookup("b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup of a removed container: %v", err)
	}
	if err := s.Remove(a, false); err != nil {
		t.Fatal(err)
	}
	if got := linkOf(t, s.nameLink("ok")); got != "" {
		t.Errorf("rm left the name's link: %q", got)
	}
}

// A store that an older myctr wrote has no index: its containers are
// still found, their names still taken, and the next reservation links
// them.
func TestIndexLoose(t *testing.T) {
	s, a := checkFixture(t)
	d, err := reserveNamed(t, s, "joiner", HostConfig{NetworkMode: NetContainerPrefix + a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := linkOf(t, s.joinLink(d.ID)); got != a.ID {
		t.Fatalf(".joins/%.12s -> %q, want %s", d.ID, got, a.ID)
	}
	checkDeps := func(when string) {
		t.Helper()
		deps, err := s.Dependents(a)
		if err != nil || len(deps) != 1 || deps[0].ID != d.ID {
			t.Errorf("%s: Dependents(a) = %v, %v; want the joiner", when, deps, err)
		}
		if deps, err := s.Dependents(d); err != nil || len(deps) != 0 {
			t.Errorf("%s: Dependents(joiner) = %v, %v; want none", when, deps, err)
		}
	}
	checkDeps("indexed")

	for _, dir := range []string{namesIndex, joinsIndex} {
		if err := os.RemoveAll(filepath.Join(s.dir, dir)); err != nil {
			t.Fatal(err)
		}
	}
	checkDeps("no index")
	if c, err := s.Lookup("joiner"); err != nil || c.ID != d.ID {
		t.Errorf("Lookup(joiner) with no index = %v, %v", c, err)
	}
	if _, err := reserveNamed(t, s, "ok", HostConfig{}); !errors.Is(err, ErrNameInUse) {
		t.Errorf("reserve of an unindexed container's name: %v, want ErrNameInUse", err)
	}
	for p, want := range map[string]string{s.nameLink("ok"): a.ID, s.nameLink("joiner"): d.ID, s.joinLink(d.ID): a.ID} {
		if got := linkOf(t, p); got != want {
			t.Errorf("after a reservation, %s -> %q, want %s", filepath.Base(p), got, want)
		}
	}
	checkDeps("indexed again")

	// A join link that its container's record does not confirm is not
	// believed.
	o := addContainer(t, s, "other")
	if err := os.Symlink(linkTarget(a.ID), s.joinLink(o.ID)); err != nil {
		t.Fatal(err)
	}
	checkDeps("a stale join link")

	// A reservation also sweeps the links of containers that are gone.
	ghost := strings.Repeat("e", 64)
	for _, p := range []string{s.nameLink("ghost"), s.joinLink(ghost)} {
		if err := os.Symlink(linkTarget(a.ID), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(s.nameLink("ghost")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(linkTarget(ghost), s.nameLink("ghost")); err != nil {
		t.Fatal(err)
	}
	if _, err := reserveNamed(t, s, "new", HostConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.nameLink("ghost"), s.joinLink(ghost)} {
		if got := linkOf(t, p); got != "" {
			t.Errorf("stale link %s -> %q was not swept", filepath.Base(p), got)
		}
	}
}

func TestRenameIndex(t *testing.T) {
	s, a := checkFixture(t)
	if _, err := s.Rename(a, "renamed"); err != nil {
		t.Fatal(err)
	}
	if got := linkOf(t, s.nameLink("ok")); got != "" {
		t.Errorf("the old name's link is still there: %q", got)
	}
	if got := linkOf(t, s.nameLink("renamed")); got != a.ID {
		t.Errorf(".names/renamed -> %q, want %s", got, a.ID)
	}
	if _, err := reserveNamed(t, s, "ok", HostConfig{}); err != nil {
		t.Errorf("the old name is not free: %v", err)
	}
}

func BenchmarkLoose(b *testing.B) {
	tmp := b.TempDir()
	s, err := OpenStore(Dirs{Root: filepath.Join(tmp, "root"), RunRoot: filepath.Join(tmp, "run")})
	if err != nil {
		b.Fatal(err)
	}
	for range 100 {
		c := &Container{State: State{Status: StatusExited}}
		if err := s.reserve(c); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, loose, err := s.loose(); err != nil || len(loose) != 0 {
			b.Fatal(err, len(loose))
		}
	}
}
