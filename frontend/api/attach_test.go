package api

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/container"
)

// TestIdleWhileHeld: the service does not count as idle while it holds a
// running container's stdin (its exit would end the container's input),
// but an attach waiting for a start holds nothing.
func TestIdleWhileHeld(t *testing.T) {
	s := New(&Backend{Version: "test"})
	s.lastDone = time.Now().Add(-time.Hour)
	c := &container.Container{ID: "abc"}
	waiting, err := s.sessions.forAttach(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.idleFor() < time.Hour-time.Minute {
		t.Errorf("idle %v with an attach waiting: want the hour since the last request", s.idleFor())
	}
	run, err := s.sessions.take(c)
	if err != nil {
		t.Fatal(err)
	}
	if run != waiting {
		t.Errorf("the start did not take the session its attach waits on")
	}
	if d := s.idleFor(); d != 0 {
		t.Errorf("idle %v while a run's stdin is held, want 0", d)
	}
	if s.sessions.running("abc") != run {
		t.Errorf("running session not found")
	}
	// A start while the last run's session is still held (a restart):
	// a new one.
	next, err := s.sessions.take(c)
	if err != nil {
		t.Fatal(err)
	}
	if next == run {
		t.Errorf("a second start took the first run's session")
	}
	s.sessions.drop("abc", run) // the first run's end forgets only its own
	if s.sessions.running("abc") != next {
		t.Errorf("the first run's end dropped the second's session")
	}
	s.sessions.drop("abc", next)
	if s.idleFor() < time.Hour-time.Minute {
		t.Errorf("idle %v after the runs ended", s.idleFor())
	}
}

// TestSessionFeed: a client's end of file closes the stdin of a container
// without a TTY (it reads its end), not a TTY container's.
func TestSessionFeed(t *testing.T) {
	for _, tty := range []bool{false, true} {
		s, err := newSession(tty)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.feed(strings.NewReader("line\n")); err != nil {
			t.Fatalf("feed: %v", err)
		}
		buf := make([]byte, 16)
		n, _ := s.r.Read(buf)
		if string(buf[:n]) != "line\n" {
			t.Errorf("tty=%v: the container read %q", tty, buf[:n])
		}
		done := make(chan error, 1)
		go func() {
			_, err := s.r.Read(buf)
			done <- err
		}()
		select {
		case err := <-done:
			if tty || err != io.EOF {
				t.Errorf("tty=%v: after the client's end the container's read gave %v", tty, err)
			}
		case <-time.After(200 * time.Millisecond):
			if !tty {
				t.Errorf("tty=false: no end of file for the container after the client's")
			}
		}
		s.close()
	}
}
