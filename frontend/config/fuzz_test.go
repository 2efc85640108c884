package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkFileError fails the test unless err is a FileError for path that
// errors.Is calls ErrBadConfig, with a line inside data.
func checkFileError(t *testing.T, err error, path string, data []byte) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, ErrBadConfig) {
		t.Fatalf("%T %v: not a FileError", err, err)
	}
	if fe.File != path || !strings.HasPrefix(err.Error(), path+":") {
		t.Fatalf("%v: does not name %s", err, path)
	}
	if lines := bytes.Count(data, []byte("\n")) + 1; fe.Line < 0 || fe.Line > lines {
		t.Fatalf("%v: line %d of a file of %d lines", err, fe.Line, lines)
	}
}

// writeConf writes data to a file named name in a fresh directory.
func writeConf(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzLoad reads a myctr.conf: a FileError at a line of the file, or a
// known network mode.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"", "network = \"pasta\"\n", "network = \"bogus\"\n", "network = 1\n", "netwrok = \"x\"\n", "[t]\nx=1\n", "network =\n", "a = \"\"\"\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeConf(t, "myctr.conf", data)
		c, err := Load(p)
		if err != nil {
			checkFileError(t, err, p, data)
			return
		}
		switch c.Network {
		case "", "pasta", "slirp4netns", "bridge", "none", "host":
		default:
			t.Fatalf("network %q accepted", c.Network)
		}
	})
}

// FuzzRegistries reads a registries.conf: a FileError at a line of the
// file, or registries with prefixes, each once, and aliases with values.
func FuzzRegistries(f *testing.F) {
	for _, s := range []string{
		"unqualified-search-registries = [\"docker.io\", \"quay.io:5000\"]\nshort-name-mode = \"enforcing\"\n",
		"[[registry]]\nprefix = \"example.com/foo\"\nlocation = \"mirror.example.com/bar\"\ninsecure = true\n[[registry.mirror]]\nlocation = \"m.example.com\"\npull-from-mirror = \"digest-only\"\n",
		"[[registry]]\nlocation = \"a.io\"\n[[registry]]\nlocation = \"a.io\"\n",
		"[[registry]]\nprefix = \"*.example.com\"\nblocked = true\n",
		"[aliases]\n\"busybox\" = \"docker.io/library/busybox\"\n\"bad\" = \"not a ref\"\n",
		"[registries.search]\nregistries = [\"docker.io\"]\n",
		"credential-helpers = [\"x\"]\nunknown = 1\n",
		"[[registry]]\nprefix = \"\"\n",
		"unqualified-search-registries = [\"https://x\"]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeConf(t, "registries.conf", data)
		r := &Registries{Aliases: map[string]Alias{}}
		if err := r.merge(p, false); err != nil {
			checkFileError(t, err, p, data)
			return
		}
		seen := map[string]bool{}
		for _, reg := range r.Registries {
			if reg.Prefix == "" || seen[reg.Prefix] || reg.File != p {
				t.Fatalf("registry %+v", reg)
			}
			seen[reg.Prefix] = true
		}
		for n, a := range r.Aliases {
			if n == "" || a.Value == "" {
				t.Fatalf("alias %q = %+v", n, a)
			}
		}
		switch r.Mode {
		case "", ShortNameEnforcing, ShortNamePermissive, ShortNameDisabled:
		default:
			t.Fatalf("short-name-mode %q accepted", r.Mode)
		}
	})
}

// FuzzContainers reads a containers.conf: a FileError at a line of the
// file, or settings that name it at a line inside it.
func FuzzContainers(f *testing.F) {
	for _, s := range []string{
		"[containers]\ndefault_capabilities = [\"CHOWN\"]\nenv = [\"A=b\"]\ninit = true\nlog_driver = \"k8s-file\"\npids_limit = 100\n",
		"[network]\ndefault_rootless_network_cmd = \"pasta\"\n[engine]\nimage_default_transport = \"docker://\"\n",
		"[containers]\nlog_driver = \"syslog\"\n", "[containers]\npids_limit = \"x\"\n", "[engine]\nruntime = \"crun\"\n",
		"[containers\n", "[network]\ndefault_rootless_network_cmd = \"vde\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeConf(t, "containers.conf", data)
		env := Env{Root: t.TempDir(), Getenv: func(k string) string {
			if k == "CONTAINERS_CONF" {
				return p
			}
			return ""
		}}
		c, err := LoadContainers(env)
		if err != nil {
			checkFileError(t, err, p, data)
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, s := range []Setting[string]{c.LogDriver, c.RootlessNetworkCmd, c.ImageDefaultTransport} {
			if s.Set && (s.File != p || s.Line < 0 || s.Line > lines) {
				t.Fatalf("setting %+v", s)
			}
		}
		for _, k := range c.Unsupported {
			if k.File != p || k.Line < 0 || k.Line > lines || k.Name == "" {
				t.Fatalf("unsupported key %+v", k)
			}
		}
	})
}

// FuzzPolicy reads a policy.json: a FileError at a line of the file, or
// a policy with a default whose every requirement has a known type.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		`{"default": [{"type": "insecureAcceptAnything"}]}`,
		`{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io/x": [{"type": "signedBy", "keyType": "GPGKeys"}]}}}`,
		`{"default": []}`, `{}`, `{"default": [{"type": "bogus"}]}`, `{"default": [{"type": 1}]}`,
		`{"default": [{"type": "reject"}], "transports": {"docker-archive": {"x": [{"type": "reject"}]}}}`,
		"{\n\"default\": [\n", `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeConf(t, "policy.json", data)
		pol, err := ReadPolicy(p)
		if err != nil {
			checkFileError(t, err, p, data)
			return
		}
		if len(pol.Default) == 0 {
			t.Fatalf("policy without a default accepted: %+v", pol)
		}
		for _, scopes := range pol.Transports {
			for _, reqs := range scopes {
				if len(reqs) == 0 {
					t.Fatalf("an empty requirement list accepted: %+v", pol)
				}
			}
		}
		_ = pol.Check("docker", "docker.io/library/busybox:latest")
	})
}
