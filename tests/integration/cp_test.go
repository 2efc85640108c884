//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func statUID(fi os.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Uid) }

// cpWith runs `myctr cp` with stdin and returns stdout, stderr and the code.
func cpWith(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code := runMyctr(cmdTimeout, stdin, append([]string{"cp"}, args...)...)
	t.Logf("myctr cp %s -> exit %d %s", strings.Join(args, " "), code, strings.TrimSpace(errOut))
	return out, errOut, code
}

func mustCp(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := cpWith(t, nil, args...)
	if code != 0 {
		t.Fatalf("myctr cp %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cpTarEntries lists the entries of a tar stream.
func cpTarEntries(t *testing.T, b []byte) map[string]string {
	t.Helper()
	names := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, _ := io.ReadAll(tr)
		names[strings.TrimSuffix(h.Name, "/")] = string(body)
	}
}

// TestCp copies both ways, with a running and with a stopped container:
// files, directories, DIR/. contents, tar streams on stdin and stdout, and
// the owner of what lands in the container.
func TestCp(t *testing.T) {
	setup := "mkdir -p /srv/d/sub; echo one > /srv/d/a; echo two > /srv/d/sub/b; echo hi > /srv/f; "
	for _, mode := range []string{"running", "stopped"} {
		t.Run(mode, func(t *testing.T) {
			name := ctrName(t, mode)
			ready := func() {
				waitFor(t, 10*time.Second, "the container's files", func() bool {
					_, _, code := myctr(t, "exec", name, "test", "-e", "/srv/f")
					return code == 0
				})
			}
			runDetached(t, name, []string{"--workdir", "/srv"}, "sh", "-c", setup+"sleep 1000")
			ready()
			if mode == "stopped" {
				mustMyctr(t, "stop", "-t", "0", name)
				waitState(t, name, "exited", 20*time.Second)
			}
			host := t.TempDir()
			if err := os.WriteFile(filepath.Join(host, "hostfile"), []byte("from the host\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(host, "hdir", "in"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(host, "hdir", "in", "c"), []byte("three\n"), 0o644); err != nil {
				t.Fatal(err)
			}

			// Out of the container.
			out := filepath.Join(host, "out")
			os.Mkdir(out, 0o755)
			mustCp(t, name+":/srv/f", out)
			mustCp(t, name+":f", filepath.Join(out, "renamed")) // relative to the working directory
			mustCp(t, name+":/srv/d", out)
			mustCp(t, name+":/srv/d/.", filepath.Join(out, "contents"))
			for p, want := range map[string]string{"f": "hi\n", "renamed": "hi\n", "d/a": "one\n", "d/sub/b": "two\n", "contents/a": "one\n", "contents/sub/b": "two\n"} {
				if got := readFile(t, filepath.Join(out, p)); got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
			st, err := os.Stat(filepath.Join(out, "d", "a"))
			if err != nil {
				t.Fatal(err)
			}
			if uid := statUID(st); uid != os.Getuid() {
				t.Errorf("a file copied out belongs to uid %d, want the user's %d", uid, os.Getuid())
			}
			stdout, errOut, code := cpWith(t, nil, name+":/srv/d", "-")
			if code != 0 {
				t.Fatalf("cp to stdout: exit %d: %s", code, errOut)
			}
			if names := cpTarEntries(t, []byte(stdout)); names["d/a"] != "one\n" || names["d/sub/b"] != "two\n" {
				t.Errorf("cp CTR:/srv/d - gave entries %v", names)
			}

			// Into the container.
			mustCp(t, filepath.Join(host, "hostfile"), name+":/srv/d")
			mustCp(t, filepath.Join(host, "hostfile"), name+":/srv/newname")
			mustCp(t, filepath.Join(host, "hdir"), name+":/srv/hdir")
			mustCp(t, filepath.Join(host, "hdir")+"/.", name+":/srv/d")
			var tb bytes.Buffer
			tw := tar.NewWriter(&tb)
			tw.WriteHeader(&tar.Header{Name: "fromtar", Mode: 0o600, Size: 4, Uid: 1042, Gid: 1043, Typeflag: tar.TypeReg})
			tw.Write([]byte("tar\n"))
			tw.Close()
			if _, errOut, code := cpWith(t, tb.Bytes(), "-a=false", "-", name+":/srv"); code != 0 {
				t.Fatalf("cp - CTR:/srv: exit %d: %s", code, errOut)
			}
			// Not a tar stream; a destination that is no directory.
			if _, errOut, code := cpWith(t, []byte("plain text\n"), "-", name+":/srv"); code != 125 || !strings.Contains(errOut, "must be a (compressed) tar archive") {
				t.Errorf("plain text on stdin: exit %d: %s", code, errOut)
			}
			if _, errOut, code := cpWith(t, tb.Bytes(), "-", name+":/srv/f"); code != 125 || !strings.Contains(errOut, "destination must be a directory when copying from stdin") {
				t.Errorf("tar onto a file: exit %d: %s", code, errOut)
			}
			if _, errOut, code := cpWith(t, nil, filepath.Join(host, "hostfile"), name+":/nonesuch/"); code != 125 ||
				!strings.Contains(errOut, `"/nonesuch/" could not be found on container `+name+": no such file or directory") {
				t.Errorf("into a missing directory: exit %d: %s", code, errOut)
			}
			if _, errOut, code := cpWith(t, nil, name+":/nonesuch", out); code != 125 || !strings.Contains(errOut, "could not be found on container") {
				t.Errorf("a missing source: exit %d: %s", code, errOut)
			}
			if _, errOut, code := cpWith(t, nil, "nosuchctr:/x", out); code != 125 || !strings.Contains(errOut, "no such container") {
				t.Errorf("a missing container: exit %d: %s", code, errOut)
			}

			if mode == "stopped" {
				mustMyctr(t, "start", name)
				ready()
			}
			check := "cat /srv/d/hostfile /srv/newname /srv/hdir/in/c /srv/d/in/c /srv/fromtar; stat -c '%u:%g' /srv/newname /srv/fromtar"
			got := mustMyctr(t, "exec", name, "sh", "-c", check)
			want := "from the host\nfrom the host\nthree\nthree\ntar\n0:0\n1042:1043\n"
			if got != want {
				t.Errorf("in the container:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestCpStoppedRoundTrip: what cp writes into a container that is not
// running is there when it starts, and cp reads an exited one.
func TestCpStoppedRoundTrip(t *testing.T) {
	name := ctrName(t, "")
	mustMyctr(t, "run", "--name", name, image, "sh", "-c", "echo before > /tmp/made")
	host := t.TempDir()
	mustCp(t, name+":/tmp/made", host)
	if got := readFile(t, filepath.Join(host, "made")); got != "before\n" {
		t.Errorf("copied out of an exited container: %q", got)
	}
	os.WriteFile(filepath.Join(host, "in"), []byte("while stopped\n"), 0o644)
	mustCp(t, filepath.Join(host, "in"), name+":/tmp/in")
	mustMyctr(t, "start", name)
	waitState(t, name, "exited", 20*time.Second)
	mustCp(t, name+":/tmp/in", filepath.Join(host, "back"))
	if got := readFile(t, filepath.Join(host, "back")); got != "while stopped\n" {
		t.Errorf("round trip through a stopped container: %q", got)
	}
	// And the container itself sees it.
	runDetached(t, name+"-run", nil, "sleep", "1000")
	mustCp(t, name+":/tmp/in", name+"-run:/tmp/")
	if got := mustMyctr(t, "exec", name+"-run", "cat", "/tmp/in"); got != "while stopped\n" {
		t.Errorf("container to container: %q", got)
	}
}

// TestCpSymlinkEscape: symlinks the container planted (to a host file by
// its absolute path, to ../../.., a symlinked parent directory) never make
// cp read or write a host file outside the container's root, in either
// direction, running or stopped.
func TestCpSymlinkEscape(t *testing.T) {
	hostDir := t.TempDir()
	secret := filepath.Join(hostDir, "shadow")
	if err := os.WriteFile(secret, []byte("host secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Every directory up to hostDir is searchable by us, so a cp that
	// followed a link on the host would reach it. The container has a
	// decoy at the same path: the links are good inside it, and what cp
	// reads and writes there must be the decoy.
	plant := strings.Join([]string{
		"mkdir -p " + hostDir,
		"echo decoy > " + secret,
		"ln -s " + secret + " /tmp/abs",
		"ln -s ../../../../../../../.. /tmp/up",
		"ln -s " + hostDir + " /tmp/dirlink",
		"mkdir -p /tmp/p",
		"ln -s " + hostDir + " /tmp/p/parent",
	}, "; ")
	before := treeSnapshot(t, hostDir)
	for _, mode := range []string{"running", "stopped"} {
		t.Run(mode, func(t *testing.T) {
			name := ctrName(t, mode)
			if mode == "running" {
				runDetached(t, name, nil, "sh", "-c", plant+"; sleep 1000")
				waitFor(t, 10*time.Second, "the planted links", func() bool {
					_, _, code := myctr(t, "exec", name, "test", "-L", "/tmp/p/parent")
					return code == 0
				})
			} else {
				mustMyctr(t, "run", "--name", name, image, "sh", "-c", plant)
			}
			out := t.TempDir()
			payload := filepath.Join(out, "payload")
			os.WriteFile(payload, []byte("written by cp\n"), 0o644)

			// Reading through the links: nothing of the host comes out.
			for _, src := range []string{"/tmp/abs", "/tmp/up" + secret, "/tmp/dirlink/shadow", "/tmp/p/parent/shadow", "/tmp/dirlink", "/tmp/up" + hostDir} {
				dst := filepath.Join(out, "got")
				os.RemoveAll(dst)
				cpWith(t, nil, name+":"+src, dst)
				if b, err := exec.Command("grep", "-r", "host secret", dst).Output(); err == nil || len(b) > 0 {
					t.Errorf("cp %s read the host's file: %s", src, b)
				}
				stdout, _, _ := cpWith(t, nil, name+":"+src, "-")
				if strings.Contains(stdout, "host secret") {
					t.Errorf("cp %s - read the host's file", src)
				}
			}
			if stdout, errOut, code := cpWith(t, nil, name+":/tmp/abs", "-"); code != 0 || !strings.Contains(stdout, "decoy") {
				t.Errorf("cp through the link did not read the container's own file: exit %d: %s", code, errOut)
			}
			// Writing through the links: the host's files stay as they were.
			for _, dst := range []string{"/tmp/abs", "/tmp/up" + secret, "/tmp/dirlink/shadow", "/tmp/p/parent/shadow", "/tmp/dirlink/", "/tmp/p/parent/", "/tmp/up" + hostDir + "/new"} {
				if _, errOut, code := cpWith(t, nil, payload, name+":"+dst); code != 0 {
					t.Errorf("cp into %s, a path inside the container: exit %d: %s", dst, code, errOut)
				}
			}
			var tb bytes.Buffer
			tw := tar.NewWriter(&tb)
			tw.WriteHeader(&tar.Header{Name: "shadow", Mode: 0o644, Size: 6, Typeflag: tar.TypeReg})
			tw.Write([]byte("owned\n"))
			tw.Close()
			for _, dst := range []string{"/tmp/dirlink", "/tmp/p/parent", "/tmp/up" + hostDir} {
				if _, errOut, code := cpWith(t, tb.Bytes(), "-", name+":"+dst); code != 0 {
					t.Errorf("cp - into %s, a directory inside the container: exit %d: %s", dst, code, errOut)
				}
			}
			if after := treeSnapshot(t, hostDir); after != before {
				t.Fatalf("the host directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}
