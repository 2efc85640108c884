//go:build cgo

package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// FuzzProfile loads the fuzzer's bytes as a --security-opt seccomp=FILE
// profile, as run does (Spec, then Compile). It checks that nothing
// panics; that bytes that are not JSON give ErrProfile naming the file
// and a line:column inside it; that no filter comes only from a profile
// with no default action and no rules; that every other refusal is ErrProfile or
// ErrInvalid naming the file; and that an accepted profile compiles or
// is refused with an error, never a panic.
func FuzzProfile(f *testing.F) {
	for _, s := range []string{
		`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":9,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"op":"SCMP_CMP_EQ"}]}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],"syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":4294967295,"op":"SCMP_CMP_MASKED_EQ","valueTwo":8}],"includes":{"caps":["CAP_SYS_ADMIN"],"minKernel":"4.8"},"excludes":{"arches":["s390x"]}}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["no_such_call"],"action":"SCMP_ACT_KILL"}]}`,
		`{"defaultAction":"SCMP_ACT_TRACE","syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO","errnoRet":38}]}`,
		"{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [ ,\n]}",
		`{"defaultAction": `, "{\n\"defaultAction\": 7}", `{"defaultAction":"SCMP_ACT_NOTIFY"}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[null]}`, `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"op":"SCMP_CMP_EQ"}]}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","includes":{"minKernel":"x.y"}}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_PDP11"]}`, `[]`, `null`, ``, "\xff",
	} {
		f.Add([]byte(s))
	}
	posRE := regexp.MustCompile(`profile\.json:([0-9]+):([0-9]+): `)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeProfile(t, string(data))
		s, err := Spec(p, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"})
		if err != nil {
			if !errors.Is(err, ErrProfile) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Spec: %v is neither ErrProfile nor ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("Spec: %v does not name %s", err, p)
			}
			if !json.Valid(data) {
				m := posRE.FindStringSubmatch(err.Error())
				if m == nil || !errors.Is(err, ErrProfile) {
					t.Fatalf("Spec: %v: no line:column for bytes that are not JSON", err)
				}
				line, _ := strconv.Atoi(m[1])
				col, _ := strconv.Atoi(m[2])
				lines := bytes.Split(data, []byte("\n"))
				if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1])+1 {
					t.Fatalf("Spec: %v: outside the %d lines of the file", err, len(lines))
				}
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Spec accepted bytes that are not JSON")
		}
		if s == nil {
			// A file never means no filter ({} and null are refused).
			t.Fatalf("Spec gave no filter for a profile file")
		}
		if _, err := Compile(s); err != nil && !strings.Contains(err.Error(), "seccomp") {
			t.Fatalf("Compile: %v", err)
		}
	})
}

// FuzzParseOption reads a seccomp= value: refusals are ErrOption, and what
// is accepted is "unconfined" or an absolute, clean path.
func FuzzParseOption(f *testing.F) {
	for _, s := range []string{"", "unconfined", "profile.json", "/etc/p.json", "../x", "./a/../b", "Unconfined"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := ParseOption(v)
		if err != nil {
			if !errors.Is(err, ErrOption) {
				t.Fatalf("ParseOption(%q): %v is not ErrOption", v, err)
			}
			return
		}
		if got != Unconfined && (!filepath.IsAbs(got) || filepath.Clean(got) != got) {
			t.Fatalf("ParseOption(%q) = %q", v, got)
		}
	})
}
