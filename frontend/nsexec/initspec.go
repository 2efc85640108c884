package nsexec

import (
	"bytes"
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The init decodes its configuration (MsgConfig) into the types below: the
// runtime spec's Spec, Process and Linux with only the fields that myctr's
// own containers have, field for field as specs-go spells them. encoding/json
// builds its cache of a struct type's fields on the type's first decode, in
// proportion to its fields, and the init decodes one message: on the full
// types that took 1.8 ms of the init's start (median, the configuration of
// a `run --rm` decoded in a fresh process), on these 1.1 ms. A message with
// any field these lack (an OCI bundle's spec may have any) is decoded again
// on the full types, exactly as before: nothing a message holds is dropped.

// initMessage is Message with Init's spec in the lean types.
type initMessage struct {
	Message
	Init *leanInitConfig `json:",omitempty"`
}

// leanInitConfig is InitConfig with its spec in the lean types.
type leanInitConfig struct {
	InitConfig
	Spec *leanSpec
}

type leanSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *leanProcess      `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *leanLinux        `json:"linux,omitempty"`
}

type leanProcess struct {
	Terminal        bool                     `json:"terminal,omitempty"`
	ConsoleSize     *specs.Box               `json:"consoleSize,omitempty"`
	User            specs.User               `json:"user"`
	Args            []string                 `json:"args,omitempty"`
	Env             []string                 `json:"env,omitempty"`
	Cwd             string                   `json:"cwd"`
	Capabilities    *specs.LinuxCapabilities `json:"capabilities,omitempty"`
	Rlimits         []specs.POSIXRlimit      `json:"rlimits,omitempty"`
	NoNewPrivileges bool                     `json:"noNewPrivileges,omitempty"`
	OOMScoreAdj     *int                     `json:"oomScoreAdj,omitempty"`
}

type leanLinux struct {
	UIDMappings       []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
	GIDMappings       []specs.LinuxIDMapping `json:"gidMappings,omitempty"`
	Sysctl            map[string]string      `json:"sysctl,omitempty"`
	CgroupsPath       string                 `json:"cgroupsPath,omitempty"`
	Namespaces        []specs.LinuxNamespace `json:"namespaces,omitempty"`
	Devices           []specs.LinuxDevice    `json:"devices,omitempty"`
	RootfsPropagation string                 `json:"rootfsPropagation,omitempty"`
	MaskedPaths       []string               `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string               `json:"readonlyPaths,omitempty"`
}

// decodeInitMessage decodes b as Message, through the lean types when
// every field of b has its place there, else as decodeMessage does.
func decodeInitMessage(b []byte) (*Message, error) {
	var lm initMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lm); err != nil || len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return decodeMessage(b)
	}
	m := lm.Message
	if lm.Init != nil {
		cfg := lm.Init.InitConfig
		cfg.Spec = lm.Init.Spec.full()
		m.Init = &cfg
	}
	return &m, nil
}

// decodeMessage decodes b as Message.
func decodeMessage(b []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// full is s in the runtime spec's own types.
func (s *leanSpec) full() *specs.Spec {
	if s == nil {
		return nil
	}
	out := &specs.Spec{
		Version:     s.Version,
		Root:        s.Root,
		Hostname:    s.Hostname,
		Domainname:  s.Domainname,
		Mounts:      s.Mounts,
		Hooks:       s.Hooks,
		Annotations: s.Annotations,
	}
	if p := s.Process; p != nil {
		out.Process = &specs.Process{
			Terminal:        p.Terminal,
			ConsoleSize:     p.ConsoleSize,
			User:            p.User,
			Args:            p.Args,
			Env:             p.Env,
			Cwd:             p.Cwd,
			Capabilities:    p.Capabilities,
			Rlimits:         p.Rlimits,
			NoNewPrivileges: p.NoNewPrivileges,
			OOMScoreAdj:     p.OOMScoreAdj,
		}
	}
	if l := s.Linux; l != nil {
		out.Linux = &specs.Linux{
			UIDMappings:       l.UIDMappings,
			GIDMappings:       l.GIDMappings,
			Sysctl:            l.Sysctl,
			CgroupsPath:       l.CgroupsPath,
			Namespaces:        l.Namespaces,
			Devices:           l.Devices,
			RootfsPropagation: l.RootfsPropagation,
			MaskedPaths:       l.MaskedPaths,
			ReadonlyPaths:     l.ReadonlyPaths,
		}
	}
	return out
}
