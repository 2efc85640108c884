package api

import (
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/cgroup"
)

// TestResourceFlags: HostConfig's limits become the values of run's
// resource flags, parsed by cgroup.Parse as the CLI's are; what cgroup v2
// or myctr cannot set is refused.
func TestResourceFlags(t *testing.T) {
	pids, zero, on, sw := int64(100), int64(0), true, int64(10)
	for _, tc := range []struct {
		name string
		r    ctypes.Resources
		want string // flag=value ... in cgroup.Flags order
		code int
	}{
		{name: "none", want: ""},
		{name: "memory and cpus", r: ctypes.Resources{Memory: 64 << 20, MemorySwap: -1, NanoCPUs: 1_500_000_000, CPUShares: 512},
			want: "memory=67108864 memory-swap=-1 cpus=1.5 cpu-shares=512"},
		{name: "quota, cpuset, pids, blkio", r: ctypes.Resources{CPUQuota: 50000, CPUPeriod: 100000, CpusetCpus: "0", PidsLimit: &pids, BlkioWeight: 300},
			want: "cpu-quota=50000 cpu-period=100000 cpuset-cpus=0 pids-limit=100 blkio-weight=300"},
		{name: "pids 0 is none given", r: ctypes.Resources{PidsLimit: &zero}, want: ""},
		{name: "realtime", r: ctypes.Resources{CPURealtimeRuntime: 1000}, code: 400},
		{name: "oom kill disable", r: ctypes.Resources{OomKillDisable: &on}, code: 400},
		{name: "swappiness", r: ctypes.Resources{MemorySwappiness: &sw}, code: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := resourceFlags(&ctypes.HostConfig{Resources: tc.r})
			if tc.code != 0 {
				if statusOf(err) != tc.code {
					t.Fatalf("err %v (status %d), want %d", err, statusOf(err), tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := cgroup.Parse(func(flag string) []string { return f[flag] })
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range r.Set {
				got = append(got, s.Flag+"="+s.Value)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("flags %q, want %q", strings.Join(got, " "), tc.want)
			}
			if back := inspectResources(r); back.Memory != tc.r.Memory || back.NanoCPUs != tc.r.NanoCPUs {
				t.Errorf("inspect shows %+v", back)
			}
		})
	}
}
