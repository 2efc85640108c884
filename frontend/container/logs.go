package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"
)

// LogOptions are `myctr logs` flags.
type LogOptions struct {
	Follow     bool
	Tail       int // < 0: all
	Since      time.Time
	Until      time.Time
	Timestamps bool
	// Names prefixes the lines of several containers with the
	// container's name rather than its short id (Podman's --names).
	Names bool
	// Stop, when closed, ends a Follow early (the API's client went
	// away); nil: only the containers' ends do. Journal logs do not
	// watch it.
	Stop <-chan struct{}
	// Opened, when set, is called once every log is open, before the
	// first line is written: from then on the output is read to its end
	// even when the containers are removed. The API answers then, for a
	// client that waits and removes the container once it has the answer
	// (docker-py's containers.run); an error before it is the request's.
	Opened func()
}

// logsPoll is how often a followed log is read again once at its end.
const logsPoll = 50 * time.Millisecond

// followIdle is a follower's wait at the end of its log before it looks
// again (a variable for the tests, which step the follower).
var followIdle = func() { time.Sleep(logsPoll) }

// Logs writes the logs of the containers cs, stdout lines to stdout and
// stderr lines to stderr. With more than one container each line starts
// with its container's short id (its name with o.Names) and a space, as
// Podman's: the lines already written come in the order of their times,
// and with Follow the new ones as they are written. With Follow it keeps
// reading until every container has exited and its monitor has written
// everything; a container removed once exited (--rm) is still read to the
// end of its log, which stays open.
func (s *Store) Logs(cs []*Container, o LogOptions, stdout, stderr io.Writer) error {
	var mu sync.Mutex
	emitter := func(c *Container) func(*LogLine) {
		prefix := ""
		if len(cs) > 1 {
			prefix = c.ID[:12] + " "
			if o.Names {
				prefix = c.Name + " "
			}
		}
		return func(l *LogLine) {
			if !o.Since.IsZero() && l.Time.Before(o.Since) {
				return
			}
			if !o.Until.IsZero() && l.Time.After(o.Until) {
				return
			}
			w := stdout
			if l.Stream == "stderr" {
				w = stderr
			}
			line := prefix
			if o.Timestamps {
				line += l.Time.Format(time.RFC3339Nano) + " "
			}
			line += l.Text
			if l.Full {
				line += "\n"
			}
			mu.Lock()
			io.WriteString(w, line)
			mu.Unlock()
		}
	}
	// The lines so far of every log are merged by time; with Follow, the
	// files' followers and the journal's own reader (journalctl -f, which
	// prints what is there first) then run side by side.
	type backlogLine struct {
		l    *LogLine
		emit func(*LogLine)
	}
	var backlog []backlogLine
	var later []func() error
	for _, c := range cs {
		emit := emitter(c)
		switch c.HostConfig.LogDriver {
		case LogJournald:
			if o.Follow {
				later = append(later, func() error { return s.journalLogs(c, o, emit) })
				continue
			}
			if err := s.journalLogs(c, o, func(l *LogLine) { backlog = append(backlog, backlogLine{l, emit}) }); err != nil {
				return err
			}
			continue
		case LogNone:
			// Podman's words, which scripts match on.
			return fmt.Errorf("this container is using the 'none' log driver, cannot read logs: %s was run with --log-driver none, its output was kept nowhere", c.Name)
		}
		t, err := s.openLogTail(c, o.Follow, o.Stop)
		if err != nil {
			return err
		}
		if t == nil {
			continue // no log, and nothing will write one
		}
		defer t.close()
		lines, err := t.backlog(!o.Follow)
		if err != nil {
			return err
		}
		if o.Tail >= 0 && len(lines) > o.Tail {
			lines = lines[len(lines)-o.Tail:]
		}
		for _, l := range lines {
			backlog = append(backlog, backlogLine{l, emit})
		}
		if o.Follow {
			later = append(later, func() error { return t.follow(emit) })
		}
	}
	if o.Opened != nil {
		o.Opened()
	}
	sort.SliceStable(backlog, func(i, j int) bool { return backlog[i].l.Time.Before(backlog[j].l.Time) })
	for _, b := range backlog {
		b.emit(b.l)
	}
	errs := make([]error, len(later))
	var wg sync.WaitGroup
	for i, f := range later {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// logTail reads a k8s-file log and follows it across the monitor's
// rotations (--log-opt max-size), which rename a new file over the old.
type logTail struct {
	s    *Store
	c    *Container
	path string
	f    *os.File
	lr   *logReader
	stop <-chan struct{} // LogOptions.Stop
}

// stopped reports whether the follower was told to stop.
func (t *logTail) stopped() bool {
	select {
	case <-t.stop:
		return true
	default:
		return false
	}
}

// openLogTail opens c's log. Without the file: nil, unless follow and the
// container may still write it, in which case it waits for the file.
func (s *Store) openLogTail(c *Container, follow bool, stop <-chan struct{}) (*logTail, error) {
	path := c.LogPath()
	f, err := os.Open(path)
	if follow && errors.Is(err, os.ErrNotExist) && c.State.Status == StatusCreated {
		// Made here, empty, for the monitor to append to (it opens the
		// log O_APPEND|O_CREATE): the follower of a container not yet
		// started (the API's attach before start) then holds the file
		// the output goes to, even when an --rm container's directory
		// is gone before the next look.
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	}
	for follow && errors.Is(err, os.ErrNotExist) {
		select {
		case <-stop:
			return nil, nil
		default:
		}
		if !s.stillRunning(c) {
			return nil, nil
		}
		time.Sleep(logsPoll)
		f, err = os.Open(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", c.Name, err)
	}
	return &logTail{s: s, c: c, path: path, f: f, lr: newLogReader(f), stop: stop}, nil
}

func (t *logTail) close() { t.f.Close() }

// backlog returns the complete lines written so far and, with flush, the
// last line even when unterminated.
func (t *logTail) backlog(flush bool) ([]*LogLine, error) {
	var lines []*LogLine
	err := t.each(func(l *LogLine) { lines = append(lines, l) })
	if flush {
		lines = append(lines, t.lr.flush()...)
	}
	return lines, err
}

// each passes every complete line up to the end of the file to emit.
func (t *logTail) each(emit func(*LogLine)) error {
	for {
		l, err := t.lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log of %s: %w", t.c.Name, err)
		}
		emit(l)
	}
}

// follow emits lines as they are written until the container has exited
// and its monitor has written everything.
func (t *logTail) follow(emit func(*LogLine)) error {
	for {
		running := t.s.stillRunning(t.c)
		if err := t.each(emit); err != nil {
			return err
		}
		rotated, err := t.rotated(emit)
		if err != nil {
			return err
		}
		if rotated {
			continue
		}
		if !running || t.stopped() {
			for _, l := range t.lr.flush() {
				emit(l)
			}
			return nil
		}
		followIdle()
	}
}

// rotated, at the end of the open file, reports whether another file now
// has its path and, if so, emits the rest of the old one and moves to the
// new. The monitor writes the old file's last records before it renames
// the new one over it, and rotates between records, never within one.
func (t *logTail) rotated(emit func(*LogLine)) (bool, error) {
	st, err := os.Stat(t.path)
	if err != nil {
		return false, nil // removed with its container (--rm): the open file is all
	}
	cur, err := t.f.Stat()
	if err != nil || os.SameFile(st, cur) {
		return false, nil
	}
	f, err := os.Open(t.path)
	if err != nil {
		return false, nil
	}
	if err := t.each(emit); err != nil {
		f.Close()
		return false, err
	}
	t.f.Close()
	t.f = f
	t.lr.reset(f)
	return true, nil
}

// stillRunning is true while the container runs or its monitor has not
// finished writing its log.
func (s *Store) stillRunning(c *Container) bool {
	cur, err := s.load(c.ID)
	if err != nil {
		return false
	}
	if cur.State.Status == StatusCreated {
		return true
	}
	cur.Refresh()
	return cur.State.Status == StatusRunning
}
