//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestInfoStore reads info's store keys as Podman's tests do: the driver
// asked for, its options (none), and where volumes go under --root.
func TestInfoStore(t *testing.T) {
	dir, err := os.MkdirTemp(tmpRoot, "info-")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "nothing-here")
	got := mustMyctr(t, "--storage-driver=vfs", "--root", root, "--runroot", filepath.Join(dir, "run"),
		"info", "--format", "{{ .Store.GraphOptions }} {{.Store.GraphDriverName}} {{.Store.VolumePath}}")
	if want := "map[] vfs " + filepath.Join(root, "volumes") + "\n"; got != want {
		t.Errorf("info --format under --root: %q, want %q", got, want)
	}
	var info struct {
		Store struct {
			GraphDriverName string
			GraphOptions    map[string]string
		}
	}
	if err := json.Unmarshal([]byte(mustMyctr(t, "info", "--format", "json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Store.GraphDriverName != "overlay" || info.Store.GraphOptions == nil || len(info.Store.GraphOptions) != 0 {
		t.Errorf("info store: %+v, want overlay and empty graphOptions", info.Store)
	}
}

// TestInfoPodmanKeys: info prints YAML by default, as Podman's does, with
// the keys Podman's own tests and scripts read, and its JSON carries the
// same facts: the image count, the user's id mappings from /etc/subuid,
// slirp4netns's path, the drivers.
func TestInfoPodmanKeys(t *testing.T) {
	out := mustMyctr(t, "info")
	if strings.HasPrefix(out, "{") {
		t.Fatalf("info prints JSON by default, want YAML:\n%s", out)
	}
	// system info is Podman's other name for it.
	if got := mustMyctr(t, "system", "info", "--format", "{{.Store.GraphDriverName}}"); strings.TrimSpace(got) != "overlay" {
		t.Errorf("system info --format {{.Store.GraphDriverName}}: %q", got)
	}
	for _, re := range []string{`(?m)^  buildahVersion: \S`, `(?m)^  conmon:\n    package:`, `(?m)^  ociRuntime:\n    name: myctr$`,
		`(?m)^store:$`, `(?m)^  graphDriverName: overlay$`, `(?m)^  graphStatus:\n    Backing Filesystem: \S`,
		`(?m)^  imageStore:\n    number: [1-9][0-9]*$`, `(?m)^  cgroupVersion: v[12]`, `(?m)^  idMappings:\n    gidmap:\n    - container_id: 0$`,
		`(?m)^registries:$`, `(?m)^plugins:\n  log:\n  - k8s-file$`, `(?m)^version:\n  APIVersion: "?[0-9.]+"?$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("info's YAML does not match %q:\n%s", re, out)
		}
	}
	var info struct {
		Host struct {
			IDMappings struct {
				UIDMap []struct {
					ContainerID uint32 `json:"container_id"`
					HostID      uint32 `json:"host_id"`
					Size        uint32 `json:"size"`
				} `json:"uidmap"`
			} `json:"idMappings"`
			Slirp4netns struct{ Executable string } `json:"slirp4netns"`
			MemTotal    int64                       `json:"memTotal"`
			CPUs        int                         `json:"cpus"`
		} `json:"host"`
		Store struct {
			ImageStore map[string]int `json:"imageStore"`
		} `json:"store"`
		Plugins struct{ Volume []string } `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(mustMyctr(t, "info", "--format", "json")), &info); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, id := range strings.Fields(mustMyctr(t, "images", "--format", "{{.ID}}")) {
		ids[id] = true
	}
	if got := info.Store.ImageStore["number"]; got != len(ids) {
		t.Errorf("store.imageStore.number = %d, images lists %d", got, len(ids))
	}
	u := info.Host.IDMappings.UIDMap
	if len(u) != 2 || u[0].ContainerID != 0 || u[0].HostID != uint32(os.Getuid()) || u[1].ContainerID != 1 || u[1].Size == 0 {
		t.Errorf("host.idMappings.uidmap = %+v, want the user as 0 and its subordinate range from 1", u)
	} else if sub, err := os.ReadFile("/etc/subuid"); err != nil || !strings.Contains(string(sub), fmt.Sprintf(":%d:%d", u[1].HostID, u[1].Size)) {
		t.Errorf("host.idMappings.uidmap[1] = %+v, not a range of /etc/subuid (%v)", u[1], err)
	}
	if p, err := exec.LookPath("slirp4netns"); err == nil && info.Host.Slirp4netns.Executable != p {
		t.Errorf("host.slirp4netns.executable = %q, want %q", info.Host.Slirp4netns.Executable, p)
	}
	if info.Host.MemTotal <= 0 || info.Host.CPUs <= 0 || !slices.Equal(info.Plugins.Volume, []string{"local"}) {
		t.Errorf("memTotal %d, cpus %d, plugins.volume %v", info.Host.MemTotal, info.Host.CPUs, info.Plugins.Volume)
	}
}
