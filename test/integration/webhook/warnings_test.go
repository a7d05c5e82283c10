package webhookintegration

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func tcpRule(ports ...string) v1alpha1.Rule {
	r := v1alpha1.Rule{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("TCP"))}
	for _, p := range ports {
		r.Destination.Ports = append(r.Destination.Ports, v1alpha1.PortFromString(p))
	}
	return r
}

// dryRunWarnings creates obj as a dry run through the warning-collecting client and returns the
// warnings the API server passed on. A dry run goes through every admission webhook (they declare
// sideEffects: None) and stores nothing, so one object can be checked repeatedly.
func dryRunWarnings(obj client.Object) []string {
	GinkgoHelper()
	warnings.take()
	Expect(warnClient.Create(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll)).To(Succeed())
	return warnings.take()
}

var _ = Describe("Warnings", Ordered, func() {
	const shop, db = "warn-shop", "warn-db"

	BeforeAll(func() {
		createNamespace(shop, map[string]string{"team": "a"})
		createNamespace(db, map[string]string{"team": "data"})
		for _, name := range []string{"web-1", "web-2"} {
			createPod(shop, name, map[string]string{"app": "web"}, corev1.ContainerPort{Name: "http", ContainerPort: 8080})
		}
		createPod(db, "pg", map[string]string{"app": "pg"}, corev1.ContainerPort{Name: "pg", ContainerPort: 5432})
		// Admission reads the informer cache: wait until it holds the pods.
		probe := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: db, Name: "probe"}}
		probe.Spec.Order, probe.Spec.Selector = ptr.To(1.0), "app == 'pg'"
		probe.Spec.Ingress = []v1alpha1.Rule{tcpRule("pg")}
		eventually(func() []string { return dryRunWarnings(probe) }).Should(BeEmpty())
	})

	policy := func(name string, tweak func(*v1alpha1.PolicySpec)) *v1alpha1.NetworkPolicy {
		p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: name}}
		p.Spec.Order, p.Spec.Selector = ptr.To(50.0), "app == 'web'"
		p.Spec.Ingress = []v1alpha1.Rule{tcpRule("http")}
		if tweak != nil {
			tweak(&p.Spec.PolicySpec)
		}
		return p
	}

	It("gives none for a policy that fits the cluster", func() {
		Expect(dryRunWarnings(policy("clean", nil))).To(BeEmpty())
	})

	It("warns about a named port no selected pod declares", func() {
		got := dryRunWarnings(policy("named-port", func(s *v1alpha1.PolicySpec) { s.Ingress = []v1alpha1.Rule{tcpRule("http", "metrics")} }))
		Expect(got).To(Equal([]string{`spec.ingress[0].destination.ports[1]: no pod in namespace "warn-shop" matching app == 'web' declares TCP port "metrics"`}))
	})

	It("warns about a named port no peer pod declares", func() {
		got := dryRunWarnings(policy("peer-port", func(s *v1alpha1.PolicySpec) {
			s.Ingress = nil
			r := tcpRule("pg", "postgres")
			r.Destination.NamespaceSelector, r.Destination.Selector = "team == 'data'", "app == 'pg'"
			dns := v1alpha1.Rule{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("UDP")),
				Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromInt(53)}}}
			s.Egress = []v1alpha1.Rule{dns, r}
		}))
		Expect(got).To(Equal([]string{`spec.egress[1].destination.ports[1]: no pod in namespaces matching team == 'data' matching app == 'pg' declares TCP port "postgres"`}))
	})

	It("warns about a selector that matches no pod", func() {
		got := dryRunWarnings(policy("nothing", func(s *v1alpha1.PolicySpec) { s.Selector = "app == 'nothing'"; s.Ingress = nil }))
		Expect(got).To(Equal([]string{`spec.selector: no pod in namespace "warn-shop" matching app == 'nothing' exists today, so the policy applies to nothing yet`}))
	})

	It("warns about an egress default-deny that leaves no DNS path", func() {
		got := dryRunWarnings(policy("deny-egress", func(s *v1alpha1.PolicySpec) {
			s.Ingress, s.Types = nil, []v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}
			s.Egress = []v1alpha1.Rule{tcpRule("443")}
		}))
		Expect(got).To(Equal([]string{`spec.types: egress is denied by default for 2 pods in namespace "warn-shop" and no policy allows them DNS (port 53)`}))
	})

	It("warns about an order tie with a stored policy on the same pods", func() {
		stored := policy("allow-web", nil)
		Expect(env.client.Create(ctx, stored)).To(Succeed())
		want := []string{`spec.order: same order as NetworkPolicy warn-shop/allow-web on 2 shared pods; the tie is broken by name: NetworkPolicy warn-shop/allow-web applies first`}
		eventually(func() []string { return dryRunWarnings(policy("tie", nil)) }).Should(Equal(want))
	})

	It("passes on pkg/validation's soft findings", func() {
		got := dryRunWarnings(policy("no-order", func(s *v1alpha1.PolicySpec) { s.Order = nil }))
		golden(filepath.Join("warnings", "no-order.golden"), lines(got...))
	})

	It("warns about a GlobalNetworkPolicy egress default-deny", func() {
		g := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "warn-deny-egress"}}
		g.Spec.Order, g.Spec.NamespaceSelector = ptr.To(5.0), "team in {'a', 'data'}"
		g.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}
		Expect(dryRunWarnings(g)).To(Equal([]string{
			`spec.types: egress is denied by default for 3 pods in namespaces "warn-db", "warn-shop" and no policy allows them DNS (port 53)`,
		}))
	})

	It("warns, and never denies, on Kubernetes NetworkPolicies", func() {
		k := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "k8s"}}
		k.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		k.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		k.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{
			{Port: ptr.To(intstr.FromString("http"))}, {Port: ptr.To(intstr.FromString("grpc"))},
		}}}
		Expect(dryRunWarnings(k)).To(Equal([]string{
			`spec.ingress[0].ports[1].port: no pod in namespace "warn-shop" matching app=web declares TCP port "grpc"`,
			`spec.policyTypes: egress is denied by default for 2 pods in namespace "warn-shop" and no policy allows them DNS (port 53)`,
		}))
		// Stored for real: warnings never stop a Kubernetes NetworkPolicy.
		Expect(warnClient.Create(ctx, k)).To(Succeed())
		warnings.take()
	})
})
