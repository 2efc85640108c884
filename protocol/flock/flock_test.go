package flock

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Each case takes a first lock, then tries a second one on another open
// file description of the same file (as another process would).
func TestTryConflicts(t *testing.T) {
	for _, tc := range []struct {
		first, second Mode
		ok            bool
	}{
		{Exclusive, Exclusive, false},
		{Exclusive, Shared, false},
		{Shared, Exclusive, false},
		{Shared, Shared, true},
	} {
		t.Run(tc.first.String()+"+"+tc.second.String(), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "lock")
			a, err := Acquire(p, 0o600, tc.first)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, ok, err := TryAcquire(p, 0o600, tc.second)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if ok != tc.ok {
				t.Errorf("second lock taken: %v, want %v", ok, tc.ok)
			}
			if !ok && b != nil {
				t.Error("a failed TryAcquire returned a File")
			}
		})
	}
}

// Closing the holder releases the lock; so does Unlock.
func TestReleased(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := Acquire(p, 0o600, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ok, err := b.TryLock(Exclusive); ok || err != nil {
		t.Fatalf("TryLock while held: %v, %v", ok, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.TryLock(Exclusive); !ok || err != nil {
		t.Fatalf("TryLock after the holder closed: %v, %v", ok, err)
	}
	if err := b.Unlock(); err != nil {
		t.Fatal(err)
	}
	c, ok, err := TryAcquire(p, 0o600, Exclusive)
	if !ok || err != nil {
		t.Fatalf("TryAcquire after Unlock: %v, %v", ok, err)
	}
	c.Close()
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	var none *File
	if err := none.Close(); err != nil {
		t.Errorf("Close of a nil File: %v", err)
	}
}

// A waiting Lock returns once the holder lets go.
func TestLockWaits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := Acquire(p, 0o600, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		b, err := Acquire(p, 0o600, Shared)
		if err == nil {
			b.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("shared lock taken while held exclusively (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	a.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiting lock not taken after release")
	}
}

// A held exclusive lock turned shared lets other shared holders in.
func TestChangeMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := Acquire(p, 0o600, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Lock(Shared); err != nil {
		t.Fatal(err)
	}
	b, ok, err := TryAcquire(p, 0o600, Shared)
	if !ok || err != nil {
		t.Fatalf("shared lock beside a downgraded one: %v, %v", ok, err)
	}
	b.Close()
}

// A directory opened by its user can be locked (the launch lock).
func TestNewOnDirectory(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := New(f)
	defer l.Close()
	if err := l.Lock(Exclusive); err != nil {
		t.Fatal(err)
	}
	g, _ := os.Open(dir)
	m := New(g)
	defer m.Close()
	if ok, err := m.TryLock(Exclusive); ok || err != nil {
		t.Errorf("second lock of the directory: %v, %v", ok, err)
	}
}

// Open creates the file with the mode given and never follows a link.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lock")
	l, err := Open(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v", st.Mode(), err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link, 0o600); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("Open through a link: %v, want ELOOP", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file was created through the link: %v", err)
	}
}
