package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

var commaInWord = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`,(\S)`) })

// WriteManPages writes myctr.1 and one myctr-COMMAND.1 per command and
// subcommand (myctr-image-ls.1) into dir, in roff (man(7)), from the
// command tree: NAME, SYNOPSIS, DESCRIPTION, OPTIONS with each flag's
// usage and default, the subcommands of a group, SEE ALSO. urfave/cli's
// own generator is left out of the build (urfave_cli_no_docs), so this is
// ours: a page per command, as Podman's are.
func WriteManPages(dir string) error {
	t := commandTree()
	var err error
	t.walk(func(n *cmdNode) {
		if err != nil {
			return
		}
		name := strings.Join(append([]string{"myctr"}, n.path...), "-")
		err = os.WriteFile(filepath.Join(dir, name+".1"), []byte(manPage(t, n)), 0o644)
	})
	return err
}

// roff escapes text for a line of running text: backslashes, and a
// leading dot or quote, which would make the line a request. A comma
// inside a word (ro:PATH,rw:PATH,...) gets a break point after it (\:),
// so that a long list wraps instead of overrunning the line.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "\n", " ")
	s = commaInWord().ReplaceAllString(s, `,\:$1`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffDash is roff, with every hyphen a minus sign (\-): for command and
// flag names, which are typed as written.
func roffDash(s string) string {
	return strings.ReplaceAll(roff(s), "-", `\-`)
}

func manPage(root, n *cmdNode) string {
	var b strings.Builder
	full := strings.Join(append([]string{"myctr"}, n.path...), " ")
	page := strings.Join(append([]string{"myctr"}, n.path...), "-")
	usage, desc, argsUsage := root.usage, "", "COMMAND [ARG...]"
	if n.cmd != nil {
		usage, desc, argsUsage = n.cmd.Usage, n.cmd.Description, n.cmd.ArgsUsage
		if len(n.subs) > 0 && argsUsage == "" {
			argsUsage = "COMMAND [ARG...]"
		}
	}
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"myctr %s\" \"myctr Manual\"\n", strings.ToUpper(roffDash(page)), roff(Version))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", roffDash(page), roff(usage))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n", roffDash(full))
	opts := "[OPTIONS]"
	if n.cmd == nil {
		opts = "[GLOBAL OPTIONS]"
	}
	fmt.Fprintf(&b, "%s", roff(opts))
	if argsUsage != "" {
		fmt.Fprintf(&b, " \\fI%s\\fR", roff(argsUsage))
	}
	b.WriteString("\n.SH DESCRIPTION\n")
	if desc == "" {
		desc = usage
	}
	fmt.Fprintf(&b, "%s\n", roff(capitalize(desc)))
	if len(n.path) == 1 && len(n.names) > 1 {
		fmt.Fprintf(&b, ".PP\nAlso spelled: %s.\n", roffDash(strings.Join(n.names[1:], ", ")))
	}
	if len(n.flags) > 0 {
		if n.cmd == nil {
			b.WriteString(".SH GLOBAL OPTIONS\n")
		} else {
			b.WriteString(".SH OPTIONS\n")
		}
		for _, f := range n.flags {
			b.WriteString(".TP\n")
			var names []string
			for _, name := range f.names {
				names = append(names, `\fB`+roffDash(name)+`\fR`)
			}
			line := strings.Join(names, ", ")
			if f.value {
				line += ` \fIVALUE\fR`
			}
			b.WriteString(line + "\n")
			text := capitalize(f.usage)
			var notes []string
			if f.def != "" {
				notes = append(notes, "default: "+f.def)
			}
			if f.repeat {
				notes = append(notes, "may be given more than once")
			}
			if len(f.envs) > 0 {
				notes = append(notes, "environment: $"+strings.Join(f.envs, ", $"))
			}
			if len(notes) > 0 {
				text += " (" + strings.Join(notes, "; ") + ")"
			}
			fmt.Fprintf(&b, "%s\n", roff(text))
		}
	}
	if len(n.subs) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, s := range n.subs {
			sub := strings.Join(append([]string{"myctr"}, s.path...), "-")
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fR\n%s (\\fB%s\\fR(1))\n", roffDash(strings.Join(s.names, ", ")), roff(capitalize(s.cmd.Usage)), roffDash(sub))
		}
	}
	b.WriteString(".SH SEE ALSO\n")
	if n.cmd == nil {
		b.WriteString("\\fBmyctr\\-doctor\\fR(1), \\fBmyctr\\-completion\\fR(1)\n")
	} else {
		parent := strings.Join(append([]string{"myctr"}, n.path[:len(n.path)-1]...), "-")
		fmt.Fprintf(&b, "\\fB%s\\fR(1)\n", roffDash(parent))
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
