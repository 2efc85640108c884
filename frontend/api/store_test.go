package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/myctr/myctr/frontend/container"
)

// storeWith opens a container store in a temporary directory holding the
// records cs, written where the store keeps them; it returns the store
// and each record's directory, in order.
func storeWith(t *testing.T, cs ...container.Container) (*container.Store, []string) {
	t.Helper()
	tmp := t.TempDir()
	store, err := container.OpenStore(container.Dirs{Root: filepath.Join(tmp, "root"), RunRoot: filepath.Join(tmp, "run")})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, c := range cs {
		b, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(tmp, "root", "containers", c.ID)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "container.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return store, dirs
}
