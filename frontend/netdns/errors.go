package netdns

import "errors"

var (
	// errMalformed means a message does not parse as DNS.
	errMalformed = errors.New("malformed DNS message")
	// errNotQuery means a client sent a response (its QR bit set).
	errNotQuery = errors.New("not a query")
	// errNoUpstream means there is nowhere to forward a query to.
	errNoUpstream = errors.New("no upstream resolver")
	// errMismatch means an upstream's reply is not to our query (another
	// ID, another question, or not a response).
	errMismatch = errors.New("reply does not match the query")
	// errBusy means too many queries are being forwarded already.
	errBusy = errors.New("too many queries being forwarded")
)
