// Package pod is myctr's store of pods, as Podman keeps them: a pod is a
// record (ROOT/pods/ID/pod.json) naming what its containers share; its
// containers are ordinary containers whose record names the pod
// (container.PodInfo), and its infra container, made from the pause image,
// holds the namespaces the others join (see lifecycle.go).
//
// A pod's members are never listed in its record: they are found by
// scanning the containers for the pod's id, so a crash between the pod's
// record and a container's (or the other way round) leaves nothing that
// `pod rm` or `pod prune` cannot find.
//
// Crash safety: a record is made in a temporary directory (.tmp-RANDOM)
// renamed to the pod's id once written, and deleted by renaming it to
// .rm-ID first; both happen under the store's lock, which the sweep also
// holds.
package pod

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// Sentinels; compare with errors.Is. The texts are Podman's, which scripts
// match.
var (
	ErrNoSuchPod    = errors.New("no such pod")
	ErrPodExists    = errors.New("pod already exists")
	ErrAmbiguous    = errors.New("more than one result for ID or name")
	ErrInvalidName  = errors.New("invalid pod name")
	ErrInvalidShare = errors.New("invalid --share")
	ErrHasMembers   = errors.New("pod has containers that are not ready to be removed")
)

// The namespaces a pod's containers may share (--share): myctr's members
// always join the infra's user and network namespaces (rootless, the
// network namespace belongs to the user namespace), and the IPC and UTS
// namespaces when the pod shares them. A PID or cgroup namespace is each
// container's own (PID 1 of each container mounts its /proc).
const (
	ShareNet = "net"
	ShareIPC = "ipc"
	ShareUTS = "uts"
)

// DefaultShare is Podman 4.3's default --share (specgen's
// DefaultKernelNamespaces).
var DefaultShare = []string{ShareIPC, ShareNet, ShareUTS}

// Pod is a pod's record, pod.json.
type Pod struct {
	ID        string
	Name      string
	Created   time.Time
	Labels    map[string]string
	Hostname  string   `json:",omitempty"` // the shared UTS namespace's host name
	Share     []string // sorted: what members join of the infra
	Infra     bool     // the pod has (or is to have) an infra container
	InfraID   string   `json:",omitempty"` // set once the infra container exists
	InfraName string   `json:",omitempty"`
	// InfraImage is the image of the infra container, as given or the
	// pause image.
	InfraImage    string   `json:",omitempty"`
	Network       string   `json:",omitempty"` // the infra's network mode as given
	PortBindings  []string `json:",omitempty"` // -p as given
	CreateCommand []string `json:",omitempty"`
	// ExitPolicy is what the pod does once its last container (besides
	// the infra) exits: ExitContinue ("", the default) keeps the infra
	// running, ExitStop stops it.
	ExitPolicy string `json:",omitempty"`
}

// Exit policies (pod create --exit-policy), Podman's.
const (
	ExitContinue = "continue"
	ExitStop     = "stop"
)

// ErrInvalidExitPolicy is an --exit-policy other than continue or stop.
var ErrInvalidExitPolicy = errors.New("invalid pod exit policy")

// ParseExitPolicy reads --exit-policy: "" for continue, the default.
func ParseExitPolicy(v string) (string, error) {
	switch v {
	case "", ExitContinue:
		return "", nil
	case ExitStop:
		return ExitStop, nil
	}
	return "", fmt.Errorf("%w: %q", ErrInvalidExitPolicy, v)
}

// Shares reports whether the pod's members share namespace ns of its
// infra container.
func (p *Pod) Shares(ns string) bool { return p.Infra && slices.Contains(p.Share, ns) }

// ParseShare reads --share as Podman does: a comma-separated list that
// replaces the default, or one that begins with "+" and adds to it;
// "none" shares nothing. The members join the infra's user namespace for
// any sharing; without "net" each has a network namespace of its own in
// it.
func ParseShare(v string, infra bool) ([]string, error) {
	var out []string
	add, plus := strings.CutPrefix(v, "+")
	if plus {
		out = slices.Clone(DefaultShare)
	} else {
		add = v
	}
	for _, ns := range strings.Split(add, ",") {
		ns = strings.TrimSpace(ns)
		switch ns {
		case "":
		case "none":
			if plus {
				return nil, fmt.Errorf("%w: none cannot be added to the default", ErrInvalidShare)
			}
			out = nil
		case ShareNet, ShareIPC, ShareUTS:
			if !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		case "pid", "cgroup":
			return nil, fmt.Errorf("%w: sharing the %s namespace is not supported: each container of a myctr pod has its own", ErrInvalidShare, ns)
		default:
			// Podman's words, which scripts match.
			return nil, fmt.Errorf("%w: invalid kernel namespace to share: %s. Options are: cgroup, ipc, net, pid, uts or none", ErrInvalidShare, ns)
		}
	}
	sort.Strings(out)
	if len(out) > 0 && !infra {
		// Podman's words.
		return nil, fmt.Errorf("%w: You cannot share kernel namespaces on the pod level without an infra container", ErrInvalidShare)
	}
	return out, nil
}

// Status is a pod's status from its containers' (created, running,
// stopping, paused, exited: Container.StatusWord), by Podman's rules:
// Created with none, Running when all run (a stopping one still runs),
// Degraded when some do, Paused when all are paused, Exited when all have
// exited, Stopped when some have and the rest never ran or are paused.
func Status(ctrs []string) string {
	if len(ctrs) == 0 {
		return "Created"
	}
	running, paused, stopped, created := 0, 0, 0, 0
	for _, s := range ctrs {
		switch s {
		case "running", "stopping":
			running++
		case "paused":
			paused++
		case "exited", "stopped":
			stopped++
		case "created", "configured":
			created++
		}
	}
	switch {
	case running == len(ctrs):
		return "Running"
	case running > 0:
		return "Degraded"
	case paused == len(ctrs):
		return "Paused"
	case stopped == len(ctrs):
		return "Exited"
	case stopped > 0:
		return "Stopped"
	case created == len(ctrs):
		return "Created"
	}
	return "Error"
}

// Store is the set of pods under a directory (container.Dirs.Pods).
type Store struct{ dir string }

// Open opens (and creates) the pod store at dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pod store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Lock holds the store's lock until the returned function is called:
// every name reservation, record change and removal happens under it.
func (s *Store) Lock() (func(), error) {
	l, err := flock.Acquire(filepath.Join(s.dir, ".lock"), 0o600, flock.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("lock pod store: %w", err)
	}
	return func() { l.Close() }, nil
}

// ValidName checks a pod name as Podman does (its container names' rule).
func ValidName(n string) error {
	if !names.Valid(n) {
		return fmt.Errorf("%w: %q (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]*)", ErrInvalidName, n)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

func (s *Store) file(id string) string { return filepath.Join(s.dir, id, "pod.json") }

func (s *Store) load(id string) (*Pod, error) {
	b, err := os.ReadFile(s.file(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchPod, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read pod %s: %w", id, err)
	}
	var p Pod
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode pod %s: %w", id, err)
	}
	return &p, nil
}

// Get returns the pod of a full id.
func (s *Store) Get(id string) (*Pod, error) {
	if !names.IsID(id) {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchPod, id)
	}
	return s.load(id)
}

// Exists says whether a pod of that full id has a record.
func (s *Store) Exists(id string) bool {
	_, err := os.Stat(s.file(id))
	return err == nil && names.IsID(id)
}

// List returns every pod, oldest first.
func (s *Store) List() ([]*Pod, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []*Pod
	for _, e := range ents {
		if !e.IsDir() || !names.IsID(e.Name()) {
			continue
		}
		p, err := s.load(e.Name())
		if errors.Is(err, ErrNoSuchPod) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// Lookup finds a pod by name, full id or unique id prefix; the error
// names it in Podman's words.
func (s *Store) Lookup(ref string) (*Pod, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var byPrefix []*Pod
	for _, p := range all {
		if p.Name == ref || p.ID == ref {
			return p, nil
		}
		if ref != "" && strings.HasPrefix(p.ID, ref) {
			byPrefix = append(byPrefix, p)
		}
	}
	switch len(byPrefix) {
	case 1:
		return byPrefix[0], nil
	case 0:
		return nil, fmt.Errorf("no pod with name or ID %s found: %w", ref, ErrNoSuchPod)
	}
	return nil, fmt.Errorf("%w %s: %w", ErrAmbiguous, ref, ErrPodExists)
}

// Create records a new pod under a unique name (a random one when p.Name
// is empty; names of containers for a random name are avoided by the
// caller through taken) and a new id, and returns it.
func (s *Store) Create(p *Pod, randomName func(taken map[string]bool) string) (*Pod, error) {
	if p.Name != "" {
		if err := ValidName(p.Name); err != nil {
			return nil, err
		}
	}
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.sweep()
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, o := range all {
		taken[o.Name] = true
	}
	if p.Name == "" {
		p.Name = randomName(taken)
	} else if taken[p.Name] {
		// Podman's words.
		return nil, fmt.Errorf("adding pod to state: name %q is in use: %w", p.Name, ErrPodExists)
	}
	np := *p
	np.ID = randomHex(32)
	np.Created = time.Now().UTC()
	if np.Labels == nil {
		np.Labels = map[string]string{}
	}
	tmp := filepath.Join(s.dir, ".tmp-"+randomHex(8))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create pod directory: %w", err)
	}
	if err := writeRecord(filepath.Join(tmp, "pod.json"), &np); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, np.ID)); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create pod %s: %w", np.Name, err)
	}
	return &np, nil
}

func writeRecord(path string, p *Pod) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write pod %s: %w", p.Name, err)
	}
	return nil
}

// Update re-reads the record under the lock, applies f and saves it.
func (s *Store) Update(id string, f func(p *Pod)) (*Pod, error) {
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	f(p)
	if err := writeRecord(s.file(id), p); err != nil {
		return nil, err
	}
	return p, nil
}

// Delete removes a pod's record (its containers are the caller's to
// remove first): renamed out of every listing, then deleted. A pod that
// is gone already is no error.
func (s *Store) Delete(id string) error {
	if !names.IsID(id) {
		return fmt.Errorf("%w: %s", ErrNoSuchPod, id)
	}
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	gone := filepath.Join(s.dir, ".rm-"+id)
	if err := os.Rename(filepath.Join(s.dir, id), gone); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove pod %s: %w", id, err)
	}
	return os.RemoveAll(gone)
}

// sweep deletes what a crash left: .tmp- and .rm- directories.
// Preconditions: the store's lock is held.
func (s *Store) sweep() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".rm-") {
			os.RemoveAll(filepath.Join(s.dir, e.Name()))
		}
	}
}

// Sweep deletes what a crash left, under the lock.
func (s *Store) Sweep() {
	if unlock, err := s.Lock(); err == nil {
		s.sweep()
		unlock()
	}
}
