//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// completionEnv makes `myctr` on PATH the binary under test, with the
// test's store (MYCTR_ROOT, MYCTR_RUNROOT), so that the script's own
// calls of myctr ps and images see the test's containers and images.
func completionEnv() []string {
	return append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "MYCTR_ROOT="+root, "MYCTR_RUNROOT="+runRoot)
}

// complete runs bash: sources the script, sets COMP_WORDS to words (the
// last one the word being completed), calls the function and returns
// what it offers.
func bashComplete(t *testing.T, words ...string) []string {
	t.Helper()
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+w+"'")
	}
	script := `source <(myctr completion bash) || exit 1
COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_myctr; printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = completionEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion of %q: %v: %s", words, err, out)
	}
	return strings.Fields(string(out))
}

// TestCompletionBash: the bash script registers itself, and offers
// commands, a command's flags, containers where a command takes one and
// images where it takes an image, from the real store.
func TestCompletionBash(t *testing.T) {
	cmd := exec.Command("bash", "-c", "source <(myctr completion bash) && complete -p myctr")
	cmd.Env = completionEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-F _myctr myctr") {
		t.Fatalf("complete -p myctr: %v: %s", err, out)
	}
	name := ctrName(t, "c")
	mustMyctr(t, "create", "--name", name, image, "true")

	cases := []struct {
		words []string
		want  string
		not   string
	}{
		{[]string{"myctr", "ru"}, "run", "rm"},
		{[]string{"myctr", "run", "--netw"}, "--network", "--rm"},
		{[]string{"myctr", "--root", "x", "ru"}, "run", ""}, // a global flag's value is no command
		{[]string{"myctr", "image", "l"}, "ls", "run"},
		{[]string{"myctr", "image", "ls", "--"}, "--format", "--network"},
		{[]string{"myctr", "rm", ""}, name, imageFull},
		{[]string{"myctr", "rm", name, ""}, name, ""}, // CONTAINER...: every argument
		{[]string{"myctr", "container", "stop", ""}, name, ""},
		{[]string{"myctr", "run", "--rm", ""}, imageFull, name},
		{[]string{"myctr", "run", "--name", "x", "localhost/b"}, imageFull, ""},
		{[]string{"myctr", "rmi", ""}, imageFull, name},
	}
	for _, c := range cases {
		got := bashComplete(t, c.words...)
		if !slices.Contains(got, c.want) || (c.not != "" && slices.Contains(got, c.not)) {
			t.Errorf("completing %q offers %q; want %q among them and not %q", c.words, got, c.want, c.not)
		}
	}
	// After the image, run's arguments are the container's command:
	// nothing of myctr's is offered.
	if got := bashComplete(t, "myctr", "run", image, ""); slices.Contains(got, imageFull) || slices.Contains(got, name) {
		t.Errorf("completing run's command offers %q", got)
	}
	if _, errOut, code := myctr(t, "completion", "tcsh"); code != 125 || !strings.Contains(errOut, "bash, zsh or fish") {
		t.Errorf("completion tcsh: exit %d, %q; want 125 naming the shells", code, errOut)
	}
}

// TestCompletionZshFish: the zsh and fish scripts parse in their shells
// (zsh -n, fish --no-execute), and fish's offers a command and a flag.
func TestCompletionZshFish(t *testing.T) {
	for _, sh := range []struct{ shell, check string }{{"zsh", "-n"}, {"fish", "--no-execute"}} {
		t.Run(sh.shell, func(t *testing.T) {
			if _, err := exec.LookPath(sh.shell); err != nil {
				t.Skipf("%s is not installed (tests/setup/deps.sh installs it)", sh.shell)
			}
			script := mustMyctr(t, "completion", sh.shell)
			f := filepath.Join(t.TempDir(), "myctr."+sh.shell)
			if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sh.shell, sh.check, f).CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("%s %s: %v: %s", sh.shell, sh.check, err, out)
			}
		})
	}
	if _, err := exec.LookPath("fish"); err != nil {
		return
	}
	cmd := exec.Command("fish", "--no-config", "-c", "source (myctr completion fish | psub); complete -C 'myctr ru'; complete -C 'myctr run --netw'; complete -C 'myctr image l'")
	cmd.Env = append(completionEnv(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	for _, want := range []string{"run\t", "--network\t", "ls\t"} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("fish offers %q (%v); want %q among them", out, err, want)
		}
	}
}

// TestManPages: bin/myctr-man (what make man runs) writes a page per
// command of `myctr --help` that groff renders without a warning, and
// every flag `myctr run --help` lists is in myctr-run.1.
func TestManPages(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed (tests/setup/deps.sh installs it)")
	}
	dir := t.TempDir()
	if out, err := exec.Command(filepath.Join(filepath.Dir(bin), "myctr-man"), dir).CombinedOutput(); err != nil {
		t.Fatalf("myctr-man: %v: %s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	for _, p := range pages {
		out, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", p).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -man -ww %s: %v: %s", filepath.Base(p), err, out)
		}
	}
	// The commands of myctr --help: "  name  usage".
	help := mustMyctr(t, "--help")
	_, cmds, _ := strings.Cut(help, "Available Commands:\n")
	cmds, _, _ = strings.Cut(cmds, "\n\n")
	n := 0
	for _, l := range strings.Split(cmds, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		name := f[0]
		n++
		if _, err := os.Stat(filepath.Join(dir, "myctr-"+name+".1")); err != nil {
			t.Errorf("no page for %s: %v", name, err)
		}
	}
	if n < 30 {
		t.Errorf("read %d commands from myctr --help:\n%s", n, help)
	}
	page, err := os.ReadFile(filepath.Join(dir, "myctr-run.1"))
	if err != nil {
		t.Fatal(err)
	}
	flags := regexp.MustCompile(`--[a-z][a-z0-9-]+`).FindAllString(mustMyctr(t, "run", "--help"), -1)
	if !slices.Contains(flags, "--network") {
		t.Fatalf("run --help lists %v, no --network", flags)
	}
	for _, f := range flags {
		if f == "--help" {
			continue
		}
		if !strings.Contains(string(page), `\fB`+strings.ReplaceAll(f, "-", `\-`)+`\fR`) {
			t.Errorf("myctr-run.1 does not document %s", f)
		}
	}
	// The rendered page shows the flag with its usage and default.
	out, err := exec.Command("groff", "-man", "-Tutf8", filepath.Join(dir, "myctr-run.1")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if plain := regexp.MustCompile(".\b").ReplaceAllString(string(out), ""); !strings.Contains(plain, "--stop-timeout") {
		t.Errorf("rendered myctr-run.1 lacks --stop-timeout:\n%s", plain)
	}
}

// TestCompletionFormatFields: every field `__completeNoDesc CMD --format
// '{{.'` offers works in that command's template on real objects (the
// completion reads the type the template runs on), and `--format
// '{{"\n"}}'` prints nothing but newlines, as Podman's 610-format test
// asks of each such command.
func TestCompletionFormatFields(t *testing.T) {
	ctr, pod := ctrName(t, "c"), ctrName(t, "pod")
	mustMyctr(t, "create", "--name", ctr, "--label", "k=v", image, "true")
	mustMyctr(t, "pod", "create", pod)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "pod", "rm", "-f", pod) })
	vol := strings.TrimPrefix(ctrName(t, "vol"), "it-")
	mustMyctr(t, "volume", "create", vol)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "volume", "rm", "-f", vol) })
	sec := strings.TrimPrefix(ctrName(t, "sec"), "it-")
	if _, errOut, code := runMyctr(cmdTimeout, []byte("x"), "secret", "create", sec, "-"); code != 0 {
		t.Fatalf("secret create: %s", errOut)
	}
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "secret", "rm", "--ignore", sec) })
	for _, tc := range []struct{ cmd, extra []string }{
		{[]string{"ps"}, []string{"-a"}}, {[]string{"container", "ls"}, []string{"-a"}},
		{[]string{"images"}, nil}, {[]string{"image", "ls"}, nil},
		{[]string{"container", "inspect"}, []string{ctr}}, {[]string{"image", "inspect"}, []string{image}},
		{[]string{"history"}, []string{image}}, {[]string{"image", "history"}, []string{image}},
		{[]string{"volume", "ls"}, nil}, {[]string{"volume", "inspect"}, []string{"-a"}},
		{[]string{"network", "ls"}, nil}, {[]string{"network", "inspect"}, []string{"podman"}},
		{[]string{"pod", "ps"}, nil}, {[]string{"pod", "inspect"}, []string{pod}},
		{[]string{"secret", "ls"}, nil}, {[]string{"secret", "inspect"}, []string{sec}},
		{[]string{"events"}, []string{"--stream=false"}}, {[]string{"version"}, nil}, {[]string{"info"}, nil},
	} {
		name := strings.Join(tc.cmd, " ")
		// The fields, and those of the structs among them, a level down.
		var fields []string
		var collect func(partial string, depth int)
		collect = func(partial string, depth int) {
			out := mustMyctr(t, append(append([]string{"__completeNoDesc"}, tc.cmd...), "--format", partial)...)
			if !strings.HasSuffix(out, ":6\n") && depth == 0 {
				t.Errorf("%s: completion of %s offers %q", name, partial, out)
			}
			for _, l := range strings.Split(out, "\n") {
				switch {
				case strings.HasPrefix(l, "{{.") && strings.HasSuffix(l, "}}"):
					fields = append(fields, l)
				case strings.HasPrefix(l, "{{.") && strings.HasSuffix(l, ".") && depth < 1:
					collect(l, depth+1)
				}
			}
		}
		collect("{{.", 0)
		if len(fields) == 0 {
			t.Errorf("%s: completion offers no field", name)
			continue
		}
		args := append(append(slices.Clone(tc.cmd), tc.extra...), "--format", strings.Join(fields, "|"))
		if _, errOut, code := myctr(t, args...); code != 0 {
			t.Errorf("%s --format with every field offered: exit %d\n%s", name, code, errOut)
		}
		args = append(append(slices.Clone(tc.cmd), tc.extra...), "--format", `{{"\n"}}`)
		if out, errOut, code := myctr(t, args...); code != 0 || strings.Trim(out, "\n") != "" {
			t.Errorf(`%s --format '{{"\n"}}': exit %d, %q %q`, name, code, out, errOut)
		}
	}
}
