package cli

import (
	"slices"
	"testing"
)

func TestProxyEnv(t *testing.T) {
	env := map[string]string{"http_proxy": "http://p:3128", "NO_PROXY": "localhost", "HOME": "/root", "https_proxy": ""}
	got := proxyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	// Podman's list, in its order; a variable set empty passes as set.
	if want := []string{"http_proxy=http://p:3128", "https_proxy=", "NO_PROXY=localhost"}; !slices.Equal(got, want) {
		t.Errorf("proxyEnv = %q, want %q", got, want)
	}
}
