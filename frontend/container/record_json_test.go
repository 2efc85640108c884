package container

import (
	"encoding/json"
	"flag"
	"reflect"
	"testing"

	"github.com/myctr/myctr/frontend/jsoncodec/gen"
)

var updateRecordJSON = flag.Bool("update", false, "rewrite record_gen.go from the record's types")

// TestRecordEncoderGenerated keeps record_gen.go what the generator
// writes for the record's types: a field added to Container (or to a
// type it holds) fails here until the file is written again (-update).
func TestRecordEncoderGenerated(t *testing.T) {
	gen.Keep(t, "record_gen.go", "github.com/myctr/myctr/frontend/container", "container",
		"go test ./frontend/container -run TestRecordEncoderGenerated -update",
		[]gen.Root{{Type: reflect.TypeFor[Container](), Func: "appendRecord", Decode: "decodeRecord"}}, *updateRecordJSON)
}

// TestRecordEncoderSameAsEncodingJSON compares appendRecord with
// json.Marshal on random records: the embedded structs' promoted fields,
// times, maps, every omitempty both ways.
func TestRecordEncoderSameAsEncodingJSON(t *testing.T) {
	gen.SameAsMarshal(t, 400, appendRecord)
}

// TestRecordDecoderSameAsEncodingJSON compares decodeRecord with
// json.Unmarshal on random records and on changed forms of them.
func TestRecordDecoderSameAsEncodingJSON(t *testing.T) {
	gen.SameAsUnmarshal(t, 400, decodeRecord)
}

// FuzzDecodeRecord: on any input, decodeRecord and json.Unmarshal both
// fail, or both succeed with equal records.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range []string{`{}`, `{"ID":"a","Created":"2026-01-02T03:04:05.000000006Z","State":{"Status":"running","Pid":12}}`,
		`{"HostConfig":{"NetworkMode":"none","Resources":{"Memory":1024}},"Networks":{"n":{"Aliases":["x"]}}}`,
		`{"Pod":"p","Labels":{"a":"b"},"Mounts":[{"Type":"bind"}],"Healthcheck":{"Test":["CMD","true"]}}`,
		`{"id":"lower case","state":{"startedAt":"bad time"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, have Container
		werr := json.Unmarshal(data, &want)
		herr := decodeRecord(data, &have)
		if (werr == nil) != (herr == nil) {
			t.Fatalf("json.Unmarshal: %v, decodeRecord: %v, of %q", werr, herr, data)
		}
		if werr == nil && !reflect.DeepEqual(want, have) {
			t.Fatalf("decodeRecord read %#v, json.Unmarshal %#v, of %q", have, want, data)
		}
	})
}
