package systemd

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseUnitFile(t *testing.T) {
	const in = "\ufeff# comment\n" +
		"; another\n" +
		"[Unit]\n" +
		"Description=a web server  \n" +
		"\n" +
		"[Container]\n" +
		"Image=bb\n" +
		"Exec=httpd \\\n" +
		"# a comment inside a continuation is skipped\n" +
		"  -f \\\n" +
		"  -p 8080\n" +
		"Volume=/a:/a\n" +
		"Volume=\n" +
		"Volume=/b:/b\n" +
		"Volume=/c:/c\n" +
		"Odd=ends in \\\\\n" +
		"  Key2  =  v = w  \n" +
		"[Unit]\n" +
		"After=network.target\n"
	u, err := ParseUnitFile(strings.NewReader(in), "x.container")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Sections) != 2 {
		t.Fatalf("sections: %+v", u.Sections)
	}
	want := []Entry{
		{"Description", "a web server", 4},
		{"After", "network.target", 19},
	}
	if got := u.Section("Unit").Entries; !reflect.DeepEqual(got, want) {
		t.Errorf("[Unit] = %+v, want %+v", got, want)
	}
	ct := u.Section("Container")
	if ct.Line != 6 {
		t.Errorf("[Container] line %d, want 6", ct.Line)
	}
	if e, _ := ct.Last("Exec"); e.Value != "httpd  -f  -p 8080" || e.Line != 8 {
		t.Errorf("Exec = %+v", e)
	}
	var vols []string
	for _, e := range ct.List("Volume") {
		vols = append(vols, e.Value)
	}
	if !reflect.DeepEqual(vols, []string{"/b:/b", "/c:/c"}) {
		t.Errorf("Volume list after reset = %q", vols)
	}
	if e, _ := ct.Last("Odd"); e.Value != `ends in \\` {
		t.Errorf("an escaped trailing backslash continued the line: %+v", e)
	}
	if e, _ := ct.Last("Key2"); e.Value != "v = w" {
		t.Errorf("Key2 = %+v", e)
	}
}

func TestParseUnitFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unterminated continuation", "[Container]\nImage=bb\nExec=a \\\n  b \\\n", 3, "past the end"},
		{"key outside a section", "# top\nImage=bb\n[Container]\n", 2, "outside any [section]"},
		{"bad section header", "[Container\nImage=bb\n", 1, "section header"},
		{"empty section name", "[]\n", 1, "section header"},
		{"not key=value", "[Container]\nImage bb\n", 2, "neither"},
		{"space in key", "[Container]\nIm age=bb\n", 2, "bad key"},
		{"empty key", "[Container]\n=bb\n", 2, "bad key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseUnitFile(strings.NewReader(tc.in), "f.container")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("err = %v, want line %d and %q", err, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "f.container:") {
				t.Errorf("err = %v does not name the file", err)
			}
		})
	}
}

func TestParseUnitFileTooLarge(t *testing.T) {
	in := "[Container]\nX=" + strings.Repeat("a", maxUnitFileSize) + "\n"
	if _, err := ParseUnitFile(strings.NewReader(in), "big"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParseUnit: the parser never panics, and what it accepts, written
// back, parses to the same entries.
func FuzzParseUnit(f *testing.F) {
	for _, s := range []string{
		"[Unit]\nDescription=x\n[Container]\nImage=bb\nExec=a \"b c\" \\\n d\n",
		"[A]\nK=\nK=v\n; c\n# c\n",
		"[A]\nK=a\\\\\n",
		"[A]\nK=a \\\n\nL=b\n",
		"K=v\n",
		"[A\n",
		"[A]\nK=v \\",
		"\ufeff[A]\r\nK=v\r\n",
		"[A]\n[B]\n[A]\nK=1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := ParseUnitFile(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		u2, err := ParseUnitFile(strings.NewReader(u.String()), "fuzz")
		if err != nil {
			t.Fatalf("written back %q, it does not parse: %v", u.String(), err)
		}
		if len(u.Sections) != len(u2.Sections) {
			t.Fatalf("sections %d, then %d", len(u.Sections), len(u2.Sections))
		}
		for i, s := range u.Sections {
			s2 := u2.Sections[i]
			if s.Name != s2.Name || len(s.Entries) != len(s2.Entries) {
				t.Fatalf("section %q (%d entries), then %q (%d)", s.Name, len(s.Entries), s2.Name, len(s2.Entries))
			}
			for j, e := range s.Entries {
				if e.Key != s2.Entries[j].Key || e.Value != s2.Entries[j].Value {
					t.Fatalf("entry %+v, then %+v", e, s2.Entries[j])
				}
			}
		}
	})
}
