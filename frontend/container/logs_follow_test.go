package container

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the follower's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFollowCreated: a follower of a container not yet started makes its
// log and holds it, so that it reads the whole output even when the
// container's directory is gone (--rm) before it looks again; and Stop
// ends a follow of a container that never starts.
func TestFollowCreated(t *testing.T) {
	s, c := checkFixture(t)
	if err := s.Update(c, func(c *Container) { c.State.Status = StatusCreated }); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- s.Logs([]*Container{c}, LogOptions{Follow: true, Tail: -1}, &out, &errOut) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(c.LogPath()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the follower did not make the created container's log")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// What the monitor does: append the output, then (--rm) remove the
	// container with its log.
	f, err := os.OpenFile(c.LogPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	f.WriteString(ts + " stdout F to-out\n" + ts + " stderr F to-err\n")
	f.Close()
	if err := os.RemoveAll(c.Dir()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the follow did not end once the container was gone")
	}
	if out.String() != "to-out\n" || errOut.String() != "to-err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}

	c2 := addContainer(t, s, "never")
	if err := s.Update(c2, func(c *Container) { c.State.Status = StatusCreated }); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go func() {
		done <- s.Logs([]*Container{c2}, LogOptions{Follow: true, Tail: -1, Stop: stop}, &out, &errOut)
	}()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not end the follow")
	}
}
