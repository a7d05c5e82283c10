package lab

import "net"

// CutAPIServer partitions the named node from the API server: its relay closes every connection
// it carries (a node process sees its watches end) and closes each new one as soon as it is
// accepted, until HealAPIServer. The API server keeps serving everyone else, so changes made
// meanwhile reach the other nodes and not this one.
func (l *Lab) CutAPIServer(node string) error {
	n, err := l.node(node)
	if err != nil {
		return err
	}
	r := n.relay
	r.mu.Lock()
	r.cut = true
	conns := make([]net.Conn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return nil
}

// HealAPIServer ends CutAPIServer: the node's relay carries new connections again.
func (l *Lab) HealAPIServer(node string) error {
	n, err := l.node(node)
	if err != nil {
		return err
	}
	n.relay.mu.Lock()
	n.relay.cut = false
	n.relay.mu.Unlock()
	return nil
}

func (r *relay) isCut() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cut
}
