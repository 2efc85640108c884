package build

import (
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/myctr/myctr/frontend/container"
)

// Substitution with Dockerfile semantics ($VAR, ${VAR}, ${VAR:-default},
// ${VAR:+alt}, escapes, quotes kept as written), by buildkit's lexer.

// expander expands words against env (KEY=VALUE, later entries win).
type expander struct {
	lex *shell.Lex
	env []string
}

func newExpander(escape rune, env []string) *expander {
	return &expander{lex: shell.NewLex(escape), env: env}
}

// Expand substitutes the variables of one word.
func (e *expander) Expand(word string) (string, error) {
	res, err := e.lex.ProcessWordWithMatches(word, shell.EnvsFromSlice(e.env))
	if err != nil {
		return "", err
	}
	return res.Result, nil
}

// Substitute is Expand for one-off use: word expanded against env.
func Substitute(word string, env []string) (string, error) {
	return newExpander('\\', env).Expand(word)
}

// argScope is the ARGs declared so far in a stage, with their values.
type argScope struct {
	names  []string
	values map[string]string
}

func newArgScope() *argScope { return &argScope{values: map[string]string{}} }

func (a *argScope) set(k, v string) {
	if _, ok := a.values[k]; !ok {
		a.names = append(a.names, k)
	}
	a.values[k] = v
}

func (a *argScope) has(k string) bool { _, ok := a.values[k]; return ok }

// env returns the ARGs as KEY=VALUE in declaration order.
func (a *argScope) env() []string {
	out := make([]string, 0, len(a.names))
	for _, k := range a.names {
		out = append(out, k+"="+a.values[k])
	}
	return out
}

// key is a stable text of the ARGs, for cache keys.
func (a *argScope) key() string {
	e := a.env()
	sort.Strings(e)
	return strings.Join(e, "\x00")
}

// mergeEnv returns args then env, env entries overriding args of the same
// name (an ENV wins over an ARG in Dockerfile semantics).
func mergeEnv(args, env []string) []string {
	out := append([]string{}, args...)
	for _, kv := range env {
		out = container.SetEnv(out, kv)
	}
	return out
}
