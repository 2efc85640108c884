package container

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseUlimits(t *testing.T) {
	us, err := ParseUlimits([]string{"nofile=100:200", "core=0", "memlock=-1"})
	if err != nil || len(us) != 3 {
		t.Fatalf("ParseUlimits: %v, %v", us, err)
	}
	if r := rlimit(us[0]); r.Type != "RLIMIT_NOFILE" || r.Soft != 100 || r.Hard != 200 {
		t.Errorf("nofile=100:200 is %+v", r)
	}
	if r := rlimit(us[1]); r.Type != "RLIMIT_CORE" || r.Soft != 0 || r.Hard != 0 {
		t.Errorf("core=0 is %+v (a soft limit alone is the hard one too)", r)
	}
	if r := rlimit(us[2]); r.Soft != unix.RLIM_INFINITY || r.Hard != unix.RLIM_INFINITY {
		t.Errorf("memlock=-1 is %+v, want unlimited", r)
	}
	if us, err := ParseUlimits([]string{"host"}); us != nil || err != nil {
		t.Errorf("host: %v, %v; want no limits", us, err)
	}
	for _, bad := range [][]string{{"bogus=1"}, {"nofile"}, {"nofile=2:1"}, {"nofile=1", "nofile=2"}, {"host", "nofile=1"}, {"nofile=x"}} {
		if _, err := ParseUlimits(bad); !errors.Is(err, ErrInvalidRunOption) {
			t.Errorf("ParseUlimits(%q) = %v, want ErrInvalidRunOption", bad, err)
		}
	}
}

func TestCheckRlimits(t *testing.T) {
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &cur); err != nil {
		t.Fatal(err)
	}
	us, _ := ParseUlimits([]string{"nofile=1:1"})
	if err := checkRlimits([]specs.POSIXRlimit{rlimit(us[0])}); err != nil {
		t.Errorf("lowering nofile: %v", err)
	}
	if cur.Max != unix.RLIM_INFINITY {
		over := rlimit(us[0])
		over.Hard = cur.Max + 1
		if err := checkRlimits([]specs.POSIXRlimit{over}); !errors.Is(err, ErrInvalidRunOption) {
			t.Errorf("raising nofile's hard limit: %v, want ErrInvalidRunOption", err)
		}
	}
}

func TestParseShmSizeUmaskAnnotations(t *testing.T) {
	if n, err := ParseShmSize("128m"); err != nil || n != 128<<20 {
		t.Errorf("ParseShmSize(128m) = %d, %v", n, err)
	}
	for _, bad := range []string{"0", "-1", "big", ""} {
		if _, err := ParseShmSize(bad); !errors.Is(err, ErrInvalidRunOption) {
			t.Errorf("ParseShmSize(%q) = %v", bad, err)
		}
	}
	if m, err := ParseUmask("0077"); err != nil || m != 0o77 {
		t.Errorf("ParseUmask(0077) = %o, %v", m, err)
	}
	for _, bad := range []string{"999", "01000", "x", ""} {
		if _, err := ParseUmask(bad); !errors.Is(err, ErrInvalidRunOption) {
			t.Errorf("ParseUmask(%q) = %v", bad, err)
		}
	}
	if a, err := ParseAnnotations([]string{"a=b", "c=d=e", "empty="}); err != nil || a["a"] != "b" || a["c"] != "d=e" || a["empty"] != "" {
		t.Errorf("ParseAnnotations = %v, %v", a, err)
	}
	for _, bad := range []string{"noequals", "=v", "io.myctr.keep-id=x"} {
		if _, err := ParseAnnotations([]string{bad}); !errors.Is(err, ErrInvalidRunOption) {
			t.Errorf("ParseAnnotations(%q) = %v", bad, err)
		}
	}
}
