package cgroup

import (
	"fmt"
	"math"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestUnitLimits: the unit settings under which systemd writes the same
// files as V2Files, for every file it gives.
func TestUnitLimits(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	w := func(v uint16) *uint16 { return &v }
	dev := func(maj, min int64) specs.LinuxBlockIODevice { return specs.LinuxBlockIODevice{Major: maj, Minor: min} }
	inf := uint64(math.MaxUint64)
	for _, c := range []struct {
		name string
		r    *specs.LinuxResources
		want string
	}{
		{"nil", nil, ""},
		{"memory", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(64 << 20), Swap: i(96 << 20), Reservation: i(32 << 20)}},
			"MemorySwapMax=33554432 MemoryMax=67108864 MemoryLow=33554432"},
		{"unlimited", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(-1)}, Pids: &specs.LinuxPids{Limit: i(-1)}},
			fmt.Sprintf("MemoryMax=%d TasksMax=%d", inf, inf)},
		{"pids", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i(20)}}, "TasksMax=20"},
		{"cpu", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u(512), Quota: i(50000), Period: u(100000)}},
			"CPUWeight=20 CPUQuotaPerSecUSec=500000 CPUQuotaPeriodUSec=100000"},
		// Rounded up to whole 10 ms per second, as systemd keeps it.
		{"cpu rounded", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i(33333), Period: u(100000)}},
			"CPUQuotaPerSecUSec=340000 CPUQuotaPeriodUSec=100000"},
		{"period alone", &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u(50000)}},
			fmt.Sprintf("CPUQuotaPerSecUSec=%d CPUQuotaPeriodUSec=50000", inf)},
		{"cpuset", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-2,9", Mems: "0"}},
			"AllowedCPUs=[7 2] AllowedMemoryNodes=[1]"},
		{"io", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: w(500),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: w(10)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 1 << 20}, {LinuxBlockIODevice: dev(8, 16), Rate: 2 << 20}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(254, 1), Rate: 100}},
		}},
			"IOWeight=4950 IODeviceWeight=[{/dev/block/8:0 1}] IOReadBandwidthMax=[{/dev/block/8:0 1048576} {/dev/block/8:16 2097152}] IOWriteIOPSMax=[{/dev/block/254:1 100}]"},
	} {
		props, err := unitLimits(c.r)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, p := range props {
			got = append(got, fmt.Sprintf("%s=%v", p.Name, p.Value.Value()))
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, g, c.want)
		}
	}
	// What V2Files refuses, refused here too.
	if _, err := unitLimits(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(64 << 20), Swap: i(32 << 20)}}); err == nil {
		t.Error("memory plus swap below memory: accepted")
	}
}

func TestCpusetMask(t *testing.T) {
	for in, want := range map[string]string{
		"0": "[1]", "7": "[128]", "8": "[0 1]", "0-3": "[15]", "1,3,5-6": "[106]", "0-15": "[255 255]", " 2 , 4": "[20]",
	} {
		if got, err := cpusetMask(in); err != nil || fmt.Sprint(got) != want {
			t.Errorf("cpusetMask(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a", "3-1", "1-", "-1", "0,,1", "8192", "0-99999"} {
		if got, err := cpusetMask(bad); err == nil {
			t.Errorf("cpusetMask(%q) = %v, accepted", bad, got)
		}
	}
}
