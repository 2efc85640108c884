// Package seccomp makes a container's seccomp filter: the OCI section
// (linux.seccomp of config.json) from Docker's default profile or from a
// profile file in Docker's JSON format, with the rules that depend on the
// container's capabilities, the architecture and the kernel resolved as
// Docker resolves them (github.com/moby/profiles/seccomp); and the BPF
// program of that section, compiled by libseccomp and kept in a cache in
// the run root, so that a start reads a file instead of compiling.
//
// The program is loaded by the container's init and by every exec stage
// (frontend/security.SeccompFilter.Load), which link no libseccomp:
// myctr-init is a static binary. Only the frontend compiles.
//
// Threat model: the profile comes from the user, who may run anything they
// like without a container; a profile is refused when it is malformed or
// names an action or operator that does not exist, so that a typo never
// turns into a weaker filter than the user wrote. A syscall name that
// libseccomp does not know is skipped with a warning, as Docker does.
package seccomp
