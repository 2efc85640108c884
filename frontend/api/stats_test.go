package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/container"
)

func TestStatsResponse(t *testing.T) {
	c := &container.Container{ID: "abc123", Name: "web"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev := statsPoint{&cgroup.Sample{Time: t0, CPUUsec: 1000}, 5_000_000_000}
	cur := statsPoint{&cgroup.Sample{Time: t0.Add(time.Second), CPUUsec: 501_000, MemUsage: 4 << 20, MemLimit: 1 << 30,
		PIDs: 3, HasIO: true, BlkRead: 10, BlkWrite: 20, HasNet: true, NetRx: 100, NetTx: 200}, 7_000_000_000}
	got := statsResponse(c, cur, prev, 2)

	if got.Name != "/web" || got.ID != "abc123" || !got.Read.Equal(cur.s.Time) || !got.PreRead.Equal(t0) {
		t.Errorf("identity and times: %+v", got)
	}
	// The docker CLI's CPU %: (cpu delta / system delta) × online CPUs ×
	// 100 = (0.5 s / 2 s) × 2 × 100 = 50.
	cpuDelta := float64(got.CPUStats.CPUUsage.TotalUsage - got.PreCPUStats.CPUUsage.TotalUsage)
	sysDelta := float64(got.CPUStats.SystemUsage - got.PreCPUStats.SystemUsage)
	if pct := cpuDelta / sysDelta * float64(got.CPUStats.OnlineCPUs) * 100; pct != 50 {
		t.Errorf("CPU %% as the docker CLI computes it: %v, want 50 (%+v, %+v)", pct, got.CPUStats, got.PreCPUStats)
	}
	if got.MemoryStats.Usage != 4<<20 || got.MemoryStats.Limit != 1<<30 || got.MemoryStats.Stats["inactive_file"] != 0 {
		t.Errorf("memory: %+v", got.MemoryStats)
	}
	if got.PidsStats.Current != 3 {
		t.Errorf("pids: %+v", got.PidsStats)
	}
	io := got.BlkioStats.IoServiceBytesRecursive
	if len(io) != 2 || io[0].Op != "read" || io[0].Value != 10 || io[1].Op != "write" || io[1].Value != 20 {
		t.Errorf("block I/O: %+v", io)
	}
	var rx, tx uint64
	for _, n := range got.Networks {
		rx, tx = rx+n.RxBytes, tx+n.TxBytes
	}
	if rx != 100 || tx != 200 {
		t.Errorf("networks: %+v", got.Networks)
	}
	b, _ := json.Marshal(got)
	for _, key := range []string{`"cpu_stats"`, `"precpu_stats"`, `"system_cpu_usage":7000000000`, `"online_cpus":2`, `"memory_stats"`, `"pids_stats"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}

	// A first sample has no previous one; a stopped container, no sample.
	if first := statsResponse(c, cur, statsPoint{}, 2); first.PreCPUStats.SystemUsage != 0 || !first.PreRead.IsZero() {
		t.Errorf("first sample: precpu %+v preread %v", first.PreCPUStats, first.PreRead)
	}
	if st := statsResponse(c, statsPoint{}, statsPoint{}, 2); st.Name != "/web" || st.MemoryStats.Usage != 0 || st.Networks != nil {
		t.Errorf("stopped: %+v", st)
	}
	// No network or I/O figures read: none reported, not zeros.
	cur.s.HasNet, cur.s.HasIO = false, false
	if st := statsResponse(c, cur, prev, 2); st.Networks != nil || st.BlkioStats.IoServiceBytesRecursive != nil {
		t.Errorf("without network and I/O figures: %+v %+v", st.Networks, st.BlkioStats)
	}
}

func TestSystemCPU(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		stat string
		want uint64
		ok   bool
	}{
		// user nice system idle iowait irq softirq (steal guest ...):
		// the first seven, in 1/100 s.
		{"cpu  100 0 50 800 10 0 40 7 0 0\ncpu0 50 0 25 400 5 0 20 0 0 0\n", 1000 * 10_000_000, true},
		{"intr 1 2 3\n", 0, false},
		{"cpu  1 2 x 4 5 6 7\n", 0, false},
	} {
		p := filepath.Join(dir, "stat")
		if err := os.WriteFile(p, []byte(tc.stat), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := systemCPU(p)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("systemCPU(%q) = %d, %v; want %d (ok %v)", tc.stat, got, err, tc.want, tc.ok)
		}
	}
}
