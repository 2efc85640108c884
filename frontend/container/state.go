package container

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/jsoncodec"
	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/netholder"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// Status values, as Podman names them.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusExited  = "exited"
	// StatusPaused is no Status of the record (a paused container is
	// "running" and State.Paused) but the word ps, inspect and filters
	// use for it.
	StatusPaused = "paused"
)

// State is what changes over a container's life.
type State struct {
	Status       string
	Pid          int    `json:",omitempty"`
	PidStart     uint64 `json:",omitempty"` // /proc/PID/stat starttime, against pid reuse
	MonitorPid   int    `json:",omitempty"`
	MonitorStart uint64 `json:",omitempty"`
	ExitCode     int
	StartedAt    time.Time `json:",omitzero"`
	FinishedAt   time.Time `json:",omitzero"`
	Error        string    `json:",omitempty"`
	// The network helper (pasta/slirp4netns) of a running container, and
	// the ports it published, with the host ports actually chosen.
	NetworkPid int                   `json:",omitempty"`
	Ports      []network.PortMapping `json:",omitempty"`
	// PortForwarderPid is myctr's port forwarder (slirp4netns mode with
	// published ports).
	PortForwarderPid int `json:",omitempty"`
	// Bridge is a running bridged container's network, as the helper
	// attached it.
	Bridge *BridgeState `json:",omitempty"`
	// Networks are a running container's addresses on its named
	// networks, by network name (Bridge: the bridge in the network
	// holder's namespace).
	Networks map[string]*BridgeState `json:",omitempty"`
	// Paused: pause froze the running container's cgroup (Paused, on
	// the container); its Status stays "running".
	Paused bool `json:",omitempty"`
	// Cgroup is a running container's own cgroup.
	Cgroup *cgroup.Placement `json:",omitempty"`
	// OOMKilled: the OOM killer killed a process of the container in its
	// last run (its cgroup's memory.events).
	OOMKilled bool `json:",omitempty"`
	// StopperPid is the `myctr stop` waiting for this container to exit
	// (with its start time, against pid reuse): while it lives, the
	// container is "stopping" (StatusWord).
	StopperPid   int    `json:",omitempty"`
	StopperStart uint64 `json:",omitempty"`
	// Health is a container's health as its healthcheck last found it
	// (health.go); each start begins it again at "starting".
	Health *HealthState `json:",omitempty"`
}

// BridgeState is a bridged container's address, gateway and interface MTU.
type BridgeState struct {
	Bridge  string // the host bridge
	Address string // CIDR: "10.88.0.2/16"
	Gateway string
	MTU     uint32
	// Address6 and Gateway6: on a dual-stack named network, its IPv6.
	Address6 string `json:",omitempty"`
	Gateway6 string `json:",omitempty"`
}

// HostConfig is what the run flags asked for, kept for inspect and restart.
type HostConfig struct {
	NetworkMode    string
	NetworkOptions []string              `json:",omitempty"` // --network MODE:OPTIONS
	PortBindings   []network.PortMapping `json:",omitempty"` // -p and -P; HostPort 0 = any free port
	Binds          []string              `json:",omitempty"`
	Tmpfs          []string              `json:",omitempty"`
	ReadonlyRootfs bool
	AutoRemove     bool
	CapAdd         []string `json:",omitempty"`
	CapDrop        []string `json:",omitempty"`
	SecurityOpt    []string `json:",omitempty"`
	Tty            bool
	Interactive    bool
	Init           bool `json:",omitempty"`

	// Cgroups is Podman's --cgroups: "enabled" (the default) or
	// "disabled". CgroupManager is where the container's cgroup comes
	// from, decided at create: "systemd" (the user's manager) or ""
	// (none: no source on this host, or --cgroups=disabled).
	Cgroups       string `json:",omitempty"`
	CgroupManager string `json:",omitempty"`
	CgroupParent  string `json:",omitempty"` // a slice of the user's manager
	CgroupnsMode  string `json:",omitempty"` // private or host
	IpcMode       string `json:",omitempty"` // --ipc: shareable, private, none or host
	UsernsMode    string `json:",omitempty"` // --userns as given (Podman's name)
	// Resources are the limits of the run flags; their OCI form is in
	// the spec's linux.resources.
	Resources   *cgroup.Resources `json:",omitempty"`
	OOMScoreAdj *int              `json:",omitempty"`
	// ExtraHosts are --add-host's NAME:IP entries, first in /etc/hosts;
	// NoHosts (--no-hosts) leaves the image's /etc/hosts.
	ExtraHosts []string `json:",omitempty"`
	NoHosts    bool     `json:",omitempty"`
	// Dns, DnsSearch and DnsOptions are the container's own resolver
	// settings (--dns, --dns-search, --dns-option, with containers.conf's
	// dns_servers, dns_searches and dns_options), over its network's;
	// Dns ["none"] keeps the image's /etc/resolv.conf. The names are
	// Docker's and Podman's, which inspect's templates use.
	Dns        []string `json:",omitempty"`
	DnsSearch  []string `json:",omitempty"`
	DnsOptions []string `json:",omitempty"`
	// BaseHostsFile and HostContainersInternalIP are containers.conf's
	// base_hosts_file and host_containers_internal_ip when it set them:
	// where /etc/hosts starts from ("none": nothing), and the address
	// host.containers.internal names.
	BaseHostsFile            string `json:",omitempty"`
	HostContainersInternalIP string `json:",omitempty"`
	// GroupAdd is --group-add as given (Docker's name).
	GroupAdd []string `json:",omitempty"`
	// Ulimits and ShmSize are --ulimit's and --shm-size's (Docker's
	// names and forms); the spec has them as rlimits and /dev/shm's size.
	Ulimits []*units.Ulimit `json:",omitempty"`
	ShmSize int64           `json:",omitempty"`
	// PidFile is --pidfile: where each start writes the container's pid.
	PidFile string `json:",omitempty"`
	// Devices are --device's host nodes, bound in.
	Devices []DeviceMapping `json:",omitempty"`
	// Sysctls are the namespaced kernel settings of --sysctl and
	// containers.conf's default_sysctls.
	Sysctls map[string]string `json:",omitempty"`

	// LogDriver is where the container's output goes: "k8s-file" (the
	// container's own log file, the default) or "journald".
	LogDriver string `json:",omitempty"`
	// LogOpts are --log-opt's settings; nil: none.
	LogOpts *LogOpts `json:",omitempty"`
	// SdNotify is --sdnotify: "" or "ignore", "conmon" or "container".
	SdNotify string `json:",omitempty"`
	// StopTimeout is the seconds stop and rm -f wait after the stop
	// signal; nil: the default (10).
	StopTimeout *uint `json:",omitempty"`
	// RestartPolicy is --restart (restart.go).
	RestartPolicy RestartPolicy
	HostExtra
}

// Container is one container's record, container.json in its directory.
type Container struct {
	ID        string
	Name      string
	Created   time.Time
	Image     string // image ID
	ImageName string
	// ImageDigest is the image's manifest digest when the container was
	// made (Podman's ImageDigest).
	ImageDigest string   `json:",omitempty"`
	Lower       []string // overlay lower dirs, top layer first
	StopSignal  string   `json:",omitempty"`
	// CreateCommand is the command line that made the container (as
	// Podman's Config.CreateCommand): `generate systemd` repeats it.
	CreateCommand []string `json:",omitempty"`
	// Args is the process's command line, as its spec has it (commandLine),
	// kept here so that ps reads no spec; records made before it have
	// none.
	Args []string `json:",omitempty"`
	// Entrypoint and Cmd are the two parts of Args without --init's
	// myctr-init (entrypointAndCmd), as inspect's Config shows them;
	// records made before them have neither.
	Entrypoint []string `json:",omitempty"`
	Cmd        []string `json:",omitempty"`
	HostConfig HostConfig
	// Mounts are the container's bind mounts, volumes and tmpfs mounts.
	Mounts []MountPoint `json:",omitempty"`
	State  State
	// StoppedByUser: stop (or rm -f) ended the container's last run, so
	// its restart policy does not start it again; start clears it.
	StoppedByUser bool `json:",omitempty"`
	// RestartCount is how many times the monitor restarted the container
	// since it was last started by a user.
	RestartCount uint `json:",omitempty"`
	PodInfo
	// Networks are the named networks (myctr network create) the
	// container is on, by name; its NetworkMode is then the first one's
	// name, as Docker's and Podman's is.
	Networks map[string]NetworkAttach `json:",omitempty"`
	// Labels are the image's labels with run --label's over them, as
	// Podman's Config.Labels.
	Labels map[string]string `json:",omitempty"`
	// Secrets are the secrets the container has as files (run --secret),
	// without their data: the copies are in its directory.
	Secrets []SecretMount `json:",omitempty"`
	// BuildStep: a build's RUN step, which its build removes; its
	// monitor does, should the build die first.
	BuildStep bool `json:",omitempty"`
	// Healthcheck is the container's check (run --health-cmd and the
	// other --health-* flags, or the API's Config.Healthcheck), nil for
	// none; HealthOnFailure what becoming unhealthy does to it.
	Healthcheck     *HealthConfig `json:",omitempty"`
	HealthOnFailure string        `json:",omitempty"`
	// Creator is the process that made the container (the CLI, or the
	// build of a RUN step). A record without its spec whose creator is
	// gone is what a killed create left, and a step whose build is gone
	// was abandoned: `system check` says so at once and --repair removes
	// them, as the next build does gone builds' steps.
	Creator *Owner `json:",omitempty"`

	dir     string // persistent: record, spec, log, upper and work dirs
	rundir  string // volatile (XDG_RUNTIME_DIR): mount point, /etc files, layer links
	runrel  string // rundir relative to the run root (runroot)
	runroot string
	// written is the spec as create wrote it in this process, for the
	// start that follows in the same command (run, create then start):
	// taken once by planLaunch (takeSpec), which need not read and
	// decode the file it wrote (a spec holds tens of kilobytes of
	// seccomp rules: about 0.5 ms).
	written *specs.Spec
}

// NetworkAttach is what a container asked for on one named network.
type NetworkAttach struct {
	Aliases []string `json:",omitempty"` // --network-alias: more names it answers to
	IP      string   `json:",omitempty"` // --ip: the address it asked for; "": any
	// Interface is its interface on the network, "eth0" to "eth99",
	// chosen when it joins (create, network connect) and kept; records
	// made before it have none, and take their place in name order.
	Interface string `json:",omitempty"`
	// Helper says the network is a bridge-helper one (a group on
	// myctr-helper's bridge, attached by the helper, not the holder):
	// then it is the container's only network.
	Helper bool `json:",omitempty"`
}

// ConfigCmd is c's entrypoint and command, as inspect shows them; a record
// made before it kept them has its whole command line as the command.
func (c *Container) ConfigCmd() (entrypoint, cmd []string) {
	if c.Entrypoint == nil && c.Cmd == nil {
		return nil, c.Args
	}
	return c.Entrypoint, c.Cmd
}

// HelperNetwork is the bridge-helper network c is on, "" for none.
func (c *Container) HelperNetwork() string {
	for name, a := range c.Networks {
		if a.Helper {
			return name
		}
	}
	return ""
}

// OnHelperBridge says whether myctr-helper attaches c's network: --network
// bridge, or a bridge-helper network.
func (c *Container) OnHelperBridge() bool {
	return c.HostConfig.NetworkMode == network.ModeBridge || c.HelperNetwork() != ""
}

// NamedNetworks lists the named networks c is on, in the order of its
// interfaces: the first is its primary network (NetworkMode, the address
// its published ports go to).
func (c *Container) NamedNetworks() []string {
	names := make([]string, 0, len(c.Networks))
	for n := range c.Networks {
		names = append(names, n)
	}
	index := func(n string) int {
		if i := netholder.InterfaceIndex(c.Networks[n].Interface); i >= 0 {
			return i
		}
		return netholder.MaxInterfaces // unnumbered: after the numbered ones
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := index(names[i]), index(names[j])
		if a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	return names
}

// interfaceOn is c's interface on its named network name: the one it
// recorded, else "ethN" by its place in NamedNetworks.
func (c *Container) interfaceOn(name string) string {
	if i := c.Networks[name].Interface; netholder.InterfaceIndex(i) >= 0 {
		return i
	}
	for i, n := range c.NamedNetworks() {
		if n == name {
			return fmt.Sprintf("eth%d", i)
		}
	}
	return ""
}

// assignInterfaces gives each of nets without an interface of its own
// the first one free, in name order: the caller's choice (the order of
// run's --network flags) stays, and the rest is the same on every run.
func assignInterfaces(nets map[string]NetworkAttach) map[string]NetworkAttach {
	out := make(map[string]NetworkAttach, len(nets))
	used := map[string]bool{}
	var bare []string
	for n, a := range nets {
		if netholder.InterfaceIndex(a.Interface) < 0 || used[a.Interface] {
			a.Interface = ""
			bare = append(bare, n)
		}
		used[a.Interface] = true
		out[n] = a
	}
	sort.Strings(bare)
	next := 0
	for _, n := range bare {
		for used[fmt.Sprintf("eth%d", next)] {
			next++
		}
		a := out[n]
		a.Interface = fmt.Sprintf("eth%d", next)
		used[a.Interface] = true
		out[n] = a
	}
	return out
}

// freeInterface is the first "ethN" none of c's named networks has.
func (c *Container) freeInterface() (string, error) {
	used := map[string]bool{}
	for _, n := range c.NamedNetworks() {
		used[c.interfaceOn(n)] = true
	}
	for i := range netholder.MaxInterfaces {
		if name := fmt.Sprintf("eth%d", i); !used[name] {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: %s is on %d networks already, the most a container may be on", ErrInvalidNetwork, c.Name, netholder.MaxInterfaces)
}

// Dir is the container's directory.
func (c *Container) Dir() string { return c.dir }

// File is a path inside the container's directory.
func (c *Container) File(name string) string { return filepath.Join(c.dir, name) }

func (c *Container) setRunDir(runRoot string) {
	c.runroot = runRoot
	c.runrel = filepath.Join("containers", c.ID)
	c.rundir = filepath.Join(runRoot, c.runrel)
}

// RunFile is a path inside the container's runtime directory, which holds
// only what each start recreates: on a tmpfs, it costs no disk writes.
func (c *Container) RunFile(name string) string { return filepath.Join(c.rundir, name) }

// Store is the set of containers under Dirs.Root/containers.
type Store struct {
	Dirs Dirs
	dir  string
}

// OpenStore opens (and creates) the container store.
func OpenStore(d Dirs) (*Store, error) {
	if err := d.Ensure(); err != nil {
		return nil, err
	}
	return &Store{Dirs: d, dir: filepath.Join(d.Root, "containers")}, nil
}

// Lock holds the store's lock until the returned function is called. Every
// read-modify-write of a container's record and every name reservation
// happens under it, so concurrent CLIs never corrupt state.
func (s *Store) Lock() (func(), error) {
	l, err := flock.Acquire(filepath.Join(s.dir, ".lock"), 0o600, flock.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("lock container store: %w", err)
	}
	return func() { l.Close() }, nil
}

// lockExclusive locks f exclusively; the returned function (closing f)
// unlocks.
func lockExclusive(f *os.File, what string) (func(), error) {
	l := flock.New(f)
	if err := l.Lock(flock.Exclusive); err != nil {
		l.Close()
		return nil, fmt.Errorf("lock %s: %w", what, err)
	}
	return func() { l.Close() }, nil
}

func (s *Store) load(id string) (*Container, error) {
	dir := filepath.Join(s.dir, id)
	b, err := os.ReadFile(filepath.Join(dir, "container.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	if cutShort(b) {
		// Only an --rm container's record is written without fsync
		// (Save), and only a power cut leaves it so: as a record a power
		// cut undid, there is no container (`system check --repair`
		// removes the directory).
		return nil, fmt.Errorf("%w: %s (its record was cut short by a power cut: myctr system check --repair removes it)", ErrNotFound, id)
	}
	var c Container
	if err := decodeRecord(b, &c); err != nil {
		return nil, fmt.Errorf("decode container %s: %w", id, err)
	}
	c.dir = dir
	c.setRunDir(s.Dirs.RunRoot)
	return &c, nil
}

// cutShort says whether b, a record read back, is what a power cut can
// leave of one written without fsync: nothing, or zeros where its data
// was never written.
func cutShort(b []byte) bool {
	for _, c := range b {
		if c != 0 && c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// Save writes the record atomically and durably (temp file, fsync,
// rename, fsync of the directory).
//
// The record of an --rm container is deleted when the container ends, so
// a power cut that undoes or cuts short its latest replacement loses
// nothing anyone keeps: it is written without any fsync, which saves two
// (about 0.4 ms each here, more on a busy disk) on the path of every run
// --rm, its create's and its start's. A reader still never sees it torn
// (the rename is atomic); after a power cut it may be gone, or there and
// empty (the rename was written, the data not), which load takes as
// gone: no listing fails on it.
func (s *Store) Save(c *Container) error {
	b, err := appendRecord(nil, c)
	if err != nil {
		return err
	}
	b = jsoncodec.Indent(b)
	write := atomicfile.WriteFile
	if c.HostConfig.AutoRemove {
		write = atomicfile.WriteFileVolatile
	}
	if err := write(c.File("container.json"), b, 0o600); err != nil {
		return fmt.Errorf("write state of %s: %w", c.Name, err)
	}
	return nil
}

// lockLaunch takes the container's launch lock, held by whoever starts the
// container until its process runs and is recorded, and by rm before it
// deletes anything: a directory is never removed under an init that is
// about to mount it. A holder that dies releases it with its fds.
func (c *Container) lockLaunch() (func(), error) {
	f, err := os.Open(c.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, c.Name)
		}
		return nil, fmt.Errorf("open launch lock of %s: %w", c.Name, err)
	}
	return lockExclusive(f, c.Name)
}

// Update re-reads the record under the lock, applies f and saves it.
func (s *Store) Update(c *Container, f func(c *Container)) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := s.load(c.ID)
	if err != nil {
		return err
	}
	f(cur)
	if err := s.Save(cur); err != nil {
		return err
	}
	*c = *cur
	return nil
}

// List returns every container, oldest first.
func (s *Store) List() ([]*Container, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []*Container
	for _, e := range ents {
		if !e.IsDir() || !isID(e.Name()) {
			continue
		}
		c, err := s.load(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // being created or removed right now
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// NetContainerPrefix starts a NetworkMode that joins another container's
// network namespace: "container:ID".
const NetContainerPrefix = "container:"

// NetContainer is the id of the container whose network namespace c
// joins (--network container:ID), or "".
func (c *Container) NetContainer() string {
	id, _ := strings.CutPrefix(c.HostConfig.NetworkMode, NetContainerPrefix)
	if id == c.HostConfig.NetworkMode {
		return ""
	}
	return id
}

// JoinsUserOf is the id of the container whose user namespace c joins:
// the one whose network it joins, its pod's infra (PodJoin), or the one
// whose IPC namespace it joins; "" for none. (Create makes them one.)
func (c *Container) JoinsUserOf() string {
	if id := c.NetContainer(); id != "" {
		return id
	}
	if c.PodJoin != "" {
		return c.PodJoin
	}
	return c.IPCContainer()
}

// netRoot is the container whose network namespace c has: c itself, or
// down the chain of --network container: the first with a mode of its own.
func (s *Store) netRoot(c *Container) (*Container, error) {
	for i := 0; c.NetContainer() != ""; i++ {
		if i > 100 {
			return nil, fmt.Errorf("%w: --network container: chain from %s too long", ErrInvalidNetwork, c.Name)
		}
		next, err := s.load(c.NetContainer())
		if err != nil {
			return nil, fmt.Errorf("--network container:%s: %w", c.NetContainer(), err)
		}
		c = next
	}
	return c, nil
}

func isID(s string) bool { return names.IsID(s) }

// ValidID says whether s is a full container id (64 hex digits).
func ValidID(s string) bool { return isID(s) }

// ValidName checks a --name the way Podman does.
func ValidName(n string) error {
	if !names.Valid(n) {
		return fmt.Errorf("%w: %q (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]*)", ErrInvalidName, n)
	}
	return nil
}

func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// reserve creates the container's directory and record with a unique
// name, indexed (index.go). Preconditions: the store's lock held.
func (s *Store) reserve(c *Container) error {
	if err := s.indexLoose(); err != nil {
		return err
	}
	c.ID = newID()
	if c.Name == "" {
		for i := 0; ; i++ {
			c.Name = nameAttempt(i)
			var inUse *NameInUseError
			if err := s.claimName(c.Name, c.ID); !errors.As(err, &inUse) {
				if err != nil {
					return err
				}
				break
			}
		}
	} else if err := s.claimName(c.Name, c.ID); errors.Is(err, ErrNameInUse) {
		return fmt.Errorf("%w: %q (remove it with myctr rm, or choose another name)", ErrNameInUse, c.Name)
	} else if err != nil {
		return err
	}
	c.Creator = self()
	c.dir = filepath.Join(s.dir, c.ID)
	c.setRunDir(s.Dirs.RunRoot)
	err := s.joinIndex(c)
	if err == nil {
		if err = os.Mkdir(c.dir, 0o700); err != nil {
			err = fmt.Errorf("create container directory: %w", err)
		} else if err = s.Save(c); err != nil {
			// A full disk: no directory without its record is left.
			os.RemoveAll(c.dir)
		}
	}
	if err != nil {
		s.unindex(c.ID, c.Name)
	}
	return err
}
