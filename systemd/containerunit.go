package systemd

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// `myctr generate systemd`: a service unit for one existing container, as
// `podman generate systemd` writes it. Either the unit starts and stops
// that container (which must then exist on every boot), or, with --new,
// it runs the command line that created the container again at every
// start, with the flags that make it a unit's process (the container is
// made at start and removed at stop).

// CtrIDFile is where a --new unit's container id is kept (%t is the
// manager's runtime directory, %n the unit's name), as Podman's.
const CtrIDFile = "%t/%n.ctr-id"

// ErrNoCreateCommand is returned for a container whose record does not say
// how it was made (made by a myctr older than the record's field).
var ErrNoCreateCommand = errors.New("the container's record holds no command line that created it")

// RestartPolicies are the values of Restart= (systemd.service(5)).
var RestartPolicies = []string{"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}

// runOwned are the flags of myctr run that a --new unit sets itself; the
// user's own (any spelling) are removed from the command line.
var runOwned = map[string]bool{
	"cidfile": true, "rm": true, "replace": true, "sdnotify": true, "cgroups": true,
	"detach": true, "d": true,
}

// RewriteCreateCommand turns the command line that created a container
// (os.Args of `myctr [GLOBAL FLAGS] run|create [FLAGS] IMAGE [ARGS]`) into
// a --new unit's ExecStart=: the program becomes binary (an absolute
// path: systemd wants one), the verb becomes run, and -d, --cidfile,
// --replace, --rm, --cgroups=split and --sdnotify=conmon are put right
// after it in place of any the user gave, in whatever spelling ("--x=v",
// "--x v", "-d" alone or in a group like "-dit"). flags maps the names of
// myctr's global flags and run's (without dashes, aliases too) to whether
// the flag is a boolean, which takes no value: that is what tells a flag's
// value from the image. The image and what follows are kept
// as they are. global is the flags before the verb, which the unit's
// stop and rm need too (--root, --runroot).
func RewriteCreateCommand(args []string, binary string, flags map[string]bool) (cmd []Arg, global []string, err error) {
	if len(args) < 2 {
		return nil, nil, ErrNoCreateCommand
	}
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" && args[i] != "--" {
		n, _ := flagWords(args, i, flags)
		global = append(global, args[i:i+n]...)
		i += n
	}
	if i == len(args) || args[i] != "run" && args[i] != "create" {
		return nil, nil, fmt.Errorf("the command line that created the container (%q) has no run or create", strings.Join(args, " "))
	}
	i++
	cmd = append(cmd, Literal(binary))
	for _, g := range global {
		cmd = append(cmd, Literal(g))
	}
	cmd = append(cmd, Spec("run"), Spec("-d"), Spec("--cidfile="+CtrIDFile), Spec("--replace"), Spec("--rm"),
		Spec("--cgroups=split"), Spec("--sdnotify=conmon"))
	for i < len(args) {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			break // the image (or the end of the flags) and all after it
		}
		if _, known := flags[a[1:]]; !known && !strings.HasPrefix(a, "--") && !strings.Contains(a, "=") && len(a) > 2 {
			// A group of short flags ("-dit"); a flag with a value can
			// only be last, and its value is the next word. (A long
			// flag with one dash, "-rm", is a flag as Go spells them.)
			var kept strings.Builder
			for _, c := range a[1:] {
				if !runOwned[string(c)] {
					kept.WriteRune(c)
				}
			}
			n := 1
			if !flags[a[len(a)-1:]] && i+1 < len(args) {
				n = 2
			}
			if kept.Len() > 0 {
				cmd = append(cmd, Literal("-"+kept.String()))
				if n == 2 {
					cmd = append(cmd, Literal(args[i+1]))
				}
			}
			i += n
			continue
		}
		n, name := flagWords(args, i, flags)
		if !runOwned[name] {
			for _, w := range args[i : i+n] {
				cmd = append(cmd, Literal(w))
			}
		}
		i += n
	}
	for _, w := range args[i:] {
		cmd = append(cmd, Literal(w))
	}
	return cmd, global, nil
}

// flagWords says how many words the flag at args[i] takes (1, or 2 when
// its value is the next word) and its name. A flag flags does not know is
// taken to have a value.
func flagWords(args []string, i int, flags map[string]bool) (int, string) {
	name := strings.TrimLeft(args[i], "-")
	name, _, hasValue := strings.Cut(name, "=")
	if hasValue || flags[name] || i+1 == len(args) {
		return 1, name
	}
	return 2, name
}

// ContainerUnitOptions say what ContainerUnit writes.
type ContainerUnitOptions struct {
	ServiceName string // without .service
	Binary      string // the myctr the unit runs
	Version     string // myctr's, for the header ("" leaves it out)
	// Global are myctr's flags before the verb (--root=…) that every
	// command of the unit needs.
	Global []string
	// New: RunCommand (from RewriteCreateCommand) makes the container at
	// each start. Otherwise Container (its id or name) is started and
	// stopped.
	New           bool
	RunCommand    []Arg
	Container     string
	RestartPolicy string // Restart=
	StopTimeout   uint   // seconds; TimeoutStopSec= is 60 more, as Podman's
	// StopSignal is the number of the container's stop signal: a
	// container it ends exits 128+StopSignal, which is a success
	// (SuccessExitStatus=). 0: SIGTERM.
	StopSignal int
}

// ContainerUnit writes the service unit of `myctr generate systemd`.
func ContainerUnit(o ContainerUnitOptions) (string, error) {
	if !slices.Contains(RestartPolicies, o.RestartPolicy) {
		return "", fmt.Errorf("invalid restart policy %q: must be one of %s", o.RestartPolicy, strings.Join(RestartPolicies, ", "))
	}
	if !ValidUnitName(o.ServiceName) {
		return "", fmt.Errorf("%q is not a valid unit name", o.ServiceName)
	}
	myctr := []Arg{Literal(o.Binary)}
	for _, g := range o.Global {
		myctr = append(myctr, Literal(g))
	}
	cmd := func(args ...Arg) string { return CommandLine(append(slices.Clone(myctr), args...)) }
	timeout := strconv.FormatUint(uint64(o.StopTimeout), 10)

	u := &UnitFile{}
	unit := &Section{Name: UnitSection}
	unit.Add("Description", "myctr "+o.ServiceName+".service")
	unit.Add("RequiresMountsFor", "%t")
	svc := &Section{Name: ServiceSection}
	svc.Add("Environment", "MYCTR_SYSTEMD_UNIT=%n")
	svc.Add("Restart", o.RestartPolicy)
	svc.Add("TimeoutStopSec", strconv.FormatUint(uint64(o.StopTimeout)+60, 10))
	if o.New {
		if len(o.RunCommand) == 0 {
			return "", ErrNoCreateCommand
		}
		svc.Add("ExecStartPre", "/bin/rm -f "+CtrIDFile)
		svc.Add("ExecStart", CommandLine(o.RunCommand))
		svc.Add("ExecStop", cmd(Spec("stop"), Spec("--ignore"), Spec("--time="+timeout), Spec("--cidfile="+CtrIDFile)))
		svc.Add("ExecStopPost", "-"+cmd(Spec("rm"), Spec("--force"), Spec("--ignore"), Spec("--cidfile="+CtrIDFile)))
		svc.Add("Type", "notify")
		svc.Add("NotifyAccess", "all")
		svc.Add("Delegate", "yes")
		svc.Add("KillMode", "mixed")
	} else {
		if o.Container == "" {
			return "", errors.New("no container to start")
		}
		svc.Add("ExecStart", cmd(Spec("start"), Spec("--sdnotify=conmon"), Literal(o.Container)))
		svc.Add("ExecStop", cmd(Spec("stop"), Spec("--time="+timeout), Literal(o.Container)))
		svc.Add("Type", "notify")
		svc.Add("NotifyAccess", "all")
	}
	sig := o.StopSignal
	if sig == 0 {
		sig = int(unix.SIGTERM)
	}
	svc.Add("SuccessExitStatus", strconv.Itoa(128+sig))
	install := &Section{Name: InstallSection}
	install.Add("WantedBy", "default.target")
	u.Sections = []*Section{unit, svc, install}

	var b strings.Builder
	b.WriteString("# " + o.ServiceName + ".service\n")
	b.WriteString("# autogenerated by myctr")
	if o.Version != "" {
		b.WriteString(" " + o.Version)
	}
	b.WriteString("\n\n")
	b.WriteString(u.String())
	return b.String(), nil
}
