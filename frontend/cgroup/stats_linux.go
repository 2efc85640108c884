package cgroup

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of a container's cgroup and network namespace,
// what `stats` shows.
type Sample struct {
	Time     time.Time
	CPUUsec  uint64 // cpu.stat usage_usec
	MemUsage uint64 // memory.current minus memory.stat inactive_file
	MemLimit uint64 // memory.max, or the host's memory when "max"
	PIDs     uint64 // pids.current
	// Block I/O (io.stat rbytes/wbytes summed) and network (bytes of the
	// namespace's interfaces but lo); HasIO and HasNet are false where
	// they could not be read.
	BlkRead, BlkWrite uint64
	HasIO             bool
	NetRx, NetTx      uint64
	HasNet            bool
}

// ReadSample reads the cgroup dir and, when pid > 0, the network devices
// of pid's network namespace (procRoot/PID/net/dev; procRoot is /proc on
// a host).
func ReadSample(dir, procRoot string, pid int) (*Sample, error) {
	s := &Sample{Time: time.Now()}
	cpu, err := ReadKeyed(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return nil, fmt.Errorf("read the container's cgroup: %w", err)
	}
	s.CPUUsec = cpu["usage_usec"]
	if cur, err := readUint(filepath.Join(dir, "memory.current")); err == nil {
		s.MemUsage = cur
		if st, err := ReadKeyed(filepath.Join(dir, "memory.stat")); err == nil && st["inactive_file"] < cur {
			s.MemUsage = cur - st["inactive_file"]
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "memory.max")); err == nil {
		if v := strings.TrimSpace(string(b)); v != "max" {
			s.MemLimit, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	if s.MemLimit == 0 {
		s.MemLimit = hostMemory(procRoot)
	}
	s.PIDs, _ = readUint(filepath.Join(dir, "pids.current"))
	if r, w, err := readIOStat(filepath.Join(dir, "io.stat")); err == nil {
		s.BlkRead, s.BlkWrite, s.HasIO = r, w, true
	}
	if pid > 0 {
		if rx, tx, err := ReadNetDev(filepath.Join(procRoot, strconv.Itoa(pid), "net", "dev")); err == nil {
			s.NetRx, s.NetTx, s.HasNet = rx, tx, true
		}
	}
	return s, nil
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// hostMemory is MemTotal of procRoot/meminfo, in bytes (0 if unknown).
func hostMemory(procRoot string) uint64 {
	f, err := os.Open(filepath.Join(procRoot, "meminfo"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// readIOStat sums rbytes and wbytes over the devices of io.stat
// ("MAJ:MIN rbytes=N wbytes=N rios=N ..."); an empty file is zero.
func readIOStat(path string) (r, w uint64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		for _, kv := range f[min(1, len(f)):] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "rbytes":
				r += n
			case "wbytes":
				w += n
			}
		}
	}
	return r, w, nil
}

// ReadNetDev sums received and sent bytes of a /proc/PID/net/dev over
// every interface but lo.
func ReadNetDev(path string) (rx, tx uint64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 || !strings.Contains(lines[1], "bytes") {
		return 0, 0, fmt.Errorf("%s: not a net/dev table", path)
	}
	for _, l := range lines[2:] {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			return 0, 0, fmt.Errorf("%s: short line %q", path, l)
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("%s: bad numbers in %q", path, l)
		}
		rx += r
		tx += t
	}
	return rx, tx, nil
}

// CPUPercent is the CPU used between two samples, in percent of one CPU
// (200% is two CPUs busy), as Podman shows it; with no previous sample,
// the average since started.
func CPUPercent(prev, cur *Sample, started time.Time) float64 {
	var used uint64
	var wall time.Duration
	if prev != nil && cur.CPUUsec >= prev.CPUUsec {
		used, wall = cur.CPUUsec-prev.CPUUsec, cur.Time.Sub(prev.Time)
	} else {
		used, wall = cur.CPUUsec, cur.Time.Sub(started)
	}
	if wall <= 0 {
		return 0
	}
	return float64(used) / float64(wall.Microseconds()) * 100
}
