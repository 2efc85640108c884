package image

import "errors"

var (
	// ErrImageUnknown is returned when no image matches a reference.
	ErrImageUnknown = errors.New("image not known")
	// ErrInvalidRef is returned for a reference that does not parse
	// (uppercase repository, spaces, empty, bad tag or digest).
	ErrInvalidRef = errors.New("invalid image reference")
	// ErrAmbiguous is returned when a short ID, or a short name, matches
	// more than one image.
	ErrAmbiguous = errors.New("ambiguous image reference")
	// ErrMultipleNames is returned by Remove when asked, without force, to
	// remove by ID an image that still has several names.
	ErrMultipleNames = errors.New("image has several names; remove them one by one or force")
)
