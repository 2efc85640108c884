package helper

import "errors"

// Sentinels of the helper's own (callers see protocol errors instead).
var (
	// ErrConfig: the configuration file is malformed.
	ErrConfig = errors.New("invalid configuration")
	// ErrNameTaken: another helper owns the bus name already.
	ErrNameTaken = errors.New("the bus name is owned by another helper")
	// ErrLedger: a ledger record could not be read or written.
	ErrLedger = errors.New("ledger")
	// ErrStopping: a call arrived after the helper gave up its bus name.
	ErrStopping = errors.New("myctr-helper is restarting")
	// ErrLocked: another helper holds the state directory's lock.
	ErrLocked = errors.New("another myctr-helper holds the state directory")
)
