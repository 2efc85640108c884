package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnknownDescriptor is a `top` descriptor that names no column.
var ErrUnknownDescriptor = errors.New("unknown descriptor")

// DefaultTopDescriptors are `top`'s columns when none are named (Podman's).
var DefaultTopDescriptors = []string{"user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"}

// topColumn is one descriptor of `top`: its header and how to read it from
// one process.
type topColumn struct {
	header string
	value  func(p *topProc) string
}

// topColumns are Podman's (psgo's) descriptors, with their AIX codes.
var topColumns = map[string]topColumn{
	"args":    {"COMMAND", func(p *topProc) string { return p.args }},
	"capamb":  {"AMBIENT CAPS", func(p *topProc) string { return capNames(p.status["CapAmb"]) }},
	"capbnd":  {"BOUNDING CAPS", func(p *topProc) string { return capNames(p.status["CapBnd"]) }},
	"capeff":  {"EFFECTIVE CAPS", func(p *topProc) string { return capNames(p.status["CapEff"]) }},
	"capinh":  {"INHERITED CAPS", func(p *topProc) string { return capNames(p.status["CapInh"]) }},
	"capprm":  {"PERMITTED CAPS", func(p *topProc) string { return capNames(p.status["CapPrm"]) }},
	"comm":    {"COMMAND", func(p *topProc) string { return p.comm }},
	"etime":   {"ELAPSED", func(p *topProc) string { return p.elapsed().String() }},
	"group":   {"GROUP", func(p *topProc) string { return p.ctrName(p.gid(2), "group") }},
	"hgroup":  {"HGROUP", func(p *topProc) string { return hostName(p.hostID("Gid", 1), "/etc/group") }},
	"hpid":    {"HPID", func(p *topProc) string { return strconv.Itoa(p.hpid) }},
	"huser":   {"HUSER", func(p *topProc) string { return hostName(p.hostID("Uid", 1), "/etc/passwd") }},
	"label":   {"LABEL", func(p *topProc) string { return p.label() }},
	"nice":    {"NI", func(p *topProc) string { return p.stat(16) }},
	"pcpu":    {"%CPU", func(p *topProc) string { return p.pcpu() }},
	"pgid":    {"PGID", func(p *topProc) string { return p.ctrPid(p.stat(2)) }},
	"pid":     {"PID", func(p *topProc) string { return strconv.Itoa(p.pid) }},
	"ppid":    {"PPID", func(p *topProc) string { return p.ctrPid(p.stat(1)) }},
	"rgroup":  {"RGROUP", func(p *topProc) string { return p.ctrName(p.gid(0), "group") }},
	"ruser":   {"RUSER", func(p *topProc) string { return p.ctrName(p.uid(0), "passwd") }},
	"seccomp": {"SECCOMP", func(p *topProc) string { return seccompMode(p.status["Seccomp"]) }},
	"state":   {"STATE", func(p *topProc) string { return p.stat(0) }},
	"stime":   {"STIME", func(p *topProc) string { return p.started().String() }},
	"time":    {"TIME", func(p *topProc) string { return p.cpuTime().String() }},
	"tty":     {"TTY", func(p *topProc) string { return ttyName(p.stat(4)) }},
	"user":    {"USER", func(p *topProc) string { return p.ctrName(p.uid(1), "passwd") }},
	"vsz":     {"VSZ", func(p *topProc) string { return p.vsz() }},
}

// topAIX are the AIX format codes ps(1) and Podman accept for descriptors.
var topAIX = map[string]string{
	"%C": "pcpu", "%G": "group", "%P": "ppid", "%U": "user", "%a": "args", "%c": "comm",
	"%g": "rgroup", "%n": "nice", "%p": "pid", "%r": "pgid", "%t": "etime", "%u": "ruser",
	"%x": "time", "%y": "tty", "%z": "vsz",
}

// TopDescriptors splits `top`'s arguments (comma- or space-separated) into
// descriptors and checks each names a column.
func TopDescriptors(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		for _, d := range strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if n, ok := topAIX[d]; ok {
				d = n
			}
			if _, ok := topColumns[d]; !ok {
				return nil, fmt.Errorf("%w: %s", ErrUnknownDescriptor, d)
			}
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		out = DefaultTopDescriptors
	}
	return out, nil
}

// Top lists the processes of a running container, one row per process
// after a row of headers. Everything comes from the host's /proc: nothing
// of the container's image runs (Podman once ran the image's nsenter,
// CVE-2022-1227). The container's /etc/passwd and /etc/group are read
// through its init's root with RESOLVE_IN_ROOT, so a symlink there cannot
// name a host file.
func Top(c *Container, descriptors []string) ([][]string, error) {
	if !c.Running() {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	init := c.State.Pid
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", init))
	if err != nil {
		return nil, fmt.Errorf("read pid namespace of %s: %w", c.Name, err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	t := &topCtx{init: init, ctrPids: map[int]int{}, names: map[string]map[int]string{}}
	var procs []*topProc
	for _, e := range ents {
		hpid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if hpid != init {
			if n, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", hpid)); err != nil || n != ns {
				continue
			}
		}
		p, err := readTopProc(t, hpid)
		if err != nil {
			continue // gone meanwhile
		}
		t.ctrPids[hpid] = p.pid
		procs = append(procs, p)
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].pid < procs[j].pid })
	rows := make([][]string, 0, len(procs)+1)
	var head []string
	for _, d := range descriptors {
		head = append(head, topColumns[d].header)
	}
	rows = append(rows, head)
	for _, p := range procs {
		var row []string
		for _, d := range descriptors {
			row = append(row, topColumns[d].value(p))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

type topCtx struct {
	init    int
	ctrPids map[int]int // host pid -> pid in the container
	names   map[string]map[int]string
	uidMap  [][3]int64
	gidMap  [][3]int64
}

type topProc struct {
	t      *topCtx
	hpid   int
	pid    int
	comm   string
	args   string
	fields []string // /proc/PID/stat from field 3 (state) on
	status map[string]string
}

func readTopProc(t *topCtx, hpid int) (*topProc, error) {
	dir := fmt.Sprintf("/proc/%d/", hpid)
	st, err := os.ReadFile(dir + "stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(st, ')')
	if i < 0 {
		return nil, fmt.Errorf("parse %sstat", dir)
	}
	p := &topProc{t: t, hpid: hpid, fields: strings.Fields(string(st[i+1:])), status: map[string]string{}}
	if len(p.fields) < 22 {
		return nil, fmt.Errorf("parse %sstat", dir)
	}
	sb, err := os.ReadFile(dir + "status")
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(sb))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			p.status[k] = strings.TrimSpace(v)
		}
	}
	p.comm = p.status["Name"]
	p.pid = hpid
	if nsp := strings.Fields(p.status["NSpid"]); len(nsp) > 0 {
		p.pid, _ = strconv.Atoi(nsp[len(nsp)-1])
	}
	cl, _ := os.ReadFile(dir + "cmdline")
	p.args = strings.TrimSpace(strings.ReplaceAll(string(bytes.TrimRight(cl, "\x00")), "\x00", " "))
	if p.args == "" {
		p.args = "[" + p.comm + "]"
	}
	if t.uidMap == nil {
		t.uidMap = readIDMap(fmt.Sprintf("/proc/%d/uid_map", hpid))
		t.gidMap = readIDMap(fmt.Sprintf("/proc/%d/gid_map", hpid))
	}
	return p, nil
}

// stat is field n of /proc/PID/stat counted from the state (field 3).
func (p *topProc) stat(n int) string { return p.fields[n] }

func (p *topProc) statInt(n int) int64 {
	v, _ := strconv.ParseInt(p.fields[n], 10, 64)
	return v
}

// hostID is the n-th id of status's Uid or Gid line (real, effective,
// saved, fs), as the host sees it.
func (p *topProc) hostID(key string, n int) int64 {
	f := strings.Fields(p.status[key])
	if n >= len(f) {
		return -1
	}
	v, err := strconv.ParseInt(f[n], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

func (p *topProc) uid(n int) int64 { return toInside(p.t.uidMap, p.hostID("Uid", n)) }
func (p *topProc) gid(n int) int64 { return toInside(p.t.gidMap, p.hostID("Gid", n)) }

// ctrPid turns a host pid from /proc into the container's view: 0 when
// the process is outside the container (the parent of its init).
func (p *topProc) ctrPid(s string) string {
	h, _ := strconv.Atoi(s)
	if h == 0 {
		return "0"
	}
	if c, ok := p.t.ctrPids[h]; ok {
		return strconv.Itoa(c)
	}
	if h == p.hpid {
		return strconv.Itoa(p.pid)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", h)); err == nil {
		if n, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", h)); err == nil {
			if m, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p.hpid)); err == nil && n == m {
				if q, err := readTopProc(p.t, h); err == nil {
					return strconv.Itoa(q.pid)
				}
			}
		}
	}
	return "0"
}

// ctrName names a container uid or gid from the container's passwd or
// group file, or gives its number.
func (p *topProc) ctrName(id int64, file string) string {
	if id < 0 {
		return "?"
	}
	m, ok := p.t.names[file]
	if !ok {
		m = readCtrNames(p.t.init, file)
		p.t.names[file] = m
	}
	if n, ok := m[int(id)]; ok {
		return n
	}
	return strconv.FormatInt(id, 10)
}

func readCtrNames(init int, file string) map[int]string {
	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", init), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, "etc/"+file, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), file)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return parseNames(f)
}

// parseNames reads name:x:ID:... lines (passwd and group alike).
func parseNames(r interface{ Read([]byte) (int, error) }) map[int]string {
	m := map[int]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 {
			continue
		}
		id, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		if _, dup := m[id]; !dup {
			m[id] = f[0]
		}
	}
	return m
}

var hostNames = map[string]map[int]string{}

// hostName names a host uid or gid from the host's file, or gives its number.
func hostName(id int64, file string) string {
	if id < 0 {
		return "?"
	}
	m, ok := hostNames[file]
	if !ok {
		if f, err := os.Open(file); err == nil {
			m = parseNames(f)
			f.Close()
		}
		hostNames[file] = m
	}
	if n, ok := m[int(id)]; ok {
		return n
	}
	return strconv.FormatInt(id, 10)
}

func readIDMap(path string) [][3]int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return [][3]int64{}
	}
	out := [][3]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		var e [3]int64
		for i := range f {
			e[i], _ = strconv.ParseInt(f[i], 10, 64)
		}
		out = append(out, e)
	}
	return out
}

// toInside maps a host id through a uid_map or gid_map (as read from the
// host: inside, outside, count); -1 when it is not mapped.
func toInside(m [][3]int64, id int64) int64 {
	if id < 0 {
		return -1
	}
	for _, e := range m {
		if id >= e[1] && id < e[1]+e[2] {
			return id - e[1] + e[0]
		}
	}
	return -1
}

var clockTicks int64 = 100 // USER_HZ, fixed at 100 on Linux's ABI

func bootTime() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}

func (p *topProc) started() time.Time {
	return bootTime().Add(time.Duration(p.statInt(19)) * time.Second / time.Duration(clockTicks))
}

func (p *topProc) elapsed() time.Duration { return time.Since(p.started()) }

func (p *topProc) cpuTime() time.Duration {
	return time.Duration(p.statInt(11)+p.statInt(12)) * time.Second / time.Duration(clockTicks)
}

func (p *topProc) pcpu() string {
	e := p.elapsed().Seconds()
	if e <= 0 {
		return "0.000"
	}
	return strconv.FormatFloat(p.cpuTime().Seconds()/e*100, 'f', 3, 64)
}

func (p *topProc) vsz() string {
	v, _ := strconv.ParseUint(p.fields[20], 10, 64)
	return strconv.FormatUint(v/1024, 10)
}

func (p *topProc) label() string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.hpid), "attr", "current"))
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return "-"
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
}

// ttyName names a tty from stat's tty_nr, as ps does ("?" for none).
func ttyName(s string) string {
	n, _ := strconv.ParseUint(s, 10, 64)
	if n == 0 {
		return "?"
	}
	maj, min := unix.Major(n), unix.Minor(n)
	switch {
	case maj >= 136 && maj <= 143:
		return fmt.Sprintf("pts/%d", (maj-136)*256+min)
	case maj == 4 && min < 64:
		return fmt.Sprintf("tty%d", min)
	case maj == 4:
		return fmt.Sprintf("ttyS%d", min-64)
	case maj == 5 && min == 1:
		return "console"
	}
	return "?"
}

func seccompMode(s string) string {
	switch s {
	case "0":
		return "disabled"
	case "1":
		return "strict"
	case "2":
		return "filter"
	}
	return "?"
}

var capList = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// capNames spells a capability mask of /proc/PID/status as psgo does:
// "none", "full" (every capability the kernel knows), or the names.
func capNames(hex string) string {
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return "?"
	}
	if v == 0 {
		return "none"
	}
	last := lastCap()
	if last >= 0 && last < 63 && v == (uint64(1)<<(last+1))-1 {
		return "full"
	}
	var names []string
	for v != 0 {
		i := bits.TrailingZeros64(v)
		v &^= 1 << i
		if i < len(capList) {
			names = append(names, capList[i])
		} else {
			names = append(names, "CAP_"+strconv.Itoa(i))
		}
	}
	return strings.Join(names, ",")
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}
