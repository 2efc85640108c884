package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/blkiodev"
	ctypes "github.com/moby/moby/api/types/container"
	nettypes "github.com/moby/moby/api/types/network"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/seccomp"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/frontend/volume"
)

// decodeCreate reads the body of POST /containers/create. Unknown fields
// are ignored, as Docker does (clients send fields of newer versions);
// what cannot be honoured is refused by createOptions.
func decodeCreate(r io.Reader) (*ctypes.CreateRequest, error) {
	var req ctypes.CreateRequest
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, withStatus(http.StatusRequestEntityTooLarge, err)
		}
		return nil, badRequest("decode the container's configuration: %v", err)
	}
	if req.Config == nil || req.Image == "" {
		return nil, badRequest("config has no Image: name the image to create the container from")
	}
	return &req, nil
}

// createOptions turns a create request into the options container.Store
// takes, the image's part left to the caller. An option myctr cannot
// honour is a 400 naming it, never ignored.
func createOptions(req *ctypes.CreateRequest, name string) (*container.CreateOptions, error) {
	if name != "" {
		// Docker's clients may send the name with its leading slash.
		name = strings.TrimPrefix(name, "/")
		if err := container.ValidName(name); err != nil {
			return nil, withStatus(400, err)
		}
	}
	o := &container.CreateOptions{
		Name:        name,
		Command:     req.Cmd,
		Env:         req.Env,
		Labels:      req.Labels,
		Workdir:     req.WorkingDir,
		User:        req.User,
		Hostname:    req.Hostname,
		Tty:         req.Tty,
		Interactive: req.OpenStdin,
	}
	if req.Entrypoint != nil {
		var ep string
		switch {
		case len(req.Entrypoint) == 0 || (len(req.Entrypoint) == 1 && req.Entrypoint[0] == ""):
			ep = "" // reset the image's
		default:
			b, _ := json.Marshal([]string(req.Entrypoint))
			ep = string(b)
		}
		o.Entrypoint = &ep
	}
	for _, e := range o.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return nil, badRequest("invalid environment variable %q", e)
		}
	}
	if req.StopSignal != "" {
		sig, err := container.ParseSignal(req.StopSignal)
		if err != nil {
			return nil, withStatus(400, fmt.Errorf("StopSignal: %w", err))
		}
		o.StopSignal = unix.SignalName(sig)
	}
	if req.Domainname != "" || req.NetworkDisabled || len(req.OnBuild) > 0 {
		return nil, withStatus(501, errors.New("Domainname, NetworkDisabled and OnBuild are not supported by myctr"))
	}
	if req.StopTimeout != nil {
		if *req.StopTimeout < 0 {
			return nil, badRequest("invalid StopTimeout %d", *req.StopTimeout)
		}
		t := uint(*req.StopTimeout)
		o.StopTimeout = &t
	}
	if h := req.Healthcheck; h != nil {
		if h.StartInterval != 0 {
			return nil, withStatus(501, errors.New("Healthcheck.StartInterval is not supported: the check runs every Interval from the start"))
		}
		// Zero fields are the image's, as in Docker (Create merges).
		if len(h.Test) > 0 || h.Interval != 0 || h.Timeout != 0 || h.StartPeriod != 0 || h.Retries != 0 {
			o.Healthcheck = &container.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		}
	}
	hc := req.HostConfig
	if hc == nil {
		return o, endpoints(o, "", req.NetworkingConfig)
	}
	o.Remove = hc.AutoRemove
	o.ReadOnly = hc.ReadonlyRootfs
	o.CapAdd, o.CapDrop = hc.CapAdd, hc.CapDrop
	o.ExtraHosts = hc.ExtraHosts
	for _, a := range hc.DNS {
		o.DNS = append(o.DNS, a.String())
	}
	o.DNSSearch, o.DNSOptions = hc.DNSSearch, hc.DNSOptions
	o.GroupAdd = hc.GroupAdd
	// As --ulimit values, to be checked as those are.
	var ulimits []string
	for _, u := range hc.Ulimits {
		if u != nil {
			ulimits = append(ulimits, u.String())
		}
	}
	ul, err := container.ParseUlimits(ulimits)
	if err != nil {
		return nil, badRequest("HostConfig.Ulimits: %v", err)
	}
	o.Ulimits = ul
	if hc.ShmSize < 0 {
		return nil, badRequest("HostConfig.ShmSize %d: want a size in bytes", hc.ShmSize)
	}
	o.ShmSize = hc.ShmSize
	for _, d := range hc.Devices {
		v := d.PathOnHost
		if d.PathInContainer != "" || d.CgroupPermissions != "" {
			v += ":" + d.PathInContainer
			if d.PathInContainer == "" {
				v += d.PathOnHost
			}
			if d.CgroupPermissions != "" {
				v += ":" + d.CgroupPermissions
			}
		}
		m, err := container.ParseDevice(v)
		if err != nil {
			return nil, badRequest("HostConfig.Devices: %v", err)
		}
		o.Devices = append(o.Devices, m)
	}
	if len(hc.Annotations) > 0 {
		var list []string
		for k, v := range hc.Annotations {
			list = append(list, k+"="+v)
		}
		a, err := container.ParseAnnotations(list)
		if err != nil {
			return nil, badRequest("HostConfig.Annotations: %v", err)
		}
		o.Annotations = a
	}
	ipc, err := container.ParseIPC(string(hc.IpcMode))
	if err != nil {
		return nil, withStatus(400, fmt.Errorf("HostConfig.IpcMode: %w", err))
	}
	o.IPC = ipc
	if hc.Init != nil {
		o.Init = *hc.Init
	}
	for _, b := range hc.Binds {
		m, err := volume.ParseVolumeFlag(b)
		if err != nil {
			return nil, withStatus(400, fmt.Errorf("HostConfig.Binds %q: %w", b, err))
		}
		o.Volumes = append(o.Volumes, b)
		o.Mounts = append(o.Mounts, m)
	}
	if err := hostMounts(req, o); err != nil {
		return nil, err
	}
	switch mode := string(hc.NetworkMode); mode {
	case "", "default", "bridge":
		// The rootless default, chosen by the caller (Network "").
	case "none", "host":
		o.Network = mode
	default:
		if strings.HasPrefix(mode, "container:") {
			o.Network = container.NetContainerPrefix + strings.TrimPrefix(mode, "container:")
			break
		}
		if !names.Valid(mode) {
			return nil, badRequest("HostConfig.NetworkMode %q: use none, host, bridge (the rootless default), container:NAME or the name of a network", mode)
		}
		// A named network (network create), as run --network NAME:
		// its interface is eth0.
		o.Networks = map[string]container.NetworkAttach{mode: {Interface: "eth0"}}
	}
	if err := endpoints(o, string(hc.NetworkMode), req.NetworkingConfig); err != nil {
		return nil, err
	}
	ports, err := portBindings(hc)
	if err != nil {
		return nil, err
	}
	o.Ports = ports
	switch p := hc.RestartPolicy; p.Name {
	case "", "no":
	default:
		s := string(p.Name)
		if p.MaximumRetryCount > 0 {
			s += ":" + strconv.Itoa(p.MaximumRetryCount)
		}
		rp, err := container.ParseRestartPolicy(s)
		if err != nil {
			return nil, withStatus(400, err)
		}
		o.Restart = rp
	}
	if hc.OomScoreAdj != 0 {
		if hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000 {
			return nil, badRequest("invalid OomScoreAdj %d: must be between -1000 and 1000", hc.OomScoreAdj)
		}
		v := hc.OomScoreAdj
		o.OOMScoreAdj = &v
	}
	switch ns := string(hc.CgroupnsMode); ns {
	case "", "private", "host":
		o.Cgroupns = ns
	default:
		return nil, badRequest("invalid CgroupnsMode %q: private or host", ns)
	}
	if u := string(hc.UsernsMode); u != "" {
		if _, err := userns.ParseMode(u); err != nil {
			return nil, withStatus(400, fmt.Errorf("UsernsMode: %w", err))
		}
		o.Userns = u
	}
	// What myctr cannot do is refused, never left out.
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"PidMode", hc.PidMode != "" && hc.PidMode != "private"},
		{"UTSMode", hc.UTSMode != "" && hc.UTSMode != "private"},
		{"StorageOpt", len(hc.StorageOpt) > 0},
		{"Runtime", hc.Runtime != "" && hc.Runtime != "runc"},
		{"Isolation", hc.Isolation != "" && hc.Isolation != "default"},
		{"MaskedPaths", hc.MaskedPaths != nil},
		{"ReadonlyPaths", hc.ReadonlyPaths != nil},
		{"CPUCount", hc.CPUCount != 0},
	} {
		if f.set {
			return nil, withStatus(501, fmt.Errorf("HostConfig.%s is not supported by myctr", f.name))
		}
	}
	for _, so := range hc.SecurityOpt {
		switch k, v, _ := strings.Cut(strings.Replace(so, ":", "=", 1), "="); {
		case k == "no-new-privileges" && (v == "" || v == "true"):
			o.NoNewPrivs = true
		case k == "no-new-privileges" && v == "false":
		case k == "seccomp" && v == seccomp.Unconfined:
			o.Seccomp = seccomp.Unconfined
		case k == "label" && v == "disable", k == "apparmor" && v == "unconfined":
			// No SELinux or AppArmor confinement is applied: nothing to lift.
		case k == "seccomp":
			// The docker CLI sends a profile's content, not its file.
			return nil, withStatus(501, errors.New("HostConfig.SecurityOpt seccomp=PROFILE: a profile through the API is not supported (unconfined is; myctr run --security-opt seccomp=FILE takes one)"))
		default:
			return nil, withStatus(501, fmt.Errorf("HostConfig.SecurityOpt %q is not supported (no-new-privileges, seccomp=unconfined, label=disable are)", so))
		}
	}
	if hc.Privileged {
		// Rootless Podman's meaning, as run --privileged.
		o.Privileged = true
		if o.Seccomp == "" {
			o.Seccomp = seccomp.Unconfined
		}
	}
	return o, nil
}

// endpoints reads NetworkingConfig.EndpointsConfig into o.Networks, as
// run's --network NAME --network-alias A --ip IP: each named network's
// aliases and address; a network other than NetworkMode's is joined too
// (after it, as further --network flags). The default network takes no
// aliases or address, as in Docker.
func endpoints(o *container.CreateOptions, mode string, nc *nettypes.NetworkingConfig) error {
	if nc == nil {
		return nil
	}
	for name, e := range nc.EndpointsConfig {
		switch {
		case name == "bridge" || name == "default" || name == "host" || name == "none":
			if e != nil && (len(e.Aliases) > 0 || (e.IPAMConfig != nil && e.IPAMConfig.IPv4Address.IsValid())) {
				// Docker's words.
				return badRequest("network-scoped alias is supported only for containers in user defined networks")
			}
			continue
		case o.Networks == nil:
			return badRequest("NetworkingConfig names network %s, but HostConfig.NetworkMode %q is no named network", name, mode)
		}
		a, err := endpointAttach(name, e)
		if err != nil {
			return err
		}
		if cur, ok := o.Networks[name]; ok {
			a.Interface = cur.Interface
		}
		o.Networks[name] = a
	}
	return nil
}

// publishAll adds, for HostConfig.PublishAllPorts (run -P), a mapping on
// a free host port of each port the image or the request exposes that
// PortBindings does not publish already.
func publishAll(o *container.CreateOptions, image map[string]struct{}, req nettypes.PortSet) error {
	exposed := map[string]struct{}{}
	for p := range image {
		exposed[p] = struct{}{}
	}
	for p := range req {
		exposed[p.String()] = struct{}{}
	}
	ports, err := network.ExposedPorts(exposed)
	if err != nil {
		return badRequest("PublishAllPorts: %v", err)
	}
	for _, p := range ports {
		if !slices.ContainsFunc(o.Ports, func(q network.PortMapping) bool {
			return q.ContainerPort == p.ContainerPort && q.Protocol == p.Protocol
		}) {
			o.Ports = append(o.Ports, p)
		}
	}
	return nil
}

// portBindings reads HostConfig.PortBindings ("80/tcp": [{HostIp,
// HostPort}]); PublishAllPorts is publishAll's, once the image is known.
func portBindings(hc *ctypes.HostConfig) ([]network.PortMapping, error) {
	var out []network.PortMapping
	for port, binds := range hc.PortBindings {
		proto := string(port.Proto())
		if proto != "tcp" && proto != "udp" {
			return nil, badRequest("port %s: protocol %q is not supported (tcp or udp)", port, proto)
		}
		if len(binds) == 0 {
			binds = []nettypes.PortBinding{{}} // any free host port
		}
		for _, b := range binds {
			pm := network.PortMapping{ContainerPort: port.Num(), Protocol: proto}
			if b.HostIP.IsValid() {
				pm.HostIP = b.HostIP.String()
				if pm.HostIP == "0.0.0.0" || pm.HostIP == "::" {
					pm.HostIP = ""
				}
			}
			if b.HostPort != "" {
				n, err := strconv.ParseUint(b.HostPort, 10, 16)
				if err != nil {
					return nil, badRequest("port %s: invalid HostPort %q", port, b.HostPort)
				}
				pm.HostPort = uint16(n)
			}
			out = append(out, pm)
		}
	}
	return out, nil
}

// resourceFlags reads HostConfig's resources as the values of the
// resource flags (cgroup.Flags) that `myctr run` takes, so that the
// limits are parsed, checked and applied as the CLI's: nil for a flag
// the request leaves unset. Limits myctr does not set are refused.
func resourceFlags(hc *ctypes.HostConfig) (map[string][]string, error) {
	f := map[string][]string{}
	if hc == nil {
		return f, nil
	}
	r := hc.Resources
	num := func(flag string, v int64) {
		if v != 0 {
			f[flag] = []string{strconv.FormatInt(v, 10)}
		}
	}
	num("memory", r.Memory)
	num("memory-reservation", r.MemoryReservation)
	num("memory-swap", r.MemorySwap)
	num("cpu-shares", r.CPUShares)
	num("cpu-quota", r.CPUQuota)
	num("cpu-period", r.CPUPeriod)
	num("blkio-weight", int64(r.BlkioWeight))
	if r.NanoCPUs != 0 {
		f["cpus"] = []string{strconv.FormatFloat(float64(r.NanoCPUs)/1e9, 'f', -1, 64)}
	}
	if r.CpusetCpus != "" {
		f["cpuset-cpus"] = []string{r.CpusetCpus}
	}
	if r.CpusetMems != "" {
		f["cpuset-mems"] = []string{r.CpusetMems}
	}
	// Docker's 0 and -1 are "no limit", which the docker CLI sends when
	// given none: as none given (containers.conf's pids_limit applies).
	if r.PidsLimit != nil && *r.PidsLimit > 0 {
		num("pids-limit", *r.PidsLimit)
	}
	for _, d := range r.BlkioWeightDevice {
		if d != nil {
			f["blkio-weight-device"] = append(f["blkio-weight-device"], fmt.Sprintf("%s:%d", d.Path, d.Weight))
		}
	}
	for flag, ds := range map[string][]*blkiodev.ThrottleDevice{
		"device-read-bps": r.BlkioDeviceReadBps, "device-write-bps": r.BlkioDeviceWriteBps,
		"device-read-iops": r.BlkioDeviceReadIOps, "device-write-iops": r.BlkioDeviceWriteIOps,
	} {
		for _, d := range ds {
			if d != nil {
				f[flag] = append(f[flag], fmt.Sprintf("%s:%d", d.Path, d.Rate))
			}
		}
	}
	switch {
	case r.CgroupParent != "":
		return nil, withStatus(http.StatusNotImplemented, errors.New("HostConfig.CgroupParent is not supported by this API yet"))
	case r.CPURealtimePeriod != 0 || r.CPURealtimeRuntime != 0:
		return nil, badRequest("HostConfig.CpuRealtimePeriod and CpuRealtimeRuntime cannot be set: cgroup v2 has no real-time CPU controller")
	case len(r.DeviceCgroupRules) > 0 || len(r.DeviceRequests) > 0:
		return nil, withStatus(http.StatusNotImplemented, errors.New("HostConfig.DeviceCgroupRules and DeviceRequests are not supported by this API yet"))
	case r.MemorySwappiness != nil && *r.MemorySwappiness != -1:
		return nil, badRequest("HostConfig.MemorySwappiness cannot be set: cgroup v2 has no per-cgroup swappiness")
	case r.OomKillDisable != nil && *r.OomKillDisable:
		return nil, badRequest("HostConfig.OomKillDisable cannot be set: cgroup v2 cannot turn off the OOM killer")
	}
	return f, nil
}

// sysctlList is HostConfig.Sysctls as --sysctl's KEY=VALUE, in key order.
func sysctlList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
