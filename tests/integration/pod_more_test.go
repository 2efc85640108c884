//go:build integration

package integration

// More of Podman's pod behaviour: --exit-policy, the shared /dev/shm of a
// pod that shares its IPC namespace, and an infra image that is pulled
// (from --infra-image or containers.conf's infra_image).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// podState polls pod inspect's State until it is want (a member's exit
// stops the infra from that member's monitor, after `run` returned).
func podState(t *testing.T, name, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = strings.TrimSpace(mustMyctr(t, "pod", "inspect", name, "--format", "{{.State}}")); got == want {
			return
		}
	}
	t.Errorf("pod %s: state %q, want %q", name, got, want)
}

// TestPodExitPolicy: a pod made with --exit-policy stop stops its infra
// once its last container exits, foreground or detached; the default
// (continue) keeps it running, Degraded. An unknown policy is refused in
// Podman's words.
func TestPodExitPolicy(t *testing.T) {
	t.Parallel()
	_, errOut, code := myctr(t, "pod", "create", "--exit-policy", "sometimes")
	if code != 125 || !strings.Contains(errOut, `Error: running pod create option: invalid pod exit policy: "sometimes"`) {
		t.Errorf("--exit-policy sometimes: exit %d\n%s", code, errOut)
	}

	cont := podName(t, "cont")
	podCreate(t, cont)
	if got := strings.TrimSpace(mustMyctr(t, "pod", "inspect", cont, "--format", "{{.ExitPolicy}}")); got != "continue" {
		t.Errorf("default exit policy %q, want continue", got)
	}
	mustMyctr(t, "run", "--pod", cont, image, "true")
	podState(t, cont, "Degraded")

	stop := podName(t, "stop")
	podCreate(t, stop, "--exit-policy", "stop")
	if got := strings.TrimSpace(mustMyctr(t, "pod", "inspect", stop, "--format", "{{.ExitPolicy}}")); got != "stop" {
		t.Errorf("exit policy %q, want stop", got)
	}
	// Two members: the first to exit leaves the pod running.
	long := ctrName(t, "long")
	mustMyctr(t, "run", "-d", "--name", long, "--pod", stop, image, "sh", "-c", "trap 'exit 3' TERM; sleep 300 & wait")
	mustMyctr(t, "run", "--pod", stop, image, "true")
	if got := strings.TrimSpace(mustMyctr(t, "pod", "inspect", stop, "--format", "{{.State}}")); got != "Degraded" {
		t.Errorf("one member of two exited: pod state %q, want Degraded", got)
	}
	// The last one's exit (here through stop, from its monitor) stops it.
	mustMyctr(t, "stop", "-t", "5", long)
	podState(t, stop, "Exited")
	infra := podInspect(t, stop).InfraContainerID
	if st := strings.TrimSpace(mustMyctr(t, "inspect", infra, "--format", "{{.State.Status}}")); st != "exited" {
		t.Errorf("infra after the last member: %s, want exited", st)
	}
	// Started again (every container: `true` exits at once, the other
	// goes on), it stays up while a member runs.
	mustMyctr(t, "pod", "start", stop)
	podState(t, stop, "Degraded")
	if st := strings.TrimSpace(mustMyctr(t, "inspect", long, "--format", "{{.State.Status}}")); st != "running" {
		t.Errorf("%s after pod start: %s, want running", long, st)
	}
}

// TestPodSharedShm: the members of a pod that shares its IPC namespace see
// one /dev/shm (POSIX shared memory is files there), the infra's; a pod
// sharing only the network keeps each member's own. pod rm removes it,
// with what the containers' own ids left in it.
func TestPodSharedShm(t *testing.T) {
	t.Parallel()
	pn := podName(t, "shm")
	podCreate(t, pn)
	mustMyctr(t, "run", "--rm", "--pod", pn, "--user", "1000:1000", image, "sh", "-c", "echo hi > /dev/shm/note && mkdir /dev/shm/d && touch /dev/shm/d/f")
	if out := mustMyctr(t, "run", "--rm", "--pod", pn, image, "cat", "/dev/shm/note"); strings.TrimSpace(out) != "hi" {
		t.Errorf("second member's /dev/shm/note: %q, want hi", out)
	}
	if out := mustMyctr(t, "run", "--rm", "--pod", pn, image, "stat", "-c", "%a %u", "/dev/shm"); strings.TrimSpace(out) != "1777 0" {
		t.Errorf("/dev/shm mode and owner: %q, want 1777 0", out)
	}
	// The infra's (the pause image has no cat: the host's view of it).
	infra := podInspect(t, pn).InfraContainerID
	runDir := filepath.Join(runRoot, "containers", infra)
	if b, err := os.ReadFile(filepath.Join(runDir, "shm", "note")); err != nil || string(b) != "hi\n" {
		t.Errorf("the pod's /dev/shm/note on the host: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(runDir, "shm", "d", "f")); err != nil {
		t.Errorf("the pod's /dev/shm on the host: %v", err)
	}
	mustMyctr(t, "pod", "rm", "-f", pn)
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Errorf("after pod rm, the infra's runtime directory: %v, want it gone", err)
	}

	net := podName(t, "netonly")
	podCreate(t, net, "--share", "net")
	mustMyctr(t, "run", "--rm", "--pod", net, image, "touch", "/dev/shm/mine")
	if _, errOut, code := myctr(t, "run", "--rm", "--pod", net, image, "ls", "/dev/shm/mine"); code != 1 {
		t.Errorf("--share net: another member sees /dev/shm/mine: exit %d\n%s", code, errOut)
	}
}

// TestPodInfraImagePull: an --infra-image that is not here is pulled (from
// a real registry); containers.conf's infra_image and infra_command are
// the defaults; an image no registry has is an error naming it as
// Podman's does, and no pod is left.
func TestPodInfraImagePull(t *testing.T) {
	reg := startRegistry(t, false)
	newImage(t, "it-infra-src:1")
	archive := filepath.Join(t.TempDir(), "infra.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-infra-src:1")
	remote := reg + "/it/infra:1"
	skopeoPush(t, archive, remote, "")
	mustMyctr(t, "rmi", "it-infra-src:1")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", remote) })

	pn := podName(t, "pulled")
	_, errOut, code := myctr(t, "pod", "create", "--name", pn, "--infra-image", remote, "--infra-command", "sleep 600")
	if code != 0 || !strings.Contains(errOut, "Trying to pull "+remote) {
		t.Fatalf("pod create --infra-image %s: exit %d\n%s", remote, code, errOut)
	}
	infra := podInspect(t, pn).InfraContainerID
	got := strings.TrimSpace(mustMyctr(t, "inspect", infra, "--format", "{{.ImageName}}|{{.Config.Entrypoint}}|{{.Config.Cmd}}"))
	if want := remote + "|sleep 600|[]"; got != want {
		t.Errorf("infra: %q, want %q", got, want)
	}
	mustMyctr(t, "run", "--rm", "--pod", pn, image, "true")

	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[engine]\ninfra_image = \""+remote+"\"\ninfra_command = \"sleep 700\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromConf := podName(t, "conf")
	mustMyctrEnv(t, []string{"CONTAINERS_CONF=" + conf}, "pod", "create", "--name", fromConf)
	infra = podInspect(t, fromConf).InfraContainerID
	got = strings.TrimSpace(mustMyctr(t, "inspect", infra, "--format", "{{.ImageName}}|{{.Config.Entrypoint}}"))
	if want := remote + "|sleep 700"; got != want {
		t.Errorf("infra from containers.conf: %q, want %q", got, want)
	}

	missing := reg + "/it/no-such-infra:1"
	gone := podName(t, "missing")
	_, errOut, code = myctr(t, "pod", "create", "--name", gone, "--infra-image", missing)
	if code != 125 || !strings.Contains(errOut, "initializing source docker://"+missing+": ") {
		t.Errorf("pod create with an image nowhere: exit %d\n%s", code, errOut)
	}
	if _, _, code := myctr(t, "pod", "exists", gone); code != 1 {
		t.Errorf("pod exists after a failed create: exit %d, want 1", code)
	}
}

// TestInspectEntrypointCmd: inspect's Config has the entrypoint (a string,
// as Podman 4's) and the command apart: --entrypoint drops the image's
// Cmd; the command given replaces it.
func TestInspectEntrypointCmd(t *testing.T) {
	t.Parallel()
	a := ctrName(t, "ep")
	mustMyctr(t, "create", "--name", a, "--entrypoint", `["/bin/echo","one"]`, image, "two", "three")
	got := strings.TrimSpace(mustMyctr(t, "inspect", a, "--format", "{{.Config.Entrypoint}}|{{.Config.Cmd}}|{{.Path}} {{.Args}}"))
	if want := "/bin/echo one|[two three]|/bin/echo [one two three]"; got != want {
		t.Errorf("inspect: %q, want %q", got, want)
	}
	b := ctrName(t, "cmd")
	mustMyctr(t, "create", "--name", b, image, "echo", "hi")
	got = strings.TrimSpace(mustMyctr(t, "inspect", b, "--format", "{{.Config.Entrypoint}}|{{.Config.Cmd}}"))
	if want := "|[echo hi]"; got != want {
		t.Errorf("inspect: %q, want %q", got, want)
	}
}

// infraNamespaces checks that a member's namespaces nss (its links, as
// nsLinks gives them) are those of pod pn's infra, and returns the infra's
// id and pid.
func infraNamespaces(t *testing.T, pn string, member map[string]string, nss ...string) (id, pid string) {
	t.Helper()
	id = podInspect(t, pn).InfraContainerID
	pid = strings.TrimSpace(mustMyctr(t, "inspect", id, "--format", "{{.State.Pid}}"))
	for _, ns := range nss {
		want, err := os.Readlink("/proc/" + pid + "/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		if member[ns] != want {
			t.Errorf("member's %s namespace %s, want the infra's %s", ns, member[ns], want)
		}
	}
	return id, pid
}

// TestHostNetworkPodAndJoiner: a pod on the host's network (Podman's pod
// create --network host) has members in the host's network namespace,
// with the pod's host name and IPC namespace (the infra's user namespace,
// joined; the host's network namespace, kept: no rootless user namespace
// may join it); a server a member runs on loopback answers the host and
// the other members. --network container: of a --network host container
// is the host's network too.
func TestHostNetworkPodAndJoiner(t *testing.T) {
	t.Parallel()
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	pn := podName(t, "hostnet")
	podCreate(t, pn, "--network", "host", "--hostname", "on-the-host")
	if got := strings.TrimSpace(mustMyctr(t, "pod", "inspect", pn, "--format", "{{.InfraConfig.HostNetwork}}")); got != "true" {
		t.Errorf("InfraConfig.HostNetwork %q, want true", got)
	}
	m := nsLinks(t, "run", "--rm", "--pod", pn, image)
	if m["net"] != hostNS || m["host"] != "on-the-host" {
		t.Errorf("member: net %s host %s, want %s and on-the-host", m["net"], m["host"], hostNS)
	}
	infraNamespaces(t, pn, m, "ipc", "user")
	port := freePort(t)
	srv := ctrName(t, "srv")
	mustMyctr(t, "run", "-d", "--name", srv, "--pod", pn, image, "sh", "-c",
		fmt.Sprintf("mkdir /www && echo from-the-host-pod > /www/index.html && exec httpd -f -p 127.0.0.1:%d -h /www", port))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if body := httpGet(t, url); strings.TrimSpace(body) != "from-the-host-pod" {
		t.Errorf("the host got %q from the member's server", body)
	}
	if out := mustMyctr(t, "run", "--rm", "--pod", pn, image, "wget", "-q", "-O", "-", url); strings.TrimSpace(out) != "from-the-host-pod" {
		t.Errorf("another member got %q", out)
	}

	hn := ctrName(t, "hostctr")
	mustMyctr(t, "run", "-d", "--name", hn, "--network", "host", image, "sleep", "300")
	if j := nsLinks(t, "run", "--rm", "--network", "container:"+hn, image); j["net"] != hostNS {
		t.Errorf("--network container:%s (on the host's network): net %s, want %s", hn, j["net"], hostNS)
	}
}

// TestPodShareWithoutNet: a pod that shares its IPC namespace but not its
// network (Podman's pod create --share ipc) has members in the infra's
// user and IPC namespaces and /dev/shm, each with a network namespace and
// host name of its own, on its own network (slirp4netns here); the infra
// stays while they exist, and pod rm takes them all.
func TestPodShareWithoutNet(t *testing.T) {
	t.Parallel()
	pn := podName(t, "ipconly")
	podCreate(t, pn, "--share", "ipc")
	if got := strings.TrimSpace(mustMyctr(t, "pod", "inspect", pn, "--format", "{{.SharedNamespaces}}")); got != "[ipc]" {
		t.Errorf("SharedNamespaces %s, want [ipc]", got)
	}
	a := ctrName(t, "a")
	mustMyctr(t, "run", "-d", "--name", a, "--pod", pn, "--hostname", "first", "--network", "slirp4netns", image, "sh", "-c", "echo from-a > /dev/shm/a; sleep 300")
	b := nsLinks(t, "run", "--rm", "--pod", pn, "--hostname", "second", image)
	infra, pid := infraNamespaces(t, pn, b, "user", "ipc")
	infraNet, _ := os.Readlink("/proc/" + pid + "/ns/net")
	aNet := strings.TrimSpace(mustMyctr(t, "exec", a, "readlink", "/proc/self/ns/net"))
	if b["net"] == infraNet || aNet == infraNet || aNet == b["net"] || b["host"] != "second" {
		t.Errorf("networks: infra %s, a %s, b %s; b's host name %q: want three namespaces and b's own name", infraNet, aNet, b["net"], b["host"])
	}
	if out := mustMyctr(t, "exec", a, "sh", "-c", "ip -o -4 addr show tap0"); !strings.Contains(out, "10.0.2.100") {
		t.Errorf("a's own slirp4netns network: %q", out)
	}
	if out := mustMyctr(t, "run", "--rm", "--pod", pn, image, "cat", "/dev/shm/a"); strings.TrimSpace(out) != "from-a" {
		t.Errorf("/dev/shm/a from another member: %q", out)
	}
	if _, errOut, code := myctr(t, "rm", "-f", infra); code != 125 || !strings.Contains(errOut, "cannot be removed without removing the pod") {
		t.Errorf("rm of the infra: exit %d\n%s", code, errOut)
	}
	mustMyctr(t, "pod", "rm", "-f", pn)
	if out := mustMyctr(t, "ps", "-a", "-q", "--filter", "pod="+pn); out != "" {
		t.Errorf("containers left after pod rm: %q", out)
	}
}

// TestPodCreateReplace: pod create --replace removes a pod of that name
// first, its running containers with it; without it the name is taken.
func TestPodCreateReplace(t *testing.T) {
	t.Parallel()
	pn := podName(t, "again")
	first := podCreate(t, pn)
	m := ctrName(t, "member")
	mustMyctr(t, "run", "-d", "--name", m, "--pod", pn, image, "sleep", "300")
	if _, errOut, code := myctr(t, "pod", "create", "--name", pn); code != 125 || !strings.Contains(errOut, "already exists") {
		t.Errorf("pod create of a taken name: exit %d\n%s", code, errOut)
	}
	second := podCreate(t, pn, "--replace", "--share", "ipc", "--network", "private")
	if second == first || podInspect(t, pn).Id != second {
		t.Errorf("after --replace: pod %s, want a new one (the first was %s)", podInspect(t, pn).Id, first)
	}
	if _, _, code := myctr(t, "container", "exists", m); code != 1 {
		t.Errorf("the replaced pod's member still exists (exit %d)", code)
	}
	if got := strings.TrimSpace(mustMyctr(t, "pod", "inspect", pn, "--format", "{{.SharedNamespaces}} {{.InfraConfig.HostNetwork}}")); got != "[ipc] false" {
		t.Errorf("the new pod: %q, want [ipc] false", got)
	}
}

// TestPodLogs: pod logs prints the output of a pod's containers (not the
// infra's), each line after its container's id (or, with --names, its
// name); --container picks one, whose lines come bare.
func TestPodLogs(t *testing.T) {
	t.Parallel()
	pn := podName(t, "logs")
	podCreate(t, pn)
	a, b := ctrName(t, "a"), ctrName(t, "b")
	mustMyctr(t, "run", "--name", a, "--pod", pn, image, "echo", "line-from-a")
	mustMyctr(t, "run", "--name", b, "--pod", pn, image, "echo", "line-from-b")
	ids := map[string]string{}
	for _, n := range []string{a, b} {
		ids[n] = strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.Id}}", n))[:12]
	}
	out := mustMyctr(t, "pod", "logs", pn)
	for n, line := range map[string]string{a: "line-from-a", b: "line-from-b"} {
		if !strings.Contains(out, ids[n]+" "+line+"\n") {
			t.Errorf("pod logs: no %q after %s's id:\n%s", line, n, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 2 {
		t.Errorf("pod logs printed %d lines, want 2 (the infra has none):\n%s", lines, out)
	}
	if out := mustMyctr(t, "pod", "logs", "--names", pn); !strings.Contains(out, a+" line-from-a\n") || !strings.Contains(out, b+" line-from-b\n") {
		t.Errorf("pod logs --names:\n%s", out)
	}
	if out := mustMyctr(t, "pod", "logs", "-c", b, pn); out != "line-from-b\n" {
		t.Errorf("pod logs -c %s: %q", b, out)
	}
	for _, args := range [][]string{{"pod", "logs", "-c", "it-no-such", pn}, {"pod", "logs", "it-no-such-pod"}, {"pod", "logs"}} {
		if _, errOut, code := myctr(t, args...); code != 125 || !strings.Contains(errOut, "Error: ") {
			t.Errorf("%v: exit %d\n%s", args, code, errOut)
		}
	}
}
