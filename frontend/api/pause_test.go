package api

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/nsexec"
)

// TestPauseEndpoints drives /pause and /unpause through the server over a
// store holding an exited container, a running one without a cgroup of
// its own and a running one whose cgroup is a directory standing in for
// cgroupfs (its cgroup.events already says what the kernel would). This
// test process stands in for the running containers' inits.
func TestPauseEndpoints(t *testing.T) {
	_, start, err := nsexec.ProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	cg := t.TempDir()
	os.WriteFile(filepath.Join(cg, "cgroup.freeze"), []byte("0\n"), 0o644)
	os.WriteFile(filepath.Join(cg, "cgroup.events"), []byte("populated 1\nfrozen 1\n"), 0o644)
	rel, _ := filepath.Rel(cgroup.MountPoint, cg)
	alive := container.State{Status: container.StatusRunning, Pid: os.Getpid(), PidStart: start}
	withCgroup := alive
	withCgroup.Cgroup = &cgroup.Placement{Manager: cgroup.SourceUser, Path: rel}
	cs := []container.Container{
		{Name: "stopped", State: container.State{Status: container.StatusExited}},
		{Name: "nocgroup", State: alive},
		{Name: "frozen", State: withCgroup},
	}
	for i := range cs {
		cs[i].ID = strings.Repeat(string(rune('a'+i)), 64)
	}
	store, _ := storeWith(t, cs...)
	s := New(&Backend{Version: "test", Containers: store})
	for _, tc := range []struct {
		path string
		code int
		want string // in the body
	}{
		{"/containers/nosuch/pause", 404, "No such container: nosuch"},
		{"/containers/nosuch/unpause", 404, "No such container: nosuch"},
		{"/v1.41/containers/stopped/pause", 409, "is not running, can't pause"},
		{"/v1.41/containers/stopped/unpause", 409, "is not paused, can't unpause"},
		{"/v1.41/containers/nocgroup/pause", 500, "has no cgroup of its own"},
		{"/v1.41/containers/frozen/unpause", 409, "is not paused"},
		{"/v1.41/containers/frozen/pause", 204, ""},
		{"/v1.41/containers/frozen/pause", 409, "is already paused"},
		{"/v1.41/containers/frozen/start", 409, "cannot start paused container"},
		{"/v1.41/containers/frozen/exec", 409, "is paused"},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", tc.path, strings.NewReader(`{"Cmd":["true"]}`)))
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("POST %s: %d %q, want %d with %q", tc.path, w.Code, w.Body.String(), tc.code, tc.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(cg, "cgroup.freeze")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("cgroup.freeze after pause: %q", b)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/containers/json?filters="+`{"status":["paused"]}`, nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"State":"paused"`) || !strings.Contains(w.Body.String(), "(Paused)") ||
		strings.Contains(w.Body.String(), "nocgroup") {
		t.Errorf("list of paused containers: %d %s", w.Code, w.Body.String())
	}

	os.WriteFile(filepath.Join(cg, "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("POST", "/containers/frozen/unpause", nil))
	if w.Code != 204 {
		t.Errorf("unpause: %d %s", w.Code, w.Body.String())
	}
	if b, _ := os.ReadFile(filepath.Join(cg, "cgroup.freeze")); strings.TrimSpace(string(b)) != "0" {
		t.Errorf("cgroup.freeze after unpause: %q", b)
	}
}
