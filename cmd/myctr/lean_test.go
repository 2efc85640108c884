package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLeanLinksNoBuilder checks what the lean build of myctr (make's
// bin/myctr) leaves out: the Containerfile builder, buildkit's parser and
// the protobuf runtime it brings, the API server, and the registry client
// (go-containerregistry's remote, net/http, TLS). A new import of
// any of them from a command that myctr runs itself would put their
// package initialisation back into every command's start.
func TestLeanLinksNoBuilder(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-tags", "urfave_cli_no_docs,netgo,osusergo,lean", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list gave %d packages: %s", len(deps), out)
	}
	for _, p := range deps {
		if strings.Contains(p, "moby/buildkit") || strings.HasPrefix(p, "google.golang.org/protobuf") ||
			p == "github.com/myctr/myctr/frontend/build" || p == "github.com/myctr/myctr/frontend/api" ||
			p == "github.com/google/go-containerregistry/pkg/v1/remote" || p == "net/http" || p == "crypto/tls" {
			t.Errorf("the lean myctr links %s", p)
		}
	}
}
