package container

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// ErrInvalidDNS is a --dns, --dns-search or --dns-option value that
// cannot go into /etc/resolv.conf.
var ErrInvalidDNS = errors.New("invalid DNS setting")

// DNSNone is --dns none: the container keeps its image's own
// /etc/resolv.conf.
const DNSNone = "none"

// dnsDomain is a search domain as Podman takes it: labels of letters,
// digits and inner dashes, dot separated, an optional final dot.
var dnsDomain = regexp.MustCompile(`^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*\.?$`)

// CheckDNS checks a container's resolver settings: servers are IP
// addresses, or "none" alone (the image's file, then with no search
// domain or option either); search domains are domains, or "." alone
// (none at all); an option is one word of resolv.conf's options line.
// Nothing with white space reaches the file, so no value can add a line.
func CheckDNS(servers, search, options []string) error {
	for _, s := range servers {
		if s == DNSNone {
			if len(servers) > 1 {
				return fmt.Errorf("%w: --dns none cannot be given with other DNS servers", ErrInvalidDNS)
			}
			if len(search) > 0 || len(options) > 0 {
				return fmt.Errorf("%w: --dns none keeps the image's /etc/resolv.conf, which --dns-search and --dns-option cannot change", ErrInvalidDNS)
			}
			continue
		}
		if a, err := netip.ParseAddr(s); err != nil || a.Zone() != "" {
			return fmt.Errorf("%w: --dns %q is not an IP address", ErrInvalidDNS, s)
		}
	}
	for _, d := range search {
		if d == "." {
			if len(search) > 1 {
				return fmt.Errorf("%w: --dns-search . (no search domain) cannot be given with other domains", ErrInvalidDNS)
			}
			continue
		}
		if len(d) > 255 || !dnsDomain.MatchString(d) {
			return fmt.Errorf("%w: --dns-search %q is not a domain name", ErrInvalidDNS, d)
		}
	}
	for _, o := range options {
		if o == "" || strings.ContainsFunc(o, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' || r == ';' }) {
			return fmt.Errorf("%w: --dns-option %q: want one option such as ndots:2 or edns0", ErrInvalidDNS, o)
		}
	}
	return nil
}

// DNSConfig is resolver settings that come before a container's own:
// containers.conf's dns_servers, dns_searches and dns_options.
type DNSConfig struct{ Servers, Search, Options []string }

// under is the container's settings with d's before them, as Podman
// merges containers.conf's with the command line's: servers, domains
// and options of both, d's first. --dns none and --dns-search . stand
// alone.
func (d DNSConfig) under(servers, search, options []string) ([]string, []string, []string) {
	if !(len(servers) == 1 && servers[0] == DNSNone) {
		servers = append(slices.Clone(d.Servers), servers...)
		options = append(slices.Clone(d.Options), options...)
		if !(len(search) == 1 && search[0] == ".") {
			search = append(slices.Clone(d.Search), search...)
		}
	}
	return servers, search, options
}

// imageResolvConf reports whether the container keeps its image's
// /etc/resolv.conf (--dns none).
func (h *HostConfig) imageResolvConf() bool {
	return len(h.Dns) == 1 && h.Dns[0] == DNSNone
}

// resolvConf is the container's /etc/resolv.conf made from base, its
// network's: with its own --dns, --dns-search and --dns-option over it.
func (h *HostConfig) resolvConf(base string) string {
	return customResolv(base, h.Dns, h.DnsSearch, h.DnsOptions)
}

// customResolv is resolv.conf made from base (the file the container's
// network gives it) with the container's own settings over it, as
// Podman writes it: the search line, the nameservers, the options line.
// Servers replace base's, search domains base's ("." leaves none), and
// options base's; what is not given stays base's. Without settings, base
// is returned as it is.
func customResolv(base string, servers, search, options []string) string {
	if len(servers) == 0 && len(search) == 0 && len(options) == 0 {
		return base
	}
	var baseServers, baseSearch, baseOptions []string
	for _, line := range strings.Split(base, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			baseServers = append(baseServers, f[1])
		case "search", "domain":
			baseSearch = f[1:] // the last one counts, as for the resolver
		case "options":
			baseOptions = append(baseOptions, f[1:]...)
		}
	}
	if len(servers) == 0 {
		servers = baseServers
	}
	if len(search) == 0 {
		search = baseSearch
	} else if len(search) == 1 && search[0] == "." {
		search = nil
	}
	if len(options) == 0 {
		options = baseOptions
	}
	var b strings.Builder
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return b.String()
}
