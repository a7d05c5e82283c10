package render_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

var (
	podRef  = engine.EndpointRef{Namespace: "ns", Name: "pod"}
	polID   = engine.PolicyID{Key: engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "ns", Name: "p"}}
	podIP4  = netip.MustParseAddr("198.18.0.1")
	podIP6  = netip.MustParseAddr("fd00::1")
	peerIP4 = netip.MustParseAddr("198.18.1.1")
)

// oneRuleModel is a node with one dual-stack pod selected by one ingress policy holding rule r.
func oneRuleModel(r engine.ModelRule, sets ...engine.ModelSet) *engine.NodeModel {
	return &engine.NodeModel{
		Node: "n1",
		Endpoints: []engine.ModelEndpoint{{
			Ref: podRef, IPs: []netip.Addr{podIP4, podIP6}, Ingress: []engine.PolicyID{polID},
		}},
		Policies: []engine.ModelPolicy{{
			ID: polID, Tier: "default", Governs: [2]bool{true, false}, Ingress: []engine.ModelRule{r},
		}},
		Sets: sets,
	}
}

func ports(rs ...[2]uint16) []engine.PortRange {
	var out []engine.PortRange
	for _, r := range rs {
		out = append(out, engine.PortRange{Min: r[0], Max: r[1]})
	}
	return out
}

func both() [2]bool { return [2]bool{true, true} }

// noObservation is DefaultOptions without observation samples: the rule-rendering tables show the
// policy's own rules (observe_test.go shows the samples).
func noObservation() render.Options {
	o := render.DefaultOptions()
	o.Observe = render.Observation{}
	return o
}

// policyChainText renders the policy chain of polID for one family, or "" when there is none.
func policyChainText(t *testing.T, m *engine.NodeModel, fam render.Family) string {
	t.Helper()
	v4, v6, err := render.Build(m, noObservation())
	if err != nil {
		t.Fatal(err)
	}
	p := v4
	if fam == render.IPv6 {
		p = v6
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range p.Chains {
		// The ingress policy chains and their alternatives chains (PAL-AI- sorts first).
		if !strings.HasPrefix(c.Name, "PAL-PI-") && !strings.HasPrefix(c.Name, "PAL-AI-") {
			continue
		}
		for _, r := range c.Rules {
			b.WriteString(r.Render() + "\n")
		}
	}
	return b.String()
}

func TestPolicyRuleRendering(t *testing.T) {
	const c = `-m comment --comment "np/ns/p ingress rule 0 `
	many := make([]engine.PortRange, 0, 17)
	for i := range uint16(17) {
		many = append(many, engine.PortRange{Min: 1000 + i, Max: 1000 + i})
	}
	tests := []struct {
		name       string
		model      *engine.NodeModel
		want4      string
		want6      string
		sameOnBoth bool
	}{
		{
			name:  "allow sets the accept mark and returns",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both(), Protocol: 6, Destination: engine.ModelSide{Ports: ports([2]uint16{80, 80}, [2]uint16{8000, 8080})}}),
			want4: `-p tcp -m multiport --dports 80,8000:8080 ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-m mark --mark 0x10000/0x10000 ` + c + `Allow" -j RETURN
`,
			sameOnBoth: true,
		},
		{
			name:  "pass sets the pass mark; deny drops; log logs",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Pass, Families: both(), NotProtocol: 17}),
			want4: `! -p udp ` + c + `Pass" -j MARK --set-xmark 0x20000/0x20000
-m mark --mark 0x20000/0x20000 ` + c + `Pass" -j RETURN
`,
			sameOnBoth: true,
		},
		{
			name:       "log is NFLOG with the rule's prefix and never decides",
			model:      oneRuleModel(engine.ModelRule{Action: v1alpha1.Log, Families: both(), Source: engine.ModelSide{HasNotNets: true, NotNets: [2][]netip.Prefix{{netip.MustParsePrefix("10.0.0.0/8")}, {netip.MustParsePrefix("fd00::/8")}}}}),
			want4:      `! -s 10.0.0.0/8 ` + c + `Log" -j NFLOG --nflog-prefix "LI0|np/ns/p" --nflog-group 1` + "\n",
			want6:      `! -s fd00::/8 ` + c + `Log" -j NFLOG --nflog-prefix "LI0|np/ns/p" --nflog-group 1` + "\n",
			sameOnBoth: false,
		},
		{
			name: "more than 15 ports: two multiport alternatives OR-ed through a scratch mark",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Deny, Families: [2]bool{true, false}, Protocol: 17,
				Destination: engine.ModelSide{Ports: many, NotPorts: ports([2]uint16{1003, 1003})}}),
			want4: c + `Deny: start" -j MARK --set-xmark 0x0/0xc0000
-p udp -m multiport ! --dports 1003 -m multiport --dports 1000,1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014 ` + c + `Deny" -j MARK --set-xmark 0x40000/0x40000
-p udp -m multiport ! --dports 1003 -m multiport --dports 1015,1016 ` + c + `Deny" -j MARK --set-xmark 0x40000/0x40000
-m mark --mark 0x40000/0x40000 ` + c + `Deny" -j DROP
`,
			want6: "",
		},
		{
			name: "icmp type/code only on the family's ICMP protocol",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Deny, Families: [2]bool{true, false}, Protocol: 1,
				ICMP: &engine.ModelICMP{Type: 8, Code: 0, HasCode: true}}),
			want4: `-p icmp -m icmp --icmp-type 8/0 ` + c + `Deny" -j DROP` + "\n",
			want6: "",
		},
		{
			name: "notICMP without a protocol beside a notProtocol: alternatives after a base block",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both(), NotProtocol: 6,
				NotICMP: &engine.ModelICMP{Type: 128}}),
			want4: c + `Allow: start" -j MARK --set-xmark 0x0/0xc0000
! -p tcp ` + c + `Allow" -j MARK --set-xmark 0x40000/0x40000
! -p icmp -m mark --mark 0x40000/0x40000 ` + c + `Allow" -j MARK --set-xmark 0x80000/0x80000
-p icmp -m mark --mark 0x40000/0x40000 -m icmp ! --icmp-type 128 ` + c + `Allow" -j MARK --set-xmark 0x80000/0x80000
-m mark --mark 0x80000/0x80000 ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-m mark --mark 0x10000/0x10000 ` + c + `Allow" -j RETURN
`,
			want6: c + `Allow: start" -j MARK --set-xmark 0x0/0xc0000
! -p tcp ` + c + `Allow" -j MARK --set-xmark 0x40000/0x40000
! -p ipv6-icmp -m mark --mark 0x40000/0x40000 ` + c + `Allow" -j MARK --set-xmark 0x80000/0x80000
-p ipv6-icmp -m mark --mark 0x40000/0x40000 -m icmp6 ! --icmpv6-type 128 ` + c + `Allow" -j MARK --set-xmark 0x80000/0x80000
-m mark --mark 0x80000/0x80000 ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-m mark --mark 0x10000/0x10000 ` + c + `Allow" -j RETURN
`,
		},
		{
			name: "several nets become a hash:net set; selectors and named ports are set matches",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: [2]bool{true, false}, Protocol: 6,
				Source: engine.ModelSide{
					HasNets: true, Nets: [2][]netip.Prefix{{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("0.0.0.0/0")}}, NetsSet: "net:x",
					Selector: "s:a", NotSelector: "s:b",
				},
				Destination: engine.ModelSide{NamedPorts: []string{"n:http"}, NotNamedPorts: []string{"n:admin"}},
			},
				engine.ModelSet{ID: "net:x", Kind: engine.SetNets, Nets: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("10.0.0.0/8")}},
				engine.ModelSet{ID: "s:a", Kind: engine.SetSelector, IPs: []netip.Addr{peerIP4}},
				engine.ModelSet{ID: "s:b", Kind: engine.SetSelector},
				engine.ModelSet{ID: "n:http", Kind: engine.SetNamedPort, IPPorts: []engine.IPPort{{Addr: podIP4, Proto: 6, Port: 8080}}},
				engine.ModelSet{ID: "n:admin", Kind: engine.SetNamedPort},
			),
			want4: `-p tcp -m set --match-set PAL4net:x src -m set --match-set PAL4s:a src -m set ! --match-set PAL4s:b src -m set --match-set PAL4n:http dst,dst -m set ! --match-set PAL4n:admin dst,dst ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-m mark --mark 0x10000/0x10000 ` + c + `Allow" -j RETURN
`,
		},
		{
			// The benchmark's rule (docs/benchmarks.md): the shared source set is looked up once,
			// by a rule that jumps to the alternatives' chain (printed first: PAL-AI- sorts before
			// PAL-PI-), where each alternative sets the accept mark itself, with no scratch block.
			name: "allow on a port or a named port: the shared set once, then one rule per alternative",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: [2]bool{true, false}, Protocol: 6,
				Source:      engine.ModelSide{Selector: "s:a"},
				Destination: engine.ModelSide{Ports: ports([2]uint16{80, 80}), NamedPorts: []string{"n:http"}},
			},
				engine.ModelSet{ID: "s:a", Kind: engine.SetSelector, IPs: []netip.Addr{peerIP4}},
				engine.ModelSet{ID: "n:http", Kind: engine.SetNamedPort, IPPorts: []engine.IPPort{{Addr: podIP4, Proto: 6, Port: 8080}}},
			),
			want4: `-p tcp -m tcp --dport 80 ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-p tcp -m set --match-set PAL4n:http dst,dst ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-p tcp -m set --match-set PAL4s:a src ` + c + `Allow" -j PAL-AI-ECjah4fBGOMtz1R_QtqfX
-m mark --mark 0x10000/0x10000 ` + c + `Allow" -j RETURN
`,
		},
		{
			// A single port or range, the rule's only port criterion, on TCP or UDP: the tcp or udp
			// match, native in nft, instead of multiport (an nft_compat call).
			name:  "one port range on UDP is the udp match",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: [2]bool{true, false}, Protocol: 17, Source: engine.ModelSide{NotPorts: ports([2]uint16{1000, 2000})}}),
			want4: `-p udp -m udp ! --sport 1000:2000 ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-m mark --mark 0x10000/0x10000 ` + c + `Allow" -j RETURN
`,
		},
		{
			name:  "one port on SCTP stays multiport",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: [2]bool{true, false}, Protocol: 132, Destination: engine.ModelSide{Ports: ports([2]uint16{80, 80})}}),
			want4: `-p sctp -m multiport --dports 80 ` + c + `Allow" -j MARK --set-xmark 0x10000/0x10000
-m mark --mark 0x10000/0x10000 ` + c + `Allow" -j RETURN
`,
		},
		{
			// A Deny keeps the scratch block: one rule per alternative would count and log a
			// packet that matches two of them twice.
			name: "deny on a port or a named port keeps the scratch block",
			model: oneRuleModel(engine.ModelRule{Action: v1alpha1.Deny, Families: [2]bool{true, false}, Protocol: 6,
				Destination: engine.ModelSide{Ports: ports([2]uint16{80, 80}), NamedPorts: []string{"n:http"}},
			},
				engine.ModelSet{ID: "n:http", Kind: engine.SetNamedPort, IPPorts: []engine.IPPort{{Addr: podIP4, Proto: 6, Port: 8080}}},
			),
			want4: c + `Deny: start" -j MARK --set-xmark 0x0/0xc0000
-p tcp -m tcp --dport 80 ` + c + `Deny" -j MARK --set-xmark 0x40000/0x40000
-p tcp -m set --match-set PAL4n:http dst,dst ` + c + `Deny" -j MARK --set-xmark 0x40000/0x40000
-m mark --mark 0x40000/0x40000 ` + c + `Deny" -j DROP
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want4, policyChainText(t, tc.model, render.IPv4)); d != "" {
				t.Errorf("IPv4 policy chain (-want +got):\n%s", d)
			}
			want6 := tc.want6
			if tc.sameOnBoth {
				want6 = tc.want4
			}
			if d := cmp.Diff(want6, policyChainText(t, tc.model, render.IPv6)); d != "" {
				t.Errorf("IPv6 policy chain (-want +got):\n%s", d)
			}
		})
	}
}

// TestHashNetSplitsCatchAll: ipset hash:net cannot hold a /0, so a catch-all becomes two halves.
func TestHashNetSplitsCatchAll(t *testing.T) {
	m := oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both(),
		Destination: engine.ModelSide{HasNets: true, NetsSet: "net:x", Nets: [2][]netip.Prefix{
			{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("198.18.0.7/32")},
			{netip.MustParsePrefix("::/0"), netip.MustParsePrefix("fd00::/64")},
		}}},
		engine.ModelSet{ID: "net:x", Kind: engine.SetNets, Nets: []netip.Prefix{
			netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("198.18.0.7/32"), netip.MustParsePrefix("::/0"), netip.MustParsePrefix("fd00::/64"),
		}})
	v4, v6, err := render.Render(m, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := v4.IpsetRestoreText() + v6.IpsetRestoreText()
	want := `create PAL4net:x hash:net family inet
add PAL4net:x 0.0.0.0/1
add PAL4net:x 128.0.0.0/1
add PAL4net:x 198.18.0.7
create PAL6net:x hash:net family inet6
add PAL6net:x ::/1
add PAL6net:x 8000::/1
add PAL6net:x fd00::/64
`
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ipset text (-want +got):\n%s", d)
	}
}

// TestTraceThroughMarkBlocks sends packets through the rendered rules of hand-written models
// whose rules need mark blocks, multiport chunks and ICMP matches, which the random worlds of
// the engine's property test do not generate.
func TestTraceThroughMarkBlocks(t *testing.T) {
	many := make([]engine.PortRange, 0, 20)
	for i := range uint16(20) {
		many = append(many, engine.PortRange{Min: 1000 + 2*i, Max: 1000 + 2*i})
	}
	manyPorts := oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both(), Protocol: 6,
		Destination: engine.ModelSide{Ports: many, NamedPorts: []string{"n:http"}, NotPorts: ports([2]uint16{1010, 1010})}},
		engine.ModelSet{ID: "n:http", Kind: engine.SetNamedPort, IPPorts: []engine.IPPort{{Addr: podIP4, Proto: 6, Port: 8080}}})
	notICMP := oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both(), NotProtocol: 17,
		NotICMP: &engine.ModelICMP{Type: 8}})
	tcp := func(dport uint16) render.Packet {
		return render.Packet{Src: peerIP4, Dst: podIP4, Proto: 6, SrcPort: 40000, DstPort: dport}
	}
	icmp := func(typ uint8) render.Packet {
		return render.Packet{Src: peerIP4, Dst: podIP4, Proto: 1, ICMPType: typ}
	}
	tests := []struct {
		name  string
		model *engine.NodeModel
		pkt   render.Packet
		want  render.Verdict
	}{
		{"first chunk", manyPorts, tcp(1000), render.VerdictAccept},
		{"second chunk", manyPorts, tcp(1038), render.VerdictAccept},
		{"between listed ports", manyPorts, tcp(1001), render.VerdictDrop},
		{"notPorts wins over ports", manyPorts, tcp(1010), render.VerdictDrop},
		{"named port", manyPorts, tcp(8080), render.VerdictAccept},
		{"udp is not tcp", manyPorts, render.Packet{Src: peerIP4, Dst: podIP4, Proto: 17, DstPort: 1000}, render.VerdictDrop},
		{"established flows pass first", manyPorts, render.Packet{Src: peerIP4, Dst: podIP4, Proto: 6, DstPort: 1, CTState: "ESTABLISHED"}, render.VerdictAccept},
		{"notICMP: another ICMP type", notICMP, icmp(0), render.VerdictAccept},
		{"notICMP: the excluded type", notICMP, icmp(8), render.VerdictDrop},
		{"notICMP: not ICMP at all", notICMP, tcp(80), render.VerdictAccept},
		{"notProtocol", notICMP, render.Packet{Src: peerIP4, Dst: podIP4, Proto: 17, DstPort: 80}, render.VerdictDrop},
		{"a packet of no local pod is left to FORWARD", notICMP, render.Packet{Src: peerIP4, Dst: peerIP4, Proto: 17}, render.VerdictReturn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v4, _, err := render.Build(tc.model, render.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			res, err := v4.Trace(render.ChainForward, tc.pkt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tc.want {
				t.Errorf("verdict %s, want %s; path %s", res.Verdict, tc.want, strings.Join(res.Path, " "))
			}
		})
	}
}

// TestNamesFitTheKernel: long namespaces, names and set IDs still give names within the limits.
func TestNamesFitTheKernel(t *testing.T) {
	long := strings.Repeat("x", 250)
	m := oneRuleModel(engine.ModelRule{Action: v1alpha1.Log, Families: both(), Source: engine.ModelSide{Selector: "s:" + long}},
		engine.ModelSet{ID: "s:" + long, Kind: engine.SetSelector, IPs: []netip.Addr{peerIP4}})
	m.Endpoints[0].Ref = engine.EndpointRef{Namespace: long[:63], Name: long}
	id := engine.PolicyID{Key: engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: long[:63], Name: long}}
	m.Policies[0].ID, m.Endpoints[0].Ingress = id, []engine.PolicyID{id}
	v4, v6, err := render.Build(m, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*render.Program{v4, v6} {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Chains {
			for _, r := range c.Rules {
				if nf, ok := r.Action.(render.NFLog); ok && len(nf.Prefix) > 63 {
					t.Errorf("NFLOG prefix of %d bytes: %s", len(nf.Prefix), nf.Prefix)
				}
				if txt := r.Render(); strings.Count(txt, `"`)%2 != 0 {
					t.Errorf("unbalanced quotes: %s", txt)
				}
			}
		}
	}
}

func TestBuildRejectsBadOptions(t *testing.T) {
	o := render.DefaultOptions()
	o.MarkPass = o.MarkAccept
	if _, _, err := render.Build(oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both()}), o); err == nil {
		t.Fatal("Build accepted the same bit for accept and pass")
	}
	o = render.DefaultOptions()
	o.MarkScratch1 = 0x3
	if _, _, err := render.Build(oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both()}), o); err == nil {
		t.Fatal("Build accepted a two-bit mark")
	}
	if _, _, err := render.Build(nil, render.DefaultOptions()); err == nil {
		t.Fatal("Build accepted a nil model")
	}
	m := oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both(), Source: engine.ModelSide{Selector: "s:missing"}})
	if _, _, err := render.Build(m, render.DefaultOptions()); err == nil {
		t.Fatal("Build accepted a rule naming a set the model lacks")
	}
}

// TestDispatchTree: beyond the fanout, dispatch is a tree of prefix tests; every local address
// still reaches its own endpoint chain, others fall through.
func TestDispatchTree(t *testing.T) {
	m := &engine.NodeModel{Node: "n1"}
	for i := range 40 {
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i % 3), byte(7 * i)})
		m.Endpoints = append(m.Endpoints, engine.ModelEndpoint{Ref: engine.EndpointRef{Namespace: "ns", Name: fmt.Sprintf("p%d", i)}, IPs: []netip.Addr{ip}})
	}
	v4, _, err := render.Build(m, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := v4.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := len(v4.Chain(render.ChainFromEndpoint).Rules); n != 2 {
		t.Fatalf("top dispatch chain has %d rules, want the 2 halves of a tree", n)
	}
	for _, ep := range m.Endpoints {
		res, err := v4.Trace(render.ChainForward, render.Packet{Src: ep.IPs[0], Dst: netip.MustParseAddr("198.19.0.1"), Proto: 17, DstPort: 53})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`"%s egress"`, ep.Ref)
		reached := false
		for _, c := range v4.Chains {
			for i, r := range c.Rules {
				if strings.Contains(r.Render(), want) && slices.Contains(res.Path, fmt.Sprintf("%s[%d]", c.Name, i)) {
					reached = true
				}
			}
		}
		if res.Verdict != render.VerdictAccept || !reached || len(res.Path) > 16 {
			t.Errorf("%s: verdict %s, reached its dispatch rule %v, path of %d rules: %s", ep.Ref, res.Verdict, reached, len(res.Path), strings.Join(res.Path, " "))
		}
	}
	res, err := v4.Trace(render.ChainForward, render.Packet{Src: netip.MustParseAddr("198.18.1.1"), Dst: netip.MustParseAddr("198.19.0.1"), Proto: 17})
	if err != nil || res.Verdict != render.VerdictReturn {
		t.Fatalf("an address of no local pod: %v %v", res.Verdict, err)
	}
}

// TestDispatchTreeShape pins the tree for four addresses and a fanout of 2.
func TestDispatchTreeShape(t *testing.T) {
	m := &engine.NodeModel{Node: "n1"}
	for i, ip := range []string{"198.18.0.1", "198.18.0.2", "198.18.0.130", "198.18.1.1"} {
		m.Endpoints = append(m.Endpoints, engine.ModelEndpoint{Ref: engine.EndpointRef{Namespace: "ns", Name: fmt.Sprintf("p%d", i)}, IPs: []netip.Addr{netip.MustParseAddr(ip)}})
	}
	o := render.DefaultOptions()
	o.DispatchFanout = 2
	v4, _, err := render.Build(m, o)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range v4.Chains {
		if c.Name == render.ChainFromEndpoint || strings.HasPrefix(c.Name, "PAL-FEP-") {
			for _, r := range c.Rules {
				b.WriteString(c.Name + " " + r.Render() + "\n")
			}
		}
	}
	sub := func(p string) string {
		for _, c := range v4.Chains {
			for _, r := range c.Rules {
				if g, ok := r.Action.(render.Goto); ok && strings.Contains(r.Render(), "addresses in "+p+`"`) {
					return g.Target
				}
			}
		}
		t.Fatalf("no dispatch chain for %s", p)
		return ""
	}
	low, high, first := sub("198.18.0.0/24"), sub("198.18.1.0/24"), sub("198.18.0.0/25")
	fw := func(i int) string {
		for _, c := range v4.Chains {
			if strings.HasPrefix(c.Name, "PAL-FW-") && strings.Contains(c.Rules[0].Comment, fmt.Sprintf("ns/p%d ", i)) {
				return c.Name
			}
		}
		return "?"
	}
	want := `PAL-FROM-EP -s 198.18.0.0/24 -m comment --comment "source addresses in 198.18.0.0/24" -g ` + low + `
PAL-FROM-EP -s 198.18.1.0/24 -m comment --comment "source addresses in 198.18.1.0/24" -g ` + high + `
`
	var lines []string
	lines = append(lines,
		low+` -s 198.18.0.0/25 -m comment --comment "source addresses in 198.18.0.0/25" -g `+first,
		low+` -s 198.18.0.128/25 -m comment --comment "source addresses in 198.18.0.128/25" -g `+sub("198.18.0.128/25"),
		first+` -s 198.18.0.1/32 -m comment --comment "ns/p0 egress" -g `+fw(0),
		first+` -s 198.18.0.2/32 -m comment --comment "ns/p1 egress" -g `+fw(1),
		sub("198.18.0.128/25")+` -s 198.18.0.130/32 -m comment --comment "ns/p2 egress" -g `+fw(2),
		high+` -s 198.18.1.1/32 -m comment --comment "ns/p3 egress" -g `+fw(3),
	)
	slices.SortStableFunc(lines, func(a, b string) int { return strings.Compare(strings.Fields(a)[0], strings.Fields(b)[0]) })
	want += strings.Join(lines, "\n") + "\n"
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("dispatch tree (-want +got):\n%s", d)
	}
}
