package engine

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Fixture builders with tweak functions (style.md).

func pod(ns, name, ip string, labels map[string]string, tweaks ...func(*Endpoint)) Endpoint {
	ep := Endpoint{Namespace: ns, Name: name, Labels: labels, ServiceAccount: "default"}
	if ip != "" {
		for _, s := range strings.Split(ip, ",") {
			ep.IPs = append(ep.IPs, netip.MustParseAddr(s))
		}
	}
	for _, t := range tweaks {
		t(&ep)
	}
	return ep
}

func withSA(sa string) func(*Endpoint) { return func(e *Endpoint) { e.ServiceAccount = sa } }

func withPort(name string, proto uint8, port uint16) func(*Endpoint) {
	return func(e *Endpoint) { e.Ports = append(e.Ports, NamedPort{Name: name, Protocol: proto, Port: port}) }
}

func np(ns, name string, tweaks ...func(*v1alpha1.PolicySpec)) *v1alpha1.NetworkPolicy {
	p := &v1alpha1.NetworkPolicy{}
	p.Namespace, p.Name = ns, name
	for _, t := range tweaks {
		t(&p.Spec.PolicySpec)
	}
	return p
}

func gnp(name string, tweaks ...func(*v1alpha1.PolicySpec)) *v1alpha1.GlobalNetworkPolicy {
	p := &v1alpha1.GlobalNetworkPolicy{}
	p.Name = name
	for _, t := range tweaks {
		t(&p.Spec.PolicySpec)
	}
	return p
}

func gnpNS(name, nsSel string, tweaks ...func(*v1alpha1.PolicySpec)) *v1alpha1.GlobalNetworkPolicy {
	p := gnp(name, tweaks...)
	p.Spec.NamespaceSelector = nsSel
	return p
}

func order(o float64) func(*v1alpha1.PolicySpec) {
	return func(s *v1alpha1.PolicySpec) { s.Order = &o }
}

func sel(s string) func(*v1alpha1.PolicySpec) { return func(p *v1alpha1.PolicySpec) { p.Selector = s } }

func saSel(s string) func(*v1alpha1.PolicySpec) {
	return func(p *v1alpha1.PolicySpec) { p.ServiceAccountSelector = s }
}

func types(ts ...v1alpha1.PolicyType) func(*v1alpha1.PolicySpec) {
	return func(p *v1alpha1.PolicySpec) { p.Types = ts }
}

func ingress(rs ...v1alpha1.Rule) func(*v1alpha1.PolicySpec) {
	return func(p *v1alpha1.PolicySpec) { p.Ingress = append(p.Ingress, rs...) }
}

func egress(rs ...v1alpha1.Rule) func(*v1alpha1.PolicySpec) {
	return func(p *v1alpha1.PolicySpec) { p.Egress = append(p.Egress, rs...) }
}

func rl(action v1alpha1.Action, tweaks ...func(*v1alpha1.Rule)) v1alpha1.Rule {
	r := v1alpha1.Rule{Action: action}
	for _, t := range tweaks {
		t(&r)
	}
	return r
}

func proto(p string) func(*v1alpha1.Rule) {
	return func(r *v1alpha1.Rule) { x := v1alpha1.ProtocolFromString(p); r.Protocol = &x }
}

func notProto(p string) func(*v1alpha1.Rule) {
	return func(r *v1alpha1.Rule) { x := v1alpha1.ProtocolFromString(p); r.NotProtocol = &x }
}

func ipv(v int) func(*v1alpha1.Rule) { return func(r *v1alpha1.Rule) { r.IPVersion = &v } }

func icmpT(typ int, code ...int) func(*v1alpha1.Rule) {
	return func(r *v1alpha1.Rule) {
		r.ICMP = &v1alpha1.ICMPFields{Type: &typ}
		if len(code) > 0 {
			r.ICMP.Code = &code[0]
		}
	}
}

func notICMPT(typ int, code ...int) func(*v1alpha1.Rule) {
	return func(r *v1alpha1.Rule) {
		r.NotICMP = &v1alpha1.ICMPFields{Type: &typ}
		if len(code) > 0 {
			r.NotICMP.Code = &code[0]
		}
	}
}

func src(tweaks ...func(*v1alpha1.EntityRule)) func(*v1alpha1.Rule) {
	return func(r *v1alpha1.Rule) {
		for _, t := range tweaks {
			t(&r.Source)
		}
	}
}

func dst(tweaks ...func(*v1alpha1.EntityRule)) func(*v1alpha1.Rule) {
	return func(r *v1alpha1.Rule) {
		for _, t := range tweaks {
			t(&r.Destination)
		}
	}
}

func eSel(s string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.Selector = s }
}
func eNotSel(s string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.NotSelector = s }
}
func eNS(s string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.NamespaceSelector = s }
}
func eNets(n ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.Nets = n }
}
func eNotNets(n ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.NotNets = n }
}
func eSA(sel string, names ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) {
		e.ServiceAccounts = &v1alpha1.ServiceAccountMatch{Selector: sel, Names: names}
	}
}

func portList(ps ...string) []v1alpha1.Port {
	var out []v1alpha1.Port
	for _, p := range ps {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, v1alpha1.Port(intstr.FromInt32(int32(n))))
		} else {
			out = append(out, v1alpha1.PortFromString(p))
		}
	}
	return out
}

func ePorts(ps ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.Ports = portList(ps...) }
}
func eNotPorts(ps ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.NotPorts = portList(ps...) }
}

// Flows.

func tcp(s, d string, dport uint16) Flow {
	return Flow{Src: netip.MustParseAddr(s), Dst: netip.MustParseAddr(d), Protocol: ProtoTCP, SrcPort: 40000, DstPort: dport}
}

func udp(s, d string, dport uint16) Flow {
	f := tcp(s, d, dport)
	f.Protocol = ProtoUDP
	return f
}

func icmpFlow(s, d string, typ, code uint8) Flow {
	f := Flow{Src: netip.MustParseAddr(s), Dst: netip.MustParseAddr(d), Protocol: ProtoICMP, ICMP: &ICMPMatch{Type: typ, Code: code}}
	if f.Src.Is6() {
		f.Protocol = ProtoICMPv6
	}
	return f
}

// renderVerdict renders a verdict as compact text so that tables can state whole traces:
//
//	deny
//	egress ns/a: allow NoPolicyApplies
//	ingress ns/b: deny Rule default NetworkPolicy/ns/p rule=0 Deny
//	  default NetworkPolicy/ns/p order=10 enforced: Deny rule=0 logs=[1]
func renderVerdict(v Verdict) string {
	var b strings.Builder
	if v.Allowed {
		b.WriteString("allow\n")
	} else {
		b.WriteString("deny\n")
	}
	renderDir(&b, "egress", &v.Egress)
	renderDir(&b, "ingress", &v.Ingress)
	return b.String()
}

func renderDir(b *strings.Builder, name string, t *DirectionTrace) {
	who := "-"
	if t.Endpoint != nil {
		who = t.Endpoint.String()
	}
	verdict := "deny"
	if t.Allowed {
		verdict = "allow"
	}
	fmt.Fprintf(b, "%s %s: %s %s", name, who, verdict, t.Decision.Reason)
	d := t.Decision
	if d.Tier != "" {
		fmt.Fprintf(b, " %s", d.Tier)
	}
	if d.Policy != nil {
		fmt.Fprintf(b, " %s", d.Policy)
	}
	if d.RuleIndex != nil {
		fmt.Fprintf(b, " rule=%d", *d.RuleIndex)
	}
	if d.Action != "" {
		fmt.Fprintf(b, " %s", d.Action)
	}
	b.WriteByte('\n')
	for _, p := range t.Policies {
		o := "none"
		if p.Order != nil {
			o = strconv.FormatFloat(*p.Order, 'g', -1, 64)
		}
		fmt.Fprintf(b, "  %s %s order=%s %s: %s", p.Tier, p.Policy, o, p.Generation, p.Outcome)
		if p.RuleIndex != nil {
			fmt.Fprintf(b, " rule=%d", *p.RuleIndex)
		}
		if len(p.LogRules) > 0 {
			fmt.Fprintf(b, " logs=%v", p.LogRules)
		}
		if p.Error != "" {
			fmt.Fprintf(b, " error=%q", p.Error)
		}
		b.WriteByte('\n')
	}
}

// lines joins expected trace lines.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func mustUpsert(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("upsert: %v", err)
	}
}

// candidate marks a policy object to be stored as SlotCandidate.
type candidate struct{ obj any }

// apply stores any model or API object in the engine.
func apply(t testing.TB, e *Engine, objs ...any) {
	t.Helper()
	for _, o := range objs {
		var err error
		slot := SlotEnforced
		if c, ok := o.(candidate); ok {
			o, slot = c.obj, SlotCandidate
		}
		switch x := o.(type) {
		case Endpoint:
			err = e.UpsertPod(x)
		case Namespace:
			err = e.UpsertNamespace(x)
		case ServiceAccount:
			err = e.UpsertServiceAccount(x)
		case *v1alpha1.NetworkPolicy:
			err = e.UpsertNetworkPolicy(x, slot)
		case *v1alpha1.GlobalNetworkPolicy:
			err = e.UpsertGlobalNetworkPolicy(x, slot)
		case *networkingv1.NetworkPolicy:
			err = e.UpsertKubernetesNetworkPolicy(x, slot)
		default:
			t.Fatalf("apply: unsupported %T", o)
		}
		if err != nil {
			t.Fatalf("apply %T: %v", o, err)
		}
	}
}

// baseCluster is the fixture most scenarios run on.
//
//	prod {env: prod, team: a}: web 10.0.0.1,fd00::1 {app: web} ports http/TCP/8080 dns/UDP/53
//	                          db  10.0.0.2           {app: db}  ports pg/TCP/5432
//	                          api 10.0.0.3 sa api-sa {app: api} ports http/TCP/9090
//	dev {env: dev}:           client 10.0.1.1,fd00::11 {app: client}
//	ops {}:                   mon 10.0.2.1 {app: mon}
//	service account prod/api-sa {role: api}
//	outside any pod: 192.0.2.1, 2001:db8::1
func baseCluster() []any {
	return []any{
		Namespace{Name: "prod", Labels: map[string]string{"env": "prod", "team": "a"}},
		Namespace{Name: "dev", Labels: map[string]string{"env": "dev"}},
		Namespace{Name: "ops"},
		ServiceAccount{Namespace: "prod", Name: "api-sa", Labels: map[string]string{"role": "api"}},
		ServiceAccount{Namespace: "prod", Name: "default"},
		pod("prod", "web", "10.0.0.1,fd00::1", map[string]string{"app": "web"},
			withPort("http", ProtoTCP, 8080), withPort("dns", ProtoUDP, 53)),
		pod("prod", "db", "10.0.0.2", map[string]string{"app": "db"}, withPort("pg", ProtoTCP, 5432)),
		pod("prod", "api", "10.0.0.3", map[string]string{"app": "api"}, withSA("api-sa"), withPort("http", ProtoTCP, 9090)),
		pod("dev", "client", "10.0.1.1,fd00::11", map[string]string{"app": "client"}),
		pod("ops", "mon", "10.0.2.1", map[string]string{"app": "mon"}),
	}
}

const (
	ipWeb     = "10.0.0.1"
	ipWeb6    = "fd00::1"
	ipDB      = "10.0.0.2"
	ipAPI     = "10.0.0.3"
	ipClient  = "10.0.1.1"
	ipClient6 = "fd00::11"
	ipMon     = "10.0.2.1"
	ipExt     = "192.0.2.1"
	ipExt6    = "2001:db8::1"
)
