package security

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
)

// TestLastCap: the last capability, asked of the kernel with
// PR_CAPBSET_READ (which a Landlock ruleset cannot deny), is the one
// /proc/sys/kernel/cap_last_cap names.
func TestLastCap(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skipf("no /proc/sys/kernel/cap_last_cap to compare with: %v", err)
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := capability.LastCap(); err != nil || got != capability.Cap(want) {
		t.Errorf("capability.LastCap() = %d, %v; want %d", got, err, want)
	}
}
