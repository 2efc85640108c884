//go:build integration

package integration

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestImagesFilterSortHistory: images --filter (since/before/reference/
// dangling/label/id) and --sort, {{.History}} keeping an untagged name,
// the JSON fields Podman prints, and --storage-driver.
func TestImagesFilterSortHistory(t *testing.T) {
	baseID := strings.TrimSpace(mustMyctr(t, "images", "--no-trunc", "--format", "{{.ID}}", image))

	// A name given and taken away stays in the image's history, after
	// the names it has.
	const gone = "it-imgf-gone:1"
	mustMyctr(t, "tag", image, gone)
	mustMyctr(t, "rmi", gone)
	hist := strings.TrimSpace(mustMyctr(t, "images", image, "--format", "{{.History}}"))
	if !strings.HasPrefix(hist, imageFull+", ") || !strings.Contains(hist, "localhost/"+gone) {
		t.Errorf("images %s --format {{.History}} printed %q, want %s first and localhost/%s in it", image, hist, imageFull, gone)
	}

	name := ctrName(t, "src")
	mustMyctr(t, "create", "--name", name, image, "true")
	const newImg = "it-imgf-new"
	newID := strings.TrimSpace(mustMyctr(t, "commit", "-q", "-c", "LABEL it.imgf=yes", name, newImg))
	t.Cleanup(func() { myctr(t, "rmi", "-f", newImg) })

	opts := []string{"images", "--noheading", "--no-trunc", "--format", "{{.ID}}--{{.Repository}}:{{.Tag}}"}
	for _, c := range []struct {
		filters []string
		want    string // a line that must be there
		notWant string // a line that must not
	}{
		{[]string{"since=" + image}, "sha256:" + newID + "--localhost/" + newImg + ":latest", baseID + "--" + "localhost/bb:latest"},
		{[]string{"after=" + baseID}, "sha256:" + newID + "--localhost/" + newImg + ":latest", baseID + "--" + "localhost/bb:latest"},
		{[]string{"before=" + newImg}, baseID + "--localhost/bb:latest", "sha256:" + newID + "--localhost/" + newImg + ":latest"},
		{[]string{"reference=it-imgf-*"}, "sha256:" + newID + "--localhost/" + newImg + ":latest", baseID + "--localhost/bb:latest"},
		{[]string{"label=it.imgf=yes", "dangling=false"}, "sha256:" + newID + "--localhost/" + newImg + ":latest", baseID + "--localhost/bb:latest"},
		{[]string{"id=" + baseID[7:19]}, baseID + "--localhost/bb:latest", "sha256:" + newID + "--localhost/" + newImg + ":latest"},
	} {
		args := append([]string{}, opts...)
		for _, f := range c.filters {
			args = append(args, "--filter", f)
		}
		lines := strings.Split(strings.TrimSpace(mustMyctr(t, args...)), "\n")
		if !contains(lines, c.want) || contains(lines, c.notWant) {
			t.Errorf("images --filter %v printed %q, want %q and not %q", c.filters, lines, c.want, c.notWant)
		}
	}

	// --sort created: the newest first; repository: by name.
	lines := strings.Fields(mustMyctr(t, "images", "--format", "{{.Repository}}", "--sort", "created"))
	if len(lines) == 0 || lines[0] != "localhost/"+newImg {
		t.Errorf("images --sort created listed %q, want localhost/%s first", lines, newImg)
	}
	lines = strings.Fields(mustMyctr(t, "images", "--format", "{{.Repository}}", "--sort", "repository"))
	if i, j := slices.Index(lines, imageFull[:len("localhost/bb")]), slices.Index(lines, "localhost/"+newImg); i < 0 || j < i {
		t.Errorf("images --sort repository listed %q, want localhost/bb before localhost/%s", lines, newImg)
	}
	if _, e, code := myctr(t, "images", "--sort", "bogus"); code != 125 || !strings.Contains(e, "--sort") {
		t.Errorf("images --sort bogus: exit %d (%s), want 125", code, e)
	}
	if _, e, code := myctr(t, "images", "--filter", "nosuch=1"); code != 125 || !strings.Contains(e, "invalid image filter") {
		t.Errorf("images --filter nosuch=1: exit %d (%s), want 125", code, e)
	}

	var list []map[string]any
	out := mustMyctr(t, "images", "--format", "json", "--filter", "reference="+newImg)
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("images --format json --filter reference=%s: %v\n%s", newImg, err, out)
	}
	e := list[0]
	if created, _ := e["CreatedAt"].(string); !regexp.MustCompile(`^[0-9-]+T[0-9:.]+Z$`).MatchString(created) {
		t.Errorf("json CreatedAt = %v, want an RFC 3339 time in UTC", e["CreatedAt"])
	}
	if _, ok := e["Created"].(float64); !ok || e["Id"] != newID || e["Containers"] != float64(0) {
		t.Errorf("json Created/Id/Containers = %v/%v/%v, want a Unix time, %s, 0", e["Created"], e["Id"], e["Containers"], newID)
	}
	if labels, _ := e["Labels"].(map[string]any); labels["it.imgf"] != "yes" {
		t.Errorf("json Labels = %v, want it.imgf=yes", e["Labels"])
	}
	if h, _ := e["History"].([]any); len(h) != 1 || h[0] != "localhost/"+newImg+":latest" {
		t.Errorf("json History = %v", e["History"])
	}

	// --storage-driver: vfs lists an empty store's header; a container on
	// vfs and an unknown driver are refused.
	empty := filepath.Join(t.TempDir(), "nothing-here")
	if out := mustMyctr(t, "--storage-driver=vfs", "--root", empty, "images"); strings.Join(strings.Fields(out), " ") != "REPOSITORY TAG IMAGE ID CREATED SIZE" {
		t.Errorf("images on an empty vfs store printed %q, want the header alone", out)
	}
	if _, e, code := myctr(t, "--storage-driver=vfs", "create", image); code != 125 || !strings.Contains(e, "storage driver not supported: vfs for a container") {
		t.Errorf("create with --storage-driver=vfs: exit %d (%s), want 125 and a refusal", code, e)
	}
	if _, e, code := myctr(t, "--storage-driver=btrfs", "images"); code != 125 || !strings.Contains(e, `storage driver not supported: "btrfs"`) {
		t.Errorf("--storage-driver=btrfs images: exit %d (%s), want 125", code, e)
	}
}
