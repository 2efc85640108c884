package specjson

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/jsonenc/gen"
)

var update = flag.Bool("update", false, "rewrite spec_gen.go from the runtime-spec types")

// TestGenerated keeps spec_gen.go what the generator writes for the
// runtime-spec version in go.mod: a new field there is a test failure
// until the file is written again (-update).
func TestGenerated(t *testing.T) {
	src, err := gen.Generate("github.com/myctr/myctr/frontend/specjson", "specjson",
		"go test ./frontend/specjson -run TestGenerated -update", []gen.Root{
			{Type: reflect.TypeFor[specs.Spec](), Func: "AppendSpec"},
			{Type: reflect.TypeFor[specs.LinuxSeccomp](), Func: "AppendLinuxSeccomp"},
		})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("spec_gen.go", src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile("spec_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, src) {
		t.Fatal("spec_gen.go is not what the generator writes now: go test ./frontend/specjson -run TestGenerated -update")
	}
}

// TestSameAsEncodingJSON compares the encoders with json.Marshal on
// random specs: every field set or left empty, strings with every kind
// of escape.
func TestSameAsEncodingJSON(t *testing.T) {
	for seed := uint64(0); seed < 400; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		var s specs.Spec
		gen.Fill(r, reflect.ValueOf(&s).Elem(), 4)
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		have, err := AppendSpec([]byte("x"), &s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have[1:], want) || have[0] != 'x' {
			t.Fatalf("seed %d: AppendSpec differs from json.Marshal:\n%s\n%s", seed, have[1:], want)
		}
		if s.Linux != nil && s.Linux.Seccomp != nil {
			want, _ := json.Marshal(s.Linux.Seccomp)
			if have, err := AppendLinuxSeccomp(nil, s.Linux.Seccomp); err != nil || !bytes.Equal(have, want) {
				t.Fatalf("seed %d: AppendLinuxSeccomp differs from json.Marshal (%v):\n%s\n%s", seed, err, have, want)
			}
		}
	}
	// The empty spec.
	if have, _ := AppendSpec(nil, &specs.Spec{}); string(have) != `{"ociVersion":""}` {
		t.Errorf("empty spec: %s", have)
	}
}
