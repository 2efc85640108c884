//go:build integration

package integration

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLIEdgeHelp: `help`, `help COMMAND...` and `COMMAND --help` print
// help in Podman's layout and exit 0, as Podman's do: the usage, then
// "Usage:" and a synopsis that ends in [command] for a group.
func TestCLIEdgeHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Manage pods, containers and images\n\nUsage:\n  myctr [options] [command]\n\nAvailable Commands:\n"},
		{[]string{"help"}, "\n  help "}, // help lists itself
		{[]string{"help"}, " Help about any command\n"},
		{[]string{"help", "run"}, "Run a command in a new container\n\nUsage:\n  myctr run [options] IMAGE"},
		{[]string{"help", "ps"}, "Usage:\n  myctr ps [options]\n"},
		{[]string{"run", "--help"}, "Usage:\n  myctr run [options] IMAGE"},
		{[]string{"volume", "--help"}, "Usage:\n  myctr volume [command]\n\nAvailable Commands:\n  create "},
		{[]string{"help", "volume", "create"}, "Usage:\n  myctr volume create [options] [NAME]\n"},
		{[]string{"help", "--help"}, "Usage:\n  myctr help [command]\n"},
	} {
		out := mustMyctr(t, tc.args...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("myctr %s: stdout lacks %q:\n%s", strings.Join(tc.args, " "), tc.want, out)
		}
	}
}

// TestCLIEdgeUnknownCommand: an unknown command exits 125 with Podman's
// wording, and a hint names the nearest command or --help.
func TestCLIEdgeUnknownCommand(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		err, hint string
	}{
		{[]string{"nosuch"}, "Error: unrecognized command `myctr nosuch`", "Hint: run `myctr --help`"},
		{[]string{"nosuch", "--help"}, "Error: unrecognized command `myctr nosuch`", "Hint: run `myctr --help`"}, // a flag of the program's
		{[]string{"rn"}, "Error: unrecognized command `myctr rn`", "Hint: did you mean `myctr rm`?"},
		{[]string{"insp", "x"}, "Error: unrecognized command `myctr insp`", "Hint: did you mean `myctr inspect`?"},
		{[]string{"imagess"}, "Error: unrecognized command `myctr imagess`", "Hint: did you mean `myctr images`?"},
		{[]string{"help", "nosuch"}, "Error: unrecognized command `myctr nosuch`", "Hint: run `myctr --help`"},
		// A group's unknown subcommand, in every group.
		{[]string{"network", "nosuch"}, "Error: unrecognized command `myctr network nosuch`", "Hint: run `myctr network --help`"},
		{[]string{"volume", "nosuch"}, "Error: unrecognized command `myctr volume nosuch`", "Hint: run `myctr volume --help`"},
		{[]string{"pod", "nosuch"}, "Error: unrecognized command `myctr pod nosuch`", "Hint: run `myctr pod --help`"},
		{[]string{"generate", "nosuch"}, "Error: unrecognized command `myctr generate nosuch`", "Hint: run `myctr generate --help`"},
		{[]string{"image", "nosuch"}, "Error: unrecognized command `myctr image nosuch`", "Hint: run `myctr image --help`"},
	} {
		out, errOut, code := myctr(t, tc.args...)
		if code != 125 || !strings.Contains(errOut, tc.err+"\n") || !strings.Contains(errOut, tc.hint) {
			t.Errorf("myctr %s: exit %d, want 125 with %q and %q\nstdout: %s\nstderr: %s",
				strings.Join(tc.args, " "), code, tc.err, tc.hint, out, errOut)
		}
	}
}

// TestCLIEdgeFlagErrors: a flag the command line refuses exits 125 with
// cobra's wording, as Podman's does (scripts and Podman's own tests match
// it), and the line that names the command's help.
func TestCLIEdgeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-h"}, "Error: flag needs an argument: 'h' in -h\nSee 'myctr run --help'\n"},
		{[]string{"run", "--hostname"}, "Error: flag needs an argument: --hostname\nSee 'myctr run --help'\n"},
		{[]string{"ps", "--format"}, "Error: flag needs an argument: --format\nSee 'myctr ps --help'\n"},
		{[]string{"bad", "--invalid"}, "Error: unknown flag: --invalid\nSee 'myctr --help'\n"},
		{[]string{"run", "--invalid", "x"}, "Error: unknown flag: --invalid\nSee 'myctr run --help'\n"},
		{[]string{"run", "-x", "x"}, "Error: unknown shorthand flag: 'x' in -x\nSee 'myctr run --help'\n"},
		{[]string{"-x", "ps"}, "Error: unknown shorthand flag: 'x' in -x\nSee 'myctr --help'\n"},
		{[]string{"pod", "create", "--infra=maybe"}, "Error: invalid argument \"maybe\" for \"--infra\" flag: parse error\nSee 'myctr pod create --help'\n"},
		{[]string{"volume", "create", "--bogus"}, "Error: unknown flag: --bogus\nSee 'myctr volume create --help'\n"},
	} {
		out, errOut, code := myctr(t, tc.args...)
		if code != 125 || errOut != tc.want {
			t.Errorf("myctr %s: exit %d, stderr %q; want 125 and %q\nstdout: %s",
				strings.Join(tc.args, " "), code, errOut, tc.want, out)
		}
	}
}

// TestCLIEdgeUnshareHelp: `unshare --help` is unshare's help; after the
// program (or after --), flags and the word help belong to the program.
func TestCLIEdgeUnshareHelp(t *testing.T) {
	for _, args := range [][]string{{"unshare", "--help"}, {"unshare", "-h"}, {"help", "unshare"}} {
		out := mustMyctr(t, args...)
		if !strings.Contains(out, "Usage:\n  myctr unshare ") {
			t.Errorf("myctr %s: stdout is not unshare's help:\n%s", strings.Join(args, " "), out)
		}
	}
	for _, prog := range []string{"--help", "help"} {
		args := []string{"unshare", prog}
		if prog == "--help" {
			args = []string{"unshare", "--", prog}
		}
		out, errOut, code := myctr(t, args...)
		if code != 127 || !strings.Contains(errOut, `"`+prog+`"`) {
			t.Errorf("myctr %s: exit %d, want 127 (no program %q)\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, prog, out, errOut)
		}
	}
	out := mustMyctr(t, "unshare", "sh", "-c", `echo "$1"`, "sh", "--help")
	if strings.TrimSpace(out) != "--help" {
		t.Errorf("unshare sh -c ... --help printed %q, want the program's own --help argument", out)
	}
}

// TestCLIEdgeNoCommand: an image with neither CMD nor ENTRYPOINT, run
// without a command, is refused with Podman's wording and exit 125 rather
// than running a shell; with a command it runs.
func TestCLIEdgeNoCommand(t *testing.T) {
	// import gives an image CMD /bin/sh, so clear it in a build: an empty
	// ENTRYPOINT with no CMD after it leaves neither.
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM " + image + "\nENTRYPOINT []\n"})
	const img = "it-cli-edge-nocmd"
	mustBuild(t, "-t", img, ctx)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", img) })
	cfg, _ := imageConfig(t, img)["config"].(map[string]any)
	if cfg["Cmd"] != nil || cfg["Entrypoint"] != nil {
		t.Fatalf("image %s has Cmd %v and Entrypoint %v, want neither", img, cfg["Cmd"], cfg["Entrypoint"])
	}

	name := ctrName(t, "nocmd")
	out, errOut, code := myctr(t, "run", "--rm", "--name", name, img)
	const want = "Error: no command or entrypoint provided, and no CMD or ENTRYPOINT from image\n"
	if code != 125 || !strings.HasPrefix(errOut, want) {
		t.Errorf("run %s: exit %d, want 125 and %q\nstdout: %s\nstderr: %s", img, code, want, out, errOut)
	}
	if _, _, code := myctr(t, "inspect", name); code == 0 {
		t.Errorf("run %s without a command left a container %s behind", img, name)
	}
	if out := mustMyctr(t, "run", "--rm", img, "echo", "ran"); strings.TrimSpace(out) != "ran" {
		t.Errorf("run %s echo ran printed %q", img, out)
	}
}

// TestCLIEdgeImagesFormat: images takes a Go template (with a header
// after "table") and names to list only those images.
func TestCLIEdgeImagesFormat(t *testing.T) {
	const other = "it-cli-edge-images"
	mustMyctr(t, "tag", image, other+":1")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", other+":1") })

	out := mustMyctr(t, "images", "--format", "{{.Repository}}:{{.Tag}}", image)
	if strings.TrimSpace(out) != imageFull {
		t.Errorf("images --format {{.Repository}}:{{.Tag}} %s printed %q, want only %s", image, out, imageFull)
	}
	out = mustMyctr(t, "images", "--format", "table {{.Repository}} {{.Tag}}", other)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "REPOSITORY TAG" ||
		strings.Join(strings.Fields(lines[1]), " ") != "localhost/"+other+" 1" {
		t.Errorf("images --format 'table ...' %s printed:\n%s\nwant a REPOSITORY TAG header and one line", other, out)
	}
	out = mustMyctr(t, "images", "--format", "{{json .}}", other+":1")
	var row map[string]string
	if err := json.Unmarshal([]byte(out), &row); err != nil || row["Repository"] != "localhost/"+other || row["Tag"] != "1" ||
		len(row["ID"]) != 12 || row["Created"] == "" || row["Size"] == "" {
		t.Errorf("images --format '{{json .}}' printed %q (%v)", out, err)
	}
	// A name with no image lists nothing; the plain table keeps its header.
	out = mustMyctr(t, "images", "nosuch")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "REPOSITORY") {
		t.Errorf("images nosuch printed:\n%s\nwant the header alone", out)
	}
	if out, errOut, code := myctr(t, "images", "--format", "{{.Nope}}"); code != 125 || !strings.Contains(errOut, "Hint: the fields are Repository") {
		t.Errorf("images --format {{.Nope}}: exit %d, want 125 and a hint\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestCLIEdgePsTableFormat: `ps --format "table ..."` prints a header of
// the field names in upper case, not the word "table".
func TestCLIEdgePsTableFormat(t *testing.T) {
	name := ctrName(t, "ps")
	mustMyctr(t, "run", "--name", name, image, "true")
	out := mustMyctr(t, "ps", "-a", "--format", "table {{.Names}} {{.Status}}")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Join(strings.Fields(lines[0]), " ") != "NAMES STATUS" {
		t.Fatalf("ps --format 'table {{.Names}} {{.Status}}' header is %q, want NAMES STATUS\n%s", lines[0], out)
	}
	found := false
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 2 && f[0] == name && f[1] == "Exited" && f[2] == "(0)" {
			found = true
		}
	}
	if !found {
		t.Errorf("ps --format 'table ...' lacks %q with status Exited (0):\n%s", name, out)
	}
	out = mustMyctr(t, "ps", "-a", "--format", `table {{.ID}}\t{{.Names}}`)
	if h := strings.SplitN(out, "\n", 2)[0]; strings.Join(strings.Fields(h), " ") != "CONTAINER ID NAMES" {
		t.Errorf("ps --format 'table {{.ID}}\\t{{.Names}}' header is %q, want CONTAINER ID and NAMES", h)
	}
}
