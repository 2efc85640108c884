package container

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

// stagePair is a sync socket with the stage's end as a Conn of its own,
// for tests that play the stage.
func stagePair(t *testing.T) (parent, stage *nsexec.Conn) {
	t.Helper()
	parent, child, err := nsexec.NewPair()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(child.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	child.Close()
	stage = nsexec.FromFD(fd)
	t.Cleanup(func() { parent.Close(); stage.Close() })
	return parent, stage
}

func TestAwaitExecInit(t *testing.T) {
	parent, stage := stagePair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := stage.Send(&nsexec.Message{Type: nsexec.MsgPid, Pid: 42}); err != nil {
		t.Fatal(err)
	}
	if err := stage.Send(&nsexec.Message{Type: nsexec.MsgPty}, int(r.Fd())); err != nil {
		t.Fatal(err)
	}
	stage.Close() // the end of the stream: executed
	var handled []int
	pty, err := awaitExec(parent, func(m *nsexec.Message) error { handled = append(handled, m.Pid); return nil }, nsexec.MsgPid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(handled, []int{42}) {
		t.Errorf("handled %v, want the pid 42 once", handled)
	}
	if pty == nil {
		t.Fatal("no pty returned")
	}
	defer pty.Close()
	// The descriptor passed is the pipe's read end.
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if n, err := pty.Read(b); n != 1 || b[0] != 'x' || err != nil {
		t.Errorf("read %q %v from the passed descriptor", b[:n], err)
	}
}

func TestAwaitExecErrors(t *testing.T) {
	t.Run("failed step", func(t *testing.T) {
		parent, stage := stagePair(t)
		stage.Send(&nsexec.Message{Type: nsexec.MsgError, Error: &nsexec.StepError{Step: "exec sh", Errno: 2, Msg: "no such file", Exit: 127}})
		_, err := awaitExec(parent, nil)
		var se *StartError
		if !errors.As(err, &se) || se.Exit != 127 || !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("got %v, want a StartError with exit 127", err)
		}
	})
	t.Run("out of order", func(t *testing.T) {
		parent, stage := stagePair(t)
		stage.Send(&nsexec.Message{Type: nsexec.MsgPid, Pid: 42})
		called := false
		_, err := awaitExec(parent, func(*nsexec.Message) error { called = true; return nil })
		if err == nil || called {
			t.Fatalf("a pid where a pty or the end was due: err %v, handled %v", err, called)
		}
	})
	t.Run("handler fails", func(t *testing.T) {
		parent, stage := stagePair(t)
		stage.Send(&nsexec.Message{Type: nsexec.MsgPid, Pid: 42})
		want := errors.New("no maps")
		if _, err := awaitExec(parent, func(*nsexec.Message) error { return want }, nsexec.MsgPid); !errors.Is(err, want) {
			t.Fatalf("got %v, want the handler's error", err)
		}
	})
	t.Run("ended early", func(t *testing.T) {
		parent, stage := stagePair(t)
		stage.Close()
		if _, err := awaitExec(parent, func(*nsexec.Message) error { return nil }, nsexec.MsgPid); !errors.Is(err, nsexec.ErrEnded) {
			t.Fatalf("got %v, want ErrEnded", err)
		}
	})
}

func TestCleanupsNewestFirst(t *testing.T) {
	var order []int
	var u cleanups
	for i := range 3 {
		u.push(func() { order = append(order, i) })
	}
	u.run()
	if !slices.Equal(order, []int{2, 1, 0}) {
		t.Errorf("ran %v, want newest first", order)
	}
	u.run() // spent: nothing runs twice
	if len(order) != 3 {
		t.Errorf("ran again: %v", order)
	}
}

func TestInitNamespacesEnv(t *testing.T) {
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.UserNamespace, Path: "/proc/7/ns/user"}, {Type: specs.MountNamespace}, {Type: specs.PIDNamespace},
		{Type: specs.UTSNamespace}, {Type: specs.NetworkNamespace, Path: "/proc/7/ns/net"}}}}
	if _, err := initNamespaces(spec, nil); err == nil {
		t.Error("joined namespaces without a pidfd were accepted")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env, err := initNamespaces(spec, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{nsexec.EnvInitNS + "=mnt,pid,uts", nsexec.EnvInitJoinNS + "=user,net"}
	if !slices.Equal(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
	spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.MountNamespace}, {Type: specs.PIDNamespace}}
	if _, err := initNamespaces(spec, f); err == nil {
		t.Error("a pidfd with nothing to join was accepted")
	}
}
