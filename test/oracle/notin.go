package oracle

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cyclonus deviates from upstream on one corner: its matchExpressions
// evaluator (pkg/kube/labelselector.go IsMatchExpressionMatchForLabels)
// treats `key NotIn [...]` as false when the key is absent, whereas upstream
// (k8s.io/apimachinery/pkg/labels, Requirement.Matches) and Calico
// (`key not in {...}`, docs/semantics.md §4.3) both match objects
// without the key. Palisade follows upstream, so rather than exclude NotIn
// from the comparison we hand cyclonus an equivalent policy set in which no
// NotIn has to match an absent key:
//
//	k NotIn V   ≡   (k DoesNotExist)  OR  (k exists AND k NotIn V)
//
// A selector with n NotIn requirements becomes the union of 2^n selectors.
// For a policy's podSelector the policy is copied once per branch (Kubernetes
// policies are a union, and every copy carries the same rules, so a pod
// selected by any copy gets exactly the original's rules); for a peer the
// peer is replaced by one peer per branch (peers of a rule are ORed).
// TestExpandNotInMatchesUpstream checks the equivalence against
// apimachinery's own selector implementation.

// expandSelector returns selectors whose union matches, under upstream
// semantics, exactly what sel matches, and on which cyclonus agrees with
// upstream.
func expandSelector(sel metav1.LabelSelector) []metav1.LabelSelector {
	out := []metav1.LabelSelector{{MatchLabels: sel.MatchLabels}}
	for _, req := range sel.MatchExpressions {
		var next []metav1.LabelSelector
		for _, partial := range out {
			alts := []metav1.LabelSelectorRequirement{req}
			if req.Operator == metav1.LabelSelectorOpNotIn {
				alts = []metav1.LabelSelectorRequirement{
					{Key: req.Key, Operator: metav1.LabelSelectorOpDoesNotExist},
					req, // cyclonus: key present and value not in the set
				}
			}
			for _, alt := range alts {
				s := *partial.DeepCopy()
				s.MatchExpressions = append(s.MatchExpressions, alt)
				next = append(next, s)
			}
		}
		out = next
	}
	return out
}

// expandSelectorPtr is expandSelector for an optional selector; nil stays nil.
func expandSelectorPtr(sel *metav1.LabelSelector) []*metav1.LabelSelector {
	if sel == nil {
		return []*metav1.LabelSelector{nil}
	}
	var out []*metav1.LabelSelector
	for _, s := range expandSelector(*sel) {
		out = append(out, &s)
	}
	return out
}

func expandPeers(peers []networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer {
	if peers == nil {
		return nil // keep "all peers" distinct from "no peers"
	}
	out := []networkingv1.NetworkPolicyPeer{}
	for _, p := range peers {
		if p.IPBlock != nil {
			out = append(out, p)
			continue
		}
		for _, ps := range expandSelectorPtr(p.PodSelector) {
			for _, ns := range expandSelectorPtr(p.NamespaceSelector) {
				out = append(out, networkingv1.NetworkPolicyPeer{PodSelector: ps, NamespaceSelector: ns})
			}
		}
	}
	return out
}

// expandNotIn rewrites np into policies cyclonus evaluates as upstream does.
func expandNotIn(np *networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	base := np.DeepCopy()
	for i := range base.Spec.Ingress {
		base.Spec.Ingress[i].From = expandPeers(base.Spec.Ingress[i].From)
	}
	for i := range base.Spec.Egress {
		base.Spec.Egress[i].To = expandPeers(base.Spec.Egress[i].To)
	}
	var out []*networkingv1.NetworkPolicy
	for i, sel := range expandSelector(base.Spec.PodSelector) {
		cp := base.DeepCopy()
		cp.Spec.PodSelector = sel
		cp.Name = fmt.Sprintf("%s~%d", np.Name, i)
		out = append(out, cp)
	}
	return out
}
