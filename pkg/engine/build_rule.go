package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/selector"
)

// builder compiles one policy generation. It never fails: every problem is recorded in errs, and
// a policy with errors is stored failing closed (doc.go).
type builder struct {
	// ns is the policy's namespace ("" for global policies); it scopes rule selectors.
	ns   string
	errs []error
}

func (b *builder) errorf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

// parseSelector parses a selector field; on error it records it and returns All (the caller
// decides what an error means there: a policy subject then selects no pod, for rule peers the
// policy fails closed and its rules are never consulted).
func (b *builder) parseSelector(path, s string) selector.Selector {
	sel, err := selector.Parse(s)
	if err != nil {
		b.errorf("%s: parsing selector: %w", path, err)
		return selector.All
	}
	return sel
}

// compileRules compiles a direction's rules. origins[i] is the index reported in traces for rule
// i (nil: the rule's own index).
func (b *builder) compileRules(path string, rules []v1alpha1.Rule, origins []int) []rule {
	out := make([]rule, 0, len(rules))
	for i := range rules {
		origin := i
		if origins != nil {
			origin = origins[i]
		}
		out = append(out, b.compileRule(fmt.Sprintf("%s[%d]", path, i), &rules[i], origin))
	}
	return out
}

func (b *builder) compileRule(path string, r *v1alpha1.Rule, origin int) rule {
	out := rule{action: r.Action, origin: origin, fam: [2]bool{true, true}}
	switch r.Action {
	case v1alpha1.Allow, v1alpha1.Deny, v1alpha1.Log, v1alpha1.Pass:
	default:
		b.errorf("%s.action: %q is not one of Allow, Deny, Log, Pass", path, r.Action)
	}
	if r.HTTP != nil {
		// Ignoring an L7 match would silently widen an Allow; an iptables dataplane cannot do it.
		b.errorf("%s.http: HTTP rules are not supported", path)
	}

	var protoName string
	if r.Protocol != nil {
		out.proto, protoName = b.protocol(path+".protocol", *r.Protocol)
	}
	if r.NotProtocol != nil {
		out.notProto, _ = b.protocol(path+".notProtocol", *r.NotProtocol)
	}

	// ipVersion; without it the names ICMP / ICMPv6 (not the numbers) imply a family.
	switch {
	case r.IPVersion != nil && *r.IPVersion == 4:
		out.fam[1] = false
	case r.IPVersion != nil && *r.IPVersion == 6:
		out.fam[0] = false
	case r.IPVersion != nil:
		b.errorf("%s.ipVersion: %d is not 4 or 6", path, *r.IPVersion)
	case protoName == "icmp":
		out.fam[1] = false
	case protoName == "icmpv6":
		out.fam[0] = false
	}

	out.icmp = b.icmp(path+".icmp", r.ICMP)
	if out.icmp != nil && out.proto != ProtoICMP && out.proto != ProtoICMPv6 {
		// Validation R6; Felix could not render an ICMP match without the protocol.
		b.errorf("%s.icmp: ICMP fields require protocol to be ICMP or ICMPv6", path)
	}
	out.notICMP = b.icmp(path+".notICMP", r.NotICMP)

	// Named-port protocol filter (rule_scanner.go): UDP -> udp, SCTP -> sctp, any other set
	// protocol -> tcp, unset -> every protocol.
	var namedProto uint8
	if r.Protocol != nil {
		switch out.proto {
		case ProtoUDP, ProtoSCTP:
			namedProto = out.proto
		default:
			namedProto = ProtoTCP
		}
	}
	out.src = b.compileSide(path+".source", &r.Source, namedProto, false)
	out.dst = b.compileSide(path+".destination", &r.Destination, namedProto, true)

	// Ports need a protocol that has them (validation R4); Felix could not render otherwise.
	hasNumeric, hasAny := portKinds(&out.src)
	dn, da := portKinds(&out.dst)
	hasNumeric, hasAny = hasNumeric || dn, hasAny || da
	switch {
	case r.Protocol == nil && hasNumeric:
		b.errorf("%s: rules with numeric ports or port ranges must set protocol to TCP, UDP or SCTP", path)
	case r.Protocol != nil && hasAny && out.proto != ProtoTCP && out.proto != ProtoUDP && out.proto != ProtoSCTP:
		b.errorf("%s: rules that specify ports must set protocol to TCP, UDP or SCTP", path)
	}

	// CIDR family rule (felix/rules/policy.go FilterRuleToIPVersion): for family F, a rule with a
	// non-empty nets or notNets list holding no CIDR of family F is dropped for F.
	for f := range 2 {
		for _, s := range []*side{&out.src, &out.dst} {
			if (s.netsSet && len(s.nets[f]) == 0) || (s.notNetsSet && len(s.notNets[f]) == 0) {
				out.fam[f] = false
			}
		}
	}
	return out
}

func portKinds(s *side) (numeric, any bool) {
	for _, list := range [][]portCrit{s.ports, s.notPorts} {
		for _, p := range list {
			any = true
			if p.name == "" {
				numeric = true
			}
		}
	}
	return numeric, any
}

// protocol resolves a protocol to its number and, for names, its lowercase name. Felix lowercases
// names, so a name in the wrong case still works there; the engine accepts it too.
func (b *builder) protocol(path string, p v1alpha1.Protocol) (uint8, string) {
	if p.Type == intstr.Int {
		if p.IntVal < 1 || p.IntVal > 255 {
			b.errorf("%s: protocol number %d is outside 1-255", path, p.IntVal)
			return 0, ""
		}
		return uint8(p.IntVal), ""
	}
	if n, err := strconv.ParseUint(p.StrVal, 10, 8); err == nil {
		if n == 0 {
			b.errorf("%s: protocol number 0 is outside 1-255", path)
			return 0, ""
		}
		return uint8(n), ""
	}
	name := strings.ToLower(p.StrVal)
	n, ok := protocolByName[name]
	if !ok {
		b.errorf("%s: protocol %q is not one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255", path, p.StrVal)
		return 0, ""
	}
	return n, name
}

var protocolByName = map[string]uint8{
	"tcp": ProtoTCP, "udp": ProtoUDP, "icmp": ProtoICMP, "icmpv6": ProtoICMPv6, "sctp": ProtoSCTP, "udplite": ProtoUDPLite,
}

func (b *builder) icmp(path string, f *v1alpha1.ICMPFields) *icmpCrit {
	if f == nil {
		return nil
	}
	if f.Type == nil {
		if f.Code != nil {
			b.errorf("%s.code: ICMP code specified without an ICMP type", path)
		}
		// An empty icmp block matches on nothing in Felix (no type, no code).
		return nil
	}
	c := &icmpCrit{}
	if *f.Type < 0 || *f.Type > 254 {
		b.errorf("%s.type: %d is outside 0-254", path, *f.Type)
	} else {
		c.typ = uint8(*f.Type)
	}
	if f.Code != nil {
		if *f.Code < 0 || *f.Code > 255 {
			b.errorf("%s.code: %d is outside 0-255", path, *f.Code)
		} else {
			c.code, c.hasCode = uint8(*f.Code), true
		}
	}
	return c
}

func (b *builder) compileSide(path string, er *v1alpha1.EntityRule, namedProto uint8, destination bool) side {
	s := side{namedProto: namedProto}
	if er.Services != nil {
		s.svc = b.services(path+".services", er.Services, destination)
	}
	if len(er.Domains) > 0 {
		b.errorf("%s.domains: domains are not supported yet", path)
	}
	s.netsSet, s.notNetsSet = len(er.Nets) > 0, len(er.NotNets) > 0
	s.nets = b.nets(path+".nets", er.Nets)
	s.notNets = b.nets(path+".notNets", er.NotNets)
	for f := range 2 {
		s.netsIdx[f], s.notNetsIdx[f] = newPrefixSet(s.nets[f]), newPrefixSet(s.notNets[f])
	}
	s.ports = b.ports(path+".ports", er.Ports)
	s.notPorts = b.ports(path+".notPorts", er.NotPorts)
	s.pos, s.neg = b.peers(path, er)
	return s
}

// services compiles a services criterion. An empty namespace means the policy's namespace, as
// the API documents (docs/semantics.md §9, item 1: Felix itself would look up "/<name>" and never match);
// a global policy must name the namespace.
func (b *builder) services(path string, m *v1alpha1.ServiceMatch, destination bool) *svcMatch {
	ns := m.Namespace
	if ns == "" {
		ns = b.ns
	}
	switch {
	case m.Name == "":
		b.errorf("%s.name: services must specify a service name", path)
	case ns == "":
		b.errorf("%s.namespace: services in a global policy must specify a namespace", path)
	}
	return &svcMatch{key: EndpointRef{Namespace: ns, Name: m.Name}, withPorts: destination}
}

// nets parses CIDRs by family. Like Felix (ParseCIDROrIP, then masking) it accepts a bare IP as a
// host route and masks host bits; validation is stricter.
func (b *builder) nets(path string, in []string) [2][]netip.Prefix {
	var out [2][]netip.Prefix
	for i, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				b.errorf("%s[%d]: parsing CIDR %q: %w", path, i, s, err)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		f := 0
		if p.Addr().Is6() {
			f = 1
		}
		out[f] = append(out[f], p)
	}
	return out
}

func (b *builder) ports(path string, in []v1alpha1.Port) []portCrit {
	out := make([]portCrit, 0, len(in))
	for i, p := range in {
		r, err := p.Parse()
		if err != nil {
			b.errorf("%s[%d]: %w", path, i, err)
			continue
		}
		if !r.IsNamed() && r.Min == 0 {
			b.errorf("%s[%d]: port range %s invalid, port number must be between 1 and 65535", path, i, r)
			continue
		}
		out = append(out, portCrit{min: r.Min, max: r.Max, name: r.Name})
	}
	return out
}

// peers builds the positive and negative endpoint selectors of an EntityRule exactly as Calico's
// getEndpointSelector combines them (docs/semantics.md §5.2): the namespace clause (namespaceSelector,
// or the policy's own namespace for a namespaced policy) is added as soon as any of selector,
// serviceAccounts, notSelector or namespaceSelector is set; notSelector stays unscoped.
func (b *builder) peers(path string, er *v1alpha1.EntityRule) (pos, neg *peerSel) {
	p := &peerSel{}
	hasSel := false
	if er.ServiceAccounts != nil {
		if er.ServiceAccounts.Selector != "" {
			p.saSel = b.parseSelector(path+".serviceAccounts.selector", er.ServiceAccounts.Selector)
			hasSel = true
		}
		if len(er.ServiceAccounts.Names) > 0 {
			p.saNames = slices.Compact(slices.Sorted(slices.Values(er.ServiceAccounts.Names)))
			hasSel = true
		}
	}
	if er.Selector != "" {
		p.sel = b.parseSelector(path+".selector", er.Selector)
		hasSel = true
	}
	nsClause := er.NamespaceSelector != "" || b.ns != ""
	if nsClause && (hasSel || er.NotSelector != "" || er.NamespaceSelector != "") {
		switch {
		case er.NamespaceSelector == "":
			p.scoped, p.scopeNS = true, b.ns
		case selector.IsGlobal(er.NamespaceSelector):
			// global() selects endpoints without a namespace (host endpoints, global network
			// sets), never a pod.
			p.never = true
		case selector.ContainsGlobal(er.NamespaceSelector):
			// Calico rewrites global() textually; Palisade's validation only admits it alone.
			b.errorf("%s.namespaceSelector: global() cannot be combined with other selectors", path)
			p.nsSel = selector.All
		default:
			p.nsSel = b.parseSelector(path+".namespaceSelector", er.NamespaceSelector)
		}
		pos = p
	} else if hasSel {
		pos = p
	}
	if er.NotSelector != "" {
		notSel := b.parseSelector(path+".notSelector", er.NotSelector)
		if pos != nil {
			// Felix folds the negation into the positive selector when there is one
			// (rule_scanner.go combineMatchesIfPossible): members are the endpoints matching
			// (pos) && !(neg), which also filters the named ports.
			pos.not = notSel
		} else {
			neg = &peerSel{sel: notSel}
			neg.key = neg.computeKey()
		}
	}
	if pos != nil {
		pos.key = pos.computeKey()
	}
	return pos, neg
}
