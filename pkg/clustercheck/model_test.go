package clustercheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// TestUnknownNamespaceInheritsNoLabels: with no Namespace object for x, pod x/p inherits no pcns.
// label, not even pcns.projectcalico.org/name, as in the engine (and in Felix, which has no kns.x
// profile then). The checks once answered that label from the pod's namespace and so found x/p
// selected where the engine selects nothing.
func TestUnknownNamespaceInheritsNoLabels(t *testing.T) {
	cl := &cluster{pods: []Pod{pod("x", "p", web)}}
	policy := gnp("g", func(s *v1alpha1.GlobalNetworkPolicySpec) { s.NamespaceSelector = "projectcalico.org/name == 'x'" })
	got, err := (&Checker{Lister: cl}).GlobalNetworkPolicy(ctx, policy)
	if err != nil {
		t.Fatal(err)
	}
	want := []validation.Warning{warn("spec.selector",
		`no pod in namespaces matching projectcalico.org/name == 'x' exists today, so the policy applies to nothing yet`)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	e := engine.New()
	if err := e.UpsertPod(pod("x", "p", web)); err != nil {
		t.Fatal(err)
	}
	if err := e.UpsertGlobalNetworkPolicy(policy, engine.SlotEnforced); err != nil {
		t.Fatal(err)
	}
	if sel := e.SelectedEndpoints(engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: "g"}, engine.SlotEnforced); len(sel) != 0 {
		t.Errorf("engine selects %v; want nothing", sel)
	}
}

// TestSelectionAgreesWithEngine: the pods a check takes a policy to select are the pods the engine
// says it selects, over a cluster with the corners of Calico's label model: an unknown namespace, an
// unknown service account, a service account name too long for its label, pod labels that shadow
// inherited ones, host-only global policies and service-account selectors on global policies.
func TestSelectionAgreesWithEngine(t *testing.T) {
	long := strings.Repeat("s", 63) // no projectcalico.org/serviceaccount label
	pods := []Pod{
		pod("shop", "web", web),
		withSA("api", pod("shop", "api", map[string]string{"app": "api", "pcns.team": "shadow"})),
		withSA(long, pod("shop", "long", web)),
		withSA("ghost", pod("db", "pg", map[string]string{"app": "pg"})),
		pod("x", "p", web),
		withSA("", pod("x", "nosa", map[string]string{"projectcalico.org/serviceaccount": "api"})),
	}
	namespaces := []Namespace{shop, db}
	sas := []ServiceAccount{{Namespace: "shop", Name: "api", Labels: map[string]string{"role": "api"}}, {Namespace: "shop", Name: long}}
	gnpSel := func(sel, nsSel, saSel string, tweaks ...func(*v1alpha1.GlobalNetworkPolicySpec)) *v1alpha1.GlobalNetworkPolicy {
		return gnp(fmt.Sprintf("g-%q-%q-%q", sel, nsSel, saSel), append(tweaks, func(s *v1alpha1.GlobalNetworkPolicySpec) {
			s.Selector, s.NamespaceSelector, s.ServiceAccountSelector = sel, nsSel, saSel
		})...)
	}
	gnps := []*v1alpha1.GlobalNetworkPolicy{
		gnpSel("", "", ""),
		gnpSel("", "projectcalico.org/name == 'x'", ""),
		gnpSel("", "has(projectcalico.org/name)", ""),
		gnpSel("", "team == 'a'", ""),
		gnpSel("pcns.team == 'shadow'", "", ""),
		gnpSel("has(pcns.projectcalico.org/name)", "", ""),
		gnpSel("", "", "all()"),
		gnpSel("", "", "role == 'api'"),
		gnpSel("", "", "projectcalico.org/name == 'ghost'"),
		gnpSel("projectcalico.org/serviceaccount == 'api'", "", ""),
		gnpSel("app == 'web'", "", "", func(s *v1alpha1.GlobalNetworkPolicySpec) { s.PreDNAT = true }),
	}
	nps := []*v1alpha1.NetworkPolicy{
		np("shop", "all"),
		np("shop", "sa", func(s *v1alpha1.PolicySpec) { s.ServiceAccountSelector = "role == 'api'" }),
		np("shop", "pcsa", sel("has(pcsa.projectcalico.org/name)")),
		np("x", "pcns", sel("has(pcns.projectcalico.org/name)")),
		np("x", "all"),
	}

	e := engine.New()
	for _, p := range pods {
		if err := e.UpsertPod(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range namespaces {
		if err := e.UpsertNamespace(ns); err != nil {
			t.Fatal(err)
		}
	}
	for _, sa := range sas {
		if err := e.UpsertServiceAccount(sa); err != nil {
			t.Fatal(err)
		}
	}
	w := newWorld(ctx, &Checker{Lister: &cluster{pods: pods, namespaces: namespaces, sas: sas}})
	refs := func(eps []*endpoint) []engine.EndpointRef {
		out := []engine.EndpointRef{}
		for _, ep := range eps {
			out = append(out, ep.pod().Ref())
		}
		slices.SortFunc(out, cmpRef)
		return out
	}
	compare := func(key engine.PolicyKey, f *podFilter) {
		t.Helper()
		want := append([]engine.EndpointRef{}, e.SelectedEndpoints(key, engine.SlotEnforced)...)
		slices.SortFunc(want, cmpRef)
		if diff := cmp.Diff(want, refs(w.pods(f))); diff != "" {
			t.Errorf("%s (-engine +checks):\n%s", key, diff)
		}
	}
	for _, p := range gnps {
		if err := e.UpsertGlobalNetworkPolicy(p, engine.SlotEnforced); err != nil {
			t.Fatal(err)
		}
		f, err := w.gnpSubject(p)
		if err != nil {
			t.Fatal(err)
		}
		compare(engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: p.Name}, f)
	}
	for _, p := range nps {
		if err := e.UpsertNetworkPolicy(p, engine.SlotEnforced); err != nil {
			t.Fatal(err)
		}
		f, err := w.namespacedSubject(p.Namespace, &p.Spec.PolicySpec)
		if err != nil {
			t.Fatal(err)
		}
		compare(engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: p.Namespace, Name: p.Name}, f)
	}
	if w.err != nil {
		t.Fatal(w.err)
	}
}

func cmpRef(a, b engine.EndpointRef) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// TestNamedPortPeersFoldNotSelector: a named port resolves against the pods of the rule side's
// selector that its notSelector does not exclude, as the engine (and Felix) resolve it; a port only
// the excluded pods declare matches nothing.
func TestNamedPortPeersFoldNotSelector(t *testing.T) {
	cl := &cluster{
		pods:       append([]Pod{pod("shop", "canary", map[string]string{"app": "web", "track": "canary"}, tcp("debug", 9000))}, webOK...),
		namespaces: []Namespace{shop},
	}
	policy := np("shop", "p", sel("app == 'web'"), types(v1alpha1.PolicyTypeEgress), egress(
		allowDNS(),
		rule(v1alpha1.Allow, proto("TCP"), dst(entity(eSel("app == 'web'"), func(e *v1alpha1.EntityRule) { e.NotSelector = "track == 'canary'" }, ports("debug", "http")))),
	))
	got, err := (&Checker{Lister: cl}).NetworkPolicy(ctx, policy)
	if err != nil {
		t.Fatal(err)
	}
	want := []validation.Warning{warn("spec.egress[1].destination.ports[0]",
		`no pod in namespace "shop" matching app == 'web' declares TCP port "debug"`)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
