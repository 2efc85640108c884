package cli

import (
	"strings"
	"testing"

	"github.com/myctr/myctr/systemd"
)

// TestGenerateRewritesRunFlags checks generate systemd --new's rewriting
// against run's real flags: which take values decides where the image is.
func TestGenerateRewritesRunFlags(t *testing.T) {
	flags := runLineFlags()
	for name, isBool := range map[string]bool{"d": true, "detach": true, "rm": true, "replace": true,
		"e": false, "publish": false, "cidfile": false, "sdnotify": false, "root": false} {
		if got, known := flags[name]; !known || got != isBool {
			t.Errorf("flag %q: bool %v (known %v), want bool %v", name, got, known, isBool)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"myctr run -dit --rm -p 8080:80 -e A=1 --name web --cidfile /x --sdnotify container bb httpd -f -d",
			"-it -p 8080:80 -e A=1 --name web bb httpd -f -d"},
		{"myctr --root /r create --detach=true --replace --cgroups=enabled -v /a:/b bb",
			"-v /a:/b bb"},
		{"myctr run --init --read-only -u 1000 bb", "--init --read-only -u 1000 bb"},
	} {
		cmd, _, err := systemd.RewriteCreateCommand(strings.Fields(tc.in), "/usr/bin/myctr", flags)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		var words []string
		for _, a := range cmd {
			words = append(words, a.S)
		}
		i := 0
		for i < len(words) && words[i] != "--sdnotify=conmon" {
			i++
		}
		if got := strings.Join(words[i+1:], " "); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
