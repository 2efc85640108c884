package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
)

// hostDefaults gives o what `myctr run` gives a container beyond its
// request: the resource limits and where its cgroup comes from
// (container.ApplyCgroup), and containers.conf's defaults
// (container.ApplyContainersConf), by the same functions the CLI calls.
// It runs once o's network is chosen (the default sysctls depend on it).
func (s *Server) hostDefaults(o *container.CreateOptions, req *ctypes.CreateRequest) error {
	cc := s.b.Conf
	if cc == nil {
		cc = &config.Containers{}
	}
	flags, err := resourceFlags(req.HostConfig)
	if err != nil {
		return err
	}
	// The service's containers outlive it: never in its unit's cgroup
	// (InUnit false), each in a cgroup of its own where the host has one.
	if err := container.ApplyCgroup(o, container.CgroupRequest{
		Get: func(flag string) []string { return flags[flag] },
	}, cc); err != nil {
		return withHint(http.StatusBadRequest, err)
	}
	initSet := false
	var sysctls []string
	if hc := req.HostConfig; hc != nil {
		initSet = hc.Init != nil
		sysctls = sysctlList(hc.Sysctls)
	}
	if err := container.ApplyContainersConf(o, cc, initSet, sysctls); err != nil {
		if errors.Is(err, config.ErrBadConfig) {
			return withStatus(http.StatusInternalServerError, err)
		}
		return withHint(http.StatusBadRequest, err)
	}
	return nil
}

// withHint is err with code, and its fix in the message where it knows
// one (a client shows only the message).
func withHint(code int, err error) error {
	var h container.Hinter
	if errors.As(err, &h) {
		return withStatus(code, fmt.Errorf("%w (%s)", err, h.Hint()))
	}
	return withStatus(code, err)
}

// inspectResources is a container's limits as HostConfig shows them.
func inspectResources(r *cgroup.Resources) ctypes.Resources {
	var out ctypes.Resources
	if r == nil {
		return out
	}
	out.Memory = r.Memory
	out.MemoryReservation = r.MemoryReservation
	if r.MemorySwap != nil {
		out.MemorySwap = *r.MemorySwap
	}
	out.CPUShares = int64(r.CPUShares)
	out.CPUQuota = r.CPUQuota
	out.CPUPeriod = int64(r.CPUPeriod)
	out.CpusetCpus, out.CpusetMems = r.CpusetCPUs, r.CpusetMems
	out.PidsLimit = r.PidsLimit
	out.BlkioWeight = r.BlkioWeight
	for _, f := range r.Set {
		if f.Flag == "cpus" {
			if v, err := strconv.ParseFloat(f.Value, 64); err == nil {
				out.NanoCPUs = int64(v * 1e9)
			}
		}
	}
	return out
}

// containerUpdate serves POST /containers/{id}/update (docker update):
// the limits, as the flags of `myctr update`, through
// Store.UpdateResources: in the container's cgroup while it runs, and in
// its record for its next start. A new restart policy is not
// implemented.
func (s *Server) containerUpdate(w http.ResponseWriter, r *http.Request) {
	var uc ctypes.UpdateConfig
	if err := decodeBody(r, &uc, "update configuration"); err != nil {
		writeError(w, err)
		return
	}
	if uc.RestartPolicy.Name != "" {
		writeError(w, withStatus(http.StatusNotImplemented, errors.New("a new RestartPolicy is not implemented by myctr's API service: the policy is chosen at create")))
		return
	}
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	flags, err := resourceFlags(&ctypes.HostConfig{Resources: uc.Resources})
	if err != nil {
		writeError(w, err)
		return
	}
	var given []cgroup.FlagValue
	for _, f := range cgroup.Flags {
		for _, v := range flags[f.Name] {
			given = append(given, cgroup.FlagValue{Flag: f.Name, Value: v})
		}
	}
	if len(given) == 0 {
		writeError(w, badRequest("no limit to change"))
		return
	}
	if err := s.b.Containers.UpdateResources(c, given); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, container.ErrNoCgroup) {
			code = http.StatusConflict
		}
		writeError(w, withHint(code, err))
		return
	}
	writeJSON(w, http.StatusOK, ctypes.UpdateResponse{Warnings: []string{}})
}
