package api

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/myctr/myctr/frontend/container"
)

// removeOnAnswer is a client that, once it has the answer's headers,
// waits for the container and removes it before it reads the stream, as
// docker-py's containers.run does; here, the exited container's
// directory goes at once.
type removeOnAnswer struct {
	*httptest.ResponseRecorder
	dir string
}

func (r *removeOnAnswer) WriteHeader(code int) {
	r.ResponseRecorder.WriteHeader(code)
	os.RemoveAll(r.dir)
}

// TestLogsFollowRemoved: a follow of an exited container's logs carries
// its whole output even when the client removes the container as soon as
// it has the answer's headers.
func TestLogsFollowRemoved(t *testing.T) {
	id := strings.Repeat("cd", 32)
	c := container.Container{ID: id, Name: "ended", State: container.State{Status: container.StatusExited}}
	store, dirs := storeWith(t, c)
	dir := dirs[0]
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	if err := os.WriteFile(filepath.Join(dir, "ctr.log"), []byte(ts+" stdout F hi-from-run\n"+ts+" stderr F err\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(&Backend{Version: "test", Containers: store})
	w := &removeOnAnswer{httptest.NewRecorder(), dir}
	s.ServeHTTP(w, httptest.NewRequest("GET", "/v1.41/containers/"+id+"/logs?follow=1&stdout=1&stderr=0", nil))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the container was not removed: %v", err)
	}
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, w.Body); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hi-from-run\n" || errOut.String() != "" {
		t.Errorf("stdout %q stderr %q, want the stdout line alone", out.String(), errOut.String())
	}
}
