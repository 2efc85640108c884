//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// volName returns a volume name unique to the test (and suffix), and
// removes that volume (and the containers using it) when the test ends.
func volName(t *testing.T, suffix string) string {
	t.Helper()
	n := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()+"-"+suffix), "-"), "-")
	n = "v-" + n
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "volume", "rm", "-f", n) })
	return n
}

type volumeJSON struct {
	Name        string
	Driver      string
	Mountpoint  string
	Labels      map[string]string
	Scope       string
	Anonymous   bool
	NeedsCopyUp bool
	NeedsChown  bool
}

func volumeInspect(t *testing.T, name string) volumeJSON {
	t.Helper()
	var v []volumeJSON
	out := mustMyctr(t, "volume", "inspect", name)
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) != 1 {
		t.Fatalf("volume inspect %s: %v\n%s", name, err, out)
	}
	return v[0]
}

func volumeNames(t *testing.T, filters ...string) []string {
	t.Helper()
	args := []string{"volume", "ls", "-q"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	return strings.Fields(mustMyctr(t, args...))
}

// Data one container writes in a named volume is there for the next; the
// volume is made on first use, and :ro makes it read-only.
func TestVolumeNamedPersists(t *testing.T) {
	t.Parallel()
	v := volName(t, "data")
	if _, _, code := myctr(t, "volume", "exists", v); code != 1 {
		t.Fatalf("volume exists before first use: exit %d, want 1", code)
	}
	runOut(t, []string{"-v", v + ":/data"}, "sh", "-c", "echo kept > /data/f")
	if _, _, code := myctr(t, "volume", "exists", v); code != 0 {
		t.Fatalf("volume exists after -v %s:/data: exit %d, want 0", v, code)
	}
	if got := runOut(t, []string{"-v", v + ":/data:z"}, "cat", "/data/f"); got != "kept\n" {
		t.Errorf("the next container reads %q, want kept", got)
	}
	vi := volumeInspect(t, v)
	if vi.Driver != "local" || vi.Scope != "local" || filepath.Base(filepath.Dir(vi.Mountpoint)) != v || filepath.Base(vi.Mountpoint) != "_data" {
		t.Errorf("volume inspect = %+v", vi)
	}
	if b, err := os.ReadFile(filepath.Join(vi.Mountpoint, "f")); err != nil || string(b) != "kept\n" {
		t.Errorf("the volume's file on the host: %q, %v", b, err)
	}
	out, errOut, code := myctr(t, "run", "--rm", "-v", v+":/data:ro", image, "touch", "/data/g")
	if code == 0 || !strings.Contains(errOut+out, "Read-only file system") {
		t.Errorf("touch in a :ro volume: exit %d, %q %q; want a read-only failure", code, out, errOut)
	}
	out, errOut, code = myctr(t, "run", "--rm", "--mount", "type=volume,src="+v+",target=/m,readonly", image, "sh", "-c", "cat /m/f; touch /m/x")
	if code == 0 || !strings.HasPrefix(out, "kept") || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("--mount type=volume,readonly: exit %d, %q %q", code, out, errOut)
	}
}

// volume create, ls (filters, formats), inspect and their errors, as
// Podman says them.
func TestVolumeCommands(t *testing.T) {
	t.Parallel()
	v := volName(t, "cmd")
	label := "it=" + v
	if got := strings.TrimSpace(mustMyctr(t, "volume", "create", "--label", label, v)); got != v {
		t.Fatalf("volume create printed %q", got)
	}
	_, errOut, code := myctr(t, "volume", "create", v)
	if code != 125 || !strings.Contains(errOut, "Error: volume with name "+v+" already exists") {
		t.Errorf("second create: exit %d, %q", code, errOut)
	}
	if got := volumeNames(t, "label="+label); !slices.Equal(got, []string{v}) {
		t.Errorf("ls --filter label=%s = %v", label, got)
	}
	if got := volumeNames(t, "name=^"+v+"$", "dangling=true"); !slices.Equal(got, []string{v}) {
		t.Errorf("ls --filter name=,dangling=true = %v", got)
	}
	out := mustMyctr(t, "volume", "ls", "--filter", "label="+label, "--format", "table {{.Name}} {{.Driver}}")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "VOLUME NAME") || !strings.HasPrefix(lines[1], v) {
		t.Errorf("ls --format table: %q", out)
	}
	var list []volumeJSON
	if err := json.Unmarshal([]byte(mustMyctr(t, "volume", "ls", "--filter", "label="+label, "--format", "json")), &list); err != nil || len(list) != 1 || list[0].Labels["it"] != v || !list[0].NeedsCopyUp || !list[0].NeedsChown {
		t.Errorf("ls --format json: %+v, %v", list, err)
	}
	if got := strings.TrimSpace(mustMyctr(t, "volume", "inspect", v, "--format", "{{.Name}} {{.Driver}}")); got != v+" local" {
		t.Errorf("inspect NAME --format: %q", got)
	}
	_, errOut, code = myctr(t, "volume", "inspect", "it-no-such-volume")
	if code != 125 || !strings.Contains(errOut, "Error: inspecting object: no such volume it-no-such-volume") {
		t.Errorf("inspect of a missing volume: exit %d, %q", code, errOut)
	}
	_, errOut, code = myctr(t, "volume", "rm", "it-no-such-volume")
	if code != 1 || !strings.Contains(errOut, `Error: no volume with name "it-no-such-volume" found: no such volume`) {
		t.Errorf("rm of a missing volume: exit %d, %q", code, errOut)
	}
	if out, _, code := myctr(t, "volume", "rm", "--force", "it-no-such-volume"); code != 0 || out != "" {
		t.Errorf("rm -f of a missing volume: exit %d, %q", code, out)
	}
	_, _, code = myctr(t, "volume", "ls", "--filter", "bogus=1")
	if code != 125 {
		t.Errorf("ls --filter bogus=1: exit %d, want 125", code)
	}
	anon := strings.TrimSpace(mustMyctr(t, "volume", "create"))
	if !isFullID(anon) {
		t.Errorf("volume create with no name printed %q, want 64 hex digits", anon)
	}
	mustMyctr(t, "volume", "rm", anon)
}

// Names that are not Podman's, or that would leave the store, are refused
// everywhere before any path is made of them.
func TestVolumeBadNames(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"../escape", "a/b", ".hidden", "_under", "sp ace"} {
		_, errOut, code := myctr(t, "volume", "create", n)
		if code != 125 || !strings.Contains(errOut, "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*") {
			t.Errorf("volume create %q: exit %d, %q", n, code, errOut)
		}
		if _, _, code := myctr(t, "volume", "exists", n); code != 1 {
			t.Errorf("volume exists %q: exit %d, want 1", n, code)
		}
	}
	for _, arg := range []string{"sp ace:/x", "a:relative", "/h:/c:bogus"} {
		if _, _, code := myctr(t, "run", "--rm", "-v", arg, image, "true"); code != 125 {
			t.Errorf("run -v %q: exit %d, want 125", arg, code)
		}
	}
	for _, arg := range []string{"type=volume,src=../x,dst=/d", "type=bind,dst=/d", "type=nfs,src=a,dst=/d"} {
		if _, _, code := myctr(t, "run", "--rm", "--mount", arg, image, "true"); code != 125 {
			t.Errorf("run --mount %q: exit %d, want 125", arg, code)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "escape")); !os.IsNotExist(err) {
		t.Errorf("a volume name escaped the store: %v", err)
	}
}

// volume rm refuses a volume in use (exit 2, Podman's words) unless -f,
// which removes the container; prune leaves the volumes in use alone.
func TestVolumeInUse(t *testing.T) {
	t.Parallel()
	v := volName(t, "used")
	free := volName(t, "free")
	label := "it=" + v
	mustMyctr(t, "volume", "create", "--label", label, free)
	name := ctrName(t, "user")
	id := runDetached(t, name, []string{"-v", v + ":/x"}, "sleep", "60")
	_, errOut, code := myctr(t, "volume", "rm", v)
	want := "Error: volume " + v + " is being used by the following container(s): " + id + ": volume is being used"
	if code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("volume rm of a volume in use: exit %d, %q; want 2, %q", code, errOut, want)
	}
	if got := volumeNames(t, "name=^"+v+"$", "dangling=false"); !slices.Equal(got, []string{v}) {
		t.Errorf("ls --filter dangling=false = %v", got)
	}
	out := mustMyctr(t, "volume", "prune", "-f", "--filter", "label="+label)
	if strings.TrimSpace(out) != free {
		t.Errorf("prune --filter label= removed %q, want only %s", out, free)
	}
	if _, _, code := myctr(t, "volume", "exists", v); code != 0 {
		t.Errorf("prune removed a volume in use")
	}
	mustMyctr(t, "volume", "rm", "-t", "0", v, "--force")
	if _, _, code := myctr(t, "inspect", name); code == 0 {
		t.Errorf("volume rm -f left the container that used it")
	}
	if _, _, code := myctr(t, "volume", "exists", v); code != 1 {
		t.Errorf("volume rm -f left the volume")
	}
}

// -v /PATH and the image's VOLUMEs get anonymous volumes; rm -v removes
// them, plain rm keeps them; --volumes-from shares a container's volumes.
func TestVolumeAnonymousAndVolumesFrom(t *testing.T) {
	t.Parallel()
	src := ctrName(t, "src")
	mustMyctr(t, "run", "--name", src, "-v", "/anon", image, "sh", "-c", "echo a > /anon/f")
	in := inspectMounts(t, src)
	if len(in) != 1 || in[0].Type != "volume" || !in[0].Anonymous || !isFullID(in[0].Name) || in[0].Destination != "/anon" {
		t.Fatalf("inspect Mounts = %+v", in)
	}
	anon := in[0].Name
	if got := runOut(t, []string{"--volumes-from", src}, "cat", "/anon/f"); got != "a\n" {
		t.Errorf("--volumes-from reads %q", got)
	}
	out, errOut, code := myctr(t, "run", "--rm", "--volumes-from", src+":ro", image, "touch", "/anon/g")
	if code == 0 || !strings.Contains(out+errOut, "Read-only file system") {
		t.Errorf("--volumes-from :ro: exit %d %q %q", code, out, errOut)
	}
	mustMyctr(t, "rm", "-v", src)
	if _, _, code := myctr(t, "volume", "exists", anon); code != 1 {
		t.Errorf("rm -v left the anonymous volume %s", anon)
	}
	keep := ctrName(t, "keep")
	mustMyctr(t, "run", "--name", keep, "-v", "/anon", image, "true")
	kept := inspectMounts(t, keep)[0].Name
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "volume", "rm", "-f", kept) })
	mustMyctr(t, "rm", keep)
	if _, _, code := myctr(t, "volume", "exists", kept); code != 0 {
		t.Errorf("rm without -v removed the anonymous volume")
	}
	// run --rm takes its anonymous volumes with it. (Its name, from the
	// bind's root in the container's mountinfo: other tests make
	// anonymous volumes at the same time.)
	bindRoot := strings.TrimSpace(runOut(t, []string{"-v", "/tmpdata"}, "awk", "$5 == \"/tmpdata\" { print $4 }", "/proc/self/mountinfo"))
	name := filepath.Base(filepath.Dir(bindRoot))
	if filepath.Base(bindRoot) != "_data" || !isFullID(name) {
		t.Fatalf("the anonymous volume's directory in mountinfo: %q", bindRoot)
	}
	waitFor(t, 10*time.Second, "run --rm to remove its anonymous volume "+name, func() bool {
		_, _, code := runMyctr(cmdTimeout, nil, "volume", "exists", name)
		return code == 1
	})
}

type mountJSON struct {
	Type, Name, Source, Destination string
	RW, Anonymous                   bool
}

func inspectMounts(t *testing.T, ctr string) []mountJSON {
	t.Helper()
	var e []struct{ Mounts []mountJSON }
	out := mustMyctr(t, "inspect", ctr)
	if err := json.Unmarshal([]byte(out), &e); err != nil || len(e) != 1 {
		t.Fatalf("inspect %s: %v", ctr, err)
	}
	return e[0].Mounts
}

// A new volume over a non-empty directory of the image gets its contents,
// with the image's owners, and the directory's owner; an image VOLUME gets
// an anonymous volume filled the same way.
func TestVolumeCopyUp(t *testing.T) {
	t.Parallel()
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM " + image + "\n" +
		"RUN mkdir -p /srv/app && echo seed > /srv/app/f && chown -R 100:200 /srv/app && chmod 0750 /srv/app\n" +
		"VOLUME /srv/app\n"})
	tag := "localhost/it-volume-copyup:latest"
	mustBuild(t, "-t", tag, ctx)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", tag) })
	v := volName(t, "copy")
	got := mustMyctr(t, "run", "--rm", "-v", v+":/srv/app", tag, "stat", "-c", "%u:%g %a %n", "/srv/app", "/srv/app/f")
	want := "100:200 750 /srv/app\n100:200 644 /srv/app/f\n"
	if got != want {
		t.Errorf("copied-up volume: %q, want %q", got, want)
	}
	if vi := volumeInspect(t, v); vi.NeedsCopyUp || vi.NeedsChown {
		t.Errorf("after the first use: %+v, want NeedsCopyUp and NeedsChown false", vi)
	}
	// Once only: a volume emptied later is not filled again.
	mustMyctr(t, "run", "--rm", "-v", v+":/srv/app", tag, "rm", "/srv/app/f")
	if got := mustMyctr(t, "run", "--rm", "-v", v+":/srv/app", tag, "ls", "/srv/app"); got != "" {
		t.Errorf("copy-up again: %q", got)
	}
	// nocopy keeps a new volume empty.
	nc := volName(t, "nocopy")
	if got := mustMyctr(t, "run", "--rm", "-v", nc+":/srv/app:nocopy", tag, "ls", "/srv/app"); got != "" {
		t.Errorf("nocopy volume: %q", got)
	}
	// The image's VOLUME: an anonymous volume, filled from the image.
	if got := mustMyctr(t, "run", "--rm", tag, "cat", "/srv/app/f"); got != "seed\n" {
		t.Errorf("image VOLUME: %q", got)
	}
	if got := mustMyctr(t, "run", "--rm", "--image-volume", "tmpfs", tag, "stat", "-f", "-c", "%T", "/srv/app"); got != "tmpfs\n" {
		t.Errorf("--image-volume tmpfs: %q", got)
	}
	// containers.conf's [engine] image_volume_mode is the default; the
	// flag overrides it.
	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[engine]\nimage_volume_mode = \"tmpfs\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTAINERS_CONF=" + conf}
	if got := mustMyctrEnv(t, env, "run", "--rm", tag, "stat", "-f", "-c", "%T", "/srv/app"); got != "tmpfs\n" {
		t.Errorf("image_volume_mode tmpfs: %q", got)
	}
	if got := mustMyctrEnv(t, env, "run", "--rm", "--image-volume", "bind", tag, "cat", "/srv/app/f"); got != "seed\n" {
		t.Errorf("--image-volume bind over image_volume_mode tmpfs: %q", got)
	}
	if got := mustMyctrEnv(t, env, "run", "--rm", "--image-volume", "ignore", tag, "stat", "-f", "-c", "%T", "/srv/app"); got == "tmpfs\n" {
		t.Errorf("--image-volume ignore over image_volume_mode tmpfs: /srv/app is a tmpfs")
	}
}

// :U gives a bind mount's source to the container's user, through the
// user namespace's mapping.
func TestVolumeChownU(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runOut(t, []string{"--user", "1000:2000", "-v", dir + ":/data:U"}, "stat", "-c", "%u:%g", "/data", "/data/f")
	if got != "1000:2000\n1000:2000\n" {
		t.Errorf(":U: %q, want 1000:2000 twice", got)
	}
	subUID, _ := subIDRange(t, "/etc/subuid")
	if uid := statOwner(t, dir); uid != subUID+999 {
		t.Errorf("the source's owner on the host: %d, want %d (container uid 1000 through the mapping)", uid, subUID+999)
	}
	mustMyctr(t, "unshare", "rm", "-rf", dir+"/f")
	mustMyctr(t, "unshare", "chown", "0:0", dir)
}

func statOwner(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// --mount forms, option words and duplicate destinations.
func TestVolumeMountForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := runOut(t, []string{"--mount", "type=bind,source=" + dir + ",destination=/h"}, "cat", "/h/f"); got != "host\n" {
		t.Errorf("--mount type=bind: %q", got)
	}
	out, errOut, code := myctr(t, "run", "--rm", "--mount", "type=bind,src="+dir+",dst=/h,ro", image, "touch", "/h/g")
	if code == 0 || !strings.Contains(out+errOut, "Read-only file system") {
		t.Errorf("--mount ...,ro: exit %d %q %q", code, out, errOut)
	}
	if got := runOut(t, []string{"--mount", "type=tmpfs,target=/t,tmpfs-size=1m"}, "stat", "-f", "-c", "%T", "/t"); got != "tmpfs\n" {
		t.Errorf("--mount type=tmpfs: %q", got)
	}
	v := volName(t, "noexec")
	runOut(t, []string{"-v", v + ":/x"}, "cp", "/bin/busybox", "/x/bb")
	_, errOut, code = myctr(t, "run", "--rm", "-v", v+":/x:noexec", image, "/x/bb", "true")
	if code != 126 || !strings.Contains(strings.ToLower(errOut), "permission denied") {
		t.Errorf("a program on a noexec volume: exit %d, %q; want 126, permission denied", code, errOut)
	}
	// The same mount twice is one; two on one destination are refused.
	runOut(t, []string{"-v", dir + ":/d", "--volume", dir + ":/d"}, "true")
	_, errOut, code = myctr(t, "run", "--rm", "-v", dir+":/d", "--tmpfs", "/d", image, "true")
	if code != 125 || !strings.Contains(errOut, "Error: /d: duplicate mount destination") {
		t.Errorf("two mounts on /d: exit %d, %q", code, errOut)
	}
}

// volume export and import carry a volume's files, owners included.
func TestVolumeExportImport(t *testing.T) {
	t.Parallel()
	a, b := volName(t, "a"), volName(t, "b")
	runOut(t, []string{"-v", a + ":/d"}, "sh", "-c", "echo hello > /d/f && chown 7:8 /d/f")
	mustMyctr(t, "volume", "create", b)
	tarball := filepath.Join(t.TempDir(), "v.tar")
	mustMyctr(t, "volume", "export", a, "--output", tarball)
	mustMyctr(t, "volume", "import", b, tarball)
	if got := runOut(t, []string{"-v", b + ":/d"}, "stat", "-c", "%u:%g", "/d/f"); got != "7:8\n" {
		t.Errorf("imported owner: %q", got)
	}
}

// TestVolumeMount: as the user, volume mount is refused in Podman's words
// (with myctr's names); inside myctr unshare it prints the volume's
// directory, and unmount has nothing to undo.
func TestVolumeMount(t *testing.T) {
	v := volName(t, "")
	mustMyctr(t, "volume", "create", v)
	_, e, code := myctr(t, "volume", "mount", v)
	if code != 125 || !strings.Contains(e, `Error: cannot run command "myctr volume mount" in rootless mode, must execute `+"`myctr unshare`"+` first`) {
		t.Errorf("volume mount as the user: exit %d, stderr %q", code, e)
	}
	out := mustMyctr(t, append([]string{"unshare", bin}, globalArgs([]string{"volume", "mount", v})...)...)
	if want := volumeInspect(t, v).Mountpoint; strings.TrimSpace(out) != want {
		t.Errorf("volume mount in unshare printed %q, want %s", out, want)
	}
	mustMyctr(t, append([]string{"unshare", bin}, globalArgs([]string{"volume", "unmount", v})...)...)
	if _, _, code := myctr(t, append([]string{"unshare", bin}, globalArgs([]string{"volume", "mount", v + "-nosuch"})...)...); code != 125 {
		t.Errorf("volume mount of a missing volume: exit %d, want 125", code)
	}
}
