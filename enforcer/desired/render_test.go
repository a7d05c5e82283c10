package desired

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

// TestFromRenderIsValidAndComplete renders a small dual-stack node and checks that the mapped
// desired state passes Validate (the syncer's safety check: PAL- names, lengths, no line breaks)
// and carries every chain, rule and set of both families unchanged.
func TestFromRenderIsValidAndComplete(t *testing.T) {
	e := engine.New()
	for _, p := range []engine.Endpoint{
		{Namespace: "web", Name: "a", Node: "n0", Labels: map[string]string{"app": "a"},
			IPs: []netip.Addr{netip.MustParseAddr("198.18.0.10"), netip.MustParseAddr("fd00::a")}},
		{Namespace: "web", Name: "b", Node: "n1", Labels: map[string]string{"app": "b"},
			IPs: []netip.Addr{netip.MustParseAddr("198.18.1.10"), netip.MustParseAddr("fd00::b")}},
	} {
		if err := e.UpsertPod(p); err != nil {
			t.Fatal(err)
		}
	}
	np := &v1alpha1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "from-b"},
		Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{
			Selector: "app == 'a'",
			Types:    []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress},
			Ingress:  []v1alpha1.Rule{{Action: v1alpha1.Allow, Source: v1alpha1.EntityRule{Selector: "app == 'b'"}}},
		}},
	}
	if err := e.UpsertNetworkPolicy(np, engine.SlotEnforced); err != nil {
		t.Fatal(err)
	}
	v4, v6, err := render.Render(e.NodeModel("n0"), render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := FromRender(v4, v6)
	if err := got.Validate(); err != nil {
		t.Fatalf("the mapped ruleset is refused by Validate: %v", err)
	}
	if len(got.Tables) != 2 || got.Tables[0].Family != IPv4 || got.Tables[1].Family != IPv6 {
		t.Fatalf("tables = %+v; want filter for ipv4 then ipv6", got.Tables)
	}
	for i, rs := range []render.Ruleset{v4, v6} {
		if diff := cmp.Diff(rs.Tables[0].Chains, toRender(got.Tables[i].Chains)); diff != "" {
			t.Errorf("family %d: chains changed in the mapping (-render +desired):\n%s", i, diff)
		}
	}
	if n := len(v4.Sets) + len(v6.Sets); len(got.Sets) != n || n == 0 {
		t.Errorf("%d sets mapped; want the renderer's %d (and at least one: the peer selector)", len(got.Sets), n)
	}
}

func toRender(cs []Chain) []render.ChainText {
	out := make([]render.ChainText, 0, len(cs))
	for _, c := range cs {
		out = append(out, render.ChainText{Name: c.Name, Rules: c.Rules})
	}
	return out
}
