//go:build integration

package integration

import (
	"strings"
	"testing"
)

// TestCLIEdgeHelp: `help` and `help COMMAND` print help and exit 0, as
// Podman's do.
func TestCLIEdgeHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "myctr - run containers without root"},
		{[]string{"help", "run"}, "myctr run - run a command in a new container"},
		{[]string{"help", "ps"}, "myctr ps - list containers"},
		{[]string{"run", "--help"}, "myctr run - run a command in a new container"},
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
		{[]string{"rn"}, "Error: unrecognized command `myctr rn`", "Hint: did you mean `myctr rm`?"},
		{[]string{"insp", "x"}, "Error: unrecognized command `myctr insp`", "Hint: did you mean `myctr inspect`?"},
		{[]string{"imagess"}, "Error: unrecognized command `myctr imagess`", "Hint: did you mean `myctr images`?"},
		{[]string{"help", "nosuch"}, "Error: unrecognized command `myctr nosuch`", "Hint: run `myctr --help`"},
	} {
		out, errOut, code := myctr(t, tc.args...)
		if code != 125 || !strings.Contains(errOut, tc.err+"\n") || !strings.Contains(errOut, tc.hint) {
			t.Errorf("myctr %s: exit %d, want 125 with %q and %q\nstdout: %s\nstderr: %s",
				strings.Join(tc.args, " "), code, tc.err, tc.hint, out, errOut)
		}
	}
}
