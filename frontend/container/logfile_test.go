package container

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestLogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	w, err := openLog(path)
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
