// Package netplumb makes the kernel objects of rootless named networks
// inside the user's network namespace N, where the user's holder process
// (root of the user namespace H that owns N, so it has CAP_NET_ADMIN there)
// calls it. The holder, not this package, decides which networks and
// containers exist; netplumb only makes the kernel match.
//
// What is in N:
//
//	tap0 (slirp4netns or pasta)   10.0.2.100/24, default route via 10.0.2.2: the way out
//	one bridge per network        its gateway address, e.g. 10.89.0.1/24 (EnsureBridge),
//	                              and fd..::1/64 on a dual-stack network (EnsureBridge6)
//	one veth end per container    on its network's bridge; the peer is the container's
//	and network                   ethN, in the container's network namespace (AttachVeth)
//	table inet myctr              masquerade out of tap0 and the forward filter (Firewall)
//	net.ipv4.ip_forward=1         (EnableForwarding)
//
// The container's network namespace is owned by H too, so the holder may
// create the peer directly inside it, and give it its addresses and
// default routes there (ConfigurePeer): the same call serves a container
// that is starting and one that runs already (network connect).
//
// Every function acts on the network namespace of the thread it is called
// on, fixed when it starts: its netlink and nftables sockets are made
// there, and /proc/sys/net is opened there (see EnableForwarding). The
// holder lives wholly in N, so any thread will do; a caller that entered
// N on a locked thread must call from that thread.
//
// Host-side veth names are hashed from the container ID and the network
// (VethName), never taken from user strings: a name the user chose could
// be too long for IFNAMSIZ, could collide with tap0 or a bridge, and would
// make every kernel name a parsing problem. The hash has one fixed form,
// so the holder can also recognise its own leftovers.
//
// The forward chain's policy is drop: N forwards only what a rule allows
// (replies, a network's traffic within its own bridge, and a non-internal
// network's traffic to the uplink), so two networks never reach each other
// and an internal network has no way out even if a route or a sysctl
// changes behind the holder's back. A rule forgotten is a connection
// refused, never a leak.
//
// Traffic between two containers on the same bridge is switched by the
// bridge and never reaches IP forwarding, unless br_netfilter is in the
// kernel and net.bridge.bridge-nf-call-iptables is 1 in N: then bridged
// IPv4 passes the forward hook too, with the bridge as both input and
// output interface. A kernel with br_netfilter built in (or loaded by
// anyone, for any namespace) sets that sysctl to 1 in every new network
// namespace. The rule "iifname BRIDGE oifname BRIDGE accept" lets such
// traffic through either way, and this package leaves the sysctl alone.
package netplumb
