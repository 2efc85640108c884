//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// confEnv is a private configuration for one test: MYCTR_CONFIG_ROOT
// stands in for / (so the host's /etc/containers is not read, nor ever
// written), XDG_CONFIG_HOME is the user's configuration. files maps paths
// below the directory ("root/etc/containers/registries.conf",
// "home/containers/policy.json") to their contents.
type confEnv struct {
	dir string
	env []string
}

func newConfEnv(t *testing.T, files map[string]string) confEnv {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"root/etc/containers", "home/containers"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := confEnv{dir: dir, env: []string{"MYCTR_CONFIG_ROOT=" + filepath.Join(dir, "root"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "home")}}
	for p, text := range files {
		c.write(t, p, text)
	}
	return c
}

func (c confEnv) path(p string) string { return filepath.Join(c.dir, p) }

func (c confEnv) write(t *testing.T, p, text string) {
	t.Helper()
	full := c.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// with returns the environment plus more variables.
func (c confEnv) with(vars ...string) []string { return append(append([]string{}, c.env...), vars...) }

// pushedImage puts a fresh image into each registry as it/NAME:1 and
// removes it from the store, so a pull must fetch it. It returns the id.
func pushedImage(t *testing.T, name string, regs ...string) string {
	t.Helper()
	src := newImage(t, "it-cfg-src-"+name+":1")
	archive := filepath.Join(t.TempDir(), "src.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-cfg-src-"+name+":1")
	for _, r := range regs {
		skopeoPush(t, archive, r+"/it/"+name+":1", "")
	}
	mustMyctr(t, "rmi", "it-cfg-src-"+name+":1")
	return src.Id
}

// deadAddress is a loopback address where nothing listens.
func deadAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// podman runs podman 4.3 with its own storage in temporary directories,
// with env (the same configuration variables myctr got), for a side by
// side comparison. It returns the combined output and exit code.
func podman(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("needs podman for the comparison (tests/setup/deps.sh installs it): %v", err)
	}
	// podman refuses a run root path longer than 50 characters.
	dir, err := os.MkdirTemp("", "pm")
	if err != nil {
		t.Fatal(err)
	}
	full := append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", full...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "TMPDIR="+dir)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("podman %s -> exit %d\n%s", strings.Join(args, " "), code, out)
	// podman (rootless, vfs) leaves files of subordinate ids behind.
	t.Cleanup(func() {
		exec.Command("podman", "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs",
			"unshare", "rm", "-rf", filepath.Join(dir, "root")).Run()
		os.RemoveAll(dir)
	})
	return string(out), code
}

// pullID pulls ref quietly with env and returns the id, failing the test
// otherwise.
func pullID(t *testing.T, env []string, ref string) string {
	t.Helper()
	out, errOut, code := myctrEnv(t, env, nil, "pull", "-q", ref)
	if code != 0 {
		t.Fatalf("pull %s: exit %d\n%s%s", ref, code, out, errOut)
	}
	return strings.TrimSpace(out)
}

func TestRegistriesConfMirror(t *testing.T) {
	mirror := startRegistry(t, false)
	primary := startRegistry(t, false)
	down := deadAddress(t)
	onMirror := pushedImage(t, "onmirror", mirror)
	onPrimary := pushedImage(t, "onprimary", primary)
	// Both logical registries have the same mirror; "down" has no
	// server at all.
	c := newConfEnv(t, map[string]string{"root/etc/containers/registries.conf": fmt.Sprintf(`
[[registry]]
location = %q
insecure = true
[[registry.mirror]]
location = %q
insecure = true

[[registry]]
location = %q
insecure = true
[[registry.mirror]]
location = %q
insecure = true
`, down, mirror, primary, mirror)})

	// The primary is down: the mirror serves; the image is named as asked.
	ref := down + "/it/onmirror:1"
	if id := pullID(t, c.env, ref); id != onMirror {
		t.Errorf("pull %s gave %s, want %s from the mirror", ref, id, onMirror)
	}
	mustFindImage(t, ref)
	mustMyctr(t, "rmi", ref)
	// The mirror lacks the image: the primary serves it.
	ref = primary + "/it/onprimary:1"
	_, errOut, code := myctrEnv(t, c.env, nil, "pull", ref)
	if code != 0 || !strings.Contains(errOut, "Trying mirror "+mirror+"/it/onprimary:1") {
		t.Fatalf("pull %s: exit %d, want the mirror tried first\n%s", ref, code, errOut)
	}
	if img := mustFindImage(t, ref); img.Id != onPrimary {
		t.Errorf("pulled %s, want %s", img.Id, onPrimary)
	}
	mustMyctr(t, "rmi", ref)
	// Neither has it: both are reported.
	_, errOut, code = myctrEnv(t, c.env, nil, "pull", down+"/it/nowhere:1")
	if code != 125 || !strings.Contains(errOut, mirror+"/it/nowhere:1") || !strings.Contains(errOut, down+"/it/nowhere:1") {
		t.Errorf("pull of an image nowhere: exit %d\n%s", code, errOut)
	}

	// podman, on the same file.
	penv := []string{"CONTAINERS_REGISTRIES_CONF=" + c.path("root/etc/containers/registries.conf")}
	if out, code := podman(t, penv, "pull", "-q", down+"/it/onmirror:1"); code != 0 || !strings.Contains(out, onMirror) {
		t.Errorf("podman pull from the mirror: exit %d, want id %s", code, onMirror)
	}
	if out, code := podman(t, penv, "pull", "-q", primary+"/it/onprimary:1"); code != 0 || !strings.Contains(out, onPrimary) {
		t.Errorf("podman pull from the primary: exit %d, want id %s", code, onPrimary)
	}
}

func TestRegistriesConfBlocked(t *testing.T) {
	reg := startRegistry(t, false)
	pushedImage(t, "blocked", reg)
	c := newConfEnv(t, map[string]string{"home/containers/registries.conf.d/50-block.conf": fmt.Sprintf(`# a drop-in
[[registry]]
prefix = "%s/it"
location = "%s/it"
blocked = true
`, reg, reg)})
	conf := c.path("home/containers/registries.conf.d/50-block.conf")
	_, errOut, code := myctrEnv(t, c.env, nil, "pull", reg+"/it/blocked:1")
	if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, conf+":2") ||
		!strings.Contains(errOut, "blocked") || !strings.Contains(errOut, "Hint: ") {
		t.Errorf("pull of a blocked prefix: exit %d, want Error: naming %s:2 and a Hint:\n%s", code, conf, errOut)
	}
	if _, ok := findImage(t, reg+"/it/blocked:1"); ok {
		t.Errorf("a blocked image is in the store")
	}
	out := mustMyctrEnv(t, c.env, "info", "-f", "{{json .Config.RegistriesFiles}} {{json .Registries.Registries}}")
	if !strings.Contains(out, conf) || !strings.Contains(out, `"blocked":true`) {
		t.Errorf("info lists the drop-in and the blocked registry: %s", out)
	}
	out, code = podman(t, []string{"CONTAINERS_REGISTRIES_CONF=" + conf}, "pull", reg+"/it/blocked:1")
	if code == 0 || !strings.Contains(out, "blocked") {
		t.Errorf("podman pull of the blocked prefix: exit %d", code)
	}
}

func mustMyctrEnv(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := myctrEnv(t, env, nil, args...)
	if code != 0 {
		t.Fatalf("myctr %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestRegistriesConfShortNames(t *testing.T) {
	first := startRegistry(t, false)
	second := startRegistry(t, false)
	inFirst := pushedImage(t, "short", first)
	inSecond := pushedImage(t, "short", second)
	if inFirst == inSecond {
		t.Fatalf("the two registries hold the same image %s: the test could not tell which served", inFirst)
	}
	main := fmt.Sprintf("unqualified-search-registries = [%q, %q]\nshort-name-mode = \"enforcing\"\n", first, second)
	c := newConfEnv(t, map[string]string{
		"root/etc/containers/registries.conf":                   main,
		"root/etc/containers/registries.conf.d/10-aliases.conf": fmt.Sprintf("[aliases]\n\"itshort\" = \"%s/it/short\"\n", second),
	})

	t.Run("alias", func(t *testing.T) {
		if id := pullID(t, c.env, "itshort:1"); id != inSecond {
			t.Errorf("the alias resolves to the second registry: got %s, want %s", id, inSecond)
		}
		mustFindImage(t, second+"/it/short:1")
		mustMyctr(t, "rmi", second+"/it/short:1")
		// podman on the same settings (in one file: it knows no
		// MYCTR_CONFIG_ROOT).
		one := c.path("podman-registries.conf")
		c.write(t, "podman-registries.conf", main+fmt.Sprintf("[aliases]\n\"itshort\" = \"%s/it/short\"\n", second))
		if out, code := podman(t, []string{"CONTAINERS_REGISTRIES_CONF=" + one}, "pull", "-q", "--tls-verify=false", "itshort:1"); code != 0 || !strings.Contains(out, inSecond) {
			t.Errorf("podman pull of the alias: exit %d, want %s", code, inSecond)
		}
	})

	t.Run("enforcing without a terminal", func(t *testing.T) {
		_, errOut, code := myctrEnv(t, c.env, nil, "pull", "it/short:1")
		if code != 125 || !strings.Contains(errOut, "short-name-mode is enforcing") || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("exit %d, want 125 and the reason\n%s", code, errOut)
		}
		// podman fails the same way on the same files.
		penv := []string{"CONTAINERS_REGISTRIES_CONF=" + c.path("root/etc/containers/registries.conf")}
		out, code := podman(t, penv, "pull", "it/short:1")
		if code == 0 || !strings.Contains(out, "cannot prompt without a TTY") {
			t.Errorf("podman: exit %d, want its short-name refusal", code)
		}
	})

	t.Run("permissive tries each", func(t *testing.T) {
		p := newConfEnv(t, map[string]string{"root/etc/containers/registries.conf": fmt.Sprintf("unqualified-search-registries = [%q, %q]\n", deadAddress(t), second)})
		if id := pullID(t, p.env, "it/short:1"); id != inSecond {
			t.Errorf("got %s, want %s from the second registry", id, inSecond)
		}
		mustMyctr(t, "rmi", second+"/it/short:1")
	})

	t.Run("enforcing on a terminal asks", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := myctrCommand(ctx, "pull", "it/short:1")
		cmd.Env = append(os.Environ(), c.env...)
		s := &ptySession{t: t, cmd: cmd, read: make(chan struct{}), cancel: cancel}
		ptmx, err := pty.Start(cmd)
		if err != nil {
			t.Fatalf("start on a pty: %v", err)
		}
		s.ptmx = ptmx
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := ptmx.Read(buf)
				s.out.Write(buf[:n])
				if err != nil {
					close(s.read)
					return
				}
			}
		}()
		defer ptmx.Close()
		s.expect(`Please select an image`, 30*time.Second)
		s.expect(`2\) `+second+`/it/short:1`, 5*time.Second)
		s.send("2")
		if code := s.exitCode(); code != 0 {
			t.Fatalf("pull on a terminal: exit %d\n%s", code, s.out.String())
		}
		if img := mustFindImage(t, second+"/it/short:1"); img.Id != inSecond {
			t.Errorf("pulled %s, want %s", img.Id, inSecond)
		}
		mustMyctr(t, "rmi", second+"/it/short:1")
		b, err := os.ReadFile(c.path("home/containers/short-name-aliases.conf"))
		if err != nil || !strings.Contains(string(b), second+"/it/short") {
			t.Fatalf("the choice is recorded in the alias cache: %v\n%s", err, b)
		}
		// The recorded alias answers without a terminal now.
		if id := pullID(t, c.env, "it/short:1"); id != inSecond {
			t.Errorf("after the choice: got %s, want %s", id, inSecond)
		}
		mustMyctr(t, "rmi", second+"/it/short:1")
		out := mustMyctrEnv(t, c.env, "info", "-f", "{{json .Config.RegistriesFiles}}")
		want := fmt.Sprintf(`[%q,%q,%q]`, c.path("root/etc/containers/registries.conf"),
			c.path("root/etc/containers/registries.conf.d/10-aliases.conf"), c.path("home/containers/short-name-aliases.conf"))
		if strings.TrimSpace(out) != want {
			t.Errorf("info's files, in order:\n got %s\nwant %s", out, want)
		}
	})
}

func TestRegistriesConfBadInput(t *testing.T) {
	c := newConfEnv(t, map[string]string{"root/etc/containers/registries.conf": "unqualified-search-registries = [\"a.io\"]\n\n[[registry]]\nlocation = \"a.io\"\n\n[[registry]]\nlocation = \"a.io\"\ninsecure = true\n"})
	conf := c.path("root/etc/containers/registries.conf")
	for _, args := range [][]string{{"pull", "a.io/x:1"}, {"info"}} {
		_, errOut, code := myctrEnv(t, c.env, nil, args...)
		if code != 125 || !strings.Contains(errOut, "Error: "+conf+":6: [[registry]] prefix \"a.io\" is defined twice") || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("%v with a duplicate prefix: exit %d\n%s", args, code, errOut)
		}
	}
	c.write(t, "home/containers/containers.conf", "[containers]\ninit = \"yes\"\n")
	c.write(t, "root/etc/containers/registries.conf", "")
	_, errOut, code := myctrEnv(t, c.env, nil, "run", "--rm", image, "true")
	if code != 125 || !strings.Contains(errOut, c.path("home/containers/containers.conf")+":2: containers.init") {
		t.Errorf("run with a containers.conf value of the wrong type: exit %d\n%s", code, errOut)
	}
}

func TestContainersConfDefaults(t *testing.T) {
	c := newConfEnv(t, map[string]string{
		"root/usr/share/containers/containers.conf": "[containers]\nenv = [\"FROM_CONF=1\", \"SECOND=2\"]\ninit = true\nseccomp_profile = \"/nonexistent.json\"\n",
		"home/containers/containers.conf":           "[containers]\ndefault_capabilities = [\"CHOWN\", \"KILL\"]\n\n[engine]\nevents_logger = \"file\"\n",
	})
	out := mustMyctrEnv(t, c.env, "run", "--rm", image, "sh", "-c", "echo $FROM_CONF $SECOND; cat /proc/1/comm; grep CapEff /proc/self/status")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("output %q", out)
	}
	if lines[0] != "1 2" {
		t.Errorf("env: %q, want containers.conf's FROM_CONF=1 SECOND=2", lines[0])
	}
	if lines[1] == "sh" {
		t.Errorf("init = true: PID 1 is %q, want myctr's init", lines[1])
	}
	if !strings.HasSuffix(lines[2], fmt.Sprintf("%016x", 1<<0|1<<5)) {
		t.Errorf("default_capabilities CHOWN KILL: %q", lines[2])
	}
	// Flags override.
	out = mustMyctrEnv(t, c.env, "run", "--rm", "--init=false", "-e", "FROM_CONF=2", "--cap-add", "NET_RAW", image, "sh", "-c", "echo $FROM_CONF; cat /proc/1/comm; grep CapEff /proc/self/status")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "2" || lines[1] != "sh" || !strings.HasSuffix(lines[2], fmt.Sprintf("%016x", 1<<0|1<<5|1<<13)) {
		t.Errorf("flags over containers.conf: %q", out)
	}
	// info lists what myctr does not act on, once, with file and line.
	out = mustMyctrEnv(t, c.env, "info", "-f", "{{json .Config.ContainersFiles}} {{json .Config.UnsupportedKeys}}")
	for _, want := range []string{
		c.path("root/usr/share/containers/containers.conf") + ":4: containers.seccomp_profile",
		c.path("home/containers/containers.conf") + ":5: engine.events_logger",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("info: want %q in\n%s", want, out)
		}
	}
	// CONTAINERS_CONF alone replaces them all.
	alone := c.path("alone.conf")
	c.write(t, "alone.conf", "[containers]\nenv = [\"ALONE=1\"]\n")
	out = mustMyctrEnv(t, c.with("CONTAINERS_CONF="+alone), "run", "--rm", image, "sh", "-c", "echo ${ALONE:-none} ${FROM_CONF:-none}")
	if strings.TrimSpace(out) != "1 none" {
		t.Errorf("CONTAINERS_CONF: %q", out)
	}
}

// blobCount is the number of blobs in the store.
func blobCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "storage", "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestPolicyReject(t *testing.T) {
	reg := startRegistry(t, false)
	id := pushedImage(t, "policy", reg)
	policy := fmt.Sprintf(`{
  "default": [{"type": "insecureAcceptAnything"}],
  "transports": {
    "docker": {
      "%s/it": [{"type": "reject"}],
      "%s/signed": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/nonexistent.gpg"}]
    },
    "oci-archive": {"%s": [{"type": "reject"}]}
  }
}
`, reg, reg, "/REJECTED")
	c := newConfEnv(t, map[string]string{"home/containers/policy.json": policy})
	pol := c.path("home/containers/policy.json")
	before := blobCount(t)
	_, errOut, code := myctrEnv(t, c.env, nil, "pull", reg+"/it/policy:1")
	if code != 125 || !strings.Contains(errOut, "rejected by policy") || !strings.Contains(errOut, pol) || !strings.Contains(errOut, "Hint: ") {
		t.Errorf("pull of a rejected scope: exit %d\n%s", code, errOut)
	}
	if _, ok := findImage(t, reg+"/it/policy:1"); ok {
		t.Errorf("the rejected image is in the store")
	}
	if after := blobCount(t); after != before {
		t.Errorf("the store has %d blobs, had %d: a rejected pull stores nothing", after, before)
	}
	_, errOut, code = myctrEnv(t, c.env, nil, "pull", reg+"/signed/x:1")
	if code != 125 || !strings.Contains(errOut, "does not check signatures") || !strings.Contains(errOut, "Hint: ") {
		t.Errorf("pull of a scope that needs signatures: exit %d\n%s", code, errOut)
	}
	// The host's policy accepts the same pull: the refusal was the file's.
	if got := pullID(t, nil, reg+"/it/policy:1"); got != id {
		t.Errorf("pull with the host's policy: %s, want %s", got, id)
	}
	mustMyctr(t, "rmi", reg+"/it/policy:1")
	t.Run("podman", func(t *testing.T) {
		out, code := podman(t, nil, "pull", "--tls-verify=false", "--signature-policy", pol, reg+"/it/policy:1")
		if code == 0 || !strings.Contains(out, "rejected by policy") {
			t.Errorf("podman pull of the rejected scope: exit %d", code)
		}
	})
	t.Run("load", func(t *testing.T) {
		img := newImage(t, "it-cfg-load:1")
		dir := filepath.Join(t.TempDir(), "REJECTED")
		os.Mkdir(dir, 0o755)
		archive := filepath.Join(dir, "a.tar")
		mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-cfg-load:1")
		mustMyctr(t, "rmi", "it-cfg-load:1")
		p := newConfEnv(t, map[string]string{"home/containers/policy.json": strings.ReplaceAll(policy, "/REJECTED", dir)})
		_, errOut, code := myctrEnv(t, p.env, nil, "load", "-i", archive)
		if code != 125 || !strings.Contains(errOut, "rejected by policy") {
			t.Errorf("load of a rejected archive: exit %d\n%s", code, errOut)
		}
		if _, ok := findImage(t, img.Id); ok {
			t.Errorf("the rejected archive's image is in the store")
		}
		mustMyctr(t, "load", "-i", archive) // the host's policy accepts it
	})
}

// TestRegistriesConfInsecure runs a registry on a non-loopback address
// (10.213.0.1 on a veth pair) in a network namespace of its own, made
// with the user's own user namespace (unshare -rn), and pulls from it
// there: plain HTTP is refused until registries.conf says insecure (the
// image gets there by a push that the same insecure = true allows).
func TestRegistriesConfInsecure(t *testing.T) {
	if _, err := os.Stat(registryBin); err != nil {
		t.Fatalf("needs %s: %v", registryBin, err)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	tarball := filepath.Join(dir, "bb.tar")
	if err := writeBusyboxTar(tarball); err != nil {
		t.Fatal(err)
	}
	const addr = "10.213.0.1:5000"
	regConf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "storage"), addr)
	os.WriteFile(filepath.Join(dir, "registry.yml"), []byte(regConf), 0o644)
	c := newConfEnv(t, map[string]string{
		"plain/etc/containers/registries.conf":    "",
		"insecure/etc/containers/registries.conf": "[[registry]]\nlocation = \"" + addr + "\"\ninsecure = true\n",
	})
	// Inside the namespace the user is root of a one-id namespace: myctr
	// gets a store of its own there.
	script := fmt.Sprintf(`set -e
ip link add v0 type veth peer name v1
ip addr add 10.213.0.1/24 dev v0
ip link set v0 up; ip link set v1 up; ip link set lo up
%[1]s serve %[2]s/registry.yml >%[2]s/registry.log 2>&1 &
reg=$!
trap 'kill $reg' EXIT
for i in $(seq 100); do
  if %[3]s --root %[2]s/s --runroot %[2]s/r import %[2]s/bb.tar it/app:1 >/dev/null 2>&1; then break; fi
  sleep 0.1
done
n=0; until MYCTR_CONFIG_ROOT=%[5]s/insecure %[3]s --root %[2]s/s --runroot %[2]s/r push it/app:1 %[4]s/it/app:1 >/dev/null 2>&1; do
  n=$((n+1)); [ $n -lt 100 ] || { echo PUSH-FAILED; cat %[2]s/registry.log; exit 1; }; sleep 0.1
done
%[3]s --root %[2]s/s --runroot %[2]s/r rmi it/app:1 >/dev/null
echo "== plain"
MYCTR_CONFIG_ROOT=%[5]s/plain %[3]s --root %[2]s/s --runroot %[2]s/r pull -q %[4]s/it/app:1 2>&1 && echo "exit 0" || echo "exit $?"
echo "== insecure"
MYCTR_CONFIG_ROOT=%[5]s/insecure %[3]s --root %[2]s/s --runroot %[2]s/r pull -q %[4]s/it/app:1 2>&1 && echo "exit 0" || echo "exit $?"
`, registryBin, dir, bin, addr, c.dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-rn", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.path("home"), "XDG_RUNTIME_DIR="+dir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	out, err := cmd.CombinedOutput()
	t.Logf("in the namespace:\n%s", out)
	if err != nil {
		t.Fatalf("unshare -rn: %v", err)
	}
	plain, insecure, _ := strings.Cut(string(out), "== insecure")
	if !strings.Contains(plain, "exit 125") || !strings.Contains(plain, "refusing plain HTTP to "+addr) || !strings.Contains(plain, "insecure = true") {
		t.Errorf("without insecure, plain HTTP to %s is refused with a hint", addr)
	}
	if !strings.Contains(insecure, "exit 0") {
		t.Errorf("with insecure = true, the pull over plain HTTP works")
	}
	// The store belongs to the namespace's ids: remove it from there.
	exec.Command("unshare", "-r", "rm", "-rf", filepath.Join(dir, "s"), filepath.Join(dir, "r"), filepath.Join(dir, "storage")).Run()
}

// TestContainersConfUserns: containers.conf's [containers] userns is the
// --userns of a container that names none, as Podman's: keep-id from the
// file runs the process as the user, --userns on the command line wins,
// a container that joins another's namespaces takes that one's, and a
// mode myctr cannot give is an error naming the file and line, not a
// default silently ignored.
func TestContainersConfUserns(t *testing.T) {
	t.Parallel()
	uid := strconv.Itoa(os.Getuid())
	c := newConfEnv(t, map[string]string{"keep.conf": "[containers]\nuserns = \"keep-id\"\n", "auto.conf": "[containers]\n\nuserns = \"auto\"\n"})
	keep := c.with("CONTAINERS_CONF=" + c.path("keep.conf"))
	if out := mustMyctrEnv(t, keep, "run", "--rm", image, "id", "-u"); strings.TrimSpace(out) != uid {
		t.Errorf("userns = \"keep-id\": id -u is %q, want the user's %s", out, uid)
	}
	if out := mustMyctrEnv(t, keep, "run", "--rm", "--userns", "private", image, "id", "-u"); strings.TrimSpace(out) != "0" {
		t.Errorf("--userns private over the file's keep-id: id -u is %q, want 0", out)
	}
	name := ctrName(t, "")
	mustMyctrEnv(t, keep, "create", "--name", name, image, "true")
	defer myctr(t, "rm", "-f", name)
	if mode := strings.TrimSpace(mustMyctrEnv(t, keep, "inspect", "--format", "{{.HostConfig.UsernsMode}}", name)); mode != "keep-id" {
		t.Errorf("inspect's UsernsMode of a container the file made keep-id: %q", mode)
	}
	// Joining the network of a container with the default mapping takes
	// its user namespace: the file's keep-id does not apply.
	dep := ctrName(t, "dep")
	mustMyctr(t, "create", "--name", dep, image, "sleep", "100")
	defer myctr(t, "rm", "-f", dep)
	joiner := ctrName(t, "joiner")
	mustMyctrEnv(t, keep, "create", "--name", joiner, "--network", "container:"+dep, image, "true")
	defer myctr(t, "rm", "-f", joiner)
	if mode := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.HostConfig.UsernsMode}}", joiner)); mode != "" {
		t.Errorf("a container joining another's network took the file's userns: %q", mode)
	}
	wantConfError(t, c, "auto.conf", 3, `userns "auto"`)
}

// wantConfError checks that `run` with CONTAINERS_CONF=file (of c) exits
// 125 with an error naming the file, its line and what, and a hint.
func wantConfError(t *testing.T, c confEnv, file string, line int, what string) {
	t.Helper()
	out, errOut, code := myctrEnv(t, c.with("CONTAINERS_CONF="+c.path(file)), nil, "run", "--rm", image, "true")
	want := fmt.Sprintf("Error: %s:%d: [containers] %s", c.path(file), line, what)
	if code != 125 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "Hint: ") {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want 125, %q and a hint", what, code, out, errOut, want)
	}
}

// TestContainersConfRunDefaults: containers.conf's tz, umask, shm_size,
// no_hosts, read_only, env_host and http_proxy are the defaults of their
// flags, and annotations and default_ulimits lie below --annotation's and
// --ulimit's, as Podman's; a flag given wins, and a bad value is the
// file's error at its line.
func TestContainersConfRunDefaults(t *testing.T) {
	t.Parallel()
	c := newConfEnv(t, map[string]string{
		"run.conf": "[containers]\ntz = \"Etc/GMT+5\"\numask = \"0077\"\nshm_size = \"3m\"\nno_hosts = true\nread_only = true\n",
		"bad.conf": "[containers]\nshm_size = \"lots\"\n",
	})
	env := c.with("CONTAINERS_CONF=" + c.path("run.conf"))
	script := "date +%Z; umask; df -k /dev/shm | tail -1 | awk '{print $2}'; test -e /etc/hosts && echo hosts || echo nohosts; touch /x 2>/dev/null && echo rw || echo ro"
	want := "-05\n0077\n3072\nnohosts\nro\n"
	if out := mustMyctrEnv(t, env, "run", "--rm", image, "sh", "-c", script); out != want {
		t.Errorf("the file's defaults:\n got %q\nwant %q", out, want)
	}
	want = "UTC\n0022\n65536\nhosts\nrw\n"
	if out := mustMyctrEnv(t, env, "run", "--rm", "--tz", "UTC", "--umask", "0022", "--shm-size", "64m", "--no-hosts=false", "--read-only=false",
		image, "sh", "-c", script); out != want {
		t.Errorf("flags over the file:\n got %q\nwant %q", out, want)
	}
	// The lists: annotations and default_ulimits below the flags', the
	// environment's proxy variables (http_proxy) and the whole of it
	// (env_host).
	lists := c.with("CONTAINERS_CONF="+c.path("lists.conf"), "http_proxy=http://proxy.invalid:3128", "MYCTR_IT_HOSTVAR=seen")
	c.write(t, "lists.conf", "[containers]\nannotations = [\"it.a=file\", \"it.b=file\"]\ndefault_ulimits = [\"nofile=512:512\", \"nproc=300:300\"]\nhttp_proxy = false\n")
	script = "ulimit -n; ulimit -u; echo ${http_proxy:-none} ${MYCTR_IT_HOSTVAR:-none}"
	if out := mustMyctrEnv(t, lists, "run", "--rm", image, "sh", "-c", script); out != "512\n300\nnone none\n" {
		t.Errorf("default_ulimits and http_proxy = false: %q", out)
	}
	if out := mustMyctrEnv(t, lists, "run", "--rm", "--ulimit", "nofile=256:256", "--http-proxy", image, "sh", "-c", script); out != "256\n300\nhttp://proxy.invalid:3128 none\n" {
		t.Errorf("--ulimit nofile and --http-proxy over the file: %q", out)
	}
	c.write(t, "lists.conf", "[containers]\nenv_host = true\n")
	if out := mustMyctrEnv(t, lists, "run", "--rm", image, "sh", "-c", script); !strings.HasSuffix(out, "http://proxy.invalid:3128 seen\n") {
		t.Errorf("env_host = true: %q", out)
	}
	c.write(t, "lists.conf", "[containers]\nannotations = [\"it.a=file\", \"it.b=file\"]\n")
	name := ctrName(t, "")
	mustMyctrEnv(t, lists, "create", "--name", name, "--annotation", "it.b=flag", image, "true")
	defer myctr(t, "rm", "-f", name)
	if out := mustMyctr(t, "inspect", "--format", `{{index .Config.Annotations "it.a"}} {{index .Config.Annotations "it.b"}}`, name); strings.TrimSpace(out) != "file flag" {
		t.Errorf("annotations below --annotation: %q", out)
	}
	wantConfError(t, c, "bad.conf", 2, `shm_size "lots"`)
}

// TestContainersConfNetns: containers.conf's netns is the default of
// --network, below myctr.conf's network key; "private" is the default
// mode, and --network on the command line wins.
func TestContainersConfNetns(t *testing.T) {
	t.Parallel()
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	c := newConfEnv(t, map[string]string{"host.conf": "[containers]\nnetns = \"host\"\n", "none.conf": "[containers]\nnetns = \"none\"\n"})
	hostEnv := c.with("CONTAINERS_CONF=" + c.path("host.conf"))
	if out := mustMyctrEnv(t, hostEnv, "run", "--rm", image, "readlink", "/proc/self/ns/net"); strings.TrimSpace(out) != host {
		t.Errorf("netns = \"host\": the container's network namespace is %q, want the host's %s", out, host)
	}
	if out := mustMyctrEnv(t, hostEnv, "run", "--rm", "--network", "none", image, "readlink", "/proc/self/ns/net"); strings.TrimSpace(out) == host {
		t.Errorf("--network none over the file's host: the container is on the host's network")
	}
	if out := mustMyctrEnv(t, c.with("CONTAINERS_CONF="+c.path("none.conf")), "run", "--rm", image, "ls", "/sys/class/net"); strings.TrimSpace(out) != "lo" {
		t.Errorf("netns = \"none\": interfaces %q, want lo alone", out)
	}
	// myctr.conf's network key comes first.
	c.write(t, "home/myctr/myctr.conf", "network = \"none\"\n")
	if out := mustMyctrEnv(t, hostEnv, "run", "--rm", image, "readlink", "/proc/self/ns/net"); strings.TrimSpace(out) == host {
		t.Errorf("myctr.conf's network = \"none\" below the file's netns = \"host\"")
	}
}
