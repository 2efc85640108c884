package container

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/jsoncodec"
	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/seccomp"
	"github.com/myctr/myctr/frontend/security"
	"github.com/myctr/myctr/frontend/specjson"
	"github.com/myctr/myctr/frontend/userns"
)

// Create records a new container: its directory, OCI spec (config.json),
// /etc files, overlay directories and record. Nothing runs yet.
func (s *Store) Create(o *CreateOptions, m *userns.Mapping) (*Container, error) {
	if s.Dirs.Driver == DriverVFS {
		return nil, fmt.Errorf("%w: vfs for a container (myctr mounts every container's root as an overlay; use --storage-driver=overlay)", ErrStorageDriver)
	}
	if o.Name != "" {
		if err := ValidName(o.Name); err != nil {
			return nil, err
		}
	}
	// Validate everything that does not need the id before taking a name.
	plan, err := s.planMounts(o)
	if err != nil {
		return nil, err
	}
	if _, err := processArgs(o); err != nil {
		return nil, err
	}
	health, err := MergeHealth(o.Healthcheck, o.ImageHealthcheck)
	if err != nil {
		return nil, err
	}
	health, onFailure, err := CheckHealthConfig(health, o.HealthOnFailure)
	if err != nil {
		return nil, err
	}
	if o.Remove && o.Restart.Name != "" && o.Restart.Name != RestartNo {
		return nil, fmt.Errorf("%w: the --rm option conflicts with --restart, when the restartPolicy is not \"\" and \"no\"", ErrInvalidRestart)
	}
	var netDep *Container
	joined := false // the user namespace is another container's
	if ref, ok := strings.CutPrefix(o.Network, NetContainerPrefix); ok {
		// --network container:REF: recorded by id, so that a rename does
		// not break it and rm can find the dependents.
		if netDep, err = s.Lookup(ref); err != nil {
			return nil, &hintError{fmt.Errorf("--network container:%s: %w", ref, err),
				"name a container that exists (myctr ps -a lists them)"}
		}
		// (The network namespace of a --network host container is the
		// host's, which no rootless user namespace may join: the joiner
		// stays in it instead, as joinedNet.prepare says.)
		if _, err := s.netRoot(netDep); err != nil {
			return nil, err
		}
		// Rootless, its network namespace belongs to its user namespace,
		// which the init joins too (as Podman does): the same --userns, so
		// that the spec's id maps are that namespace's.
		if o.Userns != "" && o.Userns != netDep.HostConfig.UsernsMode {
			return nil, &hintError{fmt.Errorf("%w: --userns %s with --network container:%s, whose user namespace (%q) the container joins", ErrInvalidNetwork, o.Userns, ref, netDep.HostConfig.UsernsMode),
				"leave out --userns: the container shares the user namespace of the one whose network it joins"}
		}
		o.Userns, joined = netDep.HostConfig.UsernsMode, true
	}
	if ref, ok := strings.CutPrefix(o.IPC, IPCContainerPrefix); ok {
		joins := o.PodJoin
		if netDep != nil {
			joins = netDep.ID
		}
		donor, err := s.resolveIPCDonor(ref, joins)
		if err != nil {
			return nil, err
		}
		if o.Userns != "" && o.Userns != donor.HostConfig.UsernsMode {
			return nil, &hintError{fmt.Errorf("%w: --userns %s with --ipc container:%s, whose user namespace (%q) the container joins", ErrInvalidIPC, o.Userns, ref, donor.HostConfig.UsernsMode),
				"leave out --userns: the container shares the user namespace of the one whose IPC namespace it joins"}
		}
		o.Userns, o.IPC, joined = donor.HostConfig.UsernsMode, IPCContainerPrefix+donor.ID, true
	}
	if o.PodJoin != "" {
		// A pod member that joins the infra's user namespace without its
		// network: the same --userns, as above.
		infra, err := s.Lookup(o.PodJoin)
		if err != nil {
			return nil, fmt.Errorf("the pod's infra container: %w", err)
		}
		if o.Userns != "" && o.Userns != infra.HostConfig.UsernsMode {
			return nil, &hintError{fmt.Errorf("%w: --userns %s in a pod whose infra's user namespace (%q) the container joins", ErrInvalidNetwork, o.Userns, infra.HostConfig.UsernsMode),
				"leave out --userns: the containers of a pod share the infra's user namespace"}
		}
		o.Userns, o.PodJoin, joined = infra.HostConfig.UsernsMode, infra.ID, true
	}
	if len(o.Networks) > 0 {
		if err := s.checkNamedNetworks(o); err != nil {
			return nil, err
		}
	}
	// containers.conf's userns, for a container that names none and
	// whose user namespace is not another's; a mode it cannot have is
	// the file's error, at its line.
	conf := o.Userns == "" && o.UsernsDefault.Set && !joined
	if conf {
		o.Userns = o.UsernsDefault.Value
	}
	umode, err := userns.ParseMode(o.Userns)
	var cm *userns.Mapping
	if err == nil {
		// The container's own mapping; m stays the user's, for cleaning up.
		cm, err = m.ForMode(umode)
	}
	if err != nil && conf {
		s := o.UsernsDefault
		return nil, &hintError{&config.FileError{File: s.File, Line: s.Line, Msg: fmt.Sprintf("[containers] userns %q: %v", s.Value, err)},
			"set userns in that file to private, host or keep-id[:uid=N,gid=N], or remove it; --userns on the command line overrides it"}
	}
	if err != nil {
		return nil, err
	}
	for _, h := range o.ExtraHosts {
		if _, _, err := ParseAddHost(h); err != nil {
			return nil, err
		}
	}
	if o.NoHosts && len(o.ExtraHosts) > 0 {
		return nil, fmt.Errorf("%w: --no-hosts and --add-host cannot be set together", ErrInvalidAddHost)
	}
	if err := s.resolveSeccomp(o); err != nil {
		return nil, err
	}
	if err := checkLandlock(o); err != nil {
		return nil, err
	}
	mode := o.Network
	if mode == "" {
		mode = "none"
	}
	if netDep != nil {
		mode = NetContainerPrefix + netDep.ID
	}
	var onNets map[string]NetworkAttach
	if len(o.Networks) > 0 {
		onNets = assignInterfaces(o.Networks)
		mode = (&Container{Networks: onNets}).NamedNetworks()[0]
	}
	if !strings.HasPrefix(mode, NetContainerPrefix) {
		o.DNS, o.DNSSearch, o.DNSOptions = o.DefaultDNS.under(o.DNS, o.DNSSearch, o.DNSOptions)
	}
	if err := CheckDNS(o.DNS, o.DNSSearch, o.DNSOptions); err != nil {
		return nil, err
	}
	if len(o.DNS)+len(o.DNSSearch)+len(o.DNSOptions) > 0 && strings.HasPrefix(mode, NetContainerPrefix) {
		return nil, &hintError{fmt.Errorf("%w: --dns, --dns-search and --dns-option cannot be set for a container that joins another's network: it uses that container's /etc/resolv.conf", ErrInvalidDNS),
			"set them on the container whose network it joins"}
	}
	if (mode == "host" || mode == "none" || strings.HasPrefix(mode, NetContainerPrefix)) && len(o.Ports) > 0 {
		// As Podman: ports have nothing to be published from here.
		warn := o.Warn
		if warn == nil {
			warn = os.Stderr
		}
		// Podman's words, alone on the line: scripts match it whole.
		fmt.Fprintln(warn, "Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use")
		o.Ports = nil
	}
	args, _ := commandLine(o) // an error is BuildSpec's to report
	ep, cmd := entrypointAndCmd(o)
	c := &Container{
		Name:          o.Name,
		Created:       time.Now().UTC(),
		Image:         o.ImageID,
		ImageName:     o.ImageName,
		ImageDigest:   o.ImageDigest,
		Lower:         o.Lower,
		StopSignal:    o.Image.StopSignal,
		CreateCommand: o.CreateCommand,
		Args:          args,
		Entrypoint:    ep,
		Cmd:           cmd,
		BuildStep:     o.BuildStep,
		HostConfig: HostConfig{
			NetworkMode: mode, NetworkOptions: o.NetworkOptions, PortBindings: o.Ports, Binds: o.Volumes, Tmpfs: o.Tmpfs, ReadonlyRootfs: o.ReadOnly,
			AutoRemove: o.Remove, CapAdd: o.CapAdd, CapDrop: o.CapDrop, Tty: o.Tty, Interactive: o.Interactive, Init: o.Init,
			Cgroups: o.Cgroups, CgroupManager: o.CgroupManager, CgroupParent: o.CgroupParent, CgroupnsMode: o.Cgroupns, IpcMode: o.IPC,
			Resources: o.Limits, OOMScoreAdj: o.OOMScoreAdj, Sysctls: o.Sysctls,
			ExtraHosts: o.ExtraHosts, NoHosts: o.NoHosts, Dns: o.DNS, DnsSearch: o.DNSSearch, DnsOptions: o.DNSOptions,
			BaseHostsFile: o.BaseHostsFile, HostContainersInternalIP: o.HostInternalIP, GroupAdd: o.GroupAdd,
			Ulimits: o.Ulimits, ShmSize: o.ShmSize, PidFile: o.PidFile, Devices: o.Devices,
			LogDriver: o.LogDriver, LogOpts: o.LogOpts, SdNotify: o.SdNotify, StopTimeout: o.StopTimeout, UsernsMode: o.Userns,
			RestartPolicy: o.Restart, HostExtra: o.HostExtra,
		},
		State:           State{Status: StatusCreated},
		Healthcheck:     health,
		HealthOnFailure: onFailure,
		Networks:        onNets,
		Labels:          mergeLabels(o.Image.Labels, o.Labels),
		Secrets:         o.Secrets,
	}
	c.PodInfo = o.PodInfo
	if o.StopSignal != "" {
		c.StopSignal = o.StopSignal
	}
	if o.NoNewPrivs {
		c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "no-new-privileges")
	}
	if o.Seccomp != "" {
		c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "seccomp="+o.Seccomp)
	}
	c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, o.LandlockOptions...)
	if nc, ok := c.networkConfig(); ok {
		if err := nc.Validate(); err != nil {
			return nil, err
		}
	} else if mode == network.ModeBridge {
		if err := network.ValidateBridge(o.NetworkOptions, o.Ports); err != nil {
			return nil, err
		}
	} else if len(onNets) > 0 {
		if len(o.NetworkOptions) > 0 {
			return nil, &hintError{fmt.Errorf("%w: --network %s takes no options", ErrInvalidNetwork, strings.Join(o.NetworkOptions, ",")),
				"the network's settings are its own: see myctr network create --help"}
		}
		validate := network.ValidateForward
		if c.HelperNetwork() != "" {
			validate = func(p []network.PortMapping) error { return network.ValidateBridge(nil, p) }
		}
		if err := validate(o.Ports); err != nil {
			return nil, err
		}
	} else if len(o.Ports) > 0 || len(o.NetworkOptions) > 0 {
		return nil, fmt.Errorf("%w: --network %s has no ports to publish or options (use --network slirp4netns, pasta or bridge)", ErrInvalidNetwork, mode)
	}
	mps, made, err := s.makeVolumes(plan)
	if err != nil {
		s.removeVolumes(made)
		return nil, err
	}
	c.Mounts = mps
	unlock, err := s.Lock()
	if err != nil {
		s.removeVolumes(made)
		return nil, err
	}
	err = s.reserve(c)
	unlock()
	if err != nil {
		s.removeVolumes(made)
		return nil, err
	}
	if err := s.prepare(c, o, cm); err != nil {
		s.removeDir(c)
		s.removeVolumes(made)
		return nil, err
	}
	s.event(c, "create", nil)
	return c, nil
}

func (s *Store) prepare(c *Container, o *CreateOptions, m *userns.Mapping) error {
	spec, err := BuildSpec(o, c, m)
	if err != nil {
		return err
	}
	mounts, err := s.specMounts(c.Mounts, spec.Process.User)
	if err != nil {
		return err
	}
	spec.Mounts = append(spec.Mounts, mounts...)
	if err := addSecrets(c, spec, o.Secrets); err != nil {
		return err
	}
	for _, d := range []string{"upper", "work"} {
		if err := os.Mkdir(c.File(d), 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	// The merged root takes the upper dir's mode: give it the image's.
	if err := os.Chmod(c.File("upper"), archive.RootMode(c.Lower)); err != nil {
		return fmt.Errorf("chmod upper: %w", err)
	}
	if err := writeSpec(c, spec); err != nil {
		return err
	}
	c.written = spec
	return nil
}

// prepareRunDir makes the runtime directory a start needs: the rootfs mount
// point and the /etc files. It is recreated at every start, so a runtime
// directory lost with a reboot costs nothing. Its directories are made
// and opened without following symlinks (dirs_linux.go).
func prepareRunDir(c *Container, spec *specs.Spec) error {
	for _, d := range []string{"rootfs", "userdata"} {
		f, err := openRunPath(c.runroot, filepath.Join(c.runrel, d))
		if err != nil {
			return fmt.Errorf("create runtime directory: %w", err)
		}
		f.Close()
	}
	if sharesShm(c) {
		// Made again at every start too; 1777 as a tmpfs /dev/shm.
		f, err := openRunPath(c.runroot, filepath.Join(c.runrel, podShm))
		if err != nil {
			return fmt.Errorf("create runtime directory: %w", err)
		}
		err = f.Chmod(0o777 | os.ModeSticky)
		f.Close()
		if err != nil {
			return fmt.Errorf("create runtime directory: %w", err)
		}
		bindShm(spec, c.RunFile(podShm))
	}
	_, err := writeEtcFiles(c, spec, nil)
	return err
}

func writeSpec(c *Container, spec *specs.Spec) error {
	// A spec with the default seccomp profile is about 25 KB.
	b, err := specjson.AppendSpec(make([]byte, 0, 32<<10), spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.File("config.json"), jsoncodec.Indent(b), 0o600); err != nil {
		return fmt.Errorf("write config.json: %w", err)
	}
	return nil
}

// takeSpec is the spec create wrote in this process, once, else Spec.
func (c *Container) takeSpec() (*specs.Spec, error) {
	if spec := c.written; spec != nil {
		c.written = nil
		return spec, nil
	}
	return c.Spec()
}

// Spec reads the container's OCI runtime spec.
func (c *Container) Spec() (*specs.Spec, error) {
	b, err := os.ReadFile(c.File("config.json"))
	if err != nil {
		return nil, fmt.Errorf("read config.json of %s: %w", c.Name, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("decode config.json of %s: %w", c.Name, err)
	}
	return &spec, nil
}

// ProcessArgs is the command line of c's process: from its record, else
// (a record made before it kept one) from its spec, nil when that cannot
// be read. It decodes that one field: a spec holds tens of kilobytes (its
// seccomp rules), and `ps` reads every container's.
func (c *Container) ProcessArgs() []string {
	if c.Args != nil {
		return c.Args
	}
	b, err := os.ReadFile(c.File("config.json"))
	if err != nil {
		return nil
	}
	var spec struct {
		Process *struct {
			Args []string `json:"args"`
		} `json:"process"`
	}
	if json.Unmarshal(b, &spec) != nil || spec.Process == nil {
		return nil
	}
	return spec.Process.Args
}

// resolveSeccomp makes the container's seccomp section and compiles it
// (or finds it compiled in the cache), before anything is recorded: a
// profile that is malformed or cannot be compiled leaves no container.
// The section depends on the bounding set (--cap-add, --cap-drop).
func (s *Store) resolveSeccomp(o *CreateOptions) error {
	caps, err := security.MergeCaps(baseCaps(o), o.CapAdd, o.CapDrop)
	if err != nil {
		return err
	}
	sec, err := seccomp.Spec(o.Seccomp, caps)
	if err != nil {
		return err
	}
	if sec != nil {
		prog, err := seccomp.Program(s.seccompCache(), sec)
		if err != nil {
			return fmt.Errorf("seccomp profile %s: %w", profileName(o.Seccomp), err)
		}
		// Docker's own profile names calls newer than libseccomp: not
		// worth a warning at every run; a user's profile is.
		if len(prog.Unknown) > 0 && o.Seccomp != "" {
			warn := o.Warn
			if warn == nil {
				warn = os.Stderr
			}
			fmt.Fprintf(warn, "Warning: seccomp profile %s: skipping syscalls unknown to libseccomp: %s\n", o.Seccomp, strings.Join(prog.Unknown, ", "))
		}
	}
	o.seccompSpec, o.seccompResolved = sec, true
	return nil
}

func profileName(source string) string {
	if source == "" {
		return "(default)"
	}
	return source
}

// seccompCache is where compiled seccomp programs are kept: the run root,
// which each login starts afresh.
func (s *Store) seccompCache() string {
	return filepath.Join(s.Dirs.RunRoot, "seccomp")
}

// seccompFilter is the compiled filter of a container's spec (nil for an
// unconfined one), from the cache.
func (s *Store) seccompFilter(spec *specs.Spec) (*security.SeccompFilter, error) {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return nil, nil
	}
	prog, err := seccomp.Program(s.seccompCache(), spec.Linux.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("seccomp filter: %w", err)
	}
	return &prog.Filter, nil
}

// checkLandlock refuses, before anything is recorded, a landlock-strict
// container whose rules this kernel cannot all enforce (each start checks
// again, and warns when not strict), and landlock-strict without rules.
func checkLandlock(o *CreateOptions) error {
	if o.Landlock == nil {
		if o.LandlockStrict {
			return fmt.Errorf("%w: landlock-strict needs landlock= rules", landlock.ErrOption)
		}
		return nil
	}
	if !o.LandlockStrict {
		return nil
	}
	_, err := landlock.Decide(landlock.ABI(), o.Landlock, true)
	return err
}

// landlockRules is the container's ruleset from its spec, checked against
// the running kernel: the warning to print when it does not enforce all
// of it, or an error when the container is strict.
func landlockRules(spec *specs.Spec) (*landlock.Ruleset, string, error) {
	r, strict, err := landlock.FromAnnotations(spec.Annotations)
	if err != nil || r == nil {
		return nil, "", err
	}
	warning, err := landlock.Decide(landlock.ABI(), r, strict)
	if err != nil {
		return nil, "", err
	}
	return r, warning, nil
}

// mergeLabels is the image's labels with the given ones over them, nil
// when there are none.
func mergeLabels(image, given map[string]string) map[string]string {
	if len(image)+len(given) == 0 {
		return nil
	}
	out := make(map[string]string, len(image)+len(given))
	maps.Copy(out, image)
	maps.Copy(out, given)
	return out
}
