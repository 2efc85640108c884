// Package layerfs reads unpacked image layers as the overlay mount of them
// would show them, without mounting: build reads a stage's files through
// it, and a container's user is resolved through it before its root is
// mounted.
package layerfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// FS reads the merged view of unpacked layers (Layers, top first) as overlay
// would show it: a character device 0/0 hides what is below it, a
// directory marked opaque hides the directories below it, and a non
// directory hides everything below its path. Names are resolved inside
// the merged root: symlinks are followed within it, ".." stops at it.
type FS struct {
	Layers []string
}

// IsWhiteout is true of an overlay whiteout: a character device 0/0.
func IsWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// IsOpaque is true of a directory marked opaque (user.overlay.opaque=y).
func IsOpaque(p string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(p, "user.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// Find looks rel (already resolved, no symlinks in its parents) up
// through the layers without following a final symlink.
func (l FS) Find(rel string) (string, fs.FileInfo, error) {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	var prefixes []string
	if rel != "" {
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			prefixes = append(prefixes, strings.Join(parts[:i], "/"))
		}
	}
	for _, layer := range l.Layers {
		stop := false
		hidden := false
		for _, pre := range prefixes {
			fi, err := os.Lstat(filepath.Join(layer, pre))
			if err != nil {
				continue
			}
			if IsWhiteout(fi) || !fi.IsDir() {
				hidden = true
				break
			}
			if IsOpaque(filepath.Join(layer, pre)) {
				stop = true
			}
		}
		if hidden {
			break
		}
		p := filepath.Join(layer, rel)
		fi, err := os.Lstat(p)
		if err == nil {
			if IsWhiteout(fi) {
				break
			}
			return p, fi, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "", nil, err
		}
		if stop {
			break
		}
	}
	return "", nil, fs.ErrNotExist
}

// Resolve resolves the symlinks of rel's parents (and of rel itself when
// follow) inside the merged root and returns the resolved relative path.
func (l FS) Resolve(rel string, follow bool) (string, error) {
	todo := strings.Split(strings.TrimPrefix(path.Clean("/"+rel), "/"), "/")
	cur := ""
	for links := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		next := strings.TrimPrefix(path.Clean("/"+cur+"/"+c), "/")
		if c == ".." {
			cur = next
			continue
		}
		_, fi, err := l.Find(next)
		if err != nil {
			if len(todo) == 0 {
				return next, nil // a missing last component is fine
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 && (len(todo) > 0 || follow) {
			links++
			if links > 40 {
				return "", fmt.Errorf("%s: too many levels of symbolic links", rel)
			}
			p, _, _ := l.Find(next)
			target, err := os.Readlink(p)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(target, "/") {
				cur = ""
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		cur = next
	}
	return cur, nil
}

// Lstat resolves rel's parents and looks rel up.
func (l FS) Lstat(rel string) (string, fs.FileInfo, error) {
	r, err := l.Resolve(rel, false)
	if err != nil {
		return "", nil, err
	}
	return l.Find(r)
}

// Stat is Lstat following a final symlink.
func (l FS) Stat(rel string) (string, fs.FileInfo, error) {
	r, err := l.Resolve(rel, true)
	if err != nil {
		return "", nil, err
	}
	return l.Find(r)
}

// ReadDir lists the merged directory rel (already resolved), sorted.
func (l FS) ReadDir(rel string) ([]string, error) {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	seen := map[string]bool{}
	var names []string
	for _, layer := range l.Layers {
		p := filepath.Join(layer, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if IsWhiteout(fi) || !fi.IsDir() {
			break
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			if info, err := e.Info(); err == nil && IsWhiteout(info) {
				continue
			}
			names = append(names, e.Name())
		}
		if IsOpaque(p) {
			break
		}
	}
	sort.Strings(names)
	return names, nil
}

// Open opens the regular file rel (already resolved).
func (l FS) Open(rel string) (io.ReadCloser, error) {
	p, _, err := l.Find(rel)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}
