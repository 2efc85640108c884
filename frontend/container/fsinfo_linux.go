package container

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// FSInfo is the file system that holds a directory: its type and space.
type FSInfo struct {
	Path  string // the directory statfs was asked about (the nearest that exists)
	Type  string // "ext4", "xfs", ... or the magic number in hex
	Free  uint64 // bytes available to the user
	Total uint64
}

// fsNames are the file systems a store is commonly on (statfs f_type).
var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	unix.NFS_SUPER_MAGIC:       "nfs",
	unix.FUSE_SUPER_MAGIC:      "fuse",
	unix.F2FS_SUPER_MAGIC:      "f2fs",
	0x2fc12fc1:                 "zfs",
	unix.CIFS_SUPER_MAGIC:      "cifs",
	unix.SMB2_SUPER_MAGIC:      "smb2",
	unix.V9FS_MAGIC:            "9p",
}

// StoreFS reads the file system of the image store (Storage, or the
// nearest of its parents that exists, before the first pull makes it).
func (d Dirs) StoreFS() (FSInfo, error) {
	p := filepath.Clean(d.Storage())
	for {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			t, ok := fsNames[int64(st.Type)]
			if !ok {
				t = fmt.Sprintf("0x%x", st.Type)
			}
			return FSInfo{Path: p, Type: t, Free: st.Bavail * uint64(st.Bsize), Total: st.Blocks * uint64(st.Bsize)}, nil
		}
		parent := filepath.Dir(p)
		if !errors.Is(err, fs.ErrNotExist) || parent == p {
			return FSInfo{Path: p}, fmt.Errorf("statfs %s: %w", p, err)
		}
		p = parent
	}
}
