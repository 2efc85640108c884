package netplumb

import (
	"fmt"
	"os"
	"runtime"
)

// EnableForwarding sets net.ipv4.ip_forward=1 in the calling thread's
// network namespace, so that N routes between its bridges and the uplink
// (what is let through is Firewall's business).
//
// It writes /proc/sys/net/ipv4/ip_forward, and which namespace that file
// belongs to is decided when it is opened, by the thread that opens it
// (the kernel looks the net sysctls up in current->nsproxy): a thread that
// entered N with setns sees N's, whatever the rest of the process is in.
// /proc/net is different: it is /proc/self/net, the namespace of the
// process's main thread (/proc/thread-self/net is the thread's). The file
// is opened and written with the goroutine locked to its thread.
//
// net.ipv4.conf.*.route_localnet stays 0: nothing here translates traffic
// to a loopback address, which is what it would be for.
func EnableForwarding() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const key = "/proc/sys/net/ipv4/ip_forward"
	f, err := os.OpenFile(key, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("enable forwarding: %w", err)
	}
	_, err = f.WriteString("1")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("enable forwarding: write %s: %w", key, err)
	}
	return nil
}
