package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/pod"
)

func testPodView() podView {
	p := &pod.Pod{ID: strings.Repeat("ab", 32), Name: "web", Created: time.Now().Add(-3 * time.Minute),
		Labels: map[string]string{"app": "shop"}, InfraID: strings.Repeat("cd", 32)}
	infra := &container.Container{ID: strings.Repeat("cd", 32), Name: "abababababab-infra", State: container.State{Status: container.StatusExited}}
	infra.PodInfo = container.PodInfo{Pod: p.ID, PodInfra: true}
	member := &container.Container{ID: strings.Repeat("ef", 32), Name: "db", State: container.State{Status: container.StatusCreated}}
	member.PodInfo = container.PodInfo{Pod: p.ID}
	return podView{p: p, ctrs: []*container.Container{infra, member}, status: "Stopped"}
}

func TestPodFilter(t *testing.T) {
	v := testPodView()
	for _, tc := range []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"name=^w"}, true},
		{[]string{"name=^x"}, false},
		{[]string{"name=x", "name=web"}, true}, // one key: any
		{[]string{"name=web", "label=app=shop"}, true},
		{[]string{"name=web", "label=app=other"}, false}, // keys: all
		{[]string{"label=app"}, true},
		{[]string{"status=stopped"}, true},
		{[]string{"status=running"}, false},
		{[]string{"id=abab"}, true},
		{[]string{"id=cdcd"}, false},
		{[]string{"ctr-names=db"}, true},
		{[]string{"ctr-number=2"}, true},
		{[]string{"ctr-number=1"}, false},
	} {
		f, err := parsePodFilter(tc.filters)
		if err != nil {
			t.Fatalf("parsePodFilter(%q): %v", tc.filters, err)
		}
		if got := f.match(v); got != tc.want {
			t.Errorf("filter %q matched %v, want %v", tc.filters, got, tc.want)
		}
	}
	for _, bad := range []string{"name", "color=red", "status=sleeping", "name=("} {
		if _, err := parsePodFilter([]string{bad}); err == nil {
			t.Errorf("filter %q accepted", bad)
		}
	}
}

func TestPodRowAndTable(t *testing.T) {
	v := testPodView()
	r := v.row(false)
	if r.ID != "abababababab" || r.Id != r.ID || r.InfraID != "cdcdcdcdcdcd" || r.NumberOfContainers != 2 ||
		r.ContainerNames != "abababababab-infra,db" || r.ContainerStatuses != "exited,created" || r.Created != "3 minutes ago" {
		t.Errorf("row: %+v", r)
	}
	if full := v.row(true); full.ID != v.p.ID || full.InfraId != v.p.InfraID {
		t.Errorf("--no-trunc row: %+v", full)
	}
	f, err := parseListFormat("table {{.ID}}  {{.Name}}  {{.Status}}  {{.Created}}  {{.InfraID}}  {{.NumberOfContainers}}")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.write(&b, podHeaders, []any{r}, podFields); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^POD ID +NAME +STATUS +CREATED +INFRA ID +# OF CONTAINERS$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^abababababab +web +Stopped +3 minutes ago +cdcdcdcdcdcd +2$`).MatchString(lines[1]) {
		t.Errorf("pod ps table:\n%s", b.String())
	}
}

func TestPodInspectFields(t *testing.T) {
	v := testPodView()
	v.ctrs[0].HostConfig.PortBindings = nil
	out := inspectPod(v, nil)
	if out.ID != v.p.ID || out.InfraContainerID != v.p.InfraID || out.NumContainers != 2 || out.State != "Stopped" ||
		len(out.Containers) != 2 || out.Containers[1].Name != "db" || out.InfraConfig == nil || out.SharedNamespaces == nil {
		t.Errorf("pod inspect: %+v", out)
	}
}

func TestPodPsFilterOfContainers(t *testing.T) {
	rest, pods := splitPodFilter([]string{"name=x", "pod=web", "status=running"})
	if strings.Join(rest, " ") != "name=x status=running" || strings.Join(pods, " ") != "web" {
		t.Errorf("splitPodFilter: %q %q", rest, pods)
	}
	v := testPodView()
	names := map[string]string{v.p.ID: "web"}
	alone := &container.Container{ID: strings.Repeat("99", 32)}
	for _, tc := range []struct {
		refs []string
		c    *container.Container
		want bool
	}{
		{nil, alone, true},
		{[]string{"web"}, v.ctrs[1], true},
		{[]string{"abab"}, v.ctrs[1], true},
		{[]string{"web"}, alone, false},
		{[]string{"other"}, v.ctrs[1], false},
	} {
		if got := podMatch(names, tc.refs)(tc.c); got != tc.want {
			t.Errorf("pod=%q on %s: %v, want %v", tc.refs, tc.c.Name, got, tc.want)
		}
	}
}

func TestPauseImageName(t *testing.T) {
	if n := pauseImageName(); !regexp.MustCompile(`^localhost/podman-pause:` + regexp.QuoteMeta(Version) + `-\d+$`).MatchString(n) {
		t.Errorf("pause image name %q", n)
	}
}
