//go:build integration

package integration

// A container's resolver and hosts settings as Podman takes them: --dns,
// --dns-search and --dns-option (--dns-opt), containers.conf's
// dns_servers, dns_searches, dns_options, base_hosts_file and
// host_containers_internal_ip, and the refusals.

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestRunDNSFlags(t *testing.T) {
	t.Parallel()
	// Servers, domains and options in place of the network's, written as
	// Podman writes them: search, nameservers, options; commas split.
	out := mustMyctr(t, "run", "--rm", "--network", "slirp4netns", "--dns", "192.0.2.53", "--dns", "2001:db8::53,192.0.2.54",
		"--dns-search", "example.com,corp.example", "--dns-option", "ndots:3", "--dns-opt", "edns0", image, "cat", "/etc/resolv.conf")
	if want := "search example.com corp.example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver 192.0.2.54\noptions ndots:3 edns0\n"; out != want {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", out, want)
	}
	// An option alone keeps the network's nameserver (slirp4netns's
	// forwarder); --dns-search . leaves no search line.
	out = mustMyctr(t, "run", "--rm", "--network", "slirp4netns", "--dns-search", ".", "--dns-option", "timeout:2", image, "cat", "/etc/resolv.conf")
	if !strings.Contains(out, "nameserver 10.0.2.3\n") || strings.Contains(out, "search") || !strings.HasSuffix(out, "options timeout:2\n") {
		t.Errorf("resolv.conf with an option and no search domain:\n%s", out)
	}
	// --dns none: the image's own file, not bound over.
	out = mustMyctr(t, "run", "--rm", "--dns", "none", image, "sh", "-c", "grep -c ' /etc/resolv.conf ' /proc/self/mountinfo; true")
	if strings.TrimSpace(out) != "0" {
		t.Errorf("--dns none: /etc/resolv.conf is still bound over (%q)", out)
	}
	// inspect shows them under Docker's names.
	name := ctrName(t, "dns")
	mustMyctr(t, "create", "--name", name, "--dns", "192.0.2.53", "--dns-search", "example.com", "--dns-option", "ndots:1", image, "true")
	if out := mustMyctr(t, "inspect", "--format", "{{.HostConfig.Dns}} {{.HostConfig.DnsSearch}} {{.HostConfig.DnsOptions}}", name); strings.TrimSpace(out) != "[192.0.2.53] [example.com] [ndots:1]" {
		t.Errorf("inspect: %q", out)
	}

	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--dns", "192.0.2"}, `--dns "192.0.2" is not an IP address`},
		{[]string{"--dns", "none", "--dns", "192.0.2.1"}, "--dns none cannot be given with other DNS servers"},
		{[]string{"--dns", "none", "--dns-search", "example.com"}, "--dns none keeps the image's /etc/resolv.conf"},
		{[]string{"--dns-search", "bad domain"}, `--dns-search "bad domain" is not a domain name`},
		{[]string{"--dns-search", ".", "--dns-search", "example.com"}, "--dns-search . (no search domain) cannot be given with other domains"},
		// No value may add a line to the file.
		{[]string{"--dns-option", "ndots:1\nnameserver 6.6.6.6"}, `--dns-option "ndots:1\nnameserver 6.6.6.6": want one option such as ndots:2`},
	} {
		_, errOut, code := myctr(t, append(append([]string{"run", "--rm"}, tc.flags...), image, "true")...)
		if code != 125 || !strings.Contains(errOut, "Error: invalid DNS setting: "+tc.want) {
			t.Errorf("run %q: exit %d, %q; want 125 and %q", tc.flags, code, errOut, tc.want)
		}
	}
	// A container that joins another's network shares its file.
	dep := runDetached(t, ctrName(t, "dnsdep"), nil, "sleep", "300")
	_, errOut, code := myctr(t, "run", "--rm", "--network", "container:"+dep, "--dns", "192.0.2.53", image, "true")
	if code != 125 || !strings.Contains(errOut, "cannot be set for a container that joins another's network") || !strings.Contains(errOut, "Hint:") {
		t.Errorf("--dns with --network container: exit %d, %q", code, errOut)
	}
}

// TestContainersConfDNSAndHosts: containers.conf's resolver settings come
// before the command line's (as Podman merges them), and its
// base_hosts_file and host_containers_internal_ip make /etc/hosts; a bad
// value names the file and line.
func TestContainersConfDNSAndHosts(t *testing.T) {
	t.Parallel()
	c := newConfEnv(t, map[string]string{"base.hosts": "192.0.2.10 basehost-one\n192.0.2.11 basehost-two # a comment\n"})
	c.write(t, "home/containers/containers.conf", "[containers]\ndns_searches = [\"example.com\"]\ndns_servers = [\"192.0.2.1\", \"192.0.2.2\"]\n"+
		"dns_options = [\"ndots:4\"]\nbase_hosts_file = \""+c.path("base.hosts")+"\"\nhost_containers_internal_ip = \"192.0.2.99\"\n")
	out := mustMyctrEnv(t, c.env, "run", "--rm", "--dns", "192.0.2.3", "--dns-search", "corp.example", image, "cat", "/etc/resolv.conf")
	if want := "search example.com corp.example\nnameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\noptions ndots:4\n"; out != want {
		t.Errorf("resolv.conf with containers.conf's settings:\n%s\nwant:\n%s", out, want)
	}
	name := ctrName(t, "basehosts")
	out = mustMyctrEnv(t, c.env, "run", "--rm", "--name", name, "--add-host", "added.example:192.0.2.20", image, "cat", "/etc/hosts")
	got := hostsEntries(out)
	for n, ip := range map[string]string{"added.example": "192.0.2.20", "basehost-one": "192.0.2.10", "basehost-two": "192.0.2.11",
		"host.containers.internal": "192.0.2.99", "localhost": "127.0.0.1", name: "10.0.2.100"} {
		if a := hostsLookup(got, n); a != ip {
			t.Errorf("/etc/hosts: %s at %q, want %s:\n%s", n, a, ip, out)
		}
	}
	if len(got) != 7 {
		t.Errorf("/etc/hosts has %d entries, want 7 (the host's own are not there):\n%s", len(got), out)
	}
	// A container named as a base entry gets no entry of its own.
	out = mustMyctrEnv(t, c.env, "run", "--rm", "--name", "basehost-one", "--hostname", "basehost-one", image, "cat", "/etc/hosts")
	if got := hostsEntries(out); len(got) != 5 || hostsLookup(got, "basehost-one") != "192.0.2.10" {
		t.Errorf("/etc/hosts of a container named as a base entry:\n%s", out)
	}
	mustMyctr(t, "rm", "-f", "basehost-one")

	for _, tc := range []struct{ conf, want string }{
		{"[containers]\ndns_servers = [\"8.8.8\"]\n", ":2: [containers] dns_servers: invalid DNS setting"},
		{"[containers]\n\nbase_hosts_file = \"relative/hosts\"\n", ":3: [containers] base_hosts_file \"relative/hosts\": want an absolute path"},
		{"[containers]\nhost_containers_internal_ip = \"nowhere\"\n", ":2: [containers] host_containers_internal_ip \"nowhere\": want an IP address"},
	} {
		c.write(t, "home/containers/containers.conf", tc.conf)
		_, errOut, code := myctrEnv(t, c.env, nil, "run", "--rm", image, "true")
		if code != 125 || !strings.Contains(errOut, c.path("home/containers/containers.conf")+tc.want) {
			t.Errorf("containers.conf %q: exit %d, %q; want 125 and %q", tc.conf, code, errOut, tc.want)
		}
	}
}

// TestRunHTTPProxy: the proxy variables of myctr's environment pass into
// the container, below the container's own -e, unless --http-proxy=false.
func TestRunHTTPProxy(t *testing.T) {
	t.Parallel()
	env := []string{"http_proxy=http://proxy.example:3128", "NO_PROXY=localhost,.example"}
	out := mustMyctrEnv(t, env, "run", "--rm", image, "sh", "-c", "echo $http_proxy+$NO_PROXY+${https_proxy-unset}")
	if strings.TrimSpace(out) != "http://proxy.example:3128+localhost,.example+unset" {
		t.Errorf("proxy variables passed: %q", out)
	}
	out = mustMyctrEnv(t, env, "run", "--rm", "-e", "http_proxy=mine", image, "sh", "-c", "echo $http_proxy+$NO_PROXY")
	if strings.TrimSpace(out) != "mine+localhost,.example" {
		t.Errorf("-e over a proxy variable: %q", out)
	}
	out = mustMyctrEnv(t, env, "run", "--rm", "--http-proxy=false", image, "sh", "-c", "echo ${http_proxy-unset}+${NO_PROXY-unset}")
	if strings.TrimSpace(out) != "unset+unset" {
		t.Errorf("--http-proxy=false: %q", out)
	}
}

// TestJoinedNetworkHosts: a container that joins another's network (a
// pod's member here) has that container's /etc/hosts with its own names
// at 127.0.0.1 added, as Podman adds them; one that stopped leaves no
// entry in the next member's file.
func TestJoinedNetworkHosts(t *testing.T) {
	t.Parallel()
	pn := podName(t, "hosts")
	podCreate(t, pn, "--infra-name", pn+"-infra")
	first, second := ctrName(t, "first"), ctrName(t, "second")
	out1 := mustMyctr(t, "run", "--pod", pn, "--name", first, image, "cat", "/etc/hosts")
	out2 := mustMyctr(t, "run", "--pod", pn, "--name", second, image, "cat", "/etc/hosts")
	for _, tc := range []struct{ out, own, other string }{{out1, first, second}, {out2, second, first}} {
		got := hostsEntries(tc.out)
		if hostsLookup(got, tc.own) != "127.0.0.1" || hostsLookup(got, tc.other) != "" || hostsLookup(got, pn+"-infra") == "" || hostsLookup(got, pn) == "" {
			t.Errorf("/etc/hosts of %s: want its name at 127.0.0.1, the pod's and the infra's, and not %s:\n%s", tc.own, tc.other, tc.out)
		}
	}
	if a, b := len(hostsEntries(out1)), len(hostsEntries(out2)); a != b {
		t.Errorf("the members' /etc/hosts have %d and %d entries, want as many", a, b)
	}
}

// TestRunGroupAdd: --group-add adds supplementary groups (numbers, or
// names of the image's /etc/group), also to exec's process; keep-groups
// leaves the process the groups of the user who runs myctr, and stands
// alone.
func TestRunGroupAdd(t *testing.T) {
	t.Parallel()
	groupsOf := func(status string) []string {
		for _, l := range strings.Split(status, "\n") {
			if rest, ok := strings.CutPrefix(l, "Groups:"); ok {
				return strings.Fields(rest)
			}
		}
		t.Fatalf("no Groups line in %q", status)
		return nil
	}
	if got := groupsOf(mustMyctr(t, "run", "--rm", "--group-add", "457", "--group-add", "root,12", image, "cat", "/proc/self/status")); strings.Join(got, " ") != "0 12 457" {
		t.Errorf("--group-add 457 root,12: groups %q, want 0 12 457", got)
	}
	if got := groupsOf(mustMyctr(t, "run", "--rm", image, "cat", "/proc/self/status")); len(got) != 0 {
		t.Errorf("without --group-add: groups %q, want none", got)
	}
	// keep-groups: as many groups as this process has (each shows as the
	// container's id for it, or the overflow id).
	own, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	if got := groupsOf(mustMyctr(t, "run", "--rm", "--group-add", "keep-groups", image, "cat", "/proc/self/status")); len(got) != len(own) {
		t.Errorf("keep-groups: groups %q, want %d of them (ours: %v)", got, len(own), own)
	}
	name := ctrName(t, "groups")
	runDetached(t, name, []string{"--group-add", "457"}, "sleep", "300")
	if got := groupsOf(mustMyctr(t, "exec", "-u", "5", name, "cat", "/proc/self/status")); strings.Join(got, " ") != "457" {
		t.Errorf("exec -u 5 in a --group-add 457 container: groups %q, want 457", got)
	}
	if out := mustMyctr(t, "inspect", "--format", "{{.HostConfig.GroupAdd}}", name); strings.TrimSpace(out) != "[457]" {
		t.Errorf("inspect GroupAdd: %q", out)
	}
	for _, tc := range []struct {
		groups []string
		want   string
	}{
		{[]string{"keep-groups", "457"}, "the '--group-add keep-groups' option is not allowed with any other --group-add options"},
		{[]string{"nosuch"}, "unable to find group nosuch"},
		{[]string{"99999"}, "group 99999 is outside the user namespace's"},
	} {
		args := []string{"run", "--rm"}
		for _, g := range tc.groups {
			args = append(args, "--group-add", g)
		}
		if _, errOut, code := myctr(t, append(args, image, "true")...); code != 125 || !strings.Contains(errOut, tc.want) {
			t.Errorf("--group-add %q: exit %d, %q; want 125 and %q", tc.groups, code, errOut, tc.want)
		}
	}
}

// TestPodCreateHostsAndDNS: pod create's --add-host, --dns, --dns-search
// and --dns-option make the infra's files, which the members share;
// --infra-command replaces the infra's command; --pod-id-file gets the
// id, and must not be there before.
func TestPodCreateHostsAndDNS(t *testing.T) {
	t.Parallel()
	pn := podName(t, "resolv")
	idFile := t.TempDir() + "/pod-id"
	id := podCreate(t, pn, "--pod-id-file", idFile, "--hostname", "pod.example.net", "--add-host", "added.example:192.0.2.7",
		"--dns", "192.0.2.53", "--dns-search", "search.example", "--dns-opt", "ndots:5", "--infra-image", image, "--infra-command", "sleep 1001")
	if b, err := os.ReadFile(idFile); err != nil || string(b) != id {
		t.Errorf("--pod-id-file holds %q (%v), want %s", b, err, id)
	}
	out := mustMyctr(t, "run", "--rm", "--pod", pn, image, "sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf")
	hosts, resolv, _ := strings.Cut(out, "---\n")
	if got := hostsEntries(hosts); hostsLookup(got, "added.example") != "192.0.2.7" || hostsLookup(got, "pod.example.net") == "" {
		t.Errorf("the member's /etc/hosts: want the pod's --add-host and host name:\n%s", hosts)
	}
	if resolv != "search search.example\nnameserver 192.0.2.53\noptions ndots:5\n" {
		t.Errorf("the member's /etc/resolv.conf:\n%s", resolv)
	}
	infra := strings.TrimSpace(mustMyctr(t, "pod", "inspect", "--format", "{{.InfraContainerID}}", pn))
	// Podman's field names in a template: ID, not the JSON's Id.
	if first := strings.TrimSpace(mustMyctr(t, "pod", "inspect", "--format", "{{(index .Containers 0).ID}}", pn)); first != infra {
		t.Errorf("pod inspect {{(index .Containers 0).ID}} = %q, want the infra %s", first, infra)
	}
	if top := mustMyctr(t, "top", infra, "args"); !strings.Contains(top, "sleep 1001") {
		t.Errorf("the infra runs %q, want --infra-command's sleep 1001", top)
	}
	if _, errOut, code := myctr(t, "pod", "create", "--pod-id-file", idFile, pn+"-again"); code != 125 || !strings.Contains(errOut, "pod id file exists") {
		t.Errorf("pod create with an existing --pod-id-file: exit %d, %q", code, errOut)
	}
	if _, _, code := myctr(t, "pod", "exists", pn+"-again"); code != 1 {
		t.Errorf("the refused pod was made")
	}
	if _, errOut, code := myctr(t, "pod", "create", "--infra=false", "--dns", "192.0.2.53", pn+"-noinfra"); code != 125 || !strings.Contains(errOut, "the pod has none (--infra=false)") {
		t.Errorf("pod create --infra=false --dns: exit %d, %q", code, errOut)
	}
}

// TestRunProcessOptions: --ulimit (also for exec's processes), --shm-size,
// --umask, --annotation, --env-host and --read-only-tmpfs=false, and
// their refusals.
func TestRunProcessOptions(t *testing.T) {
	t.Parallel()
	out := mustMyctr(t, "run", "--rm", "--ulimit", "nofile=100:200", "--ulimit", "core=0", "--shm-size", "128m", "--umask", "0077", image,
		"sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c; df -k /dev/shm | tail -n 1; umask")
	f := strings.Fields(out)
	if len(f) < 10 || f[0] != "100" || f[1] != "200" || f[2] != "0" || f[4] != "131072" || f[len(f)-1] != "0077" {
		t.Errorf("--ulimit nofile=100:200 core=0 --shm-size 128m --umask 0077: %q", out)
	}
	name := ctrName(t, "procopts")
	pidfile := t.TempDir() + "/pid"
	runDetached(t, name, []string{"--ulimit", "nofile=150:250", "--annotation", "it.example/note=kept", "--pidfile", pidfile,
		"--network", "slirp4netns", "--expose", "7000-7001", "--expose", "5353/udp", "-P"}, "sleep", "300")
	if b, err := os.ReadFile(pidfile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(inspect(t, name).State.Pid) {
		t.Errorf("--pidfile holds %q (%v), want the container's pid %d", b, err, inspect(t, name).State.Pid)
	}
	ports := mustMyctr(t, "port", name)
	for _, p := range []string{"7000/tcp -> ", "7001/tcp -> ", "5353/udp -> "} {
		if !strings.Contains(ports, p) {
			t.Errorf("--expose 7000-7001 --expose 5353/udp -P: ports %q lack %s", ports, p)
		}
	}
	if out := strings.Fields(mustMyctr(t, "exec", name, "sh", "-c", "ulimit -n; ulimit -Hn")); len(out) != 2 || out[0] != "150" || out[1] != "250" {
		t.Errorf("exec's limits: %q, want the container's 150 250", out)
	}
	if out := mustMyctr(t, "inspect", "--format", `{{index .Config.Annotations "it.example/note"}} {{range .HostConfig.Ulimits}}{{.Name}}={{.Soft}}:{{.Hard}}{{end}}`, name); strings.TrimSpace(out) != "kept nofile=150:250" {
		t.Errorf("inspect of the annotation and the ulimit: %q", out)
	}
	out = mustMyctrEnv(t, []string{"IT_ENV_HOST=passed"}, "run", "--rm", "--env-host", "-e", "IT_OTHER=flag", image, "sh", "-c", "echo $IT_ENV_HOST $IT_OTHER")
	if strings.TrimSpace(out) != "passed flag" {
		t.Errorf("--env-host: %q", out)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--read-only", "--read-only-tmpfs=false", image, "touch", "/tmp/x"); code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("--read-only --read-only-tmpfs=false: /tmp writable (exit %d, %q)", code, errOut)
	}
	mustMyctr(t, "run", "--rm", "--read-only", image, "touch", "/tmp/x")
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--ulimit", "nofile=100:999999999999"}, "--ulimit nofile: hard limit 999999999999 is above yours"},
		{[]string{"--ulimit", "bogus=1"}, "invalid ulimit type: bogus"},
		{[]string{"--shm-size", "0"}, `--shm-size "0": want a size`},
		{[]string{"--umask", "0999"}, `--umask "0999": want an octal mode`},
		{[]string{"--annotation", "io.myctr.keep-id=0"}, "io.myctr.* annotations are myctr's own"},
	} {
		if _, errOut, code := myctr(t, append(append([]string{"run", "--rm"}, tc.flags...), image, "true")...); code != 125 || !strings.Contains(errOut, tc.want) {
			t.Errorf("run %q: exit %d, %q; want 125 and %q", tc.flags, code, errOut, tc.want)
		}
	}
}

// TestRunDevice: --device binds a host device node in, at its path or
// another; what is not a device, and permissions that only a device
// cgroup could hold the container to, are refused.
func TestRunDevice(t *testing.T) {
	t.Parallel()
	out := mustMyctr(t, "run", "--rm", "--device", "/dev/full:/dev/it-full", "--device", "/dev/net/tun", image,
		"sh", "-c", "ls -l /dev/it-full /dev/net/tun | cut -c1; echo x > /dev/it-full || echo write-refused")
	if f := strings.Fields(out); len(f) != 3 || f[0] != "c" || f[1] != "c" || f[2] != "write-refused" {
		t.Errorf("--device /dev/full:/dev/it-full --device /dev/net/tun: %q; want two character devices, the full one refusing a write (ENOSPC)", out)
	}
	for _, tc := range []struct{ dev, want string }{
		{"/etc/hostname", "is not a device node"},
		{"/dev/it-no-such-node", "no such file or directory"},
		{"/dev/full:/dev/f:r", "only a device cgroup rule could hold the container to them"},
	} {
		if _, errOut, code := myctr(t, "run", "--rm", "--device", tc.dev, image, "true"); code != 125 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Hint:") {
			t.Errorf("--device %s: exit %d, %q; want 125 and %q", tc.dev, code, errOut, tc.want)
		}
	}
}
