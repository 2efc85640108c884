package api

import (
	"bufio"
	"compress/bzip2"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/jsonstream"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/frontend/build"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
)

// buildContextDir is where a build's context is unpacked, below the image
// store: a directory of the user's alone, on the same filesystem as the
// layers the build makes.
const buildContextDir = "build-contexts"

// buildParams are the query parameters of POST /build that myctr uses.
type buildParams struct {
	opts  build.Options
	tags  []string
	quiet bool
}

// parseBuild reads POST /build's query. rm and forcerm are accepted:
// step containers are always removed. A base image is pulled when it is
// missing, and with pull=1 always.
func parseBuild(r *http.Request) (*buildParams, error) {
	q := r.URL.Query()
	p := &buildParams{}
	for _, t := range q["t"] {
		if t != "" {
			p.tags = append(p.tags, t)
		}
	}
	if raw := q.Get("buildargs"); raw != "" {
		var args map[string]*string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			return nil, badRequest("invalid buildargs %q: want a JSON object of strings", raw)
		}
		p.opts.BuildArgs = map[string]string{}
		for k, v := range args {
			// A null value (--build-arg K alone, K unset on the client)
			// leaves the argument to the Containerfile's default.
			if v != nil {
				p.opts.BuildArgs[k] = *v
			}
		}
	}
	if raw := q.Get("labels"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &p.opts.Labels); err != nil {
			return nil, badRequest("invalid labels %q: want a JSON object of strings", raw)
		}
	}
	var err error
	if p.opts.NoCache, err = boolParam(r, "nocache"); err != nil {
		return nil, err
	}
	if p.quiet, err = boolParam(r, "q"); err != nil {
		return nil, err
	}
	for _, b := range []string{"rm", "forcerm"} {
		if _, err := boolParam(r, b); err != nil {
			return nil, err
		}
	}
	if pull, err := boolParam(r, "pull"); err != nil {
		return nil, err
	} else if pull {
		p.opts.Pull = build.PullAlways
	}
	p.opts.Target = q.Get("target")
	if pl := q.Get("platform"); pl != "" {
		host := runtime.GOOS + "/" + runtime.GOARCH
		if pl != host && pl != runtime.GOARCH && strings.TrimSuffix(pl, "/") != runtime.GOOS {
			return nil, badRequest("platform %s: myctr builds for the host's platform, %s", pl, host)
		}
	}
	// Step containers run with --network none, as for `myctr build`.
	switch q.Get("networkmode") {
	case "", "default", "none":
	default:
		return nil, withStatus(http.StatusNotImplemented, fmt.Errorf("POST /build with networkmode=%s is not implemented by myctr's API service: build steps run without a network", q.Get("networkmode")))
	}
	if squash, err := boolParam(r, "squash"); err != nil {
		return nil, err
	} else if squash {
		return nil, withStatus(http.StatusNotImplemented, errors.New("POST /build with squash is not implemented by myctr's API service"))
	}
	if q.Get("remote") != "" {
		return nil, withStatus(http.StatusNotImplemented, errors.New("POST /build with remote (a URL or Git context) is not implemented by myctr's API service: send the context as the request body"))
	}
	if v := q.Get("version"); v == "2" {
		return nil, badRequest("BuildKit (version=2) is not supported: myctr's API service builds with the classic builder's protocol (DOCKER_BUILDKIT=0)")
	}
	return p, nil
}

// containerfileIn resolves the dockerfile parameter inside the context
// dir: "" is the default (Containerfile, else Dockerfile); a name that
// leaves the context, by .. or a link, is refused.
func containerfileIn(dir, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	p := filepath.Join(dir, filepath.Clean("/"+name))
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", badRequest("the Containerfile %s is not in the build context", name)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(realDir, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", badRequest("the Containerfile %s leaves the build context", name)
	}
	return real, nil
}

// contextStream decompresses a build context: plain tar and gzip (which
// archive.Unpack reads itself), or bzip2; xz is refused.
func contextStream(body io.Reader) (io.Reader, error) {
	br := bufio.NewReader(body)
	magic, _ := br.Peek(6)
	switch {
	case len(magic) >= 3 && string(magic[:3]) == "BZh":
		return bzip2.NewReader(br), nil
	case len(magic) == 6 && string(magic) == "\xfd7zXZ\x00":
		return nil, badRequest("the build context is xz-compressed: send it as a plain, gzip or bzip2 tar")
	}
	return br, nil
}

// streamError is a stream's failure as the classic builder sends it:
// errorDetail and, for older clients, error.
type streamError struct {
	jsonstream.Message
	ErrorMessage string `json:"error,omitempty"`
}

// streamWriter turns the build's output lines into Docker's
// {"stream": ...} messages; STEP lines read as the classic builder's.
type streamWriter struct {
	mu    sync.Mutex
	enc   *json.Encoder
	flush func()
	part  []byte
	strip string // the context's directory, left out of messages
}

func (s *streamWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.part = append(s.part, b...)
	for {
		i := strings.IndexByte(string(s.part), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(s.part[:i])
		s.part = s.part[i+1:]
		s.send(line)
	}
}

// send writes one line. Preconditions: s.mu held.
func (s *streamWriter) send(line string) {
	if rest, ok := strings.CutPrefix(line, "STEP "); ok {
		if n, ins, ok := strings.Cut(rest, ": "); ok {
			line = "Step " + n + " : " + ins
		}
	}
	if rest, ok := strings.CutPrefix(line, "--> "); ok {
		line = " ---> " + rest
	}
	// The tags are reported after "Successfully built", as Docker's.
	if strings.HasPrefix(line, "Successfully tagged ") {
		return
	}
	if s.strip != "" {
		line = strings.ReplaceAll(line, s.strip+string(filepath.Separator), "")
	}
	_ = s.enc.Encode(jsonstream.Message{Stream: line + "\n"})
	s.flush()
}

// end sends what is left of a last line without a newline.
func (s *streamWriter) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.part) > 0 {
		s.send(string(s.part))
		s.part = nil
	}
}

// imageBuild serves POST /build: the body is the context as a tar
// (a stream route), unpacked by archive.Unpack (which refuses entries and
// links leaving it) into a directory of its own below the image store,
// and built by build.Builder as `myctr build` builds. The answer is the
// classic builder's JSON stream: the steps' output, the image ID as aux,
// "Successfully built", and a failure as the last message.
func (s *Server) imageBuild(w http.ResponseWriter, r *http.Request) {
	p, err := parseBuild(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if s.b.Differ == nil {
		writeError(w, errors.New("this service has no layer differ: builds are not available"))
		return
	}
	parent := filepath.Join(s.b.Images.Root(), buildContextDir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		writeError(w, fmt.Errorf("make the build context directory: %w", err))
		return
	}
	sweepContexts(parent)
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("context-%d-", os.Getpid()))
	if err != nil {
		writeError(w, fmt.Errorf("make the build context directory: %w", err))
		return
	}
	defer os.RemoveAll(dir)
	body, err := contextStream(r.Body)
	if err == nil {
		err = archive.Unpack(body, dir, archive.Options{Plain: true})
		if err != nil {
			err = badRequest("unpack the build context: %v", err)
		}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	file, err := containerfileIn(dir, r.URL.Query().Get("dockerfile"))
	if err != nil {
		writeError(w, err)
		return
	}

	enc, flush := jsonStream(w)
	out := &streamWriter{enc: enc, flush: flush, strip: dir}
	o := p.opts
	o.ContextDir, o.File = dir, file
	if len(p.tags) > 0 {
		o.Tag = p.tags[0]
	}
	o.Stdout, o.Stderr = io.Writer(out), io.Writer(out)
	if p.quiet {
		o.Stdout, o.Stderr = nil, nil
	}
	fail := func(err error) {
		out.end()
		msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
		_ = enc.Encode(streamError{Message: jsonstream.Message{Error: &jsonstream.Error{Message: msg}}, ErrorMessage: msg})
		flush()
	}
	b := &build.Builder{Images: s.b.Images, Containers: s.b.Containers, Mapping: s.b.Mapping, Differ: s.b.Differ}
	b.Pull = func(ref string) (*image.Image, error) {
		var progress io.Writer
		if !p.quiet {
			progress = &progressLines{enc: enc, flush: flush}
		}
		pulled, err := s.b.Images.Pull(r.Context(), ref, image.PullOptions{Progress: progress})
		if err != nil {
			return nil, err
		}
		return s.b.Images.Lookup(pulled.ID)
	}
	img, err := b.Build(o)
	if err != nil {
		fail(err)
		return
	}
	for _, t := range p.tags[min(1, len(p.tags)):] {
		if err := s.b.Images.Tag(img.ID, t); err != nil {
			fail(err)
			return
		}
	}
	out.end()
	_ = events.Record(s.b.RunRoot, events.Event{ID: img.ID, Name: strings.Join(p.tags, ","), Status: "build", Type: events.TypeImage})
	aux, _ := json.Marshal(map[string]string{"ID": "sha256:" + img.ID})
	_ = enc.Encode(jsonstream.Message{Aux: (*json.RawMessage)(&aux)})
	if p.quiet {
		_ = enc.Encode(jsonstream.Message{Stream: "sha256:" + img.ID + "\n"})
	} else {
		_ = enc.Encode(jsonstream.Message{Stream: fmt.Sprintf("Successfully built %.12s\n", img.ID)})
		for _, t := range p.tags {
			if i := strings.LastIndex(t, "/"); !strings.Contains(t[i+1:], ":") && !strings.Contains(t, "@") {
				t += ":latest"
			}
			_ = enc.Encode(jsonstream.Message{Stream: "Successfully tagged " + t + "\n"})
		}
	}
	flush()
}

// sweepContexts removes the build contexts that a service which is gone
// (killed mid-build) left in parent: each is named after its service's
// pid, and one whose pid no longer exists is nobody's.
func sweepContexts(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "context-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			_ = os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}
