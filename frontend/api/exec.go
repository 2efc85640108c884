package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/container"
)

// An exec instance lives in the service's memory only, as Docker's do in
// dockerd's: created by POST /containers/{id}/exec, run once by
// POST /exec/{id}/start through container.Store.Exec (the core `myctr
// exec` calls), and inspected by GET /exec/{id}/json.

// execKeep is how long an ended exec stays inspectable; older ones are
// dropped at the next create, so the table does not grow with the
// service's age.
const execKeep = 10 * time.Minute

// exitSetup is an exec's exit code when myctr failed to run it.
const exitSetup = 125

// execInstance is one exec and its state.
type execInstance struct {
	id          string
	containerID string
	cfg         ctypes.ExecCreateRequest

	mu       sync.Mutex
	started  bool
	running  bool
	exitCode *int
	pid      int
	pty      *os.File // the container's pty while a TTY exec runs
	ended    time.Time
}

// execer runs an exec's process: container.Store's Exec, a fake in
// the unit tests of the stream.
type execer interface {
	Exec(c *container.Container, o *container.ExecOptions) (int, error)
}

// execTable holds the service's execs by id.
type execTable struct {
	mu sync.Mutex
	m  map[string]*execInstance
}

func (t *execTable) add(e *execInstance) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*execInstance{}
	}
	for id, old := range t.m {
		old.mu.Lock()
		stale := !old.ended.IsZero() && time.Since(old.ended) > execKeep
		old.mu.Unlock()
		if stale {
			delete(t.m, id)
		}
	}
	t.m[e.id] = e
}

// get is the exec of the path's {id}, or Docker's 404.
func (t *execTable) get(r *http.Request) (*execInstance, error) {
	id := r.PathValue("id")
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[id]
	if e == nil {
		return nil, withStatus(http.StatusNotFound, fmt.Errorf("No such exec instance: %s", id))
	}
	return e, nil
}

// newExecID is a random 64-hex id, as Docker's.
func newExecID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("exec id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// decodeJSON reads a request body into v: 413 when too large, 400 when
// not what v is; an empty body leaves v as it is.
func decodeJSON(r io.Reader, v any, what string) error {
	err := json.NewDecoder(r).Decode(v)
	var mbe *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &mbe):
		return withStatus(http.StatusRequestEntityTooLarge, err)
	}
	return badRequest("decode the %s: %v", what, err)
}

// decodeExecCreate reads the body of POST /containers/{id}/exec; what
// myctr cannot honour is refused (Privileged: 501), never ignored.
func decodeExecCreate(r io.Reader) (*ctypes.ExecCreateRequest, error) {
	var req ctypes.ExecCreateRequest
	if err := decodeJSON(r, &req, "exec's configuration"); err != nil {
		return nil, err
	}
	if len(req.Cmd) == 0 {
		return nil, badRequest("No exec command specified")
	}
	if req.Privileged {
		return nil, withStatus(http.StatusNotImplemented, errors.New("a privileged exec (docker exec --privileged) is not supported by myctr's API service: the exec gets the container's own privileges"))
	}
	for _, e := range req.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return nil, badRequest("invalid environment variable %q", e)
		}
	}
	return &req, nil
}

// execCreate serves POST /containers/{id}/exec.
func (s *Server) execCreate(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	req, err := decodeExecCreate(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	if !c.Running() {
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("Container %s is not running", c.ID)))
		return
	}
	if err := container.RefusePaused(c, "exec"); err != nil {
		writeError(w, err)
		return
	}
	id, err := newExecID()
	if err != nil {
		writeError(w, err)
		return
	}
	s.execs.add(&execInstance{id: id, containerID: c.ID, cfg: *req})
	writeJSON(w, http.StatusCreated, ctypes.ExecCreateResponse{ID: id})
}

// execInspect serves GET /exec/{id}/json.
func (s *Server) execInspect(w http.ResponseWriter, r *http.Request) {
	e, err := s.execs.get(r)
	if err != nil {
		writeError(w, err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, e.inspect())
}

// inspect is Docker's ExecInspect of e (e.mu held): ExitCode stays null
// until the process has ended.
func (e *execInstance) inspect() ctypes.ExecInspectResponse {
	priv := false
	return ctypes.ExecInspectResponse{
		ID:          e.id,
		Running:     e.running,
		ExitCode:    e.exitCode,
		ContainerID: e.containerID,
		Pid:         e.pid,
		OpenStdin:   e.cfg.AttachStdin,
		OpenStdout:  e.cfg.AttachStdout,
		OpenStderr:  e.cfg.AttachStderr,
		CanRemove:   !e.running && e.started,
		ProcessConfig: &ctypes.ExecProcessConfig{
			Tty:        e.cfg.Tty,
			Entrypoint: e.cfg.Cmd[0],
			Arguments:  e.cfg.Cmd[1:],
			Privileged: &priv,
			User:       e.cfg.User,
		},
	}
}

// execResize serves POST /exec/{id}/resize (h, w): the size of a TTY
// exec's pty; an exec without one has nothing to resize (200, as Docker).
func (s *Server) execResize(w http.ResponseWriter, r *http.Request) {
	e, err := s.execs.get(r)
	if err != nil {
		writeError(w, err)
		return
	}
	h, wd, err := sizeParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := e.resize(h, wd); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// execStart serves POST /exec/{id}/start: detached, it answers at once
// and runs the process in the background; else it hijacks the connection
// as attach does and carries the process's streams (frames, or raw with a
// TTY) until it exits, its exit code recorded before the stream ends so
// that the client's inspect that follows sees it.
func (s *Server) execStart(w http.ResponseWriter, r *http.Request) {
	e, err := s.execs.get(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var req ctypes.ExecStartRequest
	if err := decodeJSON(r.Body, &req, "exec start request"); err != nil {
		writeError(w, err)
		return
	}
	if e.isStarted() {
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("Exec %s has already been started", e.id)))
		return
	}
	c, err := s.b.Containers.Lookup(e.containerID)
	if err != nil {
		writeError(w, withStatus(http.StatusNotFound, fmt.Errorf("No such container: %s", e.containerID)))
		return
	}
	c.Refresh()
	if !c.Running() {
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("Container %s is not running", c.ID)))
		return
	}
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("Exec %s has already been started", e.id)))
		return
	}
	e.started, e.running = true, true
	e.mu.Unlock()

	o := &container.ExecOptions{Args: e.cfg.Cmd, Env: e.cfg.Env, Workdir: e.cfg.WorkingDir, User: e.cfg.User,
		Tty: e.cfg.Tty, NoSignals: true, Started: e.setStarted}
	if req.Detach {
		go s.execDetached(e, c, o)
		w.WriteHeader(http.StatusOK)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		e.finish(exitSetup)
		writeError(w, errors.New("this connection cannot be hijacked"))
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		e.finish(exitSetup)
		writeError(w, err)
		return
	}
	defer conn.Close()
	ct := "application/vnd.docker.multiplexed-stream"
	if e.cfg.Tty {
		ct = "application/vnd.docker.raw-stream"
	}
	if err := upgradeReply(buf.Writer, r, ct); err != nil {
		e.finish(exitSetup)
		return
	}
	out := &keepDraining{w: conn}
	stdout, stderr := execOutputs(out, e.cfg.Tty, e.cfg.AttachStdout, e.cfg.AttachStderr)
	code, err := runExecPiped(s.execer(), c, o, buf.Reader, e.cfg.AttachStdin, stdout, stderr)
	if err != nil {
		// The headers are gone: the error goes in the stream, as Docker's.
		fmt.Fprintf(stderr, "Error: %v\r\n", err)
	}
	e.finish(code)
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// execer is what runs exec processes: the store, unless a test set one.
func (s *Server) execer() execer {
	if s.execRunner != nil {
		return s.execRunner
	}
	return s.b.Containers
}

// execDetached runs a detached exec: no stdin, its output to /dev/null.
func (s *Server) execDetached(e *execInstance, c *container.Container, o *container.ExecOptions) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		e.finish(exitSetup)
		return
	}
	defer null.Close()
	o.Stdout, o.Stderr = null, null
	// No stream is left to carry an error: the exit code (125 when
	// myctr failed) is what the inspect reports.
	code, _ := s.execer().Exec(c, o)
	e.finish(code)
}

// runExecPiped runs o through store.Exec with pipes for its streams (it
// takes *os.File): their other ends are copied to stdout and stderr, and
// stdin (when attached) into the process until the client closes its
// side. It returns once the process has ended and its output is written.
func runExecPiped(store execer, c *container.Container, o *container.ExecOptions, stdin io.Reader, attachStdin bool, stdout, stderr io.Writer) (int, error) {
	var copies sync.WaitGroup
	var ours []*os.File // closed once the process has ended
	defer func() {
		for _, f := range ours {
			f.Close()
		}
	}()
	for _, p := range []struct {
		dst  io.Writer
		into **os.File
	}{{stdout, &o.Stdout}, {stderr, &o.Stderr}} {
		pr, pw, err := os.Pipe()
		if err != nil {
			return exitSetup, fmt.Errorf("exec output pipe: %w", err)
		}
		*p.into = pw
		ours = append(ours, pw)
		copies.Add(1)
		go func(dst io.Writer) {
			defer copies.Done()
			defer pr.Close()
			_, _ = io.Copy(dst, pr)
		}(p.dst)
	}
	if attachStdin {
		pr, pw, err := os.Pipe()
		if err != nil {
			return exitSetup, fmt.Errorf("exec stdin pipe: %w", err)
		}
		o.Stdin, o.Interactive = pr, true
		ours = append(ours, pr, pw)
		go func() {
			_, _ = io.Copy(pw, stdin)
			pw.Close()
		}()
	} else {
		// What the client sends is not the process's: drained (the docker
		// CLI closes its side at once).
		go func() { _, _ = io.Copy(io.Discard, stdin) }()
	}
	code, err := store.Exec(c, o)
	// The process has ended and Exec has relayed its output into the
	// pipes: closing their write ends lets the copies reach end of file.
	o.Stdout.Close()
	o.Stderr.Close()
	copies.Wait()
	return code, err
}

// execOutputs are the writers of an exec's stdout and stderr over w:
// frames, or raw with a TTY; a stream not attached goes nowhere.
func execOutputs(w io.Writer, tty, wantOut, wantErr bool) (stdout, stderr io.Writer) {
	mu := &sync.Mutex{}
	if tty {
		raw := &rawWriter{mu: mu, w: w}
		stdout, stderr = raw, raw
	} else {
		stdout = &frameWriter{mu: mu, w: w, stream: stdcopy.Stdout}
		stderr = &frameWriter{mu: mu, w: w, stream: stdcopy.Stderr}
	}
	if !wantOut {
		stdout = io.Discard
	}
	if !wantErr {
		stderr = io.Discard
	}
	return stdout, stderr
}

// keepDraining writes to w until a write fails (the client went away),
// then discards: the process's output must still be read, or it would
// block on a full pipe.
type keepDraining struct {
	w      io.Writer
	failed bool
}

func (k *keepDraining) Write(p []byte) (int, error) {
	if !k.failed {
		if _, err := k.w.Write(p); err != nil {
			k.failed = true
		}
	}
	return len(p), nil
}

func (e *execInstance) isStarted() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started
}

// setStarted records the running process (container.ExecOptions.Started):
// its pid, and a duplicate of a TTY exec's pty, ours until finish, since
// Exec closes its own as it returns. The duplicate is made through
// SyscallConn: Fd would turn the pty Exec reads to blocking mode.
func (e *execInstance) setStarted(pid int, pty *os.File) {
	var dup *os.File
	if pty != nil {
		dup = dupFile(pty)
	}
	e.mu.Lock()
	e.pid, e.pty = pid, dup
	e.mu.Unlock()
}

// resize sets the size of a TTY exec's pty; an exec without one (no TTY,
// not started, or ended) has nothing to resize, which is no error.
func (e *execInstance) resize(h, w uint16) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pty == nil {
		return nil
	}
	return setWinsize(e.pty, h, w)
}

// finish records the end of e's process with its exit code.
func (e *execInstance) finish(code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.running = false
	if e.pty != nil {
		e.pty.Close()
		e.pty = nil
	}
	e.exitCode = &code
	e.ended = time.Now()
}
