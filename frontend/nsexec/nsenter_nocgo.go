//go:build !cgo

package nsexec

// constructorRan: without cgo, no C library runs nsenter.c's constructor;
// package preinit does, from the binary's entry point, and says so
// through ConstructorRan. A stage of a binary without it refuses to run
// (Table.Run): it would run without its namespaces.
var constructorRan = false

// ConstructorRan records that the binary's entry point ran nsenter.c's
// constructor before the Go runtime (package preinit, in myctr-init).
func ConstructorRan() { constructorRan = true }
