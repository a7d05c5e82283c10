package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// maxMultiportSlots is the multiport module's limit: 15 ports, a range counting as two.
const maxMultiportSlots = 15

const (
	protoICMP   = 1
	protoICMPv6 = 58
)

// policyChain returns the name of one policy generation's chain for a direction in this family,
// building it on first use. ok is false when no rule of the policy can match in this family: the
// endpoint chain then skips the policy, which can neither decide nor log.
func (b *builder) policyChain(p *engine.ModelPolicy, dir engine.Direction) (name string, ok bool, err error) {
	name = policyChain(dir, p.ID)
	if _, done := b.polChains[name]; done {
		return name, len(b.polChains[name].Rules) > 0, nil
	}
	if b.cache != nil {
		return b.cachedPolicyChain(p, dir, name)
	}
	c, subs, err := b.buildPolicyChain(p, dir, name)
	if err != nil {
		return "", false, err
	}
	b.polChains[name] = c
	for i := range subs {
		b.polChains[subs[i].Name] = &subs[i]
	}
	return name, len(c.Rules) > 0, nil
}

// buildPolicyChain renders one policy generation's chain for a direction in this family, and
// the alternatives chains its rules jump to (sharedAlternatives).
func (b *builder) buildPolicyChain(p *engine.ModelPolicy, dir engine.Direction, name string) (*Chain, []Chain, error) {
	c := &Chain{Name: name}
	var subs []Chain
	for i, r := range p.Rules(dir) {
		rules, sub, err := b.rule(p, dir, i, &r)
		if err != nil {
			return nil, nil, fmt.Errorf("policy %s %s rule %d: %w", p.ID, dir, i, err)
		}
		c.Rules = append(c.Rules, rules...)
		if sub != nil {
			subs = append(subs, *sub)
		}
	}
	return c, subs, nil
}

// rule renders one model rule: a single iptables rule when iptables can express the criteria
// as one conjunction, else a block of rules that carries the partial result in the scratch
// marks (Felix's match blocks): OR-ed alternatives (a port list longer than multiport takes, or
// mixing numeric and named ports; notICMP without a protocol) each set a scratch bit, and the
// action runs on that bit. index is the rule's place in the policy's rules for dir; sub, when
// not nil, is a chain the rules jump to, which the policy's chain brings into the program.
func (b *builder) rule(p *engine.ModelPolicy, dir engine.Direction, index int, r *engine.ModelRule) (rules []Rule, sub *Chain, err error) {
	if !r.Families[b.fam] {
		return nil, nil, nil
	}
	comment := fmt.Sprintf("%s %s rule %d %s", p.ID, strings.ToLower(dir.String()), r.Origin, r.Action)
	base, groups, ok, err := b.criteria(r)
	if err != nil || !ok {
		return nil, nil, err
	}
	o := b.opts
	if alts, ok := b.markAlternatives(r.Action, base, groups); ok {
		if len(alts.matches) > 1 && len(base.sets) > 0 {
			return sharedAlternatives(alternativesChain(dir, p.ID, index), base, groups[0], alts.mark, comment)
		}
		// Allow or Pass with one OR group: one rule per alternative, each setting the verdict
		// mark directly, then one return. Setting the mark twice is the same as once, and the
		// verdict marks are clear when a policy rule starts (a rule that sets one returns at
		// once), so this decides as the scratch-mark block does, in two rules fewer and
		// without its unconditional first rule.
		var out []Rule
		for _, m := range alts.matches {
			out = append(out, Rule{Match: m, Action: SetMark{Value: alts.mark, Mask: alts.mark}, Comment: comment})
		}
		return append(out, Rule{Match: M().MarkSet(alts.mark), Action: Return{}, Comment: comment}), nil, nil
	}
	var out []Rule
	final := base
	if len(groups) > 0 {
		var proto Match
		if r.Protocol != 0 {
			proto = M().Protocol(r.Protocol)
		}
		var blocks [][]Match
		if merged, ok := mergeAll(base, groups[0]); ok {
			blocks = append([][]Match{merged}, groups[1:]...)
		} else {
			blocks = append([][]Match{{base}}, groups...)
		}
		scratch := [2]uint32{o.MarkScratch0, o.MarkScratch1}
		out = append(out, Rule{Action: SetMark{Value: 0, Mask: scratch[0] | scratch[1]}, Comment: comment + ": start"})
		for i, blk := range blocks {
			cur := scratch[i%2]
			if i >= 2 {
				out = append(out, Rule{Action: SetMark{Value: 0, Mask: cur}, Comment: comment})
			}
			for _, alt := range blk {
				m := alt
				if i > 0 {
					m, _ = alt.merge(M().MarkSet(scratch[(i-1)%2]))
					if alt.proto == nil && r.Protocol != 0 {
						m, _ = m.merge(proto)
					}
				}
				out = append(out, Rule{Match: m, Action: SetMark{Value: cur, Mask: cur}, Comment: comment})
			}
		}
		final = M().MarkSet(scratch[(len(blocks)-1)%2])
	}
	switch r.Action {
	case v1alpha1.Allow:
		out = append(out,
			Rule{Match: final, Action: SetMark{Value: o.MarkAccept, Mask: o.MarkAccept}, Comment: comment},
			Rule{Match: M().MarkSet(o.MarkAccept), Action: Return{}, Comment: comment})
	case v1alpha1.Pass:
		out = append(out,
			Rule{Match: final, Action: SetMark{Value: o.MarkPass, Mask: o.MarkPass}, Comment: comment},
			Rule{Match: M().MarkSet(o.MarkPass), Action: Return{}, Comment: comment})
	case v1alpha1.Deny:
		out = append(out, b.logDrop(final, DropPrefix(dir, p.ID, r.Origin), comment)...)
	case v1alpha1.Log:
		out = append(out, Rule{Match: final, Action: NFLog{Group: o.NFLogGroup, Prefix: LogPrefix(p.ID, dir, r.Origin)}, Comment: comment})
	default:
		// The engine fails closed on unknown actions, so a valid model never has one.
		return nil, nil, fmt.Errorf("unknown action %q", r.Action)
	}
	return out, nil, nil
}

// sharedAlternatives renders an Allow or Pass whose alternatives share set matches as one rule
// that tests the shared criteria and jumps to a chain of its own, where each alternative sets
// the verdict mark, then the policy chain's return on that mark. A packet outside the shared
// sets (the common case on a pod that many policies select: each policy names other peers)
// then pays one set lookup per rule instead of one per alternative. The alternatives keep the
// protocol, which their port and ICMP modules need; they are evaluated only after the shared
// criteria held, so the decision is the one-rule-per-alternative form's.
func sharedAlternatives(name string, base Match, alts []Match, mark uint32, comment string) ([]Rule, *Chain, error) {
	var proto Match
	proto.proto = base.proto
	sub := &Chain{Name: name}
	for _, alt := range alts {
		m, ok := proto.merge(alt)
		if !ok {
			return nil, nil, fmt.Errorf("alternative %s does not merge with the protocol", alt.Render())
		}
		sub.Rules = append(sub.Rules, Rule{Match: m, Action: SetMark{Value: mark, Mask: mark}, Comment: comment})
	}
	return []Rule{
		{Match: base, Action: Jump{Target: name}, Comment: comment},
		{Match: M().MarkSet(mark), Action: Return{}, Comment: comment},
	}, sub, nil
}

// markAlts are the alternatives of a rule rendered one rule each, all setting mark.
type markAlts struct {
	matches []Match
	mark    uint32
}

// markAlternatives returns the alternatives of an Allow or Pass rule whose criteria are one
// conjunction and a single OR group that merges with it; ok is false for any other rule, which
// keeps the scratch-mark block (Deny and Log must not count, log or drop a packet twice).
func (b *builder) markAlternatives(action v1alpha1.Action, base Match, groups [][]Match) (markAlts, bool) {
	var mark uint32
	switch action {
	case v1alpha1.Allow:
		mark = b.opts.MarkAccept
	case v1alpha1.Pass:
		mark = b.opts.MarkPass
	default:
		return markAlts{}, false
	}
	if len(groups) != 1 {
		return markAlts{}, false
	}
	merged, ok := mergeAll(base, groups[0])
	if !ok {
		return markAlts{}, false
	}
	return markAlts{matches: merged, mark: mark}, true
}

// LogPrefix is the NFLOG prefix of a Log rule: "L", I or E, the rule's index, "|", the policy
// ID (Felix's flow-log prefix shape), hashed when longer than NFLOG allows.
func LogPrefix(id engine.PolicyID, dir engine.Direction, origin int) string {
	d := "I"
	if dir == engine.Egress {
		d = "E"
	}
	s := "L" + d + strconv.Itoa(origin) + "|" + id.String()
	if len(s) > maxNFLogPrefix {
		s = hashName("L"+d+strconv.Itoa(origin)+"|#", id.String())
	}
	return s
}

func mergeAll(base Match, alts []Match) ([]Match, bool) {
	out := make([]Match, len(alts))
	for i, a := range alts {
		m, ok := base.merge(a)
		if !ok {
			return nil, false
		}
		out[i] = m
	}
	return out, true
}

// criteria translates the rule's criteria for this family into one conjunction (base) and
// groups of alternatives that must each hold (an OR inside a group, AND across groups). ok is
// false when the rule can never match a packet of this family.
func (b *builder) criteria(r *engine.ModelRule) (base Match, groups [][]Match, ok bool, err error) {
	icmpProto := uint8(protoICMP)
	v6 := b.fam == IPv6
	if v6 {
		icmpProto = protoICMPv6
	}
	switch {
	case r.Protocol != 0 && r.NotProtocol == r.Protocol:
		return base, nil, false, nil
	case r.Protocol != 0:
		// A protocol implies any other notProtocol.
		base = base.Protocol(r.Protocol)
	case r.NotProtocol != 0:
		base = base.NotProtocol(r.NotProtocol)
	}
	if c := r.ICMP; c != nil {
		if r.Protocol != icmpProto {
			return base, nil, false, nil // only ICMP of the family's ICMP protocol has a type
		}
		base = base.ICMPType(v6, c.Type, c.Code, c.HasCode)
	}
	if c := r.NotICMP; c != nil {
		switch {
		case r.Protocol == icmpProto:
			base = base.NotICMPType(v6, c.Type, c.Code, c.HasCode)
		case r.Protocol != 0, r.NotProtocol == icmpProto:
			// The packet is not ICMP of this family: notICMP holds.
		default:
			groups = append(groups, []Match{
				M().NotProtocol(icmpProto),
				M().Protocol(icmpProto).NotICMPType(v6, c.Type, c.Code, c.HasCode),
			})
		}
	}
	for _, s := range []struct {
		side   *engine.ModelSide
		source bool
	}{{&r.Source, true}, {&r.Destination, false}} {
		g, ok, err := b.side(&base, s.side, s.source, r.Protocol)
		if err != nil || !ok {
			return base, nil, ok, err
		}
		groups = append(groups, g...)
	}
	return base, groups, true, nil
}

// side adds one side's criteria to base and returns its OR groups (the positive port list).
func (b *builder) side(base *Match, s *engine.ModelSide, source bool, proto uint8) ([][]Match, bool, error) {
	addrFlag, portFlag := "dst", "dst,dst"
	net := Match.DestNet
	notNet := Match.NotDestNet
	hasNet := func() bool { return base.dst != nil }
	ports := Match.DestPorts
	notPorts := Match.NotDestPorts
	if source {
		addrFlag, portFlag = "src", "src,src"
		net, notNet = Match.SourceNet, Match.NotSourceNet
		hasNet = func() bool { return base.src != nil }
		ports, notPorts = Match.SourcePorts, Match.NotSourcePorts
	}
	inSet := func(id string, flags string, negate bool) error {
		name, err := b.useSet(id)
		if err != nil {
			return err
		}
		if negate {
			*base = base.NotInSet(name, flags)
		} else {
			*base = base.InSet(name, flags)
		}
		return nil
	}
	if s.HasNets {
		list := s.Nets[b.fam]
		switch {
		case len(list) == 0:
			return nil, false, nil
		case len(list) == 1 && list[0].Bits() == 0:
			// Every address of the family.
		case len(list) == 1:
			*base = net(*base, list[0])
		default:
			if err := inSet(s.NetsSet, addrFlag, false); err != nil {
				return nil, false, err
			}
		}
	}
	if s.HasNotNets {
		list := s.NotNets[b.fam]
		switch {
		case len(list) == 0:
			return nil, false, nil
		case len(list) == 1 && !hasNet():
			*base = notNet(*base, list[0])
		default:
			if err := inSet(s.NotNetsSet, addrFlag, true); err != nil {
				return nil, false, err
			}
		}
	}
	if s.Selector != "" {
		if err := inSet(s.Selector, addrFlag, false); err != nil {
			return nil, false, err
		}
	}
	if s.NotSelector != "" {
		if err := inSet(s.NotSelector, addrFlag, true); err != nil {
			return nil, false, err
		}
	}
	if s.Service != "" {
		flags := addrFlag
		if !source {
			flags = portFlag
		}
		if err := inSet(s.Service, flags, false); err != nil {
			return nil, false, err
		}
	}
	var alts []Match
	for _, chunk := range chunkPorts(s.Ports) {
		alts = append(alts, ports(M(), chunk))
	}
	for _, id := range s.NamedPorts {
		name, err := b.useSet(id)
		if err != nil {
			return nil, false, err
		}
		alts = append(alts, M().InSet(name, portFlag))
	}
	var groups [][]Match
	switch len(alts) {
	case 0:
	case 1:
		m, _ := base.merge(alts[0])
		*base = m
	default:
		groups = append(groups, alts)
	}
	for _, chunk := range chunkPorts(s.NotPorts) {
		*base = notPorts(*base, chunk)
	}
	for _, id := range s.NotNamedPorts {
		if err := inSet(id, portFlag, true); err != nil {
			return nil, false, err
		}
	}
	if (len(s.Ports) > 0 || len(s.NotPorts) > 0) && proto == 0 {
		// The engine refuses numeric ports without a protocol (fail closed); multiport could
		// not be rendered without one.
		return nil, false, fmt.Errorf("numeric ports without a protocol")
	}
	return groups, true, nil
}

// chunkPorts splits ranges into lists multiport accepts.
func chunkPorts(rs []engine.PortRange) [][]PortRange {
	var out [][]PortRange
	var cur []PortRange
	slots := 0
	for _, r := range rs {
		n := 1
		if r.Min != r.Max {
			n = 2
		}
		if slots+n > maxMultiportSlots {
			out = append(out, cur)
			cur, slots = nil, 0
		}
		cur = append(cur, PortRange{Min: r.Min, Max: r.Max})
		slots += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
