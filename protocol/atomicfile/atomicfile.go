// Package atomicfile replaces a file's content atomically and durably: a
// reader sees the whole old content or the whole new one, never a mix or an
// empty file, and once a write returns, a power cut keeps the new content.
//
// Every writer of a record, an index or a cache in myctr (the frontend's
// container records, image index, build cache, volume records, credentials,
// and the helper's ledgers) goes through it. It lives beside protocol, the
// other code both sides share, and imports nothing of myctr's: the helper
// links it without linking the frontend.
//
// The steps, and why each one:
//
//  1. create a new file in the same directory (O_EXCL, a random name that
//     starts with ".tmp-", so the sweeps that delete a crash's leftovers
//     find it): rename(2) is atomic only within one file system;
//  2. set its mode to the caller's (fchmod: exactly that mode, whatever the
//     umask; the file is 0600 until then, so content meant for its owner
//     alone is never readable by others, not even for a moment);
//  3. write the content and fsync the file: without the fsync, a journaling
//     file system may commit the rename before the data, and a power cut
//     leaves an empty file under the final name;
//  4. rename it over the final name: readers switch from old to new at once;
//  5. fsync the directory: the rename itself is then on disk, so a write
//     that returned is not undone by a power cut.
//
// On any error before the rename, the temporary file is removed and the
// old content stays.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// TempPrefix starts the name of every temporary file, so that a sweep of
// a crash's leftovers can recognise them.
const TempPrefix = ".tmp-"

// maxBaseInTemp bounds how much of the final name the temporary's name
// repeats (for whoever looks at a leftover), keeping it below NAME_MAX.
const maxBaseInTemp = 100

// The seams that the unit tests replace to see the rename fail and the
// directory being synced; nothing else changes them.
var (
	rename  = os.Rename
	syncDir = syncDirectory
)

// WriteFile replaces the content of the file at path with data; the file
// gets the mode perm (exactly: the umask does not apply).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return replace(path, perm, bytesWriter(data), syncAll)
}

// WriteFileNoDirSync is WriteFile without step 5: the file is still never
// seen empty or torn, but a power cut soon after may undo the replacement
// (the old content is back, or no file where there was none). Only for
// files whose latest version a power cut cannot make matter: the directory
// sync costs a journal commit, a millisecond or more.
func WriteFileNoDirSync(path string, data []byte, perm fs.FileMode) error {
	return replace(path, perm, bytesWriter(data), syncFile)
}

// WriteFileVolatile is WriteFile without steps 3's fsync and 5: a reader
// still never sees the file empty or torn, but after a power cut it may be
// empty or gone. Only for state that does not outlive a reboot anyway:
// myctr-runtime's records of running processes, under /run.
func WriteFileVolatile(path string, data []byte, perm fs.FileMode) error {
	return replace(path, perm, bytesWriter(data), syncNone)
}

// How much of the write is made durable.
const (
	syncNone = iota // neither the file nor the rename
	syncFile        // the file's content (step 3)
	syncAll         // the content and the rename (steps 3 and 5)
)

// Write replaces the content of the file at path with what write writes to
// the writer it is given; the file gets the mode perm (exactly: the umask
// does not apply). When write fails, the file at path is left as it was and
// write's error is returned as it is: it carries its own context.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) error {
	return replace(path, perm, write, syncAll)
}

func bytesWriter(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// replace does the steps of the package comment, its fsyncs as durable
// says.
func replace(path string, perm fs.FileMode, write func(io.Writer) error, durable int) error {
	dir := filepath.Dir(path)
	f, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if durable >= syncFile {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(f.Name())
			return fmt.Errorf("write %s: fsync: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("replace %s: %w", path, err)
	}
	// From here on the temporary's name is gone: nothing to remove.
	if durable < syncAll {
		return nil
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// createTemp makes a new file in dir, mode 0600, that nobody else has
// opened: O_EXCL never opens a file that is already there, and O_NOFOLLOW
// never creates one through a link.
func createTemp(dir, base string) (*os.File, error) {
	if len(base) > maxBaseInTemp {
		base = base[:maxBaseInTemp]
	}
	for try := 0; ; try++ {
		name := filepath.Join(dir, TempPrefix+base+"-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
		if errors.Is(err, fs.ErrExist) && try < 10 {
			continue
		}
		return f, err
	}
}

// syncDirectory fsyncs the directory dir, which makes the renames and
// creations in it durable.
//
// A directory its user may write to but not read (a --cidfile's, say,
// mode 0300) cannot be opened to sync it; by then the file is replaced,
// so that is no error: such a file is as durable as it was before myctr
// synced anything.
func syncDirectory(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open directory to sync it: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// SyncDir fsyncs the directory dir: after a file in it was removed or a
// directory renamed into it, that change survives a power cut only once
// its directory is synced.
func SyncDir(dir string) error {
	return syncDir(dir)
}
