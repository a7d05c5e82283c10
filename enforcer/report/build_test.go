package report

import (
	"testing"
	"time"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/pkg/engine"
)

func TestBuild(t *testing.T) {
	knp := engine.PolicyKey{Kind: engine.KindKubernetesNetworkPolicy, Namespace: "prod", Name: "k"}
	gnp := engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: "g"}
	flow := func(gen int64, n int64) observe.FlowSample {
		return observe.FlowSample{FlowKey: observe.FlowKey{Policy: guard, Generation: gen, Verdict: observe.VerdictWouldDeny,
			Direction: engine.Egress, Rule: 1, Src: observe.Peer{Namespace: "prod", Name: "client"}, Protocol: 17, DstPort: 53}, Count: n}
	}
	sum := observe.Summary{Policies: []observe.PolicySummary{{
		Policy: guard, WindowStart: t0,
		Window: []observe.GenerationCounts{{Generation: 1, Counts: observe.Counts{Denied: 9}}, {Generation: 2, Counts: observe.Counts{WouldDeny: 3}}},
		Flows:  []observe.FlowSample{flow(2, 2), flow(1, 9), flow(2, 1)},
	}}}

	t.Run("only Palisade policies, sorted; counts and flows of the candidate generation only", func(t *testing.T) {
		specs := build(buildInput{node: "n", now: t0, summary: sum, programs: []Program{
			{Key: knp, Generation: 1}, {Key: guard, Phase: v1alpha1.PhaseAudit, Generation: 2, EnforcedGeneration: 1, WindowStart: t0}, {Key: gnp, Generation: 4},
		}})
		if len(specs) != 1 {
			t.Fatalf("%d shards", len(specs))
		}
		s := specs[0]
		if s.PolicyCount != 2 || len(s.Policies) != 2 || s.Policies[0].Kind != v1alpha1.KindGlobalNetworkPolicy || s.Policies[1].Name != "guard" {
			t.Fatalf("policies = %+v", s.Policies)
		}
		g := s.Policies[1]
		if g.Window != (v1alpha1.FlowCounts{WouldDeny: 3}) || len(g.WouldDenyFlows) != 2 || g.WouldDenyFlows[0].Count != 2 {
			t.Errorf("guard = %+v", g)
		}
		if f := g.WouldDenyFlows[0]; f.Source != "prod/client" || f.Destination != "unknown" || f.Protocol != "UDP" || f.Port != 53 || f.Rule != "egress[1]" {
			t.Errorf("flow = %+v", f)
		}
		if s.Truncated || s.OmittedFlows != 0 {
			t.Errorf("truncated %v omitted %d", s.Truncated, s.OmittedFlows)
		}
	})
	t.Run("counts of another window than the program's are not reported", func(t *testing.T) {
		specs := build(buildInput{node: "n", now: t0, summary: sum, programs: []Program{
			{Key: guard, Generation: 2, WindowStart: t0.Add(time.Minute)},
		}})
		if p := specs[0].Policies[0]; p.Window != (v1alpha1.FlowCounts{}) || len(p.WouldDenyFlows) != 0 {
			t.Errorf("guard = %+v", p)
		}
	})
	t.Run("a node without policies still writes one report", func(t *testing.T) {
		specs := build(buildInput{node: "n", now: t0, dropped: 4})
		if len(specs) != 1 || specs[0].NodeName != "n" || len(specs[0].Policies) != 0 || specs[0].DroppedSamples != 4 {
			t.Errorf("specs = %+v", specs)
		}
	})
	t.Run("rule and protocol names", func(t *testing.T) {
		for _, c := range []struct{ got, want string }{
			{RuleName(engine.Ingress, 2), "ingress[2]"}, {RuleName(engine.Egress, 0), "egress[0]"},
			{RuleName(engine.Ingress, observe.RuleEndOfTier), "default deny"},
			{ProtocolName(6), "TCP"}, {ProtocolName(58), "ICMPv6"}, {ProtocolName(47), "47"},
		} {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		}
	})
}
