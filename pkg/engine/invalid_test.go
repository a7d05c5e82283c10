package engine

import (
	"errors"
	"testing"
)

// step is one write in TestLastValidGeneration: an object upserted into a slot (wrap it in
// candidate{} for SlotCandidate), or a deletion of the key's slot.
type step struct {
	obj    any
	delete bool
}

// TestLastValidGeneration pins the rule for invalid policies that reach the store
// (docs/semantics.md): an invalid generation written over a valid one in the same slot
// is rejected and the valid one stays in force; a policy that never had a valid generation fails
// closed only for the pods its subject selector can be read to select.
func TestLastValidGeneration(t *testing.T) {
	key := PolicyKey{Kind: KindNetworkPolicy, Namespace: "prod", Name: "p"}
	allowClient := np("prod", "p", onWeb, ingress(rl(Allow, src(eSel("app == 'client'"), eNS("all()")))))
	allowMon := np("prod", "p", onWeb, ingress(rl(Allow, src(eSel("app == 'mon'"), eNS("all()")))))
	badRule := np("prod", "p", onWeb, ingress(rl(Allow, src(eSel("app = 'client'")))))
	badRule2 := np("prod", "p", onWeb, ingress(rl(Allow, src(eNets("10.0.0.0/99")))))
	badSubject := np("prod", "p", sel("app == "), ingress(rl(Allow)))
	badKNPSubject := knp("prod", "p", podSel("app", "-bad-"), knpIngress(from(peerPods("app", "client"))))
	knpKey := PolicyKey{Kind: KindKubernetesNetworkPolicy, Namespace: "prod", Name: "p"}

	type flowWant struct {
		flow      Flow
		enforced  bool // allowed in EnforcedOnly
		candidate bool // allowed in CandidatesAsEnforced
	}
	clientToWeb, monToWeb := tcp(ipClient, ipWeb, 80), tcp(ipMon, ipWeb, 80)
	clientToDB := tcp(ipClient, ipDB, 5432)
	tests := []struct {
		name  string
		key   PolicyKey
		steps []step
		// last is what the last step's Upsert must return: "" nil, "kept" an
		// *InvalidPolicyError with LastValidKept, "closed" one without.
		last  string
		slot  Slot
		state PolicyState // Err is checked for presence only
		flows []flowWant
	}{
		{
			name: "an invalid rule over a valid generation: the valid one stays in force", key: key,
			steps: []step{{obj: allowClient}, {obj: badRule}}, last: "kept",
			state: PolicyState{Stored: true, LastValidKept: true, Err: errSet},
			flows: []flowWant{{clientToWeb, true, true}, {monToWeb, false, false}, {clientToDB, true, true}},
		},
		{
			name: "an unreadable subject over a valid generation: the valid one stays in force", key: key,
			steps: []step{{obj: allowClient}, {obj: badSubject}}, last: "kept",
			state: PolicyState{Stored: true, LastValidKept: true, Err: errSet},
			flows: []flowWant{{clientToWeb, true, true}, {monToWeb, false, false}},
		},
		{
			name: "two invalid generations in a row keep the same valid one", key: key,
			steps: []step{{obj: allowClient}, {obj: badRule}, {obj: badRule2}}, last: "kept",
			state: PolicyState{Stored: true, LastValidKept: true, Err: errSet},
			flows: []flowWant{{clientToWeb, true, true}, {monToWeb, false, false}},
		},
		{
			name: "a valid generation after a rejected one replaces the kept one", key: key,
			steps: []step{{obj: allowClient}, {obj: badRule}, {obj: allowMon}},
			state: PolicyState{Stored: true},
			flows: []flowWant{{clientToWeb, false, false}, {monToWeb, true, true}},
		},
		{
			name: "deleting the slot forgets the kept generation and the rejection", key: key,
			steps: []step{{obj: allowClient}, {obj: badRule}, {delete: true}},
			state: PolicyState{},
			flows: []flowWant{{clientToWeb, true, true}, {monToWeb, true, true}},
		},
		{
			name: "never valid, unreadable subject: selects no pod", key: key,
			steps: []step{{obj: badSubject}}, last: "closed",
			state: PolicyState{Stored: true, FailsClosed: true, Err: errSet},
			flows: []flowWant{{clientToWeb, true, true}, {clientToDB, true, true}},
		},
		{
			name: "never valid, unreadable Kubernetes podSelector: selects no pod", key: knpKey,
			steps: []step{{obj: badKNPSubject}}, last: "closed",
			state: PolicyState{Stored: true, FailsClosed: true, Err: errSet},
			flows: []flowWant{{clientToWeb, true, true}, {clientToDB, true, true}},
		},
		{
			name: "never valid, readable subject and unreadable rule: fails closed for the pods it selects only", key: key,
			steps: []step{{obj: badRule}}, last: "closed",
			state: PolicyState{Stored: true, FailsClosed: true, Err: errSet},
			flows: []flowWant{{clientToWeb, false, false}, {monToWeb, false, false}, {clientToDB, true, true}},
		},
		{
			name: "never valid twice: the newer invalid generation replaces the older", key: key,
			steps: []step{{obj: badSubject}, {obj: badRule}}, last: "closed",
			state: PolicyState{Stored: true, FailsClosed: true, Err: errSet},
			flows: []flowWant{{clientToWeb, false, false}, {clientToDB, true, true}},
		},
		{
			name: "an invalid candidate without a valid candidate before fails closed in the candidate view only", key: key,
			steps: []step{{obj: allowClient}, {obj: candidate{badRule}}}, last: "closed", slot: SlotCandidate,
			state: PolicyState{Stored: true, FailsClosed: true, Err: errSet},
			flows: []flowWant{{clientToWeb, true, false}, {monToWeb, false, false}},
		},
		{
			name: "an invalid candidate over a valid candidate keeps the valid candidate", key: key,
			steps: []step{{obj: allowClient}, {obj: candidate{allowMon}}, {obj: candidate{badRule}}}, last: "kept", slot: SlotCandidate,
			state: PolicyState{Stored: true, LastValidKept: true, Err: errSet},
			flows: []flowWant{{clientToWeb, true, false}, {monToWeb, false, true}},
		},
		{
			name: "a valid candidate does not make an invalid enforced generation kept", key: key,
			steps: []step{{obj: candidate{allowMon}}, {obj: badRule}}, last: "closed",
			state: PolicyState{Stored: true, FailsClosed: true, Err: errSet},
			flows: []flowWant{{clientToWeb, false, false}, {monToWeb, false, true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			apply(t, e, baseCluster()...)
			var err error
			for _, s := range tc.steps {
				if s.delete {
					e.DeletePolicy(tc.key, tc.slot)
					err = nil
					continue
				}
				err = store(e, s.obj)
			}
			var invalid *InvalidPolicyError
			switch tc.last {
			case "":
				if err != nil {
					t.Fatalf("last write: %v", err)
				}
			case "kept", "closed":
				if !errors.As(err, &invalid) || invalid.LastValidKept != (tc.last == "kept") {
					t.Fatalf("last write returned %v, want an InvalidPolicyError with LastValidKept %v", err, tc.last == "kept")
				}
			}
			st := e.PolicyState(tc.key, tc.slot)
			if (st.Err != nil) != (tc.state.Err != nil) || st.Err != nil && !errors.Is(st.Err, invalid) {
				t.Errorf("PolicyState.Err = %v, want the last write's error %v", st.Err, invalid)
			}
			if pe := e.PolicyError(tc.key, tc.slot); !errors.Is(pe, st.Err) {
				t.Errorf("PolicyError = %v, want %v", pe, st.Err)
			}
			st.Err, tc.state.Err = nil, nil
			if st != tc.state {
				t.Errorf("PolicyState = %+v, want %+v", st, tc.state)
			}
			for _, fw := range tc.flows {
				for _, m := range []struct {
					mode Mode
					want bool
				}{{EnforcedOnly, fw.enforced}, {CandidatesAsEnforced, fw.candidate}} {
					v, err := e.Evaluate(fw.flow, m.mode)
					if err != nil {
						t.Fatal(err)
					}
					if v.Allowed != m.want {
						t.Errorf("%s %s -> %s: allowed %v, want %v\n%s", m.mode, fw.flow.Src, fw.flow.Dst, v.Allowed, m.want, renderVerdict(v))
					}
				}
			}
			checkIndex(t, e)
		})
	}
}

// errSet marks an expected non-nil PolicyState.Err.
var errSet = errors.New("set")

// TestInvalidPolicyErrorText: the two outcomes read differently.
func TestInvalidPolicyErrorText(t *testing.T) {
	key := PolicyKey{Kind: KindGlobalNetworkPolicy, Name: "g"}
	cause := errors.New("spec.selector: bad")
	for _, tc := range []struct {
		err  *InvalidPolicyError
		want string
	}{
		{&InvalidPolicyError{Key: key, Err: cause}, "policy GlobalNetworkPolicy/g is invalid and fails closed: spec.selector: bad"},
		{&InvalidPolicyError{Key: key, Err: cause, LastValidKept: true}, "policy GlobalNetworkPolicy/g is invalid and was rejected; its last valid generation stays in force: spec.selector: bad"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, cause) {
			t.Errorf("%v does not unwrap to its cause", tc.err)
		}
	}
}
