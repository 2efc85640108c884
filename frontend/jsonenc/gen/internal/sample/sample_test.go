package sample

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"reflect"
	"testing"

	"github.com/myctr/myctr/frontend/jsonenc/gen"
)

var update = flag.Bool("update", false, "rewrite sample_gen.go")

func TestGenerated(t *testing.T) {
	src, err := gen.Generate("github.com/myctr/myctr/frontend/jsonenc/gen/internal/sample", "sample",
		"go test ./frontend/jsonenc/gen/internal/sample -run TestGenerated -update",
		[]gen.Root{{Type: reflect.TypeFor[Sample](), Func: "AppendSample"}})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("sample_gen.go", src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if have, err := os.ReadFile("sample_gen.go"); err != nil || !bytes.Equal(have, src) {
		t.Fatalf("sample_gen.go is not what the generator writes now (%v): go test ./frontend/jsonenc/gen/internal/sample -run TestGenerated -update", err)
	}
}

func TestSameAsEncodingJSON(t *testing.T) {
	for seed := uint64(0); seed < 2000; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		var s Sample
		gen.Fill(r, reflect.ValueOf(&s).Elem(), 4)
		if r.IntN(2) == 0 {
			s.TKeys = map[netip.Addr]int{netip.MustParseAddr("10.0.0.2"): 1, netip.MustParseAddr("::1"): 2}
		}
		s.Number = []json.Number{"", "12.5e3", "-7"}[r.IntN(3)]
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		have, err := AppendSample(nil, &s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, want) {
			t.Fatalf("seed %d: AppendSample differs from json.Marshal:\n%s\n%s", seed, have, want)
		}
	}
}

// TestUnsupported: what the generator does not cover is an error, not
// an encoder that writes something else.
func TestUnsupported(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[quoted](),
		reflect.TypeFor[withChan](),
		reflect.TypeFor[arrayKeys](),
		reflect.TypeFor[byValue](),
		reflect.TypeFor[struct{ N int }](),
	} {
		if _, err := gen.Generate("p", "p", "", []gen.Root{{Type: typ, Func: "F"}}); err == nil {
			t.Errorf("%s: no error", typ)
		} else {
			t.Logf("%s: %v", typ, err)
		}
	}
}

type (
	quoted struct {
		S int `json:",string"`
	}
	withChan  struct{ C chan int }
	arrayKeys struct{ M map[[2]int]int }
	// json.Marshal reaches a map's values by value: PtrOnly's method is
	// not used there, and the generator cannot tell apart.
	byValue struct{ M map[string]PtrOnly }
)
