package engine

import (
	"errors"
	"fmt"
	"net/netip"
)

// packet is a validated Flow with its endpoints resolved.
type packet struct {
	src, dst netip.Addr
	fam      int // 0 IPv4, 1 IPv6
	proto    uint8
	hasPorts bool
	sport    uint16
	dport    uint16
	isICMP   bool // ICMP over IPv4 or ICMPv6 over IPv6: icmpType/icmpCode are set
	icmpType uint8
	icmpCode uint8
	srcEps   []*endpoint
	dstEps   []*endpoint
	// eng resolves services at evaluation time.
	eng *Engine
	// direct, when set, makes peer membership evaluate selectors instead of reading the
	// precomputed bits (the unindexed baseline used by tests and benchmarks).
	direct *Engine
}

func newPacket(f Flow) (packet, error) {
	if !f.Src.IsValid() || !f.Dst.IsValid() {
		return packet{}, errors.New("evaluating flow: source and destination addresses are required")
	}
	src, dst := f.Src.Unmap().WithZone(""), f.Dst.Unmap().WithZone("")
	if src.Is4() != dst.Is4() {
		return packet{}, fmt.Errorf("evaluating flow %s -> %s: addresses of different families", src, dst)
	}
	p := packet{src: src, dst: dst, proto: f.Protocol}
	if src.Is6() {
		p.fam = 1
	}
	switch f.Protocol {
	case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoUDPLite:
		p.hasPorts, p.sport, p.dport = true, f.SrcPort, f.DstPort
	}
	icmpProto := ProtoICMP
	if p.fam == 1 {
		icmpProto = ProtoICMPv6
	}
	switch {
	case f.Protocol == icmpProto && f.ICMP == nil:
		// Without a type, icmp and notICMP criteria cannot be answered; guessing could widen an
		// Allow.
		return packet{}, fmt.Errorf("evaluating flow %s -> %s: protocol %d needs an ICMP type and code", src, dst, f.Protocol)
	case f.Protocol == icmpProto:
		p.isICMP, p.icmpType, p.icmpCode = true, f.ICMP.Type, f.ICMP.Code
	case f.ICMP != nil:
		return packet{}, fmt.Errorf("evaluating flow %s -> %s: ICMP type/code given for protocol %d", src, dst, f.Protocol)
	}
	return p, nil
}

// matches reports whether the rule matches the packet (every criterion set must hold).
func (r *rule) matches(p *packet) bool {
	if !r.fam[p.fam] {
		return false
	}
	if r.proto != 0 && p.proto != r.proto {
		return false
	}
	if r.notProto != 0 && p.proto == r.notProto {
		return false
	}
	if r.icmp != nil && (!p.isICMP || !r.icmp.matches(p)) {
		return false
	}
	if r.notICMP != nil && p.isICMP && r.notICMP.matches(p) {
		return false
	}
	return r.src.matches(p, p.src, p.srcEps, p.sport) && r.dst.matches(p, p.dst, p.dstEps, p.dport)
}

func (c *icmpCrit) matches(p *packet) bool {
	return p.icmpType == c.typ && (!c.hasCode || p.icmpCode == c.code)
}

// matches checks one side: nets, selectors, ports.
func (s *side) matches(p *packet, ip netip.Addr, eps []*endpoint, port uint16) bool {
	if s.netsSet && !s.netsIdx[p.fam].contains(ip) {
		return false
	}
	if s.notNetsSet && s.notNetsIdx[p.fam].contains(ip) {
		return false
	}
	// Selectors match by IP: the address belongs to some endpoint that is a member.
	if s.pos != nil && !p.anyMember(eps, s.pos) {
		return false
	}
	if s.neg != nil && p.anyMember(eps, s.neg) {
		return false
	}
	if s.svc != nil && !p.matchesService(s.svc, ip, port) {
		return false
	}
	if len(s.ports) > 0 {
		if !p.hasPorts || !s.portIn(s.ports, p, eps, port) {
			return false
		}
	}
	if len(s.notPorts) > 0 && p.hasPorts && s.portIn(s.notPorts, p, eps, port) {
		return false
	}
	return true
}

func (p *packet) anyMember(eps []*endpoint, ps *peerSel) bool {
	for _, ep := range eps {
		if p.member(ep, ps) {
			return true
		}
	}
	return false
}

func (p *packet) member(ep *endpoint, ps *peerSel) bool {
	if p.direct != nil {
		return ps.matches(p.direct.view(ep))
	}
	return ep.peerBit(ps.id)
}

// portIn reports whether the packet's port on this side is in the list: numerically, or as a
// named port (docs/semantics.md §5.3): (ip, protocol, port) equals the named port of some endpoint at
// ip that matches this side's positive selector (every endpoint when there is none), filtered by
// the rule's protocol.
func (s *side) portIn(list []portCrit, p *packet, eps []*endpoint, port uint16) bool {
	for i := range list {
		pc := &list[i]
		if pc.name == "" {
			if pc.min <= port && port <= pc.max {
				return true
			}
			continue
		}
		if s.namedProto != 0 && p.proto != s.namedProto {
			continue
		}
		for _, ep := range eps {
			if s.pos != nil && !p.member(ep, s.pos) {
				continue
			}
			for _, np := range ep.spec.Ports {
				if np.Name == pc.name && np.Protocol == p.proto && np.Port == port {
					return true
				}
			}
		}
	}
	return false
}
