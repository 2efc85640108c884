package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/events"
)

// TestEvents: the log's events come out in Docker's words (die, destroy,
// exitCode), bounded by since and until and chosen by filters; a bad
// parameter is a 400.
func TestEvents(t *testing.T) {
	dir := t.TempDir()
	s := New(&Backend{RunRoot: dir, Version: "test"})
	t0 := time.Now().Add(-time.Minute)
	code := 3
	for i, e := range []events.Event{
		{ID: "c1", Name: "web", Image: "bb", Status: "create", Type: events.TypeContainer, Attributes: map[string]string{"app": "x"}},
		{ID: "c1", Name: "web", Image: "bb", Status: "start", Type: events.TypeContainer, Attributes: map[string]string{"app": "x"}},
		{ID: "c1", Name: "web", Image: "bb", Status: "died", Type: events.TypeContainer, ContainerExitCode: &code},
		{ID: "p1", Name: "pod", Status: "create", Type: events.TypePod},
		{ID: "i1", Name: "bb", Status: "remove", Type: events.TypeImage},
		{ID: "c1", Name: "web", Image: "bb", Status: "remove", Type: events.TypeContainer},
	} {
		e.Time = t0.Add(time.Duration(i) * time.Second)
		if err := events.Record(dir, e); err != nil {
			t.Fatal(err)
		}
	}
	ts := func(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }
	for _, tc := range []struct {
		name, since, until, filters string
		code                        int
		want                        []string // Type Action ID
	}{
		{name: "all", since: ts(t0), until: ts(time.Now()), code: 200,
			want: []string{"container create c1", "container start c1", "container die c1", "image delete i1", "container destroy c1"}},
		{name: "until", since: ts(t0), until: ts(t0.Add(1500 * time.Millisecond)), code: 200,
			want: []string{"container create c1", "container start c1"}},
		{name: "event filter in Docker's words", since: ts(t0), until: ts(time.Now()), filters: `{"event":{"die":true,"destroy":true},"type":{"container":true}}`, code: 200,
			want: []string{"container die c1", "container destroy c1"}},
		{name: "label", since: ts(t0), until: ts(time.Now()), filters: `{"label":["app=x"]}`, code: 200,
			want: []string{"container create c1", "container start c1"}},
		{name: "container by name", since: ts(t0), until: ts(time.Now()), filters: `{"container":["web"],"event":["start"]}`, code: 200,
			want: []string{"container start c1"}},
		{name: "no since: only new events", until: ts(time.Now().Add(200 * time.Millisecond)), code: 200},
		{name: "bad since", since: "yesterday", code: 400},
		{name: "until before since", since: ts(time.Now()), until: ts(t0), code: 400},
		{name: "unknown filter", filters: `{"colour":["red"]}`, code: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range map[string]string{"since": tc.since, "until": tc.until, "filters": tc.filters} {
				if v != "" {
					q.Set(k, v)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := httptest.NewRequest("GET", "/v1.41/events?"+q.Encode(), nil).WithContext(ctx)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			if tc.code != 200 {
				return
			}
			var got []string
			sc := bufio.NewScanner(w.Body)
			for sc.Scan() {
				var m eventMessage
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("%q: %v", sc.Text(), err)
				}
				got = append(got, fmt.Sprintf("%s %s %s", m.Type, m.Action, m.Actor.ID))
				if m.Action == "die" && (m.Actor.Attributes["exitCode"] != "3" || m.Status != "die" || m.ID != "c1" || m.From != "bb" || m.Actor.Attributes["name"] != "web") {
					t.Errorf("die event %s", sc.Text())
				}
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("events %q, want %q", got, tc.want)
			}
		})
	}
}
