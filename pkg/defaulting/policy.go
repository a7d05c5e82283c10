package defaulting

import "github.com/palisade-dev/palisade/api/v1alpha1"

// NetworkPolicy defaults a namespaced policy in place. A nil policy is left alone.
func NetworkPolicy(p *v1alpha1.NetworkPolicy) {
	if p == nil {
		return
	}
	PolicySpec(&p.Spec.PolicySpec)
}

// GlobalNetworkPolicy defaults a cluster-wide policy in place. Its own fields (namespaceSelector,
// doNotTrack, preDNAT, applyOnForward) have no defaults beyond their zero values.
func GlobalNetworkPolicy(p *v1alpha1.GlobalNetworkPolicy) {
	if p == nil {
		return
	}
	PolicySpec(&p.Spec.PolicySpec)
}

// PolicySpec defaults the shared spec in place: types from the rule lists when none are given, tier ""
// to "default", and the rollout (a nil rollout becomes a fully filled one).
func PolicySpec(spec *v1alpha1.PolicySpec) {
	if spec == nil {
		return
	}
	if len(spec.Types) == 0 {
		spec.Types = PolicyTypes(spec)
	}
	if spec.Tier == "" {
		spec.Tier = v1alpha1.DefaultTier
	}
	if spec.Rollout == nil {
		spec.Rollout = &v1alpha1.RolloutSpec{}
	}
	Rollout(spec.Rollout)
}

// PolicyTypes returns the directions a policy governs: a copy of its explicit types, or, when it has
// none, what defaulting stores (section 2 table):
//
//	ingress rules  egress rules  types
//	none           none          [Ingress]
//	present        none          [Ingress]
//	none           present       [Egress]
//	present        present       [Ingress, Egress]
//
// Readers of objects that may not have been defaulted (the CLI on local files, the engine) use it
// to interpret types the way the webhook would have stored them.
func PolicyTypes(spec *v1alpha1.PolicySpec) []v1alpha1.PolicyType {
	if len(spec.Types) > 0 {
		return append([]v1alpha1.PolicyType(nil), spec.Types...)
	}
	hasIngress, hasEgress := len(spec.Ingress) > 0, len(spec.Egress) > 0
	switch {
	case hasIngress && hasEgress:
		return []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress}
	case hasEgress:
		return []v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}
	default:
		return []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}
	}
}
