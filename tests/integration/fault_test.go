//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// privateStore is a store of a test's own (--root and --runroot under the
// test's temporary directory), for tests that judge the whole store
// afterwards; it starts with the bb image.
type privateStore struct {
	t              *testing.T
	dir, root, run string
}

func newPrivateStore(t *testing.T, prefix string) *privateStore {
	t.Helper()
	dir, err := os.MkdirTemp(tmpRoot, prefix)
	if err != nil {
		t.Fatal(err)
	}
	s := &privateStore{t: t, dir: dir, root: filepath.Join(dir, "root"), run: filepath.Join(dir, "run")}
	s.must("import", filepath.Join(tmpRoot, "bb.tar"), "bb")
	t.Cleanup(func() {
		s.myctr("rm", "-a", "-f", "-t", "0")
		s.myctr("unshare", "rm", "-rf", s.root)
	})
	return s
}

// args puts the store's roots first (the last --root and --runroot win
// over the harness's).
func (s *privateStore) args(args ...string) []string {
	return append([]string{"--root", s.root, "--runroot", s.run}, args...)
}

func (s *privateStore) myctr(args ...string) (string, string, int) {
	return runMyctr(3*time.Minute, nil, s.args(args...)...)
}

func (s *privateStore) must(args ...string) string {
	s.t.Helper()
	out, errOut, code := s.myctr(args...)
	if code != 0 {
		s.t.Fatalf("myctr %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (s *privateStore) command(ctx context.Context, args ...string) *exec.Cmd {
	return myctrCommand(ctx, s.args(args...)...)
}

// whole says whether `system check` finds the store whole, or else
// whether `system check --repair` makes it so.
func (s *privateStore) whole(what string) {
	s.t.Helper()
	out, errOut, code := s.myctr("system", "check")
	if code == 0 {
		return
	}
	s.t.Logf("%s: system check: exit %d\n%s%s", what, code, out, errOut)
	if out, errOut, code := s.myctr("system", "check", "--repair"); code != 0 {
		s.t.Errorf("%s: system check --repair: exit %d\n%s%s", what, code, out, errOut)
		return
	}
	if out, errOut, code := s.myctr("system", "check"); code != 0 {
		s.t.Errorf("%s: system check after --repair: exit %d\n%s%s", what, code, out, errOut)
	}
}

// state is a container's status and exit code, and whether it ever
// started; ok is false when there is no such container.
func (s *privateStore) state(name string) (status string, code int, started, ok bool) {
	out, _, c := s.myctr("inspect", name)
	var in []struct {
		State struct {
			Status    string
			ExitCode  int
			StartedAt time.Time
		}
	}
	if c != 0 || json.Unmarshal([]byte(out), &in) != nil || len(in) != 1 {
		return "", 0, false, false
	}
	st := in[0].State
	return st.Status, st.ExitCode, !st.StartedAt.IsZero(), true
}

// faultOp is one operation of the fault-injection test: its command line
// for attempt name, and what must hold once its CLI was killed.
type faultOp struct {
	name  string
	args  func(name string) []string
	after func(t *testing.T, s *privateStore, name string)
}

// TestFaultInjection kills the CLI of each operation that writes the
// store (foreground run with and without --rm, run -d, exec, build, pull,
// load, commit, rm, rmi, image prune) with SIGKILL at random points (the
// seed is printed; MYCTR_FAULT_SEED repeats a run). After each kill: the
// store is whole, or `system check --repair` makes it so; a container
// that ran has its real exit code, an --rm one is gone, a build's step
// and an exec'd process end; the next run works. At the end nothing is
// left running or mounted.
func TestFaultInjection(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	if v := os.Getenv("MYCTR_FAULT_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("MYCTR_FAULT_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (MYCTR_FAULT_SEED=%d repeats these kill points)", seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	s := newPrivateStore(t, "fault-")
	// A marker in every command line the test starts in a container, to
	// find what is left.
	marker := fmt.Sprintf("0.3%d", os.Getpid())
	s.must("run", "-d", "--name", "fi-target", "--network", "none", "bb", "sleep", "1000")
	archive := filepath.Join(s.dir, "bb.tar")
	s.must("save", "--format", "oci-archive", "-o", archive, "bb")
	reg := startRegistry(t, false)
	remote := reg + "/it/fault:1"
	skopeoPush(t, archive, remote, "")
	s.must("tag", "bb", "fi-load:1")
	loadArchive := filepath.Join(s.dir, "load.tar")
	s.must("save", "-o", loadArchive, "fi-load:1")
	ctxDir := filepath.Join(s.dir, "ctx")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}

	exited := func(t *testing.T, s *privateStore, name string, want int) {
		t.Helper()
		if _, _, _, ok := s.state(name); !ok {
			return // killed before it was made
		}
		waitFor(t, 10*time.Second, name+" to end", func() bool {
			st, _, _, ok := s.state(name)
			return !ok || st != "running"
		})
		st, code, started, ok := s.state(name)
		if ok && started && (st != "exited" || code != want) {
			t.Errorf("%s: %s with exit code %d after its CLI was killed, want exited %d", name, st, code, want)
		}
		if ok {
			if _, errOut, c := s.myctr("rm", "-f", name); c != 0 {
				t.Errorf("rm -f %s: exit %d: %s", name, c, errOut)
			}
		}
	}
	noneLeft := func(t *testing.T, what string) {
		t.Helper()
		waitFor(t, 5*time.Second, "no process of "+what+" left", func() bool {
			return len(findProcsWith(marker)) == 0
		})
	}
	ops := []faultOp{
		{"run", func(n string) []string {
			return []string{"run", "--name", n, "--network", "none", "bb", "sh", "-c", "sleep " + marker + "; exit 7"}
		}, func(t *testing.T, s *privateStore, n string) { exited(t, s, n, 7) }},
		{"run-rm", func(n string) []string {
			return []string{"run", "--rm", "--name", n, "--network", "none", "bb", "sh", "-c", "sleep " + marker + "; exit 7"}
		}, func(t *testing.T, s *privateStore, n string) {
			waitFor(t, 10*time.Second, n+" to be removed, unless it never started", func() bool {
				_, _, started, ok := s.state(n)
				return !ok || !started
			})
			if _, _, _, ok := s.state(n); ok {
				s.must("rm", "-f", n)
			}
		}},
		{"run-d", func(n string) []string {
			return []string{"run", "-d", "--name", n, "--network", "none", "bb", "sleep", marker}
		}, func(t *testing.T, s *privateStore, n string) {
			if _, _, _, ok := s.state(n); ok {
				s.must("rm", "-f", "-t", "0", n)
			}
		}},
		{"exec", func(string) []string {
			return []string{"exec", "fi-target", "sleep", marker}
		}, func(t *testing.T, _ *privateStore, n string) { noneLeft(t, n) }},
		{"build", func(n string) []string {
			cf := fmt.Sprintf("FROM bb\nRUN echo %s > /f; sleep %s\n", n, marker)
			if err := os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte(cf), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"build", "-q", "-t", n, ctxDir}
		}, func(t *testing.T, s *privateStore, n string) {
			noneLeft(t, n)
			// A step that ran is removed by its monitor: give it the
			// time, so that the check does not race it. One made but
			// never started stays for the check to find.
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if out, _, _ := s.myctr("ps", "-a", "--format", "{{.Image}}"); !strings.Contains(out, "myctr-build") {
					break
				}
			}
		}},
		{"pull", func(string) []string { return []string{"pull", "-q", remote} },
			func(_ *testing.T, s *privateStore, _ string) { s.myctr("rmi", "-f", remote) }},
		{"load", func(string) []string { return []string{"load", "-q", "-i", loadArchive} },
			func(_ *testing.T, s *privateStore, _ string) { s.myctr("rmi", "-f", "fi-load:1") }},
		{"commit", func(n string) []string { return []string{"commit", "fi-target", n} }, nil},
		{"rm", func(n string) []string {
			s.must("run", "-d", "--name", n, "--network", "none", "bb", "sleep", marker)
			return []string{"rm", "-f", "-t", "0", n}
		}, func(t *testing.T, s *privateStore, n string) {
			if _, _, _, ok := s.state(n); ok {
				s.must("rm", "-f", "-t", "0", n)
			}
			noneLeft(t, n)
		}},
		{"rmi", func(n string) []string {
			s.must("tag", "bb", n+":1")
			return []string{"rmi", n + ":1"}
		}, nil},
		{"image-prune", func(string) []string {
			s.must("commit", "fi-target") // a dangling image to prune
			return []string{"image", "prune", "-f"}
		}, nil},
	}
	for _, op := range ops {
		for k := range 3 {
			name := fmt.Sprintf("fi-%s-%d", op.name, k)
			// The first kill comes early, the others anywhere in the
			// operation's first half second.
			delay := time.Duration(rng.IntN(500)) * time.Millisecond
			if k == 0 {
				delay = time.Duration(rng.IntN(30)) * time.Millisecond
			}
			what := fmt.Sprintf("%s killed after %s", op.name, delay)
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			killAfter(t, s.command(ctx, op.args(name)...), delay)
			cancel()
			if op.after != nil {
				op.after(t, s, name)
			}
			s.whole(what)
			if out, errOut, code := s.myctr("run", "--rm", "--network", "none", "bb", "echo", "next"); code != 0 || out != "next\n" {
				t.Errorf("%s: the next run: exit %d, %q, %s", what, code, out, errOut)
			}
		}
	}
	t.Logf("left at the end:\n%s", s.must("ps", "-a", "--no-trunc"))
	s.must("rm", "-a", "-f", "-t", "0")
	noneLeft(t, "the test")
	s.whole("at the end")
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), s.dir) {
		t.Errorf("a mount under the test's store is left:\n%s", mi)
	}
}

// findProcsWith returns the pids of live processes one of whose
// arguments is arg.
func findProcsWith(arg string) []int {
	return procsWhere(func(args []string) bool { return slices.Contains(args, arg) })
}
