package container

// The container half of `myctr system check`: records that cannot be
// read, temporaries of cut-short writes, run directories of containers
// that are gone, and containers whose layers are gone.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/protocol/atomicfile"
)

// Finding is one problem Check found, and what its repair did (the same
// shape as the image store's).
type Finding struct {
	Kind     string `json:"kind"`   // "container", "rundir" or "tmp"
	Object   string `json:"object"` // a container's name (short id when its record is lost), a path
	Problem  string `json:"problem"`
	Action   string `json:"action,omitempty"`
	Repaired bool   `json:"repaired"`
}

// checkGrace is how old a container's config.json must be missed, or a
// temporary be, before Check calls it damage: a create writes the record
// under the store's lock but the spec after it, and a write in flight
// has its temporary for a moment.
const checkGrace = time.Minute

// CheckOptions are Check's settings.
type CheckOptions struct {
	Repair bool
	Now    time.Time // zero: time.Now()
}

// Check walks the containers and the run root under the store's lock. It
// returns what it found and the containers whose records are whole. With
// Repair, a container whose record or spec cannot be read is removed
// (never a running one's, when its record says it runs), and so are
// temporaries and orphaned run directories.
func (s *Store) Check(o CheckOptions) ([]Finding, []*Container, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	unlock, err := s.Lock()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Finding
	var ctrs []*Container
	add := func(f Finding, repair func() error) {
		if o.Repair && repair != nil {
			if err := repair(); err != nil {
				f.Action = fmt.Sprintf("not removed: %v", err)
			} else {
				f.Action, f.Repaired = "removed", true
			}
		}
		out = append(out, f)
	}
	old := func(p string) bool {
		st, err := os.Lstat(p)
		return err == nil && o.Now.Sub(st.ModTime()) > checkGrace
	}
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(s.dir, name)
		if strings.HasPrefix(name, atomicfile.TempPrefix) && old(p) {
			add(Finding{Kind: "tmp", Object: p, Problem: "left by an interrupted write"}, func() error { return os.RemoveAll(p) })
		}
		if !e.IsDir() || !isID(name) {
			continue // .lock, and .rm- directories that rm (or its reaper) is deleting
		}
		c, problem := s.checkRecord(name)
		if problem != "" {
			id := name
			add(Finding{Kind: "container", Object: fmt.Sprintf("%.12s", id), Problem: problem},
				func() error { return s.removeBroken(id) })
			continue
		}
		for _, t := range tempFiles(c.dir) {
			if old(t) {
				add(Finding{Kind: "tmp", Object: t, Problem: "left by an interrupted write of " + c.Name + "'s state"},
					func() error { return os.Remove(t) })
			}
		}
		if problem := abandoned(c); problem != "" {
			id := c.ID
			add(Finding{Kind: "container", Object: c.Name, Problem: problem}, func() error { return s.removeBroken(id) })
			continue
		}
		if problem := specProblem(c); problem != "" && o.Now.Sub(c.Created) > checkGrace {
			var repair func() error
			if c.Running() {
				repair = func() error { return fmt.Errorf("%s is running (stop it and repair again)", c.Name) }
			} else {
				repair = func() error { return s.removeBroken(c.ID) }
			}
			add(Finding{Kind: "container", Object: c.Name, Problem: problem}, repair)
			continue
		}
		ctrs = append(ctrs, c)
	}
	runDirs := filepath.Join(s.Dirs.RunRoot, "containers")
	ents, err = os.ReadDir(runDirs)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("list run directories: %w", err)
	}
	for _, e := range ents {
		id := e.Name()
		if !isID(id) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(s.dir, id)); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(s.dir, ".rm-"+id)); err == nil {
			continue // rm is deleting it: it deletes the run directory next
		}
		p := filepath.Join(runDirs, id)
		add(Finding{Kind: "rundir", Object: p, Problem: "orphaned: no container " + fmt.Sprintf("%.12s", id) + " exists"},
			func() error { return nsexec.RemoveTree(p) })
	}
	return out, ctrs, nil
}

// checkRecord reads a container's record and says what is wrong with it.
func (s *Store) checkRecord(id string) (*Container, string) {
	b, err := os.ReadFile(filepath.Join(s.dir, id, "container.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Under the lock, a record is never missing from a directory:
		// reserve makes both at once, rm renames the directory away.
		return nil, "container.json is missing"
	case err != nil:
		return nil, fmt.Sprintf("container.json: %v", err)
	case cutShort(b):
		return nil, "container.json is empty (a write was cut short)"
	}
	var c Container
	if err := decodeRecord(b, &c); err != nil {
		return nil, fmt.Sprintf("container.json does not parse: %v", err)
	}
	if c.ID != id {
		return nil, fmt.Sprintf("container.json is of another container (%.12s)", c.ID)
	}
	c.dir = filepath.Join(s.dir, id)
	c.setRunDir(s.Dirs.RunRoot)
	return &c, ""
}

// abandoned says what a killed create or build left of c, "" if nothing:
// a spec never written, or a RUN step that will never run.
func abandoned(c *Container) string {
	if c.Creator == nil || !c.Creator.Gone() || c.Running() {
		return ""
	}
	if c.BuildStep {
		return "a RUN step of a build that is gone"
	}
	if p := specProblem(c); p != "" {
		return p + ", and the create that was writing it is gone"
	}
	return ""
}

// specProblem says what is wrong with c's config.json.
func specProblem(c *Container) string {
	b, err := os.ReadFile(c.File("config.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "config.json (its OCI spec) is missing"
	case err != nil:
		return fmt.Sprintf("config.json: %v", err)
	case len(bytes.TrimSpace(b)) == 0:
		return "config.json (its OCI spec) is empty (a write was cut short)"
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Sprintf("config.json does not parse: %v", err)
	}
	return ""
}

func tempFiles(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// removeBroken deletes a container whose record or spec is unreadable,
// and its run directory. Preconditions: the store's lock held.
func (s *Store) removeBroken(id string) error {
	gone := filepath.Join(s.dir, ".rm-"+id)
	if err := os.Rename(filepath.Join(s.dir, id), gone); err != nil {
		return err
	}
	s.unindex(id, "")
	if err := nsexec.RemoveTree(filepath.Join(s.Dirs.RunRoot, "containers", id)); err != nil {
		return err
	}
	return nsexec.RemoveTree(gone)
}

// ErrLayerGone is a layer of a container's image whose directory is no
// longer in the store (a disk fault, an interrupted clean-up).
var ErrLayerGone = errors.New("layer directory missing")

// checkLower refuses to start c when one of its image's layers is gone:
// the overlay mount would fail deep inside the init with ENOENT, naming
// nothing the user knows.
func checkLower(c *Container) error {
	for i, d := range c.Lower {
		if _, err := os.Stat(d); err != nil {
			// c.Lower is top layer first; layers count from the base.
			return &hintError{fmt.Errorf("container %s: %w: layer %d of %d (%.12s) of image %s: %s",
				c.Name, ErrLayerGone, len(c.Lower)-i, len(c.Lower), filepath.Base(d), c.ImageName, d),
				"run `myctr system check --repair`: it re-extracts the layer from its blob where that is intact; a container whose layers cannot come back is removed (make it again from its image)"}
		}
	}
	return nil
}

// CheckLayers reports the containers whose lower dirs are gone and, with
// repair, removes those that do not run. It returns notes on containers
// whose image is gone but whose layers are all here (they still run).
func (s *Store) CheckLayers(ctrs []*Container, imageExists func(id string) bool, repair bool) (findings []Finding, notes []string) {
	for _, c := range ctrs {
		var missing []string
		for _, d := range c.Lower {
			if _, err := os.Stat(d); err != nil {
				missing = append(missing, fmt.Sprintf("%.12s", filepath.Base(d)))
			}
		}
		imageGone := imageExists != nil && !imageExists(c.Image)
		if len(missing) == 0 {
			if imageGone {
				notes = append(notes, fmt.Sprintf("container %s: its image %.12s (%s) is gone; its layers are all here, so it still runs", c.Name, c.Image, c.ImageName))
			}
			continue
		}
		problem := fmt.Sprintf("%d of its %d layers are gone (%s) from image %s", len(missing), len(c.Lower), strings.Join(missing, ", "), c.ImageName)
		if imageGone {
			problem += ", which is gone too"
		}
		f := Finding{Kind: "container", Object: c.Name, Problem: problem}
		if repair {
			c.Refresh()
			if c.Running() {
				f.Action = "not removed: it is running (stop it and repair again)"
			} else if err := s.Remove(c, false); err != nil {
				f.Action = fmt.Sprintf("not removed: %v", err)
			} else {
				f.Action, f.Repaired = "removed", true
			}
		}
		findings = append(findings, f)
	}
	return findings, notes
}
