package archivetest

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// naiveExtract is the extraction the corpus exists to catch: names joined
// to dest, and symlinks planted by earlier entries followed by the kernel
// (what `myctr load` did before issue 20).
func naiveExtract(r io.Reader, dest string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dest, h.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		switch h.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			os.Symlink(h.Linkname, p)
		case tar.TypeReg:
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				continue
			}
			io.Copy(f, tr)
			f.Close()
		}
	}
}

// TestCheckCatchesEscapes: the sandbox's check fails for a reader that
// writes through planted symlinks, or by ".." names.
func TestCheckCatchesEscapes(t *testing.T) {
	for _, name := range []string{
		"absolute symlink then write through",
		"relative symlink then write through",
		"dotdot name",
		"symlink to root then write through",
		"symlink chain ending outside then write through",
	} {
		t.Run(name, func(t *testing.T) {
			sb := NewSandbox(t)
			var c Case
			for _, cc := range Corpus(sb.Outside) {
				if cc.Name == name {
					c = cc
				}
			}
			if c.Name == "" {
				t.Fatalf("no case %q", name)
			}
			naiveExtract(bytes.NewReader(Tar(t, c.Entries)), sb.Dest)
			rec := &recorder{TB: t}
			sb.Check(rec)
			if len(rec.errors) == 0 {
				t.Fatalf("Check found nothing after a naive extraction of %q", name)
			}
			if !strings.Contains(rec.errors[0], "planted") && !strings.Contains(rec.errors[0], "pwned") {
				t.Errorf("Check's report does not show the planted file:\n%s", rec.errors[0])
			}
		})
	}
	t.Run("touch only", func(t *testing.T) {
		sb := NewSandbox(t)
		os.Chtimes(filepath.Join(sb.Outside, "keep"), time.Now(), time.Now())
		rec := &recorder{TB: t}
		sb.Check(rec)
		if len(rec.errors) == 0 {
			t.Fatal("Check missed a changed modification time")
		}
	})
}

// TestCorpusNames: names are unique, and Expect catches a missing one.
func TestCorpusNames(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range Names() {
		if seen[n] {
			t.Errorf("duplicate case name %q", n)
		}
		seen[n] = true
	}
	table := map[string]bool{}
	for _, n := range Names()[1:] {
		table[n] = true
	}
	table["not a case"] = true
	rec := &recorder{TB: t}
	Expect(rec, table)
	if len(rec.errors) != 2 {
		t.Errorf("Expect reported %q, want the missing and the unknown case", rec.errors)
	}
}
