package container

import (
	"flag"
	"reflect"
	"testing"

	"github.com/myctr/myctr/frontend/jsonenc/gen"
)

var updateRecordJSON = flag.Bool("update", false, "rewrite record_gen.go from the record's types")

// TestRecordEncoderGenerated keeps record_gen.go what the generator
// writes for the record's types: a field added to Container (or to a
// type it holds) fails here until the file is written again (-update).
func TestRecordEncoderGenerated(t *testing.T) {
	gen.Keep(t, "record_gen.go", "github.com/myctr/myctr/frontend/container", "container",
		"go test ./frontend/container -run TestRecordEncoderGenerated -update",
		[]gen.Root{{Type: reflect.TypeFor[Container](), Func: "appendRecord"}}, *updateRecordJSON)
}

// TestRecordEncoderSameAsEncodingJSON compares appendRecord with
// json.Marshal on random records: the embedded structs' promoted fields,
// times, maps, every omitempty both ways.
func TestRecordEncoderSameAsEncodingJSON(t *testing.T) {
	gen.SameAsMarshal(t, 400, appendRecord)
}
