package volume

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Mount types.
const (
	TypeBind   = "bind"
	TypeVolume = "volume"
	TypeTmpfs  = "tmpfs"
)

// Mount is one -v, --mount or --tmpfs argument, parsed.
type Mount struct {
	Type        string // bind, volume or tmpfs
	Source      string // bind: an absolute host path; volume: its name ("" anonymous)
	Destination string
	// Options are the mount options that go to the kernel: ro or rw,
	// exec/noexec, suid/nosuid, dev/nodev, propagation, and a tmpfs's
	// size= and mode=.
	Options []string
	// Chown is :U (--mount ...,U=true): the source is given to the
	// container's user, recursively, before each start.
	Chown bool
	// NoCopy: a new volume is not filled from the image's directory.
	NoCopy bool
	// Bind is non-recursive (bind-nonrecursive=true).
	NonRecursive bool
}

// ReadOnly says whether the mount is read-only.
func (m Mount) ReadOnly() bool {
	ro := false
	for _, o := range m.Options {
		switch o {
		case "ro":
			ro = true
		case "rw":
			ro = false
		}
	}
	return ro
}

// Same says whether two mounts are the same request (a repeated -v is
// allowed; two different mounts on one destination are not).
func (m Mount) Same(o Mount) bool {
	return m.Type == o.Type && m.Source == o.Source && m.Destination == o.Destination &&
		slices.Equal(m.Options, o.Options) && m.Chown == o.Chown && m.NoCopy == o.NoCopy
}

// IsNamedSource applies Podman's rule to a -v source: one that does not
// begin with "/" or "." is a volume name.
func IsNamedSource(src string) bool {
	return !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".")
}

func badVolume(arg, format string, a ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidMount, arg, fmt.Sprintf(format, a...))
}

// addOption adds one of the options -v and --mount share to m, and
// reports whether it was one.
func (m *Mount) addOption(o string) (bool, error) {
	switch o {
	case "ro", "rw":
		for _, have := range m.Options {
			if have == "ro" || have == "rw" {
				return true, fmt.Errorf("cannot set both %s and %s", have, o)
			}
		}
		m.Options = append(m.Options, o)
	case "z", "Z":
		// SELinux relabelling: without SELinux (myctr does not use it)
		// there is no label to set, so it is accepted and does nothing.
	case "U":
		m.Chown = true
	case "exec", "noexec", "suid", "nosuid", "dev", "nodev":
		m.Options = append(m.Options, o)
	case "private", "rprivate", "shared", "rshared", "slave", "rslave":
		if m.Type == TypeTmpfs {
			return false, nil
		}
		m.Options = append(m.Options, o)
	case "nocopy":
		m.NoCopy = true
	case "copy":
		m.NoCopy = false
	case "bind", "rbind":
		m.NonRecursive = o == "bind"
	default:
		return false, nil
	}
	return true, nil
}

// ParseVolumeFlag parses -v SOURCE:DESTINATION[:OPTIONS], or -v DESTINATION
// alone (an anonymous volume). A SOURCE that begins with "/" or "." is a
// host path (a relative one is taken from the working directory);
// otherwise it names a volume, made on first use.
func ParseVolumeFlag(arg string) (Mount, error) {
	parts := strings.Split(arg, ":")
	var m Mount
	var opts string
	switch len(parts) {
	case 1:
		m = Mount{Type: TypeVolume, Destination: parts[0]}
	case 2, 3:
		if len(parts) == 2 && parts[1] != "" && !strings.HasPrefix(parts[1], "/") && strings.HasPrefix(parts[0], "/") {
			// DESTINATION:OPTIONS, an anonymous volume with options.
			m, opts = Mount{Type: TypeVolume, Destination: parts[0]}, parts[1]
			break
		}
		m = Mount{Type: TypeBind, Source: parts[0], Destination: parts[1]}
		if len(parts) == 3 {
			opts = parts[2]
		}
	default:
		return Mount{}, badVolume(arg, "want SOURCE:DESTINATION[:OPTIONS]")
	}
	if m.Type == TypeBind {
		switch {
		case m.Source == "":
			return Mount{}, badVolume(arg, "empty source")
		case IsNamedSource(m.Source):
			if err := ValidName(m.Source); err != nil {
				return Mount{}, badVolume(arg, "volume name %q: %v", m.Source, err)
			}
			m.Type = TypeVolume
		default:
			abs, err := filepath.Abs(m.Source)
			if err != nil {
				return Mount{}, badVolume(arg, "%v", err)
			}
			m.Source = abs
		}
	}
	if !filepath.IsAbs(m.Destination) {
		return Mount{}, badVolume(arg, "container path %q must be absolute", m.Destination)
	}
	m.Destination = filepath.Clean(m.Destination)
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			ok, err := m.addOption(o)
			if err != nil {
				return Mount{}, badVolume(arg, "%v", err)
			}
			if !ok {
				return Mount{}, badVolume(arg, "unknown option %q (ro, rw, z, Z, U, exec, noexec, suid, nosuid, dev, nodev, nocopy or a propagation)", o)
			}
		}
	}
	return m, nil
}

// ParseMountFlag parses --mount type=bind|volume|tmpfs,... in Podman's and
// Docker's syntax: source or src, destination, dst or target, ro or
// readonly[=true|false], and the options of each type.
func ParseMountFlag(arg string) (Mount, error) {
	var m Mount
	var size, mode string
	for _, kv := range strings.Split(arg, ",") {
		k, v, hasValue := strings.Cut(kv, "=")
		boolean := func() (bool, error) {
			switch strings.ToLower(v) {
			case "", "true":
				return true, nil
			case "false":
				return false, nil
			}
			return false, badVolume(arg, "%s=%s: want true or false", k, v)
		}
		switch k {
		case "type":
			m.Type = v
		case "source", "src":
			m.Source = v
		case "destination", "dst", "target":
			m.Destination = v
		case "ro", "readonly", "rw":
			b, err := boolean()
			if err != nil {
				return Mount{}, err
			}
			if k == "rw" {
				b = !b
			}
			opt := "rw"
			if b {
				opt = "ro"
			}
			if _, err := m.addOption(opt); err != nil {
				return Mount{}, badVolume(arg, "%v", err)
			}
		case "U", "chown":
			b, err := boolean()
			if err != nil {
				return Mount{}, err
			}
			m.Chown = b
		case "relabel":
			if v != "shared" && v != "private" {
				return Mount{}, badVolume(arg, "relabel=%s: want shared or private", v)
			}
		case "bind-propagation":
			if _, err := m.addOption(v); err != nil || !slices.Contains([]string{"private", "rprivate", "shared", "rshared", "slave", "rslave"}, v) {
				return Mount{}, badVolume(arg, "bind-propagation=%s: want [r]private, [r]shared or [r]slave", v)
			}
		case "bind-nonrecursive":
			b, err := boolean()
			if err != nil {
				return Mount{}, err
			}
			m.NonRecursive = b
		case "volume-nocopy", "nocopy":
			b, err := boolean()
			if err != nil {
				return Mount{}, err
			}
			m.NoCopy = b
		case "tmpfs-size", "size":
			size = v
		case "tmpfs-mode", "mode":
			mode = v
		case "consistency", "volume-driver":
			// Docker Desktop's consistency and the driver (only local): nothing to do.
		case "tmpcopyup":
		case "notmpcopyup":
			// A tmpfs starts empty, not with the image's files there.
			m.NoCopy = true
		default:
			if hasValue {
				return Mount{}, badVolume(arg, "unknown option %q", k)
			}
			ok, err := m.addOption(k)
			if err != nil {
				return Mount{}, badVolume(arg, "%v", err)
			}
			if !ok {
				return Mount{}, badVolume(arg, "unknown option %q", k)
			}
		}
	}
	switch m.Type {
	case TypeBind:
		if m.Source == "" {
			return Mount{}, badVolume(arg, "type=bind needs a source")
		}
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return Mount{}, badVolume(arg, "%v", err)
		}
		m.Source = abs
	case TypeVolume:
		if m.Source != "" {
			if err := ValidName(m.Source); err != nil {
				return Mount{}, badVolume(arg, "volume name %q: %v", m.Source, err)
			}
		}
	case TypeTmpfs:
		if m.Source != "" {
			return Mount{}, badVolume(arg, "type=tmpfs takes no source")
		}
		m.Options = append(m.Options, "nosuid", "nodev")
		if size != "" {
			m.Options = append(m.Options, "size="+size)
		}
		if mode != "" {
			m.Options = append(m.Options, "mode="+mode)
		}
	case "":
		return Mount{}, badVolume(arg, "type= is required (bind, volume or tmpfs)")
	default:
		return Mount{}, badVolume(arg, "type=%s is not supported (bind, volume or tmpfs)", m.Type)
	}
	if (size != "" || mode != "") && m.Type != TypeTmpfs {
		return Mount{}, badVolume(arg, "tmpfs-size and tmpfs-mode go with type=tmpfs only")
	}
	if m.Destination == "" || !filepath.IsAbs(m.Destination) {
		return Mount{}, badVolume(arg, "destination %q must be an absolute path", m.Destination)
	}
	m.Destination = filepath.Clean(m.Destination)
	return m, nil
}

// ParseVolumesFrom parses --volumes-from CONTAINER[:ro|rw|z|Z] into the
// container and the mode it forces ("" keeps each mount's own).
func ParseVolumesFrom(arg string) (ctr, mode string, err error) {
	ctr, opts, _ := strings.Cut(arg, ":")
	if ctr == "" {
		return "", "", badVolume(arg, "want CONTAINER[:ro|rw]")
	}
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "":
		case "ro", "rw":
			if mode != "" && mode != o {
				return "", "", badVolume(arg, "cannot set both ro and rw")
			}
			mode = o
		case "z", "Z":
			// No SELinux: nothing to relabel.
		default:
			return "", "", badVolume(arg, "unknown option %q (ro, rw, z or Z)", o)
		}
	}
	return ctr, mode, nil
}
