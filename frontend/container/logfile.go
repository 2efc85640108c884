package container

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
)

// The log drivers, as Podman names them.
const (
	// LogFile: the log is in the CRI format that Podman's k8s-file
	// driver also writes: one line per record, "TIMESTAMP STREAM TAG
	// CONTENT", where TAG is F for a full line and P for a part of a line
	// that continues in the next record.
	LogFile = "k8s-file"
	// LogJournald: each line is a journal entry with the container's
	// fields (journal_linux.go).
	LogJournald = "journald"
	// LogNone: the output is kept nowhere.
	LogNone = "none"
)

// LogOpts are run's --log-opt settings, as Podman keeps them (its
// LogPath, LogSize and LogTag).
type LogOpts struct {
	// Path is the k8s-file log's file (absolute); "": ctr.log in the
	// container's directory.
	Path string `json:",omitempty"`
	// MaxSize bounds the k8s-file log, in bytes: a record that would
	// take it past this starts a new, empty file (conmon's
	// --log-size-max). 0: no bound.
	MaxSize int64 `json:",omitempty"`
	// Tag is the journald driver's SYSLOG_IDENTIFIER and CONTAINER_TAG.
	Tag string `json:",omitempty"`
	// Other are the options myctr does not know (Docker's max-file,
	// compose files' labels…): kept and shown by inspect, as Podman
	// keeps them, but not applied; the caller warns of each.
	Other map[string]string `json:",omitempty"`
}

// ParseLogOpts reads --log-opt's NAME=VALUE settings as Podman does:
// max-size is a size in decimal units (10m is 10,000,000 bytes), path a
// file (made absolute from the working directory), tag the journal's
// identifier. A name it does not know is kept in Other, as Podman keeps
// it, for the caller to warn that it is not applied; it still needs a
// value.
func ParseLogOpts(opts []string, driver string) (*LogOpts, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	o := &LogOpts{}
	for _, opt := range opts {
		name, value, ok := strings.Cut(opt, "=")
		if !ok {
			return nil, fmt.Errorf("%w %q: want NAME=VALUE", ErrInvalidLogOpt, opt)
		}
		switch strings.ToLower(name) {
		case "max-size":
			n, err := units.FromHumanSize(value)
			if err != nil {
				return nil, fmt.Errorf("%w max-size=%s: %w", ErrInvalidLogOpt, value, err)
			}
			o.MaxSize = n
		case "path":
			if value == "" {
				return nil, fmt.Errorf("%w path: the path is empty", ErrInvalidLogOpt)
			}
			p, err := filepath.Abs(value)
			if err != nil {
				return nil, fmt.Errorf("%w path=%s: %w", ErrInvalidLogOpt, value, err)
			}
			o.Path = p
		case "tag":
			if strings.Contains(value, "{{") {
				return nil, fmt.Errorf("%w tag=%s: myctr takes a plain tag, not a template", ErrInvalidLogOpt, value)
			}
			o.Tag = value
		default:
			if value == "" {
				return nil, fmt.Errorf("%w %q: the value is empty", ErrInvalidLogOpt, opt)
			}
			if o.Other == nil {
				o.Other = map[string]string{}
			}
			o.Other[name] = value
		}
	}
	if (o.MaxSize > 0 || o.Path != "") && driver != LogFile {
		return nil, fmt.Errorf("%w: max-size and path apply to the %s log driver, not %s", ErrInvalidLogOpt, LogFile, driver)
	}
	return o, nil
}

// logWriter is where a container's output is kept: a file, the journal,
// or nowhere.
type logWriter struct {
	mu      sync.Mutex
	f       *os.File
	journal *journalLog

	// path, maxSize and size: a file log that is started afresh when a
	// record would take it past maxSize bytes (--log-opt max-size), as
	// conmon's --log-size-max does; size is what the file holds.
	path    string
	maxSize int64
	size    int64
}

// openLog opens the file log at path for appending; maxSize > 0 bounds
// its size.
func openLog(path string, maxSize int64) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	w := &logWriter{f: f, path: path, maxSize: maxSize}
	if st, err := f.Stat(); err == nil {
		w.size = st.Size()
	}
	return w, nil
}

// rotate starts the log afresh, as conmon does: a new empty file renamed
// over the old one, so that a reader that holds the old file open reads it
// to its end and then finds the new one at the path (logs.go).
// Preconditions: w.mu is held.
func (w *logWriter) rotate() error {
	tmp := w.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	if err := os.Rename(tmp, w.path); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("rotate log: %w", err)
	}
	w.f.Close()
	w.f, w.size = f, 0
	return nil
}

// openLogOf opens the log of c's log driver.
func openLogOf(c *Container) (*logWriter, error) {
	switch c.HostConfig.LogDriver {
	case LogJournald:
		j, err := openJournal(c)
		if err != nil {
			return nil, err
		}
		return &logWriter{journal: j}, nil
	case LogNone:
		return &logWriter{}, nil
	}
	var maxSize int64
	if o := c.HostConfig.LogOpts; o != nil {
		maxSize = o.MaxSize
	}
	return openLog(c.LogPath(), maxSize)
}

// LogPath is the file of c's k8s-file log: --log-opt path, else ctr.log in
// its directory.
func (c *Container) LogPath() string {
	if o := c.HostConfig.LogOpts; o != nil && o.Path != "" {
		return o.Path
	}
	return c.File("ctr.log")
}

func (w *logWriter) Close() error {
	if w == nil {
		return nil
	}
	if w.journal != nil {
		w.journal.flush()
	}
	if w.f == nil {
		return nil
	}
	return w.f.Close()
}

// write records one chunk of a stream: every complete line as F, a
// trailing partial line as P, so `logs -f` sees output as it is written.
func (w *logWriter) write(stream string, p []byte) {
	if w.journal != nil {
		w.journal.write(stream, p)
		return
	}
	if w.f == nil {
		return
	}
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	var buf bytes.Buffer
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		tag, line := "P", p
		if i >= 0 {
			tag, line, p = "F", p[:i], p[i+1:]
		} else {
			p = nil
		}
		n := buf.Len()
		fmt.Fprintf(&buf, "%s %s %s %s\n", ts, stream, tag, line)
		if w.maxSize > 0 && w.size+int64(buf.Len()) > w.maxSize && w.size+int64(n) > 0 {
			// This record would take the file past its limit: what
			// comes before it goes to the old file, the record to a
			// new one. A record larger than the limit is still
			// written whole.
			rec := bytes.Clone(buf.Bytes()[n:])
			buf.Truncate(n)
			w.f.Write(buf.Bytes())
			if err := w.rotate(); err != nil {
				w.maxSize = 0 // keep writing the old file rather than lose output
			}
			buf.Reset()
			buf.Write(rec)
		}
	}
	w.f.Write(buf.Bytes())
	w.size += int64(buf.Len())
}

// pump copies a stream into the log and, when tee is not nil, to tee.
func (w *logWriter) pump(stream string, r io.Reader, tee io.Writer) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if tee != nil {
				tee.Write(buf[:n])
			}
			w.write(stream, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// LogLine is one complete line of the log.
type LogLine struct {
	Time   time.Time
	Stream string // stdout or stderr
	Text   string // without the newline; Partial says whether one followed
	Full   bool
}

// logReader parses records, joining P records into their line.
type logReader struct {
	r       *bufio.Reader
	pending map[string]*LogLine
	partial []byte
}

func newLogReader(r io.Reader) *logReader {
	return &logReader{r: bufio.NewReaderSize(r, 64*1024), pending: map[string]*LogLine{}}
}

// reset reads on from r (the next file of a rotated log), keeping the
// lines still pending.
func (lr *logReader) reset(r io.Reader) {
	lr.r.Reset(r)
	lr.partial = lr.partial[:0]
}

// next returns the next complete line; io.EOF when no complete record is
// left (a record still being written is kept for the next call).
func (lr *logReader) next() (*LogLine, error) {
	for {
		chunk, err := lr.r.ReadBytes('\n')
		lr.partial = append(lr.partial, chunk...)
		if err != nil {
			return nil, err
		}
		rec := string(lr.partial[:len(lr.partial)-1])
		lr.partial = lr.partial[:0]
		parts := strings.SplitN(rec, " ", 4)
		if len(parts) < 3 {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, parts[0])
		if err != nil {
			continue
		}
		text := ""
		if len(parts) == 4 {
			text = parts[3]
		}
		stream := parts[1]
		l := lr.pending[stream]
		if l == nil {
			l = &LogLine{Time: ts, Stream: stream}
		}
		l.Text += text
		if parts[2] == "P" {
			lr.pending[stream] = l
			continue
		}
		delete(lr.pending, stream)
		l.Full = true
		return l, nil
	}
}

// flush returns lines still pending (the container ended mid-line).
func (lr *logReader) flush() []*LogLine {
	var out []*LogLine
	for _, s := range []string{"stdout", "stderr"} {
		if l := lr.pending[s]; l != nil {
			out = append(out, l)
			delete(lr.pending, s)
		}
	}
	return out
}
