package labels

import "testing"

func TestMatch(t *testing.T) {
	set := map[string]string{"app": "shop", "empty": "", "a=b": "c"}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"app", true},
		{"app=shop", true},
		{"app=sho", false},
		{"app=", false},
		{"empty", true},
		{"empty=", true},
		{"missing", false},
		{"missing=", false},
		{"", false},
	} {
		if got := Match(set, tc.filter); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.filter, got, tc.want)
		}
	}
	if Match(nil, "app") {
		t.Error("a nil set matched")
	}
}
