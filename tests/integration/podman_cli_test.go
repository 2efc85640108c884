//go:build integration

package integration

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ownStore runs myctr on a store of the test's own (for commands that act
// on every image or container).
// mustIn runs myctr through my (an ownStore) and fails the test at once
// on a non-zero exit; it returns standard output.
func mustIn(t *testing.T, my func(args ...string) (string, string, int)) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, e, code := my(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, e)
		}
		return out
	}
}

func ownStore(t *testing.T) func(args ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	r, rr := filepath.Join(dir, "root"), filepath.Join(dir, "run")
	t.Cleanup(func() {
		exec.Command(bin, "--root", r, "--runroot", rr, "unshare", "rm", "-rf", r).Run()
	})
	return func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"--root", r, "--runroot", rr}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		t.Logf("myctr %s -> exit %d", strings.Join(args, " "), code)
		return o.String(), e.String(), code
	}
}

// TestRmiPodmanCodes: rmi as Podman scripts rely on it: exit 1 for an
// image that is not there, 0 with -f or --ignore; -a removes every image
// and refuses names beside it.
func TestRmiPodmanCodes(t *testing.T) {
	my := ownStore(t)
	tar := filepath.Join(t.TempDir(), "bb.tar")
	if err := writeBusyboxTar(tar); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"one", "two"} {
		if _, e, code := my("import", tar, n); code != 0 {
			t.Fatalf("import %s: %d %s", n, code, e)
		}
	}
	if _, e, code := my("rmi", "nosuch"); code != 1 || !strings.Contains(e, "Error: nosuch: image not known") {
		t.Errorf("rmi nosuch: exit %d, stderr %q; want 1 and the image named", code, e)
	}
	for _, flag := range []string{"-f", "--ignore"} {
		if _, e, code := my("rmi", flag, "nosuch"); code != 0 || e != "" {
			t.Errorf("rmi %s nosuch: exit %d, stderr %q; want 0, nothing", flag, code, e)
		}
	}
	if _, e, code := my("rmi", "-a", "one"); code != 125 || !strings.Contains(e, "--all") {
		t.Errorf("rmi -a NAME: exit %d, stderr %q; want 125", code, e)
	}
	out, e, code := my("rmi", "-a")
	if code != 0 || strings.Count(out, "Deleted: ") != 2 {
		t.Errorf("rmi -a: exit %d, stdout %q, stderr %q; want both images deleted", code, out, e)
	}
	if out, _, _ := my("images", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("images -a -q after rmi -a: %q", out)
	}
	// ps --external: accepted; the store has only myctr's containers.
	if _, e, code := my("ps", "--all", "--external", "--format", "{{.ID}} {{.Names}}"); code != 0 {
		t.Errorf("ps --all --external: exit %d, %s", code, e)
	}
}

// TestVersion: the output and the fields scripts read, as Podman's.
func TestVersion(t *testing.T) {
	out := mustMyctr(t, "version")
	for _, re := range []string{`(?m)^Client: +myctr$`, `(?m)^Version: +\S+$`, `(?m)^API Version: +\S+$`, `(?m)^Go Version: +go1\.`, `(?m)^OS/Arch: +linux/`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("version: no line matching %s in\n%s", re, out)
		}
	}
	m := regexp.MustCompile(`(?m)^Built: +(.+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("version: no Built line")
	}
	built, err := time.Parse(time.ANSIC, m[1])
	if err != nil || built.Before(time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Built %q: %v; want a real date", m[1], err)
	}
	f := strings.TrimSpace(mustMyctr(t, "version", "--format", "{{.Server.Version}}-{{.Server.Built}}"))
	i := strings.LastIndex(f, "-")
	v, n := f[:max(i, 0)], f[i+1:]
	if sec, err := strconv.ParseInt(n, 10, 64); i <= 0 || err != nil || sec != built.Unix() || !strings.Contains(out, "Version:      "+v+"\n") {
		t.Errorf("version --format {{.Server.Version}}-{{.Server.Built}} = %q; want the version and %d", f, built.Unix())
	}
	if !strings.Contains(mustMyctr(t, "version", "--format", "json"), `"GoVersion": "go1.`) {
		t.Errorf("version --format json lacks GoVersion")
	}
}

// TestFlagsAfterArguments: a command's flags may follow its arguments, as
// in Podman, except after the image of run and the container of exec,
// where they are the container's command's.
func TestFlagsAfterArguments(t *testing.T) {
	name := ctrName(t, "late")
	runDetached(t, name, nil, "sleep", "600")
	if got := strings.TrimSpace(mustMyctr(t, "inspect", name, "--format", "{{.Name}}")); got != name {
		t.Errorf("inspect NAME --format {{.Name}} = %q, want %q", got, name)
	}
	if got := mustMyctr(t, "exec", name, "echo", "-n", "x"); got != "x" {
		t.Errorf("exec NAME echo -n x = %q: -n must reach echo", got)
	}
	if got := mustMyctr(t, "run", "--rm", image, "echo", "-n", "y"); got != "y" {
		t.Errorf("run IMAGE echo -n y = %q: -n must reach echo", got)
	}
	mustMyctr(t, "rm", name, "-f", "-t", "0")
	if _, _, code := myctr(t, "inspect", name); code == 0 {
		t.Errorf("rm NAME -f left the container")
	}
}

// TestLogLevel: --log-level and --debug as Podman's: log lines on stderr
// at the levels asked for, none by default, exit 1 for an unknown level
// or both flags, with Podman's bare message (no "Error:"; scripts match
// it whole); a global flag may also follow the command.
func TestLogLevel(t *testing.T) {
	if _, e, code := myctr(t, "--log-level=telepathic", "version"); code != 1 || !strings.HasPrefix(e, `Log Level "telepathic" is not supported, choose from: trace,`) {
		t.Errorf("--log-level=telepathic: exit %d, %q", code, e)
	}
	if _, e, code := myctr(t, "--debug", "--log-level=panic", "version"); code != 1 || e != "Setting --log-level and --debug is not allowed\n" {
		t.Errorf("--debug --log-level: exit %d, %q", code, e)
	}
	for _, tc := range []struct {
		args       []string
		want, none []string
	}{
		{[]string{"--log-level=trace", "ps"}, []string{" level=trace ", " level=debug ", " level=info "}, []string{" level=warn"}},
		{[]string{"--log-level=debug", "ps"}, []string{" level=debug ", " level=info "}, []string{" level=trace "}},
		{[]string{"--log-level=info", "ps"}, []string{" level=info "}, []string{" level=debug "}},
		{[]string{"ps", "--log-level=debug"}, []string{" level=debug "}, nil},
		{[]string{"-D", "ps"}, []string{" level=debug "}, nil},
		{[]string{"--log-level=warn", "ps"}, nil, []string{" level="}},
		{[]string{"ps"}, nil, []string{" level="}},
	} {
		_, e, code := myctr(t, tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d, %s", tc.args, code, e)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(e, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, e)
			}
		}
		for _, n := range tc.none {
			if strings.Contains(e, n) {
				t.Errorf("%v: stderr has %q:\n%s", tc.args, n, e)
			}
		}
	}
}

// TestInspectImage: inspect finds a container first, then an image, as
// Podman; --type narrows it; image inspect has Podman's fields.
func TestInspectImage(t *testing.T) {
	id := strings.TrimSpace(mustMyctr(t, "images", "-q", "--no-trunc", image))
	if id == "" {
		id = strings.TrimSpace(mustMyctr(t, "image", "inspect", "--format", "{{.Id}}", image))
	}
	for _, args := range [][]string{
		{"inspect", "--format", "{{.Id}}", image},
		{"inspect", image, "--format", "{{.ID}}"},
		{"inspect", "--type", "image", "--format", "{{.Id}}", image},
		{"image", "inspect", "--format", "{{.Id}}", image},
	} {
		if got := strings.TrimSpace(mustMyctr(t, args...)); !strings.HasPrefix(got, strings.TrimPrefix(id, "sha256:")) || len(got) != 64 {
			t.Errorf("%v = %q, want the image id %q", args, got, id)
		}
	}
	out := mustMyctr(t, "inspect", "--format", "{{.Digest}} {{index .RepoTags 0}} {{.Os}} {{len .RootFS.Layers}} {{.ManifestType}}", image)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64} localhost/bb:latest linux [1-9]\d* application/vnd\.oci\.image\.manifest\.v1\+json\n$`).MatchString(out) {
		t.Errorf("image inspect fields: %q", out)
	}
	if _, e, code := myctr(t, "inspect", "--type", "container", image); code != 125 || !strings.Contains(e, "no such container") {
		t.Errorf("inspect --type container IMAGE: exit %d, %q", code, e)
	}
	if out, e, code := myctr(t, "inspect", "nosuch-object"); code != 125 || !strings.Contains(e, `no such object: "nosuch-object"`) || strings.TrimSpace(out) != "[]" {
		t.Errorf("inspect nosuch: exit %d, stdout %q, stderr %q", code, out, e)
	}
	// A container of the image's name wins.
	name := ctrName(t, "shadow")
	runDetached(t, name, nil, "sleep", "600")
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.Name}}", name)); got != name {
		t.Errorf("inspect of a container: %q", got)
	}
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Path}}", name)); !strings.HasPrefix(got, "k8s-file /") || !strings.HasSuffix(got, "/ctr.log") {
		t.Errorf("LogConfig: %q", got)
	}
	mustMyctr(t, "rm", "-f", name)
	if got := mustMyctr(t, "images", "--format", "{{.Repository}} {{.Labels}}", image); !strings.HasPrefix(got, "localhost/bb map[") {
		t.Errorf("images --format {{.Labels}}: %q", got)
	}
}

// TestRunPodmanDefaults: what Podman does with these run inputs.
func TestRunPodmanDefaults(t *testing.T) {
	if got := runOut(t, nil, "stat", "-c", "%s", "/run/.containerenv"); strings.TrimSpace(got) != "0" {
		t.Errorf("/run/.containerenv: %q, want an empty file", got)
	}
	if got := runOut(t, []string{"--read-only"}, "stat", "-c", "%s", "/run/.containerenv"); strings.TrimSpace(got) != "0" {
		t.Errorf("/run/.containerenv with --read-only: %q", got)
	}
	if got := runOut(t, []string{"--entrypoint", `["/bin/echo","two words"]`}); got != "two words\n" {
		t.Errorf("--entrypoint as a JSON array: %q", got)
	}
	if got := runOut(t, []string{"--entrypoint", "/bin/echo"}, "one"); got != "one\n" {
		t.Errorf("--entrypoint as a program: %q", got)
	}
	out, e, code := myctr(t, "run", "--rm", "-p", "8080", "--net=host", image, "echo", "hostnet")
	if code != 0 || out != "hostnet\n" || e != "Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use\n" {
		t.Errorf("run -p --net=host: exit %d, %q, %q; want a warning and the container run", code, out, e)
	}
	if out, e, code := myctr(t, "run", "--rm", "--memory=0", image, "echo", "nolimit"); code != 0 || out != "nolimit\n" {
		t.Errorf("run --memory=0 (no limit, as Podman): exit %d, %q, %q", code, out, e)
	}
}

// TestImageAndContainerGroups: Podman's `image ...` and `container ...`
// spellings, exists (exit 0/1) and untag.
func TestImageAndContainerGroups(t *testing.T) {
	my := ownStore(t)
	tar := filepath.Join(t.TempDir(), "bb.tar")
	if err := writeBusyboxTar(tar); err != nil {
		t.Fatal(err)
	}
	if _, e, code := my("image", "import", tar, "bb"); code != 0 {
		t.Fatalf("image import: %d %s", code, e)
	}
	check := func(want int, args ...string) string {
		t.Helper()
		out, e, code := my(args...)
		if code != want {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, want, e)
		}
		return out
	}
	check(0, "image", "tag", "bb", "reg.example/x:1", "reg.example/x:2")
	check(0, "image", "exists", "reg.example/x:1")
	check(1, "image", "exists", "nosuch")
	check(0, "untag", "bb", "reg.example/x:1")
	check(1, "image", "exists", "reg.example/x:1")
	check(0, "image", "exists", "reg.example/x:2")
	check(125, "image", "untag", "bb", "other/name")
	check(0, "image", "untag", "bb")
	if out := check(0, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"); strings.TrimSpace(out) != "<none>:<none>" {
		t.Errorf("after untag of every name: %q, want the image kept without a name", out)
	}
	check(0, "image", "prune", "-f")
	if out := check(0, "image", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("image prune left %q", out)
	}
	check(1, "container", "exists", "nosuch")
	check(0, "container", "ls", "-a")
	if _, e, code := my("image", "nosuch"); code != 125 || !strings.Contains(e, "unrecognized command `myctr image nosuch`") {
		t.Errorf("image nosuch: exit %d, %q", code, e)
	}
	// container exists / inspect of a real container, through the group.
	name := ctrName(t, "grp")
	runDetached(t, name, nil, "sleep", "600")
	mustMyctr(t, "container", "exists", name)
	if got := strings.TrimSpace(mustMyctr(t, "container", "inspect", "--format", "{{.Name}}", name)); got != name {
		t.Errorf("container inspect: %q", got)
	}
	mustMyctr(t, "container", "rm", "-f", name)
}

// TestCreateStartAttach: create makes a container that does not run;
// start --attach runs it in the foreground with its output and exit code,
// -i gives it our stdin; --rm of create is honoured at its end.
func TestCreateStartAttach(t *testing.T) {
	name := ctrName(t, "created")
	id := strings.TrimSpace(mustMyctr(t, "create", "--name", name, image, "sh", "-c", "echo out; echo err >&2; exit 3"))
	if !isFullID(id) {
		t.Fatalf("create printed %q, want the id", id)
	}
	if st := inspect(t, name).State; st.Status != "created" || st.Pid != 0 {
		t.Errorf("after create: status %q, pid %d; want created, no process", st.Status, st.Pid)
	}
	out, e, code := myctr(t, "start", "--attach", name)
	if code != 3 || out != "out\n" || !strings.Contains(e, "err") {
		t.Errorf("start --attach: exit %d, stdout %q, stderr %q; want 3, out, err", code, out, e)
	}
	if st := inspect(t, name).State; st.Status != "exited" || st.ExitCode != 3 {
		t.Errorf("after start --attach: %+v", st)
	}
	// Again: an exited container starts again.
	if out, _, code := myctr(t, "start", "-a", name); code != 3 || out != "out\n" {
		t.Errorf("second start -a: exit %d, %q", code, out)
	}
	in := ctrName(t, "stdin")
	mustMyctr(t, "container", "create", "-i", "--rm", "--name", in, image, "cat")
	stdout, stderr, code := runMyctr(cmdTimeout, []byte("piped\n"), "start", "-a", "-i", in)
	if code != 0 || stdout != "piped\n" {
		t.Errorf("start -a -i: exit %d, %q, %q", code, stdout, stderr)
	}
	waitFor(t, 10*time.Second, "create --rm's container removed at its end", func() bool {
		_, _, code := runMyctr(cmdTimeout, nil, "container", "exists", in)
		return code == 1
	})
	if _, e, code := myctr(t, "start", "-a", name, in); code != 125 || !strings.Contains(e, "multiple") {
		t.Errorf("start -a of two: exit %d, %q", code, e)
	}
	if _, e, code := myctr(t, "create", "-d", image, "true"); code != 125 {
		t.Errorf("create -d: exit %d, %q; want 125 (not a flag of create)", code, e)
	}
}

// TestListingsAndAll: ps --filter/--sort/--noheading, images --noheading,
// start/stop/kill --all printing full ids (a name given prints that name),
// stop --timeout, --noout, and info's Podman fields.
func TestListingsAndAll(t *testing.T) {
	my := ownStore(t)
	tar := filepath.Join(t.TempDir(), "bb.tar")
	if err := writeBusyboxTar(tar); err != nil {
		t.Fatal(err)
	}
	must := mustIn(t, my)
	must("import", tar, "bb")
	zeta := strings.TrimSpace(must("run", "-d", "--name", "zeta", "bb", "sleep", "600"))
	my("run", "--name", "alpha", "bb", "sh", "-c", "exit 4")
	must("create", "--name", "mid", "bb", "true")
	if out := must("ps", "-a", "--noheading", "--sort", "names", "--format", "{{.Names}} {{.State}}"); out != "alpha exited\nmid created\nzeta running\n" {
		t.Errorf("ps --sort names: %q", out)
	}
	if out := must("ps", "--filter", "status=exited", "--filter", "name=^al", "--format", "{{.Names}}"); out != "alpha\n" {
		t.Errorf("ps --filter status=exited --filter name=^al (implies -a): %q", out)
	}
	if out := must("ps", "-f", "exited=4", "-f", "status=created", "--format", "{{.Names}}"); out != "" {
		t.Errorf("two different keys must both match: %q", out)
	}
	if out := must("ps", "-a", "--filter", "id="+zeta[:10], "-q"); out != zeta[:12]+"\n" {
		t.Errorf("ps --filter id=: %q", out)
	}
	if _, e, code := my("ps", "--filter", "bogus=1"); code != 125 || !strings.Contains(e, "invalid filter") {
		t.Errorf("ps --filter bogus: exit %d, %q", code, e)
	}
	if out := must("ps", "--noheading"); strings.Contains(out, "CONTAINER ID") || !strings.Contains(out, "zeta") {
		t.Errorf("ps --noheading: %q", out)
	}
	if out := must("images", "--noheading"); strings.Contains(out, "REPOSITORY") || !strings.Contains(out, "localhost/bb") {
		t.Errorf("images --noheading: %q", out)
	}
	if out := must("stop", "--timeout", "1", "zeta"); out != "zeta\n" {
		t.Errorf("stop NAME prints the name as given: %q", out)
	}
	ids := strings.Fields(must("start", "--all"))
	if len(ids) != 3 || !slices.Contains(ids, zeta) {
		t.Errorf("start --all: %q, want the three full ids", ids)
	}
	if out := must("kill", "-a"); !strings.Contains(out, zeta) {
		t.Errorf("kill -a: %q", out)
	}
	if _, _, code := my("stop", "-a", "zeta"); code != 125 {
		t.Errorf("stop -a NAME: exit %d, want 125", code)
	}
	if out := must("--noout", "ps", "-a"); out != "" {
		t.Errorf("--noout ps: %q", out)
	}
	info := must("info", "--format", "{{.Host.Distribution.Distribution}}|{{.Host.OCIRuntime.Name}}|{{.Host.Security.Rootless}}|{{.Host.EventLogger}}|{{.Host.LogDriver}}|{{.Host.CgroupsVersion}}|{{.Host.NetworkBackend}}")
	if !regexp.MustCompile(`^\w+\|myctr\|true\|file\|k8s-file\|v\d.*\|(pasta|slirp4netns)\n$`).MatchString(info) {
		t.Errorf("info's Podman fields: %q", info)
	}
}

// TestRmPodmanCodes: rm's exit codes as Podman's: 1 for no such
// container (0 with -f), 2 for a running one without -f.
func TestRmPodmanCodes(t *testing.T) {
	if _, e, code := myctr(t, "rm", "nosuch-ctr"); code != 1 || !strings.Contains(e, "no such container") {
		t.Errorf("rm nosuch: exit %d, %q; want 1", code, e)
	}
	if _, e, code := myctr(t, "container", "rm", "--force", "nosuch-ctr"); code != 0 {
		t.Errorf("rm --force nosuch: exit %d, %q; want 0", code, e)
	}
	name := ctrName(t, "rmrun")
	runDetached(t, name, nil, "sleep", "600")
	if _, e, code := myctr(t, "rm", name); code != 2 || !strings.Contains(e, "running") {
		t.Errorf("rm of a running container: exit %d, %q; want 2", code, e)
	}
	mustMyctr(t, "rm", "-f", name)
}

// TestSystemReset: system reset removes every container (a running one
// too), pod, volume, image and named network, in a store of its own; it
// asks first, and with no answer on stdin removes nothing.
func TestSystemReset(t *testing.T) {
	my := ownStore(t)
	must := mustIn(t, my)
	tar := filepath.Join(t.TempDir(), "bb.tar")
	if err := writeBusyboxTar(tar); err != nil {
		t.Fatal(err)
	}
	must("import", tar, "bb")
	must("tag", "bb", "bb:second")
	must("run", "-d", "--name", "up", "--network", "none", "bb", "sleep", "300")
	must("create", "--name", "down", "bb", "true")
	must("pod", "create", "--name", "p")
	must("create", "--pod", "p", "--name", "member", "bb", "true")
	must("volume", "create", "v")
	must("run", "--name", "withvol", "-v", "v:/data", "bb", "true")
	must("network", "create", "n")
	count := func(args ...string) int { return len(strings.Fields(must(args...))) }
	before := count("ps", "-a", "-q")
	if _, errOut, code := my("system", "reset"); code != 125 || !strings.Contains(errOut, "nothing removed") {
		t.Errorf("system reset without an answer: exit %d\n%s", code, errOut)
	}
	if n := count("ps", "-a", "-q"); n != before || n < 5 {
		t.Errorf("after an unanswered reset: %d containers, want the %d there were", n, before)
	}
	if _, errOut, code := my("system", "reset", "-f"); code != 0 {
		t.Fatalf("system reset -f: exit %d\n%s", code, errOut)
	}
	for _, args := range [][]string{{"ps", "-a", "-q"}, {"pod", "ps", "-q"}, {"images", "-a", "-q"}, {"volume", "ls", "-q"}} {
		if out := must(args...); strings.TrimSpace(out) != "" {
			t.Errorf("%v after system reset: %q", args, out)
		}
	}
	if out := must("network", "ls", "--format", "{{.Name}}"); slices.Contains(strings.Fields(out), "n") {
		t.Errorf("network n after system reset:\n%s", out)
	}
}
