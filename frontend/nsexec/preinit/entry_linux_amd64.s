//go:build !cgo

#include "textflag.h"

// _myctr_entry is myctr-init's ELF entry point (the linker's -E). The
// kernel left argc at the stack pointer, argv's pointers and envp's
// above it: nsenter.c's constructor gets that address, then the Go
// runtime's entry runs on the stack exactly as the kernel left it. In the
// container's init stage the constructor returns twice, in the stage and
// in PID 1, its clone; each goes on into its own Go runtime.
TEXT _myctr_entry(SB), NOSPLIT|NOFRAME, $0
	MOVQ SP, DI  // the constructor's argument
	MOVQ SP, BX  // callee-saved in the C calling convention
	ANDQ $~15, SP  // the C calling convention's alignment at a call
	CALL myctr_preinit_entry(SB)
	MOVQ BX, SP
	JMP  _rt0_amd64_linux(SB)

// func entry() uintptr
TEXT ·entry(SB), NOSPLIT, $0-8
	LEAQ _myctr_entry(SB), AX
	MOVQ AX, ret+0(FP)
	RET
