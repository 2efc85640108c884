package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"
)

// versionInfo is one side of `myctr version`, with Podman's field names
// (scripts read {{.Client.Version}} and {{.Server.Built}}).
type versionInfo struct {
	APIVersion string
	Version    string
	GoVersion  string
	GitCommit  string
	BuiltTime  string
	Built      int64
	OsArch     string
	Os         string
}

// versionOut: there is no server; as Podman does without one, Server is
// the same as Client, but only the client is printed.
type versionOut struct {
	Client *versionInfo
	Server *versionInfo `json:"-"`
}

// builtTime is when this binary was built: the executable's modification
// time (the build writes it; nothing else is recorded in it).
func builtTime() time.Time {
	exe, err := os.Executable()
	if err != nil {
		return time.Time{}
	}
	st, err := os.Stat(exe)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "show the version of myctr",
		Flags: []cli.Flag{
			templateFlag[versionOut]("json, or a Go template over .Client and .Server (Version, APIVersion, GoVersion, BuiltTime, Built, OsArch, Os)", "f"),
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, errors.New("`myctr version` takes no arguments"))
			}
			built := builtTime()
			info := &versionInfo{
				APIVersion: Version,
				Version:    Version,
				GoVersion:  runtime.Version(),
				BuiltTime:  built.Format(time.ANSIC),
				Built:      built.Unix(),
				OsArch:     runtime.GOOS + "/" + runtime.GOARCH,
				Os:         runtime.GOOS,
			}
			out := versionOut{Client: info, Server: info}
			switch f := ctx.String("format"); f {
			case "":
				fmt.Printf("Client:       myctr\nVersion:      %s\nAPI Version:  %s\nGo Version:   %s\nBuilt:        %s\nOS/Arch:      %s\n",
					info.Version, info.APIVersion, info.GoVersion, info.BuiltTime, info.OsArch)
				return nil
			case "json", "{{json .}}":
				b, err := json.MarshalIndent(out, "", "  ")
				if err != nil {
					return err
				}
				fmt.Println(string(b))
				return nil
			default:
				t, err := parseFormat(f)
				if err != nil {
					return err
				}
				return writeFormat(os.Stdout, t, out, "the fields are .Client.Version, .Client.GoVersion, .Client.Built, .Client.OsArch (and the same under .Server)")
			}
		},
	}
}
