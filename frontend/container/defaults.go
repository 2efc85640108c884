package container

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/security"
)

// CgroupRequest is what a create asks of the container's cgroup: the
// resource limits (as the flags of cgroup.Flags name them) and where the
// cgroup comes from. `myctr run`'s flags and the API's HostConfig both
// come down to one.
type CgroupRequest struct {
	// Get returns the values given for the resource flag, nil for none.
	Get func(flag string) []string
	// Mode is --cgroups: enabled (or ""), split or disabled; ModeSet
	// says whether it was asked for rather than defaulted.
	Mode    string
	ModeSet bool
	// Parent is --cgroup-parent, a slice of the user's manager.
	Parent string
	// InUnit says whether the create runs in a systemd unit (a service's
	// ExecStart=), whose cgroup then holds the container.
	InUnit bool
}

// ApplyCgroup reads req into o (the resource limits, with containers.conf's
// pids_limit when none is given) and decides where the container's
// cgroup comes from (cgroup.Detect, cgroup.Check). It reads files only,
// and runs before anything is created. A limit this host cannot set is
// an error (a Hinter where the fix is known), never ignored.
func ApplyCgroup(o *CreateOptions, req CgroupRequest, cc *config.Containers) error {
	pids := cc.PidsLimit
	fromConf := false
	r, err := cgroup.Parse(func(flag string) []string {
		v := req.Get(flag)
		if flag == "pids-limit" && v == nil && pids.Set && pids.Value > 0 {
			// containers.conf's pids_limit, as Podman's default; a
			// host that cannot hold it refuses, naming the file.
			fromConf = true
			return []string{strconv.FormatInt(pids.Value, 10)}
		}
		return v
	})
	if err != nil {
		return err
	}
	mode := req.Mode
	switch mode {
	case "", "enabled":
		mode = "enabled"
	case "disabled":
		if !r.Empty() {
			return &hintError{fmt.Errorf("--cgroups=disabled cannot go with --%s: a limit needs the container's own cgroup", r.Set[0].Flag), "drop --cgroups=disabled, or the resource flags"}
		}
		if req.Parent != "" {
			return &hintError{errors.New("--cgroups=disabled cannot go with --cgroup-parent"), "drop one of them"}
		}
	case "split":
		if req.Parent != "" {
			return &hintError{errors.New("--cgroups=split cannot go with --cgroup-parent: the parent is the cgroup myctr runs in"), "drop one of them"}
		}
	case "no-conmon":
		return &hintError{fmt.Errorf("--cgroups=%s is not supported by myctr", mode), "use --cgroups=enabled (the default: a scope of your systemd user manager per container), split or disabled"}
	default:
		return fmt.Errorf("invalid --cgroups %q: must be enabled, disabled or split", mode)
	}
	o.Cgroups = mode
	parent := req.Parent
	if parent != "" && !cgroup.ValidSlice(parent) {
		return &hintError{fmt.Errorf("invalid --cgroup-parent %q: myctr makes containers' cgroups through your systemd user manager, which takes a slice name", parent), "name a slice, such as myctr.slice or mine-web.slice"}
	}
	if mode == "disabled" {
		return nil
	}
	d, err := cgroup.Detect(cgroup.HostEnv())
	if err != nil {
		return err
	}
	if !req.ModeSet && parent == "" && req.InUnit && d.Layout == cgroup.Unified && cgroup.InService(d.Own) {
		// Run by a systemd service (ExecStart=): the container belongs
		// to the unit, whose cgroup holds it (stop, status, Restart=
		// and the unit's own limits see it), as with Podman's
		// --cgroups=split: below the unit's cgroup where the unit
		// delegates it (Delegate=yes), else in it. Only limits the
		// unit cannot hold (not delegated) send the container to a
		// cgroup of its own elsewhere, as outside a unit.
		err := cgroup.CheckSplit(d, r)
		if err == nil && d.Manager != "" && !cgroup.UnitDelegated(d.Own) {
			// A user unit's cgroup is the user's to write whether or
			// not the unit delegates it; only Delegate=yes gives it away.
			err = errors.New("not delegated")
		}
		switch {
		case err == nil:
			mode = "split"
			o.Cgroups = mode
		case r.Empty():
			return nil
		}
	}
	var source string
	if mode == "split" {
		source, err = cgroup.SourceSplit, cgroup.CheckSplit(d, r)
	} else {
		source, err = cgroup.Choose(r, d)
	}
	if err != nil {
		if fromConf {
			err = fmt.Errorf("%w (--pids-limit %d is the pids_limit of %s)", err, pids.Value, pids)
		}
		var ue *cgroup.UnavailableError
		if errors.As(err, &ue) {
			if fromConf {
				return &hintError{err, fmt.Sprintf("%s; or set pids_limit = 0 in [containers] of your containers.conf, or pass --pids-limit=0", ue.Hint)}
			}
			return &hintError{err, ue.Hint}
		}
		return err
	}
	if parent != "" && source != cgroup.SourceUser {
		return &hintError{fmt.Errorf("--cgroup-parent %s: no systemd user manager can make the container's cgroup here (%s)", parent, d.Layout), "run without --cgroup-parent"}
	}
	if source == "" {
		// No source of cgroups and no limits asked for: the container
		// runs in this process's cgroup, as before.
		return nil
	}
	o.CgroupManager = source
	o.CgroupParent = parent
	if !r.Empty() {
		if o.Resources, err = r.OCI(cgroup.BlockDevice); err != nil {
			return err
		}
		o.Limits = r
	}
	return nil
}

// ApplyContainersConf applies containers.conf's defaults that the
// request did not override (initSet: it chose --init itself): --init,
// the capability set, the environment below the image's (as Podman:
// containers.conf's env, then the image's ENV, then -e and --env-file)
// and the default sysctls below sysctls (--sysctl), for o's network.
// A bad value in a file is a *config.FileError naming it.
func ApplyContainersConf(o *CreateOptions, c *config.Containers, initSet bool, sysctls []string) error {
	if c.Init.Set && !initSet {
		o.Init = c.Init.Value
	}
	o.UsernsDefault = c.Userns
	if s := c.DefaultCapabilities; s.Set && !sameCaps(s.Value, security.DefaultCaps) {
		drops := map[string]bool{}
		for _, d := range o.CapDrop {
			n, err := security.NormalizeCap(d)
			if err != nil {
				return err
			}
			drops[n] = true
		}
		var adds []string
		if !drops["ALL"] {
			for _, cp := range s.Value {
				n, err := security.NormalizeCap(cp)
				if err != nil {
					return &config.FileError{File: s.File, Line: s.Line, Msg: fmt.Sprintf("[containers] default_capabilities: %v", err)}
				}
				if !drops[n] {
					adds = append(adds, n)
				}
			}
		}
		// The set is the file's: start from none, add it, then the
		// user's own additions.
		o.CapAdd = append(adds, o.CapAdd...)
		o.CapDrop = append([]string{"ALL"}, o.CapDrop...)
	}
	// The file's env, or Podman's default (TERM=xterm; PATH is the
	// runtime's own default): below the image's ENV, which BuildSpec
	// sets over it, and --unsetenv's to remove.
	o.DefaultEnv = []string{"TERM=xterm"}
	if s := c.Env; s.Set {
		o.DefaultEnv = s.Value
	}
	if err := ApplyResolverConf(o, c); err != nil {
		return err
	}
	defaults := DefaultSysctls
	if s := c.DefaultSysctls; s.Set {
		defaults = s.Value
		if _, err := ParseSysctls(s.Value, ""); err != nil {
			return &config.FileError{File: s.File, Line: s.Line, Msg: fmt.Sprintf("[containers] default_sysctls: %v", err)}
		}
	}
	sys, err := MergeSysctls(defaults, sysctls, o.Network)
	if err != nil {
		return &hintError{err, "--sysctl takes KEY=VALUE, for a namespaced setting: net.* (not with --network host), fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*"}
	}
	if o.IPC == IPCHost {
		for k := range sys {
			if ipcSysctl(k) {
				return &hintError{fmt.Errorf("%w %s: --ipc host shares the host's IPC namespace, whose settings a container may not change", ErrInvalidSysctl, k),
					"drop the --sysctl, or run without --ipc host"}
			}
		}
	}
	o.Sysctls = sys
	return nil
}

// ApplyResolverConf applies containers.conf's dns_servers, dns_searches,
// dns_options (checked here, to name the file; Create puts them before
// the container's own), base_hosts_file and host_containers_internal_ip.
func ApplyResolverConf(o *CreateOptions, c *config.Containers) error {
	for _, d := range []struct {
		s     config.Setting[[]string]
		key   string
		check func(string) error
		into  *[]string
	}{
		{c.DNSServers, "dns_servers", func(v string) error {
			if v == DNSNone {
				return fmt.Errorf("%w: %q is for --dns only", ErrInvalidDNS, v)
			}
			return CheckDNS([]string{v}, nil, nil)
		}, &o.DefaultDNS.Servers},
		{c.DNSSearches, "dns_searches", func(v string) error { return CheckDNS(nil, []string{v}, nil) }, &o.DefaultDNS.Search},
		{c.DNSOptions, "dns_options", func(v string) error { return CheckDNS(nil, nil, []string{v}) }, &o.DefaultDNS.Options},
	} {
		for _, v := range d.s.Value {
			if err := d.check(v); err != nil {
				return &config.FileError{File: d.s.File, Line: d.s.Line, Msg: fmt.Sprintf("[containers] %s: %v", d.key, err)}
			}
		}
		*d.into = d.s.Value
	}
	o.BaseHostsFile, o.HostInternalIP = c.BaseHostsFile.Value, c.HostInternalIP.Value
	return nil
}

func sameCaps(a, b []string) bool {
	set := map[string]bool{}
	for _, c := range a {
		n, err := security.NormalizeCap(c)
		if err != nil {
			return false
		}
		set[n] = true
	}
	if len(set) != len(b) {
		return false
	}
	for _, c := range b {
		if !set[c] {
			return false
		}
	}
	return true
}
