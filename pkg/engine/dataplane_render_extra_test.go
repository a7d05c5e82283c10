package engine_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

// The engine's generator draws the common criteria. This one draws the criteria whose rendering
// needs the renderer's less common forms: port lists longer than multiport takes, numeric and
// named ports together, notPorts, source ports, notICMP with and without a protocol, ICMP codes,
// protocols by number (SCTP, UDPLite, GRE), several nets and notNets (catch-alls included, both
// families), source services, tiers with Pass defaults. Worlds are drawn from a seeded PRNG and
// checked like the generator's (checkFlow).

var (
	xIPs   = []string{"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.1.1", "198.18.1.2", "fd00::1", "fd00::2", "fd00::3"}
	xOther = []string{"198.19.0.1", "fd01::1"}
	xNets  = []string{"198.18.0.0/24", "198.18.0.2/32", "198.18.1.0/24", "0.0.0.0/0", "fd00::/120", "fd00::2/128", "::/0", "198.19.0.0/16"}
	xPorts = []uint16{1, 53, 80, 443, 1000, 1001, 1002, 1010, 1020, 1030, 2000, 8080, 9000}
	xSels  = []string{"app == 'a'", "app == 'b'", "has(tier)", "!has(tier)", "app in {'a', 'c'}"}
)

func xPick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func xPortList(r *rand.Rand, n int, named bool) []v1alpha1.Port {
	var out []v1alpha1.Port
	for range n {
		switch r.IntN(5) {
		case 0:
			lo := xPick(r, xPorts...)
			out = append(out, v1alpha1.PortFromString(fmt.Sprintf("%d:%d", lo, lo+uint16(r.IntN(20)))))
		case 1:
			if named {
				out = append(out, v1alpha1.PortFromString(xPick(r, "http", "dns", "admin")))
				continue
			}
			fallthrough
		default:
			out = append(out, v1alpha1.Port(intstr.FromInt32(int32(xPick(r, xPorts...)))))
		}
	}
	return out
}

func xRule(r *rand.Rand) v1alpha1.Rule {
	rule := v1alpha1.Rule{Action: xPick(r, v1alpha1.Allow, v1alpha1.Allow, v1alpha1.Deny, v1alpha1.Log, v1alpha1.Pass)}
	proto := func(s string) *v1alpha1.Protocol { p := v1alpha1.ProtocolFromString(s); return &p }
	portProto := false
	switch r.IntN(7) {
	case 0, 1:
		rule.Protocol = proto(xPick(r, "TCP", "UDP", "SCTP"))
		portProto = true
	case 2:
		rule.Protocol = proto(xPick(r, "ICMP", "ICMPv6"))
		if r.IntN(2) == 0 {
			typ := xPick(r, 0, 8, 128)
			rule.ICMP = &v1alpha1.ICMPFields{Type: &typ}
			if r.IntN(2) == 0 {
				code := r.IntN(2)
				rule.ICMP.Code = &code
			}
		}
	case 3:
		p := v1alpha1.ProtocolFromInt(xPick(r, 136, 47, 6, 1))
		rule.Protocol = &p
	case 4:
		rule.NotProtocol = proto(xPick(r, "TCP", "UDP", "ICMP"))
	}
	if r.IntN(3) == 0 {
		typ := xPick(r, 0, 8, 128)
		rule.NotICMP = &v1alpha1.ICMPFields{Type: &typ}
	}
	for i, e := range []*v1alpha1.EntityRule{&rule.Source, &rule.Destination} {
		if r.IntN(3) == 0 {
			for range 1 + r.IntN(3) {
				e.Nets = append(e.Nets, xPick(r, xNets...))
			}
		}
		if r.IntN(4) == 0 {
			for range 1 + r.IntN(3) {
				e.NotNets = append(e.NotNets, xPick(r, xNets...))
			}
		}
		if r.IntN(3) == 0 {
			e.Selector = xPick(r, xSels...)
		}
		if r.IntN(6) == 0 {
			e.NotSelector = xPick(r, xSels...)
		}
		if r.IntN(8) == 0 {
			e.Services = &v1alpha1.ServiceMatch{Name: "svc", Namespace: "ns0"}
		}
		portsHere := i == 1 || r.IntN(4) == 0
		if portProto && portsHere && r.IntN(2) == 0 {
			e.Ports = xPortList(r, xPick(r, 1, 3, 10, 18), true)
		}
		if portProto && portsHere && r.IntN(3) == 0 {
			e.NotPorts = xPortList(r, xPick(r, 1, 2, 16), true)
		}
		if rule.Protocol == nil && r.IntN(6) == 0 {
			e.Ports = []v1alpha1.Port{v1alpha1.PortFromString(xPick(r, "http", "dns"))}
		}
	}
	return rule
}

func xWorld(r *rand.Rand) (objs []any, flows []engine.Flow) {
	for _, ns := range []string{"ns0", "ns1"} {
		objs = append(objs, engine.Namespace{Name: ns, Labels: map[string]string{"env": xPick(r, "a", "b")}})
	}
	var used []string
	for i, ip := range xIPs {
		labels := map[string]string{"app": xPick(r, "a", "b", "c")}
		if r.IntN(2) == 0 {
			labels["tier"] = "t"
		}
		ep := engine.Endpoint{Namespace: xPick(r, "ns0", "ns1"), Name: fmt.Sprintf("p%d", i), Labels: labels,
			IPs: []netip.Addr{netip.MustParseAddr(ip)}}
		if r.IntN(3) == 0 {
			ep.IPs = append(ep.IPs, netip.MustParseAddr(xPick(r, xIPs...)))
		}
		for _, np := range []engine.NamedPort{
			{Name: "http", Protocol: engine.ProtoTCP, Port: xPick(r, uint16(80), 8080)},
			{Name: "dns", Protocol: engine.ProtoUDP, Port: 53},
			{Name: "admin", Protocol: xPick(r, engine.ProtoTCP, engine.ProtoSCTP), Port: 9000},
		} {
			if r.IntN(2) == 0 {
				ep.Ports = append(ep.Ports, np)
			}
		}
		objs = append(objs, ep)
		used = append(used, ip)
	}
	objs = append(objs, engine.EndpointSlice{Namespace: "ns0", Name: "svc-1", Service: "svc",
		Addresses: []netip.Addr{netip.MustParseAddr(xPick(r, xIPs...))},
		Ports:     []engine.ServicePort{{Protocol: xPick(r, engine.ProtoTCP, engine.ProtoUDP), Port: xPick(r, uint16(53), 80, 1000)}}})
	for k := range 1 + r.IntN(5) {
		spec := v1alpha1.PolicySpec{Tier: xPick(r, "", "kube-admin", "zzz"), Selector: xPick(r, append(xSels, "")...)}
		if r.IntN(3) != 0 {
			o := float64(r.IntN(3))
			spec.Order = &o
		}
		spec.Types = xPick(r,
			[]v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress},
			[]v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress},
			[]v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress})
		for range r.IntN(4) {
			spec.Ingress = append(spec.Ingress, xRule(r))
		}
		for range r.IntN(4) {
			spec.Egress = append(spec.Egress, xRule(r))
		}
		if r.IntN(2) == 0 {
			p := &v1alpha1.GlobalNetworkPolicy{}
			p.Name = fmt.Sprintf("g%d", k)
			p.Spec.PolicySpec = spec
			objs = append(objs, p)
		} else {
			p := &v1alpha1.NetworkPolicy{}
			p.Namespace, p.Name = xPick(r, "ns0", "ns1"), fmt.Sprintf("n%d", k)
			p.Spec.PolicySpec = spec
			objs = append(objs, p)
		}
	}
	addr := func() netip.Addr {
		if r.IntN(6) == 0 {
			return netip.MustParseAddr(xPick(r, xOther...))
		}
		return netip.MustParseAddr(xPick(r, used...))
	}
	for range 40 {
		s := addr()
		d := addr()
		for s.Is4() != d.Is4() {
			d = addr()
		}
		f := engine.Flow{Src: s, Dst: d}
		switch r.IntN(6) {
		case 0:
			f.Protocol = engine.ProtoICMP
			if s.Is6() {
				f.Protocol = engine.ProtoICMPv6
			}
			f.ICMP = &engine.ICMPMatch{Type: xPick(r, uint8(0), 8, 128), Code: uint8(r.IntN(2))}
		case 1:
			f.Protocol = xPick(r, uint8(47), engine.ProtoUDPLite)
			if f.Protocol == engine.ProtoUDPLite {
				f.SrcPort, f.DstPort = xPick(r, xPorts...), xPick(r, xPorts...)
			}
		default:
			f.Protocol = xPick(r, engine.ProtoTCP, engine.ProtoUDP, engine.ProtoSCTP)
			f.SrcPort, f.DstPort = xPick(r, xPorts...), xPick(r, xPorts...)
		}
		flows = append(flows, f)
	}
	return objs, flows
}

func TestRenderedRulesAgreeWithEngineOnRareCriteria(t *testing.T) {
	const worlds = 300
	for seed := range uint64(worlds) {
		r := rand.New(rand.NewPCG(seed, 7))
		objs, flows := xWorld(r)
		// A dispatch fanout of 2 turns every node's few addresses into a tree of dispatch chains.
		opts := render.DefaultOptions()
		opts.DispatchFanout = 2
		w := buildRenderedWorld(t, objs, func(i int) string { return nodes[(i+int(seed))%2] }, false, opts)
		for _, f := range flows {
			if d := w.checkFlow(t, f); d != "" {
				t.Fatalf("seed %d flow %s:%d -> %s:%d proto %d icmp %v:\n%s", seed, f.Src, f.SrcPort, f.Dst, f.DstPort, f.Protocol, f.ICMP, d)
			}
		}
	}
}
