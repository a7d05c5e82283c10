package engine

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// ModelInterpreter evaluates flows over a NodeModel alone, with the semantics of evalList
// (docs/semantics.md §5.9): a second reading of the same model the renderer spells out, so that the
// engine's evaluator, this interpreter and the kernel's rules (through pkg/render's tracer) can be
// held against each other. It only knows the node's pods: a side whose address is not a local
// pod's is reported as not local.
//
// A ModelInterpreter is immutable once built and safe for concurrent use.
type ModelInterpreter struct {
	pols map[PolicyID]*ModelPolicy
	sets map[string]*modelSetIndex
	byIP map[netip.Addr]*ModelEndpoint
}

type modelSetIndex struct {
	kind    SetKind
	ips     map[netip.Addr]struct{}
	ipPorts map[IPPort]struct{}
}

// NewModelInterpreter indexes a model for evaluation.
func NewModelInterpreter(m *NodeModel) *ModelInterpreter {
	it := &ModelInterpreter{
		pols: make(map[PolicyID]*ModelPolicy, len(m.Policies)),
		sets: make(map[string]*modelSetIndex, len(m.Sets)),
		byIP: map[netip.Addr]*ModelEndpoint{},
	}
	for i := range m.Policies {
		it.pols[m.Policies[i].ID] = &m.Policies[i]
	}
	for i := range m.Sets {
		s := &m.Sets[i]
		x := &modelSetIndex{kind: s.Kind, ips: map[netip.Addr]struct{}{}, ipPorts: map[IPPort]struct{}{}}
		for _, a := range s.IPs {
			x.ips[a] = struct{}{}
		}
		for _, m := range s.IPPorts {
			x.ipPorts[m] = struct{}{}
		}
		it.sets[s.ID] = x
	}
	for i := range m.Endpoints {
		for _, ip := range m.Endpoints[i].IPs {
			it.byIP[ip] = &m.Endpoints[i]
		}
	}
	return it
}

// SideResult is the interpreter's answer for one direction.
type SideResult struct {
	// Local is false when the side's address is not governed by a pod of the node; the other
	// fields are then zero.
	Local    bool
	Endpoint EndpointRef
	Allowed  bool
	Decision Decision
	// Logs are the Log rules that matched, in order.
	Logs []LogHit
}

// LogHit is one matched Log rule.
type LogHit struct {
	Policy PolicyID
	Rule   int
}

// Side evaluates the egress side (at the pod holding the source address) or the ingress side
// (at the pod holding the destination address) of a flow.
func (it *ModelInterpreter) Side(dir Direction, f Flow) (SideResult, error) {
	p, err := newPacket(f)
	if err != nil {
		return SideResult{}, err
	}
	ip := p.dst
	if dir == Egress {
		ip = p.src
	}
	ep := it.byIP[ip]
	if ep == nil {
		return SideResult{}, nil
	}
	res := SideResult{Local: true, Endpoint: ep.Ref}
	ids := ep.Policies(dir)
	if len(ids) == 0 {
		res.Allowed, res.Decision = true, Decision{Reason: ReasonNoPolicyApplies}
		return res, nil
	}
	for i := 0; i < len(ids); {
		first := it.pols[ids[i]]
		if first == nil {
			return SideResult{}, fmt.Errorf("interpreting %s: policy %s is not in the model", ep.Ref, ids[i])
		}
		tier, passed := first.Tier, false
		for ; i < len(ids); i++ {
			pol := it.pols[ids[i]]
			if pol == nil {
				return SideResult{}, fmt.Errorf("interpreting %s: policy %s is not in the model", ep.Ref, ids[i])
			}
			if pol.Tier != tier {
				break
			}
			if passed {
				continue
			}
			key := pol.ID.Key
			if pol.FailClosed {
				res.Decision = Decision{Reason: ReasonInvalidPolicy, Tier: tier, Policy: &key}
				return res, nil
			}
			for _, r := range pol.Rules(dir) {
				if !it.matches(&r, &p) {
					continue
				}
				if r.Action == v1alpha1.Log {
					res.Logs = append(res.Logs, LogHit{Policy: pol.ID, Rule: r.Origin})
					continue
				}
				origin := r.Origin
				switch r.Action {
				case v1alpha1.Allow, v1alpha1.Deny:
					res.Allowed = r.Action == v1alpha1.Allow
					res.Decision = Decision{Reason: ReasonRule, Tier: tier, Policy: &key, RuleIndex: &origin, Action: r.Action}
					return res, nil
				}
				passed = true // Pass: the rest of the tier is skipped
				break
			}
		}
		if !passed && !first.TierDefaultPass {
			res.Decision = Decision{Reason: ReasonEndOfTierDeny, Tier: tier}
			return res, nil
		}
	}
	res.Allowed, res.Decision = true, Decision{Reason: ReasonPassedToProfile}
	return res, nil
}

func (it *ModelInterpreter) matches(r *ModelRule, p *packet) bool {
	if !r.Families[p.fam] {
		return false
	}
	if r.Protocol != 0 && p.proto != r.Protocol {
		return false
	}
	if r.NotProtocol != 0 && p.proto == r.NotProtocol {
		return false
	}
	icmpIs := func(c *ModelICMP) bool {
		return p.isICMP && p.icmpType == c.Type && (!c.HasCode || p.icmpCode == c.Code)
	}
	if r.ICMP != nil && !icmpIs(r.ICMP) {
		return false
	}
	if r.NotICMP != nil && icmpIs(r.NotICMP) {
		return false
	}
	return it.sideMatches(&r.Source, p, p.src, p.sport) && it.sideMatches(&r.Destination, p, p.dst, p.dport)
}

func (it *ModelInterpreter) inIPs(id string, ip netip.Addr) bool {
	s := it.sets[id]
	if s == nil {
		return false
	}
	_, ok := s.ips[ip]
	return ok
}

func (it *ModelInterpreter) inIPPorts(id string, m IPPort) bool {
	s := it.sets[id]
	if s == nil {
		return false
	}
	_, ok := s.ipPorts[m]
	return ok
}

func (it *ModelInterpreter) sideMatches(s *ModelSide, p *packet, ip netip.Addr, port uint16) bool {
	if s.HasNets && !netsContain(s.Nets[p.fam], ip) {
		return false
	}
	if s.HasNotNets && netsContain(s.NotNets[p.fam], ip) {
		return false
	}
	if s.Selector != "" && !it.inIPs(s.Selector, ip) {
		return false
	}
	if s.NotSelector != "" && it.inIPs(s.NotSelector, ip) {
		return false
	}
	ap := IPPort{Addr: ip, Proto: p.proto, Port: port}
	if s.Service != "" {
		set := it.sets[s.Service]
		switch {
		case set == nil:
			return false
		case set.kind == SetService:
			if !p.hasPorts || !it.inIPPorts(s.Service, ap) {
				return false
			}
		case !it.inIPs(s.Service, ip):
			return false
		}
	}
	in := func(ranges []PortRange, named []string) bool {
		if slices.ContainsFunc(ranges, func(r PortRange) bool { return r.Min <= port && port <= r.Max }) {
			return true
		}
		return slices.ContainsFunc(named, func(id string) bool { return it.inIPPorts(id, ap) })
	}
	if len(s.Ports) > 0 || len(s.NamedPorts) > 0 {
		if !p.hasPorts || !in(s.Ports, s.NamedPorts) {
			return false
		}
	}
	if (len(s.NotPorts) > 0 || len(s.NotNamedPorts) > 0) && p.hasPorts && in(s.NotPorts, s.NotNamedPorts) {
		return false
	}
	return true
}

// netsContain is a plain scan: the interpreter is the model's second reading, kept independent of
// the index's prefix sets so that the two can be held against each other.
func netsContain(nets []netip.Prefix, ip netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
