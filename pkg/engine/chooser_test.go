package engine

import (
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"testing"
)

// TestCanaryChooser: a Canary gives the candidate's verdict at the endpoints of its slice and the
// enforced verdict everywhere else, on both sides of a flow.
func TestCanaryChooser(t *testing.T) {
	pKey := PolicyKey{Kind: KindNetworkPolicy, Namespace: "prod", Name: "p"}
	qKey := PolicyKey{Kind: KindGlobalNetworkPolicy, Name: "q"}
	web, db, client := EndpointRef{"prod", "web"}, EndpointRef{"prod", "db"}, EndpointRef{"dev", "client"}
	objs := []any{
		// p governs web and db: enforced allows the client, the candidate allows nothing.
		np("prod", "p", sel("app in {'web', 'db'}"), ingress(rl(Allow, src(eSel("app == 'client'"), eNS("all()"))))),
		candidate{np("prod", "p", sel("app in {'web', 'db'}"), ingress(rl(Allow, src(eSel("app == 'nobody'"), eNS("all()")))))},
		// q is an egress policy on the client with only a candidate (Audit): deny TCP 5432.
		candidate{gnp("q", sel("app == 'client'"), types("Egress"), egress(rl(Deny, proto("TCP"), dst(ePorts("5432"))), rl(Allow)))},
	}
	tests := []struct {
		name    string
		chooser Chooser
		flow    Flow
		want    string
	}{
		{"canary endpoint evaluates the candidate", Canary{pKey: {web: true}}, tcp(ipClient, ipWeb, 80), lines("deny",
			"egress dev/client: allow NoPolicyApplies",
			"ingress prod/web: deny EndOfTierDeny default",
			"  default NetworkPolicy/prod/p order=none candidate: NoRuleMatched")},
		{"an endpoint outside the slice evaluates the enforced generation", Canary{pKey: {web: true}}, tcp(ipClient, ipDB, 80),
			inRule("dev/client", "prod/db", "NetworkPolicy/prod/p", 0, Allow)},
		{"a policy the canary does not list stays enforced", Canary{qKey: {web: true}}, tcp(ipClient, ipWeb, 80),
			inRule("dev/client", "prod/web", "NetworkPolicy/prod/p", 0, Allow)},
		{"an Audit-only policy applies on its canary slice", Canary{qKey: {client: true}}, tcp(ipClient, ipDB, 5432), lines("deny",
			"egress dev/client: deny Rule default GlobalNetworkPolicy/q rule=0 Deny",
			"  default GlobalNetworkPolicy/q order=none candidate: Deny rule=0",
			"ingress prod/db: allow Rule default NetworkPolicy/prod/p rule=0 Allow",
			"  default NetworkPolicy/prod/p order=none enforced: Allow rule=0")},
		{"both sides canary", Canary{qKey: {client: true}, pKey: {db: true}}, tcp(ipClient, ipDB, 80), lines("deny",
			"egress dev/client: allow Rule default GlobalNetworkPolicy/q rule=1 Allow",
			"  default GlobalNetworkPolicy/q order=none candidate: Allow rule=1",
			"ingress prod/db: deny EndOfTierDeny default",
			"  default NetworkPolicy/prod/p order=none candidate: NoRuleMatched")},
		{"a ChooserFunc", ChooserFunc(func(ep EndpointRef, _ PolicyKey) Slot {
			if ep == db {
				return SlotCandidate
			}
			return SlotEnforced
		}), tcp(ipClient, ipDB, 80), lines("deny",
			"egress dev/client: allow NoPolicyApplies",
			"ingress prod/db: deny EndOfTierDeny default",
			"  default NetworkPolicy/prod/p order=none candidate: NoRuleMatched")},
	}
	e := New()
	apply(t, e, baseCluster()...)
	apply(t, e, objs...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := e.Evaluate(tc.flow, tc.chooser)
			if err != nil {
				t.Fatal(err)
			}
			if got := renderVerdict(v); got != tc.want {
				t.Errorf("verdict\n--- got\n%s--- want\n%s", got, tc.want)
			}
			ok, err := e.Allowed(tc.flow, tc.chooser)
			if err != nil || ok != v.Allowed {
				t.Errorf("Allowed = %v, %v; Evaluate says %v", ok, err, v.Allowed)
			}
		})
	}
	if got := e.ApplicablePolicies(client, Egress, Canary{qKey: {client: true}}); len(got) != 1 || got[0] != qKey {
		t.Errorf("ApplicablePolicies with the canary = %v, want [%v]", got, qKey)
	}
	if got := e.ApplicablePolicies(client, Egress, EnforcedOnly); len(got) != 0 {
		t.Errorf("ApplicablePolicies enforced = %v, want none", got)
	}
}

// TestChooserErrors: a nil chooser and an unknown Mode are refused.
func TestChooserErrors(t *testing.T) {
	e := New()
	apply(t, e, baseCluster()...)
	for _, ch := range []Chooser{nil, Mode(7)} {
		if _, err := e.Evaluate(tcp(ipClient, ipWeb, 80), ch); err == nil {
			t.Errorf("Evaluate with %v: no error", ch)
		}
		if _, err := e.Allowed(tcp(ipClient, ipWeb, 80), ch); err == nil {
			t.Errorf("Allowed with %v: no error", ch)
		}
		if got := e.ApplicablePolicies(EndpointRef{"prod", "web"}, Ingress, ch); got != nil {
			t.Errorf("ApplicablePolicies with %v = %v", ch, got)
		}
	}
}

// TestChoosersAgreeWithBaseline: on random worlds, a per-(endpoint, policy) random chooser gives
// the verdicts of the unindexed baseline with the same chooser, and ChooserFuncs that mirror the
// two Modes give the Modes' verdicts (the on-demand lists equal the precomputed ones).
func TestChoosersAgreeWithBaseline(t *testing.T) {
	for seed := range 150 {
		r := rand.New(rand.NewPCG(uint64(seed), 5))
		w := genWorld(randChooser{r})
		e := New()
		for _, o := range w.objs {
			_ = store(e, o)
		}
		salt := r.Uint64()
		random := ChooserFunc(func(ep EndpointRef, key PolicyKey) Slot {
			h := fnv.New64a()
			_, _ = h.Write([]byte(ep.String() + "|" + key.String()))
			return Slot((h.Sum64() ^ salt) % 2)
		})
		choosers := []struct {
			name   string
			ch, as Chooser
		}{
			{"random", random, nil},
			{"func-enforced", ChooserFunc(func(EndpointRef, PolicyKey) Slot { return SlotEnforced }), EnforcedOnly},
			{"func-candidate", ChooserFunc(func(EndpointRef, PolicyKey) Slot { return SlotCandidate }), CandidatesAsEnforced},
		}
		for _, c := range choosers {
			for _, f := range w.flows {
				got, err := e.Evaluate(f, c.ch)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := e.linearEvaluate(f, c.ch)
				if c.as != nil {
					want, _ = e.Evaluate(f, c.as)
				}
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				if string(gj) != string(wj) {
					t.Fatalf("seed %d chooser %s flow %+v:\ngot  %s\nwant %s", seed, c.name, f, gj, wj)
				}
			}
		}
	}
}
