//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommit: commit makes an image of a container's changes, deletions
// (whiteouts) included, with the container's working directory and the
// --change, --author and --message given; -q prints only the id.
func TestCommit(t *testing.T) {
	name := ctrName(t, "src")
	runDetached(t, name, []string{"--workdir=/srv"}, "sh", "-c", "mkdir /srv/sub; echo made > /srv/sub/f; rm /etc/passwd; sleep 600")
	waitFor(t, 10*time.Second, "the container's changes", func() bool {
		out, _, code := myctr(t, "exec", name, "cat", "/srv/sub/f")
		return code == 0 && out == "made\n"
	})
	id := strings.TrimSpace(mustMyctr(t, "commit", "-q", name))
	if !isFullID(id) {
		t.Fatalf("commit -q printed %q, want the image id", id)
	}
	t.Cleanup(func() { myctr(t, "rmi", "-f", id) })
	img := "localhost/it-commit:latest"
	mustMyctr(t, "commit", "-c", "CMD=/bin/cat /srv/sub/f", "-c", "ENV COMMITTED=yes", "-a", "someone", "-m", "a note", name, "it-commit")
	t.Cleanup(func() { myctr(t, "rmi", "-f", img) })
	if out := mustMyctr(t, "run", "--rm", img); out != "made\n" {
		t.Errorf("the committed image's CMD: %q, want the file the container made", out)
	}
	out := mustMyctr(t, "run", "--rm", img, "sh", "-c", "pwd; echo $COMMITTED; test -e /etc/passwd && echo passwd; true")
	if out != "/srv\nyes\n" {
		t.Errorf("workdir, ENV and deletion in the image: %q, want /srv, yes and no /etc/passwd", out)
	}
	if a := mustMyctr(t, "image", "inspect", "--format", "{{.Author}}", img); a != "someone\n" {
		t.Errorf("author: %q", a)
	}
	if _, e, code := myctr(t, "commit", "-c", "RUN true", name); code != 125 || !strings.Contains(e, "invalid change") {
		t.Errorf("commit -c RUN: exit %d, %q; want 125 and invalid change", code, e)
	}
	docker := strings.TrimSpace(mustMyctr(t, "commit", "-q", "--format", "docker", name))
	t.Cleanup(func() { myctr(t, "rmi", "-f", docker) })
	if mt := mustMyctr(t, "image", "inspect", "--format", "{{.ManifestType}}", docker); mt != "application/vnd.docker.distribution.manifest.v2+json\n" {
		t.Errorf("commit --format docker: manifest type %q", mt)
	}
}

// TestRestartPolicy: --restart on-failure:N restarts a failing container N
// times, always restarts until a user stops it, and the policy shows in
// inspect and in start --filter restart-policy=.
func TestRestartPolicy(t *testing.T) {
	fail := ctrName(t, "fail")
	runDetached(t, fail, []string{"--restart=on-failure:2"}, "sh", "-c", "echo ran; exit 3")
	waitFor(t, 30*time.Second, "three runs", func() bool {
		out, _, _ := myctr(t, "logs", fail)
		return strings.Count(out, "ran\n") == 3
	})
	st := waitState(t, fail, "exited", 10*time.Second)
	if st.State.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", st.State.ExitCode)
	}
	time.Sleep(time.Second) // no fourth run comes
	if out, _, _ := myctr(t, "logs", fail); strings.Count(out, "ran\n") != 3 {
		t.Errorf("on-failure:2 ran %d times, want 3", strings.Count(out, "ran\n"))
	}
	if p := mustMyctr(t, "inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.RestartCount}}", fail); p != "on-failure:2 2\n" {
		t.Errorf("inspect: %q, want on-failure:2 2", p)
	}

	always := ctrName(t, "always")
	runDetached(t, always, []string{"--restart=always"}, "sh", "-c", "echo up; sleep 0.2")
	waitFor(t, 30*time.Second, "a restart", func() bool {
		out, _, _ := myctr(t, "logs", always)
		return strings.Count(out, "up\n") >= 2
	})
	mustMyctr(t, "stop", "-t", "0", always)
	out1, _, _ := myctr(t, "logs", always)
	time.Sleep(2 * time.Second)
	out2, _, _ := myctr(t, "logs", always)
	if out1 != out2 || inspect(t, always).State.Running {
		t.Errorf("a stopped --restart=always container ran again: %q then %q", out1, out2)
	}

	if out := mustMyctr(t, "start", "--filter", "restart-policy=always", fail); out != "" {
		t.Errorf("start --filter restart-policy=always of an on-failure container: %q, want nothing", out)
	}
	if _, e, code := myctr(t, "start", "--filter", "restart-policy=fakepolicy", fail); code != 125 || e != "Error: fakepolicy invalid restart policy\n" {
		t.Errorf("invalid restart-policy filter: exit %d, %q", code, e)
	}
	if _, e, code := myctr(t, "start", "--all", fail); code != 125 || !strings.Contains(e, "either start all containers or the container(s) provided in the arguments") {
		t.Errorf("start --all NAME: exit %d, %q", code, e)
	}
	if _, e, code := myctr(t, "run", "--rm", "--restart=always", image, "true"); code != 125 || !strings.Contains(e, "conflicts with --restart") {
		t.Errorf("--rm --restart=always: exit %d, %q", code, e)
	}
}

// TestPsFilterAndRmMessages: ps --filter does not imply --all (a status
// filter does; stopped is exited); rm prints the container as named and
// Podman's messages for a running or missing one.
func TestPsFilterAndRmMessages(t *testing.T) {
	done := ctrName(t, "done")
	mustMyctr(t, "run", "--name", done, image, "true")
	if out := mustMyctr(t, "ps", "--filter", "name="+done, "--format", "{{.Names}}"); out != "" {
		t.Errorf("ps --filter name= without -a listed an exited container: %q", out)
	}
	if out := mustMyctr(t, "ps", "--filter", "status=stopped", "--filter", "name="+done, "--format", "{{.Names}}"); out != done+"\n" {
		t.Errorf("ps --filter status=stopped: %q, want %s", out, done)
	}
	if out := mustMyctr(t, "rm", done); out != done+"\n" {
		t.Errorf("rm NAME printed %q, want the name", out)
	}
	up := ctrName(t, "up")
	id := runDetached(t, up, nil, "sleep", "600")
	want := "Error: cannot remove container " + id + " as it is running - running or paused containers cannot be removed without force: container state improper\n"
	if _, e, code := myctr(t, "rm", up); code != 2 || e != want {
		t.Errorf("rm of a running container: exit %d, %q", code, e)
	}
	if _, e, code := myctr(t, "container", "rm", "bogus-ctr"); code != 1 || e != "Error: no container with name or ID \"bogus-ctr\" found: no such container\n" {
		t.Errorf("rm bogus: exit %d, %q", code, e)
	}
}

// TestTmpfsCopyUp: a tmpfs mount starts with what was at its place: the
// image's files and what cp put there before the first start.
func TestTmpfsCopyUp(t *testing.T) {
	name := ctrName(t, "tmpfs")
	mustMyctr(t, "create", "--name", name, "--mount", "type=tmpfs,dst=/etc", image, "sleep", "600")
	src := filepath.Join(t.TempDir(), "copied")
	if err := os.WriteFile(src, []byte("from cp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCp(t, src, name+":/etc")
	mustMyctr(t, "start", name)
	out := mustMyctr(t, "exec", name, "sh", "-c", "cat /etc/copied; test -s /etc/group && echo group; grep ' /etc ' /proc/mounts | cut -d' ' -f3")
	if out != "from cp\ngroup\ntmpfs\n" {
		t.Errorf("the tmpfs: %q, want the copied file, the image's /etc/group, on a tmpfs", out)
	}
	empty := ctrName(t, "empty")
	if out := mustMyctr(t, "run", "--rm", "--name", empty, "--mount", "type=tmpfs,dst=/etc,notmpcopyup", image, "sh", "-c", "test -e /etc/group || echo empty"); out != "empty\n" {
		t.Errorf("notmpcopyup: %q, want no /etc/group", out)
	}
}
