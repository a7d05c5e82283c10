package engine

import (
	"testing"
)

// TestCandidates evaluates flows with EvaluateBoth: the enforced and the candidate verdict are
// compared whole, and each must equal the corresponding single-mode Evaluate.
func TestCandidates(t *testing.T) {
	const dbP = "NetworkPolicy/prod/p"
	dbFromWeb := np("prod", "p", onDB, ingress(rl(Allow, src(eSel("app == 'web'")))))
	dbFromAPI := np("prod", "p", onDB, ingress(rl(Allow, src(eSel("app == 'api'")))))
	tests := []struct {
		name          string
		objs          []any
		flow          Flow
		enforced      string
		candidate     string
		wouldDeny     bool
		candidateSame bool // the candidate verdict is the enforced one (no candidate touches the pods)
	}{
		{
			name: "candidate narrows an enforced policy",
			objs: []any{dbFromWeb, candidate{dbFromAPI}},
			flow: tcp(ipWeb, ipDB, 5432),
			enforced: lines("allow",
				"egress prod/web: allow NoPolicyApplies",
				"ingress prod/db: allow Rule default "+dbP+" rule=0 Allow",
				"  default "+dbP+" order=none enforced: Allow rule=0"),
			candidate: lines("deny",
				"egress prod/web: allow NoPolicyApplies",
				"ingress prod/db: deny EndOfTierDeny default",
				"  default "+dbP+" order=none candidate: NoRuleMatched"),
			wouldDeny: true,
		},
		{
			name:     "a new policy with only a candidate (Audit) is absent from EnforcedOnly",
			objs:     []any{candidate{gnp("new", onWeb, ingress(rl(Deny)))}},
			flow:     tcp(ipClient, ipWeb, 80),
			enforced: noPolicies("dev/client", "prod/web"),
			candidate: lines("deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny Rule default GlobalNetworkPolicy/new rule=0 Deny",
				"  default GlobalNetworkPolicy/new order=none candidate: Deny rule=0"),
			wouldDeny: true,
		},
		{
			name: "a candidate that stops selecting the pod removes the enforced policy from the candidate view",
			objs: []any{
				np("prod", "p", onWeb, ingress(rl(Deny))),
				candidate{np("prod", "p", sel("app == 'none'"), ingress(rl(Deny)))},
			},
			flow:      tcp(ipClient, ipWeb, 80),
			enforced:  inRule("dev/client", "prod/web", webP, 0, Deny),
			candidate: noPolicies("dev/client", "prod/web"),
		},
		{
			name: "candidates of other policies keep their enforced generation in the candidate view",
			objs: []any{
				np("prod", "a", onWeb, order(1), ingress(rl(Log))),
				np("prod", "b", onWeb, order(2), ingress(rl(Allow, proto("TCP")))),
				candidate{np("prod", "a", onWeb, order(1), ingress(rl(Log), rl(Log, proto("TCP"))))},
			},
			flow: tcp(ipClient, ipWeb, 80),
			enforced: lines("allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow Rule default NetworkPolicy/prod/b rule=0 Allow",
				"  default NetworkPolicy/prod/a order=1 enforced: NoRuleMatched logs=[0]",
				"  default NetworkPolicy/prod/b order=2 enforced: Allow rule=0"),
			candidate: lines("allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow Rule default NetworkPolicy/prod/b rule=0 Allow",
				"  default NetworkPolicy/prod/a order=1 candidate: NoRuleMatched logs=[0 1]",
				"  default NetworkPolicy/prod/b order=2 enforced: Allow rule=0"),
		},
		{
			name:          "pods no candidate touches share the enforced verdict",
			objs:          []any{dbFromWeb, candidate{dbFromAPI}},
			flow:          tcp(ipClient, ipWeb, 80),
			enforced:      noPolicies("dev/client", "prod/web"),
			candidate:     noPolicies("dev/client", "prod/web"),
			candidateSame: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			apply(t, e, baseCluster()...)
			apply(t, e, tc.objs...)
			c, err := e.EvaluateBoth(tc.flow)
			if err != nil {
				t.Fatal(err)
			}
			if got := renderVerdict(c.Enforced); got != tc.enforced {
				t.Errorf("enforced\n--- got\n%s--- want\n%s", got, tc.enforced)
			}
			if got := renderVerdict(c.Candidate); got != tc.candidate {
				t.Errorf("candidate\n--- got\n%s--- want\n%s", got, tc.candidate)
			}
			if c.WouldDeny() != tc.wouldDeny {
				t.Errorf("WouldDeny = %v, want %v", c.WouldDeny(), tc.wouldDeny)
			}
			for mode, want := range map[Mode]string{EnforcedOnly: tc.enforced, CandidatesAsEnforced: tc.candidate} {
				v, err := e.Evaluate(tc.flow, mode)
				if err != nil {
					t.Fatal(err)
				}
				if got := renderVerdict(v); got != want {
					t.Errorf("Evaluate(%v)\n--- got\n%s--- want\n%s", mode, got, want)
				}
			}
			srcSame := e.pods[EndpointRef{"dev", "client"}] == nil || e.byIP[tc.flow.Src][0].candSame
			dstSame := e.byIP[tc.flow.Dst][0].candSame
			if tc.candidateSame != (srcSame && dstSame) {
				t.Errorf("candSame = %v/%v, want %v", srcSame, dstSame, tc.candidateSame)
			}
		})
	}
}

// TestCandidateLifecycle promotes and deletes generations and checks the index follows.
func TestCandidateLifecycle(t *testing.T) {
	e := New()
	apply(t, e, baseCluster()...)
	key := PolicyKey{Kind: KindNetworkPolicy, Namespace: "prod", Name: "p"}
	flow := tcp(ipClient, ipWeb, 80)
	check := func(step string, wantEnforced, wantCandidate bool) {
		t.Helper()
		c, err := e.EvaluateBoth(flow)
		if err != nil {
			t.Fatal(err)
		}
		if c.Enforced.Allowed != wantEnforced || c.Candidate.Allowed != wantCandidate {
			t.Errorf("%s: enforced/candidate allowed = %v/%v, want %v/%v", step, c.Enforced.Allowed, c.Candidate.Allowed, wantEnforced, wantCandidate)
		}
	}
	deny := webPolicy(rl(Deny))
	check("empty", true, true)
	mustUpsert(t, e.UpsertNetworkPolicy(deny, SlotCandidate))
	check("audit", true, false)
	if got := e.SelectedEndpoints(key, SlotCandidate); len(got) != 1 || got[0] != (EndpointRef{"prod", "web"}) {
		t.Errorf("SelectedEndpoints(candidate) = %v", got)
	}
	if got := e.SelectedEndpoints(key, SlotEnforced); len(got) != 0 {
		t.Errorf("SelectedEndpoints(enforced) = %v", got)
	}
	// Promotion: the candidate becomes the enforced generation.
	mustUpsert(t, e.UpsertNetworkPolicy(deny, SlotEnforced))
	e.DeletePolicy(key, SlotCandidate)
	check("enforced", false, false)
	if !e.pods[EndpointRef{"prod", "web"}].candSame {
		t.Error("after promotion the candidate view should share the enforced lists")
	}
	e.DeletePolicy(key, SlotEnforced)
	check("deleted", true, true)
	if len(e.policies) != 0 || len(e.peers.byKey) != 0 {
		t.Errorf("index not empty after deletes: %d policies, %d peer selectors", len(e.policies), len(e.peers.byKey))
	}
}
