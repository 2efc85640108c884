package cli

import (
	"strings"
	"testing"
)

// TestWriteYAML: keys in their JSON order, nesting by two spaces, lists at
// their key's level, list items that are objects with their first key on
// the dash's line, empty containers inline, and strings that would read
// back as something else quoted.
func TestWriteYAML(t *testing.T) {
	type id struct {
		ContainerID int `json:"container_id"`
		HostID      int `json:"host_id"`
		Size        int `json:"size"`
	}
	v := struct {
		Host struct {
			Arch     string   `json:"arch"`
			Version  string   `json:"version"`
			Ctrls    []string `json:"cgroupControllers"`
			Maps     []id     `json:"uidmap"`
			Empty    []string `json:"empty"`
			Opts     map[string]string
			Rootless bool   `json:"rootless"`
			Mem      int64  `json:"memTotal"`
			Odd      string `json:"odd"`
			Colon    string `json:"colon"`
			Blank    string `json:"blank"`
			Dash     string `json:"dash"`
			Path     string `json:"path"`
			Yes      string `json:"yes"`
			Multi    string `json:"multi"`
		} `json:"host"`
	}{}
	v.Host.Arch, v.Host.Version = "amd64", "12"
	v.Host.Ctrls = []string{"cpu", "memory"}
	v.Host.Maps = []id{{0, 1000, 1}, {1, 100000, 65536}}
	v.Host.Empty = []string{}
	v.Host.Opts = map[string]string{}
	v.Host.Rootless, v.Host.Mem = true, 4096
	v.Host.Odd, v.Host.Colon, v.Host.Dash = "true", "a: b", "-x"
	v.Host.Path, v.Host.Yes, v.Host.Multi = "/usr/bin/slirp4netns", "yes", "a\nb"
	var b strings.Builder
	if err := writeYAML(&b, v); err != nil {
		t.Fatal(err)
	}
	want := `host:
  arch: amd64
  version: "12"
  cgroupControllers:
  - cpu
  - memory
  uidmap:
  - container_id: 0
    host_id: 1000
    size: 1
  - container_id: 1
    host_id: 100000
    size: 65536
  empty: []
  Opts: {}
  rootless: true
  memTotal: 4096
  odd: "true"
  colon: "a: b"
  blank: ""
  dash: "-x"
  path: /usr/bin/slirp4netns
  "yes": "yes"
  multi: "a\nb"
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
