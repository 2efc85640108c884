// Package netstore is myctr's store of named networks (`myctr network
// create`): one record per network, ROOT/networks/NAME.json, in the JSON
// fields of Podman 4's netavark backend, so that `network inspect` reads
// as Podman's. It holds the records only: the bridges, the addresses of
// the containers and the DNS server live in the user's network holder,
// which reads these records.
//
// Threat model: a network's name comes from the command line and becomes a
// file name, so it is checked against Podman's name rule
// ([a-zA-Z0-9][a-zA-Z0-9_.-]*, frontend/names) before any path is made of
// it: no name is "." or "..", holds a "/", or begins with the "." of the
// store's own entries. The bridge's name inside the holder is never taken
// from the user: it is "myctr" and a number.
//
// Concurrency and crash safety: every change (create, remove, prune)
// happens under the store's lock (networks/.lock), so that two creates at
// once never take the same name, subnet or bridge; the checks and the
// write are one step under it. A record is written with
// protocol/atomicfile (a .tmp- file, fsynced, renamed into place, the
// directory fsynced), so a reader, which takes no lock, sees a whole record
// or none; a crash leaves at most a .tmp- file, which the next create
// deletes under the lock. Removal is one unlink.
package netstore

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// The drivers.
const (
	// DriverBridge is a bridge in the user's network holder's namespace
	// (rootless, only the user's containers on it).
	DriverBridge = "bridge"
	// DriverHelper is a group on myctr-helper's bridge in the host's
	// network (protocol.DefaultBridge): its containers have host-visible
	// addresses of the helper's subnet and reach each other, and no other
	// container, directly; their names are in each other's /etc/hosts.
	DriverHelper = "bridge-helper"
)

// ifPrefix starts every bridge's name; a number follows.
const ifPrefix = "myctr"

// namePrefix starts the names create makes up, as Podman's do.
const namePrefix = "podman"

// Network is a network's record, NAME.json, in the fields, names and
// order of Podman 4's `network inspect` (netavark).
type Network struct {
	Name   string `json:"name"`
	ID     string `json:"id"` // 64 hex digits, random
	Driver string `json:"driver"`
	// NetworkInterface is the bridge's name in the holder's namespace:
	// "myctr" and a number, unique among the networks.
	NetworkInterface string            `json:"network_interface"`
	Created          time.Time         `json:"created"`
	Subnets          []Subnet          `json:"subnets"`
	IPv6Enabled      bool              `json:"ipv6_enabled"`
	Internal         bool              `json:"internal"`
	DNSEnabled       bool              `json:"dns_enabled"`
	Labels           map[string]string `json:"labels,omitempty"`
	Options          map[string]string `json:"options,omitempty"`
	IPAMOptions      map[string]string `json:"ipam_options,omitempty"`
}

// Subnet is one of a network's subnets and its gateway (the bridge's
// address).
type Subnet struct {
	Subnet  string `json:"subnet"`  // 10.89.0.0/24
	Gateway string `json:"gateway"` // 10.89.0.1
}

// reservedNames mean something else to --network (Podman 4's list, with
// pasta and default, and myctr's own modes), and podman is the name of
// Podman's default network, which myctr does not have as a record.
var reservedNames = map[string]string{
	"none": "", "host": "", "bridge": "", "private": "", "slirp4netns": "", "pasta": "",
	"container": "", "ns": "", "default": "",
	"podman": "it is the name of Podman's default network",
}

// ValidName checks a network name: Podman's name rule, and none of the
// words --network gives a meaning of its own.
func ValidName(name string) error {
	if !names.Valid(name) {
		// Podman's words.
		return fmt.Errorf("network name %s invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: %w", name, ErrInvalidArg)
	}
	if why, ok := reservedNames[name]; ok {
		if why == "" {
			// Podman's words.
			return &worded{fmt.Sprintf("cannot create network with name %q because it conflicts with a valid network mode", name), ErrReservedName}
		}
		return fmt.Errorf("cannot create network with name %q: %s: %w", name, why, ErrReservedName)
	}
	return nil
}

// Store is the named networks below ROOT/networks.
type Store struct{ dir string }

// Open opens (and creates) the network store of the store root root.
func Open(root string) (*Store, error) {
	dir := filepath.Join(root, "networks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create network store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the directory that holds the records.
func (s *Store) Dir() string { return s.dir }

// Lock holds the store's lock until the returned function is called:
// every create, removal and sweep happens under it.
func (s *Store) Lock() (func(), error) {
	l, err := flock.Acquire(filepath.Join(s.dir, ".lock"), 0o600, flock.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("lock network store: %w", err)
	}
	return func() { l.Close() }, nil
}

func (s *Store) file(name string) string { return filepath.Join(s.dir, name+".json") }

// load reads the record of a valid name; a missing one is ErrNoSuchNetwork.
func (s *Store) load(name string) (*Network, error) {
	b, err := os.ReadFile(s.file(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read network %s: %w", name, err)
	}
	var n Network
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("decode network %s: %w", name, err)
	}
	if n.Name != name {
		return nil, fmt.Errorf("network record %s names network %q", s.file(name), n.Name)
	}
	return &n, nil
}

// notFound is Podman's error for a network that is not there.
func notFound(ref string) error {
	return fmt.Errorf("unable to find network with name or ID %s: %w", ref, ErrNoSuchNetwork)
}

// List returns every network, sorted by name.
func (s *Store) List() ([]*Network, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var out []*Network
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() || !names.Valid(name) {
			continue // the lock, a .tmp- file of a write in flight
		}
		n, err := s.load(name)
		if errors.Is(err, ErrNoSuchNetwork) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup finds a network by its name with one read (what a container's
// start needs), else as Get does.
func (s *Store) Lookup(nameOrID string) (*Network, error) {
	if names.Valid(nameOrID) {
		n, err := s.load(nameOrID)
		if !errors.Is(err, ErrNoSuchNetwork) {
			return n, err
		}
	}
	return s.Get(nameOrID)
}

// Get finds a network by full name, full id or unique id prefix, as
// Podman does; the errors are Podman's.
func (s *Store) Get(nameOrID string) (*Network, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	return find(all, nameOrID)
}

func find(all []*Network, ref string) (*Network, error) {
	var byPrefix []*Network
	for _, n := range all {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			byPrefix = append(byPrefix, n)
		}
	}
	switch len(byPrefix) {
	case 0:
		return nil, notFound(ref)
	case 1:
		return byPrefix[0], nil
	}
	return nil, fmt.Errorf("%w %s", ErrAmbiguous, ref)
}

// CreateOptions are network create's flags.
type CreateOptions struct {
	Name    string // "": podman1, podman2 ... (the first free one)
	Driver  string // "" or bridge
	Subnet  string // IPv4, CIDR; "": the first free /24 of DefaultPool
	Gateway string // "": the subnet's first host address
	// Subnet6 and Gateway6 are the IPv6 subnet and its gateway: a network
	// with one is dual-stack (it always has IPv4 too).
	Subnet6  string
	Gateway6 string
	IPv6     bool // dual-stack: a random /64 of DefaultPool6 unless Subnet6
	Internal bool // no route out of the network
	// DisableDNS: no DNS server on the network (DNSEnabled false).
	DisableDNS bool
	Labels     map[string]string
	Options    map[string]string // mtu
	// IgnoreExisting: a network of that name already there is returned
	// as it is, and is no error (--ignore).
	IgnoreExisting bool
}

// checkOptions validates --opt: only mtu, for now.
func checkOptions(opts map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range opts {
		switch k {
		case "mtu":
			n, err := strconv.Atoi(v)
			if err != nil || n < 68 || n > 65535 {
				return nil, fmt.Errorf("invalid mtu %q: a number from 68 to 65535: %w", v, ErrInvalidArg)
			}
			out[k] = strconv.Itoa(n)
		default:
			return nil, fmt.Errorf("unsupported bridge network option %s (myctr takes mtu): %w", k, ErrInvalidArg)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// template checks what Create can check without the other networks, and
// returns the record to be, without name, id, bridge or subnet where
// those are to be chosen.
func template(o CreateOptions) (*Network, netip.Prefix, error) {
	if o.Name != "" {
		if err := ValidName(o.Name); err != nil {
			return nil, netip.Prefix{}, err
		}
	}
	if o.Driver == DriverHelper {
		return helperTemplate(o)
	}
	if o.Driver != "" && o.Driver != DriverBridge {
		return nil, netip.Prefix{}, fmt.Errorf("unsupported driver %s (myctr's named networks are bridge, or bridge-helper through myctr-helper): %w", o.Driver, ErrInvalidArg)
	}
	opts, err := checkOptions(o.Options)
	if err != nil {
		return nil, netip.Prefix{}, err
	}
	var subnet netip.Prefix
	if o.Subnet != "" {
		if subnet, err = ParseSubnet(o.Subnet); err != nil {
			return nil, netip.Prefix{}, err
		}
		if _, err := ParseGateway(o.Gateway, subnet); err != nil {
			return nil, netip.Prefix{}, err
		}
	} else if o.Gateway != "" {
		// Podman's words.
		return nil, netip.Prefix{}, fmt.Errorf("cannot set gateway or range without subnet: %w", ErrInvalidArg)
	}
	if o.Subnet6 != "" {
		subnet6, err := ParseSubnet6(o.Subnet6)
		if err != nil {
			return nil, netip.Prefix{}, err
		}
		if _, err := ParseGateway(o.Gateway6, subnet6); err != nil {
			return nil, netip.Prefix{}, err
		}
	} else if o.Gateway6 != "" {
		return nil, netip.Prefix{}, fmt.Errorf("cannot set gateway or range without subnet: %w", ErrInvalidArg)
	}
	var labels map[string]string
	if len(o.Labels) > 0 {
		labels = make(map[string]string, len(o.Labels))
		for k, v := range o.Labels {
			labels[k] = v
		}
	}
	n := &Network{
		Name: o.Name, Driver: DriverBridge, Internal: o.Internal, DNSEnabled: !o.DisableDNS, IPv6Enabled: o.IPv6 || o.Subnet6 != "",
		Labels: labels, Options: opts, IPAMOptions: map[string]string{"driver": "host-local"},
	}
	return n, subnet, nil
}

// ErrHelperSettings is a setting a bridge-helper network does not take.
var ErrHelperSettings = fmt.Errorf("its containers take the subnet, gateway, MTU and way out of myctr-helper's bridge: %w", ErrInvalidArg)

// helperTemplate is template for DriverHelper: the helper's bridge has
// its own subnet, gateway, MTU and way out, so none of those is the
// network's to choose.
func helperTemplate(o CreateOptions) (*Network, netip.Prefix, error) {
	for _, f := range []struct {
		set  bool
		flag string
	}{{o.Subnet != "" || o.Subnet6 != "", "--subnet"}, {o.Gateway != "" || o.Gateway6 != "", "--gateway"},
		{o.IPv6, "--ipv6"}, {o.Internal, "--internal"}, {len(o.Options) > 0, "--opt"}} {
		if f.set {
			return nil, netip.Prefix{}, fmt.Errorf("%s with --driver %s: %w", f.flag, DriverHelper, ErrHelperSettings)
		}
	}
	n := &Network{
		Name: o.Name, Driver: DriverHelper, NetworkInterface: protocol.DefaultBridge, Subnets: []Subnet{},
		DNSEnabled: !o.DisableDNS, Labels: maps.Clone(o.Labels), IPAMOptions: map[string]string{"driver": "myctr-helper"},
	}
	return n, netip.Prefix{}, nil
}

// Create records a new network. Everything that does not depend on the
// other networks is checked first; then, under the lock, the name, the
// subnet (given or chosen) and the bridge are checked against the other
// networks and the record is written, in one step.
func (s *Store) Create(o CreateOptions) (*Network, error) {
	n, subnet, err := template(o)
	if err != nil {
		return nil, err
	}
	all, unlock, err := s.lockedList()
	if err != nil {
		return nil, err
	}
	defer unlock()
	taken := map[string]bool{}
	ifaces := map[string]bool{}
	ids := map[string]bool{}
	for _, other := range all {
		taken[other.Name] = true
		ifaces[other.NetworkInterface] = true
		ids[other.ID] = true
	}
	if n.Name == "" {
		for i := 1; ; i++ {
			if name := namePrefix + strconv.Itoa(i); !taken[name] {
				n.Name = name
				break
			}
		}
	} else if taken[n.Name] {
		if o.IgnoreExisting {
			return find(all, n.Name)
		}
		// Podman's words.
		return nil, fmt.Errorf("network name %s already used: %w", n.Name, ErrExists)
	}
	if n.Driver != DriverHelper { // the helper's subnet and bridge: nothing to choose
		if err := addressing(n, o, subnet, all, ifaces); err != nil {
			return nil, err
		}
	}
	for n.ID == "" || ids[n.ID] {
		n.ID = randomHex()
	}
	n.Created = time.Now().Round(0) // no monotonic reading: the record as it reads back
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(s.file(n.Name), append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write network %s: %w", n.Name, err)
	}
	return n, nil
}

// addressing gives n (a DriverBridge network) its subnets, subnet if
// valid or else the first free one, an IPv6 one if it is dual-stack, and
// a bridge name not in ifaces; all are the other networks.
func addressing(n *Network, o CreateOptions, subnet netip.Prefix, all []*Network, ifaces map[string]bool) error {
	var err error
	if subnet.IsValid() {
		if other, q := overlapping(subnet, all); other != nil {
			return fmt.Errorf("subnet %s overlaps subnet %s of network %s: %w", subnet, q, other.Name, ErrSubnetUsed)
		}
	} else if subnet, err = freeSubnet(all); err != nil {
		return fmt.Errorf("%w (%s)", err, DefaultPool)
	}
	gw, err := ParseGateway(o.Gateway, subnet)
	if err != nil {
		return err
	}
	n.Subnets = []Subnet{{Subnet: subnet.String(), Gateway: gw.String()}}
	if n.IPv6Enabled {
		var subnet6 netip.Prefix
		if o.Subnet6 == "" {
			if subnet6, err = freeSubnet6(all); err != nil {
				return err
			}
		} else {
			subnet6, _ = ParseSubnet6(o.Subnet6) // checked by template
			if other, q := overlapping(subnet6, all); other != nil {
				return fmt.Errorf("subnet %s overlaps subnet %s of network %s: %w", subnet6, q, other.Name, ErrSubnetUsed)
			}
		}
		gw6, err := ParseGateway(o.Gateway6, subnet6)
		if err != nil {
			return err
		}
		n.Subnets = append(n.Subnets, Subnet{Subnet: subnet6.String(), Gateway: gw6.String()})
	}
	for i := 1; ; i++ {
		if name := ifPrefix + strconv.Itoa(i); !ifaces[name] {
			n.NetworkInterface = name
			break
		}
	}
	return nil
}

func randomHex() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// Users says which containers are on a named network: one method, so that
// the store's tests stand in for the container store.
type Users interface {
	// NetworkUsers lists the containers (names or ids) on the network
	// of that name.
	NetworkUsers(network string) ([]string, error)
}

// Remove deletes a network (by name, id or unique id prefix) that no
// container is on, and returns its record; users nil skips that check.
// The check and the unlink happen under the lock.
func (s *Store) Remove(nameOrID string, users Users) (*Network, error) {
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	n, err := s.Get(nameOrID)
	if err != nil {
		return nil, err
	}
	if users != nil {
		on, err := users.NetworkUsers(n.Name)
		if err != nil {
			return nil, err
		}
		if len(on) > 0 {
			// Podman's words.
			return nil, fmt.Errorf("%q has associated containers with it. Use -f to forcibly delete containers and pods: %w", nameOrID, ErrInUse)
		}
	}
	if err := os.Remove(s.file(n.Name)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, notFound(nameOrID)
		}
		return nil, fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	return n, nil
}

// lockedList takes the store's lock, sweeps what an interrupted write
// left, and lists the networks; unlock ends the hold.
func (s *Store) lockedList() (all []*Network, unlock func(), err error) {
	if unlock, err = s.Lock(); err != nil {
		return nil, nil, err
	}
	s.sweep()
	if all, err = s.List(); err != nil {
		unlock()
		return nil, nil, err
	}
	return all, unlock, nil
}

// Prune deletes every network that match accepts and no container is on,
// and returns their names.
func (s *Store) Prune(users Users, match func(*Network) bool) ([]string, error) {
	all, unlock, err := s.lockedList()
	if err != nil {
		return nil, err
	}
	defer unlock()
	var gone []string
	var errs []error
	for _, n := range all {
		if !match(n) {
			continue
		}
		on, err := users.NetworkUsers(n.Name)
		if err != nil {
			return gone, err
		}
		if len(on) > 0 {
			continue
		}
		if err := os.Remove(s.file(n.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		gone = append(gone, n.Name)
	}
	return gone, errors.Join(errs...)
}

// sweep deletes what a crash left: the .tmp- files of atomicfile.
// Preconditions: the store's lock is held (every writer holds it, so no
// .tmp- file is a write in flight).
func (s *Store) sweep() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}
