package nsexec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/security"
)

// The stages' configurations (MsgConfig: the init's InitConfig, the exec
// stage's ExecConfig) travel in a compact binary form of their own rather
// than as JSON, whenever it holds all they say. A stage is a fresh
// process, and encoding/json builds its cache of a struct type's fields on
// the type's first use, for every type of the runtime spec a message
// reaches: decoding an init's configuration took about 0.6 ms of the
// init's start (in PID 1, on the path of every container start), and the
// sender paid its first encode too. The compact form is read field by
// field, in the order written, with no reflection.
//
// It holds the fields that myctr's own containers and OCI bundles without
// exotic settings have (listed by the functions below); a message with
// anything else set (linux.resources, process.scheduler, ...) goes as
// JSON, as every message did before. The sender decides (encodeConfig): it
// decodes what it wrote and sends it only if that is exactly the message
// it was given (reflect.DeepEqual: nil and empty slices and maps kept
// apart), so a field the form does not hold can never be dropped on the
// way. Both forms are read by decodeMessage: a compact packet begins with
// wireInit or wireExec, a JSON one with '{'.

const (
	wireInit byte = 0x01
	wireExec byte = 0x02
)

var errWire = errors.New("malformed compact configuration")

// wbuf builds a compact packet.
type wbuf struct{ b []byte }

func (w *wbuf) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wbuf) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *wbuf) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *wbuf) str(s string) { w.uint(uint64(len(s))); w.b = append(w.b, s...) }

// bytes, list and strMap write 0 for nil, else the length plus one.
func (w *wbuf) bytes(v []byte) {
	if v == nil {
		w.uint(0)
		return
	}
	w.uint(uint64(len(v)) + 1)
	w.b = append(w.b, v...)
}

func list[T any](w *wbuf, v []T, put func(*wbuf, T)) {
	if v == nil {
		w.uint(0)
		return
	}
	w.uint(uint64(len(v)) + 1)
	for _, e := range v {
		put(w, e)
	}
}

func (w *wbuf) strs(v []string) { list(w, v, (*wbuf).str) }

func (w *wbuf) strMap(m map[string]string) {
	if m == nil {
		w.uint(0)
		return
	}
	w.uint(uint64(len(m)) + 1)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.str(k)
		w.str(m[k])
	}
}

// opt writes whether p is set, then *p.
func opt[T any](w *wbuf, p *T, put func(*wbuf, *T)) {
	w.bool(p != nil)
	if p != nil {
		put(w, p)
	}
}

// rbuf reads a compact packet; after the first error every read returns
// the zero value and err stays set.
type rbuf struct {
	b   []byte
	err error
}

func (r *rbuf) fail() { r.err, r.b = errWire, nil }

func (r *rbuf) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// uintN reads an unsigned number that must fit in bits.
func (r *rbuf) uintN(bits int) uint64 {
	v := r.uint()
	if bits < 64 && v>>bits != 0 {
		r.fail()
		return 0
	}
	return v
}

// intN reads a signed number that must fit in int.
func (r *rbuf) intN() int {
	v := r.int()
	if int64(int(v)) != v {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *rbuf) bool() bool {
	if len(r.b) == 0 || r.b[0] > 1 {
		r.fail()
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

// count reads a length of at most what is left (each element takes a
// byte at least), so that no length makes a large allocation.
func (r *rbuf) count(n uint64) int {
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *rbuf) str() string {
	n := r.count(r.uint())
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *rbuf) bytes() []byte {
	n := r.uint()
	if n == 0 || r.err != nil {
		return nil
	}
	c := r.count(n - 1)
	v := slices.Clone(r.b[:c:c])
	if v == nil {
		v = []byte{}
	}
	r.b = r.b[c:]
	return v
}

func readList[T any](r *rbuf, get func(*rbuf) T) []T {
	n := r.uint()
	if n == 0 || r.err != nil {
		return nil
	}
	c := r.count(n - 1)
	v := make([]T, 0, c)
	for i := 0; i < c && r.err == nil; i++ {
		v = append(v, get(r))
	}
	return v
}

func (r *rbuf) strs() []string { return readList(r, (*rbuf).str) }

func (r *rbuf) strMap() map[string]string {
	n := r.uint()
	if n == 0 || r.err != nil {
		return nil
	}
	c := r.count(n - 1)
	m := make(map[string]string, c)
	for i := 0; i < c && r.err == nil; i++ {
		k := r.str()
		m[k] = r.str()
	}
	return m
}

func readOpt[T any](r *rbuf, get func(*rbuf, *T)) *T {
	if !r.bool() {
		return nil
	}
	v := new(T)
	get(r, v)
	return v
}

// The runtime spec's types, as far as the form holds them.

func putIDMap(w *wbuf, m specs.LinuxIDMapping) {
	w.uint(uint64(m.ContainerID))
	w.uint(uint64(m.HostID))
	w.uint(uint64(m.Size))
}

func getIDMap(r *rbuf) specs.LinuxIDMapping {
	return specs.LinuxIDMapping{ContainerID: uint32(r.uintN(32)), HostID: uint32(r.uintN(32)), Size: uint32(r.uintN(32))}
}

func putUint32(w *wbuf, v *uint32) { w.uint(uint64(*v)) }
func getUint32(r *rbuf, v *uint32) { *v = uint32(r.uintN(32)) }
func putInt(w *wbuf, v *int)       { w.int(int64(*v)) }
func getInt(r *rbuf, v *int)       { *v = r.intN() }

func putHook(w *wbuf, h specs.Hook) {
	w.str(h.Path)
	w.strs(h.Args)
	w.strs(h.Env)
	opt(w, h.Timeout, putInt)
}

func getHook(r *rbuf) specs.Hook {
	return specs.Hook{Path: r.str(), Args: r.strs(), Env: r.strs(), Timeout: readOpt(r, getInt)}
}

func putHooks(w *wbuf, h *specs.Hooks) {
	//nolint:staticcheck // prestart is deprecated, and still carried
	for _, l := range [][]specs.Hook{h.Prestart, h.CreateRuntime, h.CreateContainer, h.StartContainer, h.Poststart, h.Poststop} {
		list(w, l, putHook)
	}
}

func getHooks(r *rbuf, h *specs.Hooks) {
	//nolint:staticcheck // prestart is deprecated, and still carried
	for _, l := range []*[]specs.Hook{&h.Prestart, &h.CreateRuntime, &h.CreateContainer, &h.StartContainer, &h.Poststart, &h.Poststop} {
		*l = readList(r, getHook)
	}
}

func putMount(w *wbuf, m specs.Mount) {
	w.str(m.Destination)
	w.str(m.Type)
	w.str(m.Source)
	w.strs(m.Options)
	list(w, m.UIDMappings, putIDMap)
	list(w, m.GIDMappings, putIDMap)
}

func getMount(r *rbuf) specs.Mount {
	return specs.Mount{Destination: r.str(), Type: r.str(), Source: r.str(), Options: r.strs(),
		UIDMappings: readList(r, getIDMap), GIDMappings: readList(r, getIDMap)}
}

func putCaps(w *wbuf, c *specs.LinuxCapabilities) {
	for _, l := range [][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted, c.Ambient} {
		w.strs(l)
	}
}

func getCaps(r *rbuf, c *specs.LinuxCapabilities) {
	for _, l := range []*[]string{&c.Bounding, &c.Effective, &c.Inheritable, &c.Permitted, &c.Ambient} {
		*l = r.strs()
	}
}

func putRlimit(w *wbuf, l specs.POSIXRlimit) { w.str(l.Type); w.uint(l.Hard); w.uint(l.Soft) }
func getRlimit(r *rbuf) specs.POSIXRlimit {
	return specs.POSIXRlimit{Type: r.str(), Hard: r.uint(), Soft: r.uint()}
}

func putBox(w *wbuf, b *specs.Box) { w.uint(uint64(b.Height)); w.uint(uint64(b.Width)) }
func getBox(r *rbuf, b *specs.Box) { b.Height, b.Width = uint(r.uint()), uint(r.uint()) }

func putProcess(w *wbuf, p *specs.Process) {
	w.bool(p.Terminal)
	opt(w, p.ConsoleSize, putBox)
	w.uint(uint64(p.User.UID))
	w.uint(uint64(p.User.GID))
	opt(w, p.User.Umask, putUint32)
	list(w, p.User.AdditionalGids, func(w *wbuf, g uint32) { w.uint(uint64(g)) })
	w.str(p.User.Username)
	w.strs(p.Args)
	w.strs(p.Env)
	w.str(p.Cwd)
	opt(w, p.Capabilities, putCaps)
	list(w, p.Rlimits, putRlimit)
	w.bool(p.NoNewPrivileges)
	opt(w, p.OOMScoreAdj, putInt)
}

func getProcess(r *rbuf, p *specs.Process) {
	p.Terminal = r.bool()
	p.ConsoleSize = readOpt(r, getBox)
	p.User.UID = uint32(r.uintN(32))
	p.User.GID = uint32(r.uintN(32))
	p.User.Umask = readOpt(r, getUint32)
	p.User.AdditionalGids = readList(r, func(r *rbuf) uint32 { return uint32(r.uintN(32)) })
	p.User.Username = r.str()
	p.Args = r.strs()
	p.Env = r.strs()
	p.Cwd = r.str()
	p.Capabilities = readOpt(r, getCaps)
	p.Rlimits = readList(r, getRlimit)
	p.NoNewPrivileges = r.bool()
	p.OOMScoreAdj = readOpt(r, getInt)
}

func putDevice(w *wbuf, d specs.LinuxDevice) {
	w.str(d.Path)
	w.str(d.Type)
	w.int(d.Major)
	w.int(d.Minor)
	opt(w, d.FileMode, func(w *wbuf, m *os.FileMode) { w.uint(uint64(*m)) })
	opt(w, d.UID, putUint32)
	opt(w, d.GID, putUint32)
}

func getDevice(r *rbuf) specs.LinuxDevice {
	return specs.LinuxDevice{Path: r.str(), Type: r.str(), Major: r.int(), Minor: r.int(),
		FileMode: readOpt(r, func(r *rbuf, m *os.FileMode) { *m = os.FileMode(r.uintN(32)) }),
		UID:      readOpt(r, getUint32), GID: readOpt(r, getUint32)}
}

func putNamespace(w *wbuf, n specs.LinuxNamespace) { w.str(string(n.Type)); w.str(n.Path) }
func getNamespace(r *rbuf) specs.LinuxNamespace {
	return specs.LinuxNamespace{Type: specs.LinuxNamespaceType(r.str()), Path: r.str()}
}

func putLinux(w *wbuf, l *specs.Linux) {
	list(w, l.UIDMappings, putIDMap)
	list(w, l.GIDMappings, putIDMap)
	w.strMap(l.Sysctl)
	w.str(l.CgroupsPath)
	list(w, l.Namespaces, putNamespace)
	list(w, l.Devices, putDevice)
	w.str(l.RootfsPropagation)
	w.strs(l.MaskedPaths)
	w.strs(l.ReadonlyPaths)
}

func getLinux(r *rbuf, l *specs.Linux) {
	l.UIDMappings = readList(r, getIDMap)
	l.GIDMappings = readList(r, getIDMap)
	l.Sysctl = r.strMap()
	l.CgroupsPath = r.str()
	l.Namespaces = readList(r, getNamespace)
	l.Devices = readList(r, getDevice)
	l.RootfsPropagation = r.str()
	l.MaskedPaths = r.strs()
	l.ReadonlyPaths = r.strs()
}

func putRoot(w *wbuf, root *specs.Root) { w.str(root.Path); w.bool(root.Readonly) }
func getRoot(r *rbuf, root *specs.Root) { root.Path, root.Readonly = r.str(), r.bool() }

func putSpec(w *wbuf, s *specs.Spec) {
	w.str(s.Version)
	opt(w, s.Process, putProcess)
	opt(w, s.Root, putRoot)
	w.str(s.Hostname)
	w.str(s.Domainname)
	list(w, s.Mounts, putMount)
	opt(w, s.Hooks, putHooks)
	w.strMap(s.Annotations)
	opt(w, s.Linux, putLinux)
}

func getSpec(r *rbuf, s *specs.Spec) {
	s.Version = r.str()
	s.Process = readOpt(r, getProcess)
	s.Root = readOpt(r, getRoot)
	s.Hostname = r.str()
	s.Domainname = r.str()
	s.Mounts = readList(r, getMount)
	s.Hooks = readOpt(r, getHooks)
	s.Annotations = r.strMap()
	s.Linux = readOpt(r, getLinux)
}

// myctr's own types in the configurations.

func putWinsize(w *wbuf, ws *unix.Winsize) {
	for _, v := range []uint16{ws.Row, ws.Col, ws.Xpixel, ws.Ypixel} {
		w.uint(uint64(v))
	}
}

func getWinsize(r *rbuf, ws *unix.Winsize) {
	for _, v := range []*uint16{&ws.Row, &ws.Col, &ws.Xpixel, &ws.Ypixel} {
		*v = uint16(r.uintN(16))
	}
}

func putSeccomp(w *wbuf, f *security.SeccompFilter) { w.uint(uint64(f.Flags)); w.bytes(f.Program) }
func getSeccomp(r *rbuf, f *security.SeccompFilter) { f.Flags, f.Program = uint(r.uint()), r.bytes() }

func putLandlock(w *wbuf, l *landlock.Ruleset) {
	w.strs(l.RO)
	w.strs(l.RW)
	w.strs(l.Exec)
	port := func(w *wbuf, p uint16) { w.uint(uint64(p)) }
	list(w, l.Bind, port)
	list(w, l.Connect, port)
}

func getLandlock(r *rbuf, l *landlock.Ruleset) {
	l.RO, l.RW, l.Exec = r.strs(), r.strs(), r.strs()
	port := func(r *rbuf) uint16 { return uint16(r.uintN(16)) }
	l.Bind = readList(r, port)
	l.Connect = readList(r, port)
}

func putState(w *wbuf, s *specs.State) {
	w.str(s.Version)
	w.str(s.ID)
	w.str(string(s.Status))
	w.int(int64(s.Pid))
	w.str(s.Bundle)
	w.strMap(s.Annotations)
}

func getState(r *rbuf, s *specs.State) {
	s.Version, s.ID, s.Status = r.str(), r.str(), specs.ContainerState(r.str())
	s.Pid = r.intN()
	s.Bundle = r.str()
	s.Annotations = r.strMap()
}

func putInit(w *wbuf, c *InitConfig) {
	opt(w, c.Spec, putSpec)
	w.strs(c.Overlay.Lower)
	w.str(c.Overlay.Upper)
	w.str(c.Overlay.Work)
	w.str(c.Overlay.RunDir)
	opt(w, c.Winsize, putWinsize)
	w.int(int64(c.ListenFDs))
	opt(w, c.Seccomp, putSeccomp)
	opt(w, c.Landlock, putLandlock)
	w.bool(c.Bundle)
	w.int(int64(c.StartFifo))
	opt(w, c.State, putState)
}

func getInit(r *rbuf, c *InitConfig) {
	c.Spec = readOpt(r, getSpec)
	c.Overlay.Lower = r.strs()
	c.Overlay.Upper, c.Overlay.Work, c.Overlay.RunDir = r.str(), r.str(), r.str()
	c.Winsize = readOpt(r, getWinsize)
	c.ListenFDs = r.intN()
	c.Seccomp = readOpt(r, getSeccomp)
	c.Landlock = readOpt(r, getLandlock)
	c.Bundle = r.bool()
	c.StartFifo = r.intN()
	c.State = readOpt(r, getState)
}

func putExec(w *wbuf, c *ExecConfig) {
	opt(w, c.Process, putProcess)
	opt(w, c.Winsize, putWinsize)
	opt(w, c.Seccomp, putSeccomp)
	opt(w, c.Landlock, putLandlock)
	w.int(int64(c.PreserveFDs))
	w.bool(c.KeepGroups)
}

func getExec(r *rbuf, c *ExecConfig) {
	c.Process = readOpt(r, getProcess)
	c.Winsize = readOpt(r, getWinsize)
	c.Seccomp = readOpt(r, getSeccomp)
	c.Landlock = readOpt(r, getLandlock)
	c.PreserveFDs = r.intN()
	c.KeepGroups = r.bool()
}

// encodeConfig is m, a stage's configuration, in the compact form; nil
// when m is something else or has a field set that the form does not
// hold (it then goes as JSON).
func encodeConfig(m *Message) []byte {
	if m.Type != MsgConfig || (m.Init == nil) == (m.Exec == nil) || m.Error != nil || m.Pid != 0 || m.Network != nil {
		return nil
	}
	w := &wbuf{b: make([]byte, 1, 2048)}
	if m.Init != nil {
		w.b[0] = wireInit
		putInit(w, m.Init)
	} else {
		w.b[0] = wireExec
		putExec(w, m.Exec)
	}
	// What the form holds, read back, must be the whole message.
	back, err := decodeConfig(w.b)
	if err != nil || !reflect.DeepEqual(back, m) {
		return nil
	}
	return w.b
}

// decodeConfig reads a compact packet (b[0] is wireInit or wireExec).
func decodeConfig(b []byte) (*Message, error) {
	m := &Message{Type: MsgConfig}
	r := &rbuf{b: b[1:]}
	switch b[0] {
	case wireInit:
		m.Init = new(InitConfig)
		getInit(r, m.Init)
	case wireExec:
		m.Exec = new(ExecConfig)
		getExec(r, m.Exec)
	default:
		return nil, fmt.Errorf("%w: packet type %#x", errWire, b[0])
	}
	if r.err == nil && len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after its end", errWire, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}
