package container

import "slices"

// OnNetwork lists the containers whose record names the named network
// (myctr network create): those on it now or at their next start.
func (s *Store) OnNetwork(network string) ([]*Container, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range all {
		if slices.Contains(c.NamedNetworks(), network) {
			out = append(out, c)
		}
	}
	return out, nil
}

// NetworkUsers lists the ids of the containers on the named network: the
// store is the netstore.Users that network rm and prune check.
func (s *Store) NetworkUsers(network string) ([]string, error) {
	ctrs, err := s.OnNetwork(network)
	ids := make([]string, len(ctrs))
	for i, c := range ctrs {
		ids[i] = c.ID
	}
	return ids, err
}
