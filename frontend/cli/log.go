package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Log levels of --log-level, least severe first, as Podman names them.
var logLevels = []string{"trace", "debug", "info", "warn", "error", "fatal", "panic"}

// logLevel is the index in logLevels of the least severe level shown;
// warnings and errors are printed as "Warning:" and "Error:" lines
// whatever it is, so by default (warn) no log lines appear.
var logLevel = 3

// logOut is where log lines go.
var logOut io.Writer = os.Stderr

// logf writes one log line at level (an entry of logLevels) if the
// level is shown, in the key=value form of Podman's logs.
func logf(level string, format string, args ...any) {
	i := slices.Index(logLevels, level)
	if i < logLevel {
		return
	}
	fmt.Fprintf(logOut, "time=%q level=%s msg=%q\n", time.Now().Format(time.RFC3339Nano), level, fmt.Sprintf(format, args...))
}

// setLogLevel takes --noout (stdout to /dev/null), --log-level and --debug (-D, Docker's spelling of
// --log-level=debug); an unknown level or both flags is exit 1, as Podman,
// and its message is a bare line as Podman's is (scripts match it whole).
func setLogLevel(ctx *cli.Context) error {
	bare := func(format string, args ...any) error {
		fmt.Fprintf(logOut, format+"\n", args...)
		return withCode(1, nil)
	}
	if ctx.Bool("noout") {
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			os.Stdout = null
		}
	}
	level := ctx.String("log-level")
	if ctx.Bool("debug") {
		if isSet(ctx, "log-level") {
			return bare("Setting --log-level and --debug is not allowed")
		}
		level = "debug"
	}
	if level == "warning" {
		level = "warn"
	}
	i := slices.Index(logLevels, level)
	if i < 0 {
		return bare("Log Level %q is not supported, choose from: %s", ctx.String("log-level"), strings.Join(append(logLevels[:4:4], "warning", "error", "fatal", "panic"), ", "))
	}
	logLevel = i
	logf("info", "myctr filtering at log level %s", level)
	logf("debug", "Called %s with args %q", strings.Join(ctx.Args().Slice()[:min(1, ctx.NArg())], " "), os.Args)
	d := dirs(ctx)
	logf("debug", "Using root %s, run root %s", d.Root, d.RunRoot)
	logf("trace", "XDG_RUNTIME_DIR=%q XDG_DATA_HOME=%q XDG_CONFIG_HOME=%q", os.Getenv("XDG_RUNTIME_DIR"), os.Getenv("XDG_DATA_HOME"), os.Getenv("XDG_CONFIG_HOME"))
	return nil
}
