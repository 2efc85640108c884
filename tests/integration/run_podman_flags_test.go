//go:build integration

package integration

import (
	"os"
	"os/user"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunPodmanFlags: run flags as Podman's system tests use them:
// --privileged (rootless meaning), --tz, --workdir that is not there,
// --attach, --kernel-memory, and the image fields of inspect.
func TestRunPodmanFlags(t *testing.T) {
	t.Run("privileged", func(t *testing.T) {
		got := runOut(t, []string{"--privileged"}, "grep", "-E", "^(CapBnd|Seccomp):", "/proc/self/status")
		// Every capability (41 on this kernel: 0x1ffffffffff), no filter.
		if !regexp.MustCompile(`CapBnd:\s+0*1ffffffffff\b`).MatchString(got) || !regexp.MustCompile(`Seccomp:\s+0\b`).MatchString(got) {
			t.Errorf("--privileged: %q, want every capability and no seccomp filter", got)
		}
		plain := runOut(t, nil, "grep", "-E", "^(CapBnd|Seccomp):", "/proc/self/status")
		if strings.Contains(plain, "1ffffffffff") || !regexp.MustCompile(`Seccomp:\s+2\b`).MatchString(plain) {
			t.Errorf("without --privileged: %q, want the default set and a filter", plain)
		}
		// The masked paths are bound over (mountinfo shows them); not
		// with --privileged.
		count := []string{"sh", "-c", "grep -c ' /proc/keys ' /proc/self/mountinfo || true"}
		if m := runOut(t, nil, count...); strings.TrimSpace(m) == "0" {
			t.Errorf("without --privileged: /proc/keys not masked")
		}
		if m := runOut(t, []string{"--privileged"}, count...); strings.TrimSpace(m) != "0" {
			t.Errorf("--privileged: /proc/keys still masked (%q mounts)", m)
		}
	})
	t.Run("tz", func(t *testing.T) {
		if _, err := os.Stat("/usr/share/zoneinfo/MST7MDT"); err != nil {
			t.Skip("no /usr/share/zoneinfo/MST7MDT on this host (package tzdata)")
		}
		if got := runOut(t, []string{"--tz=Iceland", "--tz=MST7MDT"}, "date", "-d", "@1600000000"); got != "Sun Sep 13 06:26:40 MDT 2020\n" {
			t.Errorf("--tz=MST7MDT (the last --tz wins): %q", got)
		}
		if _, e, code := myctr(t, "run", "--rm", "--tz=../../etc/passwd", image, "true"); code != 125 || !strings.Contains(e, "--tz") {
			t.Errorf("--tz out of zoneinfo: exit %d, %q; want 125", code, e)
		}
	})
	t.Run("workdir", func(t *testing.T) {
		_, e, code := myctr(t, "run", "--rm", "--workdir", "/i/do/not/exist", image, "pwd")
		if code != 126 || !regexp.MustCompile(`Error: .*workdir "/i/do/not/exist" does not exist on container [0-9a-f]{64}`).MatchString(e) {
			t.Errorf("--workdir not in the image: exit %d, %q; want 126 and Podman's message", code, e)
		}
		// Made for a mount below it: there.
		dir := t.TempDir()
		os.Chmod(dir, 0o755)
		if got := runOut(t, []string{"--workdir", "/w", "-v", dir + ":/w/sub"}, "pwd"); got != "/w\n" {
			t.Errorf("--workdir above a mount: %q", got)
		}
	})
	t.Run("attach", func(t *testing.T) {
		name := ctrName(t, "a")
		out, e, code := myctr(t, "run", "--name", name, "--attach", "stdin", image, "echo", "hello")
		id := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.Id}}", name))
		if code != 0 || strings.TrimSpace(out) != id {
			t.Errorf("--attach stdin: exit %d, %q (%q); want the id %s alone", code, out, e, id)
		}
		if logs := mustMyctr(t, "logs", name); logs != "hello\n" {
			t.Errorf("logs after --attach stdin: %q", logs)
		}
		out, e, _ = myctr(t, "run", "--rm", "-a", "stderr", image, "sh", "-c", "echo out; echo err >&2")
		if out != "" || !strings.Contains(e, "err") {
			t.Errorf("-a stderr: stdout %q, stderr %q; want err on stderr alone", out, e)
		}
	})
	t.Run("kernel-memory", func(t *testing.T) {
		_, e, code := myctr(t, "run", "--rm", "--kernel-memory", "100", image, "true")
		if code != 0 || !strings.Contains(e, "The --kernel-memory flag is no longer supported. This flag is a noop.") {
			t.Errorf("--kernel-memory: exit %d, %q", code, e)
		}
	})
	t.Run("image fields", func(t *testing.T) {
		name := ctrName(t, "img")
		mustMyctr(t, "create", "--name", name, image)
		want := strings.TrimSpace(mustMyctr(t, "image", "inspect", "--format", "{{.ID}} {{.Digest}}", image))
		got := strings.TrimSpace(mustMyctr(t, "container", "inspect", "--format", "{{.ImageName}} {{.Image}} {{.ImageDigest}}", name))
		if got != "localhost/bb:latest "+want {
			t.Errorf("inspect image fields: %q, want %q", got, "localhost/bb:latest "+want)
		}
	})
}

// TestStopKillPodmanWords: stop and kill say what Podman says, where
// scripts match it; a stop that has to kill warns; a container a stop
// waits for is "stopping".
func TestStopKillPodmanWords(t *testing.T) {
	for sig, want := range map[string]string{"0": "Error: invalid signal: 0", "-SIGBADSIG": "Error: invalid signal: SIGBADSIG", "65": "Error: valid signals are 1 through 64"} {
		if _, e, code := myctr(t, "kill", "-s", sig, "nosuchcontainer"); code != 125 || strings.TrimSpace(e) != want {
			t.Errorf("kill -s %s: exit %d, %q; want 125, %q", sig, code, e, want)
		}
	}
	if _, e, code := myctr(t, "stop", "nosuchcontainer"); code != 125 || strings.TrimSpace(e) != `Error: no container with name or ID "nosuchcontainer" found: no such container` {
		t.Errorf("stop of no container: exit %d, %q", code, e)
	}
	name := ctrName(t, "stop")
	runDetached(t, name, nil, "sh", "-c", "trap 'echo ignored' TERM; echo READY; while :; do sleep 0.1; done")
	waitLogs(t, name, "READY", 20*time.Second)
	done := make(chan string, 1)
	go func() { _, e, _ := myctr(t, "stop", "-t", "2", name); done <- e }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.Status}}", name)); st == "stopping" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("inspect never showed the container as stopping")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e := <-done
	if !strings.Contains(e, "StopSignal SIGTERM failed to stop container "+name+" in 2 seconds, resorting to SIGKILL") {
		t.Errorf("stop -t 2 of a container ignoring SIGTERM: stderr %q, want Podman's warning", e)
	}
	if st := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)); st != "exited 137" {
		t.Errorf("after stop: %q", st)
	}
}

// TestRunDefaultEnv: Podman's default environment (PATH, TERM=xterm from
// containers.conf's default env, container=myctr), --unsetenv removing
// one of those, --unsetenv-all removing them all while -e still sets.
func TestRunDefaultEnv(t *testing.T) {
	has := func(out, v string) bool { return slices.Contains(strings.Split(out, "\n"), v) }
	prefixed := func(out, k string) bool {
		return slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, k+"=") })
	}
	out := mustMyctr(t, "run", "--rm", image, "env")
	for _, v := range []string{"TERM=xterm", "container=myctr", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"} {
		if !has(out, v) {
			t.Errorf("default env lacks %s:\n%s", v, out)
		}
	}
	out = mustMyctr(t, "run", "--rm", "--unsetenv=TERM", image, "env")
	if prefixed(out, "TERM") || !has(out, "container=myctr") {
		t.Errorf("--unsetenv=TERM: want no TERM, container=myctr kept:\n%s", out)
	}
	out = mustMyctr(t, "run", "--rm", "--unsetenv-all", "-e", "TERM=abc", image, "/bin/env")
	for _, k := range []string{"container", "PATH"} {
		if prefixed(out, k) {
			t.Errorf("--unsetenv-all left %s:\n%s", k, out)
		}
	}
	if !has(out, "TERM=abc") {
		t.Errorf("--unsetenv-all -e TERM=abc: want TERM=abc:\n%s", out)
	}
}

// TestRunHostuser: --hostuser NAME or UID puts the host's entry for that
// user in the container's /etc/passwd (Podman's rootless use: the files
// of a bind mount show their owner's name); an unknown user is 126.
func TestRunHostuser(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{me.Username, "x", me.Uid, me.Gid}, ":") + ":"
	if _, _, code := myctr(t, "run", "--rm", image, "grep", "^"+me.Username+":", "/etc/passwd"); code != 1 {
		t.Fatalf("the image already has a %s entry (grep exit %d)", me.Username, code)
	}
	for _, v := range []string{me.Username, me.Uid} {
		out := mustMyctr(t, "run", "--rm", "--hostuser="+v, image, "grep", "^"+me.Username+":", "/etc/passwd")
		if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
			t.Errorf("--hostuser=%s: /etc/passwd has %q, want one line %s...", v, out, want)
		}
	}
	if got := mustMyctr(t, "run", "--rm", "--hostuser="+me.Uid, "--user", me.Uid, image, "id", "-un"); got != me.Username+"\n" {
		t.Errorf("--hostuser with --user %s: id -un %q", me.Uid, got)
	}
	if _, e, code := myctr(t, "run", "--rm", "--hostuser=no-such-user-here", image, "true"); code != 126 || !strings.Contains(e, "no-such-user-here") {
		t.Errorf("--hostuser of an unknown user: exit %d, %q; want 126 naming it", code, e)
	}
}

// TestRunShortHostname: run's and create's -h is --hostname, as Podman's
// and Docker's (docker run -h NAME); --help still shows the help.
func TestRunShortHostname(t *testing.T) {
	t.Parallel()
	if out := strings.TrimSpace(mustMyctr(t, "run", "--rm", "--network", "none", "-h", "it-short-host", image, "hostname")); out != "it-short-host" {
		t.Errorf("run -h it-short-host: host name %q", out)
	}
	name := ctrName(t, "")
	mustMyctr(t, "create", "--network", "none", "-h", "it-created-host", "--name", name, image, "hostname")
	if out := strings.TrimSpace(mustMyctr(t, "start", "--attach", name)); out != "it-created-host" {
		t.Errorf("create -h it-created-host: host name %q", out)
	}
	out := mustMyctr(t, "run", "--help")
	if !strings.Contains(out, "-h, --hostname") || strings.Contains(out, "-h, --help") {
		t.Errorf("run --help: want -h listed as --hostname's, not --help's:\n%s", out)
	}
}
