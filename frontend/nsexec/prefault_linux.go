package nsexec

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefaultChunk is the Go heap's unit of growth (the page allocator's
// chunk, aligned to its size): the runtime maps a chunk readable and
// writable at once and hands out its pages lowest first. The heap starts
// at a random page of its first chunk (the pages below are never used).
const prefaultChunk = 4 << 20

// prefaultProbe is a large object (over 32 KB): its pages come straight
// from the page allocator, at the lowest free address, which is where
// the heap grows next; a small object's address may be an older span's.
var prefaultProbe *[64 << 10]byte

// PrefaultHeap makes the pages of the heap chunk the process allocates
// from present, from the page it allocates at now to the chunk's end or
// for at most size bytes, in one madvise(MADV_POPULATE_WRITE), before
// they are touched one by one.
// On a virtualised host a write fault on a fresh anonymous page costs
// several microseconds and the same page populated in bulk about one. For
// the init and exec stages, which end soon or execute another program,
// never for the long-lived ones, whose resident memory the chunk would
// grow. The CLI does not either: it touches under 2 MB before it waits,
// and populating its chunk's rest (up to 4 MB, as the heap starts at a
// random page of it) cost more than the faults it saved (run --rm, 120
// interleaved runs: 1.0-1.2 ms slower with it). A kernel without
// MADV_POPULATE_WRITE (before 5.14) refuses it, and nothing changes.
func PrefaultHeap(size uintptr) { _, _, _ = prefaultHeap(size) }

// PrefaultStage is what the init and exec stages prefault: they allocate
// under 1 MB, and populating more would cost them more than the faults it
// saves.
const PrefaultStage = 1 << 20

// prefaultHeap returns the range it populated.
func prefaultHeap(size uintptr) (start, end uintptr, err error) {
	prefaultProbe = new([64 << 10]byte) // on the heap: a package variable holds it
	p := uintptr(unsafe.Pointer(prefaultProbe))
	prefaultProbe = nil
	start = p &^ uintptr(unix.Getpagesize()-1)
	end = min((p|(prefaultChunk-1))+1, start+size)
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_POPULATE_WRITE); e != 0 {
		return start, end, e
	}
	return start, end, nil
}
