package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/nsexec"
)

// fullBinary is the name of the whole myctr, which the lean myctr
// executes for the command lines fullOnly names.
const fullBinary = "myctr-full"

// envCaller carries, from the lean myctr to the myctr-full it executes,
// the lean binary's path: the program the user runs, which info reports
// as the OCI runtime and --runtime may name.
const envCaller = "_MYCTR_CALLER_EXE"

// callerExe is envCaller's value, taken out of the environment by Run;
// "" when this process was not executed by the lean myctr.
var callerExe string

// takeCaller moves envCaller from the environment (which containers and
// helpers inherit nothing of) to callerExe.
func takeCaller() {
	if v, ok := os.LookupEnv(envCaller); ok {
		os.Unsetenv(envCaller)
		callerExe = v
	}
}

// selfExe is the path of the myctr the user ran: the lean myctr that
// handed this command line to myctr-full, else this program.
func selfExe() (string, error) {
	if callerExe != "" {
		return callerExe, nil
	}
	return os.Executable()
}

// fullOnlyCommands are the top-level commands that only myctr-full runs:
// the builder's (build, buildx, commit, import with its --change), the API
// server's information (info), the commands that need every command
// (help, completion), and those of the registry client (login, logout,
// push, search, manifest). A pull (pull, and run's, create's and pod
// create's) runs in myctr-full's pull stage instead (pullThroughFull).
var fullOnlyCommands = []string{"build", "buildx", "commit", "import", "info", "help", "completion",
	"login", "logout", "push", "search", "manifest"}

// fullOnlySubcommands are the verbs of a group that only myctr-full runs;
// a group called with no verb, a flag or help first, or a verb it does
// not have is also myctr-full's (its help lists every verb).
var fullOnlySubcommands = map[string][]string{
	"image":     {"build", "import", "push", "search", "help"},
	"container": {"commit", "help"},
	"system":    {"service", "check", "info", "help"},
}

// fullOnly reports whether the command line args needs what the lean
// myctr leaves out: a builder or API server command, the help of the whole
// command tree, or a command line that calls no command myctr knows (whose
// error the whole tree explains). --version, after global flags only, is
// the lean binary's.
func fullOnly(args []string) bool {
	name, at := commandAt(args)
	if name == "" {
		return !versionOnly(args)
	}
	if slices.Contains(fullOnlyCommands, name) {
		return true
	}
	if name == "load" {
		// A URL to load (-i URL) is downloaded with the HTTP client,
		// which the lean myctr does not link. Any argument that holds
		// one sends the line to myctr-full, which runs it the same way.
		return slices.ContainsFunc(args[at+1:], func(a string) bool {
			return strings.Contains(a, "http://") || strings.Contains(a, "https://")
		})
	}
	subs, ok := fullOnlySubcommands[name]
	if !ok {
		return false
	}
	if at+1 >= len(args) {
		return true
	}
	sub := args[at+1]
	if strings.HasPrefix(sub, "-") || slices.Contains(subs, sub) {
		return true
	}
	// A verb the group does not have: its error shows the group's help.
	for _, tc := range topLevel() {
		if tc.is(name) {
			return tc.make().Command(sub) == nil
		}
	}
	return true
}

// versionOnly reports whether args end with --version (or -v) after
// nothing but global flags and their values.
func versionOnly(args []string) bool {
	flags := globalFlags()
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--version" || a == "-v" {
			return i == len(args)-1
		}
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" || !hasFlag(flags, a) || slices.Contains(cli.HelpFlag.Names(), strings.TrimLeft(a, "-")) {
			return false
		}
		i += valueCount(flags, a)
	}
	return false
}

// calledWords names what args call, for an error: "myctr build",
// "myctr image build", or "myctr" and the whole line when it calls no
// known command.
func calledWords(args []string) string {
	prog := filepath.Base(args[0])
	name, at := commandAt(args)
	if name == "" {
		return strings.Join(append([]string{prog}, args[1:]...), " ")
	}
	words := []string{prog, name}
	if _, group := fullOnlySubcommands[name]; group && at+1 < len(args) && !strings.HasPrefix(args[at+1], "-") {
		words = append(words, args[at+1])
	}
	return strings.Join(words, " ")
}

// runFull executes myctr-full with args (argv[0] unchanged, so that help
// names the program as it was called) and the same environment. It
// returns only when myctr-full cannot be executed.
func runFull(args []string, stderr io.Writer) int {
	path := nsexec.Companion(fullBinary)
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			exe = args[0]
		}
		fmt.Fprintf(stderr, "Error: %s runs in %s, which is neither beside %s nor in its ../libexec/myctr\n", calledWords(args), fullBinary, exe)
		fmt.Fprintf(stderr, "Hint: install myctr with make install (%s goes to PREFIX/libexec/myctr), or keep %s beside myctr\n", fullBinary, fullBinary)
		return 125
	}
	env := os.Environ()
	if exe, err := os.Executable(); err == nil {
		env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, envCaller+"=") }), envCaller+"="+exe)
	}
	err := syscall.Exec(path, args, env)
	fmt.Fprintf(stderr, "Error: execute %s: %v\n", path, err)
	return 125
}
