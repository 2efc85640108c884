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

// TestFollowToTheExit: a follower ends only once the record says the
// container has exited, and then with every line its monitor wrote; the
// moment the monitor, a Go program, executes myctr-monitor (its first
// thread a zombie while another executes) is no end. The test steps the
// follower: each time it waits at the end of the log, the monitor's part
// is played.
func TestFollowToTheExit(t *testing.T) {
	s, c := checkFixture(t)
	monitor, start := startLeaderGone(t)
	if err := s.Update(c, func(c *Container) {
		c.State = State{Status: StatusRunning, MonitorPid: monitor.Process.Pid, MonitorStart: start}
	}); err != nil {
		t.Fatal(err)
	}
	write := func(text string) {
		f, err := os.OpenFile(c.LogPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(time.Now().UTC().Format(time.RFC3339Nano) + " stdout F " + text + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	write("before")
	idle, resume := make(chan struct{}), make(chan struct{})
	defer func(f func()) { followIdle = f }(followIdle)
	followIdle = func() { idle <- struct{}{}; <-resume }

	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- s.Logs([]*Container{c}, LogOptions{Follow: true, Tail: -1}, &out, &errOut) }()
	// The monitor, at each of the follower's waits: more output; then
	// the last output and the exit's record.
	steps := []func(){
		func() { write("running") },
		func() {
			write("last")
			if err := s.Update(c, func(c *Container) { c.State = State{Status: StatusExited} }); err != nil {
				t.Fatal(err)
			}
		},
	}
	for _, step := range steps {
		select {
		case <-idle:
		case err := <-done:
			t.Fatalf("the follow ended (%v) while the container's monitor lived; it read %q", err, out.String())
		}
		step()
		resume <- struct{}{}
	}
	select {
	case <-idle:
		t.Fatal("the follower waits on after the exit was recorded")
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, want := out.String(), "before\nrunning\nlast\n"; got != want {
		t.Errorf("followed %q, want %q", got, want)
	}
}
