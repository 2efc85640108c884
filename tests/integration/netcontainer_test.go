//go:build integration

package integration

// --network container:NAME (Podman's): the dependency is recorded at
// create, by id; rm of a container others depend on is refused in
// Podman's words, and rm --depend removes the dependents first.

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRmDepend(t *testing.T) {
	base := ctrName(t, "base")
	baseID := strings.TrimSpace(mustMyctr(t, "create", "--name", base, image, "true"))
	dep := ctrName(t, "dep")
	depID := strings.TrimSpace(mustMyctr(t, "create", "--name", dep, "--net=container:"+baseID, image, "true"))
	dep2 := ctrName(t, "dep2")
	// By name, and a dependent of the dependent.
	dep2ID := strings.TrimSpace(mustMyctr(t, "create", "--name", dep2, "--network", "container:"+dep, image, "true"))

	var got []struct{ HostConfig struct{ NetworkMode string } }
	if err := json.Unmarshal([]byte(mustMyctr(t, "inspect", dep2)), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect: %v %d", err, len(got))
	}
	if want := "container:" + depID; got[0].HostConfig.NetworkMode != want {
		t.Errorf("NetworkMode %q, want %q", got[0].HostConfig.NetworkMode, want)
	}

	for _, force := range [][]string{nil, {"-f"}} {
		out, errOut, code := myctr(t, append(append([]string{"rm"}, force...), baseID)...)
		want := "Error: container " + baseID + " has dependent containers which must be removed before it: " + depID
		if code != 125 || !strings.HasPrefix(errOut, want) {
			t.Errorf("rm %v of a dependency: exit %d, stdout %q, stderr %q; want 125 and %q", force, code, out, errOut, want)
		}
	}
	mustMyctr(t, "inspect", base) // still there

	out := mustMyctr(t, "rm", "--depend", baseID)
	lines := strings.Fields(out)
	if len(lines) != 3 || lines[0] != dep2ID || lines[1] != depID || lines[2] != baseID {
		t.Errorf("rm --depend printed %q, want the dependents first, then the container", out)
	}
	for _, n := range []string{base, dep, dep2} {
		if _, _, code := myctr(t, "inspect", n); code == 0 {
			t.Errorf("%s still exists after rm --depend", n)
		}
	}
}

// TestRmDependAll: rm -a takes the dependent first, whatever the order of
// the listing. In a store of its own: rm -a in the shared one would remove
// the containers of tests running beside it.
func TestRmDependAll(t *testing.T) {
	my := ownStore(t)
	tar := filepath.Join(t.TempDir(), "bb.tar")
	if err := writeBusyboxTar(tar); err != nil {
		t.Fatal(err)
	}
	must := mustIn(t, my)
	must("import", tar, "bb")
	must("create", "--name", "base", "bb", "true")
	must("create", "--name", "dep", "--net=container:base", "bb", "true")
	must("rm", "-a")
	if out := must("ps", "-a", "-q"); out != "" {
		t.Errorf("containers left after rm -a: %q", out)
	}
}

func TestNetContainerBadInput(t *testing.T) {
	before := mustMyctr(t, "ps", "-a", "-q")
	for _, tc := range []struct{ verb, net, want string }{
		{"create", "container:", "names no container"},
		{"run", "container:", "names no container"},
		{"run", "container:it-no-such-container", `no container with name or ID "it-no-such-container" found`},
		{"create", "container:it-no-such-container", `no container with name or ID "it-no-such-container" found`},
	} {
		out, errOut, code := myctr(t, tc.verb, "--network", tc.net, image, "true")
		if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("%s --network %s: exit %d, stdout %q, stderr %q; want 125, Error: ...%s and a Hint:", tc.verb, tc.net, code, out, errOut, tc.want)
		}
	}
	if after := mustMyctr(t, "ps", "-a", "-q"); after != before {
		t.Errorf("containers left behind: before %q, after %q", before, after)
	}
}

// TestNetContainerShared: the joiner is in the same network and user
// namespaces as the container it names (the kernel's namespace ids), a
// server on 127.0.0.1 there is reached from it, and it has that
// container's /etc/resolv.conf and /etc/hosts but its own hostname.
func TestNetContainerShared(t *testing.T) {
	base := ctrName(t, "base")
	runDetached(t, base, nil, "sh", "-c", "echo hello-from-base | nc -l -p 8089; sleep 1000")
	joiner := ctrName(t, "joiner")
	runDetached(t, joiner, []string{"--network", "container:" + base}, "sleep", "1000")
	for _, ns := range []string{"net", "user"} {
		a := mustMyctr(t, "exec", base, "readlink", "/proc/self/ns/"+ns)
		b := mustMyctr(t, "exec", joiner, "readlink", "/proc/self/ns/"+ns)
		if a != b {
			t.Errorf("%s namespace: %q in %s, %q in the joiner", ns, a, base, b)
		}
	}
	for _, ns := range []string{"mnt", "pid", "uts"} {
		a := mustMyctr(t, "exec", base, "readlink", "/proc/self/ns/"+ns)
		b := mustMyctr(t, "exec", joiner, "readlink", "/proc/self/ns/"+ns)
		if a == b {
			t.Errorf("%s namespace %q shared, want the joiner's own", ns, a)
		}
	}
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if out, _, code := myctr(t, "exec", joiner, "nc", "127.0.0.1", "8089"); code == 0 && strings.TrimSpace(out) != "" {
			got = strings.TrimSpace(out)
			break
		}
	}
	if got != "hello-from-base" {
		t.Errorf("the joiner read %q from 127.0.0.1:8089 in the shared namespace, want hello-from-base", got)
	}
	if a, b := mustMyctr(t, "exec", base, "cat", "/etc/resolv.conf"), mustMyctr(t, "exec", joiner, "cat", "/etc/resolv.conf"); a != b {
		t.Errorf("/etc/resolv.conf: %q in %s, %q in the joiner", a, base, b)
	}
	// The base's /etc/hosts, with the joiner's own names at 127.0.0.1
	// (its host name and name), as Podman adds them.
	jhost := strings.TrimSpace(mustMyctr(t, "exec", joiner, "hostname"))
	if a, b := mustMyctr(t, "exec", base, "cat", "/etc/hosts"), mustMyctr(t, "exec", joiner, "cat", "/etc/hosts"); b != a+"127.0.0.1\t"+jhost+" "+joiner+"\n" {
		t.Errorf("/etc/hosts: %q in %s, %q in the joiner; want the base's and the joiner's names at 127.0.0.1", a, base, b)
	}
	if a, b := mustMyctr(t, "exec", base, "hostname"), mustMyctr(t, "exec", joiner, "hostname"); a == b {
		t.Errorf("hostname %q shared, want the joiner's own (its own UTS namespace, as Podman)", a)
	}
	// A foreground run joins too.
	if out := runOut(t, []string{"--net=container:" + base}, "readlink", "/proc/self/ns/net"); out != mustMyctr(t, "exec", base, "readlink", "/proc/self/ns/net") {
		t.Errorf("run --rm --net=container: is in %q", out)
	}
}

// TestNetContainerStartsDependency: as Podman, starting a joiner starts
// the container whose network it joins, when that one is not running; one
// that cannot be started is an error.
func TestNetContainerStartsDependency(t *testing.T) {
	base := ctrName(t, "base")
	mustMyctr(t, "create", "--name", base, image, "sleep", "1000")
	joiner := ctrName(t, "joiner")
	mustMyctr(t, "create", "--name", joiner, "--network", "container:"+base, image, "sleep", "1000")
	mustMyctr(t, "start", joiner)
	a := mustMyctr(t, "exec", base, "readlink", "/proc/self/ns/net")
	if b := mustMyctr(t, "exec", joiner, "readlink", "/proc/self/ns/net"); a != b {
		t.Errorf("net namespace %q in %s, %q in the joiner", a, base, b)
	}

	bad := ctrName(t, "bad")
	mustMyctr(t, "create", "--name", bad, image, "/no/such/command")
	joiner2 := ctrName(t, "joiner2")
	mustMyctr(t, "create", "--name", joiner2, "--network", "container:"+bad, image, "true")
	out, errOut, code := myctr(t, "start", joiner2)
	if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, bad) {
		t.Errorf("start of a joiner of a container that cannot start: exit %d, stdout %q, stderr %q; want 125 and an Error: naming %s", code, out, errOut, bad)
	}
}
