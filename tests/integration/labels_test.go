//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContainerLabels: run --label and --label-file set labels over the
// image's; inspect shows them as Config.Labels, ps --format json as
// Labels, and ps --filter label= and label!= select by them.
func TestContainerLabels(t *testing.T) {
	t.Parallel()
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM " + image + "\nLABEL from=image over=image\n"})
	tag := ctrName(t, "img")
	mustBuild(t, "-t", tag, ctx)
	t.Cleanup(func() { myctr(t, "rmi", "-f", tag) })
	file := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(file, []byte("# a comment\nfromfile=yes\n\nover=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := ctrName(t, "a"), ctrName(t, "b")
	mustMyctr(t, "run", "-d", "--name", a, "--label-file", file, "--label", "over=run", "-l", "app=shop", "-l", "flag", tag, "sleep", "300")
	mustMyctr(t, "run", "-d", "--name", b, "--label", "app=other", image, "sleep", "300")

	var got map[string]string
	if err := json.Unmarshal([]byte(mustMyctr(t, "inspect", "--format", "{{json .Config.Labels}}", a)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"from": "image", "over": "run", "fromfile": "yes", "app": "shop", "flag": ""}
	if len(got) != len(want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	names := func(filters ...string) string {
		args := []string{"ps", "-a", "--format", "{{.Names}}"}
		for _, f := range filters {
			args = append(args, "--filter", f)
		}
		var mine []string
		for _, n := range strings.Fields(mustMyctr(t, args...)) {
			if n == a || n == b {
				mine = append(mine, strings.TrimPrefix(n, "it-testcontainerlabels-"))
			}
		}
		return strings.Join(mine, " ")
	}
	for _, tc := range []struct {
		filters []string
		want    string
	}{
		{[]string{"label=app=shop"}, "a"},
		{[]string{"label=app"}, "b a"},
		{[]string{"label=app", "label=flag"}, "a"},
		{[]string{"label!=app=shop"}, "b"},
		{[]string{"label=from=image"}, "a"},
	} {
		if got := names(tc.filters...); got != tc.want {
			t.Errorf("ps --filter %v: %q, want %q", tc.filters, got, tc.want)
		}
	}

	var ps []struct {
		Names  []string
		Labels map[string]string
	}
	if err := json.Unmarshal([]byte(mustMyctr(t, "ps", "--format", "json", "--filter", "label=app=other")), &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Names[0] != b || ps[0].Labels["app"] != "other" {
		t.Errorf("ps --format json --filter label=app=other: %+v", ps)
	}

	_, errOut, code := myctr(t, "run", "--rm", "--label", "=x", image, "true")
	if code != 125 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, "invalid label") {
		t.Errorf("run --label =x: exit %d, %q", code, errOut)
	}
}
