package cgroup

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func fakeDevices(path string) (int64, int64, error) {
	switch path {
	case "/dev/sda":
		return 8, 0, nil
	case "/dev/sdb":
		return 8, 16, nil
	}
	return 0, 0, fmt.Errorf("device %s: no such device", path)
}

// TestOCI: the flags become linux.resources as Podman fills it for crun.
func TestOCI(t *testing.T) {
	r, err := parse(flags("memory", "512m", "memory-reservation", "256m", "memory-swap", "1g",
		"cpus", "0.5", "cpu-shares", "1024", "cpuset-cpus", "0-1", "pids-limit", "20", "blkio-weight", "500",
		"blkio-weight-device", "/dev/sdb:100", "device-read-bps", "/dev/sda:1mb", "device-write-iops", "/dev/sdb:30"), 4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.OCI(fakeDevices)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"memory":{"limit":536870912,"reservation":268435456,"swap":1073741824},` +
		`"cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-1"},"pids":{"limit":20},` +
		`"blockIO":{"weight":500,"weightDevice":[{"major":8,"minor":16,"weight":100}],` +
		`"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],` +
		`"throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":30}]}}`
	if string(b) != want {
		t.Errorf("linux.resources =\n %s\nwant\n %s", b, want)
	}
	empty, err := (&Resources{}).OCI(fakeDevices)
	if err != nil || !reflect.DeepEqual(empty, &specs.LinuxResources{}) {
		t.Errorf("no flags: %+v, %v; want empty resources", empty, err)
	}
	r, _ = parse(flags("device-read-bps", "/dev/nvme9:1mb"), 4)
	if _, err := r.OCI(fakeDevices); err == nil {
		t.Error("an unknown device was accepted")
	}
}

// TestV2Files: runc's and crun's rules from linux.resources to cgroup v2
// files.
func TestV2Files(t *testing.T) {
	u16 := func(n uint16) *uint16 { return &n }
	u64 := func(n uint64) *uint64 { return &n }
	for _, c := range []struct {
		name string
		in   specs.LinuxResources
		want []File
	}{
		{"empty", specs.LinuxResources{}, nil},
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(512 << 20), Reservation: i64(256 << 20), Swap: i64(1 << 30)}},
			[]File{{"memory.swap.max", "536870912"}, {"memory.max", "536870912"}, {"memory.low", "268435456"}}},
		{"memory no swap", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(64 << 20)}},
			[]File{{"memory.swap.max", "0"}, {"memory.max", "67108864"}}},
		{"memory unlimited swap", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(-1)}},
			[]File{{"memory.swap.max", "max"}, {"memory.max", "67108864"}}},
		{"memory unlimited", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}}, []File{{"memory.max", "max"}}},
		{"cpu", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024), Quota: i64(150000), Period: u64(100000), Cpus: "0-1", Mems: "0"}},
			[]File{{"cpu.weight", "39"}, {"cpu.max", "150000 100000"}, {"cpuset.cpus", "0-1"}, {"cpuset.mems", "0"}}},
		{"cpu quota only", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(20000)}}, []File{{"cpu.max", "20000 100000"}}},
		{"cpu unlimited quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1), Period: u64(50000)}}, []File{{"cpu.max", "max 50000"}}},
		{"cpu shares bounds", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(2)}}, []File{{"cpu.weight", "1"}}},
		{"cpu shares max", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(262144)}}, []File{{"cpu.weight", "10000"}}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(20)}}, []File{{"pids.max", "20"}}},
		{"pids unlimited", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, []File{{"pids.max", "max"}}},
		{"io", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight:                  u16(500),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Weight: u16(10)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1048576}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 2048}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 100}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 50}},
		}}, []File{{"io.weight", "default 4950"}, {"io.weight", "8:16 1"}, {"io.max", "8:0 rbps=1048576"},
			{"io.max", "8:0 wbps=2048"}, {"io.max", "8:0 riops=100"}, {"io.max", "8:0 wiops=50"}}},
	} {
		got, err := V2Files(&c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	for _, bad := range []*specs.LinuxMemory{
		{Swap: i64(1 << 30)},                        // swap without memory
		{Limit: i64(-1), Swap: i64(1 << 30)},        // swap with unlimited memory
		{Limit: i64(1 << 30), Swap: i64(512 << 20)}, // memory+swap below memory
	} {
		if got, err := V2Files(&specs.LinuxResources{Memory: bad}); err == nil {
			t.Errorf("memory %+v: %v, want an error", bad, got)
		}
	}
	if w := BlkioToIOWeight(1000); w != 10000 {
		t.Errorf("BlkioToIOWeight(1000) = %d, want 10000", w)
	}
	if w := BlkioToIOWeight(10); w != 1 {
		t.Errorf("BlkioToIOWeight(10) = %d, want 1", w)
	}
}
