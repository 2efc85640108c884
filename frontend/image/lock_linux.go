package image

import (
	"github.com/myctr/myctr/protocol/flock"
)

// fileLock is an flock(2) lock on its own open file description, so two
// Stores in one process exclude each other as two processes do.
type fileLock struct{ l *flock.File }

// lockPerm is the mode of a new lock file: other users of a shared store
// may need to open it.
const lockPerm = 0o644

func mode(exclusive bool) flock.Mode {
	if exclusive {
		return flock.Exclusive
	}
	return flock.Shared
}

// lock takes the lock, exclusive or shared, waiting as long as needed.
func lock(path string, exclusive bool) (*fileLock, error) {
	l, err := flock.Acquire(path, lockPerm, mode(exclusive))
	if err != nil {
		return nil, err
	}
	return &fileLock{l: l}, nil
}

// tryExclusive takes the lock exclusively if nobody holds it; ok is false
// (and the error nil) when somebody does.
func tryExclusive(path string) (*fileLock, bool, error) {
	l, ok, err := flock.TryAcquire(path, lockPerm, flock.Exclusive)
	if !ok {
		return nil, false, err
	}
	return &fileLock{l: l}, true, nil
}

// share turns a held exclusive lock into a shared one (not atomically:
// another process may take it exclusively in between).
func (l *fileLock) share() error {
	return l.l.Lock(flock.Shared)
}

// unlock releases the lock. Closing the file drops the lock; a nil lock
// is allowed so that deferred unlocks stay simple.
func (l *fileLock) unlock() {
	if l != nil {
		l.l.Close()
	}
}
