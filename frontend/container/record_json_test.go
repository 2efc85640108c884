package container

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/myctr/myctr/frontend/jsonenc/gen"
)

var updateRecordJSON = flag.Bool("update", false, "rewrite record_gen.go from the record's types")

// TestRecordEncoderGenerated keeps record_gen.go what the generator
// writes for the record's types: a field added to Container (or to a
// type it holds) fails here until the file is written again (-update).
func TestRecordEncoderGenerated(t *testing.T) {
	src, err := gen.Generate("github.com/myctr/myctr/frontend/container", "container",
		"go test ./frontend/container -run TestRecordEncoderGenerated -update", []gen.Root{
			{Type: reflect.TypeFor[Container](), Func: "appendRecord"},
		})
	if err != nil {
		t.Fatal(err)
	}
	if *updateRecordJSON {
		if err := os.WriteFile("record_gen.go", src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile("record_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, src) {
		t.Fatal("record_gen.go is not what the generator writes now: go test ./frontend/container -run TestRecordEncoderGenerated -update")
	}
}

// TestRecordEncoderSameAsEncodingJSON compares appendRecord with
// json.Marshal on random records: the embedded structs' promoted fields,
// times, maps, every omitempty both ways.
func TestRecordEncoderSameAsEncodingJSON(t *testing.T) {
	for seed := uint64(0); seed < 400; seed++ {
		r := rand.New(rand.NewPCG(seed, 2))
		var c Container
		gen.Fill(r, reflect.ValueOf(&c).Elem(), 4)
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		have, err := appendRecord(nil, &c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, want) {
			t.Fatalf("seed %d: appendRecord differs from json.Marshal:\n%s\n%s", seed, have, want)
		}
	}
}
