package netwatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// slirp4netns inherits two pipes (its arguments say --exit-fd=3
// --ready-fd=4): it writes a byte to the ready pipe once the namespace
// is configured, and exits when the exit pipe is closed. Ports it
// forwards are added through its API socket.
type slirp4netns struct {
	socket   string // the API socket, relative to Spec.Dir (a path must fit in 108 bytes)
	guest    string // the container's address
	hostfwds []Hostfwd

	exitW, readyR *os.File // the watcher's ends
	exitR, readyW *os.File // the tool's ends, fds 3 and 4
}

func (t *slirp4netns) prepare(cmd *exec.Cmd) error {
	var err error
	if t.exitR, t.exitW, err = os.Pipe(); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	if t.readyR, t.readyW, err = os.Pipe(); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	cmd.ExtraFiles = []*os.File{t.exitR, t.readyW} // --exit-fd=3 --ready-fd=4
	return nil
}

// ready reads the byte on the ready pipe; it fails when the tool exits
// without writing it. It returns when close closes the pipe; done is
// not needed.
func (t *slirp4netns) ready(<-chan struct{}) error {
	_, err := io.ReadFull(t.readyR, make([]byte, 1))
	return err
}

func (t *slirp4netns) publish() error {
	for _, p := range t.hostfwds {
		if err := addHostfwd(t.socket, p, t.guest); err != nil {
			return fmt.Errorf("publish %s: %w", p, err)
		}
	}
	return nil
}

func (t *slirp4netns) held() []*os.File { return []*os.File{t.exitW} }

// close closes the pipes; closing the exit pipe ends slirp4netns.
func (t *slirp4netns) close() {
	for _, f := range []*os.File{t.exitW, t.readyR, t.exitR, t.readyW} {
		if f != nil {
			f.Close() // the tool's ends may be closed already
		}
	}
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
