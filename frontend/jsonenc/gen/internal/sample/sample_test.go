package sample

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"reflect"
	"testing"

	"github.com/myctr/myctr/frontend/jsonenc/gen"
)

var update = flag.Bool("update", false, "rewrite sample_gen.go")

func TestGenerated(t *testing.T) {
	gen.Keep(t, "sample_gen.go", "github.com/myctr/myctr/frontend/jsonenc/gen/internal/sample", "sample",
		"go test ./frontend/jsonenc/gen/internal/sample -run TestGenerated -update",
		[]gen.Root{{Type: reflect.TypeFor[Sample](), Func: "AppendSample"}}, *update)
}

// TestSameAsEncodingJSON: random samples, and what Fill does not make
// (map keys that marshal themselves).
func TestSameAsEncodingJSON(t *testing.T) {
	gen.SameAsMarshal(t, 2000, AppendSample)
	for i, n := range []json.Number{"", "12.5e3", "-7"} {
		s := Sample{Number: n}
		if i > 0 {
			s.TKeys = map[netip.Addr]int{netip.MustParseAddr("10.0.0.2"): 1, netip.MustParseAddr("::1"): 2}
		}
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		if have, err := AppendSample(nil, &s); err != nil || !bytes.Equal(have, want) {
			t.Errorf("%v: AppendSample = %s, %v; json.Marshal: %s", n, have, err, want)
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
