//go:build helper

package helpertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDelegateCgroupRefusals: DelegateCgroup (a container's cgroup made by
// the system manager) checks what it is given before it acts: a descriptor
// that is no pidfd, a process that is not the caller's or has exited, a bad
// name, unknown options and controllers; polkit refuses a user outside the
// rule; and on this host (hybrid cgroups, no systemd) an allowed call is
// Unsupported, naming why. None of them leaves a record in the ledger.
func TestDelegateCgroupRefusals(t *testing.T) {
	u, denied := users[allowedUser], users[deniedUser]
	ctr := "cg-" + strings.ToLower(t.Name()[len(t.Name())-8:])
	for _, c := range []struct {
		who         *testUser
		call        clientCall
		name, about string
	}{
		{u, clientCall{Method: "DelegateCgroup", Container: ctr, Pidfd: "file"}, "InvalidArgs", "not a pidfd"},
		{u, clientCall{Method: "DelegateCgroup", Container: ctr, Pidfd: "pid1"}, "NotOwner", "not the caller's"},
		{u, clientCall{Method: "DelegateCgroup", Container: ctr, Pidfd: "dead"}, "NotFound", "exited"},
		{u, clientCall{Method: "DelegateCgroup", Container: "../" + ctr, Pidfd: "self"}, "InvalidArgs", "container"},
		{u, clientCall{Method: "DelegateCgroup", Container: ctr, Pidfd: "self", Options: map[string]any{"slice": "x.slice"}}, "InvalidArgs", `"slice"`},
		{u, clientCall{Method: "DelegateCgroup", Container: ctr, Pidfd: "self", Options: map[string]any{"controllers": []any{"memory", "rdma"}}}, "InvalidArgs", "rdma"},
		{denied, clientCall{Method: "DelegateCgroup", Container: ctr, Pidfd: "self"}, "NotAuthorized", "org.myctr.helper.cgroup"},
		{u, clientCall{Method: "DelegateCgroup", Container: ctr, Pidfd: "self", Options: map[string]any{"controllers": []any{"memory"}}}, "Unsupported", "cgroup v2 alone"},
	} {
		r := callAs(t, c.who, c.call)
		if r.ErrorName != "org.myctr.Helper1.Error."+c.name || !strings.Contains(strings.Join(anyStrings(r.ErrorBody), " "), c.about) {
			t.Errorf("%s %+v: %s; want %s about %q", c.who.Name, c.call, r, c.name, c.about)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(conf.stateDir, "cgroups", strconv.FormatUint(uint64(u.UID), 10))); len(ents) > 0 {
		t.Errorf("records left in the ledger: %v", ents)
	}
}

// TestReleaseCgroup: ReleaseCgroup of a container without a cgroup
// succeeds for an allowed user (idempotent, and says nothing of others'),
// is refused by polkit for a user outside the rule (naming the action),
// and refuses bad names and unknown options; GetVersion lists it.
func TestReleaseCgroup(t *testing.T) {
	begin(t)
	u, denied := users[allowedUser], users[deniedUser]
	for _, c := range []struct {
		who         *testUser
		call        clientCall
		name, about string
	}{
		{u, clientCall{Method: "ReleaseCgroup", Container: "cg-none"}, "", ""},
		{u, clientCall{Method: "ReleaseCgroup", Container: "cg-none"}, "", ""},
		{denied, clientCall{Method: "ReleaseCgroup", Container: "cg-none"}, "NotAuthorized", "org.myctr.helper.cgroup"},
		{u, clientCall{Method: "ReleaseCgroup", Container: "../etc"}, "InvalidArgs", "container"},
		{u, clientCall{Method: "ReleaseCgroup", Container: "cg-none", Options: map[string]any{"force": true}}, "InvalidArgs", `"force"`},
	} {
		r := callAs(t, c.who, c.call)
		want := ""
		if c.name != "" {
			want = "org.myctr.Helper1.Error." + c.name
		}
		if r.ErrorName != want || !strings.Contains(strings.Join(anyStrings(r.ErrorBody), " "), c.about) {
			t.Errorf("%s %+v: %s; want %q about %q", c.who.Name, c.call, r, want, c.about)
		}
	}
	if r := callAs(t, u, clientCall{Method: "GetVersion"}); !strings.Contains(fmt.Sprint(r.Reply), "cgroup.release") {
		t.Errorf("GetVersion %v lacks cgroup.release", r.Reply)
	}
}

func anyStrings(l []any) []string {
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
