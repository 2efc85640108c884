package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/myctr/myctr/frontend/build"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/netstore"
	"github.com/myctr/myctr/frontend/userns"
)

// The API versions served: clients name one in the path (/v1.41/...) or
// none; the docker CLI 20.10 asks for 1.41, newer clients negotiate down
// to it through /_ping's Api-Version.
const (
	APIVersion    = "1.41"
	MinAPIVersion = "1.24"
	maxMinor      = 41
	minMinor      = 24
)

// Limits on what one request may hold or take.
const (
	// MaxBody bounds a request body (a create's JSON is a few KiB).
	MaxBody = 1 << 20
	// maxHeader bounds a request's headers.
	maxHeader = 64 << 10
	// headerTimeout is how long a client may take to send its headers.
	headerTimeout = 10 * time.Second
	// idleConnTimeout closes a kept-alive connection nobody uses.
	idleConnTimeout = 2 * time.Minute
)

// Backend is what the handlers work on: the stores the CLI opens, and
// the decisions the CLI makes for a run that the request leaves open.
type Backend struct {
	Containers *container.Store
	Images     *image.Store
	// Networks are the named networks (myctr network create).
	Networks *netstore.Store
	// Mapping is the user's id mapping (userns.Current).
	Mapping *userns.Mapping
	// DefaultNetwork is the network mode of a container whose request
	// names none (or "bridge"): myctr.conf's, containers.conf's, else
	// pasta where installed, else slirp4netns, as for `myctr run`.
	DefaultNetwork func() (mode string, opts []string, err error)
	// Version is myctr's own version.
	Version string
	// RunRoot is the run root (the events log lives there).
	RunRoot string
	// Differ writes a build step's layer inside the user namespace, as
	// for `myctr build` (nil: POST /build fails).
	Differ build.Differ
	// Conf is the containers.conf files' settings, whose defaults a
	// create applies as `myctr run` does (nil: none set).
	Conf *config.Containers
}

// Server is the API over one Backend.
type Server struct {
	b   *Backend
	mux *http.ServeMux

	execs      execTable
	execRunner execer // nil: b.Containers

	sessions sessionTable // the stdin of the interactive containers it runs

	mu       sync.Mutex
	active   int       // requests being served
	lastDone time.Time // when the last one ended
}

// New returns the server of b.
func New(b *Backend) *Server {
	s := &Server{b: b, mux: http.NewServeMux(), lastDone: time.Now()}
	s.routes()
	return s
}

// routes registers the endpoints; everything else is a 501 naming it.
func (s *Server) routes() {
	h := map[string]http.HandlerFunc{
		"GET /_ping":                   s.ping,
		"HEAD /_ping":                  s.ping,
		"GET /version":                 s.version,
		"GET /info":                    s.info,
		"GET /containers/json":         s.containerList,
		"POST /containers/create":      s.containerCreate,
		"GET /containers/{id}/json":    s.containerInspect,
		"POST /containers/{id}/start":  s.containerStart,
		"POST /containers/{id}/stop":   s.containerStop,
		"POST /containers/{id}/kill":   s.containerKill,
		"POST /containers/{id}/rename": s.containerRename,
		"POST /containers/prune":       s.containerPrune,
		"POST /containers/{id}/wait":   s.containerWait,
		"DELETE /containers/{id}":      s.containerRemove,
		"GET /containers/{id}/logs":    s.containerLogs,
		"POST /containers/{id}/attach": s.containerAttach,
		"POST /containers/{id}/exec":   s.execCreate,
		"GET /events":                  s.events,
		"POST /exec/{id}/start":        s.execStart,
		"GET /exec/{id}/json":          s.execInspect,
		"POST /exec/{id}/resize":       s.execResize,
		"GET /images/json":             s.imageList,
		"GET /images/{name...}":        s.imageInspectOrNot,
		"POST /images/create":          s.imageCreate,
		"POST /images/{name...}":       s.imagePost,
		"GET /images/get":              s.imageSave,
		"POST /images/prune":           s.imagePrune,
		"DELETE /images/{name...}":     s.imageRemove,

		"GET /containers/{id}/archive":  s.containerArchive,
		"HEAD /containers/{id}/archive": s.containerArchive,
		"GET /containers/{id}/export":   s.containerExport,
		"GET /containers/{id}/changes":  s.containerChanges,
		"POST /containers/{id}/pause":   s.containerPause,
		"POST /containers/{id}/unpause": s.containerUnpause,
		"POST /volumes/create":          s.volumeCreate,
		"GET /volumes":                  s.volumeList,
		"GET /volumes/{name}":           s.volumeInspect,
		"DELETE /volumes/{name}":        s.volumeRemove,
		"POST /volumes/prune":           s.volumePrune,
		"GET /system/df":                s.systemDF,
		"POST /auth":                    s.auth,
		"POST /commit":                  s.commit,
		"POST /containers/{id}/update":  s.containerUpdate,
	}
	for pattern, f := range s.processRoutes() {
		h[pattern] = f
	}
	for pattern, f := range s.networkRoutes() {
		h[pattern] = f
	}
	for pattern, f := range h {
		s.mux.Handle(pattern, bounded(MaxBody, f))
	}
	// Streamed uploads (a build context, an image archive, a copy into a
	// container) are bounded by the store they land in, not by MaxBody.
	for pattern, f := range s.streamRoutes() {
		s.mux.HandleFunc(pattern, f)
	}
	s.mux.HandleFunc("/", notImplemented)
}

// streamRoutes are the endpoints whose request body is a stream of any
// length.
func (s *Server) streamRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /images/load":            s.imageLoad,
		"POST /build":                  s.imageBuild,
		"PUT /containers/{id}/archive": s.containerArchivePut,
	}
}

// bounded refuses a request body longer than limit bytes (413).
func bounded(limit int64, f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		f(w, r)
	})
}

// notImplemented answers an endpoint this service does not serve.
func notImplemented(w http.ResponseWriter, r *http.Request) {
	writeError(w, withStatus(http.StatusNotImplemented,
		fmt.Errorf("%s %s is not implemented by myctr's API service", r.Method, r.URL.Path)))
}

// versioned is /v1.NN/rest.
var versioned = regexp.MustCompile(`^/v(\d+)\.(\d+)(/.*)$`)

// ServeHTTP strips the version from the path (refusing one newer than
// served) and counts the request for the idle timer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.lastDone = time.Now()
		s.mu.Unlock()
	}()
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Server", "myctr/"+s.b.Version)
	if m := versioned.FindStringSubmatch(r.URL.Path); m != nil {
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		if major != 1 || minor > maxMinor {
			writeError(w, badRequest("client version %s.%s is too new. Maximum supported API version is %s", m[1], m[2], APIVersion))
			return
		}
		if minor < minMinor {
			writeError(w, badRequest("client version %s.%s is too old. Minimum supported API version is %s", m[1], m[2], MinAPIVersion))
			return
		}
		r.URL.Path = m[3]
		r.URL.RawPath = ""
	}
	s.mux.ServeHTTP(w, r)
}

// idleFor is how long no request has been served (0 while one is, and
// while the service holds the stdin of a container it runs: exiting
// would end it).
func (s *Server) idleFor() time.Duration {
	if s.sessions.held() {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active > 0 {
		return 0
	}
	return time.Since(s.lastDone)
}

// Serve answers on l until ctx ends or, with idle > 0, no request has
// come for idle; it then stops taking connections and lets the requests
// in progress finish.
func (s *Server) Serve(ctx context.Context, l net.Listener, idle time.Duration) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idleConnTimeout,
		MaxHeaderBytes:    maxHeader,
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		case <-ctx.Done():
			return shutdown(hs)
		case <-tick.C:
			if idle > 0 && s.idleFor() >= idle {
				return shutdown(hs)
			}
		}
	}
}

func shutdown(hs *http.Server) error {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(c)
}
