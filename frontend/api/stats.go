package api

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/container"
)

// containerTop serves GET /containers/{id}/top (ps_args): container.Top,
// what `myctr top` prints, which reads the host's /proc and runs no ps.
// ps_args are therefore top's descriptors (pid,user,args, or ps's AIX
// codes), not ps(1)'s options: "-ef" is a 400 naming the descriptors.
func (s *Server) containerTop(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var args []string
	if a := r.URL.Query().Get("ps_args"); a != "" {
		args = []string{a}
	}
	desc, err := container.TopDescriptors(args)
	if err != nil {
		writeError(w, badRequest("ps_args: %v (myctr's top takes descriptors such as pid,user,args, not ps options)", err))
		return
	}
	if !c.Running() {
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("Container %s is not running", c.ID)))
		return
	}
	rows, err := container.Top(c, desc)
	if errors.Is(err, container.ErrNotRunning) {
		err = withStatus(http.StatusConflict, fmt.Errorf("Container %s is not running", c.ID))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	resp := ctypes.TopResponse{Titles: []string{}, Processes: [][]string{}}
	if len(rows) > 0 {
		resp.Titles, resp.Processes = rows[0], append(resp.Processes, rows[1:]...)
	}
	writeJSON(w, http.StatusOK, resp)
}

// statsInterval is how often a stream of stats samples, as Docker's.
const statsInterval = time.Second

// errNoCgroup is a running container whose use cannot be measured.
var errNoCgroup = errors.New("stats need the container's own cgroup")

// sample reads c's cgroup as `myctr stats` does (cgroup.ReadSample), and
// the host's CPU time; a stopped container has no sample (nil).
func sample(c *container.Container) (*cgroup.Sample, uint64, error) {
	if !c.Running() {
		return nil, 0, nil
	}
	if c.State.Cgroup == nil {
		return nil, 0, withStatus(http.StatusConflict, fmt.Errorf("%w: %s has none (containers get one on cgroup v2 with a systemd user manager; `myctr info` shows where they come from)", errNoCgroup, c.Name))
	}
	cur, err := cgroup.ReadSample(c.State.Cgroup.Dir(), "/proc", c.State.Pid)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", c.Name, err)
	}
	sys, err := systemCPU("/proc/stat")
	if err != nil {
		return nil, 0, err
	}
	return cur, sys, nil
}

// systemCPU is the host's CPU time in nanoseconds, from the cpu line of
// /proc/stat (user to steal, in clock ticks of 1/100 s): the base the
// docker CLI divides a container's CPU time by for its percentage.
func systemCPU(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read the host's CPU time: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] != "cpu" {
			continue
		}
		var ticks uint64
		for _, v := range fields[1:8] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read the host's CPU time: %s: bad field %q", path, v)
			}
			ticks += n
		}
		return ticks * (uint64(time.Second) / 100), nil
	}
	return 0, fmt.Errorf("read the host's CPU time: no cpu line in %s", path)
}

// statsPoint is one sample with the host's CPU time then.
type statsPoint struct {
	s   *cgroup.Sample
	sys uint64
}

// statsResponse is Docker's StatsResponse of c from cur and the sample
// before it (zero for none); a stopped container's (cur.s nil) has its
// name and id alone, as Docker's.
func statsResponse(c *container.Container, cur, prev statsPoint, cpus int) ctypes.StatsResponse {
	out := ctypes.StatsResponse{ID: c.ID, Name: "/" + c.Name, OSType: "linux"}
	if cur.s == nil {
		return out
	}
	out.Read = cur.s.Time
	out.CPUStats = ctypes.CPUStats{
		CPUUsage:    ctypes.CPUUsage{TotalUsage: cur.s.CPUUsec * 1000},
		SystemUsage: cur.sys,
		OnlineCPUs:  uint32(cpus),
	}
	if prev.s != nil {
		out.PreRead = prev.s.Time
		out.PreCPUStats = ctypes.CPUStats{
			CPUUsage:    ctypes.CPUUsage{TotalUsage: prev.s.CPUUsec * 1000},
			SystemUsage: prev.sys,
			OnlineCPUs:  uint32(cpus),
		}
	}
	// Usage is memory.current less inactive_file already, so the stats
	// map holds no inactive_file for the client to subtract again.
	out.MemoryStats = ctypes.MemoryStats{Usage: cur.s.MemUsage, Limit: cur.s.MemLimit, Stats: map[string]uint64{}}
	out.PidsStats = ctypes.PidsStats{Current: cur.s.PIDs}
	if cur.s.HasIO {
		out.BlkioStats.IoServiceBytesRecursive = []ctypes.BlkioStatEntry{
			{Op: "read", Value: cur.s.BlkRead},
			{Op: "write", Value: cur.s.BlkWrite},
		}
	}
	if cur.s.HasNet {
		// The sample sums the namespace's interfaces (but lo).
		out.Networks = map[string]ctypes.NetworkStats{"total": {RxBytes: cur.s.NetRx, TxBytes: cur.s.NetTx}}
	}
	return out
}

// containerStats serves GET /containers/{id}/stats: one sample with
// stream=false (after a second, for a CPU figure between two samples,
// unless one-shot), else one each second until the client goes away or
// the container stops.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	stream := true
	if r.URL.Query().Get("stream") != "" {
		if stream, err = boolParam(r, "stream"); err != nil {
			writeError(w, err)
			return
		}
	}
	oneShot, err := boolParam(r, "one-shot")
	if err != nil {
		writeError(w, err)
		return
	}
	if oneShot && stream {
		writeError(w, badRequest("cannot have stream=true and one-shot=true"))
		return
	}
	cpus := runtime.NumCPU()
	cs, sys, err := sample(c)
	if err != nil {
		writeError(w, err)
		return
	}
	first := statsPoint{cs, sys}
	enc, flush := jsonStream(w)
	if !stream {
		prev, cur := statsPoint{}, first
		if !oneShot && cs != nil {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(statsInterval):
			}
			prev = first
			if cur.s, cur.sys, err = sample(c); err != nil || cur.s == nil {
				cur, prev = first, statsPoint{}
			}
		}
		_ = enc.Encode(statsResponse(c, cur, prev, cpus))
		return
	}
	prev, cur := statsPoint{}, first
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		if err := enc.Encode(statsResponse(c, cur, prev, cpus)); err != nil {
			return
		}
		flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		c.Refresh()
		next, sys, err := sample(c)
		if err != nil {
			return
		}
		if cur.s != nil {
			prev = cur
		}
		cur = statsPoint{next, sys}
	}
}
