//go:build !lean

package cli

import (
	"github.com/myctr/myctr/frontend/api"
	"github.com/myctr/myctr/frontend/build"
)

// The whole myctr: every command runs here (cmd/myctr built without the
// lean tag, installed as myctr-full beside myctr-init). lean.go is the
// other side of each name below.

// lean is whether this binary hands the commands fullOnly names to
// myctr-full.
const lean = false

var (
	importChanges    = build.ImportChanges
	writeDiff        = build.WriteDiff
	cachedLayers     = build.CachedLayers
	apiDefaultSocket = api.DefaultSocket
)

const apiVersion = api.APIVersion
