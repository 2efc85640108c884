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
		if err := s.feed(strings.NewReader("line\n"), nil); err != nil {
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

func TestEscape(t *testing.T) {
	keys := []byte{16, 17}
	for _, tc := range []struct {
		in, out, held string
		detached      bool
	}{
		{"abc", "abc", "", false},
		{"ab\x10\x11cd", "ab", "", true},
		{"ab\x10", "ab", "\x10", false},
		{"\x10x", "\x10x", "", false},
		{"\x10\x10\x11", "\x10", "", true},
	} {
		out, held, det := escape([]byte(tc.in), keys)
		if string(out) != tc.out || string(held) != tc.held || det != tc.detached {
			t.Errorf("escape(%q) = %q, %q, %v; want %q, %q, %v", tc.in, out, held, det, tc.out, tc.held, tc.detached)
		}
	}
}

func TestDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string
		ok   bool
	}{
		{"", "\x10\x11", true},
		{"ctrl-p,ctrl-q", "\x10\x11", true},
		{"ctrl-a,x", "\x01x", true},
		{"ctrl-@,ctrl-\\", "\x00\x1c", true},
		{"ctrl-1", "", false},
		{"ab", "", false},
	} {
		got, err := detachKeys(tc.spec)
		if (err == nil) != tc.ok || (tc.ok && string(got) != tc.want) {
			t.Errorf("detachKeys(%q) = %q, %v; want %q (ok %v)", tc.spec, got, err, tc.want, tc.ok)
		}
	}
}

// TestSessionDetach: a TTY client's detach keys end its feed, the bytes
// before them reach the container, the stdin stays open.
func TestSessionDetach(t *testing.T) {
	s, err := newSession(true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := s.feed(strings.NewReader("ls\x10\x11more"), defaultDetachKeys); err != errDetached {
		t.Fatalf("feed with the detach keys: %v, want errDetached", err)
	}
	buf := make([]byte, 16)
	n, _ := s.r.Read(buf)
	if string(buf[:n]) != "ls" {
		t.Errorf("the container read %q, want ls", buf[:n])
	}
	if s.w == nil {
		t.Errorf("detaching closed the container's stdin")
	}
}
