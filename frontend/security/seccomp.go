package security

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// SeccompFilter is a compiled seccomp program as the kernel takes it:
// what the frontend compiles (frontend/seccomp) and the init and exec
// stages load, without a seccomp library of their own.
type SeccompFilter struct {
	Flags   uint   `json:",omitempty"` // SECCOMP_FILTER_FLAG_*
	Program []byte // struct sock_filter[], little-endian (EncodeBPF)
}

const sockFilterSize = 8

// EncodeBPF is the byte form of a program.
func EncodeBPF(prog []unix.SockFilter) []byte {
	b := make([]byte, 0, len(prog)*sockFilterSize)
	for _, in := range prog {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b
}

// DecodeBPF reads a program in the kernel's layout (host byte order: the
// machines myctr runs on are little-endian).
func DecodeBPF(b []byte) ([]unix.SockFilter, error) {
	if len(b)%sockFilterSize != 0 {
		return nil, fmt.Errorf("seccomp program of %d bytes is not a whole number of instructions", len(b))
	}
	prog := make([]unix.SockFilter, len(b)/sockFilterSize)
	for i := range prog {
		o := b[i*sockFilterSize:]
		prog[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(o), Jt: o[2], Jf: o[3], K: binary.LittleEndian.Uint32(o[4:])}
	}
	return prog, nil
}
