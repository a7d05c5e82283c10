package engine

import (
	"cmp"
	"errors"
	"fmt"
	"math"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Selection is a set of pods chosen exactly as the engine chooses them: the pods a policy applies
// to (its subject), or the pods whose named ports a named port on one side of a rule resolves
// against. It is compiled by the engine's own builder and evaluated on a PodView, so that callers
// holding their own copy of the cluster (the admission checks) select what the engine selects. It is
// immutable and safe for concurrent use.
type Selection struct {
	// subject is set for a policy's subject; nil for a rule side.
	subject *subject
	// pos is a rule side's positive selector, notSelector folded in; nil: every pod.
	pos *peerSel
}

// NamespacedPolicySubject compiles the subject of a namespaced policy with spec in namespace: a
// Palisade NetworkPolicy, or the pkg/knp translation of a Kubernetes NetworkPolicy (docs/semantics.md
// §5.1). An error names every selector that does not parse.
func NamespacedPolicySubject(namespace string, spec *v1alpha1.PolicySpec) (*Selection, error) {
	return compileSubject(&policyInput{key: PolicyKey{Kind: KindNetworkPolicy, Namespace: namespace}, spec: spec})
}

// GlobalNetworkPolicySubject compiles the subject of a GlobalNetworkPolicy. One with doNotTrack or
// preDNAT applies to host endpoints only and selects no pod.
func GlobalNetworkPolicySubject(gnp *v1alpha1.GlobalNetworkPolicy) (*Selection, error) {
	return compileSubject(&policyInput{
		key:               PolicyKey{Kind: KindGlobalNetworkPolicy, Name: gnp.Name},
		spec:              &gnp.Spec.PolicySpec,
		namespaceSelector: gnp.Spec.NamespaceSelector,
		hostOnly:          gnp.Spec.DoNotTrack || gnp.Spec.PreDNAT,
	})
}

func compileSubject(in *policyInput) (*Selection, error) {
	b := &builder{ns: in.key.Namespace}
	s := b.subject(in)
	if err := errors.Join(b.errs...); err != nil {
		return nil, fmt.Errorf("compiling the policy selector: %w", err)
	}
	return &Selection{subject: &s}, nil
}

// NamedPortPeers compiles the pods a named port written on side er of a rule of a policy in
// policyNamespace ("" for a global policy) resolves against (docs/semantics.md §5.2, §5.3): the members
// of the side's positive selector (selector, serviceAccounts, namespaceSelector or the policy's
// namespace, with a notSelector folded in), or every pod when the side has no positive selector.
func NamedPortPeers(policyNamespace string, er *v1alpha1.EntityRule) (*Selection, error) {
	b := &builder{ns: policyNamespace}
	pos, _ := b.peers("rule", er)
	if err := errors.Join(b.errs...); err != nil {
		return nil, fmt.Errorf("compiling the rule's peer selectors: %w", err)
	}
	return &Selection{pos: pos}, nil
}

// Matches reports whether the pod is in the selection.
func (s *Selection) Matches(p *PodView) bool {
	if s.subject != nil {
		return s.subject.matches(&p.view)
	}
	return s.pos == nil || s.pos.matches(&p.view)
}

// Namespace returns the one namespace whose pods the selection can hold, "" when it may hold pods
// of any namespace.
func (s *Selection) Namespace() string {
	switch {
	case s.subject != nil:
		return s.subject.namespace
	case s.pos != nil && s.pos.scoped:
		return s.pos.scopeNS
	}
	return ""
}

// SelectsNoPod reports whether the selection can hold no pod whatever the cluster: a policy for
// host endpoints only, or a rule side with namespaceSelector global().
func (s *Selection) SelectsNoPod() bool {
	if s.subject != nil {
		return s.subject.noPods
	}
	return s.pos != nil && s.pos.never
}

// Restricts reports whether the selection may leave a pod out; a rule side without a positive
// selector holds every pod.
func (s *Selection) Restricts() bool { return s.subject != nil || s.pos != nil }

// Position is where a policy sits in Felix's evaluation order (docs/semantics.md §5.5): tier, then
// order, then the byte-wise comparison of name/namespace/kind.
type Position struct {
	Key PolicyKey
	// Tier is the policy's tier; "" is the default tier.
	Tier string
	// Order is the policy's order; nil (or NaN) sorts after every order.
	Order *float64
}

// Compare returns -1 when p is evaluated before o, 1 when after, 0 for the same policy key at the
// same tier and order.
func (p Position) Compare(o Position) int {
	if c := compareTiers(lookupTier(p.Tier), lookupTier(o.Tier)); c != 0 {
		return c
	}
	if c := cmp.Compare(orderOf(p.Order), orderOf(o.Order)); c != 0 {
		return c
	}
	return cmp.Compare(p.Key.sortName(), o.Key.sortName())
}

// TiesWith reports whether p and o have the same tier and the same explicit order, so that only
// their names decide which is evaluated first. Policies without an order are not said to tie: they
// are ordered by name by design.
func (p Position) TiesWith(o Position) bool {
	if p.Order == nil || o.Order == nil || math.IsNaN(*p.Order) || math.IsNaN(*o.Order) {
		return false
	}
	return *p.Order == *o.Order && compareTiers(lookupTier(p.Tier), lookupTier(o.Tier)) == 0
}

// orderOf is a policy's order as compileInput reads it: nil and NaN are +Inf.
func orderOf(o *float64) float64 {
	if o == nil || math.IsNaN(*o) {
		return math.Inf(1)
	}
	return *o
}
