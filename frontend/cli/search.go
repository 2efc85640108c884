//go:build !lean

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/image"
)

var searchHeaders = upperHeaders([]string{"Index", "Name", "Description", "Stars", "Official", "Automated", "Tag"}, nil)

// searchCommand is `search` (and `image search`): repositories of a
// registry whose names hold a term, from its catalog.
func searchCommand() *cli.Command {
	return &cli.Command{
		Name:      "search",
		Usage:     "search registries for repositories whose names hold a term",
		ArgsUsage: "[REGISTRY/]TERM",
		Description: "Lists the repositories of the registry the term begins with (else of registries.conf's unqualified-search-registries) " +
			"whose names hold the rest of the term, read from the registry's catalog (/v2/_catalog): names only, no descriptions or stars. " +
			"REGISTRY/ alone lists them all.",
		Flags: []cli.Flag{
			templateFlag[image.SearchResult]("json, or a Go template over Index, Name, Description, Stars, Official, Automated, Tag ('table ...' for a table with a header)"),
			&cli.IntFlag{Name: "limit", Usage: "the most results per registry (default 25)"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate descriptions"},
			&cli.BoolFlag{Name: "list-tags", Usage: "list the tags of the repository REGISTRY/NAME"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "stars=N, is-official=true|false, is-automated=true|false (a catalog has no stars or marks)"},
			&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "check the registry's certificate; false also allows plain HTTP (registries.conf's insecure = true does the same for its registry)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, hint(errors.New("search requires one term"), "myctr search REGISTRY/TERM, e.g. myctr search localhost:5000/alpine"))
			}
			if ctx.Int("limit") < 0 {
				return withCode(125, fmt.Errorf("invalid --limit %d: a number of results, 0 or more", ctx.Int("limit")))
			}
			keep, err := searchFilter(ctx.StringSlice("filter"))
			if err != nil {
				return err
			}
			format := ctx.String("format")
			if format == "" {
				format = "table {{.Name}} {{.Description}}"
				if ctx.Bool("list-tags") {
					format = "table {{.Name}} {{.Tag}}"
				}
			}
			var lf *listFormat // nil: json
			if format != "json" {
				if lf, err = parseListFormat(format); err != nil {
					return err
				}
			}
			found, serr := image.Search(context.Background(), ctx.Args().First(), image.SearchOptions{
				Limit: ctx.Int("limit"), ListTags: ctx.Bool("list-tags"),
				SkipTLSVerify: isSet(ctx, "tls-verify") && !ctx.Bool("tls-verify"),
			})
			results := []image.SearchResult{}
			for _, r := range found {
				if !keep(r) {
					continue
				}
				if !ctx.Bool("no-trunc") && len(r.Description) > 44 {
					r.Description = r.Description[:44] + "..."
				}
				results = append(results, r)
			}
			if lf == nil {
				if err := writeJSON(os.Stdout, results, "    "); err != nil {
					return err
				}
			} else if len(results) > 0 {
				// As Podman: nothing at all, not even the header, when
				// nothing is found.
				rows := make([]any, len(results))
				for i, r := range results {
					rows[i] = r
				}
				if err := lf.write(os.Stdout, searchHeaders, rows, "the fields are Index, Name, Description, Stars, Official, Automated and Tag"); err != nil {
					return err
				}
			}
			return searchError(serr)
		},
	}
}

// searchError gives Search's errors their hints.
func searchError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, image.ErrNoCatalog):
		return hint(err, "search only lists what a registry's catalog holds; pull REGISTRY/NAME:TAG by its full name instead")
	case errors.Is(err, image.ErrNoSearchRegistries):
		return hint(err, "name the registry: myctr search REGISTRY/TERM, or list unqualified-search-registries in registries.conf")
	case errors.Is(err, image.ErrInvalidRef):
		return withCode(125, err)
	}
	return explain(err)
}

// searchFilter is search's --filter: each must hold.
func searchFilter(filters []string) (func(image.SearchResult) bool, error) {
	var tests []func(image.SearchResult) bool
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		bad := func() (func(image.SearchResult) bool, error) {
			return nil, withCode(125, hint(fmt.Errorf("invalid search filter %q", f), "stars=N, is-official=true|false or is-automated=true|false"))
		}
		switch k {
		case "stars":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad()
			}
			tests = append(tests, func(r image.SearchResult) bool { return r.Stars >= n })
		case "is-official", "is-automated":
			want, err := strconv.ParseBool(v)
			if err != nil {
				return bad()
			}
			tests = append(tests, func(r image.SearchResult) bool {
				mark := r.Official
				if k == "is-automated" {
					mark = r.Automated
				}
				return (mark == "[OK]") == want
			})
		default:
			return bad()
		}
	}
	return func(r image.SearchResult) bool {
		for _, t := range tests {
			if !t(r) {
				return false
			}
		}
		return true
	}, nil
}
