//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// secretName is a secret name unique to the test, removed when it ends.
func secretName(t *testing.T, suffix string) string {
	t.Helper()
	n := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()+"-"+suffix), "-"), "-")
	n = "it-" + n[max(0, len(n)-50):]
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "secret", "rm", "--ignore", n) })
	return n
}

var secretID = regexp.MustCompile(`^[0-9a-f]{25}$`)

// TestSecrets: secret create (from a file and from stdin), ls, inspect
// (Podman's fields, never the data), rm; the store's files are the user's
// alone; run --secret gives the container a read-only file (at
// /run/secrets/NAME or its target, readable by a non-root user of the
// container) or an environment variable, copied when the container is made.
func TestSecrets(t *testing.T) {
	fromFile, fromStdin := secretName(t, "file"), secretName(t, "stdin")
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("file-data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id1 := strings.TrimSpace(mustMyctr(t, "secret", "create", fromFile, file))
	out, errOut, code := runMyctr(cmdTimeout, []byte("stdin-data"), "secret", "create", "--label", "k=v", fromStdin, "-")
	id2 := strings.TrimSpace(out)
	if code != 0 || !secretID.MatchString(id1) || !secretID.MatchString(id2) {
		t.Fatalf("secret create printed %q and %q (exit %d, %s); want 25-hex ids", id1, out, code, errOut)
	}
	if _, errOut, code := myctr(t, "secret", "create", fromFile, file); code != 125 || !strings.Contains(errOut, "Error: "+fromFile+": secret name in use\n") {
		t.Errorf("a second secret %s: exit %d, %q; want 125 and Podman's words", fromFile, code, errOut)
	}

	names := strings.Fields(mustMyctr(t, "secret", "ls", "--format", "{{.Name}}"))
	ids := strings.Fields(mustMyctr(t, "secret", "ls", "-q", "--filter", "name="+fromStdin))
	if !slices.Contains(names, fromFile) || !slices.Contains(names, fromStdin) || !slices.Equal(ids, []string{id2}) {
		t.Errorf("secret ls: names %q, ids of %s %q", names, fromStdin, ids)
	}
	if table := mustMyctr(t, "secret", "ls"); !strings.HasPrefix(table, "ID ") || !strings.Contains(table, " NAME ") || !strings.Contains(table, id1) {
		t.Errorf("secret ls:\n%s", table)
	}

	raw := mustMyctr(t, "secret", "inspect", fromStdin)
	var got []struct {
		ID   string
		Spec struct {
			Name   string
			Driver struct{ Name string }
			Labels map[string]string
		}
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil || len(got) != 1 {
		t.Fatalf("secret inspect: %v\n%s", err, raw)
	}
	if g := got[0]; g.ID != id2 || g.Spec.Name != fromStdin || g.Spec.Driver.Name != "file" || g.Spec.Labels["k"] != "v" {
		t.Errorf("secret inspect: %+v", g)
	}
	if strings.Contains(raw, "stdin-data") {
		t.Errorf("secret inspect shows the data:\n%s", raw)
	}
	if f := mustMyctr(t, "secret", "inspect", "--format", "{{.Spec.Name}}", id1[:10]); f != fromFile+"\n" {
		t.Errorf("secret inspect --format of an id prefix: %q", f)
	}
	for p, want := range map[string]os.FileMode{
		filepath.Join(root, "secrets"):              os.ModeDir | 0o700,
		filepath.Join(root, "secrets", id1):         0o600,
		filepath.Join(root, "secrets", id1+".json"): 0o600,
	} {
		if st, err := os.Stat(p); err != nil || st.Mode() != want {
			t.Errorf("%s: %v %v, want mode %v", p, st.Mode(), err, want)
		}
	}

	// The file, where Podman puts it, read-only.
	if out := runOut(t, []string{"--secret", fromFile}, "cat", "/run/secrets/"+fromFile); out != "file-data\n" {
		t.Errorf("cat /run/secrets/%s: %q", fromFile, out)
	}
	out, errOut, code = myctr(t, "run", "--rm", "--secret", fromFile, image, "sh", "-c", "echo x > /run/secrets/"+fromFile)
	if code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("writing the secret: exit %d, %q %q; want a read-only file system", code, out, errOut)
	}
	// Another target, for a non-root user of the container (mode 0444).
	if out := runOut(t, []string{"--user", "65534", "--secret", fromStdin + ",target=/etc/pw"}, "cat", "/etc/pw"); out != "stdin-data" {
		t.Errorf("cat /etc/pw as nobody: %q", out)
	}
	if out := runOut(t, []string{"--secret", fromStdin + ",target=pw,mode=0400"}, "stat", "-c", "%a", "/run/secrets/pw"); out != "400\n" {
		t.Errorf("mode=0400: %q", out)
	}
	if out := runOut(t, []string{"--secret", fromStdin + ",type=env,target=PW"}, "sh", "-c", "echo $PW"); out != "stdin-data\n" {
		t.Errorf("type=env: %q", out)
	}

	// Copied when the container is made: removing the secret later does
	// not take it from the container.
	name := ctrName(t, "keeps")
	mustMyctr(t, "create", "--name", name, "--secret", fromFile, image, "cat", "/run/secrets/"+fromFile)
	if out := mustMyctr(t, "secret", "rm", fromFile); strings.TrimSpace(out) != id1 {
		t.Errorf("secret rm printed %q, want the id %s", out, id1)
	}
	mustMyctr(t, "start", name)
	waitState(t, name, "exited", cmdTimeout)
	if logs := mustMyctr(t, "logs", name); logs != "file-data\n" {
		t.Errorf("the container's copy after secret rm: %q", logs)
	}

	_, errOut, code = myctr(t, "run", "--rm", "--secret", fromFile, image, "true")
	if code != 125 || !strings.Contains(errOut, `Error: --secret `+fromFile+`: no secret with name or id "`+fromFile+`": no such secret`) ||
		!strings.Contains(errOut, "Hint: myctr secret ls") {
		t.Errorf("run --secret of a removed secret: exit %d, %q; want 125, the error and a hint", code, errOut)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--secret", fromStdin+",uid=1000", image, "true"); code != 125 || !strings.Contains(errOut, "uid=1000") {
		t.Errorf("--secret uid=1000: exit %d, %q; want 125 naming the option", code, errOut)
	}
	if _, _, code := myctr(t, "secret", "rm", fromFile); code != 125 {
		t.Errorf("secret rm of a removed secret: exit %d, want 125", code)
	}
	mustMyctr(t, "secret", "rm", "--ignore", fromFile)
	mustMyctr(t, "secret", "rm", "--all")
	if left := mustMyctr(t, "secret", "ls", "-q"); left != "" {
		t.Errorf("after secret rm --all: %q", left)
	}
	if _, errOut, code := myctr(t, "secret", "inspect", fromStdin); code != 125 || !strings.Contains(errOut, "Error: inspecting secret: no secret with name or id") {
		t.Errorf("secret inspect after rm --all: exit %d, %q", code, errOut)
	}
}
