package cgroup

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DeviceLookup gives a block device's major and minor numbers.
type DeviceLookup func(path string) (major, minor int64, err error)

// OCI returns the limits as the OCI spec's linux.resources, as Podman
// fills it for crun. Device paths are resolved with lookup.
func (r *Resources) OCI(lookup DeviceLookup) (*specs.LinuxResources, error) {
	out := &specs.LinuxResources{}
	if r.Memory != 0 || r.MemoryReservation != 0 || r.MemorySwap != nil {
		m := &specs.LinuxMemory{}
		if r.Memory != 0 {
			m.Limit = ptr(r.Memory)
		}
		if r.MemoryReservation != 0 {
			m.Reservation = ptr(r.MemoryReservation)
		}
		if r.MemorySwap != nil {
			m.Swap = ptr(*r.MemorySwap)
		}
		out.Memory = m
	}
	if r.CPUShares != 0 || r.CPUQuota != 0 || r.CPUPeriod != 0 || r.CpusetCPUs != "" || r.CpusetMems != "" {
		c := &specs.LinuxCPU{Cpus: r.CpusetCPUs, Mems: r.CpusetMems}
		if r.CPUShares != 0 {
			c.Shares = ptr(r.CPUShares)
		}
		if r.CPUQuota != 0 {
			c.Quota = ptr(r.CPUQuota)
		}
		if r.CPUPeriod != 0 {
			c.Period = ptr(r.CPUPeriod)
		}
		out.CPU = c
	}
	if r.PidsLimit != nil {
		out.Pids = &specs.LinuxPids{Limit: ptr(*r.PidsLimit)}
	}
	dev := func(path string) (specs.LinuxBlockIODevice, error) {
		maj, min, err := lookup(path)
		if err != nil {
			return specs.LinuxBlockIODevice{}, err
		}
		return specs.LinuxBlockIODevice{Major: maj, Minor: min}, nil
	}
	throttle := func(in []ThrottleDevice) ([]specs.LinuxThrottleDevice, error) {
		var o []specs.LinuxThrottleDevice
		for _, t := range in {
			d, err := dev(t.Path)
			if err != nil {
				return nil, err
			}
			o = append(o, specs.LinuxThrottleDevice{LinuxBlockIODevice: d, Rate: t.Rate})
		}
		return o, nil
	}
	if r.BlkioWeight != 0 || len(r.BlkioWeightDevice)+len(r.ReadBps)+len(r.WriteBps)+len(r.ReadIOPS)+len(r.WriteIOPS) > 0 {
		b := &specs.LinuxBlockIO{}
		if r.BlkioWeight != 0 {
			b.Weight = ptr(r.BlkioWeight)
		}
		for _, w := range r.BlkioWeightDevice {
			d, err := dev(w.Path)
			if err != nil {
				return nil, err
			}
			b.WeightDevice = append(b.WeightDevice, specs.LinuxWeightDevice{LinuxBlockIODevice: d, Weight: ptr(w.Weight)})
		}
		var err error
		if b.ThrottleReadBpsDevice, err = throttle(r.ReadBps); err != nil {
			return nil, err
		}
		if b.ThrottleWriteBpsDevice, err = throttle(r.WriteBps); err != nil {
			return nil, err
		}
		if b.ThrottleReadIOPSDevice, err = throttle(r.ReadIOPS); err != nil {
			return nil, err
		}
		if b.ThrottleWriteIOPSDevice, err = throttle(r.WriteIOPS); err != nil {
			return nil, err
		}
		out.BlockIO = b
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }

// File is one write to a cgroup v2 interface file.
type File struct {
	Name  string
	Value string
}

// SharesToWeight converts cgroup v1 cpu.shares (2..262144) to cgroup v2
// cpu.weight (1..10000), as runc and crun do.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	return 1 + ((shares-2)*9999)/262142
}

// BlkioToIOWeight converts a blkio weight (10..1000) to io.weight
// (1..10000), as runc and crun do.
func BlkioToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (uint64(w)-10)*9999/990
}

// SwapMax converts the OCI memory.swap (memory plus swap) to cgroup v2
// memory.swap.max (swap alone), as runc does: -1 is "max", 0 unset.
func SwapMax(swap, limit int64) (string, error) {
	switch {
	case swap == 0:
		return "", nil
	case swap == -1:
		return "max", nil
	case limit == 0:
		return "", fmt.Errorf("a swap limit needs a memory limit")
	case limit == -1:
		return "", fmt.Errorf("a swap limit cannot go with an unlimited memory limit")
	case swap < limit:
		return "", fmt.Errorf("memory plus swap (%d) is less than memory (%d)", swap, limit)
	}
	return strconv.FormatInt(swap-limit, 10), nil
}

func maxOr(n int64) string {
	if n < 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

// V2Files turns linux.resources into the writes to cgroup v2 files that
// runc's and crun's rules give, in the order they are written.
func V2Files(r *specs.LinuxResources) ([]File, error) {
	var out []File
	add := func(name, value string) { out = append(out, File{name, value}) }
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			add("cpu.weight", strconv.FormatUint(SharesToWeight(*c.Shares), 10))
		}
		var quota int64
		var period uint64
		if c.Quota != nil {
			quota = *c.Quota
		}
		if c.Period != nil {
			period = *c.Period
		}
		if quota != 0 || period != 0 {
			q := "max"
			if quota > 0 {
				q = strconv.FormatInt(quota, 10)
			}
			if period == 0 {
				period = 100000
			}
			add("cpu.max", q+" "+strconv.FormatUint(period, 10))
		}
		if c.Cpus != "" {
			add("cpuset.cpus", c.Cpus)
		}
		if c.Mems != "" {
			add("cpuset.mems", c.Mems)
		}
	}
	if m := r.Memory; m != nil {
		var limit, swap int64
		if m.Limit != nil {
			limit = *m.Limit
		}
		if m.Swap != nil {
			swap = *m.Swap
		}
		// swap first: memory.swap.max does not depend on memory.max, but
		// an error must come before any write.
		s, err := SwapMax(swap, limit)
		if err != nil {
			return nil, err
		}
		if s != "" {
			add("memory.swap.max", s)
		}
		if limit != 0 {
			add("memory.max", maxOr(limit))
		}
		if m.Reservation != nil && *m.Reservation != 0 {
			add("memory.low", maxOr(*m.Reservation))
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		if *p.Limit <= 0 {
			add("pids.max", "max")
		} else {
			add("pids.max", strconv.FormatInt(*p.Limit, 10))
		}
	}
	if b := r.BlockIO; b != nil {
		if b.Weight != nil && *b.Weight != 0 {
			add("io.weight", "default "+strconv.FormatUint(BlkioToIOWeight(*b.Weight), 10))
		}
		for _, w := range b.WeightDevice {
			if w.Weight != nil {
				add("io.weight", fmt.Sprintf("%d:%d %d", w.Major, w.Minor, BlkioToIOWeight(*w.Weight)))
			}
		}
		for _, t := range []struct {
			key string
			l   []specs.LinuxThrottleDevice
		}{{"rbps", b.ThrottleReadBpsDevice}, {"wbps", b.ThrottleWriteBpsDevice}, {"riops", b.ThrottleReadIOPSDevice}, {"wiops", b.ThrottleWriteIOPSDevice}} {
			for _, d := range t.l {
				add("io.max", fmt.Sprintf("%d:%d %s=%d", d.Major, d.Minor, t.key, d.Rate))
			}
		}
	}
	return out, nil
}
