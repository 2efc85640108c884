// Package ociruntime is myctr-runtime: an OCI runtime with runc's command
// line, for the callers that drive runc (Podman's conmon, containerd's
// shim, runtime-tools). It runs a bundle's config.json on the same core
// that `myctr run` uses: the C constructor that makes or joins the
// namespaces (frontend/nsexec), the init that builds the root filesystem
// (frontend/rootfs) and applies the process's user, capabilities,
// seccomp filter and no_new_privs, the id maps (frontend/userns) and the
// seccomp compiler (frontend/seccomp). What it adds is the runtime
// specification's lifecycle and state: create, start, state, kill,
// delete, each a separate process, with the state kept in a directory
// per container under the runtime's root (see docs/ARCHITECTURE.md,
// "myctr-runtime").
package ociruntime
