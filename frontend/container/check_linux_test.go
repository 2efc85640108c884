package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkFixture makes a container store with one whole container "ok",
// whose lower dir exists, and returns it.
func checkFixture(t *testing.T) (*Store, *Container) {
	t.Helper()
	tmp := t.TempDir()
	s, err := OpenStore(Dirs{Root: filepath.Join(tmp, "root"), RunRoot: filepath.Join(tmp, "run")})
	if err != nil {
		t.Fatal(err)
	}
	return s, addContainer(t, s, "ok")
}

func addContainer(t *testing.T, s *Store, name string) *Container {
	t.Helper()
	lower := filepath.Join(s.Dirs.Root, "layers", name)
	if err := os.MkdirAll(lower, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Container{Name: name, Image: strings.Repeat("1", 64), ImageName: "localhost/img:latest",
		Lower: []string{lower}, Created: time.Now().Add(-time.Hour), State: State{Status: StatusExited}}
	unlock, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	err = s.reserve(c)
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.File("config.json"), []byte(`{"ociVersion":"1.0.2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func findingFor(fs []Finding, kind, object string) *Finding {
	for i := range fs {
		if fs[i].Kind == kind && strings.Contains(fs[i].Object, object) {
			return &fs[i]
		}
	}
	return nil
}

func TestCheckContainers(t *testing.T) {
	later := time.Now().Add(2 * checkGrace)
	cases := []struct {
		name    string
		damage  func(t *testing.T, s *Store, c *Container) (kind, object, problem string)
		present bool // the container is still there after the repair
	}{
		{"container.json truncated", func(t *testing.T, s *Store, c *Container) (string, string, string) {
			must(t, os.Truncate(c.File("container.json"), 0))
			return "container", c.ID[:12], "empty"
		}, false},
		{"container.json of zeros", func(t *testing.T, s *Store, c *Container) (string, string, string) {
			// What ext4 without delayed allocation, or XFS, can leave of
			// a file whose size was written and its data not.
			must(t, os.WriteFile(c.File("container.json"), make([]byte, 300), 0o600))
			return "container", c.ID[:12], "empty"
		}, false},
		{"container.json half written", func(t *testing.T, s *Store, c *Container) (string, string, string) {
			must(t, os.Truncate(c.File("container.json"), 20))
			return "container", c.ID[:12], "does not parse"
		}, false},
		{"container.json missing", func(t *testing.T, s *Store, c *Container) (string, string, string) {
			must(t, os.Remove(c.File("container.json")))
			return "container", c.ID[:12], "missing"
		}, false},
		{"config.json missing", func(t *testing.T, s *Store, c *Container) (string, string, string) {
			must(t, os.Remove(c.File("config.json")))
			return "container", "bad", "config.json"
		}, false},
		{"temporary of a record write", func(t *testing.T, s *Store, c *Container) (string, string, string) {
			p := c.File(".tmp-container.json-123")
			must(t, os.WriteFile(p, []byte("{"), 0o600))
			return "tmp", p, "interrupted write"
		}, true},
		{"orphaned run dir", func(t *testing.T, s *Store, c *Container) (string, string, string) {
			p := filepath.Join(s.Dirs.RunRoot, "containers", strings.Repeat("9", 64))
			must(t, os.MkdirAll(filepath.Join(p, "userdata"), 0o700))
			return "rundir", p, "orphaned"
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := checkFixture(t)
			bad := addContainer(t, s, "bad")
			kind, object, problem := tc.damage(t, s, bad)

			fs, ctrs, err := s.Check(CheckOptions{Now: later})
			must(t, err)
			f := findingFor(fs, kind, object)
			if f == nil || !strings.Contains(f.Problem, problem) || f.Repaired {
				t.Fatalf("want an unrepaired %s finding on %s saying %q, got %+v", kind, object, problem, fs)
			}
			if len(fs) != 1 {
				t.Errorf("want one finding, got %+v", fs)
			}
			if !hasContainer(ctrs, ok.ID) {
				t.Error("the whole container is not listed as whole")
			}

			fs, _, err = s.Check(CheckOptions{Now: later, Repair: true})
			must(t, err)
			if len(fs) != 1 || !fs[0].Repaired {
				t.Fatalf("repair: %+v", fs)
			}
			fs, ctrs, err = s.Check(CheckOptions{Now: later})
			must(t, err)
			if len(fs) != 0 {
				t.Fatalf("a check after the repair finds %+v", fs)
			}
			if hasContainer(ctrs, bad.ID) != tc.present {
				t.Errorf("after the repair the damaged container is there: %v, want %v", !tc.present, tc.present)
			}
			if !hasContainer(ctrs, ok.ID) {
				t.Error("the repair removed the whole container")
			}
			if !tc.present {
				if _, err := os.Lstat(bad.Dir()); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the broken container's directory is still there: %v", err)
				}
			}
			if _, err := s.List(); err != nil {
				t.Errorf("List after the repair: %v", err)
			}
		})
	}
}

// A create in flight has its record before its spec: within the grace
// period, a missing config.json is not damage.
func TestCheckSpecGrace(t *testing.T) {
	s, c := checkFixture(t)
	must(t, os.Remove(c.File("config.json")))
	must(t, s.Update(c, func(c *Container) { c.Created = time.Now() }))
	fs, ctrs, err := s.Check(CheckOptions{})
	must(t, err)
	if len(fs) != 0 || len(ctrs) != 1 {
		t.Fatalf("a fresh container without its spec yet: findings %+v, %d containers", fs, len(ctrs))
	}
}

func TestCheckLayers(t *testing.T) {
	s, ok := checkFixture(t)
	gone := addContainer(t, s, "gone")
	must(t, os.RemoveAll(gone.Lower[0]))
	_, ctrs, err := s.Check(CheckOptions{})
	must(t, err)
	exists := func(id string) bool { return false }
	fs, notes := s.CheckLayers(ctrs, exists, false)
	if f := findingFor(fs, "container", "gone"); f == nil || len(fs) != 1 || !strings.Contains(f.Problem, "gone") {
		t.Fatalf("want one finding on container gone, got %+v", fs)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], ok.Name) {
		t.Errorf("want a note that ok's image is gone but its layers are here, got %q", notes)
	}
	fs, _ = s.CheckLayers(ctrs, exists, true)
	if len(fs) != 1 || !fs[0].Repaired {
		t.Fatalf("repair: %+v", fs)
	}
	_, ctrs, err = s.Check(CheckOptions{})
	must(t, err)
	if hasContainer(ctrs, gone.ID) || !hasContainer(ctrs, ok.ID) {
		t.Errorf("after the repair: %d containers, want only ok", len(ctrs))
	}
}

func hasContainer(ctrs []*Container, id string) bool {
	for _, c := range ctrs {
		if c.ID == id {
			return true
		}
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckAbandoned: what a killed create or build left is damage at
// once, without the grace a create in flight gets: a record without its
// spec whose creator is gone, and a build's step whose build is gone.
// The same with a live creator is work in progress.
func TestCheckAbandoned(t *testing.T) {
	gone := &Owner{Pid: os.Getpid(), Start: 1} // not this process's start: another one's
	cases := []struct {
		name    string
		creator *Owner
		step    bool
		spec    bool
		want    string // the problem found, "" for none
	}{
		{"spec missing, creator gone", gone, false, false, "the create that was writing it is gone"},
		{"spec missing, creator alive", self(), false, false, ""},
		{"whole, creator gone", gone, false, true, ""},
		{"build step, build gone", gone, true, true, "a RUN step of a build that is gone"},
		{"build step, build alive", self(), true, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := checkFixture(t)
			c := addContainer(t, s, "made")
			c.Created = time.Now()
			c.Creator, c.BuildStep = tc.creator, tc.step
			must(t, s.Save(c))
			if !tc.spec {
				must(t, os.Remove(c.File("config.json")))
			}
			fs, _, err := s.Check(CheckOptions{Repair: true})
			if err != nil {
				t.Fatal(err)
			}
			f := findingFor(fs, "container", "made")
			switch {
			case tc.want == "" && f != nil:
				t.Errorf("found %+v, want nothing", *f)
			case tc.want != "" && (f == nil || !strings.Contains(f.Problem, tc.want) || !f.Repaired):
				t.Errorf("found %+v, want %q repaired", f, tc.want)
			case tc.want != "":
				if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("after --repair, its directory: %v", err)
				}
			}
		})
	}
}

// TestCutShortRecord: an --rm container's record is written without fsync
// (Save), so a power cut can leave it empty or zeros. Such a record is no
// container: listings, lookups and a new container's name pass it by
// instead of failing, and `system check` still reports it (above).
func TestCutShortRecord(t *testing.T) {
	s, ok := checkFixture(t)
	for i, content := range [][]byte{nil, make([]byte, 512), []byte("\n")} {
		name := fmt.Sprintf("torn%d", i)
		c := addContainer(t, s, name)
		must(t, os.WriteFile(c.File("container.json"), content, 0o600))
		all, err := s.List()
		if err != nil {
			t.Fatalf("%q: List: %v", content, err)
		}
		if len(all) != 1 || all[0].ID != ok.ID {
			t.Fatalf("%q: List gives %d containers, want only %s", content, len(all), ok.Name)
		}
		if _, err := s.Lookup(c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%q: Lookup of the cut-short record: %v, want ErrNotFound", content, err)
		}
		again := &Container{Name: name, State: State{Status: StatusCreated}}
		unlock, err := s.Lock()
		must(t, err)
		err = s.reserve(again)
		unlock()
		if err != nil {
			t.Fatalf("%q: a new container named as the cut-short one: %v", content, err)
		}
		must(t, os.RemoveAll(again.Dir()))
	}
	// A record that says something is never taken for one cut short.
	if cutShort([]byte(`{"Id":""}`)) || cutShort([]byte{0, 'x'}) {
		t.Error("a record with content is taken for one cut short")
	}
}
