// Package secret is myctr's store of secrets (`myctr secret`, run's
// --secret): small blobs a container needs at run time that belong in
// neither its image nor its command line, kept as Podman's "file" driver
// keeps them, unencrypted, for the user alone: ROOT/secrets/ (0700) holds
// ID.json (the record, Podman's `secret inspect` fields) and ID (the data,
// 0600) for each secret.
//
// Threat model: another local user, who must read no secret. The
// directory is 0700 (made so, and set so if it was not) and every file is
// written 0600 through atomicfile, whatever the umask. A name comes from
// the command line but never becomes a path: files are named by the id,
// 25 random hex digits, as Podman's. The data is read only by the user's
// own myctr, at create, to copy it into the container (see container's
// Secrets).
//
// Crash safety: the data is written before the record, and the record is
// removed before the data, under the store's lock: a secret whose record
// exists has its data; a crash may leave data without a record, which
// nothing lists and the next create or rm removes.
package secret

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// Sentinels; compare with errors.Is. The texts are Podman's.
var (
	ErrNoSuchSecret = errors.New("no such secret")
	ErrNameInUse    = errors.New("secret name in use")
	ErrInvalidName  = errors.New("invalid secret name")
	ErrInvalidData  = errors.New("secret data must be larger than 0 and less than 512000 bytes")
	ErrAmbiguous    = errors.New("more than one secret matches")
)

// DriverFile is the only driver: files in the store, as Podman's default.
const DriverFile = "file"

// MaxSize bounds a secret's data, as Podman does (less than 512000 bytes).
const MaxSize = 512000

// MaxNameLen is the longest name Podman gives a secret.
const MaxNameLen = 64

// idLen is the length of an id: 25 hex digits, as Podman's.
const idLen = 25

// Secret is a secret's record, ID.json, in the fields and order of
// Podman's `secret inspect`.
type Secret struct {
	ID        string
	CreatedAt time.Time
	UpdatedAt time.Time
	Spec      Spec
}

// Spec is what the secret was made with.
type Spec struct {
	Name   string
	Driver Driver
	Labels map[string]string
}

// Driver is where the data is kept: Options["path"] is the directory.
type Driver struct {
	Name    string
	Options map[string]string
}

// ValidName checks a secret's name as Podman does: at most 64 of
// [a-zA-Z0-9_.-], beginning and ending with a letter or digit.
func ValidName(name string) error {
	bad := name == "" || len(name) > MaxNameLen
	for i := 0; i < len(name) && !bad; i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '.' || c == '-') && i > 0 && i < len(name)-1:
		default:
			bad = true
		}
	}
	if bad {
		// Podman's words.
		return fmt.Errorf("only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]: %s: %w", name, ErrInvalidName)
	}
	return nil
}

// Store is the secrets below ROOT/secrets.
type Store struct{ dir string }

// Open opens (and creates) the secret store of the store root root.
func Open(root string) (*Store, error) {
	dir := filepath.Join(root, "secrets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create secret store: %w", err)
	}
	// Whoever made it, and whatever the umask was: the user's alone.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create secret store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the directory that holds the secrets.
func (s *Store) Dir() string { return s.dir }

func (s *Store) lock() (func(), error) {
	l, err := flock.Acquire(filepath.Join(s.dir, ".lock"), 0o600, flock.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("lock secret store: %w", err)
	}
	return func() { l.Close() }, nil
}

func (s *Store) record(id string) string { return filepath.Join(s.dir, id+".json") }
func (s *Store) data(id string) string   { return filepath.Join(s.dir, id) }

// Create stores data as a new secret called name.
func (s *Store) Create(name string, data []byte, labels map[string]string) (*Secret, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if len(data) == 0 || len(data) >= MaxSize {
		return nil, ErrInvalidData
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, sec := range all {
		if sec.Spec.Name == name {
			return nil, fmt.Errorf("%s: %w", name, ErrNameInUse)
		}
		taken[sec.ID] = true
	}
	s.sweep(taken)
	var id string
	for id == "" || taken[id] {
		if id, err = newID(); err != nil {
			return nil, err
		}
	}
	if labels == nil {
		labels = map[string]string{}
	}
	now := time.Now().UTC()
	sec := &Secret{ID: id, CreatedAt: now, UpdatedAt: now,
		Spec: Spec{Name: name, Driver: Driver{Name: DriverFile, Options: map[string]string{"path": s.dir}}, Labels: labels}}
	rec, err := json.MarshalIndent(sec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(s.data(id), data, 0o600); err != nil {
		return nil, fmt.Errorf("write secret %s: %w", name, err)
	}
	if err := atomicfile.WriteFile(s.record(id), rec, 0o600); err != nil {
		os.Remove(s.data(id))
		return nil, fmt.Errorf("write secret %s: %w", name, err)
	}
	return sec, nil
}

// sweep removes data files without a record (a crash's leftovers).
// Preconditions: the store's lock is held; taken are the recorded ids.
func (s *Store) sweep(taken map[string]bool) {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if n := e.Name(); isID(n) && !taken[n] {
			os.Remove(filepath.Join(s.dir, n))
		}
	}
}

func newID() (string, error) {
	b := make([]byte, (idLen+1)/2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a secret id: %w", err)
	}
	return hex.EncodeToString(b)[:idLen], nil
}

func isID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// List returns every secret, by name.
func (s *Store) List() ([]*Secret, error) { return s.list() }

func (s *Store) list() ([]*Secret, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	var out []*Secret
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !isID(id) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read secret %s: %w", id, err)
		}
		var sec Secret
		if err := json.Unmarshal(b, &sec); err != nil {
			return nil, fmt.Errorf("read secret %s: %w", id, err)
		}
		out = append(out, &sec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out, nil
}

// Lookup finds a secret by name, id, or a prefix of its id that only it
// has.
func (s *Store) Lookup(ref string) (*Secret, error) {
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	return find(all, ref)
}

func find(all []*Secret, ref string) (*Secret, error) {
	var byPrefix []*Secret
	for _, sec := range all {
		if sec.Spec.Name == ref || sec.ID == ref {
			return sec, nil
		}
		if ref != "" && strings.HasPrefix(sec.ID, ref) {
			byPrefix = append(byPrefix, sec)
		}
	}
	switch len(byPrefix) {
	case 0:
		// Podman's words.
		return nil, fmt.Errorf("no secret with name or id %q: %w", ref, ErrNoSuchSecret)
	case 1:
		return byPrefix[0], nil
	}
	return nil, fmt.Errorf("%w: %q", ErrAmbiguous, ref)
}

// Data reads the data of the secret with id id.
func (s *Store) Data(id string) ([]byte, error) {
	if !isID(id) {
		return nil, fmt.Errorf("no secret with id %q: %w", id, ErrNoSuchSecret)
	}
	b, err := os.ReadFile(s.data(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no secret with id %q: %w", id, ErrNoSuchSecret)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", id, err)
	}
	return b, nil
}

// Remove removes the secret ref names and returns it.
func (s *Store) Remove(ref string) (*Secret, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	sec, err := find(all, ref)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(s.record(sec.ID)); err != nil {
		return nil, fmt.Errorf("remove secret %s: %w", sec.Spec.Name, err)
	}
	if err := os.Remove(s.data(sec.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove secret %s: %w", sec.Spec.Name, err)
	}
	return sec, nil
}

// Use is one --secret of run or create:
// NAME[,type=mount|env][,target=TARGET][,mode=MODE][,uid=0][,gid=0].
type Use struct {
	Name string
	// Type is how the container gets it: "mount", a read-only file at
	// Target, or "env", the environment variable Target.
	Type   string
	Target string
	Mode   uint32 // of the file (mount): 0444 unless given
}

// The types of Use.
const (
	TypeMount = "mount"
	TypeEnv   = "env"
)

// MountDir is where a mounted secret goes unless its target is absolute.
const MountDir = "/run/secrets"

// ErrInvalidUse is a --secret that does not parse.
var ErrInvalidUse = errors.New("invalid --secret")

// ParseUse parses a --secret argument, as Podman's.
func ParseUse(v string) (Use, error) {
	parts := strings.Split(v, ",")
	u := Use{Name: parts[0], Type: TypeMount, Mode: 0o444}
	bad := func(format string, args ...any) (Use, error) {
		return Use{}, fmt.Errorf("%w %q: %s", ErrInvalidUse, v, fmt.Sprintf(format, args...))
	}
	if u.Name == "" {
		return bad("no secret name")
	}
	var target, mode string
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok || val == "" {
			return bad("%q is no KEY=VALUE option", p)
		}
		switch k {
		case "type":
			if val != TypeMount && val != TypeEnv {
				return bad("type %q: mount or env", val)
			}
			u.Type = val
		case "target", "src", "source":
			if k == "target" {
				target = val
			} else if val != u.Name {
				return bad("%s=%s names another secret than %s", k, val, u.Name)
			}
		case "mode":
			mode = val
		case "uid", "gid":
			// Rootless, another owner inside the container is a
			// subordinate id the file would have to be chowned to, in
			// the user namespace; myctr does not, and says so.
			if val != "0" {
				return bad("%s=%s: a secret's file belongs to the container's root (uid and gid 0) in myctr", k, val)
			}
		default:
			return bad("unknown option %q (type, target, mode, uid, gid)", k)
		}
	}
	switch u.Type {
	case TypeMount:
		u.Target = filepath.Join(MountDir, u.Name)
		if target != "" {
			u.Target = target
			if !filepath.IsAbs(target) {
				u.Target = filepath.Join(MountDir, target)
			}
			u.Target = filepath.Clean(u.Target)
		}
		if mode != "" {
			m, err := strconv.ParseUint(mode, 8, 32)
			if err != nil || m > 0o777 {
				return bad("mode %q: an octal file mode such as 0400", mode)
			}
			u.Mode = uint32(m)
		}
	case TypeEnv:
		if mode != "" {
			return bad("mode is for type=mount")
		}
		u.Mode = 0
		u.Target = u.Name
		if target != "" {
			u.Target = target
		}
		if strings.ContainsAny(u.Target, "= \t\n") {
			return bad("%q is no environment variable name", u.Target)
		}
	}
	return u, nil
}
