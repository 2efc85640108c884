package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// rootAction runs when the first argument names no command: `myctr` alone
// and `myctr help [COMMAND]` print help; anything else is an unrecognized
// command (exit 125, as Podman), with the nearest command as a hint.
func rootAction(ctx *cli.Context) error {
	args := ctx.Args().Slice()
	if len(args) == 0 {
		return cli.ShowAppHelp(ctx)
	}
	if args[0] != "help" {
		return unrecognized(ctx, args[0])
	}
	if len(args) == 1 {
		return cli.ShowAppHelp(ctx)
	}
	if c := ctx.App.Command(args[1]); c != nil && !c.Hidden {
		return cli.ShowCommandHelp(ctx, args[1])
	}
	return unrecognized(ctx, args[1])
}

func unrecognized(ctx *cli.Context, name string) error {
	err := fmt.Errorf("unrecognized command `myctr %s`", name)
	if s := suggestCommand(ctx.App.Commands, name); s != "" {
		return withCode(125, hint(err, "did you mean `myctr %s`?", s))
	}
	return withCode(125, hint(err, "run `myctr --help` to list the commands"))
}

// suggestCommand returns the visible command (or alias) nearest to name:
// one edit away, else one that name begins, else two edits away (the
// first in sorted order among equals); "" if there is none.
func suggestCommand(cmds []*cli.Command, name string) string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	sort.Strings(names)
	best, bestScore := "", 5
	for _, n := range names {
		// Scores: 0 or 2 for zero or one edit, 3 for a prefix, 4 for two edits.
		score := 2 * levenshtein(name, n)
		if strings.HasPrefix(n, name) && score > 3 {
			score = 3
		}
		if score < bestScore {
			best, bestScore = n, score
		}
	}
	return best
}

// levenshtein is the edit distance between a and b (insertions,
// deletions and substitutions of bytes).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
