package seccomp

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// The modes of one audit architecture: x86_64's syscalls and x32's (the
// same AUDIT_ARCH_X86_64, with bit 30 of the number set) are told apart.
const (
	modeOnly = iota
	modeX86_64
	modeX32
)

// x32Bit marks an x32 syscall number (__X32_SYSCALL_BIT).
const x32Bit = 0x40000000

type archMode struct {
	audit uint32 // AUDIT_ARCH_*
	mode  int
}

// retENOSYS is SECCOMP_RET_ERRNO with ENOSYS.
const retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
)

// insn is one instruction of the stub, with its jumps named by label; the
// stub only jumps forward, to its own labels or to labelFilter (the first
// instruction of libseccomp's program after it).
type insn struct {
	code   uint16
	k      uint32
	jt, jf string // "" falls through
	label  string // this instruction's own label, if any
}

const (
	labelFilter = "filter"
	labelENOSYS = "enosys"
)

func ld(off uint32) insn { return insn{code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, k: off} }
func jmp(op uint16, k uint32, jt, jf string) insn {
	return insn{code: unix.BPF_JMP | op | unix.BPF_K, k: k, jt: jt, jf: jf}
}

// enosysStub is the program put in front of libseccomp's: on each
// architecture the profile covers, a syscall number above the highest one
// the profile names returns ENOSYS; everything else (and every other
// architecture, which libseccomp's program then refuses) goes on to the
// profile's own program. maxes holds the highest number per architecture
// and mode (highestSyscalls).
//
//	ld [arch]
//	jeq AUDIT_ARCH_A, archA        (one per architecture)
//	ja filter
//	archA: ld [nr]
//	  (x86_64) jset x32Bit, x32 ; jgt MAX_64, enosys, filter
//	           x32: jgt MAX_X32, enosys, filter
//	  (other)  jgt MAX, enosys, filter
//	enosys: ret ERRNO(ENOSYS)
//	filter: ...
func enosysStub(maxes map[archMode]uint32) ([]unix.SockFilter, error) {
	byArch := map[uint32]map[int]uint32{}
	for am, hi := range maxes {
		if byArch[am.audit] == nil {
			byArch[am.audit] = map[int]uint32{}
		}
		byArch[am.audit][am.mode] = hi
	}
	audits := make([]uint32, 0, len(byArch))
	for a := range byArch {
		audits = append(audits, a)
	}
	sort.Slice(audits, func(i, j int) bool { return audits[i] < audits[j] })
	if len(audits) == 0 {
		return nil, nil
	}
	prog := []insn{ld(offArch)}
	for _, a := range audits {
		prog = append(prog, jmp(unix.BPF_JEQ, a, arch(a), ""))
	}
	prog = append(prog, insn{code: unix.BPF_JMP | unix.BPF_JA, jt: labelFilter})
	for _, a := range audits {
		modes := byArch[a]
		first := ld(offNr)
		first.label = arch(a)
		prog = append(prog, first)
		hi64, has64 := modes[modeX86_64]
		hiX32, hasX32 := modes[modeX32]
		switch {
		case has64 || hasX32:
			x32 := arch(a) + "/x32"
			prog = append(prog, jmp(unix.BPF_JSET, x32Bit, x32, ""))
			if has64 {
				prog = append(prog, jmp(unix.BPF_JGT, hi64, labelENOSYS, labelFilter))
			} else {
				prog = append(prog, insn{code: unix.BPF_JMP | unix.BPF_JA, jt: labelFilter})
			}
			if hasX32 {
				j := jmp(unix.BPF_JGT, hiX32, labelENOSYS, labelFilter)
				j.label = x32
				prog = append(prog, j)
			} else {
				prog = append(prog, insn{code: unix.BPF_JMP | unix.BPF_JA, jt: labelFilter, label: x32})
			}
		default:
			prog = append(prog, jmp(unix.BPF_JGT, modes[modeOnly], labelENOSYS, labelFilter))
		}
	}
	prog = append(prog, insn{code: unix.BPF_RET | unix.BPF_K, k: retENOSYS, label: labelENOSYS})
	return assemble(prog)
}

func arch(a uint32) string { return fmt.Sprintf("arch/%#x", a) }

// assemble resolves the labels into relative jumps; labelFilter is the
// instruction just after the stub.
func assemble(prog []insn) ([]unix.SockFilter, error) {
	at := map[string]int{labelFilter: len(prog)}
	for i, in := range prog {
		if in.label != "" {
			at[in.label] = i
		}
	}
	rel := func(i int, label string) (uint32, error) {
		if label == "" {
			return 0, nil
		}
		t, ok := at[label]
		if !ok || t <= i {
			return 0, fmt.Errorf("seccomp stub: bad jump to %q", label)
		}
		return uint32(t - i - 1), nil
	}
	out := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		jt, err := rel(i, in.jt)
		if err != nil {
			return nil, err
		}
		jf, err := rel(i, in.jf)
		if err != nil {
			return nil, err
		}
		out[i] = unix.SockFilter{Code: in.code, K: in.k}
		if in.code == unix.BPF_JMP|unix.BPF_JA {
			out[i].K = jt // an unconditional jump's distance is its k
			continue
		}
		if jt > 255 || jf > 255 {
			return nil, fmt.Errorf("seccomp stub: jump too long")
		}
		out[i].Jt, out[i].Jf = uint8(jt), uint8(jf)
	}
	return out, nil
}
