// Command myctr-generator is a systemd unit generator
// (systemd.generator(7)): it makes NAME.service from every Quadlet-style
// NAME.container file in the search directories (systemd.SearchDirs).
// systemd runs it as the system manager's generator, and as the user
// manager's under a name holding "user" (make install links both names to
// one binary; systemd 251 and later also say SYSTEMD_SCOPE=user):
//
//	myctr-generator [--user] [--dryrun] NORMAL_DIR [EARLY_DIR LATE_DIR]
//
// A file it cannot translate is reported on stderr (the journal) and
// skipped; it exits 0 all the same, so that one bad file does not fail a
// boot. --dryrun prints the units instead of writing them.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/myctr/myctr/systemd"
)

func main() {
	prog := filepath.Base(os.Args[0])
	user := flag.Bool("user", strings.Contains(prog, "user") || os.Getenv("SYSTEMD_SCOPE") == "user",
		"generate the user manager's units")
	dryrun := flag.Bool("dryrun", false, "print the units on stdout instead of writing them")
	flag.Parse()
	if !*dryrun && flag.NArg() < 1 || flag.NArg() > 3 {
		fmt.Fprintf(os.Stderr, "usage: %s [--user] [--dryrun] NORMAL_DIR [EARLY_DIR LATE_DIR]\n", prog)
		os.Exit(2)
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		exe = ""
	}
	o := systemd.GenerateOptions{
		Dirs:   systemd.SearchDirs(*user, systemd.RealSearchEnv()),
		Binary: systemd.MyctrBinary(os.Getenv, exe),
	}
	if *dryrun {
		o.DryRun = os.Stdout
	} else {
		o.OutputDir = flag.Arg(0)
	}
	rep, err := systemd.Generate(o)
	for _, e := range rep.Errors {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, e)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	if *dryrun && len(rep.Errors) > 0 {
		os.Exit(1) // for a person checking files; systemd never passes --dryrun
	}
}
