// Package netwatch is the network watcher: the process that owns a
// rootless container's pasta or slirp4netns (and myctr's port forwarder)
// and ends them with the container. Package network starts it and
// describes it ("Lifetime"); it links little, so that myctr-init runs it.
package netwatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/portfwd"
)

// Stage is the watcher's value of _MYCTR_STAGE: myctr-init and myctr
// must call Main for it.
const Stage = nsexec.StageNetWatch

// EnvSpec carries the Spec, as JSON.
const EnvSpec = "_MYCTR_NETWORK_SPEC"

// The tools.
const (
	ModePasta       = "pasta"
	ModeSlirp4netns = "slirp4netns"
)

// APISocketFile is slirp4netns's API socket, in Spec.Dir.
const APISocketFile = "slirp4netns.sock"

// ReadyTimeout bounds the wait for the tool (and for the watcher's report).
const ReadyTimeout = 30 * time.Second

// Spec is what package network tells the watcher.
type Spec struct {
	Mode      string
	Tool      string    // absolute path of pasta or slirp4netns
	Args      []string  // its arguments
	PidFile   string    // pasta: written once the namespace is configured
	APISocket string    // slirp4netns: where to send add_hostfwd
	Dir       string    // the watcher's and the tool's working directory (stateDir)
	GuestAddr string    // slirp4netns: the container's address
	Gateway   string    // slirp4netns: the gateway's address
	Hostfwds  []Hostfwd // published by slirp4netns
	// Forward: the ports myctr's forwarder publishes, with the fd of each
	// host socket in the watcher (5 and up).
	Forward []portfwd.Port
}

// Hostfwd is one port slirp4netns publishes (add_hostfwd).
type Hostfwd struct {
	HostIP    string // "" = 0.0.0.0
	HostPort  uint16
	GuestPort uint16
	Protocol  string
}

func (h Hostfwd) String() string {
	return fmt.Sprintf("%s:%d->%d/%s", h.HostIP, h.HostPort, h.GuestPort, h.Protocol)
}

// Status is the watcher's one report to package network.
type Status struct {
	Pid          int    `json:"pid,omitempty"`
	ForwarderPid int    `json:"forwarder_pid,omitempty"`
	Error        string `json:"error,omitempty"`
}

// CleanEnv is this process's environment without myctr's internal
// variables.
func CleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "_MYCTR_") {
			env = append(env, e)
		}
	}
	return env
}

// Main is the watcher stage (see package network's documentation,
// "Lifetime"). fd 3 is a pidfd of the container's init, fd 4 the pipe for
// the one report to package network. It returns the exit code.
func Main() int {
	nsexec.CheckVersion()
	// PR_SET_PDEATHSIG fires when the thread that forked the tool exits:
	// fork from a thread that lives as long as the process.
	runtime.LockOSThread()
	log := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s network-watch[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
	}
	// Inherited without close-on-exec: keep them from the tool.
	initFd := 3
	syscall.CloseOnExec(initFd)
	syscall.CloseOnExec(4)
	status := os.NewFile(4, "status")
	report := func(st Status) {
		if status == nil {
			return
		}
		b, _ := json.Marshal(st)
		_, _ = status.Write(b)
		status.Close()
		status = nil
	}
	fail := func(format string, args ...any) int {
		msg := fmt.Sprintf(format, args...)
		log("%s", msg)
		report(Status{Error: msg})
		return 1
	}
	var spec Spec
	if err := json.Unmarshal([]byte(os.Getenv(EnvSpec)), &spec); err != nil {
		return fail("bad spec: %v", err)
	}
	os.Unsetenv(EnvSpec)
	os.Unsetenv(nsexec.EnvStage)
	var listeners []*os.File
	for _, p := range spec.Forward {
		syscall.CloseOnExec(p.Fd)
		listeners = append(listeners, os.NewFile(uintptr(p.Fd), "listener"))
	}
	if spec.Dir != "" {
		if err := os.Chdir(spec.Dir); err != nil {
			return fail("chdir %s: %v", spec.Dir, err)
		}
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	cmd := exec.Command(spec.Tool, spec.Args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var exitW, readyR *os.File
	if spec.Mode == ModeSlirp4netns {
		exitR, w, err := os.Pipe()
		if err != nil {
			return fail("pipe: %v", err)
		}
		r, readyW, err := os.Pipe()
		if err != nil {
			return fail("pipe: %v", err)
		}
		exitW, readyR = w, r
		cmd.ExtraFiles = []*os.File{exitR, readyW} // --exit-fd=3 --ready-fd=4
		defer exitW.Close()
		defer func() { exitR.Close(); readyW.Close() }()
	}
	log("starting %s %s", spec.Tool, strings.Join(spec.Args, " "))
	if err := cmd.Start(); err != nil {
		return fail("start %s: %v", spec.Tool, err)
	}
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	// Wait until the namespace is configured.
	ready := make(chan error, 1)
	switch spec.Mode {
	case ModeSlirp4netns:
		go func() {
			b := make([]byte, 1)
			_, err := io.ReadFull(readyR, b)
			ready <- err
		}()
	case ModePasta:
		// pasta writes its pid file once the namespace is configured and
		// the ports are bound.
		go func() {
			for {
				if b, err := os.ReadFile(spec.PidFile); err == nil && strings.HasSuffix(string(b), "\n") {
					ready <- nil
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	select {
	case err := <-exited:
		return fail("%s exited before the network was ready: %v", spec.Mode, err)
	case err := <-ready:
		if err != nil {
			stop()
			return fail("%s: waiting for ready: %v", spec.Mode, err)
		}
	case s := <-sigs:
		stop()
		return fail("stopped by %v before the network was ready", s)
	case <-time.After(ReadyTimeout):
		stop()
		return fail("%s not ready after %v", spec.Mode, ReadyTimeout)
	}
	if spec.Mode == ModeSlirp4netns {
		for _, p := range spec.Hostfwds {
			if err := addHostfwd(APISocketFile, p, spec.GuestAddr); err != nil {
				stop()
				return fail("publish %s: %v", p, err)
			}
		}
	}
	var fwd *exec.Cmd
	fwdExited := make(chan error, 1)
	if len(spec.Forward) > 0 {
		var err error
		if fwd, err = startForwarder(spec, initFd, listeners); err != nil {
			stop()
			return fail("%s: %v", ForwarderFailed, err)
		}
		go func() { fwdExited <- fwd.Wait() }()
		log("port forwarder ready, pid %d", fwd.Process.Pid)
	}
	for _, f := range listeners {
		f.Close()
	}
	stopAll := func() {
		if fwd != nil {
			_ = fwd.Process.Kill()
		}
		stop()
	}
	st := Status{Pid: cmd.Process.Pid}
	if fwd != nil {
		st.ForwarderPid = fwd.Process.Pid
	}
	log("%s ready, pid %d", spec.Mode, cmd.Process.Pid)
	report(st)

	// Wait for the container's init to exit.
	initGone := make(chan error, 1)
	go func() {
		fds := []unix.PollFd{{Fd: int32(initFd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			initGone <- err
			return
		}
	}()
	for {
		select {
		case <-initGone:
			log("container exited: stopping %s", spec.Mode)
			stopAll()
			return 0
		case s := <-sigs:
			log("%v: stopping %s", s, spec.Mode)
			stopAll()
			return 0
		case err := <-exited:
			log("%s exited while the container runs: %v", spec.Mode, err)
			if fwd != nil {
				_ = fwd.Process.Kill()
			}
			return 1
		case err := <-fwdExited:
			// The published ports are gone; the rest of the network
			// stays up for the container.
			log("port forwarder exited while the container runs: %v", err)
			fwd = nil
		}
	}
}

// ForwarderFailed begins the watcher's report when the forwarder did not
// start; package network's hint then names the other port handler.
const ForwarderFailed = "start the port forwarder"

// startForwarder starts the port forwarder (package portfwd, in
// myctr-init, else in this binary) in the user and
// network namespaces of the container's init (initFd, a pidfd), with the
// host's listening sockets, and waits for its report. Like the tool, it
// dies with the watcher.
func startForwarder(spec Spec, initFd int, listeners []*os.File) (*exec.Cmd, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	fs := portfwd.Spec{Guest: spec.GuestAddr, Gateway: spec.Gateway}
	files := []*os.File{os.NewFile(uintptr(initFd), "init"), readyW}
	for i, p := range spec.Forward {
		fs.Ports = append(fs.Ports, portfwd.Port{Fd: 3 + len(files), ContainerPort: p.ContainerPort, Protocol: p.Protocol})
		files = append(files, listeners[i])
	}
	b, err := json.Marshal(fs)
	if err != nil {
		readyW.Close()
		return nil, err
	}
	cmd := exec.Command(nsexec.Binary())
	cmd.Args = []string{"myctr-port-forward"}
	cmd.Env = append(CleanEnv(), nsexec.EnvStage+"="+portfwd.Stage, portfwd.EnvSpec+"="+string(b),
		nsexec.EnvVersion+"="+nsexec.Version,
		nsexec.EnvJoinFD+"=3", nsexec.EnvJoinNS+"=user,net", nsexec.EnvJoinCaps+"=net_admin")
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, err
	}
	_ = readyR.SetReadDeadline(time.Now().Add(ReadyTimeout))
	msg, err := io.ReadAll(io.LimitReader(readyR, 4096))
	if err == nil && string(msg) != "ok" {
		err = errors.New(strings.TrimSpace(string(msg)))
		if len(msg) == 0 {
			err = errors.New("exited without a report (see above)")
		}
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return cmd, nil
}

// addHostfwd publishes one port through slirp4netns's API socket.
func addHostfwd(socket string, p Hostfwd, guest string) error {
	host := p.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	req := map[string]any{
		"execute": "add_hostfwd",
		"arguments": map[string]any{
			"proto": p.Protocol, "host_addr": host, "host_port": p.HostPort,
			"guest_addr": guest, "guest_port": p.GuestPort,
		},
	}
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return err
	}
	_ = c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	var resp struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("bad reply %q: %v", b, err)
	}
	if resp.Error != nil {
		if strings.Contains(resp.Error.Desc, "bind") || strings.Contains(strings.ToLower(resp.Error.Desc), "in use") {
			return fmt.Errorf("host port %s is in use: %s", strconv.Itoa(int(p.HostPort)), resp.Error.Desc)
		}
		return errors.New(resp.Error.Desc)
	}
	return nil
}
