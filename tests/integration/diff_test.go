//go:build integration

package integration

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestDiff lists a container's changes: lines and Podman's JSON, with
// --latest, and `container diff`.
func TestDiff(t *testing.T) {
	name := ctrName(t, "diff")
	mustMyctr(t, "run", "--name", name, image, "sh", "-c", "touch /added; rm /etc/group; mkdir -p /tmp/d; echo x > /tmp/d/f")
	want := "A /added\nC /etc\nD /etc/group\nC /tmp\nA /tmp/d\nA /tmp/d/f\n"
	if got := mustMyctr(t, "diff", name); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	var j struct{ Changed, Added, Deleted []string }
	out := mustMyctr(t, "container", "diff", "--format", "json", name)
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("diff --format json: %v: %q", err, out)
	}
	if strings.Join(j.Changed, " ") != "/etc /tmp" || strings.Join(j.Added, " ") != "/added /tmp/d /tmp/d/f" || strings.Join(j.Deleted, " ") != "/etc/group" {
		t.Errorf("diff --format json: %q", out)
	}
	if got := mustMyctr(t, "diff", "-l"); got != want {
		t.Errorf("diff -l (the container made last):\n%s", got)
	}
	if _, errOut, code := myctr(t, "diff", "--format", "yaml", name); code != 125 || !strings.Contains(errOut, "Hint:") {
		t.Errorf("diff --format yaml: exit %d %q", code, errOut)
	}
}

// TestAPIDiff runs `docker diff` against the service.
func TestAPIDiff(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "diff")
	a.mustDocker(t, "run", "--name", name, "--network", "none", imageFull, "sh", "-c", "touch /added; rm /etc/group")
	want := "A /added\nC /etc\nD /etc/group\n"
	if got := a.mustDocker(t, "diff", name); got != want {
		t.Errorf("docker diff:\n%s\nwant:\n%s", got, want)
	}
}

// TestImageDiff: image diff (and diff of a name that is an image) lists
// the image's changes to its parent: its top layer's, here a commit's.
func TestImageDiff(t *testing.T) {
	name := ctrName(t, "imgdiff")
	mustMyctr(t, "run", "--name", name, image, "sh", "-c", "mkdir /app; echo x > /app/f; rm /etc/group")
	img := "localhost/it-image-diff:1"
	mustMyctr(t, "commit", name, img)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", img) })
	for _, args := range [][]string{{"image", "diff", img}, {"diff", img}} {
		out := mustMyctr(t, args...)
		for _, line := range []string{"A /app\n", "A /app/f\n", "C /etc\n", "D /etc/group\n"} {
			if !strings.Contains(out, line) {
				t.Errorf("%v: no %q in\n%s", args, line, out)
			}
		}
		if strings.Contains(out, "/bin/busybox") {
			t.Errorf("%v lists a file of the parent's layer:\n%s", args, out)
		}
	}
	var j struct{ Added, Deleted []string }
	if err := json.Unmarshal([]byte(mustMyctr(t, "image", "diff", "--format", "json", img)), &j); err != nil || !slices.Contains(j.Added, "/app/f") || !slices.Contains(j.Deleted, "/etc/group") {
		t.Errorf("image diff --format json: %+v, %v", j, err)
	}
	if _, errOut, code := myctr(t, "image", "diff", "it-no-such-image"); code != 125 || !strings.Contains(errOut, "Error: ") {
		t.Errorf("image diff of no image: exit %d\n%s", code, errOut)
	}
}
