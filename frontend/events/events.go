// Package events is myctr's record of what happens to its containers,
// pods, images and volumes (`myctr events`), kept as Podman's "file"
// events backend keeps it: one JSON object a line in
// RUNROOT/events/events.log, which goes with the run root (a reboot),
// as Podman's does, or in containers.conf's events_logfile_path.
//
// Every writer appends a whole line in one write(2) under the log's
// lock, so readers, which take no lock, see whole lines; a reader
// skips a line it cannot decode (a crash mid-write). When a write would
// take the log past its limit (MaxSize, or containers.conf's
// events_logfile_max_size; 0 is none), the log is rotated as Podman
// rotates it: what follows the first line end past its middle is kept
// (atomicfile, under the lock), and a "log-rotation" event of type
// system, naming the log, comes before the new line.
//
// Recording is best effort: an event that cannot be written never fails
// the action it records. --events-backend=none (EnvBackend, so that the
// detached monitors the command starts honour it too) records nothing.
package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// The types of object, and what happened to them (Podman's words).
const (
	TypeContainer = "container"
	TypeImage     = "image"
	TypePod       = "pod"
	TypeVolume    = "volume"
	TypeSystem    = "system" // the log's own rotation
)

// Backends, as --events-backend names them.
const (
	BackendFile     = "file"
	BackendNone     = "none"
	BackendJournald = "journald"
)

// EnvBackend carries --events-backend to the processes a command starts.
const EnvBackend = "MYCTR_EVENTS_BACKEND"

// MaxSize is the size past which the older half of the log is dropped:
// Podman's default events_logfile_max_size, 1 MB.
const MaxSize = 1_000_000

// maxSize is MaxSize, smaller in tests.
var maxSize int64 = MaxSize

// ErrNoEvents is a read with the none backend.
var ErrNoEvents = errors.New(`cannot read events with the "none" backend`)

// Event is one line of the log, in the fields of Podman's events.
type Event struct {
	ID     string `json:"ID,omitempty"`
	Image  string `json:"Image,omitempty"`
	Name   string `json:"Name,omitempty"`
	Status string
	Time   time.Time
	Type   string
	// ContainerExitCode is a died container's exit code.
	ContainerExitCode *int              `json:"ContainerExitCode,omitempty"`
	Attributes        map[string]string `json:"Attributes,omitempty"`
}

// Settings are containers.conf's for the log: events_logfile_path ("":
// the run root's) and events_logfile_max_size (when MaxSizeSet; 0: no
// limit).
type Settings struct {
	Path       string
	MaxSize    int64
	MaxSizeSet bool
}

// Configure gives the function that reads the Settings, which the first
// event read or recorded in the process calls (once); without it, or when
// it fails, the defaults hold. The binary sets it before anything records,
// so that its stages (the monitors) log where its commands do.
func Configure(f func() (Settings, error)) { configure = f }

var configure func() (Settings, error)

var settings = sync.OnceValue(func() Settings {
	if configure == nil {
		return Settings{}
	}
	s, err := configure()
	if err != nil {
		return Settings{}
	}
	return s
})

// Path is the log of the run root runRoot: containers.conf's
// events_logfile_path when it is set.
func Path(runRoot string) string {
	if p := settings().Path; p != "" {
		return p
	}
	return filepath.Join(runRoot, "events", "events.log")
}

// limit is the size past which the log is rotated; 0: never.
func limit() int64 {
	if s := settings(); s.MaxSizeSet {
		return s.MaxSize
	}
	return maxSize
}

// Enabled says whether events are recorded (not --events-backend=none).
func Enabled() bool { return os.Getenv(EnvBackend) != BackendNone }

// Record appends e to the log of runRoot, stamped now unless it has a
// time; it does nothing with the none backend.
func Record(runRoot string, e Event) error {
	if !Enabled() {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	path := Path(runRoot)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	l, err := flock.Acquire(path+".lock", 0o600, flock.Exclusive)
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	defer l.Close()
	if st, err := os.Stat(path); err == nil && limit() > 0 && st.Size()+int64(len(line)) > limit() {
		if err := rotate(path); err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		r, err := json.Marshal(Event{Name: path, Status: "log-rotation", Time: e.Time, Type: TypeSystem}) // the log stays in order
		if err != nil {
			return err
		}
		line = append(append(r, '\n'), line...)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}

// rotate keeps what follows the first line end past the middle of the
// log, as Podman's rotation does.
// Preconditions: the log's lock is held.
func rotate(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var keep []byte
	if i := bytes.IndexByte(b[len(b)/2:], '\n'); i >= 0 {
		keep = b[len(b)/2+i+1:]
	}
	return atomicfile.WriteFile(path, keep, 0o600)
}

// ReadOptions say which events Read gives.
type ReadOptions struct {
	Since, Until time.Time // zero: no bound
	// Stream: after the recorded events, wait for new ones until ctx
	// ends (or, with Until, until then).
	Stream bool
	Match  func(Event) bool // nil: every event
}

// pollInterval is how often a stream looks for new lines.
const pollInterval = 100 * time.Millisecond

// Read calls f with each event of runRoot's log that o selects, oldest
// first.
func Read(ctx context.Context, runRoot string, o ReadOptions, f func(Event) error) error {
	if !Enabled() {
		return ErrNoEvents
	}
	file, err := os.Open(Path(runRoot))
	if errors.Is(err, fs.ErrNotExist) && o.Stream {
		// Nothing recorded yet: wait for the first event.
		file, err = waitForLog(ctx, Path(runRoot), o.Until)
		if file == nil && err == nil {
			return nil
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer file.Close()
	r := bufio.NewReader(file)
	var partial []byte
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if !o.Stream || (!o.Until.IsZero() && time.Now().After(o.Until)) {
				return nil
			}
			// A line being written: keep its start for the next read.
			partial = append(partial, line...)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(pollInterval):
			}
			if rotated(file, Path(runRoot)) {
				// Rotated: go on in the new file, from its start.
				file.Close()
				if file, err = os.Open(Path(runRoot)); err != nil {
					return fmt.Errorf("read events: %w", err)
				}
				r.Reset(file)
				partial = nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		line = append(partial, line...)
		partial = nil
		var e Event
		if json.Unmarshal(line, &e) != nil {
			continue // a torn line
		}
		if (!o.Since.IsZero() && e.Time.Before(o.Since)) || (o.Match != nil && !o.Match(e)) {
			continue
		}
		if !o.Until.IsZero() && e.Time.After(o.Until) {
			if o.Stream {
				continue
			}
			return nil
		}
		if err := f(e); err != nil {
			return err
		}
	}
}

// rotated says whether the log at path is no longer the file f.
func rotated(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && !os.SameFile(a, b)
}

// waitForLog waits for the log to be made; nil when ctx ends (or until
// passes) first.
func waitForLog(ctx context.Context, path string, until time.Time) (*os.File, error) {
	for {
		f, err := os.Open(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		if !until.IsZero() && time.Now().After(until) {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(pollInterval):
		}
	}
}
