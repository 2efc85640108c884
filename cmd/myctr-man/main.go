// Command myctr-man writes myctr's man pages (myctr.1 and one
// myctr-COMMAND.1 per command) into a directory: `make man` runs it.
// A build-time tool rather than a hidden command of myctr: the pages are
// made once, when myctr is built or packaged, from the same command tree
// (frontend/cli) the binary has, and the shipped CLI carries no command
// that no user types.
package main

import (
	"fmt"
	"os"

	"github.com/myctr/myctr/frontend/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: myctr-man DIR")
		os.Exit(2)
	}
	if err := os.MkdirAll(os.Args[1], 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	if err := cli.WriteManPages(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}
