//go:build integration

package integration

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// me is the test user, whose ids --userns=keep-id keeps.
func me(t *testing.T) *user.User {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsernsKeepID(t *testing.T) {
	u := me(t)
	out := runOut(t, []string{"--userns=keep-id"}, "sh", "-c", "id -u; id -g; id -un; stat -c %u:%g / /etc /bin/busybox")
	want := strings.Join([]string{u.Uid, u.Gid, u.Username, "0:0", "0:0", "0:0"}, "\n")
	if strings.TrimSpace(out) != want {
		t.Errorf("keep-id: got\n%s\nwant\n%s", out, want)
	}
	// The image's root-owned files stay root's; the user's own /etc/passwd
	// entry is there once, however often the container starts.
	if out := runOut(t, []string{"--userns=keep-id", "--user=0"}, "id", "-un"); strings.TrimSpace(out) != "root" {
		t.Errorf("--user=0 --userns=keep-id: id -un = %q, want root", out)
	}
	// The user's own name, which only keep-id's /etc/passwd entry has.
	if out := runOut(t, []string{"--userns=keep-id", "--user=" + u.Username}, "id"); !strings.HasPrefix(out, "uid="+u.Uid+"("+u.Username+") gid="+u.Gid+"(") {
		t.Errorf("--user=%s --userns=keep-id: id = %q", u.Username, out)
	}
	// As Podman: the last --userns wins.
	if out := runOut(t, []string{"--userns=private", "--userns=keep-id"}, "id", "-u"); strings.TrimSpace(out) != u.Uid {
		t.Errorf("--userns=private --userns=keep-id: id -u = %q, want %s", out, u.Uid)
	}
	if out := runOut(t, []string{"--userns=keep-id", "--userns=private"}, "id", "-u"); strings.TrimSpace(out) != "0" {
		t.Errorf("--userns=keep-id --userns=private: id -u = %q, want 0", out)
	}
}

// A file the container's user writes in a bind mount is the user's on the
// host, and the user's files are theirs inside.
func TestUsernsKeepIDBindMount(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOut(t, []string{"--userns=keep-id", "-v", dir + ":/vol"}, "sh", "-c", "touch /vol/made && stat -c %u /vol/mine")
	if got := strings.TrimSpace(out); got != strconv.Itoa(os.Getuid()) {
		t.Errorf("keep-id: the user's file shows as owned by %s inside, want %d", got, os.Getuid())
	}
	fi, err := os.Stat(filepath.Join(dir, "made"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid() {
		t.Errorf("file made in the container is %d:%d on the host, want %d:%d", st.Uid, st.Gid, os.Getuid(), os.Getgid())
	}
	// Without keep-id, the same file is root's inside (Podman's 160-volumes).
	if out := runOut(t, []string{"-v", dir + ":/vol"}, "stat", "-c", "%u", "/vol/mine"); strings.TrimSpace(out) != "0" {
		t.Errorf("default mapping: the user's file shows as %q inside, want 0", out)
	}
}

// Files the image gives to other users keep their owners (and set-user-ID
// bits) under keep-id, below and above the user's uid.
func TestUsernsKeepIDImageOwners(t *testing.T) {
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM " + image + "\n" +
		"RUN touch /low /high && chown 5:6 /low && chmod 4755 /low && chown 40000:40000 /high\n"})
	mustBuild(t, "-t", "it-keepid-owners", ctx)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-keepid-owners") })
	const check = "stat -c '%u:%g:%a %n' / /bin/busybox /low /high"
	want := "0:0:755 /\n0:0:755 /bin/busybox\n5:6:4755 /low\n40000:40000:644 /high"
	for _, flags := range [][]string{nil, {"--userns=keep-id"}} {
		out := mustMyctr(t, append(append([]string{"run", "--rm"}, flags...), "it-keepid-owners", "sh", "-c", check)...)
		if strings.TrimSpace(out) != want {
			t.Errorf("run %v: got\n%s\nwant\n%s", flags, out, want)
		}
	}
}

// exec joins the keep-id namespace as the user; a second start does not
// shift the owners again.
func TestUsernsKeepIDExec(t *testing.T) {
	u := me(t)
	name := ctrName(t, "k")
	runDetached(t, name, []string{"--userns=keep-id"}, "sleep", "600")
	if out := mustMyctr(t, "exec", name, "id", "-un"); strings.TrimSpace(out) != u.Username {
		t.Errorf("exec id -un = %q, want %s", out, u.Username)
	}
	if out := mustMyctr(t, "exec", "--user", u.Username, name, "id", "-u"); strings.TrimSpace(out) != u.Uid {
		t.Errorf("exec --user %s id -u = %q, want %s", u.Username, out, u.Uid)
	}
	mustMyctr(t, "exec", name, "touch", "/tmp/mine")
	mustMyctr(t, "stop", "-t", "0", name)
	mustMyctr(t, "start", name)
	out := mustMyctr(t, "exec", name, "sh", "-c", "stat -c %u:%g / /bin/busybox /tmp/mine; grep -c '^"+u.Username+":' /etc/passwd")
	want := "0:0\n0:0\n" + u.Uid + ":" + u.Gid + "\n1"
	if strings.TrimSpace(out) != want {
		t.Errorf("after a restart: got\n%s\nwant\n%s", out, want)
	}
}

func TestUsernsKeepIDOptions(t *testing.T) {
	dir := t.TempDir()
	out := runOut(t, []string{"--userns=keep-id:uid=7,gid=8", "-v", dir + ":/vol"}, "sh", "-c", "id -u; id -g; stat -c %u:%g /etc; touch /vol/f")
	if want := "7\n8\n0:0"; strings.TrimSpace(out) != want {
		t.Errorf("keep-id:uid=7,gid=8: got\n%s\nwant\n%s", out, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() {
		t.Errorf("file made by container uid 7 is uid %d on the host, want %d", st.Uid, os.Getuid())
	}
}

// host is Podman's rootless meaning: the ids of the user's own namespace,
// which are the default mapping's.
func TestUsernsHost(t *testing.T) {
	def := runOut(t, nil, "cat", "/proc/self/uid_map")
	host := runOut(t, []string{"--userns=host"}, "sh", "-c", "id -u; cat /proc/self/uid_map")
	if host != "0\n"+def {
		t.Errorf("--userns=host: got\n%s\nwant 0 and the default map\n%s", host, def)
	}
}

func TestUsernsRefused(t *testing.T) {
	for _, mode := range []string{"auto", "nomap", "ns:/proc/1/ns/user", "bogus"} {
		_, errOut, code := myctr(t, "run", "--rm", "--userns="+mode, image, "true")
		if code != 125 || !strings.HasPrefix(errOut, "Error: ") {
			t.Errorf("--userns=%s: exit %d, stderr %q; want 125 and an Error: line", mode, code, errOut)
		}
		if mode != "bogus" && !strings.Contains(errOut, "\nHint: ") {
			t.Errorf("--userns=%s: no Hint: in %q", mode, errOut)
		}
	}
}
