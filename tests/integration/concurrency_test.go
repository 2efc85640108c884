//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConcurrency drives a store of its own from many clients at once, as
// scripts and CI runners do: 50 parallel `run --rm`, 50 parallel `run -d`
// then 50 parallel `rm -f`, 10 parallel pulls of one image, 5 parallel
// builds sharing a cache, and 10 clients racing for one name. Every client
// succeeds or fails cleanly (the race: exactly one winner, the others
// Podman's "already in use"), and `system check` finds the store whole.
func TestConcurrency(t *testing.T) {
	t.Parallel()
	st := newPrivateStore(t, "concurrency-")
	dir, own, mustOwn := st.dir, st.myctr, st.must
	// parallel runs n clients, each with the args of its index, and
	// returns their exit codes and outputs.
	type result struct {
		out, errOut string
		code        int
	}
	parallel := func(n int, args func(i int) []string) []result {
		res := make([]result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := &res[i]
				r.out, r.errOut, r.code = own(args(i)...)
			})
		}
		wg.Wait()
		return res
	}
	mustAll := func(what string, res []result) {
		t.Helper()
		for i, r := range res {
			if r.code != 0 {
				t.Errorf("%s #%d: exit %d, stderr %q", what, i, r.code, r.errOut)
			}
		}
	}

	mustAll("run --rm", parallel(50, func(i int) []string {
		return []string{"run", "--rm", "--network", "none", "bb", "sh", "-c", fmt.Sprintf("echo %d", i)}
	}))
	names := func(i int) string { return fmt.Sprintf("cc-%d", i) }
	mustAll("run -d", parallel(50, func(i int) []string {
		return []string{"run", "-d", "--network", "none", "--name", names(i), "bb", "sleep", "1000"}
	}))
	if got := len(strings.Fields(mustOwn("ps", "-q"))); got != 50 {
		t.Errorf("ps lists %d running containers after 50 parallel run -d, want 50", got)
	}
	mustAll("rm -f", parallel(50, func(i int) []string { return []string{"rm", "-f", "-t", "0", names(i)} }))
	if left := strings.TrimSpace(mustOwn("ps", "-a", "-q")); left != "" {
		t.Errorf("containers left after run --rm and rm -f: %q", left)
	}

	// One name, ten clients: one container.
	race := parallel(10, func(int) []string { return []string{"create", "--name", "cc-same", "bb", "true"} })
	won := 0
	for i, r := range race {
		switch {
		case r.code == 0:
			won++
		case r.code != 125 || !strings.Contains(r.errOut, "already in use"):
			t.Errorf("create --name cc-same #%d: exit %d, %q; want 0 or 125 and \"already in use\"", i, r.code, r.errOut)
		}
	}
	if won != 1 {
		t.Errorf("%d of 10 racing creates of one name won, want 1", won)
	}

	// Ten pulls of one image from a registry; the layer was deleted, so
	// each has it to fetch and unpack, and they meet in the store.
	reg := startRegistry(t, false)
	archive := filepath.Join(dir, "bb.tar")
	mustOwn("save", "--format", "oci-archive", "-o", archive, "bb")
	remote := reg + "/it/concurrent:1"
	skopeoPush(t, archive, remote, "")
	mustAll("pull", parallel(10, func(int) []string { return []string{"pull", "-q", remote} }))
	ids := map[string]bool{}
	for _, line := range strings.Fields(mustOwn("images", "-q", "--no-trunc", remote)) {
		ids[line] = true
	}
	if len(ids) != 1 {
		t.Errorf("images of %s after 10 parallel pulls: %v, want one", remote, ids)
	}

	// Five builds of one Containerfile: they share its cached step or
	// each make it, and all end with an image.
	ctx := filepath.Join(dir, "ctx")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte("FROM bb\nRUN echo cached > /step\nRUN echo second >> /step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustAll("build", parallel(5, func(i int) []string { return []string{"build", "-q", "-t", fmt.Sprintf("cc-built:%d", i), ctx} }))
	for i := range 5 {
		if out := mustOwn("run", "--rm", "--network", "none", fmt.Sprintf("cc-built:%d", i), "cat", "/step"); out != "cached\nsecond\n" {
			t.Errorf("cc-built:%d's /step: %q", i, out)
		}
	}

	mustOwn("rm", "-f", "cc-same")
	if out, errOut, code := own("system", "check"); code != 0 || !strings.Contains(out, "The store is whole") {
		t.Errorf("system check after the clients: exit %d\n%s\n%s", code, out, errOut)
	}
}
