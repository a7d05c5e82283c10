package engine

import (
	"math/rand/v2"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// GenWorldForTest exposes the random world generator of the property tests (gen_test.go) to the
// external dataplane tests, which import pkg/render and so cannot live in this package.
func GenWorldForTest(seed uint64) (objs []any, flows []Flow) {
	w := genWorld(randChooser{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))})
	return w.objs, w.flows
}

// StoreForTest inserts one object of a generated world (candidates as SlotCandidate).
func StoreForTest(e *Engine, o any) error { return store(e, o) }

// GenWorldFromBytesForTest is GenWorldForTest driven by fuzz input bytes.
func GenWorldFromBytesForTest(data []byte) (objs []any, flows []Flow) {
	w := genWorld(&byteChooser{b: data})
	return w.objs, w.flows
}

// RemoveForTest deletes one object of a generated world, as StoreForTest inserted it.
func RemoveForTest(e *Engine, o any) { remove(e, o) }

// VariantForTest returns another version of a generated object under the same name: a policy
// (or candidate) with a new random spec, or with the action of its first rule flipped and
// everything else kept (so that its rule lists keep their lengths); nil for other objects.
func VariantForTest(seed uint64, o any) any {
	c := randChooser{rand.New(rand.NewPCG(seed, 3))}
	if cand, ok := o.(candidate); ok {
		if v := VariantForTest(seed, cand.obj); v != nil {
			return candidate{v}
		}
		return nil
	}
	flip := func(spec *v1alpha1.PolicySpec) bool {
		for _, rules := range [][]v1alpha1.Rule{spec.Ingress, spec.Egress} {
			if len(rules) > 0 {
				if rules[0].Action == v1alpha1.Allow {
					rules[0].Action = v1alpha1.Deny
				} else {
					rules[0].Action = v1alpha1.Allow
				}
				return true
			}
		}
		return false
	}
	switch x := o.(type) {
	case *v1alpha1.NetworkPolicy:
		y := x.DeepCopy()
		if c.intn(2) == 0 && flip(&y.Spec.PolicySpec) {
			return y
		}
	case *v1alpha1.GlobalNetworkPolicy:
		y := x.DeepCopy()
		if c.intn(2) == 0 && flip(&y.Spec.PolicySpec) {
			return y
		}
	case *networkingv1.NetworkPolicy:
	default:
		return nil
	}
	return genPolicyLike(c, o)
}

// SameBuildsForTest is how many builds through c took the last model's policies (ModelCache,
// sameGenerations), and how many of them with new generations of some.
func SameBuildsForTest(c *ModelCache) (same, replaced int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sameBuilds, c.replBuilds
}
