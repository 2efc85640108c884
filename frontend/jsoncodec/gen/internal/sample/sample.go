// Package sample holds types that meet each of encoding/json's rules the
// generator follows, and their generated encoder (sample_gen.go), which
// its test compares with json.Marshal.
package sample

import (
	"encoding/json"
	"net/netip"
	"strings"
)

// Sample is the root.
type Sample struct {
	Name    string `json:"name"`
	Skipped string `json:"-"`
	Dash    string `json:"-,"`
	Bad     string `json:"a\"b"` // not a valid name: the field's own
	private int
	A
	*B
	C `json:"c"`
	inner
	Inner2 inner `json:",omitempty"`

	Bytes   []byte            `json:",omitempty"`
	Array   [2]int8           `json:",omitempty"`
	Empty   [0]int            `json:",omitempty"`
	F32     float32           `json:",omitempty"`
	F64     float64           `json:",omitempty"`
	IntKeys map[int16]string  `json:",omitempty"`
	UKeys   map[uint32][]bool `json:",omitempty"`
	TKeys   map[netip.Addr]int
	Any     any
	Number  json.Number
	Upper   Upper
	UpperP  *Upper
	PtrOnly PtrOnly
	Nested  map[string]map[string]*A
	Z       Zeroer  `json:",omitzero"`
	ZP      ZeroerP `json:",omitzero"`
	ZS      D       `json:",omitzero"`
	ZI      int     `json:",omitzero,omitempty"`
	Set     map[string]struct{}
}

// A's Dup meets B's at the same depth with no tags: both are dropped.
type A struct {
	Dup   string
	OnlyA bool `json:",omitempty"`
	Tag   string
}

// B's Tag is tagged: it wins over A's.
type B struct {
	Dup string
	Tag string `json:"Tag"`
	D
}

// C is embedded with a tag: a field, not promoted.
type C struct{ X int }

// D is two levels down: Name loses to the root's.
type D struct {
	Name  string
	Depth uint8
}

type inner struct{ Exported string }

// Upper marshals itself as text.
type Upper string

func (u Upper) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(u))), nil }

// PtrOnly marshals itself from a pointer only.
type PtrOnly struct{ N int }

func (p *PtrOnly) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

// Zeroer says what zero is.
type Zeroer struct{ N int }

func (z Zeroer) IsZero() bool { return z.N < 5 }

// ZeroerP says it from a pointer.
type ZeroerP struct{ N int }

func (z *ZeroerP) IsZero() bool { return z.N%2 == 0 }
