package jsoncodec

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&</a>", "\x00\x08\x0c\n\r\t\x1f\x7f", "\u2028\u2029", "\xff", "a\xc3(", "é\U0001F600", `\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if have := AppendString(nil, s); string(have) != string(want) {
			t.Fatalf("AppendString(%q) = %s, json.Marshal: %s", s, have, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, 1, -1, 0.1, 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, 1.5e300, 5e-324, 123456789.125, math.MaxFloat32} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		for _, bits := range []int{32, 64} {
			var want []byte
			var werr error
			if bits == 32 {
				want, werr = json.Marshal(float32(x))
			} else {
				want, werr = json.Marshal(x)
			}
			v := x
			if bits == 32 {
				v = float64(float32(x))
			}
			have, err := AppendFloat(nil, v, bits)
			if (err != nil) != (werr != nil) || string(have) != string(want) {
				t.Fatalf("AppendFloat(%v, %d) = %s, %v; json.Marshal: %s, %v", x, bits, have, err, want, werr)
			}
		}
	})
}

func TestAppendFloatRefusesNaN(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := AppendFloat(nil, x, 64); err == nil {
			t.Errorf("AppendFloat(%v) gave no error; json.Marshal refuses it", x)
		}
	}
}

func TestAppendBytesAndKeys(t *testing.T) {
	for _, p := range [][]byte{nil, {}, {0, 1, 2, 0xff}, []byte("hello, world")} {
		want, _ := json.Marshal(p)
		if have := AppendBytes(nil, p); string(have) != string(want) {
			t.Errorf("AppendBytes(%v) = %s, json.Marshal: %s", p, have, want)
		}
	}
	want, _ := json.Marshal(map[int64]bool{-12: true})
	if have := string(AppendQuotedInt([]byte("{"), -12)) + ":true}"; have != string(want) {
		t.Errorf("int key: %s, json.Marshal: %s", have, want)
	}
	want, _ = json.Marshal(map[uint8]bool{250: true})
	if have := string(AppendQuotedUint([]byte("{"), 250)) + ":true}"; have != string(want) {
		t.Errorf("uint key: %s, json.Marshal: %s", have, want)
	}
}

// FuzzIndent: Indent writes what json.Indent writes, for compact JSON
// as the encoders write it (json.Compact's form of any valid input).
func FuzzIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{},[],"x,:{}[]\"\\"],"b":{"c":null}}`, `"s"`, `[[[]],[{}]]`, `{"":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, data) != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		if have := Indent(compact.Bytes()); !bytes.Equal(have, want.Bytes()) {
			t.Fatalf("Indent(%s):\n%s\njson.Indent:\n%s", compact.Bytes(), have, want.Bytes())
		}
	})
}
