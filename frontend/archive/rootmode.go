package archive

import (
	"os"
	"strconv"
	"strings"
)

// RootModeSuffix names the file beside a layer directory that holds, in
// octal, the mode the layer's tarball gives its root directory ("./"),
// as Options.RootMode reports it; the image store writes it, and only
// for layers that have such an entry.
const RootModeSuffix = ".root"

// RootMode is the mode of the root directory of a container made of the
// layer directories lowers (topmost first), as containers/storage gives
// it: the mode set by the topmost layer that sets one, since a layer
// without a "./" entry (most layers a build adds) leaves its parent's.
// Layers stored before their root mode was recorded, and a plain root
// filesystem directory, give their directory's own mode.
func RootMode(lowers []string) os.FileMode {
	for _, l := range lowers {
		b, err := os.ReadFile(l + RootModeSuffix)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 8, 32); err == nil && n <= 0o777 {
			return os.FileMode(n)
		}
	}
	if len(lowers) > 0 {
		if fi, err := os.Stat(lowers[0]); err == nil {
			return fi.Mode().Perm()
		}
	}
	return 0o755
}
