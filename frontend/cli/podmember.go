package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/pod"
	"github.com/myctr/myctr/frontend/userns"
)

// podFlag is run's and create's --pod.
func podFlag() cli.Flag {
	return &cli.StringFlag{Name: "pod", Usage: "run the container in this pod (name or id; new:NAME makes the pod first): it joins the pod's infra container's network, IPC and UTS namespaces as the pod shares them"}
}

// podSpec is what a pod is made from: pod create's flags, or the
// defaults for run --pod new:NAME.
type podSpec struct {
	Name, Hostname, InfraImage, InfraName string
	Networks                              []string // --network, as given
	Ports                                 []string
	Infra                                 bool
	Share                                 string
	ShareSet                              bool
	Labels                                map[string]string
	Command                               []string
	// The infra's /etc/hosts and /etc/resolv.conf, which the members
	// share, and the command it runs in place of its image's.
	AddHosts, DNS, DNSSearch, DNSOptions []string
	InfraCommand                         string
	ExitPolicy                           string // --exit-policy: pod.ParseExitPolicy's
}

// pauseImageName is the pause image's name, as Podman's:
// localhost/podman-pause:VERSION-BUILT, with `version`'s Version and Built
// (the unix time this binary was built), which scripts read to find it.
func pauseImageName() string {
	return fmt.Sprintf("localhost/podman-pause:%s-%d", Version, builtTime().Unix())
}

// createPod records a pod and makes its infra container (not started: a
// member's start, or pod start, starts it). A failure after the record
// removes what was made.
func createPod(ctx *cli.Context, ps podSpec) (*pod.Pod, error) {
	share := pod.DefaultShare
	if !ps.Infra {
		share = nil
	}
	if ps.ShareSet {
		var err error
		if share, err = pod.ParseShare(ps.Share, ps.Infra); err != nil {
			return nil, withCode(125, hint(err, "use --share with ipc, net and uts, or --share none"))
		}
	}
	var ports []network.PortMapping
	for _, p := range ps.Ports {
		pm, err := network.ParsePublish(p)
		if err != nil {
			return nil, explain(err)
		}
		ports = append(ports, pm...)
	}
	if !ps.Infra && (len(ps.AddHosts) > 0 || len(ps.DNS)+len(ps.DNSSearch)+len(ps.DNSOptions) > 0 || ps.InfraCommand != "") {
		return nil, withCode(125, hint(errors.New("--add-host, --dns, --dns-search, --dns-option and --infra-command are the infra container's, and the pod has none (--infra=false)"), "drop --infra=false"))
	}
	if !ps.Infra && (len(ports) > 0 || len(ps.Networks) > 0 || ps.InfraImage != "") {
		return nil, withCode(125, hint(errors.New("you must have an infra container to publish ports or set a network (--infra=false)"), "drop --infra=false"))
	}
	mode, netOpts := "", []string(nil)
	// A pod on a named network: its infra container is on it, and the
	// members share the infra's namespaces as ever.
	var named map[string]container.NetworkAttach
	if ps.Infra {
		var err error
		if mode, netOpts, named, err = networkFlags(ps.Networks, nil, ""); err != nil {
			return nil, withCode(125, err)
		}
		if strings.HasPrefix(mode, container.NetContainerPrefix) {
			return nil, withCode(125, errors.New("a pod's network cannot be another container's"))
		}
	}
	if ps.Name != "" {
		if err := pod.ValidName(ps.Name); err != nil {
			return nil, withCode(125, err)
		}
	}
	// The infra's image before any record exists: --infra-image, else
	// containers.conf's infra_image, else the pause image; one that is
	// not here is pulled, as Podman pulls it.
	var img *image.Image
	if ps.Infra {
		images, err := openImages(ctx)
		if err != nil {
			return nil, err
		}
		if cc, err := containersConf(); err == nil {
			if ps.InfraImage == "" && cc.InfraImage.Set {
				ps.InfraImage = cc.InfraImage.Value
			}
			if ps.InfraCommand == "" && cc.InfraCommand.Set {
				ps.InfraCommand = cc.InfraCommand.Value
			}
		}
		if ps.InfraImage == "" {
			bin := nsexec.Binary()
			if bin == "/proc/self/exe" {
				return nil, hint(fmt.Errorf("%w: the pause image is made from it", container.ErrNoInit), "install myctr-init beside myctr (make install), or give --infra-image")
			}
			ps.InfraImage = pauseImageName()
			img, err = images.PauseImage(ps.InfraImage, bin)
		} else {
			img, err = infraImage(ctx, images, ps.InfraImage)
		}
		if err != nil {
			return nil, err
		}
	}
	pods, err := openPods(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, err
	}
	rec := &pod.Pod{Name: ps.Name, Labels: ps.Labels, Share: share, Infra: ps.Infra, InfraImage: ps.InfraImage,
		Network: strings.Join(ps.Networks, " "), PortBindings: ps.Ports, CreateCommand: ps.Command, ExitPolicy: ps.ExitPolicy}
	p, err := pods.Create(rec, container.RandomName)
	if err != nil {
		if errors.Is(err, pod.ErrPodExists) {
			return nil, withCode(125, hint(err, "choose another name, or remove that pod (myctr pod rm)"))
		}
		return nil, withCode(125, err)
	}
	if !ps.Infra {
		return p, nil
	}
	hostname := ps.Hostname
	if hostname == "" {
		hostname = p.Name
	}
	infraName := ps.InfraName
	if infraName == "" {
		infraName = p.ID[:12] + "-infra"
	}
	o := &container.CreateOptions{
		Name: infraName, Hostname: hostname, Network: mode, NetworkOptions: netOpts, Ports: ports,
		PodInfo: container.PodInfo{Pod: p.ID, PodInfra: true, PodShare: podJoined(share)},
		ImageID: img.ID, ImageName: img.Names[0], ImageDigest: img.Digest.String(), Image: img.Config.Config,
		ExtraHosts: ps.AddHosts, DNS: ps.DNS, DNSSearch: ps.DNSSearch, DNSOptions: ps.DNSOptions,
	}
	if cmd := strings.Fields(ps.InfraCommand); len(cmd) > 0 {
		// As Podman's --infra-command: words split at spaces, the infra's
		// entrypoint in place of its image's, without the image's command.
		b, _ := json.Marshal(cmd)
		ep := string(b)
		o.Entrypoint, o.Command = &ep, nil
	}
	for n, a := range named {
		// The pod answers by its name on the network, as the infra.
		a.Aliases = append(a.Aliases, p.Name)
		named[n] = a
	}
	o.Networks = named
	for i := len(img.LayerDirs) - 1; i >= 0; i-- {
		o.Lower = append(o.Lower, img.LayerDirs[i])
	}
	cc, err := containersConf()
	if err == nil {
		o.DefaultEnv = []string{"TERM=xterm"}
		if cc.Env.Set {
			o.DefaultEnv = cc.Env.Value
		}
		err = container.ApplyResolverConf(o, cc)
	}
	if err == nil {
		// No limits, but a cgroup of its own where the members get
		// one, as theirs is decided: pod pause freezes it with them.
		err = container.ApplyCgroup(o, container.CgroupRequest{Get: func(string) []string { return nil }, InUnit: inUnit()}, cc)
	}
	var m *userns.Mapping
	if err == nil {
		m, err = mapping()
	}
	if err == nil {
		var c *container.Container
		if c, err = cs.Create(o, m); err == nil {
			p, err = pods.Update(p.ID, func(p *pod.Pod) { p.InfraID, p.InfraName, p.Hostname = c.ID, c.Name, hostname })
		}
	}
	if err != nil {
		// Nothing half-made: the infra (if it was made), then the record.
		if rerr := removePod(pods, cs, &pod.Pod{ID: p.ID, Name: p.Name}, true, nil); rerr != nil {
			fmt.Fprintf(os.Stderr, "Warning: remove the pod that could not be made: %v\n", rerr)
		}
		return nil, explain(err)
	}
	return p, nil
}

// podJoined is what a pod's members join of its infra besides the user
// and network namespaces: the IPC and UTS namespaces the pod shares.
func podJoined(share []string) []string {
	var out []string
	for _, ns := range []string{pod.ShareIPC, pod.ShareUTS} {
		if slices.Contains(share, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// infraImage finds a pod's infra image, pulling it when it is not here
// (with pull's defaults: TLS verified, progress on stderr).
func infraImage(ctx *cli.Context, images *image.Store, ref string) (*image.Image, error) {
	img, err := images.Lookup(ref)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, image.ErrImageUnknown) {
		return nil, explain(err)
	}
	c, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pulled, err := pullImage(c, dirs(ctx), images, ref, image.PullOptions{Progress: os.Stderr}, "")
	if err != nil {
		return nil, withCode(125, explainTransfer(err))
	}
	record(ctx, events.TypeImage, "pull", pulled.ID, ref)
	return images.Lookup(pulled.ID)
}

// podMemberOptions applies run's and create's --pod to o: the container
// belongs to the pod and, where the pod has an infra container, joins its
// user and network namespaces (as --network container: does) and the IPC
// and UTS namespaces the pod shares. What the pod owns (ports, network,
// the shared host name) is refused here, in Podman's words.
func podMemberOptions(ctx *cli.Context, o *container.CreateOptions) error {
	ref := ctx.String("pod")
	if ref == "" {
		return nil
	}
	pods, err := openPods(ctx)
	if err != nil {
		return err
	}
	var p *pod.Pod
	newPod := false
	if name, ok := strings.CutPrefix(ref, "new:"); ok {
		// The new pod takes the container's --hostname, as Podman's
		// does: the pod's UTS namespace is the one the container joins.
		if p, err = createPod(ctx, podSpec{Name: name, Infra: true, Hostname: ctx.String("hostname")}); err != nil {
			return err
		}
		newPod = true
	} else if p, err = pods.Lookup(ref); err != nil {
		return withCode(125, podFound(err))
	}
	o.PodInfo = container.PodInfo{Pod: p.ID, PodExitPolicy: p.ExitPolicy}
	joined := podJoined(p.Share)
	if !p.Infra || (!p.Shares(pod.ShareNet) && len(joined) == 0) {
		return nil
	}
	if p.InfraID == "" {
		return withCode(125, hint(fmt.Errorf("pod %s has no infra container", p.Name), "remove the pod (myctr pod rm -f %s) and make it again", p.Name))
	}
	if p.Shares(pod.ShareIPC) && isSet(ctx, "ipc") {
		return withCode(125, fmt.Errorf("--ipc cannot be set for a container of pod %s, which shares its IPC namespace: the pod's is the container's", p.Name))
	}
	o.PodShare = joined
	if p.Shares(pod.ShareUTS) {
		if isSet(ctx, "hostname") && !newPod {
			return withCode(125, errors.New("invalid config provided: cannot set hostname when joining the pod UTS namespace: invalid configuration")) // Podman's words
		}
		o.Hostname = p.Hostname
	}
	if !p.Shares(pod.ShareNet) {
		// The infra's user namespace (and what the pod shares), with a
		// network of the container's own.
		o.PodJoin = p.InfraID
		return nil
	}
	if isSet(ctx, "network") {
		return withCode(125, errors.New("networks must be defined when the pod is created: network cannot be configured when it is shared with a pod"))
	}
	if len(o.Ports) > 0 || ctx.Bool("publish-all") {
		return withCode(125, hint(errors.New("published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod"),
			"publish the port on the pod: myctr pod create -p ..."))
	}
	if len(o.ExtraHosts) > 0 {
		return withCode(125, errors.New("extra host entries must be specified on the pod: network cannot be configured when it is shared with a pod"))
	}
	o.Network, o.NetworkOptions = container.NetContainerPrefix+p.InfraID, nil
	return nil
}

// podNames maps each pod's id to its name (none when the pod store cannot
// be read: a listing of containers does not fail for it).
func podNames(ctx *cli.Context) map[string]string {
	out := map[string]string{}
	ps, err := openPods(ctx)
	if err != nil {
		return out
	}
	pods, _ := ps.List()
	for _, p := range pods {
		out[p.ID] = p.Name
	}
	return out
}

// splitPodFilter takes ps's pod=NAME|ID filters out of filters.
func splitPodFilter(filters []string) (rest, pods []string) {
	for _, f := range filters {
		if v, ok := strings.CutPrefix(f, "pod="); ok {
			pods = append(pods, v)
		} else {
			rest = append(rest, f)
		}
	}
	return rest, pods
}

// podMatch is ps's pod= filter: a container of any of the pods named (by
// name, or id or a prefix of it); no refs match every container.
func podMatch(names map[string]string, refs []string) func(*container.Container) bool {
	return func(c *container.Container) bool {
		if len(refs) == 0 {
			return true
		}
		for _, r := range refs {
			if c.Pod != "" && (names[c.Pod] == r || strings.HasPrefix(c.Pod, r)) {
				return true
			}
		}
		return false
	}
}

// removeUser removes, for rmi -f, a container of the image: a pod's infra
// container goes with its pod and the pod's other containers (as Podman's
// rmi -f of the pause image does).
func removeUser(ctx *cli.Context, cs *container.Store, c *container.Container) error {
	if !c.PodInfra {
		return cs.Remove(c, true)
	}
	ps, err := openPods(ctx)
	if err != nil {
		return err
	}
	p, err := ps.Get(c.Pod)
	if errors.Is(err, pod.ErrNoSuchPod) {
		return cs.Remove(c, true) // its pod is gone: it may go alone
	}
	if err != nil {
		return err
	}
	return removePod(ps, cs, p, true, nil)
}
