package cgroup

import (
	"reflect"
	"strings"
	"testing"
)

// flags builds Parse's getter from flag=value pairs (a flag may repeat).
func flags(kv ...string) func(string) []string {
	m := map[string][]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = append(m[kv[i]], kv[i+1])
	}
	return func(f string) []string { return m[f] }
}

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512m", 512 << 20, true}, {"1g", 1 << 30, true}, {"1G", 1 << 30, true},
		{"1.5g", 3 << 29, true}, {"1024", 1024, true}, {"1mb", 1 << 20, true},
		{"1MiB", 1 << 20, true}, {"2k", 2048, true}, {"10b", 10, true}, {"1 m", 1 << 20, true},
		{"", 0, false}, {"m", 0, false}, {"-1", 0, false}, {"1x", 0, false},
		{"1.g", 0, false}, {"9999999999p", 0, false}, {"1e3", 0, false},
	} {
		got, err := ParseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func i64(n int64) *int64 { return &n }

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name string
		get  func(string) []string
		want Resources // Set is not compared
	}{
		{"none", flags(), Resources{}},
		{"memory", flags("memory", "512m", "memory-reservation", "256m", "memory-swap", "1g"),
			Resources{Memory: 512 << 20, MemoryReservation: 256 << 20, MemorySwap: i64(1 << 30)}},
		{"unlimited swap", flags("memory", "1g", "memory-swap", "-1"), Resources{Memory: 1 << 30, MemorySwap: i64(-1)}},
		{"cpus", flags("cpus", "1.5"), Resources{CPUQuota: 150000, CPUPeriod: 100000}},
		{"quota", flags("cpu-quota", "50000", "cpu-period", "200000", "cpu-shares", "512"),
			Resources{CPUQuota: 50000, CPUPeriod: 200000, CPUShares: 512}},
		{"cpuset", flags("cpuset-cpus", "0-1,3", "cpuset-mems", "0"), Resources{CpusetCPUs: "0-1,3", CpusetMems: "0"}},
		{"pids", flags("pids-limit", "20"), Resources{PidsLimit: i64(20)}},
		{"pids unlimited", flags("pids-limit", "-1"), Resources{PidsLimit: i64(-1)}},
		{"pids zero is unlimited", flags("pids-limit", "0"), Resources{PidsLimit: i64(-1)}},
		{"io", flags("blkio-weight", "300", "blkio-weight-device", "/dev/sda:200",
			"device-read-bps", "/dev/sda:1mb", "device-read-bps", "/dev/sdb:2k", "device-write-bps", "/dev/sda:10m",
			"device-read-iops", "/dev/sda:100", "device-write-iops", "/dev/sda:50"),
			Resources{BlkioWeight: 300, BlkioWeightDevice: []WeightDevice{{"/dev/sda", 200}},
				ReadBps:  []ThrottleDevice{{"/dev/sda", 1 << 20}, {"/dev/sdb", 2048}},
				WriteBps: []ThrottleDevice{{"/dev/sda", 10 << 20}}, ReadIOPS: []ThrottleDevice{{"/dev/sda", 100}},
				WriteIOPS: []ThrottleDevice{{"/dev/sda", 50}}}},
		{"device path with a colon", flags("device-read-bps", "/dev/disk/by-path/pci-0:0:1:1mb"),
			Resources{ReadBps: []ThrottleDevice{{"/dev/disk/by-path/pci-0:0:1", 1 << 20}}}},
	} {
		r, err := parse(c.get, 4)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		r.Set = nil
		if !reflect.DeepEqual(*r, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, *r, c.want)
		}
	}
}

// TestParseBad: every bad value is refused with an error that names the
// flag and the value.
func TestParseBad(t *testing.T) {
	for _, c := range []struct {
		get        func(string) []string
		flag, val  string
		reasonPart string
	}{
		{flags("memory", "lots"), "memory", "lots", "not a size"},
		{flags("memory", "5m"), "memory", "5m", "6m"},
		{flags("memory", "-1"), "memory", "-1", "not a size"},
		{flags("memory-reservation", "x"), "memory-reservation", "x", "not a size"},
		{flags("memory", "512m", "memory-reservation", "1g"), "memory-reservation", "1g", "at most --memory"},
		{flags("memory-swap", "1g"), "memory-swap", "1g", "needs a --memory"},
		{flags("memory", "1g", "memory-swap", "512m"), "memory-swap", "512m", "at least --memory"},
		{flags("memory", "1g", "memory-swap", "-2"), "memory-swap", "-2", "-1 for unlimited"},
		{flags("cpus", "abc"), "cpus", "abc", "number of CPUs"},
		{flags("cpus", "0"), "cpus", "0", "0.01 to 4.00"},
		{flags("cpus", "5"), "cpus", "5", "0.01 to 4.00"},
		{flags("cpus", "NaN"), "cpus", "NaN", "number of CPUs"},
		{flags("cpus", "1", "cpu-quota", "50000"), "cpus", "1", "--cpu-quota"},
		{flags("cpu-shares", "1"), "cpu-shares", "1", "2 to 262144"},
		{flags("cpu-shares", "262145"), "cpu-shares", "262145", "2 to 262144"},
		{flags("cpu-quota", "500"), "cpu-quota", "500", "at least 1000"},
		{flags("cpu-period", "999"), "cpu-period", "999", "1000 to 1000000"},
		{flags("cpu-period", "1000001"), "cpu-period", "1000001", "1000 to 1000000"},
		{flags("cpuset-cpus", "0-"), "cpuset-cpus", "0-", "0-3,5"},
		{flags("cpuset-cpus", "3-1"), "cpuset-cpus", "3-1", "goes down"},
		{flags("cpuset-mems", "a"), "cpuset-mems", "a", "0-3,5"},
		{flags("pids-limit", "-2"), "pids-limit", "-2", "-1 for unlimited"},
		{flags("pids-limit", "ten"), "pids-limit", "ten", "-1 for unlimited"},
		{flags("blkio-weight", "9"), "blkio-weight", "9", "10 to 1000"},
		{flags("blkio-weight", "1001"), "blkio-weight", "1001", "10 to 1000"},
		{flags("blkio-weight-device", "/dev/sda"), "blkio-weight-device", "/dev/sda", "DEVICE:VALUE"},
		{flags("blkio-weight-device", "/dev/sda:5"), "blkio-weight-device", "/dev/sda:5", "10 to 1000"},
		{flags("device-read-bps", "sda:1mb"), "device-read-bps", "sda:1mb", "not a path under /dev"},
		{flags("device-read-bps", "/dev/sda:"), "device-read-bps", "/dev/sda:", "DEVICE:VALUE"},
		{flags("device-write-bps", "/dev/sda:fast"), "device-write-bps", "/dev/sda:fast", "positive size"},
		{flags("device-write-bps", "/dev/sda:0"), "device-write-bps", "/dev/sda:0", "positive size"},
		{flags("device-read-iops", "/dev/sda:1k"), "device-read-iops", "/dev/sda:1k", "whole number"},
		{flags("device-write-iops", "/dev/sda:0"), "device-write-iops", "/dev/sda:0", "whole number"},
	} {
		_, err := parse(c.get, 4)
		if err == nil {
			t.Errorf("--%s %q: accepted", c.flag, c.val)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "--"+c.flag+" ") || !strings.Contains(msg, `"`+c.val+`"`) || !strings.Contains(msg, c.reasonPart) {
			t.Errorf("--%s %q: error %q, want it to name the flag, the value and %q", c.flag, c.val, msg, c.reasonPart)
		}
	}
}

func TestControllers(t *testing.T) {
	r, err := parse(flags("pids-limit", "5", "memory", "1g", "cpus", "1", "memory-swap", "2g", "device-read-iops", "/dev/sda:3"), 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Controllers(), []string{"memory", "cpu", "pids", "io"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Controllers() = %v, want %v", got, want)
	}
}

func TestMerged(t *testing.T) {
	old, err := parse(flags("memory", "64m", "memory-swap", "96m", "cpus", "1", "pids-limit", "10"), 4)
	if err != nil {
		t.Fatal(err)
	}
	m, err := old.Merged([]FlagValue{{"memory", "80m"}, {"cpu-quota", "20000"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Memory != 80<<20 || *m.MemorySwap != 96<<20 || m.CPUQuota != 20000 || m.CPUPeriod != 0 || *m.PidsLimit != 10 {
		t.Errorf("merged: %+v", m)
	}
	// The whole is checked: memory above memory+swap is refused, naming
	// the flag.
	if _, err := old.Merged([]FlagValue{{"memory", "128m"}}); err == nil || !strings.Contains(err.Error(), "--memory-swap") {
		t.Errorf("memory over memory+swap: %v", err)
	}
	if _, err := old.Merged([]FlagValue{{"pids-limit", "many"}}); err == nil || !strings.Contains(err.Error(), `--pids-limit "many"`) {
		t.Errorf("bad value: %v", err)
	}
	// Nothing before: the flags alone.
	var none *Resources
	if m, err := none.Merged([]FlagValue{{"pids-limit", "5"}}); err != nil || *m.PidsLimit != 5 {
		t.Errorf("from nothing: %+v, %v", m, err)
	}
}
