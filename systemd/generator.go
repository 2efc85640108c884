package systemd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The unit generator (systemd.generator(7)): at boot and at every
// daemon-reload, systemd runs myctr-generator, which reads the
// NAME.container files of the search directories and writes NAME.service
// for each into the directory systemd gives it. One bad file is reported
// (on stderr, which systemd puts in the journal) and skipped; it never
// stops the others, and the generator still succeeds, so that a typo in
// one file does not break a boot.

// ContainerExt is the suffix of the files the generator reads.
const ContainerExt = ".container"

// DirsEnv overrides the search directories (colon-separated, earlier
// first), for tests.
const DirsEnv = "MYCTR_GENERATOR_DIRS"

// PodmanQuadletPaths are where Podman installs its own generator. Where
// one exists, Podman already makes NAME.service from every NAME.container
// in the containers/systemd directories, and two generators writing the
// same unit name would fight: myctr then reads only its own directories.
var PodmanQuadletPaths = []string{"/usr/libexec/podman/quadlet", "/usr/lib/podman/quadlet"}

// HasPodmanQuadlet says whether Podman's generator is installed.
func HasPodmanQuadlet() bool {
	for _, p := range PodmanQuadletPaths {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// SearchEnv is what SearchDirs reads from the world, so tests can give it
// another.
type SearchEnv struct {
	Getenv        func(string) string
	UID           int
	Home          func(uid int) string // the home directory in the password database
	PodmanQuadlet bool
}

// RealSearchEnv is this process's environment.
func RealSearchEnv() SearchEnv {
	return SearchEnv{
		Getenv: os.Getenv,
		UID:    os.Getuid(),
		Home: func(uid int) string {
			u, err := user.LookupId(strconv.Itoa(uid))
			if err != nil {
				return ""
			}
			return u.HomeDir
		},
		PodmanQuadlet: HasPodmanQuadlet(),
	}
}

// SearchDirs lists the directories the generator reads, in priority order:
// a file name found in an earlier one hides the same name in later ones.
// myctr's own directories come before the shared containers/systemd ones
// (which Podman's Quadlet reads too, so a file written for Podman works),
// and those are left out where Podman's Quadlet is installed.
//
// System manager: /etc/myctr/systemd, /usr/share/myctr/systemd,
// /etc/containers/systemd, /usr/share/containers/systemd.
//
// User manager: $XDG_CONFIG_HOME/myctr/systemd, /etc/myctr/systemd/users/UID,
// /etc/myctr/systemd/users, $XDG_CONFIG_HOME/containers/systemd,
// /etc/containers/systemd/users/UID, /etc/containers/systemd/users
// (XDG_CONFIG_HOME defaults to $HOME/.config, and HOME to the home
// directory in the password database).
//
// $MYCTR_GENERATOR_DIRS, when set, replaces the list.
func SearchDirs(userMode bool, env SearchEnv) []string {
	if v := env.Getenv(DirsEnv); v != "" {
		var out []string
		for _, d := range strings.Split(v, ":") {
			if d != "" {
				out = append(out, d)
			}
		}
		return out
	}
	if !userMode {
		dirs := []string{"/etc/myctr/systemd", "/usr/share/myctr/systemd"}
		if !env.PodmanQuadlet {
			dirs = append(dirs, "/etc/containers/systemd", "/usr/share/containers/systemd")
		}
		return dirs
	}
	config := env.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(config) {
		home := env.Getenv("HOME")
		if !filepath.IsAbs(home) && env.Home != nil {
			home = env.Home(env.UID)
		}
		config = ""
		if filepath.IsAbs(home) {
			config = filepath.Join(home, ".config")
		}
	}
	uid := strconv.Itoa(env.UID)
	var dirs []string
	if config != "" {
		dirs = append(dirs, filepath.Join(config, "myctr/systemd"))
	}
	dirs = append(dirs, "/etc/myctr/systemd/users/"+uid, "/etc/myctr/systemd/users")
	if !env.PodmanQuadlet {
		if config != "" {
			dirs = append(dirs, filepath.Join(config, "containers/systemd"))
		}
		dirs = append(dirs, "/etc/containers/systemd/users/"+uid, "/etc/containers/systemd/users")
	}
	return dirs
}

// GenerateOptions say what Generate reads and writes.
type GenerateOptions struct {
	Dirs      []string // the search directories, earlier first
	OutputDir string   // where the units go (systemd's "normal" directory)
	Binary    string   // the myctr binary the units run
	// DryRun, when set, receives the units (each after a "---NAME---"
	// line) instead of OutputDir.
	DryRun io.Writer
}

// A GenerateReport says what Generate did: the units it wrote (names),
// and one error for each file it could not translate or write.
type GenerateReport struct {
	Units  []string
	Errors []error
}

// Generate writes NAME.service (and the symlinks of its [Install]
// section) into OutputDir for every NAME.container in Dirs. The returned
// error is only for what stops everything (the output directory cannot be
// made); a bad file is in the report's Errors and produces no unit.
func Generate(o GenerateOptions) (GenerateReport, error) {
	var rep GenerateReport
	if o.DryRun == nil {
		if o.OutputDir == "" {
			return rep, errors.New("no output directory")
		}
		if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
			return rep, fmt.Errorf("output directory: %w", err)
		}
	}
	files, errs := findContainerFiles(o.Dirs)
	rep.Errors = append(rep.Errors, errs...)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		svc, err := translateFile(files[n], n, o.Binary)
		if err == nil {
			err = writeService(o, svc)
		}
		if err != nil {
			rep.Errors = append(rep.Errors, err)
			continue
		}
		rep.Units = append(rep.Units, svc.Name)
	}
	return rep, nil
}

func translateFile(path, name, binary string) (*Service, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cf, err := ParseUnitFile(f, path)
	if err != nil {
		return nil, err
	}
	return TranslateContainer(cf, name, binary, path)
}

// findContainerFiles maps each NAME to the first NAME.container in dirs.
// A directory that does not exist is no error; one that cannot be read is.
func findContainerFiles(dirs []string) (map[string]string, []error) {
	files := map[string]string{}
	var errs []error
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasSuffix(n, ContainerExt) || strings.HasPrefix(n, ".") {
				continue
			}
			name := strings.TrimSuffix(n, ContainerExt)
			if _, seen := files[name]; seen {
				continue
			}
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				if err == nil {
					err = &ParseError{Path: p, Msg: "not a regular file"}
				}
				errs = append(errs, err)
				continue
			}
			files[name] = p
		}
	}
	return files, errs
}

// writeService writes the unit, then its links, each through a temporary
// name and rename so a reader never sees half a file.
func writeService(o GenerateOptions, svc *Service) error {
	text := []byte(svc.Text())
	if o.DryRun != nil {
		var b bytes.Buffer
		fmt.Fprintf(&b, "---%s---\n", svc.Name)
		b.Write(text)
		for _, l := range svc.Links {
			fmt.Fprintf(&b, "# link %s -> %s\n", l.Path, l.Target)
		}
		_, err := o.DryRun.Write(b.Bytes())
		return err
	}
	dest := filepath.Join(o.OutputDir, svc.Name)
	if err := os.WriteFile(dest+".tmp", text, 0o644); err != nil {
		return err
	}
	if err := os.Rename(dest+".tmp", dest); err != nil {
		os.Remove(dest + ".tmp")
		return err
	}
	for _, l := range svc.Links {
		p := filepath.Join(o.OutputDir, l.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		os.Remove(p + ".tmp")
		if err := os.Symlink(l.Target, p+".tmp"); err != nil {
			return err
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			os.Remove(p + ".tmp")
			return err
		}
	}
	return nil
}

// BinaryEnv names the myctr binary the generated units run, overriding
// what MyctrBinary would find.
const BinaryEnv = "MYCTR_BINARY"

// MyctrBinary is the myctr the generated units run: $MYCTR_BINARY if set;
// else, when the generator (whose resolved path is exe) is installed as
// PREFIX/libexec/myctr/NAME, PREFIX/bin/myctr (make install's layout);
// else /usr/bin/myctr.
func MyctrBinary(getenv func(string) string, exe string) string {
	if b := getenv(BinaryEnv); b != "" {
		return b
	}
	dir := filepath.Dir(exe)
	if filepath.IsAbs(exe) && filepath.Base(dir) == "myctr" && filepath.Base(filepath.Dir(dir)) == "libexec" {
		return filepath.Join(filepath.Dir(filepath.Dir(dir)), "bin", "myctr")
	}
	return "/usr/bin/myctr"
}
