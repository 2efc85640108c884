//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestRmiInUse: rmi refuses an image a container uses with Podman's
// words and exit code 2, and a Hint; rmi -f removes the container first,
// as Podman does, printing only what it untagged and deleted.
func TestRmiInUse(t *testing.T) {
	t.Parallel()
	tag := "localhost/rmi-in-use:" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")
	mustMyctr(t, "tag", image, tag)
	name := ctrName(t, "")
	id := runDetached(t, name, nil, "sleep", "300")
	// Through the extra name the image still has "bb": untagging is fine.
	// The refusal is for removing the image itself, by ID.
	in := inspect(t, name)
	_, errOut, code := myctr(t, "rmi", in.Image)
	if code != 2 || !strings.HasPrefix(errOut, "Error: image used by "+in.Image+": image is in use by a container") || !strings.Contains(errOut, "Hint:") {
		t.Errorf("rmi of an image in use: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(containerDir(id)); err != nil {
		t.Errorf("the container went away: %v", err)
	}
	mustMyctr(t, "rmi", tag)

	// rmi -f of an image of its own (sharing bb's layer) removes its
	// container first and leaves bb working.
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte("FROM bb\nLABEL test=rmi-force\n"), 0o644)
	own := "localhost/rmi-force-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	mustMyctr(t, "build", "-q", "-t", own, ctx)
	user := ctrName(t, "own")
	uid := strings.TrimSpace(mustMyctr(t, "run", "-d", "--name", user, own, "sleep", "300"))
	// Two refusals are one error listing both, as Podman's.
	_, errOut, code = myctr(t, "rmi", in.Image, own)
	if code != 2 || !strings.HasPrefix(errOut, "Error: 2 errors occurred:\n\t* image used by "+in.Image+": ") || strings.Count(errOut, "\t* image used by ") != 2 {
		t.Errorf("rmi of two images in use: exit %d, stderr %q", code, errOut)
	}
	ownID := strings.TrimSpace(mustMyctr(t, "image", "inspect", "--format", "{{.ID}}", own))
	out := mustMyctr(t, "rmi", "-f", own)
	if want := "Untagged: " + own + ":latest\nDeleted: " + ownID + "\n"; out != want {
		t.Errorf("rmi -f output %q, want %q", out, want)
	}
	if _, ok := psFind(psJSON(t, true), user); ok {
		t.Errorf("container %s (%s) survived rmi -f of its image", user, uid)
	}
	if out := strings.TrimSpace(runOut(t, nil, "echo", "bb-ok")); out != "bb-ok" {
		t.Errorf("bb no longer runs after rmi -f of an image sharing its layer: %q", out)
	}
}

// TestBuildShellScratchChmod: SHELL changes how RUN's shell form runs,
// COPY --chmod sets the mode, and FROM scratch builds an image from
// nothing but what is copied in.
func TestBuildShellScratchChmod(t *testing.T) {
	t.Parallel()
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "tool"), []byte("#!/bin/sh\necho tool\n"), 0o644)
	cf := `FROM bb AS base
SHELL ["/bin/sh", "-e", "-c"]
RUN case "$-" in *e*) echo errexit-on > /shellflags;; *) echo errexit-off > /shellflags;; esac
COPY --chmod=0750 tool /tool

FROM scratch
COPY --from=base /bin/busybox /busybox
COPY --from=base /shellflags /shellflags
CMD ["/busybox", "cat", "/shellflags"]
`
	os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte(cf), 0o644)
	tag := "localhost/shell-scratch-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	mustMyctr(t, "build", "-q", "--target", "base", "-t", tag+"-base", ctx)
	out := strings.TrimSpace(mustMyctr(t, "run", "--rm", tag+"-base", "sh", "-c", "cat /shellflags; stat -c %a /tool"))
	if out != "errexit-on\n750" {
		t.Errorf("SHELL/--chmod stage: %q, want errexit-on and mode 750", out)
	}
	mustMyctr(t, "build", "-q", "-t", tag, ctx)
	out = strings.TrimSpace(mustMyctr(t, "run", "--rm", tag))
	if out != "errexit-on" {
		t.Errorf("FROM scratch image printed %q", out)
	}
	out = strings.TrimSpace(mustMyctr(t, "run", "--rm", "--entrypoint", "/busybox", tag, "ls", "/"))
	for _, unwanted := range []string{"bin", "usr"} {
		for _, f := range strings.Fields(out) {
			if f == unwanted {
				t.Errorf("FROM scratch image has /%s: %q", unwanted, out)
			}
		}
	}
	mustMyctr(t, "rmi", tag, tag+"-base")
}

// TestImportSkipsDeviceNodes: a rootless user cannot mknod; device nodes
// in a layer are skipped with a warning and the rest of the layer lands.
func TestImportSkipsDeviceNodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "dev.tar")
	f, err := os.Create(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	bb, err := os.ReadFile(hostBusybox)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "dev/sda", Typeflag: tar.TypeBlock, Mode: 0o660, Devmajor: 8, Devminor: 0},
	} {
		tw.WriteHeader(h)
	}
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))})
	tw.Write(bb)
	tw.WriteHeader(&tar.Header{Name: "kept", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5})
	tw.Write([]byte("kept\n"))
	tw.Close()
	f.Close()
	name := "localhost/devnodes-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	_, errOut, code := myctr(t, "import", tarPath, name)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "Warning:") || !strings.Contains(errOut, "dev/sda") {
		t.Errorf("import stderr %q, want a warning naming the skipped device node", errOut)
	}
	out := strings.TrimSpace(mustMyctr(t, "run", "--rm", "--network", "none", name, "/bin/busybox", "cat", "/kept"))
	if out != "kept" {
		t.Errorf("the rest of the layer: %q", out)
	}
	mustMyctr(t, "rmi", name)
}

// TestPullProgressOnTerminal: on a terminal, pull redraws one progress
// line per blob instead of printing plain lines.
func TestPullProgressOnTerminal(t *testing.T) {
	reg := startRegistry(t, false)
	// A layer of its own, so that the pull has a blob to fetch.
	layer := filepath.Join(t.TempDir(), "layer.tar")
	lf, err := os.Create(layer)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(lf)
	unique := []byte(fmt.Sprintf("%s %d\n", t.Name(), time.Now().UnixNano()))
	tw.WriteHeader(&tar.Header{Name: "unique", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(unique))})
	tw.Write(unique)
	tw.Close()
	lf.Close()
	mustMyctr(t, "import", layer, "it-tty-src:1")
	archive := filepath.Join(t.TempDir(), "src.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-tty-src:1")
	remote := reg + "/it/tty:1"
	skopeoPush(t, archive, remote, "")
	mustMyctr(t, "rmi", "it-tty-src:1")

	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := myctrCommand(ctx, "pull", remote)
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(f) // ends with EIO once myctr exits
	f.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pull on a terminal: %v\n%q", err, out)
	}
	if !bytes.Contains(out, []byte("\rCopying blob sha256:")) || !bytes.Contains(out, []byte("\x1b[K")) {
		t.Errorf("no redrawn progress line on a terminal: %q", out)
	}
	mustMyctr(t, "rmi", remote)
}

// TestMovedNameKeepsImage: a name that moves to a new image (import,
// pull, build or tag of the same name) leaves the old image dangling, as
// Podman does, never deleted under a container that runs on it; image
// prune removes it once no container uses it.
func TestMovedNameKeepsImage(t *testing.T) {
	name := "localhost/it-moved:1"
	tarball := filepath.Join(tmpRoot, "bb.tar")
	mustMyctr(t, "import", "--message", "old", tarball, name)
	oldID := strings.TrimSpace(mustMyctr(t, "image", "inspect", "--format", "{{.Id}}", name))
	ctr := ctrName(t, "")
	runDetached(t, ctr, []string{"--network", "none"}, "sleep", "300")
	// The same layer, another config (its history comment): another image.
	mustMyctr(t, "import", "--message", "new", tarball, name)
	newID := strings.TrimSpace(mustMyctr(t, "image", "inspect", "--format", "{{.Id}}", name))
	if newID == oldID {
		t.Fatalf("the second import made the same image %s", oldID)
	}
	dangling := strings.Fields(mustMyctr(t, "images", "-q", "--no-trunc", "--filter", "dangling=true"))
	if !slices.ContainsFunc(dangling, func(id string) bool { return strings.Contains(id, strings.TrimPrefix(oldID, "sha256:")) }) {
		t.Errorf("dangling images %v, want the old %s among them", dangling, oldID)
	}
	// The container's root is whole: its image's layer is still there.
	if out := strings.TrimSpace(mustMyctr(t, "exec", ctr, "cat", "/etc/hostname")); out == "" {
		t.Errorf("exec in the container whose image lost its name printed nothing")
	}
	if out := strings.TrimSpace(mustMyctr(t, "exec", ctr, "/bin/busybox", "true")); out != "" {
		t.Errorf("exec busybox: %q", out)
	}
	mustMyctr(t, "rm", "-f", "-t", "0", ctr)
	mustMyctr(t, "image", "prune", "-f")
	if _, _, code := myctr(t, "image", "inspect", oldID); code == 0 {
		t.Errorf("the old image %s is still there after image prune", oldID)
	}
	mustMyctr(t, "rmi", name)
}

// TestImageCreatedFields: images and history give a template the same
// CreatedSince and CreatedAt for an image's top step, in Podman's form
// (110-history compares them); history --human=false's Created is RFC 3339.
func TestImageCreatedFields(t *testing.T) {
	t.Parallel()
	list := strings.TrimSpace(mustMyctr(t, "images", "--format", "{{.CreatedSince}}--{{.CreatedAt}}", image))
	if !regexp.MustCompile(`^.+ ago--[0-9]+-[0-9]+-[0-9]+ [0-9:]+ \+0000 UTC$`).MatchString(list) {
		t.Errorf("images CreatedSince--CreatedAt: %q", list)
	}
	hist := strings.Split(mustMyctr(t, "history", "--format", "{{.CreatedSince}}--{{.CreatedAt}}", image), "\n")
	if hist[0] != list {
		t.Errorf("history's first line %q, images' %q: want the same", hist[0], list)
	}
	raw := strings.Split(mustMyctr(t, "history", "--human=false", "--format", "{{.Created}}", image), "\n")
	if !regexp.MustCompile(`^[0-9-]+T[0-9:]+Z$`).MatchString(raw[0]) {
		t.Errorf("history --human=false Created: %q, want RFC 3339", raw[0])
	}
}
