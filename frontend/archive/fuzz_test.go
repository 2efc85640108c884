package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/myctr/myctr/frontend/archive/archivetest"
)

// hostCanary is the absolute directory the raw seeds aim at. Unpack takes
// absolute names and symlink targets inside its destination, so nothing
// may ever appear there; the raw target checks that it still does not
// exist after every input (it never exists on a sane host).
const hostCanary = "/myctr-fuzz-outside"

// FuzzUnpackRaw unpacks the fuzzer's bytes as a layer (a tar stream, or
// gzip by its magic number) into a fresh destination beside a sentinel
// directory, with each combination of options, and checks what Unpack
// promises whatever the input: no panic, nothing outside the destination
// created, changed or linked to (archivetest.Sandbox), no host path that
// the seeds aim at created, and no symlink left in the destination that
// the unpacker itself would follow out of it.
//
// The seeds are the shared hostile corpus (aimed at hostCanary and at the
// sentinel by "../outside") and hand-made headers that archive/tar's
// writer refuses to write: sizes past the data, negative and huge sizes,
// GNU and PAX sparse maps, PAX records that override names and sizes.
func FuzzUnpackRaw(f *testing.F) {
	for _, c := range archivetest.Corpus(hostCanary) {
		f.Add(archivetest.Tar(f, c.Entries), byte(0))
	}
	for _, c := range hostileHeaders() {
		f.Add(c, byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, opt byte) {
		sb := archivetest.NewSandbox(t)
		err := Unpack(bytes.NewReader(data), sb.Dest, optionsOf(opt))
		checkContained(t, sb)
		checkSize(t, sb.Dest, data)
		if _, lerr := os.Lstat(hostCanary); !errors.Is(lerr, fs.ErrNotExist) {
			t.Fatalf("%s exists after Unpack (err %v): %v", hostCanary, err, lerr)
		}
	})
}

// FuzzUnpackLayers builds tar layers from the fuzzer's bytes with a
// generator that speaks in the terms of the attacks (names made of
// "..", ".", absolute prefixes and the sentinel's real path, symlinks and
// hard links aimed out of the destination, whiteouts and opaque markers,
// devices, FIFOs, long names, PAX and GNU headers) and unpacks them one
// after another into one destination, as the store stacks layers. After
// each layer, whether it was refused or not, nothing outside the
// destination has changed (see FuzzUnpackRaw). A layer of plain files and
// directories only, with names that cannot clash, must unpack without
// error, each file holding its last body.
func FuzzUnpackLayers(f *testing.F) {
	for _, s := range [][]byte{
		{0, 0, 1, 2, 3, 4},
		{0, 2, 3, 0, 0, 1, 0, 2, 0, 5},            // symlink to the sentinel, then a file through it
		{0, 2, 6, 1, 0, 0, 2, 0, 3, 1, 1},         // symlink to "..", then through it
		{0, 3, 4, 0, 8, 0, 9, 1},                  // hard links out
		{0, 7, 1, 0, 8, 1, 9, 0, 0, 0, 1, 1, 1},   // whiteouts and opaque markers
		{0, 2, 0, 3, 9, 0, 0, 1, 0, 2, 0, 5, 0},   // a layer break between the symlink and the write
		{1, 5, 0, 6, 1, 1, 1, 0, 2, 2, 2, 2, 2},   // devices and FIFOs, plain mode
		{2, 1, 0, 0, 0, 2, 4, 0, 0, 0, 1, 0, 0},   // keep-kinds: a directory then a file on it
		{0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 3}, // long names
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		sb := archivetest.NewSandbox(t)
		g := &generator{data: data[1:], outside: sb.Outside}
		opts := optionsOf(data[0])
		for layer := 0; layer < 4 && !g.done(); layer++ {
			entries, plain := g.layer()
			if plain != nil {
				// Only a fresh top directory (or one an earlier layer
				// made a real directory) promises success.
				if fi, err := os.Lstat(filepath.Join(sb.Dest, entries[0].Name)); err == nil && !fi.IsDir() {
					plain = nil
				}
			}
			err := Unpack(bytes.NewReader(archivetest.Tar(t, entries)), sb.Dest, opts)
			checkContained(t, sb)
			if plain != nil {
				if err != nil {
					t.Fatalf("layer %d of plain files and directories: %v\nentries: %+v", layer, err, entries)
				}
				for name, body := range plain {
					b, err := os.ReadFile(filepath.Join(sb.Dest, name))
					if err != nil || string(b) != body {
						t.Fatalf("layer %d: %s holds %q, %v; want %q", layer, name, b, err, body)
					}
				}
			}
		}
	})
}

// optionsOf picks Unpack's options from one byte. Chown stays off: the
// fuzzer runs as the user, which owns everything it makes.
func optionsOf(b byte) Options {
	return Options{Plain: b&1 != 0, KeepKinds: b&2 != 0}
}

// checkContained fails the test when anything outside sb.Dest changed, or
// when sb.Dest holds a hard link to a file outside it, or a symlink that
// the unpacker's resolution (securejoin, as for a later layer's entry
// written through it) would take outside it.
func checkContained(t *testing.T, sb *archivetest.Sandbox) {
	t.Helper()
	sb.Check(t)
	outside := map[[2]uint64]string{}
	_ = filepath.WalkDir(sb.Outside, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			if st, ok := stat(p); ok {
				outside[[2]uint64{st.Dev, st.Ino}] = p
			}
		}
		return nil
	})
	err := filepath.WalkDir(sb.Dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, ok := stat(p)
		if !ok {
			return nil
		}
		if o, ok := outside[[2]uint64{st.Dev, st.Ino}]; ok {
			t.Errorf("%s is the same file as %s, outside the destination", p, o)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			rel := strings.TrimPrefix(p, sb.Dest+"/")
			r, err := securejoin.SecureJoin(sb.Dest, rel+"/x")
			if err == nil && !strings.HasPrefix(r, sb.Dest+"/") {
				t.Errorf("symlink %s resolves to %s, outside the destination", rel, r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk the destination: %v", err)
	}
}

// checkSize fails the test when the destination holds more than the
// input can account for: its bytes (times gzip's greatest ratio when the
// input is gzip) times the expansion Unpack allows, plus its slack.
func checkSize(t *testing.T, dest string, data []byte) {
	t.Helper()
	limit := int64(len(data))
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		limit *= 1100
	}
	limit = 2*expansionSlack + maxExpansion*limit
	var total int64
	_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if st, ok := stat(p); ok && d.Type().IsRegular() {
			total += st.Blocks * 512
		}
		return nil
	})
	if total > limit {
		t.Fatalf("the destination holds %d bytes from %d bytes of input", total, len(data))
	}
}

func stat(p string) (*syscall.Stat_t, bool) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return st, ok
}

// generator turns bytes into tar entries, one small decision per byte;
// running out of bytes ends the last layer.
type generator struct {
	data    []byte
	outside string
}

func (g *generator) done() bool { return len(g.data) == 0 }

func (g *generator) next() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

// Name components: ordinary ones, the ones attacks are made of, and
// whiteout forms. The absolute sentinel path is a prefix, not a
// component (see name).
var components = []string{
	"a", "b", "c", "..", ".", "outside", "keep", "", ".wh.a", ".wh..wh..opq",
	strings.Repeat("l", 120), ".wh.", ".wh..", "sub", "link",
}

// Symlink and hard link targets.
func (g *generator) target() string {
	switch g.next() % 10 {
	case 0:
		return g.outside
	case 1:
		return "/"
	case 2:
		return ".."
	case 3:
		return "../outside"
	case 4:
		return "../../../../../../../../.."
	case 5:
		return filepath.Join(g.outside, "keep")
	case 6:
		return "a"
	case 7:
		return "../outside/keep"
	case 8:
		return "a/../../outside"
	default:
		return g.name()
	}
}

// name is 1 to 4 components, optionally under "/", "./" or the sentinel's
// absolute path.
func (g *generator) name() string {
	b := g.next()
	n := 1 + int(b&3)
	parts := make([]string, 0, n)
	for range n {
		parts = append(parts, components[int(g.next())%len(components)])
	}
	s := strings.Join(parts, "/")
	switch b >> 2 & 3 {
	case 1:
		s = "/" + s
	case 2:
		s = "./" + s
	case 3:
		s = g.outside + "/" + s
	}
	return s
}

// layer returns the next layer's entries, up to a layer break (opcode 9)
// or the end of the bytes. plain is the expected content of a layer that
// holds only regular files and directories below a fresh top directory
// with names that cannot clash (opcode 10 and 11 entries only), else nil.
func (g *generator) layer() (entries []archivetest.Entry, plain map[string]string) {
	onlyPlain := true
	files := map[string]string{}
	top := ""
	for n := 0; n < 32 && !g.done(); n++ {
		op := g.next() % 12
		if op == 9 {
			break
		}
		format := []tar.Format{tar.FormatPAX, tar.FormatGNU}[g.next()&1]
		e := archivetest.Entry{Format: format}
		switch op {
		case 0:
			// The length first: g.next consumes g.data, which the slice
			// expression would otherwise read before or after it.
			e.Type, e.Name = tar.TypeReg, g.name()
			n := int(g.next() % 8)
			e.Body = string(g.data[:min(len(g.data), n)])
		case 1:
			e.Type, e.Name = tar.TypeDir, g.name()
		case 2:
			e.Type, e.Name, e.Linkname = tar.TypeSymlink, g.name(), g.target()
		case 3, 4:
			e.Type, e.Name, e.Linkname = tar.TypeLink, g.name(), g.target()
		case 5:
			e.Type, e.Name, e.Devmajor, e.Devminor = tar.TypeChar, g.name(), 1, 3
		case 6:
			e.Type, e.Name = tar.TypeFifo, g.name()
		case 7:
			e.Type, e.Name = tar.TypeReg, g.name()+"/.wh."+components[int(g.next())%len(components)]
		case 8:
			e.Type, e.Name = tar.TypeReg, g.name()+"/.wh..wh..opq"
		case 10, 11:
			// "p" and one of a few files or subdirectories below it:
			// names that never clash with each other's kinds.
			if top == "" {
				top = "p" + string(rune('0'+g.next()%10))
				entries = append(entries, archivetest.Entry{Type: tar.TypeDir, Name: top + "/", Format: format})
			}
			k := g.next() % 4
			if op == 10 {
				e.Type, e.Name, e.Body = tar.TypeReg, top+"/f"+string(rune('0'+k)), string(rune('A'+g.next()%26))
				files[e.Name] = e.Body
			} else {
				e.Type, e.Name = tar.TypeDir, top+"/d"+string(rune('0'+k))+"/"
			}
		}
		if op != 10 && op != 11 {
			onlyPlain = false
		}
		if e.Type == tar.TypeReg && e.Body == "" && op == 0 {
			e.Body = "x"
		}
		if e.Type != tar.TypeDir {
			// archive/tar writes no other entry with a trailing slash.
			if e.Name = strings.TrimRight(e.Name, "/"); e.Name == "" {
				e.Name = "."
			}
		}
		if e.Format == tar.FormatGNU && len(e.Name) >= 100 {
			e.Format = tar.FormatPAX // GNU long names are covered by the raw corpus
		}
		entries = append(entries, e)
	}
	if onlyPlain && len(entries) > 0 {
		return entries, files
	}
	return entries, nil
}

// hostileHeaders are raw tar streams that archive/tar's writer refuses
// to produce.
func hostileHeaders() [][]byte {
	var out [][]byte
	// A regular file whose size promises far more than the stream holds.
	out = append(out, rawTar(header("big", '0', 1<<40, nil), []byte("short")))
	// A size field that is not octal, and a negative base-256 size.
	out = append(out, rawTar(header("bad", '0', 0, func(h []byte) { copy(h[124:136], "zzzzzzzzzzz\x00") })))
	out = append(out, rawTar(header("neg", '0', 0, func(h []byte) {
		for i := 124; i < 136; i++ {
			h[i] = 0xff
		}
	})))
	// An old-GNU sparse file ('S') with a hole of 2^40 bytes before
	// 512 bytes of data.
	out = append(out, rawTar(header("sparse-old", 'S', 512, func(h []byte) {
		setOctal(h[386:398], 1<<40) // offset of the data region
		setOctal(h[398:410], 512)   // its length
		setOctal(h[483:495], 1<<40+512)
		copy(h[257:265], "ustar  \x00")
	}), bytes.Repeat([]byte{'d'}, 512)))
	// PAX 1.0 sparse files (GNU.sparse.* records, typeflag '0'): one
	// data region of 512 bytes at the end of 64 MiB and of 1 TiB of
	// holes. Before Unpack bounded what an entry may write, the tar
	// reader's zeros for the holes filled the disk.
	out = append(out, sparsePAX(64<<20), sparsePAX(1<<40))
	// PAX records naming a path that climbs out and a size past the data.
	pax := paxRecords(map[string]string{"path": "../outside/planted", "size": "99999999999"})
	out = append(out, rawTar(header("pax", 'x', int64(len(pax)), nil), pad(pax), header("innocent", '0', 5, nil), pad([]byte("pwned"))))
	// A GNU long name (././@LongLink) climbing out.
	long := []byte(strings.Repeat("a/", 60) + strings.Repeat("../", 61) + "outside/planted\x00")
	out = append(out, rawTar(header("././@LongLink", 'L', int64(len(long)), nil), pad(long), header("x", '0', 5, nil), pad([]byte("pwned"))))
	// A symlink to the sentinel, then a file through it, with ustar
	// prefix fields.
	out = append(out, rawTar(header("s", '2', 0, func(h []byte) { copy(h[157:257], "../outside") }),
		header("planted", '0', 5, func(h []byte) { copy(h[345:500], "s") }), pad([]byte("pwned"))))
	return out
}

// sparsePAX is a PAX 1.0 sparse file of hole bytes, then 512 bytes of
// data, stored in 1024 bytes (the sparse map's block, then the data).
func sparsePAX(hole int64) []byte {
	pax := paxRecords(map[string]string{
		"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
		"GNU.sparse.name": "sparse", "GNU.sparse.realsize": strconv.FormatInt(hole+512, 10),
	})
	sparseMap := make([]byte, 512)
	copy(sparseMap, "1\n"+strconv.FormatInt(hole, 10)+"\n512\n")
	return rawTar(header("pax", 'x', int64(len(pax)), nil), pad(pax),
		header("GNUSparseFile.0/sparse", '0', 1024, nil), sparseMap, bytes.Repeat([]byte{'d'}, 512))
}

// header makes one ustar header block with a valid checksum after edit.
func header(name string, typ byte, size int64, edit func([]byte)) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	setOctal(h[100:108], 0o644)
	setOctal(h[108:116], 0)
	setOctal(h[116:124], 0)
	setOctal(h[124:136], size)
	setOctal(h[136:148], time.Unix(1_600_000_000, 0).Unix())
	h[156] = typ
	copy(h[257:265], "ustar\x0000")
	if edit != nil {
		edit(h)
	}
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	setOctal(h[148:155], int64(sum))
	h[155] = ' '
	return h
}

// setOctal writes n as NUL-terminated octal filling field, or in
// base-256 when it does not fit.
func setOctal(field []byte, n int64) {
	o := strconv.FormatInt(n, 8)
	if len(o) > len(field)-1 {
		clear(field)
		field[0] = 0x80
		for i := len(field) - 1; i > 0 && n > 0; i-- {
			field[i] = byte(n)
			n >>= 8
		}
		return
	}
	copy(field, strings.Repeat("0", len(field)-1-len(o))+o+"\x00")
}

// paxRecords encodes records as a PAX extended header body.
func paxRecords(recs map[string]string) []byte {
	var out []byte
	for _, k := range []string{"GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.name", "GNU.sparse.realsize", "path", "size"} {
		v, ok := recs[k]
		if !ok {
			continue
		}
		rec := " " + k + "=" + v + "\n"
		n := len(rec)
		for {
			l := len(strconv.Itoa(n)) + len(rec)
			if l == n {
				break
			}
			n = l
		}
		out = append(out, strconv.Itoa(n)+rec...)
	}
	return out
}

// pad pads b to whole blocks.
func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

// rawTar joins blocks and ends the archive.
func rawTar(blocks ...[]byte) []byte {
	var out []byte
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, make([]byte, 1024)...)
}
