package security

import "os"

var readFile = os.ReadFile
