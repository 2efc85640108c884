// Package landlock confines a container's processes with Landlock
// (--security-opt landlock=...): the option's parser, the decision of what
// the running kernel enforces, and the ruleset the container's init and
// every exec stage apply just before they execute the container's process.
//
// The option, one or more comma-separated groups:
//
//	ro:PATH[:PATH...]            read files and list directories beneath PATH
//	rw:PATH[:PATH...]            read and write: create, remove, rename, link, truncate
//	exec:PATH[:PATH...]          execute files (and read, so a loader can map them)
//	net:bind=PORT[:PORT...]      bind TCP sockets to these ports (Landlock ABI 4)
//	net:connect=PORT[:PORT...]   connect TCP sockets to these ports (Landlock ABI 4)
//
// Paths are the container's (absolute; cleaned), resolved by the init
// after pivot_root and by the exec stage inside the container's mount
// namespace. With any ro, rw or exec group, every filesystem access that
// no group grants is denied (reading, writing, executing anywhere else);
// with any net group, TCP bind and connect to every other port are
// denied. Without a group of a kind, that kind is not restricted. Device
// ioctls and connections to unix sockets are not restricted.
// landlock=FILE reads the same groups from a file (commas or newlines
// between them, # starts a comment).
//
// Best effort by default: a kernel without Landlock, or with an ABI older
// than the rules need (3 for files, so that truncation is restricted too;
// 4 for TCP ports), runs the container with what it enforces and one
// warning naming what it does not. --security-opt landlock-strict makes
// that an error instead.
//
// Threat model: the container's processes, root of their user namespace
// included, hostile. Landlock domains are inherited across fork and
// execve and can only be narrowed, never lifted, by the process; no
// capability of a user namespace removes one. The rules come from the
// user, who may run anything without a container: an option that does not
// parse is refused (never read as a weaker ruleset), and so is a path that
// does not exist in the container.
//
// Why rules are built here rather than with go-landlock's Config: its
// best-effort downgrade drops the whole ruleset on ABI 1 when a rule asks
// for the refer right (which rw needs to rename across directories), and
// directory rights on a file path are an error there, where rw:/dev/null
// is a natural thing to write. This package uses go-landlock's system
// call layer, asks for exactly the rights the kernel's ABI knows, and
// gives a file only the rights a file can have.
package landlock
