//go:build integration

package integration

// Regression tests for the runc advisories of 2024 and 2025, as they apply
// to myctr (issue 12, "The runtime binary out of the container's reach"):
//
//   - CVE-2024-21626: a working directory of /proc/self/fd/N (from -w,
//     exec -w or the image's WORKDIR) names whatever directory descriptor N
//     is; one opened before pivot_root or setns is outside the container's
//     root. myctr's init and exec stage check getcwd after chdir
//     (nsexec.checkCwd) and refuse directory descriptors passed by socket
//     activation, the one way a caller's descriptors reach the init.
//   - CVE-2025-31133 and CVE-2025-52565: a /dev/null (or /dev/console) that
//     the image made a symlink to a procfs file, so that masking a path
//     binds that file instead of the null device. myctr binds the null
//     device from a descriptor it checked (rootfs.mask), and mounts no
//     /dev/console at all.
//   - CVE-2025-52881: writes to /proc redirected by mounts the container
//     controls. myctr writes /proc (oom_score_adj, sysctls) only through the
//     host's /proc, before anything of the container is mounted; the
//     container's own /proc is procfs even where the image's /proc is a
//     symlink.

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostileImage imports the test image with extra tar entries on top
// (symlinks, files) as a new image, and returns its name.
func hostileImage(t *testing.T, name string, extra []*tar.Header) string {
	t.Helper()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.tar")
	if err := writeBusyboxTar(base); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(in)
	replaced := map[string]bool{}
	for _, h := range extra {
		replaced[strings.TrimSuffix(h.Name, "/")] = true
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if replaced[strings.TrimSuffix(h.Name, "/")] {
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range extra {
		h.ModTime = time.Now()
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "hostile.tar")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	mustMyctr(t, "import", p, name)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", name) })
	return name
}

func symlinkEntry(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}
}

// TestSecurityWorkdirThroughFd is CVE-2024-21626 against run, exec and
// an image's WORKDIR: no working directory reached through /proc/self/fd
// is outside the container's root.
func TestSecurityWorkdirThroughFd(t *testing.T) {
	secret := "host-only-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	hostDir := sharedTempDir(t)
	if err := os.WriteFile(filepath.Join(hostDir, "marker"), []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// What the container's process prints: the marker of the host's
	// directory if its working directory is that one, then getcwd.
	const probe = "cat marker 2>/dev/null; pwd -P"
	check := func(t *testing.T, what, out, errOut string, code int) {
		t.Helper()
		if strings.Contains(out, secret) {
			t.Errorf("%s: the container's process read the host's directory (exit %d):\n%s", what, code, out)
		}
		if code == 0 && !strings.HasPrefix(strings.TrimSpace(out), "/") {
			t.Errorf("%s: started with a working directory outside its root: getcwd %q", what, out)
		}
		if code != 0 && (code != 125 && code != 126 || !strings.HasPrefix(errOut, "Error: ")) {
			t.Errorf("%s: exit %d, stderr %q; want 0, or 125 or 126 with an Error", what, code, errOut)
		}
	}

	t.Run("run -w", func(t *testing.T) {
		for n := 3; n < 24; n++ {
			out, errOut, code := myctr(t, "run", "--rm", "--network", "none", "-w", "/proc/self/fd/"+strconv.Itoa(n), image, "sh", "-c", probe)
			check(t, "run -w /proc/self/fd/"+strconv.Itoa(n), out, errOut, code)
		}
	})
	t.Run("exec -w", func(t *testing.T) {
		name := runDetached(t, "", []string{"--network", "none"}, "sleep", "600")
		for n := 3; n < 24; n++ {
			out, errOut, code := myctr(t, "exec", "-w", "/proc/self/fd/"+strconv.Itoa(n), name, "sh", "-c", probe)
			check(t, "exec -w /proc/self/fd/"+strconv.Itoa(n), out, errOut, code)
		}
	})
	t.Run("image WORKDIR", func(t *testing.T) {
		dir := t.TempDir()
		for _, n := range []int{3, 4, 5, 6, 7, 8} {
			cf := "FROM " + image + "\nWORKDIR /proc/self/fd/" + strconv.Itoa(n) + "\nRUN " + probe + "\n"
			if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(cf), 0o644); err != nil {
				t.Fatal(err)
			}
			tag := "it-cve-workdir-" + strconv.Itoa(n)
			out, errOut, code := myctr(t, "build", "-q", "-t", tag, dir)
			if strings.Contains(out+errOut, secret) {
				t.Errorf("build with WORKDIR /proc/self/fd/%d: a RUN step read the host's directory", n)
			}
			if code == 0 {
				t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", tag) })
				out, errOut, code := myctr(t, "run", "--rm", "--network", "none", tag, "sh", "-c", probe)
				check(t, "run of an image with WORKDIR /proc/self/fd/"+strconv.Itoa(n), out, errOut, code)
			}
		}
	})
	// Socket activation hands the caller's descriptors 3... to the
	// container's init: a directory among them, with -w /proc/self/fd/3,
	// was a working directory outside the root (and the host's marker was
	// read) before the checks.
	t.Run("socket activation descriptor", func(t *testing.T) {
		before := len(psJSON(t, true))
		for _, args := range [][]string{
			{"run", "--rm", "--network", "none", "-w", "/proc/self/fd/3", image, "sh", "-c", probe},
			{"run", "--rm", "--network", "none", "--init", "-w", "/proc/self/fd/3", image, "sh", "-c", probe},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			c := myctrCommand(ctx, args...)
			cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", `exec 3<"$0" && LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"`, hostDir, c.Path}, c.Args[1:]...)...)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			cancel()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			check(t, strings.Join(args, " ")+" with a directory as LISTEN_FDS' descriptor 3", o.String(), e.String(), code)
			if code != 125 {
				t.Errorf("%v with a directory descriptor: exit %d, want 125 (refused)", args, code)
			}
		}
		if after := len(psJSON(t, true)); after != before {
			t.Errorf("%d containers before, %d after: the refused runs left some", before, after)
		}
	})
}

// TestSecurityHostileDevAndProc is CVE-2025-31133, CVE-2025-52565 and
// CVE-2025-52881 as an image can try them: its /dev/null and /dev/console
// are symlinks to procfs files, and (second image) its /proc is a symlink.
// Masked paths stay the null device, no procfs file is mounted anywhere
// it could be written, and what myctr writes into /proc lands in the
// container's own procfs.
func TestSecurityHostileDevAndProc(t *testing.T) {
	t.Run("dev symlinks", func(t *testing.T) {
		img := hostileImage(t, "it-cve-dev", []*tar.Header{
			symlinkEntry("dev/null", "/proc/sys/kernel/core_pattern"),
			symlinkEntry("dev/console", "/proc/sysrq-trigger"),
			symlinkEntry("dev/ptmx", "/proc/sys/kernel/modprobe"),
		})
		for _, flags := range [][]string{{"--network", "none"}, {"--network", "none", "-t"}, {"--network", "none", "--init"}} {
			out := mustMyctr(t, append(append([]string{"run", "--rm"}, flags...), img, "sh", "-c",
				`for p in /proc/keys /proc/timer_list /proc/interrupts /dev/null; do [ -e $p ] && stat -c "file $p %t:%T %F" $p; done
				 awk '{print "mount", $5}' /proc/self/mountinfo
				 (echo test >/proc/sysrq-trigger) 2>/dev/null && echo wrote-sysrq; true`)...)
			files := 0
			for _, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
				f := strings.Fields(l)
				switch {
				case len(f) >= 3 && f[0] == "file":
					files++
					if f[2] != "1:3" || !strings.Contains(l, "character special") {
						t.Errorf("%v: %s is not the null device: %q", flags, f[1], l)
					}
				case len(f) == 2 && f[0] == "mount":
					if f[1] == "/proc/sys/kernel/core_pattern" || f[1] == "/proc/sys/kernel/modprobe" || f[1] == "/dev/console" {
						t.Errorf("%v: something is mounted at %s", flags, f[1])
					}
				case strings.Contains(l, "wrote-sysrq"):
					t.Errorf("%v: /proc/sysrq-trigger was writable", flags)
				}
			}
			if files < 3 {
				t.Errorf("%v: checked %d masked files, want at least 3:\n%s", flags, files, out)
			}
		}
	})
	t.Run("proc symlink", func(t *testing.T) {
		img := hostileImage(t, "it-cve-proc", []*tar.Header{
			symlinkEntry("proc", "/tmp/fakeproc"),
			{Name: "tmp/fakeproc/", Typeflag: tar.TypeDir, Mode: 0o755},
		})
		out := mustMyctr(t, "run", "--rm", "--network", "none", "--oom-score-adj", "300", "--sysctl", "kernel.shmmni=999", img, "sh", "-c",
			"stat -f -c %T /proc/; cat /proc/self/oom_score_adj /proc/sys/kernel/shmmni; stat -c '%t:%T' /proc/timer_list")
		if f := strings.Fields(out); len(f) != 4 || f[0] != "proc" || f[1] != "300" || f[2] != "999" || f[3] != "1:3" {
			t.Errorf("with /proc a symlink in the image: %q, want procfs, oom_score_adj 300, shmmni 999 and /proc/timer_list masked", out)
		}
	})
}
