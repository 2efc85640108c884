package container

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"golang.org/x/sys/unix"
)

// journalLog writes a container's output to the journal (--log-driver
// journald), one entry per line, with the fields Podman gives them:
// CONTAINER_ID (12 hex digits), CONTAINER_ID_FULL, CONTAINER_NAME,
// CONTAINER_TAG and SYSLOG_IDENTIFIER (the name), IMAGE_NAME; PRIORITY 6
// for stdout and 3 for stderr, which is how `myctr logs` tells them apart.
type journalLog struct {
	mu      sync.Mutex
	fields  map[string]string
	partial map[string][]byte
}

// journalLineMax is how much of a line without its end is kept before it is
// written as an entry of its own (CONTAINER_PARTIAL_MESSAGE=true).
const journalLineMax = 16 * 1024

// ErrNoJournal is a journald log driver on a host without journald.
var ErrNoJournal = errors.New("--log-driver journald: the journal's socket (/run/systemd/journal/socket) does not answer")

// JournalAvailable reports whether journald answers on its socket.
func JournalAvailable() bool { return journal.Enabled() }

func openJournal(c *Container) (*journalLog, error) {
	if !journal.Enabled() {
		return nil, ErrNoJournal
	}
	tag := c.Name
	if o := c.HostConfig.LogOpts; o != nil && o.Tag != "" {
		tag = o.Tag
	}
	return &journalLog{
		fields: map[string]string{
			"CONTAINER_ID": c.ID[:12], "CONTAINER_ID_FULL": c.ID, "CONTAINER_NAME": c.Name,
			"CONTAINER_TAG": tag, "SYSLOG_IDENTIFIER": tag, "IMAGE_NAME": c.ImageName,
		},
		partial: map[string][]byte{},
	}, nil
}

func (j *journalLog) write(stream string, p []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	buf := append(j.partial[stream], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		j.send(stream, buf[:i], false)
		buf = buf[i+1:]
	}
	for len(buf) >= journalLineMax {
		j.send(stream, buf[:journalLineMax], true)
		buf = buf[journalLineMax:]
	}
	j.partial[stream] = append([]byte(nil), buf...)
}

// flush writes what is left of unfinished lines.
func (j *journalLog) flush() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for stream, buf := range j.partial {
		if len(buf) > 0 {
			j.send(stream, buf, true)
		}
		delete(j.partial, stream)
	}
}

func (j *journalLog) send(stream string, line []byte, partial bool) {
	pri := journal.PriInfo
	if stream == "stderr" {
		pri = journal.PriErr
	}
	vars := j.fields
	if partial {
		vars = make(map[string]string, len(j.fields)+1)
		for k, v := range j.fields {
			vars[k] = v
		}
		vars["CONTAINER_PARTIAL_MESSAGE"] = "true"
	}
	_ = journal.Send(string(line), pri, vars) // a lost line must not stop the container's output
}

// journalEntry is one line of `journalctl -o json`.
type journalEntry struct {
	Message  json.RawMessage `json:"MESSAGE"`
	Priority string          `json:"PRIORITY"`
	Realtime string          `json:"__REALTIME_TIMESTAMP"`
	Partial  string          `json:"CONTAINER_PARTIAL_MESSAGE"`
}

// line turns an entry into a LogLine. journalctl gives MESSAGE as a
// string, or as an array of bytes when it is not valid UTF-8.
func (e *journalEntry) line() (*LogLine, error) {
	var text string
	if err := json.Unmarshal(e.Message, &text); err != nil {
		var b []byte
		var ints []int
		if err := json.Unmarshal(e.Message, &ints); err != nil {
			return nil, fmt.Errorf("journal entry: MESSAGE: %w", err)
		}
		for _, v := range ints {
			b = append(b, byte(v))
		}
		text = string(b)
	}
	usec, _ := strconv.ParseInt(e.Realtime, 10, 64)
	l := &LogLine{Time: time.UnixMicro(usec).UTC(), Stream: "stdout", Text: text, Full: e.Partial != "true"}
	if e.Priority == strconv.Itoa(int(journal.PriErr)) {
		l.Stream = "stderr"
	}
	return l, nil
}

// journalLogs reads a journald container's log back through journalctl
// (the journal files are journald's format, which journalctl reads for
// every systemd version): the entries with its CONTAINER_ID_FULL that this
// user may read.
func (s *Store) journalLogs(c *Container, o LogOptions, emit func(*LogLine)) error {
	journalctl, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("%s logs to the journal, and journalctl is not installed: %w", c.Name, err)
	}
	args := []string{"--no-pager", "-q", "-o", "json", "CONTAINER_ID_FULL=" + c.ID}
	if o.Tail >= 0 {
		args = append(args, "-n", strconv.Itoa(o.Tail))
	}
	if !o.Since.IsZero() {
		args = append(args, "--since", "@"+strconv.FormatFloat(float64(o.Since.UnixMicro())/1e6, 'f', 6, 64))
	}
	if o.Follow {
		args = append(args, "-f")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, journalctl, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(unix.SIGTERM) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	if o.Follow {
		// journalctl -f never ends by itself: once the container has
		// exited, give journald a moment for its last lines, then stop.
		go func() {
			for s.stillRunning(c) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
			time.Sleep(500 * time.Millisecond)
			cancel()
		}()
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var e journalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue
		}
		l, err := e.line()
		if err != nil {
			continue
		}
		emit(l)
	}
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("journalctl: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	// journalctl says nothing on stderr when the user may read no entry
	// at all, only "No journal files were opened" or a hint with -q off.
	if msg := bytes.TrimSpace(stderr.Bytes()); len(msg) > 0 && !o.Follow {
		fmt.Fprintf(os.Stderr, "Warning: journalctl: %s\n", msg)
	}
	return nil
}
