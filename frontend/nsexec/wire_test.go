package nsexec

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/security"
)

// fill sets every exported field that v reaches to a value that is not
// its zero value (two elements for a slice, one key for a map), each
// string naming its path.
func fill(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), path+"."+f.Name)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(path))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, path+".key")
		fill(e, path+".value")
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(1 + len(path)%100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(1 + len(path)%100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// rawConfig is m in the compact form without encodeConfig's check: what
// the form holds of m, whatever else m has.
func rawConfig(m *Message) []byte {
	w := &wbuf{b: []byte{wireInit}}
	if m.Exec != nil {
		w.b[0] = wireExec
		putExec(w, m.Exec)
	} else {
		putInit(w, m.Init)
	}
	return w.b
}

// filled is a configuration message with every field of its types set
// (fill), the runtime spec's fields that the compact form lacks included.
func filled(t *testing.T, exec bool) *Message {
	t.Helper()
	var m Message
	fill(reflect.ValueOf(&m).Elem(), "m")
	m.Type, m.Error, m.Network, m.Pid = MsgConfig, nil, nil, 0
	if exec {
		m.Init = nil
	} else {
		m.Exec = nil
	}
	return &m
}

// TestCompactConfig: a stage's configuration goes in the compact form
// exactly when that form holds all of it, and either form decodes to the
// message that was sent: with every field of the types set (JSON, with
// nothing lost), with every field the form holds set (compact, each of
// them read back), with nil and empty lists and maps kept apart, and for
// the configurations myctr and myctr-runtime send.
func TestCompactConfig(t *testing.T) {
	for _, exec := range []bool{false, true} {
		all := filled(t, exec)
		if encodeConfig(all) != nil {
			t.Errorf("exec %v: a message with fields the compact form lacks was encoded in it", exec)
		}
		j, err := encodeMessage(all)
		if err != nil || j[0] != '{' {
			t.Fatalf("exec %v: encodeMessage: %q, %v; want JSON", exec, j, err)
		}
		if back, err := decodeMessage(j); err != nil || !reflect.DeepEqual(back, all) {
			t.Errorf("exec %v: JSON read back differs (%v)", exec, err)
		}

		// What the form holds of all: every field it has, set.
		held, err := decodeConfig(rawConfig(all))
		if err != nil {
			t.Fatal(err)
		}
		b := encodeConfig(held)
		if b == nil {
			t.Fatalf("exec %v: the form's own fields do not go in the compact form", exec)
		}
		if back, err := decodeMessage(b); err != nil || !reflect.DeepEqual(back, held) {
			t.Errorf("exec %v: compact read back differs (%v)", exec, err)
		}
		// Every field that the form holds came through set: a field
		// missing from both put and get would be left zero here.
		if zero := zeroLeaves(reflect.ValueOf(held).Elem(), "m"); len(zero) > 0 {
			t.Logf("exec %v: fields the compact form does not hold: %d", exec, len(zero))
			for _, want := range heldPaths(exec) {
				for _, z := range zero {
					if strings.HasPrefix(z, want) {
						t.Errorf("exec %v: %s is not carried by the compact form", exec, z)
					}
				}
			}
		}
	}

	// nil and empty are kept apart (the check in encodeConfig would
	// otherwise send it as JSON).
	empty := &Message{Type: MsgConfig, Init: &InitConfig{Spec: &specs.Spec{
		Process:     &specs.Process{Args: []string{}, Env: nil},
		Annotations: map[string]string{},
		Linux:       &specs.Linux{MaskedPaths: []string{}},
	}, Seccomp: &security.SeccompFilter{Program: []byte{}}}}
	if b := encodeConfig(empty); b == nil {
		t.Error("empty lists and maps: not in the compact form")
	} else if back, err := decodeConfig(b); err != nil || !reflect.DeepEqual(back, empty) {
		t.Errorf("empty lists and maps read back as %+v (%v)", back, err)
	}

	var real Message
	if err := json.Unmarshal([]byte(realisticConfig), &real); err != nil {
		t.Fatal(err)
	}
	bundle := &Message{Type: MsgConfig, Init: &InitConfig{Spec: bundleSpec(), Bundle: true, StartFifo: 4,
		State: &specs.State{Version: specs.Version, ID: "c1", Pid: 42, Bundle: "/b"}}}
	execMsg := &Message{Type: MsgConfig, Exec: &ExecConfig{Process: real.Init.Spec.Process, Winsize: &unix.Winsize{Row: 24, Col: 80}, PreserveFDs: 2}}
	for name, m := range map[string]*Message{"myctr run": &real, "an OCI bundle": bundle, "myctr exec": execMsg} {
		b := encodeConfig(m)
		if b == nil {
			t.Errorf("%s: the configuration does not go in the compact form", name)
			continue
		}
		if back, err := decodeMessage(b); err != nil || !reflect.DeepEqual(back, m) {
			t.Errorf("%s: read back differs (%v)", name, err)
		}
	}
	// A field the form lacks sends the whole message as JSON.
	bundle.Init.Spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	if encodeConfig(bundle) != nil {
		t.Error("linux.resources set: still in the compact form")
	}
	// Other messages are never compact.
	for _, m := range []*Message{{Type: MsgPid, Pid: 4}, {Type: MsgProceed}, {Type: MsgConfig}, {Type: MsgConfig, Init: &InitConfig{}, Exec: &ExecConfig{}}} {
		if encodeConfig(m) != nil {
			t.Errorf("%+v encoded in the compact form", m)
		}
	}
}

// heldPaths are the paths (as fill names them) of the fields the compact
// form holds; each must come through a round trip set.
func heldPaths(exec bool) []string {
	if exec {
		return []string{"m.Exec.Process.Terminal", "m.Exec.Process.ConsoleSize", "m.Exec.Process.User.UID", "m.Exec.Process.User.GID",
			"m.Exec.Process.User.Umask", "m.Exec.Process.User.AdditionalGids", "m.Exec.Process.User.Username", "m.Exec.Process.Args",
			"m.Exec.Process.Env", "m.Exec.Process.Cwd", "m.Exec.Process.Capabilities", "m.Exec.Process.Rlimits",
			"m.Exec.Process.NoNewPrivileges", "m.Exec.Process.OOMScoreAdj", "m.Exec.Winsize", "m.Exec.Seccomp", "m.Exec.Landlock",
			"m.Exec.PreserveFDs", "m.Exec.KeepGroups"}
	}
	return []string{"m.Init.Spec.Version", "m.Init.Spec.Process.Args", "m.Init.Spec.Process.User", "m.Init.Spec.Process.Capabilities",
		"m.Init.Spec.Process.Rlimits", "m.Init.Spec.Process.OOMScoreAdj", "m.Init.Spec.Root", "m.Init.Spec.Hostname",
		"m.Init.Spec.Domainname", "m.Init.Spec.Mounts", "m.Init.Spec.Hooks", "m.Init.Spec.Annotations",
		"m.Init.Spec.Linux.UIDMappings", "m.Init.Spec.Linux.GIDMappings", "m.Init.Spec.Linux.Sysctl", "m.Init.Spec.Linux.CgroupsPath",
		"m.Init.Spec.Linux.Namespaces", "m.Init.Spec.Linux.Devices", "m.Init.Spec.Linux.RootfsPropagation",
		"m.Init.Spec.Linux.MaskedPaths", "m.Init.Spec.Linux.ReadonlyPaths", "m.Init.Overlay", "m.Init.Winsize", "m.Init.ListenFDs",
		"m.Init.Seccomp", "m.Init.Landlock", "m.Init.Bundle", "m.Init.StartFifo", "m.Init.State"}
}

// zeroLeaves lists the paths of v's fields (as fill names them) that are
// zero: a nil pointer, slice or map, or a zero scalar.
func zeroLeaves(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return zeroLeaves(v.Elem(), path)
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, zeroLeaves(v.Field(i), path+"."+f.Name)...)
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return []string{path}
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		var out []string
		for i := range v.Len() {
			out = append(out, zeroLeaves(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return []string{path}
		}
		return nil
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}

// bundleSpec is a rootless bundle's spec as myctr-runtime sends it to the
// init (`myctr-runtime spec --rootless`, its default devices added).
func bundleSpec() *specs.Spec {
	var s specs.Spec
	if err := json.Unmarshal([]byte(bundleConfig), &s); err != nil {
		panic(err)
	}
	return &s
}

// TestCompactConfigMalformed: a packet cut short anywhere, with bytes
// after its end, or with a value out of its range is an error, never a
// panic or a message.
func TestCompactConfigMalformed(t *testing.T) {
	var real Message
	if err := json.Unmarshal([]byte(realisticConfig), &real); err != nil {
		t.Fatal(err)
	}
	b := encodeConfig(&real)
	for n := 1; n < len(b); n++ {
		if m, err := decodeMessage(b[:n]); err == nil {
			t.Fatalf("cut at %d of %d: decoded %+v", n, len(b), m)
		}
	}
	if _, err := decodeMessage(append(slices.Clone(b), 0)); err == nil {
		t.Error("a byte after the end: no error")
	}
	for name, p := range map[string][]byte{
		"a bool of 2":                   {wireExec, 1, 2},
		"a list longer than the packet": {wireInit, 1, 0, 1, 0xff, 0xff, 0x03},
		"a winsize row beyond 16 bits":  {wireExec, 0, 1, 0x80, 0x80, 0x04, 0, 0, 0},
	} {
		if m, err := decodeMessage(p); err == nil || !errors.Is(err, errWire) {
			t.Errorf("%s: %+v, %v; want errWire", name, m, err)
		}
	}
	if m, err := decodeConfig([]byte{0x03}); err == nil || !errors.Is(err, errWire) {
		t.Errorf("unknown packet type: %+v, %v; want errWire", m, err)
	}
}

// FuzzCompactConfig: no packet makes the decoder panic, and what decodes
// is sent again in the compact form, unchanged.
func FuzzCompactConfig(f *testing.F) {
	var real Message
	if err := json.Unmarshal([]byte(realisticConfig), &real); err != nil {
		f.Fatal(err)
	}
	f.Add(encodeConfig(&real))
	f.Add(encodeConfig(&Message{Type: MsgConfig, Init: &InitConfig{Spec: bundleSpec(), Bundle: true}}))
	f.Add(encodeConfig(&Message{Type: MsgConfig, Exec: &ExecConfig{Process: real.Init.Spec.Process}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || (b[0] != wireInit && b[0] != wireExec) {
			return
		}
		m, err := decodeConfig(b)
		if err != nil {
			return
		}
		again := encodeConfig(m)
		if again == nil {
			t.Fatalf("%x decodes, but does not encode again", b)
		}
		if back, err := decodeConfig(again); err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("%x: encoded again, reads back differently (%v)", b, err)
		}
	})
}

// realisticConfig is the configuration of `myctr run --network none
// busybox true` as the parent sends it, cut short.
const realisticConfig = `{"Type":"config","Init":{"Spec":{"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0},"args":["true"],"env":["PATH=/usr/bin:/bin","TERM=xterm","container=myctr","HOSTNAME=4b5b4e6b2499"],"cwd":"/","capabilities":{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_CHOWN","CAP_KILL"],"permitted":["CAP_CHOWN","CAP_KILL"]}},"root":{"path":"/run/user/1001/myctr/containers/4b5b/rootfs"},"hostname":"4b5b4e6b2499","mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]}],"annotations":{"io.myctr.mtab":"1"},"linux":{"uidMappings":[{"containerID":0,"hostID":1001,"size":1},{"containerID":1,"hostID":200000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":1001,"size":1}],"sysctl":{"net.ipv4.ping_group_range":"0 0"},"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"},{"type":"user"}],"devices":[{"path":"/dev/null","type":"c","major":1,"minor":3}],"maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]}},"Overlay":{"Lower":["/a"],"Upper":"/u","Work":"/w","RunDir":"/r"},"Seccomp":{"Program":"AAAAAAAAAAA="}}}`

// bundleConfig is the config.json of `myctr-runtime spec --rootless`, the
// process true, with one default device.
const bundleConfig = `{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":["true"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/","capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},"root":{"path":"rootfs","readonly":true},"hostname":"myctr","mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]},{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]},{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}],"linux":{"uidMappings":[{"containerID":0,"hostID":1001,"size":1},{"containerID":1,"hostID":200000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":1001,"size":1},{"containerID":1,"hostID":200000,"size":65536}],"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user"}],"maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"],"devices":[{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":438,"uid":0,"gid":0}]}}`

// shortPackets are packets decodeShort reads, and packets it leaves to
// encoding/json.
var shortPackets = []string{
	`{"Type":"proceed"}`, `{"Type":"created"}`, `{"Type":"pty"}`, `{"Type":"joined"}`, `{"Type":"pid","Pid":4242}`,
	`{"Type":"pid","Pid":1}`, `{"Type":"whatever"}`,
	// encoding/json's:
	`{"Type":"pid","Pid":0}`, `{"Type":"pid","Pid":042}`, `{"Type":"pid","Pid":-1}`, `{"Type":"pid","Pid":1234567890}`,
	`{"Type":"proceed","Network":{"Name":"eth0"}}`, `{"Type":"Pid"}`, `{"Type":"p\u0069d","Pid":1}`, `{"Type":""}`,
	`{"Type":"pid", "Pid":1}`, `{"Type":"pid","Pid":1,"Pid":2}`, `{"Type":"pty"}x`, `{"Type":"pty"} `, `{"type":"pty"}`,
	`{"Type":"error","Error":{"Step":"s","Errno":2,"Msg":"m","Exit":125}}`,
}

// TestDecodeShort: what decodeShort reads is what encoding/json reads
// from the same packet, and the messages Send writes of a kind alone or a
// pid (and nsenter.c's pid) are read by it.
func TestDecodeShort(t *testing.T) {
	for _, p := range shortPackets {
		checkShort(t, []byte(p))
	}
	for _, m := range []*Message{{Type: MsgProceed}, {Type: MsgCreated}, {Type: MsgPty}, {Type: MsgJoined}, {Type: MsgPid, Pid: 77}} {
		b, err := encodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeShort(b); got == nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%s: decodeShort gives %+v, want %+v", b, got, m)
		}
	}
	for _, p := range []string{`{"Type":"proceed","Network":{"Name":"eth0"}}`, `{"Type":"p\u0069d","Pid":1}`} {
		if m := decodeShort([]byte(p)); m != nil {
			t.Errorf("%s: read as %+v, want it left to encoding/json", p, m)
		}
	}
}

// checkShort fails when decodeShort reads b otherwise than encoding/json.
func checkShort(t *testing.T, b []byte) {
	t.Helper()
	m := decodeShort(b)
	if m == nil {
		return
	}
	var want Message
	if err := json.Unmarshal(b, &want); err != nil || !reflect.DeepEqual(m, &want) {
		t.Fatalf("%q: decodeShort gives %+v, encoding/json %+v (%v)", b, m, want, err)
	}
}

// FuzzDecodeShort: whatever decodeShort reads, encoding/json reads the
// same.
func FuzzDecodeShort(f *testing.F) {
	for _, p := range shortPackets {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkShort(t, b) })
}
