package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/seccomp"
)

func TestCreateOptions(t *testing.T) {
	for _, tc := range []struct {
		name, body, query string
		code              int // 0: accepted
		check             func(t *testing.T, o *container.CreateOptions)
	}{
		{name: "no image", body: `{"Cmd":["true"]}`, code: 400},
		{name: "not json", body: `{"Image":`, code: 400},
		{name: "minimal", body: `{"Image":"bb","Cmd":["sh","-c","exit 5"]}`, check: func(t *testing.T, o *container.CreateOptions) {
			if strings.Join(o.Command, " ") != "sh -c exit 5" || o.Entrypoint != nil || o.Network != "" {
				t.Errorf("options %+v", o)
			}
		}},
		{name: "entrypoint list", body: `{"Image":"bb","Entrypoint":["/bin/sh","-c"]}`, check: func(t *testing.T, o *container.CreateOptions) {
			if o.Entrypoint == nil || *o.Entrypoint != `["/bin/sh","-c"]` {
				t.Errorf("entrypoint %v", o.Entrypoint)
			}
		}},
		{name: "entrypoint reset", body: `{"Image":"bb","Entrypoint":[""]}`, check: func(t *testing.T, o *container.CreateOptions) {
			if o.Entrypoint == nil || *o.Entrypoint != "" {
				t.Errorf("entrypoint %v", o.Entrypoint)
			}
		}},
		{name: "name with slash", body: `{"Image":"bb"}`, query: "/web", check: func(t *testing.T, o *container.CreateOptions) {
			if o.Name != "web" {
				t.Errorf("name %q", o.Name)
			}
		}},
		{name: "bad name", body: `{"Image":"bb"}`, query: "a b", code: 400},
		{name: "empty env key", body: `{"Image":"bb","Env":["=x"]}`, code: 400},
		{name: "host config", body: `{"Image":"bb","Tty":true,"OpenStdin":true,"Labels":{"a":"b"},"WorkingDir":"/w",
			"HostConfig":{"AutoRemove":true,"NetworkMode":"none","Binds":["/tmp:/mnt:ro"],
			"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},
			"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"53/udp":[{"HostIp":"","HostPort":""}]}}}`,
			check: func(t *testing.T, o *container.CreateOptions) {
				if !o.Remove || !o.Tty || !o.Interactive || o.Network != "none" || o.Labels["a"] != "b" || o.Workdir != "/w" {
					t.Errorf("options %+v", o)
				}
				if len(o.Volumes) != 1 || len(o.Mounts) != 1 {
					t.Errorf("binds %v %v", o.Volumes, o.Mounts)
				}
				if o.Restart.Name != "on-failure" || o.Restart.MaximumRetryCount != 3 {
					t.Errorf("restart %+v", o.Restart)
				}
				got := map[string]bool{}
				for _, p := range o.Ports {
					got[fmt.Sprintf("%s:%d:%d/%s", p.HostIP, p.HostPort, p.ContainerPort, p.Protocol)] = true
				}
				if !got["127.0.0.1:8080:80/tcp"] || !got[":0:53/udp"] || len(got) != 2 {
					t.Errorf("ports %v", got)
				}
			}},
		{name: "bridge is the default", body: `{"Image":"bb","HostConfig":{"NetworkMode":"bridge"}}`, check: func(t *testing.T, o *container.CreateOptions) {
			if o.Network != "" {
				t.Errorf("network %q", o.Network)
			}
		}},
		{name: "named network", body: `{"Image":"bb","HostConfig":{"NetworkMode":"mynet"},
			"NetworkingConfig":{"EndpointsConfig":{"mynet":{"Aliases":["web","w2"],"IPAMConfig":{"IPv4Address":"10.89.0.9"}},"other":{}}}}`,
			check: func(t *testing.T, o *container.CreateOptions) {
				a := o.Networks["mynet"]
				if o.Network != "" || len(o.Networks) != 2 || a.Interface != "eth0" || strings.Join(a.Aliases, ",") != "web,w2" || a.IP != "10.89.0.9" {
					t.Errorf("networks %+v", o.Networks)
				}
			}},
		{name: "alias on the default", body: `{"Image":"bb","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["x"]}}}}`, code: 400},
		{name: "endpoint without its mode", body: `{"Image":"bb","HostConfig":{"NetworkMode":"none"},"NetworkingConfig":{"EndpointsConfig":{"mynet":{}}}}`, code: 400},
		{name: "bad alias", body: `{"Image":"bb","HostConfig":{"NetworkMode":"mynet"},"NetworkingConfig":{"EndpointsConfig":{"mynet":{"Aliases":["a b"]}}}}`, code: 400},
		{name: "bad network name", body: `{"Image":"bb","HostConfig":{"NetworkMode":"a b"}}`, code: 400},
		{name: "privileged", body: `{"Image":"bb","HostConfig":{"Privileged":true}}`, check: func(t *testing.T, o *container.CreateOptions) {
			if !o.Privileged || o.Seccomp != seccomp.Unconfined {
				t.Errorf("Privileged: %v, seccomp %q; want run --privileged's", o.Privileged, o.Seccomp)
			}
		}},
		{name: "security options", body: `{"Image":"bb","HostConfig":{"SecurityOpt":["no-new-privileges:true","seccomp=unconfined","label=disable"]}}`, check: func(t *testing.T, o *container.CreateOptions) {
			if !o.NoNewPrivs || o.Seccomp != seccomp.Unconfined {
				t.Errorf("SecurityOpt: no_new_privs %v, seccomp %q", o.NoNewPrivs, o.Seccomp)
			}
		}},
		{name: "seccomp profile content", body: `{"Image":"bb","HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]}}`, code: 501},
		{name: "unknown security option", body: `{"Image":"bb","HostConfig":{"SecurityOpt":["apparmor=myprofile"]}}`, code: 501},
		{name: "healthcheck", body: `{"Image":"bb","Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":2000000000}}`, check: func(t *testing.T, o *container.CreateOptions) {
			if h := o.Healthcheck; h == nil || h.Test[0] != "CMD-SHELL" || h.Interval != 2*time.Second {
				t.Errorf("Healthcheck: %+v", h)
			}
		}},
		{name: "oom score, cgroupns, userns", body: `{"Image":"bb","HostConfig":{"OomScoreAdj":500,"CgroupnsMode":"host","UsernsMode":"keep-id"}}`, check: func(t *testing.T, o *container.CreateOptions) {
			if o.OOMScoreAdj == nil || *o.OOMScoreAdj != 500 || o.Cgroupns != "host" || o.Userns != "keep-id" {
				t.Errorf("OomScoreAdj %v, Cgroupns %q, Userns %q", o.OOMScoreAdj, o.Cgroupns, o.Userns)
			}
		}},
		{name: "bad oom score", body: `{"Image":"bb","HostConfig":{"OomScoreAdj":5000}}`, code: 400},
		{name: "bad userns", body: `{"Image":"bb","HostConfig":{"UsernsMode":"sometimes"}}`, code: 400},
		{name: "pid host", body: `{"Image":"bb","HostConfig":{"PidMode":"host"}}`, code: 501},
		{name: "uts host", body: `{"Image":"bb","HostConfig":{"UTSMode":"host"}}`, code: 501},
		{name: "another runtime", body: `{"Image":"bb","HostConfig":{"Runtime":"kata"}}`, code: 501},
		{name: "unmasked paths", body: `{"Image":"bb","HostConfig":{"MaskedPaths":[],"ReadonlyPaths":[]}}`, code: 501},
		{name: "stop signal", body: `{"Image":"bb","StopSignal":"SIGUSR1"}`, check: func(t *testing.T, o *container.CreateOptions) {
			if o.StopSignal != "SIGUSR1" {
				t.Errorf("StopSignal %q", o.StopSignal)
			}
		}},
		{name: "bad stop signal", body: `{"Image":"bb","StopSignal":"SIGNOPE"}`, code: 400},
		{name: "domain name", body: `{"Image":"bb","Domainname":"example.com"}`, code: 501},
		{name: "healthcheck start interval", body: `{"Image":"bb","Healthcheck":{"Test":["CMD","true"],"StartInterval":1000000000}}`, code: 501},
		{name: "bad host port", body: `{"Image":"bb","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"http"}]}}}`, code: 400},
		{name: "bad restart", body: `{"Image":"bb","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}`, code: 400},
		{name: "bad bind", body: `{"Image":"bb","HostConfig":{"Binds":[":"]}}`, code: 400},
		{name: "resolver, groups, ulimits, shm, annotations", body: `{"Image":"bb","HostConfig":{"Dns":["192.0.2.53"],"DnsSearch":["example.com"],"DnsOptions":["ndots:2"],
			"GroupAdd":["457"],"Ulimits":[{"Name":"nofile","Soft":100,"Hard":200}],"ShmSize":1048576,"Annotations":{"it.note":"x"}}}`,
			check: func(t *testing.T, o *container.CreateOptions) {
				if strings.Join(o.DNS, ",") != "192.0.2.53" || strings.Join(o.DNSSearch, ",") != "example.com" || strings.Join(o.DNSOptions, ",") != "ndots:2" ||
					strings.Join(o.GroupAdd, ",") != "457" || len(o.Ulimits) != 1 || o.Ulimits[0].Hard != 200 || o.ShmSize != 1<<20 || o.Annotations["it.note"] != "x" {
					t.Errorf("options %+v", o)
				}
			}},
		{name: "ulimit twice", body: `{"Image":"bb","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":1,"Hard":1},{"Name":"nofile","Soft":2,"Hard":2}]}}`, code: 400},
		{name: "ulimit soft above hard", body: `{"Image":"bb","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":3,"Hard":2}]}}`, code: 400},
		{name: "myctr's annotation", body: `{"Image":"bb","HostConfig":{"Annotations":{"io.myctr.keep-id":"x"}}}`, code: 400},
		{name: "negative shm size", body: `{"Image":"bb","HostConfig":{"ShmSize":-1}}`, code: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := decodeCreate(strings.NewReader(tc.body))
			var o *container.CreateOptions
			if err == nil {
				o, err = createOptions(req, tc.query)
			}
			if tc.code != 0 {
				if err == nil || statusOf(err) != tc.code {
					t.Fatalf("err %v (status %d), want status %d", err, statusOf(err), tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", container.ErrNotFound), 404},
		{fmt.Errorf("x: %w", image.ErrImageUnknown), 404},
		{fmt.Errorf("x: %w", container.ErrNameInUse), 409},
		{&container.RunningError{ID: "x"}, 409},
		{errNotModified, 304},
		{fmt.Errorf("x: %w", container.ErrInvalidRestart), 400},
		{withStatus(501, errors.New("no")), 501},
		{errors.New("other"), 500},
	} {
		if got := statusOf(tc.err); got != tc.code {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}

// TestRouting drives the handlers that need no store through the server.
func TestRouting(t *testing.T) {
	s := New(&Backend{Version: "test"})
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string // in the body
	}{
		{"GET", "/_ping", "", 200, "OK"},
		{"HEAD", "/v1.41/_ping", "", 200, ""},
		{"GET", "/v1.41/version", "", 200, `"ApiVersion":"1.41"`},
		{"GET", "/v1.24/version", "", 200, `"MinAPIVersion":"1.24"`},
		{"GET", "/v1.99/version", "", 400, "too new"},
		{"GET", "/v1.12/version", "", 400, "too old"},
		{"GET", "/v1.41/swarm", "", 501, `"message":"GET /swarm is not implemented`},
		{"POST", "/containers/abc/attach/ws", "", 501, "POST /containers/abc/attach/ws"},
		{"GET", "/images/some/name/changes", "", 501, "changes"},
		{"POST", "/v1.41/containers/create", `{"Cmd":["true"]}`, 400, "no Image"},
		{"POST", "/containers/create", `{"Image":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "too large"},
		{"POST", "/images/create", "", 400, "fromImage"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, w.Code, w.Body.String(), tc.code, tc.want)
		}
		if w.Code >= 400 {
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Message == "" {
				t.Errorf("%s %s: error body %q is not Docker's {\"message\": ...}", tc.method, tc.path, w.Body.String())
			}
		}
		if w.Header().Get("Api-Version") != APIVersion {
			t.Errorf("%s %s: Api-Version %q", tc.method, tc.path, w.Header().Get("Api-Version"))
		}
	}
}

func TestParseFilters(t *testing.T) {
	for _, raw := range []string{`{"label":["a=b"],"status":["exited"]}`, `{"label":{"a=b":true},"status":{"exited":true}}`} {
		f, err := parseFilters(raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(f["label"]) != 1 || f["label"][0] != "a=b" || f["status"][0] != "exited" {
			t.Errorf("%s: %v", raw, f)
		}
		if _, err := newContainerFilter(f); err != nil {
			t.Error(err)
		}
	}
	if _, err := parseFilters(`[1]`); statusOf(err) != 400 {
		t.Errorf("a list: %v", err)
	}
	for _, f := range []map[string][]string{{"before": {"x"}}, {"status": {"sleeping"}}} {
		if _, err := newContainerFilter(f); statusOf(err) != 400 {
			t.Errorf("%v: %v, want 400", f, err)
		}
	}
	c := &container.Container{ID: "abcdef", Name: "web-1", Labels: map[string]string{"a": "b"}, State: container.State{Status: container.StatusExited}}
	for _, tc := range []struct {
		f    containerFilter
		want bool
	}{
		{containerFilter{"name": {"web"}}, true},
		{containerFilter{"name": {"/web-1"}}, true},
		{containerFilter{"name": {"db"}}, false},
		{containerFilter{"id": {"abc"}}, true},
		{containerFilter{"status": {"running", "exited"}}, true},
		{containerFilter{"status": {"running"}}, false},
		{containerFilter{"label": {"a=b"}}, true},
		{containerFilter{"label": {"a=c"}}, false},
	} {
		if got := tc.f.match(c); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.f, got, tc.want)
		}
	}
}

// TestFrames: what the frame writer writes, the API's own reader reads
// back into the two streams.
func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	c := &container.Container{}
	out, errw := outputs(c, &buf, nil, true, true)
	fmt.Fprint(out, "one\n")
	fmt.Fprint(errw, "two\n")
	fmt.Fprint(out, "three\n")
	var gotOut, gotErr bytes.Buffer
	if _, err := stdcopy.StdCopy(&gotOut, &gotErr, &buf); err != nil {
		t.Fatal(err)
	}
	if gotOut.String() != "one\nthree\n" || gotErr.String() != "two\n" {
		t.Errorf("stdout %q stderr %q", gotOut.String(), gotErr.String())
	}
	buf.Reset()
	c.HostConfig.Tty = true
	out, _ = outputs(c, &buf, nil, true, false)
	fmt.Fprint(out, "raw")
	if buf.String() != "raw" {
		t.Errorf("tty stream %q, want raw bytes", buf.String())
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	for _, tc := range []struct {
		uri, want string
		err       error
	}{
		{"", "/run/user/1000/myctr/myctr.sock", nil},
		{"unix:///tmp/x/../s.sock", "/tmp/s.sock", nil},
		{"unix://rel.sock", "", ErrUnsupportedURI},
		{"tcp://127.0.0.1:2375", "", ErrUnsupportedURI},
	} {
		got, err := SocketPath(tc.uri)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("SocketPath(%q) = %q, %v; want %q, %v", tc.uri, got, err, tc.want, tc.err)
		}
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if _, err := SocketPath(""); !errors.Is(err, ErrNoRuntimeDir) {
		t.Errorf("no runtime dir: %v", err)
	}
}

func TestListenRefusesSharedDir(t *testing.T) {
	dir := t.TempDir()
	if err := chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(dir + "/s.sock"); !errors.Is(err, ErrUnsafeDir) {
		t.Fatalf("0755 directory: %v, want ErrUnsafeDir", err)
	}
	if err := chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(dir + "/s.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(dir + "/s.sock"); !errors.Is(err, ErrInUse) {
		t.Errorf("second listener: %v, want ErrInUse", err)
	}
}

func chmod(path string, mode uint32) error { return os.Chmod(path, os.FileMode(mode)) }
