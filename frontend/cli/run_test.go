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

// TestEarlyNamespaces: the namespaces an early start guesses from run's
// arguments before they are parsed, or nil where it must not start one.
func TestEarlyNamespaces(t *testing.T) {
	usual := []string{"mnt", "pid", "ipc", "uts", "net"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"bb", "true"}, usual},
		{[]string{"--rm", "--network", "none", "bb", "true"}, usual},
		{[]string{"--rm", "--net=pasta", "-e", "A=1", "--name", "x", "bb"}, usual},
		{[]string{"--network", "host", "bb"}, usual[:4]},
		// The container's own flags are not run's.
		{[]string{"bb", "sh", "-c", "ls -d", "-it", "--userns", "keep-id"}, usual},
		// A value is never read as a flag.
		{[]string{"-e", "--tty", "bb"}, usual},
		{[]string{"--name", "-d", "bb"}, usual},
		{[]string{"-d", "bb"}, nil},
		{[]string{"--rm", "-it", "bb"}, nil},
		{[]string{"-t", "bb"}, nil},
		{[]string{"--interactive=false", "bb"}, nil},
		{[]string{"--userns", "keep-id", "bb"}, nil},
		{[]string{"--pod", "p", "bb"}, nil},
		{[]string{"--ipc=host", "bb"}, nil},
		{[]string{"--network", "container:other", "bb"}, nil},
		{[]string{"--network", "mynet", "bb"}, nil},
		{[]string{"--network", "none", "--network", "host", "bb"}, nil},
		{[]string{"-a", "stdout", "bb"}, nil},
		{[]string{"--log-driver", "journald", "bb"}, nil},
		{[]string{"--cgroups", "split", "bb"}, nil},
		{[]string{"--help"}, nil},
		{[]string{"--no-such-flag", "bb"}, nil},
		{[]string{"--rm"}, nil},           // no image
		{[]string{"--name"}, nil},         // a value missing
		{[]string{"-ep", "x", "bb"}, nil}, // a value inside a group
	} {
		if got := earlyNamespaces(tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("earlyNamespaces(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
