package volume

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

func TestParseVolumeFlag(t *testing.T) {
	wd, _ := os.Getwd()
	tests := []struct {
		in   string
		want Mount
		ok   bool
	}{
		{"/host:/ctr", Mount{Type: TypeBind, Source: "/host", Destination: "/ctr"}, true},
		{"/host:/ctr:ro,z", Mount{Type: TypeBind, Source: "/host", Destination: "/ctr", Options: []string{"ro"}}, true},
		{"./rel:/ctr", Mount{Type: TypeBind, Source: filepath.Join(wd, "rel"), Destination: "/ctr"}, true},
		{"data:/var/lib/x/", Mount{Type: TypeVolume, Source: "data", Destination: "/var/lib/x"}, true},
		{"data:/x:U,noexec,Z", Mount{Type: TypeVolume, Source: "data", Destination: "/x", Options: []string{"noexec"}, Chown: true}, true},
		{"data:/x:nocopy", Mount{Type: TypeVolume, Source: "data", Destination: "/x", NoCopy: true}, true},
		{"/anon", Mount{Type: TypeVolume, Destination: "/anon"}, true},
		{"/anon:ro", Mount{Type: TypeVolume, Destination: "/anon", Options: []string{"ro"}}, true},
		{"/h:/c:rprivate", Mount{Type: TypeBind, Source: "/h", Destination: "/c", Options: []string{"rprivate"}}, true},
		{"data:relative", Mount{}, false},
		{"bad name:/x", Mount{}, false},
		{"-x:/x", Mount{}, false},
		{":/x", Mount{}, false},
		{"/h:/c:bogus", Mount{}, false},
		{"/h:/c:ro,rw", Mount{}, false},
		{"/h:/c:ro:extra", Mount{}, false},
		{"anon", Mount{}, false},
		{"/tmp:", Mount{}, false},
	}
	for _, tt := range tests {
		got, err := ParseVolumeFlag(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseVolumeFlag(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidMount) {
				t.Errorf("ParseVolumeFlag(%q) err = %v, not ErrInvalidMount", tt.in, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseVolumeFlag(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseMountFlag(t *testing.T) {
	tests := []struct {
		in   string
		want Mount
		ok   bool
	}{
		{"type=bind,source=/h,target=/c", Mount{Type: TypeBind, Source: "/h", Destination: "/c"}, true},
		{"type=bind,src=/h,dst=/c,readonly", Mount{Type: TypeBind, Source: "/h", Destination: "/c", Options: []string{"ro"}}, true},
		{"type=bind,src=/h,destination=/c,ro=false", Mount{Type: TypeBind, Source: "/h", Destination: "/c", Options: []string{"rw"}}, true},
		{"type=bind,src=/h,dst=/c,bind-propagation=rslave,bind-nonrecursive", Mount{Type: TypeBind, Source: "/h", Destination: "/c", Options: []string{"rslave"}, NonRecursive: true}, true},
		{"type=volume,source=v,target=/d,U=true,relabel=private", Mount{Type: TypeVolume, Source: "v", Destination: "/d", Chown: true}, true},
		{"type=volume,target=/d", Mount{Type: TypeVolume, Destination: "/d"}, true},
		{"type=volume,src=v,dst=/d,volume-nocopy,noexec", Mount{Type: TypeVolume, Source: "v", Destination: "/d", NoCopy: true, Options: []string{"noexec"}}, true},
		{"type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777", Mount{Type: TypeTmpfs, Destination: "/t", Options: []string{"nosuid", "nodev", "size=1m", "mode=1777"}}, true},
		{"type=bind,target=/c", Mount{}, false},
		{"type=volume,src=../x,dst=/d", Mount{}, false},
		{"type=volume,src=v", Mount{}, false},
		{"type=volume,src=v,dst=rel", Mount{}, false},
		{"type=tmpfs,src=x,dst=/t", Mount{}, false},
		{"type=image,src=x,dst=/t", Mount{}, false},
		{"src=/h,dst=/c", Mount{}, false},
		{"type=bind,src=/h,dst=/c,frobnicate=1", Mount{}, false},
		{"type=bind,src=/h,dst=/c,tmpfs-size=1m", Mount{}, false},
		{"type=bind,src=/h,dst=/c,ro=maybe", Mount{}, false},
	}
	for _, tt := range tests {
		got, err := ParseMountFlag(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseMountFlag(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMountFlag(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseVolumesFrom(t *testing.T) {
	for in, want := range map[string][2]string{"c": {"c", ""}, "c:ro": {"c", "ro"}, "c:rw,z": {"c", "rw"}} {
		c, mode, err := ParseVolumesFrom(in)
		if err != nil || c != want[0] || mode != want[1] {
			t.Errorf("ParseVolumesFrom(%q) = %q, %q, %v; want %q, %q", in, c, mode, err, want[0], want[1])
		}
	}
	for _, in := range []string{"", ":ro", "c:ro,rw", "c:U"} {
		if _, _, err := ParseVolumesFrom(in); err == nil {
			t.Errorf("ParseVolumesFrom(%q) accepted", in)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"a", "data", "my_vol.1-x", "0abc"} {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", ".tmp-x", "a/b", "../x", "-a", "_a", "a b", "a:b"} {
		if ValidName(n) == nil {
			t.Errorf("ValidName(%q) accepted", n)
		}
	}
}

func TestStore(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Create(CreateOptions{Name: "data", Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Mountpoint != filepath.Join(root, "volumes", "data", "_data") || !v.NeedsCopyUp || !v.NeedsChown || v.Driver != "local" || v.Scope != "local" {
		t.Errorf("Create = %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mount point: %v, %v", fi, err)
	}
	if _, err := s.Create(CreateOptions{Name: "data"}); !errors.Is(err, ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if _, err := s.Create(CreateOptions{Name: "data", Exist: true}); err != nil {
		t.Errorf("Create with Exist = %v", err)
	}
	for _, bad := range []string{"../escape", "a/b", ".hidden"} {
		if _, err := s.Create(CreateOptions{Name: bad}); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Create(%q) = %v, want ErrInvalidName", bad, err)
		}
		if _, err := s.Get(bad); !errors.Is(err, ErrNoSuchVolume) {
			t.Errorf("Get(%q) = %v, want ErrNoSuchVolume", bad, err)
		}
	}
	anon, err := s.Create(CreateOptions{Anonymous: true})
	if err != nil || len(anon.Name) != 64 || !anon.Anonymous {
		t.Fatalf("anonymous Create = %+v, %v", anon, err)
	}
	if _, err := s.Create(CreateOptions{Name: "x", Driver: "nfs"}); !errors.Is(err, ErrNoPlugin) {
		t.Errorf("Create with driver nfs = %v", err)
	}
	if _, err := s.Create(CreateOptions{Name: "x", Options: map[string]string{"foo": "bar"}}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("Create with -o foo = %v", err)
	}
	if _, err := s.Create(CreateOptions{Name: "x", Options: map[string]string{"type": "bind", "device": filepath.Join(root, "missing")}}); err == nil {
		t.Error("Create of a bind volume on a missing device accepted")
	}
	bind, err := s.Create(CreateOptions{Name: "b", Options: map[string]string{"type": "bind", "device": root}})
	if err != nil || bind.Kind() != "bind" {
		t.Errorf("bind Create = %+v, %v", bind, err)
	}
	if _, err := s.Update("data", func(v *Volume) { v.NeedsChown = false }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("data"); got.NeedsChown || got.Labels["k"] != "v" {
		t.Errorf("after Update: %+v", got)
	}
	list, err := s.List()
	var names []string
	for _, v := range list {
		names = append(names, v.Name)
	}
	if want := []string{anon.Name, "b", "data"}; err != nil || !reflect.DeepEqual(names, sorted(want)) {
		t.Errorf("List = %v, %v; want %v", names, err, sorted(want))
	}
	if err := s.Remove("data"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("data"); !errors.Is(err, ErrNoSuchVolume) {
		t.Errorf("second Remove = %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "volumes", "data")); !os.IsNotExist(err) {
		t.Errorf("volume directory left: %v", err)
	}
}

// A crash in the middle of create or rm leaves entries that no listing
// shows and that the next create (or a sweep) deletes.
func TestStoreCrashLeftovers(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".tmp-0123", ".rm-data-abcd", "half"} {
		if err := os.MkdirAll(filepath.Join(s.Dir(), d, "_data"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 0 {
		t.Errorf("List with leftovers = %v, %v", list, err)
	}
	if _, err := s.Create(CreateOptions{Name: "fresh"}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".tmp-0123", ".rm-data-abcd"} {
		if _, err := os.Stat(filepath.Join(s.Dir(), d)); !os.IsNotExist(err) {
			t.Errorf("%s not swept: %v", d, err)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}
