package render_test

import (
	"fmt"
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

// benchCluster is the full-sync size: 10,000 pods in 100 namespaces over 100 nodes (100
// pods on node n0, one per namespace), 1,000 namespaced policies (10 per namespace), each with an
// ingress rule from a selector to a numeric and a named port and an egress rule to CIDRs; every
// policy applies to every pod of its namespace.
func benchCluster(b *testing.B) *engine.Engine {
	b.Helper()
	e := engine.New()
	tcp := v1alpha1.ProtocolFromString("TCP")
	for ns := range 100 {
		nsName := fmt.Sprintf("ns%d", ns)
		if err := e.UpsertNamespace(engine.Namespace{Name: nsName, Labels: map[string]string{"team": fmt.Sprintf("t%d", ns%10)}}); err != nil {
			b.Fatal(err)
		}
		for i := range 100 {
			ip := netip.AddrFrom4([4]byte{198, 18, byte(ns), byte(i + 1)})
			err := e.UpsertPod(engine.Endpoint{
				Namespace: nsName, Name: fmt.Sprintf("pod%d", i), Node: fmt.Sprintf("n%d", i),
				Labels: map[string]string{"app": fmt.Sprintf("a%d", i%10)},
				IPs:    []netip.Addr{ip},
				Ports:  []engine.NamedPort{{Name: "http", Protocol: engine.ProtoTCP, Port: 8080}},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		for k := range 10 {
			p := &v1alpha1.NetworkPolicy{}
			p.Namespace, p.Name = nsName, fmt.Sprintf("p%d", k)
			order := float64(k)
			p.Spec.Order = &order
			// Every policy applies to every pod of its namespace, so that node n0's 100 pods
			// (one per namespace) are selected by all 1,000 policies.
			p.Spec.Selector = fmt.Sprintf("has(app) && app != 'x%d'", k)
			p.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress}
			p.Spec.Ingress = []v1alpha1.Rule{{
				Action: v1alpha1.Allow, Protocol: &tcp,
				Source:      v1alpha1.EntityRule{Selector: fmt.Sprintf("app == 'a%d'", (k+1)%10), NamespaceSelector: fmt.Sprintf("team == 't%d'", k)},
				Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.Port(intstr.FromInt32(80)), v1alpha1.PortFromString("http")}},
			}}
			p.Spec.Egress = []v1alpha1.Rule{{
				Action:      v1alpha1.Allow,
				Destination: v1alpha1.EntityRule{Nets: []string{"10.0.0.0/8", fmt.Sprintf("192.168.%d.0/24", k)}},
			}}
			if err := e.UpsertNetworkPolicy(p, engine.SlotEnforced); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e
}

// BenchmarkRenderFullSync measures the pure part of a full sync for one node of that cluster:
// the node's model snapshot, the typed rules, and the restore text.
func BenchmarkRenderFullSync(b *testing.B) {
	e := benchCluster(b)
	m := e.NodeModel("n0")
	if len(m.Endpoints) != 100 || len(m.Policies) != 1000 {
		b.Fatalf("node n0: %d endpoints, %d policies; want 100 and 1000", len(m.Endpoints), len(m.Policies))
	}
	b.Run("NodeModel", func(b *testing.B) {
		for b.Loop() {
			_ = e.NodeModel("n0")
		}
	})
	b.Run("Build", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := render.Build(m, render.DefaultOptions()); err != nil {
				b.Fatal(err)
			}
		}
	})
	v4, _, err := render.Build(m, render.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	rules := 0
	for _, c := range v4.Chains {
		rules += len(c.Rules)
	}
	b.Run("Text", func(b *testing.B) {
		for b.Loop() {
			rs := v4.Ruleset()
			_ = rs.IptablesRestoreText("filter")
			_ = rs.IpsetRestoreText()
		}
	})
	b.Run("All", func(b *testing.B) {
		for b.Loop() {
			r4, r6, err := render.Render(e.NodeModel("n0"), render.DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			_, _ = r4.IptablesRestoreText("filter"), r6.IptablesRestoreText("filter")
			_, _ = r4.IpsetRestoreText(), r6.IpsetRestoreText()
		}
		b.ReportMetric(float64(rules), "rules")
		b.ReportMetric(float64(len(v4.Sets)), "sets")
	})
}
