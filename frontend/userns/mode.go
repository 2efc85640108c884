package userns

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The --userns modes myctr knows, with Podman's rootless meanings.
const (
	// ModePrivate (and "") is the default: container root is the user,
	// container ids 1..N are the subordinate range.
	ModePrivate = "private"
	// ModeHost is Podman's rootless "host": the ids of the user's own
	// namespace (the one `myctr unshare` enters), which are the default
	// mapping's. The container still gets a namespace of its own.
	ModeHost = "host"
	// ModeKeepID maps the user's uid and gid to the same ids (or to
	// keep-id:uid=,gid=) inside; the other container ids take the
	// subordinate range in order.
	ModeKeepID = "keep-id"
	// ModeNoMap (Podman: the user's own ids left out) is refused: see
	// ForMode.
	ModeNoMap = "nomap"
)

// Mode is a parsed --userns value.
type Mode struct {
	Kind     string  // one of the Mode constants
	UID, GID *uint32 // keep-id:uid=,gid=; nil: the user's own
}

// ParseMode reads a --userns value. auto, ns:PATH and container:ID are
// refused with ErrModeUnsupported (they need state myctr does not keep).
func ParseMode(s string) (Mode, error) {
	kind, opts, _ := strings.Cut(s, ":")
	switch kind {
	case "", ModePrivate, ModeHost, ModeNoMap:
		if opts != "" {
			return Mode{}, fmt.Errorf("%w %q: %s takes no options", ErrInvalidMode, s, kind)
		}
		if kind == "" {
			kind = ModePrivate
		}
		return Mode{Kind: kind}, nil
	case ModeKeepID:
		m := Mode{Kind: kind}
		if opts == "" {
			return m, nil
		}
		for _, o := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(o, "=")
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || (k != "uid" && k != "gid") {
				return Mode{}, fmt.Errorf("%w %q: keep-id takes uid=N and gid=N", ErrInvalidMode, s)
			}
			id := uint32(n)
			if k == "uid" {
				m.UID = &id
			} else {
				m.GID = &id
			}
		}
		return m, nil
	case "auto":
		return Mode{}, &HintError{fmt.Errorf("%w: --userns=%s (it would need ranges handed out among containers, which myctr does not keep)", ErrModeUnsupported, s),
			"use the default mapping (--userns=private), --userns=keep-id or --userns=nomap"}
	case "ns", "container":
		return Mode{}, &HintError{fmt.Errorf("%w: --userns=%s (myctr does not join another user namespace)", ErrModeUnsupported, s),
			"every container of yours has the same ids with the default mapping (--userns=private)"}
	}
	return Mode{}, fmt.Errorf("%w %q: want private, host, keep-id[:uid=N,gid=N] or nomap", ErrInvalidMode, s)
}

// KeepID is what a keep-id container needs beyond its maps: which
// container ids are the user, and the user's entry for the container's
// /etc/passwd.
type KeepID struct {
	UID, GID uint32 // the container ids that map to the user
	Name     string // the user's login name
	Home     string // the user's home directory on the host
}

// ForMode returns the mapping of a container started with --userns=mode.
// keep-id needs a subordinate range and a non-root user (as Podman's, it
// is a rootless mode).
func (m *Mapping) ForMode(mode Mode) (*Mapping, error) {
	out := *m
	switch mode.Kind {
	case "", ModePrivate, ModeHost:
		return &out, nil
	case ModeNoMap:
		// The container's directories, its /etc files and the image's
		// layers belong to the user, whom nomap leaves unmapped: the
		// container's root could read none of them without a copy of
		// the image chowned to the subordinate range.
		return nil, &HintError{fmt.Errorf("%w: --userns=nomap (the image and the container's files belong to your uid, which nomap leaves out)", ErrModeUnsupported),
			"use --userns=keep-id to run as yourself, or the default mapping, where the container's users other than root are your subordinate ids"}
	case ModeKeepID:
	default:
		return nil, fmt.Errorf("%w %q", ErrInvalidMode, mode.Kind)
	}
	if m.UID == 0 {
		return nil, &HintError{fmt.Errorf("--userns=%s: %w (it maps the calling user's ids)", mode.Kind, ErrRootlessMode),
			"run myctr as your own user; as root, containers map ids 0..65536 one to one"}
	}
	if !m.HasRange() {
		return nil, &HintError{fmt.Errorf("--userns=%s: %w", mode.Kind, ErrNoRange),
			"as root, give the user a range: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER (a range no other user has)"}
	}
	k := &KeepID{UID: m.UID, GID: m.GID}
	if mode.UID != nil {
		k.UID = *mode.UID
	}
	if mode.GID != nil {
		k.GID = *mode.GID
	}
	if k.UID > m.SubUID.Count || k.GID > m.SubGID.Count {
		return nil, fmt.Errorf("%w: --userns=keep-id: container id %d:%d is beyond the %d subordinate ids below it", ErrInvalidMode, k.UID, k.GID, min(m.SubUID.Count, m.SubGID.Count))
	}
	if u, err := LookupUser(strconv.FormatUint(uint64(m.UID), 10)); err == nil {
		k.Name, k.Home = u.Username, u.HomeDir
	}
	if k.Name == "" {
		k.Name = strconv.FormatUint(uint64(m.UID), 10)
	}
	if k.Home == "" {
		k.Home = "/"
	}
	out.uidMap = keepMaps(k.UID, m.UID, *m.SubUID)
	out.gidMap = keepMaps(k.GID, m.GID, *m.SubGID)
	out.KeepID = k
	return &out, nil
}

// keepMaps puts host id own at container id in, container ids below it on
// the first subordinate ids and those above it on the rest. Precondition:
// in <= sub.Count.
func keepMaps(in, own uint32, sub Range) []specs.LinuxIDMapping {
	var out []specs.LinuxIDMapping
	if in > 0 {
		out = append(out, specs.LinuxIDMapping{ContainerID: 0, HostID: sub.Start, Size: in})
	}
	out = append(out, specs.LinuxIDMapping{ContainerID: in, HostID: own, Size: 1})
	if sub.Count > in {
		out = append(out, specs.LinuxIDMapping{ContainerID: in + 1, HostID: sub.Start + in, Size: sub.Count - in})
	}
	return out
}

// WithMaps returns the mapping with the given maps (a container's, from
// its spec) in place of the default ones.
func (m *Mapping) WithMaps(uids, gids []specs.LinuxIDMapping) *Mapping {
	out := *m
	if len(uids) > 0 && len(gids) > 0 {
		out.uidMap, out.gidMap = uids, gids
	}
	return &out
}

// contiguous counts the container ids 0, 1, 2... that maps covers.
func contiguous(maps []specs.LinuxIDMapping) uint32 {
	var next uint64
	for changed := true; changed; {
		changed = false
		for _, mp := range maps {
			if uint64(mp.ContainerID) <= next && uint64(mp.ContainerID)+uint64(mp.Size) > next {
				next = uint64(mp.ContainerID) + uint64(mp.Size)
				changed = true
			}
		}
	}
	return uint32(min(next, 1<<32-1))
}
