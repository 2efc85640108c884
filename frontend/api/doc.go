// Package api serves the Docker Engine API (`myctr system service`), so
// that the docker CLI and the libraries built on the same API drive a
// rootless myctr.
//
// One core: every handler calls the packages that the CLI's verbs call
// (container.Store, image.Store, events); nothing here starts a container
// any other way, and nothing runs the myctr binary.
//
// Threat model: the socket is the user's alone (0600 in a 0700 directory
// of theirs, checked before listening), so every caller is already the
// user. What is guarded against is a client that is slow or endless, not
// one that is hostile: request headers are bounded in size and time,
// request bodies in size (MaxBody), and each decoder refuses what it does
// not understand with 400 rather than guessing.
package api
