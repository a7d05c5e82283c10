package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// TestPodViewAgreesWithEngine: a PodView built outside an engine answers every lookup as the
// engine's own view of the same pod, namespace and service account.
func TestPodViewAgreesWithEngine(t *testing.T) {
	long := strings.Repeat("s", 63)
	pods := []Endpoint{
		pod("shop", "web", "", map[string]string{"app": "web", "pcns.team": "shadow", LabelNamespace: "fake"}, withSA("api")),
		pod("shop", "long", "", nil, withSA(long)),
		pod("shop", "nosa", "", map[string]string{LabelServiceAccount: "api"}, withSA("")),
		pod("x", "p", "", map[string]string{"app": "web"}, withSA("ghost")),
	}
	ns := Namespace{Name: "shop", Labels: map[string]string{"team": "a"}}
	sas := []ServiceAccount{{Namespace: "shop", Name: "api", Labels: map[string]string{"role": "api"}}, {Namespace: "shop", Name: long}}
	keys := []string{"app", "team", "pcns.team", "pcns." + profileNameLabel, "pcns." + LabelMetadataName, "pcsa.role",
		"pcsa." + profileNameLabel, LabelNamespace, LabelOrchestrator, LabelServiceAccount, "missing"}

	e := New()
	mustNil(t, e.UpsertNamespace(ns))
	for _, sa := range sas {
		mustNil(t, e.UpsertServiceAccount(sa))
	}
	profiles := map[string]*ServiceAccountProfile{}
	for _, sa := range sas {
		profiles[sa.Name] = NewServiceAccountProfile(sa)
	}
	for _, p := range pods {
		mustNil(t, e.UpsertPod(p))
		var nsp *NamespaceProfile
		if p.Namespace == ns.Name {
			nsp = NewNamespaceProfile(ns)
		}
		got := NewPodView(p, nsp, profiles[p.ServiceAccount])
		want := e.view(e.pods[p.Ref()])
		if got.ep.hasSALabel != want.ep.hasSALabel {
			t.Errorf("%s: has the service-account label: %v; engine %v", p.Ref(), got.ep.hasSALabel, want.ep.hasSALabel)
		}
		for _, k := range keys {
			gv, gok := got.Get(k)
			wv, wok := want.Get(k)
			if gv != wv || gok != wok {
				t.Errorf("%s: Get(%q) = %q, %v; engine %q, %v", p.Ref(), k, gv, gok, wv, wok)
			}
		}
	}
}

// TestPositionIsTheEngineOrder: sorting policies by Position gives the order the engine evaluates
// them in.
func TestPositionIsTheEngineOrder(t *testing.T) {
	withTier := func(tier string) func(*v1alpha1.PolicySpec) { return func(s *v1alpha1.PolicySpec) { s.Tier = tier } }
	withOrder := func(o float64) func(*v1alpha1.PolicySpec) {
		return func(s *v1alpha1.PolicySpec) { s.Order = ptr.To(o) }
	}
	nps := []*v1alpha1.NetworkPolicy{
		np("shop", "a", withOrder(5)), np("shop", "a.b", withOrder(5)), np("shop", "a-b", withOrder(5)),
		np("shop", "z", withOrder(1)), np("shop", "none"), np("shop", "admin", withTier("kube-admin"), withOrder(100)),
		np("shop", "custom", withTier("zzz"), withOrder(0)), np("shop", "base", withTier("kube-baseline")),
	}
	gnps := []*v1alpha1.GlobalNetworkPolicy{gnp("a", withOrder(5)), gnp("none")}
	e := New()
	mustNil(t, e.UpsertPod(pod("shop", "web", "", nil)))
	var positions []Position
	for _, p := range nps {
		mustNil(t, e.UpsertNetworkPolicy(p, SlotEnforced))
		positions = append(positions, Position{Key: PolicyKey{Kind: KindNetworkPolicy, Namespace: p.Namespace, Name: p.Name}, Tier: p.Spec.Tier, Order: p.Spec.Order})
	}
	for _, p := range gnps {
		mustNil(t, e.UpsertGlobalNetworkPolicy(p, SlotEnforced))
		positions = append(positions, Position{Key: PolicyKey{Kind: KindGlobalNetworkPolicy, Name: p.Name}, Tier: p.Spec.Tier, Order: p.Spec.Order})
	}
	slices.SortFunc(positions, Position.Compare)
	var got []PolicyKey
	for _, p := range positions {
		got = append(got, p.Key)
	}
	want := e.ApplicablePolicies(EndpointRef{Namespace: "shop", Name: "web"}, Ingress, EnforcedOnly)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Position order (-engine +Position):\n%s", diff)
	}
	a, ab := positions[0], positions[0]
	ab.Key.Name = "other"
	if !a.TiesWith(ab) || a.TiesWith(Position{Key: a.Key, Tier: a.Tier}) {
		t.Error("TiesWith: want a tie for the same explicit order and tier only")
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
