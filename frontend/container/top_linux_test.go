package container

import (
	"errors"
	"slices"
	"testing"
)

func TestTopDescriptors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
		err  error
	}{
		{nil, DefaultTopDescriptors, nil},
		{[]string{"huser,user"}, []string{"huser", "user"}, nil},
		{[]string{"pid", "ppid,args"}, []string{"pid", "ppid", "args"}, nil},
		{[]string{"pid user"}, []string{"pid", "user"}, nil},
		{[]string{"%p", "%U"}, []string{"pid", "user"}, nil},
		{[]string{"pid,nosuch"}, nil, ErrUnknownDescriptor},
	} {
		got, err := TopDescriptors(c.args)
		if !errors.Is(err, c.err) || (c.err == nil && !slices.Equal(got, c.want)) {
			t.Errorf("TopDescriptors(%q) = %q, %v; want %q, %v", c.args, got, err, c.want, c.err)
		}
	}
}

func TestToInside(t *testing.T) {
	m := [][3]int64{{0, 1000, 1}, {1, 100000, 65536}}
	for _, c := range []struct{ host, want int64 }{
		{1000, 0}, {100000, 1}, {100999, 1000}, {165535, 65536}, {165536, -1}, {5, -1}, {-1, -1},
	} {
		if got := toInside(m, c.host); got != c.want {
			t.Errorf("toInside(%d) = %d, want %d", c.host, got, c.want)
		}
	}
}

func TestCapNamesAndTTY(t *testing.T) {
	if got := capNames("0000000000000000"); got != "none" {
		t.Errorf("no caps: %q", got)
	}
	if got := capNames("0000000000000021"); got != "CHOWN,KILL" {
		t.Errorf("CHOWN,KILL: %q", got)
	}
	for _, c := range []struct{ nr, want string }{{"0", "?"}, {"34816", "pts/0"}, {"34817", "pts/1"}, {"1025", "tty1"}} {
		if got := ttyName(c.nr); got != c.want {
			t.Errorf("ttyName(%s) = %q, want %q", c.nr, got, c.want)
		}
	}
}
