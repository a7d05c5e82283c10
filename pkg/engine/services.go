package engine

import (
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Services matching (docs/semantics.md §5.3, felix/serviceindex): a rule's destination.services
// matches (dstIP, protocol, dstPort) against every address x port of the Service's
// EndpointSlices (the backends after DNAT, never the ClusterIP); source.services matches the
// source IP against the addresses only. Every address of every endpoint counts, whatever its
// conditions, as in Felix.

// EndpointSlice is one EndpointSlice of a Service, as the engine needs it.
type EndpointSlice struct {
	Namespace string
	Name      string
	// Service is the owning Service (label kubernetes.io/service-name).
	Service   string
	Addresses []netip.Addr
	Ports     []ServicePort
}

// ServicePort is a numbered port of an EndpointSlice.
type ServicePort struct {
	Protocol uint8
	Port     uint16
}

// FromEndpointSlice converts an EndpointSlice as Felix reads it: addresses that do not parse as
// IPs (FQDN slices) are skipped, ports without a number are skipped, protocol defaults to TCP.
func FromEndpointSlice(s *discoveryv1.EndpointSlice) (EndpointSlice, error) {
	if s == nil || s.Name == "" || s.Namespace == "" {
		return EndpointSlice{}, errors.New("converting EndpointSlice: namespace and name are required")
	}
	out := EndpointSlice{Namespace: s.Namespace, Name: s.Name, Service: s.Labels[discoveryv1.LabelServiceName]}
	for _, ep := range s.Endpoints {
		for _, a := range ep.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				out.Addresses = append(out.Addresses, ip.Unmap())
			}
		}
	}
	for _, p := range s.Ports {
		if p.Port == nil || *p.Port < 1 || *p.Port > 65535 {
			continue
		}
		proto := ProtoTCP
		if p.Protocol != nil {
			switch *p.Protocol {
			case corev1.ProtocolUDP:
				proto = ProtoUDP
			case corev1.ProtocolSCTP:
				proto = ProtoSCTP
			}
		}
		out.Ports = append(out.Ports, ServicePort{Protocol: proto, Port: uint16(*p.Port)})
	}
	return out, nil
}

type addrPort struct {
	addr  netip.Addr
	proto uint8
	port  uint16
}

// svcRecord is the union of a Service's slices.
type svcRecord struct {
	slices    map[string]*EndpointSlice
	addrs     map[netip.Addr]struct{}
	addrPorts map[addrPort]struct{}
}

func (r *svcRecord) recompute() {
	r.addrs = map[netip.Addr]struct{}{}
	r.addrPorts = map[addrPort]struct{}{}
	for _, s := range r.slices {
		for _, a := range s.Addresses {
			r.addrs[a] = struct{}{}
			for _, p := range s.Ports {
				r.addrPorts[addrPort{a, p.Protocol, p.Port}] = struct{}{}
			}
		}
	}
}

// svcMatch is a compiled services criterion.
type svcMatch struct {
	key       EndpointRef // Service namespace/name
	withPorts bool        // destination: match address, protocol and port
}

// UpsertEndpointSlice adds or replaces an EndpointSlice. Rules look Services up at evaluation
// time, so no other index is touched.
func (e *Engine) UpsertEndpointSlice(s EndpointSlice) error {
	if s.Namespace == "" || s.Name == "" {
		return fmt.Errorf("EndpointSlice %q: namespace and name are required", s.Namespace+"/"+s.Name)
	}
	if s.Service == "" {
		return fmt.Errorf("EndpointSlice %s/%s: no service name", s.Namespace, s.Name)
	}
	cp := s
	cp.Addresses = make([]netip.Addr, 0, len(s.Addresses))
	for i, a := range s.Addresses {
		if !a.IsValid() {
			return fmt.Errorf("EndpointSlice %s/%s: Addresses[%d] is not a valid address", s.Namespace, s.Name, i)
		}
		cp.Addresses = append(cp.Addresses, a.Unmap().WithZone(""))
	}
	cp.Ports = append([]ServicePort(nil), s.Ports...)
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := EndpointRef{Namespace: s.Namespace, Name: s.Name}
	if old := e.slices[ref]; old != nil && old.Service != s.Service {
		e.removeSlice(old)
	}
	e.slices[ref] = &cp
	svc := EndpointRef{Namespace: s.Namespace, Name: s.Service}
	r := e.services[svc]
	if r == nil {
		r = &svcRecord{slices: map[string]*EndpointSlice{}}
		e.services[svc] = r
	}
	r.slices[s.Name] = &cp
	r.recompute()
	return nil
}

// DeleteEndpointSlice removes an EndpointSlice; unknown slices are ignored.
func (e *Engine) DeleteEndpointSlice(namespace, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.slices[EndpointRef{Namespace: namespace, Name: name}]; s != nil {
		e.removeSlice(s)
	}
}

func (e *Engine) removeSlice(s *EndpointSlice) {
	delete(e.slices, EndpointRef{Namespace: s.Namespace, Name: s.Name})
	svc := EndpointRef{Namespace: s.Namespace, Name: s.Service}
	r := e.services[svc]
	if r == nil {
		return
	}
	delete(r.slices, s.Name)
	if len(r.slices) == 0 {
		delete(e.services, svc)
		return
	}
	r.recompute()
}

// matchesService checks a services criterion on one side of the packet.
func (p *packet) matchesService(m *svcMatch, ip netip.Addr, port uint16) bool {
	r := p.eng.services[m.key]
	if r == nil {
		return false
	}
	if !m.withPorts {
		_, ok := r.addrs[ip]
		return ok
	}
	if !p.hasPorts {
		return false
	}
	_, ok := r.addrPorts[addrPort{ip, p.proto, port}]
	return ok
}
