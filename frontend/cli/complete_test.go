package cli

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"
)

type fieldsInner struct {
	Arch string
	CPUs int
}

type fieldsEmbedded struct{ Promoted string }

type fieldsOuter struct {
	fieldsEmbedded
	Host     fieldsInner
	Labels   map[string]string
	Created  time.Time
	Names    []string
	Ptr      *fieldsInner
	internal string
}

func (fieldsOuter) Human() string              { return "" }
func (fieldsOuter) Both() (string, error)      { return "", nil }
func (fieldsOuter) WithArg(string) string      { return "" }
func (fieldsOuter) Pair() (string, string)     { return "", "" }
func (*fieldsOuter) OnPointer() string         { return "" }
func (f fieldsOuter) unexportedMethod() string { return f.internal }

// TestTemplateFields: a template's last field is completed from the type
// that the path before it leads to, as Podman completes it: "}}" after a
// field that ends the path, "." after a struct or a map; promoted fields
// and methods without arguments count, the rest does not.
func TestTemplateFields(t *testing.T) {
	_ = fieldsOuter{}.unexportedMethod()
	typ := reflect.TypeFor[fieldsOuter]()
	for _, tc := range []struct {
		partial string
		want    []string
	}{
		{"{{.", []string{"{{.fieldsEmbedded}}", "{{.Promoted}}", "{{.Host.", "{{.Labels.", "{{.Created.", "{{.Names}}", "{{.Ptr.", "{{.Both}}", "{{.Human}}"}},
		{"{{.H", []string{"{{.Host.", "{{.Human}}"}},
		{"{{.Host.", []string{"{{.Host.Arch}}", "{{.Host.CPUs}}"}},
		{"{{ .Ptr.C", []string{"{{ .Ptr.CPUs}}"}},
		{"{{json .Ho", []string{"{{json .Host."}},
		{"{{.Names}} {{.Host.A", []string{"{{.Names}} {{.Host.Arch}}"}},
		{"{{.Nope.", nil},
		{"{{.Names}}", nil}, // the action is closed
		{"{{", nil},
		{"table ", nil},
		{"{{json", nil},
	} {
		got := templateFields(typ, tc.partial)
		if tc.partial == "{{." {
			// fieldsEmbedded is unexported: not a name a template may use.
			tc.want = slices.DeleteFunc(tc.want, func(s string) bool { return strings.Contains(s, "fieldsEmbedded") })
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("templateFields(%q) = %q, want %q", tc.partial, got, tc.want)
		}
	}
	// A pointer type has its pointer methods too.
	if got := templateFields(reflect.TypeFor[*fieldsOuter](), "{{.On"); !slices.Equal(got, []string{"{{.OnPointer}}"}) {
		t.Errorf("templateFields(*T, {{.On) = %q", got)
	}
}

// completeOutput runs `podman __complete`/`__completeNoDesc` words.
func completeOutput(t *testing.T, args ...string) []string {
	t.Helper()
	app := App()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	if err := run(app, append([]string{"podman"}, args...)); err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	if !strings.HasPrefix(errOut.String(), "Completion ended with directive: ") {
		t.Errorf("%s: stderr %q", strings.Join(args, " "), errOut.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// TestComplete: cobra's protocol, as Podman's scripts and tests call it:
// suggestions one a line, then the directive.
func TestComplete(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__completeNoDesc", "ps", "--format", "{{.Na"}, []string{"{{.Names}}", ":6"}},
		{[]string{"__completeNoDesc", "container", "ls", "-a", "--format", "{{.Po"}, []string{"{{.Ports}}", "{{.Pod}}", "{{.PodName}}", ":6"}},
		{[]string{"__complete", "--root", "/x", "version", "--format={{.Client.Os"}, []string{"--format={{.Client.OsArch}}", "--format={{.Client.Os}}", ":6"}},
		{[]string{"__completeNoDesc", "info", "-f", "{{.Host.CgroupM"}, []string{"{{.Host.CgroupManager}}", ":6"}},
		{[]string{"__completeNoDesc", "inspect", "--format", "{{."}, []string{":4"}}, // a container or an image
		{[]string{"__completeNoDesc", "commit", "--format", "{{."}, []string{":0"}},  // oci or docker: no template
		{[]string{"__completeNoDesc", "volu"}, []string{"volume", ":4"}},
		{[]string{"__complete", "volume", "ex"}, []string{"exists\tExit 0 if the volume exists, 1 if not", "export\tWrite a volume's contents as a tar archive", ":4"}},
		{[]string{"__completeNoDesc", "he"}, []string{"healthcheck", "help", ":4"}},
		{[]string{"__completeNoDesc", "ps", "--no-t"}, []string{"--no-trunc", ":4"}},
		{[]string{"__completeNoDesc", "ps", "-"}, nil},           // checked below
		{[]string{"__completeNoDesc", "rm", ""}, []string{":4"}}, // containers
		{[]string{"__completeNoDesc", "run", "-v", ""}, []string{":0"}},
		{[]string{"__completeNoDesc", "run", "--", ""}, []string{":0"}},
		{[]string{"__completeNoDesc"}, nil},
	} {
		got := completeOutput(t, tc.args...)
		if tc.want != nil && !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}
	if got := completeOutput(t, "__completeNoDesc", "ps", "-"); !slices.Contains(got, "-a") || !slices.Contains(got, "--all") || !slices.Contains(got, "--help") || got[len(got)-1] != ":4" {
		t.Errorf("ps -: got %q, want -a, --all and --help among them", got)
	}
	if got := completeOutput(t, "__completeNoDesc", ""); !slices.Contains(got, "run") || slices.Contains(got, "__complete") || !slices.Contains(got, "help") {
		t.Errorf("the commands: got %q, want run and help, and no hidden ones", got)
	}
}

// TestTemplateFlagFields: each field completion offers for a --format
// template names something a template can read on a value of the flag's
// type (the field is there and exported, the method callable); a wrong
// name fails as "can't evaluate field".
func TestTemplateFlagFields(t *testing.T) {
	n := 0
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(slices.Clone(path), c.Name)
			walk(p, c.Subcommands)
			for _, f := range c.Flags {
				ff, ok := f.(*formatFlag)
				if !ok || ff.of == nil {
					continue
				}
				n++
				v := reflect.New(ff.of).Elem()
				if ff.of.Kind() == reflect.Pointer {
					v = reflect.New(ff.of.Elem())
				}
				items := templateFields(ff.of, "{{.")
				if len(items) == 0 {
					t.Errorf("%s --format: no fields offered", strings.Join(p, " "))
				}
				for _, it := range items {
					if strings.HasSuffix(it, ".") {
						continue
					}
					tmpl := template.Must(template.New("").Funcs(formatFuncs).Parse(it))
					// A zero value's nil pointers are no fault of the name.
					if err := tmpl.Execute(&bytes.Buffer{}, v.Interface()); err != nil && !strings.Contains(err.Error(), "nil pointer") {
						t.Errorf("%s --format %s: %v", strings.Join(p, " "), it, err)
					}
				}
			}
		}
	}
	walk(nil, App().Commands)
	bad := template.Must(template.New("").Parse("{{.Nope}}"))
	if err := bad.Execute(&bytes.Buffer{}, fieldsOuter{}); err == nil || strings.Contains(err.Error(), "nil pointer") {
		t.Errorf("{{.Nope}} on a struct: %v, want an error about the field", err)
	}
	if n < 10 {
		t.Errorf("only %d --format flags take a template over a type", n)
	}
}
