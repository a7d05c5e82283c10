package engine_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

var modelCmp = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// halfCanary enforces the candidate of about half the (pod, policy) pairs, so that the models
// have canary slices and shadowed candidates.
var halfCanary = engine.ChooserFunc(func(ep engine.EndpointRef, key engine.PolicyKey) engine.Slot {
	if (len(ep.Name)+len(key.Name)+int(ep.Name[len(ep.Name)-1]))%2 == 0 {
		return engine.SlotCandidate
	}
	return engine.SlotEnforced
})

// incrementalView is one node view rendered incrementally, as the enforcer renders its node.
type incrementalView struct {
	node  string
	ch    engine.Chooser
	cache *engine.ModelCache
	r     *render.Renderer
}

// check renders the view incrementally and afresh and fails unless the models and the texts are
// the same, and the caches hold no more than the model.
func (v *incrementalView) check(t *testing.T, e *engine.Engine, opts render.Options, step string) render.Reuse {
	t.Helper()
	cached, err := e.NodeModelCached(v.node, v.ch, v.cache)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := e.NodeModelWith(v.node, v.ch)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fresh, cached, modelCmp...); d != "" {
		t.Fatalf("%s: node %s: cached model differs from a fresh one (-fresh +cached):\n%s", step, v.node, d)
	}
	got4, got6, err := v.r.Render(cached)
	if err != nil {
		t.Fatalf("%s: incremental render: %v", step, err)
	}
	want4, want6, err := render.Render(fresh, opts)
	if err != nil {
		t.Fatalf("%s: fresh render: %v", step, err)
	}
	for _, c := range []struct {
		fam       string
		got, want render.Ruleset
	}{{"IPv4", got4, want4}, {"IPv6", got6, want6}} {
		if g, w := c.got.IptablesRestoreText("filter"), c.want.IptablesRestoreText("filter"); g != w {
			t.Fatalf("%s: node %s %s: incremental iptables text differs:\n%s", step, v.node, c.fam, cmp.Diff(w, g))
		}
		if g, w := c.got.IpsetRestoreText(), c.want.IpsetRestoreText(); g != w {
			t.Fatalf("%s: node %s %s: incremental ipset text differs:\n%s", step, v.node, c.fam, cmp.Diff(w, g))
		}
		if d := cmp.Diff(c.want, c.got); d != "" {
			t.Fatalf("%s: node %s %s: incremental ruleset differs:\n%s", step, v.node, c.fam, d)
		}
	}
	if n := v.cache.Len(); n != len(fresh.Policies) {
		t.Fatalf("%s: node %s: model cache holds %d generations, the model %d", step, v.node, n, len(fresh.Policies))
	}
	if n := v.cache.Sets(); n > len(fresh.Sets) {
		t.Fatalf("%s: node %s: model cache holds the members of %d sets, the model has %d sets", step, v.node, n, len(fresh.Sets))
	}
	pols, eps, sets := v.r.Len()
	if max := 4 * len(fresh.Policies); pols > max {
		t.Fatalf("%s: node %s: renderer holds %d policy chains, the model at most %d", step, v.node, pols, max)
	}
	if max := 4 * len(fresh.Endpoints); eps > max {
		t.Fatalf("%s: node %s: renderer holds %d endpoint chains, the model at most %d", step, v.node, eps, max)
	}
	if want := len(want4.Sets) + len(want6.Sets); sets != want {
		t.Fatalf("%s: node %s: renderer holds %d sets, the ruleset %d", step, v.node, sets, want)
	}
	return v.r.LastReuse()
}

// TestRendererMatchesFreshRender: after every step of random engine changes (pods, labels,
// namespaces, service accounts, endpoint slices, policies and candidates stored and removed, from
// the engine's random worlds), a node rendered through an engine.ModelCache and a Renderer gives
// exactly the model and the text of a fresh NodeModelWith and Render, for every node, with the
// enforced generations and with a canary; the caches drop what the node no longer holds (empty
// once everything is removed); and a render after no change reuses every chain and set.
func TestRendererMatchesFreshRender(t *testing.T) {
	opts := render.DefaultOptions()
	reused := render.Reuse{}
	// setsOnly and sameBuilds count the incremental renders and model builds that took the
	// shortest paths (the last model's policies, only sets made again), which must be exercised.
	setsOnly, sameBuilds, replBuilds := 0, 0, 0
	for seed := range uint64(10) {
		objs, _ := engine.GenWorldForTest(seed)
		more, _ := engine.GenWorldForTest(seed + 1000)
		pool := append(append([]any{}, objs...), more...)
		rng := rand.New(rand.NewPCG(seed, 7))
		var policies []any
		var pods []engine.Endpoint
		for _, o := range pool {
			if ep, ok := o.(engine.Endpoint); ok {
				pods = append(pods, ep)
			} else if engine.VariantForTest(0, o) != nil {
				policies = append(policies, o)
			}
		}
		e := engine.New()
		for _, o := range objs {
			_ = engine.StoreForTest(e, o) // objects the engine rejects are rejected for both renders alike
		}
		views := map[string]*incrementalView{}
		viewsOf := func() []*incrementalView {
			var out []*incrementalView
			for _, n := range append(e.NodeNames(), "gone") {
				for i, ch := range []engine.Chooser{engine.EnforcedOnly, halfCanary} {
					k := n + string(rune('0'+i))
					if views[k] == nil {
						r, err := render.NewRenderer(opts)
						if err != nil {
							t.Fatal(err)
						}
						views[k] = &incrementalView{node: n, ch: ch, cache: engine.NewModelCache(), r: r}
					}
					out = append(out, views[k])
				}
			}
			return out
		}
		for step := range 40 {
			o := pool[rng.IntN(len(pool))]
			switch rng.IntN(5) {
			case 0:
				engine.RemoveForTest(e, o)
			case 1, 2:
				// A policy changed: a new spec, or one rule's action flipped.
				if len(policies) > 0 {
					o = engine.VariantForTest(seed*100+uint64(step), policies[rng.IntN(len(policies))])
				}
				_ = engine.StoreForTest(e, o)
			case 3:
				// A pod changed its labels (and maybe its node).
				if len(pods) > 0 {
					ep := pods[rng.IntN(len(pods))]
					other := pods[rng.IntN(len(pods))]
					ep.Labels, ep.Node = other.Labels, other.Node
					o = ep
				}
				_ = engine.StoreForTest(e, o)
			default:
				_ = engine.StoreForTest(e, o)
			}
			for _, v := range viewsOf() {
				if v.check(t, e, opts, "seed "+itoa(seed)+" step "+itoa(uint64(step))).SetsOnly {
					setsOnly++
				}
			}
		}
		// No change: everything the second render needs is reused.
		for _, v := range viewsOf() {
			v.check(t, e, opts, "before the unchanged render")
			got := v.check(t, e, opts, "unchanged render")
			m, _ := e.NodeModelWith(v.node, v.ch)
			v4, v6, _ := render.Render(m, opts)
			if got.Sets != len(v4.Sets)+len(v6.Sets) {
				t.Fatalf("seed %d node %s: an unchanged render reused %d of %d sets", seed, v.node, got.Sets, len(v4.Sets)+len(v6.Sets))
			}
			if len(m.Endpoints) > 0 && got.EndpointChains == 0 {
				t.Fatalf("seed %d node %s: an unchanged render reused no endpoint chain", seed, v.node)
			}
			reused.PolicyChains += got.PolicyChains
			reused.EndpointChains += got.EndpointChains
		}
		for _, v := range views {
			same, repl := engine.SameBuildsForTest(v.cache)
			sameBuilds += same
			replBuilds += repl
		}
		for _, o := range pool {
			engine.RemoveForTest(e, o)
		}
		for _, v := range views {
			v.check(t, e, opts, "everything removed")
			if p, ep, s := v.r.Len(); p+ep+s != 0 || v.cache.Len() != 0 || v.cache.Sets() != 0 {
				t.Fatalf("seed %d node %s: after removing everything the caches hold %d policy chains, %d endpoint chains, %d sets, %d generations",
					seed, v.node, p, ep, s, v.cache.Len())
			}
		}
	}
	if reused.PolicyChains == 0 || reused.EndpointChains == 0 {
		t.Fatalf("unchanged renders reused %+v: the caches never hit", reused)
	}
	if setsOnly == 0 || sameBuilds == 0 || replBuilds == 0 {
		t.Fatalf("after changes, %d renders took only the sets again, %d model builds the last policies, %d of them with new generations: the shortest paths were never all taken",
			setsOnly, sameBuilds, replBuilds)
	}
	t.Logf("after changes: %d renders made only sets again; %d model builds took the last policies, %d with new generations", setsOnly, sameBuilds, replBuilds)
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestRendererMatchesFreshRenderOnEdits: the edits an enforcer sees most (a policy's port or a
// rule's action changed, so the node keeps its policies and sets and only generations change;
// a pod relabelled; a candidate stored; a policy removed and stored again), at random over a
// world of several policies per namespace, give through the caches exactly the model and text
// of a fresh render, and take the shortest paths (new generations converted alone, only the
// changed sets rendered again).
func TestRendererMatchesFreshRenderOnEdits(t *testing.T) {
	opts := render.DefaultOptions()
	tcp := v1alpha1.ProtocolFromString("TCP")
	policy := func(ns string, k int, port int32, action v1alpha1.Action) *v1alpha1.NetworkPolicy {
		p := &v1alpha1.NetworkPolicy{}
		p.Namespace, p.Name = ns, "p"+itoa(uint64(k))
		order := float64(k)
		p.Spec.Order = &order
		p.Spec.Selector = "has(app)"
		p.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress}
		p.Spec.Ingress = []v1alpha1.Rule{{
			Action: action, Protocol: &tcp,
			Source:      v1alpha1.EntityRule{Selector: "app == 'a" + itoa(uint64(k%3)) + "'"},
			Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.Port(intstr.FromInt32(port)), v1alpha1.PortFromString("http")}},
		}}
		p.Spec.Egress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Destination: v1alpha1.EntityRule{Nets: []string{"10.0.0.0/8"}}}}
		return p
	}
	pod := func(ns, i int, app string) engine.Endpoint {
		return engine.Endpoint{
			Namespace: "ns" + itoa(uint64(ns)), Name: "pod" + itoa(uint64(i)), Node: []string{"n1", "n2"}[i%2],
			Labels: map[string]string{"app": app},
			IPs:    []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(ns), byte(i + 1)})},
			Ports:  []engine.NamedPort{{Name: "http", Protocol: engine.ProtoTCP, Port: 8080}},
		}
	}
	const namespaces, pods, perNS = 3, 6, 6
	rng := rand.New(rand.NewPCG(14, 14))
	e := engine.New()
	for ns := range namespaces {
		if err := e.UpsertNamespace(engine.Namespace{Name: "ns" + itoa(uint64(ns))}); err != nil {
			t.Fatal(err)
		}
		for i := range pods {
			if err := e.UpsertPod(pod(ns, i, "a"+itoa(uint64(i%3)))); err != nil {
				t.Fatal(err)
			}
		}
		for k := range perNS {
			if err := e.UpsertNetworkPolicy(policy("ns"+itoa(uint64(ns)), k, 80, v1alpha1.Allow), engine.SlotEnforced); err != nil {
				t.Fatal(err)
			}
		}
	}
	var views []*incrementalView
	for _, n := range []string{"n1", "n2"} {
		for _, ch := range []engine.Chooser{engine.EnforcedOnly, halfCanary} {
			r, err := render.NewRenderer(opts)
			if err != nil {
				t.Fatal(err)
			}
			views = append(views, &incrementalView{node: n, ch: ch, cache: engine.NewModelCache(), r: r})
		}
	}
	setsOnly, inPlace := 0, 0
	for step := range 100 {
		ns, k := rng.IntN(namespaces), rng.IntN(perNS)
		nsName := "ns" + itoa(uint64(ns))
		var err error
		switch rng.IntN(6) {
		case 0, 1: // a port changed
			err = e.UpsertNetworkPolicy(policy(nsName, k, int32(80+rng.IntN(3)), v1alpha1.Allow), engine.SlotEnforced)
		case 2: // an action flipped
			err = e.UpsertNetworkPolicy(policy(nsName, k, 80, []v1alpha1.Action{v1alpha1.Allow, v1alpha1.Deny}[rng.IntN(2)]), engine.SlotEnforced)
		case 3: // a candidate stored or removed
			if rng.IntN(2) == 0 {
				err = e.UpsertNetworkPolicy(policy(nsName, k, 90, v1alpha1.Deny), engine.SlotCandidate)
			} else {
				e.DeletePolicy(engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: nsName, Name: "p" + itoa(uint64(k))}, engine.SlotCandidate)
			}
		case 4: // a pod relabelled
			err = e.UpsertPod(pod(ns, rng.IntN(pods), "a"+itoa(uint64(rng.IntN(4)))))
		default: // a policy removed, then stored again a step later
			key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: nsName, Name: "p" + itoa(uint64(k))}
			if e.PolicyState(key, engine.SlotEnforced).Stored {
				e.DeletePolicy(key, engine.SlotEnforced)
			} else {
				err = e.UpsertNetworkPolicy(policy(nsName, k, 80, v1alpha1.Allow), engine.SlotEnforced)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range views {
			got := v.check(t, e, opts, "step "+itoa(uint64(step)))
			if got.SetsOnly {
				setsOnly++
			}
			inPlace += got.InPlace
		}
	}
	same, repl := 0, 0
	for _, v := range views {
		s, r := engine.SameBuildsForTest(v.cache)
		same, repl = same+s, repl+r
	}
	if setsOnly == 0 || inPlace == 0 || same == 0 || repl == 0 {
		t.Fatalf("%d renders made only sets again, %d chains were made again in place, %d model builds took the last policies, %d with new generations: a shortest path was never taken",
			setsOnly, inPlace, same, repl)
	}
	t.Logf("%d renders made only sets again, %d chains made again in place; %d model builds took the last policies, %d with new generations", setsOnly, inPlace, same, repl)
}

// TestRendererMatchesFreshRenderOnRelabelAndEditTogether: a pod relabelled out of (or into) a
// policy's source set and that policy's new generation in the changes between two builds (the
// enforcer coalesces the changes of one sync interval) give through the caches exactly a fresh
// model. The cached build converts the new generation first, which computes the set's members
// again and caches them as current; the set was then taken as it was in the last model, with
// the pod's old membership, and stayed so while no other pod changed (the lab's SIGKILL fault
// spec saw the converged enforcer keep a relabelled pod in a churn policy's source set).
func TestRendererMatchesFreshRenderOnRelabelAndEditTogether(t *testing.T) {
	opts := render.DefaultOptions()
	tcp := v1alpha1.ProtocolFromString("TCP")
	policy := func(k int, port int32) *v1alpha1.NetworkPolicy {
		p := &v1alpha1.NetworkPolicy{}
		p.Namespace, p.Name = "gamma", "churn-"+itoa(uint64(k))
		order := float64(k)
		p.Spec.Order = &order
		p.Spec.Selector = "all()"
		p.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}
		p.Spec.Ingress = []v1alpha1.Rule{{
			Action: v1alpha1.Allow, Protocol: &tcp,
			Source:      v1alpha1.EntityRule{NamespaceSelector: "team == 'alpha'", Selector: "churn != '" + itoa(uint64(k)) + "'"},
			Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.Port(intstr.FromInt32(port))}},
		}, {Action: v1alpha1.Pass}}
		return p
	}
	pod := func(ns string, i int, churn string) engine.Endpoint {
		return engine.Endpoint{
			Namespace: ns, Name: "pod" + itoa(uint64(i)), Node: "n1",
			Labels: map[string]string{"churn": churn},
			IPs:    []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(len(ns)), byte(i + 1)})},
		}
	}
	e := engine.New()
	for _, ns := range []engine.Namespace{{Name: "alpha", Labels: map[string]string{"team": "alpha"}}, {Name: "gamma"}} {
		if err := e.UpsertNamespace(ns); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		for _, err := range []error{e.UpsertPod(pod("alpha", i, "x")), e.UpsertPod(pod("gamma", i, "x"))} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for k := range 4 {
		if err := e.UpsertNetworkPolicy(policy(k, int32(9000+k)), engine.SlotEnforced); err != nil {
			t.Fatal(err)
		}
	}
	r, err := render.NewRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	v := &incrementalView{node: "n1", ch: engine.EnforcedOnly, cache: engine.NewModelCache(), r: r}
	v.check(t, e, opts, "start")
	for step, k := range []int{1, 2, 1, 3} {
		// alpha/pod0 leaves churn-k's source set (churn == k) and churn-k gets a new port, both
		// before the next build; then the pod goes back, alone.
		if err := e.UpsertPod(pod("alpha", 0, itoa(uint64(k)))); err != nil {
			t.Fatal(err)
		}
		if err := e.UpsertNetworkPolicy(policy(k, int32(9100+step)), engine.SlotEnforced); err != nil {
			t.Fatal(err)
		}
		v.check(t, e, opts, "relabel and edit "+itoa(uint64(step)))
		v.check(t, e, opts, "no change after "+itoa(uint64(step)))
		if err := e.UpsertPod(pod("alpha", 0, "x")); err != nil {
			t.Fatal(err)
		}
		v.check(t, e, opts, "back "+itoa(uint64(step)))
	}
	if _, repl := engine.SameBuildsForTest(v.cache); repl == 0 {
		t.Fatal("no build took the last model's policies with a new generation: the path under test was not taken")
	}
}
