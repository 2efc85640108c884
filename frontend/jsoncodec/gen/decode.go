package gen

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodeFuncFor is the name of the function that decodes struct type t,
// queued for writing on first use.
func (g *generator) decodeFuncFor(t reflect.Type) string {
	return g.queued(t, "decode", g.dfuncs, &g.dqueue)
}

// decodeStruct writes the function that reads an object into a struct of
// type t: a key is its field's exact name, else the first field whose
// name it matches under case folding (encoding/json's order); a key of
// no field is skipped; null leaves the struct as it is.
func (g *generator) decodeStruct(t reflect.Type) {
	w := &g.body
	fields := g.fields(t)
	fmt.Fprintf(w, "\nfunc %s(d *jsoncodec.Decoder, v *%s) error {\n", g.dfuncs[t], g.typeName(t))
	w.WriteString("\tif d.Null() {\n\t\treturn nil\n\t}\n")
	if len(fields) == 0 {
		w.WriteString("\treturn d.Object(func([]byte) error { return d.Skip() })\n}\n")
		return
	}
	w.WriteString("\treturn d.Object(func(k []byte) error {\n\t\tf := -1\n\t\tswitch string(k) {\n")
	for i, f := range fields {
		fmt.Fprintf(w, "\t\tcase %q:\n\t\t\tf = %d\n", f.name, i)
	}
	w.WriteString("\t\t}\n\t\tif f < 0 {\n\t\t\tswitch {\n")
	for i, f := range fields {
		fmt.Fprintf(w, "\t\t\tcase jsoncodec.Fold(k, %q):\n\t\t\t\tf = %d\n", f.name, i)
	}
	w.WriteString("\t\t\t}\n\t\t}\n\t\tswitch f {\n")
	for i, f := range fields {
		fmt.Fprintf(w, "\t\tcase %d:\n", i)
		expr := "v"
		cur := t
		for n, idx := range f.index {
			sf := cur.Field(idx)
			if !sf.IsExported() && cur.PkgPath() != g.pkgPath {
				g.fail("%s: field %s is unexported in another package", t, sf.Name)
			}
			expr += "." + sf.Name
			cur = sf.Type
			if n < len(f.index)-1 && cur.Kind() == reflect.Pointer {
				if !sf.IsExported() {
					g.fail("%s: embedded pointer %s is unexported (json.Unmarshal refuses to set it)", t, sf.Name)
				}
				fmt.Fprintf(w, "\t\tif %s == nil {\n\t\t\t%s = new(%s)\n\t\t}\n", expr, expr, g.typeName(cur.Elem()))
				cur = cur.Elem()
			}
		}
		g.decodeValue(expr, cur)
	}
	w.WriteString("\t\tdefault:\n\t\t\treturn d.Skip()\n\t\t}\n\t\treturn nil\n\t})\n}\n")
}

// decodes says whether encoding/json leaves a value of type t to its own
// methods when decoding (it reaches every value by a pointer).
func decodes(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType) || t.Kind() == reflect.Interface || t == numberType
}

// decodeValue writes the statements that read the next value into expr,
// of type t, returning any error from the enclosing func.
func (g *generator) decodeValue(expr string, t reflect.Type) {
	w := &g.body
	if decodes(t) {
		g.use("encoding/json")
		raw := g.newVar("raw")
		fmt.Fprintf(w, "\t%s, err := d.Raw()\n\tif err != nil {\n\t\treturn err\n\t}\n\tif err := json.Unmarshal(%s, &%s); err != nil {\n\t\treturn err\n\t}\n", raw, raw, expr)
		return
	}
	scalar := func(call string) {
		x := g.newVar("x")
		fmt.Fprintf(w, "\tif !d.Null() {\n\t\t%s, err := d.%s\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t\t%s = %s(%s)\n\t}\n", x, call, expr, g.typeName(t), x)
	}
	switch t.Kind() {
	case reflect.Bool:
		scalar("Bool()")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		scalar(fmt.Sprintf("Int(%d)", t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		scalar(fmt.Sprintf("Uint(%d)", t.Bits()))
	case reflect.Float32, reflect.Float64:
		scalar(fmt.Sprintf("Float(%d)", t.Bits()))
	case reflect.String:
		scalar("String()")
	case reflect.Struct:
		if t.NumField() == 0 {
			w.WriteString("\tif !d.Null() {\n\t\tif err := d.Object(func([]byte) error { return d.Skip() }); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n")
			return
		}
		fmt.Fprintf(w, "\tif err := %s(d, &%s); err != nil {\n\t\treturn err\n\t}\n", g.decodeFuncFor(t), expr)
	case reflect.Pointer:
		fmt.Fprintf(w, "\tif d.Null() {\n\t\t%s = nil\n\t} else {\n\t\tif %s == nil {\n\t\t\t%s = new(%s)\n\t\t}\n", expr, expr, expr, g.typeName(t.Elem()))
		g.decodeValue("(*"+expr+")", t.Elem())
		w.WriteString("\t}\n")
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !decodes(t.Elem()) {
			if t.Elem() != reflect.TypeFor[byte]() {
				g.fail("%s: a slice of a named byte type", t)
			}
			x := g.newVar("x")
			fmt.Fprintf(w, "\tif d.Null() {\n\t\t%s = nil\n\t} else {\n\t\t%s, err := d.Bytes()\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t\t%s = %s(%s)\n\t}\n", expr, x, expr, g.typeName(t), x)
			return
		}
		s, e := g.newVar("s"), g.newVar("e")
		fmt.Fprintf(w, "\tif d.Null() {\n\t\t%s = nil\n\t} else {\n\t\t%s := %s[:0]\n", expr, s, expr)
		fmt.Fprintf(w, "\t\tif err := d.Array(func() error {\n\t\t\tvar %s %s\n", e, g.typeName(t.Elem()))
		g.decodeValue(e, t.Elem())
		fmt.Fprintf(w, "\t\t\t%s = append(%s, %s)\n\t\t\treturn nil\n\t\t}); err != nil {\n\t\t\treturn err\n\t\t}\n", s, s, e)
		fmt.Fprintf(w, "\t\tif %s == nil {\n\t\t\t%s = %s{}\n\t\t}\n\t\t%s = %s\n\t}\n", s, s, g.typeName(t), expr, s)
	case reflect.Array:
		i := g.newVar("i")
		fmt.Fprintf(w, "\tif !d.Null() {\n\t\t%s := 0\n\t\tif err := d.Array(func() error {\n\t\t\tif %s >= %d {\n\t\t\t\treturn d.Skip()\n\t\t\t}\n", i, i, t.Len())
		g.decodeValue(expr+"["+i+"]", t.Elem())
		fmt.Fprintf(w, "\t\t\t%s++\n\t\t\treturn nil\n\t\t}); err != nil {\n\t\t\treturn err\n\t\t}\n", i)
		fmt.Fprintf(w, "\t\tfor ; %s < %d; %s++ {\n\t\t\tvar z %s\n\t\t\t%s[%s] = z\n\t\t}\n\t}\n", i, t.Len(), i, g.typeName(t.Elem()), expr, i)
	case reflect.Map:
		g.decodeMap(expr, t)
	default:
		g.fail("%s: kind %s cannot be decoded", t, t.Kind())
	}
}

// decodeMap writes the statements that read an object into a map: null
// is nil, a nil map is made, each entry's value starts from zero.
func (g *generator) decodeMap(expr string, t reflect.Type) {
	w := &g.body
	key := t.Key()
	if reflect.PointerTo(key).Implements(textUnmarshalerType) {
		g.use("encoding/json")
		raw := g.newVar("raw")
		fmt.Fprintf(w, "\t%s, err := d.Raw()\n\tif err != nil {\n\t\treturn err\n\t}\n\tif err := json.Unmarshal(%s, &%s); err != nil {\n\t\treturn err\n\t}\n", raw, raw, expr)
		return
	}
	var keyExpr string
	switch key.Kind() {
	case reflect.String:
		keyExpr = g.typeName(key) + "(k)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		keyExpr = fmt.Sprintf("%s(kn)", g.typeName(key))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		keyExpr = fmt.Sprintf("%s(kn)", g.typeName(key))
	default:
		g.fail("%s: map key kind %s", t, key.Kind())
		return
	}
	e := g.newVar("e")
	fmt.Fprintf(w, "\tif d.Null() {\n\t\t%s = nil\n\t} else {\n\t\tif %s == nil {\n\t\t\t%s = make(%s)\n\t\t}\n", expr, expr, expr, g.typeName(t))
	fmt.Fprintf(w, "\t\tif err := d.Object(func(k []byte) error {\n")
	switch key.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprintf(w, "\t\t\tkn, err := jsoncodec.IntKey(k, %d)\n\t\t\tif err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", key.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprintf(w, "\t\t\tkn, err := jsoncodec.UintKey(k, %d)\n\t\t\tif err != nil {\n\t\t\t\treturn err\n\t\t\t}\n", key.Bits())
	}
	fmt.Fprintf(w, "\t\t\tvar %s %s\n", e, g.typeName(t.Elem()))
	g.decodeValue(e, t.Elem())
	fmt.Fprintf(w, "\t\t\t%s[%s] = %s\n\t\t\treturn nil\n\t\t}); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n", expr, keyExpr, e)
}
