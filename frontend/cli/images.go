package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "make an image from a root filesystem tarball (- for stdin)",
		ArgsUsage: "TARBALL [NAME[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "history comment"},
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "a Containerfile instruction applied to the image config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR"},
			// import prints no progress, only the id: there is nothing
			// for -q to hush.
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image's id (import prints nothing else)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 1 || ctx.NArg() > 2 {
				return withCode(125, errors.New("requires a tarball and at most an image name: myctr import TARBALL [NAME[:TAG]]"))
			}
			change, err := importChanges(ctx.StringSlice("change"))
			if err != nil {
				return withCode(125, err)
			}
			var r io.Reader = os.Stdin
			if p := ctx.Args().Get(0); p != "-" {
				f, err := os.Open(p)
				if err != nil {
					return fmt.Errorf("open tarball: %w", err)
				}
				defer f.Close()
				r = f
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			img, err := s.Import(r, ctx.Args().Get(1), image.ImportOptions{Cmd: []string{"/bin/sh"}, Message: ctx.String("message"), Change: change})
			if err != nil {
				return explain(err)
			}
			record(ctx, events.TypeImage, "import", img.ID, ctx.Args().Get(1))
			fmt.Println(img.ID)
			return nil
		},
	}
}

// imageEntry is one object of `images --format json`, with Podman's
// fields (its ImageSummary).
type imageEntry struct {
	Id          string
	ParentId    string
	RepoTags    []string
	RepoDigests []string
	Size        int64
	SharedSize  int64
	VirtualSize int64
	Labels      map[string]string
	Containers  int
	Names       []string
	Digest      string
	History     []string
	Created     int64
	CreatedAt   time.Time
}

// imageRow is one line of `images`, the fields a --format template may
// name, as Podman names them.
type imageRow struct {
	Repository, Tag, ID, Digest, Created, Size string
	// Labels are the image's, for templates ({{.Labels.maintainer}});
	// not a column of the table.
	Labels map[string]string `json:"-"`
	// History is every name the image has had, latest first, joined
	// with ", " ({{.History}}); not a column of the table.
	History string `json:"-"`
	// CreatedAt (and CreatedTime) and CreatedSince are Podman's fields
	// for templates: the time as image history shows it, and Created.
	CreatedAt, CreatedTime, CreatedSince string `json:"-"`

	created time.Time
	size    int64
}

// imageHeaders are the column headers of `images --format "table ..."`.
var imageHeaders = upperHeaders([]string{"Repository", "Tag", "ID", "Digest", "Created", "Size", "CreatedAt", "CreatedTime", "CreatedSince"},
	map[string]string{"ID": "IMAGE ID", "CreatedAt": "CREATED AT", "CreatedTime": "CREATED AT", "CreatedSince": "CREATED"})

// imageRows gives each name of each image its line, as the table shows
// them; with refs, only the names that one of them matches (a reference
// without a tag matches every tag of its repository).
func imageRows(list []image.Image, refs []string) []imageRow {
	var rows []imageRow
	for _, img := range list {
		// A name by digest (a pull by digest) is no row of its own,
		// as in Podman's listing, unless the image has no tag.
		names := slices.DeleteFunc(slices.Clone(img.Names), func(n string) bool { return strings.Contains(n, "@") })
		if len(names) == 0 && len(img.Names) > 0 {
			for _, n := range img.Names {
				repo, _, _ := strings.Cut(n, "@")
				if !slices.Contains(names, repo+":<none>") {
					names = append(names, repo+":<none>")
				}
			}
		}
		if len(names) == 0 {
			if len(refs) > 0 {
				continue
			}
			names = []string{"<none>:<none>"}
		}
		for _, n := range names {
			if len(refs) > 0 && !slices.ContainsFunc(refs, func(r string) bool { return refMatches(r, n) }) {
				continue
			}
			repo, tag := n, "<none>"
			if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
				repo, tag = n[:i], n[i+1:]
			}
			rows = append(rows, imageRow{Repository: repo, Tag: tag, ID: img.ID[:12], Digest: img.Digest.String(),
				Created: humanDuration(time.Since(img.Created)) + " ago", Size: image.HumanBytes(img.Size),
				CreatedAt: createdAt(img.Created), CreatedTime: createdAt(img.Created), CreatedSince: humanDuration(time.Since(img.Created)) + " ago",
				Labels: img.Config.Config.Labels, History: strings.Join(img.NamesHistory, ", "),
				created: img.Created, size: img.Size})
		}
	}
	return rows
}

// createdAt is a time as Podman's images and history templates show
// CreatedAt: to the second, in UTC, Go's form ("2022-06-15 00:00:00 +0000
// UTC"), the same in both so that scripts can compare them.
func createdAt(t time.Time) string {
	return time.Unix(t.Unix(), 0).UTC().String()
}

// refMatches says whether ref (as typed: "bb", "bb:1", "localhost/bb")
// names the full image name n, or its repository when ref has no tag.
func refMatches(ref, n string) bool {
	full, err := image.NormalizeRef(ref)
	if err != nil {
		return false
	}
	if full == n {
		return true
	}
	tagged := strings.LastIndex(ref, ":") > strings.LastIndex(ref, "/") || strings.Contains(ref, "@")
	repo, _, _ := strings.Cut(n, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return !tagged && strings.TrimSuffix(full, ":latest") == repo
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:      "images",
		Usage:     "list images",
		ArgsUsage: "[IMAGE...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only ids"},
			templateFlag[imageRow]("json for machine output, or a Go template over Repository, Tag, ID, Digest, Created, Size (e.g. 'table {{.Repository}} {{.Tag}}')"),
			// Podman hides a build's intermediate images without it;
			// myctr keeps none, so every image is always listed.
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "also intermediate images (myctr keeps none: every image is listed anyway)"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "whole image ids (sha256:...)"},
			&cli.BoolFlag{Name: "noheading", Aliases: []string{"n"}, Usage: "no header line"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "only images that match: before=IMAGE, since=IMAGE (after=), dangling=true|false, label=KEY[=VALUE], reference=PATTERN, id=ID (repeatable; one key given twice matches either value)"},
			&cli.StringFlag{Name: "sort", Value: "created", Usage: "order of the lines: created (newest first), id, repository, size or tag"},
		},
		Action: func(ctx *cli.Context) error {
			if !slices.Contains([]string{"created", "id", "repository", "size", "tag"}, ctx.String("sort")) {
				return withCode(125, fmt.Errorf("invalid option for --sort, options are: [created id repository size tag]"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			list, err := s.List()
			if err != nil {
				return err
			}
			if list, err = filterImages(s, list, ctx.StringSlice("filter")); err != nil {
				return err
			}
			if refs := ctx.Args().Slice(); len(refs) > 0 {
				list = slices.DeleteFunc(list, func(img image.Image) bool {
					return !slices.ContainsFunc(img.Names, func(n string) bool {
						return slices.ContainsFunc(refs, func(r string) bool { return refMatches(r, n) })
					})
				})
			}
			if ctx.Bool("quiet") {
				for _, img := range list {
					if ctx.Bool("no-trunc") {
						fmt.Println("sha256:" + img.ID)
					} else {
						fmt.Println(img.ID[:12])
					}
				}
				return nil
			}
			rows := imageRows(list, ctx.Args().Slice())
			sortImageRows(rows, ctx.String("sort"))
			if ctx.Bool("no-trunc") {
				for i := range rows {
					for _, img := range list {
						if strings.HasPrefix(img.ID, rows[i].ID) {
							rows[i].ID = "sha256:" + img.ID
							break
						}
					}
				}
			}
			switch ctx.String("format") {
			case "json":
				_, ctrs, err := listContainers(ctx)
				if err != nil {
					return err
				}
				out := []imageEntry{}
				for _, img := range list {
					out = append(out, jsonImage(img, ctrs))
				}
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			case "", "table":
			default:
				f, err := parseListFormat(ctx.String("format"))
				if err != nil {
					return err
				}
				f.noHeading = ctx.Bool("noheading")
				var anyRows []any
				for _, r := range rows {
					anyRows = append(anyRows, r)
				}
				return f.write(os.Stdout, imageHeaders, anyRows, "the fields are Repository, Tag, ID, Digest, Created, CreatedAt, CreatedSince, Size, Labels and History")
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			if !ctx.Bool("noheading") {
				fmt.Fprintln(w, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
			}
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.Created, r.Size)
			}
			return w.Flush()
		},
	}
}

func rmiCommand() *cli.Command {
	return &cli.Command{
		Name:      "rmi",
		Usage:     "remove images",
		ArgsUsage: "IMAGE...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove even if containers use it (removing them); an image that is not there is no error"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every image"},
			&cli.BoolFlag{Name: "ignore", Aliases: []string{"i"}, Usage: "an image that is not there is no error"},
		},
		Action: func(ctx *cli.Context) error {
			all := ctx.Bool("all")
			if ctx.NArg() == 0 && !all {
				return withCode(125, errors.New("requires at least one image"))
			}
			if ctx.NArg() > 0 && all {
				return withCode(125, errors.New("when using the --all switch, you may not pass any images names or IDs"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			cs, ctrs, err := listContainers(ctx)
			if err != nil {
				return err
			}
			refs := ctx.Args().Slice()
			if all {
				list, err := s.List()
				if err != nil {
					return err
				}
				for _, img := range list {
					refs = append(refs, img.ID)
				}
				lists, err := s.Lists()
				if err != nil {
					return err
				}
				for _, l := range lists {
					refs = append(refs, l.ID)
				}
			}
			// As Podman (libimage): every name untagged, then every image
			// deleted, then the errors, joined. The exit code is the last
			// error's: 1 for an image that is not there (-f and --ignore
			// make that no error), 2 for one in use, 125 otherwise.
			missingOK := ctx.Bool("force") || ctx.Bool("ignore")
			var untagged, deleted []string
			var errs []error
			code := 0
			fail := func(c int, err error) { errs, code = append(errs, err), c }
		refs:
			for _, ref := range refs {
				img, err := s.Lookup(ref)
				if errors.Is(err, image.ErrImageUnknown) {
					// A manifest list goes as Podman's: by name or id.
					if l, lerr := s.RemoveList(ref); lerr == nil {
						untagged = append(untagged, l.Name)
						deleted = append(deleted, l.ID)
						continue
					}
					if !missingOK {
						fail(1, err)
					}
					continue
				}
				if err != nil {
					fail(125, err)
					continue
				}
				// Untagging one of several names leaves the image in place.
				untagOnly := false
				if len(img.Names) > 1 {
					if n, nerr := image.NormalizeRef(ref); nerr == nil && slices.Contains(img.Names, n) {
						untagOnly = true
					}
				}
				for _, c := range ctrs {
					if untagOnly || c.Image != img.ID {
						continue
					}
					if !ctx.Bool("force") {
						// Podman's words, which scripts match.
						err := fmt.Errorf("image used by %s: image is in use by a container: consider listing external containers and force-removing image", img.ID)
						if c.PodInfra {
							err = hint(err, "it is the image of pod %s's infra container: remove the pod first (myctr pod rm -f %s), or use rmi -f", c.Pod[:12], c.Pod[:12])
						} else {
							err = hint(err, "container %s uses it: remove it first (myctr rm %s), or use rmi -f", c.Name, c.Name)
						}
						fail(2, err)
						continue refs
					}
					// As Podman: -f removes the containers first (an infra
					// container takes its pod), their lower dirs being the
					// image's layers. A container an earlier pod took is
					// already gone.
					if err := removeUser(ctx, cs, c); err != nil && !errors.Is(err, container.ErrNotFound) {
						fail(125, explain(err))
						continue refs
					}
				}
				var imageID string // for the events, whether the image goes or stays
				if img, err := s.Lookup(ref); err == nil {
					imageID = img.ID
				}
				names, id, err := s.Remove(ref, ctx.Bool("force"))
				untagged = append(untagged, names...)
				for _, n := range names {
					record(ctx, events.TypeImage, "untag", imageID, n)
				}
				if err == nil && id != "" {
					record(ctx, events.TypeImage, "remove", id, ref)
				}
				if err != nil {
					fail(125, explain(err))
					continue
				}
				if id != "" {
					deleted = append(deleted, id)
				}
			}
			for _, n := range untagged {
				fmt.Println("Untagged: " + n)
			}
			for _, id := range deleted {
				fmt.Println("Deleted: " + id)
			}
			if len(errs) == 0 {
				return nil
			}
			return withCode(code, joinErrors(errs))
		},
	}
}
