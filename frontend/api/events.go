package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	mevents "github.com/moby/moby/api/types/events"

	"github.com/myctr/myctr/frontend/events"
)

// eventMessage is one event as Docker streams it: moby's events.Message
// and, for the clients of API versions before 1.22 that still read
// them, the legacy status, id and from.
type eventMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	mevents.Message
}

// dockerActions are the words of Docker for what the events log records
// in Podman's: a container "died" is Docker's "die", a removal is a
// container's or volume's "destroy" and an image's "delete".
var dockerActions = map[string]map[string]string{
	events.TypeContainer: {"died": "die", "remove": "destroy"},
	events.TypeImage:     {"remove": "delete"},
	events.TypeVolume:    {"remove": "destroy"},
}

// podmanStatus is the status the log records for Docker's action a of
// any type (the event= filter names Docker's words).
func podmanStatus(a string) string {
	for _, m := range dockerActions {
		for p, d := range m {
			if d == a {
				return p
			}
		}
	}
	return a
}

// dockerEvent is e as Docker sends it; ok is false for an event Docker
// has no type for (a pod's).
func dockerEvent(e events.Event) (m eventMessage, ok bool) {
	switch e.Type {
	case events.TypeContainer, events.TypeImage, events.TypeVolume:
	default:
		return m, false
	}
	action := e.Status
	if d, ok := dockerActions[e.Type][action]; ok {
		action = d
	}
	attrs := maps.Clone(e.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	if e.Name != "" {
		attrs["name"] = e.Name
	}
	switch e.Type {
	case events.TypeContainer:
		if e.Image != "" {
			attrs["image"] = e.Image
		}
		if e.ContainerExitCode != nil {
			attrs["exitCode"] = strconv.Itoa(*e.ContainerExitCode)
		}
	case events.TypeVolume:
		attrs["driver"] = "local"
	}
	id := e.ID
	if id == "" {
		id = e.Name
	}
	m = eventMessage{Message: mevents.Message{
		Type:     mevents.Type(e.Type),
		Action:   mevents.Action(action),
		Actor:    mevents.Actor{ID: id, Attributes: attrs},
		Scope:    "local",
		Time:     e.Time.Unix(),
		TimeNano: e.Time.UnixNano(),
	}}
	if e.Type == events.TypeContainer {
		m.Status, m.ID, m.From = action, id, e.Image
	}
	return m, true
}

// eventTime reads since= or until=: Docker's seconds[.nanoseconds] since
// the epoch (what its clients send), or an RFC 3339 time.
func eventTime(name, v string) (time.Time, error) {
	sec, frac, _ := strings.Cut(v, ".")
	if s, err := strconv.ParseInt(sec, 10, 64); err == nil {
		var ns int64
		if frac != "" {
			if len(frac) > 9 {
				frac = frac[:9]
			}
			n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			if err != nil {
				return time.Time{}, badRequest("invalid %s=%q: want seconds[.nanoseconds] since the epoch", name, v)
			}
			ns = n
		}
		return time.Unix(s, ns), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("invalid %s=%q: want seconds[.nanoseconds] since the epoch", name, v)
}

// eventsFilter reads the filters parameter into a match of the log's
// events: Docker's event names become the log's, and scope=local is
// every event.
func eventsFilter(raw string) (func(events.Event) bool, error) {
	f, err := parseFilters(raw)
	if err != nil {
		return nil, err
	}
	if scopes, ok := f["scope"]; ok {
		delete(f, "scope")
		for _, s := range scopes {
			if s != "local" {
				return func(events.Event) bool { return false }, nil
			}
		}
	}
	for i, v := range f["event"] {
		f["event"][i] = podmanStatus(v)
	}
	match, err := events.Filter(f)
	if err != nil {
		return nil, withStatus(http.StatusBadRequest, err)
	}
	return match, nil
}

// events is GET /events: the events log, from since (else from now) to
// until (else until the client leaves), as a stream of JSON objects.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var o events.ReadOptions
	var err error
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &o.Since}, {"until", &o.Until}} {
		if v := q.Get(p.name); v != "" {
			if *p.t, err = eventTime(p.name, v); err != nil {
				writeError(w, err)
				return
			}
		}
	}
	if o.Match, err = eventsFilter(q.Get("filters")); err != nil {
		writeError(w, err)
		return
	}
	if !o.Until.IsZero() && !o.Since.IsZero() && o.Until.Before(o.Since) {
		writeError(w, badRequest("until (%s) is before since (%s)", o.Until.Format(time.RFC3339Nano), o.Since.Format(time.RFC3339Nano)))
		return
	}
	if !events.Enabled() {
		writeError(w, withStatus(http.StatusNotImplemented, events.ErrNoEvents))
		return
	}
	if o.Since.IsZero() {
		// As Docker: without since, only what happens from now on.
		o.Since = time.Now()
	}
	o.Stream = true
	enc, flush := jsonStream(w)
	flush()
	err = events.Read(r.Context(), s.b.RunRoot, o, func(e events.Event) error {
		m, ok := dockerEvent(e)
		if !ok {
			return nil
		}
		if err := enc.Encode(m); err != nil {
			return errClientGone
		}
		flush()
		return nil
	})
	if err != nil && !errors.Is(err, errClientGone) {
		// The status is sent: all that is left is to end the stream.
		_ = enc.Encode(errorBody{Message: fmt.Sprintf("read the events log: %v", err)})
	}
}

// errClientGone ends a stream whose client has left.
var errClientGone = errors.New("the client has gone")
