package landlock

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Ruleset is what a container's processes may do, as the landlock= option
// says it: container paths for reading, writing and executing, and TCP
// ports for bind and connect. It travels to the init and the exec stage
// as JSON.
type Ruleset struct {
	RO      []string `json:",omitempty"`
	RW      []string `json:",omitempty"`
	Exec    []string `json:",omitempty"`
	Bind    []uint16 `json:",omitempty"`
	Connect []uint16 `json:",omitempty"`
}

// FS reports whether the filesystem is restricted (a ro, rw or exec group).
func (r *Ruleset) FS() bool {
	return r != nil && len(r.RO)+len(r.RW)+len(r.Exec) > 0
}

// Net reports whether TCP bind and connect are restricted (a net group).
func (r *Ruleset) Net() bool {
	return r != nil && len(r.Bind)+len(r.Connect) > 0
}

// groups are the prefixes of the option's groups.
const (
	groupRO      = "ro:"
	groupRW      = "rw:"
	groupExec    = "exec:"
	groupBind    = "net:bind="
	groupConnect = "net:connect="
)

// IsRules reports whether an option value is rules rather than a file
// name: it begins with a group, or it has a colon before any slash (an
// unknown group, which Parse names). A file's name begins with / or .
// or has no colon.
func IsRules(v string) bool {
	for _, g := range []string{groupRO, groupRW, groupExec, "net:"} {
		if strings.HasPrefix(v, g) {
			return true
		}
	}
	i := strings.IndexByte(v, ':')
	return i >= 0 && !strings.ContainsRune(v[:i], '/') && !strings.HasPrefix(v, ".")
}

// ParseOption reads the value of --security-opt landlock=V: groups (see
// the package doc), or the name of a file holding them.
func ParseOption(v string) (*Ruleset, error) {
	if v == "" {
		return nil, fmt.Errorf("%w: landlock= needs rules (ro:PATH, rw:PATH, exec:PATH, net:bind=PORT, net:connect=PORT) or a file", ErrOption)
	}
	if IsRules(v) {
		return Parse(v)
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("%w: landlock=%s: %w", ErrOption, v, err)
	}
	r, err := ParseFile(string(b))
	if err != nil {
		return nil, fmt.Errorf("landlock file %s: %w", v, err)
	}
	return r, nil
}

// ParseFile reads the text of a landlock file: groups separated by commas
// or newlines; # begins a comment that runs to the end of its line.
func ParseFile(text string) (*Ruleset, error) {
	var parts []string
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, g := range strings.Split(line, ",") {
			if g = strings.TrimSpace(g); g != "" {
				parts = append(parts, g)
			}
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no rules", ErrOption)
	}
	return Parse(strings.Join(parts, ","))
}

// Parse reads comma-separated groups. Every group must parse: a bad one
// is an error naming it, never a ruleset that grants more or less than
// was written.
func Parse(s string) (*Ruleset, error) {
	r := &Ruleset{}
	for _, g := range strings.Split(s, ",") {
		if err := r.addGroup(g); err != nil {
			return nil, err
		}
	}
	r.normalize()
	return r, nil
}

func (r *Ruleset) addGroup(g string) error {
	switch {
	case g == "":
		return fmt.Errorf("%w: empty group (two commas, or one at an end)", ErrOption)
	case strings.HasPrefix(g, groupRO):
		return addPaths(&r.RO, g, groupRO)
	case strings.HasPrefix(g, groupRW):
		return addPaths(&r.RW, g, groupRW)
	case strings.HasPrefix(g, groupExec):
		return addPaths(&r.Exec, g, groupExec)
	case strings.HasPrefix(g, groupBind):
		return addPorts(&r.Bind, g, groupBind, 0)
	case strings.HasPrefix(g, groupConnect):
		return addPorts(&r.Connect, g, groupConnect, 1)
	}
	return fmt.Errorf("%w: %q: unknown group (ro:PATH, rw:PATH, exec:PATH, net:bind=PORT, net:connect=PORT)", ErrOption, g)
}

// maxPath is PATH_MAX, counting the terminating NUL.
const maxPath = 4095

func addPaths(dst *[]string, g, prefix string) error {
	list := strings.TrimPrefix(g, prefix)
	if list == "" {
		return fmt.Errorf("%w: %q: no path", ErrOption, g)
	}
	for _, p := range strings.Split(list, ":") {
		switch {
		case p == "":
			return fmt.Errorf("%w: %q: empty path", ErrOption, g)
		case !strings.HasPrefix(p, "/"):
			return fmt.Errorf("%w: %q: %q is not an absolute path", ErrOption, g, p)
		case strings.ContainsRune(p, 0):
			return fmt.Errorf("%w: %q: a path holds a NUL byte", ErrOption, g)
		case len(p) > maxPath:
			return fmt.Errorf("%w: %q: a path is longer than %d bytes", ErrOption, g, maxPath)
		}
		*dst = append(*dst, filepath.Clean(p))
	}
	return nil
}

func addPorts(dst *[]uint16, g, prefix string, lowest int) error {
	list := strings.TrimPrefix(g, prefix)
	if list == "" {
		return fmt.Errorf("%w: %q: no port", ErrOption, g)
	}
	for _, p := range strings.Split(list, ":") {
		n, err := strconv.Atoi(p)
		if err != nil || n < lowest || n > 65535 || strings.HasPrefix(p, "+") {
			return fmt.Errorf("%w: %q: %q is not a TCP port (%d-65535)", ErrOption, g, p, lowest)
		}
		*dst = append(*dst, uint16(n))
	}
	return nil
}

// normalize sorts each list and removes duplicates, so that two spellings
// of one ruleset compare (and print) the same.
func (r *Ruleset) normalize() {
	for _, l := range []*[]string{&r.RO, &r.RW, &r.Exec} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	for _, l := range []*[]uint16{&r.Bind, &r.Connect} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
}

// Merge adds o's rules to r's (several landlock= options add up) and
// returns the result; either may be nil.
func Merge(r, o *Ruleset) *Ruleset {
	if r == nil {
		return o
	}
	if o == nil {
		return r
	}
	m := &Ruleset{
		RO:      slices.Concat(r.RO, o.RO),
		RW:      slices.Concat(r.RW, o.RW),
		Exec:    slices.Concat(r.Exec, o.Exec),
		Bind:    slices.Concat(r.Bind, o.Bind),
		Connect: slices.Concat(r.Connect, o.Connect),
	}
	m.normalize()
	return m
}

// String is the ruleset in the option's syntax, which Parse reads back.
func (r *Ruleset) String() string {
	var groups []string
	for _, g := range []struct {
		prefix string
		paths  []string
	}{{groupRO, r.RO}, {groupRW, r.RW}, {groupExec, r.Exec}} {
		if len(g.paths) > 0 {
			groups = append(groups, g.prefix+strings.Join(g.paths, ":"))
		}
	}
	for _, g := range []struct {
		prefix string
		ports  []uint16
	}{{groupBind, r.Bind}, {groupConnect, r.Connect}} {
		if len(g.ports) > 0 {
			s := make([]string, len(g.ports))
			for i, p := range g.ports {
				s[i] = strconv.Itoa(int(p))
			}
			groups = append(groups, g.prefix+strings.Join(s, ":"))
		}
	}
	return strings.Join(groups, ",")
}

// ParseStrict reads the landlock-strict option: "landlock-strict",
// "landlock-strict=true" or "=false" (and Docker's ":" spelling). ok is
// false when so is not that option.
func ParseStrict(so string) (strict, ok bool, err error) {
	v, found := strings.CutPrefix(so, "landlock-strict")
	if !found {
		return false, false, nil
	}
	switch v {
	case "", "=true", ":true":
		return true, true, nil
	case "=false", ":false":
		return false, true, nil
	}
	return false, true, fmt.Errorf("%w: %q (landlock-strict, landlock-strict=true or =false)", ErrOption, so)
}

// The annotations of a container's spec (config.json) that hold its
// ruleset, in the option's syntax, and whether it is strict. The init and
// every exec take the ruleset from there.
const (
	AnnotationRules  = "io.myctr.landlock"
	AnnotationStrict = "io.myctr.landlock.strict"
)

// Annotate records r and strict in a spec's annotations (which may be nil).
func Annotate(a map[string]string, r *Ruleset, strict bool) map[string]string {
	if r == nil {
		return a
	}
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationRules] = r.String()
	if strict {
		a[AnnotationStrict] = "true"
	}
	return a
}

// FromAnnotations reads back what Annotate recorded: nil when the
// container has no ruleset.
func FromAnnotations(a map[string]string) (r *Ruleset, strict bool, err error) {
	text, ok := a[AnnotationRules]
	if !ok {
		return nil, false, nil
	}
	if r, err = Parse(text); err != nil {
		return nil, false, fmt.Errorf("the container's recorded ruleset: %w", err)
	}
	return r, a[AnnotationStrict] == "true", nil
}
