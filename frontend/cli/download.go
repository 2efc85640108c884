//go:build !lean

package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// download GETs url (load -i URL; the lean myctr hands such a command
// line to myctr-full, fullOnly) and returns the body of a 200 answer; any other
// answer is an error naming its status.
func download(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, withCode(125, fmt.Errorf("load -i %s: %w", url, err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("download %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}
