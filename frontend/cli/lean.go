//go:build lean

package cli

import (
	"context"
	"errors"
	"io"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/nsexec"
)

// The lean myctr, the binary users run (make builds cmd/myctr with the
// lean tag): the Containerfile builder (buildkit's parser, with protobuf)
// and the Docker API server are not linked in, and the command lines that
// need them (fullOnly) run in myctr-full instead. Every other command starts
// without their package initialisation: about 2 ms of each start
// (docs/ARCHITECTURE.md, "Two binaries").
//
// The commands below are only names here, for the groups that list them
// (image build, container commit, system service...): a command line
// that calls one never gets this far (Run hands it to myctr-full first).

const lean = true

// errFullOnly is what a builder or API function of this binary returns:
// Run hands every command line that would call one to myctr-full.
var errFullOnly = errors.New("this command runs in myctr-full")

// fullOnlyCommand is a command of myctr-full's, by its name alone (a
// group's help, which would show its usage, is myctr-full's too).
func fullOnlyCommand(name string) *cli.Command {
	return &cli.Command{Name: name, Action: func(*cli.Context) error { return errFullOnly }}
}

func buildCommand() *cli.Command   { return fullOnlyCommand("build") }
func buildxCommand() *cli.Command  { return fullOnlyCommand("buildx") }
func commitCommand() *cli.Command  { return fullOnlyCommand("commit") }
func serviceCommand() *cli.Command { return fullOnlyCommand("service") }

// buildPullArgs is build's: a command line with build never gets here.
func buildPullArgs(args []string) []string { return args }

func importChanges([]string) (func(*v1.ImageConfig), error) { return nil, errFullOnly }

func writeDiff(string, io.Writer) error { return errFullOnly }

func cachedLayers(*image.Store) ([]image.Layer, error) { return nil, errFullOnly }

func apiDefaultSocket() (string, error) { return "", errFullOnly }

const apiVersion = ""

// AddStages adds nothing: the pull stage (nsexec.StagePull) is
// myctr-full's, which the lean myctr starts for a pull.
func AddStages(nsexec.Table) {}

// pullImage pulls ref into the store d through myctr-full's pull stage.
func pullImage(c context.Context, d container.Dirs, _ *image.Store, ref string, o image.PullOptions, signaturePolicy string) (*image.Image, error) {
	return pullThroughFull(c, d, ref, o, signaturePolicy)
}

// download is load -i URL's: a command line with a URL never gets here.
func download(context.Context, string) (io.ReadCloser, error) { return nil, errFullOnly }

// The registry's commands: myctr-full has the registry client.
func loginCommand() *cli.Command    { return fullOnlyCommand("login") }
func logoutCommand() *cli.Command   { return fullOnlyCommand("logout") }
func manifestCommand() *cli.Command { return fullOnlyCommand("manifest") }
func pushCommand() *cli.Command     { return fullOnlyCommand("push") }
func searchCommand() *cli.Command   { return fullOnlyCommand("search") }
