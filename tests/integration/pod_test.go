//go:build integration

package integration

// Pods (Podman's): an infra container made from the locally built pause
// image holds the namespaces; members join its user and network
// namespaces and the IPC and UTS namespaces the pod shares; ports are the
// pod's; pod rm takes the members, the infra and the record.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// podName makes a pod name for the test and removes the pod at the end.
func podName(t *testing.T, suffix string) string {
	t.Helper()
	n := ctrName(t, suffix) // also removes a container of that name
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "pod", "rm", "-f", "-i", n) })
	return n
}

func podCreate(t *testing.T, name string, flags ...string) string {
	t.Helper()
	id := strings.TrimSpace(mustMyctr(t, append([]string{"pod", "create", "--name", name}, flags...)...))
	if !isFullID(id) {
		t.Fatalf("pod create printed %q, want a 64-hex id", id)
	}
	return id
}

// nsLinks are the namespace links of a process in a container: run's
// (a new member, with flags) or exec's (in a running container).
func nsLinks(t *testing.T, args ...string) map[string]string {
	t.Helper()
	out := mustMyctr(t, append(args, "sh", "-c", "for n in net ipc uts pid user; do echo $n $(readlink /proc/self/ns/$n); done; echo host $(hostname)")...)
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, " ")
		m[k] = v
	}
	if m["net"] == "" || m["ipc"] == "" {
		t.Fatalf("namespace links: %q", out)
	}
	return m
}

type podInspectOut struct {
	Id, Name, State, Hostname string
	InfraContainerID          string
	SharedNamespaces          []string
	NumContainers             int
	Containers                []struct{ Id, Name, State string }
}

func podInspect(t *testing.T, name string) podInspectOut {
	t.Helper()
	var p podInspectOut
	if err := json.Unmarshal([]byte(mustMyctr(t, "pod", "inspect", name)), &p); err != nil {
		t.Fatalf("pod inspect %s: %v", name, err)
	}
	return p
}

// TestPodSharesNamespaces: two members of a pod have one network, IPC and
// UTS namespace (the infra's), the pod's host name, and PID namespaces of
// their own; a server one member listens on at 127.0.0.1 answers the other.
// A pod created with --share net shares the network only.
func TestPodSharesNamespaces(t *testing.T) {
	t.Parallel()
	pn := podName(t, "p")
	podID := podCreate(t, pn)
	srv := ctrName(t, "srv")
	id := webServer(t, srv, []string{"--pod", pn}, "from-the-pod")
	if in := inspect(t, srv); !strings.HasPrefix(in.HostConfig.NetworkMode, "container:") {
		t.Errorf("member's NetworkMode %q, want container:INFRA", in.HostConfig.NetworkMode)
	}
	var pods []struct{ Pod string }
	if err := json.Unmarshal([]byte(mustMyctr(t, "inspect", id)), &pods); err != nil || len(pods) != 1 || pods[0].Pod != podID {
		t.Errorf("inspect of a member: Pod %v (%v), want %s", pods, err, podID)
	}
	a := nsLinks(t, "exec", srv)
	b := nsLinks(t, "run", "--rm", "--pod", pn, image)
	for _, ns := range []string{"net", "ipc", "uts", "user"} {
		if a[ns] != b[ns] {
			t.Errorf("%s namespace: %s and %s, want one", ns, a[ns], b[ns])
		}
	}
	if a["pid"] == b["pid"] {
		t.Errorf("both members in PID namespace %s, want one each", a["pid"])
	}
	if a["host"] != pn || b["host"] != pn {
		t.Errorf("host names %q and %q, want the pod's name %q", a["host"], b["host"], pn)
	}
	alone := nsLinks(t, "run", "--rm", image)
	if alone["net"] == a["net"] || alone["ipc"] == a["ipc"] {
		t.Errorf("a container outside the pod shares its namespaces: %v", alone)
	}
	var got string
	waitFor(t, 10*time.Second, "the member's server on 127.0.0.1:8080", func() bool {
		got, _, _ = myctr(t, "run", "--rm", "--pod", pn, image, "wget", "-qO-", "http://127.0.0.1:8080/")
		return strings.TrimSpace(got) == "from-the-pod"
	})
	if p := podInspect(t, pn); p.Id != podID || p.State != "Running" || p.NumContainers != 2 || strings.Join(p.SharedNamespaces, ",") != "ipc,net,uts" {
		t.Errorf("pod inspect: %+v", p)
	}

	netOnly := podName(t, "netonly")
	podCreate(t, netOnly, "--share", "net")
	m := ctrName(t, "m")
	runDetached(t, m, []string{"--pod", netOnly}, "sleep", "300")
	c := nsLinks(t, "exec", m)
	d := nsLinks(t, "run", "--rm", "--pod", netOnly, "--hostname", "other", image)
	if c["net"] != d["net"] || c["ipc"] == d["ipc"] || c["uts"] == d["uts"] || d["host"] != "other" {
		t.Errorf("--share net: %v and %v, want one network namespace, IPC and UTS each their own", c, d)
	}
}

// TestPodPublish: a port published on the pod reaches a server in a
// member; -p on a member is refused in Podman's words, as are --network
// and --hostname where the pod owns them.
func TestPodPublish(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	pn := podName(t, "pub")
	podCreate(t, pn, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port))
	webServer(t, ctrName(t, "web"), []string{"--pod", pn}, "published-by-the-pod")
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); strings.TrimSpace(got) != "published-by-the-pod" {
		t.Errorf("the pod's port answered %q", got)
	}
	before := mustMyctr(t, "ps", "-a", "-q", "--filter", "pod="+pn) // the store is shared with parallel tests
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-p", "8081:80"}, "Error: published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod"},
		{[]string{"--network", "none"}, "Error: networks must be defined when the pod is created: network cannot be configured when it is shared with a pod"},
		{[]string{"--hostname", "x"}, "Error: invalid config provided: cannot set hostname when joining the pod UTS namespace: invalid configuration"},
		{[]string{"--pod", "nosuchpod"}, "Error: no pod with name or ID nosuchpod found: no such pod"},
	} {
		args := append([]string{"run", "--rm", "--pod", pn}, tc.flags...)
		_, errOut, code := myctr(t, append(args, image, "true")...)
		if code != 125 || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("run %v: exit %d, stderr %q; want 125 and %q", tc.flags, code, errOut, tc.want)
		}
	}
	if after := mustMyctr(t, "ps", "-a", "-q", "--filter", "pod="+pn); after != before {
		t.Errorf("a refused member left a container: %q, before %q", after, before)
	}
}

// TestPodLifecycle: pod start starts the infra and the members, stop ends
// them, rm of the infra alone is refused in Podman's words, pod rm of a
// running pod is refused without -f, and pod rm -f leaves no container.
func TestPodLifecycle(t *testing.T) {
	t.Parallel()
	pn := podName(t, "life")
	podID := podCreate(t, pn, "--label", "tier=test")
	member := ctrName(t, "member")
	memberID := strings.TrimSpace(mustMyctr(t, "create", "--pod", pn, "--name", member, image, "sleep", "300"))
	p := podInspect(t, pn)
	if p.State != "Created" || p.NumContainers != 2 || !isFullID(p.InfraContainerID) {
		t.Fatalf("new pod: %+v", p)
	}
	infra := p.InfraContainerID
	out := mustMyctr(t, "ps", "-a", "--filter", "pod="+pn, "--format", "{{.ID}} {{.PodName}} {{.Pod}}", "--no-trunc")
	if want := fmt.Sprintf("%s %s %s", memberID, pn, podID); !strings.Contains(out, want) || !strings.Contains(out, infra) {
		t.Errorf("ps --filter pod=: %q, want the member (%q) and the infra", out, want)
	}

	if out := strings.TrimSpace(mustMyctr(t, "pod", "start", pn)); out != podID {
		t.Errorf("pod start printed %q, want the pod's id", out)
	}
	if p := podInspect(t, pn); p.State != "Running" {
		t.Errorf("after pod start: %+v", p)
	}
	var list []struct {
		Id, Name, Status, InfraId string
		Labels                    map[string]string
		Containers                []struct{ Id, Names, Status string }
	}
	if err := json.Unmarshal([]byte(mustMyctr(t, "pod", "ps", "--filter", "name=^"+pn+"$", "--format", "json")), &list); err != nil ||
		len(list) != 1 || list[0].Id != podID || list[0].InfraId != infra || list[0].Status != "Running" || list[0].Labels["tier"] != "test" || len(list[0].Containers) != 2 {
		t.Errorf("pod ps --format json: %+v (%v)", list, err)
	}
	if out := mustMyctr(t, "pod", "ps", "--filter", "label=tier=test", "--filter", "name="+pn, "--format", "{{.Name}} {{.Status}} {{.NumberOfContainers}}"); strings.TrimSpace(out) != pn+" Running 2" {
		t.Errorf("pod ps --format: %q", out)
	}

	_, errOut, code := myctr(t, "rm", "-f", infra)
	if want := fmt.Sprintf("Error: container %s is the infra container of pod %s and cannot be removed without removing the pod", infra, podID); code != 125 || !strings.HasPrefix(errOut, want) {
		t.Errorf("rm -f of the infra: exit %d, %q; want 125 and %q", code, errOut, want)
	}
	_, errOut, code = myctr(t, "pod", "rm", pn)
	if code == 0 || !strings.Contains(errOut, "cannot be removed without force") || !strings.Contains(errOut, "Hint:") {
		t.Errorf("pod rm of a running pod: exit %d, %q", code, errOut)
	}

	mustMyctr(t, "pod", "stop", "-t", "0", pn)
	if p := podInspect(t, pn); p.State != "Exited" {
		t.Errorf("after pod stop: %+v", p)
	}
	if in := inspect(t, member); in.State.Running {
		t.Errorf("member still running after pod stop")
	}
	// Starting the member alone starts the infra first.
	mustMyctr(t, "start", member)
	if p := podInspect(t, pn); p.State != "Running" {
		t.Errorf("after start of a member: %+v, want the infra started too", p)
	}
	mustMyctr(t, "pod", "restart", pn)
	if p := podInspect(t, pn); p.State != "Running" {
		t.Errorf("after pod restart: %+v", p)
	}

	if out := strings.TrimSpace(mustMyctr(t, "pod", "rm", "-f", pn)); out != podID {
		t.Errorf("pod rm -f printed %q, want the pod's id", out)
	}
	for _, id := range []string{memberID, infra} {
		if _, _, code := myctr(t, "inspect", id); code == 0 {
			t.Errorf("container %s left after pod rm -f", id)
		}
	}
	if out := mustMyctr(t, "ps", "-a", "-q", "--filter", "pod="+podID); out != "" {
		t.Errorf("containers of the pod left: %q", out)
	}
	if _, _, code := myctr(t, "pod", "exists", pn); code != 1 {
		t.Errorf("pod exists after pod rm: exit %d, want 1", code)
	}
	_, errOut, code = myctr(t, "pod", "rm", pn)
	if code != 1 || !strings.HasPrefix(errOut, "Error: no pod with name or ID "+pn+" found: no such pod") {
		t.Errorf("pod rm of a pod that is gone: exit %d, %q", code, errOut)
	}
}

// TestPodKill: a bad signal fails before any pod is looked up, in Podman's
// words (130-kill.bats); pod kill signals every container of the pod.
func TestPodKill(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "SIGBADSIG", "BADSIG", "%%"} {
		_, errOut, code := myctr(t, "pod", "kill", "-s", s, "nosuchpod")
		if code != 125 || strings.TrimSpace(errOut) != "Error: invalid signal: "+s {
			t.Errorf("pod kill -s %s: exit %d, %q", s, code, errOut)
		}
	}
	_, errOut, code := myctr(t, "pod", "kill", "-s", "65", "nosuchpod")
	if code != 125 || strings.TrimSpace(errOut) != "Error: valid signals are 1 through 64" {
		t.Errorf("pod kill -s 65: exit %d, %q", code, errOut)
	}
	pn := podName(t, "kill")
	podCreate(t, pn)
	m := ctrName(t, "m")
	runDetached(t, m, []string{"--pod", pn}, "sleep", "300")
	mustMyctr(t, "pod", "kill", pn)
	waitFor(t, 10*time.Second, "the pod to exit", func() bool { return podInspect(t, pn).State == "Exited" })
	if in := inspect(t, m); in.State.ExitCode != 137 {
		t.Errorf("member's exit code %d after pod kill, want 137", in.State.ExitCode)
	}
}

// TestPodNewAndPauseImage: create --pod new:NAME makes the pod; its infra
// runs the pause image, named as `version` says (Podman's
// localhost/podman-pause:VERSION-BUILT), and pause ends at SIGTERM with 0.
func TestPodNewAndPauseImage(t *testing.T) {
	t.Parallel()
	pn := podName(t, "new")
	m := ctrName(t, "m")
	mustMyctr(t, "create", "--name", m, "--pod", "new:"+pn, image, "sleep", "300")
	p := podInspect(t, pn)
	if p.Name != pn || p.NumContainers != 2 {
		t.Fatalf("pod made by --pod new: %+v", p)
	}
	ver := strings.TrimSpace(mustMyctr(t, "version", "--format", "{{.Server.Version}}-{{.Server.Built}}"))
	pause := "localhost/podman-pause:" + ver
	if out := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.ImageName}}", p.InfraContainerID)); out != pause {
		t.Errorf("infra image %q, want %q", out, pause)
	}
	if !regexp.MustCompile(`^localhost/podman-pause:\S+-\d+$`).MatchString(pause) {
		t.Errorf("pause image name %q", pause)
	}
	mustMyctr(t, "start", m)
	in := waitState(t, p.InfraContainerID, "running", 10*time.Second)
	if in.Path != "/catatonit" {
		t.Errorf("infra runs %q, want /catatonit", in.Path)
	}
	mustMyctr(t, "stop", p.InfraContainerID)
	if in := waitState(t, p.InfraContainerID, "exited", 10*time.Second); in.State.ExitCode != 0 {
		t.Errorf("pause exited %d at SIGTERM, want 0", in.State.ExitCode)
	}
}

// TestPodTopAndRemoveEdges: pod top shows the processes of every running
// container of the pod under one header; pod rm removes a pod whose only
// running container is its infra (as Podman's), and pod rm --force of a
// pod that is not there is no error; run --pod new:NAME --hostname gives
// the new pod that host name, which its container then has.
func TestPodTopAndRemoveEdges(t *testing.T) {
	t.Parallel()
	pn := podName(t, "top")
	podCreate(t, pn, "--network", "none")
	a, b := ctrName(t, "a"), ctrName(t, "b")
	runDetached(t, a, []string{"--pod", pn}, "sleep", "301")
	runDetached(t, b, []string{"--pod", pn}, "sleep", "302")
	out := mustMyctr(t, "pod", "top", pn, "pid", "args")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "PID") || strings.Count(out, "PID") != 1 ||
		!strings.Contains(out, "sleep 301") || !strings.Contains(out, "sleep 302") || !strings.Contains(out, "catatonit") {
		t.Errorf("pod top: %q; want one header, then the infra's and both members' processes", out)
	}
	if _, errOut, code := myctr(t, "pod", "top", "it-no-such-pod"); code != 125 || !strings.Contains(errOut, "no such pod") {
		t.Errorf("pod top of no pod: exit %d, %q", code, errOut)
	}

	// One member goes, the other stops; the infra runs on, and pod rm
	// takes it with the stopped member (a running infra stops no pod rm,
	// as Podman's).
	mustMyctr(t, "rm", "-f", b)
	if st := podInspect(t, pn).State; st != "Running" {
		t.Fatalf("pod with its infra and one member running: %q, want Running", st)
	}
	mustMyctr(t, "stop", "-t", "0", a)
	id := podInspect(t, pn).Id
	if out, errOut, code := myctr(t, "pod", "rm", pn); code != 0 || strings.TrimSpace(out) != id {
		t.Errorf("pod rm of a pod with a stopped member and its running infra: exit %d, %q, %q", code, out, errOut)
	}
	if _, _, code := myctr(t, "inspect", a); code == 0 {
		t.Errorf("member %s left after pod rm", a)
	}
	if _, _, code := myctr(t, "pod", "exists", pn); code != 1 {
		t.Errorf("the pod is still there after pod rm (pod exists: exit %d)", code)
	}
	if out, errOut, code := myctr(t, "pod", "rm", "--force", "it-no-such-pod"); code != 0 || out != "" || errOut != "" {
		t.Errorf("pod rm --force of no pod: exit %d, %q, %q; want 0 and nothing", code, out, errOut)
	}
	if _, errOut, code := myctr(t, "pod", "rm", "it-no-such-pod"); code != 1 || !strings.Contains(errOut, "no such pod") {
		t.Errorf("pod rm of no pod: exit %d, %q; want 1", code, errOut)
	}

	np := podName(t, "newhost")
	if out := strings.TrimSpace(mustMyctr(t, "run", "--rm", "--pod", "new:"+np, "--hostname", "foobar", image, "hostname")); out != "foobar" {
		t.Errorf("run --pod new: --hostname foobar: host name %q", out)
	}
	if h := podInspect(t, np).Hostname; h != "foobar" {
		t.Errorf("the new pod's host name: %q, want foobar", h)
	}
}

// TestRmInfraRemovesPod: rm of a pod's infra container alone is refused,
// with or without --force; rm --depend of it removes its pod, members
// first, printing each id, and rm --all --force takes infra containers
// with their pods, as Podman's rm does. In a store of its own, since
// rm --all takes every container there.
func TestRmInfraRemovesPod(t *testing.T) {
	dir, err := os.MkdirTemp(tmpRoot, "rminfra-")
	if err != nil {
		t.Fatal(err)
	}
	own := func(args ...string) (string, string, int) {
		t.Helper()
		// The last --root and --runroot win over the harness's.
		return myctrT(t, 2*time.Minute, append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}, args...)...)
	}
	mustOwn := func(args ...string) string {
		t.Helper()
		out, errOut, code := own(args...)
		if code != 0 {
			t.Fatalf("myctr %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	mustOwn("import", filepath.Join(tmpRoot, "bb.tar"), "bb")
	t.Cleanup(func() { own("unshare", "rm", "-rf", filepath.Join(dir, "root")) })
	infraOf := func(p string) string { return mustOwn("pod", "inspect", "--format", "{{.InfraContainerID}}", p) }

	member := mustOwn("create", "--pod", "new:p1", "bb", "true")
	infra := infraOf("p1")
	for _, f := range [][]string{nil, {"--force"}} {
		if _, errOut, code := own(append(append([]string{"rm"}, f...), infra)...); code != 125 || !strings.Contains(errOut, "cannot be removed without removing the pod") {
			t.Errorf("rm %v of the infra container: exit %d, %q", f, code, errOut)
		}
	}
	out := mustOwn("rm", "--depend", infra)
	if !strings.Contains(out, infra) || !strings.Contains(out, member) || strings.Index(out, member) > strings.Index(out, infra) {
		t.Errorf("rm --depend of the infra container printed %q; want the member's id, then the infra's", out)
	}
	if _, _, code := own("pod", "exists", "p1"); code != 1 {
		t.Errorf("pod p1 is left after rm --depend of its infra (pod exists: exit %d)", code)
	}

	m1 := mustOwn("create", "--pod", "new:p2", "bb", "true")
	m2 := mustOwn("run", "-d", "--pod", "p2", "bb", "sleep", "300")
	plain := mustOwn("create", "bb", "true")
	infra = infraOf("p2")
	out = mustOwn("rm", "--force", "--all")
	for _, id := range []string{infra, m1, m2, plain} {
		if !strings.Contains(out, id) {
			t.Errorf("rm --force --all printed %q, lacking %s", out, id)
		}
	}
	if ps := mustOwn("ps", "-a", "-q"); ps != "" {
		t.Errorf("containers left after rm --force --all: %q", ps)
	}
	if pods := mustOwn("pod", "ps", "-q"); pods != "" {
		t.Errorf("pods left after rm --force --all: %q", pods)
	}
}
