package cgroup

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0
  eth0:    1200      10    0    0    0     0          0         0      800       8    0    0    0     0       0          0
 tap0:      34       1    0    0    0     0          0         0       66       1    0    0    0     0       0          0
`

func TestReadSample(t *testing.T) {
	cg, proc := t.TempDir(), t.TempDir()
	writeFiles(t, cg, map[string]string{
		"cpu.stat":       "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
		"memory.current": "10485760\n",
		"memory.stat":    "anon 6291456\nfile 4194304\ninactive_file 2097152\n",
		"memory.max":     "67108864\n",
		"pids.current":   "3\n",
		"io.stat":        "254:0 rbytes=4096 wbytes=1048576 rios=1 wios=16 dbytes=0 dios=0\n8:0 rbytes=100 wbytes=0 rios=1 wios=0\n",
	})
	writeFiles(t, proc, map[string]string{"42/net/dev": netDev, "meminfo": "MemTotal:        2048000 kB\n"})
	s, err := ReadSample(cg, proc, 42)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUUsec != 1500000 || s.MemUsage != 8388608 || s.MemLimit != 67108864 || s.PIDs != 3 ||
		!s.HasIO || s.BlkRead != 4196 || s.BlkWrite != 1048576 || !s.HasNet || s.NetRx != 1234 || s.NetTx != 866 {
		t.Errorf("sample %+v", s)
	}

	// No memory limit: the host's memory; no io controller, no network
	// readable: marked as such, not zero numbers that look real.
	writeFiles(t, cg, map[string]string{"memory.max": "max\n"})
	os.Remove(filepath.Join(cg, "io.stat"))
	s, err = ReadSample(cg, proc, 7)
	if err != nil {
		t.Fatal(err)
	}
	if s.MemLimit != 2048000*1024 || s.HasIO || s.HasNet {
		t.Errorf("sample %+v", s)
	}
	// A cgroup that is gone is an error.
	if _, err := ReadSample(filepath.Join(cg, "gone"), proc, 0); err == nil {
		t.Error("no error for a missing cgroup")
	}
}

func TestReadNetDevBad(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":  "",
		"short":  "Inter-|\n face |bytes\n eth0: 1 2 3\n",
		"letter": "Inter-|\n face |bytes\n eth0: x 2 3 4 5 6 7 8 9 10\n",
	} {
		writeFiles(t, dir, map[string]string{name: body})
		if _, _, err := ReadNetDev(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCPUPercent(t *testing.T) {
	start := time.Unix(1000, 0)
	a := &Sample{Time: start.Add(10 * time.Second), CPUUsec: 5_000_000}
	b := &Sample{Time: start.Add(12 * time.Second), CPUUsec: 8_000_000}
	reset := &Sample{Time: start.Add(14 * time.Second), CPUUsec: 7_000_000}
	for _, c := range []struct {
		prev, cur *Sample
		want      float64
	}{
		{nil, a, 50},   // 5 s of CPU in the 10 s since the start
		{a, b, 150},    // 3 s of CPU in 2 s: one and a half CPUs
		{b, reset, 50}, // a counter that went back (a restart): since the start, 7 s in 14 s
		{b, b, 0},      // no time between the two
	} {
		if got := CPUPercent(c.prev, c.cur, start); math.Abs(got-c.want) > 0.01 {
			t.Errorf("CPUPercent(%+v, %+v) = %.2f, want %.2f", c.prev, c.cur, got, c.want)
		}
	}
	if got := CPUPercent(nil, &Sample{Time: start}, start); got != 0 {
		t.Errorf("no time: %v", got)
	}
}
