package readme

import (
	"os"
	"strings"
	"testing"
)

func TestBlocks(t *testing.T) {
	md := "# T\n```sh\necho a\n```\ntext\n```js\nx()\n```\n```sh systemd\necho b\n```\n```ini\n[S]\n```\n```sh root\nmake\n```\n"
	bs, err := Blocks([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 || bs[0] != (Block{2, User, "echo a\n"}) || bs[1] != (Block{9, Systemd, "echo b\n"}) || bs[2] != (Block{15, Root, "make\n"}) {
		t.Fatalf("Blocks = %+v", bs)
	}
	script, n := Where(bs, User)
	if n != 1 || script != "# README.md line 2\necho a\n" {
		t.Errorf("Where(User) = %q, %d", script, n)
	}
	for _, bad := range []string{"```sh docker\nx\n```\n", "```sh\nx\n"} {
		if _, err := Blocks([]byte(bad)); err == nil {
			t.Errorf("Blocks(%q): no error", bad)
		}
	}
}

// TestReadmeBlocks: the README's blocks all parse, and each place has some.
func TestReadmeBlocks(t *testing.T) {
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := Blocks(md)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	for _, where := range []string{User, Systemd, Root} {
		if _, n := Where(bs, where); n == 0 {
			t.Errorf("README.md has no sh block for %q", where)
		}
	}
	if s, _ := Where(bs, User); !strings.Contains(s, "myctr run") {
		t.Errorf("the user's blocks run no container: %q", s)
	}
}
