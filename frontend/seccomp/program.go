package seccomp

import "github.com/myctr/myctr/frontend/seccomp/progcache"

// Compiled is a profile's program and what compiling it skipped.
type Compiled = progcache.Compiled
