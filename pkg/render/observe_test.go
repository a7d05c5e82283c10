package render_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

// chainsText renders, for one family, every chain whose name starts with prefix.
func chainsText(t *testing.T, p *render.Program, prefix string) string {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range p.Chains {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		for _, r := range c.Rules {
			b.WriteString("-A " + c.Name + " " + r.Render() + "\n")
		}
	}
	return b.String()
}

// TestObservationRules: a pod shadowed in both directions, whose ingress has a Deny rule, a policy
// failing closed and the end of a Deny tier; every DROP is preceded by its limited sample, and the
// shadow sample is the first rule of each chain.
func TestObservationRules(t *testing.T) {
	fc := engine.PolicyID{Key: engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: "broken"}}
	shadowed := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "ns", Name: "next"}
	m := &engine.NodeModel{
		Node: "n1",
		Endpoints: []engine.ModelEndpoint{{
			Ref: podRef, IPs: []netip.Addr{podIP4}, Ingress: []engine.PolicyID{polID, fc},
			ShadowIngress: []engine.PolicyKey{shadowed}, ShadowEgress: []engine.PolicyKey{shadowed},
		}},
		Policies: []engine.ModelPolicy{
			{ID: polID, Tier: "default", Governs: [2]bool{true, false}, Ingress: []engine.ModelRule{
				{Action: v1alpha1.Allow, Families: both(), Protocol: 6, Destination: engine.ModelSide{Ports: ports([2]uint16{80, 80})}},
				{Action: v1alpha1.Deny, Origin: 1, Families: both(), Protocol: 17},
			}},
			{ID: fc, Tier: "default", Governs: [2]bool{true, true}, FailClosed: true, Error: "bad selector"},
		},
	}
	o := render.DefaultOptions()
	o.Observe = render.Observation{Group: 7, Shadow: render.Limit{PerSecond: 50, Burst: 100}, Drop: render.Limit{PerSecond: 20, Burst: 5}}
	v4, _, err := render.Build(m, o)
	if err != nil {
		t.Fatal(err)
	}
	const wantTW = `-A PAL-TW-XXXX -m conntrack --ctstate NEW -m comment --comment "Palisade offered: ns/pod ingress new connections, 1 candidate(s) shadowed"
-A PAL-TW-XXXX -m conntrack --ctstate NEW -m limit --limit 50/sec --limit-burst 100 -m comment --comment "Palisade observe: ns/pod ingress new connections, 1 candidate(s) shadowed" -j NFLOG --nflog-prefix "SI|ns/pod" --nflog-group 7
-A PAL-TW-XXXX -m comment --comment "ns/pod ingress: start" -j MARK --set-xmark 0x0/0x30000
-A PAL-TW-XXXX -m mark --mark 0x0/0x20000 -m comment --comment "np/ns/p ingress" -j PAL-PI-XXXX
-A PAL-TW-XXXX -m mark --mark 0x10000/0x10000 -m comment --comment "np/ns/p allowed" -j RETURN
-A PAL-TW-XXXX -m mark --mark 0x0/0x20000 -m comment --comment "Palisade offered: gnp/broken fails closed: bad selector"
-A PAL-TW-XXXX -m mark --mark 0x0/0x20000 -m limit --limit 20/sec -m comment --comment "Palisade observe: gnp/broken fails closed: bad selector" -j NFLOG --nflog-prefix "DI|gnp/broken" --nflog-group 7
-A PAL-TW-XXXX -m mark --mark 0x0/0x20000 -m comment --comment "gnp/broken fails closed: bad selector" -j DROP
-A PAL-TW-XXXX -m mark --mark 0x0/0x20000 -m comment --comment "Palisade offered: tier default: end of tier, default action Deny"
-A PAL-TW-XXXX -m mark --mark 0x0/0x20000 -m limit --limit 20/sec -m comment --comment "Palisade observe: tier default: end of tier, default action Deny" -j NFLOG --nflog-prefix "DI|gnp/broken" --nflog-group 7
-A PAL-TW-XXXX -m mark --mark 0x0/0x20000 -m comment --comment "tier default: end of tier, default action Deny" -j DROP
-A PAL-TW-XXXX -m comment --comment "ns/pod ingress: no policy decided, the kns profile allows" -j MARK --set-xmark 0x10000/0x10000
`
	const wantFW = `-A PAL-FW-XXXX -m conntrack --ctstate NEW -m comment --comment "Palisade offered: ns/pod egress new connections, 1 candidate(s) shadowed"
-A PAL-FW-XXXX -m conntrack --ctstate NEW -m limit --limit 50/sec --limit-burst 100 -m comment --comment "Palisade observe: ns/pod egress new connections, 1 candidate(s) shadowed" -j NFLOG --nflog-prefix "SE|ns/pod" --nflog-group 7
-A PAL-FW-XXXX -m comment --comment "ns/pod egress: start" -j MARK --set-xmark 0x0/0x30000
-A PAL-FW-XXXX -m comment --comment "ns/pod egress: no policy decided, the kns profile allows" -j MARK --set-xmark 0x10000/0x10000
`
	const wantPI = `-A PAL-PI-XXXX -p tcp -m tcp --dport 80 -m comment --comment "np/ns/p ingress rule 0 Allow" -j MARK --set-xmark 0x10000/0x10000
-A PAL-PI-XXXX -m mark --mark 0x10000/0x10000 -m comment --comment "np/ns/p ingress rule 0 Allow" -j RETURN
-A PAL-PI-XXXX -p udp -m comment --comment "Palisade offered: np/ns/p ingress rule 1 Deny"
-A PAL-PI-XXXX -p udp -m limit --limit 20/sec -m comment --comment "Palisade observe: np/ns/p ingress rule 1 Deny" -j NFLOG --nflog-prefix "DI1|np/ns/p" --nflog-group 7
-A PAL-PI-XXXX -p udp -m comment --comment "np/ns/p ingress rule 1 Deny" -j DROP
`
	// Chain names are hashes; the comparison is about the rules.
	var repl []string
	for _, c := range v4.Chains {
		for _, p := range []string{"PAL-PI-", "PAL-FW-", "PAL-TW-"} {
			if strings.HasPrefix(c.Name, p) {
				repl = append(repl, c.Name, p+"XXXX")
			}
		}
	}
	names := strings.NewReplacer(repl...)
	for _, tc := range []struct{ prefix, want string }{{"PAL-TW-", wantTW}, {"PAL-FW-", wantFW}, {"PAL-PI-", wantPI}} {
		if d := cmp.Diff(tc.want, names.Replace(chainsText(t, v4, tc.prefix))); d != "" {
			t.Errorf("%s chains (-want +got):\n%s", tc.prefix, d)
		}
	}

	// Observation off: no sample and no counter at all, and otherwise the same rules.
	quiet, _, err := render.Build(m, noObservation())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range quiet.Chains {
		loud := v4.Chain(c.Name)
		var kept []render.Rule
		for _, r := range loud.Rules {
			if _, counter := r.Action.(render.Count); counter {
				continue
			}
			if nf, ok := r.Action.(render.NFLog); !ok || !nf.Observe {
				kept = append(kept, r)
			}
		}
		if d := cmp.Diff(rulesText(c.Rules), rulesText(kept)); d != "" {
			t.Errorf("%s differs beyond the samples:\n%s", c.Name, d)
		}
	}
}

func rulesText(rs []render.Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Render())
	}
	return out
}

func TestObservationPrefixes(t *testing.T) {
	long := strings.Repeat("x", 253)
	for _, tc := range []struct{ got, want string }{
		{render.ShadowPrefix(engine.Ingress, podRef), "SI|ns/pod"},
		{render.ShadowPrefix(engine.Egress, podRef), "SE|ns/pod"},
		{render.DropPrefix(engine.Egress, polID, 3), "DE3|np/ns/p"},
		{render.DropPrefix(engine.Ingress, engine.PolicyID{Key: polID.Key, Slot: engine.SlotCandidate}, -1), "DI|np/ns/p@candidate"},
	} {
		if tc.got != tc.want {
			t.Errorf("prefix %q, want %q", tc.got, tc.want)
		}
	}
	for _, p := range []string{
		render.ShadowPrefix(engine.Ingress, engine.EndpointRef{Namespace: long[:63], Name: long}),
		render.DropPrefix(engine.Egress, engine.PolicyID{Key: engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: long[:63], Name: long}}, 12),
	} {
		if len(p) > 63 || !strings.Contains(p, "|#") {
			t.Errorf("long prefix %q (%d bytes): want a hash within 63 bytes", p, len(p))
		}
	}
	a := render.ShadowPrefix(engine.Ingress, engine.EndpointRef{Namespace: "n", Name: long})
	b := render.ShadowPrefix(engine.Ingress, engine.EndpointRef{Namespace: "n", Name: long[:252]})
	if a == b {
		t.Error("two long names hash to one prefix")
	}
}

func TestObservationOptionsValidated(t *testing.T) {
	m := oneRuleModel(engine.ModelRule{Action: v1alpha1.Allow, Families: both()})
	for name, mut := range map[string]func(*render.Options){
		"observation group is the Log group": func(o *render.Options) { o.Observe.Group = o.NFLogGroup },
		"zero shadow rate":                   func(o *render.Options) { o.Observe.Shadow.PerSecond = 0 },
		"drop rate above 10000/s":            func(o *render.Options) { o.Observe.Drop.PerSecond = 10001 },
		"zero drop burst":                    func(o *render.Options) { o.Observe.Drop.Burst = 0 },
	} {
		o := render.DefaultOptions()
		mut(&o)
		if _, _, err := render.Build(m, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o := render.DefaultOptions()
	o.Observe = render.Observation{Group: 0, Shadow: render.Limit{}} // off: limits unused
	if _, _, err := render.Build(m, o); err != nil {
		t.Errorf("observation off: %v", err)
	}
}

// TestPhasesRenderedAsTheEngineEvaluates: a candidate that denies web/a → web/b, in the candidate
// slot only. Shadowed (EnforcedOnly), the flow passes and b's new connections are sampled; enforced
// on b (a canary of b), the flow is dropped and sampled as the candidate's drop. Each verdict is the
// engine's for the same chooser.
func TestPhasesRenderedAsTheEngineEvaluates(t *testing.T) {
	e := engine.New()
	for i, name := range []string{"a", "b", "c"} {
		if err := e.UpsertPod(engine.Endpoint{Namespace: "web", Name: name, Labels: map[string]string{"app": name},
			IPs: []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 0, byte(1 + i)})}, Node: "n1"}); err != nil {
			t.Fatal(err)
		}
	}
	np := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "only-c"}, Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{
		Selector: "app == 'b'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress},
		Ingress: []v1alpha1.Rule{{Action: v1alpha1.Allow, Source: v1alpha1.EntityRule{Selector: "app == 'c'"}}},
	}}}
	if err := e.UpsertNetworkPolicy(np, engine.SlotCandidate); err != nil {
		t.Fatal(err)
	}
	key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: "only-c"}
	b := engine.EndpointRef{Namespace: "web", Name: "b"}
	for _, tc := range []struct {
		name     string
		ch       engine.Chooser
		from     byte
		allowed  bool
		observed []string
	}{
		{"audit: a → b passes, sampled as shadowed", engine.EnforcedOnly, 1, true, []string{"SI|web/b"}},
		{"audit: c → b passes, sampled as shadowed", engine.EnforcedOnly, 3, true, []string{"SI|web/b"}},
		{"canary b: a → b dropped by the candidate", engine.Canary{key: {b: true}}, 1, false, []string{"DI|np/web/only-c@candidate"}},
		{"canary b: c → b allowed, not shadowed", engine.Canary{key: {b: true}}, 3, true, nil},
		{"canary elsewhere: a → b passes, shadowed", engine.Canary{key: {{Namespace: "web", Name: "c"}: true}}, 1, true, []string{"SI|web/b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.NodeModelWith("n1", tc.ch)
			if err != nil {
				t.Fatal(err)
			}
			v4, _, err := render.Build(m, render.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			src, dst := netip.AddrFrom4([4]byte{198, 18, 0, tc.from}), netip.AddrFrom4([4]byte{198, 18, 0, 2})
			want, err := e.Allowed(engine.Flow{Src: src, Dst: dst, Protocol: engine.ProtoTCP, SrcPort: 40000, DstPort: 80}, tc.ch)
			if err != nil {
				t.Fatal(err)
			}
			if want != tc.allowed {
				t.Fatalf("the engine says allowed=%v; the test expects %v", want, tc.allowed)
			}
			res, err := v4.Trace(render.ChainForward, render.Packet{Src: src, Dst: dst, Proto: 6, SrcPort: 40000, DstPort: 80})
			if err != nil {
				t.Fatal(err)
			}
			if (res.Verdict == render.VerdictAccept) != want || !slices.Equal(res.Observed, tc.observed) {
				t.Errorf("verdict %s, observed %q; want allowed=%v, observed %q; path %s", res.Verdict, res.Observed, want, tc.observed, strings.Join(res.Path, " "))
			}
			// An established packet of the same flow is never sampled.
			est, err := v4.Trace(render.ChainForward, render.Packet{Src: src, Dst: dst, Proto: 6, SrcPort: 40000, DstPort: 80, CTState: "ESTABLISHED"})
			if err != nil {
				t.Fatal(err)
			}
			if len(est.Observed) != 0 || est.Verdict != render.VerdictAccept {
				t.Errorf("established: %+v", est)
			}
		})
	}
}
