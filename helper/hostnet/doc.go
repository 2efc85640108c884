// Package hostnet makes and removes the helper's kernel objects on the host
// side of a container's network: the bridge with its gateway address, the
// veth pairs whose far ends go into containers' network namespaces, the
// sysctls that forwarding needs, the nftables table "ip myctr" that
// masquerades containers' outgoing traffic, forwards published ports and
// filters what enters the bridge, the table "bridge myctr" that keeps each
// container's port to its own addresses and each user's containers apart
// (guard_linux.go), and the sockets that hold published host ports.
//
// Everything happens in one network namespace, the Host's, opened once by
// file descriptor: netlink and nftables sockets are created in it, and the
// few operations that depend on the calling thread's namespace (/proc/sys,
// the sockets that hold ports) run on a thread that enters it and is then discarded. So the
// helper can work in the machine's namespace or, for tests, in a throwaway
// one, whichever thread of the Go runtime runs the call.
//
// The package trusts its caller to have authorized each request; it
// validates every name and address it is given so that a mistake there
// cannot reach beyond the objects it manages: interface names must be plain
// (see validName), DeleteLink removes only bridges and veths, and AddVeth
// refuses to "move" a peer into the Host's own namespace.
package hostnet
