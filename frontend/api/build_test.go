package api

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

func TestParseBuild(t *testing.T) {
	for _, tc := range []struct {
		query string
		code  int // 0: accepted
		check func(t *testing.T, p *buildParams)
	}{
		{query: "t=a&t=b:2&buildargs=" + `{"X":"1","U":null}` + "&labels=" + `{"a":"b"}` + "&nocache=1&target=s&q=1&rm=1&forcerm=0&pull=1",
			check: func(t *testing.T, p *buildParams) {
				o := p.opts
				if strings.Join(p.tags, ",") != "a,b:2" || !p.quiet || !o.NoCache || o.Target != "s" {
					t.Errorf("params %+v", p)
				}
				if len(o.BuildArgs) != 1 || o.BuildArgs["X"] != "1" || o.Labels["a"] != "b" {
					t.Errorf("args %v labels %v", o.BuildArgs, o.Labels)
				}
			}},
		{query: "buildargs=[1]", code: 400},
		{query: "labels=x", code: 400},
		{query: "nocache=maybe", code: 400},
		{query: "platform=" + runtime.GOOS + "/" + runtime.GOARCH},
		{query: "platform=linux/s390x-not", code: 400},
		{query: "remote=https://example.com/x.git", code: 501},
		{query: "version=2", code: 400},
		{query: "networkmode=default&squash=0"},
		{query: "networkmode=host", code: 501},
		{query: "squash=1", code: 501},
	} {
		r := httptest.NewRequest("POST", "/build?"+tc.query, nil)
		p, err := parseBuild(r)
		if tc.code != 0 {
			if err == nil || statusOf(err) != tc.code {
				t.Errorf("%s: error %v, want status %d", tc.query, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if tc.check != nil {
			tc.check(t, p)
		}
	}
}

func TestContainerfileIn(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "Dockerfile"), []byte("FROM x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if p, err := containerfileIn(dir, "sub/Dockerfile"); err != nil || !strings.HasSuffix(p, "/sub/Dockerfile") {
		t.Errorf("sub/Dockerfile: %q %v", p, err)
	}
	if p, err := containerfileIn(dir, ""); err != nil || p != "" {
		t.Errorf("default: %q %v", p, err)
	}
	for _, bad := range []string{"out", "../../etc/passwd", "missing"} {
		if p, err := containerfileIn(dir, bad); err == nil || statusOf(err) != 400 {
			t.Errorf("%s: %q %v, want a 400", bad, p, err)
		}
	}
}

func TestStreamWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &streamWriter{enc: json.NewEncoder(&buf), flush: func() {}, strip: "/ctx/d"}
	_, _ = io.WriteString(w, "STEP 1/2: FROM bb\n--> abc\nSuccessfully tagged x\nerror in /ctx/d/Dockerfile:2")
	w.end()
	var got []string
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Stream)
	}
	want := []string{"Step 1/2 : FROM bb\n", " ---> abc\n", "error in Dockerfile:2\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("stream %q, want %q", got, want)
	}
}

// nopDiffer stands in for the user namespace's unpacker and differ: the
// requests tested fail before any layer is made.
type nopDiffer struct{}

func (nopDiffer) Diff(string, io.Writer) error { return nil }
func (nopDiffer) Unpack(string, string, string) (*os.FileMode, error) {
	return nil, nil
}

// testImageServer is a server over empty stores in a temporary directory.
func testImageServer(t *testing.T) *httptest.Server {
	t.Helper()
	tmp := t.TempDir()
	imgs, err := image.Open(filepath.Join(tmp, "storage"), nopDiffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctrs, err := container.OpenStore(container.Dirs{Root: filepath.Join(tmp, "root"), RunRoot: filepath.Join(tmp, "run")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(&Backend{Version: "test", Images: imgs, Containers: ctrs, RunRoot: filepath.Join(tmp, "run"), Differ: nopDiffer{}}))
	t.Cleanup(srv.Close)
	return srv
}

// tarOf is a tar of entries, gzip-compressed if gz.
func tarOf(t *testing.T, gz bool, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, h := range entries {
		body := h.Linkname
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
			h.Linkname = ""
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(body))
		}
	}
	_ = tw.Close()
	if zw != nil {
		_ = zw.Close()
	}
	return buf.Bytes()
}

// file is a regular file entry; its content rides in Linkname for tarOf.
func file(name, content string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Linkname: content}
}

func TestImageBuildRequests(t *testing.T) {
	srv := testImageServer(t)
	post := func(query string, body []byte) (int, string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1.41/build?"+query, "application/x-tar", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Entries and links that leave the context are refused.
	code, body := post("", tarOf(t, false, file("../evil", "x")))
	if code != 400 || !strings.Contains(body, "message") {
		t.Errorf("escaping entry: %d %s", code, body)
	}
	code, body = post("", tarOf(t, false, tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}))
	if code != 400 {
		t.Errorf("escaping hard link: %d %s", code, body)
	}
	code, body = post("", []byte("\xfd7zXZ\x00rest"))
	if code != 400 || !strings.Contains(body, "xz") {
		t.Errorf("xz context: %d %s", code, body)
	}
	// A Containerfile error is the stream's last message, with file and
	// line, and without the service's directory.
	for _, gz := range []bool{false, true} {
		code, body = post("dockerfile=sub/Dockerfile", tarOf(t, gz, file("sub/Dockerfile", "FROM scratch\nBOGUS x\n")))
		if code != 200 || !strings.Contains(body, `"errorDetail":{"message":"sub/Dockerfile:2`) || !strings.Contains(body, `"error":"sub/Dockerfile:2`) {
			t.Errorf("gzip %v: bad Containerfile: %d %s", gz, code, body)
		}
		if strings.Contains(body, buildContextDir) {
			t.Errorf("the error names the context directory: %s", body)
		}
	}
}

func TestImageRoutes(t *testing.T) {
	srv := testImageServer(t)
	for _, tc := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"POST", "/v1.41/images/localhost/no/such:1/tag?repo=x&tag=1", 404, "No such image: localhost/no/such:1"},
		{"POST", "/v1.41/images/x/push", 404, "No such image: x"},
		{"POST", "/v1.41/images/x/push?tag=1", 404, "No such image: x:1"},
		{"POST", "/v1.41/images/x/history2", 501, "POST /images/x/history2"},
		{"POST", "/v1.41/auth", 400, "decode the auth configuration"},
		{"GET", "/v1.41/images/get?names=nosuch", 404, "No such image: nosuch"},
		{"GET", "/v1.41/images/get", 400, "names"},
		{"GET", "/v1.41/images/reg.example/a/b:1/get", 404, "No such image: reg.example/a/b:1"},
		{"POST", "/v1.41/images/prune", 200, `"ImagesDeleted":[]`},
		{"POST", `/v1.41/images/prune?filters={"until":["1h"]}`, 400, "until"},
		{"POST", "/v1.41/images/load", 200, "error"},
		{"POST", "/session", 501, "/session"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.path, resp.StatusCode, b, tc.code, tc.want)
		}
	}
}

func TestSweepContexts(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	dead := filepath.Join(parent, fmt.Sprintf("context-%d-1", gone.Process.Pid))
	mine := filepath.Join(parent, fmt.Sprintf("context-%d-2", os.Getpid()))
	other := filepath.Join(parent, "unrelated")
	for _, d := range []string{dead, mine, other} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sweepContexts(parent)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the context of a service that is gone is still there: %v", err)
	}
	for _, d := range []string{mine, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
