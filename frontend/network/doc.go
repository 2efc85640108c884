// Package network attaches a rootless network to a container's network
// namespace with pasta (package passt) or slirp4netns, publishes ports on
// the host, and tells the caller which addresses go into the container's
// /etc/resolv.conf and /etc/hosts. It also attaches a container to the
// bridged network of myctr-helper (ModeBridge, below).
//
// # Bridged network
//
// With --network bridge, AttachBridge passes the init's user and network
// namespaces (open files of /proc/PID/ns/{user,net}) to the helper's
// AttachNetwork, which moves one end of a veth pair into the network
// namespace and answers with its name, the container's address, the
// gateway and the MTU; the container's init renames it eth0 and configures
// it (package netif) before anything else runs there. Each -p/-P port is
// then published by the helper's PublishPort (HostPort 0: a port free on
// this host now, picked again if the helper has it published). Any failure
// releases the attachment. The helper releases it again when the container
// ends (ReleaseBridge), and by itself when the namespace is gone. The
// container's resolv.conf is the host's without the nameservers the bridge
// cannot reach (BridgeResolvConf).
//
// # Addresses
//
// Both modes give the container the same layout, so that /etc/hosts and
// /etc/resolv.conf do not depend on the mode: the container is 10.0.2.100/24
// on a tap interface (tap0 for slirp4netns, eth0 for pasta), the gateway is
// 10.0.2.2 and the DNS forwarder is 10.0.2.3 (slirp4netns: its built-in
// forwarder; pasta: --dns-forward 10.0.2.3). slirp4netns:cidr=... moves the
// whole layout to another /24. The MTU is 65520 unless Config.MTU says
// otherwise. DNS queries to 10.0.2.3 go to the first nameserver of the
// host's /etc/resolv.conf, as read by the tool.
//
// # Host loopback
//
// By default the container cannot reach the host's loopback: slirp4netns
// runs with --disable-host-loopback; pasta runs with --no-map-gw (the
// gateway address is not mapped to the host) and with -T none -U none (no
// port of the host's loopback is forwarded into the container's loopback;
// pasta's default, "auto", would forward every port bound on the host).
// Config.AllowHostLoopback drops those options: the host's 127.0.0.1 is
// then reachable at the gateway address, 10.0.2.2.
//
// # Published ports
//
// pasta forwards host ports itself (-t/-u, never "auto": an unpublished
// port stays closed). With slirp4netns, ports go through myctr's own
// forwarder, unless slirp4netns:port_handler=slirp4netns asks for
// slirp4netns's add_hostfwd (through its API socket, after the tool
// reports ready). A container on a named network has its ports published
// by the forwarder alone (StartForward: a watcher with no tool), sending
// to the container's address on its network.
//
// # The port forwarder
//
// add_hostfwd carries every byte through slirp's user-mode TCP stack (about
// 4.5 Gbit/s here), shows every loopback client as the gateway, and loses
// the UDP replies to loopback clients. The forwarder instead joins the
// host's socket to one made in the container's namespace from the client's
// own address:
//   - Start binds the host's sockets (so a port in use is reported before
//     anything runs) and hands them to the watcher, which starts the
//     forwarder once slirp4netns is ready: myctr-monitor's forward mode
//     (cmd/myctr-monitor/forward.c), executed on the host with a pidfd of
//     the init and the host's sockets. Not dumpable from its first
//     instruction, it joins the init's user and network namespaces, keeps
//     CAP_NET_ADMIN alone with no_new_privs, sets the namespace up (the
//     rule, the route and the sysctl below), reports "ok" once it has
//     taken every socket over, then relays for the container's life: one
//     thread on epoll, under 1 MB resident (0.8 MB measured by
//     tests/bench/detached.sh). Executed before it joins, its memory stays
//     the host user namespace's: no container process may trace it or
//     read it, whatever its capabilities there. It does not join the
//     container's PID or mount namespace: the container cannot see or
//     signal it.
//   - Where myctr-monitor is not installed, package portfwd does the same
//     in Go (about 5 MB resident), run by myctr-init (else by myctr),
//     whose constructor (frontend/nsexec) joins the namespaces and drops
//     the capabilities; same behaviour, same log lines.
//   - Its sockets in the container's namespace have IP_TRANSPARENT and the
//     firewall mark 0x6d79, and are bound to the client's address and port
//     (any port of it when that one is taken); they send to the container's
//     address, 10.0.2.100. It adds the rule "fwmark 0x6d79 lookup 28025"
//     and the route "local default dev lo table 28025", so that packets
//     for a foreign address can come back to it.
//   - TCP: with net.ipv4.tcp_fwmark_accept set, the server's accepted
//     socket takes the mark of the SYN, and so do its replies, which the
//     rule routes back to the forwarder rather than out through tap0. The
//     two connections are joined in the kernel (splice(2), through a pipe
//     per direction); each end of stream is passed on (shutdown), a reset
//     of either side resets the other. At most 256 connections are being
//     made at once (30 s each at most); a client past that is closed.
//   - UDP: one socket per client, not connected (a server bound to the
//     wildcard answers a loopback client from 127.0.0.1). A loopback
//     client's address is local in the container's namespace too; for any
//     other, a rule "to CLIENT ipproto udp sport PORT dport CPORT lookup
//     28025" routes that flow's replies back, and is deleted when the flow
//     has been idle for a minute. At most 1024 flows per port.
//   - The container's other traffic carries no mark and matches no flow
//     rule: it is routed as before.
//   - A client with no IPv4 address (over IPv6: the host sockets of a port
//     published without an address listen on both families) shows as the
//     gateway, 10.0.2.2: the container's network is IPv4.
//   - Failed connections are logged, at most one line a second (with the
//     count of those left out).
//   - It dies with the watcher (PR_SET_PDEATHSIG) and is stopped with the
//     tool; the host ports are free once it is gone.
//
// Source addresses and limitations, measured on Debian 12 (passt
// 0.0~git20230309, slirp4netns 1.2.0, libslirp 4.7.0) with Linux 6.18:
//   - slirp4netns (myctr's forwarder), TCP and UDP: every client keeps its
//     own address and port (127.0.0.2 shows as 127.0.0.2), and UDP replies
//     reach loopback clients; an IPv6 client shows as the gateway,
//     10.0.2.2.
//   - slirp4netns with port_handler=slirp4netns: a client on
//     the host's loopback shows as the gateway, 10.0.2.2; a client on
//     another address keeps its source address. add_hostfwd cannot publish
//     on an IPv6 host address, and "all addresses" means 0.0.0.0 (IPv4
//     only). UDP from a loopback client reaches the server but the reply is
//     lost when --disable-host-loopback is set (and, for a 127.0.0.1-bound
//     forward, even without it).
//   - pasta: a client on the host's loopback is "spliced" (pasta connects
//     to the container's own loopback): the server sees 127.0.0.1 whatever
//     the client's loopback address (127.0.0.2 shows as 127.0.0.1). UDP
//     from a loopback client reaches the server but the reply never comes
//     back. A UDP client on another address keeps its source address. A TCP
//     client on another address is accepted but gets no data (and pasta
//     may crash): a bug of that passt version on this kernel; outbound
//     connections from the container work.
//
// # Lifetime
//
// Neither tool can tell by itself that the container is gone: pasta keeps
// running after the last process of the namespace exits (it holds the
// namespace), and slirp4netns only watches its --exit-fd. So Start runs a
// small watcher (package netwatch, run by myctr-init, else by myctr), in
// its own session, with its output in stateDir/network.log. The watcher:
//   - holds a pidfd of the container's init and waits for it to exit;
//   - starts the tool as its child with PR_SET_PDEATHSIG=SIGKILL, and, for
//     slirp4netns, holds the write end of --exit-fd: if the watcher dies in
//     any way, the tool goes with it (no orphan);
//   - starts the port forwarder the same way, when there is one;
//   - ends the tool (SIGTERM, then SIGKILL) when the init exits or when
//     Handle.Stop asks, and then exits.
//
// Once the tool (and the forwarder) run and are reported, the watcher
// executes myctr-monitor's watch in its own place, where it is
// installed: the same process, on the thread that forked them (so their
// PR_SET_PDEATHSIG still points at it), with the init's pidfd and the
// exit pipe, doing the same supervision for the container's life as a
// small static program rather than a Go one.
//
// The watcher does not depend on the process that called Start: kill -9 of
// the monitor or of the foreground CLI leaves the container's network up
// for as long as the container lives. (slirp4netns's --exit-fd held by the
// monitor alone, as Podman does with conmon, would cut the network of a
// still-running container when the monitor is killed.) A pidfd is used
// rather than slirp4netns's --exit-fd on a pidfd, because a pidfd reports
// POLLHUP only from Linux 6.9, and pasta has no such option.
package network
