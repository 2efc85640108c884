package container

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestProcessArgs(t *testing.T) {
	ep := "/ep"
	empty := ""
	img := v1.ImageConfig{Entrypoint: []string{"/init"}, Cmd: []string{"serve"}}
	tests := []struct {
		name string
		o    CreateOptions
		want []string
	}{
		{"image defaults", CreateOptions{Image: img}, []string{"/init", "serve"}},
		{"command replaces cmd", CreateOptions{Image: img, Command: []string{"x"}}, []string{"/init", "x"}},
		{"entrypoint drops cmd", CreateOptions{Image: img, Entrypoint: &ep}, []string{"/ep"}},
		{"entrypoint with command", CreateOptions{Image: img, Entrypoint: &ep, Command: []string{"a"}}, []string{"/ep", "a"}},
		{"empty entrypoint", CreateOptions{Image: img, Entrypoint: &empty, Command: []string{"sh"}}, []string{"sh"}},
	}
	for _, tt := range tests {
		got, err := processArgs(&tt.o)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v %v, want %v", tt.name, got, err, tt.want)
		}
	}
	if _, err := processArgs(&CreateOptions{}); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no command: err = %v", err)
	}
}

func TestResolveUser(t *testing.T) {
	layer := t.TempDir()
	os.MkdirAll(filepath.Join(layer, "etc"), 0o755)
	os.WriteFile(filepath.Join(layer, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(layer, "etc/group"), []byte("root:x:0:\napp:x:1000:\nwheel:x:10:app\n"), 0o644)
	tests := []struct {
		in       string
		uid, gid uint32
		extra    []uint32
		home     string
		ok       bool
	}{
		{"", 0, 0, nil, "/root", true},
		{"app", 1000, 1000, []uint32{10}, "/home/app", true},
		{"1000", 1000, 1000, []uint32{10}, "/home/app", true},
		{"1234:55", 1234, 55, nil, "/", true},
		{"app:wheel", 1000, 10, nil, "/home/app", true},
		{"nosuch", 0, 0, nil, "", false},
		{"app:nosuch", 0, 0, nil, "", false},
		{"a:b:c", 0, 0, nil, "", false},
		{":5", 0, 0, nil, "", false},
	}
	for _, tt := range tests {
		u, home, err := resolveUser(tt.in, []string{layer})
		if (err == nil) != tt.ok {
			t.Errorf("resolveUser(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.ok {
			continue
		}
		if u.UID != tt.uid || u.GID != tt.gid || !reflect.DeepEqual(u.AdditionalGids, tt.extra) || home != tt.home {
			t.Errorf("resolveUser(%q) = %+v %q", tt.in, u, home)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"TERM": 15, "sigkill": 9, "10": 10, "SIGUSR1": 10} {
		got, err := ParseSignal(in)
		if err != nil || int(got) != want {
			t.Errorf("ParseSignal(%q) = %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "99"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q) accepted", bad)
		}
	}
}

// TestMaskedPathsMatchContainersCommon: the default masked paths are
// containers-common's, powercap and /proc/interrupts included, and every
// thermal_throttle directory of the host's CPUs.
func TestMaskedPathsMatchContainersCommon(t *testing.T) {
	got := map[string]bool{}
	for _, p := range defaultMaskedPaths() {
		got[p] = true
	}
	for _, want := range []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
		"/sys/devices/virtual/powercap", "/sys/firmware", "/sys/fs/selinux", "/proc/interrupts"} {
		if !got[want] {
			t.Errorf("%s is not masked", want)
		}
	}
	tt, _ := filepath.Glob("/sys/devices/system/cpu/cpu*/thermal_throttle")
	for _, p := range tt {
		if !got[p] {
			t.Errorf("%s is not masked", p)
		}
	}
}
