//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const buildTimeout = 3 * time.Minute

// buildContext writes files (name -> content) into a fresh context dir.
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustBuild runs myctr build and returns stdout; the image id is its last line.
func mustBuild(t *testing.T, args ...string) (out, id string) {
	t.Helper()
	out, errOut, code := myctrT(t, buildTimeout, append([]string{"build"}, args...)...)
	if code != 0 {
		t.Fatalf("myctr build %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id = lines[len(lines)-1]
	if !isFullID(id) {
		t.Fatalf("build's last line is %q, want the image id\n%s", id, out)
	}
	return out, id
}

// imageConfig reads an image's config through `myctr save --format oci-archive`.
func imageConfig(t *testing.T, ref string) map[string]any {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "img.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, ref)
	a := openOCIArchive(t, archive)
	var cfg map[string]any
	if err := json.Unmarshal(a.blob(t, a.manifest(t).Config.Digest), &cfg); err != nil {
		t.Fatalf("config of %s: %v", ref, err)
	}
	return cfg
}

// ociArchive is an OCI layout tar (oci-archive) read into memory.
type ociArchive struct {
	file  string
	blobs map[string][]byte // by path in the tar: index.json, blobs/ALGO/HEX
}

// ociManifest is what the tests read of an image manifest.
type ociManifest struct {
	Config struct{ Digest string }
	Layers []struct {
		MediaType string
		Digest    string
	}
}

func openOCIArchive(t *testing.T, file string) *ociArchive {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := &ociArchive{file: file, blobs: map[string][]byte{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return a
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", file, h.Name, err)
		}
		a.blobs[strings.TrimPrefix(h.Name, "./")] = b
	}
}

// blob returns the blob of a digest ("sha256:HEX").
func (a *ociArchive) blob(t *testing.T, digest string) []byte {
	t.Helper()
	algo, hexd, ok := strings.Cut(digest, ":")
	b, found := a.blobs["blobs/"+algo+"/"+hexd]
	if !ok || !found {
		t.Fatalf("%s: no blob %q", a.file, digest)
	}
	return b
}

// manifest returns the first manifest of index.json.
func (a *ociArchive) manifest(t *testing.T) ociManifest {
	t.Helper()
	var idx struct{ Manifests []struct{ Digest string } }
	if err := json.Unmarshal(a.blobs["index.json"], &idx); err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("%s: index.json: %v (%d manifests)", a.file, err, len(idx.Manifests))
	}
	var man ociManifest
	if err := json.Unmarshal(a.blob(t, idx.Manifests[0].Digest), &man); err != nil {
		t.Fatalf("%s: manifest: %v", a.file, err)
	}
	return man
}

func TestBuildFull(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Containerfile": `ARG BASE=bb
FROM $BASE
ARG GREETING=hello
ARG UNUSED
ENV APP=/app GREET=$GREETING
WORKDIR $APP
COPY hello.txt ./
COPY conf/ /etc/app/
RUN echo "$GREET from ${APP:-none}" > greet && chown 1000:1000 greet && rm /etc/group && mkdir /data
USER app
CMD ["cat", "/app/greet"]
ENTRYPOINT ["/bin/sh", "-c", "exec \"$@\"", "--"]
EXPOSE 8080 53/udp
LABEL org.example.name="test image" version=1
VOLUME /data
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD RUN echo triggered > /tmp/onbuild
`,
		"hello.txt":        "hi there\n",
		"conf/a.conf":      "a=1\n",
		"conf/skip.tmp":    "ignored\n",
		"conf/sub/b.conf":  "b=2\n",
		".containerignore": "**/*.tmp\n",
	})
	out, id := mustBuild(t, "-t", "it-build-full", "--build-arg", "GREETING=bonjour", ctx)
	for _, want := range []string{"STEP 1/17: FROM $BASE", "STEP 8/17: RUN echo", "COMMIT it-build-full"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-build-full") })
	got := mustMyctr(t, "run", "--rm", "it-build-full")
	if got != "bonjour from /app\n" {
		t.Errorf("run it-build-full printed %q", got)
	}
	got = mustMyctr(t, "run", "--rm", "it-build-full", "sh", "-c",
		"id -u; id -g; pwd; echo $APP; cat /app/hello.txt; ls /etc/app | tr '\\n' ' '; cat /etc/app/sub/b.conf; stat -c '%u:%g %a' /app/greet /app/hello.txt; test -e /etc/group || echo nogroup")
	want := "1000\n1000\n/app\n/app\nhi there\na.conf sub b=2\n1000:1000 644\n0:0 644\nnogroup\n"
	if got != want {
		t.Errorf("inside the built image:\n got %q\nwant %q", got, want)
	}

	cfg := imageConfig(t, "it-build-full")
	c, _ := cfg["config"].(map[string]any)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	checks := map[string]string{
		"Cmd":          `["cat","/app/greet"]`,
		"Entrypoint":   `["/bin/sh","-c","exec \"$@\"","--"]`,
		"WorkingDir":   `"/app"`,
		"User":         `"app"`,
		"ExposedPorts": `{"53/udp":{},"8080/tcp":{}}`,
		"Volumes":      `{"/data":{}}`,
		"Labels":       `{"org.example.name":"test image","version":"1"}`,
		"StopSignal":   `"SIGUSR1"`,
		"OnBuild":      `["RUN echo triggered \u003e /tmp/onbuild"]`,
		"Healthcheck":  `{"Interval":5000000000,"Retries":2,"Test":["CMD-SHELL","true"]}`,
	}
	for k, v := range checks {
		if got := js(c[k]); got != v {
			t.Errorf("config %s = %s, want %s", k, got, v)
		}
	}
	if env := js(c["Env"]); !strings.Contains(env, `"APP=/app"`) || !strings.Contains(env, `"GREET=bonjour"`) || strings.Contains(env, "GREETING") {
		t.Errorf("config Env = %s", env)
	}
	hist, _ := cfg["history"].([]any)
	empty, layers := 0, 0
	for _, h := range hist {
		if m, _ := h.(map[string]any); m["empty_layer"] == true {
			empty++
		} else {
			layers++
		}
	}
	rootfs, _ := cfg["rootfs"].(map[string]any)
	diffIDs, _ := rootfs["diff_ids"].([]any)
	if layers != len(diffIDs) || empty == 0 {
		t.Errorf("history has %d layers and %d empty entries; rootfs has %d layers", layers, empty, len(diffIDs))
	}
	if !strings.HasPrefix(id, "") || len(diffIDs) != 5 { // bb, WORKDIR, 2 COPY, RUN
		t.Errorf("image has %d layers, want 5", len(diffIDs))
	}

	// ONBUILD runs when the image is a base.
	child := buildContext(t, map[string]string{"Containerfile": "FROM it-build-full\nUSER root\n"})
	mustBuild(t, "-t", "it-build-child", child)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-build-child") })
	if got := mustMyctr(t, "run", "--rm", "it-build-child", "cat", "/tmp/onbuild"); got != "triggered\n" {
		t.Errorf("ONBUILD trigger: /onbuild = %q", got)
	}
	if len(psJSON(t, true)) != 0 {
		t.Errorf("build left containers: %v", psJSON(t, true))
	}
}

func TestBuildMultiStage(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Containerfile": `FROM bb AS builder
RUN mkdir -p /out && echo artifact > /out/a && echo extra > /out/b
FROM builder AS tester
RUN echo tested > /out/t
FROM bb
COPY --from=builder /out/a /final/
COPY --from=0 /out /all
CMD ["cat", "/final/a"]
`,
	})
	out, _ := mustBuild(t, "-t", "it-build-ms", ctx)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-build-ms", "it-build-ms-target") })
	if strings.Contains(out, "echo tested") {
		t.Errorf("the unused stage 'tester' was built:\n%s", out)
	}
	if got := mustMyctr(t, "run", "--rm", "it-build-ms", "sh", "-c", "cat /final/a /all/b; test -e /out || echo noout"); got != "artifact\nextra\nnoout\n" {
		t.Errorf("multi-stage result: %q", got)
	}
	mustBuild(t, "-t", "it-build-ms-target", "--target", "tester", ctx)
	if got := mustMyctr(t, "run", "--rm", "it-build-ms-target", "cat", "/out/a", "/out/t"); got != "artifact\ntested\n" {
		t.Errorf("--target tester: %q", got)
	}
	_, errOut, code := myctrT(t, buildTimeout, "build", "-t", "x", "--target", "nosuch", ctx)
	if code != 125 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("--target nosuch: exit %d, %s", code, errOut)
	}
}

func TestBuildCache(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Containerfile": `FROM bb
RUN cat /proc/sys/kernel/random/uuid > /stamp
COPY input /input
RUN cat /input > /copied && cat /proc/sys/kernel/random/uuid > /stamp2
ENV BUILT=yes
LABEL purpose=cache-test
`,
		"input": "one\n",
	})
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-build-cache") })
	_, id1 := mustBuild(t, "-t", "it-build-cache", ctx)
	first := mustMyctr(t, "run", "--rm", "it-build-cache", "cat", "/stamp", "/stamp2")
	time.Sleep(1100 * time.Millisecond) // a second later: a clock-made time would differ
	out, id2 := mustBuild(t, "-t", "it-build-cache", ctx)
	if n := strings.Count(out, "Using cache"); n != 3 {
		t.Errorf("unchanged rebuild: %d cache hits, want 3:\n%s", n, out)
	}
	if id2 != id1 {
		t.Errorf("unchanged rebuild made image %s, want the same %s (as Podman)", id2, id1)
	}
	if again := mustMyctr(t, "run", "--rm", "it-build-cache", "cat", "/stamp", "/stamp2"); again != first {
		t.Errorf("unchanged rebuild re-ran RUN: %q then %q", first, again)
	}
	os.WriteFile(filepath.Join(ctx, "input"), []byte("two\n"), 0o644)
	out, _ = mustBuild(t, "-t", "it-build-cache", ctx)
	steps := strings.Split(out, "STEP ")
	if len(steps) < 5 || !strings.Contains(steps[2], "Using cache") || strings.Contains(steps[3], "Using cache") || strings.Contains(steps[4], "Using cache") {
		t.Errorf("after changing the copied file, want only STEP 2 cached:\n%s", out)
	}
	third := mustMyctr(t, "run", "--rm", "it-build-cache", "cat", "/stamp", "/stamp2", "/copied")
	f1, f3 := strings.Split(first, "\n"), strings.Split(third, "\n")
	if f1[0] != f3[0] || f1[1] == f3[1] || f3[2] != "two" {
		t.Errorf("after changing the input: first %q, now %q", first, third)
	}
	out, _ = mustBuild(t, "--no-cache", "-t", "it-build-cache", ctx)
	if strings.Contains(out, "Using cache") {
		t.Errorf("--no-cache used the cache:\n%s", out)
	}
}

func TestBuildFailingRun(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Containerfile": "FROM bb\nRUN echo before\nRUN exit 3\nRUN echo after\n",
	})
	out, errOut, code := myctrT(t, buildTimeout, "build", "-t", "it-build-fail", ctx)
	if code != 3 || !strings.Contains(errOut, "STEP 3/4: RUN exit 3") || !strings.Contains(errOut, `"/bin/sh" "-c" "exit 3"`) || !strings.Contains(errOut, "status 3") {
		t.Errorf("failing RUN: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if strings.Contains(out, "after") {
		t.Errorf("the build went on after the failure:\n%s", out)
	}
	if _, _, code := myctr(t, "image", "ls", "-q", "it-build-fail"); code == 0 {
		if o := mustMyctr(t, "images", "--format", "json"); strings.Contains(o, "it-build-fail") {
			t.Errorf("a failed build tagged an image: %s", o)
		}
	}
	if ps := psJSON(t, true); len(ps) != 0 {
		t.Errorf("a failed build left containers: %+v", ps)
	}
}

func TestBuildParseError(t *testing.T) {
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM bb\nRUN true\nNOTANINSTRUCTION x\n"})
	_, errOut, code := myctrT(t, buildTimeout, "build", "-t", "it-build-parse", ctx)
	if code != 125 || !strings.Contains(errOut, "Containerfile:3") {
		t.Errorf("parse error: exit %d, stderr %s", code, errOut)
	}
}

func TestBuildCopyOutsideContext(t *testing.T) {
	base := t.TempDir()
	ctx := filepath.Join(base, "ctx")
	os.MkdirAll(ctx, 0o755)
	os.WriteFile(filepath.Join(base, "secret"), []byte("secret\n"), 0o644)
	os.Symlink("../secret", filepath.Join(ctx, "link"))
	for _, src := range []string{"../secret", "link"} {
		os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte("FROM bb\nCOPY "+src+" /x\n"), 0o644)
		_, errOut, code := myctrT(t, buildTimeout, "build", "-t", "it-build-escape", ctx)
		if code != 125 || !strings.Contains(errOut, "outside the build context") || !strings.Contains(errOut, src) {
			t.Errorf("COPY %s: exit %d, stderr %s", src, code, errOut)
		}
	}
}

func TestBuildAdd(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/remote.txt" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "from the server\n")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, f := range []struct{ name, body string }{{"pkg/a", "A\n"}, {"pkg/sub/b", "B\n"}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o640, Size: int64(len(f.body)), Uid: 1000, Gid: 1000, Typeflag: tar.TypeReg})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	ctx := buildContext(t, map[string]string{
		"Containerfile": fmt.Sprintf("FROM bb\nADD pkg.tar /opt/\nADD http://%s/files/remote.txt /dl/\n", l.Addr()),
		"pkg.tar":       tb.String(),
	})
	mustBuild(t, "-t", "it-build-add", ctx)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-build-add") })
	got := mustMyctr(t, "run", "--rm", "it-build-add", "sh", "-c", "cat /opt/pkg/a /opt/pkg/sub/b /dl/remote.txt; stat -c '%u %a' /opt/pkg/a /dl/remote.txt")
	if got != "A\nB\nfrom the server\n1000 640\n0 600\n" {
		t.Errorf("ADD results: %q", got)
	}
}

// TestBuildKeepsRootMode: a base layer gives / mode 555 (as Alpine's
// does); the layers a build adds above it have no "./" entry and leave
// it so, as containers/storage lets a layer inherit its parent's root,
// so / is 555 in a container of the built image, and 755 where no layer
// sets it.
func TestBuildKeepsRootMode(t *testing.T) {
	bb, err := os.ReadFile(hostBusybox)
	if err != nil {
		t.Skip(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct {
		name, link string
		typ        byte
		mode       int64
		body       []byte
	}{
		{name: "./", typ: tar.TypeDir, mode: 0o555},
		{name: "bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "bin/busybox", typ: tar.TypeReg, mode: 0o755, body: bb},
		{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox", mode: 0o777},
		{name: "bin/stat", typ: tar.TypeSymlink, link: "busybox", mode: 0o777},
	} {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body)), ModTime: time.Unix(1_600_000_000, 0)}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	base := filepath.Join(t.TempDir(), "root555.tar")
	if err := os.WriteFile(base, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(base), 0o755)
	mustMyctr(t, "import", base, "it-root555")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-root555-built", "it-root555") })
	ctx := buildContext(t, map[string]string{
		"added": "x\n",
		"Containerfile": `FROM it-root555
ADD added /etc/
RUN echo ran > /etc/ran
`,
	})
	mustBuild(t, "-t", "it-root555-built", ctx)
	for _, img := range []string{"it-root555", "it-root555-built"} {
		if got := mustMyctr(t, "run", "--rm", img, "stat", "-c", "%a", "/"); got != "555\n" {
			t.Errorf("mode of / in a container of %s: %q, want 555", img, got)
		}
	}
	if got := mustMyctr(t, "run", "--rm", "bb", "stat", "-c", "%a", "/"); got != "755\n" {
		t.Errorf("mode of / where no layer sets it: %q, want 755", got)
	}
}

// TestBuildStdin: the context "-" reads standard input, as Podman's and
// Docker's build: a Containerfile (with an empty context), or a tar
// archive that is the context.
func TestBuildStdin(t *testing.T) {
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-stdin-file", "it-stdin-tar") })
	out, errOut, code := runMyctr(buildTimeout, []byte("FROM bb\nRUN echo from-stdin > /x\n"), "build", "-q", "-t", "it-stdin-file", "-")
	if code != 0 {
		t.Fatalf("build - with a Containerfile on stdin: exit %d\n%s%s", code, out, errOut)
	}
	if got := mustMyctr(t, "run", "--rm", "it-stdin-file", "cat", "/x"); got != "from-stdin\n" {
		t.Errorf("/x: %q", got)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string]string{"Containerfile": "FROM bb\nCOPY data.txt /data.txt\n", "data.txt": "in the tar\n"} {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: time.Now()})
		tw.Write([]byte(body))
	}
	tw.Close()
	out, errOut, code = runMyctr(buildTimeout, buf.Bytes(), "build", "-q", "-t", "it-stdin-tar", "-")
	if code != 0 {
		t.Fatalf("build - with a tar context on stdin: exit %d\n%s%s", code, out, errOut)
	}
	if got := mustMyctr(t, "run", "--rm", "it-stdin-tar", "cat", "/data.txt"); got != "in the tar\n" {
		t.Errorf("/data.txt from the tar context: %q", got)
	}
	if _, errOut, code := runMyctr(buildTimeout, []byte("FROM bb\n"), "build", "-f", "Other", "-t", "x", "-"); code != 125 || !strings.Contains(errOut, "standard input") {
		t.Errorf("build -f Other - with a Containerfile on stdin: exit %d, %q", code, errOut)
	}
}

// TestBuildPull: the images FROM names are pulled as --pull says
// (missing by default), and build's other Podman flags: several -t,
// --label, --format docker, --iidfile, --layers.
func TestBuildPull(t *testing.T) {
	reg := startRegistry(t, false)
	base := reg + "/it/build-base:1"
	push := func(ref string) {
		t.Helper()
		archive := filepath.Join(t.TempDir(), "base.tar")
		mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, ref)
		skopeoPush(t, archive, base, "")
	}
	newImage(t, "it-build-base-src:1")
	push("it-build-base-src:1")
	mustMyctr(t, "rmi", "it-build-base-src:1")
	t.Cleanup(func() {
		runMyctr(cmdTimeout, nil, "rmi", "-f", base, "it-build-pull", "it-build-pull:two", "it-build-base-v2")
	})
	ctx := buildContext(t, map[string]string{
		"Containerfile": "FROM " + base + "\nRUN cat /version 2>/dev/null || echo no-version\n",
	})

	// never: the base is not here, and nothing is pulled.
	_, errOut, code := myctrT(t, buildTimeout, "build", "--pull=never", "-t", "it-build-pull", ctx)
	if code != 125 || !strings.Contains(errOut, "Containerfile:1") || !strings.Contains(errOut, "image not known") {
		t.Errorf("build --pull=never of a base not here: exit %d, %q; want 125 naming the line and \"image not known\"", code, errOut)
	}
	if _, ok := findImage(t, base); ok {
		t.Fatal("--pull=never pulled the base")
	}

	// missing (the default): pulled once, then the store's.
	iid := filepath.Join(t.TempDir(), "iid")
	out, errOut, code := myctrT(t, buildTimeout, "build", "-t", "it-build-pull", "-t", "it-build-pull:two",
		"--label", "built.by=it", "--format", "docker", "--iidfile", iid, ctx)
	if code != 0 {
		t.Fatalf("build of a base not here: exit %d\n%s\n%s", code, out, errOut)
	}
	id := lastLine(out)
	if !strings.Contains(errOut, "Copying blob") || !strings.Contains(out, "no-version") {
		t.Errorf("the base was not pulled and used:\nstdout: %s\nstderr: %s", out, errOut)
	}
	if _, ok := findImage(t, base); !ok {
		t.Error("the pulled base is not in the store")
	}
	for _, c := range []struct{ format, name, want string }{
		{"{{.Id}}", "it-build-pull:two", id},
		{"{{.ManifestType}}", "it-build-pull", "application/vnd.docker.distribution.manifest.v2+json"},
		{`{{index .Labels "built.by"}}`, "it-build-pull", "it"},
	} {
		if got := strings.TrimSpace(mustMyctr(t, "image", "inspect", "--format", c.format, c.name)); got != c.want {
			t.Errorf("image inspect --format %s %s = %q, want %q", c.format, c.name, got, c.want)
		}
	}
	if b, err := os.ReadFile(iid); err != nil || string(b) != "sha256:"+id {
		t.Errorf("--iidfile wrote %q (%v), want sha256:%s", b, err, id)
	}

	// A new image under the base's name in the registry: missing keeps the
	// store's; always, and newer, take the registry's.
	v2 := buildContext(t, map[string]string{"Containerfile": "FROM " + base + "\nRUN echo v2 > /version\n"})
	mustBuild(t, "-t", "it-build-base-v2", v2)
	push("it-build-base-v2")
	if out, _ := mustBuild(t, "--layers=false", "-t", "it-build-pull", ctx); !strings.Contains(out, "no-version") || strings.Contains(out, "Using cache") {
		t.Errorf("missing pulled a base that is here, or --layers=false used the cache:\n%s", out)
	}
	// A bare --pull is always, as Podman's and Docker's.
	if out, _ := mustBuild(t, "--pull", "--no-cache", "-t", "it-build-pull", ctx); !strings.Contains(out, "\nv2\n") {
		t.Errorf("--pull did not take the registry's new base:\n%s", out)
	}
	_, errOut, code = myctrT(t, buildTimeout, "build", "--pull=sometimes", ctx)
	if code != 125 || !strings.Contains(errOut, "--pull") {
		t.Errorf("build --pull=sometimes: exit %d, %q; want 125 naming --pull", code, errOut)
	}
}

// TestBuildFlags: how Podman's build finds its Containerfiles (-f relative
// to the context, - for standard input, several one after the other, no
// context: the Containerfile's directory), and --logfile, --ignorefile,
// --authfile, --jobs and `buildx build --load`.
func TestBuildFlags(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Other.cf":   "FROM bb\nCOPY kept /kept\nRUN echo other > /which\n",
		"extra.cf":   "RUN echo extra > /extra\n",
		"kept":       "kept\n",
		"dropped":    "dropped\n",
		".myignore":  "dropped\n",
		"sub/Sub.cf": "FROM bb\nCOPY . /ctx\n",
		"sub/here":   "here\n",
		"vol.cf":     "FROM bb\nVOLUME ['/vfoo', '/vbar']\n",
		"hl.cf":      "FROM bb\nCOPY . /hl\n",
		"limits.cf":  "FROM bb\nRUN grep Seccomp: /proc/self/status | awk '{print $1 $2}'; grep 'Max open files' /proc/self/limits | awk '{print $4 \":\" $5}'\n",
	})
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-build-flags") })
	check := func(what, cmd, want string) {
		t.Helper()
		if got := mustMyctr(t, "run", "--rm", "it-build-flags", "sh", "-c", cmd); got != want {
			t.Errorf("%s: %s printed %q, want %q", what, cmd, got, want)
		}
	}

	// -f Other.cf is not here (the tests' directory): it is the context's.
	out, _ := mustBuild(t, "--no-cache", "-t", "it-build-flags", "-f", "Other.cf", ctx)
	check("-f relative to the context", "cat /which", "other\n")
	last, commit := strings.LastIndex(out, "STEP 3/3"), strings.Index(out, "COMMIT")
	if last < 0 || commit < last || strings.Contains(out[last:commit], "-->") {
		t.Errorf("the last step's layer printed before COMMIT (Podman prints the image's after it):\n%s", out)
	}
	if !regexp.MustCompile(`\nCOMMIT it-build-flags\n--> [0-9a-f]{11}\n`).MatchString(out) {
		t.Errorf("COMMIT is not followed by the image's id in 11 digits, as Podman's:\n%s", out)
	}
	// Two files, one after the other.
	mustBuild(t, "-t", "it-build-flags", "-f", filepath.Join(ctx, "Other.cf"), "-f", filepath.Join(ctx, "extra.cf"), ctx)
	check("two -f", "cat /which /extra", "other\nextra\n")
	// The Containerfile on standard input, the context a directory.
	out, errOut, code := runMyctr(buildTimeout, []byte("FROM bb\nRUN echo stdin > /which\n"), "build", "-q", "-t", "it-build-flags", "-f", "-", ctx)
	if code != 0 {
		t.Fatalf("build -f - CONTEXT: exit %d\n%s%s", code, out, errOut)
	}
	check("-f -", "cat /which", "stdin\n")
	// No context: the Containerfile's directory.
	mustBuild(t, "-t", "it-build-flags", "-f", filepath.Join(ctx, "sub", "Sub.cf"))
	check("no context", "cat /ctx/here", "here\n")

	// --ignorefile instead of .containerignore; --logfile; --jobs.
	log := filepath.Join(t.TempDir(), "build.log")
	out, _ = mustBuild(t, "-t", "it-build-flags", "--jobs", "2", "--ignorefile", filepath.Join(ctx, ".myignore"), "--logfile", log, "-f", "Other.cf", ctx)
	check("--ignorefile", "ls /kept /dropped 2>&1 | grep -c 'No such file'", "1\n")
	if b, err := os.ReadFile(log); err != nil || !strings.Contains(string(b), "COMMIT it-build-flags") || strings.Contains(out, "COMMIT") {
		t.Errorf("--logfile: the file has %q (%v); standard output %q", b, err, out)
	}
	for _, bad := range [][]string{{"--authfile", filepath.Join(t.TempDir(), "nosuch.json")}, {"--jobs", "-1"}, {"--runtime", "idonotexist"}} {
		_, errOut, code := myctr(t, append(append([]string{"build"}, bad...), ctx)...)
		if code != 125 || !strings.Contains(errOut, strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("build %s: exit %d, %q; want 125 naming it", strings.Join(bad, " "), code, errOut)
		}
	}
	// VOLUME ['/vfoo', '/vbar'] is two words, "[/vfoo," and "/vbar]": the
	// first one relative, below / as Docker and Podman take it.
	mustBuild(t, "-t", "it-build-flags", "-f", "vol.cf", ctx)
	check("a relative VOLUME", "mount | grep -c -e ' /\\[/vfoo, ' -e ' /vbar\\] '", "2\n")

	// Hard links in the context stay hard links (one inode) in the image.
	if err := os.Link(filepath.Join(ctx, "kept"), filepath.Join(ctx, "sub", "kept-link")); err != nil {
		t.Fatal(err)
	}
	mustBuild(t, "-t", "it-build-flags", "-f", "hl.cf", ctx)
	check("COPY of hard links", "stat -c %i /hl/kept /hl/sub/kept-link | uniq | wc -l; cat /hl/sub/kept-link", "1\nkept\n")

	// The RUN steps' limits and seccomp filter.
	if out, _ = mustBuild(t, "--no-cache", "--ulimit", "nofile=101:102", "-f", "limits.cf", ctx); !strings.Contains(out, "Seccomp:2\n101:102\n") {
		t.Errorf("build --ulimit nofile=101:102: the step did not run filtered with that limit:\n%s", out)
	}
	if out, _ = mustBuild(t, "--no-cache", "--security-opt", "seccomp=unconfined", "-f", "limits.cf", ctx); !strings.Contains(out, "Seccomp:0\n") {
		t.Errorf("build --security-opt seccomp=unconfined: the step ran filtered:\n%s", out)
	}
	if _, errOut, code := myctr(t, "build", "--security-opt", "apparmor=x", ctx); code != 125 || !strings.Contains(errOut, "security-opt") {
		t.Errorf("build --security-opt apparmor=x: exit %d, %q; want 125 naming it", code, errOut)
	}
	if _, errOut, code := myctr(t, "--runtime-flag", "debug", "build", ctx); code != 125 || !strings.Contains(errOut, "runtime-flag") {
		t.Errorf("--runtime-flag debug build: exit %d, %q; want 125 naming it", code, errOut)
	}
	if _, errOut, code := myctrT(t, buildTimeout, "buildx", "build", "--load", "-t", "it-build-flags", "-f", "Other.cf", ctx); code != 0 {
		t.Errorf("buildx build --load: exit %d, %q", code, errOut)
	}
}
