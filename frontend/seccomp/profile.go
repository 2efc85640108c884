package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	mseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Unconfined is the --security-opt seccomp= value for no filter at all.
const Unconfined = "unconfined"

// AnnotationProfile is the spec annotation (and inspect's
// Config.Annotations key) naming the profile a container was given, as
// Podman names it: a file's path or "unconfined"; absent for the default.
const AnnotationProfile = "io.podman.annotations.seccomp"

// ParseOption reads the VALUE of --security-opt seccomp=VALUE: Unconfined,
// or the path of a profile file (made absolute, so that the record says
// which file was read).
func ParseOption(v string) (string, error) {
	switch {
	case v == "":
		return "", fmt.Errorf("%w: seccomp= needs a profile file or %q", ErrOption, Unconfined)
	case v == Unconfined:
		return v, nil
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrOption, v, err)
	}
	return abs, nil
}

// Spec is the OCI seccomp section of a container whose bounding set is
// bounding. source "" is Docker's default profile, Unconfined is no filter
// (nil), anything else names a profile file in Docker's JSON format. Rules
// with "includes"/"excludes" are kept or dropped for these capabilities,
// this architecture and the running kernel, as Docker does; so the section
// depends on --cap-add and --cap-drop.
func Spec(source string, bounding []string) (*specs.LinuxSeccomp, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: bounding}}}
	switch source {
	case "":
		return mseccomp.GetDefaultProfile(rs)
	case Unconfined:
		return nil, nil
	}
	data, err := os.ReadFile(source)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	p, err := decode(source, data)
	if err != nil {
		return nil, err
	}
	if err := validate(source, p); err != nil {
		return nil, err
	}
	s, err := mseccomp.LoadProfile(string(data), rs)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInvalid, source, err)
	}
	return s, nil
}

// decode reads a profile, naming the file and the line:column of the
// first byte that is not valid JSON or not of the expected type.
func decode(name string, data []byte) (*mseccomp.Seccomp, error) {
	var p mseccomp.Seccomp
	err := json.Unmarshal(data, &p)
	if err == nil {
		return &p, nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	if off < 0 {
		return nil, fmt.Errorf("%w %s: %w", ErrProfile, name, err)
	}
	line, col := position(data, off)
	return nil, fmt.Errorf("%w %s:%d:%d: %w", ErrProfile, name, line, col, err)
}

// position turns encoding/json's offset (the bytes read when the error
// was found) into the 1-based line and column of the byte at fault.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	at := int(off)
	if at > 0 {
		at-- // the offending byte was the last one read
	}
	before := data[:at]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = at - bytes.LastIndexByte(before, '\n')
	return line, col
}

// Actions, operators and flags that runtime-spec defines and that myctr
// can load. SCMP_ACT_NOTIFY needs a seccomp agent to answer, which myctr
// does not run: a profile asking for one is refused rather than turned
// into a filter that hangs the container's calls.
var (
	actions = map[specs.LinuxSeccompAction]bool{
		specs.ActKill: true, specs.ActKillProcess: true, specs.ActKillThread: true, specs.ActTrap: true,
		specs.ActErrno: true, specs.ActTrace: true, specs.ActAllow: true, specs.ActLog: true,
	}
	operators = map[specs.LinuxSeccompOperator]bool{
		specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true, specs.OpEqualTo: true,
		specs.OpGreaterEqual: true, specs.OpGreaterThan: true, specs.OpMaskedEqual: true,
	}
	flags = map[specs.LinuxSeccompFlag]bool{
		"SECCOMP_FILTER_FLAG_TSYNC": true, specs.LinuxSeccompFlagLog: true, specs.LinuxSeccompFlagSpecAllow: true,
	}
)

// validate refuses what no filter can mean: an unknown action, operator,
// flag or argument index, a rule without a name, or rules without a
// default action.
func validate(name string, p *mseccomp.Seccomp) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrInvalid, name, fmt.Sprintf(format, a...))
	}
	if p.DefaultAction == "" {
		if len(p.Syscalls) > 0 {
			return bad("defaultAction is missing")
		}
		// Docker and Podman read such a file ({} or null) as no filter
		// at all; a file that asks for a filter and gets none is refused
		// here, and seccomp=unconfined says it on purpose.
		return bad("neither defaultAction nor syscalls: it would apply no filter (use --security-opt seccomp=unconfined for none)")
	} else if !actions[p.DefaultAction] {
		return bad("defaultAction: unknown action %q", p.DefaultAction)
	}
	for _, f := range p.Flags {
		if !flags[f] {
			return bad("flags: unknown or unsupported flag %q", f)
		}
	}
	for i, r := range p.Syscalls {
		if r == nil {
			return bad("syscalls[%d] is null", i)
		}
		what := fmt.Sprintf("syscalls[%d]", i)
		names := r.Names
		if r.Name != "" {
			names = append([]string{r.Name}, names...)
		}
		if len(names) == 0 {
			return bad("%s names no syscall", what)
		}
		what += " (" + strings.Join(names, ", ") + ")"
		if !actions[r.Action] {
			return bad("%s: unknown action %q", what, r.Action)
		}
		for _, a := range r.Args {
			if a.Index > 5 {
				return bad("%s: argument index %d (a syscall has 6 arguments, 0 to 5)", what, a.Index)
			}
			if !operators[a.Op] {
				return bad("%s: unknown operator %q", what, a.Op)
			}
		}
	}
	return nil
}
