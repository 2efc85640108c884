// Package flock is myctr's one way to take a file lock: flock(2) on an
// open file description, shared or exclusive, waiting or not. The
// frontend's store, volume, build-cache and launch locks and the helper's
// state-directory lock all go through it.
//
// A lock belongs to its open file description, not to the process: two
// Files opened on one path exclude each other even within one process, and
// the kernel drops the lock when the last descriptor closes, so a holder
// that dies (even by SIGKILL) releases it.
//
// It lives beside protocol, the other code both sides share, and imports
// nothing of myctr's.
package flock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Mode is how a lock is held.
type Mode int

const (
	// Shared: any number of holders, none exclusive.
	Shared Mode = unix.LOCK_SH
	// Exclusive: one holder, none shared.
	Exclusive Mode = unix.LOCK_EX
)

func (m Mode) String() string {
	if m == Shared {
		return "shared"
	}
	return "exclusive"
}

// File is an open file to lock. Closing it releases its lock.
type File struct {
	f *os.File
}

// Open opens (creating it with mode perm when missing) the lock file at
// path. A lock file is never a link: O_NOFOLLOW makes a link there an error
// rather than a way to create or lock a file elsewhere.
func Open(path string, perm fs.FileMode) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return &File{f: f}, nil
}

// New makes f, already open (a directory, say), a File; the File owns f
// and closes it.
func New(f *os.File) *File {
	return &File{f: f}
}

// Acquire opens the lock file at path (as Open) and takes its lock in mode
// m, waiting as long as another holder keeps it.
func Acquire(path string, perm fs.FileMode, m Mode) (*File, error) {
	l, err := Open(path, perm)
	if err != nil {
		return nil, err
	}
	if err := l.Lock(m); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// TryAcquire is Acquire without waiting: ok is false (and the error nil)
// when another holder keeps the lock.
func TryAcquire(path string, perm fs.FileMode, m Mode) (l *File, ok bool, err error) {
	l, err = Open(path, perm)
	if err != nil {
		return nil, false, err
	}
	if ok, err = l.TryLock(m); !ok {
		l.Close()
		return nil, false, err
	}
	return l, true, nil
}

// Lock takes the lock in mode m, waiting as long as needed. On a File
// that holds the lock already, it changes the mode; that change is not
// atomic (another process may take the lock in between), as flock(2) says.
func (l *File) Lock(m Mode) error {
	if err := l.flock(int(m)); err != nil {
		return fmt.Errorf("lock %s (%s): %w", l.f.Name(), m, err)
	}
	return nil
}

// TryLock takes the lock in mode m if nobody holds it in a conflicting
// mode; ok is false (and the error nil) when somebody does.
func (l *File) TryLock(m Mode) (ok bool, err error) {
	err = l.flock(int(m) | unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock %s (%s): %w", l.f.Name(), m, err)
	}
	return true, nil
}

// Unlock releases the lock and keeps the file open.
func (l *File) Unlock() error {
	if err := l.flock(unix.LOCK_UN); err != nil {
		return fmt.Errorf("unlock %s: %w", l.f.Name(), err)
	}
	return nil
}

// Close releases the lock and closes the file. A nil File, or one closed
// already, is allowed, so that deferred releases stay simple.
func (l *File) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Name is the path the lock file was opened with.
func (l *File) Name() string { return l.f.Name() }

// flock calls flock(2), again when a signal interrupts it: a waiting lock
// must not fail because the process caught a signal (Go's runtime sends
// SIGURG for preemption all the time).
func (l *File) flock(how int) error {
	for {
		err := unix.Flock(int(l.f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
