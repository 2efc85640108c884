// Package readme extracts the shell blocks of the README, so that tests run
// them as written. A block's fence says where it runs:
//
//	```sh          as a user, on any host: the integration tier runs it
//	```sh systemd  as a user, on a systemd host with myctr installed: the
//	               VM tier runs it
//	```sh root     as root, setting up the machine: make test runs it
//	               (make demo, make test, make install), not these tests
package readme

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Where a block runs: the word after "sh" in its fence.
const (
	User    = ""
	Systemd = "systemd"
	Root    = "root"
)

// Block is one fenced shell block.
type Block struct {
	Line  int    // of the opening fence, from 1
	Where string // User, Systemd or Root
	Text  string
}

// Blocks returns the sh blocks of a Markdown document, in order. A block
// whose fence names a place other than the three above, or a fence left
// open, is an error: a new kind of block needs a test that runs it.
func Blocks(md []byte) ([]Block, error) {
	var (
		blocks []Block
		cur    *Block
		body   strings.Builder
		n      int
	)
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		n++
		line := sc.Text()
		if cur != nil {
			if strings.TrimSpace(line) == "```" {
				cur.Text = body.String()
				blocks = append(blocks, *cur)
				cur = nil
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
			continue
		}
		info, ok := strings.CutPrefix(line, "```")
		if !ok {
			continue
		}
		fields := strings.Fields(info)
		if len(fields) == 0 || fields[0] != "sh" {
			// Another language: skip to its end.
			cur = &Block{Line: n, Where: "-"}
			body.Reset()
			continue
		}
		where := strings.Join(fields[1:], " ")
		switch where {
		case User, Systemd, Root:
		default:
			return nil, fmt.Errorf("line %d: a sh block marked %q: only \"\", %q and %q are run by a test", n, where, Systemd, Root)
		}
		cur = &Block{Line: n, Where: where}
		body.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: a block that is never closed", cur.Line)
	}
	// Drop the other languages' blocks.
	out := blocks[:0]
	for _, b := range blocks {
		if b.Where != "-" {
			out = append(out, b)
		}
	}
	return out, nil
}

// Where returns the blocks that run in one place, joined into one script
// (in order, each preceded by a comment naming its line), and how many
// there are.
func Where(blocks []Block, where string) (script string, count int) {
	var sb strings.Builder
	for _, b := range blocks {
		if b.Where != where {
			continue
		}
		count++
		fmt.Fprintf(&sb, "# README.md line %d\n%s", b.Line, b.Text)
	}
	return sb.String(), count
}
