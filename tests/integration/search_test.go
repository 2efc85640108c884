//go:build integration

package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSearch: search (and image search) against a real registry's
// catalog: the repositories whose names hold the term, as REGISTRY/NAME,
// in Podman's columns; --limit, --list-tags, --format (json, a template);
// a term with a tag matches no repository name, as in Podman.
func TestSearch(t *testing.T) {
	addr := startRegistry(t, false)
	archive := filepath.Join(t.TempDir(), "bb.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, image)
	skopeoPush(t, archive, addr+"/libpod/testimage:20220615", "")
	skopeoPush(t, archive, addr+"/other/bb:1", "")
	skopeoPush(t, archive, addr+"/other/bb:2", "")

	if out := mustMyctr(t, "search", "--format", "{{.Name}}", addr+"/testimage"); out != addr+"/libpod/testimage\n" {
		t.Errorf("search %s/testimage: %q", addr, out)
	}
	table := mustMyctr(t, "image", "search", addr+"/")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME DESCRIPTION" ||
		strings.TrimSpace(lines[1]) != addr+"/libpod/testimage" || strings.TrimSpace(lines[2]) != addr+"/other/bb" {
		t.Errorf("image search %s/:\n%s", addr, table)
	}
	if out := mustMyctr(t, "search", "--limit", "1", "--format", "{{.Name}}", addr+"/"); out != addr+"/libpod/testimage\n" {
		t.Errorf("search --limit 1: %q", out)
	}
	if out := mustMyctr(t, "search", "--list-tags", "--format", "{{.Name}} {{.Tag}}", addr+"/other/bb"); out != addr+"/other/bb 1\n"+addr+"/other/bb 2\n" {
		t.Errorf("search --list-tags: %q", out)
	}
	var found []struct{ Index, Name, Description string }
	raw := mustMyctr(t, "search", "--format", "json", addr+"/bb")
	if err := json.Unmarshal([]byte(raw), &found); err != nil || len(found) != 1 || found[0].Index != addr || found[0].Name != addr+"/other/bb" {
		t.Errorf("search --format json: %v\n%s", err, raw)
	}
	if out := mustMyctr(t, "search", addr+"/libpod/testimage:20220615"); out != "" {
		t.Errorf("search with a tag: %q, want nothing (no repository name holds a tag)", out)
	}
	if out := mustMyctr(t, "search", "--format", `{{"\n"}}`, addr+"/testimage"); out != "\n\n" {
		t.Errorf(`search --format '{{"\n"}}': %q`, out)
	}
	if _, errOut, code := myctr(t, "search", "--list-tags", addr+"/other/bb:1"); code != 125 || !strings.Contains(errOut, "Error: ") {
		t.Errorf("search --list-tags of a tagged name: exit %d, %q; want 125", code, errOut)
	}
	if _, errOut, code := myctr(t, "search", "--filter", "color=red", addr+"/"); code != 125 || !strings.Contains(errOut, "Hint: stars=N") {
		t.Errorf("search --filter color=red: exit %d, %q; want 125 and a hint", code, errOut)
	}
}
