package nsexec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
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

// TestDecodeInitMessage: the init's configuration decoded through the
// lean types is the message decoded on the runtime spec's own types: with
// every field the lean types have set (so none is left out of the copy),
// with fields they lack (decoded on the full types again), for other
// kinds of message, and for messages that do not decode.
func TestDecodeInitMessage(t *testing.T) {
	var all initMessage
	fill(reflect.ValueOf(&all).Elem(), "m")
	all.Exec, all.Error, all.Network, all.Pid = nil, nil, nil, 0
	lean, err := json.Marshal(&all)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{string(lean), realisticConfig} {
		var lm initMessage
		dec := json.NewDecoder(bytes.NewReader([]byte(msg)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&lm); err != nil {
			t.Fatalf("a message of the lean types' fields does not decode on them: %v", err)
		}
	}
	withField := func(path ...string) string {
		var m map[string]any
		if err := json.Unmarshal(lean, &m); err != nil {
			t.Fatal(err)
		}
		at := m
		for _, p := range path[:len(path)-1] {
			at = at[p].(map[string]any)
		}
		at[path[len(path)-1]] = map[string]any{"x": 1}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for name, msg := range map[string]string{
		"every lean field":       string(lean),
		"linux.resources":        withField("Init", "Spec", "linux", "resources"),
		"linux.seccomp":          withField("Init", "Spec", "linux", "seccomp"),
		"process.scheduler":      withField("Init", "Spec", "process", "scheduler"),
		"spec.windows":           withField("Init", "Spec", "windows"),
		"an unknown key":         withField("Init", "Spec", "no-such-field"),
		"a realistic config":     realisticConfig,
		"pid":                    `{"Type":"pid","Pid":42}`,
		"proceed with network":   `{"Type":"proceed","Network":{"Name":"eth0"}}`,
		"error":                  `{"Type":"error","Error":{"Step":"s","Errno":2,"Msg":"m","Exit":125}}`,
		"a config in lower case": `{"type":"config","init":{"spec":{"ociVersion":"1","process":{"cwd":"/"},"root":{"path":"r"},"linux":{}}}}`,
		"trailing data":          string(lean) + " {}",
		"not JSON":               `{"Type":`,
		"a wrong type":           `{"Type":"config","Init":{"Spec":{"process":{"args":"sh"}}}}`,
	} {
		want, wantErr := decodeMessage([]byte(msg))
		got, err := decodeInitMessage([]byte(msg))
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Errorf("%s: error %v, want %v", name, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s: decoded\n%s\nwant\n%s", name, g, w)
		}
	}
}

// realisticConfig is the configuration of `myctr run --network none
// busybox true` as the parent sends it, cut short.
const realisticConfig = `{"Type":"config","Init":{"Spec":{"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0},"args":["true"],"env":["PATH=/usr/bin:/bin","TERM=xterm","container=myctr","HOSTNAME=4b5b4e6b2499"],"cwd":"/","capabilities":{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_CHOWN","CAP_KILL"],"permitted":["CAP_CHOWN","CAP_KILL"]}},"root":{"path":"/run/user/1001/myctr/containers/4b5b/rootfs"},"hostname":"4b5b4e6b2499","mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]}],"annotations":{"io.myctr.mtab":"1"},"linux":{"uidMappings":[{"containerID":0,"hostID":1001,"size":1},{"containerID":1,"hostID":200000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":1001,"size":1}],"sysctl":{"net.ipv4.ping_group_range":"0 0"},"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"},{"type":"user"}],"devices":[{"path":"/dev/null","type":"c","major":1,"minor":3}],"maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]}},"Overlay":{"Lower":["/a"],"Upper":"/u","Work":"/w","RunDir":"/r"},"Seccomp":{"Program":"AAAAAAAAAAA="}}}`
