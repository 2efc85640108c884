package cgroup

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// PropertyAnnotation prefixes the annotations that set a property of a
// container's systemd scope, as runc and crun read them with their
// systemd cgroup driver: org.systemd.property.NAME=VALUE, VALUE in
// GVariant's text form (`uint64 1000`, `"text"`, `true`).
const PropertyAnnotation = "org.systemd.property."

// AnnotationProperties are the scope properties that annotations ask for
// (PropertyAnnotation), in the order of their names. A NAME ending in a
// lowercase letter and "Sec" (TimeoutStopSec) takes seconds and is sent
// as NAMEUSec in microseconds, as runc does, since systemd's D-Bus API
// knows only the latter. A name that is not letters alone, or a value
// that does not parse, is an error naming the annotation: systemd would
// refuse the whole scope, or set something else than was meant.
func AnnotationProperties(annotations map[string]string) ([]sd.Property, error) {
	var keys []string
	for k := range annotations {
		if strings.HasPrefix(k, PropertyAnnotation) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var props []sd.Property
	for _, k := range keys {
		name, text := strings.TrimPrefix(k, PropertyAnnotation), annotations[k]
		if err := checkPropertyName(name); err != nil {
			return nil, fmt.Errorf("annotation %s: %w", k, err)
		}
		v, err := godbus.ParseVariant(text, godbus.Signature{})
		if err != nil {
			return nil, fmt.Errorf("annotation %s: value %q is not a D-Bus value in GVariant's text form (such as uint64 100, \"text\", true): %w", k, text, err)
		}
		if base, ok := strings.CutSuffix(name, "Sec"); ok && base[len(base)-1] >= 'a' && base[len(base)-1] <= 'z' {
			us, err := secondsToUSec(v)
			if err != nil {
				return nil, fmt.Errorf("annotation %s: %w", k, err)
			}
			name, v = base+"USec", godbus.MakeVariant(us)
		}
		props = append(props, sd.Property{Name: name, Value: v})
	}
	return props, nil
}

// checkPropertyName accepts a systemd property name: ASCII letters only,
// three at least.
func checkPropertyName(name string) error {
	if len(name) < 3 {
		return fmt.Errorf("property name %q is too short", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return fmt.Errorf("property name %q has a character other than a letter", name)
		}
	}
	return nil
}

// secondsToUSec converts a number of seconds, of any D-Bus number type,
// to microseconds.
func secondsToUSec(v godbus.Variant) (uint64, error) {
	var sec float64
	switch n := v.Value().(type) {
	case uint8:
		sec = float64(n)
	case uint16:
		sec = float64(n)
	case uint32:
		sec = float64(n)
	case uint64:
		sec = float64(n)
	case int16:
		sec = float64(n)
	case int32:
		sec = float64(n)
	case int64:
		sec = float64(n)
	case float64:
		sec = n
	default:
		return 0, fmt.Errorf("a property in seconds takes a number, not %s", v.Signature())
	}
	us := sec * 1e6
	if math.IsNaN(us) || us < 0 || us >= math.MaxUint64 {
		return 0, errors.New("a property in seconds takes a number from 0 on")
	}
	return uint64(us), nil
}
