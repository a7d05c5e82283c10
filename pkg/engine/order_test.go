package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// store inserts one object, returning the engine's error (invalid policies are expected in
// random worlds: they are stored failing closed).
func store(e *Engine, o any) error {
	slot := SlotEnforced
	if c, ok := o.(candidate); ok {
		o, slot = c.obj, SlotCandidate
	}
	switch x := o.(type) {
	case Endpoint:
		return e.UpsertPod(x)
	case Namespace:
		return e.UpsertNamespace(x)
	case ServiceAccount:
		return e.UpsertServiceAccount(x)
	case EndpointSlice:
		return e.UpsertEndpointSlice(x)
	case *v1alpha1.NetworkPolicy:
		return e.UpsertNetworkPolicy(x, slot)
	case *v1alpha1.GlobalNetworkPolicy:
		return e.UpsertGlobalNetworkPolicy(x, slot)
	case *networkingv1.NetworkPolicy:
		return e.UpsertKubernetesNetworkPolicy(x, slot)
	}
	panic(fmt.Sprintf("store %T", o))
}

// remove deletes the object store inserted.
func remove(e *Engine, o any) {
	slot := SlotEnforced
	if c, ok := o.(candidate); ok {
		o, slot = c.obj, SlotCandidate
	}
	switch x := o.(type) {
	case Endpoint:
		e.DeletePod(x.Namespace, x.Name)
	case Namespace:
		e.DeleteNamespace(x.Name)
	case ServiceAccount:
		e.DeleteServiceAccount(x.Namespace, x.Name)
	case EndpointSlice:
		e.DeleteEndpointSlice(x.Namespace, x.Name)
	default:
		e.DeletePolicy(policyKeyOf(o), slot)
	}
}

// verdicts renders every flow's verdict in both modes, plus EvaluateBoth, as JSON.
func verdicts(t testing.TB, e *Engine, flows []Flow) string {
	t.Helper()
	var b strings.Builder
	for _, f := range flows {
		for _, m := range []Mode{EnforcedOnly, CandidatesAsEnforced} {
			v, err := e.Evaluate(f, m)
			if err != nil {
				t.Fatalf("Evaluate(%+v): %v", f, err)
			}
			j, _ := json.Marshal(v)
			b.Write(j)
			b.WriteByte('\n')
		}
		c, err := e.EvaluateBoth(f)
		if err != nil {
			t.Fatalf("EvaluateBoth: %v", err)
		}
		j, _ := json.Marshal(c)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// linearVerdicts is verdicts for the unindexed baseline (EvaluateBoth rendered from two calls).
func linearVerdicts(t testing.TB, e *Engine, flows []Flow) string {
	t.Helper()
	var b strings.Builder
	for _, f := range flows {
		var c Comparison
		for _, m := range []Mode{EnforcedOnly, CandidatesAsEnforced} {
			v, err := e.linearEvaluate(f, m)
			if err != nil {
				t.Fatalf("linearEvaluate: %v", err)
			}
			j, _ := json.Marshal(v)
			b.Write(j)
			b.WriteByte('\n')
			if m == EnforcedOnly {
				c.Enforced = v
			} else {
				c.Candidate = v
			}
		}
		j, _ := json.Marshal(c)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// invalidPolicy reports whether the engine finds a policy object invalid.
func invalidPolicy(o any) bool {
	var invalid *InvalidPolicyError
	return errors.As(store(New(), o), &invalid)
}

// noisyBuild inserts w's objects in a random order after noise (other versions of the same
// objects, extra pods and policies) and then removes the extras: the final state equals w.
func noisyBuild(r *rand.Rand, w world) *Engine {
	e := New()
	c := randChooser{r}
	nss := []string{"ns0", "ns1", "ns2"}
	var extras []any
	var noise []any
	for _, o := range w.objs {
		if r.IntN(3) != 0 {
			continue
		}
		switch x := o.(type) {
		case Endpoint:
			y := x
			y.Labels = map[string]string{"app": "noise"}
			noise = append(noise, y)
		case Namespace:
			noise = append(noise, Namespace{Name: x.Name, Labels: map[string]string{"env": "noise"}})
		case ServiceAccount:
			noise = append(noise, ServiceAccount{Namespace: x.Namespace, Name: x.Name})
		case EndpointSlice:
			y := x
			y.Service = "noise"
			noise = append(noise, y)
		case candidate:
			if !invalidPolicy(x.obj) {
				noise = append(noise, candidate{genPolicyLike(c, x.obj)})
			}
		default:
			// A valid earlier version of an invalid policy would stay in force (the
			// last-valid-generation rule, TestLastValidGeneration): no noise for those.
			if !invalidPolicy(o) {
				noise = append(noise, genPolicyLike(c, o))
			}
		}
	}
	for i := range 1 + r.IntN(3) {
		p := genPolicy(c, nss)
		switch x := p.(type) {
		case *v1alpha1.NetworkPolicy:
			x.Name = fmt.Sprintf("extra%d", i)
		case *v1alpha1.GlobalNetworkPolicy:
			x.Name = fmt.Sprintf("extra%d", i)
		case *networkingv1.NetworkPolicy:
			x.Name = fmt.Sprintf("extra%d", i)
		}
		if r.IntN(2) == 0 {
			p = candidate{p}
		}
		extras = append(extras, p)
	}
	extras = append(extras, pod(pick(c, nss...), "extra-pod", "10.0.0.1", map[string]string{"app": "a0"}))
	noise = append(noise, extras...)
	r.Shuffle(len(noise), func(i, j int) { noise[i], noise[j] = noise[j], noise[i] })
	for _, o := range noise {
		_ = store(e, o)
	}
	objs := append([]any(nil), w.objs...)
	r.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
	for _, o := range objs {
		_ = store(e, o)
	}
	r.Shuffle(len(extras), func(i, j int) { extras[i], extras[j] = extras[j], extras[i] })
	for _, o := range extras {
		remove(e, o)
	}
	return e
}

// TestOrderIndependence builds random worlds, inserts their objects in permuted orders (with
// noise that is overwritten or deleted again), and requires identical verdicts and traces; it
// also requires the incremental index to agree with the unindexed baseline.
func TestOrderIndependence(t *testing.T) {
	for seed := range 300 {
		r := rand.New(rand.NewPCG(uint64(seed), 42))
		w := genWorld(randChooser{r})
		ref := New()
		for _, o := range w.objs {
			_ = store(ref, o)
		}
		want := verdicts(t, ref, w.flows)
		if lin := linearVerdicts(t, ref, w.flows); lin != want {
			t.Fatalf("seed %d: index and linear baseline disagree\nindex:\n%s\nlinear:\n%s", seed, want, lin)
		}
		for perm := range 3 {
			e := noisyBuild(r, w)
			if got := verdicts(t, e, w.flows); got != want {
				t.Fatalf("seed %d permutation %d: verdicts differ\ngot:\n%s\nwant:\n%s", seed, perm, got, want)
			}
		}
	}
}
