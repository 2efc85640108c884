package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/seccomp"
	"github.com/myctr/myctr/frontend/userns"
)

func runFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background and print the container ID"},
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&cli.BoolFlag{Name: "rm", Usage: "remove the container when it exits"},
		&cli.BoolFlag{Name: "init", Usage: "run an init as PID 1 that forwards signals to the command and reaps orphaned processes"},
		&cli.StringFlag{Name: "name", Usage: "container name"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables (KEY=VALUE, or KEY to copy it from here)"},
		&cli.StringSliceFlag{Name: "env-file", Usage: "read environment variables from a file"},
		&cli.BoolFlag{Name: "http-proxy", Value: true, Usage: "pass the proxy variables of myctr's environment (http_proxy, https_proxy, ftp_proxy, no_proxy and their upper case) into the container, below every other environment"},
		&cli.StringSliceFlag{Name: "unsetenv", Usage: "remove a default environment variable (PATH, TERM, container, containers.conf's env or the image's ENV)"},
		&cli.BoolFlag{Name: "unsetenv-all", Usage: "remove every default environment variable: only -e and --env-file set any"},
		&cli.StringSliceFlag{Name: "hostuser", Usage: "add this host user (name or uid) to the container's /etc/passwd"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user[:group] to run as (names or ids)"},
		&cli.StringFlag{Name: "userns", Usage: "user namespace mode: private (default: root is you, 1..N your subordinate ids; host is the same ids), keep-id[:uid=N,gid=N] (your ids stay yours inside, and the process runs as you); nomap and auto are refused"},
		&cli.StringFlag{Name: "hostname", Aliases: []string{"h"}, Usage: "container host name"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label KEY=VALUE (over the image's labels)"},
		&cli.StringSliceFlag{Name: "label-file", Usage: "read labels from a file (KEY=VALUE lines, # comments)"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "mount a host directory or a named volume: SOURCE:CONTAINER-DIR[:OPTIONS] (SOURCE beginning with / or . is a host path, else a volume's name, made if it is not there), or CONTAINER-DIR alone (an anonymous volume); OPTIONS: ro, rw, U (chown to the container's user), noexec, nosuid, nodev, nocopy, a propagation; z and Z are accepted and do nothing (no SELinux)"},
		&cli.StringSliceFlag{Name: "mount", Usage: "mount: type=bind|volume|tmpfs,source=...,target=...[,ro][,U][,...] (Podman's and Docker's syntax)"},
		&cli.StringSliceFlag{Name: "volumes-from", Usage: "mount the volumes and bind mounts of CONTAINER[:ro|rw]"},
		&cli.StringFlag{Name: "image-volume", Value: "bind", Usage: "what the image's VOLUMEs get: bind (an anonymous volume), tmpfs or ignore"},
		&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a tmpfs at PATH[:OPTIONS]"},
		&cli.BoolFlag{Name: "read-only", Usage: "mount the root filesystem read-only"},
		&cli.BoolFlag{Name: "read-only-tmpfs", Value: true, Usage: "with --read-only: writable tmpfs on /run, /tmp and /var/tmp"},
		&cli.StringSliceFlag{Name: "ulimit", Usage: "a resource limit of the container's processes: NAME=SOFT[:HARD] such as nofile=1024:2048 (-1: unlimited; repeatable), or host: yours"},
		&cli.StringFlag{Name: "shm-size", Usage: "the size of /dev/shm, such as 256m (default 64m)"},
		&cli.StringFlag{Name: "umask", Usage: "the umask of the container's process, in octal (default: the init's, 0022)"},
		&cli.StringSliceFlag{Name: "annotation", Usage: "add KEY=VALUE to the container's OCI annotations (repeatable)"},
		&cli.StringSliceFlag{Name: "device", Usage: "give the container a host device node: HOST[:CONTAINER][:PERMISSIONS] (rwm; without w read-only), such as /dev/fuse (repeatable)"},
		&cli.BoolFlag{Name: "env-host", Usage: "pass myctr's whole environment into the container, below the image's and -e"},
		&cli.StringFlag{Name: "entrypoint", Usage: "override the image's ENTRYPOINT"},
		&cli.StringSliceFlag{Name: "cap-add", Usage: "add a capability"},
		&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop a capability (ALL for all)"},
		&cli.StringSliceFlag{Name: "security-opt", Usage: "security options: no-new-privileges, seccomp=PROFILE.json (Docker's format), seccomp=unconfined, landlock=ro:PATH,rw:PATH,exec:PATH,net:bind=PORT,net:connect=PORT (or a file of them), landlock-strict"},
		&cli.StringSliceFlag{Name: "network", Aliases: []string{"net"}, Usage: "network mode: slirp4netns[:OPTIONS], pasta[:OPTIONS], bridge (through myctr-helper), none, host, or the name of a network (myctr network create), NAME[:alias=A,ip=IP,interface_name=ethN], given once per network (default: myctr.conf's network, else containers.conf's netns, else pasta where installed, else slirp4netns)"},
		&cli.StringSliceFlag{Name: "network-alias", Usage: "another name the container answers to on its named network"},
		&cli.StringFlag{Name: "ip", Usage: "the container's IPv4 address on its named network"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a port: [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]"},
		&cli.BoolFlag{Name: "publish-all", Aliases: []string{"P"}, Usage: "publish every EXPOSEd port on a free host port"},
		&cli.StringSliceFlag{Name: "expose", Usage: "expose a port or range, PORT[-END][/tcp|udp], as the image's EXPOSE does (for -P)"},
		&cli.StringFlag{Name: "cgroups", Usage: "the container's own cgroup: enabled (a scope of your systemd user manager, or of myctr-helper), split (below the cgroup myctr runs in, which must be delegated to you) or disabled", Value: "enabled"},
		&cli.StringFlag{Name: "cgroup-parent", Usage: "the user manager's slice that holds the container's scope (default myctr.slice)"},
		&cli.StringFlag{Name: "cgroupns", Usage: "cgroup namespace: private (the default) or host"},
		&cli.StringFlag{Name: "ipc", Usage: "IPC namespace: shareable (the default: one of its own), private, none (its own, without /dev/shm) or host"},
		&cli.StringSliceFlag{Name: "add-host", Usage: "add HOST:IP to the container's /etc/hosts (IP may be host-gateway: the host)"},
		&cli.BoolFlag{Name: "no-hosts", Usage: "keep the image's /etc/hosts instead of writing one"},
		&cli.StringSliceFlag{Name: "group-add", Usage: "another supplementary group of the container's process: a name in the image's /etc/group or a number (repeatable); keep-groups (alone) keeps your own groups"},
		&cli.StringSliceFlag{Name: "dns", Usage: "a DNS server for the container's /etc/resolv.conf, in place of its network's (repeatable; none: keep the image's file)"},
		&cli.StringSliceFlag{Name: "dns-search", Usage: "a DNS search domain, in place of the host's (repeatable; .: none)"},
		&cli.StringSliceFlag{Name: "dns-option", Usage: "a resolv.conf option such as ndots:2, in place of the host's (repeatable)"},
		dnsOptFlag,
		&cli.StringSliceFlag{Name: "sysctl", Usage: "set a namespaced kernel setting in the container: KEY=VALUE (repeatable)"},
		&cli.IntFlag{Name: "oom-score-adj", Usage: "the container's OOM score adjustment (-1000..1000; lowering it needs privileges you do not have)"},
		&cli.StringFlag{Name: "cidfile", Usage: "write the container's id to this file (it must not exist, unless with --replace)"},
		&cli.BoolFlag{Name: "replace", Usage: "remove a container of the same --name first (for systemd units)"},
		&cli.StringFlag{Name: "sdnotify", Usage: "under a Type=notify systemd unit: container (the container says READY=1 through the NOTIFY_SOCKET myctr gives it; the default), conmon (myctr says it once the container's process has started) or ignore"},
		&cli.StringFlag{Name: "log-driver", Usage: "where the container's output is kept: k8s-file (its log file), journald (the journal; the default inside a systemd unit) or none"},
		&cli.StringSliceFlag{Name: "log-opt", Usage: "a log driver option NAME=VALUE: max-size (k8s-file: a size such as 10m, past which the log starts afresh), path (k8s-file: the log's file), tag (journald: the entries' identifier)"},
		&cli.StringFlag{Name: "stop-signal", Usage: "the signal that stops the container (default: the image's STOPSIGNAL, else SIGTERM)"},
		&cli.UintFlag{Name: "stop-timeout", Usage: "seconds stop waits after the stop signal before killing (default 10)"},
		restartFlag(),
		&cli.StringFlag{Name: "pull", Value: "missing", Usage: "pull the image: missing (when it is not here), always, newer (try, and keep the local one if the registry cannot be reached) or never"},
		&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "with a pull: require HTTPS and verify certificates"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no pull progress"},
		podFlag(),
	}, append(append(append(append(compatFlags(), runExtraFlags()...), resourceFlags()...), healthFlags()...), platformFlags...)...)
}

// pauseGC holds the garbage collector off until the returned function is
// called (once or more), unless the heap reaches startGCLimit (a pull
// on the way, say). What run allocates before its container starts is a
// few MB that stay live or die with the process: collecting them cost a
// `run --rm` about 2% of its CPU and freed nothing worth it. A foreground
// run resumes it gcResumeDelay after its container started
// (Attach.Started): from then on it is a monitor that may live for
// months, but a short container (`run --rm IMG true`) has ended by then,
// and its run is spared a collection (about 250 page faults of
// mark and sweep) while the container starts and ends beside it.
func pauseGC() func() {
	oldLimit := debug.SetMemoryLimit(startGCLimit)
	old := debug.SetGCPercent(-1)
	var once sync.Once
	return func() {
		once.Do(func() {
			debug.SetGCPercent(old)
			debug.SetMemoryLimit(oldLimit)
		})
	}
}

// startGCLimit is the heap at which a run collects before its container
// starts.
const startGCLimit = 64 << 20

// gcResumeDelay is how long after its container started a foreground run
// turns its collector back on.
const gcResumeDelay = time.Second

// resourceFlags are the cgroup limits of run and update, as Podman spells
// them, with its two short forms.
func resourceFlags() []cli.Flag {
	short := map[string][]string{"memory": {"m"}, "cpu-shares": {"c"}}
	var out []cli.Flag
	for _, f := range cgroup.Flags {
		if f.Multi {
			out = append(out, &cli.StringSliceFlag{Name: f.Name, Aliases: short[f.Name], Usage: f.Usage})
		} else {
			out = append(out, &cli.StringFlag{Name: f.Name, Aliases: short[f.Name], Usage: f.Usage})
		}
	}
	return out
}

// cgroupOptions reads the resource and cgroup flags into o, and decides
// where the container's cgroup comes from (container.ApplyCgroup, which
// the API's create calls too); it reads files only, and runs before
// anything is created. A limit this host cannot set is an error, never
// ignored.
func cgroupOptions(ctx *cli.Context, o *container.CreateOptions) error {
	cc, err := containersConf()
	if err != nil {
		return err
	}
	if isSet(ctx, "oom-score-adj") {
		v := ctx.Int("oom-score-adj")
		if v < -1000 || v > 1000 {
			return fmt.Errorf("invalid --oom-score-adj %d: must be between -1000 and 1000", v)
		}
		o.OOMScoreAdj = &v
	}
	switch ns := ctx.String("cgroupns"); ns {
	case "", "private", "host":
		o.Cgroupns = ns
	default:
		return hint(fmt.Errorf("--cgroupns %q is not supported", ns), "use --cgroupns=private (the default) or --cgroupns=host")
	}
	err = container.ApplyCgroup(o, container.CgroupRequest{
		Get: func(flag string) []string {
			if !isSet(ctx, flag) {
				return nil
			}
			if v := ctx.StringSlice(flag); len(v) > 0 {
				return v
			}
			return []string{ctx.String(flag)}
		},
		Mode:    ctx.String("cgroups"),
		ModeSet: isSet(ctx, "cgroups"),
		Parent:  ctx.String("cgroup-parent"),
		InUnit:  inUnit(),
	}, cc)
	var h container.Hinter
	if errors.As(err, &h) {
		return hint(err, "%s", h.Hint())
	}
	return err
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a command in a new container",
		ArgsUsage: "IMAGE [COMMAND [ARG...]]",
		Flags:     append(append(runFlags(), runOnlyFlags()...), helpOnlyFlag),
		HideHelp:  true,
		Action:    runAction,
	}
}

// helpOnlyFlag is --help for run and create, whose -h is --hostname, as
// Podman's and Docker's: they hide urfave/cli's own help flag (-h too).
var helpOnlyFlag = &cli.BoolFlag{Name: "help", Usage: "show help"}

// labelsFromArgs reads --label-file files, then --label: KEY=VALUE, or
// KEY for an empty value; a later one replaces an earlier one's value.
func labelsFromArgs(ctx *cli.Context) (map[string]string, error) {
	out := map[string]string{}
	set := func(kv, where string) error {
		k, v, _ := strings.Cut(kv, "=")
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("%sinvalid label %q: want KEY=VALUE", where, kv)
		}
		out[k] = v
		return nil
	}
	for _, file := range ctx.StringSlice("label-file") {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read label file: %w", err)
		}
		for n, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := set(line, fmt.Sprintf("%s:%d: ", file, n+1)); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range ctx.StringSlice("label") {
		if err := set(kv, ""); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// envFromArgs expands -e KEY (copied from our environment) and reads
// --env-file files (KEY=VALUE lines, # comments).
func envFromArgs(ctx *cli.Context) ([]string, error) {
	var env []string
	for _, file := range ctx.StringSlice("env-file") {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read env file: %w", err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if k, _, ok := strings.Cut(line, "="); ok && k != "" {
				env = append(env, line)
			} else if v, ok := os.LookupEnv(line); ok {
				env = append(env, line+"="+v)
			} else if k == "" {
				f.Close()
				return nil, fmt.Errorf("%s:%d: empty variable name", file, n)
			}
		}
		f.Close()
	}
	for _, e := range ctx.StringSlice("env") {
		k, _, ok := strings.Cut(e, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid environment variable %q", e)
		}
		if !ok {
			if v, found := os.LookupEnv(k); found {
				e = k + "=" + v
			} else {
				continue
			}
		}
		env = append(env, e)
	}
	return env, nil
}

func createOptions(ctx *cli.Context) (*container.CreateOptions, error) {
	if ctx.NArg() < 1 {
		return nil, errors.New("requires an image name: myctr run IMAGE [COMMAND...]")
	}
	if p, err := platformOf(ctx); err != nil {
		return nil, err
	} else if !image.IsHostPlatform(p) {
		return nil, hint(fmt.Errorf("%w: --platform %s/%s: myctr runs images of this machine's platform, linux/%s", image.ErrBadPlatform, p.OS, p.Architecture, runtime.GOARCH),
			"leave --platform out, or give linux/%s; myctr pull --platform fetches an image of another platform, to save or push it", runtime.GOARCH)
	}
	mode, netOpts, named, err := networkFlags(ctx.StringSlice("network"), ctx.StringSlice("network-alias"), ctx.String("ip"))
	if err != nil {
		return nil, err
	}
	if named == nil && (isSet(ctx, "network-alias") || isSet(ctx, "ip")) {
		return nil, hint(fmt.Errorf("--network-alias and --ip need a named network, not --network %s", mode), "myctr network create NAME, then run --network NAME")
	}
	for _, a := range ctx.StringSlice("network-alias") {
		if !names.Valid(a) {
			return nil, fmt.Errorf("invalid --network-alias %q: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*", a)
		}
	}
	labels, err := labelsFromArgs(ctx)
	if err != nil {
		return nil, err
	}
	var ports []network.PortMapping
	for _, p := range ctx.StringSlice("publish") {
		pm, err := network.ParsePublish(p)
		if err != nil {
			return nil, explain(err)
		}
		ports = append(ports, pm...)
	}
	o := &container.CreateOptions{
		Name:           ctx.String("name"),
		Command:        ctx.Args().Slice()[1:],
		Workdir:        ctx.String("workdir"),
		User:           ctx.String("user"),
		GroupAdd:       commaLists(ctx.StringSlice("group-add")),
		Userns:         ctx.String("userns"),
		Hostname:       ctx.String("hostname"),
		Labels:         labels,
		Volumes:        ctx.StringSlice("volume"),
		Tmpfs:          ctx.StringSlice("tmpfs"),
		CapAdd:         ctx.StringSlice("cap-add"),
		CapDrop:        ctx.StringSlice("cap-drop"),
		Network:        mode,
		Networks:       named,
		NetworkOptions: netOpts,
		Ports:          ports,
		Tty:            ctx.Bool("tty"),
		Interactive:    ctx.Bool("interactive"),
		Remove:         ctx.Bool("rm"),
		Init:           ctx.Bool("init"),
	}
	if o.IPC, err = container.ParseIPC(ctx.String("ipc")); err != nil {
		return nil, withCode(125, explain(err))
	}
	if err := mountOptions(ctx, o); err != nil {
		return nil, err
	}
	if isSet(ctx, "entrypoint") {
		ep := ctx.String("entrypoint")
		o.Entrypoint = &ep
	}
	if err := unitOptions(ctx, o); err != nil {
		return nil, err
	}
	if err := restartOption(ctx, o); err != nil {
		return nil, err
	}
	if err := cgroupOptions(ctx, o); err != nil {
		return nil, err
	}
	if err := securityOptions(ctx.StringSlice("security-opt"), o); err != nil {
		return nil, err
	}
	if err := compatOptions(ctx, o); err != nil {
		return nil, err
	}
	if err := runExtraOptions(ctx, o); err != nil {
		return nil, err
	}
	if err := healthOptions(ctx, o); err != nil {
		return nil, err
	}
	env, err := envFromArgs(ctx)
	if err != nil {
		return nil, err
	}
	o.Env = env
	if err := secretOptions(ctx, o); err != nil {
		return nil, err
	}
	o.UnsetEnv, o.UnsetEnvAll = ctx.StringSlice("unsetenv"), ctx.Bool("unsetenv-all")
	for _, name := range ctx.StringSlice("hostuser") {
		line, err := hostPasswdLine(name)
		if err != nil {
			// Podman finds out when the container starts: 126.
			return nil, withCode(126, err)
		}
		o.HostUsers = append(o.HostUsers, line)
	}
	images, err := openImages(ctx)
	if err != nil {
		return nil, err
	}
	img, err := runImage(ctx, images, ctx.Args().First())
	if err != nil {
		return nil, err
	}
	if err := images.VerifyLayers(img); err != nil {
		return nil, damagedImage(err)
	}
	o.ImageID = img.ID
	o.ImageName = image.CreatedName(ctx.Args().First(), img.Names)
	o.ImageDigest = img.Digest.String()
	o.Image = img.Config.Config
	if o.ImageHealthcheck, err = imageHealthcheck(images, img); err != nil {
		return nil, err
	}
	cc, err := containersConf()
	if err != nil {
		return nil, err
	}
	if err := applyContainersConf(ctx, cc, o); err != nil {
		return nil, err
	}
	o.ReadOnly = confBool(ctx, "read-only", cc.ReadOnly)
	if confBool(ctx, "env-host", cc.EnvHost) {
		o.DefaultEnv = append(os.Environ(), o.DefaultEnv...)
	} else if confBool(ctx, "http-proxy", cc.HTTPProxy) {
		o.DefaultEnv = append(proxyEnv(os.LookupEnv), o.DefaultEnv...)
	}
	if err := processOptions(ctx, o, cc); err != nil {
		return nil, withCode(125, err)
	}
	o.ExtraHosts, o.NoHosts = ctx.StringSlice("add-host"), confBool(ctx, "no-hosts", cc.NoHosts)
	o.DNS, o.DNSSearch, o.DNSOptions = resolverFlags(ctx)
	if expose := ctx.StringSlice("expose"); len(expose) > 0 {
		// The image's exposed ports and these (a copy: the image's
		// config is not ours to change).
		ports := maps.Clone(o.Image.ExposedPorts)
		if ports == nil {
			ports = map[string]struct{}{}
		}
		for _, e := range expose {
			keys, err := network.ParseExpose(e)
			if err != nil {
				return nil, explain(err)
			}
			for _, k := range keys {
				ports[k] = struct{}{}
			}
		}
		o.Image.ExposedPorts = ports
	}
	if ctx.Bool("publish-all") {
		exposed, err := network.ExposedPorts(o.Image.ExposedPorts)
		if err != nil {
			return nil, err
		}
		o.Ports = append(o.Ports, exposed...)
	}
	for i := len(img.LayerDirs) - 1; i >= 0; i-- {
		o.Lower = append(o.Lower, img.LayerDirs[i])
	}
	if err := podMemberOptions(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// runImage finds run's image, pulling it as --pull says (Podman's
// policies; missing is the default).
func runImage(ctx *cli.Context, images *image.Store, ref string) (*image.Image, error) {
	policy := ctx.String("pull")
	switch policy {
	case "missing", "always", "newer", "never":
	default:
		return nil, withCode(125, fmt.Errorf("invalid --pull %q: must be missing, always, newer or never", policy))
	}
	if transport, path, name, ok := archiveRef(ref); ok {
		// As Podman: the archive is loaded whatever --pull says.
		return loadArchiveRef(ctx, images, transport, path, name)
	}
	img, err := images.Lookup(ref)
	switch {
	case err == nil && policy != "always" && policy != "newer":
		return img, nil
	case err != nil && (policy == "never" || !errors.Is(err, image.ErrImageUnknown)):
		return nil, explain(err)
	}
	o, c, stop := transfer(ctx)
	defer stop()
	pulled, perr := pullImage(c, dirs(ctx), images, ref, o, "")
	if perr != nil {
		if policy == "newer" && img != nil {
			fmt.Fprintf(os.Stderr, "Warning: %v: running the local image\n", perr)
			return img, nil
		}
		return nil, explainTransfer(perr)
	}
	record(ctx, events.TypeImage, "pull", pulled.ID, ref)
	return images.Lookup(pulled.ID)
}

func runAction(ctx *cli.Context) error {
	// Not resumed as this function returns: the process ends then, and a
	// collector turned on above its goal starts a collection of the heap
	// the exit drops (a thread and about 1 ms at the end of a run --rm).
	resumeGC := pauseGC()
	act, err := takeFDs(ctx)
	if err != nil {
		return err
	}
	// Attached, this process is the container's monitor; its init
	// stage may have started already (startEarly).
	var a *container.Attach
	if ctx.Bool("detach") {
		early.init.Abandon()
	} else {
		if a = early.attach; a == nil {
			a = &container.Attach{Stdout: guardStdout(), Stderr: os.Stderr}
		}
		a.Activation = act
		defer func() { a.Early.Abandon() }()
	}
	s, c, o, m, err := createContainer(ctx)
	if err != nil {
		return err
	}
	if !c.OnHelperBridge() {
		// (The helper knows the bridge's ports, and says whose.)
		if err := portsFree(s, o.Ports); err != nil {
			return portFailure(s, c, o, err)
		}
	}
	if ctx.Bool("detach") {
		if err := s.StartDetached(c, act); err != nil {
			if errors.Is(err, network.ErrPortInUse) {
				return portFailure(s, c, o, err)
			}
			discard(s, c)
			return startFailure(err)
		}
		fmt.Println(c.ID)
		return writeMonitorPidfile(ctx, monitorPidOf(s, c))
	}
	if err := writeMonitorPidfile(ctx, os.Getpid()); err != nil {
		discard(s, c)
		return err
	}
	out := a.Stdout.(*stdoutGuard)
	a.Started = func() { time.AfterFunc(gcResumeDelay, resumeGC) }
	if o.Interactive {
		a.Stdin = os.Stdin
		if o.Tty && !term.IsTerminal(int(os.Stdin.Fd())) {
			// Podman's words, which scripts match; it runs all the same.
			fmt.Fprintln(os.Stderr, "Warning: The input device is not a TTY. The --tty and --interactive flags might not work properly")
		}
	}
	if err := attachStreams(ctx, a, c.ID); err != nil {
		discard(s, c)
		return err
	}
	// Inside a unit whose output goes to the journal already, the
	// container's lines are there with its fields: not twice.
	a.LogOnly = o.LogDriver == container.LogJournald && toJournal(os.Stdout)
	code, err := s.RunAttached(c, m, a)
	if err != nil {
		if errors.Is(err, network.ErrPortInUse) {
			removeRunImage(ctx, c.Image)
			return portFailure(s, c, o, err)
		}
		discard(s, c)
		removeRunImage(ctx, c.Image)
		return startFailure(err)
	}
	removeRunImage(ctx, c.Image)
	if err := out.failed(); err != nil {
		return err
	}
	if code != 0 {
		return withCode(code, nil)
	}
	return nil
}

// early is the init stage a foreground run started before its command
// line was parsed (startEarly), with the Attach it was started for.
var early struct {
	attach *container.Attach
	init   *container.EarlyInit
}

// startEarly starts the init stage of the foreground run whose
// arguments (after the word run) are args before its command line is
// parsed and its container made (container.StartEarly), when those
// arguments leave its namespaces and id maps at what they are for nearly
// every container (earlyNamespaces). runAction takes it up; the launch
// then takes the stage over, or abandons it when the container proves
// the guess wrong.
func startEarly(args []string) {
	ns := earlyNamespaces(args)
	if ns == nil || os.Getenv("LISTEN_FDS") != "" || inUnit() {
		return
	}
	a := &container.Attach{Stdout: guardStdout(), Stderr: os.Stderr}
	a.Early = container.StartEarly(ns, func() (*userns.Mapping, error) {
		m, err := userns.Current()
		if err == nil && !m.HasRange() {
			err = errors.New("no subordinate ids")
		}
		return m, err
	}, a)
	early.attach, early.init = a, a.Early
}

// earlyNamespaces are the namespaces (nsexec's names) of the container a
// run with args makes, read from args before they are parsed, with run's
// flags: its own network namespace but with --network host. nil where
// the flags before the image could choose other namespaces or maps, or a
// run that an early start does not serve (detached, stdin, a terminal,
// socket activation's descriptors, a unit's notify socket or journal,
// only some streams attached), or where the scan is unsure.
func earlyNamespaces(args []string) []string {
	flags := append(append(runFlags(), runOnlyFlags()...), helpOnlyFlag)
	find := func(name string) cli.Flag {
		for _, f := range flags {
			if slices.Contains(f.Names(), name) {
				return f
			}
		}
		return nil
	}
	ns := []string{"mnt", "pid", "ipc", "uts", "net"}
	network := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return ns // the image: the flags are all read
		}
		var names []string
		value, attached := "", false
		if strings.HasPrefix(a, "--") {
			n, v, ok := strings.Cut(a[2:], "=")
			names, value, attached = []string{n}, v, ok
		} else {
			for _, r := range a[1:] {
				names = append(names, string(r))
			}
		}
		for k, n := range names {
			f := find(n)
			if f == nil {
				return nil // the parser's to refuse
			}
			switch f.Names()[0] {
			case "detach", "interactive", "tty", "userns", "uidmap", "gidmap", "subuidname", "subgidname", "pod", "ipc",
				"cgroups", "sdnotify", "log-driver", "attach", "preserve-fds", "rootfs", "help":
				return nil
			}
			v, ok := f.(cli.DocGenerationFlag)
			if !ok || !v.TakesValue() {
				continue
			}
			if k != len(names)-1 {
				return nil // a value inside a group of short flags
			}
			if !attached {
				if i+1 >= len(args) {
					return nil
				}
				i++
				value = args[i]
			}
			if f.Names()[0] == "network" {
				if len(ns) < 5 || network {
					return nil // several: networkFlags's to read
				}
				network = true
				switch value {
				case "host":
					ns = ns[:4]
				case "none", "pasta", "slirp4netns":
				default:
					return nil
				}
			}
		}
	}
	return nil // no image
}

// stdoutGuard is the attached container's stdout. A reader that goes away
// (`myctr run ... | head -1`) must not lose the container's end (its exit
// code recorded, --rm honoured). Through myctr-monitor, which writes the
// output itself, the CLI ends at once with the error and the monitor
// ends the run. Where this process is the monitor, SIGPIPE is caught
// (guardStdout), the write fails with EPIPE instead, the output goes on
// to the log alone, and the failure is reported once the container has
// ended.
type stdoutGuard struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// guardStdout returns the guard of os.Stdout, and catches SIGPIPE for
// the rest of the process (a caught signal is back to its default in the
// container's process, which exec starts).
func guardStdout() *stdoutGuard {
	signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE)
	return &stdoutGuard{w: os.Stdout}
}

func (g *stdoutGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		if _, err := g.w.Write(p); err != nil {
			g.err = err
		}
	}
	return len(p), nil // the log has it all the same
}

// File and Broken make the guard a container.DirectOutput: in a
// foreground run myctr-monitor writes the container's output to
// os.Stdout itself, and reports a write that failed.
func (g *stdoutGuard) File() *os.File { return os.Stdout }

func (g *stdoutGuard) Broken(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.err = err
	}
}

// failed is the error to end with when stdout broke: Podman's exit 126.
func (g *stdoutGuard) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		return nil
	}
	return withCode(126, hint(fmt.Errorf("write the container's output: %w", g.err),
		"the container runs on to its end; its whole output is in `myctr logs` (unless --rm removes it)"))
}

// createContainer makes the container that run's or create's flags
// describe, and writes its --cidfile; it does not start it.
func createContainer(ctx *cli.Context) (*container.Store, *container.Container, *container.CreateOptions, *userns.Mapping, error) {
	o, err := createOptions(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	m, err := mapping()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	s, err := openContainers(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cidfile := ctx.String("cidfile")
	if err := checkCidfile(cidfile, ctx.Bool("replace")); err != nil {
		return nil, nil, nil, nil, withCode(125, err)
	}
	if ctx.Bool("replace") {
		if err := replaceContainer(s, o.Name); err != nil {
			return nil, nil, nil, nil, withCode(125, err)
		}
	}
	c, err := s.Create(o, m)
	if err != nil {
		return nil, nil, nil, nil, explain(err)
	}
	if err := writeCidfile(cidfile, c.ID); err != nil {
		s.Remove(c, true)
		return nil, nil, nil, nil, withCode(125, err)
	}
	return s, c, o, m, nil
}

// createCommand makes a container without starting it: run's flags but
// -d; `start` (with --attach for its output) starts it.
func createCommand() *cli.Command {
	flags := slices.DeleteFunc(runFlags(), func(f cli.Flag) bool { return slices.Contains(f.Names(), "detach") })
	return &cli.Command{
		Name:      "create",
		Usage:     "create a container without starting it (myctr start starts it)",
		ArgsUsage: "IMAGE [COMMAND [ARG...]]",
		Flags:     append(flags, helpOnlyFlag),
		HideHelp:  true,
		Action: func(ctx *cli.Context) error {
			_, c, _, _, err := createContainer(ctx)
			if err != nil {
				return err
			}
			fmt.Println(c.ID)
			return nil
		},
	}
}

// portsFree refuses a host port that one of the user's running containers
// publishes already, naming it: the kernel's EADDRINUSE could not say
// whose (the holder is a network tool whose descriptors are unreadable).
func portsFree(s *container.Store, want []network.PortMapping) error {
	if len(want) == 0 {
		return nil
	}
	all, err := s.List()
	if err != nil {
		return err
	}
	for _, c := range all {
		c.Refresh()
		if !c.Running() {
			continue
		}
		for _, have := range c.State.Ports {
			for _, p := range want {
				if p.HostPort == 0 || p.HostPort != have.HostPort || p.Protocol != have.Protocol || !sameHostIP(p.HostIP, have.HostIP) {
					continue
				}
				return hint(fmt.Errorf("cannot publish %s: host port %d/%s is in use by your container %s", p, p.HostPort, p.Protocol, c.Name),
					"choose another host port (-p OTHER:%d), or stop that container (myctr stop %s)", p.ContainerPort, c.Name)
			}
		}
	}
	return nil
}

// sameHostIP reports whether two published host addresses collide: equal,
// or either is every address.
func sameHostIP(a, b string) bool {
	all := func(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
	return a == b || all(a) || all(b)
}

// portFailure is run's answer to a host port that is taken, as Podman's:
// the container was made and could not start, so the exit code is 126 and
// the container stays (in the created state, to be started once the port
// is free, or removed) unless --rm asked for its removal.
func portFailure(s *container.Store, c *container.Container, o *container.CreateOptions, err error) error {
	if o.Remove {
		discard(s, c)
	}
	return withCode(126, explain(err))
}

// discard removes a container that `run` made and could not start: it
// never ran, and a leftover would only hold its name.
func discard(s *container.Store, c *container.Container) {
	if err := s.Remove(c, true); err == nil {
		releaseCgroup(s, c)
	}
}

// startFailure reports a container that could not start with the exit code
// of its cause: 126 not executable, 127 not found, else 125.
func startFailure(err error) error {
	var se *container.StartError
	if errors.As(err, &se) && se.Exit != 0 {
		return withCode(se.Exit, explain(err))
	}
	return withCode(125, explain(err))
}

// landlockOption takes a landlock= or landlock-strict option into o; done
// is false for any other option.
func landlockOption(o *container.CreateOptions, so string) (done bool, err error) {
	if strict, ok, err := landlock.ParseStrict(so); ok {
		o.LandlockStrict = strict
		o.LandlockOptions = append(o.LandlockOptions, so)
		return true, err
	}
	v, ok := strings.CutPrefix(so, "landlock=")
	if !ok {
		return false, nil
	}
	r, err := landlock.ParseOption(v)
	if err != nil {
		return true, err
	}
	o.Landlock = landlock.Merge(o.Landlock, r)
	o.LandlockOptions = append(o.LandlockOptions, so)
	return true, nil
}

// proxyEnv is the proxy variables of the environment lookup reads, as
// --http-proxy passes them on (Podman's list): below containers.conf's
// env, the image's ENV and -e, any of which may set them otherwise.
func proxyEnv(lookup func(string) (string, bool)) []string {
	var env []string
	for _, k := range []string{"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ftp_proxy", "FTP_PROXY", "no_proxy", "NO_PROXY"} {
		if v, ok := lookup(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// processOptions reads --ulimit, --shm-size, --umask, --annotation,
// --device, --read-only-tmpfs and --pidfile into o; containers.conf's
// default_ulimits, shm_size, umask and annotations (in cc) apply where
// those flags do not say otherwise.
func processOptions(ctx *cli.Context, o *container.CreateOptions, cc *config.Containers) error {
	var err error
	if o.Ulimits, err = container.ParseUlimits(ctx.StringSlice("ulimit")); err != nil {
		return err
	}
	// The file's default_ulimits, but a type --ulimit names (or --ulimit
	// host, the host's limits all).
	if s := cc.Ulimits; s.Set && !slices.Contains(ctx.StringSlice("ulimit"), container.UlimitHost) {
		defaults, err := container.ParseUlimits(s.Value)
		if err != nil {
			return explainConfig(&config.FileError{File: s.File, Line: s.Line, Msg: fmt.Sprintf("[containers] default_ulimits: %v", err)})
		}
		for _, d := range defaults {
			if !slices.ContainsFunc(o.Ulimits, func(u *units.Ulimit) bool { return u.Name == d.Name }) {
				o.Ulimits = append(o.Ulimits, d)
			}
		}
	}
	if v, from := confFlag(ctx, "shm-size", cc.ShmSize); v != "" {
		if o.ShmSize, err = container.ParseShmSize(v); err != nil {
			return confError(from, "shm_size", err)
		}
	}
	if v, from := confFlag(ctx, "umask", cc.Umask); v != "" {
		m, err := container.ParseUmask(v)
		if err != nil {
			return confError(from, "umask", err)
		}
		o.Umask = &m
	}
	if o.Annotations, err = container.ParseAnnotations(ctx.StringSlice("annotation")); err != nil {
		return err
	}
	// The file's annotations, below --annotation's.
	if s := cc.Annotations; s.Set {
		defaults, err := container.ParseAnnotations(s.Value)
		if err != nil {
			return explainConfig(&config.FileError{File: s.File, Line: s.Line, Msg: fmt.Sprintf("[containers] annotations: %v", err)})
		}
		for k, v := range defaults {
			if _, ok := o.Annotations[k]; !ok {
				if o.Annotations == nil {
					o.Annotations = map[string]string{}
				}
				o.Annotations[k] = v
			}
		}
	}
	for _, v := range ctx.StringSlice("device") {
		d, err := container.ParseDevice(v)
		if err != nil {
			return hint(err, "give a device node of the host that you may open, as HOST[:CONTAINER] (such as --device /dev/fuse or --device /dev/net/tun); permissions other than rw or rwm cannot be held to")
		}
		o.Devices = append(o.Devices, d)
	}
	o.NoReadOnlyTmpfs = !ctx.Bool("read-only-tmpfs")
	if p := ctx.String("pidfile"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		o.PidFile = abs
	}
	return nil
}

// dnsOptFlag is --dns-opt, Podman's other spelling of --dns-option, which
// may be mixed with the first.
var dnsOptFlag = &cli.StringSliceFlag{Name: "dns-opt", Hidden: true}

// resolverFlags reads run's and pod create's --dns, --dns-search and
// --dns-option (with --dns-opt): comma lists too, as Podman's string
// slices read them.
func resolverFlags(ctx *cli.Context) (servers, search, options []string) {
	return commaLists(ctx.StringSlice("dns")), commaLists(ctx.StringSlice("dns-search")),
		commaLists(append(ctx.StringSlice("dns-option"), ctx.StringSlice("dns-opt")...))
}

// securityOptions applies --security-opt (run's, create's, and build's
// for its RUN steps) to o.
func securityOptions(opts []string, o *container.CreateOptions) error {
	for _, so := range opts {
		switch so {
		case "no-new-privileges", "no-new-privileges=true", "no-new-privileges:true":
			o.NoNewPrivs = true
		case "no-new-privileges=false", "no-new-privileges:false":
		default:
			if done, err := landlockOption(o, so); done || err != nil {
				if err != nil {
					return err
				}
				continue
			}
			v, ok := strings.CutPrefix(so, "seccomp=")
			if !ok {
				v, ok = strings.CutPrefix(so, "seccomp:") // Docker's older spelling
			}
			if !ok {
				return fmt.Errorf("unsupported --security-opt %q (no-new-privileges, seccomp=FILE, seccomp=unconfined, landlock=RULES|FILE, landlock-strict)", so)
			}
			src, err := seccomp.ParseOption(v)
			if err != nil {
				return err
			}
			o.Seccomp = src
		}
	}
	return nil
}
