//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestAPIImageHistory: docker history over the API lists the steps
// myctr history lists, newest first, the newest with the image's id, the
// RUN step's command and its layer's size; an unknown image is "No such
// image".
func TestAPIImageHistory(t *testing.T) {
	a := startAPIService(t)
	tag := "localhost/it-api-history:1"
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", tag) })
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM " + image + "\nRUN echo history-step > /step\nLABEL it.history=1\n"})
	_, id := mustBuild(t, "-t", tag, ctx)

	want := strings.Split(strings.TrimSpace(mustMyctr(t, "history", "--no-trunc", "--human=false", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", tag)), "\n")
	out := a.mustDocker(t, "history", "--no-trunc", "--human=false", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", tag)
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != len(want) || len(got) < 2 {
		t.Fatalf("docker history: %d steps %q, myctr history: %d %q", len(got), got, len(want), want)
	}
	if !strings.HasPrefix(got[0], "sha256:"+id+"|") {
		t.Errorf("docker history's newest step %q, want the image's id sha256:%s", got[0], id)
	}
	for i := range got {
		gID, gRest, _ := strings.Cut(got[i], "|")
		wID, wRest, _ := strings.Cut(want[i], "|")
		if gRest != wRest || (i > 0 && gID != wID) {
			t.Errorf("step %d: docker history %q, myctr history %q", i, got[i], want[i])
		}
	}
	run := false
	for _, l := range got {
		if strings.Contains(l, "echo history-step") && !strings.HasSuffix(l, "|0") {
			run = true
		}
	}
	if !run {
		t.Errorf("docker history shows no RUN step with a layer: %q", got)
	}
	if short := strings.TrimSpace(a.mustDocker(t, "history", "-q", tag)); !strings.HasPrefix(short, id[:12]) {
		t.Errorf("docker history -q: %q, want %s first", short, id[:12])
	}
	if _, errOut, code := a.docker(t, time.Minute, "history", "localhost/it-no-such-image"); code == 0 || !strings.Contains(errOut, "No such image") {
		t.Errorf("docker history of no image: exit %d, %q", code, errOut)
	}
}
