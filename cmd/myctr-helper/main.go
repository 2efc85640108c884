// Command myctr-helper is myctr's privileged helper, started by D-Bus
// activation. Its D-Bus API is not served yet: for now it reports its API
// version and refuses to run as a service.
package main

import (
	"fmt"
	"os"

	"github.com/myctr/myctr/helper"
	"github.com/myctr/myctr/protocol"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Printf("myctr-helper API %d (%s)\n", protocol.Version, helper.BusName)
		return
	}
	fmt.Fprintln(os.Stderr, "Error: myctr-helper does not serve its D-Bus API in this version")
	fmt.Fprintln(os.Stderr, "Hint: rootless networks (--network none|host) need no helper")
	os.Exit(1)
}
