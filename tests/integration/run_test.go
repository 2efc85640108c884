//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// idMap parses /proc/PID/uid_map text into rows of three numbers.
func idMap(t *testing.T, text string) [][3]int {
	t.Helper()
	var rows [][3]int
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("bad id map line %q in:\n%s", l, text)
		}
		var r [3]int
		for i := range f {
			n, err := strconv.Atoi(f[i])
			if err != nil {
				t.Fatalf("bad id map line %q: %v", l, err)
			}
			r[i] = n
		}
		rows = append(rows, r)
	}
	return rows
}

func TestUserNamespaceMapping(t *testing.T) {
	t.Parallel()
	subUID, subUIDCount := subIDRange(t, "/etc/subuid")
	subGID, subGIDCount := subIDRange(t, "/etc/subgid")

	t.Run("maps", func(t *testing.T) {
		t.Parallel()
		uidMap := runOut(t, nil, "cat", "/proc/self/uid_map")
		gidMap := runOut(t, nil, "cat", "/proc/self/gid_map")
		wantUID := [][3]int{{0, os.Getuid(), 1}, {1, subUID, subUIDCount}}
		wantGID := [][3]int{{0, os.Getgid(), 1}, {1, subGID, subGIDCount}}
		if got := idMap(t, uidMap); !slices.Equal(got, wantUID) {
			t.Errorf("uid_map inside = %v, want %v", got, wantUID)
		}
		if got := idMap(t, gidMap); !slices.Equal(got, wantGID) {
			t.Errorf("gid_map inside = %v, want %v", got, wantGID)
		}
	})

	t.Run("bind-mount ownership", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o777); err != nil { // let container uid 1000 write
			t.Fatal(err)
		}
		vol := []string{"-v", dir + ":/data"}
		runOut(t, vol, "touch", "/data/by-root")
		runOut(t, append([]string{"-u", "1000:1000"}, vol...), "touch", "/data/by-1000")

		for _, c := range []struct {
			file     string
			uid, gid int
		}{
			{"by-root", os.Getuid(), os.Getgid()},
			{"by-1000", subUID + 999, subGID + 999},
		} {
			fi, err := os.Stat(filepath.Join(dir, c.file))
			if err != nil {
				t.Errorf("file written inside is not on the host: %v", err)
				continue
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != c.uid || int(st.Gid) != c.gid {
				t.Errorf("%s owned by %d:%d outside, want %d:%d", c.file, st.Uid, st.Gid, c.uid, c.gid)
			}
		}
	})
}

func TestPIDNamespace(t *testing.T) {
	t.Parallel()
	if got := strings.TrimSpace(runOut(t, nil, "sh", "-c", "echo $$")); got != "1" {
		t.Errorf("shell pid inside = %q, want 1", got)
	}
	out := runOut(t, nil, "sh", "-c", "ls /proc; true")
	var pids []int
	for _, f := range strings.Fields(out) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	if len(pids) == 0 || len(pids) > 4 {
		t.Errorf("numeric entries in /proc inside = %v, want only the container's own few processes", pids)
	}
	if !slices.Contains(pids, 1) {
		t.Errorf("no pid 1 in /proc inside: %v", pids)
	}
	for _, p := range pids {
		if p > 100 {
			t.Errorf("pid %d inside: host processes are visible (pids %v)", p, pids)
		}
	}
	if me := os.Getpid(); slices.Contains(pids, me) && me > 100 {
		t.Errorf("the test's own pid %d is visible inside", me)
	}
}

func TestHostname(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		out := runOut(t, []string{"--hostname", "foo"}, "sh", "-c", "hostname; echo ---; cat /etc/hostname; echo ---; cat /etc/hosts")
		parts := strings.Split(out, "---\n")
		if len(parts) != 3 {
			t.Fatalf("unexpected output:\n%s", out)
		}
		if got := strings.TrimSpace(parts[0]); got != "foo" {
			t.Errorf("hostname = %q, want foo", got)
		}
		if got := strings.TrimSpace(parts[1]); got != "foo" {
			t.Errorf("/etc/hostname = %q, want foo", got)
		}
		if !slices.Contains(strings.Fields(parts[2]), "foo") {
			t.Errorf("/etc/hosts does not name foo:\n%s", parts[2])
		}
	})
	t.Run("default is short id", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		out := mustMyctr(t, "run", "--name", name, image, "sh", "-c", "hostname; echo ---; cat /etc/hostname; echo ---; cat /etc/hosts")
		in := inspect(t, name)
		want := in.Id[:min(12, len(in.Id))]
		parts := strings.Split(out, "---\n")
		if len(parts) != 3 {
			t.Fatalf("unexpected output:\n%s", out)
		}
		if got := strings.TrimSpace(parts[0]); got != want {
			t.Errorf("hostname = %q, want %q (first 12 of id %s)", got, want, in.Id)
		}
		if got := strings.TrimSpace(parts[1]); got != want {
			t.Errorf("/etc/hostname = %q, want %q", got, want)
		}
		if !slices.Contains(strings.Fields(parts[2]), want) {
			t.Errorf("/etc/hosts does not name %s:\n%s", want, parts[2])
		}
		if in.Config.Hostname != want {
			t.Errorf("inspect Config.Hostname = %q, want %q", in.Config.Hostname, want)
		}
	})
}

func TestNoHostPathsInMountinfo(t *testing.T) {
	t.Parallel()
	out := runOut(t, nil, "cat", "/proc/self/mountinfo")
	if strings.TrimSpace(out) == "" {
		t.Fatal("empty mountinfo inside")
	}
	leaks := []string{tmpRoot}
	if home, err := os.UserHomeDir(); err == nil && home != "" && home != "/" {
		leaks = append(leaks, home)
	}
	for _, p := range leaks {
		if strings.Contains(out, p) {
			t.Errorf("container mountinfo reveals host path %s:\n%s", p, out)
		}
	}
}

// mountOptions returns the per-mount options (field 6) of the mount at
// target in mountinfo text, the last one if stacked.
func mountOptions(mountinfo, target string) (string, bool) {
	opts, found := "", false
	for _, l := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(l)
		if len(f) > 5 && f[4] == target {
			opts, found = f[5], true
		}
	}
	return opts, found
}

func TestMaskedAndReadOnlyPaths(t *testing.T) {
	t.Parallel()
	t.Run("proc kcore and keys read empty", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"/proc/kcore", "/proc/keys"} {
			out := runOut(t, nil, "sh", "-c", "head -c 64 "+p+" 2>/dev/null | wc -c")
			if got := strings.TrimSpace(out); got != "0" {
				t.Errorf("%s: read %s bytes inside, want 0 (masked)", p, got)
			}
		}
	})
	t.Run("sys firmware empty", func(t *testing.T) {
		t.Parallel()
		out := runOut(t, nil, "sh", "-c", "ls -A /sys/firmware 2>/dev/null; true")
		if strings.TrimSpace(out) != "" {
			t.Errorf("/sys/firmware lists %q inside, want empty (masked)", out)
		}
	})
	t.Run("proc sys read-only", func(t *testing.T) {
		t.Parallel()
		// The container owns its UTS namespace, so only a read-only
		// /proc/sys stops this write.
		_, _, code := myctr(t, "run", "--rm", image, "sh", "-c", "echo hacked > /proc/sys/kernel/hostname")
		if code == 0 {
			t.Errorf("writing /proc/sys/kernel/hostname succeeded, want a failure (read-only /proc/sys)")
		}
		mi := runOut(t, nil, "cat", "/proc/self/mountinfo")
		if opts, ok := mountOptions(mi, "/proc/sys"); !ok || !strings.HasPrefix(opts, "ro") {
			t.Errorf("/proc/sys mount options %q (found %v), want ro\n%s", opts, ok, mi)
		}
	})
	t.Run("sys read-only", func(t *testing.T) {
		t.Parallel()
		if _, _, code := myctr(t, "run", "--rm", image, "sh", "-c", "touch /sys/x || mkdir /sys/x"); code == 0 {
			t.Errorf("writing under /sys succeeded, want a failure")
		}
		mi := runOut(t, nil, "cat", "/proc/self/mountinfo")
		if opts, ok := mountOptions(mi, "/sys"); !ok || !strings.HasPrefix(opts, "ro") {
			t.Errorf("/sys mount options %q (found %v), want ro\n%s", opts, ok, mi)
		}
	})
}

func TestWritesGoToUpperDir(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	mustMyctr(t, "run", "--name", name, image, "sh", "-c", "echo hi > /newfile; rm /bin/ls")
	in := inspect(t, name)
	if in.GraphDriver.Name != "overlay" {
		t.Errorf("GraphDriver.Name = %q, want overlay", in.GraphDriver.Name)
	}
	upper := in.GraphDriver.Data.UpperDir
	if upper == "" || !filepath.IsAbs(upper) {
		t.Fatalf("GraphDriver.Data.UpperDir = %q, want an absolute path", upper)
	}
	b, err := os.ReadFile(filepath.Join(upper, "newfile"))
	if err != nil {
		t.Errorf("newfile is not in the upper dir: %v", err)
	} else if string(b) != "hi\n" {
		t.Errorf("upper/newfile = %q, want %q", b, "hi\n")
	}

	lowers := strings.Split(in.GraphDriver.Data.LowerDir, ":")
	if len(lowers) == 0 || lowers[0] == "" {
		t.Fatalf("GraphDriver.Data.LowerDir is empty")
	}
	found := false
	for _, l := range lowers {
		if _, err := os.Lstat(filepath.Join(l, "bin", "ls")); err == nil {
			found = true
		}
		if _, err := os.Lstat(filepath.Join(l, "newfile")); err == nil {
			t.Errorf("newfile leaked into the image layer %s", l)
		}
	}
	if !found {
		t.Errorf("bin/ls is gone from the image layers %v", lowers)
	}

	out := runOut(t, nil, "sh", "-c", "test -e /bin/ls && echo has-ls; test -e /newfile && echo has-newfile; true")
	if !strings.Contains(out, "has-ls") {
		t.Errorf("a new container has no /bin/ls")
	}
	if strings.Contains(out, "has-newfile") {
		t.Errorf("a new container sees /newfile from another container")
	}
}

func TestVolumes(t *testing.T) {
	t.Parallel()
	t.Run("read-only", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, _, code := myctr(t, "run", "--rm", "-v", dir+":/data:ro", image, "touch", "/data/x")
		if code == 0 {
			t.Errorf("write to a :ro volume succeeded")
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Errorf("a file appeared on the host through a :ro volume")
		}
	})
	t.Run("read-write", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "from-host"), []byte("host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := runOut(t, []string{"-v", dir + ":/data"}, "sh", "-c", "cat /data/from-host; echo ok > /data/f")
		if out != "host\n" {
			t.Errorf("host file read inside = %q, want %q", out, "host\n")
		}
		b, err := os.ReadFile(filepath.Join(dir, "f"))
		if err != nil || string(b) != "ok\n" {
			t.Errorf("file written inside: %q, %v; want %q on the host", b, err, "ok\n")
		}
	})
	for _, c := range []struct{ name, spec string }{
		{"relative host path", "foo/bar:/x"}, // (foo:/x is the volume foo, as in Podman)
		{"missing host path", "/nonexistent-myctr-it-" + strconv.Itoa(os.Getpid()) + ":/x"},
		{"empty target", os.TempDir() + ":"},
	} {
		t.Run("bad "+c.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := myctr(t, "run", "--rm", "-v", c.spec, image, "true")
			if code != 125 || !strings.Contains(errOut, "Error:") {
				t.Errorf("-v %s: exit %d, stderr %q; want 125 and an Error: line", c.spec, code, errOut)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		args  []string
		code  int
		error bool // myctr's own failure: wants an Error: line
	}{
		{"container exit code", []string{"run", "--rm", image, "sh", "-c", "exit 3"}, 3, false},
		{"command not found", []string{"run", "--rm", image, "nonexistent-cmd"}, 127, false},
		{"not executable", []string{"run", "--rm", image, "/etc"}, 126, false},
		{"unknown image", []string{"run", "--rm", "no-such-image-myctr-it", "true"}, 125, true},
		{"unknown user", []string{"run", "--rm", "-u", "nosuchuser", image, "true"}, 125, true},
		{"unknown flag", []string{"run", "--bogus", image, "true"}, 125, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := myctr(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, errOut)
			}
			if c.error && !strings.Contains(errOut, "Error:") {
				t.Errorf("stderr %q has no Error: line", errOut)
			}
		})
	}
}

// podmanDefaultCaps is CHOWN DAC_OVERRIDE FOWNER FSETID KILL
// NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT.
const podmanDefaultCaps = 0x00000000800405fb

func capField(t *testing.T, status, key string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(statusField(t, status, key), 16, 64)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return v
}

func TestProcessSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		flags []string
		cmd   []string
		want  string
	}{
		{"env", []string{"-e", "A=1"}, []string{"sh", "-c", "echo $A"}, "1\n"},
		{"workdir", []string{"-w", "/tmp"}, []string{"pwd"}, "/tmp\n"},
		{"uid:gid", []string{"-u", "1000:1000"}, []string{"sh", "-c", "id -u; id -g"}, "1000\n1000\n"},
		{"user name", []string{"-u", "app"}, []string{"sh", "-c", "id -u; id -g"}, "1000\n1000\n"},
		{"entrypoint", []string{"--entrypoint", "/bin/echo"}, []string{"hello", "world"}, "hello world\n"},
		{"read-only root with tmpfs", []string{"--read-only", "--tmpfs", "/scratch"},
			[]string{"sh", "-c", "touch /rootfile 2>/dev/null && echo root-writable; touch /scratch/f && echo tmpfs-ok"}, "tmpfs-ok\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := runOut(t, c.flags, c.cmd...); got != c.want {
				t.Errorf("output %q, want %q", got, c.want)
			}
		})
	}

	t.Run("env-file", func(t *testing.T) {
		t.Parallel()
		f := filepath.Join(t.TempDir(), "env")
		if err := os.WriteFile(f, []byte("# a comment\nB=2\n\nC=three\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := runOut(t, []string{"--env-file", f}, "sh", "-c", "echo $B $C"); got != "2 three\n" {
			t.Errorf("output %q, want %q", got, "2 three\n")
		}
	})

	for _, c := range []struct {
		name   string
		flags  []string
		eff    uint64
		bnd    uint64
		nnp    string
		useBnd bool
	}{
		{"default caps", nil, podmanDefaultCaps, podmanDefaultCaps, "0", true},
		{"cap-drop ALL", []string{"--cap-drop", "ALL"}, 0, 0, "0", false},
		{"cap-add NET_ADMIN", []string{"--cap-add", "NET_ADMIN"}, podmanDefaultCaps | 1<<12, podmanDefaultCaps | 1<<12, "0", true},
		{"no-new-privileges", []string{"--security-opt", "no-new-privileges"}, podmanDefaultCaps, podmanDefaultCaps, "1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			status := runOut(t, c.flags, "cat", "/proc/self/status")
			if got := capField(t, status, "CapEff"); got != c.eff {
				t.Errorf("CapEff = %#016x, want %#016x", got, c.eff)
			}
			if c.useBnd {
				if got := capField(t, status, "CapBnd"); got != c.bnd {
					t.Errorf("CapBnd = %#016x, want %#016x", got, c.bnd)
				}
			}
			if got := statusField(t, status, "NoNewPrivs"); got != c.nnp {
				t.Errorf("NoNewPrivs = %s, want %s", got, c.nnp)
			}
		})
	}
}

func TestNamesAndPrefixes(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	id := runDetached(t, name, nil, "sleep", "60")

	_, errOut, code := myctr(t, "run", "-d", "--name", name, image, "sleep", "60")
	if code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, name) {
		t.Errorf("duplicate --name: exit %d, stderr %q; want 125 and an Error naming %s", code, errOut, name)
	}

	in := inspect(t, id[:12])
	if in.Id != id {
		t.Errorf("inspect %s: Id %s, want %s", id[:12], in.Id, id)
	}
	if strings.TrimPrefix(in.Name, "/") != name {
		t.Errorf("inspect Name = %q, want %q", in.Name, name)
	}
	if in.ImageName != imageFull && in.ImageName != image {
		t.Errorf("inspect ImageName = %q, want %q", in.ImageName, imageFull)
	}
	if !in.State.Running || in.State.Status != "running" || in.State.Pid <= 0 {
		t.Errorf("inspect State = %+v, want running with a pid", in.State)
	}
	// The rootless default: slirp4netns where installed (the test set-up
	// installs it), pasta otherwise.
	if in.HostConfig.NetworkMode != "slirp4netns" {
		t.Errorf("HostConfig.NetworkMode = %q, want slirp4netns (the default)", in.HostConfig.NetworkMode)
	}
	if _, err := os.Stat(in.OCIConfigPath); err != nil {
		t.Errorf("OCIConfigPath %q: %v", in.OCIConfigPath, err)
	}

	p, ok := psFind(psJSON(t, false), name)
	switch {
	case !ok:
		t.Errorf("ps does not list running %s", name)
	case p.Id != id || p.State != "running" || p.Pid != in.State.Pid || p.Image != imageFull:
		t.Errorf("ps entry = %+v, want Id %s, running, Pid %d, Image %s", p, id, in.State.Pid, imageFull)
	case !slices.Equal(p.Command, []string{"sleep", "60"}):
		t.Errorf("ps Command = %q, want [sleep 60]", p.Command)
	}
	if out := mustMyctr(t, "ps", "-q"); !strings.Contains(out, id[:12]) {
		t.Errorf("ps -q does not list %s:\n%s", id[:12], out)
	}
}

func TestAutoRemove(t *testing.T) {
	t.Parallel()
	t.Run("foreground", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		mustMyctr(t, "run", "--rm", "--name", name, image, "true")
		if _, ok := psFind(psJSON(t, true), name); ok {
			t.Errorf("%s still listed by ps -a after --rm", name)
		}
	})
	// What the container wrote goes with it: deleted by myctr-monitor
	// once the CLI has ended (a small tree of the user's own), or by the
	// reaper in the user namespace (a directory of a subordinate id). A
	// symlink in the container's tree that names a directory of the user
	// on the host is deleted as a link, never followed.
	for _, tc := range []struct{ name, script string }{
		{"written", "mkdir -p /a/b/c && echo x > /a/b/c/f && ln -s %s /a/outside && ln -s %s/keep /a/keep"},
		{"subordinate-ids", "mkdir /tmp/u && touch /tmp/u/f && chown -R 1000 /tmp/u && ln -s %s /tmp/outside && : %s"},
	} {
		t.Run("foreground-"+tc.name, func(t *testing.T) {
			t.Parallel()
			host := t.TempDir()
			if err := os.WriteFile(filepath.Join(host, "keep"), []byte("kept"), 0o600); err != nil {
				t.Fatal(err)
			}
			// A store of its own: no other test's `ps -a` sweeps it
			// (SweepRemoved), so what deletes the directory is the run.
			// Its --root is relative, as a user may give it.
			cwd := t.TempDir()
			own := []string{"--root", "root", "--runroot", filepath.Join(t.TempDir(), "run")}
			mine := func(args ...string) {
				t.Helper()
				cmd := exec.Command(bin, append(own, args...)...)
				cmd.Dir = cwd
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("myctr %v: %v\n%s", args, err, out)
				}
			}
			mine("import", filepath.Join(tmpRoot, "bb.tar"), image)
			t.Cleanup(func() {
				cmd := exec.Command(bin, append(own, "unshare", "rm", "-rf", "root", own[3])...)
				cmd.Dir = cwd
				_ = cmd.Run()
			})
			cid := filepath.Join(t.TempDir(), "cid")
			mine("run", "--rm", "--cidfile", cid, "--network", "none", image, "sh", "-c", fmt.Sprintf(tc.script, host, host))
			b, err := os.ReadFile(cid)
			if err != nil {
				t.Fatal(err)
			}
			id := strings.TrimSpace(string(b))
			waitFor(t, 10*time.Second, "the container's directory to be deleted", func() bool {
				_, err1 := os.Lstat(filepath.Join(cwd, "root", "containers", id))
				_, err2 := os.Lstat(filepath.Join(cwd, "root", "containers", ".rm-"+id))
				return errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist)
			})
			if b, err := os.ReadFile(filepath.Join(host, "keep")); err != nil || string(b) != "kept" {
				t.Errorf("the host file a link in the container's tree named: %q, %v; want it untouched", b, err)
			}
		})
	}
	t.Run("detached", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		id := strings.TrimSpace(mustMyctr(t, "run", "--rm", "-d", "--name", name, image, "sleep", "1"))
		waitFor(t, 20*time.Second, name+" to be removed after exit", func() bool {
			_, ok := psFind(psJSON(t, true), name)
			return !ok
		})
		if _, err := os.Stat(containerDir(id)); err == nil {
			t.Errorf("container dir %s is left after --rm", containerDir(id))
		}
	})
}

// TestNoInheritedDescriptors: descriptors that myctr's caller left open
// without close-on-exec (a file and the host's /, as fds 43 and 44 here)
// reach neither a container's process (foreground or detached) nor an
// exec'd one.
func TestNoInheritedDescriptors(t *testing.T) {
	t.Parallel()
	f1, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer f1.Close()
	f2, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	// run MYCTR-ARGS with fds 43 and 44 open; returns stdout.
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := myctrCommand(ctx, args...)
		cmd.ExtraFiles = append(make([]*os.File, 40), f1, f2)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("myctr %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	// The shell tests its own fds (stat only: it opens nothing meanwhile).
	probe := `for f in 43 44; do test -e /proc/$$/fd/$f && echo "fd $f"; done; echo checked`
	if got := run("run", "--rm", "--network", "none", image, "sh", "-c", probe); got != "checked" {
		t.Errorf("run: the container's process has inherited descriptors: %q", got)
	}
	name := ctrName(t, "")
	run("run", "-d", "--name", name, "--network", "none", image, "sleep", "300")
	t.Cleanup(func() { myctr(t, "rm", "-f", name) })
	// sleep, the detached container's PID 1, opens nothing: all of its
	// fds can be listed.
	if got := run("exec", name, "ls", "/proc/1/fd"); strings.Join(strings.Fields(got), " ") != "0 1 2" {
		t.Errorf("run -d: the container's init has fds %q, want 0 1 2", got)
	}
	if got := run("exec", name, "sh", "-c", probe); got != "checked" {
		t.Errorf("exec: the process has inherited descriptors: %q", got)
	}
}

// TestInit: --init makes myctr-init PID 1 (as /run/myctr-init, also on a
// read-only root), passes the command's exit code or 128+signal on,
// reaps orphans that a non-reaping PID 1 would leave as zombies, and
// forwards stop's signal to the command.
func TestInit(t *testing.T) {
	t.Parallel()
	for _, ro := range []bool{false, true} {
		flags := []string{"--init", "--network", "none"}
		if ro {
			flags = append(flags, "--read-only")
		}
		out := runOut(t, flags, "sh", "-c", `echo $$; tr '\0' ' ' </proc/1/cmdline`)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || lines[0] == "1" || !strings.HasPrefix(lines[1], "/run/myctr-init -- sh -c") {
			t.Errorf("read-only=%v: the command's pid and PID 1's command line: %q", ro, out)
		}
	}
	for cmd, want := range map[string]int{"exit 7": 7, "kill -9 $$": 137} {
		if _, errOut, code := myctr(t, "run", "--rm", "--init", "--network", "none", image, "sh", "-c", cmd); code != want {
			t.Errorf("%q: exit %d, want %d (%s)", cmd, code, want, errOut)
		}
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--init", "--network", "none", image, "nosuchcommand"); code != 127 || !strings.Contains(errOut, "Error:") {
		t.Errorf("missing command: exit %d, stderr %q", code, errOut)
	}

	// An orphan of a PID 1 that never waits stays a zombie; under
	// myctr-init it is reaped. Without --init is the control.
	for _, init := range []bool{false, true} {
		name := ctrName(t, fmt.Sprint(init))
		flags := []string{"--network", "none"}
		if init {
			flags = append(flags, "--init")
		}
		runDetached(t, name, flags, "sh", "-c", `sh -c 'sleep 0.1 & echo "orphan $!"'; exec sleep 300`)
		waitLogs(t, name, "orphan ", 10*time.Second)
		var orphan string
		if _, err := fmt.Sscanf(strings.TrimSpace(mustMyctr(t, "logs", name)), "orphan %s", &orphan); err != nil {
			t.Fatalf("--init=%v: the orphan's pid: %v", init, err)
		}
		// Once the orphan has exited it is a zombie until PID 1 waits for
		// it: under myctr-init it goes away, without it it stays.
		want := "Z"
		if init {
			want = "gone"
		}
		var state, out string
		for deadline := time.Now().Add(10 * time.Second); state != want && time.Now().Before(deadline); time.Sleep(pollInterval) {
			out = mustMyctr(t, "exec", name, "ps", "-o", "pid,stat,comm")
			state = psState(out, orphan)
		}
		if state != want {
			t.Errorf("--init=%v: the orphan (pid %s) is %q, want %q; ps:\n%s", init, orphan, state, want, out)
		}
		myctr(t, "rm", "-f", name)
	}

	name := ctrName(t, "stop")
	runDetached(t, name, []string{"--init", "--network", "none"}, "sh", "-c", `trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done`)
	waitLogs(t, name, "ready", 10*time.Second)
	mustMyctr(t, "stop", "-t", "10", name)
	if in := inspect(t, name); in.State.ExitCode != 3 {
		t.Errorf("after stop: exit code %d, want 3 (the command's trap)", in.State.ExitCode)
	}
	waitLogs(t, name, "got TERM", 5*time.Second)
}

// psState returns the first letter of the STAT column of pid's line in
// the output of ps -o pid,stat,comm, or "gone" when pid has no line.
func psState(ps, pid string) string {
	for _, l := range strings.Split(ps, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == pid {
			return f[1][:1]
		}
	}
	return "gone"
}

// TestTmpfsExec: a --tmpfs mount runs programs, as Podman's (rw, nosuid,
// nodev), unless noexec is asked for.
func TestTmpfsExec(t *testing.T) {
	script := "cp /bin/busybox /scratch/true && /scratch/true"
	if _, errOut, code := myctr(t, "run", "--rm", "--network", "none", "--tmpfs", "/scratch", image, "sh", "-c", script); code != 0 {
		t.Errorf("a program on --tmpfs /scratch: exit %d: %s", code, errOut)
	}
	if _, _, code := myctr(t, "run", "--rm", "--network", "none", "--tmpfs", "/scratch:noexec", image, "sh", "-c", script); code != 126 {
		t.Errorf("a program on --tmpfs /scratch:noexec: exit %d, want 126", code)
	}
}

// TestRmVolatileOverlay: an --rm container's root is mounted volatile
// (overlayfs syncs nothing of what it writes, which goes with it), any
// other's is not; an --rm container whose dirs are mounted again (cp
// before its start, then its start) still starts.
func TestRmVolatileOverlay(t *testing.T) {
	t.Parallel()
	root := func(args ...string) string {
		t.Helper()
		out := mustMyctr(t, append(append([]string{"run"}, args...), image, "sh", "-c", "grep ' / / ' /proc/self/mountinfo")...)
		if !strings.Contains(out, " overlay ") {
			t.Fatalf("the root's mountinfo line %q: not an overlay", out)
		}
		return out
	}
	if out := root("--rm"); !strings.Contains(out, "volatile") {
		t.Errorf("--rm: the root's options %q, want volatile", out)
	}
	name := ctrName(t, "")
	if out := root("--name", name); strings.Contains(out, "volatile") {
		t.Errorf("without --rm: the root's options %q, want no volatile", out)
	}
	mustMyctr(t, "rm", name)
	// Mounted by cp first (not volatile), then by its start (volatile).
	name = ctrName(t, "cp")
	mustMyctr(t, "create", "--rm", "--name", name, image, "cat", "/copied")
	src := filepath.Join(t.TempDir(), "copied")
	if err := os.WriteFile(src, []byte("here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustMyctr(t, "cp", src, name+":/copied")
	// The mark a volatile mount leaves (overlayfs refuses the dirs while
	// it is there), as after an end cut short: the start removes it.
	// (overlayfs's work/work is mode 000: opened for the mark, then shut.)
	work := filepath.Join(containerDir(inspect(t, name).Id), "work", "work")
	if err := os.Chmod(work, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(work, "incompat", "volatile"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(work, 0); err != nil {
		t.Fatal(err)
	}
	if out := mustMyctr(t, "start", "--attach", name); out != "here\n" {
		t.Errorf("start --attach: %q, want the copied file", out)
	}
}
