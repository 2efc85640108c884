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

// Errors of image transfer (pull, login, archives).
var (
	// ErrUnauthorized is returned when a registry refuses the credentials
	// (or their absence).
	ErrUnauthorized = errors.New("registry refused the credentials")
	// ErrNotInRegistry is returned when the registry has no such image.
	ErrNotInRegistry = errors.New("image not found in registry")
	// ErrInsecureRegistry is returned for plain HTTP to a registry that is
	// not on this machine, unless TLS verification is turned off.
	ErrInsecureRegistry = errors.New("plain HTTP is only used for local registries")
	// ErrNoSearchRegistries is returned when a short name is pulled and
	// registries.conf lists no unqualified-search-registries.
	ErrNoSearchRegistries = errors.New("short name and no unqualified-search-registries")
	// ErrBlocked is returned for an image whose [[registry]] in
	// registries.conf has blocked = true.
	ErrBlocked = errors.New("registry blocked by registries.conf")
	// ErrShortNameAmbiguous is returned for a short name with several
	// search registries, no alias, short-name-mode enforcing and no
	// terminal to ask which.
	ErrShortNameAmbiguous = errors.New("short name is ambiguous and there is no terminal to ask which registry")
	// ErrDigestMismatch is returned when content does not hash to the
	// digest that names it.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrNotLoggedIn is returned by Logout when no credentials are stored.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrBadArchive is returned by Load for input that is neither a
	// docker-archive nor an oci-archive, or is inconsistent. The words
	// are Podman's, which scripts match.
	ErrBadArchive = errors.New("payload does not match any of the supported image formats: docker-archive, oci-archive")
	// ErrNoCatalog is returned by Search for a registry that does not
	// list its repositories (/v2/_catalog).
	ErrNoCatalog = errors.New("the registry does not list its repositories")
)
