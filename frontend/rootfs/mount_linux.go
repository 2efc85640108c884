// Package rootfs builds a container's root filesystem inside the
// container's own mount namespace: the overlay of image layers, /proc,
// /dev, /sys, bind mounts and tmpfs from the OCI spec, pivot_root, and
// the masked and read-only paths. Everything here runs in the container's
// init, as root of its user namespace; nothing is ever mounted on the host.
// Paths inside the root are made and mounted on by file descriptor (see
// inroot_linux.go), never by a path string resolved twice.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Overlay names the overlay's directories; Lower is top layer first.
type Overlay struct {
	Lower  []string
	Upper  string
	Work   string
	RunDir string // the container's runtime directory: links and /etc files
	// Volatile: an --rm container's (AnnotationVolatile), mounted with
	// overlayfs's volatile option (see MountOverlay).
	Volatile bool
	// KeepID, for --userns=keep-id: the owners are shifted once (the
	// file ShiftMarker records it) and the user added to /etc/passwd.
	KeepID      *KeepUser
	ShiftMarker string
	// HostUsers (--hostuser) are /etc/passwd lines of host users, added
	// where the image has no user of that name.
	HostUsers []string
	// Bundle: the root is a directory of its own (an OCI bundle's, given
	// to myctr-runtime), bound on itself rather than an overlay mounted
	// on it; the other fields are unused.
	Bundle bool
}

// propagationFlags maps the spec's linux.rootfsPropagation to mount(2)
// flags; "" is the default, slave.
var propagationFlags = map[string]uintptr{
	"": unix.MS_SLAVE, "slave": unix.MS_SLAVE, "private": unix.MS_PRIVATE,
	"shared": unix.MS_SHARED, "unbindable": unix.MS_UNBINDABLE,
}

// RootPropagation checks the spec's linux.rootfsPropagation and returns
// its mount(2) flag.
func RootPropagation(spec *specs.Spec) (uintptr, error) {
	v := ""
	if spec.Linux != nil {
		v = spec.Linux.RootfsPropagation
	}
	f, ok := propagationFlags[v]
	if !ok {
		return 0, fmt.Errorf("linux.rootfsPropagation %q is not one of shared, slave, private, unbindable", v)
	}
	return f, nil
}

// MountError names the mount that failed with its flags, as runc does.
type MountError struct {
	Op, Source, Target, Type string
	Flags                    uintptr
	Data                     string
	Err                      error
}

func (e *MountError) Error() string {
	s := fmt.Sprintf("%s %s on %s", e.Op, e.Source, e.Target)
	if e.Type != "" {
		s += " type " + e.Type
	}
	if e.Flags != 0 {
		s += " flags " + flagNames(e.Flags)
	}
	if e.Data != "" {
		s += " data " + e.Data
	}
	return s + ": " + e.Err.Error()
}

func (e *MountError) Unwrap() error { return e.Err }

func mount(source, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return &MountError{Op: "mount", Source: source, Target: target, Type: fstype, Flags: flags, Data: data, Err: err}
	}
	return nil
}

var flagTable = []struct {
	flag uintptr
	name string
}{
	{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"}, {unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"}, {unix.MS_REMOUNT, "MS_REMOUNT"}, {unix.MS_BIND, "MS_BIND"},
	{unix.MS_REC, "MS_REC"}, {unix.MS_PRIVATE, "MS_PRIVATE"}, {unix.MS_SLAVE, "MS_SLAVE"},
	{unix.MS_SHARED, "MS_SHARED"}, {unix.MS_RELATIME, "MS_RELATIME"}, {unix.MS_STRICTATIME, "MS_STRICTATIME"},
	{unix.MS_NOATIME, "MS_NOATIME"},
}

func flagNames(f uintptr) string {
	var names []string
	for _, t := range flagTable {
		if f&t.flag != 0 {
			names = append(names, t.name)
			f &^= t.flag
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("0x%x", f))
	}
	return strings.Join(names, "|")
}

// Options splits OCI mount options into mount(2) flags, propagation flags,
// whether the mount is a bind, recursive read-only, and the data string.
type Options struct {
	Flags       uintptr
	Propagation uintptr
	Bind        bool
	Data        string
	// CopyUp (tmpcopyup, as crun's): a tmpfs starts with a copy of what
	// was at its mount point.
	CopyUp bool
}

var optFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"relatime": {false, unix.MS_RELATIME}, "strictatime": {false, unix.MS_STRICTATIME},
	"noatime": {false, unix.MS_NOATIME},
}

var propFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
}

// ParseOptions turns the OCI option list into Options.
func ParseOptions(opts []string) Options {
	var o Options
	var data []string
	for _, opt := range opts {
		if f, ok := optFlags[opt]; ok {
			if f.clear {
				o.Flags &^= f.flag
			} else {
				o.Flags |= f.flag
			}
			continue
		}
		if p, ok := propFlags[opt]; ok {
			o.Propagation |= p
			continue
		}
		switch opt {
		case "bind":
			o.Bind = true
		case "rbind":
			o.Bind = true
			o.Flags |= unix.MS_REC
		case "tmpcopyup":
			o.CopyUp = true
		case "notmpcopyup":
		default:
			data = append(data, opt)
		}
	}
	o.Data = strings.Join(data, ",")
	return o
}

// MountOverlay mounts the image layers and the container's upper dir on
// target. The container's runtime directory must be the working directory:
// the options name the layers, the upper and the work dir through short
// relative links (l/0, l/1, ..., u, w), so that no host path shows in the
// container's mountinfo and many layers fit in one page of options.
// userxattr makes overlayfs keep its metadata in user.* xattrs, which an
// unprivileged user namespace may write.
//
// With ov.Volatile (an --rm container's, whose files go with it), also
// volatile, as Podman mounts its --rm containers: overlayfs then never
// syncs the upper file system, where it otherwise did when the mount
// went with the container's end, an ext4 journal commit of 3-6 ms that
// every `run --rm` waited for before it learned of the exit. overlayfs
// leaves work/work/incompat/volatile behind and refuses a later mount
// of the same dirs while it is there, since it cannot know the last
// unmount was clean; the only later mounts of an --rm container's dirs
// are of one whose end was cut short (a crash, myctr cp to it before
// its removal), and what it wrote is thrown away with it, so the mark
// is removed before each mount.
func MountOverlay(ov Overlay, target string) error {
	if len(ov.Lower) == 0 {
		return fmt.Errorf("mount overlay on %s: no image layers", target)
	}
	for _, old := range []string{"l", "u", "w"} {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove old link %s: %w", old, err)
		}
	}
	if err := os.Mkdir("l", 0o700); err != nil {
		return fmt.Errorf("create layer links: %w", err)
	}
	names := make([]string, len(ov.Lower))
	for i, l := range ov.Lower {
		names[i] = "l/" + strconv.Itoa(i)
		if err := os.Symlink(l, names[i]); err != nil {
			return fmt.Errorf("link layer %s: %w", l, err)
		}
	}
	if err := os.Symlink(ov.Upper, "u"); err != nil {
		return fmt.Errorf("link upper dir: %w", err)
	}
	if err := os.Symlink(ov.Work, "w"); err != nil {
		return fmt.Errorf("link work dir: %w", err)
	}
	if err := os.Remove(filepath.Join(ov.Work, "work", "incompat", "volatile")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the mark of a volatile mount: %w", err)
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=u,workdir=w,userxattr", strings.Join(names, ":"))
	if ov.Volatile {
		data += ",volatile"
	}
	return mount("overlay", target, "overlay", 0, data)
}

// Prepare mounts everything the spec asks for under root (the merged
// overlay), before pivot_root.
func Prepare(spec *specs.Spec, ov Overlay) error {
	// Nothing done here may propagate back to the namespace we came
	// from, unless the spec asks for shared propagation.
	prop, err := RootPropagation(spec)
	if err != nil {
		return err
	}
	// pivot_root takes no shared root, and an unbindable one cannot be
	// bound on itself: those two are set once the root is pivoted
	// (Finish), the tree a slave until then.
	if prop == unix.MS_SHARED || prop == unix.MS_UNBINDABLE {
		prop = unix.MS_SLAVE
	}
	if err := mount("", "/", "", prop|unix.MS_REC, ""); err != nil {
		return err
	}
	root := spec.Root.Path
	if ov.Bundle {
		if err := bindBundleRoot(root); err != nil {
			return err
		}
	} else {
		dir := ov.RunDir
		if err := privatize(filepath.Join(dir, "userdata")); err != nil {
			return err
		}
		if err := unix.Chdir(dir); err != nil {
			return fmt.Errorf("chdir %s: %w", dir, err)
		}
		if err := MountOverlay(ov, root); err != nil {
			return err
		}
	}
	if ov.KeepID != nil {
		// Before the mounts: only the image's and the container's files.
		if err := ShiftOwners(root, *ov.KeepID, ov.ShiftMarker); err != nil {
			return err
		}
		if err := AddUser(root, *ov.KeepID); err != nil {
			return fmt.Errorf("add the keep-id user: %w", err)
		}
	}
	for _, line := range ov.HostUsers {
		name, _, _ := strings.Cut(line, ":")
		if err := addEntry(root, "/etc/passwd", 0, name, line+"\n"); err != nil {
			return fmt.Errorf("add the --hostuser user %s: %w", name, err)
		}
	}
	for i := range spec.Mounts {
		if err := mountEntry(root, &spec.Mounts[i]); err != nil {
			return err
		}
	}
	if err := createDevices(root, spec.Linux.Devices); err != nil {
		return err
	}
	return createDevSymlinks(root)
}

// bindBundleRoot binds an OCI bundle's root directory on itself, so that
// it is a mount point pivot_root can make the new /.
func bindBundleRoot(root string) error {
	if err := mount(root, root, "bind", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	return nil
}

// privatize copies the small files of dir (/etc/hosts and the like) into a
// tmpfs mounted over dir. A bind mount shows its source's path within its
// filesystem in the container's mountinfo; from the tmpfs that path is
// "/hosts", not a path of the host.
func privatize(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("read %s: %w", e.Name(), err)
		}
		files[e.Name()] = b
	}
	if err := mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755,size=1m"); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("copy %s into tmpfs: %w", name, err)
		}
	}
	return nil
}

func mountEntry(root string, m *specs.Mount) error {
	o := ParseOptions(m.Options)
	if o.Bind || m.Type == "bind" {
		return bindMount(root, m, o)
	}
	mp, err := target(root, m.Destination, false)
	if err != nil {
		return err
	}
	defer mp.Close()
	if m.Type == "sysfs" || m.Type == "cgroup2" || m.Type == "cgroup" {
		// sysfs may be mounted only by the owner of the network namespace,
		// cgroup2 only by the owner of the cgroup namespace; with
		// --network host or --cgroupns=host that is not us, so bind the
		// host's instead, read-only (as crun does). An OCI spec's
		// "cgroup" (which runtimes read as the host's kind of cgroup
		// file system) is the unified hierarchy, or the host's tree.
		fsType := m.Type
		if fsType == "cgroup" {
			fsType = "cgroup2"
		}
		if err := mp.mount(m.Source, fsType, o.Flags, o.Data); err != nil {
			if !errors.Is(err, unix.EPERM) {
				return err
			}
			host := "/sys"
			if fsType == "cgroup2" {
				host = "/sys/fs/cgroup"
			}
			if err := mp.mount(host, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return err
			}
			return setAttrOnTop(mp, unix.MOUNT_ATTR_RDONLY, true)
		}
		return nil
	}
	if o.CopyUp && m.Type == "tmpfs" {
		return mountCopyUp(mp, m.Type, o)
	}
	if err := mp.mount(m.Source, m.Type, o.Flags, o.Data); err != nil {
		if m.Type == "devpts" && strings.Contains(o.Data, "gid=") {
			// gid 5 (tty) is unmapped without a subordinate range.
			return mp.mount(m.Source, m.Type, o.Flags, dropOption(o.Data, "gid="))
		}
		return err
	}
	return nil
}

// setAttrOnTop sets mount attributes on the mount just made on mp, found
// again inside the root (the mount point's own descriptor names what is
// under it).
func setAttrOnTop(mp *mountPoint, set uint64, recursive bool) error {
	top, err := mp.open()
	if err != nil {
		return fmt.Errorf("open the mount on %s: %w", mp.path, err)
	}
	defer top.Close()
	return setAttrFd(top, mp.path, set, recursive)
}

func dropOption(data, prefix string) string {
	var keep []string
	for _, d := range strings.Split(data, ",") {
		if !strings.HasPrefix(d, prefix) {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, ",")
}

func bindMount(root string, m *specs.Mount, o Options) error {
	if err := prepareSource(root, m); err != nil {
		return err
	}
	fi, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("bind mount source %s: %w", m.Source, err)
	}
	mp, err := target(root, m.Destination, !fi.IsDir())
	if err != nil {
		return err
	}
	defer mp.Close()
	if err := mp.mount(m.Source, "", unix.MS_BIND|(o.Flags&unix.MS_REC), ""); err != nil {
		return err
	}
	// The flags of a bind are set on the new mount afterwards (a bind
	// ignores them), for its submounts too where it is recursive.
	var attr uint64
	for _, f := range []struct {
		flag uintptr
		attr uint64
	}{{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID}, {unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}} {
		if o.Flags&f.flag != 0 {
			attr |= f.attr
		}
	}
	if o.Propagation == 0 && attr == 0 {
		return nil
	}
	top, err := mp.open()
	if err != nil {
		return fmt.Errorf("open the mount on %s: %w", mp.path, err)
	}
	defer top.Close()
	if o.Propagation != 0 {
		if err := mountFd("", top, mp.path, "", o.Propagation, ""); err != nil {
			return err
		}
	}
	if attr != 0 {
		return setAttrFd(top, mp.path, attr, o.Flags&unix.MS_REC != 0)
	}
	return nil
}

// BindDir binds the directory source on target (recursively), read-only
// when readOnly.
func BindDir(source, target string, readOnly bool) error {
	if err := mount(source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if readOnly {
		return setReadOnly(target, true)
	}
	return nil
}

// setReadOnly makes a mount read-only with mount_setattr(2), which keeps
// the flags the kernel locked on mounts inherited from the host (a plain
// MS_REMOUNT would have to repeat them or fail with EPERM).
func setReadOnly(path string, recursive bool) error {
	return setAttr(path, unix.MOUNT_ATTR_RDONLY, recursive)
}

// setAttr sets mount attributes (MOUNT_ATTR_RDONLY, _NOEXEC, ...) on a
// mount, and on its submounts where recursive.
func setAttr(path string, set uint64, recursive bool) error {
	flags := unix.AT_SYMLINK_NOFOLLOW
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	attr := &unix.MountAttr{Attr_set: set}
	if err := unix.MountSetattr(-1, path, uint(flags), attr); err != nil {
		if set == unix.MOUNT_ATTR_RDONLY {
			return fmt.Errorf("make %s read-only: %w", path, err)
		}
		return fmt.Errorf("set mount attributes %#x on %s: %w", set, path, err)
	}
	return nil
}

// createDevices binds the host's device nodes: a user namespace may not
// mknod, and these few are safe to share.
func createDevices(root string, devs []specs.LinuxDevice) error {
	for _, d := range devs {
		done, err := mknodDevice(root, d)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		mp, err := target(root, d.Path, true)
		if err != nil {
			return err
		}
		err = mp.mount(d.Path, "", unix.MS_BIND, "")
		mp.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// deviceTypes are the mknod(2) file types of the spec's device types.
var deviceTypes = map[string]uint32{"c": unix.S_IFCHR, "u": unix.S_IFCHR, "b": unix.S_IFBLK, "p": unix.S_IFIFO}

// mknodDevice makes a device the spec gives by its numbers (an OCI
// runtime's spec; myctr's own name host devices alone) as a node of its
// own, with its mode and owner, where this process may (root outside a
// user namespace). done is false where the host's node is to be bound
// instead: no numbers, or mknod not allowed here.
func mknodDevice(root string, d specs.LinuxDevice) (done bool, err error) {
	typ, ok := deviceTypes[d.Type]
	if !ok || (d.Type != "p" && d.Major == 0 && d.Minor == 0) {
		return false, nil
	}
	r, err := resolveIn(root, d.Path)
	if err != nil {
		return false, err
	}
	defer r.Close()
	dir, err := r.mkdirParent()
	if err != nil {
		return false, fmt.Errorf("create parent of %s: %w", d.Path, err)
	}
	defer dir.Close()
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	name := filepath.Base(r.rel)
	err = unix.Mknodat(int(dir.Fd()), name, typ|perm, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
	if errors.Is(err, unix.EEXIST) {
		// The image's own node (or file) of that name: the spec's wins.
		if err = unix.Unlinkat(int(dir.Fd()), name, 0); err == nil {
			err = unix.Mknodat(int(dir.Fd()), name, typ|perm, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
		}
	}
	if errors.Is(err, unix.EPERM) {
		return false, nil // in a user namespace: the host's node is bound
	}
	if err != nil {
		return false, fmt.Errorf("mknod %s: %w", d.Path, err)
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, fmt.Errorf("chown %s: %w", d.Path, err)
	}
	// mknod's mode passed through the umask.
	if err := unix.Fchmodat(int(dir.Fd()), name, perm, 0); err != nil {
		return false, fmt.Errorf("chmod %s: %w", d.Path, err)
	}
	return true, nil
}

// createDevSymlinks makes the links of /dev in the container's /dev (a
// tmpfs of ours by now), through its handle.
func createDevSymlinks(root string) error {
	links := [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
		{"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
	}
	r, err := resolveIn(root, "/dev")
	if err != nil {
		return err
	}
	defer r.Close()
	dev, err := r.mkdirAll()
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	for _, l := range links {
		if err := unix.Symlinkat(l[0], int(dev.Fd()), l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

// PivotRoot makes root the new / and detaches the old root, so the host's
// tree is no longer reachable from the container.
func PivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	// pivot_root(".", ".") stacks the old root under the new one; detaching
	// "." then removes it (the trick runc uses, no temporary dir needed).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return unix.Chdir("/")
}

// Finish applies masked and read-only paths and a read-only root, after
// pivot_root.
func Finish(spec *specs.Spec) error {
	for _, p := range spec.Linux.ReadonlyPaths {
		if err := mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return err
		}
		if err := setReadOnly(p, true); err != nil {
			return err
		}
	}
	for _, p := range spec.Linux.MaskedPaths {
		if err := mask(p); err != nil {
			return err
		}
	}
	ensureMtab(spec)
	if prop, err := RootPropagation(spec); err != nil {
		return err
	} else if prop == unix.MS_SHARED || prop == unix.MS_UNBINDABLE {
		if err := mount("", "/", "", prop|unix.MS_REC, ""); err != nil {
			return err
		}
	}
	if spec.Root.Readonly {
		if err := setReadOnly("/", false); err != nil {
			return err
		}
	}
	return nil
}

// mask hides p: a directory under an empty read-only tmpfs, a file under
// the null device. The null device is opened without following a symlink,
// checked to be character device 1:3, and bound from that descriptor
// (open_tree, move_mount onto p opened without following a symlink): a
// /dev/null or masked path that an image, a volume or a racing process
// made a symlink (to a procfs file, say: the CVE-2025-31133 class) cannot
// turn a mask into a writable file of the host's.
func mask(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("mask %s: it is a symbolic link", p)
	}
	if fi.IsDir() {
		return mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "size=0k")
	}
	null, err := openNull()
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	defer unix.Close(null)
	tree, err := unix.OpenTree(null, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("mask %s: open_tree /dev/null: %w", p, err)
	}
	defer unix.Close(tree)
	dst, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	defer unix.Close(dst)
	if err := unix.MoveMount(tree, "", dst, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("mask %s: move_mount: %w", p, err)
	}
	return nil
}

// openNull opens the container's /dev/null as an O_PATH descriptor and
// checks that it is the null device.
func openNull() (int, error) {
	fd, err := unix.Open("/dev/null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/null: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		unix.Close(fd)
		return -1, fmt.Errorf("/dev/null is not the null device (mode %#o, device %d:%d)", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return fd, nil
}

// MountOptionNames lists the mount options the init knows besides a
// file system's own data (which go to mount(2) as they are), sorted.
func MountOptionNames() []string {
	names := []string{"bind", "rbind", "tmpcopyup", "notmpcopyup"}
	for n := range optFlags {
		names = append(names, n)
	}
	for n := range propFlags {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// DefaultMounts are the file systems every container gets: /proc, a /dev
// tmpfs with its pts, shm and mqueue, and a read-only /sys; what
// `myctr run` gives its containers and `myctr-runtime spec` writes.
func DefaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
}
