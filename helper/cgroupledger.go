package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/myctr/myctr/protocol"
)

// CgroupLedger holds the CgroupRecords, one file per container under
// DIR/UID/HASH.json (DIR is state_dir/cgroups), written as the network
// ledger's are. Only the serialized goroutine uses it.
type CgroupLedger struct {
	dir  string
	recs map[string]*CgroupRecord // by objectHash
}

// OpenCgroupLedger reads dir (made 0700 if needed); unreadable records
// are reported in bad and left alone.
func OpenCgroupLedger(dir string) (l *CgroupLedger, bad []error, err error) {
	l = &CgroupLedger{dir: dir, recs: map[string]*CgroupRecord{}}
	bad, err = walkRecords(dir, func(uid uint32, p string) error {
		var r CgroupRecord
		b, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err == nil && (r.UID != uid || filepath.Base(p) != objectHash(r.UID, r.Container)+".json" ||
			r.Unit != scopeName(r.UID, r.Container) || protocol.ValidateContainer(r.Container) != nil) {
			err = errors.New("the record does not match its file name")
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrLedger, p, err)
		}
		l.recs[objectHash(r.UID, r.Container)] = &r
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return l, bad, nil
}

func (l *CgroupLedger) path(r *CgroupRecord) string {
	return filepath.Join(l.dir, strconv.FormatUint(uint64(r.UID), 10), objectHash(r.UID, r.Container)+".json")
}

// Get returns a copy of uid's record of container, or nil.
func (l *CgroupLedger) Get(uid uint32, container string) *CgroupRecord {
	r := l.recs[objectHash(uid, container)]
	if r == nil {
		return nil
	}
	cp := *r
	return &cp
}

// All returns every record, ordered by uid and container.
func (l *CgroupLedger) All() []*CgroupRecord {
	out := make([]*CgroupRecord, 0, len(l.recs))
	for _, r := range l.recs {
		cp := *r
		out = append(out, &cp)
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
func (l *CgroupLedger) ByUID(uid uint32) []*CgroupRecord {
	var out []*CgroupRecord
	for _, r := range l.All() {
		if r.UID == uid {
			out = append(out, r)
		}
	}
	return out
}

// Put writes r durably, then keeps it in memory.
func (l *CgroupLedger) Put(r *CgroupRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLedger, err)
	}
	if err := writeDurably(l.path(r), append(b, '\n')); err != nil {
		return err
	}
	cp := *r
	l.recs[objectHash(r.UID, r.Container)] = &cp
	return nil
}

// Delete removes r's file; one that is gone already is no error.
func (l *CgroupLedger) Delete(r *CgroupRecord) error {
	p := l.path(r)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: remove %s: %w", ErrLedger, p, err)
	}
	delete(l.recs, objectHash(r.UID, r.Container))
	return syncDir(filepath.Dir(p))
}
