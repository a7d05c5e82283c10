package render

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Chain is one iptables chain of Palisade's, as typed rules.
type Chain struct {
	Name  string
	Rules []Rule
}

// Rule is one iptables rule: every criterion of Match must hold for Action to run. Comment says
// which policy and rule (or which part of the skeleton) the rule comes from.
type Rule struct {
	Match   Match
	Action  Action
	Comment string
}

// Match is a conjunction of iptables match criteria, built with the fluent methods below (each
// returns a new Match; a Match is never modified in place, so values can be shared). The zero
// value matches every packet.
type Match struct {
	proto    *protoMatch
	src, dst *netMatch
	ctStates []string
	mark     *markMatch
	sets     []setMatch
	ports    []portMatch
	icmp     *icmpMatch
	// limit rate-limits the rule (observation NFLOG rules only); the tracer, which follows one
	// packet, treats it as matching.
	limit *Limit
}

type protoMatch struct {
	num    uint8
	negate bool
}

type netMatch struct {
	prefix netip.Prefix
	negate bool
}

type markMatch struct{ value, mask uint32 }

// setMatch is -m set --match-set NAME FLAGS, FLAGS being "src", "dst", "src,src" or "dst,dst".
type setMatch struct {
	name   string
	flags  string
	negate bool
}

// portMatch is -m multiport [!] --sports|--dports LIST (at most maxMultiportSlots slots).
type portMatch struct {
	source bool
	ranges []PortRange
	negate bool
}

type icmpMatch struct {
	v6      bool
	typ     uint8
	code    uint8
	hasCode bool
	negate  bool
}

// PortRange is an inclusive port range.
type PortRange struct{ Min, Max uint16 }

// M returns the empty Match, the start of a fluent chain: M().Protocol(6).DestPorts(...).
func M() Match { return Match{} }

// Protocol matches the IP protocol number (-p).
func (m Match) Protocol(p uint8) Match { m.proto = &protoMatch{num: p}; return m }

// NotProtocol matches every protocol but p (! -p).
func (m Match) NotProtocol(p uint8) Match { m.proto = &protoMatch{num: p, negate: true}; return m }

// SourceNet matches the source address (-s).
func (m Match) SourceNet(p netip.Prefix) Match { m.src = &netMatch{prefix: p}; return m }

// NotSourceNet matches source addresses outside p (! -s).
func (m Match) NotSourceNet(p netip.Prefix) Match {
	m.src = &netMatch{prefix: p, negate: true}
	return m
}

// DestNet matches the destination address (-d).
func (m Match) DestNet(p netip.Prefix) Match { m.dst = &netMatch{prefix: p}; return m }

// NotDestNet matches destination addresses outside p (! -d).
func (m Match) NotDestNet(p netip.Prefix) Match { m.dst = &netMatch{prefix: p, negate: true}; return m }

// CTState matches the conntrack state (-m conntrack --ctstate).
func (m Match) CTState(states ...string) Match { m.ctStates = slices.Clone(states); return m }

// MarkMatches matches packets whose mark has value in the bits of mask (-m mark --mark).
func (m Match) MarkMatches(value, mask uint32) Match { m.mark = &markMatch{value, mask}; return m }

// MarkClear matches packets whose mark has every bit of mask clear.
func (m Match) MarkClear(mask uint32) Match { return m.MarkMatches(0, mask) }

// MarkSet matches packets whose mark has every bit of mask set.
func (m Match) MarkSet(mask uint32) Match { return m.MarkMatches(mask, mask) }

// InSet matches when the packet is in the ipset (-m set --match-set NAME FLAGS).
func (m Match) InSet(name, flags string) Match {
	m.sets = append(slices.Clip(m.sets), setMatch{name: name, flags: flags})
	return m
}

// NotInSet matches when the packet is not in the ipset.
func (m Match) NotInSet(name, flags string) Match {
	m.sets = append(slices.Clip(m.sets), setMatch{name: name, flags: flags, negate: true})
	return m
}

// SourcePorts matches a source port in the ranges (-m multiport --sports); at most 15 slots (a
// range takes two).
func (m Match) SourcePorts(r []PortRange) Match { return m.addPorts(true, r, false) }

// NotSourcePorts matches a source port outside the ranges.
func (m Match) NotSourcePorts(r []PortRange) Match { return m.addPorts(true, r, true) }

// DestPorts matches a destination port in the ranges (-m multiport --dports).
func (m Match) DestPorts(r []PortRange) Match { return m.addPorts(false, r, false) }

// NotDestPorts matches a destination port outside the ranges.
func (m Match) NotDestPorts(r []PortRange) Match { return m.addPorts(false, r, true) }

func (m Match) addPorts(source bool, r []PortRange, negate bool) Match {
	m.ports = append(slices.Clip(m.ports), portMatch{source: source, ranges: slices.Clone(r), negate: negate})
	return m
}

// ICMPType matches an ICMP (v6: ICMPv6) type and, when hasCode, code (-m icmp --icmp-type,
// -m icmp6 --icmpv6-type). The rule must also match the ICMP protocol.
func (m Match) ICMPType(v6 bool, typ, code uint8, hasCode bool) Match {
	m.icmp = &icmpMatch{v6: v6, typ: typ, code: code, hasCode: hasCode}
	return m
}

// NotICMPType matches ICMP packets of any other type (and code).
func (m Match) NotICMPType(v6 bool, typ, code uint8, hasCode bool) Match {
	m.icmp = &icmpMatch{v6: v6, typ: typ, code: code, hasCode: hasCode, negate: true}
	return m
}

// merge returns the conjunction of m and o, or false when iptables cannot express it in one rule
// (two protocol, address, mark or ICMP criteria).
func (m Match) merge(o Match) (Match, bool) {
	if (m.proto != nil && o.proto != nil) || (m.src != nil && o.src != nil) || (m.dst != nil && o.dst != nil) ||
		(m.mark != nil && o.mark != nil) || (m.icmp != nil && o.icmp != nil) || (m.ctStates != nil && o.ctStates != nil) ||
		(m.limit != nil && o.limit != nil) {
		return m, false
	}
	out := m
	if o.proto != nil {
		out.proto = o.proto
	}
	if o.src != nil {
		out.src = o.src
	}
	if o.dst != nil {
		out.dst = o.dst
	}
	if o.mark != nil {
		out.mark = o.mark
	}
	if o.icmp != nil {
		out.icmp = o.icmp
	}
	if o.ctStates != nil {
		out.ctStates = o.ctStates
	}
	if o.limit != nil {
		out.limit = o.limit
	}
	out.sets = append(slices.Clip(m.sets), o.sets...)
	out.ports = append(slices.Clip(m.ports), o.ports...)
	return out, true
}

// Render writes the match in iptables-restore syntax, in the order iptables-save prints it: the
// built-in criteria (-s, -d, -p), then the modules.
func (m Match) Render() string {
	return joinNonEmpty(m.renderBuiltin(), m.renderModules())
}

func neg(b bool) string {
	if b {
		return "! "
	}
	return ""
}

func (m Match) renderBuiltin() string {
	var parts []string
	if m.src != nil {
		parts = append(parts, neg(m.src.negate)+"-s "+prefixText(m.src.prefix))
	}
	if m.dst != nil {
		parts = append(parts, neg(m.dst.negate)+"-d "+prefixText(m.dst.prefix))
	}
	if m.proto != nil {
		parts = append(parts, neg(m.proto.negate)+"-p "+protoText(m.proto.num))
	}
	return strings.Join(parts, " ")
}

func (m Match) renderModules() string {
	var parts []string
	if m.ctStates != nil {
		parts = append(parts, "-m conntrack --ctstate "+strings.Join(m.ctStates, ","))
	}
	if m.mark != nil {
		parts = append(parts, fmt.Sprintf("-m mark --mark %#x/%#x", m.mark.value, m.mark.mask))
	}
	// The kernel evaluates the matches in this order and stops at the first that fails, so the
	// cheap ones come first: port lists and ICMP types (a few comparisons) before the ipset
	// lookups (a hash lookup each, through nft_compat on the nft backend), so that a packet to
	// another port never pays for the lookup.
	if p, ok := m.nativePort(); ok {
		opt := "--dport "
		if p.source {
			opt = "--sport "
		}
		parts = append(parts, "-m "+protoText(m.proto.num)+" "+neg(p.negate)+opt+portsText(p.ranges))
	} else {
		for _, p := range m.ports {
			opt := "--dports "
			if p.source {
				opt = "--sports "
			}
			parts = append(parts, "-m multiport "+neg(p.negate)+opt+portsText(p.ranges))
		}
	}
	if c := m.icmp; c != nil {
		tc := strconv.Itoa(int(c.typ))
		if c.hasCode {
			tc += "/" + strconv.Itoa(int(c.code))
		}
		if c.v6 {
			parts = append(parts, "-m icmp6 "+neg(c.negate)+"--icmpv6-type "+tc)
		} else {
			parts = append(parts, "-m icmp "+neg(c.negate)+"--icmp-type "+tc)
		}
	}
	for _, s := range m.sets {
		parts = append(parts, "-m set "+neg(s.negate)+"--match-set "+s.name+" "+s.flags)
	}
	if m.limit != nil {
		parts = append(parts, m.limit.render())
	}
	return strings.Join(parts, " ")
}

// nativePort returns the rule's port criterion when it can be written with the tcp or udp match
// (-m tcp --dport 80, ! --sport 1000:2000), which iptables-nft turns into native nft
// expressions where -m multiport is an nft_compat call: a single port or range, the only port
// criterion of the rule (iptables-nft 1.8.9 folds two tcp matches of one rule into one, wrongly),
// on TCP or UDP.
func (m Match) nativePort() (portMatch, bool) {
	if len(m.ports) != 1 || len(m.ports[0].ranges) != 1 || m.proto == nil || m.proto.negate ||
		(m.proto.num != 6 && m.proto.num != 17) {
		return portMatch{}, false
	}
	return m.ports[0], true
}

func joinNonEmpty(parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func prefixText(p netip.Prefix) string { return p.Masked().String() }

// protoText names the protocols iptables knows by name (as iptables-save prints them) and gives
// the number otherwise.
func protoText(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "ipv6-icmp"
	case 132:
		return "sctp"
	case 136:
		return "udplite"
	}
	return strconv.Itoa(int(p))
}

func portsText(rs []PortRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.Min == r.Max {
			parts[i] = strconv.Itoa(int(r.Min))
		} else {
			parts[i] = strconv.Itoa(int(r.Min)) + ":" + strconv.Itoa(int(r.Max))
		}
	}
	return strings.Join(parts, ",")
}

// Action is what a rule does when it matches.
type Action interface {
	// Render writes the target in iptables-restore syntax ("-j ACCEPT").
	Render() string
}

// Count has no target: the rule only counts the packets it matches, which go on to the next rule.
type Count struct{}

// Render implements Action: no target.
func (Count) Render() string { return "" }

// Accept ends evaluation in the packet's favour (-j ACCEPT).
type Accept struct{}

// Drop discards the packet (-j DROP).
type Drop struct{}

// Return goes back to the calling chain (-j RETURN).
type Return struct{}

// Jump calls another chain; when it returns, the next rule runs (-j TARGET).
type Jump struct{ Target string }

// Goto continues in another chain; when it returns, the caller of this chain resumes (-g).
type Goto struct{ Target string }

// SetMark sets the mark bits of Mask to Value and continues (-j MARK --set-xmark Value/Mask;
// Value is always a subset of Mask here).
type SetMark struct{ Value, Mask uint32 }

// NFLog sends the packet to an NFLOG group and continues; it never decides. Observe marks the
// observation samples (shadowed connections, drops), which the tracer reports apart from Log rules'.
type NFLog struct {
	Group   uint16
	Prefix  string
	Observe bool
}

// Render implements Action.
func (Accept) Render() string { return "-j ACCEPT" }

// Render implements Action.
func (Drop) Render() string { return "-j DROP" }

// Render implements Action.
func (Return) Render() string { return "-j RETURN" }

// Render implements Action.
func (a Jump) Render() string { return "-j " + a.Target }

// Render implements Action.
func (a Goto) Render() string { return "-g " + a.Target }

// Render implements Action.
func (a SetMark) Render() string { return fmt.Sprintf("-j MARK --set-xmark %#x/%#x", a.Value, a.Mask) }

// Render implements Action.
func (a NFLog) Render() string {
	return fmt.Sprintf("-j NFLOG --nflog-prefix %s --nflog-group %d", quote(a.Prefix), a.Group)
}

// Render writes the rule as the text after "-A <chain> " in iptables-restore syntax, in the
// order iptables-save prints it back (built-in criteria, the other modules, the comment, the
// target), so that the text can be compared with what the kernel holds.
//
// The comment comes after every criterion because it is not free: iptables-nft (1.8.9) turns
// -m comment into an xtables match that nft_compat calls for every packet reaching it, like
// -m set, -m multiport and -m conntrack (-s, -d, -p, -m mark and -m tcp --dport become native nft
// expressions). After the criteria it runs only for the packets the rule takes, not for every
// packet that walks past the rule, which is most of them in a policy chain.
func (r Rule) Render() string {
	comment := ""
	if r.Comment != "" {
		comment = "-m comment --comment " + quote(r.Comment)
	}
	return joinNonEmpty(r.Match.renderBuiltin(), r.Match.renderModules(), comment, r.Action.Render())
}

// maxCommentLen is the xt_comment limit (256 bytes with the terminating NUL).
const maxCommentLen = 255

// quote double-quotes a comment or prefix for iptables-restore. Kubernetes names cannot hold
// quotes or backslashes; anything else that could break the line is replaced.
func quote(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '\\':
			return '\''
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	if len(s) > maxCommentLen {
		s = s[:maxCommentLen]
	}
	return `"` + s + `"`
}
