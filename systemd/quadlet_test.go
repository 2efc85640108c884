package systemd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testBinary = "/usr/bin/myctr"

// execWords splits a command line the way systemd reads ExecStart=
// (systemd.service(5), "Command lines"), written apart from SplitWords
// so that QuoteWord is checked against a second reading: specifiers are
// resolved first ("%%" is "%", any other "%X" becomes "<X>"), then words
// are split and unquoted (double and single quotes, C escapes, "\;"), and
// "$$" in each word becomes "$". A variable ("$X" not doubled) is an
// error here: none is meant to be left in a generated line.
func execWords(t *testing.T, line string) []string {
	t.Helper()
	var spec strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] != '%' {
			spec.WriteByte(line[i])
			continue
		}
		i++
		if i == len(line) {
			t.Fatalf("%q: a lone %% at the end", line)
		}
		if line[i] == '%' {
			spec.WriteByte('%')
		} else {
			spec.WriteString("<" + string(line[i]) + ">")
		}
	}
	s := spec.String()
	var words []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		if strings.HasPrefix(s, `\;`) && (len(s) == 2 || s[2] == ' ') {
			words = append(words, ";")
			s = s[2:]
			continue
		}
		var w strings.Builder
		var q byte
	word:
		for len(s) > 0 {
			c := s[0]
			s = s[1:]
			switch {
			case c == '\\':
				if s == "" {
					t.Fatalf("%q: trailing backslash", line)
				}
				e := s[0]
				s = s[1:]
				switch e {
				case 'n':
					w.WriteByte('\n')
				case 't':
					w.WriteByte('\t')
				case 'r':
					w.WriteByte('\r')
				case 'x':
					var b byte
					if _, err := fmt.Sscanf(s[:2], "%02x", &b); err != nil {
						t.Fatalf("%q: bad \\x", line)
					}
					w.WriteByte(b)
					s = s[2:]
				case '\\', '"', '\'':
					w.WriteByte(e)
				default:
					t.Fatalf("%q: escape \\%c", line, e)
				}
			case q != 0 && c == q:
				q = 0
			case q != 0:
				w.WriteByte(c)
			case c == '"' || c == '\'':
				q = c
			case c == ' ' || c == '\t':
				break word
			default:
				w.WriteByte(c)
			}
		}
		if q != 0 {
			t.Fatalf("%q: unterminated quote", line)
		}
		v := w.String()
		var out strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '$' {
				if i+1 < len(v) && v[i+1] == '$' {
					i++
				} else {
					t.Fatalf("%q: a variable $ in %q", line, v)
				}
			}
			out.WriteByte(v[i])
		}
		words = append(words, out.String())
	}
	return words
}

func TestQuoteRoundTrip(t *testing.T) {
	words := []string{
		"plain", "", "two words", `dq"inside`, "sq'inside", `back\slash`, `trailing\`,
		"$HOME", "${HOME}", "$$", "100%", "%n", "%%", "tab\there", "new\nline", ";", "a;b",
		"\x01ctl", "ünïcödé", `"`, `'`, `\`, "- -", "@x",
	}
	var args []Arg
	for _, w := range words {
		args = append(args, Literal(w))
	}
	line := CommandLine(args)
	if got := execWords(t, line); !reflect.DeepEqual(got, words) {
		t.Errorf("CommandLine %s\nreads back as %q\nwant          %q", line, got, words)
	}
	// SplitWords reads what QuoteWord writes, too (before systemd's
	// own "$$" and "%%" are undone, which it leaves alone).
	sw, err := SplitWords(line)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range words {
		want := strings.ReplaceAll(strings.ReplaceAll(w, "$", "$$"), "%", "%%")
		if sw[i] != want {
			t.Errorf("SplitWords word %d = %q, want %q", i, sw[i], want)
		}
	}
	// With specifiers, '%' is left for systemd.
	if got := CommandLine([]Arg{Spec("%h/a b"), Spec("100%%")}); got != `"%h/a b" 100%%` {
		t.Errorf("Spec: %s", got)
	}
}

// TestQuoteSystemdAnalyze has systemd itself read a generated unit,
// where systemd-analyze is installed.
func TestQuoteSystemdAnalyze(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: systemd's own reading of the quoting is not checked")
	}
	dir := t.TempDir()
	verify := func(name, unit string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sa, "verify", p)
		cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=warning")
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
		}
	}
	var args []Arg
	for _, w := range []string{"/bin/true", "two words", `q"x`, "$HOME", "100%", `\`, ";", "", "new\nline"} {
		args = append(args, Literal(w))
	}
	verify("quote.service", "[Service]\nType=oneshot\nExecStart="+CommandLine(args)+"\n")

	// What the generator and generate systemd write (with a binary that
	// exists: verify checks it).
	cf, err := ParseUnitFile(strings.NewReader(`[Unit]
After=network.target
[Container]
Image=bb
Exec=sh -c "echo '$X' 100%% >/dev/null"
Environment="A=b c" D=$E
Volume=%h/a:/a
StopSignal=SIGINT
[Service]
Restart=on-failure
[Install]
WantedBy=multi-user.target
`), "web.container")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := TranslateContainer(cf, "web", "/bin/true", "/etc/containers/systemd/web.container")
	if err != nil {
		t.Fatal(err)
	}
	verify("web.service", svc.Text())
	run, global, err := RewriteCreateCommand([]string{"myctr", "--root", "/my root", "run", "-e", "A=$B 5%", "bb", "sh", "-c", `echo "x"`}, "/bin/true", testFlags)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []ContainerUnitOptions{
		{ServiceName: "container-web", Binary: "/bin/true", New: true, RunCommand: run, Global: global, RestartPolicy: "on-failure"},
		{ServiceName: "container-web2", Binary: "/bin/true", Container: "web", RestartPolicy: "always", StopTimeout: 3},
	} {
		text, err := ContainerUnit(o)
		if err != nil {
			t.Fatal(err)
		}
		verify(o.ServiceName+".service", text)
	}
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{`a b  c`, []string{"a", "b", "c"}, ""},
		{`"a b" 'c d' e"f g"h`, []string{"a b", "c d", "ef gh"}, ""},
		{`"" x`, []string{"", "x"}, ""},
		{`a\tb \x41 \101 \u00e9 \s`, []string{"a\tb", "A", "A", "é", " "}, ""},
		{`"q\"x" 'it\'s'`, []string{`q"x`, "it's"}, ""},
		{`a\ b \;`, []string{"a b", ";"}, ""},
		{`%h/$X`, []string{"%h/$X"}, ""},
		{`"open`, nil, "unterminated"},
		{`end\`, nil, "backslash ends"},
		{`\q`, nil, "unknown escape"},
		{`\x4`, nil, "bad escape"},
		{`\x00`, nil, "NUL"},
		{`\777`, nil, "bad escape"},
	} {
		got, err := SplitWords(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SplitWords(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func translate(t *testing.T, text string) (*Service, error) {
	t.Helper()
	cf, err := ParseUnitFile(strings.NewReader(text), "/etc/x/web.container")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return TranslateContainer(cf, "web", testBinary, "/etc/x/web.container")
}

// fixedHead is the start of every ExecStart= with default settings.
var fixedHead = []string{testBinary, "run", "--name=systemd-<N>", "--cidfile=<t>/<N>.cid",
	"--replace", "--rm", "--cgroups=split", "--sdnotify=conmon", "-d", "--log-driver=journald"}

func execStart(t *testing.T, svc *Service) []string {
	t.Helper()
	e, ok := svc.Unit.Section(ServiceSection).Last("ExecStart")
	if !ok {
		t.Fatal("no ExecStart=")
	}
	return execWords(t, e.Value)
}

func TestTranslateKeys(t *testing.T) {
	head := func(repl map[string]string) []string {
		out := append([]string(nil), fixedHead...)
		for i, w := range out {
			if r, ok := repl[w]; ok {
				out[i] = r
			}
		}
		return out
	}
	for _, tc := range []struct {
		name, keys string
		head       map[string]string // replaced words of fixedHead
		flags      []string          // between the head and the image
		exec       []string          // after the image
	}{
		{"image only", "", nil, nil, nil},
		{"Exec", `Exec=sh -c "echo hi; echo $HOME" '%h'`, nil, nil, []string{"sh", "-c", "echo hi; echo $HOME", "<h>"}},
		{"Exec last wins", "Exec=a\nExec=b c", nil, nil, []string{"b", "c"}},
		{"ContainerName", "ContainerName=web-%i", map[string]string{"--name=systemd-<N>": "--name=web-<i>"}, nil, nil},
		{"Notify", "Notify=yes", map[string]string{"--sdnotify=conmon": "--sdnotify=container"}, nil, nil},
		{"Notify false", "Notify=false", nil, nil, nil},
		{"LogDriver", "LogDriver=k8s-file", map[string]string{"--log-driver=journald": "--log-driver=k8s-file"}, nil, nil},
		{"StopTimeout", "StopTimeout=30", nil, []string{"--stop-timeout=30"}, nil},
		{"User", "User=1000", nil, []string{"--user=1000"}, nil},
		{"User Group", "User=app\nGroup=users", nil, []string{"--user=app:users"}, nil},
		{"Environment", "Environment=A=1 \"B=two words\"\nEnvironment=C=$X%%", nil,
			[]string{"--env=A=1", "--env=B=two words", "--env=C=$X%"}, nil},
		{"Environment reset", "Environment=A=1\nEnvironment=\nEnvironment=B=2", nil, []string{"--env=B=2"}, nil},
		{"EnvironmentFile", "EnvironmentFile=/a\nEnvironmentFile=%h/b", nil, []string{"--env-file=/a", "--env-file=<h>/b"}, nil},
		{"WorkingDir", "WorkingDir=/srv", nil, []string{"--workdir=/srv"}, nil},
		{"HostName", "HostName=web1", nil, []string{"--hostname=web1"}, nil},
		{"Entrypoint", "Entrypoint=/bin/sh", nil, []string{"--entrypoint=/bin/sh"}, nil},
		{"Network", "Network=none", nil, []string{"--network=none"}, nil},
		{"PublishPort", "PublishPort=127.0.0.1:8080:80\nPublishPort=53:53/udp", nil,
			[]string{"--publish=127.0.0.1:8080:80", "--publish=53:53/udp"}, nil},
		{"Volume", "Volume=/a b:/c:ro", nil, []string{"--volume=/a b:/c:ro"}, nil},
		{"Tmpfs", "Tmpfs=/tmp:size=10m", nil, []string{"--tmpfs=/tmp:size=10m"}, nil},
		{"ReadOnly", "ReadOnly=true", nil, []string{"--read-only"}, nil},
		{"ReadOnly no", "ReadOnly=no", nil, nil, nil},
		{"RunInit", "RunInit=1", nil, []string{"--init"}, nil},
		{"AddCapability", "AddCapability=CAP_NET_ADMIN cap_sys_time", nil,
			[]string{"--cap-add=CAP_NET_ADMIN", "--cap-add=cap_sys_time"}, nil},
		{"DropCapability", "DropCapability=all", nil, []string{"--cap-drop=all"}, nil},
		{"NoNewPrivileges", "NoNewPrivileges=on", nil, []string{"--security-opt=no-new-privileges"}, nil},
		{"Memory", "Memory=512m", nil, []string{"--memory=512m"}, nil},
		{"Cpus", "Cpus=1.5", nil, []string{"--cpus=1.5"}, nil},
		{"PidsLimit", "PidsLimit=100", nil, []string{"--pids-limit=100"}, nil},
		{"StopSignal", "StopSignal=SIGINT", nil, []string{"--stop-signal=SIGINT"}, nil},
		{"ExecArgs", "ExecArgs=--oom-score-adj 100\nPodmanArgs=\"--label=a b\"", nil,
			[]string{"--oom-score-adj", "100", "--label=a b"}, nil},
		{"ExecArgs reset", "ExecArgs=--x\nPodmanArgs=\nExecArgs=--y", nil, []string{"--y"}, nil},
		{"empty single key is the default", "WorkingDir=/a\nWorkingDir=", nil, nil, nil},
		{"flags in a fixed order", "Memory=1g\nUser=1\nVolume=/v:/v\nEnvironment=A=1", nil,
			[]string{"--user=1", "--env=A=1", "--volume=/v:/v", "--memory=1g"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := translate(t, "[Container]\nImage=docker.io/library/bb:1\n"+tc.keys+"\n")
			if err != nil {
				t.Fatal(err)
			}
			want := append(head(tc.head), tc.flags...)
			want = append(want, "docker.io/library/bb:1")
			want = append(want, tc.exec...)
			if got := execStart(t, svc); !reflect.DeepEqual(got, want) {
				t.Errorf("ExecStart words\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestTranslateService(t *testing.T) {
	svc, err := translate(t, `[Unit]
After=network-online.target
[Container]
Image=bb
StopTimeout=25
[Service]
Restart=always
TimeoutStopSec=70
[Install]
WantedBy=default.target multi-user.target
RequiredBy=b.target
Alias=web2.service
[X-Mine]
K=v
`)
	if err != nil {
		t.Fatal(err)
	}
	want := `[Unit]
After=network-online.target
Description=myctr container web
SourcePath=/etc/x/web.container
RequiresMountsFor=%t

[Service]
Environment=MYCTR_SYSTEMD_UNIT=%n
KillMode=mixed
Delegate=yes
Type=notify
NotifyAccess=all
SyslogIdentifier=%N
ExecStart=/usr/bin/myctr run --name=systemd-%N --cidfile=%t/%N.cid --replace --rm --cgroups=split --sdnotify=conmon -d --log-driver=journald --stop-timeout=25 bb
ExecStop=/usr/bin/myctr stop --ignore --time=25 --cidfile=%t/%N.cid
ExecStopPost=-/usr/bin/myctr rm --force --ignore --cidfile=%t/%N.cid
SuccessExitStatus=143
Restart=always
TimeoutStopSec=70

[X-Container]
Image=bb
StopTimeout=25

[Install]
WantedBy=default.target multi-user.target
RequiredBy=b.target
Alias=web2.service

[X-Mine]
K=v
`
	if got := svc.Unit.String(); got != want {
		t.Errorf("service:\n%s\nwant:\n%s", got, want)
	}
	wantLinks := []Link{
		{"default.target.wants/web.service", "../web.service"},
		{"multi-user.target.wants/web.service", "../web.service"},
		{"b.target.requires/web.service", "../web.service"},
		{"web2.service", "web.service"},
	}
	if !reflect.DeepEqual(svc.Links, wantLinks) {
		t.Errorf("links %+v, want %+v", svc.Links, wantLinks)
	}
	if !strings.HasPrefix(svc.Text(), "# Automatically generated by myctr-generator from /etc/x/web.container\n[Unit]\n") {
		t.Errorf("text starts %q", svc.Text()[:80])
	}
	// The stop signal's exit status is a success.
	for sig, want := range map[string]string{"SIGINT": "130", "quit": "131", "10": "138"} {
		svc, err = translate(t, "[Container]\nImage=bb\nStopSignal="+sig+"\n")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.Unit.Section(ServiceSection).Last("SuccessExitStatus"); got.Value != want {
			t.Errorf("StopSignal=%s: SuccessExitStatus=%s, want %s", sig, got.Value, want)
		}
	}
	// A Description= of the file's own stays the only one.
	svc, err = translate(t, "[Unit]\nDescription=mine\n[Container]\nImage=bb\n")
	if err != nil {
		t.Fatal(err)
	}
	if d := svc.Unit.Section(UnitSection).List("Description"); len(d) != 1 || d[0].Value != "mine" {
		t.Errorf("Description = %+v", d)
	}
}

func TestTranslateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unknown key", "[Container]\nImage=bb\nPod=x\n", 3, "unknown key Pod= in [Container]"},
		{"no Image", "[Unit]\nDescription=x\n[Container]\nExec=sh\n", 3, "no Image="},
		{"empty Image", "[Container]\nImage=bb\nImage=\n", 1, "no Image="},
		{"two-word Image", "[Container]\nImage=a b\n", 2, "one word"},
		{"no [Container]", "[Unit]\nDescription=x\n", 0, "no [Container]"},
		{"Type in [Service]", "[Container]\nImage=bb\n[Service]\nType=simple\n", 4, "Type= in [Service]"},
		{"ExecStart in [Service]", "[Container]\nImage=bb\n[Service]\nExecStart=/bin/true\n", 4, "ExecStart= in [Service]"},
		{"Group without User", "[Container]\nImage=bb\nGroup=10\n", 3, "Group= needs User="},
		{"bad boolean", "[Container]\nImage=bb\nReadOnly=maybe\n", 3, "not a boolean"},
		{"bad Notify", "[Container]\nImage=bb\nNotify=sure\n", 3, "not a boolean"},
		{"bad StopSignal", "[Container]\nImage=bb\nStopSignal=SIGNOPE\n", 3, "invalid signal"},
		{"bad StopTimeout", "[Container]\nImage=bb\nStopTimeout=10s\n", 3, "StopTimeout=10s"},
		{"Environment word without =", "[Container]\nImage=bb\nEnvironment=A=1 B\n", 3, `"B" is not NAME=VALUE`},
		{"unterminated quote in Exec", "[Container]\nImage=bb\nExec=sh -c \"x\n", 3, "unterminated"},
		{"two networks", "[Container]\nImage=bb\nNetwork=a\nNetwork=b\n", 4, "one network"},
		{"bad WantedBy", "[Container]\nImage=bb\n[Install]\nWantedBy=../x.target\n", 4, "not a unit name"},
		{"bad Alias", "[Container]\nImage=bb\n[Install]\nAlias=x.socket\n", 4, "must end in .service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := translate(t, tc.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) || pe.Path != "/etc/x/web.container" {
				t.Errorf("err = %v, want line %d and %q", err, tc.line, tc.msg)
			}
		})
	}
	cf, _ := ParseUnitFile(strings.NewReader("[Container]\nImage=bb\n"), "x")
	if _, err := TranslateContainer(cf, "bad/name", testBinary, ""); err == nil {
		t.Error("a unit name with a slash was accepted")
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"1", "yes", "Y", "TRUE", "t", "on"} {
		if b, err := ParseBool(s); !b || err != nil {
			t.Errorf("ParseBool(%q) = %v, %v", s, b, err)
		}
	}
	for _, s := range []string{"0", "No", "n", "false", "F", "off"} {
		if b, err := ParseBool(s); b || err != nil {
			t.Errorf("ParseBool(%q) = %v, %v", s, b, err)
		}
	}
	if _, err := ParseBool(""); err == nil {
		t.Error("ParseBool(\"\") accepted")
	}
}
