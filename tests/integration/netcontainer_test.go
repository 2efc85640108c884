//go:build integration

package integration

// --network container:NAME (Podman's): the dependency is recorded at
// create, by id; rm of a container others depend on is refused in
// Podman's words, and rm --depend removes the dependents first.

import (
	"encoding/json"
	"strings"
	"testing"
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

func TestRmDependAll(t *testing.T) {
	base := ctrName(t, "base")
	mustMyctr(t, "create", "--name", base, image, "true")
	dep := ctrName(t, "dep")
	mustMyctr(t, "create", "--name", dep, "--net=container:"+base, image, "true")
	// rm -a takes the dependent first, whatever the order of the listing.
	mustMyctr(t, "rm", "-a")
	for _, n := range []string{base, dep} {
		if _, _, code := myctr(t, "inspect", n); code == 0 {
			t.Errorf("%s still exists after rm -a", n)
		}
	}
}

func TestNetContainerBadInput(t *testing.T) {
	before := mustMyctr(t, "ps", "-a", "-q")
	for _, tc := range []struct{ verb, net, want string }{
		{"create", "container:", "names no container"},
		{"run", "container:", "names no container"},
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
