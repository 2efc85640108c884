package cli

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/labels"
)

// jsonImage is img as `images --format json` shows it (Podman's fields).
func jsonImage(img image.Image, ctrs []*container.Container) imageEntry {
	e := imageEntry{Id: img.ID, Names: img.Names, Digest: img.Digest.String(),
		Size: img.Size, VirtualSize: img.Size, Labels: img.Config.Config.Labels,
		History: img.NamesHistory, Created: img.Created.Unix(), CreatedAt: img.Created.UTC(),
		RepoTags: []string{}, RepoDigests: []string{}}
	if e.Names == nil {
		e.Names = []string{}
	}
	if e.History == nil {
		e.History = []string{}
	}
	for _, n := range img.Names {
		repo, _, byDigest := strings.Cut(n, "@")
		if !byDigest {
			e.RepoTags = append(e.RepoTags, n)
			if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
				repo = repo[:i]
			}
		}
		if d := repo + "@" + img.Digest.String(); !slices.Contains(e.RepoDigests, d) {
			e.RepoDigests = append(e.RepoDigests, d)
		}
	}
	for _, c := range ctrs {
		if c.Image == img.ID {
			e.Containers++
		}
	}
	return e
}

// filterImages keeps the images that every --filter key matches (any of
// the values given for one key), as Podman's `images --filter`.
func filterImages(s *image.Store, list []image.Image, filters []string) ([]image.Image, error) {
	if len(filters) == 0 {
		return list, nil
	}
	byKey := map[string][]string{}
	var keys []string
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok && k != "dangling" {
			return nil, withCode(125, fmt.Errorf("invalid image filter %q: want KEY=VALUE", f))
		}
		switch k {
		case "after":
			k = "since"
		case "before", "since", "dangling", "label", "reference", "id":
		default:
			return nil, withCode(125, fmt.Errorf("invalid image filter %q", k))
		}
		if _, seen := byKey[k]; !seen {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], v)
	}
	var preds []func(image.Image) bool
	for _, k := range keys {
		var any []func(image.Image) bool
		for _, v := range byKey[k] {
			p, err := imagePredicate(s, k, v)
			if err != nil {
				return nil, err
			}
			any = append(any, p)
		}
		preds = append(preds, func(img image.Image) bool {
			return slices.ContainsFunc(any, func(p func(image.Image) bool) bool { return p(img) })
		})
	}
	return slices.DeleteFunc(list, func(img image.Image) bool {
		return slices.ContainsFunc(preds, func(p func(image.Image) bool) bool { return !p(img) })
	}), nil
}

func imagePredicate(s *image.Store, key, val string) (func(image.Image) bool, error) {
	switch key {
	case "before", "since":
		ref, err := s.Lookup(val)
		if err != nil {
			if errors.Is(err, image.ErrImageUnknown) {
				return nil, withCode(125, fmt.Errorf("%s: image not known", val))
			}
			return nil, err
		}
		t := ref.Created
		if key == "before" {
			return func(img image.Image) bool { return img.Created.Before(t) }, nil
		}
		return func(img image.Image) bool { return img.Created.After(t) }, nil
	case "dangling":
		want := val == "" || val == "true"
		if val != "" && val != "true" && val != "false" {
			return nil, withCode(125, fmt.Errorf("invalid dangling filter value %q: want true or false", val))
		}
		return func(img image.Image) bool { return (len(img.Names) == 0) == want }, nil
	case "label":
		return func(img image.Image) bool { return labels.Match(img.Config.Config.Labels, val) }, nil
	case "reference":
		return func(img image.Image) bool {
			return slices.ContainsFunc(img.Names, func(n string) bool { return referenceMatches(val, n) })
		}, nil
	default: // id
		id := strings.TrimPrefix(val, "sha256:")
		return func(img image.Image) bool { return strings.HasPrefix(img.ID, id) }, nil
	}
}

// referenceMatches says whether a reference filter (a name as typed, or
// a shell pattern over the name or its repository) matches the name n.
func referenceMatches(pattern, n string) bool {
	if refMatches(pattern, n) {
		return true
	}
	repo, _, _ := strings.Cut(n, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for _, cand := range []string{n, repo, path.Base(repo), path.Base(n)} {
		if ok, _ := path.Match(pattern, cand); ok {
			return true
		}
	}
	return false
}

// sortImageRows orders rows by --sort: created newest first, the others
// ascending (size: smallest first), ties by repository and tag.
func sortImageRows(rows []imageRow, by string) {
	slices.SortStableFunc(rows, func(a, b imageRow) int {
		var c int
		switch by {
		case "created":
			c = b.created.Compare(a.created)
		case "id":
			c = cmp.Compare(a.ID, b.ID)
		case "size":
			c = cmp.Compare(a.size, b.size)
		case "tag":
			c = cmp.Compare(a.Tag, b.Tag)
		}
		if c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Tag, b.Tag))
	})
}
