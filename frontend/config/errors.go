package config

import "errors"

// ErrBadConfig is bad input in a configuration file: a syntax error, a
// value of the wrong type, an unknown key where keys are checked, a value
// myctr cannot honour. The error's text names the file and line.
var ErrBadConfig = errors.New("bad configuration")

// Policy errors.
var (
	// ErrRejected is an image that policy.json rejects.
	ErrRejected = errors.New("rejected by policy")
	// ErrSignatureRequired is an image whose policy asks for signatures
	// (signedBy, sigstoreSigned), which myctr cannot check yet: refused
	// rather than accepted unchecked.
	ErrSignatureRequired = errors.New("the policy requires a signature, and myctr does not check signatures")
)
