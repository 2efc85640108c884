package api

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/volume"
)

func TestPathStatHeader(t *testing.T) {
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tc := range []struct {
		hdr  tar.Header
		want ctypes.PathStat
	}{
		{tar.Header{Name: "f.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 12, ModTime: mtime},
			ctypes.PathStat{Name: "f.txt", Size: 12, Mode: 0o644, Mtime: mtime}},
		{tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime},
			ctypes.PathStat{Name: "d", Mode: os.ModeDir | 0o755, Mtime: mtime}},
		{tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc", Mode: 0o777, ModTime: mtime},
			ctypes.PathStat{Name: "l", Mode: os.ModeSymlink | 0o777, Mtime: mtime, LinkTarget: "/etc"}},
	} {
		st := pathStat(&tc.hdr)
		if st != tc.want {
			t.Errorf("%s: stat %+v, want %+v", tc.hdr.Name, st, tc.want)
		}
		v, err := encodePathStat(st)
		if err != nil {
			t.Fatal(err)
		}
		// The docker CLI reads the header as base64 JSON of PathStat.
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("%s: header %q: %v", tc.hdr.Name, v, err)
		}
		var back ctypes.PathStat
		if err := json.Unmarshal(b, &back); err != nil || !back.Mtime.Equal(st.Mtime) || back.Mode != st.Mode || back.Name != st.Name || back.Size != st.Size {
			t.Errorf("%s: decoded %+v (%v), want %+v", tc.hdr.Name, back, err, st)
		}
		for _, k := range []string{`"name"`, `"size"`, `"mode"`, `"mtime"`, `"linkTarget"`} {
			if !strings.Contains(string(b), k) {
				t.Errorf("%s: header JSON %s lacks %s", tc.hdr.Name, b, k)
			}
		}
	}
}

func TestArchivePath(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"path=/etc/hostname", "/etc/hostname"},
		{"path=etc", "/etc"},
		{"path=/tmp/d/.", "/tmp/d/."},
		{"path=", ""},
		{"", ""},
		{"path=a%00b", ""},
	} {
		r, _ := http.NewRequest("GET", "/containers/x/archive?"+tc.query, nil)
		got, err := archivePath(r)
		if tc.want == "" {
			if statusOf(err) != 400 {
				t.Errorf("%q: %q %v, want a 400", tc.query, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.query, got, err, tc.want)
		}
	}
}

func TestArchiveError(t *testing.T) {
	c := &container.Container{Name: "web"}
	if err := archiveError(container.ErrCopyNotFound, c, "/x"); statusOf(err) != 404 || !strings.Contains(err.Error(), "/x") {
		t.Errorf("not found: %v (%d)", err, statusOf(err))
	}
	if err := archiveError(container.ErrCopyNotTar, c, "/x"); statusOf(err) != 400 {
		t.Errorf("not a tar: %v (%d)", err, statusOf(err))
	}
	if err := archiveError(errors.New("boom"), c, "/x"); statusOf(err) != 500 {
		t.Errorf("other: %v (%d)", err, statusOf(err))
	}
}

func TestMountFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    mount.Mount
		want string // the --mount spelling; "" when refused
		code int
	}{
		{name: "volume", m: mount.Mount{Type: "volume", Source: "data", Target: "/data"}, want: "type=volume,source=data,destination=/data"},
		{name: "volume ro nocopy", m: mount.Mount{Type: "volume", Source: "data", Target: "/data", ReadOnly: true, VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
			want: "type=volume,source=data,destination=/data,ro=true,volume-nocopy=true"},
		{name: "anonymous volume", m: mount.Mount{Type: "volume", Target: "/v"}, want: "type=volume,destination=/v"},
		{name: "bind", m: mount.Mount{Type: "bind", Source: "/srv", Target: "/srv", BindOptions: &mount.BindOptions{Propagation: "rslave", NonRecursive: true}},
			want: "type=bind,source=/srv,destination=/srv,bind-propagation=rslave,bind-nonrecursive=true"},
		{name: "tmpfs", m: mount.Mount{Type: "tmpfs", Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o1777}},
			want: "type=tmpfs,destination=/t,tmpfs-size=1048576,tmpfs-mode=777"},
		{name: "no type", m: mount.Mount{Target: "/t"}, code: 400},
		{name: "npipe", m: mount.Mount{Type: "npipe", Target: "/t"}, code: 501},
		{name: "comma", m: mount.Mount{Type: "bind", Source: "/a,b", Target: "/t"}, code: 400},
		{name: "volume labels", m: mount.Mount{Type: "volume", Source: "v", Target: "/t", VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{"a": "b"}}}, code: 501},
		{name: "volume driver", m: mount.Mount{Type: "volume", Source: "v", Target: "/t", VolumeOptions: &mount.VolumeOptions{DriverConfig: &mount.Driver{Name: "nfs"}}}, code: 501},
		{name: "subpath", m: mount.Mount{Type: "volume", Source: "v", Target: "/t", VolumeOptions: &mount.VolumeOptions{Subpath: "x"}}, code: 501},
		{name: "create mountpoint", m: mount.Mount{Type: "bind", Source: "/a", Target: "/t", BindOptions: &mount.BindOptions{CreateMountpoint: true}}, code: 501},
		{name: "tmpfs options", m: mount.Mount{Type: "tmpfs", Target: "/t", TmpfsOptions: &mount.TmpfsOptions{Options: [][]string{{"exec"}}}}, code: 501},
		{name: "options of another type", m: mount.Mount{Type: "tmpfs", Target: "/t", BindOptions: &mount.BindOptions{}}, code: 400},
	} {
		got, err := mountFlag(0, tc.m)
		if tc.code != 0 {
			if statusOf(err) != tc.code {
				t.Errorf("%s: %q %v (%d), want %d", tc.name, got, err, statusOf(err), tc.code)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestCreateOptionsMounts(t *testing.T) {
	req, err := decodeCreate(strings.NewReader(`{"Image":"bb","HostConfig":{"Binds":["data:/data"],
		"Mounts":[{"Type":"volume","Source":"v2","Target":"/v2","ReadOnly":true},{"Type":"tmpfs","Target":"/t"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := createOptions(req, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Mounts) != 3 {
		t.Fatalf("mounts %+v", o.Mounts)
	}
	if m := o.Mounts[0]; m.Type != volume.TypeVolume || m.Source != "data" || m.Destination != "/data" {
		t.Errorf("bind of a named volume: %+v", m)
	}
	if m := o.Mounts[1]; m.Type != volume.TypeVolume || m.Source != "v2" || !m.ReadOnly() {
		t.Errorf("volume mount: %+v", m)
	}
	if m := o.Mounts[2]; m.Type != volume.TypeTmpfs || m.Destination != "/t" {
		t.Errorf("tmpfs mount: %+v", m)
	}
	req, _ = decodeCreate(strings.NewReader(`{"Image":"bb","HostConfig":{"Mounts":[{"Type":"volume","Source":"../x","Target":"/v"}]}}`))
	if _, err := createOptions(req, ""); statusOf(err) != 400 {
		t.Errorf("a bad volume name: %v (%d), want 400", err, statusOf(err))
	}
	req, _ = decodeCreate(strings.NewReader(`{"Image":"bb","HostConfig":{"Mounts":[{"Type":"volume","Source":"v","Target":"rel"}]}}`))
	if _, err := createOptions(req, ""); statusOf(err) != 400 {
		t.Errorf("a relative target: %v (%d), want 400", err, statusOf(err))
	}
}

func TestCreateOptionsOtherMounts(t *testing.T) {
	req, err := decodeCreate(strings.NewReader(`{"Image":"bb","Volumes":{"/anon":{},"/data":{},"/t":{}},
		"HostConfig":{"Binds":["v:/data"],"Tmpfs":{"/t":"size=1m","/u":""},"VolumesFrom":["other:ro"],"VolumeDriver":"local"}}`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := createOptions(req, "")
	if err != nil {
		t.Fatal(err)
	}
	// /data is the bind's, /t the tmpfs's: only /anon is a new volume.
	if len(o.Mounts) != 2 || o.Mounts[1].Destination != "/anon" || o.Mounts[1].Type != volume.TypeVolume || o.Mounts[1].Source != "" {
		t.Errorf("mounts %+v", o.Mounts)
	}
	if strings.Join(o.Tmpfs, " ") != "/t:size=1m /u" || strings.Join(o.VolumesFrom, " ") != "other:ro" {
		t.Errorf("tmpfs %v, volumes-from %v", o.Tmpfs, o.VolumesFrom)
	}
	for body, code := range map[string]int{
		`{"Image":"bb","HostConfig":{"VolumeDriver":"nfs"}}`:      501,
		`{"Image":"bb","HostConfig":{"Tmpfs":{"rel":""}}}`:        400,
		`{"Image":"bb","HostConfig":{"VolumesFrom":["c:bogus"]}}`: 400,
		`{"Image":"bb","Volumes":{"rel":{}},"HostConfig":{}}`:     400,
		`{"Image":"bb","Volumes":{"/a:/b":{}},"HostConfig":{}}`:   400,
	} {
		req, err := decodeCreate(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := createOptions(req, ""); statusOf(err) != code {
			t.Errorf("%s: %v (%d), want %d", body, err, statusOf(err), code)
		}
	}
}

func TestDecodeVolumeCreate(t *testing.T) {
	o, err := decodeVolumeCreate([]byte(`{"Name":"v1","Driver":"local","Labels":{"a":"b"},"DriverOpts":{"type":"tmpfs"}}`))
	if err != nil || o.Name != "v1" || o.Labels["a"] != "b" || o.Options["type"] != "tmpfs" || !o.Exist || o.Driver != volume.DriverLocal {
		t.Errorf("options %+v %v", o, err)
	}
	if o, err := decodeVolumeCreate(nil); err != nil || o.Name != "" {
		t.Errorf("empty body: %+v %v, want an anonymous name", o, err)
	}
	if _, err := decodeVolumeCreate([]byte(`{"Driver":"nfs"}`)); statusOf(err) != 404 {
		t.Errorf("another driver: %v (%d), want 404", err, statusOf(err))
	}
	if _, err := decodeVolumeCreate([]byte(`{"Name":`)); statusOf(err) != 400 {
		t.Errorf("bad JSON: %v (%d), want 400", err, statusOf(err))
	}
	if _, err := decodeVolumeCreate([]byte(`{"ClusterVolumeSpec":{}}`)); statusOf(err) != 501 {
		t.Errorf("cluster volume: %v (%d), want 501", err, statusOf(err))
	}
}

func TestVolumeFilterParam(t *testing.T) {
	r, _ := http.NewRequest("GET", `/volumes?filters={"label":{"a=b":true},"dangling":{"true":true}}`, nil)
	f, err := volumeFilter(r, "name", "label", "dangling")
	if err != nil {
		t.Fatal(err)
	}
	v := &volume.Volume{Name: "x", Labels: map[string]string{"a": "b"}}
	if !f.Match(v, false) || f.Match(v, true) {
		t.Errorf("filter %v", f)
	}
	r, _ = http.NewRequest("GET", `/volumes?filters={"bogus":["1"]}`, nil)
	if _, err := volumeFilter(r, "name"); statusOf(err) != 400 {
		t.Errorf("an unknown filter: %v (%d), want 400", err, statusOf(err))
	}
}

func TestRenameTop(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "d/a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		{Name: "d/h", Typeflag: tar.TypeLink, Linkname: "d/a"},
		{Name: "d/sub/", Typeflag: tar.TypeDir, Mode: 0o755},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	tr := tar.NewReader(renameTop(&buf, "d", "."))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+">"+h.Linkname)
	}
	if want := "./> ./a> ./h>./a ./sub/>"; strings.Join(got, " ") != want {
		t.Errorf("renamed %q, want %q", strings.Join(got, " "), want)
	}
}
