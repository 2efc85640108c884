package pod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func fixedName(taken map[string]bool) string {
	for i := 0; ; i++ {
		n := "random_" + string(rune('a'+i))
		if !taken[n] {
			return n
		}
	}
}

func TestCreateLookupDelete(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "pods"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Create(&Pod{Name: "web", Share: DefaultShare, Infra: true}, fixedName)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ID) != 64 || a.Labels == nil || a.Created.IsZero() {
		t.Fatalf("created pod %+v: want a 64-hex id, non-nil labels and a creation time", a)
	}
	if _, err := s.Create(&Pod{Name: "web"}, fixedName); !errors.Is(err, ErrPodExists) {
		t.Errorf("second pod named web: %v, want ErrPodExists", err)
	}
	b, err := s.Create(&Pod{}, fixedName)
	if err != nil || b.Name != "random_a" {
		t.Fatalf("pod without a name: %+v, %v", b, err)
	}
	for _, ref := range []string{"web", a.ID, a.ID[:5]} {
		if p, err := s.Lookup(ref); err != nil || p.ID != a.ID {
			t.Errorf("Lookup(%q) = %v, %v; want %s", ref, p, err, a.ID)
		}
	}
	_, err = s.Lookup("nosuchpod")
	if !errors.Is(err, ErrNoSuchPod) || err.Error() != "no pod with name or ID nosuchpod found: no such pod" {
		t.Errorf("Lookup of a missing pod: %v, want Podman's words", err)
	}
	if _, err := s.Create(&Pod{Name: "bad/name"}, fixedName); !errors.Is(err, ErrInvalidName) {
		t.Errorf("a name with a slash: %v, want ErrInvalidName", err)
	}
	p, err := s.Update(a.ID, func(p *Pod) { p.InfraID = "x" })
	if err != nil || p.InfraID != "x" {
		t.Fatalf("Update: %+v, %v", p, err)
	}
	if re, _ := s.Get(a.ID); re.InfraID != "x" || !reflect.DeepEqual(re.Share, DefaultShare) {
		t.Errorf("record read back: %+v", re)
	}
	if err := s.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if s.Exists(a.ID) {
		t.Error("pod still exists after Delete")
	}
	if err := s.Delete(a.ID); err != nil {
		t.Errorf("deleting a pod twice: %v, want nil", err)
	}
	all, _ := s.List()
	if len(all) != 1 || all[0].ID != b.ID {
		t.Errorf("List after Delete: %v", all)
	}
}

// A crash leaves .tmp- and .rm- directories: listings skip them, and the
// sweep (at each create, and prune's) deletes them.
func TestCrashLeftoversSwept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pods")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".tmp-0123", ".rm-" + strings.Repeat("a", 64)} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, d, "pod.json"), []byte("{}"), 0o600)
	}
	if all, err := s.List(); err != nil || len(all) != 0 {
		t.Fatalf("List with leftovers: %v, %v", all, err)
	}
	s.Sweep()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != ".lock" {
			t.Errorf("left after the sweep: %s", e.Name())
		}
	}
}

func TestParseShare(t *testing.T) {
	for _, tc := range []struct {
		in    string
		infra bool
		want  []string
		err   string
	}{
		{"ipc,net,uts", true, []string{"ipc", "net", "uts"}, ""},
		{"net", true, []string{"net"}, ""},
		{"uts,net", true, []string{"net", "uts"}, ""},
		{"none", true, nil, ""},
		{"", true, nil, ""},
		{"+ipc", true, []string{"ipc", "net", "uts"}, ""},
		{"ipc", true, []string{"ipc"}, ""},
		{"uts,ipc", true, []string{"ipc", "uts"}, ""},
		{"pid,net", true, nil, "not supported"},
		{"cgroup", true, nil, "not supported"},
		{"bogus", true, nil, "invalid kernel namespace to share: bogus. Options are: cgroup, ipc, net, pid, uts or none"},
		{"net", false, nil, "You cannot share kernel namespaces on the pod level without an infra container"},
		{"none", false, nil, ""},
	} {
		got, err := ParseShare(tc.in, tc.infra)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalidShare) {
				t.Errorf("ParseShare(%q, %v) = %v, %v; want an error with %q", tc.in, tc.infra, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseShare(%q, %v) = %v, %v; want %v", tc.in, tc.infra, got, err, tc.want)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "Created"},
		{[]string{"created", "created"}, "Created"},
		{[]string{"running", "running"}, "Running"},
		{[]string{"running", "exited"}, "Degraded"},
		{[]string{"running", "created"}, "Degraded"},
		{[]string{"exited", "exited"}, "Exited"},
		{[]string{"exited", "created"}, "Stopped"},
		{[]string{"running", "stopping"}, "Running"},
		{[]string{"paused", "paused"}, "Paused"},
		{[]string{"paused", "running"}, "Degraded"},
		{[]string{"paused", "exited"}, "Stopped"},
		{[]string{"weird"}, "Error"},
	} {
		if got := Status(tc.in); got != tc.want {
			t.Errorf("Status(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShares(t *testing.T) {
	p := &Pod{Infra: true, Share: []string{"ipc", "net"}}
	if !p.Shares(ShareIPC) || p.Shares(ShareUTS) {
		t.Errorf("Shares of %v wrong", p.Share)
	}
	p.Infra = false
	if p.Shares(ShareNet) {
		t.Error("a pod without infra shares nothing")
	}
}

func TestParseExitPolicy(t *testing.T) {
	for in, want := range map[string]string{"": "", "continue": "", "stop": ExitStop} {
		if got, err := ParseExitPolicy(in); err != nil || got != want {
			t.Errorf("ParseExitPolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Stop", "restart", " stop"} {
		if _, err := ParseExitPolicy(in); !errors.Is(err, ErrInvalidExitPolicy) || !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("ParseExitPolicy(%q): %v, want ErrInvalidExitPolicy naming it", in, err)
		}
	}
}
