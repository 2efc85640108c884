//go:build integration

package integration

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNameIndex: the store's index of names and joins (containers/.names,
// containers/.joins) answers lookups, refuses a name in use and finds a
// container's dependents even when it is missing (a store an older myctr
// wrote) or stale (a crash between a record's change and its link's).
func TestNameIndex(t *testing.T) {
	t.Parallel()
	st := newPrivateStore(t, "nameindex-")
	ctrs := filepath.Join(st.root, "containers")
	idA := strings.TrimSpace(st.must("create", "--name", "ni-a", "--network", "none", "bb", "true"))
	idB := strings.TrimSpace(st.must("create", "--name", "ni-b", "--network", "container:ni-a", "bb", "true"))
	// A link holds the id's 32 bytes in base64url (a target short
	// enough for the inode itself).
	link := func(p string) string {
		t.Helper()
		got, err := os.Readlink(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		b, _ := base64.RawURLEncoding.DecodeString(got)
		return hex.EncodeToString(b)
	}
	target := func(id string) string {
		b, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	if got := link(filepath.Join(ctrs, ".names", "ni-a")); got != idA {
		t.Fatalf(".names/ni-a -> %q, want %s", got, idA)
	}
	if got := link(filepath.Join(ctrs, ".joins", idB)); got != idA {
		t.Fatalf(".joins/ID-of-ni-b -> %q, want %s", got, idA)
	}

	// A store without the index: every answer is still right.
	for _, d := range []string{".names", ".joins"} {
		if err := os.RemoveAll(filepath.Join(ctrs, d)); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.TrimSpace(st.must("inspect", "--format", "{{.Id}}", "ni-b")); got != idB {
		t.Errorf("inspect ni-b without the index: %q, want %s", got, idB)
	}
	if _, errOut, code := st.myctr("rm", "ni-a"); code == 0 || !strings.Contains(errOut, "dependent") || !strings.Contains(errOut, idB) {
		t.Errorf("rm of a container another joins, without the index: exit %d, %q; want a refusal naming %.12s", code, errOut, idB)
	}
	if _, errOut, code := st.myctr("create", "--name", "ni-a", "bb", "true"); code != 125 || !strings.Contains(errOut, "already in use") {
		t.Errorf("create with a name in use, without the index: exit %d, %q; want 125, already in use", code, errOut)
	}
	// That reservation indexed the store again.
	if got := link(filepath.Join(ctrs, ".names", "ni-b")); got != idB {
		t.Errorf("after a reservation, .names/ni-b -> %q, want %s", got, idB)
	}

	// Stale links: to a container that is gone, and to one that has
	// another name now. Neither name is taken, neither finds anything.
	for name, id := range map[string]string{"ni-gone": strings.Repeat("e", 64), "ni-old": idA} {
		if err := os.Symlink(target(id), filepath.Join(ctrs, ".names", name)); err != nil {
			t.Fatal(err)
		}
		if _, _, code := st.myctr("inspect", name); code == 0 {
			t.Errorf("inspect %s through a stale link succeeded", name)
		}
		if out := st.must("run", "--rm", "--name", name, "--network", "none", "bb", "echo", "ran"); out != "ran\n" {
			t.Errorf("run --rm --name %s over a stale link: %q", name, out)
		}
	}

	st.must("rename", "ni-b", "ni-c")
	if _, _, code := st.myctr("inspect", "ni-b"); code == 0 {
		t.Error("the old name still finds the renamed container")
	}
	st.must("create", "--name", "ni-b", "bb", "true")
	st.must("rm", "-f", "--depend", "ni-a")
	st.must("rm", "-f", "ni-b")
	if ents, err := os.ReadDir(filepath.Join(ctrs, ".names")); err != nil || len(ents) != 0 {
		t.Errorf("links left after every container is removed: %v, %v", ents, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(ctrs, ".joins")); len(ents) != 0 {
		t.Errorf("join links left after every container is removed: %v", ents)
	}
	st.whole("name index")
}
