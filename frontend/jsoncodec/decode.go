package jsoncodec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Decoder reads one JSON value from data for the generated decoders, with
// json.Unmarshal's rules for what they use: a value of the wrong JSON
// type is an error (json.Unmarshal's UnmarshalTypeError), null leaves
// a value as it is (and a pointer, slice, map or interface nil), strings
// are unescaped with invalid UTF-8 and lone surrogates as U+FFFD. Unlike
// json.Unmarshal, it stops at the first error, so the value it was
// decoding into is then only partly set; callers discard it.
type Decoder struct {
	data  []byte
	pos   int
	depth int
}

// maxDepth is encoding/json's bound on nesting.
const maxDepth = 10000

// NewDecoder reads data.
func NewDecoder(data []byte) *Decoder { return &Decoder{data: data} }

func (d *Decoder) syntax(what string) error {
	if d.pos >= len(d.data) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %q %s (offset %d)", d.data[d.pos], what, d.pos)
}

func (d *Decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// End checks that only white space follows the value.
func (d *Decoder) End() error {
	d.ws()
	if d.pos != len(d.data) {
		return d.syntax("after top-level value")
	}
	return nil
}

// peek is the next value's first byte, 0 at the end.
func (d *Decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *Decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.syntax("in literal " + word)
	}
	d.pos += len(word)
	return nil
}

// Null consumes a null and says so; any other value is left.
func (d *Decoder) Null() bool {
	if d.peek() == 'n' && d.literal("null") == nil {
		return true
	}
	return false
}

func typeError(want string, got byte) error {
	kind := "value"
	switch got {
	case '"':
		kind = "string"
	case '{':
		kind = "object"
	case '[':
		kind = "array"
	case 't', 'f':
		kind = "bool"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		kind = "number"
	}
	return fmt.Errorf("json: cannot unmarshal %s into a Go value of type %s", kind, want)
}

// Object reads an object, calling each with every key (unescaped; valid
// until the next call) with the decoder at the key's value, which each
// must consume.
func (d *Decoder) Object(each func(key []byte) error) error {
	if c := d.peek(); c != '{' {
		if err := d.Skip(); err != nil {
			return err
		}
		return typeError("struct or map", c)
	}
	if d.depth++; d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	d.pos++
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	var buf []byte
	for {
		if d.peek() != '"' {
			return d.syntax("looking for beginning of object key string")
		}
		key, err := d.appendString(buf[:0])
		if err != nil {
			return err
		}
		buf = key
		if d.peek() != ':' {
			return d.syntax("after object key")
		}
		d.pos++
		if err := each(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntax("after object key:value pair")
		}
	}
}

// Array reads an array, calling each with the decoder at every element,
// which each must consume.
func (d *Decoder) Array(each func() error) error {
	if c := d.peek(); c != '[' {
		if err := d.Skip(); err != nil {
			return err
		}
		return typeError("slice or array", c)
	}
	if d.depth++; d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	d.pos++
	if d.peek() == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := each(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntax("after array element")
		}
	}
}

// String reads a string.
func (d *Decoder) String() (string, error) {
	if c := d.peek(); c != '"' {
		if err := d.Skip(); err != nil {
			return "", err
		}
		return "", typeError("string", c)
	}
	// The common case, nothing to unescape: one copy.
	start := d.pos + 1
	for i := start; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return string(d.data[start:i]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	b, err := d.appendString(nil)
	return string(b), err
}

// appendString appends the string at pos (its opening quote), unescaped.
func (d *Decoder) appendString(b []byte) ([]byte, error) {
	d.pos++
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return b, nil
		case c < 0x20:
			return b, d.syntax("in string literal")
		case c == '\\':
			if d.pos+1 >= len(d.data) {
				d.pos = len(d.data)
				return b, d.syntax("")
			}
			e := d.data[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return b, d.syntax("in \\u hexadecimal character escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair, or U+FFFD for a lone half.
					save := d.pos
					if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
						d.pos += 2
						if r2, ok := d.hex4(); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b = utf8.AppendRune(b, dec)
								continue
							}
						}
					}
					d.pos = save
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos--
				return b, d.syntax("in string escape code")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, d.data[d.pos:d.pos+size]...)
			}
			d.pos += size
		}
	}
	return b, d.syntax("")
}

func (d *Decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// Bool reads true or false.
func (d *Decoder) Bool() (bool, error) {
	switch c := d.peek(); c {
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	default:
		if err := d.Skip(); err != nil {
			return false, err
		}
		return false, typeError("bool", c)
	}
}

// number reads a number literal by JSON's grammar; isInt says it has
// neither fraction nor exponent.
func (d *Decoder) number() (lit []byte, isInt bool, err error) {
	start := d.pos
	i := d.pos
	if i < len(d.data) && d.data[i] == '-' {
		i++
	}
	digits := func() bool {
		n := i
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
		return i > n
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case !digits():
		d.pos = i
		return nil, false, d.syntax("in numeric literal")
	}
	isInt = true
	if i < len(d.data) && d.data[i] == '.' {
		i++
		isInt = false
		if !digits() {
			d.pos = i
			return nil, false, d.syntax("after decimal point in numeric literal")
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		isInt = false
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if !digits() {
			d.pos = i
			return nil, false, d.syntax("in exponent of numeric literal")
		}
	}
	d.pos = i
	return d.data[start:i], isInt, nil
}

// numberFor reads a number for a Go value of type want, or skips a value
// of another type and says so.
func (d *Decoder) numberFor(want string) ([]byte, bool, error) {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		if err := d.Skip(); err != nil {
			return nil, false, err
		}
		return nil, false, typeError(want, c)
	}
	return d.number()
}

// Int reads an integer that fits bits.
func (d *Decoder) Int(bits int) (int64, error) {
	lit, isInt, err := d.numberFor("int")
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseInt(string(lit), 10, bits)
	if !isInt || perr != nil {
		return 0, fmt.Errorf("json: cannot unmarshal number %s into a Go value of type int%d", lit, bits)
	}
	return n, nil
}

// Uint reads an unsigned integer that fits bits.
func (d *Decoder) Uint(bits int) (uint64, error) {
	lit, isInt, err := d.numberFor("uint")
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseUint(string(lit), 10, bits)
	if !isInt || perr != nil {
		return 0, fmt.Errorf("json: cannot unmarshal number %s into a Go value of type uint%d", lit, bits)
	}
	return n, nil
}

// Float reads a number that fits a float of bits.
func (d *Decoder) Float(bits int) (float64, error) {
	lit, _, err := d.numberFor("float")
	if err != nil {
		return 0, err
	}
	f, perr := strconv.ParseFloat(string(lit), bits)
	if perr != nil {
		return 0, fmt.Errorf("json: cannot unmarshal number %s into a Go value of type float%d", lit, bits)
	}
	return f, nil
}

// Bytes reads a []byte: a base64 string.
func (d *Decoder) Bytes() ([]byte, error) {
	if c := d.peek(); c != '"' {
		if err := d.Skip(); err != nil {
			return nil, err
		}
		return nil, typeError("[]uint8", c)
	}
	s, err := d.appendString(nil)
	if err != nil {
		return nil, err
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// Raw reads the next value, whatever it is, and returns its bytes.
func (d *Decoder) Raw() ([]byte, error) {
	d.ws()
	start := d.pos
	if err := d.Skip(); err != nil {
		return nil, err
	}
	return d.data[start:d.pos], nil
}

// Skip reads the next value, whatever it is.
func (d *Decoder) Skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.Object(func([]byte) error { return d.Skip() })
	case c == '[':
		return d.Array(d.Skip)
	case c == '"':
		_, err := d.appendString(nil)
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, _, err := d.number()
		return err
	default:
		return d.syntax("looking for beginning of value")
	}
}

// Fold says whether key matches name as encoding/json matches a key
// that is not a field's exact name: equal under Unicode case folding.
func Fold(key []byte, name string) bool {
	for len(key) > 0 && len(name) > 0 {
		r1, n1 := rune(key[0]), 1
		if r1 >= utf8.RuneSelf {
			r1, n1 = utf8.DecodeRune(key)
		}
		r2, n2 := rune(name[0]), 1
		if r2 >= utf8.RuneSelf {
			r2, n2 = utf8.DecodeRuneInString(name)
		}
		if r1 != r2 && foldRune(r1) != foldRune(r2) {
			return false
		}
		key, name = key[n1:], name[n2:]
	}
	return len(key) == 0 && len(name) == 0
}

// foldRune is encoding/json's folding of a key's rune.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	return unicode.ToUpper(unicode.ToLower(r))
}

// IntKey reads an object's key as a map's integer key of bits.
func IntKey(k []byte, bits int) (int64, error) {
	n, err := strconv.ParseInt(string(k), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("json: cannot unmarshal number %q into a map key of type int%d", k, bits)
	}
	return n, nil
}

// UintKey reads an object's key as a map's unsigned key of bits.
func UintKey(k []byte, bits int) (uint64, error) {
	n, err := strconv.ParseUint(string(k), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("json: cannot unmarshal number %q into a map key of type uint%d", k, bits)
	}
	return n, nil
}
