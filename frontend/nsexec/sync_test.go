package nsexec

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/netif"
	"github.com/myctr/myctr/frontend/security"
)

var update = flag.Bool("update", false, "write the golden file of a new sync protocol Version")

// TestWireFormat: the JSON of the sync messages, and the shape of every
// type they carry, match the golden file of the current Version. A change
// of the wire format must bump Version (a myctr and a myctr-init of
// different builds then refuse each other, instead of misreading); with
// the new Version, `go test -run TestWireFormat -update` writes its file.
// The exact "joined" packet is also what nsenter.c compares with.
func TestWireFormat(t *testing.T) {
	got := wireFormat()
	path := filepath.Join("testdata", "sync-v"+Version+".golden")
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatalf("no golden file for sync protocol %s: run go test -run TestWireFormat -update (%v)", Version, err)
	}
	if string(want) != got {
		t.Fatalf("the sync messages' wire format changed but Version is still %s: bump Version in sync.go (say why in its comment), then run go test -run TestWireFormat -update\n--- %s\n%s\n--- now\n%s", Version, path, want, got)
	}
	if !strings.Contains(got, "\n"+`{"Type":"joined"}`+"\n") {
		t.Error(`the joined message is no longer {"Type":"joined"}, which nsenter.c expects byte for byte`)
	}
}

// wireFormat is the golden text: the types' fields, then one sample
// message of each kind.
func wireFormat() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# sync protocol %s (runtime-spec %s)\n## types\n", Version, specs.Version)
	describe(&b, reflect.TypeOf(Message{}), "Message", map[reflect.Type]bool{})
	b.WriteString("## messages\n")
	ws := &unix.Winsize{Row: 24, Col: 80}
	for _, m := range []Message{
		{Type: MsgPid, Pid: 4242},
		{Type: MsgConfig, Init: &InitConfig{
			Spec:      &specs.Spec{Version: specs.Version, Process: &specs.Process{Args: []string{"true"}, Cwd: "/"}, Root: &specs.Root{Path: "rootfs"}, Linux: &specs.Linux{}},
			Overlay:   Overlay{Lower: []string{"/l1", "/l0"}, Upper: "/u", Work: "/w", RunDir: "/r"},
			Winsize:   ws,
			ListenFDs: 2,
			Seccomp:   &security.SeccompFilter{Flags: 1, Program: []byte{6, 0, 0, 0, 0, 0, 255, 127}},
			Landlock:  &landlock.Ruleset{RO: []string{"/"}, RW: []string{"/tmp"}, Exec: []string{"/bin"}, Bind: []uint16{80}, Connect: []uint16{443}},
		}},
		{Type: MsgProceed},
		{Type: MsgProceed, Network: &netif.Config{Interface: "vh0", Name: "eth0", Address: []byte{10, 88, 0, 2}, PrefixLen: 16, Gateway: []byte{10, 88, 0, 1}, MTU: 1500}},
		{Type: MsgConfig, Exec: &ExecConfig{Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"}, Winsize: ws,
			Seccomp: &security.SeccompFilter{Program: []byte{6, 0, 0, 0, 0, 0, 255, 127}}, Landlock: &landlock.Ruleset{RO: []string{"/"}}}},
		{Type: MsgPty},
		{Type: MsgError, Error: &StepError{Step: "exec sh", Errno: 2, Msg: "no such file", Exit: ExitNotFound}},
		{Type: MsgJoined},
		{Type: MsgConfig, Init: &InitConfig{
			Spec:   &specs.Spec{Version: specs.Version, Process: &specs.Process{Args: []string{"true"}, Cwd: "/"}, Root: &specs.Root{Path: "/b/rootfs"}, Linux: &specs.Linux{}},
			Bundle: true, StartFifo: 5, State: &specs.State{Version: specs.Version, ID: "c1", Pid: 4242, Bundle: "/b"},
		}},
		{Type: MsgCreated},
	} {
		// As Send encodes it; the golden file's messages were written
		// by json.Marshal of Message, which the short ones must match.
		j, err := encodeMessage(&m)
		if err != nil {
			panic(err)
		}
		if j[0] == '{' {
			b.Write(j)
		} else {
			fmt.Fprintf(&b, "compact %x", j)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// describe writes one line per field of t (JSON name, Go type, omitempty),
// recursing into the types the sync messages define; the runtime-spec's
// types are named by that package's version (above) rather than spelled
// out.
func describe(b *strings.Builder, t reflect.Type, path string, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || strings.Contains(t.PkgPath(), "runtime-spec") {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fmt.Fprintf(b, "%s.%s %s", path, name, f.Type)
		if strings.Contains(opts, "omitempty") {
			b.WriteString(" omitempty")
		}
		b.WriteByte('\n')
		describe(b, f.Type, path+"."+name, seen)
	}
}

// TestExpect: each kind is accepted only when wanted and well formed; an
// error message comes back as its StepError; the end of the stream only
// where MsgEnd is wanted; the descriptors of a refused message are closed.
func TestExpect(t *testing.T) {
	spec := &specs.Spec{Process: &specs.Process{Args: []string{"true"}}, Root: &specs.Root{Path: "r"}, Linux: &specs.Linux{}}
	for _, tc := range []struct {
		name    string
		raw     string // sent as is when set, else msg
		msg     *Message
		fd      bool
		want    []Kind
		wantErr error
		exit    int // of a StepError
	}{
		{name: "pid", msg: &Message{Type: MsgPid, Pid: 7}, want: []Kind{MsgPid}},
		{name: "pid out of order", msg: &Message{Type: MsgPid, Pid: 7}, want: []Kind{MsgPty, MsgEnd}, wantErr: ErrUnexpected},
		{name: "pid zero", msg: &Message{Type: MsgPid}, want: []Kind{MsgPid}, wantErr: ErrUnexpected},
		{name: "pid with a config", msg: &Message{Type: MsgPid, Pid: 7, Init: &InitConfig{Spec: spec}}, want: []Kind{MsgPid}, wantErr: ErrUnexpected},
		{name: "init config", msg: &Message{Type: MsgConfig, Init: &InitConfig{Spec: spec}}, want: []Kind{MsgConfig}},
		{name: "init config without spec", msg: &Message{Type: MsgConfig, Init: &InitConfig{}}, want: []Kind{MsgConfig}, wantErr: ErrUnexpected},
		{name: "config with both", msg: &Message{Type: MsgConfig, Init: &InitConfig{Spec: spec}, Exec: &ExecConfig{Process: spec.Process}}, want: []Kind{MsgConfig}, wantErr: ErrUnexpected},
		{name: "exec config", msg: &Message{Type: MsgConfig, Exec: &ExecConfig{Process: spec.Process}}, want: []Kind{MsgConfig}},
		{name: "exec config without process", msg: &Message{Type: MsgConfig, Exec: &ExecConfig{}}, want: []Kind{MsgConfig}, wantErr: ErrUnexpected},
		{name: "pty", msg: &Message{Type: MsgPty}, fd: true, want: []Kind{MsgPty, MsgEnd}},
		{name: "pty without its descriptor", msg: &Message{Type: MsgPty}, want: []Kind{MsgPty, MsgEnd}, wantErr: ErrUnexpected},
		{name: "descriptor on a pid", msg: &Message{Type: MsgPid, Pid: 7}, fd: true, want: []Kind{MsgPid}, wantErr: ErrUnexpected},
		{name: "joined", msg: &Message{Type: MsgJoined}, want: []Kind{MsgJoined}},
		{name: "proceed", msg: &Message{Type: MsgProceed}, want: []Kind{MsgProceed}},
		{name: "proceed with a network", msg: &Message{Type: MsgProceed, Network: &netif.Config{Name: "eth0"}}, want: []Kind{MsgProceed}},
		{name: "proceed with a pid", msg: &Message{Type: MsgProceed, Pid: 7}, want: []Kind{MsgProceed}, wantErr: ErrUnexpected},
		{name: "network on a pid", msg: &Message{Type: MsgPid, Pid: 7, Network: &netif.Config{Name: "eth0"}}, want: []Kind{MsgPid}, wantErr: ErrUnexpected},
		{name: "error", msg: &Message{Type: MsgError, Error: &StepError{Step: "s", Msg: "m", Exit: 127, Errno: 2}}, want: []Kind{MsgPid}, exit: 127},
		{name: "error with a made-up exit code", msg: &Message{Type: MsgError, Error: &StepError{Step: "s", Exit: 0}}, want: []Kind{MsgEnd}, exit: ExitSetup},
		{name: "error without StepError", msg: &Message{Type: MsgError}, want: []Kind{MsgPid}, wantErr: ErrUnexpected},
		{name: "unknown kind", raw: `{"Type":"ready"}`, want: []Kind{MsgPid}, wantErr: ErrUnexpected},
		{name: "the end's own name on the wire", raw: `{"Type":"(end)"}`, want: []Kind{MsgEnd}, wantErr: ErrUnexpected},
		{name: "not JSON", raw: `{"Type":`, want: []Kind{MsgPid}, wantErr: errAny},
		{name: "end wanted", want: []Kind{MsgPty, MsgEnd}},
		{name: "end too early", want: []Kind{MsgPid}, wantErr: ErrEnded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, child, err := NewPair()
			if err != nil {
				t.Fatal(err)
			}
			defer parent.Close()
			sender := &Conn{f: child}
			var fds []int
			var sent *os.File
			if tc.fd {
				if sent, err = os.Open(os.DevNull); err != nil {
					t.Fatal(err)
				}
				defer sent.Close()
				fds = []int{int(sent.Fd())}
			}
			switch {
			case tc.raw != "":
				err = unix.Sendmsg(int(child.Fd()), []byte(tc.raw), nil, nil, 0)
			case tc.msg != nil:
				err = sender.Send(tc.msg, fds...)
			}
			if err != nil {
				t.Fatal(err)
			}
			child.Close()
			before := openFDs(t)
			m, got, err := parent.Expect(tc.want...)
			var se *StepError
			switch {
			case tc.exit != 0:
				if !errors.As(err, &se) || se.Exit != tc.exit {
					t.Fatalf("err = %v, want a StepError with exit %d", err, tc.exit)
				}
				return
			case tc.wantErr == errAny:
				if err == nil {
					t.Fatal("no error")
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			}
			if err != nil {
				if n := openFDs(t); n != before {
					t.Errorf("%d descriptors open after a refused message, %d before it", n, before)
				}
				return
			}
			closeFDs(got)
			if tc.msg == nil && m.Type != MsgEnd {
				t.Errorf("got %q at the end of the stream, want %q", m.Type, MsgEnd)
			}
			if tc.fd && len(got) != 1 {
				t.Errorf("got %d descriptors, want 1", len(got))
			}
		})
	}
}

var errAny = errors.New("any error")

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestStepErrorUnwrap: errors.Is sees a child's errno through its StepError.
func TestStepErrorUnwrap(t *testing.T) {
	err := error(&StepError{Step: "exec x", Errno: int(syscall.ENOENT), Exit: ExitNotFound})
	if !errors.Is(err, syscall.ENOENT) {
		t.Error("errors.Is(StepError, ENOENT) is false")
	}
}

// TestAwait: Await returns once a message or the end is there to read,
// leaving the message for Recv, and after its bound when neither comes.
func TestAwait(t *testing.T) {
	parent, child, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	peer := &Conn{f: child}
	start := time.Now()
	parent.Await(50)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("Await returned after %v with nothing to read; want its 50 ms bound", d)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		peer.Send(&Message{Type: MsgPid, Pid: 7})
		peer.Close()
	}()
	start = time.Now()
	parent.Await(10000)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Await returned after %v; want it at the message", d)
	}
	if m, _, err := parent.Expect(MsgPid); err != nil || m.Pid != 7 {
		t.Fatalf("the message after Await: %+v, %v", m, err)
	}
	parent.Await(10000) // the end of the stream
	if m, _, err := parent.Recv(); m != nil || err != nil {
		t.Fatalf("after the end: %+v, %v", m, err)
	}
}
