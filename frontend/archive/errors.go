package archive

import "errors"

var (
	// ErrUnsafePath is returned for an entry whose name, or whose hardlink
	// target, lies outside the destination directory ("../x"), and for an
	// entry that would replace the destination directory itself.
	ErrUnsafePath = errors.New("path escapes the destination directory")

	// ErrBadWhiteout is returned for a whiteout entry that names nothing
	// (".wh.", ".wh..", ".wh...").
	ErrBadWhiteout = errors.New("invalid whiteout entry")

	// ErrKindClash is returned, with Options.KeepKinds, for an entry that
	// would replace a directory with a file or a file with a directory.
	ErrKindClash = errors.New("file exists")

	// ErrExpansion is returned for a file entry that writes far more
	// than the tar stream carries for it: a sparse file whose holes
	// would fill the disk (see maxExpansion).
	ErrExpansion = errors.New("file expands far beyond the data the layer carries for it (a sparse-file bomb)")
)
