package helper

import (
	"context"
	"errors"
	"fmt"

	"github.com/myctr/myctr/polkit"
	"github.com/myctr/myctr/protocol"
)

// Authorizer decides whether the bus connection sender may do action.
// It returns nil when it may, a protocol NotAuthorized error naming the
// action when it may not, and another error when it could not decide
// (which also refuses). Unit tests give a fake.
type Authorizer interface {
	Authorize(ctx context.Context, sender, action string, details map[string]string) error
}

// polkitAuthorizer asks polkit, allowing it to prompt the caller.
type polkitAuthorizer struct {
	a *polkit.Authority
}

// NewPolkitAuthorizer is the Authorizer of a real helper.
func NewPolkitAuthorizer(a *polkit.Authority) Authorizer {
	return polkitAuthorizer{a: a}
}

func (p polkitAuthorizer) Authorize(ctx context.Context, sender, action string, details map[string]string) error {
	r, err := p.a.CheckBusName(ctx, sender, action, details, true)
	switch {
	case errors.Is(err, polkit.ErrUnavailable):
		return protocol.NotAuthorized(action, fmt.Sprintf("polkit is not running, so %s cannot be authorized (start polkitd)", action))
	case err != nil:
		return protocol.NotAuthorized(action, fmt.Sprintf("%s: polkit did not answer: %v", action, err))
	case r == polkit.Authorized:
		return nil
	case r == polkit.Challenge:
		return protocol.NotAuthorized(action, fmt.Sprintf("%s needs authentication, and no authentication agent gave it", action))
	}
	return protocol.NotAuthorized(action, fmt.Sprintf("polkit refused %s", action))
}
