// Package netholder is the rootless side of myctr's named networks: one
// process per user, the holder, that owns a user namespace (the user's
// full subordinate mapping, as a private container's) and a network
// namespace in it, and inside that namespace one bridge per named network
// in use, the veths of the containers attached to them, their DNS server
// (frontend/netdns) and the way out (slirp4netns or pasta, started for the
// holder's namespace by package network, as for a container).
//
// A container on a named network joins the holder's user namespace and
// makes its own network namespace in it: the holder, root of that user
// namespace, may then move a veth's end into it (package netplumb), and
// containers on one network reach each other through its bridge. Podman
// 4's rootless networks have the same shape (its "rootless-netns").
//
// The frontend speaks to the holder over a unix socket in the run root
// (netholder/control.sock, 0600): one JSON request and one JSON reply per
// connection; an attach carries a pidfd of the container's init. The
// holder trusts the socket's peer no more than the user itself (the
// socket is the user's alone), and still checks what it is given: names
// are validated, the init must be in the holder's user namespace (its own
// inode compared), and the pidfd, not a pid, names it.
//
// Nothing the holder knows is on disk: the attachments, their addresses
// and DNS records live in its memory and end with each container, whose
// end the holder sees on its pidfd. The holder leaves when no container
// is attached for idleExit, under the lock a frontend takes to start it,
// so that a frontend never talks to a holder that is leaving. A holder
// killed takes its namespace and bridges with it; the next attach starts
// another.
package netholder
