package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// writeYAML writes v as YAML, the way Podman prints `info`: the keys of
// v's JSON encoding, in its order, two spaces a level, a list's items at
// the level of the key that holds them. Strings are plain where YAML reads
// them back as the same string, double-quoted (JSON's escapes, which YAML
// reads too) where they would read as something else: a number, a bool,
// null, or text with YAML's own punctuation.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	node, err := readNode(dec)
	if err != nil {
		return err
	}
	var out strings.Builder
	switch n := node.(type) {
	case []field:
		emitMap(&out, n, 0)
	case []any:
		emitList(&out, n, 0)
	default:
		out.WriteString(scalar(n) + "\n")
	}
	_, err = io.WriteString(w, out.String())
	return err
}

// field is one key of a JSON object, kept in the object's order.
type field struct {
	key string
	val any
}

// readNode reads one JSON value: []field for an object, []any for an
// array, else the token (string, json.Number, bool or nil).
func readNode(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		fields := []field{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			fields = append(fields, field{k.(string), v})
		}
		_, err := dec.Token() // }
		return fields, err
	case json.Delim('['):
		items := []any{}
		for dec.More() {
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		_, err := dec.Token() // ]
		return items, err
	}
	return tok, nil
}

func emitMap(out *strings.Builder, fields []field, indent int) {
	pad := strings.Repeat("  ", indent)
	for _, f := range fields {
		out.WriteString(pad + scalar(f.key) + ":")
		switch v := f.val.(type) {
		case []field:
			if len(v) == 0 {
				out.WriteString(" {}\n")
				continue
			}
			out.WriteString("\n")
			emitMap(out, v, indent+1)
		case []any:
			if len(v) == 0 {
				out.WriteString(" []\n")
				continue
			}
			out.WriteString("\n")
			emitList(out, v, indent)
		default:
			out.WriteString(" " + scalar(v) + "\n")
		}
	}
}

func emitList(out *strings.Builder, items []any, indent int) {
	pad := strings.Repeat("  ", indent)
	for _, it := range items {
		switch v := it.(type) {
		case []field:
			if len(v) == 0 {
				out.WriteString(pad + "- {}\n")
				continue
			}
			// The first key on the dash's line, the others under it.
			var first strings.Builder
			emitMap(&first, v[:1], indent+1)
			out.WriteString(pad + "- " + strings.TrimPrefix(first.String(), pad+"  "))
			emitMap(out, v[1:], indent+1)
		case []any:
			if len(v) == 0 {
				out.WriteString(pad + "- []\n")
				continue
			}
			out.WriteString(pad + "-\n")
			emitList(out, v, indent+1)
		default:
			out.WriteString(pad + "- " + scalar(v) + "\n")
		}
	}
}

// scalar is a leaf as YAML text.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	case string:
		if plainSafe(v) {
			return v
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// plainSafe reports whether s, written plain, reads back as the string s.
func plainSafe(s string) bool {
	if s == "" || s != strings.TrimSpace(s) {
		return false
	}
	switch strings.ToLower(s) {
	case "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return false
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0o") || strings.HasPrefix(s, ".") && len(s) > 1 && strings.Trim(s[1:], "0123456789") == "" {
		return false
	}
	if strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
