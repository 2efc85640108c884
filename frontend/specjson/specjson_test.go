package specjson

import (
	"encoding/json"
	"flag"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/jsoncodec/gen"
)

var update = flag.Bool("update", false, "rewrite spec_gen.go from the runtime-spec types")

// TestGenerated keeps spec_gen.go what the generator writes for the
// runtime-spec version in go.mod: a new field there is a test failure
// until the file is written again (-update).
func TestGenerated(t *testing.T) {
	gen.Keep(t, "spec_gen.go", "github.com/myctr/myctr/frontend/specjson", "specjson",
		"go test ./frontend/specjson -run TestGenerated -update", []gen.Root{
			{Type: reflect.TypeFor[specs.Spec](), Func: "AppendSpec"},
			{Type: reflect.TypeFor[specs.LinuxSeccomp](), Func: "AppendLinuxSeccomp"},
		}, *update)
}

// TestSameAsEncodingJSON compares the encoders with json.Marshal on
// random specs and seccomp sections: every field set or left empty,
// strings with every kind of escape.
func TestSameAsEncodingJSON(t *testing.T) {
	gen.SameAsMarshal(t, 400, AppendSpec)
	gen.SameAsMarshal(t, 400, AppendLinuxSeccomp)
	if have, _ := AppendSpec(nil, &specs.Spec{}); string(have) != `{"ociVersion":""}` {
		t.Errorf("empty spec: %s", have)
	}
	want, _ := json.Marshal(&specs.Spec{})
	if string(want) != `{"ociVersion":""}` {
		t.Errorf("json.Marshal of the empty spec: %s", want)
	}
}
