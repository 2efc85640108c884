package helper

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/myctr/myctr/helper/hostnet"
	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/protocol/atomicfile"
)

// Record states.
const (
	stateCreating = "creating" // recorded; its objects may or may not exist yet
	stateReady    = "ready"    // its objects exist (or did when last seen)
)

// Record is the ledger's entry for one container of one user: every
// kernel object the helper made for it. It is written before any of them
// is made, so an object never exists without a record.
type Record struct {
	UID       uint32       `json:"uid"`
	Container string       `json:"container"`
	State     string       `json:"state"`
	Bridge    string       `json:"bridge"`
	HostIf    string       `json:"host_if"` // also the owner tag of its port rules
	PeerIf    string       `json:"peer_if"`
	Address   netip.Addr   `json:"address"`
	NetNS     nsID         `json:"netns"`
	Ports     []PortRecord `json:"ports,omitempty"`
	// Network is the caller's network the container is on ("network"
	// option), "" for none; Group is the group the helper gave
	// (UID, Network) then. See group.
	Network string `json:"network,omitempty"`
	Group   uint32 `json:"group,omitempty"`
}

// firstNetworkGroup is where the groups of named networks start. A uid is
// the group of its plain bridged containers, so the helper serves no uid
// from here up (systemd's documentation reserves them, as the signed
// 32-bit -1 of many programs).
const firstNetworkGroup = 1 << 31

// group is the bridge's port group of r: the ports of one group exchange
// frames directly, those of different groups do not (hostnet.GuardPort).
// A user's plain bridged containers are the group of its uid; each of its
// named networks is a group of its own.
func (r *Record) group() uint32 {
	if r.Network == "" {
		return r.UID
	}
	return r.Group
}

// PortRecord is one published port of a Record.
type PortRecord struct {
	Protocol      string     `json:"protocol"`
	HostIP        netip.Addr `json:"host_ip,omitzero"`
	HostPort      uint16     `json:"host_port"`
	ContainerPort uint16     `json:"container_port"`
}

// hostnetPorts is r's ports as rules.
func (r *Record) hostnetPorts() []hostnet.Port {
	var out []hostnet.Port
	for _, p := range r.Ports {
		out = append(out, hostnet.Port{Protocol: p.Protocol, HostIP: p.HostIP, HostPort: p.HostPort,
			Addr: r.Address, ContainerPort: p.ContainerPort})
	}
	return out
}

// objectHash is the hex SHA-256 of "UID/CONTAINER": the ledger file's
// name, and (its first 12 digits) the interface names. Neither is ever
// taken from the caller's string itself.
func objectHash(uid uint32, container string) string {
	sum := sha256.Sum256([]byte(strconv.FormatUint(uint64(uid), 10) + "/" + container))
	return hex.EncodeToString(sum[:])
}

// ifNames returns the host and peer veth names of uid's container: "mc"
// (hostnet.PortPrefix, which the bridge's guard keys on) and "mp" followed
// by 12 hex digits (14 bytes, within IFNAMSIZ).
func ifNames(uid uint32, container string) (hostIf, peerIf string) {
	h := objectHash(uid, container)[:12]
	return hostnet.PortPrefix + h, "mp" + h
}

// isOurLinkName reports whether name has the form of the helper's veth
// names.
func isOurLinkName(name string) bool {
	if len(name) != 14 || (!strings.HasPrefix(name, "mc") && !strings.HasPrefix(name, "mp")) {
		return false
	}
	_, err := hex.DecodeString(name[2:])
	return err == nil && strings.ToLower(name) == name
}

// Ledger is the set of records, one file per container under
// DIR/UID/HASH.json, held in memory too. Only the serialized goroutine
// uses it.
type Ledger struct {
	dir  string
	recs map[string]*Record // by objectHash
}

// OpenLedger makes dir (0700) if needed and reads every record in it.
// Leftover temporary files of an interrupted write are removed; a record
// that cannot be read is reported in bad and left alone (its objects are
// then treated as unrecorded).
func OpenLedger(dir string) (l *Ledger, bad []error, err error) {
	l = &Ledger{dir: dir, recs: map[string]*Record{}}
	bad, err = walkRecords(dir, func(uid uint32, p string) error {
		r, err := readRecord(p, uid)
		if err == nil {
			l.recs[objectHash(r.UID, r.Container)] = r
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return l, bad, nil
}

// walkRecords calls read for each record file under dir/UID/ (dir made
// 0700 if needed), removing the temporary files of interrupted writes;
// the records read refuses are returned in bad.
func walkRecords(dir string, read func(uid uint32, path string) error) (bad []error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: make %s: %w", ErrLedger, dir, err)
	}
	users, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrLedger, dir, err)
	}
	for _, u := range users {
		uid, err := strconv.ParseUint(u.Name(), 10, 32)
		if !u.IsDir() || err != nil {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, u.Name()))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLedger, err)
		}
		for _, f := range files {
			p := filepath.Join(dir, u.Name(), f.Name())
			if strings.HasPrefix(f.Name(), ".tmp-") {
				os.Remove(p)
				continue
			}
			if err := read(uint32(uid), p); err != nil {
				bad = append(bad, err)
			}
		}
	}
	return bad, nil
}

// readRecord reads a record and checks that it is where its uid and
// container say it should be, with the interface names they give.
func readRecord(path string, uid uint32) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLedger, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLedger, path, err)
	}
	hostIf, peerIf := ifNames(r.UID, r.Container)
	if r.UID != uid || filepath.Base(path) != objectHash(r.UID, r.Container)+".json" ||
		r.HostIf != hostIf || r.PeerIf != peerIf || protocol.ValidateContainer(r.Container) != nil {
		return nil, fmt.Errorf("%w: %s: the record does not match its file name", ErrLedger, path)
	}
	return &r, nil
}

func (l *Ledger) path(r *Record) string {
	return filepath.Join(l.dir, strconv.FormatUint(uint64(r.UID), 10), objectHash(r.UID, r.Container)+".json")
}

// Get returns a copy of uid's record of container, or nil; changes to it
// count once Put.
func (l *Ledger) Get(uid uint32, container string) *Record {
	r := l.recs[objectHash(uid, container)]
	if r == nil {
		return nil
	}
	return r.clone()
}

func (r *Record) clone() *Record {
	cp := *r
	cp.Ports = append([]PortRecord(nil), r.Ports...)
	return &cp
}

// All returns every record, ordered by uid and container; the callers
// only read them.
func (l *Ledger) All() []*Record {
	out := make([]*Record, 0, len(l.recs))
	for _, r := range l.recs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].UID != out[j].UID {
			return out[i].UID < out[j].UID
		}
		return out[i].Container < out[j].Container
	})
	return out
}

// ByUID returns uid's records.
func (l *Ledger) ByUID(uid uint32) []*Record {
	var out []*Record
	for _, r := range l.All() {
		if r.UID == uid {
			out = append(out, r)
		}
	}
	return out
}

// Put writes r durably (a temporary file, fsync, rename, fsync of the
// directory) and then keeps it in memory.
func (l *Ledger) Put(r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLedger, err)
	}
	if err := writeDurably(l.path(r), append(b, '\n')); err != nil {
		return err
	}
	l.recs[objectHash(r.UID, r.Container)] = r.clone()
	return nil
}

// Delete removes r's file; a record that is gone already is no error.
func (l *Ledger) Delete(r *Record) error {
	p := l.path(r)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: remove %s: %w", ErrLedger, p, err)
	}
	delete(l.recs, objectHash(r.UID, r.Container))
	return syncDir(filepath.Dir(p))
}

// writeDurably writes b to p (mode 0600) through a temporary file in the
// same directory (made 0700 if needed): fsync, rename, fsync of the
// directory. Its temporaries start with ".tmp-", which load sweeps.
func writeDurably(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrLedger, err)
	}
	if err := atomicfile.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrLedger, err)
	}
	return nil
}

// syncDir makes a removal in d durable.
func syncDir(d string) error {
	if err := atomicfile.SyncDir(d); err != nil {
		return fmt.Errorf("%w: %w", ErrLedger, err)
	}
	return nil
}

// Group returns the port group of uid's container on network ("" for
// none): uid's own, the one uid's records on network have, or else the
// lowest from firstNetworkGroup that no record has.
func (l *Ledger) Group(uid uint32, network string) uint32 {
	if network == "" {
		return uid
	}
	used := map[uint32]bool{}
	for _, r := range l.recs {
		if r.Network != "" && r.UID == uid && r.Network == network {
			return r.Group
		}
		used[r.group()] = true
	}
	g := uint32(firstNetworkGroup)
	for used[g] {
		g++
	}
	return g
}

// Allocate returns the lowest address of subnet that no record holds,
// leaving out the network address, the gateway (the first host address)
// and the broadcast address. ok is false when the subnet is full.
func (l *Ledger) Allocate(subnet netip.Prefix) (addr netip.Addr, ok bool) {
	used := map[netip.Addr]bool{}
	for _, r := range l.recs {
		used[r.Address] = true
	}
	gw := subnet.Addr().Next()
	for a := gw.Next(); subnet.Contains(a); a = a.Next() {
		if !subnet.Contains(a.Next()) {
			break // a is the broadcast address
		}
		if !used[a] {
			return a, true
		}
	}
	return netip.Addr{}, false
}
