package systemd

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SplitWords splits a value into words the way systemd splits a command
// line and Quadlet splits Exec=, Environment= and the like
// (extract_first_word with unquoting and C unescaping): words are
// separated by white space; single or double quotes, anywhere in a word,
// group characters (white space included) into it and are removed; a
// backslash, inside or outside quotes, starts a C escape (\a \b \f \n \r
// \t \v \\ \" \' \s \xHH \NNN \uHHHH \UHHHHHHHH), or, before white space
// or ';', stands for that character. An unknown escape, a backslash at the
// end, or an unterminated quote is an error. Specifiers ('%') and
// variables ('$') are not touched: they are systemd's, and pass through.
func SplitWords(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
		quote  byte // 0, '\'' or '"'
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			r, n, err := unescape(s[i+1:])
			if err != nil {
				return nil, err
			}
			cur.WriteString(r)
			i += n
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote = c
			inWord = true
		case isSpace(c):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unescape reads the escape after a backslash at the start of s: what it
// stands for and how many bytes of s it took.
func unescape(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("a backslash ends the value")
	}
	simple := map[byte]string{
		'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v",
		'\\': "\\", '"': "\"", '\'': "'", 's': " ", ' ': " ", '\t': "\t", ';': ";",
	}
	if r, ok := simple[s[0]]; ok {
		return r, 1, nil
	}
	num := func(digits string, base, bits int) (uint64, error) {
		v, err := strconv.ParseUint(digits, base, bits)
		if err != nil {
			return 0, fmt.Errorf("bad escape \\%s", s[:min(len(s), len(digits)+1)])
		}
		return v, nil
	}
	fixed := func(n int) (string, error) {
		if len(s) < 1+n {
			return "", fmt.Errorf("bad escape \\%s", s)
		}
		return s[1 : 1+n], nil
	}
	switch s[0] {
	case 'x':
		d, err := fixed(2)
		if err != nil {
			return "", 0, err
		}
		v, err := num(d, 16, 8)
		if err != nil {
			return "", 0, err
		}
		if v == 0 {
			return "", 0, fmt.Errorf("escape \\x00 would put a NUL byte in a word")
		}
		return string([]byte{byte(v)}), 3, nil
	case 'u', 'U':
		n := 4
		if s[0] == 'U' {
			n = 8
		}
		d, err := fixed(n)
		if err != nil {
			return "", 0, err
		}
		v, err := num(d, 16, 32)
		if err != nil {
			return "", 0, err
		}
		if v == 0 || v > utf8.MaxRune || !utf8.ValidRune(rune(v)) {
			return "", 0, fmt.Errorf("escape \\%s is not a character", s[:1+n])
		}
		return string(rune(v)), 1 + n, nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		if _, err := fixed(2); err != nil {
			return "", 0, err
		}
		v, err := num(s[:3], 8, 8)
		if err != nil {
			return "", 0, err
		}
		if v == 0 {
			return "", 0, fmt.Errorf("escape \\000 would put a NUL byte in a word")
		}
		return string([]byte{byte(v)}), 3, nil
	}
	return "", 0, fmt.Errorf("unknown escape \\%c", s[0])
}

// QuoteWord writes one word of a command line (ExecStart= and friends) so
// that systemd's parser (systemd.service(5), "Command lines") gives back
// exactly w:
//   - '$' becomes "$$", so systemd does not expand it as a variable of
//     the service's environment: the words are for myctr and the
//     container, whose environment is its own;
//   - '%' becomes "%%" unless specifiers is true: then "%N", "%t", "%h"
//     and the rest are systemd's specifiers, which is what a user who
//     writes them in a unit-like file means (Quadlet's rule, and the
//     only way to say "my home" or "this unit's name" there);
//   - a word that is empty or holds white space, a quote, a backslash or a
//     control character is put in double quotes with C escapes;
//   - a lone ";" (which would end the command) is written "\;".
func QuoteWord(w string, specifiers bool) string {
	w = strings.ReplaceAll(w, "$", "$$")
	if !specifiers {
		w = strings.ReplaceAll(w, "%", "%%")
	}
	if w == ";" {
		return `\;`
	}
	need := w == ""
	for i := 0; i < len(w) && !need; i++ {
		c := w[i]
		need = c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '\\'
	}
	if !need {
		return w
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < ' ' || c == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// An Arg is one word of a generated command line, and whether '%' in it
// is a specifier (see QuoteWord).
type Arg struct {
	S          string
	Specifiers bool
}

// Literal and Spec make Args.
func Literal(s string) Arg { return Arg{S: s} }
func Spec(s string) Arg    { return Arg{S: s, Specifiers: true} }

// CommandLine joins args into the value of an Exec*= key.
func CommandLine(args []Arg) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = QuoteWord(a.S, a.Specifiers)
	}
	return strings.Join(q, " ")
}
