// Package volume is myctr's store of named volumes, kept as Podman keeps
// them: ROOT/volumes/NAME/volume.json (the record) beside
// ROOT/volumes/NAME/_data (the directory containers mount). It also parses
// run's -v and --mount arguments (parse.go).
//
// Threat model: a volume name comes from the command line and becomes a
// path component, so it is checked against Podman's pattern
// ([a-zA-Z0-9][a-zA-Z0-9_.-]*) before any path is made of it: no name is
// "." or "..", holds a "/", or begins with the "." of the store's own
// temporary entries. Files in _data belong to the user's subordinate ids
// (what containers wrote); they are deleted from inside the user namespace.
//
// Crash safety: a volume is made in a temporary directory (.tmp-RANDOM,
// record and _data) that is renamed to its name once complete, and is
// deleted by renaming it to .rm-NAME-RANDOM first; both happen under the
// store's lock, which every sweep also holds, so a crash at any point
// leaves either no volume or a whole one, and leftovers the next create,
// rm or prune deletes.
package volume

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// Sentinels; compare with errors.Is. The texts are Podman's, which
// scripts match on.
var (
	ErrNoSuchVolume  = errors.New("no such volume")
	ErrExists        = errors.New("volume already exists")
	ErrInvalidName   = errors.New("invalid argument")
	ErrInUse         = errors.New("volume is being used")
	ErrInvalidOption = errors.New("invalid argument")
	ErrNoPlugin      = errors.New("required plugin missing")
	ErrInvalidMount  = errors.New("invalid mount")
	ErrDuplicateDest = errors.New("duplicate mount destination")
)

// DriverLocal is the only driver: a directory in the store.
const DriverLocal = "local"

// Volume is a volume's record, volume.json, in the fields and order of
// Podman's `volume inspect`.
type Volume struct {
	Name       string
	Driver     string
	Mountpoint string
	CreatedAt  time.Time
	Labels     map[string]string
	Scope      string
	Options    map[string]string
	UID        int  `json:",omitempty"`
	GID        int  `json:",omitempty"`
	Anonymous  bool `json:",omitempty"`
	MountCount int
	// NeedsCopyUp: a container that mounts the volume over a non-empty
	// directory of its image copies that directory into it first (once).
	NeedsCopyUp bool `json:",omitempty"`
	// NeedsChown: the first container that mounts it gives the volume's
	// directory the owner of the directory it covers (else the
	// container's user).
	NeedsChown bool `json:",omitempty"`
}

// Kind is how the volume is mounted: "" a directory of the store, "bind"
// another directory (Options["device"]), "tmpfs" a fresh tmpfs per mount.
func (v *Volume) Kind() string {
	switch t := v.Options["type"]; t {
	case "bind", "tmpfs":
		return t
	}
	if strings.Contains(","+v.Options["o"]+",", ",bind,") {
		return "bind"
	}
	return ""
}

// MountOptions are the mount options of the volume's "o" option that apply
// to each mount (uid= and gid= are applied once, to the directory).
func (v *Volume) MountOptions() []string {
	var out []string
	for _, o := range strings.Split(v.Options["o"], ",") {
		k, _, _ := strings.Cut(o, "=")
		switch k {
		case "", "uid", "gid", "bind", "rbind":
			continue
		}
		out = append(out, o)
	}
	return out
}

// ValidName checks a volume name the way Podman does.
func ValidName(name string) error {
	if !names.Valid(name) {
		return fmt.Errorf("names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: %w", ErrInvalidName)
	}
	return nil
}

// Store is the volumes below ROOT/volumes.
type Store struct {
	dir string
}

// Open opens (and creates) the volume store of the store root root.
func Open(root string) (*Store, error) {
	dir := DirIn(root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create volume store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// DirIn is the directory under the store root that holds the volumes
// (what `info` reports as Podman's volumePath).
func DirIn(root string) string { return filepath.Join(root, "volumes") }

// Dir is the directory that holds the volumes.
func (s *Store) Dir() string { return s.dir }

// Lock holds the store's lock until the returned function is called.
func (s *Store) Lock() (func(), error) {
	l, err := flock.Acquire(filepath.Join(s.dir, ".lock"), 0o600, flock.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("lock volume store: %w", err)
	}
	return func() { l.Close() }, nil
}

// CreateOptions are volume create's flags.
type CreateOptions struct {
	Name      string // "" a random 64-hex name
	Driver    string // "" or local
	Labels    map[string]string
	Options   map[string]string // type=, device=, o=
	Anonymous bool
	// Exist: a volume of that name already there is no error (run's
	// -v NAME:/PATH makes the volume on first use).
	Exist bool
}

func randomHex() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// checkOptions validates volume create's -o options as Podman's local
// driver does.
func checkOptions(opts map[string]string) (uid, gid int, err error) {
	for k, v := range opts {
		switch k {
		case "type":
			if v != "" && v != "bind" && v != "tmpfs" && v != "none" {
				return 0, 0, fmt.Errorf("invalid volume option type %q for driver 'local' (bind, tmpfs or none): %w", v, ErrInvalidOption)
			}
		case "device":
		case "o":
			for _, o := range strings.Split(v, ",") {
				key, val, _ := strings.Cut(o, "=")
				switch key {
				case "uid", "gid":
					n, err := strconv.Atoi(val)
					if err != nil || n < 0 {
						return 0, 0, fmt.Errorf("invalid volume option %s=%s for driver 'local': %w", key, val, ErrInvalidOption)
					}
					if key == "uid" {
						uid = n
					} else {
						gid = n
					}
				}
			}
		default:
			return 0, 0, fmt.Errorf("invalid mount option %s for driver 'local': %w", k, ErrInvalidOption)
		}
	}
	if opts["type"] == "bind" || strings.Contains(","+opts["o"]+",", ",bind,") {
		if _, err := os.Stat(opts["device"]); err != nil {
			return 0, 0, fmt.Errorf("invalid volume option device for driver 'local': %w", unwrapPath(err))
		}
	}
	return uid, gid, nil
}

// unwrapPath makes a *PathError read as Podman's "stat PATH: REASON".
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %v", pe.Op, pe.Path, pe.Err)
	}
	return err
}

// Create makes a volume: its record and its empty _data directory, owned
// by the user (root in containers).
func (s *Store) Create(o CreateOptions) (*Volume, error) {
	if o.Driver != "" && o.Driver != DriverLocal {
		return nil, fmt.Errorf("volume %s uses volume plugin %s but it could not be retrieved: no volume plugin with name %s available: %w", o.Name, o.Driver, o.Driver, ErrNoPlugin)
	}
	name := o.Name
	if name == "" {
		name = randomHex()
	} else if err := ValidName(name); err != nil {
		return nil, err
	}
	uid, gid, err := checkOptions(o.Options)
	if err != nil {
		return nil, err
	}
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.sweep()
	if v, err := s.get(name); err == nil {
		if o.Exist {
			return v, nil
		}
		return nil, fmt.Errorf("volume with name %s already exists: %w", name, ErrExists)
	} else if !errors.Is(err, ErrNoSuchVolume) {
		return nil, err
	}
	v := &Volume{
		Name: name, Driver: DriverLocal, Mountpoint: filepath.Join(s.dir, name, "_data"),
		CreatedAt: time.Now().UTC(), Labels: o.Labels, Scope: "local", Options: o.Options,
		UID: uid, GID: gid, Anonymous: o.Anonymous, NeedsCopyUp: true, NeedsChown: true,
	}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if v.Options == nil {
		v.Options = map[string]string{}
	}
	if uid != 0 || gid != 0 {
		// Owned as asked, at once: the first container keeps it so.
		v.NeedsChown = false
		if uid != 0 {
			v.Options["UID"] = strconv.Itoa(uid)
		}
		if gid != 0 {
			v.Options["GID"] = strconv.Itoa(gid)
		}
	}
	tmp := filepath.Join(s.dir, ".tmp-"+randomHex()[:16])
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	// _data is searchable by every id of the user namespace (as Podman's
	// 0755): a container's user other than root reaches what it mounts.
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err == nil {
		err = os.Chmod(filepath.Join(tmp, "_data"), 0o755)
	}
	if err == nil {
		err = writeRecord(tmp, v)
	}
	if err == nil && (uid != 0 || gid != 0) {
		err = Chown(filepath.Join(tmp, "_data"), uid, gid)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		nsexec.RemoveTree(tmp)
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	return v, nil
}

func writeRecord(dir string, v *Volume) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "volume.json"), b, 0o600)
}

// get reads a volume's record; the store's own entries (.lock, .tmp-,
// .rm-) are never names.
func (s *Store) get(name string) (*Volume, error) {
	if ValidName(name) != nil {
		return nil, fmt.Errorf("no volume with name %q found: %w", name, ErrNoSuchVolume)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, name, "volume.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no volume with name %q found: %w", name, ErrNoSuchVolume)
	}
	if err != nil {
		return nil, fmt.Errorf("read volume %s: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode volume %s: %w", name, err)
	}
	// The store may have moved (--root): the record's path is not trusted.
	v.Name = name
	v.Mountpoint = filepath.Join(s.dir, name, "_data")
	return &v, nil
}

// Get returns the named volume.
func (s *Store) Get(name string) (*Volume, error) { return s.get(name) }

// List returns every volume, by name.
func (s *Store) List() ([]*Volume, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for _, e := range ents {
		if !e.IsDir() || ValidName(e.Name()) != nil {
			continue
		}
		v, err := s.get(e.Name())
		if errors.Is(err, ErrNoSuchVolume) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Update re-reads the record under the lock, applies f and saves it.
func (s *Store) Update(name string, f func(v *Volume)) (*Volume, error) {
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	v, err := s.get(name)
	if err != nil {
		return nil, err
	}
	f(v)
	if err := writeRecord(filepath.Join(s.dir, name), v); err != nil {
		return nil, fmt.Errorf("write volume %s: %w", name, err)
	}
	return v, nil
}

// Remove deletes a volume and its data. Whether containers use it is the
// caller's to check.
func (s *Store) Remove(name string) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	if _, err := s.get(name); err != nil {
		unlock()
		return err
	}
	// Out of every listing at once; a crash while deleting leaves a .rm-
	// directory that the next sweep deletes.
	gone := filepath.Join(s.dir, ".rm-"+name+"-"+randomHex()[:8])
	err = os.Rename(filepath.Join(s.dir, name), gone)
	unlock()
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := nsexec.RemoveTree(gone); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// Sweep deletes what an interrupted create or rm left.
func (s *Store) Sweep() {
	unlock, err := s.Lock()
	if err != nil {
		return
	}
	defer unlock()
	s.sweep()
}

// sweep: Preconditions: the store lock is held (so no create is in flight).
func (s *Store) sweep() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".rm-") {
			nsexec.RemoveTree(filepath.Join(s.dir, e.Name()))
		}
	}
}

// IsEmpty says whether a volume's directory holds nothing.
func IsEmpty(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}

// Chown gives dir the container ids uid and gid, from inside the user
// namespace (where they are mapped).
func Chown(dir string, uid, gid int) error {
	m, err := userns.Current()
	if err != nil {
		return err
	}
	var out strings.Builder
	u := &nsexec.UserNSCommand{Sub: "chown", Args: []string{dir, strconv.Itoa(uid), strconv.Itoa(gid)}, Stderr: &out}
	if err := u.Run(m); err != nil {
		return fmt.Errorf("chown %s to %d:%d in the user namespace: %w: %s", dir, uid, gid, err, strings.TrimSpace(out.String()))
	}
	return nil
}
