package events

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func statuses(t *testing.T, runRoot string, o ReadOptions) []string {
	t.Helper()
	var out []string
	if err := Read(context.Background(), runRoot, o, func(e Event) error {
		out = append(out, e.Status)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecordRead: events come back oldest first, bounded by Since and
// Until and chosen by Match; a torn line (a crash mid-write) is skipped;
// the log is the user's alone.
func TestRecordRead(t *testing.T) {
	dir := t.TempDir()
	if got := statuses(t, dir, ReadOptions{}); got != nil {
		t.Errorf("no log yet: %q", got)
	}
	t0 := time.Now()
	for i, s := range []string{"create", "start", "died"} {
		code := 3
		e := Event{ID: "abc", Name: "web", Status: s, Type: TypeContainer, Time: t0.Add(time.Duration(i) * time.Second)}
		if s == "died" {
			e.ContainerExitCode = &code
		}
		if err := Record(dir, e); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(Path(dir), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"Status\":\"tor\n")
	f.Close()
	if err := Record(dir, Event{Status: "remove", Type: TypeImage, Time: t0.Add(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    ReadOptions
		want []string
	}{
		{ReadOptions{}, []string{"create", "start", "died", "remove"}},
		{ReadOptions{Since: t0.Add(time.Second)}, []string{"start", "died", "remove"}},
		{ReadOptions{Until: t0.Add(1500 * time.Millisecond)}, []string{"create", "start"}},
		{ReadOptions{Match: func(e Event) bool { return e.Type == TypeImage }}, []string{"remove"}},
	} {
		if got := statuses(t, dir, tc.o); !slices.Equal(got, tc.want) {
			t.Errorf("Read(%+v) = %q, want %q", tc.o, got, tc.want)
		}
	}
	var code *int
	Read(context.Background(), dir, ReadOptions{}, func(e Event) error {
		if e.Status == "died" {
			code = e.ContainerExitCode
		}
		return nil
	})
	if code == nil || *code != 3 {
		t.Errorf("died's exit code: %v", code)
	}
	if st, err := os.Stat(Path(dir)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the log: %v, %v; want mode 0600", st.Mode(), err)
	}
}

// TestNone: with --events-backend=none nothing is recorded, and reading
// says why.
func TestNone(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvBackend, BackendNone)
	if err := Record(dir, Event{Status: "create"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Path(dir)); !os.IsNotExist(err) {
		t.Errorf("a log was written: %v", err)
	}
	if err := Read(context.Background(), dir, ReadOptions{}, func(Event) error { return nil }); err != ErrNoEvents {
		t.Errorf("Read: %v, want ErrNoEvents", err)
	}
}

// TestRotate: past the size bound, the older half goes.
func TestRotate(t *testing.T) {
	defer func(n int64) { maxSize = n }(maxSize)
	maxSize = 2000
	dir := t.TempDir()
	for i := range 100 {
		if err := Record(dir, Event{ID: "x", Status: "s" + string(rune('a'+i%26)), Time: time.Unix(int64(i), 0)}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(Path(dir))
	if err != nil || st.Size() > maxSize {
		t.Fatalf("log size %d, %v; want at most %d", st.Size(), err, maxSize)
	}
	got := statuses(t, dir, ReadOptions{})
	if len(got) == 0 || len(got) >= 100 || got[len(got)-1] != "s"+string(rune('a'+99%26)) {
		t.Errorf("after rotation: %d events, the last %q", len(got), got[len(got)-1])
	}
}

// TestStream: a stream gives the recorded events, then new ones as they
// come, until its context ends.
func TestStream(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	done := make(chan error)
	go func() {
		done <- Read(ctx, dir, ReadOptions{Stream: true}, func(e Event) error {
			got <- e.Status
			return nil
		})
	}()
	for _, s := range []string{"create", "start"} {
		if err := Record(dir, Event{Status: s}); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != s {
				t.Errorf("streamed %q, want %q", g, s)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not streamed", s)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Read: %v", err)
	}
}

// TestConfiguredLog: containers.conf's events_logfile_path and
// events_logfile_max_size, rotated as Podman rotates (its system test's
// case): the log is cut after the first line end past its middle, and a
// system log-rotation event naming the log comes before the new line.
func TestConfiguredLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "elsewhere", "events.txt")
	defer func(s func() Settings) { settings = s }(settings)
	limitSet := false
	settings = func() Settings { return Settings{Path: logPath, MaxSize: 4750, MaxSizeSet: limitSet} }
	if Path(dir) != logPath {
		t.Fatalf("Path: %s, want %s", Path(dir), logPath)
	}
	// 100 lines of 95 bytes: twice the limit.
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, `{"Name":"busybox","Status":"pull","Time":"2022-04-06T11:26:42.7236679%02d+02:00","Type":"image","Attributes":null}`+"\n", i)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Without a limit (here: the settings' limit unset, the default's
	// far away) nothing is dropped.
	if err := Record(dir, Event{Type: TypeContainer, Status: "create", ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if got := statuses(t, dir, ReadOptions{}); len(got) != 101 {
		t.Fatalf("%d events without a limit, want 101", len(got))
	}
	before, _ := os.ReadFile(logPath)
	limitSet = true
	if err := Record(dir, Event{Type: TypeContainer, Status: "remove", ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	half := len(before) / 2
	kept := before[half+bytes.IndexByte(before[half:], '\n')+1:]
	if !bytes.HasPrefix(after, kept) {
		t.Fatalf("the log does not start with what followed its middle:\n%s", after)
	}
	var got []Event
	if err := Read(context.Background(), dir, ReadOptions{}, func(e Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	n := bytes.Count(kept, []byte("\n"))
	if len(got) != n+2 || got[n].Type != TypeSystem || got[n].Status != "log-rotation" || got[n].Name != logPath || got[n+1].Status != "remove" {
		t.Fatalf("after rotation: %d events (want %d), the last two %+v", len(got), n+2, got[max(0, len(got)-2):])
	}
}
