package observe

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// fakeEval answers from canned comparisons keyed by destination port, so the counting rules can
// be tested on exact traces.
type fakeEval map[uint16]engine.Comparison

func (f fakeEval) EvaluateBothInto(c *engine.Comparison, fl engine.Flow) error {
	v, ok := f[fl.DstPort]
	if !ok {
		return errors.New("no such flow")
	}
	*c = v
	return nil
}

// EvaluateInto answers the candidate verdict for CandidatesAsEnforced, the enforced one for any
// other chooser.
func (f fakeEval) EvaluateInto(v *engine.Verdict, fl engine.Flow, ch engine.Chooser) error {
	c, ok := f[fl.DstPort]
	if !ok {
		return errors.New("no such flow")
	}
	*v = c.Enforced
	if ch == engine.CandidatesAsEnforced {
		*v = c.Candidate
	}
	return nil
}

var (
	polA = engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "prod", Name: "a"}
	polB = engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: "b"}
	web  = &engine.EndpointRef{Namespace: "prod", Name: "web"}
	db   = &engine.EndpointRef{Namespace: "prod", Name: "db"}
	t0   = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func allowAll() engine.Verdict {
	return engine.Verdict{Allowed: true, Egress: engine.DirectionTrace{Allowed: true, Endpoint: web}, Ingress: engine.DirectionTrace{Allowed: true, Endpoint: db}}
}

// denyBy is a verdict denied at ingress by rule of key in slot.
func denyBy(key engine.PolicyKey, slot engine.Slot, rule int) engine.Verdict {
	v := allowAll()
	v.Allowed = false
	v.Ingress = engine.DirectionTrace{Endpoint: db, Decision: engine.Decision{Reason: engine.ReasonRule, Policy: &key, RuleIndex: ptr(rule)},
		Policies: []engine.PolicyTrace{{Policy: key, Generation: slot, Outcome: engine.OutcomeDeny, RuleIndex: ptr(rule)}}}
	return v
}

// endOfTier is a verdict denied at ingress because no rule of the tier's policies matched.
func endOfTier(pols ...engine.PolicyTrace) engine.Verdict {
	v := allowAll()
	v.Allowed = false
	v.Ingress = engine.DirectionTrace{Endpoint: db, Decision: engine.Decision{Reason: engine.ReasonEndOfTierDeny, Tier: "default"}, Policies: pols}
	return v
}

func allowWith(pols ...engine.PolicyTrace) engine.Verdict {
	v := allowAll()
	v.Ingress.Policies = pols
	return v
}

func visited(key engine.PolicyKey, slot engine.Slot) engine.PolicyTrace {
	return engine.PolicyTrace{Policy: key, Tier: "default", Generation: slot, Outcome: engine.OutcomeNoRuleMatched}
}

// gens: enforced generation 3, candidate 4 for every policy.
var gens = GenerationsFunc(func(_ engine.PolicyKey, s engine.Slot) (int64, bool) {
	if s == engine.SlotCandidate {
		return 4, true
	}
	return 3, true
})

func flow(port uint16) engine.Flow {
	return engine.Flow{Src: netip.MustParseAddr("198.18.1.1"), Dst: netip.MustParseAddr("198.18.1.2"), Protocol: 6, SrcPort: 40000, DstPort: port}
}

const (
	pWouldDenyRule = 1 // enforced allows, candidate a rule 2 denies
	pWouldDenyEOT  = 2 // enforced allows, candidate a end-of-tier denies (b's enforced generation also visited)
	pDenied        = 3 // enforced b rule 0 denies; candidate too
	pAllowed       = 4 // both allow, candidate a visited
	pDeniedAllowed = 5 // enforced a denies, candidate a allows
)

var canned = fakeEval{
	pWouldDenyRule: {Enforced: allowAll(), Candidate: denyBy(polA, engine.SlotCandidate, 2)},
	pWouldDenyEOT:  {Enforced: allowAll(), Candidate: endOfTier(visited(polA, engine.SlotCandidate), visited(polB, engine.SlotEnforced))},
	pDenied:        {Enforced: denyBy(polB, engine.SlotEnforced, 0), Candidate: denyBy(polB, engine.SlotEnforced, 0)},
	pAllowed:       {Enforced: allowAll(), Candidate: allowWith(visited(polA, engine.SlotCandidate), visited(polB, engine.SlotEnforced))},
	pDeniedAllowed: {Enforced: denyBy(polA, engine.SlotEnforced, 0), Candidate: allowWith(visited(polA, engine.SlotCandidate))},
}

func TestObserveCountsPerWindow(t *testing.T) {
	o := New(canned, gens, Limits{}, NewMetrics(nil))
	o.SetWindow(polA, t0)
	for _, p := range []uint16{pWouldDenyRule, pWouldDenyRule, pWouldDenyEOT, pDenied, pAllowed, pDeniedAllowed} {
		if err := o.Observe(flow(p), t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Observe(flow(99), t0); err == nil {
		t.Fatal("an unevaluable flow must return the engine's error")
	}
	o.RollInterval()
	// A new window for a: the counts so far become the previous window.
	t1 := t0.Add(10 * time.Minute)
	o.SetWindow(polA, t1)
	o.SetWindow(polA, t1) // same start: nothing changes
	if err := o.Observe(flow(pWouldDenyRule), t1.Add(time.Second)); err != nil {
		t.Fatal(err)
	}

	s := o.Summary()
	flowsOf := func(ps []PolicySummary) []PolicySummary {
		out := make([]PolicySummary, len(ps))
		for i, p := range ps {
			p.Flows, p.FlowsCut = nil, 0
			out[i] = p
		}
		return out
	}
	want := []PolicySummary{
		{Policy: polB, // enforced generation 3 of b: one denial by rule 0
			Window: []GenerationCounts{{3, Counts{Denied: 1}}},
			Recent: []GenerationCounts{{3, Counts{Denied: 1}}},
			Rules:  []RuleCounts{{RuleKey{3, engine.Ingress, 0}, Counts{Denied: 1}}}},
		{Policy: polA, WindowStart: t1, PreviousWindowStart: t0,
			Window: []GenerationCounts{{4, Counts{WouldDeny: 1}}},
			Previous: []GenerationCounts{{3, Counts{Denied: 1}},
				{4, Counts{WouldDeny: 3, Allowed: 2}}},
			Recent: []GenerationCounts{{3, Counts{Denied: 1}}, {4, Counts{WouldDeny: 3, Allowed: 2}}},
			Rules:  []RuleCounts{{RuleKey{4, engine.Ingress, 2}, Counts{WouldDeny: 1}}}},
	}
	if d := cmp.Diff(want, flowsOf(s.Policies)); d != "" {
		t.Errorf("policies (-want +got):\n%s", d)
	}
	if s.Errors != 1 || s.Unattributed != 0 || s.PoliciesCut != 0 {
		t.Errorf("errors %d unattributed %d cut %d, want 1 0 0", s.Errors, s.Unattributed, s.PoliciesCut)
	}
	if got := s.Policies[1].WindowCounts(4); got != (Counts{WouldDeny: 1}) {
		t.Errorf("WindowCounts(4) = %+v", got)
	}
	// The window's flows: a's new window holds the one would-deny since t1 (the earlier ones went
	// with the previous window); b's window its denial.
	wantA := []FlowSample{
		{FlowKey: FlowKey{Policy: polA, Generation: 4, Verdict: VerdictWouldDeny, Direction: engine.Ingress, Rule: 2, Src: Peer{Namespace: "prod", Name: "web"}, Dst: Peer{Namespace: "prod", Name: "db"}, Protocol: 6, DstPort: pWouldDenyRule},
			Count: 1, FirstSeen: t1.Add(time.Second), LastSeen: t1.Add(time.Second)},
	}
	wantB := []FlowSample{
		{FlowKey: FlowKey{Policy: polB, Generation: 3, Verdict: VerdictDenied, Direction: engine.Ingress, Rule: 0, Src: Peer{Namespace: "prod", Name: "web"}, Dst: Peer{Namespace: "prod", Name: "db"}, Protocol: 6, DstPort: pDenied},
			Count: 1, FirstSeen: t0.Add(time.Second), LastSeen: t0.Add(time.Second)},
	}
	addrs := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	if d := cmp.Diff(wantA, s.Policies[1].Flows, addrs); d != "" {
		t.Errorf("a's flows (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantB, s.Policies[0].Flows, addrs); d != "" {
		t.Errorf("b's flows (-want +got):\n%s", d)
	}
}

func TestTopFlowsTiesAndBounds(t *testing.T) {
	eval := fakeEval{}
	for p := uint16(100); p < 110; p++ {
		eval[p] = engine.Comparison{Enforced: allowAll(), Candidate: denyBy(polA, engine.SlotCandidate, 0)}
	}
	o := New(eval, gens, Limits{MaxFlows: 3, TrackedFlows: 5}, nil)
	obs := func(p uint16, at time.Time) {
		t.Helper()
		if err := o.Observe(flow(p), at); err != nil {
			t.Fatal(err)
		}
	}
	// 100 x3, 101 x2, 102 and 103 once at the same time (a tie broken by key: port 102 first),
	// 104 once later than them.
	obs(100, t0)
	obs(100, t0)
	obs(100, t0)
	obs(101, t0)
	obs(101, t0)
	obs(103, t0)
	obs(102, t0)
	obs(104, t0.Add(time.Second))
	got := o.Summary().Policies[0]
	ports := func(fs []FlowSample) []uint16 {
		var p []uint16
		for _, f := range fs {
			p = append(p, f.DstPort)
		}
		return p
	}
	if d := cmp.Diff([]uint16{100, 101, 104}, ports(got.Flows)); d != "" {
		t.Errorf("top flows (-want +got):\n%s", d)
	}
	if got.FlowsCut != 2 {
		t.Errorf("FlowsCut = %d, want 2 (tracked but not returned)", got.FlowsCut)
	}
	// Five more distinct flows: tracking stays at 5, the least-seen are evicted and counted.
	for p := uint16(105); p < 110; p++ {
		obs(p, t0.Add(2*time.Second))
	}
	got = o.Summary().Policies[0]
	o.mu.Lock()
	tracked := len(o.policies[polA].flows)
	o.mu.Unlock()
	if tracked != 5 {
		t.Errorf("tracked flows = %d, want 5", tracked)
	}
	if d := cmp.Diff([]uint16{100, 101, 105}, ports(got.Flows)); d != "" {
		t.Errorf("top flows after eviction (-want +got):\n%s", d)
	}
	if got.FlowsCut != 5+2 { // 5 evictions + 2 tracked flows not returned
		t.Errorf("FlowsCut = %d, want 7", got.FlowsCut)
	}
}

func TestPolicyAndRuleBounds(t *testing.T) {
	eval := fakeEval{}
	for i := range 50 {
		key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "prod", Name: string(rune('a'+i%26)) + string(rune('a'+i/26))}
		eval[uint16(200+i)] = engine.Comparison{Enforced: denyBy(key, engine.SlotEnforced, 0), Candidate: denyBy(key, engine.SlotEnforced, 0)}
		eval[uint16(300+i)] = engine.Comparison{Enforced: allowAll(), Candidate: denyBy(polA, engine.SlotCandidate, i)}
	}
	o := New(eval, gens, Limits{MaxPolicies: 10, MaxRules: 4, MaxFlows: 2}, nil)
	for i := range 50 {
		for _, p := range []uint16{uint16(300 + i), uint16(200 + i)} {
			if err := o.Observe(flow(p), t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := o.Summary()
	if len(s.Policies) != 10 || s.PoliciesCut != 41 {
		t.Errorf("policies = %d cut %d, want 10 and 41", len(s.Policies), s.PoliciesCut)
	}
	var a *PolicySummary
	for i := range s.Policies {
		if s.Policies[i].Policy == polA {
			a = &s.Policies[i]
		}
	}
	if a == nil {
		t.Fatal("policy a was counted first and must be kept")
	}
	if len(a.Rules) != 4 || a.RulesCut != 46 || a.WindowCounts(4).WouldDeny != 50 {
		t.Errorf("rules = %d cut %d would-deny %d, want 4, 46, 50", len(a.Rules), a.RulesCut, a.WindowCounts(4).WouldDeny)
	}
	if len(a.Flows) != 2 {
		t.Errorf("flows = %d, want 2", len(a.Flows))
	}
}

func TestObserveConcurrent(t *testing.T) {
	o := New(canned, gens, Limits{}, NewMetrics(nil))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = o.Observe(flow(pWouldDenyRule), t0)
				_ = o.Observe(flow(pDenied), t0)
				_ = o.Summary()
			}
		})
	}
	wg.Wait()
	s := o.Summary()
	for _, p := range s.Policies {
		if p.Policy == polA && p.WindowCounts(4).WouldDeny != 800 {
			t.Errorf("would-deny = %d, want 800", p.WindowCounts(4).WouldDeny)
		}
		if p.Policy == polB && p.WindowCounts(3).Denied != 800 {
			t.Errorf("denied = %d, want 800", p.WindowCounts(3).Denied)
		}
	}
}

func TestForget(t *testing.T) {
	m := NewMetrics(nil)
	o := New(canned, gens, Limits{}, m)
	_ = o.Observe(flow(pWouldDenyRule), t0)
	_ = o.Observe(flow(pDenied), t0)
	o.Forget(polA)
	s := o.Summary()
	if len(s.Policies) != 1 || s.Policies[0].Policy != polB {
		t.Errorf("after Forget(a): %+v", s)
	}
}

// TestObserveSide counts one direction only, with the enforced view from the given chooser.
func TestObserveSide(t *testing.T) {
	const pCanary = 6 // the dataplane enforces a's candidate at db (a canary): rule 2 denies
	eval := fakeEval{pCanary: {Enforced: denyBy(polA, engine.SlotCandidate, 2), Candidate: denyBy(polA, engine.SlotCandidate, 2)}}
	for p, c := range canned {
		eval[p] = c
	}
	tests := []struct {
		name string
		port uint16
		dir  engine.Direction
		want []PolicySummary
	}{
		{name: "ingress would-deny is counted at the ingress side", port: pWouldDenyRule, dir: engine.Ingress,
			want: []PolicySummary{{Policy: polA, Window: []GenerationCounts{{4, Counts{WouldDeny: 1}}}, Rules: []RuleCounts{{RuleKey{4, engine.Ingress, 2}, Counts{WouldDeny: 1}}}}}},
		{name: "the egress side of an ingress denial counts nothing", port: pWouldDenyRule, dir: engine.Egress},
		{name: "an ingress denial is not credited to the egress side", port: pDenied, dir: engine.Egress},
		{name: "enforced denial at ingress", port: pDenied, dir: engine.Ingress,
			want: []PolicySummary{{Policy: polB, Window: []GenerationCounts{{3, Counts{Denied: 1}}}, Rules: []RuleCounts{{RuleKey{3, engine.Ingress, 0}, Counts{Denied: 1}}}}}},
		{name: "a canary's denial counts as denied by the candidate generation, not would-deny", port: pCanary, dir: engine.Ingress,
			want: []PolicySummary{{Policy: polA, Window: []GenerationCounts{{4, Counts{Denied: 1}}}, Rules: []RuleCounts{{RuleKey{4, engine.Ingress, 2}, Counts{Denied: 1}}}}}},
		{name: "allowed counts the candidates of the side", port: pAllowed, dir: engine.Ingress,
			want: []PolicySummary{{Policy: polA, Window: []GenerationCounts{{4, Counts{Allowed: 1}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := New(eval, gens, Limits{}, nil)
			if err := o.ObserveSide(flow(tt.port), tt.dir, engine.EnforcedOnly, t0); err != nil {
				t.Fatal(err)
			}
			got := o.Summary().Policies
			for i := range got {
				got[i].Flows, got[i].FlowsCut, got[i].Recent = nil, 0, nil
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	o := New(eval, gens, Limits{}, nil)
	if err := o.ObserveSide(flow(99), engine.Ingress, engine.EnforcedOnly, t0); err == nil || o.Summary().Errors != 1 {
		t.Errorf("an unevaluable flow: err %v, errors %d; want an error counted", err, o.Summary().Errors)
	}
}
