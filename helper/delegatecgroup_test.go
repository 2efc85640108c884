package helper

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/myctr/myctr/protocol"
)

func fakeProc(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestPidOfPidfd(t *testing.T) {
	proc := fakeProc(t, map[string]string{
		"self/fdinfo/5": "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4242\nNSpid:\t4242\t1\n",
		"self/fdinfo/6": "pos:\t0\nflags:\t02000002\nPid:\t-1\nNSpid:\t-1\n",
		"self/fdinfo/7": "pos:\t0\nflags:\t0100000\nmnt_id:\t24\nino:\t5\n", // a file, no Pid line
		"self/fdinfo/8": "Pid:\tlots\n",
	})
	if pid, err := pidOfPidfd(5, proc); err != nil || pid != 4242 {
		t.Errorf("a pidfd: %d, %v", pid, err)
	}
	for fd, want := range map[int]error{6: protocol.ErrNotFound, 7: protocol.ErrInvalidArgs, 8: protocol.ErrInvalidArgs, 9: protocol.ErrInvalidArgs} {
		if _, err := pidOfPidfd(fd, proc); !errors.Is(err, want) {
			t.Errorf("fd %d: %v, want %v", fd, err, want)
		}
	}
}

func TestCheckProcessUIDs(t *testing.T) {
	proc := fakeProc(t, map[string]string{
		"10/status": "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n",
		"11/status": "Name:\tsu\nUid:\t1000\t0\t0\t0\n", // setuid: not the caller's
		"12/status": "Name:\tx\nUid:\t1000\t1000\t1000\t1001\n",
		"13/status": "Name:\tbroken\n",
	})
	if err := checkProcessUIDs(proc, 10, 1000); err != nil {
		t.Errorf("the caller's process: %v", err)
	}
	for pid, want := range map[int]error{11: protocol.ErrNotOwner, 12: protocol.ErrNotOwner, 13: protocol.ErrFailed, 14: protocol.ErrNotFound} {
		if err := checkProcessUIDs(proc, pid, 1000); !errors.Is(err, want) {
			t.Errorf("pid %d: %v, want %v", pid, err, want)
		}
	}
	if err := checkProcessUIDs(proc, 10, 1001); !errors.Is(err, protocol.ErrNotOwner) {
		t.Errorf("another uid's process: %v", err)
	}
}

func TestScopeName(t *testing.T) {
	a, b := scopeName(1000, "web"), scopeName(1001, "web")
	if a == b || len(a) != len("myctr-u1000-")+16+len(".scope") || filepath.Base(a) != a {
		t.Errorf("scope names %q %q", a, b)
	}
}
