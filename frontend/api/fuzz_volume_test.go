package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzCreateMounts: HostConfig.Mounts of any shape is turned into the
// CLI's mounts or refused with a client error's status (400) or a 501,
// never a panic.
func FuzzCreateMounts(f *testing.F) {
	for _, seed := range []string{
		`[{"Type":"volume","Source":"v","Target":"/v","ReadOnly":true,"VolumeOptions":{"NoCopy":true}}]`,
		`[{"Type":"bind","Source":"/srv","Target":"/srv","BindOptions":{"Propagation":"rslave"}}]`,
		`[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1024,"Mode":511}}]`,
		`[{"Type":"npipe","Target":"/p"}]`,
		`[{"Type":"volume","Source":"a,ro","Target":"/x"}]`,
		`[{}]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, mounts string) {
		req, err := decodeCreate(strings.NewReader(`{"Image":"bb","HostConfig":{"Mounts":` + mounts + `}}`))
		if err != nil {
			return
		}
		if _, err := createOptions(req, ""); err != nil {
			if c := statusOf(err); c != 400 && c != 501 {
				t.Fatalf("createOptions refused with status %d: %v", c, err)
			}
		}
	})
}

// FuzzVolumeCreate: the volume create body decodes or is refused with a
// client error's status or a 501.
func FuzzVolumeCreate(f *testing.F) {
	for _, seed := range []string{`{"Name":"v","Labels":{"a":"b"},"DriverOpts":{"type":"tmpfs"}}`, `{"Driver":"x"}`, ``, `{"ClusterVolumeSpec":{}}`, `[`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := decodeVolumeCreate([]byte(body)); err != nil {
			if c := statusOf(err); c != 400 && c != 404 && c != 501 {
				t.Fatalf("status %d: %v", c, err)
			}
		}
	})
}

// FuzzVolumeFilters: the filters of GET /volumes parse or are a 400.
func FuzzVolumeFilters(f *testing.F) {
	for _, seed := range []string{`{"name":["a.*"]}`, `{"label":{"a=b":true}}`, `{"dangling":["true"]}`, `{"name":["("]}`, `{"until":["x"]}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{URL: &url.URL{RawQuery: url.Values{"filters": {raw}}.Encode()}}
		if _, err := volumeFilter(r, "name", "driver", "label", "label!", "dangling", "until"); err != nil && statusOf(err) != 400 {
			t.Fatalf("status %d: %v", statusOf(err), err)
		}
	})
}
