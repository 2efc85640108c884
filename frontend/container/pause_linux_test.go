package container

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/events"
)

// pauseStore is a store holding one container record with state st.
func pauseStore(t *testing.T, st State) (*Store, string) {
	t.Helper()
	tmp := t.TempDir()
	s, err := OpenStore(Dirs{Root: filepath.Join(tmp, "root"), RunRoot: filepath.Join(tmp, "run")})
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("cd", 32)
	c := Container{ID: id, Name: "ctr", State: st}
	b, _ := json.Marshal(&c)
	dir := filepath.Join(tmp, "root", "containers", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "container.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return s, id
}

// fakeCgroup is a directory standing in for a container's cgroup, whose
// cgroup.events already says what the freezer will report, and its
// placement (a path below the cgroup mount that leads there).
func fakeCgroup(t *testing.T, freeze, frozen string) (*cgroup.Placement, string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte(freeze+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen "+frozen+"\n"), 0o644)
	rel, err := filepath.Rel(cgroup.MountPoint, dir)
	if err != nil {
		t.Fatal(err)
	}
	return &cgroup.Placement{Manager: cgroup.SourceUser, Path: rel}, dir
}

// alive state: this test process stands in for the container's init.
func runningState(t *testing.T) State {
	t.Helper()
	start, err := procStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return State{Status: StatusRunning, Pid: os.Getpid(), PidStart: start}
}

func eventStatuses(t *testing.T, s *Store) []string {
	t.Helper()
	b, _ := os.ReadFile(events.Path(s.Dirs.RunRoot))
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e events.Event
		if json.Unmarshal([]byte(l), &e) == nil {
			out = append(out, e.Status)
		}
	}
	return out
}

func TestPauseUnpause(t *testing.T) {
	st := runningState(t)
	p, dir := fakeCgroup(t, "0", "1") // the kernel reports frozen once asked
	st.Cgroup = p
	s, id := pauseStore(t, st)
	c, err := s.load(id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Paused() || c.StatusWord() != StatusRunning {
		t.Fatalf("before pause: Paused %v, StatusWord %q", c.Paused(), c.StatusWord())
	}
	if err := s.Unpause(c); !errors.Is(err, ErrStateImproper) || !strings.Contains(err.Error(), "is not paused, can't unpause") {
		t.Errorf("unpause of a running container: %v", err)
	}
	if err := s.Pause(c); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("cgroup.freeze after pause: %q", b)
	}
	c, _ = s.load(id)
	if !c.Paused() || c.StatusWord() != StatusPaused || c.State.Status != StatusRunning || !c.Running() {
		t.Errorf("after pause: Paused %v, StatusWord %q, Status %q, Running %v", c.Paused(), c.StatusWord(), c.State.Status, c.Running())
	}
	if err := s.Pause(c); !errors.Is(err, ErrStateImproper) || !strings.Contains(err.Error(), "is already paused") {
		t.Errorf("pause of a paused container: %v", err)
	}
	for _, verb := range []string{"start", "exec"} {
		if err := RefusePaused(c, verb); !errors.Is(err, ErrStateImproper) {
			t.Errorf("%s of a paused container: %v", verb, err)
		}
	}
	if _, err := s.Exec(c, &ExecOptions{Args: []string{"true"}}); !errors.Is(err, ErrStateImproper) {
		t.Errorf("Exec of a paused container: %v", err)
	}

	os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644)
	if err := s.Unpause(c); err != nil {
		t.Fatalf("unpause: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze")); strings.TrimSpace(string(b)) != "0" {
		t.Errorf("cgroup.freeze after unpause: %q", b)
	}
	c, _ = s.load(id)
	if c.Paused() || c.StatusWord() != StatusRunning || RefusePaused(c, "exec") != nil {
		t.Errorf("after unpause: Paused %v, StatusWord %q", c.Paused(), c.StatusWord())
	}
	if got := strings.Join(eventStatuses(t, s), " "); got != "pause unpause" {
		t.Errorf("events %q, want \"pause unpause\"", got)
	}

	// Paused again, then the exit: the record is no longer paused.
	os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 1\n"), 0o644)
	if err := s.Pause(c); err != nil {
		t.Fatal(err)
	}
	if err := s.markExited(c, 137, ""); err != nil {
		t.Fatal(err)
	}
	c, _ = s.load(id)
	if c.Paused() || c.State.Paused || c.StatusWord() != StatusExited {
		t.Errorf("after the exit of a paused container: Paused %v, StatusWord %q", c.State.Paused, c.StatusWord())
	}
}

func TestPauseRefused(t *testing.T) {
	t.Run("exited", func(t *testing.T) {
		s, id := pauseStore(t, State{Status: StatusExited})
		c, _ := s.load(id)
		if err := s.Pause(c); !errors.Is(err, ErrStateImproper) || !strings.Contains(err.Error(), `"exited" is not running, can't pause`) {
			t.Errorf("pause of an exited container: %v", err)
		}
		if err := s.Unpause(c); !errors.Is(err, ErrStateImproper) {
			t.Errorf("unpause of an exited container: %v", err)
		}
	})
	t.Run("paused record of a dead init", func(t *testing.T) {
		// The monitor is gone too: Refresh makes it exited, not paused.
		s, id := pauseStore(t, State{Status: StatusRunning, Pid: 1 << 30, Paused: true})
		c, _ := s.load(id)
		if err := s.Unpause(c); !errors.Is(err, ErrStateImproper) {
			t.Errorf("unpause of a dead container: %v", err)
		}
	})
	t.Run("no cgroup", func(t *testing.T) {
		s, id := pauseStore(t, runningState(t))
		c, _ := s.load(id)
		err := s.Pause(c)
		var h Hinter
		if !errors.Is(err, ErrNoCgroup) || !errors.As(err, &h) || !strings.Contains(h.Hint(), "own cgroup") {
			t.Fatalf("pause without a cgroup: %v", err)
		}
		c, _ = s.load(id)
		if c.Paused() || c.StatusWord() != StatusRunning {
			t.Errorf("after a refused pause: Paused %v, StatusWord %q", c.Paused(), c.StatusWord())
		}
		if len(eventStatuses(t, s)) != 0 {
			t.Errorf("a refused pause recorded events: %q", eventStatuses(t, s))
		}
	})
	t.Run("the kernel does not freeze", func(t *testing.T) {
		st := runningState(t)
		p, dir := fakeCgroup(t, "0", "0") // never reports frozen
		st.Cgroup = p
		s, id := pauseStore(t, st)
		old := cgroup.FreezeTimeout
		cgroup.FreezeTimeout = 100 * time.Millisecond
		t.Cleanup(func() { cgroup.FreezeTimeout = old })
		c, _ := s.load(id)
		if err := s.Pause(c); err == nil {
			t.Fatal("pause succeeded without the kernel's frozen 1")
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze")); strings.TrimSpace(string(b)) != "0" {
			t.Errorf("cgroup.freeze after a failed pause: %q, want 0 (thawed back)", b)
		}
		c, _ = s.load(id)
		if c.Paused() {
			t.Error("recorded paused after a failed freeze")
		}
	})
}
