package engine_test

import (
	"fmt"
	"net/netip"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// Example shows the whole API surface a caller needs: load pods, namespaces and policies, then
// ask about a flow in both modes. Only the first packet of a connection is modelled:
// established and related packets are always allowed, so a policy change never cuts a
// connection that already exists.
func Example() {
	e := engine.New()
	_ = e.UpsertNamespace(engine.Namespace{Name: "shop"})
	_ = e.UpsertPod(engine.Endpoint{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"},
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	_ = e.UpsertPod(engine.Endpoint{Namespace: "shop", Name: "db", Labels: map[string]string{"app": "db"},
		IPs:   []netip.Addr{netip.MustParseAddr("10.0.0.2")},
		Ports: []engine.NamedPort{{Name: "pg", Protocol: engine.ProtoTCP, Port: 5432}}})

	tcp := v1alpha1.ProtocolFromString("TCP")
	enforced := &v1alpha1.NetworkPolicy{}
	enforced.Namespace, enforced.Name = "shop", "db"
	enforced.Spec.Selector = "app == 'db'"
	enforced.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Protocol: &tcp,
		Source:      v1alpha1.EntityRule{Selector: "app == 'web'"},
		Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromString("pg")}}}}
	_ = e.UpsertNetworkPolicy(enforced, engine.SlotEnforced)

	candidate := enforced.DeepCopy()
	candidate.Spec.Ingress[0].Source.Selector = "app == 'api'"
	_ = e.UpsertNetworkPolicy(candidate, engine.SlotCandidate)

	flow := engine.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		Protocol: engine.ProtoTCP, SrcPort: 40000, DstPort: 5432}
	c, _ := e.EvaluateBoth(flow)
	fmt.Println("enforced:", c.Enforced.Allowed, c.Enforced.Ingress.Decision.Reason)
	fmt.Println("candidate:", c.Candidate.Allowed, c.Candidate.Ingress.Decision.Reason)
	fmt.Println("would deny:", c.WouldDeny())
	// Output:
	// enforced: true Rule
	// candidate: false EndOfTierDeny
	// would deny: true
}
