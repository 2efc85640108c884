package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/systemd"
)

// unitOptions reads the run flags that matter most to a container run by
// a systemd unit: --sdnotify, --log-driver and --log-opt, --stop-signal
// and --stop-timeout, and keeps the command line (generate systemd).
func unitOptions(ctx *cli.Context, o *container.CreateOptions) error {
	o.CreateCommand = append([]string(nil), os.Args...)
	mode, err := systemd.ParseNotifyMode(ctx.String("sdnotify"))
	if err != nil {
		return err
	}
	o.SdNotify = mode
	cc, err := containersConf()
	if err != nil {
		return err
	}
	switch d := confString(ctx, "log-driver", cc.LogDriver); d {
	case "":
		o.LogDriver = container.LogFile
		if inUnit() && container.JournalAvailable() {
			// As Podman's default where journald runs: a unit's
			// container logs where the unit's own output goes.
			o.LogDriver = container.LogJournald
		}
	case container.LogFile, "json-file":
		o.LogDriver = container.LogFile
	case container.LogJournald:
		if !container.JournalAvailable() {
			return explain(container.ErrNoJournal)
		}
		o.LogDriver = d
	case container.LogNone:
		o.LogDriver = d
	default:
		return hint(fmt.Errorf("invalid --log-driver %q", d), "use k8s-file (the container's log file), journald or none")
	}
	if o.LogOpts, err = container.ParseLogOpts(ctx.StringSlice("log-opt"), o.LogDriver); err != nil {
		return withCode(125, err)
	}
	if o.LogOpts != nil {
		for _, name := range slices.Sorted(maps.Keys(o.LogOpts.Other)) {
			fmt.Fprintf(os.Stderr, "Warning: log option %s is kept but not applied: myctr applies max-size, path and tag\n", name)
		}
	}
	if v := ctx.String("stop-signal"); v != "" {
		sig, err := container.ParseSignal(v)
		if err != nil {
			// Podman's words, bare: "invalid signal: X" names it already.
			return err
		}
		o.StopSignal = unix.SignalName(sig)
	}
	if isSet(ctx, "stop-timeout") {
		t := ctx.Uint("stop-timeout")
		o.StopTimeout = &t
	}
	if ctx.Bool("replace") && o.Name == "" {
		return hint(errors.New("--replace needs --name: it removes the container of that name"), "add --name NAME")
	}
	return nil
}

// inUnit reports whether myctr runs as (a child of) a systemd service's
// process, which systemd marks with INVOCATION_ID.
func inUnit() bool { return os.Getenv("INVOCATION_ID") != "" }

// toJournal reports whether f is the journal's stream that systemd gave a
// unit's process (JOURNAL_STREAM is its device and inode).
func toJournal(f *os.File) bool {
	want := os.Getenv("JOURNAL_STREAM")
	if want == "" {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return want == strconv.FormatUint(st.Dev, 10)+":"+strconv.FormatUint(st.Ino, 10)
}

// checkCidfile refuses a container id file that exists (another container
// may be using it), unless replace: a unit's earlier run left it.
func checkCidfile(file string, replace bool) error {
	if file == "" {
		return nil
	}
	if _, err := os.Lstat(file); err == nil && !replace {
		return hint(fmt.Errorf("container id file %s exists", file), "make sure no other container uses it and remove it, or add --replace")
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("container id file: %w", err)
	}
	return nil
}

// writeCidfile writes the new container's id, replacing the file whole
// (a reader never sees half an id).
func writeCidfile(file, id string) error {
	if file == "" {
		return nil
	}
	if err := atomicfile.WriteFile(file, []byte(id), 0o644); err != nil {
		return fmt.Errorf("write container id file: %w", err)
	}
	return nil
}

// replaceContainer removes the container named name, running or not, for
// run --replace: a unit's container left by a crash or a kill.
func replaceContainer(s *container.Store, name string) error {
	c, err := s.Lookup(name)
	if errors.Is(err, container.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Name != name {
		return nil // an id prefix, not the name
	}
	c.Refresh()
	if c.Running() {
		if err := s.Stop(c, container.StopTimeoutOf(c)); err != nil {
			return fmt.Errorf("--replace: stop %s: %w", name, err)
		}
	}
	if err := s.Remove(c, true); err != nil {
		return fmt.Errorf("--replace: remove %s: %w", name, err)
	}
	releaseCgroup(s, c)
	return nil
}
