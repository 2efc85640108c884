package nsexec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ParseSignal accepts, for myctr's kill and stop signals and
// myctr-runtime's kill, "TERM", "SIGTERM", "15" (and each with a leading
// dash, as kill(1) spells them). Its errors are Podman's words, which
// scripts match: "invalid signal: NAME", "valid signals are 1 through 64".
func ParseSignal(s string) (unix.Signal, error) {
	raw := strings.TrimPrefix(strings.TrimSpace(s), "-")
	if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
		switch {
		case n == 0:
			return 0, fmt.Errorf("invalid signal: %s", raw)
		case n > 64:
			return 0, errors.New("valid signals are 1 through 64")
		}
		return unix.Signal(n), nil
	} else if errors.Is(err, strconv.ErrRange) {
		return 0, errors.New("valid signals are 1 through 64")
	}
	name := strings.ToUpper(raw)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal: %s", raw)
}
