package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

// systemCommand groups the verbs about the store as a whole, as Podman's
// `podman system` does.
func systemCommand() *cli.Command {
	return group("system", "manage the store as a whole, and serve the Docker API", []*cli.Command{systemCheckCommand(), serviceCommand(), systemDfCommand(), systemPruneCommand(), systemResetCommand(), infoCommand()})
}

func systemCheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the image and container store for damage, and repair it with --repair",
		Description: "Reports, one line each: missing or damaged layer directories, blobs whose sha256 does not match " +
			"their name, images whose manifest, config or layer blob is missing or does not parse, containers whose " +
			"container.json or config.json is missing, empty or does not parse, containers whose layers are gone, " +
			"orphaned layers and run directories, and temporaries left by interrupted writes. " +
			"--quick skips hashing the blobs and comparing each layer directory with its blob's tar. " +
			"--repair re-extracts a damaged layer from its blob when the blob is intact; otherwise it removes what " +
			"is broken (the image, the container record, the orphan) and says so. A running container's files are " +
			"never touched. Exits 0 only when the store is whole (with --repair: when everything found was repaired).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "repair", Aliases: []string{"r"}, Usage: "repair what is damaged: re-extract layers, remove what cannot be repaired"},
			&cli.BoolFlag{Name: "quick", Aliases: []string{"q"}, Usage: "skip the slow checks: hashing blobs, comparing layer directories with their blobs"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "json: {\"findings\":[{\"kind\",\"object\",\"problem\",\"action\",\"repaired\"}],\"notes\",\"whole\"}"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 0 {
				return withCode(125, errors.New("takes no arguments: myctr system check [--repair] [--quick]"))
			}
			format := ctx.String("format")
			if format != "" && format != "json" {
				return withCode(125, fmt.Errorf("--format %q: system check prints lines, or json", format))
			}
			res, err := systemCheck(ctx, ctx.Bool("repair"), ctx.Bool("quick"))
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				printCheck(res, ctx.Bool("repair"))
			}
			if res.Whole {
				return nil
			}
			left := 0
			for _, f := range res.Findings {
				if !f.Repaired {
					left++
				}
			}
			if ctx.Bool("repair") {
				return hint(fmt.Errorf("the store is not whole: %s could not be repaired", count(left, "problem")),
					"see the lines above: stop the running containers named there and run `myctr system check --repair` again")
			}
			return hint(fmt.Errorf("the store is not whole: %s found", count(left, "problem")),
				"run `myctr system check --repair` to repair them (it re-extracts layers from intact blobs and removes what is broken)")
		},
	}
}

// checkResult is what system check prints.
type checkResult struct {
	Findings   []image.Finding `json:"findings"`
	Notes      []string        `json:"notes"`
	Images     int             `json:"images"`
	Containers int             `json:"containers"`
	Whole      bool            `json:"whole"`
}

// systemCheck checks the containers (their records, under the container
// store's lock), then the images (under the image store's locks, knowing
// which layers the containers and the build cache use), then whether each
// container's layers are still there.
func systemCheck(ctx *cli.Context, repair, quick bool) (*checkResult, error) {
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, err
	}
	cf, ctrs, err := cs.Check(container.CheckOptions{Repair: repair})
	if err != nil {
		return nil, err
	}
	d := dirs(ctx)
	images, err := image.OpenForCheck(d.Storage(), usernsUnpacker{})
	if err != nil {
		return nil, err
	}
	cached, err := cachedLayers(images)
	if err != nil {
		return nil, err
	}
	var users []image.LayerUser
	for _, c := range ctrs {
		c.Refresh()
		users = append(users, image.LayerUser{Name: c.Name, Running: c.Running(), Dirs: c.Lower})
	}
	rep, err := images.Check(image.CheckOptions{Quick: quick, Repair: repair, Containers: users, Cached: cached})
	if err != nil {
		return nil, err
	}
	res := &checkResult{Notes: rep.Notes, Images: len(rep.ImageIDs), Containers: len(ctrs)}
	for _, f := range cf {
		res.Findings = append(res.Findings, image.Finding(f))
	}
	res.Findings = append(res.Findings, rep.Findings...)
	exists := func(id string) bool { return rep.ImageIDs[id] }
	for _, f := range rep.Findings {
		if f.Kind == "index" {
			exists = nil // no telling which images there are
		}
	}
	lf, notes := cs.CheckLayers(ctrs, exists, repair)
	for _, f := range lf {
		res.Findings = append(res.Findings, image.Finding(f))
	}
	res.Notes = append(res.Notes, notes...)
	if res.Findings == nil {
		res.Findings = []image.Finding{}
	}
	if res.Notes == nil {
		res.Notes = []string{}
	}
	res.Whole = true
	for _, f := range res.Findings {
		if !f.Repaired {
			res.Whole = false
		}
	}
	return res, nil
}

func printCheck(res *checkResult, repair bool) {
	for _, f := range res.Findings {
		line := fmt.Sprintf("%s %s: %s", f.Kind, f.Object, f.Problem)
		if f.Action != "" {
			line += ": " + f.Action
		}
		fmt.Println(line)
	}
	for _, n := range res.Notes {
		fmt.Println("Note: " + n)
	}
	repaired := 0
	for _, f := range res.Findings {
		if f.Repaired {
			repaired++
		}
	}
	switch {
	case len(res.Findings) == 0:
		fmt.Printf("The store is whole: %s, %s checked\n", count(res.Images, "image"), count(res.Containers, "container"))
	case repair:
		fmt.Printf("%s found, %d repaired (%s, %s checked)\n", count(len(res.Findings), "problem"), repaired, count(res.Images, "image"), count(res.Containers, "container"))
	default:
		fmt.Printf("%s found (%s, %s checked)\n", count(len(res.Findings), "problem"), count(res.Images, "image"), count(res.Containers, "container"))
	}
}

// damagedImage gives an image whose layers are not all in the store the
// way to repair it.
func damagedImage(err error) error {
	return hint(err, "run `myctr system check --repair`: it re-extracts the layer from its blob, or removes the image if it cannot (pull or build it again then)")
}

// count is "1 problem", "2 problems".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
