package build

import "errors"

var (
	// ErrParse is returned for a Containerfile that does not parse; the
	// message starts with FILE:LINE.
	ErrParse = errors.New("containerfile syntax")
	// ErrUnsafeSource is returned for a COPY or ADD source that leaves the
	// build context (a ".." path, or a symlink pointing out of it).
	ErrUnsafeSource = errors.New("source is outside the build context")
	// ErrNoSource is returned when a COPY or ADD source matches nothing.
	ErrNoSource = errors.New("no source files were specified")
	// ErrUnsupported is returned for Containerfile features myctr does not
	// implement (RUN --mount, heredocs, ...).
	ErrUnsupported = errors.New("not supported")
	// ErrStage is returned for an unknown --target or --from stage.
	ErrStage = errors.New("unknown build stage")
)

// RunError is a RUN step whose command failed.
type RunError struct {
	Step    string // "STEP 3/7: RUN false"
	Command []string
	Exit    int
}

func (e *RunError) Error() string {
	return e.Step + ": command " + quoteArgs(e.Command) + " exited with status " + itoa(e.Exit)
}
