package ociruntime

// HintError is a failure whose fix is known: myctr-runtime prints the
// fix after the error, on a line of its own ("Hint: ...").
type HintError struct {
	Err error
	Fix string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// Hint is what the caller can do about it.
func (e *HintError) Hint() string { return e.Fix }
