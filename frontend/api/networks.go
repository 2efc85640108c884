package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	nettypes "github.com/moby/moby/api/types/network"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/netstore"
	"github.com/myctr/myctr/frontend/network"
)

// The networks endpoints work on the named networks of `myctr network`
// (frontend/netstore), as its verbs do. Docker's predefined "bridge"
// network is the rootless default (pasta or slirp4netns): it is listed
// and inspected so that clients which look it up work, but it is no
// record, and cannot be removed or connected to.

// networkRoutes are the networks endpoints (bounded by MaxBody).
func (s *Server) networkRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /networks":                  s.networkList,
		"GET /networks/{id}":             s.networkInspect,
		"POST /networks/create":          s.networkCreate,
		"DELETE /networks/{id}":          s.networkRemove,
		"POST /networks/{id}/connect":    s.networkConnect,
		"POST /networks/{id}/disconnect": s.networkDisconnect,
		"POST /networks/prune":           s.networkPrune,
	}
}

// defaultNetworkName is the name Docker's clients know the default
// network by.
const defaultNetworkName = "bridge"

// defaultNetwork describes the rootless default in netstore's fields.
func defaultNetwork() *netstore.Network {
	sum := sha256.Sum256([]byte(defaultNetworkName))
	return &netstore.Network{Name: defaultNetworkName, ID: hex.EncodeToString(sum[:]), Driver: netstore.DriverBridge}
}

// defaultSubnet gives d the subnet and gateway of the rootless default
// where it is pasta or slirp4netns (network.Config's layout, a /24 around
// the container's address); the helper's bridge and an unreadable
// configuration leave IPAM's Config empty, as a network without one.
func (s *Server) defaultSubnet(d *netstore.Network) {
	if s.b.DefaultNetwork == nil {
		return
	}
	mode, opts, err := s.b.DefaultNetwork()
	if err != nil || (mode != network.ModePasta && mode != network.ModeSlirp4netns) {
		return
	}
	cfg := network.Config{Mode: mode, Options: opts}
	ip, err := netip.ParseAddr(cfg.ContainerIP())
	if err != nil {
		return
	}
	p, _ := ip.Prefix(24)
	d.Subnets = []netstore.Subnet{{Subnet: p.String(), Gateway: cfg.Gateway()}}
}

// predefinedError is Docker's 403 for a change to a predefined network.
func predefinedError(verb string) error {
	return withStatus(http.StatusForbidden, fmt.Errorf("%s is a pre-defined network and cannot be %s", defaultNetworkName, verb))
}

// network finds a network by name, id or unique id prefix; Docker's
// "network X not found" is the 404's message.
func (s *Server) network(ref string) (*netstore.Network, error) {
	if d := defaultNetwork(); ref == d.Name || ref == d.ID {
		s.defaultSubnet(d)
		return d, nil
	}
	n, err := s.b.Networks.Get(ref)
	switch {
	case errors.Is(err, netstore.ErrNoSuchNetwork):
		return nil, withStatus(http.StatusNotFound, fmt.Errorf("network %s not found", ref))
	case errors.Is(err, netstore.ErrAmbiguous):
		return nil, withStatus(http.StatusBadRequest, err)
	}
	return n, err
}

// networkStatus is the status of a netstore error.
func networkStatus(err error) error {
	switch {
	case errors.Is(err, netstore.ErrExists):
		return withStatus(http.StatusConflict, err)
	case errors.Is(err, netstore.ErrReservedName):
		return withStatus(http.StatusForbidden, err)
	case errors.Is(err, netstore.ErrInvalidArg), errors.Is(err, netstore.ErrSubnetUsed),
		errors.Is(err, netstore.ErrNoFreeSubnet), errors.Is(err, netstore.ErrHelperSettings):
		return withStatus(http.StatusBadRequest, err)
	}
	return err
}

// networkSummary is n in Docker's words.
func networkSummary(n *netstore.Network) nettypes.Network {
	out := nettypes.Network{
		Name:       n.Name,
		ID:         n.ID,
		Created:    n.Created,
		Scope:      "local",
		Driver:     n.Driver,
		EnableIPv4: true,
		EnableIPv6: n.IPv6Enabled,
		Internal:   n.Internal,
		IPAM:       nettypes.IPAM{Driver: "default", Options: n.IPAMOptions, Config: []nettypes.IPAMConfig{}},
		Options:    map[string]string{},
		Labels:     map[string]string{},
		ConfigFrom: nettypes.ConfigReference{Network: ""},
	}
	for k, v := range n.Options {
		if k == "mtu" {
			k = mtuOption
		}
		out.Options[k] = v
	}
	for k, v := range n.Labels {
		out.Labels[k] = v
	}
	for _, sn := range n.Subnets {
		var c nettypes.IPAMConfig
		c.Subnet, _ = netip.ParsePrefix(sn.Subnet)
		c.Gateway, _ = netip.ParseAddr(sn.Gateway)
		out.IPAM.Config = append(out.IPAM.Config, c)
	}
	return out
}

// mtuOption is Docker's name of the bridge driver's mtu option.
const mtuOption = "com.docker.network.driver.mtu"

// networkFilter reads GET /networks' and prune's filters into netstore's
// (name, id, label, label!, driver, dangling, until; type=custom or
// builtin is Docker's own).
func networkFilter(r *http.Request, allowed []string) (*netstore.Filter, map[string]bool, error) {
	raw, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return nil, nil, err
	}
	types := map[string]bool{}
	var list []string
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range raw[k] {
			if k == "type" {
				if v != "custom" && v != "builtin" {
					return nil, nil, badRequest("invalid filter 'type=%s': custom or builtin", v)
				}
				types[v] = true
				continue
			}
			if k == "label" && strings.Contains(v, "!=") {
				// Docker's label!=K=V in the label key: netstore's label!.
				k, v = "label!", strings.Replace(v, "!=", "=", 1)
			}
			list = append(list, k+"="+v)
		}
	}
	f, err := netstore.ParseFilter(list, allowed, time.Now())
	if err != nil {
		return nil, nil, withStatus(http.StatusBadRequest, err)
	}
	return f, types, nil
}

func (s *Server) networkList(w http.ResponseWriter, r *http.Request) {
	f, types, err := networkFilter(r, netstore.ListFilterKeys)
	if err != nil {
		writeError(w, err)
		return
	}
	all, err := s.b.Networks.List()
	if err != nil {
		writeError(w, err)
		return
	}
	out := []nettypes.Summary{}
	if d := defaultNetwork(); (len(types) == 0 || types["builtin"]) && f.Match(d, true) {
		s.defaultSubnet(d)
		out = append(out, nettypes.Summary{Network: networkSummary(d)})
	}
	for _, n := range all {
		if len(types) > 0 && !types["custom"] {
			continue
		}
		users, err := s.b.Containers.NetworkUsers(n.Name)
		if err != nil {
			writeError(w, err)
			return
		}
		if f.Match(n, len(users) > 0) {
			out = append(out, nettypes.Summary{Network: networkSummary(n)})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) networkInspect(w http.ResponseWriter, r *http.Request) {
	n, err := s.network(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	resp := nettypes.Inspect{Network: networkSummary(n), Containers: map[string]nettypes.EndpointResource{}}
	if n.Name != defaultNetworkName {
		ctrs, err := s.b.Containers.OnNetwork(n.Name)
		if err != nil {
			writeError(w, err)
			return
		}
		for _, c := range ctrs {
			c.Refresh()
			e := nettypes.EndpointResource{Name: c.Name}
			if b := c.State.Networks[n.Name]; b != nil && c.Running() {
				e.IPv4Address, _ = netip.ParsePrefix(b.Address)
				e.IPv6Address, _ = netip.ParsePrefix(b.Address6)
			}
			resp.Containers[c.ID] = e
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// networkCreateOptions turns a create request into netstore's options:
// the bridge driver, one IPv4 and at most one IPv6 subnet, each with its
// gateway; what myctr's networks cannot be is a 400 naming it.
func networkCreateOptions(req *nettypes.CreateRequest) (netstore.CreateOptions, error) {
	o := netstore.CreateOptions{Name: req.Name, Internal: req.Internal, Labels: req.Labels, Driver: netstore.DriverBridge}
	if req.Name == "" {
		return o, badRequest("network create needs a Name")
	}
	if req.Driver != "" && req.Driver != netstore.DriverBridge {
		return o, badRequest("network driver %q is not supported: myctr's networks are bridge", req.Driver)
	}
	switch {
	case req.Scope != "" && req.Scope != "local":
		return o, badRequest("network scope %q is not supported: myctr's networks are local", req.Scope)
	case req.Ingress || req.ConfigOnly || (req.ConfigFrom != nil && req.ConfigFrom.Network != ""):
		// Attachable is swarm's word for what every local network is.
		return o, badRequest("Ingress, ConfigOnly and ConfigFrom are swarm's: myctr's networks have none")
	case req.EnableIPv4 != nil && !*req.EnableIPv4:
		return o, badRequest("EnableIPv4 false is not supported: myctr's networks have IPv4")
	}
	o.IPv6 = req.EnableIPv6 != nil && *req.EnableIPv6
	for k, v := range req.Options {
		if k == mtuOption {
			k = "mtu"
		}
		if o.Options == nil {
			o.Options = map[string]string{}
		}
		o.Options[k] = v
	}
	if ipam := req.IPAM; ipam != nil {
		if ipam.Driver != "" && ipam.Driver != "default" {
			return o, badRequest("IPAM driver %q is not supported: myctr's networks use the default", ipam.Driver)
		}
		if len(ipam.Options) > 0 {
			return o, badRequest("IPAM options are not supported")
		}
		for _, c := range ipam.Config {
			if c.IPRange.IsValid() || len(c.AuxAddress) > 0 {
				return o, badRequest("IPAM IPRange and AuxiliaryAddresses are not supported: give Subnet and Gateway")
			}
			if !c.Subnet.IsValid() {
				return o, badRequest("IPAM config without a Subnet")
			}
			gw := ""
			if c.Gateway.IsValid() {
				gw = c.Gateway.String()
			}
			switch {
			case c.Subnet.Addr().Is4() && o.Subnet == "":
				o.Subnet, o.Gateway = c.Subnet.String(), gw
			case c.Subnet.Addr().Is6() && o.Subnet6 == "":
				o.Subnet6, o.Gateway6 = c.Subnet.String(), gw
			default:
				return o, badRequest("IPAM subnet %s: a second subnet of its family (a network has one IPv4 and at most one IPv6 subnet)", c.Subnet)
			}
		}
	}
	return o, nil
}

func (s *Server) networkCreate(w http.ResponseWriter, r *http.Request) {
	var req nettypes.CreateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, withStatus(http.StatusRequestEntityTooLarge, err))
			return
		}
		writeError(w, badRequest("decode the network's configuration: %v", err))
		return
	}
	if req.Name == defaultNetworkName || req.Name == "host" || req.Name == "none" {
		writeError(w, withStatus(http.StatusForbidden, fmt.Errorf("operation is not permitted on predefined %s network", req.Name)))
		return
	}
	o, err := networkCreateOptions(&req)
	if err != nil {
		writeError(w, err)
		return
	}
	n, err := s.b.Networks.Create(o)
	if errors.Is(err, netstore.ErrExists) {
		// Docker's words.
		err = withStatus(http.StatusConflict, fmt.Errorf("network with name %s already exists", req.Name))
	}
	if err != nil {
		writeError(w, networkStatus(err))
		return
	}
	writeJSON(w, http.StatusCreated, nettypes.CreateResponse{ID: n.ID})
}

func (s *Server) networkRemove(w http.ResponseWriter, r *http.Request) {
	n, err := s.network(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if n.Name == defaultNetworkName {
		writeError(w, predefinedError("removed"))
		return
	}
	if _, err := s.b.Networks.Remove(n.ID, s.b.Containers); err != nil {
		if errors.Is(err, netstore.ErrInUse) {
			// Docker's words.
			err = withStatus(http.StatusConflict, fmt.Errorf("error while removing network: network %s id %s has active endpoints", n.Name, n.ID))
		}
		writeError(w, networkStatus(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) networkPrune(w http.ResponseWriter, r *http.Request) {
	f, _, err := networkFilter(r, netstore.PruneFilterKeys)
	if err != nil {
		writeError(w, err)
		return
	}
	gone, err := s.b.Networks.Prune(s.b.Containers, func(n *netstore.Network) bool { return f.Match(n, false) })
	if err != nil {
		writeError(w, err)
		return
	}
	if gone == nil {
		gone = []string{}
	}
	writeJSON(w, http.StatusOK, nettypes.PruneReport{NetworksDeleted: gone})
}

// attachTarget reads a connect's or disconnect's network and container.
func (s *Server) attachTarget(r *http.Request, ref string) (*netstore.Network, *container.Container, error) {
	n, err := s.network(r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	if n.Name == defaultNetworkName {
		return nil, nil, withStatus(http.StatusForbidden, fmt.Errorf("containers cannot be connected to or disconnected from %s, the rootless default: use a network of network create", defaultNetworkName))
	}
	c, err := s.b.Containers.Lookup(strings.TrimPrefix(ref, "/"))
	if errors.Is(err, container.ErrNotFound) {
		return nil, nil, withStatus(http.StatusNotFound, fmt.Errorf("No such container: %s", ref))
	}
	if err != nil {
		return nil, nil, err
	}
	c.Refresh()
	return n, c, nil
}

func decodeBody(r *http.Request, v any, what string) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		if e := bodyError(err); statusOf(e) == http.StatusRequestEntityTooLarge {
			return e
		}
		return badRequest("decode the %s: %v", what, err)
	}
	return nil
}

// bodyError is the answer to a failed read of a request body: 413 past
// the route's limit, else 400.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return withStatus(http.StatusRequestEntityTooLarge, err)
	}
	return badRequest("read the body: %v", err)
}

func (s *Server) networkConnect(w http.ResponseWriter, r *http.Request) {
	var req nettypes.ConnectRequest
	if err := decodeBody(r, &req, "connect request"); err != nil {
		writeError(w, err)
		return
	}
	n, c, err := s.attachTarget(r, req.Container)
	if err != nil {
		writeError(w, err)
		return
	}
	a, err := endpointAttach(n.Name, req.EndpointConfig)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.Containers.Connect(c, s.b.Mapping, n.Name, a); err != nil {
		if errors.Is(err, container.ErrNetworkConnected) {
			err = withStatus(http.StatusForbidden, err)
		}
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) networkDisconnect(w http.ResponseWriter, r *http.Request) {
	var req nettypes.DisconnectRequest
	if err := decodeBody(r, &req, "disconnect request"); err != nil {
		writeError(w, err)
		return
	}
	n, c, err := s.attachTarget(r, req.Container)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.Containers.Disconnect(c, n.Name); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// endpointAttach is what an endpoint's settings ask of the named network
// name, as run's --network-alias and --ip: aliases and an IPv4 address;
// the rest of Docker's settings a 400 naming it.
func endpointAttach(name string, e *nettypes.EndpointSettings) (container.NetworkAttach, error) {
	var a container.NetworkAttach
	if e == nil {
		return a, nil
	}
	for _, al := range e.Aliases {
		if !names.Valid(al) {
			return a, badRequest("network %s: invalid alias %q: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*", name, al)
		}
		a.Aliases = append(a.Aliases, al)
	}
	if c := e.IPAMConfig; c != nil {
		if c.IPv6Address.IsValid() || len(c.LinkLocalIPs) > 0 {
			return a, badRequest("network %s: IPv6Address and LinkLocalIPs are not supported: the addresses are the network's choice but for IPv4Address", name)
		}
		if c.IPv4Address.IsValid() {
			a.IP = c.IPv4Address.String()
		}
	}
	if len(e.Links) > 0 {
		return a, badRequest("network %s: links are not supported: containers on a network reach each other by name", name)
	}
	if len(e.MacAddress) > 0 {
		return a, badRequest("network %s: MacAddress is not supported: the MAC address is the kernel's choice", name)
	}
	return a, nil
}

// endpointSettings is inspect's NetworkSettings.Networks: c's named
// networks, with its address and gateway there while it runs, as
// `myctr inspect` shows them; a container on the rootless default is on
// "bridge" in Docker's words.
func (s *Server) endpointSettings(c *container.Container) map[string]*nettypes.EndpointSettings {
	out := map[string]*nettypes.EndpointSettings{}
	running := c.Running()
	for _, name := range c.NamedNetworks() {
		e := &nettypes.EndpointSettings{NetworkID: name, Aliases: c.Networks[name].Aliases}
		if s.b.Networks == nil {
			// No store: the name stands for the id.
		} else if n, err := s.b.Networks.Get(name); err == nil {
			e.NetworkID = n.ID
		}
		if b := c.State.Networks[name]; b != nil && running {
			fillEndpoint(e, b)
		}
		out[name] = e
	}
	switch mode := c.HostConfig.NetworkMode; {
	case len(out) > 0, mode == "none", mode == "host", strings.HasPrefix(mode, container.NetContainerPrefix):
	default:
		e := &nettypes.EndpointSettings{NetworkID: defaultNetwork().ID}
		switch {
		case !running:
		case c.State.Bridge != nil:
			fillEndpoint(e, c.State.Bridge)
		case mode == network.ModePasta || mode == network.ModeSlirp4netns:
			// The same layout in both modes: network.Config's addresses.
			cfg := network.Config{Mode: mode, Options: c.HostConfig.NetworkOptions}
			e.IPAddress, _ = netip.ParseAddr(cfg.ContainerIP())
			e.Gateway, _ = netip.ParseAddr(cfg.Gateway())
			if e.IPAddress.IsValid() {
				e.IPPrefixLen = 24
			}
		}
		out[defaultNetworkName] = e
	}
	return out
}

// inspectBody is a container's inspect with the fields of the default
// network that API 1.41 still has at the top of NetworkSettings (the
// moby types of later versions dropped them; 1.41's clients read them).
type inspectBody struct {
	ctypes.InspectResponse
	NetworkSettings legacySettings
}

type legacySettings struct {
	*ctypes.NetworkSettings
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	MacAddress  string
}

// withDefaultAddress adds resp's address on the default network to the
// top of its NetworkSettings.
func withDefaultAddress(resp ctypes.InspectResponse) inspectBody {
	out := inspectBody{InspectResponse: resp, NetworkSettings: legacySettings{NetworkSettings: resp.NetworkSettings}}
	if resp.NetworkSettings == nil {
		return out
	}
	if e := resp.NetworkSettings.Networks[defaultNetworkName]; e != nil && e.IPAddress.IsValid() {
		out.NetworkSettings.IPAddress, out.NetworkSettings.IPPrefixLen = e.IPAddress.String(), e.IPPrefixLen
		if e.Gateway.IsValid() {
			out.NetworkSettings.Gateway = e.Gateway.String()
		}
	}
	return out
}

// fillEndpoint sets e's addresses from a running container's on a bridge.
func fillEndpoint(e *nettypes.EndpointSettings, b *container.BridgeState) {
	if p, err := netip.ParsePrefix(b.Address); err == nil {
		e.IPAddress, e.IPPrefixLen = p.Addr(), p.Bits()
	}
	e.Gateway, _ = netip.ParseAddr(b.Gateway)
	if p, err := netip.ParsePrefix(b.Address6); err == nil {
		e.GlobalIPv6Address, e.GlobalIPv6PrefixLen = p.Addr(), p.Bits()
	}
	e.IPv6Gateway, _ = netip.ParseAddr(b.Gateway6)
}
