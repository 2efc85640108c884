package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// usageError is a command line the flags refused, worded as Podman (cobra)
// words it, followed by the help to read: "See 'podman run --help'".
type usageError struct {
	err error
	see string // the command's help name: "myctr run"
}

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

// Go's flag package words its refusals with the flag's registered name
// and one dash, whatever the user typed.
var (
	flagUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	flagNoValue   = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
	flagBadValue  = regexp.MustCompile(`^invalid (?:value|boolean value) "(.*)" for (?:flag )?-+([^:]+): (.*)$`)
)

// onUsageError is every command's OnUsageError: exit code 125, the
// refusal in Podman's words, and the command's help to read. args are
// the words of the command line, to tell how the user spelled the flag.
func onUsageError(args []string) cli.OnUsageErrorFunc {
	return func(ctx *cli.Context, err error, _ bool) error {
		see := ctx.App.HelpName
		if ctx.Command != nil && ctx.Command.HelpName != "" {
			see = ctx.Command.HelpName
		}
		return withCode(125, &usageError{err: cobraWording(err, args, flagsOf(ctx)), see: see})
	}
}

// flagsOf are the flags of ctx's command (the application's at the top).
func flagsOf(ctx *cli.Context) []cli.Flag {
	if ctx.Command != nil && ctx.Command.Name != "" {
		return ctx.Command.Flags
	}
	return ctx.App.Flags
}

// cobraWording rewords err from Go's flag package as cobra words it:
// "unknown flag: --invalid", "unknown shorthand flag: 'x' in -x",
// "flag needs an argument: 'h' in -h" or "... --hostname", and
// `invalid argument "x" for "-m, --memory" flag: ...`. Any other error
// is kept.
func cobraWording(err error, args []string, flags []cli.Flag) error {
	msg := err.Error()
	if m := flagUndefined.FindStringSubmatch(msg); m != nil {
		word, short := typed(args, m[1], false)
		if short {
			letter := m[1][:1] // a group of short flags: the one not known
			if len(m[1]) > 1 {
				letter = strings.TrimLeft(word, "-")[:1]
			}
			return fmt.Errorf("unknown shorthand flag: '%s' in %s", letter, word)
		}
		return fmt.Errorf("unknown flag: --%s", m[1])
	}
	if m := flagNoValue.FindStringSubmatch(msg); m != nil {
		word, short := typed(args, m[1], true)
		if short {
			return fmt.Errorf("flag needs an argument: '%c' in %s", word[len(word)-1], word)
		}
		return fmt.Errorf("flag needs an argument: --%s", strings.TrimLeft(word, "-"))
	}
	if m := flagBadValue.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("invalid argument %q for %q flag: %s", m[1], flagSpelling(flags, m[2]), m[3])
	}
	return err
}

// typed finds how the user wrote the flag Go's flag package calls name:
// the word of args that names it (for a missing value, the last word,
// which is where a value went missing) and whether it was written as a
// short flag (one dash). Without such a word, name itself, long unless
// it is one letter.
func typed(args []string, name string, last bool) (string, bool) {
	if last && len(args) > 0 {
		w := args[len(args)-1]
		if strings.HasPrefix(w, "-") && w != "-" && w != "--" {
			return w, !strings.HasPrefix(w, "--")
		}
	}
	for _, w := range args {
		if w == "--" {
			break
		}
		if strings.HasPrefix(w, "--") {
			if n, _, _ := strings.Cut(w[2:], "="); n == name {
				return w, false
			}
			continue
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			if n, _, _ := strings.Cut(w[1:], "="); n == name || (len(name) == 1 && strings.Contains(n, name)) {
				return w, true
			}
		}
	}
	if len(name) == 1 {
		return "-" + name, true
	}
	return "--" + name, false
}

// flagSpelling is how cobra names a flag in an error: "-m, --memory"
// when it has a one-letter alias, else "--memory".
func flagSpelling(flags []cli.Flag, name string) string {
	for _, f := range flags {
		names := f.Names()
		long, short := "", ""
		found := false
		for _, n := range names {
			if n == name {
				found = true
			}
			if len(n) == 1 {
				if short == "" {
					short = n
				}
			} else if long == "" {
				long = n
			}
		}
		if !found {
			continue
		}
		switch {
		case long == "":
			return "-" + short
		case short == "":
			return "--" + long
		default:
			return "-" + short + ", --" + long
		}
	}
	return "--" + name
}

// seeHelp is the line Podman prints under a usage error.
func seeHelp(err error) (string, bool) {
	var u *usageError
	if !errors.As(err, &u) {
		return "", false
	}
	return fmt.Sprintf("See '%s --help'", u.see), true
}
