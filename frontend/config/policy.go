package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Policy is a policy.json (containers-policy.json(5)).
type Policy struct {
	File       string // "" when there is none: every image is accepted
	Default    []Requirement
	Transports map[string]map[string][]Requirement
}

// Requirement is one entry of a requirement list; only its type matters
// to myctr.
type Requirement struct {
	Type string `json:"type"`
}

// LoadPolicy reads e's policy.json. Without one, the policy accepts
// everything: Podman refuses to pull then, but myctr checks no signatures,
// so the stock file (insecureAcceptAnything) and no file mean the same.
func LoadPolicy(e Env) (*Policy, error) {
	f := e.PolicyFile()
	if f == "" {
		return &Policy{}, nil
	}
	return ReadPolicy(f)
}

// ReadPolicy reads the policy.json at path.
func ReadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var raw struct {
		Default    []Requirement                       `json:"default"`
		Transports map[string]map[string][]Requirement `json:"transports"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		line := 0
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line = lineAt(b, se.Offset)
		case errors.As(err, &te):
			line = lineAt(b, te.Offset)
		}
		return nil, &FileError{File: path, Line: line, Msg: err.Error()}
	}
	if raw.Default == nil {
		return nil, &FileError{File: path, Msg: `no "default" requirements: a policy needs a default, such as [{"type": "insecureAcceptAnything"}]`}
	}
	p := &Policy{File: path, Default: raw.Default, Transports: raw.Transports}
	check := func(where string, reqs []Requirement) error {
		if len(reqs) == 0 {
			return &FileError{File: path, Msg: where + ": an empty requirement list"}
		}
		for _, r := range reqs {
			switch r.Type {
			case "insecureAcceptAnything", "reject", "signedBy", "sigstoreSigned":
			default:
				return &FileError{File: path, Msg: fmt.Sprintf("%s: unknown requirement type %q", where, r.Type)}
			}
		}
		return nil
	}
	if err := check("default", p.Default); err != nil {
		return nil, err
	}
	for t, scopes := range p.Transports {
		for s, reqs := range scopes {
			if t == "docker-archive" && s != "" {
				// As Podman's: an archive's name says nothing stable
				// about what is in it.
				return nil, &FileError{File: path, Msg: fmt.Sprintf("transports.docker-archive[%q]: docker-archive has only the default scope \"\"", s)}
			}
			if err := check(fmt.Sprintf("transports.%s[%q]", t, s), reqs); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func lineAt(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	return bytes.Count(b[:off], []byte("\n")) + 1
}

// Check says whether an image may come in through transport ("docker",
// "docker-archive", "oci-archive") from scope (for docker, the image's
// full name host/path:tag or @digest; for an oci-archive, the file's
// absolute path, matched by it and its parent directories, "" for
// standard input; a docker-archive has only the transport's default). The most specific scope that the
// policy names decides; every requirement of its list must accept.
func (p *Policy) Check(transport, scope string) error {
	reqs, which := p.Default, "default"
	if scopes, ok := p.Transports[transport]; ok {
		for _, s := range candidateScopes(transport, scope) {
			if r, ok := scopes[s]; ok {
				reqs, which = r, fmt.Sprintf("transports.%s[%q]", transport, s)
				break
			}
		}
	}
	for _, r := range reqs {
		switch r.Type {
		case "insecureAcceptAnything":
		case "reject":
			return fmt.Errorf("%s:%s is %w (%s in %s)", transport, scope, ErrRejected, which, p.File)
		default:
			return fmt.Errorf("%s:%s: %w (%s: %s in %s)", transport, scope, ErrSignatureRequired, which, r.Type, p.File)
		}
	}
	return nil
}

// candidateScopes lists the scopes that may match, most specific first,
// ending with the transport's default "".
func candidateScopes(transport, scope string) []string {
	var out []string
	if scope == "" || transport == "docker-archive" {
		return []string{""}
	}
	switch transport {
	case "docker":
		out = append(out, scope)
		name := scope
		if i := strings.Index(name, "@"); i >= 0 {
			name = name[:i]
		} else if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
			name = name[:i]
		}
		for n := name; n != ""; {
			if n != scope {
				out = append(out, n)
			}
			i := strings.LastIndex(n, "/")
			if i < 0 {
				break
			}
			n = n[:i]
		}
		host, _, _ := strings.Cut(name, "/")
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		labels := strings.Split(host, ".")
		for i := 1; i < len(labels); i++ {
			out = append(out, "*."+strings.Join(labels[i:], "."))
		}
	default:
		for d := filepath.Clean(scope); ; d = filepath.Dir(d) {
			out = append(out, d)
			if d == "/" || d == "." {
				break
			}
		}
	}
	return append(out, "")
}

// Summary describes the policy for `myctr info`: the file and, per
// transport, the scopes and their requirement types.
func (p *Policy) Summary() []string {
	if p.File == "" {
		return []string{"no policy.json: every image is accepted"}
	}
	types := func(rs []Requirement) string {
		var t []string
		for _, r := range rs {
			t = append(t, r.Type)
		}
		return strings.Join(t, ",")
	}
	out := []string{"default: " + types(p.Default)}
	var ts []string
	for t := range p.Transports {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	for _, t := range ts {
		var ss []string
		for s := range p.Transports[t] {
			ss = append(ss, s)
		}
		sort.Strings(ss)
		for _, s := range ss {
			out = append(out, fmt.Sprintf("%s:%s: %s", t, s, types(p.Transports[t][s])))
		}
	}
	return out
}
