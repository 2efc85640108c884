package api

import (
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/moby/moby/api/types/system"

	"github.com/myctr/myctr/frontend/container"
)

// ping answers GET and HEAD /_ping: "OK", with the API version the
// client negotiates down to in its headers.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Ostype", runtime.GOOS)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", "0")
		return
	}
	_, _ = w.Write([]byte("OK"))
}

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	v := system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "myctr"},
		Version:       s.b.Version,
		APIVersion:    APIVersion,
		MinAPIVersion: MinAPIVersion,
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		GoVersion:     runtime.Version(),
		KernelVersion: kernelVersion(),
		Components: []system.ComponentVersion{{
			Name: "myctr", Version: s.b.Version,
			Details: map[string]string{"APIVersion": APIVersion, "MinAPIVersion": MinAPIVersion, "Os": runtime.GOOS, "Arch": runtime.GOARCH},
		}},
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	cs, err := s.b.Containers.List()
	if err != nil {
		writeError(w, err)
		return
	}
	imgs, err := s.b.Images.List()
	if err != nil {
		writeError(w, err)
		return
	}
	host, _ := os.Hostname()
	info := system.Info{
		ID:              "myctr",
		Images:          len(imgs),
		Driver:          "overlay",
		LoggingDriver:   "k8s-file",
		CgroupDriver:    "none",
		KernelVersion:   kernelVersion(),
		OperatingSystem: operatingSystem(),
		OSType:          runtime.GOOS,
		Architecture:    runtime.GOARCH,
		NCPU:            runtime.NumCPU(),
		Name:            host,
		ServerVersion:   s.b.Version,
		SystemTime:      time.Now().Format(time.RFC3339Nano),
		SecurityOptions: []string{"name=seccomp,profile=default", "name=rootless"},
		DockerRootDir:   s.b.Containers.Dirs.Root,
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		info.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	for _, c := range cs {
		c.Refresh()
		info.Containers++
		switch {
		case c.Paused():
			info.ContainersPaused++
		case c.State.Status == container.StatusRunning:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	writeJSON(w, http.StatusOK, info)
}

// operatingSystem is os-release's PRETTY_NAME.
func operatingSystem() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}
