package gen

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"time"
)

// strings that exercise every branch of the string encoding: HTML
// characters, control characters and their short escapes, U+2028,
// invalid UTF-8, multi-byte runes.
var fillStrings = []string{
	"", "a", "/usr/bin/env", "<b>&amp;</b>", "\x00\x01\x1f\x7f", "\b\f\n\r\t\"\\",
	"\u2028\u2029", "\xff\xfe", "caf\u00e9", "\U0001F600", "a\xc3", "SIGTERM",
}

// Fill sets every exported field that v reaches to a random value, with
// zero values, nil and empty containers among them, so that an encoder
// meets omitempty's both sides, nil pointers and maps of several keys.
// depth bounds recursion.
func Fill(r *rand.Rand, v reflect.Value, depth int) {
	if !v.CanSet() {
		return
	}
	if v.Type() == reflect.TypeFor[time.Time]() {
		if r.IntN(3) > 0 {
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).UTC()))
		}
		return
	}
	if v.Type() == reflect.TypeFor[json.Number]() {
		v.SetString([]string{"", "12.5e3", "-7", "0"}[r.IntN(4)])
		return
	}
	zero := r.IntN(5) == 0
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !zero {
			v.SetInt(r.Int64N(1<<uint(min(v.Type().Bits()-1, 40))) - r.Int64N(100))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !zero {
			v.SetUint(r.Uint64N(1 << uint(min(v.Type().Bits(), 40))))
		}
	case reflect.Float32, reflect.Float64:
		if !zero {
			f := []float64{0.1, 1e-7, 1e21, 123456789, -2.5, 3e-300}[r.IntN(6)]
			if v.Kind() == reflect.Float32 {
				f = float64(float32(f))
			}
			v.SetFloat(f)
		}
	case reflect.String:
		v.SetString(fillStrings[r.IntN(len(fillStrings))])
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			Fill(r, v.Field(i), depth)
		}
	case reflect.Pointer:
		if zero || depth <= 0 {
			return
		}
		p := reflect.New(v.Type().Elem())
		Fill(r, p.Elem(), depth-1)
		v.Set(p)
	case reflect.Slice:
		if zero || depth <= 0 {
			return
		}
		n := r.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			Fill(r, s.Index(i), depth-1)
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			Fill(r, v.Index(i), depth-1)
		}
	case reflect.Map:
		if zero || depth <= 0 {
			return
		}
		m := reflect.MakeMap(v.Type())
		for n := r.IntN(4); n > 0; n-- {
			k := reflect.New(v.Type().Key()).Elem()
			Fill(r, k, depth-1)
			e := reflect.New(v.Type().Elem()).Elem()
			Fill(r, e, depth-1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		if !zero && v.NumMethod() == 0 {
			v.Set(reflect.ValueOf(fillStrings[r.IntN(len(fillStrings))]))
		}
	}
}
