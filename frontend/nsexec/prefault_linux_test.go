package nsexec

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestPrefaultHeap: every page from the one the heap allocated the probe
// at to the end of its chunk is resident afterwards.
func TestPrefaultHeap(t *testing.T) {
	start, end, err := prefaultHeap(prefaultChunk)
	if errors.Is(err, unix.EINVAL) {
		t.Skipf("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if end%prefaultChunk != 0 || end-start > prefaultChunk {
		t.Fatalf("the range %#x-%#x is not the end of a chunk", start, end)
	}
	page := uintptr(unix.Getpagesize())
	vec := make([]byte, (end-start)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	for i, v := range vec {
		if v&1 == 0 {
			t.Fatalf("page %d of %#x-%#x is not resident", i, start, end)
		}
	}
}
