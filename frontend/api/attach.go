package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/container"
)

// The stdin of an interactive container (OpenStdin: docker run -i, -it,
// -dit) is the service's to hold, as it is dockerd's: the service starts
// such a container through container.Store.RunAttached, the call `myctr
// run -i` makes, with a pipe as its stdin, and every attach with stdin=1
// writes into that pipe. Its output goes to the log alone, which the
// attaches follow (containerAttach); the init is myctr-monitor's child,
// so a service that dies loses nothing but the stdin (the container
// then reads end of file). A container started elsewhere (myctr run -d
// -i, or before the service) has no stdin to attach to: 409.

// session is the stdin (and the pty, with a TTY) of one interactive
// container's run.
type session struct {
	tty bool
	r   *os.File // the container's end of its stdin pipe

	mu    sync.Mutex
	w     *os.File // ours; nil once closed
	pty   *os.File // a duplicate of the run's pty, while it runs
	bound bool     // a run has taken it
}

// sessionTable holds the sessions by container id.
type sessionTable struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSession(tty bool) (*session, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("the container's stdin pipe: %w", err)
	}
	return &session{tty: tty, r: r, w: w}, nil
}

// forAttach is the session an attach to a container that has not started
// yet writes into: the one its start will take.
func (t *sessionTable) forAttach(c *container.Container) (*session, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.m[c.ID]; s != nil && !s.isBound() {
		return s, nil
	}
	s, err := newSession(c.HostConfig.Tty)
	if err != nil {
		return nil, err
	}
	if t.m == nil {
		t.m = map[string]*session{}
	}
	t.m[c.ID] = s
	return s, nil
}

// running is the session of c's current run, nil for none.
func (t *sessionTable) running(id string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.m[id]; s != nil && s.isBound() {
		return s
	}
	return nil
}

// take binds the session of a start: the one attaches wait on, else a
// new one (a session of an earlier run is left to end).
func (t *sessionTable) take(c *container.Container) (*session, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[c.ID]
	if s == nil || s.isBound() {
		var err error
		if s, err = newSession(c.HostConfig.Tty); err != nil {
			return nil, err
		}
		if t.m == nil {
			t.m = map[string]*session{}
		}
		t.m[c.ID] = s
	}
	s.mu.Lock()
	s.bound = true
	s.mu.Unlock()
	return s, nil
}

// held says whether a run's stdin is held (an attach waiting for a
// start that may never come holds nothing).
func (t *sessionTable) held() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.m {
		if s.isBound() {
			return true
		}
	}
	return false
}

// drop forgets s, the session of id's run that ended, and closes it.
func (t *sessionTable) drop(id string, s *session) {
	t.mu.Lock()
	if t.m[id] == s {
		delete(t.m, id)
	}
	t.mu.Unlock()
	s.close()
}

func (s *session) isBound() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// errDetached is a client that typed its detach keys: its attach ends,
// the container and its stdin stay.
var errDetached = errors.New("detached")

// feed copies what a client sends into the container's stdin until the
// client closes its side (nil), types keys (a TTY container's: the bytes
// of the detach sequence, errDetached), or goes away (the error). End of
// file closes the stdin of a container without a TTY, so that it reads
// its end (`echo x | docker run -i`); with a TTY, the user's ^D is in
// the stream and the terminal stays open for the next attach.
func (s *session) feed(src io.Reader, keys []byte) error {
	buf := make([]byte, 32<<10)
	var held []byte // a beginning of keys, not yet passed on
	for {
		n, err := src.Read(buf)
		if n > 0 {
			out := buf[:n]
			if s.tty && len(keys) > 0 {
				var detached bool
				out, held, detached = escape(append(held, out...), keys)
				if detached {
					s.write(out)
					return errDetached
				}
			}
			s.write(out)
		}
		if errors.Is(err, io.EOF) {
			if !s.tty {
				s.closeStdin()
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// escape splits p into what goes to the container and what is held as a
// beginning of keys; detached says p holds keys entire (what came before
// them is passed on, as Docker does).
func escape(p, keys []byte) (out, held []byte, detached bool) {
	for i := range p {
		m := 0
		for m < len(keys) && i+m < len(p) && p[i+m] == keys[m] {
			m++
		}
		switch {
		case m == len(keys):
			return p[:i], nil, true
		case i+m == len(p) && m > 0:
			return p[:i], append([]byte(nil), p[i:]...), false
		}
	}
	return p, nil, false
}

func (s *session) write(p []byte) {
	if len(p) == 0 {
		return
	}
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	if w != nil {
		// A run that has ended leaves nobody to read: the rest is
		// drained.
		_, _ = w.Write(p)
	}
}

// defaultDetachKeys are Docker's: ctrl-p, ctrl-q.
var defaultDetachKeys = []byte{16, 17}

// detachKeys reads attach's detachKeys, in Docker's words: a
// comma-separated list of characters and ctrl-X (X a letter, or one of
// @[\]^_); absent, Docker's own.
func detachKeys(spec string) ([]byte, error) {
	if spec == "" {
		return defaultDetachKeys, nil
	}
	var out []byte
	for _, k := range strings.Split(spec, ",") {
		switch {
		case len(k) == 1 && k[0] >= 0x20 && k[0] < 0x7f:
			out = append(out, k[0])
		case len(k) == 6 && strings.HasPrefix(strings.ToLower(k), "ctrl-"):
			c := strings.ToLower(k)[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c == '@':
				out = append(out, 0)
			case c >= '[' && c <= '_':
				out = append(out, c-'['+27)
			default:
				return nil, badRequest("invalid detachKeys %q: %q is no ctrl- key", spec, k)
			}
		default:
			return nil, badRequest("invalid detachKeys %q: want characters and ctrl-X, comma-separated", spec)
		}
	}
	return out, nil
}

func (s *session) closeStdin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
}

func (s *session) close() {
	s.closeStdin()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.Close()
	if s.pty != nil {
		s.pty.Close()
		s.pty = nil
	}
}

// setPty keeps a duplicate of the run's pty (container.Attach.Terminal):
// RunAttached closes its own as it returns.
func (s *session) setPty(pty *os.File) {
	dup := dupFile(pty)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pty != nil {
		s.pty.Close()
	}
	s.pty = dup
}

// resize sets the size of the run's pty; ok is false when there is none.
func (s *session) resize(h, w uint16) (ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pty == nil {
		return false, nil
	}
	return true, setWinsize(s.pty, h, w)
}

// dupFile duplicates f's descriptor (close-on-exec), nil when it cannot.
// It goes through SyscallConn: Fd would turn f to blocking mode under
// the reader that shares it.
func dupFile(f *os.File) *os.File {
	var dup *os.File
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			if n, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); err == nil {
				dup = os.NewFile(uintptr(n), f.Name())
			}
		})
	}
	return dup
}

// setWinsize sets the size of the terminal f.
func setWinsize(f *os.File, h, w uint16) error {
	var ioErr error
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: h, Col: w})
		})
	}
	if err == nil {
		err = ioErr
	}
	if err != nil {
		return fmt.Errorf("resize the container's terminal: %w", err)
	}
	return nil
}

// sizeParams reads a resize's h and w (rows and columns).
func sizeParams(r *http.Request) (h, w uint16, err error) {
	var size [2]uint16
	for i, name := range []string{"h", "w"} {
		n, err := strconv.ParseUint(r.URL.Query().Get(name), 10, 16)
		if err != nil {
			return 0, 0, badRequest("invalid %s=%q: want a number of %s", name, r.URL.Query().Get(name), map[string]string{"h": "rows", "w": "columns"}[name])
		}
		size[i] = uint16(n)
	}
	return size[0], size[1], nil
}

// processRoutes are the endpoints on a container's running processes:
// its terminal, its restart, its processes and their use.
func (s *Server) processRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /containers/{id}/resize":  s.containerResize,
		"POST /containers/{id}/restart": s.containerRestart,
		"GET /containers/{id}/top":      s.containerTop,
		"GET /containers/{id}/stats":    s.containerStats,
	}
}

// start starts c: an interactive container through RunAttached in the
// background, the service holding its stdin; any other detached, as
// `myctr start` does. It returns once the container runs.
func (s *Server) start(c *container.Container) error {
	if !c.HostConfig.Interactive {
		return s.b.Containers.StartDetached(c, container.Activation{})
	}
	sess, err := s.sessions.take(c)
	if err != nil {
		return err
	}
	started := make(chan struct{})
	ended := make(chan error, 1)
	a := &container.Attach{
		Stdin:  sess.r,
		Stdout: io.Discard, Stderr: io.Discard, LogOnly: true,
		NoSignals: true,
		Started:   func() { close(started) },
		Terminal:  sess.setPty,
	}
	go func() {
		_, err := s.b.Containers.RunAttached(c, s.b.Mapping, a)
		s.sessions.drop(c.ID, sess)
		ended <- err
	}()
	select {
	case <-started:
		return nil
	case err := <-ended:
		return err
	}
}

// containerResize serves POST /containers/{id}/resize (h, w): the size
// of the pty of a TTY container the service runs; a container without
// a TTY has nothing to resize (200, as an exec's).
func (s *Server) containerResize(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	h, wd, err := sizeParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if !c.Running() {
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("Container %s is not running", c.ID)))
		return
	}
	if !c.HostConfig.Tty {
		w.WriteHeader(http.StatusOK)
		return
	}
	sess := s.sessions.running(c.ID)
	ok := false
	if sess != nil {
		if ok, err = sess.resize(h, wd); err != nil {
			writeError(w, err)
			return
		}
	}
	if !ok {
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("the terminal of container %s is not held by this service (it was started by myctr itself, or before the service): it cannot be resized from here", c.Name)))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// containerRestart serves POST /containers/{id}/restart (t): stop with
// that timeout, then start, as `myctr restart` does.
func (s *Server) containerRestart(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	t, err := stopTimeout(r, c)
	if err != nil {
		writeError(w, err)
		return
	}
	if c.Running() {
		if err := s.b.Containers.Stop(c, t); err != nil {
			writeError(w, err)
			return
		}
	}
	if err := s.start(c); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
