package api

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckInherited: a socket passed by a socket unit is taken only if
// it is a listening unix stream socket of the user's, mode 0600, in a
// directory of the user's alone.
func TestCheckInherited(t *testing.T) {
	fdOf := func(t *testing.T, l interface {
		File() (*os.File, error)
	}) int {
		f, err := l.File()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return int(f.Fd())
	}
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(filepath.Join(private, "ok.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if path, err := checkInherited(fdOf(t, l.(*net.UnixListener))); err != nil || path != filepath.Join(private, "ok.sock") {
		t.Errorf("a socket of ours: %q, %v", path, err)
	}

	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	ul, err := net.Listen("unix", filepath.Join(open, "open.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	if err := os.Chmod(filepath.Join(open, "open.sock"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := checkInherited(fdOf(t, ul.(*net.UnixListener))); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("a socket in a directory others may enter: %v", err)
	}
	if err := os.Chmod(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(open, "open.sock"), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := checkInherited(fdOf(t, ul.(*net.UnixListener))); !errors.Is(err, ErrNotOurSocket) {
		t.Errorf("a socket of mode 0666: %v", err)
	}

	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	if _, err := checkInherited(fdOf(t, tl.(*net.TCPListener))); !errors.Is(err, ErrNotOurSocket) {
		t.Errorf("a TCP socket: %v", err)
	}
	uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(private, "dgram.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if _, err := checkInherited(fdOf(t, uc)); !errors.Is(err, ErrNotOurSocket) {
		t.Errorf("a datagram socket: %v", err)
	}
}

func TestTCPAddr(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		anyAddr bool
		want    string
		err     error
	}{
		{uri: "tcp://127.0.0.1:2375", want: "127.0.0.1:2375"},
		{uri: "tcp://127.1.2.3:2375/", want: "127.1.2.3:2375"},
		{uri: "tcp://[::1]:2375", want: "[::1]:2375"},
		{uri: "tcp://localhost:2375", want: "127.0.0.1:2375"},
		{uri: "tcp://0.0.0.0:2375", err: ErrNotLoopback},
		{uri: "tcp://:2375", err: ErrNotLoopback},
		{uri: "tcp://192.0.2.1:2375", err: ErrNotLoopback},
		{uri: "tcp://example.com:2375", err: ErrNotLoopback},
		{uri: "tcp://0.0.0.0:2375", anyAddr: true, want: "0.0.0.0:2375"},
		{uri: "tcp://127.0.0.1", err: ErrUnsupportedURI},
		{uri: "tcp://127.0.0.1:0", err: ErrUnsupportedURI},
		{uri: "tcp://127.0.0.1:http", err: ErrUnsupportedURI},
		{uri: "unix:///x", err: ErrUnsupportedURI},
	} {
		got, err := TCPAddr(tc.uri, tc.anyAddr)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: error %v, want %v", tc.uri, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.uri, got, err, tc.want)
		}
	}
}
