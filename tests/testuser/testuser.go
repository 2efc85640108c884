// Package testuser is how the tiers that run as root (the helper tier,
// tests/helper, and the VM tier, tests/vm) act as a real non-root user:
// the user looked up once, commands started with its uid, gid and groups in
// a login-like environment, and myctr run as it with a time limit, logged.
// Each tier says where its myctr is, which global flags and environment it
// adds, and what it checks of the user's set-up. Tests only.
package testuser

import (
	"context"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myctr/myctr/tests/helperprobe"
)

// DefaultPath is PATH for a user's commands when User.Path is empty.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// User is a real user on this machine, and how its commands run.
type User struct {
	Name     string
	UID, GID uint32
	Groups   []uint32 // supplementary groups, from the group database
	Home     string

	// Bin is the myctr that Run runs; GlobalArgs go before each call's
	// arguments (--root DIR, ...).
	Bin        string
	GlobalArgs []string
	// Dir is the working directory of commands; empty is Home.
	Dir string
	// Path is PATH of commands; empty is DefaultPath.
	Path string
	// Env is added to every command's environment (NAME=VALUE).
	Env []string
	// Timeout bounds each call of Myctr and Must.
	Timeout time.Duration
}

// Lookup reads name's uid, gid, groups and home directory from the user
// and group databases. The caller sets how its commands run.
func Lookup(name string) (*User, error) {
	pw, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(pw.Uid)
	gid, _ := strconv.Atoi(pw.Gid)
	u := &User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: pw.HomeDir}
	gids, err := pw.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", name, err)
	}
	for _, g := range gids {
		n, _ := strconv.Atoi(g)
		u.Groups = append(u.Groups, uint32(n))
	}
	return u, nil
}

// RuntimeDir is the user's XDG_RUNTIME_DIR.
func (u *User) RuntimeDir() string { return fmt.Sprintf("/run/user/%d", u.UID) }

// Command returns an unstarted command that runs as u with a login-like
// environment (what tests/setup/as-user.sh gives on the host, and a login
// in the VM's guest).
func (u *User) Command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups},
	}
	cmd.Dir = u.Dir
	if cmd.Dir == "" {
		cmd.Dir = u.Home
	}
	pathEnv := u.Path
	if pathEnv == "" {
		pathEnv = DefaultPath
	}
	cmd.Env = append([]string{
		"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name,
		"PATH=" + pathEnv,
		"XDG_RUNTIME_DIR=" + u.RuntimeDir(),
		"LANG=C.UTF-8",
	}, u.Env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs myctr as u; code is -1 if it did not start or timed out.
func (u *User) Run(timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := u.Command(ctx, u.Bin, append(append([]string(nil), u.GlobalArgs...), args...)...)
	return helperprobe.Run(ctx, cmd)
}

// Myctr runs myctr as u within u.Timeout and logs the call and how long it
// took.
func (u *User) Myctr(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	start := time.Now()
	stdout, stderr, code = u.Run(u.Timeout, args...)
	t.Logf("%s: myctr %s -> exit %d (%s)", u.Name, strings.Join(args, " "), code, time.Since(start).Round(10*time.Millisecond))
	return stdout, stderr, code
}

// Must fails the test unless myctr exits 0; returns stdout.
func (u *User) Must(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, code := u.Myctr(t, args...)
	if code != 0 {
		t.Fatalf("%s: myctr %s: exit %d\nstdout: %s\nstderr: %s", u.Name, strings.Join(args, " "), code, out, errOut)
	}
	return out
}
