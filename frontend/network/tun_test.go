package network

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartNeedsTun: without a usable /dev/net/tun, Start says so, with
// the fix, before starting anything.
func TestStartNeedsTun(t *testing.T) {
	old := tunDevice
	tunDevice = filepath.Join(t.TempDir(), "no-tun")
	defer func() { tunDevice = old }()
	for _, mode := range []string{ModeSlirp4netns, ModePasta} {
		_, err := Start(Config{Mode: mode}, 1, t.TempDir())
		if errors.Is(err, ErrNoNetworkTool) {
			continue // the tool check comes first; nothing to see here
		}
		if !errors.Is(err, ErrStart) || !strings.Contains(Hint(err), "chmod 0666") {
			t.Errorf("%s: err = %v, hint %q; want the /dev/net/tun error and its fix", mode, err, Hint(err))
		}
	}
}
