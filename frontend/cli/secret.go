package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/secret"
)

// secretCommand is `secret`: create, ls, inspect and rm, as Podman's.
func secretCommand() *cli.Command {
	return group("secret", "manage secrets: data a container gets at run time (run --secret NAME)", []*cli.Command{
		secretCreateCommand(), secretLsCommand(), secretInspectCommand(), secretRmCommand(),
	})
}

func openSecrets(ctx *cli.Context) (*secret.Store, error) {
	d := dirs(ctx)
	if err := d.Ensure(); err != nil {
		if h := unsafeDirHint(err); h != nil {
			return nil, h
		}
		return nil, err
	}
	return secret.Open(d.Root)
}

// secretError gives the secret store's errors their hints and exit code.
func secretError(err error) error {
	switch {
	case errors.Is(err, secret.ErrNoSuchSecret):
		return withCode(125, hint(err, "myctr secret ls lists the secrets; myctr secret create NAME FILE makes one"))
	case errors.Is(err, secret.ErrNameInUse):
		return withCode(125, hint(err, "choose another name, or remove the secret first: myctr secret rm NAME"))
	case errors.Is(err, secret.ErrInvalidName), errors.Is(err, secret.ErrInvalidData):
		return withCode(125, err)
	}
	return err
}

func secretCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "make a secret from a file, standard input (-) or, with --env, an environment variable",
		ArgsUsage: "NAME FILE|-",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: secret.DriverFile, Usage: "where the data is kept: file (in the store, unencrypted, readable by you alone)"},
			&cli.StringSliceFlag{Name: "driver-opts", Usage: "options of the driver (file takes none)"},
			&cli.BoolFlag{Name: "env", Usage: "the second argument names an environment variable that holds the data"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label KEY=VALUE"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, hint(fmt.Errorf("secret create requires 2 arguments, NAME and FILE (or -), not %d", ctx.NArg()),
					"myctr secret create NAME FILE, or: printf DATA | myctr secret create NAME -"))
			}
			if d := ctx.String("driver"); d != secret.DriverFile {
				return withCode(125, hint(fmt.Errorf("secret driver %q is not supported", d), "leave out --driver: myctr keeps secrets with the file driver"))
			}
			if opts := ctx.StringSlice("driver-opts"); len(opts) > 0 {
				return withCode(125, fmt.Errorf("the file driver takes no options (--driver-opts %s)", opts[0]))
			}
			labels := map[string]string{}
			for _, kv := range ctx.StringSlice("label") {
				k, v, _ := strings.Cut(kv, "=")
				if strings.TrimSpace(k) == "" {
					return withCode(125, fmt.Errorf("invalid label %q: want KEY=VALUE", kv))
				}
				labels[k] = v
			}
			name, src := ctx.Args().Get(0), ctx.Args().Get(1)
			var data []byte
			switch {
			case ctx.Bool("env"):
				v, ok := os.LookupEnv(src)
				if !ok {
					return withCode(125, fmt.Errorf("environment variable %s is not set", src))
				}
				data = []byte(v)
			case src == "-":
				b, err := io.ReadAll(io.LimitReader(os.Stdin, secret.MaxSize))
				if err != nil {
					return fmt.Errorf("read the secret from standard input: %w", err)
				}
				data = b
			default:
				f, err := os.Open(src)
				if err != nil {
					return withCode(125, fmt.Errorf("read the secret: %w", err))
				}
				data, err = io.ReadAll(io.LimitReader(f, secret.MaxSize))
				f.Close()
				if err != nil {
					return withCode(125, fmt.Errorf("read the secret: %w", err))
				}
			}
			s, err := openSecrets(ctx)
			if err != nil {
				return err
			}
			sec, err := s.Create(name, data, labels)
			if err != nil {
				return secretError(err)
			}
			fmt.Println(sec.ID)
			return nil
		},
	}
}

// secretRow is a line of secret ls, and what its --format sees.
type secretRow struct {
	ID, Name, Driver, CreatedAt, UpdatedAt string
	Labels                                 map[string]string
}

var secretHeaders = upperHeaders([]string{"ID", "Name", "Driver", "CreatedAt", "UpdatedAt"},
	map[string]string{"CreatedAt": "CREATED", "UpdatedAt": "UPDATED"})

func secretLsCommand() *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list secrets",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "name=REGEXP, id=PREFIX (several of one key: any; of different keys: all)"},
			templateFlag[secretRow]("json, or a Go template over ID, Name, Driver, CreatedAt, UpdatedAt, Labels ('table ...' for a table with a header)"),
			&cli.BoolFlag{Name: "noheading", Aliases: []string{"n"}, Usage: "no header line"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only ids"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, fmt.Errorf("secret ls takes no arguments (filter with --filter name=%s)", ctx.Args().First()))
			}
			match, err := secretFilter(ctx.StringSlice("filter"))
			if err != nil {
				return err
			}
			s, err := openSecrets(ctx)
			if err != nil {
				return err
			}
			all, err := s.List()
			if err != nil {
				return err
			}
			list := []*secret.Secret{}
			for _, sec := range all {
				if match(sec) {
					list = append(list, sec)
				}
			}
			format := ctx.String("format")
			switch {
			case ctx.Bool("quiet"):
				for _, sec := range list {
					fmt.Println(sec.ID)
				}
				return nil
			case format == "json":
				return writeJSON(os.Stdout, list, "  ")
			case format == "":
				format = "table {{.ID}} {{.Name}} {{.Driver}} {{.CreatedAt}} {{.UpdatedAt}}"
			}
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			lf.noHeading = ctx.Bool("noheading")
			rows := make([]any, len(list))
			for i, sec := range list {
				rows[i] = secretRow{ID: sec.ID, Name: sec.Spec.Name, Driver: sec.Spec.Driver.Name, Labels: sec.Spec.Labels,
					CreatedAt: humanDuration(time.Since(sec.CreatedAt)) + " ago", UpdatedAt: humanDuration(time.Since(sec.UpdatedAt)) + " ago"}
			}
			return lf.write(os.Stdout, secretHeaders, rows, "the fields are ID, Name, Driver, CreatedAt, UpdatedAt and Labels")
		},
	}
}

// secretFilter is secret ls's --filter: values of one key are
// alternatives, keys must all match.
func secretFilter(filters []string) (func(*secret.Secret) bool, error) {
	names := []*regexp.Regexp{}
	var ids []string
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "name":
			re, err := regexp.Compile(v)
			if err != nil {
				return nil, withCode(125, fmt.Errorf("invalid filter name=%s: %w", v, err))
			}
			names = append(names, re)
		case "id":
			ids = append(ids, v)
		default:
			return nil, withCode(125, hint(fmt.Errorf("%q is an invalid secret filter", k), "filter on name=REGEXP or id=PREFIX"))
		}
	}
	return func(s *secret.Secret) bool {
		okName := len(names) == 0
		for _, re := range names {
			okName = okName || re.MatchString(s.Spec.Name)
		}
		okID := len(ids) == 0
		for _, id := range ids {
			okID = okID || strings.HasPrefix(s.ID, id)
		}
		return okName && okID
	}, nil
}

func secretInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show secrets as JSON (never their data)",
		ArgsUsage: "SECRET...",
		Flags: []cli.Flag{
			templateFlag[*secret.Secret]("a Go template applied to each secret, e.g. '{{.Spec.Name}}'", "f"),
			&cli.BoolFlag{Name: "pretty", Usage: "a few lines for people, per secret"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, errors.New("secret inspect needs at least one secret name or id"))
			}
			tmpl, err := inspectFormat(ctx)
			if err != nil {
				return err
			}
			s, err := openSecrets(ctx)
			if err != nil {
				return err
			}
			list := []*secret.Secret{}
			var failed error
			for _, ref := range ctx.Args().Slice() {
				sec, err := s.Lookup(ref)
				if err != nil {
					if failed != nil {
						fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
					}
					// Podman's words.
					failed = secretError(fmt.Errorf("inspecting secret: %w", err))
					continue
				}
				list = append(list, sec)
			}
			switch {
			case tmpl != nil:
				for _, sec := range list {
					if err := writeFormat(os.Stdout, tmpl, sec, "the fields are those of the JSON output (myctr secret inspect SECRET)"); err != nil {
						return err
					}
				}
			case ctx.Bool("pretty"):
				for i, sec := range list {
					if i > 0 {
						fmt.Println()
					}
					fmt.Printf("ID:              %s\nName:            %s\nDriver:          %s\nCreated at:      %s\nUpdated at:      %s\n",
						sec.ID, sec.Spec.Name, sec.Spec.Driver.Name, sec.CreatedAt.Format(time.RFC3339), sec.UpdatedAt.Format(time.RFC3339))
				}
			default:
				if err := writeJSON(os.Stdout, list, "    "); err != nil {
					return err
				}
			}
			return failed
		},
	}
}

func secretRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove secrets (containers made with one keep their copy)",
		ArgsUsage: "SECRET...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every secret"},
			&cli.BoolFlag{Name: "ignore", Aliases: []string{"i"}, Usage: "a secret that does not exist is no error"},
		},
		Action: func(ctx *cli.Context) error {
			all := ctx.Bool("all")
			if all && ctx.NArg() > 0 {
				return withCode(125, errors.New("--all and secret names or ids cannot be given together"))
			}
			if !all && ctx.NArg() == 0 {
				return withCode(125, errors.New("secret rm needs at least one secret name or id, or --all"))
			}
			s, err := openSecrets(ctx)
			if err != nil {
				return err
			}
			refs := ctx.Args().Slice()
			if all {
				list, err := s.List()
				if err != nil {
					return err
				}
				for _, sec := range list {
					refs = append(refs, sec.ID)
				}
			}
			var failed error
			for _, ref := range refs {
				sec, err := s.Remove(ref)
				if err != nil {
					if ctx.Bool("ignore") && errors.Is(err, secret.ErrNoSuchSecret) {
						continue
					}
					if failed != nil {
						fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
					}
					failed = secretError(err)
					continue
				}
				fmt.Println(sec.ID)
			}
			return failed
		},
	}
}

// secretFlag is run's and create's --secret.
func secretFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "secret", Usage: "give the container a secret (myctr secret create): NAME[,type=mount|env][,target=PATH|VAR][,mode=0444]; a mount is a read-only file, /run/secrets/NAME unless target says otherwise"}
}

// secretOptions reads --secret into o: each secret's data, copied into
// the container's directory when it is made (type mount) or set in its
// environment (type env).
func secretOptions(ctx *cli.Context, o *container.CreateOptions) error {
	args := ctx.StringSlice("secret")
	if len(args) == 0 {
		return nil
	}
	s, err := openSecrets(ctx)
	if err != nil {
		return err
	}
	for _, a := range args {
		u, err := secret.ParseUse(a)
		if err != nil {
			return withCode(125, err)
		}
		sec, err := s.Lookup(u.Name)
		if err != nil {
			return secretError(fmt.Errorf("--secret %s: %w", u.Name, err))
		}
		data, err := s.Data(sec.ID)
		if err != nil {
			return secretError(err)
		}
		if u.Type == secret.TypeEnv {
			o.Env = append(o.Env, u.Target+"="+string(data))
			continue
		}
		o.Secrets = append(o.Secrets, container.SecretMount{Name: sec.Spec.Name, ID: sec.ID, Target: u.Target, Mode: u.Mode, Data: data})
	}
	return nil
}
