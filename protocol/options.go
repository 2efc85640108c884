package protocol

import (
	"slices"
	"sort"

	"github.com/godbus/dbus/v5"
)

// Options are each method's trailing a{sv}: new options can be added
// without breaking callers, and a helper that does not know an option
// refuses it by name (ErrInvalidArgs) rather than ignoring it.

// Option keys.
const (
	OptionBridge  = "bridge"  // AttachNetwork: s
	OptionNetwork = "network" // AttachNetwork: s
	OptionUID     = "uid"     // ReleaseAll: u
	// OptionControllers (DelegateCgroup: as) are the cgroup v2
	// controllers the caller needs delegated; the helper refuses the call
	// when the cgroup it makes lacks one.
	OptionControllers = "controllers"
)

// CgroupControllers are the controllers a container's limits use.
var CgroupControllers = []string{"cpu", "cpuset", "io", "memory", "pids"}

// DelegateOptions are DelegateCgroup's options.
type DelegateOptions struct {
	Controllers []string
}

// DecodeDelegateOptions decodes DelegateCgroup's options: each controller
// must be one of CgroupControllers, once.
func DecodeDelegateOptions(m map[string]dbus.Variant) (DelegateOptions, error) {
	var o DelegateOptions
	err := decode(m, map[string]func(dbus.Variant) error{
		OptionControllers: func(v dbus.Variant) error {
			if err := into(OptionControllers, v, &o.Controllers); err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, c := range o.Controllers {
				if seen[c] || !slices.Contains(CgroupControllers, c) {
					return Errorf(ErrInvalidArgs, "option %q: %q is not one of %v, once", OptionControllers, c, CgroupControllers)
				}
				seen[c] = true
			}
			return nil
		},
	})
	return o, err
}

// Encode is the inverse of DecodeDelegateOptions.
func (o DelegateOptions) Encode() map[string]dbus.Variant {
	m := map[string]dbus.Variant{}
	if len(o.Controllers) > 0 {
		m[OptionControllers] = dbus.MakeVariant(o.Controllers)
	}
	return m
}

// DecodeAttachOptions decodes AttachNetwork's options.
func DecodeAttachOptions(m map[string]dbus.Variant) (AttachOptions, error) {
	var o AttachOptions
	err := decode(m, map[string]func(dbus.Variant) error{
		OptionBridge:  func(v dbus.Variant) error { return into(OptionBridge, v, &o.Bridge) },
		OptionNetwork: func(v dbus.Variant) error { return into(OptionNetwork, v, &o.Network) },
	})
	return o, err
}

// Encode is the inverse of DecodeAttachOptions.
func (o AttachOptions) Encode() map[string]dbus.Variant {
	m := map[string]dbus.Variant{}
	if o.Bridge != "" {
		m[OptionBridge] = dbus.MakeVariant(o.Bridge)
	}
	if o.Network != "" {
		m[OptionNetwork] = dbus.MakeVariant(o.Network)
	}
	return m
}

// DecodeReleaseAllOptions decodes ReleaseAll's options.
func DecodeReleaseAllOptions(m map[string]dbus.Variant) (ReleaseAllOptions, error) {
	var o ReleaseAllOptions
	err := decode(m, map[string]func(dbus.Variant) error{
		OptionUID: func(v dbus.Variant) error {
			var u uint32
			if err := into(OptionUID, v, &u); err != nil {
				return err
			}
			o.UID = &u
			return nil
		},
	})
	return o, err
}

// Encode is the inverse of DecodeReleaseAllOptions.
func (o ReleaseAllOptions) Encode() map[string]dbus.Variant {
	m := map[string]dbus.Variant{}
	if o.UID != nil {
		m[OptionUID] = dbus.MakeVariant(*o.UID)
	}
	return m
}

// DecodeNoOptions is for the methods that take no option yet: any key is
// refused by name.
func DecodeNoOptions(m map[string]dbus.Variant) error {
	return decode(m, nil)
}

// decode calls known[key] for each key of m, in sorted order so that the
// error for several bad keys is stable; a key not in known is refused.
func decode(m map[string]dbus.Variant, known map[string]func(dbus.Variant) error) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := known[k]
		if !ok {
			return Errorf(ErrInvalidArgs, "unknown option %q", k)
		}
		if err := f(m[k]); err != nil {
			return err
		}
	}
	return nil
}

// into stores v's value in *dst when the types match exactly.
func into[T any](key string, v dbus.Variant, dst *T) error {
	x, ok := v.Value().(T)
	if !ok {
		var zero T
		return Errorf(ErrInvalidArgs, "option %q: want type %s, got %s", key, dbus.SignatureOf(zero), v.Signature())
	}
	*dst = x
	return nil
}
