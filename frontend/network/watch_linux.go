package network

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

// WatchMain is the watcher stage (see the package documentation). fd 3 is
// a pidfd of the container's init, fd 4 the pipe for the one report to
// Start. It returns the exit code.
func WatchMain() int {
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
	report := func(st watchStatus) {
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
		report(watchStatus{Error: msg})
		return 1
	}
	var spec watchSpec
	if err := json.Unmarshal([]byte(os.Getenv(envSpec)), &spec); err != nil {
		return fail("bad spec: %v", err)
	}
	os.Unsetenv(envSpec)
	os.Unsetenv(EnvStage)
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
	case <-time.After(startTimeout):
		stop()
		return fail("%s not ready after %v", spec.Mode, startTimeout)
	}
	if spec.Mode == ModeSlirp4netns {
		for _, p := range spec.Ports {
			if err := addHostfwd(apiSocketFile, p, spec.GuestAddr); err != nil {
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
			return fail("%s: %v", forwarderFailed, err)
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
	st := watchStatus{Pid: cmd.Process.Pid}
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

// forwarderFailed begins the watcher's report when the forwarder did not
// start; Start's hint then names the other port handler.
const forwarderFailed = "start the port forwarder"

// startForwarder starts the port forwarder (package portfwd, in
// myctr-init, else in this binary) in the user and
// network namespaces of the container's init (initFd, a pidfd), with the
// host's listening sockets, and waits for its report. Like the tool, it
// dies with the watcher.
func startForwarder(spec watchSpec, initFd int, listeners []*os.File) (*exec.Cmd, error) {
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
	cmd.Env = append(cleanEnv(), EnvStage+"="+portfwd.Stage, portfwd.EnvSpec+"="+string(b),
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
	_ = readyR.SetReadDeadline(time.Now().Add(startTimeout))
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
func addHostfwd(socket string, p PortMapping, guest string) error {
	host := p.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	req := map[string]any{
		"execute": "add_hostfwd",
		"arguments": map[string]any{
			"proto": p.Protocol, "host_addr": host, "host_port": p.HostPort,
			"guest_addr": guest, "guest_port": p.ContainerPort,
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
			return fmt.Errorf("%w: host port %s: %s", ErrPortInUse, strconv.Itoa(int(p.HostPort)), resp.Error.Desc)
		}
		return errors.New(resp.Error.Desc)
	}
	return nil
}
