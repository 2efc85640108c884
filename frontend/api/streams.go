package api

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/myctr/myctr/frontend/container"
)

// frameWriter writes each Write as one frame of Docker's multiplexed
// stream: a byte naming the stream, three zero bytes, the length (big
// endian, 4 bytes), then the data. The API publishes the reader
// (stdcopy.StdCopy) but not the writer.
type frameWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	stream stdcopy.StdType
	flush  func()
}

func (f *frameWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var hdr [8]byte
	hdr[0] = byte(f.stream)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.w.Write(hdr[:]); err != nil {
		return 0, err
	}
	n, err := f.w.Write(p)
	if err == nil && f.flush != nil {
		f.flush()
	}
	return n, err
}

// rawWriter is a TTY container's stream: the bytes as they are.
type rawWriter struct {
	mu    *sync.Mutex
	w     io.Writer
	flush func()
}

func (r *rawWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.w.Write(p)
	if err == nil && r.flush != nil {
		r.flush()
	}
	return n, err
}

// outputs are the writers of c's stdout and stderr over w: frames, or
// raw for a TTY container; a stream not asked for goes nowhere.
func outputs(c *container.Container, w io.Writer, flush func(), wantOut, wantErr bool) (stdout, stderr io.Writer) {
	mu := &sync.Mutex{}
	if c.HostConfig.Tty {
		raw := &rawWriter{mu: mu, w: w, flush: flush}
		stdout, stderr = raw, raw
	} else {
		stdout = &frameWriter{mu: mu, w: w, stream: stdcopy.Stdout, flush: flush}
		stderr = &frameWriter{mu: mu, w: w, stream: stdcopy.Stderr, flush: flush}
	}
	if !wantOut {
		stdout = io.Discard
	}
	if !wantErr {
		stderr = io.Discard
	}
	return stdout, stderr
}

// logOptions reads logs' query: follow, tail (N or all), timestamps,
// since and until (Unix seconds).
func logOptions(r *http.Request) (container.LogOptions, error) {
	o := container.LogOptions{Tail: -1}
	var err error
	if o.Follow, err = boolParam(r, "follow"); err != nil {
		return o, err
	}
	if o.Timestamps, err = boolParam(r, "timestamps"); err != nil {
		return o, err
	}
	if t := r.URL.Query().Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return o, badRequest("invalid tail=%q: want a number or all", t)
		}
		o.Tail = n
	}
	for name, dst := range map[string]*time.Time{"since": &o.Since, "until": &o.Until} {
		v := r.URL.Query().Get(name)
		if v == "" || v == "0" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return o, badRequest("invalid %s=%q: want Unix seconds", name, v)
		}
		sec := int64(f)
		*dst = time.Unix(sec, int64((f-float64(sec))*1e9))
	}
	return o, nil
}

func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	o, err := logOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	wantOut, _ := boolParam(r, "stdout")
	wantErr, _ := boolParam(r, "stderr")
	if !wantOut && !wantErr {
		writeError(w, badRequest("you must choose at least one stream"))
		return
	}
	o.Stop = r.Context().Done()
	ct := "application/vnd.docker.multiplexed-stream"
	if c.HostConfig.Tty {
		ct = "application/vnd.docker.raw-stream"
	}
	flush := func() {}
	if f, ok := w.(http.Flusher); ok {
		flush = f.Flush
	}
	// The answer goes once the log is open, not before: a client that
	// has it may wait for the container and remove it (docker-py's
	// containers.run does, and reads the stream only then), which takes
	// the log's file away from a follower yet to open it.
	answered := false
	o.Opened = func() {
		answered = true
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusOK)
		flush()
	}
	stdout, stderr := outputs(c, w, flush, wantOut, wantErr)
	if err := s.b.Containers.Logs([]*container.Container{c}, o, stdout, stderr); err != nil {
		if !answered {
			writeError(w, err)
			return
		}
		// The headers are gone: the error goes in the stream.
		fmt.Fprintf(stderr, "Error: %v\n", err)
	}
}

// containerAttach serves POST /containers/{id}/attach: the connection is
// hijacked and carries the container's output from now on (all of it for
// a container not yet started, which is how `docker run` attaches before
// it starts), until the container ends. With stdin=1, what the client
// sends goes to the stdin of an interactive container, which the service
// holds (attach.go).
func (s *Server) containerAttach(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	q := map[string]bool{}
	for _, k := range []string{"stream", "stdout", "stderr", "stdin", "logs"} {
		if q[k], err = boolParam(r, k); err != nil {
			writeError(w, err)
			return
		}
	}
	if !q["stream"] && !q["logs"] {
		writeError(w, badRequest("attach needs stream=1 or logs=1"))
		return
	}
	// Docker carries stdin only to a container made with it open (-i).
	var sess *session
	keys, err := detachKeys(r.URL.Query().Get("detachKeys"))
	if err != nil {
		writeError(w, err)
		return
	}
	if q["stdin"] && q["stream"] && c.HostConfig.Interactive {
		if sess, err = s.stdinOf(c); err != nil {
			writeError(w, err)
			return
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, errors.New("this connection cannot be hijacked"))
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		writeError(w, err)
		return
	}
	defer conn.Close()
	if err := upgradeReply(buf.Writer, r, "application/vnd.docker.raw-stream"); err != nil {
		return
	}
	o := container.LogOptions{Tail: 0, Follow: q["stream"]}
	if q["logs"] || c.State.Status == container.StatusCreated {
		o.Tail = -1
	}
	stop := &stopper{ch: make(chan struct{})}
	if sess != nil {
		go func() {
			if sess.feed(buf.Reader, keys) != nil {
				stop.stop()
			}
		}()
	} else {
		go watchClosed(buf.Reader, stop)
	}
	o.Stop = stop.ch
	out := &stopOnError{w: conn, stop: stop}
	stdout, stderr := outputs(c, out, nil, q["stdout"], q["stderr"])
	_ = s.b.Containers.Logs([]*container.Container{c}, o, stdout, stderr)
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// stdinOf is the session whose stdin an attach to c writes into: the run
// that is to start, or the one running, when the service started it.
func (s *Server) stdinOf(c *container.Container) (*session, error) {
	if !c.Running() {
		return s.sessions.forAttach(c)
	}
	if sess := s.sessions.running(c.ID); sess != nil {
		return sess, nil
	}
	return nil, withStatus(http.StatusConflict, fmt.Errorf("the stdin of container %s is not held by this service (it was started by myctr itself, or before the service): attach without stdin, or start it through the service", c.Name))
}

// upgradeReply is a hijacked stream's answer before the stream (attach,
// exec start): Docker's 101 UPGRADED to a client that asked for
// `Upgrade: tcp`, else 200, with the stream's content type.
func upgradeReply(w *bufio.Writer, r *http.Request, contentType string) error {
	if r.Header.Get("Upgrade") == "tcp" {
		fmt.Fprintf(w, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", contentType)
	} else {
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", contentType)
	}
	return w.Flush()
}

// stopper ends an attach's follow once.
type stopper struct {
	once sync.Once
	ch   chan struct{}
}

func (s *stopper) stop() { s.once.Do(func() { close(s.ch) }) }

// stopOnError is the hijacked connection's writer: a write that fails
// means the client went away, and ends the follow.
type stopOnError struct {
	w    io.Writer
	stop *stopper
}

func (s *stopOnError) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		s.stop.stop()
	}
	return n, err
}

// watchClosed drains what the client sends (stdin is not carried) and
// ends the follow when reading fails. EOF is not the client's end: the
// docker CLI closes its writing half at once when it sends no stdin.
func watchClosed(br *bufio.Reader, stop *stopper) {
	if _, err := io.Copy(io.Discard, br); err != nil {
		stop.stop()
	}
}
