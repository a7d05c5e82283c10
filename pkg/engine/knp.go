package engine

import (
	"errors"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	// Aliased: the engine's tests build Kubernetes policies with a helper named knp.
	k8snp "github.com/palisade-dev/palisade/pkg/knp"
)

// knpOrder is the order Calico gives every Kubernetes NetworkPolicy (docs/semantics.md §7.2).
var knpOrder = k8snp.Order

// KubernetesNetworkPolicySpec converts a Kubernetes NetworkPolicy into the Calico policy spec Felix
// evaluates for it (libcalico-go K8sNetworkPolicyToCalico, docs/semantics.md §7.2; pkg/knp's
// FormCalico): tier default, order 1000, one Allow rule per (protocol x peer) of each k8s rule.
// Two deliberate differences:
//   - an empty policyTypes is defaulted as the API server does (Ingress, plus Egress iff there are
//     egress rules), since objects read from files have not been through the API server;
//   - anything Calico would drop, widen or pass through (a bad port or protocol, a bad ipBlock
//     CIDR, an empty peer, an unknown operator or policy type, a label value outside Kubernetes'
//     syntax...) is returned as an error; the engine then fails the policy closed instead of
//     dropping the rule or widening the peer.
//
// The returned spec is usable even with an error.
func KubernetesNetworkPolicySpec(knp *networkingv1.NetworkPolicy) (v1alpha1.PolicySpec, error) {
	if knp == nil {
		return v1alpha1.PolicySpec{}, errors.New("converting Kubernetes NetworkPolicy: nil policy")
	}
	p, errs := k8snp.Translate(&knp.Spec, k8snp.FormCalico)
	return p.Spec, errs.Err()
}

// knpInput converts a KNP, recording errors and the k8s rule index of every converted rule.
func knpInput(knp *networkingv1.NetworkPolicy) *policyInput {
	p, errs := k8snp.Translate(&knp.Spec, k8snp.FormCalico)
	in := &policyInput{
		key:            PolicyKey{Kind: KindKubernetesNetworkPolicy, Namespace: knp.Namespace, Name: knp.Name},
		spec:           &p.Spec,
		explicitOrder:  &knpOrder,
		ingressOrigins: p.IngressOrigins,
		egressOrigins:  p.EgressOrigins,
	}
	for _, e := range errs {
		in.convErrs = append(in.convErrs, e)
		if e.Field == "spec.podSelector" || strings.HasPrefix(e.Field, "spec.podSelector.") {
			// pkg/knp widens an unreadable podSelector to every pod; the engine reads it as
			// selecting none (build_policy.go subject).
			in.subjectErr = true
		}
	}
	return in
}
