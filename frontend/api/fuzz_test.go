package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCreateRequest feeds the create decoder and its translation into
// container options arbitrary bodies and names: they may refuse, never
// panic, and every refusal carries a client error's status.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"Image":"bb","Cmd":["true"]}`,
		`{"Image":"bb","Entrypoint":[""],"Env":["A=1"],"HostConfig":{"AutoRemove":true}}`,
		`{"Image":"bb","HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"::1","HostPort":"8080"}]},"RestartPolicy":{"Name":"always"}}}`,
		`{"Image":"bb","HostConfig":{"Binds":["/a:/b:ro,U"],"NetworkMode":"container:x"}}`,
		`{"Image":"","StopTimeout":-1}`,
		`not json`,
	} {
		f.Add(seed, "name")
	}
	f.Fuzz(func(t *testing.T, body, name string) {
		req, err := decodeCreate(strings.NewReader(body))
		if err != nil {
			if c := statusOf(err); c < 400 || c >= 500 {
				t.Fatalf("decode refused with status %d: %v", c, err)
			}
			return
		}
		if _, err := createOptions(req, name); err != nil {
			if c := statusOf(err); c != 400 && c != 501 {
				t.Fatalf("createOptions refused with status %d: %v", c, err)
			}
		}
	})
}

// FuzzFilters: the filters parameter parses or is a 400.
func FuzzFilters(f *testing.F) {
	for _, seed := range []string{`{"label":["a=b"]}`, `{"status":{"exited":true}}`, `{"name":[""]}`, `[`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := parseFilters(raw)
		if err != nil {
			if statusOf(err) != 400 {
				t.Fatalf("status %d: %v", statusOf(err), err)
			}
			return
		}
		if _, err := newContainerFilter(m); err != nil && statusOf(err) != 400 {
			t.Fatalf("status %d: %v", statusOf(err), err)
		}
	})
}

// FuzzRegistryAuth: any X-Registry-Auth header decodes or is a 400.
func FuzzRegistryAuth(f *testing.F) {
	for _, seed := range []string{"", "e30=", "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ", "%%%", "bnVsbA=="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest(http.MethodPost, "/images/x/push", nil)
		r.Header["X-Registry-Auth"] = []string{h}
		if _, err := registryAuth(r); err != nil && statusOf(err) != http.StatusBadRequest {
			t.Fatalf("refused with status %d: %v", statusOf(err), err)
		}
	})
}
