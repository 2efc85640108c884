package image

import (
	"flag"
	"reflect"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/frontend/jsoncodec/gen"
)

var updateOCIJSON = flag.Bool("update", false, "rewrite ocijson_gen.go from the image-spec types")

// TestOCIDecodersGenerated keeps ocijson_gen.go what the generator
// writes for the image-spec version in go.mod (-update writes it).
func TestOCIDecodersGenerated(t *testing.T) {
	gen.Keep(t, "ocijson_gen.go", "github.com/myctr/myctr/frontend/image", "image",
		"go test ./frontend/image -run TestOCIDecodersGenerated -update", []gen.Root{
			{Type: reflect.TypeFor[v1.Index](), Decode: "decodeIndex"},
			{Type: reflect.TypeFor[v1.Manifest](), Decode: "decodeManifest"},
			{Type: reflect.TypeFor[v1.Image](), Decode: "decodeImageConfig"},
		}, *updateOCIJSON)
}

// TestOCIDecodersSameAsEncodingJSON compares the decoders with
// json.Unmarshal on random index.json files, manifests and image configs,
// and on changed forms of them.
func TestOCIDecodersSameAsEncodingJSON(t *testing.T) {
	gen.SameAsUnmarshal(t, 300, decodeIndex)
	gen.SameAsUnmarshal(t, 300, decodeManifest)
	gen.SameAsUnmarshal(t, 300, decodeImageConfig)
}
