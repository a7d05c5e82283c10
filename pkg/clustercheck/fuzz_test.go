package clustercheck

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// FuzzNetworkPolicy feeds arbitrary selectors, port names and orders through every check: the checks
// run on the admission path and must return findings or an error, never panic.
func FuzzNetworkPolicy(f *testing.F) {
	f.Add("app == 'web'", "team == 'a'", "http", "dns", 100.0, true)
	f.Add("", "global()", "8080", "1:2", 1000.0, false)
	f.Add("has(", "all()", "", "-", -1.0, true)
	f.Fuzz(func(t *testing.T, selector, nsSelector, port1, port2 string, o float64, egressOnly bool) {
		cl := &cluster{
			pods:       webOK,
			namespaces: []Namespace{shop, db},
			nps:        []*v1alpha1.NetworkPolicy{np("shop", "q", order(o), sel(selector))},
		}
		tweaks := []npTweak{sel(selector), order(o),
			ingress(rule(v1alpha1.Allow, proto("TCP"), dst(ports(port1, port2)))),
			egress(rule(v1alpha1.Allow, dst(entity(eSel(selector), eNsSel(nsSelector), ports(port1), notPorts(port2))))),
		}
		if egressOnly {
			tweaks = append(tweaks, types(v1alpha1.PolicyTypeEgress))
		}
		c := &Checker{Lister: cl, Selectors: &SelectorCache{}}
		_, _ = c.NetworkPolicy(ctx, np("shop", "p", tweaks...))
		_, _ = c.GlobalNetworkPolicy(ctx, gnp("g", spec(sel(selector)), func(s *v1alpha1.GlobalNetworkPolicySpec) { s.NamespaceSelector = nsSelector }))
	})
}

// TestOrderIndependence: the findings do not depend on the order in which the Lister returns objects
// (an informer cache returns them in map order).
func TestOrderIndependence(t *testing.T) {
	pods := append([]Pod{pod("db", "pg", map[string]string{"app": "pg"}, tcp("pg", 5432))}, webOK...)
	nps := []*v1alpha1.NetworkPolicy{
		np("shop", "a", order(5)), np("shop", "b", order(5)), np("shop", "c", order(5), sel("app == 'web'")),
		np("shop", "d", order(5)), np("shop", "allow-dns", sel("name == 'x'"), egress(allowDNS())),
	}
	policy := np("shop", "p", order(5), types(v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress),
		egress(rule(v1alpha1.Allow, proto("TCP"), dst(ports("pg", "nope")))))
	base, err := (&Checker{Lister: &cluster{pods: pods, namespaces: []Namespace{shop, db}, nps: nps}}).NetworkPolicy(ctx, policy)
	if err != nil || len(base) != 5 {
		t.Fatalf("baseline: %v, err %v; want 5 warnings", base, err)
	}
	for i := 0; i < 4; i++ {
		p, n := slices.Clone(pods), slices.Clone(nps)
		slices.Reverse(p)
		rotate := func(s []*v1alpha1.NetworkPolicy, k int) []*v1alpha1.NetworkPolicy {
			return append(s[k%len(s):], s[:k%len(s)]...)
		}
		n = rotate(n, i+1)
		got, err := (&Checker{Lister: &cluster{pods: p, namespaces: []Namespace{db, shop}, nps: n}}).NetworkPolicy(ctx, policy)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(base, got); diff != "" {
			t.Errorf("permutation %d (-base +got):\n%s", i, diff)
		}
	}
}

// FuzzKubernetesNetworkPolicy feeds arbitrary label selectors, port names and protocols through the
// checks of a Kubernetes NetworkPolicy, admitted and stored: whatever its translation makes of
// them, the checks return findings or an error, never panic.
func FuzzKubernetesNetworkPolicy(f *testing.F) {
	f.Add("app", "web", "http", "TCP", "UDP", int32(53), true)
	f.Add("team", "a", "pg", "SCTP", "", int32(0), false)
	f.Add("pcns.team", "'", "-", "ICMP", "TCP", int32(70000), true)
	f.Fuzz(func(t *testing.T, key, value, portName, proto1, proto2 string, port int32, egressOnly bool) {
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{key: value}}
		ports := []networkingv1.NetworkPolicyPort{
			{Protocol: ptr.To(corev1.Protocol(proto1)), Port: ptr.To(intstr.FromString(portName))},
			{Protocol: ptr.To(corev1.Protocol(proto2)), Port: ptr.To(intstr.FromInt32(port))},
			{Port: ptr.To(intstr.FromString(portName))},
		}
		tweaks := []knpTweak{podSel(map[string]string{key: value}),
			knpIngress(networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel}, {NamespaceSelector: sel}}, Ports: ports}),
			knpEgress(networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel, NamespaceSelector: sel}}, Ports: ports}),
		}
		if egressOnly {
			tweaks = append(tweaks, policyTypes(networkingv1.PolicyTypeEgress))
		}
		cl := &cluster{
			pods:       append([]Pod{pod("db", "pg", map[string]string{key: value}, tcp(portName, 5432))}, webOK...),
			namespaces: []Namespace{shop, db},
			knps:       []*networkingv1.NetworkPolicy{knp("shop", "stored", tweaks...)},
		}
		c := &Checker{Lister: cl, Selectors: &SelectorCache{}}
		_, _ = c.KubernetesNetworkPolicy(ctx, knp("shop", "k", tweaks...))
		_, _ = c.NetworkPolicy(ctx, np("shop", "p", order(1000), types(v1alpha1.PolicyTypeEgress)))
	})
}
