package api

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRegistryAuth(t *testing.T) {
	const js = `{"username":"u","password":"p?>","serveraddress":"reg.example"}`
	for _, tc := range []struct {
		name, header string
		user, pass   string
		none, bad    bool
	}{
		{name: "absent", none: true},
		{name: "empty object", header: base64.URLEncoding.EncodeToString([]byte("{}")), none: true},
		{name: "url padded", header: base64.URLEncoding.EncodeToString([]byte(js)), user: "u", pass: "p?>"},
		{name: "url raw", header: base64.RawURLEncoding.EncodeToString([]byte(js)), user: "u", pass: "p?>"},
		{name: "std", header: base64.StdEncoding.EncodeToString([]byte(js)), user: "u", pass: "p?>"},
		{name: "not base64", header: "%%%", bad: true},
		{name: "not json", header: base64.URLEncoding.EncodeToString([]byte("user:pass")), bad: true},
		{name: "too long", header: strings.Repeat("A", maxAuthHeader+4), bad: true},
	} {
		r := httptest.NewRequest(http.MethodPost, "/images/x/push", nil)
		if tc.header != "" {
			r.Header.Set("X-Registry-Auth", tc.header)
		}
		c, err := registryAuth(r)
		switch {
		case tc.bad:
			if err == nil || statusOf(err) != http.StatusBadRequest {
				t.Errorf("%s: %v %v, want a 400", tc.name, c, err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.none:
			if c != nil {
				t.Errorf("%s: %+v, want no credentials", tc.name, c)
			}
		case c == nil || c.Username != tc.user || c.Password != tc.pass:
			t.Errorf("%s: %+v, want %s/%s", tc.name, c, tc.user, tc.pass)
		}
	}
}
