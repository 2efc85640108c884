package nsexec

import "testing"

func TestIsPause(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"/catatonit", "-P"}, true},
		{[]string{"catatonit", "-P"}, true},
		{[]string{"/pause"}, true},
		{[]string{"/catatonit"}, false},
		{[]string{"/catatonit", "-P", "x"}, false},
		{[]string{"/usr/libexec/myctr/myctr-init"}, false},
		{nil, false},
	} {
		if got := IsPause(tc.args); got != tc.want {
			t.Errorf("IsPause(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
