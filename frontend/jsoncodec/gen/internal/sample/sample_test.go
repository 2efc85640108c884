package sample

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"reflect"
	"testing"

	"github.com/myctr/myctr/frontend/jsoncodec/gen"
)

var update = flag.Bool("update", false, "rewrite sample_gen.go")

func TestGenerated(t *testing.T) {
	gen.Keep(t, "sample_gen.go", "github.com/myctr/myctr/frontend/jsoncodec/gen/internal/sample", "sample",
		"go test ./frontend/jsoncodec/gen/internal/sample -run TestGenerated -update",
		[]gen.Root{{Type: reflect.TypeFor[Sample](), Func: "AppendSample", Decode: "DecodeSample"}}, *update)
}

// TestSameAsEncodingJSON: random samples, and what Fill does not make
// (map keys that marshal themselves).
func TestSameAsEncodingJSON(t *testing.T) {
	gen.SameAsMarshal(t, 2000, AppendSample)
	gen.SameAsUnmarshal(t, 2000, DecodeSample)
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

// FuzzDecodeSample: on any input, DecodeSample and json.Unmarshal both
// fail, or both succeed with equal values.
func FuzzDecodeSample(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `{"name":"a","NAME":"b","Dup":1}`, `{"Tag":"\ud83d\ude00\ud800x"}`,
		`{"IntKeys":{"-3":"x","40000":"y"}}`, `{"Array":[1,2,3],"Bytes":"AAE="}`, `{"Set":{"a":{}},"ZI":1e2}`,
		`{"B":null,"Depth":7}`, `{"Nested":{"a":{"b":{"Dup":"x"}}}}`, `[1]`, `{"F32":1e40}`, `{"Any":{"x":[1,"2",null]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, have Sample
		werr := json.Unmarshal(data, &want)
		herr := DecodeSample(data, &have)
		if (werr == nil) != (herr == nil) {
			t.Fatalf("json.Unmarshal: %v, DecodeSample: %v, of %q", werr, herr, data)
		}
		if werr == nil && !reflect.DeepEqual(want, have) {
			t.Fatalf("DecodeSample read %#v, json.Unmarshal %#v, of %q", have, want, data)
		}
	})
}
