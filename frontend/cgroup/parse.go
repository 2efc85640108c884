package cgroup

import (
	"fmt"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Resources are the limits the run flags ask for. Zero values mean unset;
// the pointers tell "unset" from an explicit value.
type Resources struct {
	Memory            int64  // --memory, bytes
	MemoryReservation int64  // --memory-reservation, bytes
	MemorySwap        *int64 // --memory-swap: memory+swap in bytes, -1 unlimited
	CPUShares         uint64 // --cpu-shares (2..262144)
	CPUQuota          int64  // --cpu-quota, microseconds per period (-1 or 0: unlimited)
	CPUPeriod         uint64 // --cpu-period, microseconds (1000..1000000)
	CpusetCPUs        string // --cpuset-cpus
	CpusetMems        string // --cpuset-mems
	PidsLimit         *int64 // --pids-limit, -1 (or 0) unlimited
	BlkioWeight       uint16 // --blkio-weight (10..1000)

	BlkioWeightDevice []WeightDevice   // --blkio-weight-device PATH:WEIGHT
	ReadBps           []ThrottleDevice // --device-read-bps PATH:RATE
	WriteBps          []ThrottleDevice // --device-write-bps PATH:RATE
	ReadIOPS          []ThrottleDevice // --device-read-iops PATH:RATE
	WriteIOPS         []ThrottleDevice // --device-write-iops PATH:RATE

	// Set lists the flags given, in the order of Flags, with their values
	// as typed: the errors name them.
	Set []FlagValue
}

// FlagValue is one resource flag as the user typed it.
type FlagValue struct {
	Flag  string // without the dashes
	Value string
}

// WeightDevice is a per-device I/O weight.
type WeightDevice struct {
	Path   string
	Weight uint16
}

// ThrottleDevice is a per-device I/O limit, in bytes or operations per
// second.
type ThrottleDevice struct {
	Path string
	Rate uint64
}

// Empty reports whether no resource flag was given.
func (r *Resources) Empty() bool { return len(r.Set) == 0 }

// Flag describes one resource flag: its name, what it means and the cgroup
// v2 controller it needs.
type Flag struct {
	Name       string
	Usage      string
	Controller string
	Multi      bool // may repeat
}

// Flags are the resource flags of run, as Podman 4.3 spells them.
var Flags = []Flag{
	{"memory", "memory limit (e.g. 512m, 1g; at least 6m)", "memory", false},
	{"memory-reservation", "memory soft limit (memory.low)", "memory", false},
	{"memory-swap", "memory plus swap limit (e.g. 1g), -1 for unlimited swap; needs --memory", "memory", false},
	{"cpus", "number of CPUs (e.g. 1.5): a quota of that many periods", "cpu", false},
	{"cpu-shares", "CPU shares, relative weight (2..262144)", "cpu", false},
	{"cpu-quota", "CPU time in microseconds per --cpu-period (-1: unlimited)", "cpu", false},
	{"cpu-period", "CPU CFS period in microseconds (1000..1000000)", "cpu", false},
	{"cpuset-cpus", "CPUs the container may use (e.g. 0-3,5)", "cpuset", false},
	{"cpuset-mems", "memory nodes the container may use (e.g. 0-1)", "cpuset", false},
	{"pids-limit", "maximum number of processes (-1: unlimited)", "pids", false},
	{"blkio-weight", "block I/O weight (10..1000)", "io", false},
	{"blkio-weight-device", "block I/O weight of a device: PATH:WEIGHT (10..1000)", "io", true},
	{"device-read-bps", "read rate limit of a device: PATH:RATE (e.g. /dev/sda:1mb)", "io", true},
	{"device-write-bps", "write rate limit of a device: PATH:RATE (e.g. /dev/sda:1mb)", "io", true},
	{"device-read-iops", "read operations per second of a device: PATH:COUNT", "io", true},
	{"device-write-iops", "write operations per second of a device: PATH:COUNT", "io", true},
}

// controllerOf returns the controller a flag needs.
func controllerOf(flag string) string {
	for _, f := range Flags {
		if f.Name == flag {
			return f.Controller
		}
	}
	return ""
}

// FlagError is a resource flag with a value it cannot take.
type FlagError struct {
	Flag, Value, Reason string
}

func (e *FlagError) Error() string {
	return fmt.Sprintf("invalid --%s %q: %s", e.Flag, e.Value, e.Reason)
}

// MinMemory is Podman's smallest --memory.
const MinMemory = 6 * 1024 * 1024

var sizeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`) })

// ParseSize reads a size as Podman does (go-units' RAMInBytes): a number
// with an optional binary unit b, k, m, g, t or p ("512m", "1.5g",
// "1024", "1mb").
func ParseSize(s string) (int64, error) {
	m := sizeRE().FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("not a size: a number with an optional unit b, k, m, g, t or p")
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("not a size: %v", err)
	}
	mult := 1.0
	switch strings.ToLower(m[2]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	case "p":
		mult = 1 << 50
	}
	v := n * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("too large")
	}
	return int64(v), nil
}

var cpuListRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d+(-\d+)?(,\d+(-\d+)?)*$`) })

// checkList checks a cpuset list ("0-3,5") and that every range goes up.
func checkList(s string) error {
	if !cpuListRE().MatchString(s) {
		return fmt.Errorf("not a list of numbers and ranges such as 0-3,5")
	}
	for _, part := range strings.Split(s, ",") {
		if lo, hi, ok := strings.Cut(part, "-"); ok {
			a, err1 := strconv.ParseUint(lo, 10, 32)
			b, err2 := strconv.ParseUint(hi, 10, 32)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("number out of range")
			}
			if a > b {
				return fmt.Errorf("range %s goes down", part)
			}
		} else if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return fmt.Errorf("number out of range")
		}
	}
	return nil
}

// devicePair splits PATH:VALUE; PATH must be absolute and under /dev.
func devicePair(s string) (string, string, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", "", fmt.Errorf("want DEVICE:VALUE, e.g. /dev/sda:1mb")
	}
	path, val := s[:i], s[i+1:]
	if !strings.HasPrefix(path, "/dev/") {
		return "", "", fmt.Errorf("the device %q is not a path under /dev", path)
	}
	if val == "" {
		return "", "", fmt.Errorf("want DEVICE:VALUE, e.g. /dev/sda:1mb")
	}
	return path, val, nil
}

// Parse reads the resource flags: get returns the values given for a flag
// (none when it was not given). It checks each value and the combinations
// Podman refuses; numCPU is the number of CPUs --cpus may ask for.
func Parse(get func(flag string) []string) (*Resources, error) {
	return parse(get, runtime.NumCPU())
}

func parse(get func(flag string) []string, numCPU int) (*Resources, error) {
	r := &Resources{}
	var cpus float64
	for _, f := range Flags {
		vals := get(f.Name)
		if len(vals) > 1 && !f.Multi {
			vals = vals[len(vals)-1:] // the last one wins, as with any flag
		}
		for _, v := range vals {
			if f.Name == "memory" && v == "0" {
				// As Podman and Docker: 0 is no limit.
				continue
			}
			r.Set = append(r.Set, FlagValue{f.Name, v})
			bad := func(format string, a ...any) error {
				return &FlagError{Flag: f.Name, Value: v, Reason: fmt.Sprintf(format, a...)}
			}
			switch f.Name {
			case "memory", "memory-reservation":
				n, err := ParseSize(v)
				if err != nil {
					return nil, bad("%v", err)
				}
				if f.Name == "memory" {
					if n < MinMemory {
						return nil, bad("the smallest memory limit is 6m")
					}
					r.Memory = n
				} else {
					r.MemoryReservation = n
				}
			case "memory-swap":
				var n int64
				if v == "-1" {
					n = -1
				} else {
					var err error
					if n, err = ParseSize(v); err != nil {
						return nil, bad("%v (or -1 for unlimited swap)", err)
					}
				}
				r.MemorySwap = &n
			case "cpus":
				n, err := strconv.ParseFloat(v, 64)
				if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
					return nil, bad("not a number of CPUs such as 1.5")
				}
				if n < 0.01 || n > float64(numCPU) {
					return nil, bad("the range of CPUs is from 0.01 to %d.00, as there are %d CPUs", numCPU, numCPU)
				}
				cpus = n
			case "cpu-shares":
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil || n < 2 || n > 262144 {
					return nil, bad("shares are a whole number from 2 to 262144")
				}
				r.CPUShares = n
			case "cpu-quota":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || (n < 1000 && n != -1 && n != 0) {
					return nil, bad("the quota is a number of microseconds, at least 1000, or -1 for unlimited")
				}
				r.CPUQuota = n
			case "cpu-period":
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil || n < 1000 || n > 1000000 {
					return nil, bad("the period is a number of microseconds from 1000 to 1000000")
				}
				r.CPUPeriod = n
			case "cpuset-cpus", "cpuset-mems":
				if err := checkList(v); err != nil {
					return nil, bad("%v", err)
				}
				if f.Name == "cpuset-cpus" {
					r.CpusetCPUs = v
				} else {
					r.CpusetMems = v
				}
			case "pids-limit":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < -1 {
					return nil, bad("the limit is a whole number of processes, or -1 for unlimited")
				}
				if n == 0 {
					n = -1
				}
				r.PidsLimit = &n
			case "blkio-weight":
				n, err := strconv.ParseUint(v, 10, 16)
				if err != nil || n < 10 || n > 1000 {
					return nil, bad("the weight is a whole number from 10 to 1000")
				}
				r.BlkioWeight = uint16(n)
			case "blkio-weight-device":
				path, w, err := devicePair(v)
				if err != nil {
					return nil, bad("%v", err)
				}
				n, err := strconv.ParseUint(w, 10, 16)
				if err != nil || n < 10 || n > 1000 {
					return nil, bad("the weight is a whole number from 10 to 1000")
				}
				r.BlkioWeightDevice = append(r.BlkioWeightDevice, WeightDevice{path, uint16(n)})
			case "device-read-bps", "device-write-bps":
				path, rate, err := devicePair(v)
				if err != nil {
					return nil, bad("%v", err)
				}
				n, err := ParseSize(rate)
				if err != nil || n <= 0 {
					return nil, bad("the rate is a positive size per second, e.g. 1mb")
				}
				td := ThrottleDevice{path, uint64(n)}
				if f.Name == "device-read-bps" {
					r.ReadBps = append(r.ReadBps, td)
				} else {
					r.WriteBps = append(r.WriteBps, td)
				}
			case "device-read-iops", "device-write-iops":
				path, rate, err := devicePair(v)
				if err != nil {
					return nil, bad("%v", err)
				}
				n, err := strconv.ParseUint(rate, 10, 64)
				if err != nil || n == 0 {
					return nil, bad("the rate is a positive whole number of operations per second")
				}
				td := ThrottleDevice{path, n}
				if f.Name == "device-read-iops" {
					r.ReadIOPS = append(r.ReadIOPS, td)
				} else {
					r.WriteIOPS = append(r.WriteIOPS, td)
				}
			}
		}
	}
	if err := r.combine(cpus, get); err != nil {
		return nil, err
	}
	return r, nil
}

// combine checks the flags that depend on each other, and turns --cpus
// into a quota of 100ms periods as Podman does.
func (r *Resources) combine(cpus float64, get func(string) []string) error {
	last := func(flag string) string {
		v := get(flag)
		return v[len(v)-1]
	}
	if cpus > 0 {
		if r.CPUQuota != 0 || r.CPUPeriod != 0 {
			return &FlagError{Flag: "cpus", Value: last("cpus"), Reason: "cannot be used with --cpu-quota or --cpu-period"}
		}
		r.CPUPeriod = 100000
		r.CPUQuota = int64(cpus * 100000)
	}
	if r.MemorySwap != nil {
		if r.Memory == 0 {
			return &FlagError{Flag: "memory-swap", Value: last("memory-swap"), Reason: "needs a --memory limit"}
		}
		if *r.MemorySwap != -1 && *r.MemorySwap < r.Memory {
			return &FlagError{Flag: "memory-swap", Value: last("memory-swap"), Reason: "must be at least --memory (it counts memory plus swap)"}
		}
	}
	if r.MemoryReservation != 0 && r.Memory != 0 && r.MemoryReservation > r.Memory {
		return &FlagError{Flag: "memory-reservation", Value: last("memory-reservation"), Reason: "must be at most --memory"}
	}
	return nil
}

// Controllers lists the cgroup v2 controllers the flags given need, each
// once, in the order of Flags.
func (r *Resources) Controllers() []string {
	var out []string
	seen := map[string]bool{}
	for _, fv := range r.Set {
		c := controllerOf(fv.Flag)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// Merged returns the limits of r with the flags n given in their place,
// as `update` changes them: a flag given again replaces its old values,
// and --cpus and --cpu-quota/--cpu-period replace each other. The result
// is parsed and checked as a whole (--memory-swap against the --memory
// in force, and so on).
func (r *Resources) Merged(n []FlagValue) (*Resources, error) {
	drop := map[string]bool{}
	for _, fv := range n {
		drop[fv.Flag] = true
		switch fv.Flag {
		case "cpus":
			drop["cpu-quota"], drop["cpu-period"] = true, true
		case "cpu-quota", "cpu-period":
			drop["cpus"] = true
		}
	}
	var all []FlagValue
	if r != nil {
		for _, fv := range r.Set {
			if !drop[fv.Flag] {
				all = append(all, fv)
			}
		}
	}
	all = append(all, n...)
	return Parse(func(flag string) []string {
		var v []string
		for _, fv := range all {
			if fv.Flag == flag {
				v = append(v, fv.Value)
			}
		}
		return v
	})
}
