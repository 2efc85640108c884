// Package doctor is `myctr doctor`: it asks the packages that do the work
// what they would find on this host (userns, network, cgroup, rootfs,
// container, helperclient) and turns each answer into a finding a person
// can act on, with the exact fix where there is one. It decides nothing a
// container's start does not decide the same way: the detection is the
// other packages' own, and the overlay is mounted by rootfs.MountOverlay,
// in a throwaway user namespace, as a container's root is.
package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/rootfs"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/protocol"
)

// Status is a finding's verdict.
type Status string

// Verdicts. A warning is something that works with less (no resource
// limits, no bridge); an error is something that makes containers fail.
const (
	OK      Status = "ok"
	Warning Status = "warning"
	Error   Status = "error"
)

// Finding is the result of one check.
type Finding struct {
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Hint    string `json:"hint"`
}

// Options say what to check.
type Options struct {
	// Dirs are the store and run roots that the other commands use.
	Dirs container.Dirs
}

// Space thresholds of the store's file system.
const (
	WarnFree  = 1 << 30   // below: warning
	ErrorFree = 100 << 20 // below: error
)

// Run runs every check, in an order where a later finding's cause is
// usually an earlier one's.
func Run(o Options) []Finding {
	var out []Finding
	out = append(out, subordinate()...)
	out = append(out, mapper("newuidmap"), mapper("newgidmap"))
	out = append(out, sysctls(), runtimeDir(), tun())
	out = append(out, networkTools()...)
	out = append(out, cgroups(), store(o.Dirs), overlay(o.Dirs), helper())
	return out
}

// Failed reports whether any finding is an error.
func Failed(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Status == Error })
}

func ok(check, format string, a ...any) Finding {
	return Finding{Check: check, Status: OK, Message: fmt.Sprintf(format, a...)}
}

func bad(check string, s Status, hint, format string, a ...any) Finding {
	return Finding{Check: check, Status: s, Message: fmt.Sprintf(format, a...), Hint: hint}
}

func subordinate() []Finding {
	if os.Getuid() == 0 {
		return []Finding{ok("subuid", "running as root: containers map root's own ids 0-65536, no /etc/subuid range is needed")}
	}
	s, err := userns.LookupSubordinate()
	if err != nil {
		return []Finding{bad("subuid", Error, "check the files' permissions (they must be readable by everyone: chmod 0644 /etc/subuid /etc/subgid)", "%v", err)}
	}
	var out []Finding
	for _, f := range []struct {
		check, file string
		r           *userns.Range
	}{{"subuid", userns.SubUIDFile, s.SubUID}, {"subgid", userns.SubGIDFile, s.SubGID}} {
		switch {
		case f.r == nil:
			out = append(out, bad(f.check, Error, "as root, run: "+userns.ProposeRange(s.User),
				"no subordinate range for %s in %s: containers map only uid 0 (you), every file of an image becomes root's, and a process that runs as another user (USER, -u) fails", s.User, f.file))
		case f.r.Count < userns.MinRange:
			out = append(out, bad(f.check, Warning, "as root, run: "+userns.ProposeRange(s.User)+" (and remove the small range)",
				"%s has %d subordinate ids from %d in %s, fewer than %d: images with higher ids cannot be unpacked with their owners", s.User, f.r.Count, f.r.Start, f.file, userns.MinRange))
		default:
			out = append(out, ok(f.check, "%s has %d subordinate ids from %d in %s", s.User, f.r.Count, f.r.Start, f.file))
		}
	}
	return out
}

func mapper(tool string) Finding {
	if os.Getuid() == 0 {
		return ok(tool, "running as root: %s is not needed", tool)
	}
	m, err := userns.CheckMapper(tool)
	switch {
	case errors.Is(err, userns.ErrNoMapper):
		return bad(tool, Error, "as root, run: apt-get install uidmap (dnf install shadow-utils on Fedora)", "%s is not in PATH", tool)
	case err != nil:
		return bad(tool, Error, "reinstall it: apt-get install --reinstall uidmap", "%v", err)
	case m.SetuidRoot:
		return ok(tool, "%s is setuid root (mode %s)", m.Path, octal(m.Mode))
	case m.FileCap:
		return ok(tool, "%s has file capabilities (%s)", m.Path, capName(tool))
	}
	return bad(tool, Error, fmt.Sprintf("as root, run: chmod u+s %s (or setcap %s+ep %s)", m.Path, capName(tool), m.Path),
		"%s (mode %s) is neither setuid root nor has %s: it cannot write the user namespace's maps", m.Path, octal(m.Mode), capName(tool))
}

// octal is a file mode as chmod takes it.
func octal(m os.FileMode) string {
	n := uint32(m.Perm())
	for bit, v := range map[os.FileMode]uint32{os.ModeSetuid: 0o4000, os.ModeSetgid: 0o2000, os.ModeSticky: 0o1000} {
		if m&bit != 0 {
			n |= v
		}
	}
	return fmt.Sprintf("%04o", n)
}

func capName(tool string) string {
	if tool == "newgidmap" {
		return "cap_setgid"
	}
	return "cap_setuid"
}

func sysctls() Finding {
	s := userns.ReadSysctls()
	switch {
	case s.MaxUserNamespaces == 0:
		return bad("userns", Error, "as root, run: sysctl -w user.max_user_namespaces=28633, and set it in /etc/sysctl.d/99-userns.conf",
			"user.max_user_namespaces is 0: no user namespace may be created")
	case s.UnprivilegedClone == 0:
		return bad("userns", Error, "as root, run: sysctl -w kernel.unprivileged_userns_clone=1, and set it in /etc/sysctl.d/99-userns.conf",
			"kernel.unprivileged_userns_clone is 0: users may not create user namespaces")
	case s.AppArmorRestrict == 1:
		return bad("userns", Warning, "as root, either give myctr an AppArmor profile with the \"userns,\" rule (as /etc/apparmor.d/ does for podman), or run: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
			"kernel.apparmor_restrict_unprivileged_userns is 1: AppArmor takes the capabilities of unconfined programs' user namespaces (the overlay check shows whether myctr is affected)")
	}
	msg := "unprivileged user namespaces are allowed"
	if s.MaxUserNamespaces > 0 {
		msg += fmt.Sprintf(" (user.max_user_namespaces=%d)", s.MaxUserNamespaces)
	}
	return ok("userns", "%s", msg)
}

func runtimeDir() Finding {
	const check = "runtime-dir"
	uid := os.Getuid()
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if uid == 0 {
		return ok(check, "running as root: runtime state is kept in %s", container.DefaultDirs().RunRoot)
	}
	fix := fmt.Sprintf("log in through systemd-logind (pam_systemd sets it up); else, as root: install -d -m 0700 -o %d -g %d /run/user/%d, then export XDG_RUNTIME_DIR=/run/user/%d", uid, os.Getgid(), uid, uid)
	if dir == "" {
		return bad(check, Warning, fix, "XDG_RUNTIME_DIR is not set: myctr keeps its runtime state in %s, and no user manager's bus can be found", container.DefaultDirs().RunRoot)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return bad(check, Error, fix, "XDG_RUNTIME_DIR=%s: %v", dir, err)
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return bad(check, Error, fix, "XDG_RUNTIME_DIR=%s is not a directory", dir)
	case sys != nil && int(sys.Uid) != uid:
		return bad(check, Error, fix, "XDG_RUNTIME_DIR=%s belongs to uid %d, not to you (uid %d)", dir, sys.Uid, uid)
	case st.Mode().Perm() != 0o700:
		return bad(check, Error, "run: chmod 0700 "+dir, "XDG_RUNTIME_DIR=%s has mode %04o, not 0700: other users may read or change containers' runtime files", dir, st.Mode().Perm())
	}
	return ok(check, "XDG_RUNTIME_DIR=%s is yours, mode 0700", dir)
}

func tun() Finding {
	if err := network.CheckTun(); err != nil {
		return bad("tun", Error, network.Hint(err), "%v", err)
	}
	return ok("tun", "/dev/net/tun can be opened (pasta and slirp4netns need it)")
}

func networkTools() []Finding {
	fixed := network.PastaFixedAfter()
	fixed = fixed[:4] + "-" + fixed[4:6] + "-" + fixed[6:]
	pasta, slirp := network.LookTool(network.ModePasta), network.LookTool(network.ModeSlirp4netns)
	both := fmt.Sprintf("as root, run: apt-get install %s %s", pasta.Package, slirp.Package)
	// What DefaultMode chooses, so that the findings say the same.
	mode, modeErr := network.DefaultMode()
	if modeErr != nil {
		return []Finding{
			bad(pasta.Name, Error, both, "%s: neither pasta nor slirp4netns is usable, so every container needs --network none or bridge", toolState(pasta)),
			bad(slirp.Name, Error, both, "%s", toolState(slirp)),
		}
	}
	var out []Finding
	switch {
	case pasta.Err == nil && pasta.Trusted:
		out = append(out, ok(pasta.Name, "%s (%s): the default --network", pasta.Path, pasta.Version))
	case pasta.Err == nil:
		out = append(out, bad(pasta.Name, Warning, "install a passt released after "+fixed+" (Debian 13, Ubuntu 24.04, or upstream) for pasta; slirp4netns serves until then",
			"%s reports %q, no release after %s: it loses incoming TCP from non-loopback clients, so myctr uses %s by default", pasta.Path, pasta.Version, fixed, mode))
	case pasta.Path != "":
		out = append(out, bad(pasta.Name, Warning, "reinstall it: apt-get install --reinstall passt", "%s", toolState(pasta)))
	default:
		out = append(out, ok(pasta.Name, "pasta is not installed (optional): %s is the default --network", mode))
	}
	switch {
	case slirp.Err == nil && mode == network.ModeSlirp4netns:
		out = append(out, ok(slirp.Name, "%s (%s): the default --network", slirp.Path, slirp.Version))
	case slirp.Err == nil:
		out = append(out, ok(slirp.Name, "%s (%s): for --network slirp4netns", slirp.Path, slirp.Version))
	case slirp.Path != "":
		out = append(out, bad(slirp.Name, Error, "reinstall it: apt-get install --reinstall slirp4netns", "%s", toolState(slirp)))
	case mode == network.ModePasta && pasta.Trusted:
		out = append(out, ok(slirp.Name, "slirp4netns is not installed (optional: pasta is the default)"))
	default:
		out = append(out, bad(slirp.Name, Warning, "as root, run: apt-get install slirp4netns",
			"slirp4netns is not installed, and the pasta there is (%s) loses incoming TCP from non-loopback clients", pasta.Version))
	}
	return out
}

func toolState(t network.Tool) string {
	if t.Path == "" {
		return t.Name + " is not in PATH"
	}
	return fmt.Sprintf("%s does not run: %v", t.Path, t.Err)
}

// limitsProbe asks for a limit of each controller run's flags set, so
// that cgroup.Choose says where they would come from, or why nowhere.
var limitsProbe = map[string]string{"memory": "64m", "cpus": "1", "pids-limit": "100"}

func cgroups() Finding {
	const check = "cgroups"
	d, err := cgroup.Detect(cgroup.HostEnv())
	if err != nil {
		return bad(check, Warning, "", "%v", err)
	}
	r, err := cgroup.Parse(func(flag string) []string {
		if v, ok := limitsProbe[flag]; ok {
			return []string{v}
		}
		return nil
	})
	if err != nil {
		return bad(check, Warning, "", "%v", err)
	}
	src, err := cgroup.Choose(r, d)
	var ue *cgroup.UnavailableError
	switch {
	case errors.As(err, &ue):
		return bad(check, Warning, ue.Hint, "%s; resource limits (--memory, --cpus, --pids-limit) are refused: %s", d.Layout, ue.Reason)
	case err != nil:
		return bad(check, Warning, "", "%v", err)
	case src == cgroup.SourceUser:
		f := ok(check, "cgroup v2; your systemd user manager (%s) delegates: %s", d.Manager, strings.Join(d.Delegated, " "))
		if !slices.Contains(d.Delegated, "io") {
			f.Status, f.Hint = Warning, cgroup.DelegateHint
			f.Message += "; not io, so --device-read-bps and friends are refused"
		}
		return f
	case src == cgroup.SourceHelper:
		return ok(check, "cgroup v2; containers' cgroups come from myctr-helper (polkit action %s); your user manager delegates: %s", protocol.ActionCgroup, orNone(d.Delegated))
	}
	return ok(check, "%s", d.Layout)
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " ")
}

func store(d container.Dirs) Finding {
	fs, err := d.StoreFS()
	if err != nil {
		return bad("store", Error, "pass --root (or set XDG_DATA_HOME) to a directory of your own", "%v", err)
	}
	msg := fmt.Sprintf("%s is on %s, %s free of %s", d.Storage(), fs.Type, size(fs.Free), size(fs.Total))
	hint := "free space on " + fs.Path + ": myctr image prune, myctr rm of stopped containers, or pass --root on a larger file system"
	switch {
	case fs.Free < ErrorFree:
		return bad("store", Error, hint, "%s: less than %s, pulls and builds fail", msg, size(ErrorFree))
	case fs.Free < WarnFree:
		return bad("store", Warning, hint, "%s: less than %s", msg, size(WarnFree))
	}
	return ok("store", "%s", msg)
}

func size(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// overlay mounts a tiny overlay in a fresh user and mount namespace with
// the user's mapping, on the store's file system (rootfs.Probe).
func overlay(d container.Dirs) Finding {
	const check = "overlay"
	m, err := userns.Current()
	if err != nil {
		return bad(check, Error, "", "read the subordinate ranges: %v", err)
	}
	if err := os.MkdirAll(d.Storage(), 0o700); err != nil {
		return bad(check, Error, "pass --root (or set XDG_DATA_HOME) to a directory of your own", "create the store: %v", err)
	}
	dir, err := os.MkdirTemp(d.Storage(), ".doctor-")
	if err != nil {
		return bad(check, Error, "pass --root (or set XDG_DATA_HOME) to a directory of your own", "%v", err)
	}
	defer os.Remove(dir)
	chownID := 0
	if m.HasRange() {
		chownID = 1 // the first subordinate id
	}
	var stderr bytes.Buffer
	u := &nsexec.UserNSCommand{Sub: rootfs.ProbeWork, Args: []string{dir, strconv.Itoa(chownID)}, Stdout: &stderr, Stderr: &stderr}
	if err := u.Run(m); err != nil {
		why := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stderr.String()), "Error: "))
		if why == "" {
			why = err.Error()
		}
		// A failure inside the probe names its step (rootfs.ErrProbe);
		// anything before it is the namespace's own.
		hint := "allow unprivileged user namespaces (see the userns check)"
		var me *userns.MapperError
		switch {
		case errors.Is(err, userns.ErrNoMapper), errors.As(err, &me):
			hint = "fix newuidmap/newgidmap and the subordinate ranges (see their checks)"
		case strings.Contains(why, rootfs.ErrProbe.Error()):
			hint = "put the store on ext4, xfs or btrfs: --root, or XDG_DATA_HOME (overlay needs Linux 5.11 or later to mount in a user namespace)"
		}
		return bad(check, Error, hint, "an overlay in a user namespace on %s: %s", d.Storage(), why)
	}
	what := "write, whiteout"
	if chownID != 0 {
		what += ", chown to a subordinate id"
	}
	return ok(check, "an overlay mounts in a user namespace on %s (%s)", d.Storage(), what)
}

// helperTimeout bounds GetVersion, which may start the helper.
var helperTimeout = 10 * time.Second

func helper() Finding {
	const check = "helper"
	in := helperclient.FindInstallation()
	install := "as root, from myctr's source: make install PREFIX=/usr (the helper, its D-Bus activation file and bus policy, and the polkit actions)"
	if in.ActivationFile == "" {
		return bad(check, Warning, install+"; needed only for --network bridge and, on cgroup v2 without a delegating user manager, resource limits",
			"myctr-helper is not installed (no %s.service in %s)", protocol.BusName, strings.Join(helperclient.ActivationDirs, ", "))
	}
	var missing []string
	if !in.ExecOK {
		missing = append(missing, fmt.Sprintf("the program %q that %s names", in.Exec, in.ActivationFile))
	}
	if in.BusPolicy == "" {
		missing = append(missing, fmt.Sprintf("the bus policy %s.conf (in %s)", protocol.BusName, strings.Join(helperclient.BusPolicyDirs, " or ")))
	}
	if in.PolicyFile == "" {
		missing = append(missing, "the polkit actions (no .policy file in "+strings.Join(helperclient.PolicyDirs, " or ")+" declares them)")
	} else if len(in.Missing) > 0 {
		missing = append(missing, fmt.Sprintf("the polkit actions %s (not in %s)", strings.Join(in.Missing, ", "), in.PolicyFile))
	}
	if len(missing) > 0 {
		return bad(check, Error, install, "myctr-helper is installed in part: missing %s", strings.Join(missing, "; "))
	}
	msg := fmt.Sprintf("myctr-helper is installed (%s, %s, polkit actions in %s)", in.Exec, in.ActivationFile, in.PolicyFile)
	if !helperclient.SystemBus() {
		return bad(check, Warning, "start the system bus (systemctl start dbus), or set DBUS_SYSTEM_BUS_ADDRESS", "%s, but no system bus runs to start it", msg)
	}
	// Never interactive: GetVersion needs no authorization, and nothing
	// here may show a polkit prompt.
	c, err := helperclient.Connect(helperclient.Options{})
	if err != nil {
		return bad(check, Warning, "start the system bus (systemctl start dbus), or set DBUS_SYSTEM_BUS_ADDRESS", "%s, but: %v", msg, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	v, err := c.Version(ctx)
	if err != nil {
		return bad(check, Error, "look at the system bus's log (journalctl -u dbus) for why the helper did not start", "%s, but GetVersion failed: %v", msg, err)
	}
	var lacks []string
	for _, f := range protocol.Features {
		if !slices.Contains(v.Features, f) {
			lacks = append(lacks, f)
		}
	}
	if len(lacks) > 0 {
		return bad(check, Warning, "install myctr and myctr-helper from the same release (make install)", "%s; it answers API version %d without %s", msg, v.Version, strings.Join(lacks, " "))
	}
	return ok(check, "%s; it answers API version %d (%s)", msg, v.Version, strings.Join(v.Features, " "))
}
