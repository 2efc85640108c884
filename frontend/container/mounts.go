package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/volume"
)

// MountPoint is one of a container's mounts (-v, --mount, --tmpfs,
// --volumes-from, the image's VOLUMEs), as recorded at create and shown by
// inspect under Podman's names.
type MountPoint struct {
	Type        string // bind, volume or tmpfs
	Name        string `json:",omitempty"` // the volume's
	Source      string // a bind's host path; a volume's directory
	Destination string
	Driver      string   `json:",omitempty"`
	Mode        string   // "" or "U"
	RW          bool     // writable
	Propagation string   `json:",omitempty"`
	Options     []string // as given, for the spec
	// Anonymous: the volume was made for this container (-v /PATH, an
	// image VOLUME), and goes with rm -v or --rm.
	Anonymous bool `json:",omitempty"`
	NoCopy    bool `json:",omitempty"`
	// NonRecursive: a plain bind, not an rbind.
	NonRecursive bool `json:",omitempty"`
}

// Image volume modes (--image-volume).
const (
	ImageVolumeBind   = "bind" // an anonymous volume (the default)
	ImageVolumeTmpfs  = "tmpfs"
	ImageVolumeIgnore = "ignore"
)

// Volumes opens the volume store beside the containers.
func (s *Store) Volumes() (*volume.Store, error) {
	return volume.Open(s.Dirs.Root)
}

// planMounts puts together every mount of a new container, in order: -v
// and --mount, --tmpfs, --volumes-from, then the image's VOLUMEs not
// covered by one of them. The same mount given twice counts once; two
// different mounts on one destination are an error, as in Podman.
func (s *Store) planMounts(o *CreateOptions) ([]volume.Mount, error) {
	var all []volume.Mount
	add := func(m volume.Mount) error {
		for _, have := range all {
			if have.Destination != m.Destination {
				continue
			}
			if have.Same(m) {
				return nil
			}
			return fmt.Errorf("%s: %w", m.Destination, volume.ErrDuplicateDest)
		}
		all = append(all, m)
		return nil
	}
	for _, m := range o.Mounts {
		if m.Type == volume.TypeBind {
			if _, err := os.Stat(m.Source); err != nil {
				return nil, fmt.Errorf("%w %s: host path: %w", ErrInvalidVolume, m.Source, err)
			}
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	for _, v := range o.Tmpfs {
		t, err := ParseTmpfs(v)
		if err != nil {
			return nil, err
		}
		if err := add(volume.Mount{Type: volume.TypeTmpfs, Destination: t.Destination, Options: t.Options}); err != nil {
			return nil, err
		}
	}
	for _, ref := range o.VolumesFrom {
		name, mode, err := volume.ParseVolumesFrom(ref)
		if err != nil {
			return nil, err
		}
		src, err := s.Lookup(name)
		if err != nil {
			return nil, err
		}
		for _, mp := range src.Mounts {
			if mp.Type == volume.TypeTmpfs {
				continue
			}
			m := volume.Mount{Type: mp.Type, Source: mp.Source, Destination: mp.Destination, NoCopy: true, NonRecursive: mp.NonRecursive}
			if mp.Type == volume.TypeVolume {
				m.Source = mp.Name
			}
			for _, opt := range mp.Options {
				if (opt == "ro" || opt == "rw") && mode != "" {
					continue
				}
				m.Options = append(m.Options, opt)
			}
			if mode != "" {
				m.Options = append(m.Options, mode)
			}
			if err := add(m); err != nil {
				return nil, err
			}
		}
	}
	if o.ImageVolume != ImageVolumeIgnore {
		var dests []string
		for d := range o.Image.Volumes {
			// A relative VOLUME (`VOLUME ['/a', '/b']` is two words,
			// "[/a," and "/b]") is below /, as Docker and Podman take it.
			if d != "" {
				dests = append(dests, filepath.Clean("/"+d))
			}
		}
		sort.Strings(dests)
		for _, d := range dests {
			if slices.ContainsFunc(all, func(m volume.Mount) bool { return m.Destination == d }) {
				continue
			}
			m := volume.Mount{Type: volume.TypeVolume, Destination: d}
			if o.ImageVolume == ImageVolumeTmpfs {
				m = volume.Mount{Type: volume.TypeTmpfs, Destination: d, Options: []string{"rw", "nosuid", "nodev"}}
			}
			all = append(all, m)
		}
	}
	return all, nil
}

// makeVolumes turns the planned mounts into the container's mount points:
// it makes anonymous volumes and named ones that are not there yet (the
// names of those it made are returned, to undo a failed create).
func (s *Store) makeVolumes(plan []volume.Mount) (mps []MountPoint, made []string, err error) {
	var vs *volume.Store
	for _, m := range plan {
		mp := MountPoint{Type: m.Type, Source: m.Source, Destination: m.Destination, Options: m.Options,
			RW: !m.ReadOnly(), NoCopy: m.NoCopy, NonRecursive: m.NonRecursive, Propagation: "rprivate"}
		for _, o := range m.Options {
			if strings.Contains(o, "private") || strings.Contains(o, "shared") || strings.Contains(o, "slave") {
				mp.Propagation = o
			}
		}
		if m.Chown {
			mp.Mode = "U"
		}
		if m.Type == volume.TypeTmpfs {
			mp.Source, mp.Propagation = "tmpfs", ""
		}
		if m.Type == volume.TypeVolume {
			if vs == nil {
				if vs, err = s.Volumes(); err != nil {
					return nil, made, err
				}
			}
			_, gerr := vs.Get(m.Source)
			v, err := vs.Create(volume.CreateOptions{Name: m.Source, Anonymous: m.Source == "", Exist: true})
			if err != nil {
				return nil, made, err
			}
			if m.Source == "" || errors.Is(gerr, volume.ErrNoSuchVolume) {
				made = append(made, v.Name)
			}
			mp.Name, mp.Source, mp.Driver, mp.Anonymous = v.Name, v.Mountpoint, v.Driver, v.Anonymous
		}
		mps = append(mps, mp)
	}
	return mps, made, nil
}

// removeVolumes deletes volumes a failed create made.
func (s *Store) removeVolumes(names []string) {
	if len(names) == 0 {
		return
	}
	vs, err := s.Volumes()
	if err != nil {
		return
	}
	for _, n := range names {
		vs.Remove(n)
	}
}

// The options myctr's init acts on before it binds a volume (stripped
// before the kernel sees them; see rootfs.bindMount).
const (
	// OptCopyUp: copy the image's directory at the destination into the
	// (empty) source first.
	OptCopyUp = "x-myctr.copyup"
	// OptOwn=UID:GID: give the source the owner and mode of the image's
	// directory at the destination, or UID:GID where the image has none.
	OptOwn = "x-myctr.own="
	// OptChown=UID:GID: chown the source recursively to UID:GID unless
	// its top already has that owner (:U).
	OptChown = "x-myctr.chown="
)

// specMounts turns the container's mount points into OCI mounts. A
// volume's source comes from its record: a directory of the store, the
// device of a bind-type volume, or a tmpfs.
func (s *Store) specMounts(mps []MountPoint, user specs.User) ([]specs.Mount, error) {
	var out []specs.Mount
	var vs *volume.Store
	for _, mp := range mps {
		if mp.Type == volume.TypeTmpfs {
			o := slices.Clone(mp.Options)
			if !mp.NoCopy {
				// As Podman: the tmpfs starts with what the image (and
				// a cp before the first start) has at its place.
				o = append(o, "tmpcopyup")
			}
			out = append(out, specs.Mount{Destination: mp.Destination, Type: "tmpfs", Source: "tmpfs", Options: o})
			continue
		}
		bind := "rbind"
		if mp.NonRecursive {
			bind = "bind"
		}
		opts := []string{bind}
		if !slices.ContainsFunc(mp.Options, func(o string) bool {
			return strings.Contains(o, "private") || strings.Contains(o, "shared") || strings.Contains(o, "slave")
		}) {
			opts = append(opts, "rprivate")
		}
		opts = append(opts, mp.Options...)
		src := mp.Source
		if mp.Type == volume.TypeVolume {
			if vs == nil {
				var err error
				if vs, err = s.Volumes(); err != nil {
					return nil, err
				}
			}
			v, err := vs.Get(mp.Name)
			if err != nil {
				return nil, err
			}
			switch v.Kind() {
			case "tmpfs":
				o := append([]string{"rw", "nosuid", "nodev"}, v.MountOptions()...)
				for _, opt := range mp.Options {
					if opt == "ro" || opt == "rw" || strings.HasPrefix(opt, "no") {
						o = append(o, opt)
					}
				}
				out = append(out, specs.Mount{Destination: mp.Destination, Type: "tmpfs", Source: "tmpfs", Options: o})
				continue
			case "bind":
				src = v.Options["device"]
			default:
				src = v.Mountpoint
				opts = append(v.MountOptions(), opts...)
			}
		}
		if mp.Mode == "U" {
			opts = append(opts, OptChown+strconv.Itoa(int(user.UID))+":"+strconv.Itoa(int(user.GID)))
		}
		out = append(out, specs.Mount{Destination: mp.Destination, Type: "bind", Source: src, Options: opts})
	}
	return out, nil
}

// prepareVolumes is a start's part in Podman's volume life: a volume's
// first mount gives it the owner of the directory it covers
// (NeedsChown), and a volume still empty mounted over a non-empty
// directory of the image gets that directory's contents (NeedsCopyUp,
// once). The record is updated here; the init does the work (in the
// container's user namespace, where the image's owners are mapped).
func (s *Store) prepareVolumes(c *Container, spec *specs.Spec) error {
	var vs *volume.Store
	for _, mp := range c.Mounts {
		if mp.Type != volume.TypeVolume {
			continue
		}
		if vs == nil {
			var err error
			if vs, err = s.Volumes(); err != nil {
				return err
			}
		}
		v, err := vs.Get(mp.Name)
		if err != nil {
			return err
		}
		if v.Kind() != "" || !(v.NeedsChown || v.NeedsCopyUp) {
			continue
		}
		var extra []string
		if v.NeedsChown {
			extra = append(extra, fmt.Sprintf("%s%d:%d", OptOwn, spec.Process.User.UID, spec.Process.User.GID))
		}
		copyUp := false
		if v.NeedsCopyUp && !mp.NoCopy && imageDirHasFiles(c, mp.Destination) {
			copyUp = true
			if volume.IsEmpty(v.Mountpoint) {
				extra = append(extra, OptCopyUp)
			}
		}
		if _, err := vs.Update(v.Name, func(v *volume.Volume) {
			v.NeedsChown = false
			if copyUp {
				v.NeedsCopyUp = false
			}
		}); err != nil {
			return err
		}
		for i := range spec.Mounts {
			if spec.Mounts[i].Destination == mp.Destination && spec.Mounts[i].Type == "bind" {
				spec.Mounts[i].Options = append(spec.Mounts[i].Options, extra...)
			}
		}
	}
	return nil
}

// imageDirHasFiles says whether the container's root filesystem has a
// non-empty directory at dest, looking through its overlay layers (the
// container's upper directory first) as overlayfs would: a whiteout hides
// the path, an opaque directory hides the layers below it.
func imageDirHasFiles(c *Container, dest string) bool {
	layers := append([]string{c.File("upper")}, c.Lower...)
	for _, l := range layers {
		p, err := securejoin.SecureJoin(l, dest)
		if err != nil {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeCharDevice != 0 {
			return false // a whiteout
		}
		if !fi.IsDir() {
			return false
		}
		ents, err := os.ReadDir(p)
		if errors.Is(err, os.ErrPermission) {
			// A directory of another id of the image, closed to the
			// user: taken as holding files; the init, which reads it as
			// root of the user namespace, copies what there is.
			return true
		}
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.Type()&os.ModeCharDevice == 0 {
				return true
			}
		}
		if opaque(p) {
			return false
		}
	}
	return false
}

func opaque(dir string) bool {
	var b [1]byte
	for _, x := range []string{"user.overlay.opaque", "trusted.overlay.opaque"} {
		if n, err := unix.Lgetxattr(dir, x, b[:]); err == nil && n == 1 && b[0] == 'y' {
			return true
		}
	}
	return false
}

// VolumeUsers lists the containers that mount the named volume.
func (s *Store) VolumeUsers(name string) ([]*Container, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range all {
		if slices.ContainsFunc(c.Mounts, func(mp MountPoint) bool { return mp.Type == volume.TypeVolume && mp.Name == name }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// RemoveAnonymousVolumes deletes the anonymous volumes of a removed
// container that no other container mounts (rm -v, and --rm).
func (s *Store) RemoveAnonymousVolumes(c *Container) error {
	var failed error
	for _, mp := range c.Mounts {
		if mp.Type != volume.TypeVolume || !mp.Anonymous {
			continue
		}
		users, err := s.VolumeUsers(mp.Name)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(users, func(o *Container) bool { return o.ID != c.ID }) {
			continue
		}
		vs, err := s.Volumes()
		if err != nil {
			return err
		}
		if err := vs.Remove(mp.Name); err != nil && !errors.Is(err, volume.ErrNoSuchVolume) {
			failed = err
		}
	}
	return failed
}
