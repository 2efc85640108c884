package cgroup

import (
	"strings"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

func TestAnnotationProperties(t *testing.T) {
	props, err := AnnotationProperties(map[string]string{
		"org.systemd.property.TimeoutStopSec":   "uint64 5",
		"org.systemd.property.RuntimeMaxSec":    "2.5",
		"org.systemd.property.CollectMode":      "'inactive'",
		"org.systemd.property.TimeoutStartUSec": "uint64 7",
		"org.systemd.property.CPUWeight":        "uint64 50",
		"io.podman.annotations.label":           "disable",
		"org.systemd.propertyX":                 "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		value any
	}{
		{"CPUWeight", uint64(50)},
		{"CollectMode", "inactive"},
		{"RuntimeMaxUSec", uint64(2500000)},
		{"TimeoutStartUSec", uint64(7)},
		{"TimeoutStopUSec", uint64(5000000)},
	}
	if len(props) != len(want) {
		t.Fatalf("got %d properties %v, want %d", len(props), props, len(want))
	}
	for i, w := range want {
		if props[i].Name != w.name || props[i].Value.Value() != w.value {
			t.Errorf("property %d = %s %#v, want %s %#v", i, props[i].Name, props[i].Value.Value(), w.name, w.value)
		}
	}
	if props, err := AnnotationProperties(nil); err != nil || props != nil {
		t.Errorf("no annotations: %v, %v", props, err)
	}
	for k, v := range map[string]string{
		"org.systemd.property.Foo-Bar":        "true",
		"org.systemd.property.Ab":             "true",
		"org.systemd.property.":               "true",
		"org.systemd.property.CPUWeight":      "uint64 x",
		"org.systemd.property.TimeoutStopSec": "'ten'",
		"org.systemd.property.RuntimeMaxSec":  "int32 -1",
	} {
		if _, err := AnnotationProperties(map[string]string{k: v}); err == nil || !strings.Contains(err.Error(), "annotation "+k+":") {
			t.Errorf("%s=%s: error %v, want one naming the annotation", k, v, err)
		}
	}
	// GVariant's text form as godbus parses it: the signature it gives.
	if v, _ := godbus.ParseVariant("uint64 5", godbus.Signature{}); v.Signature().String() != "t" {
		t.Errorf("uint64 5 parses as %s", v.Signature())
	}
}
