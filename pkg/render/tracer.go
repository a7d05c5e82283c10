package render

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// The packet tracer walks a Program the way the kernel walks the chains (as kube-proxy's tests
// trace packets through rendered rules), so that tests can hold the rendered rules to the
// engine's verdict without a kernel: rules in order, marks, jumps and gotos, RETURN, ACCEPT and
// DROP, set membership, multiport, ICMP type/code and conntrack state.

// Packet is one packet as the filter table's FORWARD hook sees it (after DNAT).
type Packet struct {
	Src, Dst netip.Addr
	// Proto is the IP protocol number.
	Proto uint8
	// SrcPort and DstPort are used for TCP, UDP, SCTP and UDPLite.
	SrcPort, DstPort uint16
	// ICMPType and ICMPCode are used for ICMP over IPv4 and ICMPv6 over IPv6.
	ICMPType, ICMPCode uint8
	// CTState is the conntrack state: NEW when empty.
	CTState string
	// Mark is the packet's mark on entry.
	Mark uint32
}

// Verdict is where a traced packet ended.
type Verdict string

const (
	// VerdictAccept: a rule accepted the packet.
	VerdictAccept Verdict = "ACCEPT"
	// VerdictDrop: a rule dropped the packet.
	VerdictDrop Verdict = "DROP"
	// VerdictReturn: the packet left the start chain undecided (FORWARD's other rules and
	// policy decide).
	VerdictReturn Verdict = "RETURN"
)

// TraceResult is what happened to a traced packet.
type TraceResult struct {
	Verdict Verdict
	// Logs are the NFLOG prefixes of the Log rules the packet was logged by, in order.
	Logs []string
	// Observed are the prefixes of the observation samples (NFLog.Observe) the packet would be
	// sampled with, in order, ignoring their rate limits.
	Observed []string
	// Path lists the rules that matched, as "chain[index]".
	Path []string
	// Mark is the packet's mark at the end.
	Mark uint32
}

// maxTraceSteps bounds a trace; a loop between chains is a rendering bug.
const maxTraceSteps = 100000

// Trace walks pkt through the program starting at chain start (normally ChainForward). It fails
// on a reference to a chain or set the program does not define, and on a loop.
func (p *Program) Trace(start string, pkt Packet) (TraceResult, error) {
	chains := make(map[string]*Chain, len(p.Chains))
	for i := range p.Chains {
		chains[p.Chains[i].Name] = &p.Chains[i]
	}
	sets := make(map[string]*SetDef, len(p.Sets))
	for i := range p.Sets {
		sets[p.Sets[i].Name] = &p.Sets[i]
	}
	if pkt.CTState == "" {
		pkt.CTState = "NEW"
	}
	type frame struct {
		chain *Chain
		next  int
	}
	c := chains[start]
	if c == nil {
		return TraceResult{}, fmt.Errorf("tracing: no chain %s", start)
	}
	res := TraceResult{}
	mark := pkt.Mark
	stack := []frame{{chain: c}}
	for steps := 0; len(stack) > 0; steps++ {
		if steps > maxTraceSteps {
			return res, fmt.Errorf("tracing: more than %d steps, the chains loop", maxTraceSteps)
		}
		top := &stack[len(stack)-1]
		if top.next >= len(top.chain.Rules) {
			stack = stack[:len(stack)-1]
			continue
		}
		idx := top.next
		r := &top.chain.Rules[idx]
		top.next++
		ok, err := r.Match.matches(&pkt, mark, sets)
		if err != nil {
			return res, fmt.Errorf("tracing %s[%d]: %w", top.chain.Name, idx, err)
		}
		if !ok {
			continue
		}
		res.Path = append(res.Path, fmt.Sprintf("%s[%d]", top.chain.Name, idx))
		switch a := r.Action.(type) {
		case Accept:
			res.Verdict, res.Mark = VerdictAccept, mark
			return res, nil
		case Drop:
			res.Verdict, res.Mark = VerdictDrop, mark
			return res, nil
		case Return:
			stack = stack[:len(stack)-1]
		case Jump, Goto:
			target := ""
			if j, ok := a.(Jump); ok {
				target = j.Target
			} else {
				target = a.(Goto).Target
				stack = stack[:len(stack)-1]
			}
			next := chains[target]
			if next == nil {
				return res, fmt.Errorf("tracing %s[%d]: no chain %s", top.chain.Name, idx, target)
			}
			stack = append(stack, frame{chain: next})
		case SetMark:
			mark = (mark &^ a.Mask) ^ a.Value
		case Count:
			// A counter: the packet goes on to the next rule.
		case NFLog:
			if a.Observe {
				res.Observed = append(res.Observed, a.Prefix)
			} else {
				res.Logs = append(res.Logs, a.Prefix)
			}
		default:
			return res, fmt.Errorf("tracing %s[%d]: unknown action %T", top.chain.Name, idx, a)
		}
	}
	res.Verdict, res.Mark = VerdictReturn, mark
	return res, nil
}

func hasPorts(proto uint8) bool { return proto == 6 || proto == 17 || proto == 132 || proto == 136 }

func (m *Match) matches(p *Packet, mark uint32, sets map[string]*SetDef) (bool, error) {
	if m.proto != nil && (p.Proto == m.proto.num) == m.proto.negate {
		return false, nil
	}
	if m.src != nil && m.src.prefix.Contains(p.Src) == m.src.negate {
		return false, nil
	}
	if m.dst != nil && m.dst.prefix.Contains(p.Dst) == m.dst.negate {
		return false, nil
	}
	if m.ctStates != nil && !slices.Contains(m.ctStates, p.CTState) {
		return false, nil
	}
	if m.mark != nil && mark&m.mark.mask != m.mark.value {
		return false, nil
	}
	for _, sm := range m.sets {
		s := sets[sm.name]
		if s == nil {
			return false, fmt.Errorf("no set %s", sm.name)
		}
		in, err := s.contains(p, sm.flags)
		if err != nil {
			return false, err
		}
		if in == sm.negate {
			return false, nil
		}
	}
	for _, pm := range m.ports {
		if m.proto == nil || m.proto.negate || !hasPorts(m.proto.num) {
			return false, fmt.Errorf("multiport without -p tcp, udp, sctp or udplite")
		}
		port := p.DstPort
		if pm.source {
			port = p.SrcPort
		}
		in := slices.ContainsFunc(pm.ranges, func(r PortRange) bool { return r.Min <= port && port <= r.Max })
		if in == pm.negate {
			return false, nil
		}
	}
	if c := m.icmp; c != nil {
		want := uint8(protoICMP)
		if c.v6 {
			want = protoICMPv6
		}
		if m.proto == nil || m.proto.negate || m.proto.num != want {
			return false, fmt.Errorf("icmp match without -p %s", protoText(want))
		}
		in := p.ICMPType == c.typ && (!c.hasCode || p.ICMPCode == c.code)
		if in == c.negate {
			return false, nil
		}
	}
	return true, nil
}

// contains answers an ipset test for the packet: flags "src"/"dst" test an address,
// "src,src"/"dst,dst" an address with the protocol and port on the same side.
func (s *SetDef) contains(p *Packet, flags string) (bool, error) {
	addr, port := p.Dst, p.DstPort
	switch flags {
	case "src", "src,src":
		addr, port = p.Src, p.SrcPort
	case "dst", "dst,dst":
	default:
		return false, fmt.Errorf("set %s: unknown flags %q", s.Name, flags)
	}
	if (addr.Is6()) != (s.Family == IPv6) {
		return false, nil
	}
	withPort := flags == "src,src" || flags == "dst,dst"
	switch s.Type {
	case HashIP:
		if withPort {
			return false, fmt.Errorf("set %s: hash:ip tested with %s", s.Name, flags)
		}
		_, found := slices.BinarySearchFunc(s.IPs, addr, func(a, b netip.Addr) int { return a.Compare(b) })
		return found, nil
	case HashNet:
		if withPort {
			return false, fmt.Errorf("set %s: hash:net tested with %s", s.Name, flags)
		}
		return slices.ContainsFunc(s.Nets, func(n netip.Prefix) bool { return n.Contains(addr) }), nil
	case HashIPPort:
		if !withPort {
			return false, fmt.Errorf("set %s: hash:ip,port tested with %s", s.Name, flags)
		}
		if !hasPorts(p.Proto) {
			// ipset keys ICMP by type/code and other protocols by port 0: members here are
			// TCP, UDP and SCTP ports only, so nothing else is in the set.
			return false, nil
		}
		return slices.ContainsFunc(s.IPPorts, func(m engine.IPPort) bool {
			return m.Addr == addr && m.Proto == p.Proto && m.Port == port
		}), nil
	}
	return false, fmt.Errorf("set %s: unknown type %s", s.Name, s.Type)
}
