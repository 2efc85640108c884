package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/netstore"
)

func TestNetworkRmCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("unable to find network with name or ID x: %w", netstore.ErrNoSuchNetwork), 1},
		{hint(fmt.Errorf(`"x" has associated containers with it: %w`, netstore.ErrInUse), "h"), 2},
		{errors.New("disk on fire"), 125},
	} {
		if got := networkRmCode(tc.err); got != tc.want {
			t.Errorf("networkRmCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// Every failure of create that the user can fix gets a Hint.
func TestNetworkCreateHint(t *testing.T) {
	for _, sentinel := range []error{netstore.ErrExists, netstore.ErrReservedName, netstore.ErrSubnetUsed,
		netstore.ErrNoFreeSubnet, netstore.ErrIPv6, netstore.ErrInvalidArg} {
		err := networkCreateHint(fmt.Errorf("x: %w", sentinel), "web")
		if h := hints(err); len(h) != 1 || h[0] == "" || !errors.Is(err, sentinel) {
			t.Errorf("%v: hints %q", sentinel, h)
		}
	}
	if h := hints(networkCreateHint(errors.New("other"), "web")); h != nil {
		t.Errorf("an unknown error got hints %q", h)
	}
}

func TestNetworkLsTable(t *testing.T) {
	n := &netstore.Network{Name: "web", ID: strings.Repeat("ab", 32), Driver: "bridge",
		Labels: map[string]string{"b": "2", "a": "1"}, Subnets: []netstore.Subnet{{Subnet: "10.89.0.0/24", Gateway: "10.89.0.1"}}}
	for _, tc := range []struct {
		format    string
		noTrunc   bool
		noHeading bool
		want      string
	}{
		{"table {{.ID}} {{.Name}} {{.Driver}}", false, false, "NETWORK ID    NAME  DRIVER\nabababababab  web   bridge\n"},
		{"table {{.ID}} {{.Name}} {{.Driver}}", false, true, "abababababab  web  bridge\n"},
		{"{{.ID}}", true, false, strings.Repeat("ab", 32) + "\n"},
		{"{{.Name}} {{.Labels}} {{range .Subnets}}{{.Subnet}} via {{.Gateway}}{{end}}", false, false, "web a=1,b=2 10.89.0.0/24 via 10.89.0.1\n"},
	} {
		lf, err := parseListFormat(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		lf.noHeading = tc.noHeading
		var b bytes.Buffer
		if err := lf.write(&b, networkHeaders, []any{newNetworkRow(n, tc.noTrunc)}, networkFields); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%q: got %q, want %q", tc.format, b.String(), tc.want)
		}
	}
}
