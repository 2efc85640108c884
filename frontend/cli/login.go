//go:build !lean

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/myctr/myctr/frontend/image"
)

func loginCommand() *cli.Command {
	return &cli.Command{
		Name:      "login",
		Usage:     "check credentials with a registry and keep them for pulls",
		ArgsUsage: "REGISTRY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user name (asked for on a terminal when missing)"},
			&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "password (visible to other users in ps: prefer --password-stdin)"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from standard input"},
			&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates"},
			&cli.StringFlag{Name: "authfile", Usage: "where to keep the credentials (default $XDG_RUNTIME_DIR/containers/auth.json)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly one registry: myctr login REGISTRY"))
			}
			if isSet(ctx, "password") && ctx.Bool("password-stdin") {
				return withCode(125, errors.New("--password and --password-stdin exclude each other"))
			}
			stdin := bufio.NewReader(os.Stdin)
			user := ctx.String("username")
			if user == "" {
				var err error
				if user, err = prompt(stdin, "Username: ", false); err != nil {
					return withCode(125, err)
				}
			}
			pass := ctx.String("password")
			switch {
			case ctx.Bool("password-stdin"):
				b, err := io.ReadAll(stdin)
				if err != nil {
					return fmt.Errorf("read password: %w", err)
				}
				pass = strings.TrimRight(string(b), "\r\n")
			case pass == "":
				var err error
				if pass, err = prompt(stdin, "Password: ", true); err != nil {
					return withCode(125, err)
				}
			}
			c, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o := image.LoginOptions{SkipTLSVerify: !ctx.Bool("tls-verify"), AuthFile: ctx.String("authfile")}
			if err := image.Login(c, ctx.Args().First(), user, pass, o); err != nil {
				if errors.Is(err, image.ErrUnauthorized) {
					return hint(err, "check the user name and password")
				}
				return explainTransfer(err)
			}
			fmt.Println("Login Succeeded!")
			return nil
		},
	}
}

// prompt asks on the terminal; without one it fails rather than wait.
func prompt(in *bufio.Reader, question string, secret bool) (string, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		what := "user name"
		flag := "-u USER"
		if secret {
			what, flag = "password", "-p PASSWORD or --password-stdin"
		}
		return "", hint(fmt.Errorf("no %s given and standard input is not a terminal", what), "pass %s", flag)
	}
	fmt.Fprint(os.Stderr, question)
	if secret {
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func logoutCommand() *cli.Command {
	return &cli.Command{
		Name:      "logout",
		Usage:     "forget a registry's credentials",
		ArgsUsage: "REGISTRY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "authfile", Usage: "where the credentials are kept (default $XDG_RUNTIME_DIR/containers/auth.json)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly one registry: myctr logout REGISTRY"))
			}
			if err := image.Logout(ctx.Args().First(), ctx.String("authfile")); err != nil {
				return err
			}
			fmt.Println("Removed login credentials for " + ctx.Args().First())
			return nil
		},
	}
}
