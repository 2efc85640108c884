package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	w, err := openLog(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.write("stdout", []byte("one\ntw"))
	w.write("stderr", []byte("err line\n"))
	w.write("stdout", []byte("o\nthree"))
	w.Close()
	f, _ := os.Open(path)
	defer f.Close()
	lr := newLogReader(f)
	var got []LogLine
	for {
		l, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *l)
	}
	for _, l := range lr.flush() {
		got = append(got, *l)
	}
	want := []struct{ stream, text string }{{"stdout", "one"}, {"stderr", "err line"}, {"stdout", "two"}, {"stdout", "three"}}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Stream != w.stream || got[i].Text != w.text {
			t.Errorf("line %d = %s %q, want %s %q", i, got[i].Stream, got[i].Text, w.stream, w.text)
		}
	}
	if got[3].Full {
		t.Errorf("unterminated last line reported as full")
	}
}

func TestParseLogOpts(t *testing.T) {
	for _, tc := range []struct {
		opts   []string
		driver string
		want   *LogOpts
		err    error
	}{
		{nil, LogFile, nil, nil},
		{[]string{"max-size=3.045m"}, LogFile, &LogOpts{MaxSize: 3045000}, nil},
		{[]string{"max-size=10k", "tag=web"}, LogFile, &LogOpts{MaxSize: 10000, Tag: "web"}, nil},
		{[]string{"path=/tmp/x.log"}, LogFile, &LogOpts{Path: "/tmp/x.log"}, nil},
		{[]string{"tag=web"}, LogJournald, &LogOpts{Tag: "web"}, nil},
		{[]string{"max-size=1m"}, LogJournald, nil, ErrInvalidLogOpt},
		{[]string{"max-size=lots"}, LogFile, nil, ErrInvalidLogOpt},
		{[]string{"max-size"}, LogFile, nil, ErrInvalidLogOpt},
		{[]string{"path="}, LogFile, nil, ErrInvalidLogOpt},
		{[]string{"tag={{.Name}}"}, LogJournald, nil, ErrInvalidLogOpt},
		{[]string{"max-file=3", "tag=x"}, LogFile, &LogOpts{Tag: "x", Other: map[string]string{"max-file": "3"}}, nil},
		{[]string{"max-file="}, LogFile, nil, ErrInvalidLogOpt},
	} {
		got, err := ParseLogOpts(tc.opts, tc.driver)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("ParseLogOpts(%q, %s): error %v, want %v", tc.opts, tc.driver, err, tc.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseLogOpts(%q, %s) = %+v, want %+v", tc.opts, tc.driver, got, tc.want)
		}
	}
	if got, err := ParseLogOpts([]string{"path=rel.log"}, LogFile); err != nil || !filepath.IsAbs(got.Path) {
		t.Errorf("relative path: %+v, %v; want an absolute path", got, err)
	}
}

// TestLogRotation writes past max-size and reads the log back the way
// `logs -f` does, across the rotations: every line, in order, and no file
// larger than the limit unless one record is.
func TestLogRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	const max = 300
	w, err := openLog(path, max)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tail := &logTail{c: &Container{Name: "t"}, path: path}
	if tail.f, err = os.Open(path); err != nil {
		t.Fatal(err)
	}
	defer tail.close()
	tail.lr = newLogReader(tail.f)
	var got []string
	emit := func(l *LogLine) { got = append(got, l.Text) }
	rotations := 0
	for i := range 40 {
		// Two records in one write, and sometimes a partial line.
		w.write("stdout", fmt.Appendf(nil, "line %d\nline %d-b\n", i, i))
		if i%7 == 0 {
			if err := tail.each(emit); err != nil {
				t.Fatal(err)
			}
			for {
				r, err := tail.rotated(emit)
				if err != nil {
					t.Fatal(err)
				}
				if !r {
					break
				}
				rotations++
				tail.each(emit)
			}
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > max {
			t.Fatalf("after write %d the log has %d bytes, more than %d", i, st.Size(), max)
		}
	}
	tail.each(emit)
	if r, _ := tail.rotated(emit); r {
		rotations++
		tail.each(emit)
	}
	if rotations == 0 {
		t.Fatal("the log was never rotated")
	}
	// Lines of a file replaced twice between two looks are lost, as with
	// conmon; here the reader looks every 7 writes and a file holds about
	// 4, so some are lost, but what is read is in order and whole.
	prev := -1
	for _, l := range got {
		var n int
		if _, err := fmt.Sscanf(l, "line %d", &n); err != nil {
			t.Fatalf("line %q is not whole", l)
		}
		if n < prev {
			t.Fatalf("line %q after line %d", l, prev)
		}
		prev = n
	}
	if prev != 39 {
		t.Errorf("last line read is %d, want 39", prev)
	}
}

func TestLogRotationBigRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	w, err := openLog(path, 50)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	big := strings.Repeat("x", 100)
	w.write("stdout", []byte(big+"\n"))
	w.write("stdout", []byte("small\n"))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), big) || !strings.Contains(string(data), " F small\n") {
		t.Errorf("after a record larger than the limit and a small one, the log is %q; want the small one alone", data)
	}
}
