package systemd

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The translation of a Quadlet-style NAME.container file into
// NAME.service. The file is a unit file whose [Container] section says
// what to run; every other section ([Unit], [Service], [Install], X-…)
// goes into the service as written, with the keys that run the container
// added. The keys of [Container] are Quadlet's, with Quadlet's meanings,
// so that a file written for Podman runs under myctr unchanged where
// myctr has the feature; a key myctr does not know is an error (a setting
// silently dropped would run a different container than the one
// described). ExecArgs= is myctr's spelling of PodmanArgs=, which is
// accepted too.

// ContainerSection and ServiceSection name the sections the translation
// reads and writes.
const (
	ContainerSection = "Container"
	ServiceSection   = "Service"
	UnitSection      = "Unit"
	InstallSection   = "Install"
	// The [Container] section is kept in the service, renamed, for
	// `systemctl cat`: systemd ignores sections whose name starts "X-".
	keptContainerSection = "X-Container"
)

// DefaultStopTimeout is the seconds ExecStop= gives a container when
// StopTimeout= is not set: myctr stop's own default.
const DefaultStopTimeout = 10

// How a [Container] key becomes run flags.
type keyKind int

const (
	kindSingle  keyKind = iota // the last assignment counts: --flag=VALUE
	kindList                   // every assignment: --flag=VALUE each (an empty one resets)
	kindWords                  // every word of every assignment: --flag=WORD each
	kindBool                   // a boolean: flag alone when true
	kindSpecial                // handled in code
)

type containerKey struct {
	key  string
	kind keyKind
	flag string // for kindBool, the whole word
}

// containerKeys are the keys of [Container], in the order their flags
// appear on the command line.
var containerKeys = []containerKey{
	{"Image", kindSpecial, ""},
	{"Exec", kindSpecial, ""},
	{"ContainerName", kindSpecial, ""},
	{"Notify", kindSpecial, ""},
	{"LogDriver", kindSpecial, ""},
	{"User", kindSpecial, ""},
	{"Group", kindSpecial, ""},
	{"StopTimeout", kindSpecial, ""},
	{"ExecArgs", kindSpecial, ""},
	{"PodmanArgs", kindSpecial, ""},
	{"Environment", kindSpecial, ""},
	{"EnvironmentFile", kindList, "--env-file"},
	{"WorkingDir", kindSingle, "--workdir"},
	{"HostName", kindSingle, "--hostname"},
	{"Entrypoint", kindSingle, "--entrypoint"},
	{"Network", kindSingle, "--network"},
	{"PublishPort", kindList, "--publish"},
	{"Volume", kindList, "--volume"},
	{"Tmpfs", kindList, "--tmpfs"},
	{"ReadOnly", kindBool, "--read-only"},
	{"RunInit", kindBool, "--init"},
	{"AddCapability", kindWords, "--cap-add"},
	{"DropCapability", kindWords, "--cap-drop"},
	{"NoNewPrivileges", kindBool, "--security-opt=no-new-privileges"},
	{"Memory", kindSingle, "--memory"},
	{"Cpus", kindSingle, "--cpus"},
	{"PidsLimit", kindSingle, "--pids-limit"},
	{"StopSignal", kindSingle, "--stop-signal"},
}

// serviceOwned are [Service] keys the translation sets and a file may not:
// two of either would be an error in systemd, or silently run something
// else than the container.
var serviceOwned = []string{"Type", "ExecStart"}

// unitNameRe is what a unit's name may be made of (systemd.unit(5)).
var unitNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9:_.\\@-]+$`) })

// ValidUnitName checks NAME of NAME.container (or of a unit a [Install]
// key names): the characters systemd allows, and not too long.
func ValidUnitName(name string) bool {
	return unitNameRe().MatchString(name) && len(name) <= 255-len(".service") &&
		name != "." && name != ".."
}

// A Service is a translated container file.
type Service struct {
	Name   string    // NAME.service
	Unit   *UnitFile // the service unit
	Source string    // the container file's path
	// Links are the symlinks [Install] asks for, relative to the output
	// directory ("default.target.wants/NAME.service"), each pointing at
	// "../NAME.service" (or "NAME.service" for an Alias=).
	Links []Link
}

// A Link is one symlink of a generated unit.
type Link struct {
	Path   string // relative to the output directory
	Target string // what the link holds
}

// TranslateContainer turns the parsed NAME.container file cf into the
// service that runs it with the myctr binary at binary. sourcePath is
// written to SourcePath= ("" leaves it out).
func TranslateContainer(cf *UnitFile, name, binary, sourcePath string) (*Service, error) {
	bad := func(line int, format string, args ...any) error {
		return &ParseError{Path: cf.Path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if !ValidUnitName(name) {
		return nil, bad(0, "%q is not a valid unit name", name)
	}
	ct := cf.Section(ContainerSection)
	if ct == nil {
		return nil, bad(0, "no [%s] section", ContainerSection)
	}
	known := map[string]containerKey{}
	for _, k := range containerKeys {
		known[k.key] = k
	}
	for _, e := range ct.Entries {
		if _, ok := known[e.Key]; !ok {
			return nil, bad(e.Line, "unknown key %s= in [%s]", e.Key, ContainerSection)
		}
	}
	if sv := cf.Section(ServiceSection); sv != nil {
		for _, k := range serviceOwned {
			if e, ok := sv.Last(k); ok {
				return nil, bad(e.Line, "%s= in [%s] is set by the generator, which owns how the container starts; remove it", k, ServiceSection)
			}
		}
	}

	last := func(key string) (Entry, bool) {
		e, ok := ct.Last(key)
		if ok && e.Value == "" {
			return e, false // an empty assignment: back to the default
		}
		return e, ok
	}
	words := func(e Entry) ([]string, error) {
		w, err := SplitWords(e.Value)
		if err != nil {
			return nil, bad(e.Line, "%s=: %v", e.Key, err)
		}
		return w, nil
	}

	img, ok := last("Image")
	if !ok {
		return nil, bad(ct.Line, "no Image= in [%s]: it is required", ContainerSection)
	}
	image, err := words(img)
	if err != nil {
		return nil, err
	}
	if len(image) != 1 {
		return nil, bad(img.Line, "Image= must be one word, not %d", len(image))
	}

	if nets := ct.List("Network"); len(nets) > 1 {
		return nil, bad(nets[1].Line, "a second Network=: a myctr container joins one network")
	}

	// A container that ends on its stop signal exits 128+N through
	// myctr: that is how `systemctl stop` ends it, and no failure.
	stopStatus := 128 + int(unix.SIGTERM)
	if e, ok := last("StopSignal"); ok {
		n, err := ParseSignal(e.Value)
		if err != nil {
			return nil, bad(e.Line, "StopSignal=: %v", err)
		}
		stopStatus = 128 + n
	}

	stopTimeout := uint64(DefaultStopTimeout)
	if e, ok := last("StopTimeout"); ok {
		stopTimeout, err = strconv.ParseUint(e.Value, 10, 32)
		if err != nil {
			return nil, bad(e.Line, "StopTimeout=%s is not a number of seconds", e.Value)
		}
	}

	notify := "--sdnotify=conmon"
	if e, ok := last("Notify"); ok {
		b, err := ParseBool(e.Value)
		if err != nil {
			return nil, bad(e.Line, "Notify=: %v", err)
		}
		if b {
			notify = "--sdnotify=container"
		}
	}

	name1 := Spec("--name=systemd-%N")
	if e, ok := last("ContainerName"); ok {
		name1 = Spec("--name=" + e.Value)
	}
	logDriver := Spec("--log-driver=journald")
	if e, ok := last("LogDriver"); ok {
		logDriver = Spec("--log-driver=" + e.Value)
	}

	const cidfile = "--cidfile=%t/%N.cid"
	args := []Arg{
		Literal(binary), Spec("run"), name1, Spec(cidfile), Spec("--replace"), Spec("--rm"),
		Spec("--cgroups=split"), Spec(notify), Spec("-d"), logDriver,
	}
	if e, ok := last("StopTimeout"); ok {
		args = append(args, Spec("--stop-timeout="+e.Value))
	}

	// --user=U[:G]
	user, hasUser := last("User")
	group, hasGroup := last("Group")
	switch {
	case hasUser && hasGroup:
		args = append(args, Spec("--user="+user.Value+":"+group.Value))
	case hasUser:
		args = append(args, Spec("--user="+user.Value))
	case hasGroup:
		return nil, bad(group.Line, "Group= needs User=")
	}

	// Environment=: each word K=V, quotes allowed, as systemd's own.
	for _, e := range ct.List("Environment") {
		ws, err := words(e)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if k, _, ok := strings.Cut(w, "="); !ok || k == "" {
				return nil, bad(e.Line, "Environment=: %q is not NAME=VALUE", w)
			}
			args = append(args, Spec("--env="+w))
		}
	}

	for _, k := range containerKeys {
		switch k.kind {
		case kindSingle:
			if e, ok := last(k.key); ok {
				args = append(args, Spec(k.flag+"="+e.Value))
			}
		case kindList:
			for _, e := range ct.List(k.key) {
				args = append(args, Spec(k.flag+"="+e.Value))
			}
		case kindWords:
			for _, e := range ct.List(k.key) {
				ws, err := words(e)
				if err != nil {
					return nil, err
				}
				for _, w := range ws {
					args = append(args, Spec(k.flag+"="+w))
				}
			}
		case kindBool:
			if e, ok := last(k.key); ok {
				b, err := ParseBool(e.Value)
				if err != nil {
					return nil, bad(e.Line, "%s=: %v", k.key, err)
				}
				if b {
					args = append(args, Spec(k.flag))
				}
			}
		}
	}

	// ExecArgs= (PodmanArgs=): words for run, before the image, in the
	// order written; an empty assignment of either resets both.
	var extra []Arg
	for _, e := range ct.Entries {
		if e.Key != "ExecArgs" && e.Key != "PodmanArgs" {
			continue
		}
		if e.Value == "" {
			extra = extra[:0]
			continue
		}
		ws, err := words(e)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			extra = append(extra, Spec(w))
		}
	}
	args = append(args, extra...)
	args = append(args, Spec(image[0]))
	if e, ok := last("Exec"); ok {
		ws, err := words(e)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			args = append(args, Spec(w))
		}
	}

	svc := &UnitFile{Path: name + ".service"}
	unit := &Section{Name: UnitSection}
	if u := cf.Section(UnitSection); u != nil {
		unit.Entries = append(unit.Entries, u.Entries...)
	}
	if _, ok := unit.Last("Description"); !ok {
		unit.Add("Description", "myctr container "+name)
	}
	if sourcePath != "" {
		unit.Add("SourcePath", sourcePath)
	}
	unit.Add("RequiresMountsFor", "%t")

	bin := Literal(binary)
	service := &Section{Name: ServiceSection}
	service.Add("Environment", "MYCTR_SYSTEMD_UNIT=%n")
	service.Add("KillMode", "mixed")
	service.Add("Delegate", "yes")
	service.Add("Type", "notify")
	service.Add("NotifyAccess", "all")
	service.Add("SyslogIdentifier", "%N")
	service.Add("ExecStart", CommandLine(args))
	service.Add("ExecStop", CommandLine([]Arg{bin, Spec("stop"), Spec("--ignore"),
		Spec("--time=" + strconv.FormatUint(stopTimeout, 10)), Spec(cidfile)}))
	service.Add("ExecStopPost", "-"+CommandLine([]Arg{bin, Spec("rm"), Spec("--force"),
		Spec("--ignore"), Spec(cidfile)}))
	service.Add("SuccessExitStatus", strconv.Itoa(stopStatus))
	if s := cf.Section(ServiceSection); s != nil {
		service.Entries = append(service.Entries, s.Entries...)
	}

	svc.Sections = []*Section{unit, service}
	for _, s := range cf.Sections {
		switch s.Name {
		case UnitSection, ServiceSection:
		case ContainerSection:
			c := *s
			c.Name = keptContainerSection
			svc.Sections = append(svc.Sections, &c)
		default:
			svc.Sections = append(svc.Sections, s)
		}
	}

	links, err := installLinks(cf, name)
	if err != nil {
		return nil, err
	}
	return &Service{Name: name + ".service", Unit: svc, Source: sourcePath, Links: links}, nil
}

// Text is the service's unit file.
func (s *Service) Text() string {
	from := ""
	if s.Source != "" {
		from = " from " + s.Source
	}
	return "# Automatically generated by myctr-generator" + from + "\n" + s.Unit.String()
}

// installLinks are the symlinks that `systemctl enable` would make for
// the [Install] section: a generator's units cannot be enabled, so the
// generator makes them itself (as Quadlet does). WantedBy= and
// RequiredBy= name targets (or other units) that pull the service in;
// Alias= other names for it.
func installLinks(cf *UnitFile, name string) ([]Link, error) {
	in := cf.Section(InstallSection)
	if in == nil {
		return nil, nil
	}
	unit := name + ".service"
	var links []Link
	for _, dep := range []struct{ key, suffix string }{{"WantedBy", ".wants"}, {"RequiredBy", ".requires"}, {"Alias", ""}} {
		for _, e := range in.List(dep.key) {
			ws, err := SplitWords(e.Value)
			if err != nil {
				return nil, &ParseError{Path: cf.Path, Line: e.Line, Msg: fmt.Sprintf("%s=: %v", dep.key, err)}
			}
			for _, w := range ws {
				if !ValidUnitName(w) || !strings.Contains(w, ".") {
					return nil, &ParseError{Path: cf.Path, Line: e.Line, Msg: fmt.Sprintf("%s=: %q is not a unit name", dep.key, w)}
				}
				if dep.suffix == "" {
					if !strings.HasSuffix(w, ".service") {
						return nil, &ParseError{Path: cf.Path, Line: e.Line, Msg: fmt.Sprintf("Alias=%s: an alias of a service must end in .service", w)}
					}
					links = append(links, Link{Path: w, Target: unit})
					continue
				}
				links = append(links, Link{Path: w + dep.suffix + "/" + unit, Target: "../" + unit})
			}
		}
	}
	return links, nil
}

// ParseSignal reads a signal as myctr's --stop-signal takes it (a number,
// or a name with or without "SIG", any case) and returns its number.
func ParseSignal(s string) (int, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return n, nil
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if sig := unix.SignalNum(s); sig != 0 {
		return int(sig), nil
	}
	return 0, fmt.Errorf("invalid signal %q", s)
}

// ParseBool reads a systemd boolean (1/yes/y/true/t/on and
// 0/no/n/false/f/off, any case).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", s)
}
