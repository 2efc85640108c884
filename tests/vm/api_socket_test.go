//go:build vm

package vmtest

// The API service started by socket activation (issue #23): the user
// units myctr.socket and myctr.service that make install puts in the
// user unit directory, under vmuser's real systemd user manager.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
)

// TestAPISocketActivation: with myctr.socket enabled and the service not
// running, a request to the socket starts myctr.service, which answers
// it; after --time idle seconds (3, by a drop-in) the service exits
// cleanly and the socket listens on; the next request starts it again.
func TestAPISocketActivation(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	enableAPISocket(t, u)
	state := func(unit string) string {
		return props(t, u, unit, "ActiveState")["ActiveState"]
	}
	if s := state("myctr.service"); s != "inactive" {
		t.Fatalf("myctr.service is %s before any request, want inactive", s)
	}
	sock := apiSocketPath(u)
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := os.Stat(filepath.Dir(sock))
	if st.Mode().Perm() != 0o600 || dst == nil || dst.Mode().Perm() != 0o700 {
		t.Errorf("socket mode %#o, directory %v: want 0600 in 0700", st.Mode().Perm(), dst)
	}
	ping := func() {
		t.Helper()
		resp, err := apiClient(sock).Get("http://myctr/_ping")
		if err != nil {
			t.Fatalf("GET /_ping through the socket unit: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "OK" || resp.Header.Get("Api-Version") == "" {
			t.Fatalf("GET /_ping: %d %q (Api-Version %q)", resp.StatusCode, b, resp.Header.Get("Api-Version"))
		}
	}
	idleExit := func() {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for state("myctr.service") != "inactive" {
			if time.Now().After(deadline) {
				t.Fatalf("myctr.service is %s a minute after the last request, want an idle exit after 3 s", state("myctr.service"))
			}
			time.Sleep(500 * time.Millisecond)
		}
		p := props(t, u, "myctr.service", "Result", "ExecMainStatus")
		if p["Result"] != "success" || p["ExecMainStatus"] != "0" {
			t.Errorf("myctr.service's idle exit: Result %s, status %s; want success, 0", p["Result"], p["ExecMainStatus"])
		}
		if s := state("myctr.socket"); s != "active" {
			t.Errorf("myctr.socket is %s after the service's exit, want active (listening)", s)
		}
		if _, err := os.Stat(sock); err != nil {
			t.Errorf("the socket's file is gone after the service's exit: %v", err)
		}
	}

	ping()
	if s := state("myctr.service"); s != "active" {
		t.Errorf("myctr.service is %s just after a request, want active", s)
	}
	idleExit()
	ping()
	if s := state("myctr.service"); s != "active" {
		t.Errorf("myctr.service is %s after the second request, want active", s)
	}
	idleExit()
	if out, _ := u.userCommand(time.Minute, "journalctl", "--user", "--no-pager", "-u", "myctr.service"); t.Failed() || strings.Contains(out, "Error") {
		t.Logf("myctr.service's journal:\n%s", out)
	}
}

// enableAPISocket installs a drop-in that makes myctr.service exit after
// 3 idle seconds, and enables and starts u's myctr.socket, until the test
// ends.
func enableAPISocket(t *testing.T, u *testUser) {
	t.Helper()
	for _, f := range []string{"/usr/lib/systemd/user/myctr.socket", "/usr/lib/systemd/user/myctr.service"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("make install did not install the user unit: %v", err)
		}
	}
	dropDir := filepath.Join(u.Home, ".config/systemd/user/myctr.service.d")
	if _, err := u.userCommand(time.Minute, "mkdir", "-p", dropDir); err != nil {
		t.Fatal(err)
	}
	u.writeUserUnit(t, "myctr.service.d/idle.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/myctr system service --time 3\n")
	t.Cleanup(func() {
		u.userCommand(time.Minute, "systemctl", "--user", "disable", "--now", "myctr.socket")
		u.userCommand(time.Minute, "systemctl", "--user", "stop", "myctr.service")
		os.RemoveAll(dropDir)
	})
	if out, err := u.userCommand(time.Minute, "systemctl", "--user", "enable", "--now", "myctr.socket"); err != nil {
		t.Fatalf("systemctl --user enable --now myctr.socket: %v\n%s", err, out)
	}
}

// apiSocketPath is myctr.socket's socket of u.
func apiSocketPath(u *testUser) string { return filepath.Join(u.RuntimeDir(), "myctr", "myctr.sock") }

// apiClient speaks HTTP over the unix socket sock.
func apiClient(sock string) *http.Client {
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}

// apiCall sends a request with a JSON body (nil: none) and returns the
// status and body.
func apiCall(t *testing.T, hc *http.Client, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://myctr/v1.41"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestAPISocketMemoryLimit: a create through the socket-activated
// service with HostConfig.Memory (what docker run --memory 64m sends)
// gives the container a memory.max of 64 MiB, as myctr run --memory
// does, and its inspect shows the limit; stats and top read the
// container's cgroup, and an update changes the limit there.
func TestAPISocketMemoryLimit(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	enableAPISocket(t, u)
	hc := apiClient(apiSocketPath(u))
	code, b := apiCall(t, hc, "POST", "/containers/create", map[string]any{
		"Image": image, "Cmd": []string{"sh", "-c", "cat /sys/fs/cgroup/memory.max; exec sleep 60"},
		"HostConfig": map[string]any{"Memory": 64 << 20, "NetworkMode": "none"},
	})
	if code != http.StatusCreated {
		t.Fatalf("create with HostConfig.Memory: %d %s", code, b)
	}
	var created struct{ Id string }
	if err := json.Unmarshal(b, &created); err != nil || created.Id == "" {
		t.Fatalf("create answered %s", b)
	}
	id := created.Id
	defer apiCall(t, hc, "DELETE", "/containers/"+id+"?force=1", nil)
	if code, b := apiCall(t, hc, "POST", "/containers/"+id+"/start", nil); code != http.StatusNoContent {
		t.Fatalf("start: %d %s", code, b)
	}
	code, b = apiCall(t, hc, "GET", "/containers/"+id+"/json", nil)
	var insp struct {
		State      struct{ Pid int }
		HostConfig struct{ Memory int64 }
		LogPath    string
	}
	if err := json.Unmarshal(b, &insp); err != nil || code != http.StatusOK || insp.HostConfig.Memory != 64<<20 {
		t.Errorf("inspect: %d HostConfig.Memory %d (%v)", code, insp.HostConfig.Memory, err)
	}
	// The limit where the kernel holds it: the cgroup of the container's
	// process.
	if insp.State.Pid <= 0 {
		t.Fatalf("inspect: no pid of the running container: %s", b)
	}
	cg := filepath.Join("/sys/fs/cgroup", cgroupOf(insp.State.Pid))
	if got := readCg(t, cg, "memory.max"); got != "67108864" {
		t.Errorf("memory.max of the container's cgroup %s: %s, want 67108864", cg, got)
	}
	// And as the container sees it, in its output.
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		code, b = apiCall(t, hc, "GET", "/containers/"+id+"/logs?stdout=1&stderr=1", nil)
		var out, errOut bytes.Buffer
		if _, err := stdcopy.StdCopy(&out, &errOut, bytes.NewReader(b)); err != nil || code != http.StatusOK {
			t.Fatalf("logs: %d %v %q", code, err, b)
		}
		if got = strings.TrimSpace(out.String() + errOut.String()); got != "" {
			break
		}
	}
	if got != "67108864" {
		lf, err := os.ReadFile(insp.LogPath)
		t.Errorf("the container's memory.max in its logs: %q, want 67108864 (its log file %s: %q %v)", got, insp.LogPath, lf, err)
	}

	// The figures docker stats reads, from that cgroup (the rootless
	// tier's host gives containers none): usage, the limit, the pids,
	// the CPU time; and top lists the process.
	code, b = apiCall(t, hc, "GET", "/containers/"+id+"/stats?stream=false", nil)
	var st struct {
		ID          string `json:"id"`
		MemoryStats struct {
			Usage uint64 `json:"usage"`
			Limit uint64 `json:"limit"`
		} `json:"memory_stats"`
		PidsStats struct {
			Current uint64 `json:"current"`
		} `json:"pids_stats"`
		CPUStats struct {
			CPUUsage struct {
				TotalUsage uint64 `json:"total_usage"`
			} `json:"cpu_usage"`
			SystemUsage uint64 `json:"system_cpu_usage"`
		} `json:"cpu_stats"`
	}
	if err := json.Unmarshal(b, &st); err != nil || code != http.StatusOK {
		t.Fatalf("stats: %d %v %s", code, err, b)
	}
	memCurrent, _ := strconv.ParseUint(readCg(t, cg, "memory.current"), 10, 64)
	if st.ID != id || st.MemoryStats.Usage == 0 || st.MemoryStats.Usage > 64<<20 || st.MemoryStats.Limit != 64<<20 ||
		st.PidsStats.Current < 1 || st.CPUStats.CPUUsage.TotalUsage == 0 || st.CPUStats.SystemUsage == 0 {
		t.Errorf("stats: %s\nwant this id, memory usage in (0, 64 MiB] (memory.current is %d), limit 64 MiB, pids >= 1, CPU usage > 0", b, memCurrent)
	}
	// docker update: the new limit in the cgroup and in the record.
	if code, b := apiCall(t, hc, "POST", "/containers/"+id+"/update", map[string]any{"Memory": 128 << 20}); code != http.StatusOK {
		t.Errorf("update Memory: %d %s", code, b)
	}
	if got := readCg(t, cg, "memory.max"); got != "134217728" {
		t.Errorf("memory.max after the update: %s, want 134217728", got)
	}
	code, b = apiCall(t, hc, "GET", "/containers/"+id+"/json", nil)
	if err := json.Unmarshal(b, &insp); err != nil || insp.HostConfig.Memory != 128<<20 {
		t.Errorf("inspect after the update: %d HostConfig.Memory %d (%v)", code, insp.HostConfig.Memory, err)
	}
	code, b = apiCall(t, hc, "GET", "/containers/"+id+"/top", nil)
	if code != http.StatusOK || !strings.Contains(string(b), "sleep 60") {
		t.Errorf("top: %d %s, want the sleep 60 process", code, b)
	}
}
