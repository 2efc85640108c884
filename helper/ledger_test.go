package helper

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func rec(uid uint32, ctr, addr string) *Record {
	h, p := ifNames(uid, ctr)
	return &Record{UID: uid, Container: ctr, State: stateReady, Bridge: "myctr0", HostIf: h, PeerIf: p, Address: netip.MustParseAddr(addr)}
}

// TestLedgerIPAM: the lowest free address, never the network, gateway or
// broadcast address; a released address is reused; records survive a new
// Ledger (a new helper); leftovers of interrupted writes and records that
// do not match their file are not taken.
func TestLedgerIPAM(t *testing.T) {
	dir := t.TempDir()
	l, _, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	subnet := netip.MustParsePrefix("10.9.0.0/29") // .0 network, .1 gateway, .2-.6, .7 broadcast
	var got []string
	for {
		a, ok := l.Allocate(subnet)
		if !ok {
			break
		}
		got = append(got, a.String())
		if err := l.Put(rec(1000, "c"+a.String(), a.String())); err != nil {
			t.Fatal(err)
		}
	}
	if want := "[10.9.0.2 10.9.0.3 10.9.0.4 10.9.0.5 10.9.0.6]"; fmtList(got) != want {
		t.Errorf("allocated %v, want %s", got, want)
	}
	if err := l.Delete(l.Get(1000, "c10.9.0.4")); err != nil {
		t.Fatal(err)
	}
	if a, ok := l.Allocate(subnet); !ok || a.String() != "10.9.0.4" {
		t.Errorf("after a release: %v %v, want 10.9.0.4", a, ok)
	}

	// Leftovers: a temporary file of a write that never finished, a
	// record under the wrong uid.
	os.WriteFile(filepath.Join(dir, "1000", ".tmp-123"), []byte("{"), 0o600)
	wrong := rec(1001, "x", "10.9.0.4")
	os.MkdirAll(filepath.Join(dir, "1002"), 0o700)
	b, _ := os.ReadFile(l.path(l.Get(1000, "c10.9.0.2")))
	os.WriteFile(filepath.Join(dir, "1002", objectHash(wrong.UID, wrong.Container)+".json"), b, 0o600)

	l2, bad, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(l2.All()) != 4 || len(bad) != 1 {
		t.Errorf("reopened: %d records, bad %v; want 4 and one bad", len(l2.All()), bad)
	}
	if r := l2.Get(1000, "c10.9.0.3"); r == nil || r.Address.String() != "10.9.0.3" || r.State != stateReady {
		t.Errorf("reopened record: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "1000", ".tmp-123")); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	if a, ok := l2.Allocate(subnet); !ok || a.String() != "10.9.0.4" {
		t.Errorf("reopened: allocate %v %v, want 10.9.0.4", a, ok)
	}
}

func TestNames(t *testing.T) {
	h, p := ifNames(1000, "web")
	if len(h) != 14 || h[:2] != "mc" || p != "mp"+h[2:] || !isOurLinkName(h) || !isOurLinkName(p) {
		t.Errorf("names %s %s", h, p)
	}
	if h2, _ := ifNames(1001, "web"); h2 == h {
		t.Error("two users' containers share a name")
	}
	for _, n := range []string{"mc12345678901", "mcABCDEF123456", "eth0", "mx0123456789ab", "mc0123456789abc"} {
		if isOurLinkName(n) {
			t.Errorf("isOurLinkName(%q)", n)
		}
	}
}

func fmtList(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
