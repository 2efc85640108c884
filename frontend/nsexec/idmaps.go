package nsexec

import (
	"errors"
	"strings"

	"github.com/myctr/myctr/frontend/userns"
)

// MapperEnv is the init stage's environment that has its constructor
// write the id maps of the user namespace it makes, with the command
// lines of userns.Mapping.Mappers (nil for none: the parent writes them).
// The constructor starts both tools before it makes the namespace and
// waits for them after it has made the others and cloned PID 1, so the
// maps are written beside that work rather than after the parent hears
// of PID 1; and two children forked by a small C process start side by
// side, where Go's forks are serialised.
func MapperEnv(uid, gid []string) []string {
	if uid == nil || gid == nil {
		return nil
	}
	return []string{EnvInitUIDMap + "=" + strings.Join(uid, " "), EnvInitGIDMap + "=" + strings.Join(gid, " ")}
}

// MapperError turns the init stage's report of a failed newuidmap or
// newgidmap (a StepError whose step is the tool's command line, with no
// errno, and whose message is the exit status then the tool's output)
// into the *userns.MapperError running the tool here would have
// returned; ok is false for any other error.
func MapperError(err error) (_ error, ok bool) {
	var se *StepError
	if !errors.As(err, &se) || se.Errno != 0 {
		return err, false
	}
	f := strings.Fields(se.Step)
	if len(f) < 2 || (f[0] != "newuidmap" && f[0] != "newgidmap") {
		return err, false
	}
	status, out, _ := strings.Cut(se.Msg, ": ")
	return &userns.MapperError{Tool: f[0], Args: f[1:], Output: out, Err: errors.New(status)}, true
}
