package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/labels"
)

// lookup finds the container of the path's {id}: a name, an id or a
// unique id prefix. Docker's "no such container" is the 404's message.
func (s *Server) lookup(r *http.Request) (*container.Container, error) {
	ref := strings.TrimPrefix(r.PathValue("id"), "/")
	c, err := s.b.Containers.Lookup(ref)
	if errors.Is(err, container.ErrNotFound) {
		return nil, withStatus(http.StatusNotFound, fmt.Errorf("No such container: %s", ref))
	}
	if err != nil {
		return nil, err
	}
	c.Refresh()
	return c, nil
}

// boolParam reads a query flag as Docker does: 1, true, True; absent is
// false.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("invalid %s=%q: want true or false", name, v)
	}
	return b, nil
}

// parseFilters reads the filters parameter: {"key": ["v", ...]}, or the
// older {"key": {"v": true}} that the docker CLI 20.10 still sends.
func parseFilters(raw string) (map[string][]string, error) {
	out := map[string][]string{}
	if raw == "" {
		return out, nil
	}
	var list map[string][]string
	if err := json.Unmarshal([]byte(raw), &list); err == nil {
		return list, nil
	}
	var set map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return nil, badRequest("invalid filters %q: want a JSON object of lists", raw)
	}
	for k, vs := range set {
		for v, on := range vs {
			if on {
				out[k] = append(out[k], v)
			}
		}
	}
	return out, nil
}

// containerFilter is the list's filters, checked before any is applied.
type containerFilter map[string][]string

func newContainerFilter(f map[string][]string) (containerFilter, error) {
	for k, vs := range f {
		switch k {
		case "label", "name", "id", "ancestor":
		case "health":
			for _, v := range vs {
				switch v {
				case container.HealthStarting, container.HealthHealthy, container.HealthUnhealthy, "none":
				default:
					return nil, badRequest("invalid filter 'health=%s'", v)
				}
			}
		case "status":
			for _, v := range vs {
				switch v {
				case "created", "running", "exited", "paused", "restarting", "removing", "dead":
				default:
					return nil, badRequest("invalid filter 'status=%s'", v)
				}
			}
		default:
			return nil, badRequest("invalid filter '%s': myctr's API filters containers by label, name, status, health, id and ancestor", k)
		}
	}
	return containerFilter(f), nil
}

// match: every key matches (any of its values; every label).
func (f containerFilter) match(c *container.Container) bool {
	anyOf := func(vs []string, ok func(string) bool) bool {
		if len(vs) == 0 {
			return true
		}
		for _, v := range vs {
			if ok(v) {
				return true
			}
		}
		return false
	}
	for _, l := range f["label"] {
		if !labels.Match(c.Labels, l) {
			return false
		}
	}
	return anyOf(f["name"], func(v string) bool { return strings.Contains(c.Name, strings.TrimPrefix(v, "/")) }) &&
		anyOf(f["id"], func(v string) bool { return strings.HasPrefix(c.ID, v) }) &&
		anyOf(f["ancestor"], func(v string) bool { return v == c.Image }) &&
		anyOf(f["status"], func(v string) bool { return dockerState(c) == v }) &&
		anyOf(f["health"], func(v string) bool {
			if c.Healthcheck == nil {
				return v == "none"
			}
			return c.HealthStatus() == v
		})
}

// dockerState is the container's state in Docker's words.
func dockerState(c *container.Container) string {
	if c.Paused() {
		return "paused"
	}
	switch c.State.Status {
	case container.StatusRunning:
		return "running"
	case container.StatusCreated:
		return "created"
	}
	return "exited"
}

// humanDuration is Docker's "About a minute", "3 hours".
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// statusLine is ps's STATUS column, as Docker words it.
func statusLine(c *container.Container) string {
	switch dockerState(c) {
	case "running":
		up := "Up " + humanDuration(time.Since(c.State.StartedAt))
		if h := c.HealthStatus(); h != "" {
			up += " (" + h + ")"
		}
		return up
	case "paused":
		return "Up " + humanDuration(time.Since(c.State.StartedAt)) + " (Paused)"
	case "created":
		return "Created"
	}
	if c.State.FinishedAt.IsZero() {
		return fmt.Sprintf("Exited (%d)", c.State.ExitCode)
	}
	return fmt.Sprintf("Exited (%d) %s ago", c.State.ExitCode, humanDuration(time.Since(c.State.FinishedAt)))
}

func portSummaries(c *container.Container) []ctypes.PortSummary {
	ports := c.HostConfig.PortBindings
	if c.Running() && len(c.State.Ports) > 0 {
		ports = c.State.Ports // with the host ports chosen
	}
	out := []ctypes.PortSummary{}
	for _, p := range ports {
		ps := ctypes.PortSummary{PrivatePort: p.ContainerPort, PublicPort: p.HostPort, Type: p.Protocol}
		// The docker CLI shows the host side only with its address.
		if p.HostPort != 0 {
			ps.IP = netip.IPv4Unspecified()
			if a, err := netip.ParseAddr(p.HostIP); err == nil {
				ps.IP = a
			}
		}
		out = append(out, ps)
	}
	return out
}

func (s *Server) containerList(w http.ResponseWriter, r *http.Request) {
	all, err := boolParam(r, "all")
	if err != nil {
		writeError(w, err)
		return
	}
	raw, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	f, err := newContainerFilter(raw)
	if err != nil {
		writeError(w, err)
		return
	}
	// An ancestor is an image as the store resolves it (a name with or
	// without its tag or registry, an id or its prefix); one that names
	// no image matches no container.
	for i, v := range f["ancestor"] {
		f["ancestor"][i] = "-"
		if img, err := s.b.Images.Lookup(v); err == nil {
			f["ancestor"][i] = img.ID
		}
	}
	cs, err := s.b.Containers.List()
	if err != nil {
		writeError(w, err)
		return
	}
	out := []ctypes.Summary{}
	for _, c := range cs {
		if c.BuildStep {
			continue
		}
		c.Refresh()
		if !all && !c.Running() && len(f["status"]) == 0 {
			continue
		}
		if !f.match(c) {
			continue
		}
		sum := ctypes.Summary{
			ID:      c.ID,
			Names:   []string{"/" + c.Name},
			Image:   c.ImageName,
			ImageID: "sha256:" + c.Image,
			Command: strings.Join(c.Args, " "),
			Created: c.Created.Unix(),
			Ports:   portSummaries(c),
			Labels:  c.Labels,
			State:   ctypes.ContainerState(dockerState(c)),
			Status:  statusLine(c),
			Mounts:  mountPoints(c),
		}
		sum.HostConfig.NetworkMode = c.HostConfig.NetworkMode
		sum.NetworkSettings = &ctypes.NetworkSettingsSummary{Networks: s.endpointSettings(c)}
		out = append(out, sum)
	}
	writeJSON(w, http.StatusOK, out)
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (s *Server) containerInspect(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var path string
	var args []string
	if len(c.Args) > 0 {
		path, args = c.Args[0], c.Args[1:]
	}
	ep, cmd := c.ConfigCmd()
	running := c.Running()
	st := &ctypes.State{
		Status:     ctypes.ContainerState(dockerState(c)),
		Running:    running,
		Paused:     c.Paused(), // Docker's: Running and Paused
		OOMKilled:  c.State.OOMKilled,
		ExitCode:   c.State.ExitCode,
		Error:      c.State.Error,
		StartedAt:  timeString(c.State.StartedAt),
		FinishedAt: timeString(c.State.FinishedAt),
	}
	if running {
		st.Pid = c.State.Pid
	}
	if h := c.State.Health; h != nil && c.Healthcheck != nil {
		st.Health = &ctypes.Health{Status: ctypes.HealthStatus(h.Status), FailingStreak: h.FailingStreak, Log: []*ctypes.HealthcheckResult{}}
		for _, r := range h.Log {
			st.Health.Log = append(st.Health.Log, &ctypes.HealthcheckResult{Start: r.Start, End: r.End, ExitCode: r.ExitCode, Output: r.Output})
		}
	}
	hc := c.HostConfig
	resp := ctypes.InspectResponse{
		ID:      c.ID,
		Created: timeString(c.Created),
		Path:    path,
		Args:    args,
		State:   st,
		Image:   "sha256:" + c.Image,
		LogPath: c.LogPath(),
		Name:    "/" + c.Name,
		Driver:  "overlay",
		Mounts:  mountPoints(c),
		Config: &ctypes.Config{
			Image:       c.ImageName,
			Cmd:         cmd,
			Entrypoint:  ep,
			Labels:      c.Labels,
			Tty:         hc.Tty,
			OpenStdin:   hc.Interactive,
			Healthcheck: apiHealthConfig(c.Healthcheck),
		},
		HostConfig: &ctypes.HostConfig{
			Binds:         hc.Binds,
			NetworkMode:   ctypes.NetworkMode(hc.NetworkMode),
			IpcMode:       ctypes.IpcMode(hc.IpcMode),
			AutoRemove:    hc.AutoRemove,
			RestartPolicy: ctypes.RestartPolicy{Name: ctypes.RestartPolicyMode(hc.RestartPolicy.Name), MaximumRetryCount: int(hc.RestartPolicy.MaximumRetryCount)},
			CapAdd:        hc.CapAdd,
			CapDrop:       hc.CapDrop,
			DNS:           dnsAddrs(hc.Dns),
			DNSSearch:     hc.DnsSearch,
			DNSOptions:    hc.DnsOptions,
			GroupAdd:      hc.GroupAdd,
			ShmSize:       hc.ShmSize,
		},
		NetworkSettings: &ctypes.NetworkSettings{},
		RestartCount:    int(c.RestartCount),
	}
	resp.NetworkSettings.Networks = s.endpointSettings(c)
	resp.HostConfig.Resources = inspectResources(hc.Resources)
	resp.HostConfig.Ulimits = hc.Ulimits
	for _, d := range hc.Devices {
		resp.HostConfig.Devices = append(resp.HostConfig.Devices, ctypes.DeviceMapping{PathOnHost: d.PathOnHost, PathInContainer: d.PathInContainer, CgroupPermissions: d.CgroupPermissions})
	}
	resp.HostConfig.LogConfig = ctypes.LogConfig{Type: dockerLogDriver(hc.LogDriver)}
	s.fillConfig(c, &resp)
	writeJSON(w, http.StatusOK, withDefaultAddress(resp))
}

func (s *Server) containerCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decodeCreate(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	o, err := createOptions(req, r.URL.Query().Get("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	// docker run --platform: the host's only, as myctr run's.
	if p, err := image.ParsePlatform(r.URL.Query().Get("platform"), "", "", ""); err != nil || !image.IsHostPlatform(p) {
		writeError(w, badRequest("platform %q: myctr runs images of this machine's platform, linux/%s", r.URL.Query().Get("platform"), runtime.GOARCH))
		return
	}
	img, err := s.b.Images.Lookup(req.Image)
	if errors.Is(err, image.ErrImageUnknown) {
		// The docker CLI pulls on this 404, then creates again.
		writeError(w, withStatus(http.StatusNotFound, fmt.Errorf("No such image: %s", req.Image)))
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.Images.VerifyLayers(img); err != nil {
		writeError(w, err)
		return
	}
	o.ImageID = img.ID
	o.ImageName = image.CreatedName(req.Image, img.Names)
	o.ImageDigest = img.Digest.String()
	o.Image = img.Config.Config
	if h, err := s.b.Images.ImageHealthcheck(img); err != nil {
		writeError(w, err)
		return
	} else if h != nil {
		o.ImageHealthcheck = &container.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	if req.HostConfig != nil && req.HostConfig.PublishAllPorts {
		if err := publishAll(o, img.Config.Config.ExposedPorts, req.ExposedPorts); err != nil {
			writeError(w, err)
			return
		}
	}
	for i := len(img.LayerDirs) - 1; i >= 0; i-- {
		o.Lower = append(o.Lower, img.LayerDirs[i])
	}
	if o.Network == "" && s.b.DefaultNetwork != nil {
		if o.Network, o.NetworkOptions, err = s.b.DefaultNetwork(); err != nil {
			writeError(w, err)
			return
		}
	}
	if err := s.hostDefaults(o, req); err != nil {
		writeError(w, err)
		return
	}
	var warn bytes.Buffer
	o.Warn = &warn
	c, err := s.b.Containers.Create(o, s.b.Mapping)
	if err != nil {
		writeError(w, err)
		return
	}
	warnings := []string{}
	for _, l := range strings.Split(strings.TrimSpace(warn.String()), "\n") {
		if l != "" {
			warnings = append(warnings, l)
		}
	}
	writeJSON(w, http.StatusCreated, ctypes.CreateResponse{ID: c.ID, Warnings: warnings})
}

func (s *Server) containerStart(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := container.RefusePaused(c, "start"); err != nil {
		writeError(w, err)
		return
	}
	if c.Running() {
		writeError(w, errNotModified)
		return
	}
	if err := s.start(c); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// intParam reads an integer query parameter; absent gives def.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("invalid %s=%q: want a number", name, v)
	}
	return n, nil
}

// stopTimeout reads stop's and restart's t= (seconds; the container's
// own timeout when absent, none when negative).
func stopTimeout(r *http.Request, c *container.Container) (time.Duration, error) {
	t, err := intParam(r, "t", int(container.StopTimeoutOf(c)/time.Second))
	if err != nil {
		return 0, err
	}
	return time.Duration(max(t, 0)) * time.Second, nil
}

func (s *Server) containerStop(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	t, err := stopTimeout(r, c)
	if err != nil {
		writeError(w, err)
		return
	}
	if !c.Running() {
		writeError(w, errNotModified)
		return
	}
	if err := s.b.Containers.Stop(c, t); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) containerKill(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name := r.URL.Query().Get("signal")
	if name == "" {
		name = "KILL"
	}
	sig, err := container.ParseSignal(name)
	if err != nil {
		writeError(w, withStatus(http.StatusBadRequest, err))
		return
	}
	if !c.Running() {
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("Container %s is not running", c.ID)))
		return
	}
	if err := s.b.Containers.Signal(c, sig); err != nil {
		if errors.Is(err, container.ErrNotRunning) {
			err = withStatus(http.StatusConflict, fmt.Errorf("Container %s is not running", c.ID))
		}
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) containerRemove(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	force, err := boolParam(r, "force")
	if err != nil {
		writeError(w, err)
		return
	}
	vols, err := boolParam(r, "v")
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.Containers.Remove(c, force); err != nil {
		if errors.Is(err, container.ErrRunning) {
			err = withStatus(http.StatusConflict, fmt.Errorf("You cannot remove a running container %s. Stop the container before attempting removal or force remove", c.ID))
		}
		writeError(w, err)
		return
	}
	_ = s.b.Containers.ReleaseCgroup(c)
	if vols {
		_ = s.b.Containers.RemoveAnonymousVolumes(c)
	}
	w.WriteHeader(http.StatusNoContent)
}

// waitPoll is how often a wait reads the container's record.
const waitPoll = 50 * time.Millisecond

// waitCondition reads wait's condition= (Docker's three; none is
// not-running).
func waitCondition(r *http.Request) (ctypes.WaitCondition, error) {
	switch c := ctypes.WaitCondition(r.URL.Query().Get("condition")); c {
	case "":
		return ctypes.WaitConditionNotRunning, nil
	case ctypes.WaitConditionNotRunning, ctypes.WaitConditionNextExit, ctypes.WaitConditionRemoved:
		return c, nil
	default:
		return "", badRequest("invalid condition %q: want not-running, next-exit or removed", c)
	}
}

// waitFor blocks until c meets cond, and returns its exit code.
//   - not-running: the container is not running (a created one
//     counts, as in Docker).
//   - next-exit: a run that ends after the wait began.
//   - removed: the container is gone; its exit code is then the
//     "died" event the monitor recorded before removing it (--rm).
//
// A container removed before its exit was seen answers its died event
// too, so `docker run --rm` keeps the exit code.
func (s *Server) waitFor(ctx context.Context, c *container.Container, cond ctypes.WaitCondition) (int, error) {
	began := time.Now()
	for {
		cur, err := s.b.Containers.Lookup(c.ID)
		if errors.Is(err, container.ErrNotFound) {
			if code, ok := s.diedCode(c.ID, began); ok {
				return code, nil
			}
			return -1, fmt.Errorf("container %s was removed and no exit code of it is recorded (is the events backend none?)", c.ID)
		}
		if err != nil {
			return -1, err
		}
		cur.Refresh()
		exited := cur.State.Status == container.StatusExited
		switch cond {
		case ctypes.WaitConditionNotRunning:
			// The record, not the pid: between the process's end and
			// the monitor's record of it, the exit code is not known.
			if cur.State.Status != container.StatusRunning {
				return cur.State.ExitCode, nil
			}
		case ctypes.WaitConditionNextExit:
			if exited && cur.State.FinishedAt.After(began) {
				return cur.State.ExitCode, nil
			}
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(waitPoll):
		}
	}
}

// diedCode is the exit code of id's last died event since began; ok is
// false when none is recorded (the events backend is none).
func (s *Server) diedCode(id string, since time.Time) (code int, ok bool) {
	_ = events.Read(context.Background(), s.b.RunRoot, events.ReadOptions{
		Since: since.Add(-time.Second),
		Match: func(e events.Event) bool { return e.ID == id && e.Status == "died" && e.ContainerExitCode != nil },
	}, func(e events.Event) error {
		code, ok = *e.ContainerExitCode, true
		return nil
	})
	return code, ok
}

func (s *Server) containerWait(w http.ResponseWriter, r *http.Request) {
	cond, err := waitCondition(r)
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	// Docker sends the headers at once, so that a client may start the
	// container once the wait is in place; the body comes at the end.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	code, err := s.waitFor(r.Context(), c, cond)
	resp := ctypes.WaitResponse{StatusCode: int64(code)}
	if err != nil {
		resp.Error = &ctypes.WaitExitError{Message: err.Error()}
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// dockerLogDriver is the log driver in Docker's words. myctr's own log
// file (k8s-file) is what docker logs reads, which clients know as
// json-file: docker-py's containers.run returns the output only for
// json-file and journald.
func dockerLogDriver(d string) string {
	switch d {
	case container.LogJournald, container.LogNone:
		return d
	}
	return "json-file"
}

// dnsAddrs is a container's DNS servers as the Docker API's types hold
// them (--dns none, the image's file, shows as none).
func dnsAddrs(servers []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range servers {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// apiHealthConfig is the record's healthcheck as the API's Config has it.
func apiHealthConfig(h *container.HealthConfig) *ctypes.HealthConfig {
	if h == nil {
		return nil
	}
	return &ctypes.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
}
