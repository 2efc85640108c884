//go:build cgo

package seccomp

import (
	"errors"
	"fmt"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/security"
)

// Compile turns an OCI seccomp section into the program the kernel loads,
// with libseccomp, as runc does: the default action, each architecture,
// one rule per syscall name (the conditions of one rule are ANDed, except
// that several conditions on the same argument become one rule each, so
// they are ORed, which Docker's profile relies on), libseccomp's binary
// tree for long rule lists; then a stub in front that answers ENOSYS for
// syscall numbers above the highest the profile names on each
// architecture (newer calls than the profile knows, which a C library
// then replaces by an older one instead of failing with EPERM).
func Compile(s *specs.LinuxSeccomp) (*Compiled, error) {
	def, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("%w: defaultAction: %w", ErrInvalid, err)
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("seccomp: new filter: %w", err)
	}
	defer f.Release()
	arches, err := filterArches(s)
	if err != nil {
		return nil, err
	}
	for _, a := range arches {
		if err := f.AddArch(a); err != nil {
			return nil, fmt.Errorf("seccomp: add architecture %s: %w", a, err)
		}
	}
	var out Compiled
	for _, fl := range s.Flags {
		switch fl {
		case specs.LinuxSeccompFlagLog:
			out.Filter.Flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			out.Filter.Flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case "SECCOMP_FILTER_FLAG_TSYNC":
			// One thread loads the filter and executes the container's
			// process; the others end with that execve.
		default:
			return nil, fmt.Errorf("%w: unsupported flag %q", ErrInvalid, fl)
		}
	}
	if len(s.Syscalls) > 32 {
		// A binary tree of syscall numbers instead of a list: fewer
		// instructions run per call. libseccomp 2.5.4 and older
		// misbehave with it and no rules, hence the bound.
		_ = f.SetOptimize(2)
	}
	for _, r := range s.Syscalls {
		act, err := action(r.Action, r.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, names(r), err)
		}
		if act == def {
			continue // libseccomp refuses a rule that equals the default
		}
		conds, separate, err := conditions(r.Args)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, names(r), err)
		}
		for _, n := range r.Names {
			nr, err := libseccomp.GetSyscallFromName(n)
			if err != nil {
				if !slices.Contains(out.Unknown, n) {
					out.Unknown = append(out.Unknown, n)
				}
				continue
			}
			switch {
			case len(conds) == 0:
				err = f.AddRule(nr, act)
			case separate:
				for _, c := range conds {
					if err = f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
						break
					}
				}
			default:
				err = f.AddRuleConditional(nr, act, conds)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: rule for %s: %w", ErrInvalid, n, err)
			}
		}
	}
	prog, err := export(f)
	if err != nil {
		return nil, err
	}
	if needsStub(s) {
		maxes, err := highestSyscalls(s, arches)
		if err != nil {
			return nil, err
		}
		stub, err := enosysStub(maxes)
		if err != nil {
			return nil, err
		}
		prog = append(stub, prog...)
	}
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("%w: %d BPF instructions, more than the kernel's %d", ErrInvalid, len(prog), unix.BPF_MAXINSNS)
	}
	out.Filter.Program = security.EncodeBPF(prog)
	return &out, nil
}

func names(r specs.LinuxSyscall) string {
	if len(r.Names) == 1 {
		return r.Names[0]
	}
	return fmt.Sprint(r.Names)
}

// action is libseccomp's form of an OCI action (SCMP_ACT_KILL is a
// thread's death, as in runc; ERRNO and TRACE default to EPERM).
func action(a specs.LinuxSeccompAction, ret *uint) (libseccomp.ScmpAction, error) {
	code := int16(unix.EPERM)
	if ret != nil {
		if *ret > 4095 {
			return libseccomp.ActInvalid, fmt.Errorf("errnoRet %d is not an errno", *ret)
		}
		code = int16(*ret)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(code), nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("unknown or unsupported action %q", a)
}

var compareOps = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual: libseccomp.CompareNotEqual, specs.OpLessThan: libseccomp.CompareLess,
	specs.OpLessEqual: libseccomp.CompareLessOrEqual, specs.OpEqualTo: libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual, specs.OpGreaterThan: libseccomp.CompareGreater,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

// conditions converts a rule's arguments; separate reports two of them on
// the same argument, which runc (and so Docker's profile) reads as OR.
func conditions(args []specs.LinuxSeccompArg) (conds []libseccomp.ScmpCondition, separate bool, err error) {
	var seen [6]bool
	for _, a := range args {
		op, ok := compareOps[a.Op]
		if !ok || a.Index > 5 {
			return nil, false, fmt.Errorf("bad condition %+v", a)
		}
		if seen[a.Index] {
			separate = true
		}
		seen[a.Index] = true
		// MakeCondition takes the mask first for a masked compare.
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return nil, false, err
		}
		conds = append(conds, c)
	}
	return conds, separate, nil
}

// filterArches are the architectures the filter admits: the section's,
// else the native one only.
func filterArches(s *specs.LinuxSeccomp) ([]libseccomp.ScmpArch, error) {
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("seccomp: native architecture: %w", err)
	}
	out := []libseccomp.ScmpArch{native}
	for _, a := range s.Architectures {
		sa, ok := scmpArch[a]
		if !ok {
			return nil, fmt.Errorf("%w: unknown architecture %q", ErrInvalid, a)
		}
		if !slices.Contains(out, sa) {
			out = append(out, sa)
		}
	}
	return out, nil
}

// scmpArch maps runtime-spec's architecture names to libseccomp's.
var scmpArch = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86: libseccomp.ArchX86, specs.ArchX86_64: libseccomp.ArchAMD64, specs.ArchX32: libseccomp.ArchX32,
	specs.ArchARM: libseccomp.ArchARM, specs.ArchAARCH64: libseccomp.ArchARM64,
	specs.ArchMIPS: libseccomp.ArchMIPS, specs.ArchMIPS64: libseccomp.ArchMIPS64, specs.ArchMIPS64N32: libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL: libseccomp.ArchMIPSEL, specs.ArchMIPSEL64: libseccomp.ArchMIPSEL64, specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC: libseccomp.ArchPPC, specs.ArchPPC64: libseccomp.ArchPPC64, specs.ArchPPC64LE: libseccomp.ArchPPC64LE,
	specs.ArchS390: libseccomp.ArchS390, specs.ArchS390X: libseccomp.ArchS390X, specs.ArchRISCV64: libseccomp.ArchRISCV64,
}

// needsStub: the ENOSYS stub only matters where unknown calls are denied,
// and not where they get ENOSYS anyway (runc's rule).
func needsStub(s *specs.LinuxSeccomp) bool {
	switch s.DefaultAction {
	case specs.ActAllow, specs.ActLog, specs.ActTrace:
		return false
	case specs.ActErrno:
		return s.DefaultErrnoRet == nil || *s.DefaultErrnoRet != uint(unix.ENOSYS)
	}
	return true
}

// highestSyscalls is, per audit architecture and mode, the highest syscall
// number that the section names there.
func highestSyscalls(s *specs.LinuxSeccomp, arches []libseccomp.ScmpArch) (map[archMode]uint32, error) {
	out := map[archMode]uint32{}
	for _, a := range arches {
		am, ok := auditArch[a]
		if !ok {
			return nil, fmt.Errorf("seccomp: no audit architecture known for %s", a)
		}
		var hi int32 = -1
		for _, r := range s.Syscalls {
			for _, n := range r.Names {
				nr, err := libseccomp.GetSyscallFromNameByArch(n, a)
				if err == nil && int32(nr) > hi {
					hi = int32(nr)
				}
			}
		}
		if hi >= 0 {
			out[am] = uint32(hi)
		}
	}
	return out, nil
}

// auditArch maps libseccomp's architectures to the kernel's AUDIT_ARCH_
// value (seccomp_data.arch); x32 shares x86_64's and is told apart by
// bit 30 of the syscall number.
var auditArch = map[libseccomp.ScmpArch]archMode{
	libseccomp.ArchAMD64:   {unix.AUDIT_ARCH_X86_64, modeX86_64},
	libseccomp.ArchX32:     {unix.AUDIT_ARCH_X86_64, modeX32},
	libseccomp.ArchX86:     {unix.AUDIT_ARCH_I386, modeOnly},
	libseccomp.ArchARM64:   {unix.AUDIT_ARCH_AARCH64, modeOnly},
	libseccomp.ArchARM:     {unix.AUDIT_ARCH_ARM, modeOnly},
	libseccomp.ArchRISCV64: {unix.AUDIT_ARCH_RISCV64, modeOnly},
	libseccomp.ArchPPC64LE: {unix.AUDIT_ARCH_PPC64LE, modeOnly},
	libseccomp.ArchS390X:   {unix.AUDIT_ARCH_S390X, modeOnly},
}

// export is libseccomp's program (seccomp_export_bpf into a memfd: the
// in-memory export needs libseccomp 2.6).
func export(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp: memfd: %w", err)
	}
	file := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("seccomp: export BPF: %w", err)
	}
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("seccomp: export BPF: %w", err)
	}
	raw := make([]byte, fi.Size())
	if _, err := file.ReadAt(raw, 0); err != nil {
		return nil, fmt.Errorf("seccomp: read BPF: %w", err)
	}
	prog, err := security.DecodeBPF(raw)
	if err != nil {
		return nil, err
	}
	if len(prog) == 0 {
		return nil, errors.New("seccomp: libseccomp made an empty program")
	}
	return prog, nil
}
