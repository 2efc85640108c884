package nsexec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSealedCopy: the copy has the file's bytes, sits at sealedFDMin or
// above, is close-on-exec, and can be neither written, grown, shrunk nor
// unsealed, even through a new open of its /proc/self/fd link.
func TestSealedCopy(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bin")
	want := bytes.Repeat([]byte("myctr-init\x00"), 100000)
	if err := os.WriteFile(src, want, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	f, err := sealedCopy(in, int64(len(want)))
	if err != nil {
		t.Fatalf("sealedCopy: %v", err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if fd < sealedFDMin {
		t.Errorf("descriptor %d, want %d or more", fd, sealedFDMin)
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("not close-on-exec: %#x %v", fl, err)
	}
	got, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("content differs (%d bytes, %v)", len(got), err)
	}
	w, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), os.O_WRONLY, 0)
	if err == nil {
		_, err = w.WriteAt([]byte("x"), 0)
		w.Close()
	}
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("write through a new open: %v, want EPERM", err)
	}
	if err := unix.Ftruncate(fd, 1); !errors.Is(err, unix.EPERM) {
		t.Errorf("truncate: %v, want EPERM", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_FUTURE_WRITE); !errors.Is(err, unix.EPERM) {
		t.Errorf("add a seal: %v, want EPERM (F_SEAL_SEAL)", err)
	}
}

// BenchmarkSealedCopy is the cost of the copy each run and exec pays, for
// a file of myctr-init's size.
func BenchmarkSealedCopy(b *testing.B) {
	src := filepath.Join(b.TempDir(), "bin")
	if err := os.WriteFile(src, bytes.Repeat([]byte{1}, 6<<20), 0o755); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		f, err := sealedCopy(in, 6<<20)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		in.Close()
	}
}
