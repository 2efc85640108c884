package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LogOptions are `myctr logs` flags.
type LogOptions struct {
	Follow     bool
	Tail       int // < 0: all
	Since      time.Time
	Until      time.Time
	Timestamps bool
}

// Logs writes the container's log, stdout lines to stdout and stderr lines
// to stderr. With Follow it keeps reading until the container has exited
// and its monitor has written everything.
func (s *Store) Logs(c *Container, o LogOptions, stdout, stderr io.Writer) error {
	emit := func(l *LogLine) {
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
		line := l.Text
		if l.Full {
			line += "\n"
		}
		if o.Timestamps {
			line = l.Time.Format(time.RFC3339Nano) + " " + line
		}
		io.WriteString(w, line)
	}
	switch c.HostConfig.LogDriver {
	case LogJournald:
		return s.journalLogs(c, o, emit)
	case LogNone:
		// Podman's words, which scripts match on.
		return fmt.Errorf("this container is using the 'none' log driver, cannot read logs: %s was run with --log-driver none, its output was kept nowhere", c.Name)
	}
	f, err := os.Open(c.File("ctr.log"))
	if errors.Is(err, os.ErrNotExist) {
		if !o.Follow {
			return nil
		}
		for errors.Is(err, os.ErrNotExist) {
			if !s.stillRunning(c) {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
			f, err = os.Open(c.File("ctr.log"))
		}
	}
	if err != nil {
		return fmt.Errorf("open log of %s: %w", c.Name, err)
	}
	defer f.Close()
	lr := newLogReader(f)
	var lines []*LogLine
	for {
		l, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	if !o.Follow {
		lines = append(lines, lr.flush()...)
	}
	if o.Tail >= 0 && len(lines) > o.Tail {
		lines = lines[len(lines)-o.Tail:]
	}
	for _, l := range lines {
		emit(l)
	}
	if !o.Follow {
		return nil
	}
	for {
		running := s.stillRunning(c)
		for {
			l, err := lr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			emit(l)
		}
		if !running {
			for _, l := range lr.flush() {
				emit(l)
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
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
