package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// chooser drives the random world generator: from a seeded PRNG (order-independence tests) or
// from fuzz input bytes.
type chooser interface {
	intn(n int) int
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

// byteChooser consumes one byte per choice and returns 0 once the input is exhausted.
type byteChooser struct{ b []byte }

func (c *byteChooser) intn(n int) int {
	if len(c.b) == 0 || n <= 1 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

func pick[T any](c chooser, xs ...T) T { return xs[c.intn(len(xs))] }

// world is a random cluster: objects to insert, extra objects inserted and later deleted or
// overwritten, and flows to ask about.
type world struct {
	objs  []any
	flows []Flow
}

var (
	genIPs     = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.1.1", "fd00::1", "fd00::2", "fd00::3"}
	genExtIPs  = []string{"192.0.2.1", "2001:db8::1"}
	genLongSA  = strings.Repeat("s", 70)
	genSelPool = []string{"", "all()", "app == 'a0'", "app in {'a1', 'a2'}", "has(tier)", "!has(tier)", "tier != 't0'", "pcns.env == 'a'", "projectcalico.org/serviceaccount == 'sa0'", "app starts with 'a'", "global()", "role == 'r0'", "env == 'a' || team == 'x'", "app == 'a0'", "app == 'a1'", "tier == 't1'"}
	genNSSel   = []string{"", "all()", "env == 'a'", "!has(env)", "global()", "team == 'x' && env == 'b'", "", "env == 'b'"}
	genCIDRs   = []string{"10.0.0.0/24", "10.0.0.1/32", "10.0.1.0/24", "0.0.0.0/0", "fd00::/64", "fd00::2/128", "::/0", "192.0.2.0/24"}
	genPorts   = []string{"80", "53", "8080", "1:100", "http", "dns", "443:8080"}
	// genInvalid are inputs the engine must fail closed on; they are drawn rarely.
	genInvalidSel  = []string{"a = 'b'", "bad (", "global() || app == 'a0'"}
	genInvalidCIDR = []string{"not-a-cidr", "10.0.0.0/33"}
	genPolNames    = []string{"a", "a-b", "a.b", "x"}
)

func genWorld(c chooser) world {
	var w world
	nss := []string{"ns0", "ns1", "ns2"}
	for _, ns := range nss {
		labels := map[string]string{}
		if c.intn(2) == 0 {
			labels["env"] = pick(c, "a", "b")
		}
		if c.intn(2) == 0 {
			labels["team"] = "x"
		}
		w.objs = append(w.objs, Namespace{Name: ns, Labels: labels})
		for _, sa := range []string{"sa0", "sa1", genLongSA} {
			if c.intn(4) != 0 {
				w.objs = append(w.objs, ServiceAccount{Namespace: ns, Name: sa, Labels: map[string]string{"role": pick(c, "r0", "r1")}})
			}
		}
	}
	nPods := 2 + c.intn(8)
	for i := range nPods {
		labels := map[string]string{"app": pick(c, "a0", "a1", "a2")}
		if c.intn(2) == 0 {
			labels["tier"] = pick(c, "t0", "t1")
		}
		ep := Endpoint{
			Namespace: pick(c, nss...), Name: fmt.Sprintf("p%d", i), Labels: labels,
			ServiceAccount: pick(c, "sa0", "sa1", genLongSA, ""),
		}
		for range 1 + c.intn(2) {
			ep.IPs = append(ep.IPs, netip.MustParseAddr(pick(c, genIPs...)))
		}
		if c.intn(2) == 0 {
			ep.Ports = append(ep.Ports, NamedPort{Name: "http", Protocol: ProtoTCP, Port: uint16(pick(c, 80, 8080))})
		}
		if c.intn(2) == 0 {
			ep.Ports = append(ep.Ports, NamedPort{Name: "dns", Protocol: ProtoUDP, Port: 53})
		}
		w.objs = append(w.objs, ep)
	}
	for i := range c.intn(3) {
		sl := EndpointSlice{Namespace: pick(c, nss...), Name: fmt.Sprintf("slice%d", i), Service: pick(c, "svc0", "svc1")}
		for range 1 + c.intn(2) {
			sl.Addresses = append(sl.Addresses, netip.MustParseAddr(pick(c, genIPs...)))
		}
		sl.Ports = []ServicePort{{Protocol: pick(c, ProtoTCP, ProtoUDP), Port: uint16(pick(c, 53, 80, 8080))}}
		w.objs = append(w.objs, sl)
	}
	nPol := c.intn(7)
	seen := map[string]bool{}
	for range nPol {
		p := genPolicy(c, nss)
		id := fmt.Sprintf("%T/%v", p, policyKeyOf(p))
		if seen[id] {
			continue
		}
		seen[id] = true
		w.objs = append(w.objs, p)
		if c.intn(3) == 0 {
			w.objs = append(w.objs, candidate{genPolicyLike(c, p)})
		}
	}
	all := append(append([]string(nil), genIPs...), genExtIPs...)
	var used []string
	for _, o := range w.objs {
		if ep, ok := o.(Endpoint); ok {
			for _, ip := range ep.IPs {
				used = append(used, ip.String())
			}
		}
	}
	addr := func() string {
		if c.intn(5) == 0 {
			return pick(c, all...)
		}
		return pick(c, used...)
	}
	for range 6 + c.intn(10) {
		s, d := addr(), addr()
		for tries := 0; netip.MustParseAddr(s).Is4() != netip.MustParseAddr(d).Is4(); tries++ {
			d = addr()
			if tries > 3 {
				d = s
			}
		}
		f := Flow{Src: netip.MustParseAddr(s), Dst: netip.MustParseAddr(d)}
		switch c.intn(4) {
		case 0:
			f.Protocol, f.DstPort, f.SrcPort = ProtoUDP, uint16(pick(c, 53, 80)), 1000
		case 1:
			f.Protocol = ProtoICMP
			if f.Src.Is6() {
				f.Protocol = ProtoICMPv6
			}
			f.ICMP = &ICMPMatch{Type: uint8(pick(c, 0, 8, 128)), Code: uint8(c.intn(2))}
		default:
			f.Protocol, f.DstPort, f.SrcPort = ProtoTCP, uint16(pick(c, 80, 8080, 443, 53)), uint16(pick(c, 40000, 80))
		}
		w.flows = append(w.flows, f)
	}
	return w
}

func policyKeyOf(p any) PolicyKey {
	switch x := p.(type) {
	case *v1alpha1.NetworkPolicy:
		return PolicyKey{Kind: KindNetworkPolicy, Namespace: x.Namespace, Name: x.Name}
	case *v1alpha1.GlobalNetworkPolicy:
		return PolicyKey{Kind: KindGlobalNetworkPolicy, Name: x.Name}
	case *networkingv1.NetworkPolicy:
		return PolicyKey{Kind: KindKubernetesNetworkPolicy, Namespace: x.Namespace, Name: x.Name}
	}
	panic(fmt.Sprintf("policyKeyOf %T", p))
}

// genPolicyLike generates another generation for the same key as p.
func genPolicyLike(c chooser, p any) any {
	switch x := p.(type) {
	case *v1alpha1.NetworkPolicy:
		y := np(x.Namespace, x.Name)
		y.Spec.PolicySpec = genSpec(c)
		return y
	case *v1alpha1.GlobalNetworkPolicy:
		y := gnp(x.Name)
		y.Spec.PolicySpec = genSpec(c)
		y.Spec.NamespaceSelector = pick(c, genNSSel...)
		return y
	case *networkingv1.NetworkPolicy:
		y := genKNP(c, x.Namespace)
		y.Name = x.Name
		return y
	}
	panic(fmt.Sprintf("genPolicyLike %T", p))
}

func genPolicy(c chooser, nss []string) any {
	switch c.intn(3) {
	case 0:
		p := np(pick(c, nss...), pick(c, genPolNames...))
		p.Spec.PolicySpec = genSpec(c)
		return p
	case 1:
		p := gnp(pick(c, genPolNames...))
		p.Spec.PolicySpec = genSpec(c)
		p.Spec.NamespaceSelector = pick(c, genNSSel...)
		if c.intn(8) == 0 {
			p.Spec.DoNotTrack, p.Spec.ApplyOnForward = true, true
		}
		return p
	default:
		return genKNP(c, pick(c, nss...))
	}
}

func genSpec(c chooser) v1alpha1.PolicySpec {
	var s v1alpha1.PolicySpec
	s.Tier = pick(c, "", "", "", "default", "kube-admin", "zzz")
	switch c.intn(4) {
	case 0:
	case 1:
		o := 10.0
		s.Order = &o
	default:
		o := float64(pick(c, 1, 10, 1000, -5))
		s.Order = &o
	}
	s.Selector = pick(c, genSelPool...)
	if c.intn(40) == 0 {
		s.Selector = pick(c, genInvalidSel...)
	}
	if c.intn(4) == 0 {
		s.ServiceAccountSelector = pick(c, "role == 'r0'", "all()", "!has(role)")
	}
	switch c.intn(4) {
	case 0:
		s.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}
	case 1:
		s.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}
	case 2:
		s.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress}
	}
	for range c.intn(4) {
		s.Ingress = append(s.Ingress, genRule(c))
	}
	for range c.intn(3) {
		s.Egress = append(s.Egress, genRule(c))
	}
	return s
}

func genRule(c chooser) v1alpha1.Rule {
	r := v1alpha1.Rule{Action: pick(c, Allow, Allow, Deny, Log, Pass)}
	switch c.intn(6) {
	case 0:
		p := v1alpha1.ProtocolFromString(pick(c, "TCP", "UDP", "ICMP", "ICMPv6", "6", "17", "tcp", "TCP", "UDP"))
		r.Protocol = &p
	case 1:
		p := v1alpha1.ProtocolFromString(pick(c, "TCP", "UDP"))
		r.NotProtocol = &p
	case 2:
		p := v1alpha1.ProtocolFromString("TCP")
		r.Protocol = &p
		r.Destination.Ports = portList(pick(c, genPorts...))
	case 3:
		p := v1alpha1.ProtocolFromString(pick(c, "ICMP", "ICMPv6"))
		r.Protocol = &p
		typ := pick(c, 0, 8, 128)
		r.ICMP = &v1alpha1.ICMPFields{Type: &typ}
	}
	if c.intn(6) == 0 {
		v := pick(c, 4, 6)
		r.IPVersion = &v
	}
	for _, e := range []*v1alpha1.EntityRule{&r.Source, &r.Destination} {
		switch c.intn(8) {
		case 0:
			e.Selector = pick(c, genSelPool...)
		case 1:
			e.NamespaceSelector = pick(c, genNSSel...)
			e.Selector = pick(c, genSelPool...)
		case 2:
			e.NotSelector = pick(c, genSelPool...)
		case 3:
			e.Nets = []string{pick(c, genCIDRs...)}
		case 4:
			e.NotNets = []string{pick(c, genCIDRs...)}
		case 5:
			e.ServiceAccounts = &v1alpha1.ServiceAccountMatch{Names: []string{pick(c, "sa0", "sa1")}, Selector: pick(c, "", "role == 'r1'")}
		case 6:
			e.Services = &v1alpha1.ServiceMatch{Name: pick(c, "svc0", "svc1"), Namespace: pick(c, "", "ns0", "ns1")}
		}
		if c.intn(6) == 0 && (r.Protocol == nil || r.Protocol.SupportsPorts()) {
			e.Ports = portList(pick(c, "http", "dns"))
		}
		if c.intn(60) == 0 {
			e.Nets = append(e.Nets, pick(c, genInvalidCIDR...))
		}
		if c.intn(60) == 0 {
			e.NamespaceSelector = pick(c, genInvalidSel...)
		}
	}
	if c.intn(80) == 0 {
		r.Action = "Reject"
	}
	return r
}

func genKNP(c chooser, ns string) *networkingv1.NetworkPolicy {
	p := knp(ns, pick(c, genPolNames...), podSel(pick(c, []string{}, []string{"app", "a0"}, []string{"tier", "t1"})...))
	peer := func() networkingv1.NetworkPolicyPeer {
		switch c.intn(5) {
		case 0:
			return peerPods(pick(c, []string{}, []string{"app", "a1"})...)
		case 1:
			return peerNS(pick(c, []string{}, []string{"env", "a"})...)
		case 2:
			return peerPodsInNS([]string{"app", "a2"}, []string{"team", "x"})
		case 3:
			return peerIP(pick(c, "10.0.0.0/24", "fd00::/64", "0.0.0.0/0"), pick(c, []string{}, []string{"10.0.0.2/32"})...)
		}
		if c.intn(10) == 0 {
			return peerIP("bad")
		}
		return peerPodsInNS([]string{"tier", "t1"}, nil)
	}
	port := func() networkingv1.NetworkPolicyPort {
		switch c.intn(5) {
		case 0:
			return kport("", 80)
		case 1:
			return kport("UDP", 53)
		case 2:
			return kport("TCP", "http")
		case 3:
			return kport("TCP", 1, 100)
		}
		return kport("UDP", nil)
	}
	for range c.intn(3) {
		var items []any
		for range c.intn(3) {
			items = append(items, peer())
		}
		for range c.intn(3) {
			items = append(items, port())
		}
		p.Spec.Ingress = append(p.Spec.Ingress, from(items...))
	}
	for range c.intn(3) {
		var items []any
		for range c.intn(2) {
			items = append(items, peer())
		}
		for range c.intn(2) {
			items = append(items, port())
		}
		p.Spec.Egress = append(p.Spec.Egress, to(items...))
	}
	switch c.intn(3) {
	case 0:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 1:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	}
	return p
}
