package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/rootfs"
	"github.com/myctr/myctr/frontend/userns"
)

// usernsUnpacker extracts layers inside the user's user namespace, so that
// a file owned by uid N in the image is owned by the user's mapped uid N
// on disk and appears as N inside containers.
type usernsUnpacker struct{}

func (usernsUnpacker) Unpack(blobPath, mediaType, dest string) (*os.FileMode, error) {
	m, err := userns.Current()
	if err != nil {
		return nil, err
	}
	// Without a subordinate range only uid 0 exists in the namespace: keep
	// every file as the user (container root), as Podman's
	// ignore_chown_errors does, rather than failing on the first chown.
	chown := "chown"
	if !m.HasRange() {
		chown = "nochown"
	}
	// The child prints the mode the layer gives its root directory, if
	// it gives one, in octal on its standard output.
	var out, root strings.Builder
	u := &nsexec.UserNSCommand{Sub: "unpack", Args: []string{blobPath, dest, chown}, Stdout: &root, Stderr: &out}
	if err := u.Run(m); err != nil {
		return nil, explain(fmt.Errorf("unpack layer: %w: %s", err, strings.TrimSpace(out.String())))
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		fmt.Fprintln(os.Stderr, s)
	}
	if s := strings.TrimSpace(root.String()); s != "" {
		n, err := strconv.ParseUint(s, 8, 32)
		if err != nil || n > 0o777 {
			return nil, fmt.Errorf("unpack layer: the unpacker reported root mode %q", s)
		}
		mode := os.FileMode(n)
		return &mode, nil
	}
	return nil, nil
}

// usernsWork is every work the userns stage can be asked for
// (nsexec.UserNSCommand.Sub): its name, the number of arguments it takes
// (-1: any) and the function that does it and returns the exit code.
var usernsWork = map[string]struct {
	nargs int
	run   func(args []string) int
}{
	"unpack":              {3, unpackWork},
	"diff":                {1, diffWork},
	nsexec.WorkRemoveTree: {1, rmtreeWork},
	"chown":               {3, chownWork},
	"unshare":             {-1, unshareExec},
	rootfs.ProbeWork:      {2, probeWork},
	container.UserNSCopy:  {-1, container.CopyMain},
}

// UserNSMain runs the work a parent asked for inside a fresh user
// namespace (see nsexec.UserNSCommand). It returns the exit code.
func UserNSMain() int {
	sub, args := nsexec.UserNSChild()
	w, ok := usernsWork[sub]
	if !ok || (w.nargs >= 0 && len(args) != w.nargs) {
		fmt.Fprintf(os.Stderr, "Error: unknown user namespace work %q\n", sub)
		return 125
	}
	return w.run(args)
}

// workFailed prints err and returns the exit code of a failed work.
func workFailed(err error) int {
	fmt.Fprintf(os.Stderr, "Error: %v\n", err)
	return 1
}

// unpackWork: BLOB DEST chown|nochown. The layer's own mode for its root
// directory, if it gives one, goes to stdout in octal.
func unpackWork(args []string) int {
	f, err := os.Open(args[0])
	if err != nil {
		return workFailed(err)
	}
	defer f.Close()
	warn := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "Warning: "+format+"\n", a...) }
	var mode *os.FileMode
	if err := archive.Unpack(f, args[1], archive.Options{Chown: args[2] == "chown", Warn: warn, RootMode: &mode}); err != nil {
		return workFailed(err)
	}
	if mode != nil {
		fmt.Printf("%o\n", *mode)
	}
	return 0
}

// diffWork: UPPERDIR. The layer tar goes to stdout.
func diffWork(args []string) int {
	if err := writeDiff(args[0], os.Stdout); err != nil {
		return workFailed(err)
	}
	return 0
}

// rmtreeWork: DIR, deleted as root of the user namespace.
func rmtreeWork(args []string) int {
	if err := os.RemoveAll(args[0]); err != nil {
		return workFailed(err)
	}
	return 0
}

// chownWork: PATH UID GID, for volume create -o uid=N,gid=N: the ids are
// the container's.
func chownWork(args []string) int {
	uid, err1 := strconv.Atoi(args[1])
	gid, err2 := strconv.Atoi(args[2])
	if err := errors.Join(err1, err2); err != nil {
		return workFailed(err)
	}
	if err := os.Lchown(args[0], uid, gid); err != nil {
		return workFailed(err)
	}
	return 0
}

// probeWork: DIR ID, doctor's overlay check.
func probeWork(args []string) int {
	id, err := strconv.Atoi(args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: unknown user namespace work %q\n", rootfs.ProbeWork)
		return 125
	}
	if err := rootfs.Probe(args[0], id); err != nil {
		return workFailed(err)
	}
	return 0
}

// RemoveAll deletes an unpacked layer, whose files belong to subordinate
// ids, from inside the user namespace.
func (usernsUnpacker) RemoveAll(dir string) error {
	if err := nsexec.RemoveTree(dir); err != nil {
		return explain(err)
	}
	return nil
}

// Diff writes the container upper directory upperDir as a layer tar to w,
// from inside the user namespace: there the files of subordinate ids read
// with their container owners, and root may read every mode.
func (usernsUnpacker) Diff(upperDir string, w io.Writer) error {
	m, err := userns.Current()
	if err != nil {
		return err
	}
	var errOut strings.Builder
	u := &nsexec.UserNSCommand{Sub: "diff", Args: []string{upperDir}, Stdout: w, Stderr: &errOut}
	if err := u.Run(m); err != nil {
		return explain(fmt.Errorf("read the step's changes: %w: %s", err, strings.TrimSpace(errOut.String())))
	}
	return nil
}
