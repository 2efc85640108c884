//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ncGet is a shell command that fetches / from host:8080 with nc
// (busybox's wget ends on SIGSEGV where it cannot connect).
func ncGet(host string) string {
	return "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 " + host + " 8080"
}

// serveCmd serves page on port 8080 with busybox httpd.
func serveCmd(page string) string {
	return "mkdir -p /www && echo " + page + " > /www/index.html && exec httpd -f -p 8080 -h /www"
}

// TestAPINetwork: docker network create, ls, inspect and rm over the
// API; two containers on the network reach each other by name and by
// alias; a network in use is not removed (409, Docker's words).
func TestAPINetwork(t *testing.T) {
	a := startAPIService(t)
	net := ctrName(t, "net")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "network", "rm", "-f", net) })
	id := strings.TrimSpace(a.mustDocker(t, "network", "create", "--subnet", "10.89.77.0/24", "--label", "it.api.net=1", net))
	if !isFullID(id) {
		t.Fatalf("docker network create printed %q, want an id", id)
	}
	if _, errOut, code := a.docker(t, time.Minute, "network", "create", net); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("docker network create of a name taken: exit %d, stderr %q", code, errOut)
	}
	ls := a.mustDocker(t, "network", "ls", "--format", "{{.Name}} {{.Driver}}")
	for _, want := range []string{"bridge bridge", net + " bridge"} {
		if !strings.Contains(ls, want) {
			t.Errorf("docker network ls: %q, want %q", ls, want)
		}
	}
	if ls := a.mustDocker(t, "network", "ls", "-q", "--filter", "label=it.api.net=1"); !strings.Contains(ls, id[:12]) || strings.Count(strings.TrimSpace(ls), "\n") != 0 {
		t.Errorf("docker network ls --filter label: %q, want %s alone", ls, id[:12])
	}
	got := strings.TrimSpace(a.mustDocker(t, "network", "inspect", "--format", "{{.Id}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{index .Labels \"it.api.net\"}}", net))
	if want := id + " 10.89.77.0/24 10.89.77.1 1"; got != want {
		t.Errorf("docker network inspect: %q, want %q", got, want)
	}
	if got := strings.TrimSpace(a.mustDocker(t, "network", "inspect", "--format", "{{.Name}} {{.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "bridge")); got != "bridge bridge 10.0.2.0/24 10.0.2.2" {
		t.Errorf("docker network inspect bridge: %q, want the rootless default's 10.0.2.0/24 and gateway 10.0.2.2", got)
	}

	srv := ctrName(t, "srv")
	a.mustDocker(t, "run", "-d", "--name", srv, "--network", net, "--network-alias", "web", imageFull, "sh", "-c", serveCmd("via-api-net"))
	ip := strings.TrimSpace(a.mustDocker(t, "inspect", "--format", "{{(index .NetworkSettings.Networks \""+net+"\").IPAddress}} {{(index .NetworkSettings.Networks \""+net+"\").Aliases}}", srv))
	if !strings.HasPrefix(ip, "10.89.77.") || !strings.Contains(ip, "web") {
		t.Errorf("docker inspect %s: address and aliases on %s %q, want 10.89.77.x and web", srv, net, ip)
	}
	for _, host := range []string{srv, "web"} {
		var out string
		waitFor(t, 20*time.Second, "the server by "+host, func() bool {
			out, _, _ = a.docker(t, time.Minute, "run", "--rm", "--network", net, imageFull, "sh", "-c", ncGet(host))
			return strings.Contains(out, "via-api-net")
		})
	}
	if out := a.mustDocker(t, "network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", net); !strings.Contains(out, srv) {
		t.Errorf("docker network inspect: containers %q, want %s", out, srv)
	}

	_, errOut, code := a.docker(t, time.Minute, "network", "rm", net)
	if code == 0 || !strings.Contains(errOut, "has active endpoints") {
		t.Errorf("docker network rm of a network in use: exit %d, stderr %q; want Docker's refusal", code, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "network", "rm", "bridge"); code == 0 || !strings.Contains(errOut, "pre-defined") {
		t.Errorf("docker network rm bridge: exit %d, stderr %q", code, errOut)
	}
	a.mustDocker(t, "rm", "-f", srv)
	a.mustDocker(t, "network", "rm", net)
	if _, errOut, code := a.docker(t, time.Minute, "network", "inspect", net); code == 0 || !strings.Contains(errOut, "No such network") {
		t.Errorf("docker network inspect after rm: exit %d, stderr %q", code, errOut)
	}
	assertGone(t, srv)
}

// TestAPINetworkPublishAll: docker run -P publishes the exposed port on
// a free host port, which answers from the host's loopback.
func TestAPINetworkPublishAll(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "pall")
	a.mustDocker(t, "run", "-d", "--name", name, "-P", "--expose", "8080", imageFull, "sh", "-c", serveCmd("via-publish-all"))
	// The list's Ports, as the API answers them.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (stdnet.Conn, error) {
		return (&stdnet.Dialer{}).DialContext(ctx, "unix", a.sock)
	}}}
	resp, err := hc.Get("http://d/v1.41/containers/json?filters=" + url.QueryEscape(`{"name":["`+name+`"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Ports []struct {
			PrivatePort, PublicPort uint16
			Type                    string
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	var m []string
	for _, c := range list {
		for _, p := range c.Ports {
			if p.PrivatePort == 8080 && p.Type == "tcp" && p.PublicPort != 0 {
				m = []string{"", strconv.Itoa(int(p.PublicPort))}
			}
		}
	}
	if err != nil || m == nil {
		t.Fatalf("GET /containers/json: %+v (%v), want a host port for 8080/tcp", list, err)
	}
	if out := a.mustDocker(t, "port", name, "8080"); !strings.Contains(out, "0.0.0.0:"+m[1]) {
		t.Errorf("docker port %s 8080: %q, want port %s", name, out, m[1])
	}
	if out := a.mustDocker(t, "ps", "--filter", "name="+name, "--format", "{{.Ports}}"); !strings.Contains(out, "0.0.0.0:"+m[1]+"->8080/tcp") {
		t.Errorf("docker ps --format {{.Ports}}: %q, want 0.0.0.0:%s->8080/tcp", out, m[1])
	}
	// The default network's address, at the top as API 1.41 has it.
	if ip := strings.TrimSpace(a.mustDocker(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Networks.bridge.IPAddress}}", name)); ip != "10.0.2.100 10.0.2.100" {
		t.Errorf("docker inspect %s: addresses %q, want 10.0.2.100 (the rootless default's) twice", name, ip)
	}
	var page string
	waitFor(t, 20*time.Second, "the published port", func() bool {
		c := http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get("http://127.0.0.1:" + m[1] + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return strings.Contains(page, "via-publish-all")
	})
	a.mustDocker(t, "rm", "-f", name)
	assertGone(t, name)
}

// composeAPIFile is a two-service app: web serves a page, client fetches
// it by web's service name and prints it.
const composeAPIFile = `version: "2.4"
services:
  web:
    image: %[1]s
    command: ["sh", "-c", "mkdir -p /www && echo hello-compose-api > /www/index.html && exec httpd -f -p 8080 -h /www"]
  client:
    image: %[1]s
    depends_on: [web]
    command: ["sh", "-c", "until printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 web 8080; do sleep 1; done; exec sleep 300"]
`

// TestAPICompose: docker-compose 1.29 (docker-py) on the API service:
// up -d makes the project's network and both containers, the client
// reaches web by its service name, ps and logs show them, and down leaves
// no container and no network behind.
func TestAPICompose(t *testing.T) {
	composeBin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatalf("docker-compose is not installed (tests/setup/deps.sh installs it): %v", err)
	}
	a := startAPIService(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(composeAPIFile, imageFull)), 0o644); err != nil {
		t.Fatal(err)
	}
	project := strings.ReplaceAll(ctrName(t, "p"), "-", "")
	compose := composeRunner(t, a, composeBin, project, file)
	t.Cleanup(func() {
		for _, s := range []string{"web", "client"} {
			runMyctr(cmdTimeout, nil, "rm", "-f", project+"_"+s+"_1")
		}
		runMyctr(cmdTimeout, nil, "network", "rm", "-f", project+"_default")
	})

	compose("up", "-d")
	waitFor(t, 40*time.Second, "the client's page, fetched from web by name", func() bool {
		out, _, _ := a.docker(t, time.Minute, "logs", project+"_client_1")
		return strings.Contains(out, "hello-compose-api")
	})
	ps := compose("ps")
	for _, svc := range []string{"web", "client"} {
		if !strings.Contains(ps, project+"_"+svc+"_1") {
			t.Errorf("docker-compose ps does not list %s_%s_1", project, svc)
		}
	}
	if logs := compose("logs", "client"); !strings.Contains(logs, "hello-compose-api") {
		t.Errorf("docker-compose logs client shows no page")
	}
	compose("down", "-t", "1")
	if left := a.mustDocker(t, "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+project); strings.TrimSpace(left) != "" {
		t.Errorf("docker-compose down left containers: %q", left)
	}
	if nets := a.mustDocker(t, "network", "ls", "-q", "--filter", "name="+project); strings.TrimSpace(nets) != "" {
		t.Errorf("docker-compose down left networks: %q", nets)
	}
}

// TestAPINetworkConnect: docker network connect puts a running container
// on a second network at once (it reaches that network's server by name,
// and answers to its alias there), disconnect takes it off; prune removes
// the networks no container is on and keeps the others.
func TestAPINetworkConnect(t *testing.T) {
	a := startAPIService(t)
	netA, netB, spare := ctrName(t, "neta"), ctrName(t, "netb"), ctrName(t, "spare")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "network", "rm", "-f", netA, netB, spare) })
	for _, n := range []string{netA, netB, spare} {
		a.mustDocker(t, "network", "create", "--label", "it.api.connect=1", n)
	}
	srv, cli := ctrName(t, "srv"), ctrName(t, "cli")
	a.mustDocker(t, "run", "-d", "--name", srv, "--network", netA, imageFull, "sh", "-c", serveCmd("via-connect"))
	a.mustDocker(t, "run", "-d", "--name", cli, "--network", netB, imageFull, "sleep", "300")
	reach := func(host string) bool {
		out, _, _ := a.docker(t, time.Minute, "exec", cli, "sh", "-c", ncGet(host))
		return strings.Contains(out, "via-connect")
	}
	if reach(srv) {
		t.Fatalf("%s on %s reaches %s on %s before connect", cli, netB, srv, netA)
	}
	a.mustDocker(t, "network", "connect", "--alias", "cli-alias", netA, cli)
	waitFor(t, 20*time.Second, "the server by name after connect", func() bool { return reach(srv) })
	if out, _, _ := a.docker(t, time.Minute, "exec", srv, "nslookup", "cli-alias"); !strings.Contains(out, "Address") || strings.Contains(out, "can't resolve") {
		t.Errorf("nslookup cli-alias on %s: %q", netA, out)
	}
	nets := a.mustDocker(t, "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", cli)
	if !strings.Contains(nets, netA) || !strings.Contains(nets, netB) {
		t.Errorf("networks of %s after connect: %q, want %s and %s", cli, nets, netA, netB)
	}
	a.mustDocker(t, "network", "disconnect", netA, cli)
	if reach(srv) {
		t.Errorf("%s still reaches %s after disconnect", cli, srv)
	}

	out := a.mustDocker(t, "network", "prune", "-f", "--filter", "label=it.api.connect=1")
	if !strings.Contains(out, spare) || strings.Contains(out, netA) || strings.Contains(out, netB) {
		t.Errorf("docker network prune: %q, want %s alone removed", out, spare)
	}
	a.mustDocker(t, "rm", "-f", srv, cli)
	a.mustDocker(t, "network", "rm", netA, netB)
	assertGone(t, srv, cli)
}

// composeRunner runs docker-compose on the service for project and file,
// failing the test when it fails.
func composeRunner(t *testing.T, a *apiService, composeBin, project, file string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, composeBin, append([]string{"--ansi", "never", "-p", project, "-f", file}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+a.sock, "DOCKER_CONFIG="+a.config)
		cmd.Dir = filepath.Dir(file)
		out, err := cmd.CombinedOutput()
		t.Logf("docker-compose %s:\n%s", strings.Join(args, " "), out)
		if err != nil {
			t.Fatalf("docker-compose %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
}

// composeNetworksFile: api is on two networks, web on front only, db on
// back only; api answers on front to an alias and publishes a port.
const composeNetworksFile = `version: "2.4"
services:
  db:
    image: %[1]s
    networks: [back]
    command: ["sh", "-c", "mkdir -p /www && echo db-answer > /www/index.html && exec httpd -f -p 8080 -h /www"]
  api:
    image: %[1]s
    depends_on: [db]
    networks:
      back: {}
      front:
        aliases: [api-alias]
    ports: ["8080"]
    command: ["sh", "-c", "until printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 db 8080 > /tmp/db; do sleep 1; done; mkdir -p /www && tail -n1 /tmp/db > /www/index.html && exec httpd -f -p 8080 -h /www"]
  web:
    image: %[1]s
    depends_on: [api]
    networks: [front]
    command: ["sh", "-c", "until printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 api-alias 8080 | grep db-answer; do sleep 1; done; exec sleep 300"]
networks:
  front: {}
  back: {}
`

// TestAPIComposeNetworks: docker-compose 1.29 with a service on two
// networks (created on one, connected to the other before its start), an
// alias, and a published port reached from the host.
func TestAPIComposeNetworks(t *testing.T) {
	composeBin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatalf("docker-compose is not installed (tests/setup/deps.sh installs it): %v", err)
	}
	a := startAPIService(t)
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(composeNetworksFile, imageFull)), 0o644); err != nil {
		t.Fatal(err)
	}
	project := strings.ReplaceAll(ctrName(t, "p"), "-", "")
	compose := composeRunner(t, a, composeBin, project, file)
	t.Cleanup(func() {
		for _, s := range []string{"db", "api", "web"} {
			runMyctr(cmdTimeout, nil, "rm", "-f", project+"_"+s+"_1")
		}
		runMyctr(cmdTimeout, nil, "network", "rm", "-f", project+"_front", project+"_back")
	})

	compose("up", "-d")
	waitFor(t, 40*time.Second, "web's fetch of db's answer from api by its alias", func() bool {
		out, _, _ := a.docker(t, time.Minute, "logs", project+"_web_1")
		return strings.Contains(out, "db-answer")
	})
	nets := a.mustDocker(t, "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", project+"_api_1")
	if strings.TrimSpace(nets) != project+"_back "+project+"_front" {
		t.Errorf("api's networks: %q, want back and front", nets)
	}
	if out, _, code := a.docker(t, time.Minute, "exec", project+"_web_1", "nslookup", "db"); code == 0 && !strings.Contains(out, "can't resolve") {
		t.Errorf("web, on front only, resolves db of back: %q", out)
	}
	port := strings.TrimSpace(compose("port", "api", "8080"))
	_, hostPort, _ := strings.Cut(port, ":")
	if hostPort == "" {
		t.Errorf("docker-compose port api 8080: %q, want HOST:PORT", port)
	} else {
		waitFor(t, 20*time.Second, "api's published port", func() bool {
			c := http.Client{Timeout: 3 * time.Second}
			resp, err := c.Get("http://127.0.0.1:" + hostPort + "/")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return strings.Contains(string(b), "db-answer")
		})
	}
	compose("down", "-t", "1")
	if left := a.mustDocker(t, "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+project); strings.TrimSpace(left) != "" {
		t.Errorf("docker-compose down left containers: %q", left)
	}
	if nets := a.mustDocker(t, "network", "ls", "-q", "--filter", "name="+project); strings.TrimSpace(nets) != "" {
		t.Errorf("docker-compose down left networks: %q", nets)
	}
}
