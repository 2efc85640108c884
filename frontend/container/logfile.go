package container

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
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

// logWriter is where a container's output is kept: a file, the journal,
// or nowhere.
type logWriter struct {
	mu      sync.Mutex
	f       *os.File
	journal *journalLog
}

func openLog(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logWriter{f: f}, nil
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
	return openLog(c.File("ctr.log"))
}

func (w *logWriter) Close() error {
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
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		tag, line := "P", p
		if i >= 0 {
			tag, line, p = "F", p[:i], p[i+1:]
		} else {
			p = nil
		}
		fmt.Fprintf(&buf, "%s %s %s %s\n", ts, stream, tag, line)
	}
	w.mu.Lock()
	w.f.Write(buf.Bytes())
	w.mu.Unlock()
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
