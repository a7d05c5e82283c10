package clustercheck

import (
	"fmt"
	"slices"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	// Aliased: the tests build Kubernetes policies with a helper named knp.
	k8snp "github.com/palisade-dev/palisade/pkg/knp"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// maxTieWarnings bounds the tie warnings of one policy; the rest are counted in one more warning.
const maxTieWarnings = 3

// rival is another policy that might tie with the one being admitted.
type rival struct {
	id              policyID
	position        engine.Position
	filter          *podFilter
	ingress, egress bool
}

// ties warns about every other policy with the same explicit order, in the same tier, that governs a
// direction this one governs and selects at least one of the same pods: Felix then orders the two by
// name/namespace/kind (docs/semantics.md §5.5), which is rarely what the author meant. Policies without an
// order all sit at +∞ and are ordered by name by design; they are not reported.
func (w *world) ties(id policyID, spec *v1alpha1.PolicySpec, selected []*endpoint) ([]validation.Warning, error) {
	if spec.Order == nil || len(selected) == 0 {
		return nil, nil
	}
	self := id.position(spec)
	order, tier := *spec.Order, tierOf(spec.Tier)
	ingress, egress := governs(spec)
	same := func(s *v1alpha1.PolicySpec) bool { return self.TiesWith(policyID{}.position(s)) }
	var rivals []rival
	// The order comparison comes first: it rejects nearly every policy, and this loop runs over
	// every policy of the namespace on every admission request.
	for _, np := range w.networkPolicies(id.namespace) {
		if same(&np.Spec.PolicySpec) {
			rivals = w.appendRival(rivals, id, policyID{kindNP, np.Namespace, np.Name}, &np.Spec.PolicySpec)
		}
	}
	for _, gnp := range w.globalNetworkPolicies() {
		if !same(&gnp.Spec.PolicySpec) {
			continue
		}
		rid := policyID{kindGNP, "", gnp.Name}
		if rid == id {
			continue
		}
		f, err := w.gnpSubject(gnp)
		if err != nil {
			continue
		}
		i, e := governs(&gnp.Spec.PolicySpec)
		rivals = append(rivals, rival{rid, rid.position(&gnp.Spec.PolicySpec), f, i, e})
	}
	// Every Kubernetes NetworkPolicy translates at k8snp.Order in the default tier; translating them
	// is only worth it for a policy there.
	if order == k8snp.Order && tier == v1alpha1.DefaultTier {
		for _, k := range w.kubernetesNetworkPolicies(id.namespace) {
			if same(&k.Spec) {
				rivals = w.appendRival(rivals, id, k.id(), &k.Spec)
			}
		}
	}
	slices.SortFunc(rivals, func(a, b rival) int { return a.position.Compare(b.position) })

	var warns []validation.Warning
	extra := 0
	for _, r := range rivals {
		sharesDirection := ingress && r.ingress || egress && r.egress
		if !sharesDirection {
			continue
		}
		shared := 0
		for _, e := range selected {
			if !w.spend(1) {
				return nil, nil
			}
			if r.filter.matches(e) {
				shared++
			}
		}
		if shared == 0 {
			continue
		}
		if len(warns) == maxTieWarnings {
			extra++
			continue
		}
		first := id
		if r.position.Compare(self) < 0 {
			first = r.id
		}
		warns = append(warns, validation.Warning{
			Field: "spec.order",
			Message: fmt.Sprintf("same order as %s on %s; the tie is broken by name: %s applies first",
				shorten(r.id.String()), plural(shared, "shared pod"), shorten(first.String())),
		})
	}
	if extra > 0 {
		warns = append(warns, validation.Warning{
			Field:   "spec.order",
			Message: fmt.Sprintf("same order as %s more on shared pods", plural(extra, "policy", "policies")),
		})
	}
	return warns, nil
}

// appendRival appends a namespaced policy other than id.
func (w *world) appendRival(rivals []rival, id, rid policyID, spec *v1alpha1.PolicySpec) []rival {
	if rid == id {
		return rivals
	}
	f, err := w.namespacedSubject(rid.namespace, spec)
	if err != nil {
		return rivals // an invalid stored policy is reported by its own status, not here
	}
	i, e := governs(spec)
	return append(rivals, rival{rid, rid.position(spec), f, i, e})
}

// tierOf returns a policy's effective tier: empty means default (docs/semantics.md §2).
func tierOf(t string) string {
	if t == "" {
		return v1alpha1.DefaultTier
	}
	return t
}

// plural renders "1 pod", "3 pods"; an irregular plural may be given.
func plural(n int, one string, many ...string) string {
	if n == 1 {
		return "1 " + one
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, one)
}
