package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/sys/user"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/layerfs"
	"github.com/myctr/myctr/frontend/netholder"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/rootfs"
	"github.com/myctr/myctr/frontend/seccomp"
	"github.com/myctr/myctr/frontend/security"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/frontend/volume"
)

// CreateOptions are the run flags, already split into lists.
type CreateOptions struct {
	Name string
	// Healthcheck is --health-cmd and the other --health-* flags given
	// (or the API's Config.Healthcheck): a field left zero is the image's
	// HEALTHCHECK's (ImageHealthcheck), then the default, as Docker
	// merges them. HealthOnFailure is --health-on-failure. Create checks
	// them (CheckHealthConfig).
	Healthcheck      *HealthConfig
	ImageHealthcheck *HealthConfig
	HealthOnFailure  string
	// Secrets are run --secret's of type mount, with their data.
	Secrets []SecretMount
	// Labels are run --label's, over the image's own labels.
	Labels map[string]string
	// Networks are the named networks to attach the container to (run
	// --network NAME, --network-alias, --ip); Network is then "".
	Networks    map[string]NetworkAttach
	PodInfo     // the pod the container joins (pod.go)
	ImageID     string
	ImageName   string
	ImageDigest string
	// Privileged is --privileged, with rootless Podman's meaning: every
	// capability (of the container's user namespace), no seccomp filter,
	// no masked or read-only paths, the host's devices you may open.
	Privileged bool
	// Timezone is --tz: "local" or a zone of the host's zoneinfo; its
	// file is bound on /etc/localtime.
	Timezone string
	Image    v1.ImageConfig
	Lower    []string // top layer first
	// BuildStep: a build's RUN step, whose upper dir becomes a layer: no
	// /run/.containerenv, whose mount point would stay in the image.
	BuildStep  bool
	Command    []string // after IMAGE on the command line
	Entrypoint *string  // --entrypoint; nil keeps the image's
	Env        []string // -e and --env-file, in order
	// DefaultEnv is containers.conf's env, below the image's ENV.
	DefaultEnv []string
	// UnsetEnv (--unsetenv) removes variables of the defaults (PATH,
	// DefaultEnv, the image's ENV, container=, TERM); UnsetEnvAll
	// (--unsetenv-all) removes them all. -e still sets what it names.
	UnsetEnv    []string
	UnsetEnvAll bool
	// HostUsers (--hostuser) are host users' /etc/passwd lines for the
	// container's /etc/passwd.
	HostUsers []string
	Workdir   string
	User      string
	// GroupAdd is --group-add: more supplementary groups (names in the
	// image's /etc/group, or numbers), or keep-groups alone (the
	// caller's own groups stay).
	GroupAdd []string
	Userns   string // --userns as given; "" is private
	// UsernsDefault is containers.conf's userns, the mode of a container
	// whose --userns is "" and that joins no other's namespaces.
	UsernsDefault config.Setting[string]
	Hostname      string
	Volumes       []string // -v as given (HostConfig.Binds)
	Tmpfs         []string
	// Mounts are -v and --mount, parsed, in order; VolumesFrom is
	// --volumes-from; ImageVolume what the image's VOLUMEs get (bind: an
	// anonymous volume, the default; tmpfs; ignore).
	Mounts      []volume.Mount
	VolumesFrom []string
	ImageVolume string
	ReadOnly    bool
	CapAdd      []string
	CapDrop     []string
	NoNewPrivs  bool
	// Seccomp is the profile: "" Docker's default, seccomp.Unconfined,
	// or a profile file's absolute path.
	Seccomp string
	// Landlock is the ruleset of the landlock= options (nil: none),
	// LandlockStrict whether a kernel that cannot enforce all of it is an
	// error, LandlockOptions the options as given (for inspect).
	Landlock        *landlock.Ruleset
	LandlockStrict  bool
	LandlockOptions []string
	// Warn takes warnings about the options (nil: standard error).
	Warn           io.Writer
	Network        string                // none, host, pasta, slirp4netns or bridge
	NetworkOptions []string              // after MODE: in --network MODE:OPTIONS
	Ports          []network.PortMapping // -p, and -P for each EXPOSEd port
	Tty            bool
	Interactive    bool
	Remove         bool
	Init           bool // --init: myctr-init as PID 1 (nsexec.MiniInit)
	// IPC is --ipc (ParseIPC): shareable or private (an IPC namespace of
	// its own), none (one without /dev/shm), or host (the host's, with
	// the host's /dev/shm and /dev/mqueue).
	IPC string

	// The container's cgroup (see HostConfig): Cgroups is enabled or
	// disabled, CgroupManager "systemd" or "", Cgroupns private or host.
	Cgroups, CgroupManager, CgroupParent, Cgroupns string
	Limits                                         *cgroup.Resources     // the resource flags
	Resources                                      *specs.LinuxResources // their OCI form
	OOMScoreAdj                                    *int
	// ExtraHosts are --add-host's NAME:IP entries; NoHosts (--no-hosts)
	// leaves the image's /etc/hosts.
	ExtraHosts []string
	NoHosts    bool
	// DNS, DNSSearch and DNSOptions are --dns (servers, or "none": the
	// image's /etc/resolv.conf), --dns-search and --dns-option (CheckDNS).
	DNS, DNSSearch, DNSOptions []string
	// DefaultDNS is containers.conf's dns_servers, dns_searches and
	// dns_options, which come before the container's own (not for a
	// container that joins another's network, whose file it shares).
	DefaultDNS DNSConfig
	// BaseHostsFile and HostInternalIP are containers.conf's
	// base_hosts_file and host_containers_internal_ip (HostConfig's).
	BaseHostsFile, HostInternalIP string
	// Ulimits are --ulimit's (ParseUlimits), the process's rlimits;
	// ShmSize is --shm-size in bytes (0: 64 MiB); Umask --umask;
	// Annotations --annotation's, in the spec beside myctr's own;
	// NoReadOnlyTmpfs is --read-only-tmpfs=false: --read-only without
	// writable /run, /tmp and /var/tmp.
	Ulimits         []*units.Ulimit
	ShmSize         int64
	Umask           *uint32
	Annotations     map[string]string
	NoReadOnlyTmpfs bool
	PidFile         string          // --pidfile, absolute
	Devices         []DeviceMapping // --device (ParseDevice)
	// Sysctls are the container's namespaced kernel settings (merged
	// with MergeSysctls), written by its init (linux.sysctl).
	Sysctls map[string]string

	// seccompSpec is the OCI section of Seccomp, once Create has made it.
	seccompSpec     *specs.LinuxSeccomp
	seccompResolved bool

	CreateCommand []string // the command line, for generate systemd
	LogDriver     string   // k8s-file or journald
	LogOpts       *LogOpts // --log-opt
	SdNotify      string   // ignore, conmon or container
	StopSignal    string   // --stop-signal; "" keeps the image's
	StopTimeout   *uint    // --stop-timeout
	Restart       RestartPolicy
	HostExtra     HostExtra // --timeout, --runtime
}

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// The masked and read-only paths of containers-common (Podman's defaults:
// DefaultMaskedPaths and DefaultReadOnlyPaths in its pkg/config/default.go,
// as of 2025). A masked path reads as empty: a directory gets an empty
// read-only tmpfs, a file /dev/null. /sys/devices/virtual/powercap holds
// RAPL energy counters (a power side channel, CVE-2020-8694 class), and
// /proc/interrupts and the thermal_throttle counters leak what other
// tenants do. /sys/dev/block, which older Podman masked, is no longer in
// the list (containers/common#2278): it holds only symlinks into
// /sys/devices, which stays visible. Paths a container lacks are skipped.
var (
	maskedPaths = []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
		"/sys/devices/virtual/powercap", "/sys/firmware", "/sys/fs/selinux", "/proc/interrupts"}
	// maskedPathGlobs are expanded on the host when the spec is made.
	maskedPathGlobs = []string{"/sys/devices/system/cpu/cpu*/thermal_throttle"}
	readonlyPaths   = []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
		"/proc/sys", "/proc/sysrq-trigger"}
)

// defaultMaskedPaths is maskedPaths with maskedPathGlobs expanded.
func defaultMaskedPaths() []string {
	out := append([]string(nil), maskedPaths...)
	for _, g := range maskedPathGlobs {
		m, _ := filepath.Glob(g) // the patterns are valid
		out = append(out, m...)
	}
	return out
}

// ParseTmpfs checks a --tmpfs PATH[:opts] argument. Its defaults are
// Podman's (rw, nosuid, nodev: programs on it run, as with Podman; noexec
// is the user's to add).
func ParseTmpfs(v string) (specs.Mount, error) {
	dst, opts, _ := strings.Cut(v, ":")
	if !filepath.IsAbs(dst) {
		return specs.Mount{}, fmt.Errorf("%w --tmpfs %q: path must be absolute", ErrInvalidVolume, v)
	}
	o := []string{"rw", "nosuid", "nodev"}
	if opts != "" {
		o = append(o, strings.Split(opts, ",")...)
	}
	return specs.Mount{Destination: filepath.Clean(dst), Type: "tmpfs", Source: "tmpfs", Options: o}, nil
}

// openImageFile opens a file of the image as its mounted root would show
// it: through its layers (top first), honouring whiteouts, opaque
// directories and symlinks, never leaving the root. A missing or
// unreadable file, or one that is not a regular file, is nil: an image
// without /etc/passwd has no names, not an error.
func openImageFile(lower []string, name string) *os.File {
	root := layerfs.FS{Layers: lower}
	rel, err := root.Resolve(name, true)
	if err != nil {
		return nil
	}
	p, fi, err := root.Find(rel)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil
	}
	return f
}

// readerOf is f as an io.Reader, nil (not a nil *os.File) without a file:
// moby/sys/user tells "no file" from "no entry" by a nil reader.
func readerOf(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}

// resolveUser turns -u (or the image's User) into ids and the user's home,
// reading the image's /etc/passwd and /etc/group (see openImageFile) with
// moby/sys/user, the parser runc and Podman use: USER and GROUP are names
// or numbers, a number need not be listed, and without GROUP the user's
// supplementary groups are those that list it.
func resolveUser(u string, lower []string) (specs.User, string, error) {
	if u == "" {
		u = "0"
	}
	name, group, hasGroup := strings.Cut(u, ":")
	if name == "" || (hasGroup && group == "") || strings.Count(u, ":") > 1 {
		return specs.User{}, "", fmt.Errorf("%w %q: want USER[:GROUP]", ErrInvalidUser, u)
	}
	// A sign makes no id: the parser would read "+5" as 5.
	if strings.HasPrefix(name, "+") || strings.HasPrefix(name, "-") || strings.HasPrefix(group, "+") || strings.HasPrefix(group, "-") {
		return specs.User{}, "", fmt.Errorf("%w %q: a user or group is a name or an unsigned number", ErrInvalidUser, u)
	}
	passwd, groups := openImageFile(lower, "/etc/passwd"), openImageFile(lower, "/etc/group")
	for _, f := range []*os.File{passwd, groups} {
		if f != nil {
			defer f.Close()
		}
	}
	eu, err := user.GetExecUser(u, &user.ExecUser{Home: "/"}, readerOf(passwd), readerOf(groups))
	switch {
	case errors.Is(err, user.ErrNoPasswdEntries):
		return specs.User{}, "", fmt.Errorf("%w %q: no such user in the image's /etc/passwd", ErrInvalidUser, name)
	case errors.Is(err, user.ErrNoGroupEntries):
		return specs.User{}, "", fmt.Errorf("%w %q: no such group in the image's /etc/group", ErrInvalidUser, group)
	case err != nil:
		return specs.User{}, "", fmt.Errorf("%w %q: %w", ErrInvalidUser, u, err)
	}
	out := specs.User{UID: uint32(eu.Uid), GID: uint32(eu.Gid)}
	for _, g := range eu.Sgids {
		if id := uint32(g); id != out.GID && !slices.Contains(out.AdditionalGids, id) {
			out.AdditionalGids = append(out.AdditionalGids, id)
		}
	}
	return out, eu.Home, nil
}

// GroupKeep is --group-add keep-groups: the process keeps the
// supplementary groups of the user who runs myctr (crun's keep groups).
const GroupKeep = "keep-groups"

// addGroups adds --group-add's groups to u's supplementary groups: names
// of the image's /etc/group or numbers, as runc and Podman read them
// (moby/sys/user); it returns their ids. keep-groups, which must stand
// alone, adds none and is reported instead.
func addGroups(u *specs.User, groups []string, lower []string) (added []uint32, keep bool, err error) {
	if slices.Contains(groups, GroupKeep) {
		if len(groups) > 1 {
			// Podman's words.
			return nil, false, fmt.Errorf("%w: the '--group-add keep-groups' option is not allowed with any other --group-add options", ErrInvalidUser)
		}
		return nil, true, nil
	}
	if len(groups) == 0 {
		return nil, false, nil
	}
	for _, g := range groups {
		if g == "" || strings.HasPrefix(g, "+") || strings.HasPrefix(g, "-") {
			return nil, false, fmt.Errorf("%w: --group-add %q: a group is a name or an unsigned number", ErrInvalidUser, g)
		}
	}
	f := openImageFile(lower, "/etc/group")
	if f != nil {
		defer f.Close()
	}
	gids, err := user.GetAdditionalGroups(groups, readerOf(f))
	if err != nil {
		return nil, false, fmt.Errorf("%w: --group-add: %w (a group is a name in the image's /etc/group, or a number)", ErrInvalidUser, err)
	}
	// In order (the library's is a map's): setgroups sorts them anyway.
	slices.Sort(gids)
	for _, g := range gids {
		id := uint32(g)
		added = append(added, id)
		if !slices.Contains(u.AdditionalGids, id) {
			u.AdditionalGids = append(u.AdditionalGids, id)
		}
	}
	return added, false, nil
}

// SetEnv sets KEY=VALUE in env, replacing an earlier value of KEY.
func SetEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			return true
		}
	}
	return false
}

// processArgs combines the entrypoint and command as Docker does: an
// --entrypoint drops the image's Cmd.
func processArgs(o *CreateOptions) ([]string, error) {
	ep, cmd := entrypointAndCmd(o)
	args := append(append([]string{}, ep...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: the image has no CMD or ENTRYPOINT; give a command after the image name", ErrNoCommand)
	}
	return args, nil
}

// entrypointAndCmd are the two parts of a container's command line: the
// entrypoint (--entrypoint's, else the image's) and the command (the one
// given, else the image's Cmd unless --entrypoint was given).
func entrypointAndCmd(o *CreateOptions) (ep, cmd []string) {
	if o.Entrypoint != nil {
		// As Podman: a JSON array is the whole entrypoint, anything
		// else one program.
		var list []string
		switch {
		case strings.HasPrefix(*o.Entrypoint, "[") && json.Unmarshal([]byte(*o.Entrypoint), &list) == nil:
			ep = list
		case *o.Entrypoint != "":
			ep = []string{*o.Entrypoint}
		}
		cmd = o.Command
	} else {
		ep = o.Image.Entrypoint
		cmd = o.Command
		if len(cmd) == 0 {
			cmd = o.Image.Cmd
		}
	}
	return ep, cmd
}

// commandLine is the process's command line of a container made with o,
// as its spec has it: with --init, myctr-init in front.
func commandLine(o *CreateOptions) ([]string, error) {
	args, err := processArgs(o)
	if err != nil || !o.Init {
		return args, err
	}
	return append([]string{nsexec.InitPath, "--"}, args...), nil
}

// BuildSpec makes the OCI runtime spec of a new container. c supplies the
// id, name and directory.
func BuildSpec(o *CreateOptions, c *Container, m *userns.Mapping) (*specs.Spec, error) {
	args, err := commandLine(o)
	if err != nil {
		return nil, err
	}
	userStr := o.User
	if userStr == "" {
		userStr = o.Image.User
	}
	if k := m.KeepID; k != nil {
		// The user's own name (and group name) are the ids keep-id adds
		// to the container's /etc/passwd and /etc/group at start.
		name, group, hasGroup := strings.Cut(userStr, ":")
		if name == k.Name {
			name = strconv.FormatUint(uint64(k.UID), 10)
			if !hasGroup {
				group, hasGroup = strconv.FormatUint(uint64(k.GID), 10), true
			}
		}
		if hasGroup && group == k.Name {
			group = strconv.FormatUint(uint64(k.GID), 10)
		}
		if userStr != "" {
			userStr = name
			if hasGroup {
				userStr += ":" + group
			}
		}
	}
	user, home, err := resolveUser(userStr, o.Lower)
	if err != nil {
		return nil, err
	}
	var keep *rootfs.KeepUser
	if k := m.KeepID; k != nil {
		// As Podman: the user's home directory when the container has
		// it (from the image or a mount), else the working directory.
		kh := o.Workdir
		if kh == "" {
			kh = o.Image.WorkingDir
		}
		if _, _, err := (layerfs.FS{Layers: o.Lower}).Stat(k.Home); err == nil || slices.ContainsFunc(c.Mounts, func(mp MountPoint) bool { return mp.Destination == k.Home }) {
			kh = k.Home
		}
		if kh == "" {
			kh = "/"
		}
		keep = &rootfs.KeepUser{UID: k.UID, GID: k.GID, Name: k.Name, Home: kh}
		if o.User == "" {
			// The process is the user, whatever the image's USER says.
			user, home = specs.User{UID: k.UID, GID: k.GID}, kh
		}
	}
	added, keepGroups, err := addGroups(&user, o.GroupAdd, o.Lower)
	if err != nil {
		return nil, err
	}
	if user.UID >= m.Size() || user.GID >= m.Size() {
		hint := ""
		if !m.HasRange() {
			hint = " (no subordinate range in /etc/subuid and /etc/subgid: only id 0 is mapped)"
		}
		return nil, fmt.Errorf("%w %q: id outside the user namespace's %d mapped ids%s", ErrInvalidUser, userStr, m.Size(), hint)
	}
	for _, g := range added {
		if g >= m.Size() {
			return nil, fmt.Errorf("%w: --group-add: group %d is outside the user namespace's %d mapped ids", ErrInvalidUser, g, m.Size())
		}
	}
	env := []string{defaultPath}
	for _, e := range o.DefaultEnv {
		env = SetEnv(env, e)
	}
	for _, e := range o.Image.Env {
		env = SetEnv(env, e)
	}
	env = SetEnv(env, "container=myctr")
	if o.Tty {
		env = SetEnv(env, "TERM=xterm")
	}
	if o.UnsetEnvAll {
		env = nil
	}
	env = slices.DeleteFunc(env, func(e string) bool {
		k, _, _ := strings.Cut(e, "=")
		return slices.Contains(o.UnsetEnv, k)
	})
	hostname := o.Hostname
	if hostname == "" {
		hostname = c.ID[:12]
	}
	env = SetEnv(env, "HOSTNAME="+hostname)
	for _, e := range o.Env {
		env = SetEnv(env, e)
	}
	if !hasEnv(env, "HOME") {
		env = SetEnv(env, "HOME="+home)
	}
	cwd := o.Workdir
	if cwd == "" {
		cwd = o.Image.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !filepath.IsAbs(cwd) {
		return nil, fmt.Errorf("working directory %q must be absolute", cwd)
	}
	caps, err := security.MergeCaps(baseCaps(o), o.CapAdd, o.CapDrop)
	if err != nil {
		return nil, err
	}
	lc := &specs.LinuxCapabilities{Bounding: caps}
	if user.UID == 0 {
		lc.Effective, lc.Permitted = caps, caps
	}
	spec := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal:        o.Tty,
			User:            user,
			Args:            args,
			Env:             env,
			Cwd:             filepath.Clean(cwd),
			Capabilities:    lc,
			NoNewPrivileges: o.NoNewPrivs,
		},
		Root:     &specs.Root{Path: c.RunFile("rootfs"), Readonly: o.ReadOnly},
		Hostname: hostname,
		Mounts:   rootfs.DefaultMounts(),
		Linux: &specs.Linux{
			UIDMappings:   m.UIDMappings(),
			GIDMappings:   m.GIDMappings(),
			MaskedPaths:   defaultMaskedPaths(),
			ReadonlyPaths: readonlyPaths,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.UserNamespace}, {Type: specs.MountNamespace}, {Type: specs.PIDNamespace},
				{Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.CgroupNamespace},
			},
		},
	}
	for _, dev := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		spec.Linux.Devices = append(spec.Linux.Devices, specs.LinuxDevice{Path: "/dev/" + dev, Type: "c"})
	}
	for _, d := range o.Devices {
		spec.Mounts = append(spec.Mounts, deviceMount(d))
	}
	for _, u := range o.Ulimits {
		spec.Process.Rlimits = append(spec.Process.Rlimits, rlimit(u))
	}
	if err := checkRlimits(spec.Process.Rlimits); err != nil {
		return nil, err
	}
	spec.Process.User.Umask = o.Umask
	if o.ShmSize > 0 {
		for i, mnt := range spec.Mounts {
			if mnt.Destination == "/dev/shm" {
				spec.Mounts[i].Options = append(slices.DeleteFunc(slices.Clone(mnt.Options), func(opt string) bool { return strings.HasPrefix(opt, "size=") }),
					"size="+strconv.FormatInt(o.ShmSize, 10))
			}
		}
	}
	if o.Privileged {
		applyPrivileged(spec)
	}
	if o.Timezone != "" {
		zone, err := ZoneFile(o.Timezone)
		if err != nil {
			return nil, err
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/etc/localtime", Type: "bind", Source: zone, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}})
	}
	if o.Network != "host" {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	sec := o.seccompSpec
	if !o.seccompResolved {
		if sec, err = seccomp.Spec(o.Seccomp, caps); err != nil {
			return nil, err
		}
	}
	spec.Linux.Seccomp = sec
	if o.Seccomp != "" {
		spec.Annotations = map[string]string{seccomp.AnnotationProfile: o.Seccomp}
	}
	if o.Workdir != "" {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		spec.Annotations[nsexec.AnnotationWorkdirGiven] = c.ID
	}
	spec.Annotations = landlock.Annotate(spec.Annotations, o.Landlock, o.LandlockStrict)
	if keepGroups {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		spec.Annotations[nsexec.AnnotationKeepGroups] = "1"
	}
	if keep != nil {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		spec.Annotations[rootfs.AnnotationKeepID] = keep.Encode()
	}
	if len(o.HostUsers) > 0 {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		spec.Annotations[rootfs.AnnotationHostUsers] = strings.Join(o.HostUsers, "\n")
	}
	if !o.BuildStep {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		spec.Annotations[rootfs.AnnotationMtab] = "1"
		if o.Remove {
			spec.Annotations[rootfs.AnnotationVolatile] = "1"
		}
	}
	spec.Linux.Resources = o.Resources
	spec.Process.OOMScoreAdj = o.OOMScoreAdj
	spec.Linux.Sysctl = o.Sysctls
	if o.Cgroupns == "host" {
		spec.Linux.Namespaces = slices.DeleteFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.CgroupNamespace })
	}
	applyIPC(spec, o.IPC, hostDir)
	if o.CgroupManager != "" {
		// Its own cgroup, seen through its cgroup namespace (or the
		// host's whole tree with --cgroupns=host), read-only as Podman
		// mounts it.
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2",
			Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
	}
	for _, f := range []string{"hosts", "hostname", "resolv.conf"} {
		if f == "hosts" && o.NoHosts || f == "resolv.conf" && len(o.DNS) == 1 && o.DNS[0] == DNSNone {
			continue
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/etc/" + f, Type: "bind",
			Source: c.RunFile("userdata/" + f), Options: []string{"rbind", "rprivate"}})
	}
	if o.ReadOnly && !o.NoReadOnlyTmpfs {
		// As Podman's --read-only-tmpfs: the usual scratch places stay writable.
		for _, d := range []string{"/run", "/tmp", "/var/tmp"} {
			spec.Mounts = append(spec.Mounts, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs",
				Options: []string{"rw", "nosuid", "nodev", "mode=1777"}})
		}
	}
	// As Podman: an empty /run/.containerenv says "in a container" to
	// tools that look for it (systemd-detect-virt, toolbox).
	if !o.BuildStep {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/run/.containerenv", Type: "bind",
			Source: c.RunFile("userdata/.containerenv"), Options: []string{"rbind", "rprivate", "ro"}})
	}
	if o.Init {
		// myctr-init in front of the command, as Podman puts catatonit
		// there; but not bound into the container from the host: the
		// init executes its own sealed copy of it (nsexec.startProcess),
		// which a container process can neither write nor follow back
		// to the file on disk. (myctr itself also runs MiniInit, but it
		// is linked dynamically and would not run in the image.)
		if _, err := initBinary(); err != nil {
			return nil, err
		}
	}
	for k, v := range o.Annotations {
		if _, ok := spec.Annotations[k]; !ok { // myctr's own stay
			if spec.Annotations == nil {
				spec.Annotations = map[string]string{}
			}
			spec.Annotations[k] = v
		}
	}
	return spec, nil
}

// initBinary is the program --init runs as the container's PID 1: myctr-init,
// which is linked statically, so that it runs in any image.
func initBinary() (string, error) {
	if b := nsexec.Binary(); b != "/proc/self/exe" {
		return b, nil
	}
	return "", fmt.Errorf("%w: --init needs myctr-init beside myctr (or in ../libexec/myctr), and it is not there", ErrNoInit)
}

// writeEtcFiles writes the files bound over /etc/hosts, /etc/hostname and
// /etc/resolv.conf, and returns warnings for the user. A bridged container
// has no address before the helper attaches it: its files are written
// again then, with bridge.
func writeEtcFiles(c *Container, spec *specs.Spec, bridge *network.Bridge) ([]string, error) {
	hosts, err := c.HostConfig.baseHosts()
	if err != nil {
		return nil, err
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	files, warnings := etcFiles(c, spec, hosts, string(resolv), c.HostConfig.hostInternalIP(), bridge)
	return warnings, writeUserdata(c, files)
}

// baseHosts is what the container's /etc/hosts starts from: the host's
// /etc/hosts, or containers.conf's base_hosts_file ("none": nothing).
// The host's file may be missing; a base_hosts_file named must be there.
func (h *HostConfig) baseHosts() (string, error) {
	switch h.BaseHostsFile {
	case "":
		b, _ := os.ReadFile("/etc/hosts")
		return string(b), nil
	case "none":
		return "", nil
	}
	f, err := os.Open(h.BaseHostsFile)
	if err != nil {
		return "", fmt.Errorf("base_hosts_file (containers.conf): %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return "", fmt.Errorf("base_hosts_file (containers.conf): %w", err)
	}
	return string(b), nil
}

// hostInternalIP is host.containers.internal's address: containers.conf's
// host_containers_internal_ip, else the host's own (hostAddress).
func (h *HostConfig) hostInternalIP() string {
	if h.HostContainersInternalIP != "" {
		return h.HostContainersInternalIP
	}
	return hostAddress()
}

// writeUserdata writes files (by name) into the container's userdata
// directory, which the init binds over /etc.
func writeUserdata(c *Container, files map[string]string) error {
	dir, err := openRunPath(c.runroot, filepath.Join(c.runrel, "userdata"))
	if err != nil {
		return err
	}
	defer dir.Close()
	for name, content := range files {
		if err := writeRunFile(dir, name, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// writeNamedEtcFiles writes /etc/hosts and /etc/resolv.conf of a
// container on named networks, once the holder gave it addr (on its
// first network) and the DNS servers of its networks.
func writeNamedEtcFiles(c *Container, spec *specs.Spec, addr netip.Addr, nameservers []string) error {
	hosts, err := c.HostConfig.baseHosts()
	if err != nil {
		return err
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	return writeUserdata(c, namedEtcFiles(c, spec, hosts, string(resolv), c.HostConfig.hostInternalIP(), addr, nameservers))
}

// namedEtcFiles is /etc/hosts with the container's address on its named
// network, and /etc/resolv.conf naming its networks' DNS servers (the
// holder's, on the bridges' gateways; each answers all the names of the
// container's networks) with Podman's search domain before the host's;
// networks without DNS get the way out's forwarder instead (10.0.2.3,
// which the holder reaches), as a slirp4netns container does.
func namedEtcFiles(c *Container, spec *specs.Spec, hostHosts, hostResolv, hostIP string, addr netip.Addr, nameservers []string) map[string]string {
	names := []string{spec.Hostname, c.Name}
	hin := hostsInput{extra: c.HostConfig.ExtraHosts, base: hostHosts, hostIP: hostIP, ownIP: addr.String(), names: names}
	search := netholder.SearchDomain
	var opts string
	for _, line := range strings.Split(hostResolv, "\n") {
		if rest, ok := strings.CutPrefix(line, "search "); ok {
			search += " " + strings.TrimSpace(rest)
		} else if strings.HasPrefix(line, "options ") {
			opts += line + "\n"
		}
	}
	if len(nameservers) == 0 {
		nameservers = []string{network.Config{Mode: network.ModeSlirp4netns}.Nameserver()}
	}
	resolv := "search " + search + "\n"
	for _, ns := range nameservers {
		resolv += "nameserver " + ns + "\n"
	}
	files := map[string]string{"hosts": hostsFile(hin), "resolv.conf": c.HostConfig.resolvConf(resolv + opts)}
	if c.HostConfig.NoHosts {
		delete(files, "hosts")
	}
	if c.HostConfig.imageResolvConf() {
		delete(files, "resolv.conf")
	}
	return files
}

// etcFiles makes the contents of the container's /etc/hosts, /etc/hostname
// and /etc/resolv.conf from the host's hosts and resolv.conf; hostIP is the
// host's address (hostAddress), for host.containers.internal.
func etcFiles(c *Container, spec *specs.Spec, hostHosts, hostResolv, hostIP string, bridge *network.Bridge) (map[string]string, []string) {
	var warnings []string
	names := []string{spec.Hostname, c.Name}
	hin := hostsInput{extra: c.HostConfig.ExtraHosts, base: hostHosts, hostIP: hostIP, ownIP: "127.0.0.1", names: names,
		hostNet: !nsexec.HasNamespace(spec, specs.NetworkNamespace)}
	resolv := hostResolv
	if nc, ok := c.networkConfig(); ok {
		// The mode's own address and DNS forwarder, which reaches the
		// host's resolvers (a loopback resolver of the host would not be
		// reachable from the container); search and options lines stay.
		hin.ownIP = nc.ContainerIP()
		resolv = "nameserver " + nc.Nameserver() + "\n"
		for _, line := range strings.Split(hostResolv, "\n") {
			if strings.HasPrefix(line, "search ") || strings.HasPrefix(line, "options ") {
				resolv += line + "\n"
			}
		}
	} else if bridge != nil {
		// The bridge's address, and its gateway for the host; the host's
		// nameservers but those the bridge cannot reach.
		hin.ownIP, hin.hostIP = bridge.Address.Addr().String(), bridge.Gateway.String()
		var ok bool
		if resolv, ok = network.BridgeResolvConf(hostResolv, bridge.Address); !ok {
			warnings = append(warnings, "the host's /etc/resolv.conf names no nameserver a bridged container can reach (loopback resolvers such as 127.0.0.53 are left out): the container has no DNS")
		}
	}
	if ip := c.HostConfig.HostContainersInternalIP; ip != "" {
		hin.hostIP = ip // containers.conf's, over the bridge's gateway too
	}
	files := map[string]string{"hosts": hostsFile(hin), "hostname": spec.Hostname + "\n", "resolv.conf": c.HostConfig.resolvConf(resolv), ".containerenv": ""}
	if c.HostConfig.NoHosts {
		// --no-hosts: the image's own /etc/hosts, not bound over.
		delete(files, "hosts")
	}
	if c.HostConfig.imageResolvConf() {
		delete(files, "resolv.conf")
	}
	return files, warnings
}

// networkConfig is the rootless network of the container, when its mode
// has one (pasta or slirp4netns).
func (c *Container) networkConfig() (network.Config, bool) {
	switch c.HostConfig.NetworkMode {
	case network.ModePasta, network.ModeSlirp4netns:
		return network.Config{Mode: c.HostConfig.NetworkMode, Options: c.HostConfig.NetworkOptions,
			Ports: c.HostConfig.PortBindings}, true
	}
	return network.Config{}, false
}
