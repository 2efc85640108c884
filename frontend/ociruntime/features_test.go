package ociruntime

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/myctr/myctr/frontend/cgroup"
)

// TestFeatures: the features document names what the scope's
// annotations may change (runc's potentiallyUnsafeConfigAnnotations), and
// the annotation prefix AnnotationProperties reads is that one.
func TestFeatures(t *testing.T) {
	b, err := json.Marshal(Features())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Unsafe []string `json:"potentiallyUnsafeConfigAnnotations"`
		Linux  struct {
			Cgroup struct{ Systemd, SystemdUser bool }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(doc.Unsafe, "org.systemd.property.") || !doc.Linux.Cgroup.Systemd || !doc.Linux.Cgroup.SystemdUser {
		t.Errorf("features: %s; want org.systemd.property. among potentiallyUnsafeConfigAnnotations, and systemd cgroups", b)
	}
	if cgroup.PropertyAnnotation != "org.systemd.property." {
		t.Errorf("AnnotationProperties reads %q, runc's and crun's prefix is org.systemd.property.", cgroup.PropertyAnnotation)
	}
}
