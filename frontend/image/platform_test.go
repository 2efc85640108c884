package image

import (
	"errors"
	"runtime"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	if p, err := ParsePlatform("", "", "", ""); p != nil || err != nil || !IsHostPlatform(p) {
		t.Errorf("no platform: %v, %v; want nil, the host's", p, err)
	}
	for _, tc := range []struct{ s, goos, arch, variant, want string }{
		{"linux/arm64/v8", "", "", "", "linux/arm64/v8"},
		{"linux/x86_64", "", "", "", "linux/amd64"},
		{"", "", "aarch64", "", "linux/arm64"},
		{"windows", "", "", "", "windows/" + runtime.GOARCH},
		{"linux/arm", "", "", "v7", "linux/arm/v7"},
		{"linux/amd64", "", "arm64", "", "linux/arm64"}, // the flag over the part
	} {
		p, err := ParsePlatform(tc.s, tc.goos, tc.arch, tc.variant)
		if err != nil {
			t.Errorf("ParsePlatform(%q, %q, %q, %q): %v", tc.s, tc.goos, tc.arch, tc.variant, err)
			continue
		}
		got := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			got += "/" + p.Variant
		}
		if got != tc.want {
			t.Errorf("ParsePlatform(%q, %q, %q, %q) = %s, want %s", tc.s, tc.goos, tc.arch, tc.variant, got, tc.want)
		}
	}
	for _, bad := range []string{"linux//x", "/amd64", "a/b/c/d", "linux/"} {
		if _, err := ParsePlatform(bad, "", "", ""); !errors.Is(err, ErrBadPlatform) {
			t.Errorf("ParsePlatform(%q) = %v, want ErrBadPlatform", bad, err)
		}
	}
	host, _ := ParsePlatform("linux/"+runtime.GOARCH, "", "", "")
	other, _ := ParsePlatform("linux/s390x", "", "", "")
	if runtime.GOARCH != "s390x" && (!IsHostPlatform(host) || IsHostPlatform(other)) {
		t.Errorf("IsHostPlatform: host %v, s390x %v", IsHostPlatform(host), IsHostPlatform(other))
	}
}
