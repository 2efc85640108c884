// Package jsoncodec is what the JSON encoders and decoders that
// frontend/jsoncodec/gen writes call at run time: encoding/json's forms of
// scalars, byte for byte, and a reader of JSON with json.Unmarshal's
// rules, without reflection.
//
// encoding/json builds each type's encoder or decoder, and the field list
// of every struct it holds, the first time a process uses the type. A
// runtime spec holds about a hundred types; for a command that writes one
// spec and one record and exits (myctr run), building them took more time
// than the encoding, and a record's first decode in a process about
// 1.4 ms where the next takes 20 us. The generated code is plain code
// over the same types, and each package that has it tests that it writes
// what json.Marshal writes, and reads what json.Unmarshal reads, for
// random values.
package jsoncodec

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as json.Marshal writes a string: quoted, with
// <, > and & escaped for HTML, U+2028 and U+2029 escaped, and each byte
// of invalid UTF-8 written as U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendFloat appends f as json.Marshal writes a float of the given bits
// (32 or 64): ES6's number form. Infinities and NaN are an error, as
// there.
func AppendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-07 → e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// AppendBytes appends p as json.Marshal writes a []byte: standard
// base64 in quotes; nil is null.
func AppendBytes(b []byte, p []byte) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

// AppendQuotedInt appends an integer map key as json.Marshal writes it:
// its decimal form, quoted.
func AppendQuotedInt(b []byte, i int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, i, 10)
	return append(b, '"')
}

// AppendQuotedUint is AppendQuotedInt for unsigned keys.
func AppendQuotedUint(b []byte, u uint64) []byte {
	b = append(b, '"')
	b = strconv.AppendUint(b, u, 10)
	return append(b, '"')
}

// Indent returns b, a compact JSON value as the encoders write it, as
// json.MarshalIndent(v, "", "  ") writes it: the form of the files people
// read (config.json, records). json.Indent scans with a state machine
// (a call per byte); this only needs to know where strings are.
func Indent(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/2)
	depth := 0
	newline := func() {
		out = append(out, '\n')
		for range depth {
			out = append(out, ' ', ' ')
		}
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			// The whole string, escapes and all.
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, b[i:min(j+1, len(b))]...)
			i = j
		case '{', '[':
			out = append(out, c)
			if i+1 < len(b) && (b[i+1] == '}' || b[i+1] == ']') {
				out = append(out, b[i+1]) // empty: {} or []
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			out = append(out, c)
		case ',':
			out = append(out, c)
			newline()
		case ':':
			out = append(out, ':', ' ')
		default:
			out = append(out, c)
		}
	}
	return out
}

// AppendMarshal appends json.Marshal(v): for the values whose form the
// generator leaves to encoding/json (those with their own MarshalJSON
// or MarshalText, such as time.Time, and interface values), which
// build no field lists.
func AppendMarshal(b []byte, v any) ([]byte, error) {
	p, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, p...), nil
}
