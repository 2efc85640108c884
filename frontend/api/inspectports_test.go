package api

import (
	"encoding/json"
	"testing"

	nettypes "github.com/moby/moby/api/types/network"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/network"
)

func TestInspectPorts(t *testing.T) {
	c := &container.Container{}
	c.HostConfig.PortBindings = []network.PortMapping{
		{ContainerPort: 8080, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
	}
	c.State.Ports = []network.PortMapping{
		{HostPort: 41234, ContainerPort: 8080, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
	}
	exposed := exposedPorts(c, map[string]struct{}{"9000/tcp": {}, "8080/tcp": {}})
	for _, want := range []string{"9000/tcp", "8080/tcp", "53/udp"} {
		if _, ok := exposed[nettypes.MustParsePort(want)]; !ok {
			t.Errorf("ExposedPorts %v: no %s", exposed, want)
		}
	}
	if len(exposed) != 3 {
		t.Errorf("ExposedPorts %v: want 3", exposed)
	}
	for _, tc := range []struct {
		name    string
		running bool
		want    string
	}{
		{"running", true, `{"53/udp":[{"HostIp":"127.0.0.1","HostPort":"5353"}],"8080/tcp":[{"HostIp":"0.0.0.0","HostPort":"41234"}],"9000/tcp":null}`},
		{"stopped", false, `{}`},
	} {
		b, err := json.Marshal(networkPorts(c, tc.running, exposed))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s: Ports %s, want %s", tc.name, b, tc.want)
		}
	}
	b, _ := json.Marshal(portMap(c.HostConfig.PortBindings, nettypes.PortBinding{}.HostIP))
	if want := `{"53/udp":[{"HostIp":"127.0.0.1","HostPort":"5353"}],"8080/tcp":[{"HostIp":"","HostPort":""}]}`; string(b) != want {
		t.Errorf("PortBindings %s, want %s", b, want)
	}
}
