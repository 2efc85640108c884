// Command myctr-helper is myctr's privileged helper, started by D-Bus
// activation (see helper/README.md). It serves org.myctr.Helper1 on the
// system bus until it is idle, then exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/myctr/myctr/helper"
	"github.com/myctr/myctr/protocol"
)

func main() {
	config := flag.String("config", helper.DefaultConfigPath, "the helper's configuration `file`")
	version := flag.Bool("version", false, "print the API version and exit")
	flag.Parse()
	if *version {
		fmt.Printf("myctr-helper API %d (%s)\n", protocol.Version, helper.BusName)
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "Error: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := helper.Run(ctx, *config, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "Error: myctr-helper: %v\n", err)
		os.Exit(1)
	}
}
