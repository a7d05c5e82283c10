package engine

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/selector"
)

// netipCmp compares addresses and prefixes by value.
var netipCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func onNode(n string) func(*Endpoint) { return func(e *Endpoint) { e.Node = n } }

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func enf(kind PolicyKind, ns, name string) PolicyID {
	return PolicyID{Key: PolicyKey{Kind: kind, Namespace: ns, Name: name}}
}

func fptr(f float64) *float64 { return &f }

// scopedSelID is the set ID of a namespaced policy's rule selector (scoped to its namespace).
func scopedSelID(ns, sel string) string {
	return contentID("s", (&peerSel{scoped: true, scopeNS: ns, sel: selector.MustParse(sel)}).computeKey())
}

func TestNodeModel(t *testing.T) {
	// The set IDs are part of the kernel's names: pin one so that a change of derivation shows.
	if got, want := namedPortSetID("", ProtoTCP, "pg"), "n:"+"xlNzkYueXy93mtFHQcAsl7RySXcd53OYe_DIAA"; got != want {
		t.Fatalf("namedPortSetID changed: %s, want %s", got, want)
	}
	webSel := scopedSelID("prod", "app == 'web'")
	pgPort := namedPortSetID("", ProtoTCP, "pg")
	nets := contentID("net", "10.0.0.0/8,192.0.2.0/24,fd00::/8")
	svc := contentID("svc", "prod/dns")
	monSel := selector.MustParse("app == 'mon'").UniqueID()

	tests := []struct {
		name string
		objs []any
		node string
		want *NodeModel
	}{
		{
			name: "no policy: endpoints with empty lists, no sets",
			objs: []any{
				pod("prod", "web", "10.0.0.1,fd00::1", map[string]string{"app": "web"}, onNode("n1")),
				pod("prod", "db", "10.0.0.2", map[string]string{"app": "db"}, onNode("n2")),
			},
			node: "n1",
			want: &NodeModel{Node: "n1", Endpoints: []ModelEndpoint{{
				Ref: EndpointRef{Namespace: "prod", Name: "web"}, IPs: addrs("10.0.0.1", "fd00::1"),
				Ingress: []PolicyID{}, Egress: []PolicyID{},
			}}},
		},
		{
			name: "selector and named-port sets hold cluster-wide members; candidates are not enforced",
			objs: []any{
				pod("prod", "web", "10.0.0.1,fd00::1", map[string]string{"app": "web"}, onNode("n2")),
				pod("prod", "web2", "10.0.0.5", map[string]string{"app": "web"}, onNode("n2")),
				pod("dev", "web", "10.0.1.1", map[string]string{"app": "web"}, onNode("n1")),
				pod("prod", "db", "10.0.0.2", map[string]string{"app": "db"}, onNode("n1"), withPort("pg", ProtoTCP, 5432)),
				pod("prod", "db2", "10.0.0.3", map[string]string{"app": "db"}, onNode("n2"), withPort("pg", ProtoTCP, 5433), withPort("pg", ProtoUDP, 5434)),
				np("prod", "db", sel("app == 'db'"), order(10), ingress(rl(v1alpha1.Allow, proto("TCP"),
					src(eSel("app == 'web'")), dst(ePorts("pg"))))),
				candidate{np("prod", "new", sel("app == 'db'"), ingress(rl(v1alpha1.Deny)))},
			},
			node: "n1",
			want: &NodeModel{Node: "n1", Endpoints: []ModelEndpoint{
				{
					Ref: EndpointRef{Namespace: "dev", Name: "web"}, IPs: addrs("10.0.1.1"),
					Ingress: []PolicyID{}, Egress: []PolicyID{},
				},
				{
					Ref: EndpointRef{Namespace: "prod", Name: "db"}, IPs: addrs("10.0.0.2"),
					Ingress: []PolicyID{enf(KindNetworkPolicy, "prod", "db")}, Egress: []PolicyID{},
					Sets: sortedStrings(webSel, pgPort),
				},
			}, Policies: []ModelPolicy{{
				ID: enf(KindNetworkPolicy, "prod", "db"), Tier: "default", Order: fptr(10),
				Governs: [2]bool{true, false},
				Ingress: []ModelRule{{
					Action: v1alpha1.Allow, Families: [2]bool{true, true}, Protocol: ProtoTCP,
					Source:      ModelSide{Selector: webSel},
					Destination: ModelSide{NamedPorts: []string{pgPort}},
				}},
				Egress: []ModelRule{},
			}}, Sets: sortSets([]ModelSet{
				{
					ID: webSel, Kind: SetSelector, Description: `namespace prod && selector app == "web"`,
					IPs: addrs("10.0.0.1", "10.0.0.5", "fd00::1"), Users: []PolicyID{enf(KindNetworkPolicy, "prod", "db")},
				},
				{
					ID: pgPort, Kind: SetNamedPort, Description: "port pg/tcp",
					IPPorts: []IPPort{
						{Addr: netip.MustParseAddr("10.0.0.2"), Proto: ProtoTCP, Port: 5432},
						{Addr: netip.MustParseAddr("10.0.0.3"), Proto: ProtoTCP, Port: 5433},
					},
					Users: []PolicyID{enf(KindNetworkPolicy, "prod", "db")},
				},
			})},
		},
		{
			name: "shared address: only the pod sorting first governs it; tiers, nets, services, fail closed",
			objs: []any{
				pod("prod", "a", "10.0.0.9", nil, onNode("n2")),
				pod("prod", "b", "10.0.0.9,10.0.0.10", map[string]string{"app": "b"}, onNode("n1")),
				pod("ops", "mon", "10.0.2.1", map[string]string{"app": "mon"}, onNode("n2")),
				EndpointSlice{Namespace: "prod", Name: "dns-1", Service: "dns", Addresses: addrs("10.0.2.53"), Ports: []ServicePort{{Protocol: ProtoUDP, Port: 53}}},
				gnp("guard", func(s *v1alpha1.PolicySpec) { s.Tier = "kube-admin" }, order(1), types(v1alpha1.PolicyTypeEgress),
					egress(
						rl(v1alpha1.Log, src(eNotSel("app == 'mon'"))),
						rl(v1alpha1.Pass, ipv(4), dst(eNets("10.0.0.0/8", "192.0.2.0/24", "fd00::/8"))),
						rl(v1alpha1.Allow, proto("UDP"), dst(func(e *v1alpha1.EntityRule) {
							e.Services = &v1alpha1.ServiceMatch{Name: "dns", Namespace: "prod"}
						})),
						rl(v1alpha1.Deny, proto("ICMP"), icmpT(8, 0)),
					)),
				np("prod", "broken", types(v1alpha1.PolicyTypeEgress), egress(rl(v1alpha1.Allow, dst(eNets("nope"))))),
			},
			node: "n1",
			want: &NodeModel{Node: "n1", Endpoints: []ModelEndpoint{{
				Ref: EndpointRef{Namespace: "prod", Name: "b"}, IPs: addrs("10.0.0.10"),
				Ingress: []PolicyID{},
				Egress:  []PolicyID{enf(KindGlobalNetworkPolicy, "", "guard"), enf(KindNetworkPolicy, "prod", "broken")},
				Sets:    sortedStrings(monSel, nets, svc),
			}}, Policies: []ModelPolicy{
				{
					ID: enf(KindGlobalNetworkPolicy, "", "guard"), Tier: "kube-admin", TierDefaultPass: true, Order: fptr(1),
					Governs: [2]bool{false, true}, Ingress: []ModelRule{},
					Egress: []ModelRule{
						{Action: v1alpha1.Log, Families: [2]bool{true, true}, Source: ModelSide{NotSelector: monSel}},
						{
							Action: v1alpha1.Pass, Origin: 1, Families: [2]bool{true, false},
							Destination: ModelSide{
								Nets: [2][]netip.Prefix{pfx("10.0.0.0/8", "192.0.2.0/24"), pfx("fd00::/8")}, HasNets: true, NetsSet: nets,
							},
						},
						{Action: v1alpha1.Allow, Origin: 2, Families: [2]bool{true, true}, Protocol: ProtoUDP, Destination: ModelSide{Service: svc}},
						{Action: v1alpha1.Deny, Origin: 3, Families: [2]bool{true, false}, Protocol: ProtoICMP, ICMP: &ModelICMP{Type: 8, HasCode: true}},
					},
				},
				{
					ID: enf(KindNetworkPolicy, "prod", "broken"), Tier: "default", Governs: [2]bool{false, true},
					FailClosed: true, Error: `spec.egress[0].destination.nets[0]: parsing CIDR "nope": netip.ParsePrefix("nope"): no '/'`,
					Ingress: []ModelRule{}, Egress: []ModelRule{},
				},
			}, Sets: sortSets([]ModelSet{
				{ID: monSel, Kind: SetSelector, Description: `selector app == "mon"`, IPs: addrs("10.0.2.1"), Users: []PolicyID{enf(KindGlobalNetworkPolicy, "", "guard")}},
				{ID: nets, Kind: SetNets, Description: "nets 10.0.0.0/8,192.0.2.0/24,fd00::/8", Nets: pfx("10.0.0.0/8", "192.0.2.0/24", "fd00::/8"), Users: []PolicyID{enf(KindGlobalNetworkPolicy, "", "guard")}},
				{
					ID: svc, Kind: SetService, Description: "service prod/dns",
					IPPorts: []IPPort{{Addr: netip.MustParseAddr("10.0.2.53"), Proto: ProtoUDP, Port: 53}},
					Users:   []PolicyID{enf(KindGlobalNetworkPolicy, "", "guard")},
				},
			})},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			for _, o := range tc.objs {
				_ = store(e, o) // invalid policies are stored failing closed
			}
			got := e.NodeModel(tc.node)
			if d := cmp.Diff(tc.want, got, netipCmp); d != "" {
				t.Errorf("NodeModel(%s) mismatch (-want +got):\n%s", tc.node, d)
			}
		})
	}
}

func sortedStrings(ss ...string) []string {
	out := append([]string(nil), ss...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func sortSets(s []ModelSet) []ModelSet {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j].ID < s[i].ID {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// TestNodeModelIsACopy: changing the engine after the snapshot leaves the snapshot alone, and
// writing into the snapshot does not reach the engine.
func TestNodeModelIsACopy(t *testing.T) {
	e := New()
	apply(t, e,
		pod("prod", "web", "10.0.0.1", map[string]string{"app": "web"}, onNode("n1")),
		np("prod", "p", egress(rl(v1alpha1.Allow, dst(eNets("10.0.0.0/8"))))),
	)
	m := e.NodeModel("n1")
	before := e.NodeModel("n1")
	m.Policies[0].Egress[0].Destination.Nets[0][0] = netip.MustParsePrefix("0.0.0.0/0")
	m.Endpoints[0].IPs[0] = netip.MustParseAddr("1.1.1.1")
	if d := cmp.Diff(before, e.NodeModel("n1"), netipCmp); d != "" {
		t.Fatalf("writing to a snapshot changed the engine:\n%s", d)
	}
	e.DeletePod("prod", "web")
	if got := len(before.Endpoints); got != 1 {
		t.Fatalf("snapshot lost its endpoint after DeletePod: %d endpoints", got)
	}
	if got := len(e.NodeModel("n1").Endpoints); got != 0 {
		t.Fatalf("after DeletePod the node still has %d endpoints", got)
	}
}
