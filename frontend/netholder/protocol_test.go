package netholder

import (
	"strings"
	"testing"
)

func TestValidateRename(t *testing.T) {
	id := strings.Repeat("ab", 32)
	cases := []struct {
		name string
		req  Request
		ok   bool
	}{
		{"name and alias", Request{Op: OpRename, Network: Network{Name: "net"}, ContainerID: id, Names: []string{"new", "alias"}}, true},
		{"no names", Request{Op: OpRename, Network: Network{Name: "net"}, ContainerID: id}, false},
		{"invalid name", Request{Op: OpRename, Network: Network{Name: "net"}, ContainerID: id, Names: []string{"a b"}}, false},
		{"invalid network", Request{Op: OpRename, Network: Network{Name: "../x"}, ContainerID: id, Names: []string{"new"}}, false},
		{"short id", Request{Op: OpRename, Network: Network{Name: "net"}, ContainerID: id[:12], Names: []string{"new"}}, false},
	}
	for _, tc := range cases {
		if err := tc.req.validate(); (err == nil) != tc.ok {
			t.Errorf("%s: validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
