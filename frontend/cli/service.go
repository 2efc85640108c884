//go:build !lean

package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/api"
)

// serviceCommand is `myctr system service`: the Docker Engine API on a
// unix socket of the user's, over the same stores as every other verb.
func serviceCommand() *cli.Command {
	return &cli.Command{
		Name:      "service",
		Usage:     "serve the Docker Engine API on a unix socket (DOCKER_HOST=unix://PATH)",
		ArgsUsage: "[URI]",
		Description: "Serves the Docker Engine API (versions up to " + api.APIVersion + ") on URI, unix://PATH or tcp://HOST:PORT: on PATH, by default " +
			"$XDG_RUNTIME_DIR/myctr/myctr.sock, mode 0600 in a directory of yours alone, so that the docker CLI and " +
			"the libraries of the same API drive myctr. tcp://HOST:PORT serves TCP instead, without authentication or TLS: " +
			"HOST must be a loopback address unless --tcp-any. Exits after --time seconds without a request (0: never). " +
			"Started by a systemd socket unit (myctr.socket), it serves the socket the unit passes (LISTEN_FDS) instead, and leaves it to the unit when it exits.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "tcp-any", Usage: "serve tcp:// on an address that is not loopback (anyone who reaches it controls your containers)"},
			&cli.UintFlag{Name: "time", Aliases: []string{"t"}, Value: 5, Usage: "seconds without a request before the service exits (0: never)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 1 {
				return withCode(125, errors.New("myctr system service takes at most one URI"))
			}
			uri := ctx.Args().First()
			var tcpAddr string
			if strings.HasPrefix(uri, "tcp://") {
				var err error
				tcpAddr, err = api.TCPAddr(uri, ctx.Bool("tcp-any"))
				if errors.Is(err, api.ErrNotLoopback) {
					return withCode(125, hint(fmt.Errorf("%w: a TCP socket gives anyone who reaches the port control of your containers", err),
						"serve tcp://127.0.0.1:PORT or a unix socket; pass --tcp-any only on a network where everyone who can reach the port may be you"))
				}
				if err != nil {
					return withCode(125, hint(err, "give tcp://HOST:PORT, e.g. tcp://127.0.0.1:2375"))
				}
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			images, err := openImages(ctx)
			if err != nil {
				return err
			}
			nets, err := openNetworks(ctx)
			if err != nil {
				return err
			}
			m, err := mapping()
			if err != nil {
				return err
			}
			cc, err := containersConf()
			if err != nil {
				return err
			}
			// Socket activation (myctr.socket): the unit owns the
			// socket's file and listens on after the service exits.
			l, _, err := api.Inherited()
			if err != nil {
				return withCode(125, hint(err, "the socket unit must have one ListenStream= of a path in a directory of yours (DirectoryMode=0700), with SocketMode=0600"))
			}
			if l == nil && tcpAddr != "" {
				if l, err = net.Listen("tcp", tcpAddr); err != nil {
					return withCode(125, fmt.Errorf("listen on %s: %w", tcpAddr, err))
				}
				fmt.Fprintf(os.Stderr, api.TCPWarning+"\n", l.Addr())
			}
			if l == nil {
				path, err := api.SocketPath(uri)
				if errors.Is(err, api.ErrNoRuntimeDir) {
					return withCode(125, hint(err, "set XDG_RUNTIME_DIR to a directory of yours (0700), or give unix://PATH"))
				}
				if err != nil {
					return withCode(125, hint(err, "give unix://PATH, with PATH absolute"))
				}
				if l, err = listenOwn(path); err != nil {
					return err
				}
				defer os.Remove(path)
			}
			srv := api.New(&api.Backend{
				Containers: s,
				Images:     images,
				Networks:   nets,
				Mapping:    m,
				DefaultNetwork: func() (string, []string, error) {
					return networkMode("")
				},
				Version: Version,
				RunRoot: s.Dirs.RunRoot,
				Differ:  usernsUnpacker{},
				Conf:    cc,
			})
			c, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return srv.Serve(c, l, time.Duration(ctx.Uint("time"))*time.Second)
		},
	}
}

// listenOwn makes the service's socket at path (api.Listen), with the
// fix of each refusal.
func listenOwn(path string) (net.Listener, error) {
	l, err := api.Listen(path)
	switch {
	case errors.Is(err, api.ErrUnsafeDir):
		return nil, withCode(125, hint(err, "chmod 0700 the directory, or give unix://PATH in a directory that is yours alone"))
	case errors.Is(err, api.ErrInUse):
		return nil, withCode(125, hint(err, "a service runs there already: use it, or stop it first"))
	case err != nil:
		return nil, withCode(125, err)
	}
	return l, nil
}
