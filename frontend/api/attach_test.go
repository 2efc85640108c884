package api

import (
	"io"
	"strings"
	"testing"
	"time"
)

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
