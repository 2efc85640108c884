package image

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fileLock is an flock(2) lock on its own open file description, so two
// Stores in one process exclude each other as two processes do.
type fileLock struct{ f *os.File }

func openLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) flock(how int) error {
	for {
		err := unix.Flock(int(l.f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// lock takes the lock, exclusive or shared, waiting as long as needed.
func lock(path string, exclusive bool) (*fileLock, error) {
	l, err := openLock(path)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if err := l.flock(how); err != nil {
		l.f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, nil
}

// tryExclusive takes the lock exclusively if nobody holds it; ok is false
// (and the error nil) when somebody does.
func tryExclusive(path string) (l *fileLock, ok bool, err error) {
	l, err = openLock(path)
	if err != nil {
		return nil, false, err
	}
	if err := l.flock(unix.LOCK_EX | unix.LOCK_NB); err != nil {
		l.f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, true, nil
}

// share turns a held exclusive lock into a shared one (not atomically:
// another process may take it exclusively in between).
func (l *fileLock) share() error {
	if err := l.flock(unix.LOCK_SH); err != nil {
		return fmt.Errorf("lock %s shared: %w", l.f.Name(), err)
	}
	return nil
}

// unlock releases the lock. Closing the file drops the lock; a nil lock
// is allowed so that deferred unlocks stay simple.
func (l *fileLock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
