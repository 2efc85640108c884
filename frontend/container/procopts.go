package container

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

// ErrInvalidRunOption is a --ulimit, --shm-size, --umask or --annotation
// value myctr cannot honour.
var ErrInvalidRunOption = errors.New("invalid run option")

// UlimitHost is --ulimit host: the container keeps the limits of the
// process that runs it (no rlimits in its spec).
const UlimitHost = "host"

// ParseUlimits reads --ulimit NAME=SOFT[:HARD] values as Docker and
// Podman do (go-units; -1 is unlimited), or host alone. A name given
// twice is refused.
func ParseUlimits(vals []string) ([]*units.Ulimit, error) {
	var out []*units.Ulimit
	seen := map[string]bool{}
	for _, v := range vals {
		if v == UlimitHost {
			if len(vals) > 1 {
				return nil, fmt.Errorf("%w: --ulimit host cannot be given with other --ulimit values", ErrInvalidRunOption)
			}
			return nil, nil
		}
		u, err := units.ParseUlimit(v)
		if err != nil {
			return nil, fmt.Errorf("%w: --ulimit %q: %w", ErrInvalidRunOption, v, err)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("%w: --ulimit %s is given twice", ErrInvalidRunOption, u.Name)
		}
		seen[u.Name] = true
		out = append(out, u)
	}
	return out, nil
}

// rlimit turns a --ulimit value into the spec's form (-1: infinity).
func rlimit(u *units.Ulimit) specs.POSIXRlimit {
	lim := func(v int64) uint64 {
		if v < 0 {
			return unix.RLIM_INFINITY
		}
		return uint64(v)
	}
	return specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Soft: lim(u.Soft), Hard: lim(u.Hard)}
}

// checkRlimits refuses a hard limit above the one myctr runs with: the
// container's init is an unprivileged process of the user, which may
// lower its limits but not raise them (Podman leaves that to the
// runtime, which fails at start).
func checkRlimits(rl []specs.POSIXRlimit) error {
	for _, r := range rl {
		res, ok := nsexec.RlimitResource(r.Type)
		if !ok {
			continue // go-units knows no other names
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(res, &cur); err != nil {
			return fmt.Errorf("read %s: %w", r.Type, err)
		}
		if r.Hard > cur.Max {
			name := strings.ToLower(strings.TrimPrefix(r.Type, "RLIMIT_"))
			return &hintError{fmt.Errorf("%w: --ulimit %s: hard limit %s is above yours (%s), which an unprivileged user cannot raise", ErrInvalidRunOption, name, limitString(r.Hard), limitString(cur.Max)),
				fmt.Sprintf("give --ulimit %s=SOFT:HARD with HARD at most %s, or have root raise your limit (limits.conf, or LimitNOFILE= and the like of your session)", name, limitString(cur.Max))}
		}
	}
	return nil
}

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// ParseShmSize reads --shm-size: a size with an optional unit (b, k, m,
// g; 1024-based, as Docker's and Podman's), more than 0.
func ParseShmSize(v string) (int64, error) {
	n, err := units.RAMInBytes(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: --shm-size %q: want a size such as 64m or 1g", ErrInvalidRunOption, v)
	}
	return n, nil
}

// ParseUmask reads --umask: an octal mode of at most 0777.
func ParseUmask(v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("%w: --umask %q: want an octal mode such as 0022", ErrInvalidRunOption, v)
	}
	return uint32(n), nil
}

// ParseAnnotations reads --annotation KEY=VALUE values into the spec's
// annotations. myctr's own (io.myctr.*) are its to set.
func ParseAnnotations(vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: --annotation %q: want KEY=VALUE", ErrInvalidRunOption, v)
		}
		if strings.HasPrefix(k, "io.myctr.") {
			return nil, fmt.Errorf("%w: --annotation %s: io.myctr.* annotations are myctr's own", ErrInvalidRunOption, k)
		}
		out[k] = val
	}
	return out, nil
}
