package engine

import (
	"slices"
	"testing"
)

// TestNodeModelWith: a Canary makes a Staged candidate the enforced generation on its slice only,
// and every pod whose candidate is not enforced lists it as shadowed in the candidate's directions.
func TestNodeModelWith(t *testing.T) {
	pKey := PolicyKey{Kind: KindNetworkPolicy, Namespace: "prod", Name: "p"}
	qKey := PolicyKey{Kind: KindGlobalNetworkPolicy, Name: "q"}
	web, db, client := EndpointRef{"prod", "web"}, EndpointRef{"prod", "db"}, EndpointRef{"dev", "client"}
	e := New()
	apply(t, e, baseCluster()...)
	apply(t, e,
		np("prod", "p", sel("app in {'web', 'db'}"), ingress(rl(Allow, src(eSel("app == 'client'"), eNS("all()"))))),
		candidate{np("prod", "p", sel("app in {'web', 'db'}"), ingress(rl(Allow, src(eSel("app == 'nobody'"), eNS("all()")))))},
		candidate{gnp("q", sel("app == 'client'"), types("Egress"), egress(rl(Deny, proto("TCP"), dst(ePorts("5432"))), rl(Allow)))},
	)
	type want struct {
		ingress, egress             []PolicyID
		shadowIngress, shadowEgress []PolicyKey
	}
	enf := func(k PolicyKey) PolicyID { return PolicyID{Key: k, Slot: SlotEnforced} }
	cand := func(k PolicyKey) PolicyID { return PolicyID{Key: k, Slot: SlotCandidate} }
	tests := []struct {
		name string
		ch   Chooser
		want map[EndpointRef]want
	}{
		{"enforced only: every candidate is shadowed", EnforcedOnly, map[EndpointRef]want{
			web:    {ingress: []PolicyID{enf(pKey)}, shadowIngress: []PolicyKey{pKey}},
			db:     {ingress: []PolicyID{enf(pKey)}, shadowIngress: []PolicyKey{pKey}},
			client: {shadowEgress: []PolicyKey{qKey}},
		}},
		{"canary web for p", Canary{pKey: {web: true}}, map[EndpointRef]want{
			web:    {ingress: []PolicyID{cand(pKey)}},
			db:     {ingress: []PolicyID{enf(pKey)}, shadowIngress: []PolicyKey{pKey}},
			client: {shadowEgress: []PolicyKey{qKey}},
		}},
		{"canary client for q", Canary{qKey: {client: true}}, map[EndpointRef]want{
			web:    {ingress: []PolicyID{enf(pKey)}, shadowIngress: []PolicyKey{pKey}},
			db:     {ingress: []PolicyID{enf(pKey)}, shadowIngress: []PolicyKey{pKey}},
			client: {egress: []PolicyID{cand(qKey)}},
		}},
		{"all candidates enforced: nothing shadowed", CandidatesAsEnforced, map[EndpointRef]want{
			web:    {ingress: []PolicyID{cand(pKey)}},
			db:     {ingress: []PolicyID{cand(pKey)}},
			client: {egress: []PolicyID{cand(qKey)}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := 0
			for _, node := range e.NodeNames() {
				m, err := e.NodeModelWith(node, tc.ch)
				if err != nil {
					t.Fatal(err)
				}
				for _, me := range m.Endpoints {
					w, ok := tc.want[me.Ref]
					if !ok {
						continue
					}
					seen++
					if !slices.Equal(me.Ingress, w.ingress) || !slices.Equal(me.Egress, w.egress) ||
						!slices.Equal(me.ShadowIngress, w.shadowIngress) || !slices.Equal(me.ShadowEgress, w.shadowEgress) {
						t.Errorf("%s: got ingress %v egress %v shadow %v/%v, want %+v",
							me.Ref, me.Ingress, me.Egress, me.ShadowIngress, me.ShadowEgress, w)
					}
				}
			}
			if seen != len(tc.want) {
				t.Errorf("saw %d of the %d pods checked", seen, len(tc.want))
			}
		})
	}
	if _, err := e.NodeModelWith("n1", nil); err == nil {
		t.Error("NodeModelWith(nil chooser) = nil error, want an error")
	}
}
