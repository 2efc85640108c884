//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// pruneSet makes, labelled it.prune=TEST, a running, an exited and a
// created container and an exited one also labelled it.keep; it returns
// their names (and ids, as NAME-id) and the filter label=it.prune=TEST. mk runs one
// `create` or `run -d` of FLAGS... IMAGE CMD... and returns the id.
func pruneSet(t *testing.T, mk func(verb string, flags []string, cmd ...string) string) (names map[string]string, filter string) {
	t.Helper()
	label := "it.prune=" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	names = map[string]string{}
	for _, n := range []string{"running", "exited", "created", "kept"} {
		names[n] = ctrName(t, n)
	}
	ids := map[string]string{}
	ids["running"] = mk("run", []string{"-d", "--name", names["running"], "--label", label}, "sleep", "300")
	ids["exited"] = mk("run", []string{"-d", "--name", names["exited"], "--label", label}, "true")
	ids["created"] = mk("create", []string{"--name", names["created"], "--label", label}, "true")
	ids["kept"] = mk("run", []string{"-d", "--name", names["kept"], "--label", label, "--label", "it.keep=1"}, "true")
	for _, n := range []string{"exited", "kept"} {
		waitState(t, names[n], "exited", 20*time.Second)
	}
	for k, id := range ids {
		names[k+"-id"] = id
	}
	return names, "label=" + label
}

// TestContainerPrune: myctr container prune removes the containers that
// do not run (exited and created) that its filters pick, prints their
// ids, and leaves the running one and the one label! keeps; without -f
// and with nothing to read on stdin it removes nothing.
func TestContainerPrune(t *testing.T) {
	names, label := pruneSet(t, func(verb string, flags []string, cmd ...string) string {
		return strings.TrimSpace(mustMyctr(t, append(append(append([]string{verb}, flags...), image), cmd...)...))
	})
	_, errOut, code := runMyctr(cmdTimeout, nil, "container", "prune", "--filter", label)
	if code != 125 || !strings.Contains(errOut, "-f") {
		t.Errorf("prune without -f and without stdin: exit %d, %q; want 125 and a hint at -f", code, errOut)
	}
	for _, n := range []string{"exited", "created"} {
		if _, ok := psFind(psJSON(t, true), names[n]); !ok {
			t.Errorf("a refused prune removed %s", names[n])
		}
	}
	if _, _, code := myctr(t, "container", "prune", "-f", "--filter", "status=exited"); code != 125 {
		t.Errorf("prune --filter status=: exit %d, want 125", code)
	}

	out, errOut, code := runMyctr(cmdTimeout, []byte("y\n"), "container", "prune", "--filter", label, "--filter", "label!=it.keep")
	if code != 0 {
		t.Fatalf("container prune answered y: exit %d, %s", code, errOut)
	}
	for _, n := range []string{"exited", "created"} {
		if !strings.Contains(out, names[n+"-id"]) {
			t.Errorf("prune printed %q, want %s's id", out, names[n])
		}
	}
	ps := psJSON(t, true)
	for n, want := range map[string]bool{"running": true, "kept": true, "exited": false, "created": false} {
		if _, ok := psFind(ps, names[n]); ok != want {
			t.Errorf("after prune, %s there: %v, want %v", names[n], ok, want)
		}
	}
	mustMyctr(t, "container", "prune", "-f", "--filter", label)
	if _, ok := psFind(psJSON(t, true), names["kept"]); ok {
		t.Errorf("prune -f without label! kept %s", names["kept"])
	}
	if st := inspect(t, names["running"]).State.Status; st != "running" {
		t.Errorf("%s is %s after the prunes, want running", names["running"], st)
	}
}

// TestAPIContainerPrune: docker container prune -f over the API removes
// the stopped containers its filters pick and reports them; the running
// one stays.
func TestAPIContainerPrune(t *testing.T) {
	a := startAPIService(t)
	names, label := pruneSet(t, func(verb string, flags []string, cmd ...string) string {
		return strings.TrimSpace(a.mustDocker(t, append(append(append([]string{verb}, flags...), imageFull), cmd...)...))
	})
	out := a.mustDocker(t, "container", "prune", "-f", "--filter", label, "--filter", "label!=it.keep")
	if !strings.Contains(out, "Deleted Containers:") || !strings.Contains(out, "Total reclaimed space:") {
		t.Errorf("docker container prune: %q, want its report", out)
	}
	for _, n := range []string{"exited", "created"} {
		if !strings.Contains(out, names[n+"-id"]) {
			t.Errorf("docker container prune: %q, want %s's id", out, names[n])
		}
	}
	ps := a.mustDocker(t, "ps", "-a", "--format", "{{.Names}}")
	for n, want := range map[string]bool{"running": true, "kept": true, "exited": false, "created": false} {
		if got := strings.Contains(ps, names[n]); got != want {
			t.Errorf("after prune, %s listed: %v, want %v (%q)", names[n], got, want, ps)
		}
	}
	if _, errOut, code := a.docker(t, time.Minute, "container", "prune", "-f", "--filter", "until=soon"); code == 0 || !strings.Contains(errOut, "invalid filter") {
		t.Errorf("prune with a bad until: exit %d, %q", code, errOut)
	}
	a.mustDocker(t, "container", "prune", "-f", "--filter", label)
	ps = a.mustDocker(t, "ps", "-a", "--format", "{{.Names}}")
	if strings.Contains(ps, names["kept"]) || !strings.Contains(ps, names["running"]) {
		t.Errorf("after the second prune: %q, want %s alone of the set", ps, names["running"])
	}
	a.mustDocker(t, "rm", "-f", names["running"])
	assertGone(t, names["running"], names["exited"], names["created"], names["kept"])
}
