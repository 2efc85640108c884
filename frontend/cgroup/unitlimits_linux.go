package cgroup

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A scope's limits are written into its cgroup files by the caller, and
// also given to systemd as the unit's own settings: systemd writes the
// cgroup files of its units again from their settings whenever it
// reloads (systemctl daemon-reload, which package installs run), and
// would put back memory.max "max" and pids.max DefaultTasksMax over the
// container's limits (seen with systemd 252). runc does the same.

// unitLimits turns the limits r into the unit settings under which
// systemd writes the files V2Files gives: MemoryMax, MemoryLow,
// MemorySwapMax, TasksMax, CPUWeight, CPUQuotaPerSecUSec and
// CPUQuotaPeriodUSec, AllowedCPUs, AllowedMemoryNodes, IOWeight,
// IODeviceWeight and the IO{Read,Write}{Bandwidth,IOPS}Max lists (the
// device as /dev/block/MAJOR:MINOR, which systemd resolves).
//
// systemd keeps a CPU quota as a whole percent of a CPU in the unit's
// file, which a reload reads back: a quota is rounded up to the next
// 10 ms per second there, as runc rounds it, so that a reload never
// lowers it (cpu.max itself holds the exact quota until then).
func unitLimits(r *specs.LinuxResources) ([]sd.Property, error) {
	if r == nil {
		return nil, nil
	}
	files, err := V2Files(r)
	if err != nil {
		return nil, err
	}
	var props []sd.Property
	add := func(name string, v any) { props = append(props, sd.Property{Name: name, Value: godbus.MakeVariant(v)}) }
	devs := map[string][]ioDevice{}
	var devOrder []string
	addDev := func(name string, d ioDevice) {
		if _, ok := devs[name]; !ok {
			devOrder = append(devOrder, name)
		}
		devs[name] = append(devs[name], d)
	}
	for _, f := range files {
		switch f.Name {
		case "memory.max", "memory.low", "memory.swap.max", "pids.max", "cpu.weight":
			n, err := limitValue(f.Value)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", f.Name, f.Value, err)
			}
			add(map[string]string{"memory.max": "MemoryMax", "memory.low": "MemoryLow", "memory.swap.max": "MemorySwapMax",
				"pids.max": "TasksMax", "cpu.weight": "CPUWeight"}[f.Name], n)
		case "cpu.max":
			q, p, ok := strings.Cut(f.Value, " ")
			period, err := strconv.ParseUint(p, 10, 64)
			if !ok || err != nil || period == 0 {
				return nil, fmt.Errorf("cpu.max %q: not QUOTA PERIOD", f.Value)
			}
			perSec := uint64(math.MaxUint64)
			if q != "max" {
				quota, err := strconv.ParseUint(q, 10, 64)
				if err != nil || quota > math.MaxUint64/1000000 {
					return nil, fmt.Errorf("cpu.max %q: not a quota in microseconds", f.Value)
				}
				perSec = quota * 1000000 / period
				if perSec%10000 != 0 || quota*1000000%period != 0 {
					perSec = (perSec/10000 + 1) * 10000
				}
			}
			add("CPUQuotaPerSecUSec", perSec)
			add("CPUQuotaPeriodUSec", period)
		case "cpuset.cpus", "cpuset.mems":
			mask, err := cpusetMask(f.Value)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", f.Name, f.Value, err)
			}
			add(map[string]string{"cpuset.cpus": "AllowedCPUs", "cpuset.mems": "AllowedMemoryNodes"}[f.Name], mask)
		case "io.weight":
			dev, w, _ := strings.Cut(f.Value, " ")
			n, err := strconv.ParseUint(w, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("io.weight %q: %w", f.Value, err)
			}
			if dev == "default" {
				add("IOWeight", n)
			} else {
				addDev("IODeviceWeight", ioDevice{"/dev/block/" + dev, n})
			}
		case "io.max":
			dev, kv, _ := strings.Cut(f.Value, " ")
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			name := map[string]string{"rbps": "IOReadBandwidthMax", "wbps": "IOWriteBandwidthMax", "riops": "IOReadIOPSMax", "wiops": "IOWriteIOPSMax"}[k]
			if err != nil || name == "" {
				return nil, fmt.Errorf("io.max %q: not MAJOR:MINOR KEY=VALUE", f.Value)
			}
			addDev(name, ioDevice{"/dev/block/" + dev, n})
		default:
			return nil, fmt.Errorf("%s: no systemd setting writes it", f.Name)
		}
	}
	for _, name := range devOrder {
		add(name, devs[name])
	}
	return props, nil
}

// ioDevice is one entry of systemd's per-device IO settings (a(st)).
type ioDevice struct {
	Path  string
	Value uint64
}

// limitValue reads a cgroup file's number, "max" as systemd's infinity.
func limitValue(s string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// maxCPUIndex bounds the CPUs and memory nodes a cpuset list may name
// (the kernel's NR_CPUS is at most 8192).
const maxCPUIndex = 8191

// cpusetMask turns a cpuset list ("0-3,6") into systemd's bit mask: bit
// i of byte i/8 for CPU (or node) i.
func cpusetMask(list string) ([]byte, error) {
	var mask []byte
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number or range", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a number or range", part)
			}
		}
		if b > maxCPUIndex {
			return nil, fmt.Errorf("%d is beyond the last possible CPU %d", b, maxCPUIndex)
		}
		for i := a; i <= b; i++ {
			for uint64(len(mask)) <= i/8 {
				mask = append(mask, 0)
			}
			mask[i/8] |= 1 << (i % 8)
		}
	}
	return mask, nil
}

// SetScopeLimits gives a running scope new limits as its unit's settings
// (see unitLimits), for this boot: the caller writes the files too.
func SetScopeLimits(ctx context.Context, b Bus, unit string, r *specs.LinuxResources) error {
	props, err := unitLimits(r)
	if err != nil || len(props) == 0 {
		return err
	}
	conn, err := b.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetUnitPropertiesContext(ctx, unit, true, props...); err != nil {
		return &ManagerError{Op: "set the limits of " + unit, Err: err}
	}
	return nil
}
